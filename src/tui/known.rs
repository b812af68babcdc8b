//! Known peers in the app.
//!
//! - `/save NAME` keeps the peer of the open chat (the pairwise secret is agreed on a
//!   `qrchat-pair` channel as soon as a chat with a qrchat peer opens; see `crate::known`).
//!   The runner's half is [`run_pairing`] and [`save`].
//! - The start screen lists the known peers that answer on this network now (a probe
//!   round every [`PROBE_EVERY`] while it shows: [`Side::presence`]); Enter on one asks it
//!   ([`Effect::ConnectKnown`], a [`Connector`](crate::known::discovery::Connector) behind).
//! - The app listens for known peers for its whole run ([`Side::listen`]): a request shows
//!   "bob wants to chat: Enter accept, Esc decline" where no chat is open (the start
//!   screen, a chat that ended, the screens of a re-pairing); in an open chat, or while
//!   another pairing is under way, the asker hears "bob is in another chat".
//! - A reconnect with the known peer of the chat that ended (Ctrl-R there, or accepting
//!   its request there) keeps the chat: the pairwise secret vouches that it is the same
//!   app (`Delivery::vouch_same_app`), so what it did not get is sent again, in order.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use futures::future::BoxFuture;
use tokio::sync::{mpsc::UnboundedSender, watch};
use tokio::task::JoinHandle;

use super::app::{App, Role, Screen, Who};
use super::event::{AppEvent, Effect};
pub use super::event::{Here, Reply};
use super::session::{Channel, Connector, Link, SessionEvent};
use crate::known::discovery::{self, Answer, Heard, OwnHellos, Request};
use crate::known::{self, pair, store, Store};
use crate::signal::{self, SdpKind};

/// How often the start screen looks for its known peers (a round lasts at most
/// `discovery::FIND_WAIT` for the peers that do not answer).
pub const PROBE_EVERY: Duration = Duration::from_secs(3);
/// Known peers looked for in one round (the first of the list).
const PROBE_AT_MOST: usize = 16;
/// How long "bob wants to chat" waits for an answer (the asker waits
/// `discovery::ACCEPT_WAIT`, a little longer).
pub const ASK_WAIT: Duration = Duration::from_secs(55);

/// A known peer asking to chat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ask {
    pub id: u64,
    pub peer: Here,
    /// App time when it is given up (answered busy).
    pub until: Duration,
}

/// What the app knows of its known peers now.
#[derive(Debug, Clone, Default)]
pub struct KnownState {
    /// Every known peer's name (none: the start screen says nothing of known peers).
    pub known: Vec<String>,
    /// The ones that answered on this network in the last round.
    pub here: Vec<Here>,
    /// A round has finished (before that, "looking").
    pub looked: bool,
    /// A known peer wants to chat.
    pub ask: Option<Ask>,
    /// The last attempt to reach one failed: why (shown on the start screen).
    pub failed: Option<String>,
    /// A quiet word for the start screen ("bob stopped asking").
    pub note: Option<String>,
}

/// A pairing with a known peer (on [`Pairing`](super::app::Pairing)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownPairing {
    pub peer: Here,
    /// It goes on with the chat that ended (the same app: resend what it did not get).
    pub keep: bool,
}

impl App {
    /// Whether the runner should look for known peers (the start screen shows).
    pub fn wants_presence(&self) -> bool {
        self.screen == Screen::Start && !self.quit
    }

    /// A probe round's result. The selection follows the peer it was on (Enter must never
    /// ask another one because the list changed under it); if that one is gone, it goes
    /// back to the first choice.
    pub(crate) fn on_known_peers(&mut self, known: Vec<String>, here: Vec<Here>) {
        let was = self.selected_peer().map(|p| p.name.clone());
        self.known.known = known;
        self.known.here = here;
        self.known.looked = true;
        if let Some(name) = was {
            let now = self.known.here.iter().position(|p| p.name == name);
            self.start_sel = now.map_or(0, |i| i + 2);
        }
    }

    /// The known peer the start screen's selection is on.
    fn selected_peer(&self) -> Option<&Here> {
        self.known.here.get(self.start_sel.checked_sub(2)?)
    }

