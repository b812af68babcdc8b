//! The direct delivery's bytes and MACs, pure (no I/O, no clock): the frame layout, the
//! answer kind's key and MACs, and the check the listener runs on every request.
//!
//! ```text
//! request   byte 0      kind: 1 = an answer to the offer the listener's code carries;
//!                       2..=127 free for later kinds (a known peer's reconnect, ...)
//!           bytes 1-2   body length n, big-endian, 1..=MAX_BODY
//!           n bytes     body (kind 1: the answer code, as `qrchat answer` prints it)
//!           32 bytes    MAC (kind 1: see `answer_mac`)
//! reply     byte 0      the request's kind | 0x80
//!           byte 1      status: 0 accepted, 1 the code is used up (another answer won)
//!           32 bytes    MAC over the status and the request's MAC, same key
//! ```
//! A request that is not whole, too big, of an unknown kind, not a code, for another code
//! or with a wrong MAC gets no reply at all: the connection is closed.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::signal::{self, DecodeError, SdpKind, SessionDescription};

/// Longest body: a baseline (deflated full SDP) answer is about 600 characters, a compact
/// one about 110.
pub const MAX_BODY: usize = 4096;
pub const MAC_LEN: usize = 32;
/// Kind byte, two length bytes.
pub const HEADER_LEN: usize = 3;
pub const REPLY_LEN: usize = 2 + MAC_LEN;
/// The answer to an offer (issue 15's one scan).
pub const KIND_ANSWER: u8 = 1;

type HmacSha256 = Hmac<Sha256>;

/// What a reply says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Applied: the joiner need not show its code.
    Accepted,
    /// Another answer was applied first: this code is used up.
    UsedUp,
}

impl Status {
    fn byte(self) -> u8 {
        match self {
            Status::Accepted => 0,
            Status::UsedUp => 1,
        }
    }
}

/// Why a request was dropped (each is counted in the log, none changes any state).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dropped {
    /// Not our frame: an unknown kind, an empty body, a body that is not a code.
    Garbage,
    /// The body says it is longer than [`MAX_BODY`].
    TooLarge,
    /// The connection ended before the whole request came.
    Truncated,
    /// The whole request did not come within the listener's deadline.
    Slow,
    /// A code, but not an answer to this offer (another code's, an offer, our own).
    WrongCode,
    /// An answer to this offer whose MAC is wrong: made without reading the code.
    WrongMac,
    /// The accepted request again (its ack is sent again; nothing else happens).
    Replayed,
    /// A valid answer after another one won: refused, and told so.
    UsedUp,
    /// Too many connections at once (from this address, or in all).
    Busy,
}

impl Dropped {
    pub const ALL: [Dropped; 9] = [
        Dropped::Garbage,
        Dropped::TooLarge,
        Dropped::Truncated,
        Dropped::Slow,
        Dropped::WrongCode,
        Dropped::WrongMac,
        Dropped::Replayed,
        Dropped::UsedUp,
        Dropped::Busy,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Dropped::Garbage => "garbage",
            Dropped::TooLarge => "too large",
            Dropped::Truncated => "truncated",
            Dropped::Slow => "too slow",
            Dropped::WrongCode => "for another code",
            Dropped::WrongMac => "wrong MAC",
            Dropped::Replayed => "replayed",
            Dropped::UsedUp => "after the code was used",
            Dropped::Busy => "too many at once",
        }
    }
}

/// A request's header: its kind and body length, or why it is dropped at once.
pub fn parse_header(
    h: &[u8; HEADER_LEN],
    known: impl Fn(u8) -> bool,
) -> Result<(u8, usize), Dropped> {
    let kind = h[0];
    let len = usize::from(u16::from_be_bytes([h[1], h[2]]));
    if !known(kind) || len == 0 {
        Err(Dropped::Garbage)
    } else if len > MAX_BODY {
        Err(Dropped::TooLarge)
    } else {
        Ok((kind, len))
    }
}

/// A whole request.
pub fn request(kind: u8, body: &[u8], mac: &[u8; MAC_LEN]) -> Vec<u8> {
    let len = u16::try_from(body.len().min(MAX_BODY)).unwrap_or(u16::MAX);
    let mut b = Vec::with_capacity(HEADER_LEN + body.len() + MAC_LEN);
    b.push(kind);
    b.extend_from_slice(&len.to_be_bytes());
    b.extend_from_slice(&body[..usize::from(len)]);
    b.extend_from_slice(mac);
    b
}

