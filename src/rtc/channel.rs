//! Data channels as a first-class part of a session: the chat, the round-trip pings and
//! any number of further channels (one per file transfer) go through [`Channel`]: send
//! with backpressure on the buffered amount, receive whole messages, close. Nothing
//! outside `rtc` sees a webrtc type.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::{Mutex, Notify};
use webrtc::data::data_channel::DataChannel;

use super::RtcError;

/// Largest message [`Channel::send`] takes (what browsers and webrtc-rs accept everywhere).
pub const MAX_CHANNEL_MESSAGE: usize = 64 * 1024;
/// [`Channel::send`] waits while more than this many bytes are queued for the network:
/// enough to keep the link busy, little enough to bound memory.
pub const SEND_HIGH_WATER: usize = 1024 * 1024;
/// ... and goes on once the queue is below this.
const SEND_LOW_WATER: usize = 512 * 1024;
/// Our read buffer. webrtc-rs ends a channel when a message does not fit the read buffer
/// (its own is 64 KiB), so a hostile peer could end the chat with one big message. We read
/// into a buffer as big as SCTP's whole receive window: every message that can arrive at
/// all fits.
pub(super) const READ_BUFFER_BYTES: usize = 1024 * 1024 + 64 * 1024;

/// What every further channel we open announces in its sub-protocol field (the WebRTC
/// `protocol`, carried in the channel's OPEN): the features this app speaks on it beyond
/// the round-1 transfer protocol. `bulk-tcp/1`: a transfer's content may move over a
/// direct TCP connection (transfer::bulk). An older qrchat opens its channels with an
/// empty one and ignores ours, so both sides know what the other speaks before the first
/// message.
pub const FEATURES: &str = "bulk-tcp/1";

/// One message off a channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChannelMessage {
    Text(String),
    Binary(Bytes),
}

/// An open data channel. Cheap to clone; all clones are the same channel.
#[derive(Clone)]
pub struct Channel {
    inner: Arc<Inner>,
}

struct Inner {
    label: String,
    /// The sub-protocol the channel was opened with (the opener's [`FEATURES`]).
    peer_features: String,
    /// ICE's selected pair when both ends are host candidates (local, remote).
    host_pair: Option<(std::net::IpAddr, std::net::IpAddr)>,
    raw: Arc<DataChannel>,
    low: Arc<Notify>,
    read: Mutex<Vec<u8>>,
    /// Held by the write under way, from before it begins until it ends: writes keep the
    /// order they were made in (see [`Channel::write`]).
    writing: Arc<Mutex<()>>,
}

impl std::fmt::Debug for Channel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Channel({:?} #{})",
            self.inner.label,
            self.inner.raw.stream_identifier()
        )
    }
}

impl PartialEq for Channel {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}
impl Eq for Channel {}

impl Channel {
    pub(super) fn new(
        label: String,
        raw: Arc<DataChannel>,
        peer_features: String,
        host_pair: Option<(std::net::IpAddr, std::net::IpAddr)>,
    ) -> Channel {
        let low = Arc::new(Notify::new());
        raw.set_buffered_amount_low_threshold(SEND_LOW_WATER);
        {
            let low = Arc::clone(&low);
            raw.on_buffered_amount_low(Box::new(move || {
                low.notify_waiters();
                Box::pin(async {})
            }));
        }
        Channel {
            inner: Arc::new(Inner {
                label,
                peer_features,
                host_pair,
                raw,
                low,
                read: Mutex::new(Vec::new()),
                writing: Arc::new(Mutex::new(())),
            }),
        }
    }

    pub fn label(&self) -> &str {
        &self.inner.label
    }

    /// Whether the channel's opener announced `feature` in its sub-protocol (see
    /// [`FEATURES`]). Meaningful on a channel the peer opened; on ours it is our own.
    pub fn peer_speaks(&self, feature: &str) -> bool {
        self.inner
            .peer_features
            .split(',')
            .any(|f| f.trim() == feature)
    }

    /// The two addresses (local, remote) of the ICE pair the link runs on, when both are
    /// host candidates: the peers reach each other directly, with no NAT or relay between.
    pub fn host_pair(&self) -> Option<(std::net::IpAddr, std::net::IpAddr)> {
        self.inner.host_pair
    }

    /// Bytes queued for sending and not yet handed to the network.
    pub fn buffered_amount(&self) -> usize {
        self.inner.raw.buffered_amount()
    }

