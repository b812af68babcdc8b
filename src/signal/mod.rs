//! The pairing blob: session description <-> one line of text. Pure: no I/O, no async.
//!
//! Formats, told apart by the first character of the blob:
//! - `Q` compact v1: base32 (RFC 4648 alphabet, no padding, QR alphanumeric mode) of a
//!   packed binary form (kind, setup role, DTLS fingerprint, candidates, CRC32).
//! - `Z` baseline v1: base64url (no padding) of zlib(deflate) of the full SDP.
//! - `{` / `join(` / `gotAnswer(`: browser JSON `{"type":"offer","sdp":"..."}`.
//!
//! Other capital letters are reserved for later formats ("made by a newer qrchat").
//! Decoding is hostile-input safe: at most [`MAX_INPUT`] bytes are looked at, a baseline
//! blob unpacks to at most [`MAX_INFLATED`] bytes, and every wrong input has its own
//! [`DecodeError`] variant.

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

mod baseline;
mod compact;
mod error;
mod find;
#[cfg(test)]
mod fuzz_tests;
mod json;
mod sdp;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_reach;
#[cfg(test)]
mod tests_webrtc;

pub use error::{DecodeError, EncodeError};
pub use find::find_code;

use sha2::{Digest, Sha256};

/// The longest text `decode` looks at (before whitespace is stripped).
pub const MAX_INPUT: usize = 64 * 1024;
/// The largest description a baseline blob may unpack to.
pub const MAX_INFLATED: usize = 64 * 1024;

/// Which form `encode` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Format {
    /// The compact form if it carries the description exactly, else the baseline.
    #[default]
    Auto,
    /// Always the baseline (deflated full SDP).
    Baseline,
    /// The compact form, or an error if it cannot carry this description.
    Compact,
    /// Browser JSON `{"type":...,"sdp":...}` on one line.
    Json,
}

/// Which form a blob was in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encoding {
    Compact,
    Baseline,
    Json,
}

impl fmt::Display for Encoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Encoding::Compact => "compact",
            Encoding::Baseline => "baseline",
            Encoding::Json => "json",
        })
    }
}

/// A decoded blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// The full description (for a compact blob: rebuilt).
    pub desc: SessionDescription,
    pub encoding: Encoding,
    /// Length of the blob in characters, whitespace from a paste left out.
    pub chars: usize,
}

/// Turns a complete (post-gathering) description into a one-line blob.
pub fn encode(desc: &SessionDescription, format: Format) -> Result<String, EncodeError> {
    check_for_encode(&desc.sdp)?;
    let blob = match format {
        Format::Json => json::encode(desc.kind, &desc.sdp),
        Format::Baseline => baseline::encode(desc.kind, &desc.sdp),
        Format::Compact => compact_checked(desc).map_err(EncodeError::NotCompact)?,
        Format::Auto => {
            let base = baseline::encode(desc.kind, &desc.sdp);
            match compact_checked(desc) {
                Ok(c) if c.len() <= base.len() => c,
                _ => base,
            }
        }
    };
    if blob.len() > MAX_INPUT {
        return Err(EncodeError::TooBig {
            len: blob.len(),
            max: MAX_INPUT,
        });
    }
    Ok(blob)
}

fn check_for_encode(sdp_text: &str) -> Result<(), EncodeError> {
    if sdp_text.len() + 1 > MAX_INFLATED {
        return Err(EncodeError::TooBig {
            len: sdp_text.len(),
            max: MAX_INFLATED - 1,
        });
    }
    sdp::validate(sdp_text).map_err(EncodeError::BadSdp)?;
    if sdp::fingerprint(sdp_text).is_none() {
        return Err(EncodeError::NoFingerprint);
    }
    if sdp::attributes(sdp_text, "candidate").next().is_none() {
        return Err(EncodeError::NoCandidates);
    }
    Ok(())
}

/// The compact blob, only if decoding it gives back the same fingerprint, setup role,
/// ICE credentials and candidate set.
fn compact_checked(desc: &SessionDescription) -> Result<String, String> {
    let rec = sdp::compact_view(desc.kind, &desc.sdp)?;
    let blob = compact::encode(&rec)?;
    let back = decode(&blob).map_err(|e| format!("it does not decode: {e}"))?;
    let again = sdp::compact_view(back.desc.kind, &back.desc.sdp)
        .map_err(|e| format!("the rebuilt description is not compact: {e}"))?;
    let set = |r: &sdp::Record| {
        let mut c = r.candidates.clone();
        c.sort();
        c.dedup();
        c
    };
    if again.kind != rec.kind
        || again.setup != rec.setup
        || again.fingerprint != rec.fingerprint
        || again.answers != rec.answers
        || again.direct != rec.direct
        || set(&again) != set(&rec)
    {
        return Err("it does not round-trip".into());
    }
    Ok(blob)
}

