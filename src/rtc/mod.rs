//! WebRTC session over webrtc-rs (0.17 line): offer/answer, gathering with a deadline,
//! the "chat" data channel, and state events. Knows nothing of QR codes or terminals.
//!
//! Everything the UI needs to know arrives as [`SessionEvent`]s on a channel; the
//! [`Session`] methods never block on the peer.

mod net;
mod rtt;
mod servers;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, Mutex};
use webrtc::api::setting_engine::SettingEngine;
use webrtc::api::APIBuilder;
use webrtc::data_channel::data_channel_state::RTCDataChannelState;
use webrtc::data_channel::RTCDataChannel;
use webrtc::ice::mdns::MulticastDnsMode;
use webrtc::ice::network_type::NetworkType;
use webrtc::peer_connection::certificate::RTCCertificate;
use webrtc::peer_connection::configuration::RTCConfiguration;
use webrtc::peer_connection::peer_connection_state::RTCPeerConnectionState;
use webrtc::peer_connection::sdp::sdp_type::RTCSdpType;
use webrtc::peer_connection::sdp::session_description::RTCSessionDescription;
use webrtc::peer_connection::RTCPeerConnection;

use crate::signal::{self, SdpKind, SessionDescription};

pub use net::BindError;
pub use rtt::{RTT_EVERY, RTT_LABEL};
pub use servers::{
    check_cli as check_servers, check_resolves, turn_servers, ServerError, TurnServer,
};

/// The data channel's label. The answering side accepts the first channel the offerer
/// opens whatever its label (browser pages name theirs freely) and closes any further one.
pub const CHANNEL_LABEL: &str = "chat";

/// After the link was up, how long a silent peer may stay "disconnected" before we call it
/// gone. ICE declares "disconnected" after [`ICE_DISCONNECTED`] without traffic; keepalives
/// every [`ICE_KEEPALIVE`] keep a healthy idle link from ever getting there.
pub const PEER_LOST_GRACE: Duration = Duration::from_secs(3);
const ICE_DISCONNECTED: Duration = Duration::from_secs(4);
const ICE_KEEPALIVE: Duration = Duration::from_secs(1);
/// ICE "failed" comes after disconnected + this. It also bounds how long the answering side
/// keeps checking while the offerer has not applied the answer yet: a human carries the
/// answer back, so give them ten minutes.
const ICE_FAILED: Duration = Duration::from_secs(600);

/// With STUN servers configured, gathering ends once no new candidate has come for this
/// long (a live STUN server answers within a round trip), or at the deadline.
pub const STUN_QUIET: Duration = Duration::from_millis(1000);

/// Longest peer message passed on whole; the rest of a longer one is cut (with a note).
pub const MAX_RECEIVE_BYTES: usize = 64 * 1024;
/// Our read buffer. webrtc-rs ends a channel when a message does not fit the read buffer
/// (its own is 64 KiB), so a hostile peer could end the chat with one big message. We read
/// detached channels into a buffer as big as SCTP's whole receive window: every message
/// that can arrive at all fits, and is then cut to [`MAX_RECEIVE_BYTES`].
const READ_BUFFER_BYTES: usize = 1024 * 1024 + 64 * 1024;

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
    /// The peer connection moved to this state (new, connecting, connected, ...).
    State(String),
    /// The data channel is open. `sas` is the short authentication string both sides show;
    /// `remote` the peer's address as ICE selected it.
    Open { sas: String, remote: Option<String> },
    /// A text message from the peer, raw: sanitise before display.
    Message(String),
    /// The peer sent binary data of this many bytes (not part of chat; ignored).
    Binary(usize),
    /// Round-trip time to the peer, measured every [`RTT_EVERY`] (qrchat peers only).
    Rtt(Duration),
    /// The link is over. Always the last event.
    Closed(CloseReason),
}

/// Why a session ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloseReason {
    /// The peer closed the chat (a normal end).
    PeerLeft,
    /// The peer went silent (process killed, network gone) for longer than ICE and
    /// [`PEER_LOST_GRACE`] allow.
    PeerLost,
    /// No path to the peer could be found, or the channel broke.
    Failed(String),
}

