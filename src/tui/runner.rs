//! The runner turns the app's effects into work: session tasks (whose events come back
//! as `AppEvent`s), the camera thread, and the few bytes written straight to the terminal
//! (clipboard, bell, notification, title).

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc::{self, UnboundedReceiver, UnboundedSender};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::event::{AppEvent, Effect, Notifier, TransferEvent};
use super::session::{Channel, Connector, Link, SessionDescription};
use super::CameraSpec;
use crate::direct::{self, Delivery};
use crate::signal;
use crate::transfer::{self, Answer, CancelHandle, Progress, TransferError};

/// A transfer task and what the user can still tell it.
struct Running {
    cancel: CancelHandle,
    /// Receiver: the answer to its offer, until given.
    answer: Option<oneshot::Sender<bool>>,
    task: JoinHandle<()>,
}

enum Cmd {
    Accept(SessionDescription),
    Send(String),
}

/// Turns effects into tasks; the tasks report back as `AppEvent`s.
pub struct Runner {
    connector: Arc<dyn Connector>,
    camera: CameraSpec,
    tx: UnboundedSender<AppEvent>,
    /// Where terminal control sequences go (the terminal's stdout; a buffer in tests).
    term: Box<dyn Write + Send>,
    link: Arc<Mutex<Option<Arc<dyn Link>>>>,
    cmds: Option<UnboundedSender<Cmd>>,
    task: Option<JoinHandle<()>>,
    closing: Vec<JoinHandle<()>>,
    camera_stop: Option<Arc<AtomicBool>>,
    /// `--history DIR`, and the transcript of the chat under way.
    history_dir: Option<PathBuf>,
    history: Option<crate::chat::History>,
    /// Where each chat went, to say on exit.
    saved: Vec<String>,
    /// Where accepted files go.
    receive_dir: Option<PathBuf>,
    transfers: HashMap<u64, Running>,
    /// One scan: listen for a direct answer (starter), hand ours over (joiner).
    direct: bool,
    /// The pairwise secret being agreed with the peer of this fingerprint (known peers).
    pair_secret: Option<([u8; 32], super::known::Secret)>,
    /// The chat's delivery state, shared with every session (`RtcConfig::delivery`): a new
    /// chat gives up what the last one never got delivered.
    delivery: Option<crate::chat::delivery::Shared>,
    /// Known peers: the listener, the start screen's probes, the requests (None: the app
    /// runs without the lasting identity, `--ephemeral`).
    known: Option<super::known::Side>,
}

/// How long the joiner keeps handing its answer over (its QR shows after
/// `app::HAND_OVER_WAIT` without an acknowledgement; delivery goes on behind it).
const DELIVERY_TIME: std::time::Duration = std::time::Duration::from_secs(10);

impl Runner {
    pub fn new(
        connector: Arc<dyn Connector>,
        camera: CameraSpec,
        tx: UnboundedSender<AppEvent>,
        term: Box<dyn Write + Send>,
    ) -> Runner {
        Runner {
            connector,
            camera,
            tx,
            term,
            link: Arc::new(Mutex::new(None)),
            cmds: None,
            task: None,
            closing: vec![],
            camera_stop: None,
            history_dir: None,
            history: None,
            saved: vec![],
            receive_dir: None,
            transfers: HashMap::new(),
            direct: false,
            pair_secret: None,
            delivery: None,
            known: None,
        }
    }

    /// Known peers (listen, look for them, connect by name), with the lasting identity.
    pub fn with_known(mut self, known: Option<super::known::Side>) -> Runner {
        self.known = known;
        if let Some(k) = &mut self.known {
            k.listen(&self.tx);
        }
        self
    }

    /// Look for known peers while the start screen shows (the loop calls it after every
    /// update; cheap when nothing changes).
    pub fn presence(&mut self, on: bool) {
        if let Some(k) = &mut self.known {
            k.presence(on, &self.tx);
        }
    }

    /// The delivery state the sessions share (the one in their `RtcConfig`).
    pub fn with_delivery(mut self, delivery: Option<crate::chat::delivery::Shared>) -> Runner {
        self.delivery = delivery;
        self
    }

    /// One scan (unless `--no-direct` or `--json`): the starter listens for the joiner's
    /// answer, the joiner hands its answer over directly.
    pub fn with_direct(mut self, direct: bool) -> Runner {
        self.direct = direct;
        self
    }

    /// Accepted files go into `dir` (`--receive`, or the default download folder).
    pub fn with_receive_dir(mut self, dir: Option<PathBuf>) -> Runner {
        self.receive_dir = dir;
        self
    }

