//! The [`Session`] handle and the webrtc set-up behind it: the peer connection, its
//! settings, and [`forward_callbacks`], through which every webrtc callback only sends an
//! [`Input`] to the session's driver. The types the owner sees are in `rtc/mod.rs`.

use std::sync::Arc;
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

use super::driver::{self, Driver, Input};
use super::machine::{Fact, Machine, PcState, Role, Rules};
use super::{
    candidate_count, net, servers, Channel, LinkState, RtcConfig, RtcError, SessionEvent,
    CHANNEL_LABEL, ICE_DISCONNECTED, ICE_FAILED, ICE_KEEPALIVE,
};
use crate::chat::delivery::{self, MessageId};
use crate::signal::{self, SdpKind, SessionDescription};

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
        let key = rcgen::KeyPair::generate().map_err(|e| RtcError::KeyPair(e.to_string()))?;
        Identity::of(RTCCertificate::from_key_pair(key)?)
    }

    fn of(cert: RTCCertificate) -> Result<Identity, RtcError> {
        let fingerprint = cert
            .get_fingerprints()
            .iter()
            .find(|f| f.algorithm == "sha-256")
            .and_then(|f| signal::parse_fingerprint_hex(&f.value))
            .ok_or(RtcError::NoFingerprint)?;
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
        Identity::of(RTCCertificate::from_pem(pem)?)
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
    remote_fp: std::sync::OnceLock<[u8; 32]>,
    role: Role,
    peer_timeout: Duration,
    delivery: delivery::Shared,
    send_order: tokio::sync::Mutex<()>,
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
            getrandom::fill(&mut pwd).map_err(|e| RtcError::NoRandomness(e.to_string()))?;
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
        let delivery = cfg.delivery.clone().unwrap_or_else(delivery::shared);
        let driver = Driver {
            delivery: Arc::clone(&delivery),
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
            remote_fp: std::sync::OnceLock::new(),
            role,
            peer_timeout: cfg.peer_timeout,
            delivery,
            send_order: tokio::sync::Mutex::new(()),
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
        self.send_marked(text).await.map(|_| ())
    }

    /// [`Session::send`], and the message's id when the peer is qrchat: it is delivered
    /// once [`SessionEvent::Delivered`] names it (the peer app acknowledged it). Ids and
    /// what is still pending live in the chat's [`delivery::Shared`] (RtcConfig::delivery).
    pub async fn send_marked(&self, text: &str) -> Result<Option<MessageId>, RtcError> {
        if text.len() > crate::chat::MAX_MESSAGE_BYTES {
            return Err(RtcError::TooLong {
                len: text.len(),
                max: crate::chat::MAX_MESSAGE_BYTES,
            });
        }
        match self.state() {
            Some(LinkState::Open { .. } | LinkState::Interrupted { .. }) => {
                // Ids are given in the order the messages are queued (the peer drops a
                // number at or below one it has shown).
                let _order = self.send_order.lock().await;
                let (id, wire) =
                    delivery::lock(&self.delivery)
                        .send(text)
                        .map_err(|_| RtcError::TooLong {
                            len: text.len(),
                            max: crate::chat::MAX_MESSAGE_BYTES,
                        })?;
                self.outgoing
                    .send(Some(wire))
                    .await
                    .map_err(|_| RtcError::Closed)?;
                Ok(id)
            }
            _ => Err(RtcError::NotOpen),
        }
    }

    /// The chat's delivery state (what is pending, delivered, not delivered).
    pub fn delivery(&self) -> delivery::Shared {
        Arc::clone(&self.delivery)
    }

    /// Open a further data channel (qrchat peers only); resolves once it is open. The
    /// future owns what it needs, so it can run on a task of its own.
    pub fn open_channel(
        &self,
        label: &str,
    ) -> impl std::future::Future<Output = Result<Channel, RtcError>> + Send + 'static {
        // Asked of the driver at once, so channels open in the order they were asked for;
        // its machine knows whether the peer is qrchat (only then are further channels
        // offered: browser pages never see one).
        let (tx, rx) = oneshot::channel();
        let asked = self.inputs.send(Input::OpenChannel {
            label: label.to_owned(),
            reply: tx,
        });
        let mut state = self.state.clone();
        async move {
            asked.map_err(|_| RtcError::Closed)?;
            let dc = rx.await.map_err(|_| RtcError::Closed)??;
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
        self.pc
            .set_remote_description(remote)
            .await
            .map_err(|e| RtcError::Remote(e.to_string()))?;
        // A peer-reflexive address is on the LAN only if it is one of the peer's own
        // (host) addresses; its NAT's public address means the route crosses a NAT.
        let addresses = signal::host_addresses(&desc.sdp);
        if let Some(fp) = signal::fingerprint_of(&desc.sdp) {
            let _ = self.remote_fp.set(fp);
        }
        let _ = self.inputs.send(Input::Remote {
            qrchat: signal::made_by_qrchat(&desc.sdp),
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
        let local = self
            .pc
            .local_description()
            .await
            .ok_or(RtcError::NoLocalDescription)?;
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
