//! The bulk path: a transfer's content over a direct TCP connection between the two
//! peers, where one can be made; the data channel where not (ARCHITECTURE.md, "The bulk
//! path").
//!
//! [`BulkWire`] wraps the transfer's data channel and is itself a [`Wire`], so the
//! transfer driver does not know which way the bytes go. Between two peers that both
//! speak it (the sender announces `bulk-tcp/1` in the channel's sub-protocol, see
//! `rtc::channel::FEATURES`) and whose link runs between two host candidates:
//!
//! ```text
//! R: {"t":"bulk","v":1,"port":P,"key":"<64 hex>"}   just before its accept; R listens on
//!                                                     its own address of the ICE pair, port P
//! R: {"t":"accept",...}                              (the transfer protocol goes on)
//! S: connects from its address of the pair to R's, P, and writes the proof record
//! S: {"t":"bulk_on"}                                 S's last message on the channel:
//!                                                     everything S sends after it goes in
//!                                                     records over the TCP stream
//! ```
//!
//! If S cannot connect and prove within [`CONNECT_WITHIN`], it sends no `bulk_on` and goes
//! on over the channel; R's listener closes at S's first other message (or after
//! [`LISTEN_FOR`]). The receiver's messages (`resume`, `saved`, `done`, `cancel`, `error`)
//! always stay on the channel. The key is 32 random bytes R sends over the channel, which
//! DTLS already authenticates and encrypts under the pairing; the stream's records are
//! ChaCha20-Poly1305 under it ([`record`]), so the TCP path is exactly as private and as
//! authenticated as the channel. Neither side sends a bulk message to a peer that did not
//! announce the feature, so an older qrchat sees the round-1 protocol unchanged.

mod record;
#[cfg(test)]
mod tests;

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use self::record::{Opener, Read, Sealer, KEY_LEN};
use super::proto::{Control, Msg};
use super::Wire;
use crate::rtc::Channel;

/// The feature a sender announces (rtc::channel::FEATURES lists it).
pub const FEATURE: &str = "bulk-tcp/1";
/// The sender connects and writes its proof within this, or stays on the channel.
pub const CONNECT_WITHIN: Duration = Duration::from_secs(2);
/// The receiver's listener closes after this at the latest.
pub const LISTEN_FOR: Duration = Duration::from_secs(10);
/// A connection that has not proven the key within this is dropped.
pub const PROOF_WITHIN: Duration = Duration::from_secs(2);
/// Connections the listener looks at before it gives up.
pub const MAX_TRIES: usize = 8;
/// After `bulk_on` the receiver waits this long for the proven stream (the sender wrote its
/// proof before it said `bulk_on`: it is on its way already).
const SWITCH_WITHIN: Duration = Duration::from_secs(4);
/// Once the channel is gone, how long the receiver still reads the TCP stream's end.
const DRAIN: Duration = Duration::from_secs(2);
/// Messages queued towards the TCP writer / from the TCP reader (64 KiB each at most).
const QUEUE: usize = 8;

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case", deny_unknown_fields)]
enum BulkMsg {
    Bulk { v: u32, port: u16, key: String },
    BulkOn,
}

fn bulk_msg(m: &Msg) -> Option<BulkMsg> {
    match m {
        Msg::Text(t) if t.starts_with(r#"{"t":"bulk"#) => serde_json::from_str(t).ok(),
        _ => None,
    }
}

fn encode(m: &BulkMsg) -> Msg {
    Msg::Text(serde_json::to_string(m).expect("plain JSON"))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Option<[u8; KEY_LEN]> {
    let b = s.as_bytes();
    if b.len() != 2 * KEY_LEN {
        return None;
    }
    let mut out = [0u8; KEY_LEN];
    for (i, p) in b.chunks(2).enumerate() {
        out[i] = u8::from_str_radix(std::str::from_utf8(p).ok()?, 16).ok()?;
    }
    Some(out)
}

fn protocol(why: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, why.into())
}

/// Which end of the transfer this wire is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Send,
    Receive,
}

/// The receiver's sending decision and the sender's stream state.
enum Out {
    /// Sender: not decided yet (or the receiver: always the channel).
    Channel,
    /// Sender: the proven stream's writer.
    Tcp {
        tx: mpsc::Sender<Msg>,
        writer: JoinHandle<()>,
        failed: std::sync::Arc<std::sync::Mutex<Option<String>>>,
    },
}

