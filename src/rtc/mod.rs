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

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot, watch};
use webrtc::api::setting_engine::SettingEngine;
use webrtc::api::APIBuilder;
use webrtc::data_channel::RTCDataChannel;
use webrtc::dtls_transport::dtls_transport_state::RTCDtlsTransportState;
use webrtc::ice::mdns::MulticastDnsMode;
use webrtc::ice::network_type::NetworkType;
use webrtc::peer_connection::certificate::RTCCertificate;
use webrtc::peer_connection::configuration::RTCConfiguration;
use webrtc::peer_connection::peer_connection_state::RTCPeerConnectionState;
use webrtc::peer_connection::sdp::sdp_type::RTCSdpType;
use webrtc::peer_connection::sdp::session_description::RTCSessionDescription;
use webrtc::peer_connection::RTCPeerConnection;

use crate::signal::{self, SdpKind, SessionDescription};
use driver::{Driver, Input};
use machine::{Fact, Machine, PcState, Role, Rules};

pub use channel::{Channel, ChannelMessage, MAX_CHANNEL_MESSAGE, SEND_HIGH_WATER};
pub use machine::{CONNECT_TIMEOUT, STUN_QUIET, WAIT_FOR_PEER};
pub use net::{broadcast_addresses, BindError};
pub use rtt::{RTT_EVERY, RTT_LABEL};
pub use servers::{
    check_cli as check_servers, check_resolves, turn_servers, ServerError, TurnServer,
};

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

/// A DTLS certificate and its fingerprint: who this side is to its peers. Sessions made
/// with the same identity show the same fingerprint, so a peer that pairs again with the
/// same app sees the same certificate and the same safety number.
#[derive(Clone)]
pub struct Identity {
    cert: RTCCertificate,
    fingerprint: [u8; 32],
}

impl Identity {
    /// A fresh key pair and self-signed certificate.
    pub fn generate() -> Result<Identity, RtcError> {
        let key = rcgen::KeyPair::generate()
            .map_err(|e| RtcError::Webrtc(webrtc::Error::new(e.to_string())))?;
        let cert = RTCCertificate::from_key_pair(key)?;
        let fingerprint = cert
            .get_fingerprints()
            .iter()
            .find(|f| f.algorithm == "sha-256")
            .and_then(|f| signal::parse_fingerprint_hex(&f.value))
            .ok_or_else(|| RtcError::Webrtc(webrtc::Error::new("no sha-256 fingerprint".into())))?;
        Ok(Identity { cert, fingerprint })
    }

    /// SHA-256 of the certificate, as the codes carry it.
    pub fn fingerprint(&self) -> [u8; 32] {
        self.fingerprint
    }

    /// The certificate and its private key as PEM text (to keep on disk, owner-only).
    pub fn to_pem(&self) -> String {
        self.cert.serialize_pem()
    }

    /// An identity kept by [`Identity::to_pem`].
    pub fn from_pem(pem: &str) -> Result<Identity, RtcError> {
        let cert = RTCCertificate::from_pem(pem)?;
        let fingerprint = cert
            .get_fingerprints()
            .iter()
            .find(|f| f.algorithm == "sha-256")
            .and_then(|f| signal::parse_fingerprint_hex(&f.value))
            .ok_or_else(|| RtcError::Webrtc(webrtc::Error::new("no sha-256 fingerprint".into())))?;
        Ok(Identity { cert, fingerprint })
    }
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Identity({:02X}{:02X}..)",
            self.fingerprint[0], self.fingerprint[1]
        )
    }
}

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
    /// Anything else.
    Failed(String),
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
            CloseReason::Failed(why) => f.write_str(why),
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
    #[error("WebRTC: {0}")]
    Webrtc(#[from] webrtc::Error),
}

/// How many chat messages may wait for the writer before [`Session::send`] waits.
const OUTGOING: usize = 256;

