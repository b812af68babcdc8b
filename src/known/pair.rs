//! The pairwise secret, agreed over an open link that was paired by sight.
//!
//! Between two qrchat peers the offerer opens a `qrchat-pair` channel right after the chat
//! opens; each side sends one message, `qrP1` and 32 random bytes, and reads the other's.
//! The secret is SHA-256 over a domain tag and both (fingerprint, random) pairs in
//! fingerprint order, so both sides compute the same 32 bytes, and neither side alone
//! chooses it. The link is DTLS with the certificates the codes named (and the safety
//! number compares them), so nobody else learns it. Both sides always agree one (it costs a
//! channel and 36 bytes each way); it is kept only where the user saves the peer.

use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::rtc::{Channel, ChannelMessage};

/// The channel's label.
pub const LABEL: &str = "qrchat-pair";
const MAGIC: &[u8; 4] = b"qrP1";
const TAG: &[u8] = b"qrchat pairwise secret v1";
/// Longest the exchange may take (a LAN link answers in milliseconds).
pub const TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum PairError {
    #[error("the other side did not agree a pairing secret within {} s", TIMEOUT.as_secs())]
    Timeout,
    #[error("the other side closed the pairing channel")]
    Closed,
    #[error("the other side sent a malformed pairing message ({0} bytes)")]
    Malformed(usize),
    #[error("no system randomness: {0}")]
    Random(String),
    #[error("pairing channel: {0}")]
    Channel(String),
}

/// One side's part: its certificate fingerprint and random bytes.
pub fn derive(a: (&[u8; 32], &[u8; 32]), b: (&[u8; 32], &[u8; 32])) -> [u8; 32] {
    let (first, second) = if a.0 <= b.0 { (a, b) } else { (b, a) };
    let mut h = Sha256::new();
    h.update(TAG);
    h.update(first.0);
    h.update(first.1);
    h.update(second.0);
    h.update(second.1);
    h.finalize().into()
}

/// Run the exchange on `ch` (either side, the same code): send mine, read theirs.
pub async fn exchange(
    ch: &Channel,
    my_fp: &[u8; 32],
    peer_fp: &[u8; 32],
) -> Result<[u8; 32], PairError> {
    let mut mine = [0u8; 32];
    getrandom::fill(&mut mine).map_err(|e| PairError::Random(e.to_string()))?;
    let mut msg = MAGIC.to_vec();
    msg.extend_from_slice(&mine);
    let run = async {
        ch.send(&msg)
            .await
            .map_err(|e| PairError::Channel(e.to_string()))?;
        let theirs = match ch.recv().await {
            Ok(Some(ChannelMessage::Binary(b))) => b,
            Ok(Some(ChannelMessage::Text(t))) => return Err(PairError::Malformed(t.len())),
            Ok(None) => return Err(PairError::Closed),
            Err(e) => return Err(PairError::Channel(e.to_string())),
        };
        if theirs.len() != 36 || &theirs[..4] != MAGIC {
            return Err(PairError::Malformed(theirs.len()));
        }
        let mut r = [0u8; 32];
        r.copy_from_slice(&theirs[4..]);
        Ok(derive((my_fp, &mine), (peer_fp, &r)))
    };
    tokio::time::timeout(TIMEOUT, run)
        .await
        .map_err(|_| PairError::Timeout)?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_sides_derive_the_same_and_each_part_counts() {
        let (fa, ra, fb, rb) = ([1u8; 32], [2u8; 32], [3u8; 32], [4u8; 32]);
        let s = derive((&fa, &ra), (&fb, &rb));
        assert_eq!(s, derive((&fb, &rb), (&fa, &ra)));
        assert_ne!(s, derive((&fa, &ra), (&fb, &[5u8; 32])));
        assert_ne!(s, derive((&fa, &[5u8; 32]), (&fb, &rb)));
        assert_ne!(s, derive((&[6u8; 32], &ra), (&fb, &rb)));
    }
}
