//! The one task that owns a session. webrtc callbacks and the [`Session`](super::Session)
//! methods only send [`Input`]s here; the driver feeds them to the [`Machine`], wakes it at
//! its deadlines, and carries out its [`Action`]s: events to the owner, the end of
//! gathering, channel routing, pausing the chat writer while the path is silent.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot, watch};
use webrtc::data_channel::data_channel_init::RTCDataChannelInit;
use webrtc::data_channel::data_channel_state::RTCDataChannelState;
use webrtc::data_channel::RTCDataChannel;
use webrtc::peer_connection::RTCPeerConnection;

use super::channel::Channel;
use super::machine::{Action, ChannelUse, Fact, Machine};
use super::{rtt, LinkState, Route, RtcError, SessionEvent, MAX_RECEIVE_BYTES, RTT_LABEL};
use crate::chat::delivery;
use crate::signal;

/// What reaches the driver.
pub(super) enum Input {
    Fact(Fact),
    /// The peer's description was applied.
    Remote {
        qrchat: bool,
        fingerprint: Option<[u8; 32]>,
        /// Addresses of the peer's candidates (to tell a peer-reflexive LAN peer from a NAT).
        addresses: Vec<String>,
    },
    /// The peer opened a data channel.
    Incoming(Arc<RTCDataChannel>),
    /// A channel we or the peer made is open and detached: the chat.
    ChatReady(Channel),
    /// The owner wants a further channel with this label (qrchat peers only).
    OpenChannel {
        label: String,
        reply: oneshot::Sender<Result<Arc<RTCDataChannel>, RtcError>>,
    },
    /// Tell me when gathering is over (timed_out).
    OnGathered(oneshot::Sender<bool>),
    /// Close: flush the chat (bounded), close it and the connection, then answer.
    Close(oneshot::Sender<()>),
}

pub(super) struct Driver {
    pub machine: Machine,
    pub pc: Arc<RTCPeerConnection>,
    pub events: mpsc::UnboundedSender<SessionEvent>,
    pub inputs: mpsc::UnboundedSender<Input>,
    pub state: watch::Sender<Option<LinkState>>,
    pub local_fp: [u8; 32],
    /// The chat writer's queue (Session::send feeds it).
    pub outgoing: Option<mpsc::Receiver<Option<String>>>,
    /// To tell the writer that nothing more comes (`None`), so a close can wait for it.
    pub end_outgoing: mpsc::Sender<Option<String>>,
    /// The chat's message ids and acks (qrchat peers).
    pub delivery: delivery::Shared,
}

struct Run {
    remote_fp: Option<[u8; 32]>,
    qrchat: bool,
    remote_addresses: Vec<String>,
    on_gathered: Option<oneshot::Sender<bool>>,
    gathered: Option<bool>,
    chat: Option<Channel>,
    writer: Option<tokio::task::JoinHandle<()>>,
    paused: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    /// The peer's description has reached the driver (`Input::Remote`).
    remote_known: bool,
    /// Channels that opened before that: held, then handled in order once it has.
    held: Vec<Input>,
    /// Further channels (ours and the peer's, handed to the owner): a normal close waits
    /// until the peer acknowledged what was written on them too.
    channels: Vec<Arc<RTCDataChannel>>,
    /// The chat's reader saw its end (the peer reset it, or the association broke): a
    /// close waits for no acknowledgement then, none can come.
    peer_gone: Arc<std::sync::atomic::AtomicBool>,
}

impl Run {
    /// Keep a further channel for the close (closed ones are let go).
    fn keep(&mut self, dc: &Arc<RTCDataChannel>) {
        self.channels
            .retain(|c| c.ready_state() != RTCDataChannelState::Closed);
        self.channels.push(Arc::clone(dc));
    }
}

