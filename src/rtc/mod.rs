//! WebRTC session over webrtc-rs (0.17 line): offer/answer, gathering with a deadline,
//! the chat and further data channels, and typed state events. Knows nothing of QR codes
//! or terminals.
//!
//! Shape (ARCHITECTURE.md): one driver task ([`driver`]) owns each session; webrtc
//! callbacks only forward facts to it; the decisions live in a pure state machine
//! ([`machine`]); everything the owner needs arrives as [`SessionEvent`]s, in order, with
//! `Closed` last. The [`Session`] methods never block on the peer.

mod channel;
mod driver;
pub mod machine;
mod net;
mod rtt;
mod servers;
mod session;

use std::time::{Duration, Instant};

use crate::chat::delivery::{self, MessageId};
use crate::signal::SdpKind;

pub use channel::{Channel, ChannelMessage, MAX_CHANNEL_MESSAGE, SEND_HIGH_WATER};
pub use machine::{CONNECT_TIMEOUT, STUN_QUIET, WAIT_FOR_PEER};
pub use net::{broadcast_addresses, BindError};
pub use rtt::{RTT_EVERY, RTT_LABEL};
pub use servers::{
    check_cli as check_servers, check_resolves, turn_servers, ServerError, TurnServer,
};
pub use session::{Identity, Session};

/// The data channel's label. The answering side accepts the first channel the offerer
/// opens whatever its label (browser pages name theirs freely) and closes any further one.
pub const CHANNEL_LABEL: &str = "chat";

/// After the link was up, how long a silent peer is given before we call it gone (unless
/// set otherwise in [`RtcConfig::peer_timeout`]). A blip of 30 s (Wi-Fi roaming, a cable
/// pulled and put back) must end nothing; a peer that quit says so and is seen at once.
pub const PEER_TIMEOUT: Duration = Duration::from_secs(60);
/// ICE calls the path "disconnected" (we say interrupted) after this long without traffic;
/// keepalives every [`ICE_KEEPALIVE`] keep a healthy idle link from ever getting there.
const ICE_DISCONNECTED: Duration = Duration::from_secs(3);
const ICE_KEEPALIVE: Duration = Duration::from_millis(500);
/// ICE "failed" comes after disconnected + this. It also bounds how long the answering side
/// keeps checking while the offerer has not applied the answer yet: a human carries the
/// answer back, so give them ten minutes. Our own deadlines (machine.rs) come first.
const ICE_FAILED: Duration = Duration::from_secs(900);

/// Longest peer message passed on whole; the rest of a longer one is cut (with a note).
pub const MAX_RECEIVE_BYTES: usize = 64 * 1024;

/// How a session gathers and connects.
#[derive(Debug, Clone)]
pub struct RtcConfig {
    /// STUN servers (`stun:host:port`, or just `host:port`). None: LAN only, offline.
    pub stun: Vec<String>,
    /// TURN servers (`turn:host:port`), used only when no direct path works.
    pub turn: Vec<TurnServer>,
    /// Restrict host candidates to these local addresses or interface names.
    pub bind: Vec<String>,
    /// Deadline for ICE gathering; what was found by then is used.
    pub gather_timeout: Duration,
    /// How long a peer that stopped answering is given before the session ends.
    pub peer_timeout: Duration,
    /// The certificate to use; None: a fresh one per session.
    pub identity: Option<Identity>,
    /// The chat's delivery state (message ids, acks, what to send again after a
    /// re-pairing with the same app): an app hands the same one to every pairing of a chat.
    /// None: a fresh one for this session.
    pub delivery: Option<delivery::Shared>,
}

impl RtcConfig {
    /// A same-machine pairing: host candidates on 127.0.0.1 only, no STUN. Nothing leaves
    /// the machine (what `--bind 127.0.0.1` gives).
    pub fn loopback() -> RtcConfig {
        RtcConfig {
            bind: vec!["127.0.0.1".into()],
            ..RtcConfig::default()
        }
    }
}

impl Default for RtcConfig {
    fn default() -> Self {
        RtcConfig {
            stun: Vec::new(),
            turn: Vec::new(),
            bind: Vec::new(),
            gather_timeout: Duration::from_secs(3),
            peer_timeout: PEER_TIMEOUT,
            identity: None,
            delivery: None,
        }
    }
}

/// How the link goes, from the candidate pair ICE selected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// Both ends on the same network, host addresses.
    Lan,
    /// Direct, through at least one NAT (a STUN-learned or peer-reflexive address).
    Nat,
    /// Relayed through a TURN server.
    Relay,
}

impl std::fmt::Display for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Route::Lan => "direct on your network",
            Route::Nat => "direct through a NAT",
            Route::Relay => "relayed through your TURN server",
        })
    }
}

/// Where the link is, in the user's words (ARCHITECTURE.md, "Link states").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    /// Our code is out; the other side has not applied it yet.
    WaitingForPeer,
    /// Both codes are applied; ICE, DTLS and SCTP are coming up.
    Connecting,
    /// The chat channel is open.
    Open { route: Route },
    /// Was open; the path went silent at `since` (a blip, or a peer that vanished). Chat
    /// messages are held and go out in order once it is back; after the peer timeout
    /// the session ends with [`CloseReason::PeerLost`].
    Interrupted { since: Instant },
}

impl LinkState {
    pub fn is_open(&self) -> bool {
        matches!(self, LinkState::Open { .. })
    }
}

