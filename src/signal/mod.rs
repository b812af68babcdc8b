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

// ---- TEMPORARY lead shim, replaced wholesale when the `signal` branch lands ----
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Auto,
    Baseline,
    Compact,
    Json,
}
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Compact,
    Baseline,
    Json,
}
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    pub desc: SessionDescription,
    pub encoding: Encoding,
}
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("not a code")]
    Bad,
}
#[derive(Debug, thiserror::Error)]
pub enum EncodeError {}
pub fn encode(d: &SessionDescription, _f: Format) -> Result<String, EncodeError> {
    Ok(serde_json::json!({"type": d.kind.to_string(), "sdp": d.sdp}).to_string())
}
pub fn decode(text: &str) -> Result<Decoded, DecodeError> {
    let v: serde_json::Value = serde_json::from_str(text).map_err(|_| DecodeError::Bad)?;
    let kind = match v["type"].as_str() {
        Some("offer") => SdpKind::Offer,
        Some("answer") => SdpKind::Answer,
        _ => return Err(DecodeError::Bad),
    };
    Ok(Decoded {
        desc: SessionDescription {
            kind,
            sdp: v["sdp"].as_str().ok_or(DecodeError::Bad)?.to_owned(),
        },
        encoding: Encoding::Json,
    })
}
pub fn decode_expecting(
    text: &str,
    expected: SdpKind,
    _own: Option<&[u8; 32]>,
) -> Result<Decoded, DecodeError> {
    let d = decode(text)?;
    if d.desc.kind != expected {
        return Err(DecodeError::Bad);
    }
    Ok(d)
}
pub fn fingerprint_of(sdp: &str) -> Option<[u8; 32]> {
    let line = sdp
        .lines()
        .find(|l| l.starts_with("a=fingerprint:sha-256 "))?;
    let hex = line.trim_start_matches("a=fingerprint:sha-256 ").trim();
    let mut out = [0u8; 32];
    let parts: Vec<_> = hex.split(':').collect();
    if parts.len() != 32 {
        return None;
    }
    for (i, p) in parts.iter().enumerate() {
        out[i] = u8::from_str_radix(p, 16).ok()?;
    }
    Some(out)
}
pub fn ice_credentials(fp: &[u8; 32]) -> (String, String) {
    let h: String = fp.iter().map(|b| format!("{b:02x}")).collect();
    (h[..8].to_owned(), h[8..32].to_owned())
}
pub fn sas(a: &[u8; 32], b: &[u8; 32]) -> String {
    let (x, y) = if a < b { (a, b) } else { (b, a) };
    let n = x
        .iter()
        .chain(y.iter())
        .fold(0u32, |acc, v| acc.wrapping_mul(31).wrapping_add(*v as u32));
    format!("{:03} {:03}", (n / 1000) % 1000, n % 1000)
}
