//! One scan pairs both sides: the joiner hands its answer straight to the starter over the
//! LAN, and the second QR is only the fallback (ARCHITECTURE.md, "Direct delivery").
//!
//! - [`wire`]: the frame, the key (from the code's ICE password, bound to the offer's
//!   fingerprint) and the MACs; pure.
//! - [`listen`]: the starter's listener, TCP on each host candidate's address and port,
//!   generic over an [`Acceptor`] so that a later kind of request (a known peer's
//!   reconnect) is one more acceptor with its own kind byte.
//! - [`deliver`]: the joiner's deliverer.
//!
//! Uses `signal` only: the owner (headless, the TUI) applies what the listener hands on.

pub mod deliver;
pub mod listen;
pub mod wire;

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use crate::signal::{self, SessionDescription};

pub use deliver::Delivery;
pub use listen::{Acceptor, Counts, Listener};
pub use wire::{AnswerKey, Dropped, Status};

/// Issue 15's kind: an answer to the listener's offer.
pub struct AnswerAcceptor {
    key: AnswerKey,
    offer: SessionDescription,
}

impl AnswerAcceptor {
    /// None for an offer that cannot take direct answers (no v2 ICE password).
    pub fn new(offer: &SessionDescription) -> Option<AnswerAcceptor> {
        Some(AnswerAcceptor {
            key: AnswerKey::for_offer(offer)?,
            offer: offer.clone(),
        })
    }
}

impl Acceptor for AnswerAcceptor {
    type Output = SessionDescription;

    fn knows(&self, kind: u8) -> bool {
        kind == wire::KIND_ANSWER
    }

    fn check(
        &self,
        _kind: u8,
        body: &[u8],
        mac: &[u8; wire::MAC_LEN],
    ) -> Result<SessionDescription, Dropped> {
        wire::check_answer(&self.key, &self.offer, body, mac)
    }

    fn reply(&self, kind: u8, status: Status, mac: &[u8; wire::MAC_LEN]) -> [u8; wire::REPLY_LEN] {
        self.key.reply(kind, status, mac)
    }
}

/// Where the maker of `offer` listens: its host candidates' addresses and ports.
pub fn targets(offer: &SessionDescription) -> Vec<SocketAddr> {
    signal::host_sockets(&offer.sdp)
}

/// The starter: listen for a direct answer to `offer` (our own, complete) at its host
/// candidates. Put the flag in the code ([`signal::mark_direct`]) only when this worked.
pub async fn listen_for_answer(
    offer: &SessionDescription,
) -> io::Result<Listener<SessionDescription>> {
    let acceptor = AnswerAcceptor::new(offer).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "this offer's ICE credentials are not a v2 qrchat code's",
        )
    })?;
    Listener::start(&targets(offer), acceptor).await
}

/// The joiner: deliver `answer` (our own, complete; `answer_code` as we print it) to the
/// maker of `offer`, for at most `within`. An offer without the flag is not tried.
pub async fn deliver_answer(
    offer: &SessionDescription,
    answer: &SessionDescription,
    answer_code: &str,
    within: Duration,
) -> Delivery {
    if !signal::accepts_direct(&offer.sdp) {
        return Delivery::Failed("the other side does not take a direct answer".into());
    }
    let (Some(key), Some(fp)) = (
        AnswerKey::for_offer(offer),
        signal::fingerprint_of(&answer.sdp),
    ) else {
        return Delivery::Failed("the other side's code cannot key a direct answer".into());
    };
    deliver::deliver(&key, &targets(offer), answer_code, &fp, within).await
}
