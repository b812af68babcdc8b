//! The pairing blob: session description <-> one line of text. Pure: no I/O, no async.
//!
//! Formats, told apart by the first character of the blob:
//! - `Q` compact v1: base32 (RFC 4648 alphabet, no padding, QR alphanumeric mode) of a
//!   packed binary form (kind, setup role, DTLS fingerprint, candidates, CRC32).
//! - `Z` baseline v1: base64url (no padding) of zlib(deflate) of the full SDP.
//! - `{` / `join(` / `gotAnswer(`: browser JSON `{"type":"offer","sdp":"..."}`.

use std::fmt;

/// Offer or answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SdpKind {
    Offer,
    Answer,
}

impl fmt::Display for SdpKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SdpKind::Offer => "offer",
            SdpKind::Answer => "answer",
        })
    }
}

/// A complete session description, as webrtc-rs and browsers exchange it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionDescription {
    pub kind: SdpKind,
    pub sdp: String,
}