/// One peer connection with its chat channel.
pub struct Session {
    pc: Arc<RTCPeerConnection>,
    local: SessionDescription,
    local_fp: [u8; 32],
    inputs: mpsc::UnboundedSender<Input>,
    state: watch::Receiver<Option<LinkState>>,
    outgoing: mpsc::Sender<Option<String>>,
    qrchat: OnceLock<bool>,
    remote_fp: OnceLock<[u8; 32]>,
    role: Role,
    peer_timeout: Duration,
}

impl Session {
    /// Start a chat: create the channel and an offer, gather (until complete or the
    /// deadline), and return with the complete local description.
    pub async fn offer(
        cfg: &RtcConfig,
        events: mpsc::UnboundedSender<SessionEvent>,
    ) -> Result<Session, RtcError> {
        let mut s = Self::start(cfg, Role::Offerer, false, events).await?;
        let dc = s.pc.create_data_channel(CHANNEL_LABEL, None).await?;
        let inputs = s.inputs.clone();
        driver::on_open(dc, move |ch| {
            let _ = inputs.send(Input::ChatReady(ch));
        });
        let offer = s.pc.create_offer(None).await?;
        match s.gather(cfg, offer).await {
            Ok(local) => {
                s.local = local;
                Ok(s)
            }
            Err(e) => {
                s.close().await;
                Err(e)
            }
        }
    }

    /// Join a chat: apply the offer, answer, gather, and return with the complete answer.
    /// The link comes up once the offerer applies this answer.
    pub async fn answer(
        cfg: &RtcConfig,
        offer: &SessionDescription,
        events: mpsc::UnboundedSender<SessionEvent>,
    ) -> Result<Session, RtcError> {
        if offer.kind != SdpKind::Offer {
            return Err(RtcError::WrongKind {
                got: offer.kind,
                want: SdpKind::Offer,
            });
        }
        // An offer whose ICE credentials derive from its fingerprint (compact v1, an older
        // qrchat) gets an answer of the same kind, which that qrchat can read.
        let v1 = signal::uses_v1_credentials(&offer.sdp);
        let mut s = Self::start(cfg, Role::Answerer, v1, events).await?;
        let res = async {
            s.set_remote(offer).await?;
            let answer = s.pc.create_answer(None).await?;
            s.gather(cfg, answer).await
        }
        .await;
        match res {
            Ok(mut local) => {
                // Tie the answer to the offer it answers, so the offerer can tell an answer
                // made for another code (an earlier one, or one changed on the way).
                // qrchat offers only: a browser page's JSON stays as it is.
                if signal::made_by_qrchat(&offer.sdp) {
                    local.sdp = signal::tie_answer(&local.sdp, &offer.sdp);
                }
                s.local = local;
                Ok(s)
            }
            Err(e) => {
                s.close().await;
                Err(e)
            }
        }
    }