impl Driver {
    pub async fn run(mut self, mut inputs: mpsc::UnboundedReceiver<Input>) {
        let mut run = Run {
            remote_fp: None,
            qrchat: false,
            remote_addresses: Vec::new(),
            on_gathered: None,
            gathered: None,
            chat: None,
            writer: None,
            paused: watch::channel(false).0,
            tasks: Vec::new(),
            remote_known: false,
            held: Vec::new(),
            channels: Vec::new(),
            peer_gone: Arc::default(),
        };
        let mut incoming: VecDeque<Arc<RTCDataChannel>> = VecDeque::new();
        loop {
            let deadline = self.machine.deadline();
            let input = tokio::select! {
                i = inputs.recv() => match i {
                    Some(i) => i,
                    None => break,
                },
                _ = sleep_until(deadline), if deadline.is_some() => Input::Fact(Fact::Tick),
            };
            // The offerer learns of the answer when `set_remote_description` returns, and
            // under load the link can come up before that: the chat would open with no
            // fingerprint (safety number "unknown") and the peer's channels be refused as
            // a browser's. So a channel that opens first waits for the peer's description.
            let input = match input {
                i @ (Input::Incoming(_) | Input::ChatReady(_)) if !run.remote_known => {
                    run.held.push(i);
                    continue;
                }
                i => i,
            };
            let fact = match input {
                Input::Fact(f) => f,
                Input::Remote {
                    qrchat,
                    fingerprint,
                    addresses,
                } => {
                    run.remote_fp = fingerprint;
                    run.remote_addresses = addresses;
                    run.qrchat = qrchat;
                    run.remote_known = true;
                    for held in run.held.drain(..) {
                        let _ = self.inputs.send(held);
                    }
                    Fact::RemoteApplied { qrchat }
                }
                Input::Incoming(dc) => {
                    let label = dc.label().to_owned();
                    incoming.push_back(dc);
                    Fact::Incoming { label }
                }
                Input::ChatReady(ch) => {
                    run.chat = Some(ch.clone());
                    let (sas, remote, route) = self.opened(&run).await;
                    self.start_chat(&mut run, ch);
                    Fact::ChatOpen { sas, remote, route }
                }
                Input::OpenChannel { label, reply } => {
                    // Made here, in the order asked (the SCTP stream ids follow it).
                    let made = match self.machine.may_open(&label) {
                        Ok(()) => self
                            .pc
                            .create_data_channel(
                                &label,
                                Some(RTCDataChannelInit {
                                    protocol: Some(super::channel::FEATURES.to_owned()),
                                    ..Default::default()
                                }),
                            )
                            .await
                            .map_err(RtcError::from),
                        Err(e) => Err(e),
                    };
                    if let Ok(dc) = &made {
                        run.keep(dc);
                    }
                    let _ = reply.send(made);
                    continue;
                }
                Input::OnGathered(tx) => {
                    match run.gathered {
                        Some(t) => {
                            let _ = tx.send(t);
                        }
                        None => run.on_gathered = Some(tx),
                    }
                    continue;
                }
                Input::Close(done) => {
                    self.machine.on(Fact::Close, Instant::now());
                    self.state.send_replace(None);
                    self.shutdown(&mut run, true).await;
                    let _ = done.send(());
                    return;
                }
            };
            let actions = self.machine.on(fact, Instant::now());
            for a in actions {
                self.act(a, &mut run, &mut incoming);
            }
            if self.machine.is_closed() {
                self.state.send_replace(None);
                // Nothing more will flow: drop the connection now, so the peer hears
                // silence at once (it names a refused certificate from that).
                {
                    let pc = Arc::clone(&self.pc);
                    tokio::spawn(async move {
                        let _ = pc.close().await;
                    });
                }
                // Closed was the last event: stop listening, leave the connection to the
                // owner's close (or the drop of the session).
                self.shutdown(&mut run, false).await;
                // Answer a close that comes later.
                while let Some(i) = inputs.recv().await {
                    if let Input::Close(done) = i {
                        self.close_pc().await;
                        let _ = done.send(());
                        return;
                    }
                }
                return;
            }
        }
    }

    fn act(&mut self, a: Action, run: &mut Run, incoming: &mut VecDeque<Arc<RTCDataChannel>>) {
        match a {
            Action::Emit(ev) => {
                if let SessionEvent::State(s) = &ev {
                    self.state.send_replace(Some(*s));
                }
                let _ = self.events.send(ev);
            }
            Action::EndGathering { timed_out } => {
                run.gathered = Some(timed_out);
                if let Some(tx) = run.on_gathered.take() {
                    let _ = tx.send(timed_out);
                }
            }
            Action::Route(use_) => {
                if let Some(dc) = incoming.pop_front() {
                    if use_ == ChannelUse::Owner {
                        run.keep(&dc);
                    }
                    self.route(use_, dc);
                }
            }
            Action::OpenRtt => {
                let pc = Arc::clone(&self.pc);
                let inputs = self.inputs.clone();
                let state = self.state.subscribe();
                run.tasks.push(tokio::spawn(async move {
                    match pc.create_data_channel(RTT_LABEL, None).await {
                        Ok(dc) => on_open(dc, move |ch| {
                            tokio::spawn(rtt::run(ch, state, report_rtt(inputs)));
                        }),
                        Err(e) => tracing::debug!("no round-trip channel: {e}"),
                    }
                }));
            }
            Action::Pause => {
                run.paused.send_replace(true);
            }
            Action::Resume => {
                run.paused.send_replace(false);
            }
        }
    }

