//! The session's decisions, with no I/O (str0m's sans-IO discipline): the driver feeds it
//! [`Fact`]s as webrtc reports them and a clock; it answers with [`Action`]s (events for
//! the owner, and the few things the driver must do). Every rule about what the owner is
//! told lives here: when gathering ends, when the link counts as waiting, connecting, open
//! or interrupted, how long a silent peer is given, and that `Closed` is the last event.
//! Unit-tested below without sockets or sleeps.

use std::time::{Duration, Instant};

use super::{CloseReason, LinkState, Route, RtcError, SessionEvent, CHANNEL_LABEL, RTT_LABEL};

/// With STUN servers configured, gathering ends once no new candidate has come for this
/// long (a live STUN server answers within a round trip), or at the deadline.
pub const STUN_QUIET: Duration = Duration::from_millis(1000);

/// Once the offerer has applied the answer, how long the link may take to come up. The
/// answering side is already checking by then: ICE, DTLS and SCTP take milliseconds on a
/// LAN, and a path that has not come up in this time will not.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// How long the answering side waits for the other side to read its code and apply it
/// (a person walks the code back): at least ten minutes.
pub const WAIT_FOR_PEER: Duration = Duration::from_secs(610);

/// Who made the offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Offerer,
    Answerer,
}

/// The peer connection's state, as webrtc reports it (ours, so the machine needs no
/// webrtc types).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PcState {
    New,
    Connecting,
    Connected,
    Disconnected,
    Failed,
    Closed,
}

/// What a further data channel the peer opened is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelUse {
    /// The chat: a qrchat offerer's channel labelled `chat`; a browser page's first channel,
    /// whatever its label.
    Chat,
    /// The round-trip pings (qrchat peers only).
    Rtt,
    /// Handed to the owner as [`SessionEvent::Channel`] (qrchat peers only: transfers).
    Owner,
    /// Closed: a browser page has no business opening more channels.
    Refuse,
}

/// What the driver tells the machine.
#[derive(Debug, Clone, PartialEq)]
pub enum Fact {
    /// A local candidate was found.
    Candidate,
    /// webrtc says gathering is complete.
    GatheringComplete,
    /// Gathering is over and the local description was read back with this many candidates.
    LocalReady { candidates: usize, timed_out: bool },
    /// The peer's description was applied; `qrchat` when it was made by qrchat.
    RemoteApplied { qrchat: bool },
    /// The peer connection moved to this state.
    Pc(PcState),
    /// DTLS failed: the certificate the peer presented is not the one its code named (or
    /// the handshake broke).
    DtlsFailed,
    /// DTLS is up: both certificates were checked (ours by the peer, too, as far as we know).
    DtlsConnected,
    /// The peer opened a data channel with this label.
    Incoming { label: String },
    /// The chat channel is open.
    ChatOpen {
        sas: String,
        remote: Option<String>,
        route: Route,
    },
    /// The peer closed the chat channel (a normal leave).
    ChatEnded,
    /// The chat channel broke.
    ChatBroke(String),
    /// Something for the owner as it is (messages, pings, channels, notices).
    Pass(SessionEvent),
    /// The owner closes the session.
    Close,
    /// A deadline passed (the driver wakes the machine at [`Machine::deadline`]).
    Tick,
}

/// What the machine asks of the driver.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Tell the owner.
    Emit(SessionEvent),
    /// Stop gathering and read the local description back.
    EndGathering {
        timed_out: bool,
    },
    /// Use the peer's new channel (the one [`Fact::Incoming`] named) so.
    Route(ChannelUse),
    /// Open the round-trip channel (the offerer, to a qrchat peer).
    OpenRtt,
    /// Hold outgoing chat messages (the path is silent) / let them go again, in order.
    Pause,
    Resume,
}

