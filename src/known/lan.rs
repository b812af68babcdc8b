//! The known-peer datagrams on the LAN, pure (no sockets, no clock of its own).
//!
//! ```text
//!  connector (alice looks for bob)                 listener (bob's app, UDP port 47153)
//!  HELLO     nc, tag_S("hello", nc)      ──▶      tries each known peer's S; answers
//!                                                 EVERY well-formed hello the same way:
//!            ◀──  CHALLENGE nc, nl, tag_S("challenge", nc, nl)   (random tag if no S fits)
//!  tag checks with S: it is bob
//!  OFFER     nl, seal_S(my lasting fp, nc, offer code)   ──▶  nl must be a challenge it
//!                                                 gave for S, unused: else ignored
//!            ◀──  REPLY nc, seal_S(status, bob's lasting fp, answer code)
//!  (alice gives up before the final reply: Esc, quit, Ctrl-C)
//!  WITHDRAW  nl, tag_S("withdraw", nc, nl)   ──▶  the request under nl, still unanswered,
//!                                                 is taken off bob's screen
//! ```
//! Every datagram starts with `qrK1` and a kind byte; nc and nl are 16 fresh random bytes
//! each time; tags are HMAC-SHA256 (16 bytes kept); seals are ChaCha20-Poly1305 with a
//! random 12-byte nonce, the header and both nonces as associated data. Keys come from the
//! pairwise secret S (HMAC with a label per use). So a capture holds only random-looking
//! bytes that change every time: no name, no fingerprint, nothing stable across sessions
//! (the sealed codes carry a fresh certificate fingerprint per session, see
//! ARCHITECTURE.md). A stranger gets a challenge like anyone (a listener that stayed silent
//! for strangers would tell a replayed hello's sender apart), but without S it cannot
//! make a tag that checks or an offer that opens. A replayed offer names a challenge that
//! is used up or was never given: ignored (an exact copy of one already answered gets the
//! same sealed reply again, which opens nothing). A withdrawal counts only for an offer
//! that was let through and not answered yet, and only with the tag of that offer's peer
//! over both of its nonces (nc travels sealed in the offer): a stranger's or forged one,
//! one for another request, a replayed one (its request is gone or answered), change
//! nothing. It is never answered (nothing to learn from sending one).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::ChaCha20Poly1305;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

pub const MAGIC: &[u8; 4] = b"qrK1";
pub const KIND_HELLO: u8 = 1;
pub const KIND_CHALLENGE: u8 = 2;
pub const KIND_OFFER: u8 = 3;
pub const KIND_REPLY: u8 = 4;
/// The asker gave up: take the request off the screen.
pub const KIND_WITHDRAW: u8 = 5;
/// Longest datagram read or sent (a sealed compact code is a few hundred bytes).
pub const MAX_DATAGRAM: usize = 2048;
const TAG_LEN: usize = 16;
const NONCE_LEN: usize = 16;
const SEAL_NONCE_LEN: usize = 12;
/// A challenge not followed by its offer within this is forgotten.
pub const CHALLENGE_TTL: Duration = Duration::from_secs(20);
/// An answered offer's reply is kept this long for retransmissions.
const DONE_TTL: Duration = Duration::from_secs(120);
const MAX_PENDING: usize = 64;

pub type Nonce = [u8; NONCE_LEN];

/// The keys a pairwise secret gives.
#[derive(Clone)]
pub struct Keys {
    tag: [u8; 32],
    seal: [u8; 32],
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys(..)")
    }
}

fn hmac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    for p in parts {
        m.update(p);
    }
    m.finalize().into_bytes().into()
}

impl Keys {
    pub fn from_secret(secret: &[u8; 32]) -> Keys {
        Keys {
            tag: hmac(secret, &[b"qrchat lan tag v1"]),
            seal: hmac(secret, &[b"qrchat lan seal v1"]),
        }
    }

    fn tag(&self, parts: &[&[u8]]) -> [u8; TAG_LEN] {
        let full = hmac(&self.tag, parts);
        let mut t = [0u8; TAG_LEN];
        t.copy_from_slice(&full[..TAG_LEN]);
        t
    }