    /// Save each chat as a transcript in `dir` (`--history`).
    pub fn with_history(mut self, dir: Option<PathBuf>) -> Runner {
        self.history_dir = dir;
        self
    }

    /// "the chat was saved to PATH", once per transcript written (for after the exit).
    pub fn saved_lines(&self) -> &[String] {
        &self.saved
    }

    /// Run effects; true when the app should end.
    pub fn execute_all(&mut self, fx: Vec<Effect>) -> bool {
        let mut quit = false;
        for e in fx {
            quit |= self.execute(e);
        }
        quit
    }

    pub fn execute(&mut self, e: Effect) -> bool {
        match e {
            Effect::StartOffer { pairing } => self.begin(pairing, None),
            Effect::Join { pairing, offer } => self.begin(pairing, Some(offer)),
            Effect::AcceptAnswer(d) => self.command(Cmd::Accept(d)),
            Effect::Send(t) => self.command(Cmd::Send(t)),
            Effect::Close => self.close(),
            Effect::NewChat => {
                if let Some(d) = &self.delivery {
                    let gone = crate::chat::delivery::lock(d).forget_undelivered();
                    if !gone.is_empty() {
                        tracing::info!(n = gone.len(), "a new chat: undelivered messages given up");
                    }
                }
            }
            Effect::Copy(text) => {
                use base64::Engine;
                let b64 = base64::engine::general_purpose::STANDARD.encode(text.as_bytes());
                self.write(&format!("\x1b]52;c;{b64}\x07"));
            }
            Effect::Bell => self.write("\x07"),
            Effect::Notify(how, body) => {
                let body = one_line(&body);
                match how {
                    Notifier::Osc777 => self.write(&format!("\x1b]777;notify;qrchat;{body}\x1b\\")),
                    Notifier::Osc9 => self.write(&format!("\x1b]9;qrchat: {body}\x1b\\")),
                    Notifier::Bell => self.write("\x07"),
                }
            }
            Effect::Title(t) => self.write(&format!("\x1b]2;{}\x1b\\", one_line(&t))),
            Effect::OpenCamera => self.open_camera(),
            Effect::StopCamera => {
                if let Some(stop) = self.camera_stop.take() {
                    stop.store(true, Ordering::SeqCst);
                }
            }
            Effect::SaveStart => self.save_start(),
            Effect::Save { who, text } => {
                if let Some(h) = &mut self.history {
                    if let Err(e) = h.append(std::time::SystemTime::now(), who, &text) {
                        // The error names the file, never the text.
                        tracing::warn!("transcript: {e}");
                        self.history = None;
                        let _ = self.tx.send(AppEvent::Saving(Err(Arc::new(e))));
                    }
                }
            }
            Effect::SendFiles { id, paths } => self.send_files(id, paths),
            Effect::ReceiveFiles { id, channel } => self.receive_files(id, channel),
            Effect::DeclineFiles { channel, why } => {
                tokio::spawn(async move {
                    if let Ok(offer) = transfer::offer(&channel, Default::default()).await {
                        offer.decline(&why).await;
                    }
                    channel.close().await;
                });
            }
            Effect::AnswerOffer { id, accept } => {
                if let Some(a) = self.transfers.get_mut(&id).and_then(|r| r.answer.take()) {
                    let _ = a.send(accept);
                }
            }
            Effect::CancelTransfer { id } => {
                if let Some(r) = self.transfers.get_mut(&id) {
                    r.cancel.cancel("");
                    // An offer not answered yet is declined.
                    r.answer.take();
                }
            }
            Effect::Pair { channel, peer_fp } => {
                if let Some(link) = self.link() {
                    let secret = super::known::run_pairing(link, channel, peer_fp);
                    self.pair_secret = Some((peer_fp, secret));
                }
            }
            Effect::SavePeer {
                name,
                peer_fp,
                addr,
            } => {
                let secret = self
                    .pair_secret
                    .as_ref()
                    .filter(|(fp, _)| *fp == peer_fp)
                    .map(|(_, s)| s.clone());
                super::known::save(self.link(), secret, name, peer_fp, addr, self.tx.clone());
            }
            Effect::ConnectKnown {
                pairing,
                name,
                keep,
            } => {
                let vouch = self.vouch(keep);
                let (stx, making) = match &self.known {
                    Some(k) => {
                        let (stx, srx) = mpsc::unbounded_channel();
                        (
                            Some(srx),
                            k.connect(name, pairing, stx, self.tx.clone(), vouch),
                        )
                    }
                    None => (None, known_off()),
                };
                self.begin_with(pairing, stx, making);
            }
            Effect::AnswerKnown { ask, answer } => {
                use super::event::Reply;
                let Some(k) = &mut self.known else {
                    return false;
                };
                match answer {
                    Reply::Decline => k.refuse(ask, crate::known::discovery::Answer::Decline),
                    Reply::Busy => k.refuse(ask, crate::known::discovery::Answer::Busy),
                    Reply::Accept { pairing, keep } => {
                        let vouch = self.vouch(keep);
                        let Some(k) = &mut self.known else {
                            return false;
                        };
                        let (stx, srx) = mpsc::unbounded_channel();
                        let making = k.accept(ask, stx, vouch);
                        self.begin_with(pairing, Some(srx), making);
                    }
                }
            }
            Effect::Quit => return true,
        }
        false
    }

