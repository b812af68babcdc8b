//! Compact v1 and v2: `Q` + base32 of a packed binary record.
//!
//! Text: the letter `Q`, then RFC 4648 base32 (alphabet `A-Z2-7`, no padding) of the
//! record below. Upper-case letters and digits keep the QR in alphanumeric mode
//! (5.5 bits per character), which beats base64 in byte mode (8 bits per character).
//! The decoder also accepts lower-case base32 and a lower-case `q`.
//!
//! Record (all integers big-endian):
//! ```text
//! byte 0        header
//!                 bits 7-5  format version, 2 (written) or 1 (still read); a decoder
//!                           refuses any other version before looking further: the
//!                           layout may change with it
//!                 bit  4    kind: 0 offer, 1 answer
//!                 bits 3-2  DTLS setup role: 00 actpass, 01 active, 10 passive, 11 reserved
//!                 bit  1    offers: the maker takes its answer delivered straight to it
//!                           over the LAN (`signal::accepts_direct`, `a=qrchat-direct`);
//!                           0 in answers (reserved there). Costs no character: a flag, not
//!                           a port (the listener's TCP port is the UDP host candidate's)
//!                 bit  0    an answer's offer tag follows (4 bytes, see
//!                           `signal::offer_tag`); 0 in offers
//! bytes 1-32    SHA-256 DTLS certificate fingerprint
//! 16 bytes      v2 only: the ICE password's randomness (its 22 characters are these
//!               bytes in base64's standard alphabet; the ufrag is derived from them,
//!               `signal::ice_ufrag_v2`). v1 derives both from the fingerprint instead
//! 4 bytes       if header bit 0: the answer's offer tag (`signal::offer_tag`)
//! 1 byte        candidate count n, 1..=255
//! n times       candidate
//!                 tag byte  bits 7-4  reserved, 0
//!                           bit  3    transport: 0 UDP (1 reserved, e.g. for TCP)
//!                           bit  2    family: 0 IPv4 (4 address bytes), 1 IPv6 (16)
//!                           bits 1-0  type: 00 host, 01 srflx, 10 prflx, 11 relay
//!                 address   4 or 16 bytes
//!                 port      2 bytes
//! last 4 bytes  CRC-32 (IEEE, as crc32fast computes it) of every byte before it
//! ```
//! Size (v2): 54 + 7 bytes per IPv4 candidate (+12 for IPv6), so an offer with one IPv4
//! host candidate is 61 bytes, 99 characters, three are 121 (QR version 5 at ECC M holds
//! 122); v1: 45 bytes, 73 characters. Reserved
//! bits set in a record whose checksum holds mean a newer writer: the decoder says so
//! rather than guessing.
//!
//! Why v2 carries the password: in v1 a fingerprint changed on the way changed the ICE
//! credentials with it, so the two sides never reached each other and the side that read
//! the changed code waited in silence. With credentials of their own the path comes up,
//! DTLS sees the wrong certificate, and both sides can say what happened.
//!
//! Not carried, rebuilt by [`super::sdp::rebuild`]: the ICE ufrag (v1: the pwd too),
//! candidate priorities and foundations, related addresses, and the fixed data-channel
//! media section.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::error::DecodeError;
use super::sdp::{CandType, Candidate, Ice, Record, Setup};
use super::{SdpKind, ICE_PWD_BYTES};

pub(crate) const PREFIX: char = 'Q';
/// The version written with a password (v2), and the one whose ICE credentials derive
/// from the fingerprint (v1, still read, and written for an answer to a v1 offer).
const VERSION: u8 = 2;
const VERSION_V1: u8 = 1;
const MIN_LEN: usize = 1 + 32 + 1 + 4;

const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// RFC 4648 base32, upper case, no padding.
pub(crate) fn base32_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(5) * 8);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &b in data {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((acc >> bits) & 31) as usize]));
        }
        acc &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((acc << (5 - bits)) & 31) as usize]));
    }
    out
}

/// Strict base32 decoding: either case, no padding, no stray bits.
pub(crate) fn base32_decode(text: &str) -> Result<Vec<u8>, DecodeError> {
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.bytes() {
        let v = base32_value(c).ok_or(DecodeError::BadEncoding { alphabet: "base32" })?;
        acc = (acc << 5) | u32::from(v);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
        acc &= (1 << bits) - 1;
    }
    // A length of 1, 3 or 6 (mod 8) characters cannot come from whole bytes.
    if matches!(text.len() % 8, 1 | 3 | 6) {
        return Err(DecodeError::Damaged {
            detail: "its length does not fit the format",
        });
    }
    if acc != 0 {
        return Err(DecodeError::Damaged {
            detail: "its last character is impossible",
        });
    }
    Ok(out)
}

fn base32_value(c: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a'),
        b'2'..=b'7' => Some(c - b'2' + 26),
        _ => None,
    }
}