    fn seal(&self, aad: &[u8], plain: &[u8], nonce: &[u8; SEAL_NONCE_LEN]) -> Vec<u8> {
        let c = ChaCha20Poly1305::new((&self.seal).into());
        c.encrypt(nonce.into(), Payload { msg: plain, aad })
            .expect("sealing a short message cannot fail")
    }

    fn open(&self, aad: &[u8], ct: &[u8], nonce: &[u8; SEAL_NONCE_LEN]) -> Option<Vec<u8>> {
        let c = ChaCha20Poly1305::new((&self.seal).into());
        c.decrypt(nonce.into(), Payload { msg: ct, aad }).ok()
    }
}

/// Tag comparison in constant time.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Fresh random bytes (the system's randomness; a failure is a broken system).
pub fn random<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).expect("no system randomness");
    b
}

/// One parsed datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet {
    Hello {
        nc: Nonce,
        tag: [u8; TAG_LEN],
    },
    Challenge {
        nc: Nonce,
        nl: Nonce,
        tag: [u8; TAG_LEN],
    },
    Offer {
        nl: Nonce,
        seal_nonce: [u8; SEAL_NONCE_LEN],
        sealed: Vec<u8>,
    },
    Reply {
        nc: Nonce,
        seal_nonce: [u8; SEAL_NONCE_LEN],
        sealed: Vec<u8>,
    },
    Withdraw {
        nl: Nonce,
        tag: [u8; TAG_LEN],
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LanError {
    #[error("not a qrchat datagram")]
    NotOurs,
    #[error("datagram of {0} bytes: too long")]
    TooLong(usize),
    #[error("unknown kind {0}")]
    UnknownKind(u8),
    #[error("kind {kind}: {len} bytes is the wrong length")]
    BadLength { kind: u8, len: usize },
}

fn take<const N: usize>(b: &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(&b[..N]);
    out
}

pub fn parse(bytes: &[u8]) -> Result<Packet, LanError> {
    if bytes.len() > MAX_DATAGRAM {
        return Err(LanError::TooLong(bytes.len()));
    }
    if bytes.len() < 5 || &bytes[..4] != MAGIC {
        return Err(LanError::NotOurs);
    }
    let kind = bytes[4];
    let b = &bytes[5..];
    let bad = || LanError::BadLength {
        kind,
        len: bytes.len(),
    };
    match kind {
        KIND_HELLO => {
            if b.len() != NONCE_LEN + TAG_LEN {
                return Err(bad());
            }
            Ok(Packet::Hello {
                nc: take(b),
                tag: take(&b[NONCE_LEN..]),
            })
        }
        KIND_CHALLENGE => {
            if b.len() != 2 * NONCE_LEN + TAG_LEN {
                return Err(bad());
            }
            Ok(Packet::Challenge {
                nc: take(b),
                nl: take(&b[NONCE_LEN..]),
                tag: take(&b[2 * NONCE_LEN..]),
            })
        }
        KIND_WITHDRAW => {
            if b.len() != NONCE_LEN + TAG_LEN {
                return Err(bad());
            }
            Ok(Packet::Withdraw {
                nl: take(b),
                tag: take(&b[NONCE_LEN..]),
            })
        }
        KIND_OFFER | KIND_REPLY => {
            // nonce, seal nonce, at least the AEAD tag
            if b.len() < NONCE_LEN + SEAL_NONCE_LEN + 16 {
                return Err(bad());
            }
            let n: Nonce = take(b);
            let seal_nonce = take(&b[NONCE_LEN..]);
            let sealed = b[NONCE_LEN + SEAL_NONCE_LEN..].to_vec();
            Ok(if kind == KIND_OFFER {
                Packet::Offer {
                    nl: n,
                    seal_nonce,
                    sealed,
                }
            } else {
                Packet::Reply {
                    nc: n,
                    seal_nonce,
                    sealed,
                }
            })
        }
        k => Err(LanError::UnknownKind(k)),
    }
}

fn header(kind: u8) -> Vec<u8> {
    let mut v = MAGIC.to_vec();
    v.push(kind);
    v
}

pub fn hello(keys: &Keys, nc: &Nonce) -> Vec<u8> {
    let mut v = header(KIND_HELLO);
    v.extend_from_slice(nc);
    v.extend_from_slice(&keys.tag(&[b"hello", nc]));
    v
}

pub fn hello_is_for(keys: &Keys, nc: &Nonce, tag: &[u8; TAG_LEN]) -> bool {
    same(&keys.tag(&[b"hello", nc]), tag)
}

/// The challenge for a hello: keyed when the hello was from a known peer, random bytes of
/// the same shape otherwise.
pub fn challenge(keys: Option<&Keys>, nc: &Nonce, nl: &Nonce) -> Vec<u8> {
    let mut v = header(KIND_CHALLENGE);
    v.extend_from_slice(nc);
    v.extend_from_slice(nl);
    match keys {
        Some(k) => v.extend_from_slice(&k.tag(&[b"challenge", nc, nl])),
        None => v.extend_from_slice(&random::<TAG_LEN>()),
    }
    v
}

pub fn challenge_is_from(keys: &Keys, nc: &Nonce, nl: &Nonce, tag: &[u8; TAG_LEN]) -> bool {
    same(&keys.tag(&[b"challenge", nc, nl]), tag)
}

/// The asker gives up the offer it made under `nl` (for its hello `nc`).
pub fn withdraw(keys: &Keys, nc: &Nonce, nl: &Nonce) -> Vec<u8> {
    let mut v = header(KIND_WITHDRAW);
    v.extend_from_slice(nl);
    v.extend_from_slice(&keys.tag(&[b"withdraw", nc, nl]));
    v
}

pub fn withdraw_is_from(keys: &Keys, nc: &Nonce, nl: &Nonce, tag: &[u8; TAG_LEN]) -> bool {
    same(&keys.tag(&[b"withdraw", nc, nl]), tag)
}

/// What an offer carries, sealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferBody {
    /// The sender's lasting fingerprint (must be the one saved for it).
    pub fingerprint: [u8; 32],
    /// The hello's nonce (the reply goes under it).
    pub nc: Nonce,
    /// The offer code (compact), with this session's fresh certificate fingerprint.
    pub code: String,
}