    /// A reconnect that keeps the chat: once the peer's answer is in, the delivery state
    /// hears that the next pairing is with the same app (its certificate is fresh).
    /// Any other pairing takes back a vouch whose reconnect failed after the answer.
    fn vouch(&self, keep: bool) -> Option<Box<dyn FnOnce() + Send>> {
        let d = self.delivery.clone()?;
        if !keep {
            crate::chat::delivery::lock(&d).unvouch();
            return None;
        }
        Some(Box::new(move || {
            crate::chat::delivery::lock(&d).vouch_same_app();
        }))
    }

    /// A known-peer session: `making` gives the link (its events on `events`), then it is
    /// served as any; if it fails, the app hears why in one line.
    fn begin_with(
        &mut self,
        pairing: u64,
        events: Option<UnboundedReceiver<crate::rtc::SessionEvent>>,
        making: super::known::Making,
    ) {
        self.close();
        let (ctx, crx) = mpsc::unbounded_channel();
        self.cmds = Some(ctx);
        let tx = self.tx.clone();
        let slot = self.link.clone();
        self.task = Some(tokio::spawn(async move {
            let forward = events.map(|mut srx| {
                let tx = tx.clone();
                tokio::spawn(async move {
                    while let Some(event) = srx.recv().await {
                        if tx.send(AppEvent::Session { pairing, event }).is_err() {
                            break;
                        }
                    }
                })
            });
            match making.await {
                Ok(link) => {
                    *slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(link.clone());
                    serve(link, crx, tx, pairing, None).await;
                }
                Err(why) => {
                    let _ = tx.send(AppEvent::KnownFailed { pairing, why });
                }
            }
            if let Some(f) = forward {
                let _ = f.await;
            }
        }));
    }