impl std::fmt::Display for CloseReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CloseReason::PeerLeft => f.write_str("the peer left the chat"),
            CloseReason::PeerLost => {
                f.write_str("the peer stopped responding (gone or network down)")
            }
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
    #[error("message too long ({len} bytes; the limit is {max})")]
    TooLong { len: usize, max: usize },
    #[error("the other side's description was refused: {0}")]
    Remote(String),
    #[error("WebRTC: {0}")]
    Webrtc(#[from] webrtc::Error),
}

struct Shared {
    events: mpsc::UnboundedSender<SessionEvent>,
    channel: Mutex<Option<Arc<RTCDataChannel>>>,
    open: AtomicBool,
    closed: AtomicBool,
    candidates: AtomicUsize,
    last_candidate: std::sync::Mutex<Option<tokio::time::Instant>>,
    local_fp: [u8; 32],
    remote_fp: std::sync::Mutex<Option<[u8; 32]>>,
    /// The peer is qrchat (see `rtt`): a round-trip channel may be opened to it.
    peer_is_qrchat: AtomicBool,
    rtt_taken: AtomicBool,
    pc: std::sync::OnceLock<std::sync::Weak<RTCPeerConnection>>,
    /// Bumped on every state change, so a "peer lost" timer knows if the link recovered.
    state_epoch: AtomicUsize,
}

impl Shared {
    fn emit(&self, ev: SessionEvent) {
        if self.closed.load(Ordering::SeqCst) {
            return;
        }
        if matches!(ev, SessionEvent::Closed(_)) {
            self.closed.store(true, Ordering::SeqCst);
        }
        let _ = self.events.send(ev);
    }
}

/// One peer connection with its chat channel.
pub struct Session {
    pc: Arc<RTCPeerConnection>,
    shared: Arc<Shared>,
    local: SessionDescription,
}

impl Session {
    /// Start a chat: create the channel and an offer, gather (until complete or the
    /// deadline), and return with the complete local description.
    pub async fn offer(
        cfg: &RtcConfig,
        events: mpsc::UnboundedSender<SessionEvent>,
    ) -> Result<Session, RtcError> {
        let (pc, shared) = Self::peer_connection(cfg, events).await?;
        let dc = pc.create_data_channel(CHANNEL_LABEL, None).await?;
        wire_channel(&shared, dc).await;
        let offer = pc.create_offer(None).await?;
        let local = gather(&pc, &shared, cfg, offer).await?;
        Ok(Session { pc, shared, local })
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
        let (pc, shared) = Self::peer_connection(cfg, events).await?;
        {
            let shared = Arc::clone(&shared);
            pc.on_data_channel(Box::new(move |dc: Arc<RTCDataChannel>| {
                let shared = Arc::clone(&shared);
                Box::pin(async move {
                    if dc.label() == RTT_LABEL
                        && shared.peer_is_qrchat.load(Ordering::SeqCst)
                        && !shared.rtt_taken.swap(true, Ordering::SeqCst)
                    {
                        wire_rtt(&shared, dc);
                        return;
                    }
                    let taken = shared.channel.lock().await.is_some();
                    if taken {
                        tracing::warn!(
                            label = dc.label(),
                            "peer opened an extra data channel; closing it"
                        );
                        // It may not be open at the SCTP level yet: close it when it is.
                        let dc2 = Arc::clone(&dc);
                        dc.on_open(Box::new(move || {
                            Box::pin(async move {
                                let _ = dc2.close().await;
                            })
                        }));
                        let _ = dc.close().await;
                    } else {
                        wire_channel(&shared, dc).await;
                    }
                })
            }));
        }
        set_remote(&pc, &shared, offer).await?;
        let answer = pc.create_answer(None).await?;
        let local = gather(&pc, &shared, cfg, answer).await?;
        Ok(Session { pc, shared, local })
    }