    fn route(&self, use_: ChannelUse, dc: Arc<RTCDataChannel>) {
        let inputs = self.inputs.clone();
        match use_ {
            ChannelUse::Chat => on_open(dc, move |ch| {
                let _ = inputs.send(Input::ChatReady(ch));
            }),
            ChannelUse::Rtt => {
                let state = self.state.subscribe();
                on_open(dc, move |ch| {
                    tokio::spawn(rtt::run(ch, state, report_rtt(inputs)));
                })
            }
            // A channel the peer opened knows no transport of its own: the pair is asked
            // of the connection.
            ChannelUse::Owner => on_open_in(dc, Some(Arc::downgrade(&self.pc)), move |ch| {
                let _ = inputs.send(Input::Fact(Fact::Pass(SessionEvent::Channel(ch))));
            }),
            ChannelUse::Refuse => {
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
                tokio::spawn(async move {
                    let _ = dc.close().await;
                });
            }
        }
    }

    /// The safety number, the peer's address and the route, once the chat is open.
    async fn opened(&self, run: &Run) -> (String, Option<String>, Route) {
        let sas = match run.remote_fp {
            Some(r) => signal::sas(&self.local_fp, &r),
            None => "unknown".to_owned(),
        };
        let pair = self
            .pc
            .sctp()
            .transport()
            .ice_transport()
            .get_selected_candidate_pair()
            .await;
        match pair {
            Some(p) => {
                let r = &p.remote;
                let addr = match r.address.parse::<std::net::IpAddr>() {
                    Ok(std::net::IpAddr::V6(v6)) => format!("[{v6}]:{}", r.port),
                    _ => format!("{}:{}", r.address, r.port),
                };
                let route = super::machine::route_of(
                    &p.local.typ.to_string(),
                    &r.typ.to_string(),
                    &r.address,
                    &run.remote_addresses,
                );
                (sas, Some(format!("{addr} ({})", r.typ)), route)
            }
            None => (sas, None, Route::Lan),
        }
    }

    /// The chat's reader and writer tasks. With the app of the previous pairing, our
    /// unacknowledged messages go first, in order, with their ids.
    fn start_chat(&mut self, run: &mut Run, ch: Channel) {
        let resend = delivery::lock(&self.delivery).new_pairing(run.qrchat, run.remote_fp);
        if !resend.is_empty() {
            tracing::info!(n = resend.len(), "sending unacknowledged messages again");
        }
        let inputs = self.inputs.clone();
        let reader = ch.clone();
        run.tasks.push(tokio::spawn(read_chat(
            reader,
            inputs.clone(),
            Arc::clone(&self.delivery),
            self.end_outgoing.clone(),
            Arc::clone(&run.peer_gone),
        )));
        if let Some(mut outgoing) = self.outgoing.take() {
            let mut paused = run.paused.subscribe();
            run.writer = Some(tokio::spawn(async move {
                for text in resend {
                    if let Err(e) = ch.send_text(&text).await {
                        let _ = inputs.send(Input::Fact(Fact::ChatBroke(e.to_string())));
                        return;
                    }
                }
                while let Some(Some(text)) = outgoing.recv().await {
                    // Hold while the path is silent: nothing piles up in SCTP's
                    // retransmission back-off, and the queue goes out in order once back.
                    while *paused.borrow_and_update() {
                        if paused.changed().await.is_err() {
                            return;
                        }
                    }
                    if let Err(e) = ch.send_text(&text).await {
                        let _ = inputs.send(Input::Fact(Fact::ChatBroke(e.to_string())));
                        return;
                    }
                }
            }));
        }
    }