    fn link(&self) -> Option<Arc<dyn Link>> {
        self.link.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn send_files(&mut self, id: u64, paths: Vec<PathBuf>) {
        let tx = self.tx.clone();
        let Some(link) = self.link() else {
            let event = TransferEvent::Failed(Arc::new(TransferError::NotConnected));
            let _ = tx.send(AppEvent::Transfer { id, event });
            return;
        };
        let (cancel, signal) = transfer::cancel_pair();
        let (ptx, prx) = mpsc::channel(16);
        let opts = transfer::Options {
            progress: Some(ptx),
            cancel: signal,
        };
        // Opened here, in the order the user sent them.
        let open = link.open_channel(transfer::proto::LABEL);
        let task = tokio::spawn(async move {
            let run = async move {
                let ch = open.await.map_err(transfer::channel_error)?;
                let wire = transfer::BulkWire::sending(ch.clone());
                let r = transfer::send(&wire, &paths, opts).await;
                drop(wire);
                // The outcome is known; the goodbye need not hold it up.
                tokio::spawn(async move { ch.close().await });
                r
            };
            let (r, ()) = tokio::join!(run, forward(id, prx, tx.clone()));
            let event = match r {
                Ok(rep) => TransferEvent::Sent(rep),
                Err(why) => TransferEvent::Failed(Arc::new(why)),
            };
            let _ = tx.send(AppEvent::Transfer { id, event });
        });
        self.track(id, cancel, None, task);
    }

    /// Receive in two steps: the offer goes to the app as a question, and the user's
    /// answer (the one channel `Running::answer`) is awaited by the transfer itself, which
    /// meanwhile still hears the peer's cancel.
    fn receive_files(&mut self, id: u64, channel: Channel) {
        let tx = self.tx.clone();
        // Without a folder the app declines every offer: nothing is written.
        let dir = self.receive_dir.clone().unwrap_or_default();
        let (cancel, signal) = transfer::cancel_pair();
        let (ptx, prx) = mpsc::channel(16);
        let opts = transfer::Options {
            progress: Some(ptx),
            cancel: signal,
        };
        let (answer_tx, answer_rx) = oneshot::channel::<bool>();
        let task = tokio::spawn(async move {
            let offer_tx = tx.clone();
            let run = async move {
                let wire = transfer::BulkWire::receiving(channel.clone());
                let receive = async {
                    let offer = transfer::offer(&wire, opts).await?;
                    let _ = offer_tx.send(AppEvent::Transfer {
                        id,
                        event: TransferEvent::Offer(offer.summary().clone()),
                    });
                    let answer = async move {
                        match answer_rx.await {
                            Ok(true) => Answer::Accept(dir),
                            // no reason: the sender says "the other side declined"
                            _ => Answer::Decline(String::new()),
                        }
                    };
                    offer.answer(answer).await
                };
                let r = receive.await;
                tokio::spawn(async move { channel.close().await });
                r
            };
            let (r, ()) = tokio::join!(run, forward(id, prx, tx.clone()));
            let event = match r {
                Ok(rep) => TransferEvent::Received(rep),
                Err(why) => TransferEvent::Failed(Arc::new(why)),
            };
            let _ = tx.send(AppEvent::Transfer { id, event });
        });
        self.track(id, cancel, Some(answer_tx), task);
    }

    fn track(
        &mut self,
        id: u64,
        cancel: CancelHandle,
        answer: Option<oneshot::Sender<bool>>,
        task: JoinHandle<()>,
    ) {
        self.transfers.retain(|_, r| !r.task.is_finished());
        self.transfers.insert(
            id,
            Running {
                cancel,
                answer,
                task,
            },
        );
    }

    fn save_start(&mut self) {
        let Some(dir) = &self.history_dir else {
            return;
        };
        let made = crate::chat::History::open(dir, std::time::SystemTime::now());
        let event = match made {
            Ok(h) => {
                self.saved.push(h.saved_line());
                let path = h.path().to_path_buf();
                self.history = Some(h);
                Ok(path)
            }
            Err(e) => {
                self.history = None;
                Err(Arc::new(e))
            }
        };
        let _ = self.tx.send(AppEvent::Saving(event));
    }

    fn write(&mut self, bytes: &str) {
        let _ = self.term.write_all(bytes.as_bytes());
        let _ = self.term.flush();
    }

    fn command(&mut self, c: Cmd) {
        if let Some(cmds) = &self.cmds {
            let _ = cmds.send(c);
        }
    }

    fn begin(&mut self, pairing: u64, offer: Option<SessionDescription>) {
        self.close();
        // A code pairing: no known peer vouches for it (a reconnect that failed did).
        if let Some(d) = &self.delivery {
            crate::chat::delivery::lock(d).unvouch();
        }
        let (stx, mut srx) = mpsc::unbounded_channel();
        let (ctx, crx) = mpsc::unbounded_channel();
        self.cmds = Some(ctx);
        let tx = self.tx.clone();
        let slot = self.link.clone();
        let connector = self.connector.clone();
        let forward_tx = tx.clone();
        let direct = self.direct;
        self.task = Some(tokio::spawn(async move {
            let forward = tokio::spawn(async move {
                while let Some(event) = srx.recv().await {
                    if forward_tx
                        .send(AppEvent::Session { pairing, event })
                        .is_err()
                    {
                        break;
                    }
                }
            });
            let made = match &offer {
                None => connector.offer(stx).await,
                Some(o) => connector.answer(o.clone(), stx).await,
            };
            match made {
                Ok(link) => {
                    *slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(link.clone());
                    let mine = link.local_description();
                    // One scan, the starter: listen at my candidates; the code says so.
                    let listener = match (&offer, direct) {
                        (None, true) => match direct::listen_for_answer(&mine).await {
                            Ok(l) => Some(l),
                            Err(e) => {
                                tracing::info!("not listening for a direct answer: {e}");
                                None
                            }
                        },
                        _ => None,
                    };
                    let desc = match &listener {
                        Some(_) => SessionDescription {
                            kind: mine.kind,
                            sdp: signal::mark_direct(&mine.sdp),
                        },
                        None => mine.clone(),
                    };
                    let _ = tx.send(AppEvent::Local { pairing, desc });
                    // One scan, the joiner: hand my answer over, behind the app's wait.
                    let delivery = match &offer {
                        Some(o) if direct && signal::accepts_direct(&o.sdp) => {
                            let (o, tx) = (o.clone(), tx.clone());
                            Some(tokio::spawn(async move {
                                let code = match signal::encode(&mine, signal::Format::Auto) {
                                    Ok(c) => c,
                                    Err(e) => {
                                        let outcome = Delivery::Failed(e.to_string());
                                        let _ = tx.send(AppEvent::Delivered { pairing, outcome });
                                        return;
                                    }
                                };
                                let outcome =
                                    direct::deliver_answer(&o, &mine, &code, DELIVERY_TIME).await;
                                let _ = tx.send(AppEvent::Delivered { pairing, outcome });
                            }))
                        }
                        _ => None,
                    };
                    serve(link, crx, tx, pairing, listener).await;
                    if let Some(d) = delivery {
                        d.abort();
                    }
                }
                Err(error) => {
                    let _ = tx.send(AppEvent::SessionError {
                        pairing,
                        error: Arc::new(error),
                    });
                }
            }
            let _ = forward.await;
        }));
    }

    fn close(&mut self) {
        self.cmds = None;
        // The session's transfers end with it (partial files stay for a resume).
        for (_, r) in self.transfers.drain() {
            r.task.abort();
        }
        if let Some(t) = self.task.take() {
            t.abort();
        }
        if let Some(link) = self.link.lock().unwrap_or_else(|e| e.into_inner()).take() {
            self.closing.push(tokio::spawn(async move {
                link.close().await;
            }));
        }
        self.closing.retain(|t| !t.is_finished());
    }

    fn open_camera(&mut self) {
        if let Some(stop) = self.camera_stop.take() {
            stop.store(true, Ordering::SeqCst);
        }
        let stop = Arc::new(AtomicBool::new(false));
        self.camera_stop = Some(stop.clone());
        let spec = self.camera.clone();
        let tx = self.tx.clone();
        super::camera::spawn(spec, stop, tx);
    }

    /// Stop the camera and close the session, waiting a little for the goodbye to go out.
    pub async fn shutdown(&mut self) {
        self.execute(Effect::StopCamera);
        self.close();
        for t in self.closing.drain(..) {
            let _ = tokio::time::timeout(Duration::from_secs(1), t).await;
        }
    }
}

/// Known peers without the lasting identity.
fn known_off() -> super::known::Making {
    Box::pin(async {
        Err("known peers need the lasting identity (this app runs with --ephemeral)".to_string())
    })
}

/// Progress reports of transfer `id` as app events, until the transfer drops its sender.
async fn forward(id: u64, mut progress: mpsc::Receiver<Progress>, tx: UnboundedSender<AppEvent>) {
    while let Some(p) = progress.recv().await {
        let _ = tx.send(AppEvent::Transfer {
            id,
            event: TransferEvent::Progress(p),
        });
    }
}

/// Text for inside an OSC: no control characters (which would end or break it).
fn one_line(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).collect()
}