    /// The start screen's choices: Start a chat, Join, then the known peers here.
    pub fn start_choices(&self) -> usize {
        2 + self.known.here.len()
    }

    /// ↑↓ on the start screen (wrapping).
    pub(crate) fn start_move(&mut self, down: bool) {
        let n = self.start_choices();
        let sel = self.start_sel.min(n - 1);
        self.start_sel = if down {
            (sel + 1) % n
        } else {
            (sel + n - 1) % n
        };
    }

    /// Enter on the start screen.
    pub(crate) fn start_go(&mut self) -> Vec<Effect> {
        match self.start_sel {
            0 => self.begin_start(),
            1 => self.begin_join(),
            _ => match self.selected_peer().cloned() {
                Some(peer) => self.connect_known(peer, false),
                None => {
                    self.start_sel = 0;
                    vec![]
                }
            },
        }
    }

    /// Ask the known peer `peer` to chat; `keep`: going on with the chat that ended.
    pub(crate) fn connect_known(&mut self, peer: Here, keep: bool) -> Vec<Effect> {
        self.known.failed = None;
        self.known.note = None;
        let mut fx = vec![Effect::StopCamera, Effect::Close];
        let draft = self.keep_chat(keep, &mut fx);
        self.fresh(Some(Role::Starter));
        if let Some(d) = draft {
            self.composer = d;
        }
        let name = peer.name.clone();
        self.pairing.known = Some(KnownPairing { peer, keep });
        self.screen = Screen::Connecting;
        self.pairing.conn.since = Some(self.now);
        self.pairing
            .conn
            .states
            .push(format!("looking for {name} on this network"));
        fx.push(Effect::ConnectKnown {
            pairing: self.pairing.id,
            name,
            keep,
        });
        fx
    }

    /// Before a pairing with a known peer: keep the chat (as Ctrl-R does: its pairing is
    /// kept for Esc, the draft comes back) or, when one with someone else is on screen,
    /// begin a new one. The draft to put back.
    fn keep_chat(&mut self, keep: bool, fx: &mut Vec<Effect>) -> Option<super::input::Input> {
        if keep {
            self.end_transfers();
            self.undelivered();
            if self.kept.is_none() {
                self.kept = Some(self.pairing.clone());
            }
            self.chat.scroll = None;
            self.chat.unseen = 0;
            return Some(self.composer.clone());
        }
        if !self.chat.lines.is_empty() {
            fx.push(Effect::NewChat);
            self.chat = super::app::Chat::default();
        }
        self.kept = None;
        None
    }

    /// The known peer of the chat that ended (on screen or kept by a re-pairing).
    fn ended_chat_peer(&self) -> Option<&str> {
        let p = match &self.kept {
            Some(k) => k,
            None if self.screen == Screen::Chat && self.pairing.peer.left.is_some() => {
                &self.pairing
            }
            None => return None,
        };
        p.known.as_ref().map(|k| k.peer.name.as_str())
    }

    /// Whether a known peer's request can be put to the user now: no chat is open and no
    /// other pairing is under way (the start screen, a chat that ended, a re-pairing's
    /// screens before a code was read).
    fn can_be_asked(&self) -> bool {
        self.known.ask.is_none() && self.askable()
    }

    /// No chat is open and no other pairing is under way.
    fn askable(&self) -> bool {
        if self.quit {
            return false;
        }
        match self.screen {
            Screen::Start => true,
            Screen::Chat => self.pairing.peer.left.is_some(),
            Screen::MyCode | Screen::Scan | Screen::Paste => self.kept.is_some(),
            Screen::Connecting => false,
        }
    }

    pub(crate) fn on_known_ask(&mut self, id: u64, peer: Here) -> Vec<Effect> {
        if !self.can_be_asked() {
            return vec![Effect::AnswerKnown {
                ask: id,
                answer: Reply::Busy,
            }];
        }
        self.known.note = None;
        self.known.ask = Some(Ask {
            id,
            peer,
            until: self.now + ASK_WAIT,
        });
        if self.opts.quiet {
            vec![]
        } else {
            vec![Effect::Bell]
        }
    }