/// Reads a blob in any form: compact, baseline or browser JSON, with whitespace and line
/// breaks from a paste (any Unicode whitespace is ignored in compact and baseline blobs). Checks the description is whole: fingerprint and candidates.
pub fn decode(text: &str) -> Result<Decoded, DecodeError> {
    if text.len() > MAX_INPUT {
        return Err(DecodeError::TooLong {
            len: text.len(),
            max: MAX_INPUT,
        });
    }
    let t = text.trim_matches(char::is_whitespace);
    if t.is_empty() {
        return Err(DecodeError::Empty);
    }
    if json::looks_like(t) {
        let (kind, sdp_text) = json::decode(t)?;
        return Ok(Decoded {
            desc: checked(kind, sdp_text)?,
            encoding: Encoding::Json,
            chars: t.chars().count(),
        });
    }
    let blob: String = t.chars().filter(|c| !c.is_whitespace()).collect();
    let mut it = blob.chars();
    let first = it.next().unwrap_or(' ');
    let body = it.as_str();
    let chars = blob.chars().count();
    match first {
        'Q' | 'q' => {
            let rec = compact::decode(body)?;
            Ok(Decoded {
                desc: SessionDescription {
                    kind: rec.kind,
                    sdp: sdp::rebuild(&rec),
                },
                encoding: Encoding::Compact,
                chars,
            })
        }
        'Z' => {
            let (kind, sdp_text) = baseline::decode(body)?;
            Ok(Decoded {
                desc: checked(kind, sdp_text)?,
                encoding: Encoding::Baseline,
                chars,
            })
        }
        // Other capital letters are kept for future formats, which stay URL-safe; text
        // with other characters (a URL, a Wi-Fi code) comes from some other QR code.
        c if c.is_ascii_uppercase()
            && body.len() >= 16
            && body
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
        {
            Err(DecodeError::UnknownVersion)
        }
        _ => Err(DecodeError::NotQrchat),
    }
}

fn checked(kind: SdpKind, sdp_text: String) -> Result<SessionDescription, DecodeError> {
    sdp::validate(&sdp_text).map_err(DecodeError::BadSdp)?;
    if sdp::fingerprint(&sdp_text).is_none() {
        return Err(DecodeError::NoFingerprint);
    }
    if sdp::attributes(&sdp_text, "candidate").next().is_none() {
        return Err(DecodeError::NoCandidates);
    }
    Ok(SessionDescription {
        kind,
        sdp: sdp_text,
    })
}

/// decode + checks: the kind expected, and not our own code fed back (same fingerprint);
/// an answer must answer `own` (our offer), when we know it.
pub fn decode_expecting(
    text: &str,
    expected: SdpKind,
    own: Option<&SessionDescription>,
) -> Result<Decoded, DecodeError> {
    let d = decode(text)?;
    let own_fp = own.and_then(|o| fingerprint_of(&o.sdp));
    if own_fp.is_some() && fingerprint_of(&d.desc.sdp) == own_fp {
        return Err(DecodeError::OwnBlob);
    }
    if d.desc.kind != expected {
        return Err(DecodeError::WrongKind {
            expected,
            got: d.desc.kind,
        });
    }
    if let (SdpKind::Answer, Some(own), Some(tag)) = (expected, own, answered_offer(&d.desc.sdp)) {
        if Some(tag) != offer_tag(&own.sdp) {
            return Err(DecodeError::AnswersAnotherCode);
        }
    }
    Ok(d)
}

/// What a qrchat answer carries to tie it to the offer it answers: 4 bytes of a hash of
/// that offer's ICE password, fresh for every code (a v1 offer: of its fingerprint, as the
/// qrchat that wrote it expects). An answer made for an earlier code, or for one whose
/// ICE password was changed on the way, carries another tag, and the offerer says so at
/// once. Not the fingerprint (v2): a code whose fingerprint was changed on the way is
/// better left to connect, so that DTLS names the mismatch on both sides.
pub fn offer_tag(offer_sdp: &str) -> Option<[u8; 4]> {
    let h = if uses_v1_credentials(offer_sdp) {
        let fp = fingerprint_of(offer_sdp)?;
        Sha256::new()
            .chain_update(b"qrchat answers v1\0")
            .chain_update(fp)
            .finalize()
    } else {
        let (_, pwd) = ice_of(offer_sdp)?;
        Sha256::new()
            .chain_update(b"qrchat answers v2\0")
            .chain_update(pwd.as_bytes())
            .finalize()
    };
    Some([h[0], h[1], h[2], h[3]])
}

