//! Round-trip time between two qrchat peers.
//!
//! webrtc-ice 0.17 leaves its candidate-pair RTT statistics at zero, and the chat channel
//! carries plain text only (browser peers read it), so qrchat measures RTT on a second,
//! tiny data channel, [`RTT_LABEL`]. It is opened only when the other side is known to be
//! qrchat: its ICE credentials are the ones derived from its fingerprint, which no browser
//! produces. Each side sends a ping every [`RTT_EVERY`] and echoes the other's.
//!
//! A message is 9 bytes: `P` (ping) or `Q` (pong) and the sender's clock in nanoseconds;
//! anything else is ignored.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use webrtc::data::data_channel::DataChannel;

use super::{SessionEvent, Shared};
use crate::signal;

pub const RTT_LABEL: &str = "qrchat-rtt";
/// How often each side measures the round-trip time.
pub const RTT_EVERY: Duration = Duration::from_secs(2);

const PING: u8 = b'P';
const PONG: u8 = b'Q';

/// Whether an SDP comes from qrchat: its ICE ufrag is derived from its fingerprint.
pub(super) fn made_by_qrchat(sdp: &str) -> bool {
    let Some(fp) = signal::fingerprint_of(sdp) else {
        return false;
    };
    let (ufrag, _) = signal::ice_credentials(&fp);
    sdp.lines()
        .filter_map(|l| l.trim().strip_prefix("a=ice-ufrag:"))
        .any(|u| u == ufrag)
}

/// Ping, echo and report until the channel or the session ends.
pub(super) async fn run(shared: Arc<Shared>, raw: Arc<DataChannel>) {
    let base = Instant::now();
    let pinger = {
        let raw = Arc::clone(&raw);
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            loop {
                if shared.closed.load(Ordering::SeqCst) {
                    return;
                }
                let now = base.elapsed().as_nanos() as u64;
                if raw
                    .write_data_channel(&frame(PING, now), false)
                    .await
                    .is_err()
                {
                    return;
                }
                tokio::time::sleep(RTT_EVERY).await;
            }
        })
    };
    let mut buf = [0u8; 64];
    loop {
        match raw.read_data_channel(&mut buf).await {
            Ok((9, false)) => {
                let stamp = u64::from_be_bytes(buf[1..9].try_into().unwrap_or_default());
                if buf[0] == PING {
                    if raw
                        .write_data_channel(&frame(PONG, stamp), false)
                        .await
                        .is_err()
                    {
                        break;
                    }
                } else if buf[0] == PONG {
                    let now = base.elapsed().as_nanos() as u64;
                    if let Some(rtt) = now.checked_sub(stamp) {
                        shared.emit(SessionEvent::Rtt(Duration::from_nanos(rtt)));
                    }
                }
            }
            Ok((0, false)) | Err(_) => break,
            Ok(_) => {}
        }
    }
    pinger.abort();
}

fn frame(tag: u8, stamp: u64) -> Bytes {
    let mut v = Vec::with_capacity(9);
    v.push(tag);
    v.extend_from_slice(&stamp.to_be_bytes());
    Bytes::from(v)
}