/// The receiver's reading state.
enum In {
    Channel,
    /// `bulk_on` came: waiting for the listener's proven stream.
    Switching {
        listening: Listening,
        until: Instant,
    },
    Tcp {
        rx: mpsc::Receiver<io::Result<Msg>>,
        _reader: AbortOnDrop,
    },
    Broken(String),
}

struct AbortOnDrop(JoinHandle<()>);
impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The sender's connection under way: the proven stream, or why not.
type Connecting = JoinHandle<Result<(TcpStream, Sealer), String>>;

/// The receiver's listener, until the sender's choice is known.
struct Listening {
    proven: oneshot::Receiver<(TcpStream, Opener)>,
    _task: AbortOnDrop,
}

/// A transfer's [`Wire`] that moves the sender's messages over a direct TCP connection
/// once one is proven, and over the wrapped channel otherwise (see the module doc).
pub struct BulkWire<W> {
    inner: W,
    side: Side,
    /// (local, remote) addresses for the TCP connection: only where the peer speaks the
    /// feature (receiver) and the link runs between host candidates.
    pair: Option<(IpAddr, IpAddr)>,
    /// Sender: the connection under way since the receiver's `bulk`.
    connecting: std::sync::Mutex<Option<Connecting>>,
    /// Sender: a `bulk` was heard (a second one is a protocol error).
    heard: AtomicBool,
    out: tokio::sync::Mutex<Out>,
    /// Receiver: the listener, from our accept until the sender's choice.
    listening: std::sync::Mutex<Option<Listening>>,
    offered: AtomicBool,
    inn: tokio::sync::Mutex<In>,
    tcp: AtomicBool,
    /// The listener and the reader: ended by close (a recv under way holds `inn`) and drop.
    tasks: std::sync::Mutex<Vec<tokio::task::AbortHandle>>,
}

impl<W> Drop for BulkWire<W> {
    fn drop(&mut self) {
        for t in lock(&self.tasks).drain(..) {
            t.abort();
        }
    }
}

impl BulkWire<Channel> {
    /// The sender's wire over a transfer channel it opened.
    pub fn sending(ch: Channel) -> BulkWire<Channel> {
        let pair = ch.host_pair();
        BulkWire::new(ch, true, pair)
    }

    /// The receiver's wire over a transfer channel the peer opened.
    pub fn receiving(ch: Channel) -> BulkWire<Channel> {
        let pair = ch.host_pair().filter(|_| ch.peer_speaks(FEATURE));
        BulkWire::new(ch, false, pair)
    }
}