    async fn start(
        cfg: &RtcConfig,
        role: Role,
        v1_credentials: bool,
        events: mpsc::UnboundedSender<SessionEvent>,
    ) -> Result<Session, RtcError> {
        let plan = net::BindPlan::resolve(&cfg.bind)?;
        let ice_servers = servers::ice_servers(&cfg.stun, &cfg.turn)?;
        for note in servers::check_resolves(cfg).await {
            let _ = events.send(SessionEvent::Notice(note));
        }

        // The certificate: the config's (an app that re-pairs keeps its identity), else a
        // fresh one. The ICE credentials are fresh for every session (compact v2 carries the
        // password), independent of the certificate, so a fingerprint changed on the way
        // still lets the path come up and DTLS name the mismatch; v1's derived ones only to
        // answer an older qrchat's offer.
        let identity = match &cfg.identity {
            Some(id) => id.clone(),
            None => Identity::generate()?,
        };
        let (cert, local_fp) = (identity.cert, identity.fingerprint);
        let (ufrag, pwd) = if v1_credentials {
            signal::ice_credentials(&local_fp)
        } else {
            let mut pwd = [0u8; signal::ICE_PWD_BYTES];
            getrandom::fill(&mut pwd).map_err(|e| {
                RtcError::Webrtc(webrtc::Error::new(format!(
                    "no system randomness for the ICE password: {e}"
                )))
            })?;
            signal::ice_credentials_v2(&pwd)
        };

        let mut se = SettingEngine::default();
        se.set_ice_credentials(ufrag, pwd);
        se.set_ice_multicast_dns_mode(MulticastDnsMode::Disabled);
        se.set_network_types(vec![NetworkType::Udp4, NetworkType::Udp6]);
        se.set_ice_timeouts(
            Some(ICE_DISCONNECTED),
            Some(ICE_FAILED),
            Some(ICE_KEEPALIVE),
        );
        se.detach_data_channels();
        // The answerer starts checks the moment it answers; the offerer often hears them
        // before it has parsed the answer's candidates, so it learns the peer as
        // peer-reflexive, and webrtc-ice waits 1 s before nominating a prflx pair. That
        // wait is for better candidates that a two-party LAN pairing never gets: it cost
        // ~1 s on one open in five (measured on loopback). Nominate at once.
        se.set_prflx_acceptance_min_wait(Some(Duration::ZERO));
        se.set_srflx_acceptance_min_wait(Some(servers::SRFLX_ACCEPTANCE_WAIT));
        se.set_relay_acceptance_min_wait(Some(servers::RELAY_ACCEPTANCE_WAIT));
        plan.apply(&mut se);

        let api = APIBuilder::new().with_setting_engine(se).build();
        let config = RTCConfiguration {
            ice_servers,
            certificates: vec![cert],
            ..Default::default()
        };
        let pc = Arc::new(api.new_peer_connection(config).await?);

        let (inputs, input_rx) = mpsc::unbounded_channel();
        let (state_tx, state) = watch::channel(None);
        let (outgoing, outgoing_rx) = mpsc::channel(OUTGOING);
        let machine = Machine::new(
            Rules {
                role,
                stun: !(cfg.stun.is_empty() && cfg.turn.is_empty()),
                gather_timeout: cfg.gather_timeout,
                peer_timeout: cfg.peer_timeout,
            },
            Instant::now(),
        );
        forward_callbacks(&pc, &inputs);
        let driver = Driver {
            machine,
            pc: Arc::clone(&pc),
            events,
            inputs: inputs.clone(),
            state: state_tx,
            local_fp,
            outgoing: Some(outgoing_rx),
            end_outgoing: outgoing.clone(),
        };
        tokio::spawn(driver.run(input_rx));
        Ok(Session {
            pc,
            local: SessionDescription {
                kind: match role {
                    Role::Offerer => SdpKind::Offer,
                    Role::Answerer => SdpKind::Answer,
                },
                sdp: String::new(),
            },
            local_fp,
            inputs,
            state,
            outgoing,
            qrchat: OnceLock::new(),
            remote_fp: OnceLock::new(),
            role,
            peer_timeout: cfg.peer_timeout,
        })
    }

    /// The complete local description (after gathering), ready to encode.
    pub fn local_description(&self) -> &SessionDescription {
        &self.local
    }

    /// SHA-256 fingerprint of this session's DTLS certificate.
    pub fn local_fingerprint(&self) -> [u8; 32] {
        self.local_fp
    }

    /// The peer's certificate fingerprint, as its description named it (DTLS holds the
    /// peer to it). None before the peer's description was applied.
    pub fn remote_fingerprint(&self) -> Option<[u8; 32]> {
        self.remote_fp.get().copied()
    }

    /// Whether this side made the offer.
    pub fn is_offerer(&self) -> bool {
        self.role == Role::Offerer
    }

    /// Whether the peer is qrchat (its code was made by qrchat): only then are further
    /// channels (file transfers) offered to it. Browser pages never see one.
    pub fn peer_is_qrchat(&self) -> bool {
        self.qrchat.get().copied().unwrap_or(false)
    }

    /// How long a silent peer is given (the config's).
    pub fn peer_timeout(&self) -> Duration {
        self.peer_timeout
    }

    /// The link state as last announced (None while gathering and after our close).
    pub fn state(&self) -> Option<LinkState> {
        *self.state.borrow()
    }

