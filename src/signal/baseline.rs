//! Baseline v1: `Z` + base64url (no padding) of zlib(best compression) of one kind byte
//! (`o` offer, `a` answer) followed by the complete SDP text. Carries any description;
//! zlib's adler32 catches corruption.

use std::io::{Read, Write};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use flate2::bufread::ZlibDecoder;
use flate2::write::ZlibEncoder;
use flate2::Compression;

use super::error::DecodeError;
use super::{SdpKind, MAX_INFLATED};

pub(crate) const PREFIX: char = 'Z';

pub(crate) fn encode(kind: SdpKind, sdp: &str) -> String {
    let mut z = ZlibEncoder::new(Vec::with_capacity(sdp.len() / 2), Compression::best());
    // Writing into a Vec cannot fail.
    let _ = z.write_all(&[kind_byte(kind)]);
    let _ = z.write_all(sdp.as_bytes());
    let bytes = z.finish().unwrap_or_default();
    let mut s = String::with_capacity(1 + bytes.len() * 4 / 3 + 2);
    s.push(PREFIX);
    URL_SAFE_NO_PAD.encode_string(&bytes, &mut s);
    s
}

fn kind_byte(kind: SdpKind) -> u8 {
    match kind {
        SdpKind::Offer => b'o',
        SdpKind::Answer => b'a',
    }
}

/// Decodes the text after the `Z` (whitespace already removed) into kind and SDP text;
/// the caller checks the SDP itself.
pub(crate) fn decode(body: &str) -> Result<(SdpKind, String), DecodeError> {
    let bytes = URL_SAFE_NO_PAD.decode(body).map_err(|e| match e {
        base64::DecodeError::InvalidByte(..) => DecodeError::BadEncoding {
            alphabet: "base64url",
        },
        // Only valid characters, but a length or last character no encoder makes.
        _ => DecodeError::Damaged {
            detail: "its length does not fit the format",
        },
    })?;
    if bytes.is_empty() {
        return Err(DecodeError::Damaged {
            detail: "nothing follows its first letter",
        });
    }
    let mut z = ZlibDecoder::new(&bytes[..]);
    let mut out = Vec::with_capacity(bytes.len() * 3);
    // Read at most one byte past the cap: a deflate bomb stops here, cheaply.
    (&mut z)
        .take(MAX_INFLATED as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|_| DecodeError::Damaged {
            detail: "it does not unpack",
        })?;
    if out.len() > MAX_INFLATED {
        return Err(DecodeError::InflatedTooBig { max: MAX_INFLATED });
    }
    if !z.into_inner().is_empty() {
        return Err(DecodeError::Damaged {
            detail: "it has bytes after its end",
        });
    }
    let (&k, text) = out.split_first().ok_or(DecodeError::Damaged {
        detail: "it unpacks to nothing",
    })?;
    let kind = match k {
        b'o' => SdpKind::Offer,
        b'a' => SdpKind::Answer,
        _ => return Err(DecodeError::UnknownVersion),
    };
    let sdp = String::from_utf8(text.to_vec()).map_err(|_| DecodeError::NotUtf8)?;
    Ok((kind, sdp))
}