/// The key of one offer's direct answers: from its ICE password (compact v2: 128 fresh
/// bits that only someone who read the code knows) and bound to its fingerprint.
#[derive(Clone)]
pub struct AnswerKey {
    key: [u8; 32],
    offer_fp: [u8; 32],
}

impl std::fmt::Debug for AnswerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AnswerKey(..)")
    }
}

fn hmac(key: &[u8]) -> HmacSha256 {
    // HMAC takes a key of any length.
    HmacSha256::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC takes any key"))
}

impl AnswerKey {
    /// None when the offer states no ICE password or fingerprint, or its credentials are
    /// not a v2 qrchat code's (v1's derive from the fingerprint: no secret in them).
    pub fn for_offer(offer: &SessionDescription) -> Option<AnswerKey> {
        if offer.kind != SdpKind::Offer
            || !signal::made_by_qrchat(&offer.sdp)
            || signal::uses_v1_credentials(&offer.sdp)
        {
            return None;
        }
        let pwd = signal::ice_password(&offer.sdp)?;
        let offer_fp = signal::fingerprint_of(&offer.sdp)?;
        let mut m = hmac(pwd.as_bytes());
        m.update(b"qrchat direct answer key v1\0");
        m.update(&offer_fp);
        Some(AnswerKey {
            key: m.finalize().into_bytes().into(),
            offer_fp,
        })
    }

    fn answer_mac_state(&self, answer_fp: &[u8; 32], body: &[u8]) -> HmacSha256 {
        let mut m = hmac(&self.key);
        m.update(b"qrchat direct answer v1\0");
        m.update(&self.offer_fp);
        m.update(answer_fp);
        m.update(&(body.len() as u64).to_be_bytes());
        m.update(body);
        m
    }

    /// The MAC of an answer delivery: over the offer's and the answer's fingerprints and
    /// the answer code, so it proves the sender read the offer's code, and cannot be
    /// replayed to another code or carry another answer.
    pub fn answer_mac(&self, answer_fp: &[u8; 32], body: &[u8]) -> [u8; MAC_LEN] {
        self.answer_mac_state(answer_fp, body)
            .finalize()
            .into_bytes()
            .into()
    }

    /// The reply's MAC: the joiner knows the ack comes from the code's maker.
    pub fn reply_mac(&self, status: Status, request_mac: &[u8; MAC_LEN]) -> [u8; MAC_LEN] {
        let mut m = hmac(&self.key);
        m.update(b"qrchat direct reply v1\0");
        m.update(&[status.byte()]);
        m.update(request_mac);
        m.finalize().into_bytes().into()
    }

    /// A reply, whole.
    pub fn reply(&self, kind: u8, status: Status, request_mac: &[u8; MAC_LEN]) -> [u8; REPLY_LEN] {
        let mut r = [0u8; REPLY_LEN];
        r[0] = kind | 0x80;
        r[1] = status.byte();
        r[2..].copy_from_slice(&self.reply_mac(status, request_mac));
        r
    }

    /// The joiner reads a reply to its request: the status, if the reply is whole and its
    /// MAC holds.
    pub fn read_reply(&self, kind: u8, request_mac: &[u8; MAC_LEN], r: &[u8]) -> Option<Status> {
        if r.len() != REPLY_LEN || r[0] != kind | 0x80 {
            return None;
        }
        let status = match r[1] {
            0 => Status::Accepted,
            1 => Status::UsedUp,
            _ => return None,
        };
        let mut m = hmac(&self.key);
        m.update(b"qrchat direct reply v1\0");
        m.update(&[status.byte()]);
        m.update(request_mac);
        m.verify_slice(&r[2..]).ok().map(|()| status)
    }
}

/// The joiner's request: its answer code, MAC'd with the offer's key.
pub fn answer_request(
    key: &AnswerKey,
    answer_code: &str,
    answer_fp: &[u8; 32],
) -> (Vec<u8>, [u8; MAC_LEN]) {
    let mac = key.answer_mac(answer_fp, answer_code.as_bytes());
    (request(KIND_ANSWER, answer_code.as_bytes(), &mac), mac)
}