    async fn peer_connection(
        cfg: &RtcConfig,
        events: mpsc::UnboundedSender<SessionEvent>,
    ) -> Result<(Arc<RTCPeerConnection>, Arc<Shared>), RtcError> {
        let plan = net::BindPlan::resolve(&cfg.bind)?;
        let ice_servers = servers::ice_servers(&cfg.stun, &cfg.turn)?;

        // A fresh certificate per session; the ICE credentials are derived from its
        // fingerprint so the compact blob need not carry them.
        let key = rcgen::KeyPair::generate()
            .map_err(|e| RtcError::Webrtc(webrtc::Error::new(e.to_string())))?;
        let cert = RTCCertificate::from_key_pair(key)?;
        let local_fp = cert
            .get_fingerprints()
            .iter()
            .find(|f| f.algorithm == "sha-256")
            .and_then(|f| parse_hex_fingerprint(&f.value))
            .ok_or_else(|| RtcError::Webrtc(webrtc::Error::new("no sha-256 fingerprint".into())))?;
        let (ufrag, pwd) = signal::ice_credentials(&local_fp);

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
        se.set_relay_acceptance_min_wait(Some(servers::RELAY_ACCEPTANCE_WAIT));
        plan.apply(&mut se);

        let api = APIBuilder::new().with_setting_engine(se).build();
        let config = RTCConfiguration {
            ice_servers,
            certificates: vec![cert],
            ..Default::default()
        };
        let pc = Arc::new(api.new_peer_connection(config).await?);
        let shared = Arc::new(Shared {
            events,
            channel: Mutex::new(None),
            open: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            candidates: AtomicUsize::new(0),
            last_candidate: std::sync::Mutex::new(None),
            local_fp,
            remote_fp: std::sync::Mutex::new(None),
            peer_is_qrchat: AtomicBool::new(false),
            rtt_taken: AtomicBool::new(false),
            state_epoch: AtomicUsize::new(0),
            pc: std::sync::OnceLock::new(),
        });
        let _ = shared.pc.set(Arc::downgrade(&pc));

        {
            let shared = Arc::clone(&shared);
            pc.on_ice_candidate(Box::new(move |c| {
                if c.is_some() {
                    *shared
                        .last_candidate
                        .lock()
                        .unwrap_or_else(|e| e.into_inner()) = Some(tokio::time::Instant::now());
                    let n = shared.candidates.fetch_add(1, Ordering::SeqCst) + 1;
                    shared.emit(SessionEvent::Gathering { candidates: n });
                }
                Box::pin(async {})
            }));
        }
        {
            let shared = Arc::clone(&shared);
            pc.on_peer_connection_state_change(Box::new(move |s: RTCPeerConnectionState| {
                let shared = Arc::clone(&shared);
                let epoch = shared.state_epoch.fetch_add(1, Ordering::SeqCst) + 1;
                tracing::info!(state = %s, "peer connection state");
                shared.emit(SessionEvent::State(s.to_string()));
                Box::pin(async move {
                    match s {
                        RTCPeerConnectionState::Failed => {
                            shared.emit(SessionEvent::Closed(CloseReason::Failed(
                                "the connection failed: no network path to the peer was found"
                                    .into(),
                            )))
                        }
                        RTCPeerConnectionState::Disconnected
                            if shared.open.load(Ordering::SeqCst) =>
                        {
                            tokio::spawn(async move {
                                tokio::time::sleep(PEER_LOST_GRACE).await;
                                if shared.state_epoch.load(Ordering::SeqCst) == epoch {
                                    shared.emit(SessionEvent::Closed(CloseReason::PeerLost));
                                }
                            });
                        }
                        _ => {}
                    }
                })
            }));
        }
        Ok((pc, shared))
    }

    /// The complete local description (after gathering), ready to encode.
    pub fn local_description(&self) -> &SessionDescription {
        &self.local
    }

    /// SHA-256 fingerprint of this session's DTLS certificate.
    pub fn local_fingerprint(&self) -> [u8; 32] {
        self.shared.local_fp
    }

    /// The offerer applies the peer's answer; the link then comes up on its own.
    pub async fn accept_answer(&self, answer: &SessionDescription) -> Result<(), RtcError> {
        if answer.kind != SdpKind::Answer {
            return Err(RtcError::WrongKind {
                got: answer.kind,
                want: SdpKind::Answer,
            });
        }
        set_remote(&self.pc, &self.shared, answer).await?;
        if self.shared.peer_is_qrchat.load(Ordering::SeqCst) {
            let dc = self.pc.create_data_channel(RTT_LABEL, None).await?;
            wire_rtt(&self.shared, dc);
        }
        Ok(())
    }

    /// Whether the chat channel is open.
    pub fn is_open(&self) -> bool {
        self.shared.open.load(Ordering::SeqCst) && !self.shared.closed.load(Ordering::SeqCst)
    }