    /// Enter and Esc while a known peer asks (before any screen's keys).
    pub(crate) fn known_key(&mut self, key: &KeyEvent) -> Option<Vec<Effect>> {
        if self.known.ask.is_none() || self.help.is_some() {
            return None;
        }
        if key.modifiers & (KeyModifiers::CONTROL | KeyModifiers::ALT) != KeyModifiers::NONE {
            return None;
        }
        match key.code {
            KeyCode::Enter => Some(self.accept_known()),
            KeyCode::Esc => {
                let ask = self.known.ask.take()?;
                Some(vec![Effect::AnswerKnown {
                    ask: ask.id,
                    answer: Reply::Decline,
                }])
            }
            _ => None,
        }
    }

    fn accept_known(&mut self) -> Vec<Effect> {
        let Some(ask) = self.known.ask.take() else {
            return vec![];
        };
        let keep = self.ended_chat_peer() == Some(ask.peer.name.as_str());
        let mut fx = vec![Effect::StopCamera, Effect::Close];
        let draft = self.keep_chat(keep, &mut fx);
        self.fresh(Some(Role::Joiner));
        if let Some(d) = draft {
            self.composer = d;
        }
        let name = ask.peer.name.clone();
        self.pairing.known = Some(KnownPairing {
            peer: ask.peer,
            keep,
        });
        self.screen = Screen::Connecting;
        self.pairing.conn.since = Some(self.now);
        self.pairing
            .conn
            .states
            .push(format!("accepted {name}: answering"));
        fx.push(Effect::AnswerKnown {
            ask: ask.id,
            answer: Reply::Accept {
                pairing: self.pairing.id,
                keep,
            },
        });
        fx
    }

    pub(crate) fn on_known_step(&mut self, step: String) {
        let states = &mut self.pairing.conn.states;
        if states.last() != Some(&step) {
            states.push(step);
        }
    }

    /// Reaching (or answering) the known peer failed: back where the user came from, with
    /// the reason as one line.
    pub(crate) fn on_known_failed(&mut self, why: String) -> Vec<Effect> {
        let why = crate::chat::sanitize(&why);
        if self.pairing.known.is_none() || self.screen != Screen::Connecting {
            return vec![];
        }
        if self.kept.is_some() {
            let fx = self.leave_pairing();
            self.push_line(Who::Warn, why);
            return fx;
        }
        self.fresh(None);
        self.known.note = None;
        self.known.failed = Some(why);
        vec![Effect::Close]
    }

    /// The asker of request `ask` gave up: the prompt goes, and one quiet line says so
    /// (on the start screen, or in the chat that ended). No bell, nothing to answer.
    pub(crate) fn on_known_withdrawn(&mut self, ask: u64) {
        let Some(a) = self.known.ask.take_if(|a| a.id == ask) else {
            return;
        };
        let line = format!("{} stopped asking", a.peer.name);
        if self.screen == Screen::Start {
            self.known.note = Some(line);
        } else {
            self.push_line(Who::Info, line);
        }
    }

    /// The request expired, or the app moved on (into a chat) while it was shown.
    pub(crate) fn known_tick(&mut self) -> Vec<Effect> {
        let (now, askable) = (self.now, self.askable());
        match self.known.ask.take_if(|a| now >= a.until || !askable) {
            Some(a) => vec![Effect::AnswerKnown {
                ask: a.id,
                answer: Reply::Busy,
            }],
            None => vec![],
        }
    }

    /// A chat with a known peer opened: its name, when we paired, the saved safety number;
    /// and with the app of the chat that ended, what it did not get goes again. False when
    /// the pairing is not with a known peer.
    pub(crate) fn known_opened(&mut self, route: crate::rtc::Route) -> bool {
        let Some(k) = self.pairing.known.clone() else {
            return false;
        };
        let Here {
            name,
            paired_on,
            sas,
        } = k.peer;
        self.push_line(
            Who::Info,
            format!(
                "connected to {name} (paired by sight on {paired_on}), {route}; safety number                  {sas} (saved when you paired)"
            ),
        );
        if k.keep && self.pairing.peer_qrchat == Some(true) {
            self.push_line(
                Who::Info,
                format!(
                    "{name} again, the same app (its pairing secret vouches for it): this chat                      goes on, and what did not reach it is sent again"
                ),
            );
            self.resending();
        }
        self.pairing.peer.sas = Some(sas);
        self.pairing.peer.name = Some(name);
        // A certificate for this session only: a later code pairing cannot compare it.
        self.last_peer = None;
        true
    }