pub fn offer(keys: &Keys, nl: &Nonce, body: &OfferBody) -> Vec<u8> {
    let mut plain = body.fingerprint.to_vec();
    plain.extend_from_slice(&body.nc);
    plain.extend_from_slice(body.code.as_bytes());
    let seal_nonce = random::<SEAL_NONCE_LEN>();
    let mut v = header(KIND_OFFER);
    v.extend_from_slice(nl);
    v.extend_from_slice(&seal_nonce);
    let mut aad = header(KIND_OFFER);
    aad.extend_from_slice(nl);
    v.extend_from_slice(&keys.seal(&aad, &plain, &seal_nonce));
    v
}

pub fn open_offer(
    keys: &Keys,
    nl: &Nonce,
    seal_nonce: &[u8; SEAL_NONCE_LEN],
    sealed: &[u8],
) -> Option<OfferBody> {
    let mut aad = header(KIND_OFFER);
    aad.extend_from_slice(nl);
    let plain = keys.open(&aad, sealed, seal_nonce)?;
    if plain.len() < 32 + NONCE_LEN {
        return None;
    }
    Some(OfferBody {
        fingerprint: take(&plain),
        nc: take(&plain[32..]),
        code: String::from_utf8(plain[32 + NONCE_LEN..].to_vec()).ok()?,
    })
}

/// The listener's answer to an offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// The answer code follows.
    Answer,
    /// The user said no.
    Declined,
    /// Already in a chat.
    Busy,
    /// The user is being asked; the real reply follows.
    Asking,
    /// The sender's lasting identity is not the one saved with this secret.
    NotYou,
    /// The user accepted, but the app could not start the chat (its session could not be
    /// made, or the offer could not be used). An older app says Busy instead.
    Failed,
}

impl Status {
    fn byte(&self) -> u8 {
        match self {
            Status::Answer => 0,
            Status::Declined => 1,
            Status::Busy => 2,
            Status::Asking => 3,
            Status::NotYou => 4,
            Status::Failed => 5,
        }
    }