    /// Send one text message.
    pub async fn send(&self, text: &str) -> Result<(), RtcError> {
        if text.len() > crate::chat::MAX_MESSAGE_BYTES {
            return Err(RtcError::TooLong {
                len: text.len(),
                max: crate::chat::MAX_MESSAGE_BYTES,
            });
        }
        let dc = self.shared.channel.lock().await.clone();
        match dc {
            Some(dc) if dc.ready_state() == RTCDataChannelState::Open => {
                dc.send_text(text.to_owned()).await?;
                Ok(())
            }
            _ => Err(RtcError::NotOpen),
        }
    }

    /// Bytes queued for sending and not yet handed to the network.
    pub async fn buffered_amount(&self) -> usize {
        match self.shared.channel.lock().await.clone() {
            Some(dc) => dc.buffered_amount().await,
            None => 0,
        }
    }

    /// Wait (bounded) until everything sent has left, then close the channel and the
    /// connection. The peer sees the channel close.
    pub async fn close(&self) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while self.is_open()
            && self.buffered_amount().await > 0
            && tokio::time::Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        self.shared.closed.store(true, Ordering::SeqCst);
        if let Some(dc) = self.shared.channel.lock().await.take() {
            let _ = dc.close().await;
        }
        if let Err(e) = self.pc.close().await {
            tracing::debug!("closing peer connection: {e}");
        }
    }
}

async fn set_remote(
    pc: &RTCPeerConnection,
    shared: &Shared,
    desc: &SessionDescription,
) -> Result<(), RtcError> {
    let remote = match desc.kind {
        SdpKind::Offer => RTCSessionDescription::offer(desc.sdp.clone()),
        SdpKind::Answer => RTCSessionDescription::answer(desc.sdp.clone()),
    }
    .map_err(|e| RtcError::Remote(e.to_string()))?;
    if let Some(fp) = signal::fingerprint_of(&desc.sdp) {
        *shared.remote_fp.lock().unwrap_or_else(|e| e.into_inner()) = Some(fp);
    }
    shared
        .peer_is_qrchat
        .store(rtt::made_by_qrchat(&desc.sdp), Ordering::SeqCst);
    pc.set_remote_description(remote)
        .await
        .map_err(|e| RtcError::Remote(e.to_string()))
}