    async fn room(&self) {
        while self.inner.raw.buffered_amount() > SEND_HIGH_WATER {
            let notified = self.inner.low.notified();
            if self.inner.raw.buffered_amount() <= SEND_HIGH_WATER {
                break;
            }
            // The callback may fire between the check and the wait: look again soon.
            let _ = tokio::time::timeout(Duration::from_millis(50), notified).await;
        }
    }

    async fn write(&self, data: Bytes, text: bool) -> Result<(), RtcError> {
        if data.len() > MAX_CHANNEL_MESSAGE {
            return Err(RtcError::TooLong {
                len: data.len(),
                max: MAX_CHANNEL_MESSAGE,
            });
        }
        self.room().await;
        // webrtc-sctp's write is not cancel-safe: it takes the message's stream sequence
        // number before it waits for room in its queue, and queues a large message chunk by
        // chunk. A write dropped half-way (a `select!` that took another branch: a cancel, a
        // message from the peer) left a number never sent or a message never finished, and
        // the peer's ordered stream waited for it forever: nothing more arrived, a transfer's
        // cancel included. So once begun a write runs to its end on a task of its own; the
        // lock, taken before it begins (waiting for it is safe to drop), keeps writes in order.
        let turn = Arc::clone(&self.inner.writing).lock_owned().await;
        let raw = Arc::clone(&self.inner.raw);
        tokio::spawn(async move {
            let _turn = turn;
            raw.write_data_channel(&data, text).await
        })
        .await
        .map_err(|e| RtcError::Channel(e.to_string()))?
        .map_err(|e| RtcError::Channel(e.to_string()))?;
        Ok(())
    }

    /// Send one binary message (at most [`MAX_CHANNEL_MESSAGE`] bytes). Waits while more
    /// than [`SEND_HIGH_WATER`] bytes are queued.
    pub async fn send(&self, data: &[u8]) -> Result<(), RtcError> {
        self.write(Bytes::copy_from_slice(data), false).await
    }

    /// Send one binary message without copying it.
    pub async fn send_bytes(&self, data: Bytes) -> Result<(), RtcError> {
        self.write(data, false).await
    }

    /// Send one text message.
    pub async fn send_text(&self, text: &str) -> Result<(), RtcError> {
        self.write(Bytes::copy_from_slice(text.as_bytes()), true)
            .await
    }

    /// The next message; `None` once the peer closed the channel.
    pub async fn recv(&self) -> Result<Option<ChannelMessage>, RtcError> {
        let mut buf = self.inner.read.lock().await;
        if buf.is_empty() {
            buf.resize(READ_BUFFER_BYTES, 0);
        }
        match self.inner.raw.read_data_channel(&mut buf).await {
            // 0 bytes, not a string: the peer reset the stream (an empty binary message
            // reads the same; only a hostile peer sends one, and it may leave anyway).
            Ok((0, false)) => Ok(None),
            Ok((n, true)) => Ok(Some(ChannelMessage::Text(
                String::from_utf8_lossy(&buf[..n]).into_owned(),
            ))),
            Ok((n, false)) => Ok(Some(ChannelMessage::Binary(Bytes::copy_from_slice(
                &buf[..n],
            )))),
            Err(
                webrtc::data::Error::ErrStreamClosed
                | webrtc::data::Error::Sctp(webrtc::sctp::Error::ErrEof),
            ) => Ok(None),
            Err(e) => Err(RtcError::Channel(e.to_string())),
        }
    }

    /// Raw read for the chat loop, which cuts long text itself: (bytes, is_text).
    pub(super) async fn recv_raw<'a>(
        &self,
        buf: &'a mut [u8],
    ) -> Result<Option<(&'a [u8], bool)>, RtcError> {
        match self.inner.raw.read_data_channel(buf).await {
            Ok((0, false)) => Ok(None),
            Ok((n, t)) => Ok(Some((&buf[..n], t))),
            Err(e) => Err(RtcError::Channel(e.to_string())),
        }
    }

    /// Wait (bounded) until what was sent has left, then close. The peer sees the channel
    /// end.
    pub async fn close(&self) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while self.inner.raw.buffered_amount() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let _ = self.inner.raw.close().await;
    }

    /// Close at once, dropping whatever is still queued.
    pub(super) async fn abort(&self) {
        let _ = self.inner.raw.close().await;
    }
}