    /// Ctrl-R in a chat with a known peer that ended: ask it again, keeping the chat.
    pub(crate) fn reconnect_known(&mut self) -> Option<Vec<Effect>> {
        let peer = self.pairing.known.as_ref()?.peer.clone();
        let name = peer.name.clone();
        let fx = self.connect_known(peer, true);
        self.push_line(Who::Info, format!("asking {name} again: this chat is kept"));
        Some(fx)
    }
}

/// The prompt's keys, for the help and the man page (they come before any screen's).
pub const PROMPT_KEYS: &[(&str, &str)] = &[
    (
        "Enter",
        "accept: the chat opens (after a chat with it ended, that chat goes on)",
    ),
    (
        "Esc",
        "decline: the other side sees \"bob declined\"; unanswered, it goes after 55 s, or at once \
         when bob stops asking",
    ),
];

/// The prompt line while a known peer asks.
pub fn prompt(app: &App) -> Option<String> {
    let a = app.known.ask.as_ref()?;
    Some(format!(
        "{} wants to chat: Enter accept, Esc decline",
        a.peer.name
    ))
}

/// The secret being agreed for the chat under way: None while it is, then the outcome.
pub type Secret = watch::Receiver<Option<Result<[u8; 32], String>>>;

impl App {
    /// `/save NAME`
    pub(crate) fn save_peer(&mut self, name: &str) -> Vec<Effect> {
        if let Some(k) = &self.pairing.known {
            let line = format!(
                "{} is a known peer already (paired by sight on {}); `qrchat forget {}` \
                 removes it",
                k.peer.name, k.peer.paired_on, k.peer.name
            );
            self.push_line(Who::Info, line);
            return vec![];
        }
        let name = match store::check_name(name) {
            Ok(n) => n,
            Err(e) => {
                self.push_line(Who::Warn, format!("/save NAME: {e}"));
                return vec![];
            }
        };
        let open =
            self.pairing.peer.link.is_some_and(|l| {
                l.is_open() || matches!(l, crate::rtc::LinkState::Interrupted { .. })
            });
        let (Some(peer_fp), Some(sas), true) =
            (self.pairing.peer_fp, self.pairing.peer.sas.clone(), open)
        else {
            self.push_line(
                Who::Warn,
                "/save works in an open chat: the peer to keep is the one you are talking to"
                    .into(),
            );
            return vec![];
        };
        if self.pairing.peer_qrchat != Some(true) {
            self.push_line(
                Who::Warn,
                "only a qrchat app can be kept as a known peer (this one is a browser page)".into(),
            );
            return vec![];
        }
        self.push_line(
            Who::Info,
            format!(
                "keeping the other side as {name}: what you trust is the safety number {sas} \
                 (the same on both screens means nobody is in the middle)"
            ),
        );
        vec![Effect::SavePeer {
            name,
            peer_fp,
            addr: self.pairing.remote.clone(),
        }]
    }
}

/// Agree the secret on `channel` (or one opened on `link`); the outcome goes to the
/// returned receiver. The channel stays open until the session ends (as headless does).
pub fn run_pairing(link: Arc<dyn Link>, channel: Option<Channel>, peer_fp: [u8; 32]) -> Secret {
    let (tx, rx) = watch::channel(None);
    let my_fp = crate::signal::fingerprint_of(&link.local_description().sdp).unwrap_or([0; 32]);
    let open = channel.is_none().then(|| link.open_channel(pair::LABEL));
    tokio::spawn(async move {
        let ch = match (channel, open) {
            (Some(ch), _) => Ok(ch),
            (None, Some(open)) => open.await.map_err(|e| e.to_string()),
            (None, None) => Err("no channel".to_string()),
        };
        let r = match ch {
            Ok(ch) => pair::exchange(&ch, &my_fp, &peer_fp)
                .await
                .map_err(|e| e.to_string()),
            Err(e) => Err(e),
        };
        let _ = tx.send(Some(r));
    });
    rx
}