impl<W: Wire> BulkWire<W> {
    /// `sender`: which end; `pair`: (local, remote) where a TCP connection may be tried
    /// (None: the channel only; a receiver passes None for a peer that does not speak
    /// the feature).
    pub fn new(inner: W, sender: bool, pair: Option<(IpAddr, IpAddr)>) -> BulkWire<W> {
        BulkWire {
            inner,
            side: if sender { Side::Send } else { Side::Receive },
            pair,
            connecting: std::sync::Mutex::new(None),
            heard: AtomicBool::new(false),
            out: tokio::sync::Mutex::new(Out::Channel),
            listening: std::sync::Mutex::new(None),
            offered: AtomicBool::new(false),
            inn: tokio::sync::Mutex::new(In::Channel),
            tcp: AtomicBool::new(false),
            tasks: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// Whether the transfer's content went over the TCP connection.
    pub fn used_tcp(&self) -> bool {
        self.tcp.load(Ordering::Relaxed)
    }

    /// The wrapped channel.
    pub fn inner(&self) -> &W {
        &self.inner
    }

    /// Receiver: before our accept goes out, listen and tell the sender where.
    async fn offer(&self) -> io::Result<()> {
        let Some((local, remote)) = self.pair else {
            return Ok(());
        };
        if self.offered.swap(true, Ordering::Relaxed) {
            return Ok(());
        }
        match listen(local, remote).await {
            Ok((port, key, l)) => {
                lock(&self.tasks).push(l._task.0.abort_handle());
                *lock(&self.listening) = Some(l);
                tracing::info!(%local, port, "bulk: listening for the sender's TCP connection");
                self.inner
                    .send(encode(&BulkMsg::Bulk {
                        v: 1,
                        port,
                        key: hex(&key),
                    }))
                    .await
            }
            Err(e) => {
                tracing::warn!(%local, "bulk: cannot listen ({e}); the data channel carries the transfer");
                Ok(())
            }
        }
    }

    /// Sender: the receiver's `bulk` came; connect (in the background).
    fn heard_bulk(&self, port: u16, key: &str) -> io::Result<()> {
        if self.heard.swap(true, Ordering::Relaxed) {
            return Err(protocol("a second bulk message"));
        }
        let key = unhex(key).ok_or_else(|| protocol("a bulk key that is not 64 hex digits"))?;
        let Some((local, remote)) = self.pair else {
            tracing::info!("bulk: the link is not between host addresses; the data channel carries the transfer");
            return Ok(());
        };
        let to = SocketAddr::new(remote, port);
        let task = tokio::spawn(connect(local, to, key));
        lock(&self.tasks).push(task.abort_handle());
        *lock(&self.connecting) = Some(task);
        Ok(())
    }

    /// Sender: the wire for what we send now (decides once, at the first send after the
    /// receiver's `bulk`).
    async fn decide(&self, out: &mut Out) -> io::Result<()> {
        let handle = lock(&self.connecting).take();
        let Some(handle) = handle else {
            return Ok(());
        };
        match handle.await {
            Ok(Ok((stream, sealer))) => {
                let peer = stream.peer_addr().ok();
                self.inner.send(encode(&BulkMsg::BulkOn)).await?;
                let failed = std::sync::Arc::new(std::sync::Mutex::new(None));
                let (tx, rx) = mpsc::channel(QUEUE);
                let writer = tokio::spawn(write_records(stream, sealer, rx, failed.clone()));
                *out = Out::Tcp { tx, writer, failed };
                self.tcp.store(true, Ordering::Relaxed);
                tracing::info!(
                    ?peer,
                    "bulk: TCP connection proven; the transfer's content goes over it"
                );
            }
            Ok(Err(why)) => {
                tracing::warn!(
                    "bulk: no TCP connection ({why}); the data channel carries the transfer"
                )
            }
            Err(e) => tracing::warn!(
                "bulk: the connection task failed ({e}); the data channel carries the transfer"
            ),
        }
        Ok(())
    }

    async fn send_msg(&self, msg: Msg) -> io::Result<()> {
        match self.side {
            Side::Receive => {
                if matches!(&msg, Msg::Text(t) if matches!(serde_json::from_str::<Control>(t), Ok(Control::Accept { .. })))
                {
                    self.offer().await?;
                }
                self.inner.send(msg).await
            }
            Side::Send => {
                let mut out = self.out.lock().await;
                if matches!(*out, Out::Channel) {
                    self.decide(&mut out).await?;
                }
                match &*out {
                    Out::Channel => self.inner.send(msg).await,
                    Out::Tcp { tx, failed, .. } => match tx.send(msg).await {
                        Ok(()) => Ok(()),
                        Err(_) => Err(io::Error::new(
                            io::ErrorKind::BrokenPipe,
                            lock(failed)
                                .clone()
                                .unwrap_or_else(|| "the TCP connection closed".into()),
                        )),
                    },
                }
            }
        }
    }

    async fn recv_msg(&self) -> io::Result<Option<Msg>> {
        match self.side {
            Side::Send => loop {
                let m = self.inner.recv().await?;
                match m.as_ref().and_then(bulk_msg) {
                    Some(BulkMsg::Bulk { v: 1, port, key }) => self.heard_bulk(port, &key)?,
                    Some(BulkMsg::Bulk { v, .. }) => {
                        // a newer receiver: it will see no bulk_on and stay on the channel
                        tracing::info!(v, "bulk: a version this qrchat does not speak; the data channel carries the transfer");
                        self.heard.store(true, Ordering::Relaxed);
                    }
                    Some(BulkMsg::BulkOn) => return Err(protocol("bulk_on from the receiver")),
                    None => return Ok(m),
                }
            },
            Side::Receive => self.recv_receiver().await,
        }
    }

    async fn recv_receiver(&self) -> io::Result<Option<Msg>> {
        let mut st = self.inn.lock().await;
        loop {
            match &mut *st {
                In::Broken(why) => return Err(protocol(why.clone())),
                In::Channel => {
                    let m = self.inner.recv().await?;
                    match m.as_ref().and_then(bulk_msg) {
                        Some(BulkMsg::BulkOn) => {
                            let Some(l) = lock(&self.listening).take() else {
                                return Err(protocol("bulk_on without our bulk"));
                            };
                            *st = In::Switching {
                                listening: l,
                                until: Instant::now() + SWITCH_WITHIN,
                            };
                        }
                        Some(BulkMsg::Bulk { .. }) => {
                            return Err(protocol("a bulk message from the sender"))
                        }
                        None => {
                            if m.is_some() && lock(&self.listening).take().is_some() {
                                tracing::info!(
                                    "bulk: the sender stays on the data channel; listener closed"
                                );
                            }
                            return Ok(m);
                        }
                    }
                }
                In::Switching { listening, until } => {
                    match tokio::time::timeout_at(*until, &mut listening.proven).await {
                        Ok(Ok((stream, opener))) => {
                            let (tx, rx) = mpsc::channel(QUEUE);
                            let reader =
                                AbortOnDrop(tokio::spawn(read_records(stream, opener, tx)));
                            lock(&self.tasks).push(reader.0.abort_handle());
                            *st = In::Tcp {
                                rx,
                                _reader: reader,
                            };
                            self.tcp.store(true, Ordering::Relaxed);
                            tracing::info!(
                                "bulk: reading the transfer from the proven TCP connection"
                            );
                        }
                        _ => {
                            let why =
                                "the sender switched to a TCP connection that never proved the key"
                                    .to_string();
                            tracing::warn!("bulk: {why}");
                            *st = In::Broken(why);
                        }
                    }
                }
                In::Tcp { rx, .. } => {
                    // The sender sends nothing more on the channel; its end is the link's.
                    return tokio::select! {
                        biased;
                        m = rx.recv() => match m {
                            Some(Ok(m)) => Ok(Some(m)),
                            Some(Err(e)) => Err(e),
                            None => Ok(None),
                        },
                        c = self.inner.recv() => match c {
                            // The sender's last records (an error, a cancel) may still be
                            // on their way: the TCP stream's end or its message comes first.
                            Ok(None) | Err(_) => match tokio::time::timeout(DRAIN, rx.recv()).await {
                                Ok(Some(Ok(m))) => Ok(Some(m)),
                                Ok(Some(Err(e))) => Err(e),
                                Ok(None) => Ok(None),
                                Err(_) => Err(io::Error::new(
                                    io::ErrorKind::BrokenPipe,
                                    "the link closed under the TCP connection",
                                )),
                            },
                            Ok(Some(_)) => {
                                *st = In::Broken("a message on the data channel after bulk_on".into());
                                Err(protocol("a message on the data channel after bulk_on"))
                            }
                        },
                    };
                }
            }
        }
    }

    async fn close_all(&self) {
        if let Ok(mut out) = self.out.try_lock() {
            if let Out::Tcp { tx, writer, .. } = std::mem::replace(&mut *out, Out::Channel) {
                drop(tx);
                let _ = tokio::time::timeout(Duration::from_secs(5), writer).await;
            }
        }
        lock(&self.listening).take();
        // The reader's end drops the stream: a sender still writing sees it go at once.
        for t in lock(&self.tasks).drain(..) {
            t.abort();
        }
        self.inner.close().await;
    }
}

fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl<W: Wire> Wire for BulkWire<W> {
    async fn send(&self, msg: Msg) -> io::Result<()> {
        self.send_msg(msg).await
    }
    async fn recv(&self) -> io::Result<Option<Msg>> {
        self.recv_msg().await
    }
    async fn close(&self) {
        self.close_all().await
    }
}

/// Sender: connect from `local` to the receiver and write the proof.
async fn connect(
    local: IpAddr,
    to: SocketAddr,
    key: [u8; KEY_LEN],
) -> Result<(TcpStream, Sealer), String> {
    let go = async {
        let sock = if to.is_ipv4() {
            TcpSocket::new_v4()
        } else {
            TcpSocket::new_v6()
        }
        .map_err(|e| format!("socket: {e}"))?;
        sock.bind(SocketAddr::new(local, 0))
            .map_err(|e| format!("bind {local}: {e}"))?;
        let mut s = sock
            .connect(to)
            .await
            .map_err(|e| format!("connect to {to}: {e}"))?;
        let _ = s.set_nodelay(true);
        let mut sealer = Sealer::new(&key);
        s.write_all(&sealer.proof())
            .await
            .map_err(|e| format!("write to {to}: {e}"))?;
        Ok((s, sealer))
    };
    match tokio::time::timeout(CONNECT_WITHIN, go).await {
        Ok(r) => r,
        Err(_) => Err(format!("{to} did not answer within {CONNECT_WITHIN:?}")),
    }
}

/// Receiver: a listener on `local` for one proven connection from `peer`.
async fn listen(local: IpAddr, peer: IpAddr) -> io::Result<(u16, [u8; KEY_LEN], Listening)> {
    let l = TcpListener::bind(SocketAddr::new(local, 0)).await?;
    let port = l.local_addr()?.port();
    let mut key = [0u8; KEY_LEN];
    getrandom::fill(&mut key).map_err(|e| io::Error::other(e.to_string()))?;
    let (tx, rx) = oneshot::channel();
    let task = tokio::spawn(take_one(l, peer, key, tx));
    Ok((
        port,
        key,
        Listening {
            proven: rx,
            _task: AbortOnDrop(task),
        },
    ))
}

/// The listener's loop: at most [`MAX_TRIES`] connections within [`LISTEN_FOR`], each
/// from the peer's address and proven within [`PROOF_WITHIN`]; the first proven one is
/// handed on and the listener closes. Nothing past a connection's first record is read
/// until it is proven.
async fn take_one(
    l: TcpListener,
    peer: IpAddr,
    key: [u8; KEY_LEN],
    tx: oneshot::Sender<(TcpStream, Opener)>,
) {
    let until = Instant::now() + LISTEN_FOR;
    for _ in 0..MAX_TRIES {
        let (mut s, from) = match tokio::time::timeout_at(until, l.accept()).await {
            Ok(Ok(c)) => c,
            Ok(Err(e)) => {
                tracing::warn!("bulk: accept failed: {e}");
                continue;
            }
            Err(_) => {
                tracing::info!("bulk: no proven connection within {LISTEN_FOR:?}; listener closed");
                return;
            }
        };
        if from.ip() != peer {
            tracing::warn!(%from, "bulk: refused a connection that is not from the peer's address");
            continue;
        }
        let mut opener = Opener::new(&key);
        match tokio::time::timeout(PROOF_WITHIN, opener.proof(&mut s)).await {
            Ok(Ok(Ok(()))) => {
                let _ = tx.send((s, opener));
                return;
            }
            Ok(Ok(Err(e))) => tracing::warn!(%from, "bulk: dropped a connection: {e}"),
            Ok(Err(e)) => tracing::warn!(%from, "bulk: dropped a connection: {e}"),
            Err(_) => {
                tracing::warn!(%from, "bulk: dropped a connection: no proof within {PROOF_WITHIN:?}")
            }
        }
    }
    tracing::warn!("bulk: {MAX_TRIES} connections without a proof; listener closed");
}

/// Receiver: records off the proven stream, in order, onto `tx`.
async fn read_records(stream: TcpStream, mut opener: Opener, tx: mpsc::Sender<io::Result<Msg>>) {
    let mut r = BufReader::with_capacity(256 * 1024, stream);
    loop {
        let got = match opener.read(&mut r).await {
            Ok(Ok(Read::Msg(m))) => Ok(m),
            Ok(Ok(Read::End)) => return,
            Ok(Err(e)) => Err(protocol(format!("the TCP stream sent {e}"))),
            Err(e) => Err(e),
        };
        let stop = got.is_err();
        if tx.send(got).await.is_err() || stop {
            return;
        }
    }
}

/// Sender: messages from `rx` sealed onto the stream; shut down once `rx` ends.
async fn write_records(
    mut stream: TcpStream,
    mut sealer: Sealer,
    mut rx: mpsc::Receiver<Msg>,
    failed: std::sync::Arc<std::sync::Mutex<Option<String>>>,
) {
    while let Some(m) = rx.recv().await {
        if let Err(e) = stream.write_all(&sealer.message(&m)).await {
            *lock(&failed) = Some(format!("the TCP connection broke: {e}"));
            return;
        }
    }
    let _ = stream.shutdown().await;
}