/// The starter's check of an answer request's body and MAC (pure: no state changes).
/// The answer, decoded and tied to `offer`, when the MAC holds.
pub fn check_answer(
    key: &AnswerKey,
    offer: &SessionDescription,
    body: &[u8],
    mac: &[u8; MAC_LEN],
) -> Result<SessionDescription, Dropped> {
    let text = std::str::from_utf8(body).map_err(|_| Dropped::Garbage)?;
    let answer = match signal::decode_expecting(text, SdpKind::Answer, Some(offer)) {
        Ok(d) => d.desc,
        Err(
            DecodeError::WrongKind { .. } | DecodeError::OwnBlob | DecodeError::AnswersAnotherCode,
        ) => return Err(Dropped::WrongCode),
        Err(_) => return Err(Dropped::Garbage),
    };
    // Only a qrchat answer tied to this offer: an untied one (a browser's) cannot have come
    // by this path, and the tie names the code the sender read.
    if signal::answered_offer(&answer.sdp).is_none() {
        return Err(Dropped::WrongCode);
    }
    let answer_fp = signal::fingerprint_of(&answer.sdp).ok_or(Dropped::Garbage)?;
    key.answer_mac_state(&answer_fp, body)
        .verify_slice(mac)
        .map_err(|_| Dropped::WrongMac)?;
    Ok(answer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signal::{Format, SdpKind};

    /// A description as qrchat writes one: v2 credentials from `pwd`, fingerprint `fp`,
    /// one host candidate on 127.0.0.1:`port`; an answer is tied to `offer`.
    fn desc(
        kind: SdpKind,
        fp: u8,
        pwd: u8,
        port: u16,
        offer: Option<&SessionDescription>,
    ) -> SessionDescription {
        let (u, p) = signal::ice_credentials_v2(&[pwd; signal::ICE_PWD_BYTES]);
        let setup = match kind {
            SdpKind::Offer => "actpass",
            SdpKind::Answer => "active",
        };
        let mut sdp = format!(
            "v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n\
             a=fingerprint:sha-256 {}\r\na=group:BUNDLE 0\r\n\
             m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\n\
             a=setup:{setup}\r\na=mid:0\r\na=sendrecv\r\na=sctp-port:5000\r\n\
             a=ice-ufrag:{u}\r\na=ice-pwd:{p}\r\n\
             a=candidate:1 1 udp 2130706431 127.0.0.1 {port} typ host\r\n",
            signal::fingerprint_hex(&[fp; 32])
        );
        if let Some(o) = offer {
            sdp = signal::tie_answer(&sdp, &o.sdp);
        }
        SessionDescription { kind, sdp }
    }

    fn code(d: &SessionDescription) -> String {
        signal::encode(d, Format::Auto).unwrap()
    }

    #[test]
    fn a_valid_answer_passes_and_its_reply_reads_back() {
        let offer = desc(SdpKind::Offer, 0xA1, 1, 40000, None);
        let answer = desc(SdpKind::Answer, 0xB2, 2, 40001, Some(&offer));
        let key = AnswerKey::for_offer(&offer).unwrap();
        let (req, mac) = answer_request(&key, &code(&answer), &[0xB2; 32]);
        let (kind, len) =
            parse_header(req[..HEADER_LEN].try_into().unwrap(), |k| k == KIND_ANSWER).unwrap();
        assert_eq!((kind, len), (KIND_ANSWER, code(&answer).len()));
        let body = &req[HEADER_LEN..HEADER_LEN + len];
        let got = check_answer(&key, &offer, body, &mac).unwrap();
        assert_eq!(signal::fingerprint_of(&got.sdp), Some([0xB2; 32]));
        for status in [Status::Accepted, Status::UsedUp] {
            let r = key.reply(KIND_ANSWER, status, &mac);
            assert_eq!(key.read_reply(KIND_ANSWER, &mac, &r), Some(status));
            // Another code's key cannot make or read it.
            let other = AnswerKey::for_offer(&desc(SdpKind::Offer, 0xA1, 9, 40000, None)).unwrap();
            assert_eq!(other.read_reply(KIND_ANSWER, &mac, &r), None);
            let mut bent = r;
            bent[1] ^= 1;
            assert_eq!(key.read_reply(KIND_ANSWER, &mac, &bent), None);
        }
    }

    #[test]
    fn every_bad_request_is_dropped_for_its_own_reason() {
        let offer = desc(SdpKind::Offer, 0xA1, 1, 40000, None);
        let answer = desc(SdpKind::Answer, 0xB2, 2, 40001, Some(&offer));
        let key = AnswerKey::for_offer(&offer).unwrap();
        let body = code(&answer);
        let mac = key.answer_mac(&[0xB2; 32], body.as_bytes());
        let check =
            |body: &str, mac: &[u8; MAC_LEN]| check_answer(&key, &offer, body.as_bytes(), mac);
        assert!(check(&body, &mac).is_ok());

        // A wrong MAC: one bit off; made for another fingerprint; keyed by another code's
        // password (someone who saw the code's fingerprint but not its password).
        let mut bent = mac;
        bent[0] ^= 0x80;
        assert_eq!(check(&body, &bent).unwrap_err(), Dropped::WrongMac);
        let other_fp = key.answer_mac(&[0xB3; 32], body.as_bytes());
        assert_eq!(check(&body, &other_fp).unwrap_err(), Dropped::WrongMac);
        let guessed = desc(SdpKind::Offer, 0xA1, 7, 40000, None);
        let guessed_key = AnswerKey::for_offer(&guessed).unwrap();
        let forged = guessed_key.answer_mac(&[0xB2; 32], body.as_bytes());
        assert_eq!(check(&body, &forged).unwrap_err(), Dropped::WrongMac);

        // For another code: an answer tied to another offer (with that code's valid MAC),
        // an offer, our own offer back.
        let other_offer = desc(SdpKind::Offer, 0xA9, 3, 40000, None);
        let other_answer = desc(SdpKind::Answer, 0xB2, 2, 40001, Some(&other_offer));
        let other_key = AnswerKey::for_offer(&other_offer).unwrap();
        let ob = code(&other_answer);
        let om = other_key.answer_mac(&[0xB2; 32], ob.as_bytes());
        assert_eq!(check(&ob, &om).unwrap_err(), Dropped::WrongCode);
        let oc = code(&other_offer);
        assert_eq!(check(&oc, &mac).unwrap_err(), Dropped::WrongCode);
        assert_eq!(check(&code(&offer), &mac).unwrap_err(), Dropped::WrongCode);
        // An untied answer (as a browser writes) never comes this way.
        let untied = desc(SdpKind::Answer, 0xB2, 2, 40001, None);
        let ub = code(&untied);
        let um = key.answer_mac(&[0xB2; 32], ub.as_bytes());
        assert_eq!(check(&ub, &um).unwrap_err(), Dropped::WrongCode);

        // Garbage: not a code, not UTF-8, a cut code.
        assert_eq!(check("hello", &mac).unwrap_err(), Dropped::Garbage);
        assert_eq!(
            check_answer(&key, &offer, &[0xFF, 0xFE, 0x00], &mac).unwrap_err(),
            Dropped::Garbage
        );
        assert_eq!(
            check(&body[..body.len() - 3], &mac).unwrap_err(),
            Dropped::Garbage
        );

        // Headers: an unknown kind, an empty body, too long.
        let known = |k| k == KIND_ANSWER;
        assert_eq!(parse_header(&[9, 0, 10], known), Err(Dropped::Garbage));
        assert_eq!(
            parse_header(&[KIND_ANSWER, 0, 0], known),
            Err(Dropped::Garbage)
        );
        let big = (MAX_BODY as u16 + 1).to_be_bytes();
        assert_eq!(
            parse_header(&[KIND_ANSWER, big[0], big[1]], known),
            Err(Dropped::TooLarge)
        );
    }

    #[test]
    fn only_a_v2_qrchat_offer_keys_a_direct_answer() {
        let offer = desc(SdpKind::Offer, 0xA1, 1, 40000, None);
        assert!(AnswerKey::for_offer(&offer).is_some());
        let answer = desc(SdpKind::Answer, 0xB2, 2, 40001, Some(&offer));
        assert!(AnswerKey::for_offer(&answer).is_none());
        // v1: the credentials derive from the fingerprint, which anyone who saw the code
        // (or the traffic) knows.
        let (u, p) = signal::ice_credentials(&[0xA1; 32]);
        let v1 = SessionDescription {
            kind: SdpKind::Offer,
            sdp: offer
                .sdp
                .lines()
                .map(|l| {
                    if l.starts_with("a=ice-ufrag:") {
                        format!("a=ice-ufrag:{u}\r\n")
                    } else if l.starts_with("a=ice-pwd:") {
                        format!("a=ice-pwd:{p}\r\n")
                    } else {
                        format!("{l}\n")
                    }
                })
                .collect(),
        };
        assert!(AnswerKey::for_offer(&v1).is_none());
    }
}