async fn serve(
    link: Arc<dyn Link>,
    mut cmds: UnboundedReceiver<Cmd>,
    tx: UnboundedSender<AppEvent>,
    pairing: u64,
    mut listener: Option<direct::Listener<SessionDescription>>,
) {
    loop {
        let delivered = async {
            match &mut listener {
                Some(l) => l.won().await,
                None => std::future::pending().await,
            }
        };
        let c = tokio::select! {
            c = cmds.recv() => match c {
                Some(c) => c,
                None => break,
            },
            answer = delivered => {
                // The code is used up: nothing listens any more.
                listener = None;
                match link.accept_answer(answer.clone()).await {
                    Ok(()) => {
                        let _ = tx.send(AppEvent::AnswerArrived { pairing, answer });
                    }
                    Err(error) => {
                        let _ = tx.send(AppEvent::SessionError {
                            pairing,
                            error: Arc::new(error),
                        });
                    }
                }
                continue;
            }
        };
        match c {
            // Scanned or pasted: the code is used up too.
            Cmd::Accept(d) => {
                listener = None;
                if let Err(error) = link.accept_answer(d).await {
                    let _ = tx.send(AppEvent::SessionError {
                        pairing,
                        error: Arc::new(error),
                    });
                }
            }
            // Reported for every message, in order: the app matches it to its line.
            Cmd::Send(t) => {
                let result = link.send(t).await.map_err(Arc::new);
                let _ = tx.send(AppEvent::Sent { pairing, result });
            }
        }
    }
}
