//! One pairing's state: role, codes, scan and paste, the connection and the link. A new
//! pairing replaces it whole.

use std::sync::Arc;
use std::time::Duration;

use image::GrayImage;

use super::{Options, Role};
use crate::rtc::LinkState;
use crate::signal::{DecodeError, Decoded, EncodeError, SessionDescription};
use crate::tui::input::Input;
use crate::tui::session::RtcError;

/// Our code, once made.
#[derive(Debug, Clone)]
pub struct LocalCode {
    pub blob: String,
    pub candidates: Vec<String>,
    /// The description the code carries (an answer scanned later must answer it).
    pub desc: SessionDescription,
    /// The QR lines, or why there is no QR.
    pub qr: Result<Vec<String>, Arc<crate::qr::QrError>>,
}

/// Why there is no code of mine.
#[derive(Debug, Clone)]
pub enum LocalError {
    Session(Arc<RtcError>),
    Encode(EncodeError),
}

impl std::fmt::Display for LocalError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LocalError::Session(e) => write!(f, "{e}"),
            LocalError::Encode(e) => write!(f, "could not make my code: {e}"),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct ScanState {
    pub camera: Option<String>,
    pub preview: Option<GrayImage>,
    /// The last code seen that was refused, and why.
    pub refused: Option<DecodeError>,
    /// A good code, waiting for the green frame to show.
    pub found: Option<(Decoded, Duration)>,
    /// A QR code that is not a qrchat code was seen.
    pub foreign: bool,
}

#[derive(Debug, Clone, Default)]
pub struct PasteState {
    pub input: Input,
    pub verdict: Option<Result<Decoded, DecodeError>>,
    /// Why we are here instead of scanning (no camera...).
    pub note: Option<String>,
    /// We came from the scan screen (Esc goes back there).
    pub from_scan: bool,
}

#[derive(Debug, Clone, Default)]
pub struct ConnState {
    /// States as they moved, oldest first.
    pub states: Vec<String>,
    pub since: Option<Duration>,
    /// When (app time) the joiner began waiting for the other side to read its code.
    pub waiting_since: Option<Duration>,
    pub failed: Option<String>,
}

/// The peer and the link of one pairing, as the chat's status bar shows them.
#[derive(Debug, Clone, Default)]
pub struct PeerState {
    /// The peer's address, as rtc names it.
    pub name: Option<String>,
    pub sas: Option<String>,
    /// The link as rtc last told it.
    pub link: Option<LinkState>,
    /// When (app time) the link went silent, while it is interrupted.
    pub interrupted_at: Option<Duration>,
    /// The pairing is over (the peer left or stopped responding): why, in words.
    pub left: Option<String>,
    /// Latest round-trip time to the peer (qrchat peers report it).
    pub rtt: Option<Duration>,
}

/// One pairing: from choosing a role to the end of its link. Replaced whole by the next;
/// the [`Chat`](super::Chat) it carried stays (re-pairing is a new `Pairing`, same chat).
#[derive(Debug, Clone, Default)]
pub struct Pairing {
    /// Events of other pairings are ignored.
    pub id: u64,
    pub role: Option<Role>,
    /// Gathering since, and candidates so far.
    pub gathering: Option<(Duration, usize)>,
    pub local: Option<LocalCode>,
    pub local_error: Option<LocalError>,
    /// Gathering was cut short by `--gather-timeout`.
    pub gather_cut: bool,
    pub show_text: bool,
    /// Answer in browser JSON (the offer came as JSON, or `--json`).
    pub json_reply: bool,
    /// A code came in by paste: ask to compare the safety number.
    pub pasted: bool,
    /// The certificate fingerprint the other side's code named.
    pub peer_fp: Option<[u8; 32]>,
    pub scan: ScanState,
    pub paste: PasteState,
    pub conn: ConnState,
    /// The other side of this pairing's link, as far as the chat shows it.
    pub peer: PeerState,
    /// Whether the peer is qrchat (None until its code is applied).
    pub peer_qrchat: Option<bool>,
    /// One scan, the joiner: their code takes a direct answer (we hand ours over).
    pub offer_direct: bool,
    /// One scan, the joiner: handing my answer over since (app time), until it is
    /// acknowledged or refused or fails; the QR waits `HAND_OVER_WAIT` for it.
    pub handing: Option<Duration>,
    /// One scan, the joiner: the other side's code was used up by someone else.
    pub used_up: bool,
    /// One scan, the starter: a peer handed its answer over (no second scan): the chat
    /// asks to compare the safety number and offers to drop the peer.
    pub direct: bool,
    /// The peer's address as the link's open named it ("10.0.0.2:50001 (host)"), raw.
    pub remote: Option<String>,
    /// A pairing with a known peer (by name, no code).
    pub known: Option<crate::tui::known::KnownPairing>,
}

impl Pairing {
    pub(super) fn new(id: u64, role: Option<Role>, opts: &Options) -> Pairing {
        Pairing {
            id,
            role,
            json_reply: opts.json,
            ..Default::default()
        }
    }
}