    /// The offerer applies the peer's answer; the link then comes up on its own.
    pub async fn accept_answer(&self, answer: &SessionDescription) -> Result<(), RtcError> {
        if answer.kind != SdpKind::Answer || self.role != Role::Offerer {
            return Err(RtcError::WrongKind {
                got: answer.kind,
                want: SdpKind::Answer,
            });
        }
        self.set_remote(answer).await
    }

    /// Whether the chat channel is open (and the path not interrupted).
    pub fn is_open(&self) -> bool {
        self.state().is_some_and(|s| s.is_open())
    }

    /// Send one chat message. Before the chat first opened: [`RtcError::NotOpen`]. While
    /// the link is interrupted the message waits and goes out, in order, once it is back.
    pub async fn send(&self, text: &str) -> Result<(), RtcError> {
        if text.len() > crate::chat::MAX_MESSAGE_BYTES {
            return Err(RtcError::TooLong {
                len: text.len(),
                max: crate::chat::MAX_MESSAGE_BYTES,
            });
        }
        match self.state() {
            Some(LinkState::Open { .. } | LinkState::Interrupted { .. }) => self
                .outgoing
                .send(Some(text.to_owned()))
                .await
                .map_err(|_| RtcError::Closed),
            _ => Err(RtcError::NotOpen),
        }
    }

    /// Open a further data channel (qrchat peers only); resolves once it is open. The
    /// future owns what it needs, so it can run on a task of its own.
    pub fn open_channel(
        &self,
        label: &str,
    ) -> impl std::future::Future<Output = Result<Channel, RtcError>> + Send + 'static {
        let refused = if !self.peer_is_qrchat() {
            Some(RtcError::Channel(
                "the peer is not qrchat: it takes no further channels".into(),
            ))
        } else if label == CHANNEL_LABEL || label == RTT_LABEL {
            Some(RtcError::Channel(format!("the label {label:?} is taken")))
        } else {
            None
        };
        let pc = Arc::clone(&self.pc);
        let mut state = self.state.clone();
        let label = label.to_owned();
        async move {
            if let Some(e) = refused {
                return Err(e);
            }
            let dc: Arc<RTCDataChannel> = pc.create_data_channel(&label, None).await?;
            let (tx, rx) = oneshot::channel();
            driver::on_open(dc, move |ch| {
                let _ = tx.send(ch);
            });
            tokio::select! {
                ch = rx => ch.map_err(|_| RtcError::Closed),
                _ = state.wait_for(|s| s.is_none()) => Err(RtcError::Closed),
            }
        }
    }

    /// Let queued messages go out (bounded), then close the channel and the connection.
    /// The peer sees the chat end.
    pub async fn close(&self) {
        let (tx, rx) = oneshot::channel();
        if self.inputs.send(Input::Close(tx)).is_ok() {
            let _ = tokio::time::timeout(Duration::from_secs(8), rx).await;
        } else if let Err(e) = self.pc.close().await {
            tracing::debug!("closing peer connection: {e}");
        }
    }

    async fn set_remote(&self, desc: &SessionDescription) -> Result<(), RtcError> {
        let remote = match desc.kind {
            SdpKind::Offer => RTCSessionDescription::offer(desc.sdp.clone()),
            SdpKind::Answer => RTCSessionDescription::answer(desc.sdp.clone()),
        }
        .map_err(|e| RtcError::Remote(e.to_string()))?;
        let qrchat = signal::made_by_qrchat(&desc.sdp);
        let _ = self.qrchat.set(qrchat);
        if let Some(fp) = signal::fingerprint_of(&desc.sdp) {
            let _ = self.remote_fp.set(fp);
        }
        self.pc
            .set_remote_description(remote)
            .await
            .map_err(|e| RtcError::Remote(e.to_string()))?;
        // A peer-reflexive address is on the LAN only if it is one of the peer's own
        // (host) addresses; its NAT's public address means the route crosses a NAT.
        let addresses = signal::host_addresses(&desc.sdp);
        let _ = self.inputs.send(Input::Remote {
            qrchat,
            fingerprint: signal::fingerprint_of(&desc.sdp),
            addresses,
        });
        Ok(())
    }

    /// Apply our description and wait until the machine says gathering is over, then
    /// read the description back: only then does it carry the candidates.
    async fn gather(
        &self,
        cfg: &RtcConfig,
        desc: RTCSessionDescription,
    ) -> Result<SessionDescription, RtcError> {
        let kind = match desc.sdp_type {
            RTCSdpType::Offer => SdpKind::Offer,
            _ => SdpKind::Answer,
        };
        let mut done = self.pc.gathering_complete_promise().await;
        {
            let inputs = self.inputs.clone();
            tokio::spawn(async move {
                let _ = done.recv().await;
                let _ = inputs.send(Input::Fact(Fact::GatheringComplete));
            });
        }
        self.pc.set_local_description(desc).await?;
        let (tx, rx) = oneshot::channel();
        let _ = self.inputs.send(Input::OnGathered(tx));
        let timed_out = rx.await.map_err(|_| RtcError::Closed)?;
        if timed_out {
            tracing::warn!(
                "ICE gathering still {:?} after {:?} (or STUN silent); using the candidates found so far",
                self.pc.ice_gathering_state(),
                cfg.gather_timeout
            );
        }
        let local =
            self.pc.local_description().await.ok_or_else(|| {
                RtcError::Webrtc(webrtc::Error::new("no local description".into()))
            })?;
        let candidates = candidate_count(&local.sdp);
        let _ = self.inputs.send(Input::Fact(Fact::LocalReady {
            candidates,
            timed_out,
        }));
        if candidates == 0 {
            return Err(RtcError::NoCandidates {
                hint: if cfg.bind.is_empty() {
                    " (is the network up? try --bind 127.0.0.1 for a same-machine test)"
                } else {
                    " matches --bind"
                },
            });
        }
        Ok(SessionDescription {
            kind,
            sdp: local.sdp,
        })
    }
}