/// Add the tie to `offer` ([`offer_tag`], `a=qrchat-answers:`) to an answer's description,
/// right after its fingerprint line. Browsers ignore the attribute; qrchat sends it only to
/// qrchat offers. An offer without ICE credentials gets no tie.
pub fn tie_answer(sdp_text: &str, offer_sdp: &str) -> String {
    let Some(t) = offer_tag(offer_sdp) else {
        return sdp_text.to_owned();
    };
    let line = format!(
        "a=qrchat-answers:{:02x}{:02x}{:02x}{:02x}\r\n",
        t[0], t[1], t[2], t[3]
    );
    let mut out = String::with_capacity(sdp_text.len() + line.len());
    let mut done = false;
    for l in sdp_text.split_inclusive('\n') {
        out.push_str(l);
        if !done && l.starts_with("a=fingerprint:") {
            out.push_str(&line);
            done = true;
        }
    }
    if !done {
        out.push_str(&line);
    }
    out
}

/// Whether an offer's maker takes the answer delivered straight to it over the LAN (one
/// scan pairs both sides; `src/direct`): `a=qrchat-direct`, header bit 1 of a compact
/// code. The maker listens on TCP at each of its host candidates' address and port.
pub fn accepts_direct(sdp: &str) -> bool {
    sdp::attributes(sdp, "qrchat-direct").any(|v| v.is_empty())
}

/// An offer's description marked as taking a direct answer ([`accepts_direct`]): the
/// attribute right after its fingerprint line. Browsers ignore it.
pub fn mark_direct(offer_sdp: &str) -> String {
    if accepts_direct(offer_sdp) {
        return offer_sdp.to_owned();
    }
    let mut out = String::with_capacity(offer_sdp.len() + sdp::DIRECT_LINE.len());
    let mut done = false;
    for l in offer_sdp.split_inclusive('\n') {
        out.push_str(l);
        if !done && l.starts_with("a=fingerprint:") {
            out.push_str(sdp::DIRECT_LINE);
            done = true;
        }
    }
    if !done {
        out.push_str(sdp::DIRECT_LINE);
    }
    out
}

/// The ICE password a description states (`a=ice-pwd`): in a qrchat v2 code, 128 fresh
/// bits only someone who read the code knows (the direct delivery's MAC is keyed by it).
pub fn ice_password(sdp: &str) -> Option<&str> {
    ice_of(sdp).map(|(_, p)| p)
}

/// The offer tag an answer carries, if any.
pub fn answered_offer(sdp: &str) -> Option<[u8; 4]> {
    sdp::attributes(sdp, "qrchat-answers").find_map(sdp::parse_tag)
}

/// The first `a=fingerprint:sha-256 ...` of a description, as bytes.
pub fn fingerprint_of(sdp: &str) -> Option<[u8; 32]> {
    sdp::fingerprint(sdp)
}

/// `AB:CD:...` (32 hex bytes, as SDP and webrtc write a sha-256 fingerprint) as bytes.
pub fn parse_fingerprint_hex(hex: &str) -> Option<[u8; 32]> {
    sdp::parse_fingerprint_hex(hex)
}

/// The addresses of a description's host candidates (component 1), as written: where the
/// peer itself is, as opposed to its NAT's public address (srflx) or a relay.
pub fn host_addresses(text: &str) -> Vec<String> {
    sdp::attributes(text, "candidate")
        .filter_map(|v| sdp::parse_candidate(v).ok())
        .filter(|c| c.component == 1 && c.typ == "host")
        .map(|c| c.address.to_string())
        .collect()
}

/// An address that is only reachable inside a site (RFC 1918, shared/CGNAT space, loopback,
/// link-local, IPv6 unique-local): a peer reached there is on our network.
pub fn is_site_local(addr: &str) -> bool {
    match addr.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(v4)) => {
            let o = v4.octets();
            v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || (o[0] == 100 && (64..128).contains(&o[1]))
        }
        Ok(std::net::IpAddr::V6(v6)) => {
            let s = v6.segments()[0];
            v6.is_loopback() || (s & 0xfe00) == 0xfc00 || (s & 0xffc0) == 0xfe80
        }
        Err(_) => false,
    }
}