/// The session's state and rules.
#[derive(Debug)]
pub struct Machine {
    role: Role,
    stun: bool,
    gather_timeout: Duration,
    peer_timeout: Duration,
    started: Instant,
    gathering: bool,
    last_candidate: Option<Instant>,
    candidates: usize,
    state: Option<LinkState>,
    /// When the offerer applied the answer (the connect timeout runs from here).
    applied: Option<Instant>,
    /// When our code was ready (the answerer waits for the peer from here).
    ready: Option<Instant>,
    qrchat: bool,
    chat_taken: bool,
    rtt_taken: bool,
    opened: bool,
    /// DTLS came up (so the path works and our certificate was presented).
    dtls_up: bool,
    /// When the path came up (ICE connected) before the chat opened: the chat must open
    /// within [`CONNECT_TIMEOUT`] of it, or the user is told rather than left waiting.
    linked: Option<Instant>,
    route: Route,
    closed: bool,
    /// What the peer sent before our chat opened (its further channels race our chat's
    /// opening; pings come on their own channel): handed on right after `Open`, so an owner
    /// always hears of the chat first and can wait for `Open` without losing anything.
    early: Vec<SessionEvent>,
}

/// Settings the machine needs.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    pub role: Role,
    pub stun: bool,
    pub gather_timeout: Duration,
    pub peer_timeout: Duration,
}

impl Machine {
    pub fn new(rules: Rules, now: Instant) -> Machine {
        Machine {
            role: rules.role,
            stun: rules.stun,
            gather_timeout: rules.gather_timeout,
            peer_timeout: rules.peer_timeout,
            started: now,
            gathering: true,
            last_candidate: None,
            candidates: 0,
            state: None,
            applied: None,
            ready: None,
            qrchat: false,
            chat_taken: false,
            rtt_taken: false,
            opened: false,
            dtls_up: false,
            linked: None,
            route: Route::Lan,
            closed: false,
            early: Vec::new(),
        }
    }

    /// The link state as last announced (None while gathering).
    pub fn state(&self) -> Option<LinkState> {
        self.state
    }

    /// Over: nothing more will be emitted.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Whether we may open a further channel with this label: to a qrchat peer only (the
    /// one place that knows; the owner was told by [`SessionEvent::Peer`]), and not under
    /// a label the session uses itself.
    pub fn may_open(&self, label: &str) -> Result<(), RtcError> {
        if !self.qrchat {
            Err(RtcError::NotQrchat)
        } else if label == CHANNEL_LABEL || label == RTT_LABEL {
            Err(RtcError::LabelTaken(label.to_owned()))
        } else {
            Ok(())
        }
    }

    /// When the driver must wake the machine with [`Fact::Tick`].
    pub fn deadline(&self) -> Option<Instant> {
        if self.closed {
            return None;
        }
        let mut d: Vec<Instant> = Vec::new();
        if self.gathering {
            d.push(self.started + self.gather_timeout);
            if self.stun {
                if let Some(t) = self.last_candidate {
                    d.push(t + STUN_QUIET);
                }
            }
        }
        if !self.opened {
            if let Some(t) = self.applied {
                d.push(t + CONNECT_TIMEOUT);
            }
            if self.role == Role::Answerer {
                if let Some(t) = self.ready {
                    d.push(t + WAIT_FOR_PEER);
                }
            }
            if let Some(t) = self.linked {
                d.push(t + CONNECT_TIMEOUT);
            }
        }
        if let Some(LinkState::Interrupted { since }) = self.state {
            d.push(since + self.peer_timeout);
        }
        d.into_iter().min()
    }