    fn from_byte(b: u8) -> Option<Status> {
        Some(match b {
            0 => Status::Answer,
            1 => Status::Declined,
            2 => Status::Busy,
            3 => Status::Asking,
            4 => Status::NotYou,
            5 => Status::Failed,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyBody {
    pub status: Status,
    /// The listener's lasting fingerprint.
    pub fingerprint: [u8; 32],
    /// The answer code (Status::Answer), else empty.
    pub code: String,
}

fn reply_aad(nc: &Nonce, nl: &Nonce) -> Vec<u8> {
    let mut aad = header(KIND_REPLY);
    aad.extend_from_slice(nc);
    aad.extend_from_slice(nl);
    aad
}

pub fn reply(keys: &Keys, nc: &Nonce, nl: &Nonce, body: &ReplyBody) -> Vec<u8> {
    let mut plain = vec![body.status.byte()];
    plain.extend_from_slice(&body.fingerprint);
    plain.extend_from_slice(body.code.as_bytes());
    let seal_nonce = random::<SEAL_NONCE_LEN>();
    let mut v = header(KIND_REPLY);
    v.extend_from_slice(nc);
    v.extend_from_slice(&seal_nonce);
    v.extend_from_slice(&keys.seal(&reply_aad(nc, nl), &plain, &seal_nonce));
    v
}

pub fn open_reply(
    keys: &Keys,
    nc: &Nonce,
    nl: &Nonce,
    seal_nonce: &[u8; SEAL_NONCE_LEN],
    sealed: &[u8],
) -> Option<ReplyBody> {
    let plain = keys.open(&reply_aad(nc, nl), sealed, seal_nonce)?;
    if plain.len() < 33 {
        return None;
    }
    Some(ReplyBody {
        status: Status::from_byte(plain[0])?,
        fingerprint: take(&plain[1..]),
        code: String::from_utf8(plain[33..].to_vec()).ok()?,
    })
}

/// What the listener does with one datagram.
#[derive(Debug)]
pub enum Step {
    /// Send this back to the sender.
    Send(Vec<u8>),
    /// A known peer's offer, opened: ask the owner, then [`Responder::replied`].
    Offer(OfferIn),
    /// The asker gave up the request it made under this nonce ([`OfferIn::nl`]): take it
    /// off the screen (it is not answered).
    Withdrawn(Nonce),
    /// Nothing to do; the reason is for the log.
    Ignore(&'static str),
}

#[derive(Debug, Clone)]
pub struct OfferIn {
    /// Index into the key list the datagram was checked against.
    pub peer: usize,
    pub nl: Nonce,
    pub body: OfferBody,
}

struct Pending {
    nl: Nonce,
    peer: usize,
    /// Fingerprint of the peer the challenge was for (the key list may change between).
    peer_fp: [u8; 32],
    at: Instant,
}

struct Done {
    nl: Nonce,
    /// The hello's nonce (from inside the seal) and whose offer it was: what a withdrawal
    /// must be tagged with.
    nc: Nonce,
    peer_fp: [u8; 32],
    offer_hash: [u8; 32],
    reply: Option<Vec<u8>>,
    withdrawn: bool,
    at: Instant,
}

/// The listener's memory of challenges given and offers answered: what makes a replay
/// open nothing. Bounded.
#[derive(Default)]
pub struct Responder {
    pending: VecDeque<Pending>,
    done: VecDeque<Done>,
}

impl Responder {
    pub fn new() -> Responder {
        Responder::default()
    }

    /// One datagram in; `peers` are the known peers' (fingerprint, keys) now.
    pub fn on_datagram(&mut self, bytes: &[u8], peers: &[([u8; 32], Keys)], now: Instant) -> Step {
        self.pending
            .retain(|p| now.saturating_duration_since(p.at) < CHALLENGE_TTL);
        self.done
            .retain(|d| now.saturating_duration_since(d.at) < DONE_TTL);
        let packet = match parse(bytes) {
            Ok(p) => p,
            Err(_) => return Step::Ignore("malformed datagram"),
        };
        match packet {
            Packet::Hello { nc, tag } => {
                let nl: Nonce = random();
                let found = peers.iter().position(|(_, k)| hello_is_for(k, &nc, &tag));
                if let Some(i) = found {
                    if self.pending.len() >= MAX_PENDING {
                        self.pending.pop_front();
                    }
                    self.pending.push_back(Pending {
                        nl,
                        peer: i,
                        peer_fp: peers[i].0,
                        at: now,
                    });
                }
                Step::Send(challenge(found.map(|i| &peers[i].1), &nc, &nl))
            }
            Packet::Offer {
                nl,
                seal_nonce,
                sealed,
            } => {
                let hash: [u8; 32] = Sha256::digest(bytes).into();
                if let Some(d) = self.done.iter().find(|d| d.nl == nl) {
                    return match (&d.reply, d.offer_hash == hash) {
                        (Some(r), true) => Step::Send(r.clone()),
                        (None, true) => Step::Ignore("offer already being answered"),
                        _ => Step::Ignore("offer for a used challenge (a replay?)"),
                    };
                }
                let Some(pos) = self.pending.iter().position(|p| p.nl == nl) else {
                    return Step::Ignore(
                        "offer for a challenge never given or expired (a replay?)",
                    );
                };
                let p = &self.pending[pos];
                let Some(i) = peers.iter().position(|(fp, _)| *fp == p.peer_fp) else {
                    self.pending.remove(pos);
                    return Step::Ignore("offer from a peer forgotten meanwhile");
                };
                let _ = p.peer;
                let Some(body) = open_offer(&peers[i].1, &nl, &seal_nonce, &sealed) else {
                    return Step::Ignore("offer that does not open (forged)");
                };
                self.pending.remove(pos);
                if self.done.len() >= MAX_PENDING {
                    self.done.pop_front();
                }
                self.done.push_back(Done {
                    nl,
                    nc: body.nc,
                    peer_fp: peers[i].0,
                    offer_hash: hash,
                    reply: None,
                    withdrawn: false,
                    at: now,
                });
                Step::Offer(OfferIn { peer: i, nl, body })
            }
            Packet::Withdraw { nl, tag } => {
                let Some(d) = self.done.iter_mut().find(|d| d.nl == nl) else {
                    return Step::Ignore("withdrawal of no request (a replay?)");
                };
                let Some((_, keys)) = peers.iter().find(|(fp, _)| *fp == d.peer_fp) else {
                    return Step::Ignore("withdrawal from a peer forgotten meanwhile");
                };
                if !withdraw_is_from(keys, &d.nc, &nl, &tag) {
                    return Step::Ignore("withdrawal that does not check (forged)");
                }
                if d.reply.is_some() {
                    return Step::Ignore("withdrawal of a request answered already");
                }
                if d.withdrawn {
                    return Step::Ignore("withdrawn already (a repeat or a replay)");
                }
                d.withdrawn = true;
                Step::Withdrawn(nl)
            }
            Packet::Challenge { .. } | Packet::Reply { .. } => {
                Step::Ignore("a connector's datagram sent to the listener")
            }
        }
    }

    /// The reply sent for the offer under `nl`, kept for its retransmissions.
    pub fn replied(&mut self, nl: &Nonce, reply: Vec<u8>) {
        if let Some(d) = self.done.iter_mut().find(|d| &d.nl == nl) {
            d.reply = Some(reply);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(b: u8) -> Keys {
        Keys::from_secret(&[b; 32])
    }

    fn offer_for(
        r: &mut Responder,
        peers: &[([u8; 32], Keys)],
        k: &Keys,
        now: Instant,
    ) -> (Nonce, Vec<u8>) {
        let nc: Nonce = random();
        let Step::Send(ch) = r.on_datagram(&hello(k, &nc), peers, now) else {
            panic!("no challenge");
        };
        let Packet::Challenge { nl, tag, .. } = parse(&ch).unwrap() else {
            panic!()
        };
        assert!(challenge_is_from(k, &nc, &nl, &tag));
        let body = OfferBody {
            fingerprint: [7; 32],
            nc,
            code: "Qcode".into(),
        };
        (nc, offer(k, &nl, &body))
    }

    type Peers = Vec<([u8; 32], Keys)>;

    /// Two known peers, and peer 2's offer let through: (the responder, the peers, its
    /// hello's nonce, the offer datagram, what the responder made of it).
    fn let_through() -> (Responder, Peers, Nonce, Vec<u8>, OfferIn) {
        let mut r = Responder::new();
        let peers = vec![([1; 32], keys(1)), ([2; 32], keys(2))];
        let now = Instant::now();
        let (nc, off) = offer_for(&mut r, &peers, &keys(2), now);
        let Step::Offer(inc) = r.on_datagram(&off, &peers, now) else {
            panic!("not let through")
        };
        (r, peers, nc, off, inc)
    }

    #[test]
    fn a_known_peer_gets_through_once() {
        let (mut r, peers, nc, off, inc) = let_through();
        let now = Instant::now();
        assert_eq!(inc.peer, 1);
        assert_eq!(inc.body.code, "Qcode");
        assert_eq!(inc.body.nc, nc);
        // the same datagram again (a retransmission, or a replay) opens nothing new
        assert!(matches!(r.on_datagram(&off, &peers, now), Step::Ignore(_)));
        let rep = reply(
            &keys(2),
            &nc,
            &inc.nl,
            &ReplyBody {
                status: Status::Answer,
                fingerprint: [2; 32],
                code: "Qanswer".into(),
            },
        );
        r.replied(&inc.nl, rep.clone());
        // ... and once answered, gets the same sealed reply, not a second offer
        match r.on_datagram(&off, &peers, now) {
            Step::Send(b) => assert_eq!(b, rep),
            other => panic!("{other:?}"),
        }
        let Packet::Reply {
            nc: rnc,
            seal_nonce,
            sealed,
        } = parse(&rep).unwrap()
        else {
            panic!()
        };
        let body = open_reply(&keys(2), &rnc, &inc.nl, &seal_nonce, &sealed).unwrap();
        assert_eq!(body.code, "Qanswer");
        assert!(open_reply(&keys(1), &rnc, &inc.nl, &seal_nonce, &sealed).is_none());
    }

    #[test]
    fn strangers_get_an_indistinguishable_challenge_and_nothing_more() {
        let mut r = Responder::new();
        let peers = vec![([1; 32], keys(1))];
        let now = Instant::now();
        let stranger = keys(9);
        let nc: Nonce = random();
        let Step::Send(ch) = r.on_datagram(&hello(&stranger, &nc), &peers, now) else {
            panic!()
        };
        assert_eq!(ch.len(), 5 + 48, "same shape as a real challenge");
        let Packet::Challenge { nl, tag, .. } = parse(&ch).unwrap() else {
            panic!()
        };
        assert!(!challenge_is_from(&stranger, &nc, &nl, &tag));
        // an offer for that challenge, sealed with the stranger's key: nothing
        let body = OfferBody {
            fingerprint: [9; 32],
            nc,
            code: "Q".into(),
        };
        assert!(matches!(
            r.on_datagram(&offer(&stranger, &nl, &body), &peers, now),
            Step::Ignore(_)
        ));
    }

    #[test]
    fn forged_expired_and_malformed_offers_open_nothing() {
        let mut r = Responder::new();
        let peers = vec![([1; 32], keys(1))];
        let now = Instant::now();
        // forged: a real challenge, but sealed with another key
        let nc: Nonce = random();
        let Step::Send(ch) = r.on_datagram(&hello(&keys(1), &nc), &peers, now) else {
            panic!()
        };
        let Packet::Challenge { nl, .. } = parse(&ch).unwrap() else {
            panic!()
        };
        let body = OfferBody {
            fingerprint: [1; 32],
            nc,
            code: "Q".into(),
        };
        assert!(matches!(
            r.on_datagram(&offer(&keys(5), &nl, &body), &peers, now),
            Step::Ignore(_)
        ));
        // a flipped bit in a good one
        let mut good = offer(&keys(1), &nl, &body);
        let last = good.len() - 1;
        good[last] ^= 1;
        assert!(matches!(r.on_datagram(&good, &peers, now), Step::Ignore(_)));
        // expired: the challenge is too old by the time the offer comes
        let (_, late) = offer_for(&mut r, &peers, &keys(1), now);
        assert!(matches!(
            r.on_datagram(&late, &peers, now + CHALLENGE_TTL + Duration::from_secs(1)),
            Step::Ignore(_)
        ));
        // a peer forgotten between challenge and offer
        let (_, off) = offer_for(&mut r, &peers, &keys(1), now);
        assert!(matches!(r.on_datagram(&off, &[], now), Step::Ignore(_)));
        // malformed
        for junk in [
            &b""[..],
            b"qrK1",
            b"qrK1\x09abc",
            b"qrK1\x01short",
            &[0u8; 3000][..],
            b"GET / HTTP/1.1\r\n\r\n",
        ] {
            assert!(matches!(r.on_datagram(junk, &peers, now), Step::Ignore(_)));
        }
    }

    /// A genuine withdrawal takes back the request it names, once; a forged one (another
    /// key, a flipped bit, the right key over the wrong hello), a stranger's, one for a
    /// request that is answered or never was, and a replay, change nothing.
    #[test]
    fn only_the_asker_withdraws_its_own_unanswered_request() {
        let (mut r, peers, nc, _, inc) = let_through();
        let now = Instant::now();
        let nl = inc.nl;
        let genuine = withdraw(&keys(2), &nc, &nl);
        assert_eq!(genuine.len(), 5 + 32);
        assert_eq!(
            parse(&genuine).unwrap(),
            Packet::Withdraw {
                nl,
                tag: take(&genuine[5 + NONCE_LEN..])
            }
        );
        let mut flipped = genuine.clone();
        flipped[20] ^= 1;
        let forged = [
            // another known peer's secret, and a stranger's
            withdraw(&keys(1), &nc, &nl),
            withdraw(&keys(9), &nc, &nl),
            // the right secret over another hello
            withdraw(&keys(2), &random(), &nl),
            flipped,
            // a request that never was
            withdraw(&keys(2), &nc, &random()),
        ];
        for f in &forged {
            assert!(
                matches!(r.on_datagram(f, &peers, now), Step::Ignore(_)),
                "{f:?}"
            );
        }
        // ... none of which used it up: the genuine one still counts, once.
        match r.on_datagram(&genuine, &peers, now) {
            Step::Withdrawn(n) => assert_eq!(n, nl),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            r.on_datagram(&genuine, &peers, now),
            Step::Ignore(_)
        ));

        // Replayed against a later request (a fresh nonce): nothing.
        let (nc2, off2) = offer_for(&mut r, &peers, &keys(2), now);
        let Step::Offer(inc2) = r.on_datagram(&off2, &peers, now) else {
            panic!()
        };
        assert!(matches!(
            r.on_datagram(&genuine, &peers, now),
            Step::Ignore(_)
        ));
        // Once answered, its own withdrawal is too late: the answer stands.
        r.replied(&inc2.nl, b"the reply".to_vec());
        assert!(matches!(
            r.on_datagram(&withdraw(&keys(2), &nc2, &inc2.nl), &peers, now),
            Step::Ignore(_)
        ));
        // And a challenge given but no offer yet: there is nothing to withdraw.
        let nc3: Nonce = random();
        let Step::Send(ch) = r.on_datagram(&hello(&keys(2), &nc3), &peers, now) else {
            panic!()
        };
        let Packet::Challenge { nl: nl3, .. } = parse(&ch).unwrap() else {
            panic!()
        };
        assert!(matches!(
            r.on_datagram(&withdraw(&keys(2), &nc3, &nl3), &peers, now),
            Step::Ignore(_)
        ));
        // A malformed one.
        assert!(matches!(
            r.on_datagram(&genuine[..30], &peers, now),
            Step::Ignore(_)
        ));
    }

    #[test]
    fn a_failure_to_start_has_its_own_status() {
        let k = keys(3);
        let (nc, nl): (Nonce, Nonce) = (random(), random());
        let rep = reply(
            &k,
            &nc,
            &nl,
            &ReplyBody {
                status: Status::Failed,
                fingerprint: [3; 32],
                code: String::new(),
            },
        );
        let Packet::Reply {
            seal_nonce, sealed, ..
        } = parse(&rep).unwrap()
        else {
            panic!()
        };
        let body = open_reply(&k, &nc, &nl, &seal_nonce, &sealed).unwrap();
        assert_eq!(body.status, Status::Failed);
        assert_ne!(Status::Failed.byte(), Status::Busy.byte());
    }

    #[test]
    fn nothing_repeats_between_two_hellos() {
        let k = keys(1);
        let a = hello(&k, &random());
        let b = hello(&k, &random());
        assert_eq!(a[..5], b[..5]);
        assert!(a[5..].iter().zip(&b[5..]).filter(|(x, y)| x == y).count() < 6);
    }
}