/// webrtc's callbacks: each only forwards a fact to the driver.
fn forward_callbacks(pc: &RTCPeerConnection, inputs: &mpsc::UnboundedSender<Input>) {
    {
        let inputs = inputs.clone();
        pc.on_ice_candidate(Box::new(move |c| {
            if c.is_some() {
                let _ = inputs.send(Input::Fact(Fact::Candidate));
            }
            Box::pin(async {})
        }));
    }
    {
        let inputs = inputs.clone();
        pc.on_peer_connection_state_change(Box::new(move |s: RTCPeerConnectionState| {
            tracing::info!(state = %s, "peer connection state");
            let s = match s {
                RTCPeerConnectionState::Connecting => PcState::Connecting,
                RTCPeerConnectionState::Connected => PcState::Connected,
                RTCPeerConnectionState::Disconnected => PcState::Disconnected,
                RTCPeerConnectionState::Failed => PcState::Failed,
                RTCPeerConnectionState::Closed => PcState::Closed,
                _ => PcState::New,
            };
            let _ = inputs.send(Input::Fact(Fact::Pc(s)));
            Box::pin(async {})
        }));
    }
    {
        let inputs = inputs.clone();
        pc.dtls_transport()
            .on_state_change(Box::new(move |s: RTCDtlsTransportState| {
                tracing::info!(state = %s, "DTLS state");
                match s {
                    RTCDtlsTransportState::Failed => {
                        let _ = inputs.send(Input::Fact(Fact::DtlsFailed));
                    }
                    RTCDtlsTransportState::Connected => {
                        let _ = inputs.send(Input::Fact(Fact::DtlsConnected));
                    }
                    _ => {}
                }
                Box::pin(async {})
            }));
    }
    {
        let inputs = inputs.clone();
        pc.on_data_channel(Box::new(move |dc: Arc<RTCDataChannel>| {
            let _ = inputs.send(Input::Incoming(dc));
            Box::pin(async {})
        }));
    }
}

/// Candidates (component 1) in an SDP, as signal's one candidate lister counts them.
pub fn candidate_count(sdp: &str) -> usize {
    signal::candidates(sdp).len()
}