/// `/save NAME`: wait for the secret (bounded), then keep the peer; say how it went.
pub fn save(
    link: Option<Arc<dyn Link>>,
    secret: Option<Secret>,
    name: String,
    peer_fp: [u8; 32],
    addr: Option<String>,
    tx: UnboundedSender<AppEvent>,
) {
    tokio::spawn(async move {
        let r = async {
            let link = link.ok_or("the link is gone: nothing was saved")?;
            let mut secret = secret.ok_or(
                "no pairing secret was agreed with this peer (an older qrchat?): nothing was saved",
            )?;
            let got = tokio::time::timeout(pair::TIMEOUT, secret.wait_for(|s| s.is_some()))
                .await
                .map_err(|_| "the pairing secret did not come: nothing was saved".to_string())?
                .map_err(|_| "the link is gone: nothing was saved".to_string())?
                .clone();
            let secret = got
                .unwrap_or_else(|| Err("no pairing secret".into()))
                .map_err(|e| format!("no pairing secret ({e}): nothing was saved"))?;
            let my_fp = crate::signal::fingerprint_of(&link.local_description().sdp)
                .ok_or("no fingerprint of my own")?;
            let dir = known::data_dir().map_err(|e| e.to_string())?;
            // Only the lasting identity can be found again: not a --ephemeral run's.
            let lasting = known::load_or_create_identity(&dir).map_err(|e| e.to_string())?;
            if lasting.fingerprint() != my_fp {
                return Err(
                    "this app runs with --ephemeral (a certificate for this run only), \
                            so the peer could never find it again: nothing was saved"
                        .to_string(),
                );
            }
            let ip = addr
                .as_deref()
                .and_then(|r| r.split_whitespace().next())
                .and_then(|r| r.parse::<std::net::SocketAddr>().ok())
                .map(|a| a.ip());
            let peer = known::KnownPeer::paired_now(name.clone(), peer_fp, my_fp, secret, ip);
            let sas = peer.safety_number();
            let notes = store::remember(&dir, peer).map_err(|e| e.to_string())?;
            let mut line = format!(
                "saved as {name} (safety number {sas}): `qrchat connect {name}` finds it again on \
                 this network when it listens"
            );
            for n in notes {
                line.push_str("; ");
                line.push_str(&n);
            }
            Ok::<String, String>(line)
        }
        .await
        .map_err(|e: String| e);
        let _ = tx.send(AppEvent::PeerSaved(r));
    });
}

/// The runner's known-peer half: the listener (for the app's whole run, once there are
/// known peers), the start screen's probe rounds, and the requests waiting for the user.
pub struct Side {
    dir: PathBuf,
    /// The lasting identity's fingerprint (what the peers saved).
    my_fp: [u8; 32],
    port: u16,
    bind: Vec<String>,
    /// Sessions with a fresh certificate each (nothing stable on the wire).
    connector: Arc<dyn Connector>,
    own: OwnHellos,
    requests: Arc<Mutex<HashMap<u64, Request>>>,
    listener: Option<JoinHandle<()>>,
    probe: Option<JoinHandle<()>>,
}

impl Drop for Side {
    fn drop(&mut self) {
        for t in [self.listener.take(), self.probe.take()]
            .into_iter()
            .flatten()
        {
            t.abort();
        }
    }
}

/// What a known-peer session is made by: a future giving the link, or why not (one line).
pub type Making = BoxFuture<'static, Result<Arc<dyn Link>, String>>;

impl Side {
    /// `connector` must make sessions with a fresh certificate (no lasting identity).
    pub fn new(
        dir: PathBuf,
        my_fp: [u8; 32],
        port: u16,
        bind: Vec<String>,
        connector: Arc<dyn Connector>,
    ) -> Side {
        Side {
            dir,
            my_fp,
            port,
            bind,
            connector,
            own: Default::default(),
            requests: Default::default(),
            listener: None,
            probe: None,
        }
    }