/// Apply our description and wait for gathering to finish or the deadline to pass, then
/// read the description back: only then does it carry the candidates.
async fn gather(
    pc: &RTCPeerConnection,
    shared: &Shared,
    cfg: &RtcConfig,
    desc: RTCSessionDescription,
) -> Result<SessionDescription, RtcError> {
    let kind = match desc.sdp_type {
        RTCSdpType::Offer => SdpKind::Offer,
        _ => SdpKind::Answer,
    };
    let mut done = pc.gathering_complete_promise().await;
    pc.set_local_description(desc).await?;
    let start = tokio::time::Instant::now();
    let deadline = start + cfg.gather_timeout;
    let timed_out = loop {
        tokio::select! {
            _ = done.recv() => break false,
            _ = tokio::time::sleep(Duration::from_millis(20)) => {
                let now = tokio::time::Instant::now();
                if now >= deadline {
                    tracing::warn!(
                        "ICE gathering still {:?} after {:?}; using the candidates found so far",
                        pc.ice_gathering_state(),
                        cfg.gather_timeout
                    );
                    break true;
                }
                // With STUN, host candidates come at once and a live server answers in
                // a round trip; a silent one would hold us to the deadline for nothing.
                let last = *shared.last_candidate.lock().unwrap_or_else(|e| e.into_inner());
                if !(cfg.stun.is_empty() && cfg.turn.is_empty())
                    && shared.candidates.load(Ordering::SeqCst) > 0
                    && last.is_some_and(|t| now.duration_since(t) >= STUN_QUIET)
                {
                    tracing::info!("no new candidate for {STUN_QUIET:?}; STUN silent, gathering done");
                    break true;
                }
            }
        }
    };
    let local = pc
        .local_description()
        .await
        .ok_or_else(|| RtcError::Webrtc(webrtc::Error::new("no local description".into())))?;
    let candidates = candidate_count(&local.sdp);
    shared.emit(SessionEvent::Gathered {
        candidates,
        timed_out,
    });
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

/// Distinct candidates (component 1) in an SDP. webrtc-rs repeats each one for component 2.
pub fn candidate_count(sdp: &str) -> usize {
    sdp.lines()
        .filter(|l| l.starts_with("a=candidate:"))
        .filter(|l| l.split_whitespace().nth(1) == Some("1"))
        .count()
}

async fn wire_channel(shared: &Arc<Shared>, dc: Arc<RTCDataChannel>) {
    *shared.channel.lock().await = Some(Arc::clone(&dc));
    let shared = Arc::clone(shared);
    let dc2 = Arc::clone(&dc);
    dc.on_open(Box::new(move || {
        Box::pin(async move {
            let raw = match dc2.detach().await {
                Ok(raw) => raw,
                Err(e) => {
                    shared.emit(SessionEvent::Closed(CloseReason::Failed(format!(
                        "the chat channel could not be opened: {e}"
                    ))));
                    return;
                }
            };
            shared.open.store(true, Ordering::SeqCst);
            let remote_fp = *shared.remote_fp.lock().unwrap_or_else(|e| e.into_inner());
            let sas = match remote_fp {
                Some(r) => signal::sas(&shared.local_fp, &r),
                None => "unknown".to_owned(),
            };
            let remote = match shared.pc.get().and_then(|w| w.upgrade()) {
                Some(pc) => selected_remote(&pc).await,
                None => None,
            };
            shared.emit(SessionEvent::Open { sas, remote });
            tokio::spawn(read_loop(shared, raw));
        })
    }));
}

/// Run the round-trip channel once it opens.
fn wire_rtt(shared: &Arc<Shared>, dc: Arc<RTCDataChannel>) {
    let shared = Arc::clone(shared);
    let dc2 = Arc::clone(&dc);
    dc.on_open(Box::new(move || {
        Box::pin(async move {
            if let Ok(raw) = dc2.detach().await {
                tokio::spawn(rtt::run(shared, raw));
            }
        })
    }));
}

/// Read the detached channel until it ends, turning messages into events.
async fn read_loop(shared: Arc<Shared>, raw: Arc<webrtc::data::data_channel::DataChannel>) {
    let mut buf = vec![0u8; READ_BUFFER_BYTES];
    loop {
        match raw.read_data_channel(&mut buf).await {
            // 0 bytes, not a string: the peer reset the stream (an empty binary message
            // reads the same; only a hostile peer sends one, and it may leave anyway).
            Ok((0, false)) => {
                shared.emit(SessionEvent::Closed(CloseReason::PeerLeft));
                return;
            }
            Ok((n, true)) => shared.emit(SessionEvent::Message(text_of(&buf[..n]))),
            Ok((n, false)) => shared.emit(SessionEvent::Binary(n)),
            Err(e) => {
                if !shared.closed.load(Ordering::SeqCst) {
                    tracing::warn!("data channel read: {e}");
                    shared.emit(SessionEvent::Closed(CloseReason::Failed(format!(
                        "the chat channel broke: {e}"
                    ))));
                }
                return;
            }
        }
    }
}

/// Peer text as a string: bad UTF-8 replaced, anything past [`MAX_RECEIVE_BYTES`] cut.
fn text_of(bytes: &[u8]) -> String {
    if bytes.len() <= MAX_RECEIVE_BYTES {
        return String::from_utf8_lossy(bytes).into_owned();
    }
    let mut text = String::from_utf8_lossy(&bytes[..MAX_RECEIVE_BYTES]).into_owned();
    text.push_str(&format!(" [… message cut: {} bytes in all]", bytes.len()));
    text
}

/// The peer's address and candidate type on the pair ICE selected, e.g. `192.168.1.7:50123 (host)`.
async fn selected_remote(pc: &RTCPeerConnection) -> Option<String> {
    let pair = pc
        .sctp()
        .transport()
        .ice_transport()
        .get_selected_candidate_pair()
        .await?;
    let r = &pair.remote;
    let addr = match r.address.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(v6)) => format!("[{v6}]:{}", r.port),
        _ => format!("{}:{}", r.address, r.port),
    };
    Some(format!("{addr} ({})", r.typ))
}

fn parse_hex_fingerprint(s: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    let mut n = 0;
    for part in s.split(':') {
        if n >= 32 {
            return None;
        }
        out[n] = u8::from_str_radix(part, 16).ok()?;
        n += 1;
    }
    (n == 32).then_some(out)
}