/// Where a description's host candidates (component 1, UDP) are, as socket addresses:
/// where its maker listens for a direct answer ([`accepts_direct`]), on TCP.
pub fn host_sockets(text: &str) -> Vec<std::net::SocketAddr> {
    let mut out: Vec<std::net::SocketAddr> = sdp::attributes(text, "candidate")
        .filter_map(|v| sdp::parse_candidate(v).ok())
        .filter(|c| c.component == 1 && c.typ == "host" && c.transport.eq_ignore_ascii_case("udp"))
        .filter_map(|c| Some(std::net::SocketAddr::new(c.address.parse().ok()?, c.port)))
        .collect();
    out.dedup();
    out
}

/// The addresses of a description's candidates (component 1), as written.
pub fn candidate_addresses(text: &str) -> Vec<String> {
    sdp::attributes(text, "candidate")
        .filter_map(|v| sdp::parse_candidate(v).ok())
        .filter(|c| c.component == 1)
        .map(|c| c.address.to_string())
        .collect()
}

/// The ICE character set (RFC 8445 `ice-char`): base64's standard alphabet.
const ICE_CHARS: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn derive_ice(tag: &[u8], key: &[u8], n: usize) -> String {
    let h = Sha256::new().chain_update(tag).chain_update(key).finalize();
    h.iter()
        .take(n)
        .map(|b| char::from(ICE_CHARS[usize::from(b & 63)]))
        .collect()
}

/// The ICE credentials of a compact v1 code: ufrag/pwd derived from the DTLS certificate
/// fingerprint, so the code need not carry them. Still read (and mirrored by an answer,
/// so an older qrchat can read it), no longer written for a new offer: a fingerprint
/// changed on the way then also changes the ICE credentials, nothing connects, and the
/// side that read the changed code cannot learn why.
///
/// ufrag: 8 characters (48 bits), pwd: 24 characters (144 bits), from the ICE character
/// set `[A-Za-z0-9+/]`; webrtc-rs wants at least 24 and 128 bits.
pub fn ice_credentials(fingerprint: &[u8; 32]) -> (String, String) {
    (
        derive_ice(b"qrchat ice-ufrag v1\0", fingerprint, 8),
        derive_ice(b"qrchat ice-pwd v1\0", fingerprint, 24),
    )
}

/// Bytes of randomness in a v2 ICE password: 128 bits, RFC 8445's minimum, as 22 ICE
/// characters (its shortest password). 16 rather than 18 keeps a LAN offer with three
/// candidates in QR version 5 at ECC M (121 characters of its 122).
pub const ICE_PWD_BYTES: usize = 16;

/// The ufrag that goes with a v2 password: derived from it, so a code carries only the
/// password, and anyone can tell a qrchat description by the pair.
pub(crate) fn ice_ufrag_v2(pwd: &[u8; ICE_PWD_BYTES]) -> String {
    derive_ice(b"qrchat ice-ufrag v2\0", pwd, 8)
}

/// A v2 password as ICE characters (base64's alphabet, 22 characters, no padding).
pub(crate) fn ice_pwd_text(pwd: &[u8; ICE_PWD_BYTES]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD_NO_PAD.encode(pwd)
}

/// The password bytes behind a v2 ICE password text, if it is one.
pub(crate) fn ice_pwd_bytes(text: &str) -> Option<[u8; ICE_PWD_BYTES]> {
    use base64::Engine as _;
    if text.len() != 22 {
        return None;
    }
    let v = base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(text)
        .ok()?;
    v.try_into().ok()
}

/// A new session's ICE credentials (compact v2) from 128 random bits (`rtc` draws them):
/// the password (the code carries it) and the ufrag derived from it. Independent of the
/// certificate, so a code whose fingerprint was changed on the way still reaches the peer,
/// and DTLS names the mismatch on both sides.
pub fn ice_credentials_v2(pwd: &[u8; ICE_PWD_BYTES]) -> (String, String) {
    (ice_ufrag_v2(pwd), ice_pwd_text(pwd))
}

/// The first `a=ice-ufrag:` and `a=ice-pwd:` of a description.
fn ice_of(sdp_text: &str) -> Option<(&str, &str)> {
    Some((
        sdp::attributes(sdp_text, "ice-ufrag").next()?,
        sdp::attributes(sdp_text, "ice-pwd").next()?,
    ))
}

/// Whether a description's ICE credentials are a compact v1 code's (derived from its
/// fingerprint): an answer to it keeps to v1, so the qrchat that wrote it can read the answer.
pub fn uses_v1_credentials(sdp_text: &str) -> bool {
    match (ice_of(sdp_text), sdp::fingerprint(sdp_text)) {
        (Some((u, p)), Some(fp)) => {
            let (want_u, want_p) = ice_credentials(&fp);
            u == want_u && p == want_p
        }
        _ => false,
    }
}