    /// Listen for known peers, if there are any and nothing listens yet (tried again each
    /// time the start screen shows, so a peer saved meanwhile counts). The port may be
    /// another qrchat's on this computer: then this one does not listen (the log says so).
    pub fn listen(&mut self, tx: &UnboundedSender<AppEvent>) {
        if self.listener.as_ref().is_some_and(|t| !t.is_finished()) {
            return;
        }
        if Store::load(&self.dir).map_or(true, |s| s.peers.is_empty()) {
            return;
        }
        let (dir, fp, port, own) = (self.dir.clone(), self.my_fp, self.port, self.own.clone());
        let (requests, tx) = (self.requests.clone(), tx.clone());
        self.listener = Some(tokio::spawn(async move {
            let mut l = match discovery::Listener::bind_beside(dir, fp, port, Some(own)).await {
                Ok(l) => l,
                Err(e) => {
                    tracing::info!("known peers: not listening on UDP port {port}: {e}");
                    return;
                }
            };
            tracing::info!("known peers: listening on UDP port {port}");
            let mut next = 0u64;
            while let Some(e) = l.next_event().await {
                match e {
                    Ok(req) => {
                        next += 1;
                        req.asking();
                        let peer = Here::of(&req.peer);
                        requests
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .insert(next, req);
                        if tx.send(AppEvent::KnownAsk { ask: next, peer }).is_err() {
                            break;
                        }
                    }
                    Err(Heard::NotTheSavedIdentity { name, .. }) => {
                        tracing::info!("known peers: refused a request with {name}'s secret and another identity");
                    }
                    Err(Heard::Withdrawn { id }) => {
                        let gone = {
                            let mut r = requests.lock().unwrap_or_else(|e| e.into_inner());
                            let ask = r.iter().find(|(_, q)| q.id() == id).map(|(a, _)| *a);
                            ask.and_then(|a| r.remove(&a).map(|q| (a, q)))
                        };
                        // Not there: answered meanwhile (the answer stands).
                        if let Some((ask, req)) = gone {
                            req.withdrawn();
                            if tx.send(AppEvent::KnownWithdrawn { ask }).is_err() {
                                break;
                            }
                        }
                    }
                }
            }
        }));
    }

    /// Look for the known peers (rounds every [`PROBE_EVERY`]) while `on`.
    pub fn presence(&mut self, on: bool, tx: &UnboundedSender<AppEvent>) {
        if !on {
            if let Some(t) = self.probe.take() {
                t.abort();
            }
            return;
        }
        if self.probe.as_ref().is_some_and(|t| !t.is_finished()) {
            return;
        }
        // Each time the start screen comes back: a peer saved meanwhile makes it listen.
        self.listen(tx);
        let (dir, port, bind, own) = (
            self.dir.clone(),
            self.port,
            self.bind.clone(),
            self.own.clone(),
        );
        let tx = tx.clone();
        self.probe = Some(tokio::spawn(async move {
            loop {
                let peers = Store::load(&dir).map(|s| s.peers).unwrap_or_default();
                let known = peers.iter().map(|p| p.name.clone()).collect();
                let rounds = peers.iter().take(PROBE_AT_MOST).map(|p| {
                    let (bind, own) = (&bind, &own);
                    async move {
                        discovery::Connector::probe(p, port, bind, own)
                            .await
                            .then(|| Here::of(p))
                    }
                });
                let here = futures::future::join_all(rounds)
                    .await
                    .into_iter()
                    .flatten()
                    .collect();
                if tx.send(AppEvent::KnownPeers { known, here }).is_err() {
                    return;
                }
                tokio::time::sleep(PROBE_EVERY).await;
            }
        }));
    }

    /// The user declined request `ask`, or the app is busy.
    pub fn refuse(&mut self, ask: u64, answer: Answer) {
        if let Some(r) = self.take(ask) {
            r.answer(answer);
        }
    }