/// The record as bytes (checksum included).
pub(crate) fn to_bytes(r: &Record) -> Result<Vec<u8>, String> {
    let n = u8::try_from(r.candidates.len())
        .map_err(|_| format!("{} candidates (at most 255)", r.candidates.len()))?;
    if n == 0 {
        return Err("no candidates".into());
    }
    let kind = match r.kind {
        SdpKind::Offer => 0,
        SdpKind::Answer => 1,
    };
    let setup = match r.setup {
        Setup::ActPass => 0,
        Setup::Active => 1,
        Setup::Passive => 2,
    };
    let mut b = Vec::with_capacity(MIN_LEN + 19 * r.candidates.len());
    let tagged = u8::from(r.answers.is_some());
    let version = match r.ice {
        Ice::Password(_) => VERSION,
        Ice::FromFingerprint => VERSION_V1,
    };
    let direct = u8::from(r.direct && r.kind == SdpKind::Offer) << 1;
    b.push((version << 5) | (kind << 4) | (setup << 2) | direct | tagged);
    b.extend_from_slice(&r.fingerprint);
    if let Ice::Password(p) = &r.ice {
        b.extend_from_slice(p);
    }
    if let Some(t) = r.answers {
        b.extend_from_slice(&t);
    }
    b.push(n);
    for c in &r.candidates {
        let typ = match c.typ {
            CandType::Host => 0,
            CandType::Srflx => 1,
            CandType::Prflx => 2,
            CandType::Relay => 3,
        };
        match c.ip {
            IpAddr::V4(a) => {
                b.push(typ);
                b.extend_from_slice(&a.octets());
            }
            IpAddr::V6(a) => {
                b.push(0b100 | typ);
                b.extend_from_slice(&a.octets());
            }
        }
        b.extend_from_slice(&c.port.to_be_bytes());
    }
    let crc = crc32fast::hash(&b);
    b.extend_from_slice(&crc.to_be_bytes());
    Ok(b)
}

/// `Q` + base32 of the record.
pub(crate) fn encode(r: &Record) -> Result<String, String> {
    let bytes = to_bytes(r)?;
    let mut s = String::with_capacity(1 + bytes.len() * 8 / 5 + 1);
    s.push(PREFIX);
    s.push_str(&base32_encode(&bytes));
    Ok(s)
}

/// Decodes the text after the `Q` (whitespace already removed).
pub(crate) fn decode(body: &str) -> Result<Record, DecodeError> {
    let b = base32_decode(body)?;
    from_bytes(&b)
}

const CUT: DecodeError = DecodeError::Damaged {
    detail: "it is shorter than its contents say",
};

pub(crate) fn from_bytes(b: &[u8]) -> Result<Record, DecodeError> {
    let header = *b.first().ok_or(DecodeError::Damaged {
        detail: "nothing follows its first letter",
    })?;
    let version = header >> 5;
    if version != VERSION && version != VERSION_V1 {
        return Err(DecodeError::UnknownVersion);
    }
    if b.len() < MIN_LEN {
        return Err(DecodeError::Damaged {
            detail: "it is too short",
        });
    }
    let (body, crc) = b.split_at(b.len() - 4);
    let want = u32::from_be_bytes([crc[0], crc[1], crc[2], crc[3]]);
    if crc32fast::hash(body) != want {
        return Err(DecodeError::Damaged {
            detail: "its checksum does not match",
        });
    }
    let kind = if header & 0x10 == 0 {
        SdpKind::Offer
    } else {
        SdpKind::Answer
    };
    let direct = header & 0b10 != 0;
    if direct && (kind == SdpKind::Answer || version == VERSION_V1) {
        return Err(DecodeError::UnknownVersion);
    }
    let setup = match (header >> 2) & 0b11 {
        0 => Setup::ActPass,
        1 => Setup::Active,
        2 => Setup::Passive,
        _ => return Err(DecodeError::UnknownVersion),
    };
    let mut fingerprint = [0u8; 32];
    fingerprint.copy_from_slice(&body[1..33]);
    let mut rest = &body[33..];
    let ice = if version == VERSION {
        if rest.len() < ICE_PWD_BYTES + 1 {
            return Err(CUT);
        }
        let (p, r) = rest.split_at(ICE_PWD_BYTES);
        rest = r;
        let mut pwd = [0u8; ICE_PWD_BYTES];
        pwd.copy_from_slice(p);
        Ice::Password(pwd)
    } else {
        Ice::FromFingerprint
    };
    let answers = if header & 1 == 1 {
        if rest.len() < 5 {
            return Err(CUT);
        }
        let (t, r) = rest.split_at(4);
        rest = r;
        Some([t[0], t[1], t[2], t[3]])
    } else {
        None
    };
    let (&n, r) = rest.split_first().ok_or(CUT)?;
    rest = r;
    if n == 0 {
        return Err(DecodeError::NoCandidates);
    }
    let mut candidates = Vec::with_capacity(usize::from(n));
    for _ in 0..n {
        let (&tag, r) = rest.split_first().ok_or(CUT)?;
        if tag & 0xF8 != 0 {
            return Err(DecodeError::UnknownVersion);
        }
        let typ = match tag & 0b11 {
            0 => CandType::Host,
            1 => CandType::Srflx,
            2 => CandType::Prflx,
            _ => CandType::Relay,
        };
        let alen = if tag & 0b100 == 0 { 4 } else { 16 };
        if r.len() < alen + 2 {
            return Err(CUT);
        }
        let (addr, r) = r.split_at(alen);
        let ip = if alen == 4 {
            IpAddr::V4(Ipv4Addr::new(addr[0], addr[1], addr[2], addr[3]))
        } else {
            let mut a = [0u8; 16];
            a.copy_from_slice(addr);
            IpAddr::V6(Ipv6Addr::from(a))
        };
        let port = u16::from_be_bytes([r[0], r[1]]);
        candidates.push(Candidate { typ, ip, port });
        rest = &r[2..];
    }
    if !rest.is_empty() {
        return Err(DecodeError::Damaged {
            detail: "it has bytes after its last candidate",
        });
    }
    Ok(Record {
        kind,
        setup,
        fingerprint,
        ice,
        answers,
        direct,
        candidates,
    })
}