    pub fn on(&mut self, fact: Fact, now: Instant) -> Vec<Action> {
        let mut out = Vec::new();
        if self.closed {
            return out;
        }
        match fact {
            Fact::Candidate => {
                self.candidates += 1;
                self.last_candidate = Some(now);
                if self.gathering {
                    out.push(Action::Emit(SessionEvent::Gathering {
                        candidates: self.candidates,
                    }));
                }
            }
            Fact::GatheringComplete => {
                if self.gathering {
                    self.gathering = false;
                    out.push(Action::EndGathering { timed_out: false });
                }
            }
            Fact::LocalReady {
                candidates,
                timed_out,
            } => {
                self.gathering = false;
                self.ready = Some(now);
                out.push(Action::Emit(SessionEvent::Gathered {
                    candidates,
                    timed_out,
                }));
                if self.state.is_none() {
                    self.set(LinkState::WaitingForPeer, &mut out);
                }
            }
            Fact::RemoteApplied { qrchat } => {
                self.qrchat = qrchat;
                out.push(Action::Emit(SessionEvent::Peer { qrchat }));
                if self.role == Role::Offerer {
                    self.applied = Some(now);
                    if qrchat {
                        out.push(Action::OpenRtt);
                    }
                    if !self.opened {
                        self.set(LinkState::Connecting, &mut out);
                    }
                }
            }
            Fact::Pc(s) => self.on_pc(s, now, &mut out),
            Fact::DtlsFailed => {
                if !self.opened {
                    self.close(CloseReason::CertificateMismatch, &mut out);
                }
            }
            Fact::DtlsConnected => self.dtls_up = true,
            Fact::Incoming { label } => {
                // A qrchat peer's channels go by what they are: channels race each other
                // (each has its own SCTP stream, and webrtc-rs counts a channel open once
                // its OPEN is sent), so when the chat's OPEN is lost and retransmitted the
                // offerer's next channel arrives first. A browser page names its chat
                // freely: its first channel is the chat.
                let use_ = if self.qrchat {
                    if label == RTT_LABEL && !self.rtt_taken {
                        self.rtt_taken = true;
                        ChannelUse::Rtt
                    } else if label == CHANNEL_LABEL
                        && self.role == Role::Answerer
                        && !self.chat_taken
                    {
                        self.chat_taken = true;
                        ChannelUse::Chat
                    } else {
                        ChannelUse::Owner
                    }
                } else if self.role == Role::Answerer && !self.chat_taken {
                    self.chat_taken = true;
                    ChannelUse::Chat
                } else {
                    ChannelUse::Refuse
                };
                out.push(Action::Route(use_));
            }
            Fact::ChatOpen { sas, remote, route } => {
                self.opened = true;
                self.gathering = false;
                self.route = route;
                self.set(LinkState::Open { route }, &mut out);
                out.push(Action::Emit(SessionEvent::Open { sas, remote, route }));
                out.extend(self.early.drain(..).map(Action::Emit));
            }
            Fact::ChatEnded => self.close(CloseReason::PeerLeft, &mut out),
            Fact::ChatBroke(why) => self.close(CloseReason::ChatBroke(why), &mut out),
            Fact::Pass(ev) if !self.opened && !matches!(ev, SessionEvent::Notice(_)) => {
                self.early.push(ev)
            }
            Fact::Pass(ev) => out.push(Action::Emit(ev)),
            Fact::Close => {
                // Our own side ends it: the owner knows; nothing more is said.
                self.closed = true;
            }
            Fact::Tick => self.on_tick(now, &mut out),
        }
        out
    }

    fn on_pc(&mut self, s: PcState, now: Instant, out: &mut Vec<Action>) {
        match s {
            PcState::Connected => {
                if self.opened {
                    if matches!(self.state, Some(LinkState::Interrupted { .. })) {
                        self.set(LinkState::Open { route: self.route }, out);
                        out.push(Action::Resume);
                    }
                } else {
                    self.linked.get_or_insert(now);
                    if self.state == Some(LinkState::WaitingForPeer) {
                        // The answerer: the other side applied our code; DTLS and SCTP
                        // follow.
                        self.set(LinkState::Connecting, out);
                    }
                }
            }
            PcState::Disconnected => {
                if self.opened && matches!(self.state, Some(LinkState::Open { .. })) {
                    self.set(LinkState::Interrupted { since: now }, out);
                    out.push(Action::Pause);
                } else if !self.opened && self.dtls_up {
                    // The path worked and DTLS came up on our side, then the peer went
                    // silent before the chat opened: it checked our certificate against its
                    // copy of our code and dropped the link (it closes at once on a
                    // mismatch, see the driver).
                    self.close(CloseReason::CertificateRefused, out);
                }
            }
            PcState::Failed => {
                let reason = if self.opened {
                    CloseReason::PeerLost
                } else {
                    CloseReason::NoPath
                };
                self.close(reason, out);
            }
            PcState::Closed => {
                let reason = if self.opened {
                    CloseReason::PeerLeft
                } else {
                    CloseReason::ClosedEarly
                };
                self.close(reason, out);
            }
            PcState::New | PcState::Connecting => {}
        }
    }