    fn take(&mut self, ask: u64) -> Option<Request> {
        self.requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&ask)
    }

    /// Ask the known peer `name` (found on this network) to chat: the link once it
    /// accepted. `vouch` runs once its answer is in (the same app: resend).
    pub fn connect(
        &self,
        name: String,
        pairing: u64,
        events: UnboundedSender<SessionEvent>,
        tx: UnboundedSender<AppEvent>,
        vouch: Option<Box<dyn FnOnce() + Send>>,
    ) -> Making {
        let (dir, my_fp, port, bind, own) = (
            self.dir.clone(),
            self.my_fp,
            self.port,
            self.bind.clone(),
            self.own.clone(),
        );
        let connector = self.connector.clone();
        Box::pin(async move {
            let step = |s: String| {
                let _ = tx.send(AppEvent::KnownStep { pairing, step: s });
            };
            let peer = Store::load(&dir)
                .map_err(|e| e.to_string())?
                .find(&name)
                .map_err(|e| e.to_string())?
                .clone();
            if peer.my_fingerprint != my_fp {
                return Err(format!(
                    "this app's identity changed since it paired with {name} (the data folder \
                     was reset?): pair by code again"
                ));
            }
            let (found, link) = tokio::join!(
                discovery::Connector::find_beside(&peer, port, &bind, Some(&own)),
                connector.offer(events)
            );
            let mut conn = found.map_err(|e| e.to_string())?;
            let link = link.map_err(|e| format!("could not make an offer: {e}"))?;
            let mine = link.local_description();
            let code = signal::encode(&mine, signal::Format::Auto)
                .map_err(|e| format!("cannot encode my offer: {e}"))?;
            let at = conn.peer_addr().map(|a| a.ip());
            step(match at {
                Some(a) => format!("found {name} at {a}; asking {name}"),
                None => format!("found {name}; asking {name}"),
            });
            let answer = conn
                .offer(my_fp, &code, || {
                    step(format!("waiting for {name} to accept"))
                })
                .await
                .map_err(|e| e.to_string())?;
            let answer = signal::decode_expecting(&answer, SdpKind::Answer, Some(&mine))
                .map_err(|e| format!("{name}'s answer cannot be used: {e}"))?;
            drop(conn);
            if let Some(v) = vouch {
                v();
            }
            link.accept_answer(answer.desc)
                .await
                .map_err(|e| format!("{name}'s answer was refused: {e}"))?;
            let _ = store::seen(&dir, &peer.fingerprint, at);
            step(format!("{name} accepted"));
            Ok(link)
        })
    }

    /// Answer request `ask` (the user accepted): the link, once the answer is handed over.
    pub fn accept(
        &mut self,
        ask: u64,
        events: UnboundedSender<SessionEvent>,
        vouch: Option<Box<dyn FnOnce() + Send>>,
    ) -> Making {
        let req = self.take(ask);
        let (dir, connector) = (self.dir.clone(), self.connector.clone());
        Box::pin(async move {
            let req = req.ok_or("the request is gone (it waited too long)")?;
            let name = req.peer.name.clone();
            // The user accepted: whatever stops the chat now, the asker hears that this
            // app could not start it (not that the user is busy or said no).
            let offer = match signal::decode_expecting(&req.offer_code, SdpKind::Offer, None) {
                Ok(o) => o,
                Err(e) => {
                    req.answer(Answer::Failed);
                    return Err(format!("{name}'s offer cannot be used: {e}"));
                }
            };
            let link = match connector.answer(offer.desc, events).await {
                Ok(l) => l,
                Err(e) => {
                    req.answer(Answer::Failed);
                    return Err(format!("could not answer {name}: {e}"));
                }
            };
            let code = match signal::encode(&link.local_description(), signal::Format::Auto) {
                Ok(c) => c,
                Err(e) => {
                    req.answer(Answer::Failed);
                    return Err(format!("cannot encode my answer: {e}"));
                }
            };
            let (fp, from) = (req.peer.fingerprint, req.from.ip());
            if let Some(v) = vouch {
                v();
            }
            req.answer(Answer::Accept(code));
            let _ = store::seen(&dir, &fp, Some(from));
            Ok(link)
        })
    }
}