/// Whether a description comes from qrchat: its ICE credentials are qrchat's (v2: the ufrag
/// derived from the password; v1: both derived from the fingerprint). Browser pages make
/// random ones.
pub fn made_by_qrchat(sdp_text: &str) -> bool {
    let Some((u, p)) = ice_of(sdp_text) else {
        return false;
    };
    ice_pwd_bytes(p).is_some_and(|b| ice_ufrag_v2(&b) == u) || uses_v1_credentials(sdp_text)
}

/// Short authentication string both peers show once connected: same on both sides
/// (the two fingerprints are sorted first), six digits as "123 456".
pub fn sas(fp_a: &[u8; 32], fp_b: &[u8; 32]) -> String {
    let (lo, hi) = if fp_a <= fp_b {
        (fp_a, fp_b)
    } else {
        (fp_b, fp_a)
    };
    let h = Sha256::new()
        .chain_update(b"qrchat sas v1\0")
        .chain_update(lo)
        .chain_update(hi)
        .finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&h[..8]);
    let n = u64::from_be_bytes(first) % 1_000_000;
    format!("{:03} {:03}", n / 1000, n % 1000)
}

/// What a blob holds, for people: see its `Display`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub kind: SdpKind,
    pub encoding: Encoding,
    /// Blob length in characters.
    pub chars: usize,
    /// DTLS setup role (`actpass`, `active`, `passive`), or "unknown".
    pub setup: String,
    /// `AB:CD:...` sha-256 fingerprint, or "none".
    pub fingerprint: String,
    /// `address:port type` per candidate (component 1), `[v6]:port`, ` tcp` when TCP.
    pub candidates: Vec<String>,
}

pub fn summarize(decoded: &Decoded) -> Summary {
    let text = &decoded.desc.sdp;
    Summary {
        kind: decoded.desc.kind,
        encoding: decoded.encoding,
        chars: decoded.chars,
        setup: sdp::setup(text).unwrap_or("unknown").to_string(),
        fingerprint: fingerprint_of(text)
            .map(|fp| fingerprint_hex(&fp))
            .unwrap_or_else(|| "none".into()),
        candidates: candidates(text),
    }
}

/// The candidates of a description, one short item each, component 1 only (the one list
/// of candidates every part of qrchat shows): `address:port type`, `[v6]:port type`,
/// ` tcp` appended when TCP. Malformed candidate lines are left out.
pub fn candidates(sdp_text: &str) -> Vec<String> {
    sdp::attributes(sdp_text, "candidate")
        .filter_map(|v| sdp::parse_candidate(v).ok())
        .filter(|c| c.component == 1)
        .map(|c| {
            let addr = if c.address.contains(':') {
                format!("[{}]", c.address)
            } else {
                c.address.to_string()
            };
            let mut s = format!("{addr}:{} {}", c.port, c.typ);
            if !c.transport.eq_ignore_ascii_case("udp") {
                s.push(' ');
                s.push_str(&c.transport.to_ascii_lowercase());
            }
            s
        })
        .collect()
}

/// `AB:CD:...` upper-case hex, as SDP writes a sha-256 fingerprint.
pub fn fingerprint_hex(fp: &[u8; 32]) -> String {
    sdp::fingerprint_hex(fp)
}

/// The form to answer in: the one the offer came in when that was browser JSON (a browser
/// page reads only JSON), JSON when asked for (`--json`), else the smallest that works.
pub fn answer_format(offer: Encoding, json: bool) -> Format {
    if json || offer == Encoding::Json {
        Format::Json
    } else {
        Format::Auto
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SHOWN: usize = 6;
        let n = self.candidates.len();
        write!(
            f,
            "{} ({}, {} chars): {n} candidate{}",
            self.kind,
            self.encoding,
            self.chars,
            if n == 1 { "" } else { "s" }
        )?;
        for (i, c) in self.candidates.iter().take(SHOWN).enumerate() {
            write!(f, "{}{c}", if i == 0 { " " } else { ", " })?;
        }
        if n > SHOWN {
            write!(f, " and {} more", n - SHOWN)?;
        }
        // Long enough to tell two apart at a glance; the SAS is what proves the link.
        let fp = &self.fingerprint;
        let short = if fp.len() > 20 {
            format!("{}..{}", &fp[..8], &fp[fp.len() - 5..])
        } else {
            fp.clone()
        };
        write!(f, "; setup {}; fingerprint {short}", self.setup)
    }
}