impl std::fmt::Display for LinkState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LinkState::WaitingForPeer => f.write_str("waiting for the other side to read my code"),
            LinkState::Connecting => f.write_str("connecting"),
            LinkState::Open { route } => write!(f, "connected, {route}"),
            LinkState::Interrupted { .. } => f.write_str("link interrupted, reconnecting"),
        }
    }
}

/// What the session tells its owner, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionEvent {
    /// The peer's code was applied: whether the peer is qrchat (its ICE credentials are
    /// qrchat's, which no browser makes). Said once, before the link comes up; only a
    /// qrchat peer takes further channels ([`Session::open_channel`]) and so files.
    Peer { qrchat: bool },
    /// A local candidate was found (count so far).
    Gathering { candidates: usize },
    /// Gathering ended; `timed_out` when the deadline cut it short.
    Gathered { candidates: usize, timed_out: bool },
    /// The link moved to this state (every change, including Open).
    State(LinkState),
    /// The chat channel opened (once, right after `State(Open)`). `sas` is the short
    /// authentication string both sides show; `remote` the peer's address as ICE selected it.
    Open {
        sas: String,
        remote: Option<String>,
        route: Route,
    },
    /// A text message from the peer, raw: sanitise before display.
    Message(String),
    /// The peer sent binary data of this many bytes on the chat (not part of chat; ignored).
    Binary(usize),
    /// Round-trip time to the peer, measured every [`RTT_EVERY`] (qrchat peers only).
    Rtt(Duration),
    /// The peer app showed these messages of ours (qrchat peers only; ids from
    /// [`Session::send_marked`]), oldest first.
    Delivered(Vec<MessageId>),
    /// The peer opened a further channel (qrchat peers only: a file transfer). Open.
    Channel(Channel),
    /// Something the user should know that does not end the session.
    Notice(String),
    /// The link is over. Always the last event (none follows our own close).
    Closed(CloseReason),
}

/// Why a session ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloseReason {
    /// The peer closed the chat (a normal end).
    PeerLeft,
    /// The peer stopped answering for longer than the peer timeout.
    PeerLost,
    /// ICE found no path to the peer.
    NoPath,
    /// The link did not come up this long after the answer was applied.
    NoConnection(Duration),
    /// The other side did not apply our code within this time.
    NotRead(Duration),
    /// DTLS refused the peer's certificate: it is not the one its code named.
    CertificateMismatch,
    /// The peer dropped the link right after DTLS: it refused our certificate (its copy of
    /// our code names another one).
    CertificateRefused,
    /// The chat channel broke (the channel's own error, in words).
    ChatBroke(String),
    /// The connection was closed before the chat opened.
    ClosedEarly,
    /// The path and DTLS came up, but the chat channel did not open within this time.
    ChatNeverOpened(Duration),
}

impl std::fmt::Display for CloseReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CloseReason::PeerLeft => f.write_str("the peer left the chat"),
            CloseReason::PeerLost => {
                f.write_str("the peer stopped responding (gone or network down)")
            }
            CloseReason::NoPath => {
                f.write_str("the connection failed: no network path to the peer was found")
            }
            CloseReason::NoConnection(d) => write!(f, "no connection after {} s", d.as_secs()),
            CloseReason::NotRead(d) => write!(
                f,
                "the other side did not read my code within {} min",
                d.as_secs() / 60
            ),
            CloseReason::CertificateMismatch => f.write_str(
                "the other side's certificate does not match its code: the code may have been \
                 changed on the way (someone in the middle); pair again by reading the QR",
            ),
            CloseReason::CertificateRefused => f.write_str(
                "the other side refused my certificate right after checking it: my code may \
                 have been changed on the way to it (someone in the middle); pair again by \
                 reading the QR",
            ),
            CloseReason::ChatBroke(why) => write!(f, "the chat channel broke: {why}"),
            CloseReason::ClosedEarly => f.write_str("the connection was closed"),
            CloseReason::ChatNeverOpened(d) => write!(
                f,
                "the link came up but the chat channel did not open within {} s (the other \
                 side may be an app that does not speak qrchat's channels); pair again",
                d.as_secs()
            ),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RtcError {
    #[error(transparent)]
    Bind(#[from] BindError),
    #[error(transparent)]
    Server(#[from] ServerError),
    #[error("this description is {got}, expected {want}")]
    WrongKind { got: SdpKind, want: SdpKind },
    #[error("no candidates were found: no usable network interface{hint}")]
    NoCandidates { hint: &'static str },
    #[error("the data channel is not open yet")]
    NotOpen,
    #[error("the session is closed")]
    Closed,
    #[error("message too long ({len} bytes; the limit is {max})")]
    TooLong { len: usize, max: usize },
    #[error("the other side's description was refused: {0}")]
    Remote(String),
    #[error("data channel: {0}")]
    Channel(String),
    #[error("the peer is not qrchat: it takes no further channels")]
    NotQrchat,
    #[error("the channel label {0:?} is taken")]
    LabelTaken(String),
    #[error("cannot make a key pair for the certificate: {0}")]
    KeyPair(String),
    #[error("the certificate has no sha-256 fingerprint")]
    NoFingerprint,
    #[error("no system randomness for the ICE password: {0}")]
    NoRandomness(String),
    #[error("webrtc gave no local description after gathering")]
    NoLocalDescription,
    #[error("WebRTC: {0}")]
    Webrtc(#[from] webrtc::Error),
}

/// Candidates (component 1) in an SDP, as signal's one candidate lister counts them.
pub fn candidate_count(sdp: &str) -> usize {
    crate::signal::candidates(sdp).len()
}
