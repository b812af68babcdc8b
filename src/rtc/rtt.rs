//! Round-trip time between two qrchat peers.
//!
//! webrtc-ice 0.17 leaves its candidate-pair RTT statistics at zero, and the chat channel
//! carries plain text only (browser peers read it), so qrchat measures RTT on a second,
//! tiny data channel, [`RTT_LABEL`]. It is opened only when the other side is known to be
//! qrchat: its ICE credentials are qrchat's (`signal::made_by_qrchat`), which no browser
//! produces. Each side sends a ping every [`RTT_EVERY`] and echoes the other's.
//!
//! A message is 9 bytes: `P` (ping) or `Q` (pong) and the sender's clock in nanoseconds;
//! anything else is ignored.

use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::watch;

use super::channel::Channel;
use super::LinkState;

pub const RTT_LABEL: &str = "qrchat-rtt";
/// How often each side measures the round-trip time.
pub const RTT_EVERY: Duration = Duration::from_secs(2);

const PING: u8 = b'P';
const PONG: u8 = b'Q';

/// Ping, echo and `report` each round trip until the channel ends or `report` says the
/// session is gone (false). No pings while the link is interrupted: they would only pile
/// up in SCTP's retransmission back-off.
pub(super) async fn run(
    ch: Channel,
    mut state: watch::Receiver<Option<LinkState>>,
    report: impl Fn(Duration) -> bool,
) {
    let base = Instant::now();
    let pinger = {
        let ch = ch.clone();
        tokio::spawn(async move {
            loop {
                let open = matches!(*state.borrow_and_update(), Some(LinkState::Open { .. }));
                if open {
                    let now = base.elapsed().as_nanos() as u64;
                    if ch.send_bytes(frame(PING, now)).await.is_err() {
                        return;
                    }
                }
                tokio::select! {
                    _ = tokio::time::sleep(RTT_EVERY) => {}
                    r = state.changed() => if r.is_err() { return },
                }
            }
        })
    };
    // Pings are 9 bytes: a small buffer (Channel::recv would allocate a megabyte).
    let mut buf = [0u8; 64];
    loop {
        match ch.recv_raw(&mut buf).await {
            Ok(Some((b, false))) if b.len() == 9 => {
                let stamp = u64::from_be_bytes(b[1..9].try_into().unwrap_or_default());
                if b[0] == PING {
                    if ch.send_bytes(frame(PONG, stamp)).await.is_err() {
                        break;
                    }
                } else if b[0] == PONG {
                    let now = base.elapsed().as_nanos() as u64;
                    if let Some(rtt) = now.checked_sub(stamp) {
                        if !report(Duration::from_nanos(rtt)) {
                            break;
                        }
                    }
                }
            }
            Ok(None) | Err(_) => break,
            Ok(Some(_)) => {}
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