    async fn shutdown(&mut self, run: &mut Run, flush: bool) {
        // Let what was queued go out (bounded), then close.
        self.outgoing = None;
        if let Some(w) = run.writer.take() {
            if flush && !*run.paused.borrow() {
                let end = self.end_outgoing.clone();
                // A qrchat peer hears a goodbye last, so it tells "left" from "stopped
                // responding" even when the close below is lost.
                let bye = (delivery::lock(&self.delivery).marked()
                    && !run.peer_gone.load(std::sync::atomic::Ordering::SeqCst))
                .then(delivery::encode_bye);
                let flushed = async move {
                    if let Some(bye) = bye {
                        let _ = end.send(Some(bye)).await;
                    }
                    let _ = end.send(None).await;
                    let _ = w.await;
                };
                let _ = tokio::time::timeout(Duration::from_secs(5), flushed).await;
                // Handed to SCTP is not arrived: wait (bounded) until the peer's SCTP
                // acknowledged every byte of the chat (webrtc-sctp counts a stream's
                // buffered amount down on SACK), so the last line or ack is not lost with
                // the connection when a packet of it was (a lost ack made the peer report
                // a delivered line as not delivered).
                // The same for the further channels: headless says "done" by opening a
                // channel, and a side that left right after lost that OPEN with the
                // connection when a packet of it was lost (the peer then waited out its
                // peer timeout: 1 pairing in 10 at 5% loss).
                let others = run.channels.clone();
                let chat = run.chat.clone();
                let gone = Arc::clone(&run.peer_gone);
                let acked = async {
                    loop {
                        if gone.load(std::sync::atomic::Ordering::SeqCst) {
                            break;
                        }
                        let mut pending = chat.as_ref().map_or(0, |c| c.buffered_amount());
                        for dc in &others {
                            pending += dc.buffered_amount().await;
                        }
                        if pending == 0 {
                            break;
                        }
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                };
                let _ = tokio::time::timeout(Duration::from_secs(3), acked).await;
            } else {
                w.abort();
            }
        }
        for t in run.tasks.drain(..) {
            t.abort();
        }
        if flush {
            if let Some(ch) = run.chat.take() {
                if *run.paused.borrow() || run.peer_gone.load(std::sync::atomic::Ordering::SeqCst) {
                    ch.abort().await;
                } else {
                    ch.close().await;
                }
            }
            self.close_pc().await;
        }
    }

    async fn close_pc(&self) {
        if let Err(e) = self.pc.close().await {
            tracing::debug!("closing peer connection: {e}");
        }
    }
}

/// Round-trip times go to the owner as events (false once the session is gone).
fn report_rtt(inputs: mpsc::UnboundedSender<Input>) -> impl Fn(Duration) -> bool + Send {
    move |rtt| {
        inputs
            .send(Input::Fact(Fact::Pass(SessionEvent::Rtt(rtt))))
            .is_ok()
    }
}

/// Detach a channel once it opens and hand it on.
pub(super) fn on_open(dc: Arc<RTCDataChannel>, then: impl FnOnce(Channel) + Send + 'static) {
    on_open_in(dc, None, then)
}

/// [`on_open`], with the connection the channel belongs to where the channel itself does
/// not know its transport (one the peer opened).
fn on_open_in(
    dc: Arc<RTCDataChannel>,
    pc: Option<std::sync::Weak<RTCPeerConnection>>,
    then: impl FnOnce(Channel) + Send + 'static,
) {
    let dc2 = Arc::clone(&dc);
    let label = dc.label().to_owned();
    let then = std::sync::Mutex::new(Some(then));
    dc.on_open(Box::new(move || {
        let dc2 = Arc::clone(&dc2);
        let label = label.clone();
        let then = then.lock().ok().and_then(|mut t| t.take());
        // weak: the channel's handler must not keep its connection alive
        let pc = pc.as_ref().and_then(|p| p.upgrade());
        Box::pin(async move {
            let peer_features = dc2.protocol().to_owned();
            let host_pair = host_pair(&dc2, pc.as_deref()).await;
            match dc2.detach().await {
                Ok(raw) => {
                    if let Some(then) = then {
                        then(Channel::new(label, raw, peer_features, host_pair));
                    }
                }
                Err(e) => tracing::warn!(label, "could not detach a data channel: {e}"),
            }
        })
    }));
}

/// The two addresses of ICE's selected pair when the peers reach each other directly on
/// one network: where a transfer's bulk TCP connection may go (transfer::bulk). None
/// through a relay or towards a NAT's address.
///
/// Ours is the local candidate's base (a server- or peer-reflexive local candidate shares
/// the host socket: its related address). The peer's is its host candidate, or a
/// peer-reflexive one at a site-local address (a LAN peer whose checks came before its
/// candidates did: the offerer of a headless pairing sees the answerer so).
async fn host_pair(
    dc: &RTCDataChannel,
    pc: Option<&RTCPeerConnection>,
) -> Option<(std::net::IpAddr, std::net::IpAddr)> {
    use webrtc::ice_transport::ice_candidate_type::RTCIceCandidateType as T;
    let sctp = match pc {
        Some(pc) => pc.sctp(),
        None => dc.transport().await?.upgrade()?,
    };
    let pair = sctp
        .transport()
        .ice_transport()
        .get_selected_candidate_pair()
        .await?;
    let local = match pair.local.typ {
        T::Host => &pair.local.address,
        T::Srflx | T::Prflx => &pair.local.related_address,
        _ => return None,
    };
    let remote = &pair.remote.address;
    let direct = pair.remote.typ == T::Host
        || (pair.remote.typ == T::Prflx && signal::is_site_local(remote));
    if !direct {
        return None;
    }
    Some((local.parse().ok()?, remote.parse().ok()?))
}

/// Read the chat until it ends, turning messages into facts. Between qrchat peers a
/// message comes with its id: handed on once (a message already shown in an earlier
/// pairing of the chat is dropped), then acknowledged; acks of ours become `Delivered`.
async fn read_chat(
    ch: Channel,
    inputs: mpsc::UnboundedSender<Input>,
    delivery: delivery::Shared,
    acks: mpsc::Sender<Option<String>>,
    peer_gone: Arc<std::sync::atomic::AtomicBool>,
) {
    let mut buf = vec![0u8; super::channel::READ_BUFFER_BYTES];
    loop {
        let (bytes, text) = match ch.recv_raw(&mut buf).await {
            Ok(None) => {
                peer_gone.store(true, std::sync::atomic::Ordering::SeqCst);
                let _ = inputs.send(Input::Fact(Fact::ChatEnded));
                return;
            }
            Ok(Some((bytes, text))) => (bytes, text),
            Err(e) => {
                peer_gone.store(true, std::sync::atomic::Ordering::SeqCst);
                tracing::warn!("data channel read: {e}");
                let _ = inputs.send(Input::Fact(Fact::ChatBroke(e.to_string())));
                return;
            }
        };
        if !text {
            let fact = Fact::Pass(SessionEvent::Binary(bytes.len()));
            if inputs.send(Input::Fact(fact)).is_err() {
                return;
            }
            continue;
        }
        let got = delivery::lock(&delivery).receive(&text_of(bytes));
        if got.bye {
            // The last thing a leaving qrchat peer sends: the chat ended on purpose, even
            // when the close that follows is lost.
            tracing::info!("the peer said goodbye");
            peer_gone.store(true, std::sync::atomic::Ordering::SeqCst);
            let _ = inputs.send(Input::Fact(Fact::ChatEnded));
            return;
        }
        if let Some(show) = got.show {
            if inputs
                .send(Input::Fact(Fact::Pass(SessionEvent::Message(show))))
                .is_err()
            {
                return;
            }
        }
        if !got.delivered.is_empty() {
            let fact = Fact::Pass(SessionEvent::Delivered(got.delivered));
            if inputs.send(Input::Fact(fact)).is_err() {
                return;
            }
        }
        // Acknowledged once handed to the app, never before; queued at once (no await
        // when there is room), so an app that reacts to the message by closing does not
        // close ahead of the ack.
        if let Some(ack) = got.reply {
            match acks.try_send(Some(ack)) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(ack)) => {
                    if acks.send(ack).await.is_err() {
                        return;
                    }
                }
                Err(mpsc::error::TrySendError::Closed(_)) => return,
            }
        }
    }
}

/// Peer text as a string: bad UTF-8 replaced, anything past [`MAX_RECEIVE_BYTES`] cut.
pub(super) fn text_of(bytes: &[u8]) -> String {
    if bytes.len() <= MAX_RECEIVE_BYTES {
        return String::from_utf8_lossy(bytes).into_owned();
    }
    let mut text = String::from_utf8_lossy(&bytes[..MAX_RECEIVE_BYTES]).into_owned();
    text.push_str(&format!(" [… message cut: {} bytes in all]", bytes.len()));
    text
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await,
        None => std::future::pending().await,
    }
}