    fn on_tick(&mut self, now: Instant, out: &mut Vec<Action>) {
        if self.gathering {
            if now >= self.started + self.gather_timeout {
                self.gathering = false;
                out.push(Action::EndGathering { timed_out: true });
            } else if self.stun
                && self.candidates > 0
                && self
                    .last_candidate
                    .is_some_and(|t| now.duration_since(t) >= STUN_QUIET)
            {
                // Host candidates come at once and a live STUN server answers in a round
                // trip; a silent one would hold us to the deadline for nothing.
                self.gathering = false;
                out.push(Action::EndGathering { timed_out: true });
            }
        }
        if !self.opened {
            if let Some(t) = self.applied {
                if now >= t + CONNECT_TIMEOUT {
                    self.close(CloseReason::NoConnection(CONNECT_TIMEOUT), out);
                    return;
                }
            }
            if let (Role::Answerer, Some(t)) = (self.role, self.ready) {
                if now >= t + WAIT_FOR_PEER {
                    self.close(CloseReason::NotRead(WAIT_FOR_PEER), out);
                    return;
                }
            }
            if let Some(t) = self.linked {
                if now >= t + CONNECT_TIMEOUT {
                    // The path works but the chat never opened: say so, never sit silent.
                    self.close(CloseReason::ChatNeverOpened(CONNECT_TIMEOUT), out);
                    return;
                }
            }
        }
        if let Some(LinkState::Interrupted { since }) = self.state {
            if now >= since + self.peer_timeout {
                self.close(CloseReason::PeerLost, out);
            }
        }
    }

    fn set(&mut self, s: LinkState, out: &mut Vec<Action>) {
        if self.state != Some(s) {
            self.state = Some(s);
            out.push(Action::Emit(SessionEvent::State(s)));
        }
    }

    fn close(&mut self, reason: CloseReason, out: &mut Vec<Action>) {
        if !self.closed {
            self.closed = true;
            out.push(Action::Emit(SessionEvent::Closed(reason)));
        }
    }
}

/// How the selected candidate pair goes, from the two candidate types (`host`, `srflx`,
/// `prflx`, `relay`). A peer-reflexive remote whose address is one of the peer's own host
/// candidates is a LAN peer whose checks arrived before its candidates did, not a NAT.
///
/// The packets of a pair always leave from the local candidate's base (a server-reflexive
/// or peer-reflexive local candidate shares the host socket), so what decides is where they
/// go: to one of the peer's own *private* host addresses, they cross no NAT whatever our
/// local candidate is called. Two hosts behind one router with STUN configured showed it:
/// the controlled side's selected pair named its srflx candidate (same socket as its host
/// one) with the peer's host address, and it said "through a NAT" while the other side,
/// with the very same packets, said "on your network".
pub fn route_of(local: &str, remote: &str, remote_addr: &str, remote_hosts: &[String]) -> Route {
    let to_peer_host =
        remote == "host" || (remote == "prflx" && remote_hosts.iter().any(|a| a == remote_addr));
    if local == "relay" || remote == "relay" {
        Route::Relay
    } else if to_peer_host && crate::signal::is_site_local(remote_addr) {
        Route::Lan
    } else if local == "srflx" || local == "prflx" || !to_peer_host {
        Route::Nat
    } else {
        Route::Lan
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn routes_in_words() {
        let hosts = vec!["192.168.1.5".to_owned()];
        assert_eq!(route_of("host", "host", "192.168.1.5", &hosts), Route::Lan);
        assert_eq!(route_of("host", "prflx", "192.168.1.5", &hosts), Route::Lan);
        assert_eq!(route_of("host", "prflx", "203.0.113.9", &hosts), Route::Nat);
        // Our srflx candidate shares the host socket: to the peer's private host address the
        // packets cross no NAT (two hosts behind one router); to a public one they do.
        assert_eq!(route_of("srflx", "host", "192.168.1.5", &hosts), Route::Lan);
        assert_eq!(route_of("prflx", "host", "10.99.11.2", &[]), Route::Lan);
        assert_eq!(route_of("srflx", "host", "203.0.113.7", &[]), Route::Nat);
        assert_eq!(route_of("prflx", "host", "203.0.113.7", &[]), Route::Nat);
        assert_eq!(route_of("host", "host", "203.0.113.7", &[]), Route::Lan);
        assert_eq!(route_of("srflx", "srflx", "203.0.113.7", &[]), Route::Nat);
        assert_eq!(route_of("host", "srflx", "192.168.1.9", &hosts), Route::Nat);
        assert_eq!(
            route_of("host", "relay", "198.51.100.1", &hosts),
            Route::Relay
        );
        assert_eq!(
            route_of("relay", "srflx", "198.51.100.1", &hosts),
            Route::Relay
        );
    }

    use super::*;

    const PEER_TIMEOUT: Duration = Duration::from_secs(60);

    /// Our description is ready (one candidate, gathering done in time).
    fn ready(m: &mut Machine, at: Instant) -> Vec<Action> {
        m.on(
            Fact::LocalReady {
                candidates: 1,
                timed_out: false,
            },
            at,
        )
    }

    fn machine(role: Role, stun: bool) -> (Machine, Instant) {
        let t0 = Instant::now();
        let m = Machine::new(
            Rules {
                role,
                stun,
                gather_timeout: Duration::from_secs(3),
                peer_timeout: PEER_TIMEOUT,
            },
            t0,
        );
        (m, t0)
    }

    fn events(actions: &[Action]) -> Vec<SessionEvent> {
        actions
            .iter()
            .filter_map(|a| match a {
                Action::Emit(e) => Some(e.clone()),
                _ => None,
            })
            .collect()
    }

    fn open(m: &mut Machine, t: Instant) {
        m.on(
            Fact::ChatOpen {
                sas: "123 456".into(),
                remote: None,
                route: Route::Lan,
            },
            t,
        );
    }

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn gathering_ends_when_complete_or_at_the_deadline() {
        let (mut m, t0) = machine(Role::Offerer, false);
        assert_eq!(m.deadline(), Some(t0 + secs(3)));
        let a = m.on(Fact::Candidate, t0);
        assert_eq!(events(&a), vec![SessionEvent::Gathering { candidates: 1 }]);
        // Not yet at the deadline: nothing.
        assert!(m.on(Fact::Tick, t0 + secs(2)).is_empty());
        assert_eq!(
            m.on(Fact::Tick, t0 + secs(3)),
            vec![Action::EndGathering { timed_out: true }]
        );

        let (mut m, t0) = machine(Role::Offerer, false);
        assert_eq!(
            m.on(Fact::GatheringComplete, t0),
            vec![Action::EndGathering { timed_out: false }]
        );
        // Said once only.
        assert!(m.on(Fact::Tick, t0 + secs(5)).is_empty());
    }

    #[test]
    fn with_stun_a_quiet_second_ends_gathering() {
        let (mut m, t0) = machine(Role::Offerer, true);
        m.on(Fact::Candidate, t0 + Duration::from_millis(10));
        assert_eq!(m.deadline(), Some(t0 + Duration::from_millis(1010)));
        assert_eq!(
            m.on(Fact::Tick, t0 + Duration::from_millis(1010)),
            vec![Action::EndGathering { timed_out: true }]
        );
        // Without STUN the quiet rule does not apply.
        let (mut m, t0) = machine(Role::Offerer, false);
        m.on(Fact::Candidate, t0);
        assert!(m
            .on(Fact::Tick, t0 + Duration::from_millis(1500))
            .is_empty());
    }

    #[test]
    fn offerer_waits_then_connects_then_opens() {
        let (mut m, t0) = machine(Role::Offerer, false);
        let a = ready(&mut m, t0);
        assert_eq!(
            events(&a),
            vec![
                SessionEvent::Gathered {
                    candidates: 1,
                    timed_out: false
                },
                SessionEvent::State(LinkState::WaitingForPeer)
            ]
        );
        // A person reads the code: no deadline while waiting for the answer.
        assert_eq!(m.deadline(), None);
        let a = m.on(Fact::RemoteApplied { qrchat: true }, t0 + secs(100));
        assert!(a.contains(&Action::OpenRtt));
        assert_eq!(
            events(&a),
            vec![
                SessionEvent::Peer { qrchat: true },
                SessionEvent::State(LinkState::Connecting)
            ]
        );
        let a = m.on(
            Fact::ChatOpen {
                sas: "1".into(),
                remote: Some("x".into()),
                route: Route::Nat,
            },
            t0 + secs(101),
        );
        assert_eq!(
            events(&a),
            vec![
                SessionEvent::State(LinkState::Open { route: Route::Nat }),
                SessionEvent::Open {
                    sas: "1".into(),
                    remote: Some("x".into()),
                    route: Route::Nat
                }
            ]
        );
        assert_eq!(m.deadline(), None);
    }

    #[test]
    fn further_channels_only_to_a_qrchat_peer_and_under_a_free_label() {
        let (mut m, t0) = machine(Role::Offerer, false);
        // Not known yet: refused.
        assert!(matches!(
            m.may_open("qrchat-file"),
            Err(RtcError::NotQrchat)
        ));
        let a = m.on(Fact::RemoteApplied { qrchat: false }, t0);
        assert_eq!(events(&a)[0], SessionEvent::Peer { qrchat: false });
        assert!(matches!(
            m.may_open("qrchat-file"),
            Err(RtcError::NotQrchat)
        ));

        let (mut m, t0) = machine(Role::Answerer, false);
        m.on(Fact::RemoteApplied { qrchat: true }, t0);
        assert!(m.may_open("qrchat-file").is_ok());
        assert!(matches!(
            m.may_open(RTT_LABEL),
            Err(RtcError::LabelTaken(_))
        ));
        assert!(matches!(
            m.may_open(CHANNEL_LABEL),
            Err(RtcError::LabelTaken(_))
        ));
    }

    #[test]
    fn offerer_gives_up_30_s_after_applying_the_answer() {
        let (mut m, t0) = machine(Role::Offerer, false);
        ready(&mut m, t0);
        m.on(Fact::RemoteApplied { qrchat: false }, t0 + secs(5));
        assert_eq!(m.deadline(), Some(t0 + secs(35)));
        let a = m.on(Fact::Tick, t0 + secs(35));
        assert_eq!(
            events(&a),
            vec![SessionEvent::Closed(CloseReason::NoConnection(
                CONNECT_TIMEOUT
            ))]
        );
        assert!(m.is_closed());
        assert!(m.on(Fact::Pc(PcState::Failed), t0 + secs(36)).is_empty());
    }

    #[test]
    fn answerer_waits_ten_minutes_for_its_code_to_be_read() {
        let (mut m, t0) = machine(Role::Answerer, false);
        m.on(Fact::RemoteApplied { qrchat: true }, t0);
        ready(&mut m, t0);
        // ICE "connecting" at once means nothing: the other side has not read the code.
        assert!(events(&m.on(Fact::Pc(PcState::Connecting), t0)).is_empty());
        assert_eq!(m.state(), Some(LinkState::WaitingForPeer));
        assert!(m.on(Fact::Tick, t0 + secs(300)).is_empty());
        let a = m.on(Fact::Pc(PcState::Connected), t0 + secs(400));
        assert_eq!(events(&a), vec![SessionEvent::State(LinkState::Connecting)]);
        // Once connected at the ICE level, a chat that never opens is named within the
        // connect timeout (see a_link_whose_chat_never_opens_is_named_not_waited_on).
        assert_eq!(m.deadline(), Some(t0 + secs(400) + CONNECT_TIMEOUT));
        // Never read: the waiting deadline.
        let (mut m, t0) = machine(Role::Answerer, false);
        ready(&mut m, t0);
        let a = m.on(Fact::Tick, t0 + WAIT_FOR_PEER);
        assert_eq!(
            events(&a),
            vec![SessionEvent::Closed(CloseReason::NotRead(WAIT_FOR_PEER))]
        );
    }

    #[test]
    fn a_blip_interrupts_and_recovers_without_closing() {
        let (mut m, t0) = machine(Role::Offerer, false);
        m.on(Fact::RemoteApplied { qrchat: true }, t0);
        open(&mut m, t0);
        let a = m.on(Fact::Pc(PcState::Disconnected), t0 + secs(10));
        assert!(a.contains(&Action::Pause));
        assert_eq!(
            events(&a),
            vec![SessionEvent::State(LinkState::Interrupted {
                since: t0 + secs(10)
            })]
        );
        assert_eq!(m.deadline(), Some(t0 + secs(10) + PEER_TIMEOUT));
        assert!(m.on(Fact::Tick, t0 + secs(39)).is_empty());
        let a = m.on(Fact::Pc(PcState::Connected), t0 + secs(40));
        assert!(a.contains(&Action::Resume));
        assert_eq!(
            events(&a),
            vec![SessionEvent::State(LinkState::Open { route: Route::Lan })]
        );
        assert!(!m.is_closed());
        assert_eq!(m.deadline(), None);
    }

    #[test]
    fn a_silent_peer_is_given_up_after_the_peer_timeout() {
        let (mut m, t0) = machine(Role::Answerer, false);
        open(&mut m, t0);
        m.on(Fact::Pc(PcState::Disconnected), t0 + secs(1));
        let a = m.on(Fact::Tick, t0 + secs(1) + PEER_TIMEOUT);
        assert_eq!(
            events(&a),
            vec![SessionEvent::Closed(CloseReason::PeerLost)]
        );
        // Closed is the last event, whatever comes after.
        assert!(m.on(Fact::Pc(PcState::Connected), t0 + secs(99)).is_empty());
        assert!(m
            .on(
                Fact::Pass(SessionEvent::Message("late".into())),
                t0 + secs(99)
            )
            .is_empty());
        assert!(m.on(Fact::ChatEnded, t0 + secs(99)).is_empty());
    }

    #[test]
    fn a_peer_that_quits_is_seen_at_once() {
        let (mut m, t0) = machine(Role::Answerer, false);
        open(&mut m, t0);
        let a = m.on(Fact::ChatEnded, t0 + secs(1));
        assert_eq!(
            events(&a),
            vec![SessionEvent::Closed(CloseReason::PeerLeft)]
        );
    }

    #[test]
    fn failed_before_open_is_no_path_and_after_open_is_peer_lost() {
        let (mut m, t0) = machine(Role::Offerer, false);
        let a = m.on(Fact::Pc(PcState::Failed), t0);
        assert_eq!(events(&a), vec![SessionEvent::Closed(CloseReason::NoPath)]);
        let (mut m, t0) = machine(Role::Offerer, false);
        open(&mut m, t0);
        let a = m.on(Fact::Pc(PcState::Failed), t0);
        assert_eq!(
            events(&a),
            vec![SessionEvent::Closed(CloseReason::PeerLost)]
        );
    }

    #[test]
    fn our_own_close_says_nothing_more() {
        let (mut m, t0) = machine(Role::Offerer, false);
        open(&mut m, t0);
        assert!(m.on(Fact::Close, t0).is_empty());
        assert!(m.on(Fact::ChatEnded, t0).is_empty());
        assert_eq!(m.deadline(), None);
    }

    #[test]
    fn nothing_from_the_peer_comes_before_open_but_notices_do() {
        let (mut m, t0) = machine(Role::Answerer, false);
        m.on(Fact::RemoteApplied { qrchat: true }, t0);
        let early = SessionEvent::Rtt(Duration::from_millis(1));
        assert!(m.on(Fact::Pass(early.clone()), t0).is_empty());
        let notice = SessionEvent::Notice("stun.example does not resolve".into());
        assert_eq!(events(&m.on(Fact::Pass(notice.clone()), t0)), vec![notice]);
        let a = m.on(
            Fact::ChatOpen {
                sas: "1".into(),
                remote: None,
                route: Route::Lan,
            },
            t0,
        );
        let ev = events(&a);
        assert!(matches!(ev[1], SessionEvent::Open { .. }), "{ev:?}");
        assert_eq!(ev[2], early, "held until the chat is open, then handed on");
    }

    /// Each incoming channel label in turn, and where the machine routes it.
    fn routes(m: &mut Machine, t0: Instant, steps: &[(&str, ChannelUse)]) {
        for (i, (label, want)) in steps.iter().enumerate() {
            let got = m.on(
                Fact::Incoming {
                    label: (*label).into(),
                },
                t0,
            );
            assert_eq!(got, vec![Action::Route(*want)], "step {i}: {label}");
        }
    }

    #[test]
    fn channels_are_routed_by_who_the_peer_is() {
        use ChannelUse::{Chat, Owner, Refuse, Rtt};
        // A browser offer: the first channel is the chat whatever its label; more are refused.
        let (mut m, t0) = machine(Role::Answerer, false);
        m.on(Fact::RemoteApplied { qrchat: false }, t0);
        routes(
            &mut m,
            t0,
            &[
                ("sendChannel", Chat),
                ("qrchat-rtt", Refuse),
                ("another", Refuse),
            ],
        );
        // A qrchat offerer: rtt once, chat, and further channels go to the owner, also
        // one of its own that overtook the chat (streams are not ordered among each other):
        // here the chat's OPEN was lost and is on its way again, so the offerer's next
        // channel (a transfer) arrives first. It is not the chat, and there is one chat only.
        let (mut m, t0) = machine(Role::Answerer, false);
        m.on(Fact::RemoteApplied { qrchat: true }, t0);
        routes(
            &mut m,
            t0,
            &[
                ("qrchat-pair", Owner),
                ("qrchat-rtt", Rtt),
                ("qrchat-file", Owner),
                ("chat", Chat),
                ("chat", Owner),
                ("qrchat-file", Owner),
                ("qrchat-rtt", Owner),
            ],
        );
        // The offerer made the chat itself: a qrchat answerer's channels go to the owner.
        let (mut m, t0) = machine(Role::Offerer, false);
        m.on(Fact::RemoteApplied { qrchat: true }, t0);
        routes(&mut m, t0, &[("qrchat-file", Owner)]);
    }

    #[test]
    fn a_peer_that_drops_the_link_right_after_dtls_refused_our_certificate() {
        let (mut m, t0) = machine(Role::Offerer, false);
        m.on(Fact::RemoteApplied { qrchat: true }, t0);
        m.on(Fact::Pc(PcState::Connected), t0);
        m.on(Fact::DtlsConnected, t0);
        let a = m.on(Fact::Pc(PcState::Disconnected), t0 + secs(3));
        assert_eq!(
            events(&a),
            vec![SessionEvent::Closed(CloseReason::CertificateRefused)]
        );
        // Without DTLS up, a silent path while connecting is not named so.
        let (mut m, t0) = machine(Role::Offerer, false);
        m.on(Fact::RemoteApplied { qrchat: true }, t0);
        assert!(events(&m.on(Fact::Pc(PcState::Disconnected), t0)).is_empty());
    }

    #[test]
    fn a_link_whose_chat_never_opens_is_named_not_waited_on() {
        let (mut m, t0) = machine(Role::Answerer, false);
        m.on(Fact::RemoteApplied { qrchat: true }, t0);
        ready(&mut m, t0);
        m.on(Fact::Pc(PcState::Connected), t0 + secs(5));
        m.on(Fact::DtlsConnected, t0 + secs(5));
        assert_eq!(m.deadline(), Some(t0 + secs(5) + CONNECT_TIMEOUT));
        assert!(m.on(Fact::Tick, t0 + secs(34)).is_empty());
        let ev = events(&m.on(Fact::Tick, t0 + secs(35)));
        assert_eq!(
            ev,
            vec![SessionEvent::Closed(CloseReason::ChatNeverOpened(
                CONNECT_TIMEOUT
            ))]
        );
        // Once open, the rule is gone.
        let (mut m, t0) = machine(Role::Answerer, false);
        m.on(Fact::Pc(PcState::Connected), t0);
        open(&mut m, t0 + secs(1));
        assert_eq!(m.deadline(), None);
    }

    #[test]
    fn certificate_mismatch_before_open_is_named() {
        let (mut m, t0) = machine(Role::Offerer, false);
        m.on(Fact::RemoteApplied { qrchat: true }, t0);
        let a = m.on(Fact::DtlsFailed, t0 + secs(1));
        assert_eq!(
            events(&a),
            vec![SessionEvent::Closed(CloseReason::CertificateMismatch)]
        );
    }
}
