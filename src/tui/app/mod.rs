//! The app's state and `update(event) -> effects`. No I/O here: the runner turns effects
//! into work and work into events, and `ui::draw` paints the state.
//!
//! Everything that belongs to one pairing (role, codes, scan and paste state, the link)
//! lives in [`Pairing`] (`pairing.rs`); a new pairing replaces it whole. The [`Chat`]
//! (`chat.rs`: lines, delivery state, transfers, transcript) outlives it: re-pairing is a
//! new `Pairing` with the same `Chat`. What outlives both (the screen, the composer and its
//! history, focus and unread count) is on [`App`]. `session.rs` takes the session's
//! events, `flow.rs` moves between screens and pairings.

mod chat;
mod flow;
mod pairing;
mod session;

use std::path::PathBuf;
use std::time::Duration;

use crossterm::event::{KeyEvent, KeyEventKind};

use super::event::{AppEvent, Effect, Notifier};
use super::input::Input;
use super::keys;
use super::screens;
use crate::signal::SdpKind;
pub use chat::{Chat, ChatLine, Delivery, Who};
pub use pairing::{ConnState, LocalCode, LocalError, Pairing, PasteState, PeerState, ScanState};

/// An interrupted link is "not responding" after this long (rtc keeps trying until its
/// peer timeout).
pub const NOT_RESPONDING: Duration = Duration::from_secs(5);
/// How many chat lines are kept.
pub const SCROLLBACK: usize = 10_000;
/// How long the scan frame stays green before moving on.
pub const FOUND_PAUSE: Duration = Duration::from_millis(600);
/// How long a question about leaving an unsaved chat waits for the same key again.
pub const ASK_AGAIN: Duration = Duration::from_secs(10);
/// The window title; with unread messages, "(N) qrchat".
pub const TITLE: &str = "qrchat";
/// One scan: how long the joiner shows "handing my answer to the other side…" before its
/// answer's QR, when no acknowledgement came (a LAN delivery takes milliseconds).
pub const HAND_OVER_WAIT: Duration = Duration::from_millis(1500);

/// Who makes the offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Makes the offer, then reads the answer.
    Starter,
    /// Reads the offer, then shows the answer.
    Joiner,
}

/// What leaving a chat that is not saved would do (asked once).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leaving {
    /// Quit the app.
    Quit,
    /// Esc from a chat that is over: a new pairing, a new chat.
    Chat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    Start,
    MyCode,
    Scan,
    Paste,
    Connecting,
    Chat,
}

/// Options the app starts with.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub start: bool,
    pub join: bool,
    /// `qrchat join CODE`: their offer, to join with at once (no scan, no paste).
    pub code: Option<String>,
    /// `--json`: codes in browser JSON.
    pub json: bool,
    pub size: (u16, u16),
    /// The wall clock at `now == 0`: timestamps in the local time zone. None (tests): the
    /// time of day is `clock_origin` seconds, fixed.
    pub started_at: Option<std::time::SystemTime>,
    /// Seconds since midnight at `now == 0` when there is no `started_at`.
    pub clock_origin: u64,
    /// `--history DIR`: each chat is saved as a transcript.
    pub history: bool,
    /// Extra `--stun` servers configured (shown in hints).
    pub stun: bool,
    /// `--turn` servers configured (shown in hints).
    pub turn: bool,
    /// `--peer-timeout`: how long an interrupted link is given before the chat ends (the
    /// status bar counts it down). Zero: not known (tests), no countdown.
    pub peer_timeout: Duration,
    /// `--quiet`: no bell or notification for messages that arrive unseen.
    pub quiet: bool,
    /// How to notify (see [`Notifier::detect`]).
    pub notifier: Notifier,
    /// Running inside tmux (which drops OSC 52 unless `set-clipboard on`).
    pub in_tmux: bool,
    /// Where accepted files go (`--receive DIR`, else the download folder's `qrchat/`);
    /// None: nowhere known, offers are declined.
    pub receive_dir: Option<PathBuf>,
    /// The home directory (`~` in `/send` paths) and the directory relative paths start
    /// from.
    pub home: Option<PathBuf>,
    pub cwd: Option<PathBuf>,
    /// One scan (unless `--no-direct` or `--json`): the joiner's answer is handed over
    /// directly and its QR waits [`HAND_OVER_WAIT`] for the acknowledgement.
    pub direct: bool,
}

#[derive(Debug, Clone)]
pub struct App {
    pub screen: Screen,
    /// The help box is open, scrolled this many lines down.
    pub help: Option<usize>,
    pub size: (u16, u16),
    pub now: Duration,
    pub opts: Options,
    pub start_sel: usize,
    pub notice: Option<(String, Duration)>,
    pub pairing: Pairing,
    /// The chat: it outlives a pairing (see [`App::repair`]).
    pub chat: Chat,
    /// The chat's composer; its history outlives pairings.
    pub composer: Input,
    /// The terminal has focus (as far as focus events tell).
    pub focused: bool,
    /// Messages that arrived while the terminal was not focused.
    pub unread: usize,
    /// The next draw repaints every cell (text the terminal may have drawn wider than we
    /// think, such as flags and emoji sequences, was removed).
    pub repaint: bool,
    /// Effects made outside `update`'s return path (transcript lines), handed out with it.
    outbox: Vec<Effect>,
    /// The certificate of the peer of the last chat that opened: a re-pairing says whether
    /// the new peer is the same app.
    pub last_peer: Option<[u8; 32]>,
    pub quit: bool,
    /// The last transfer id handed out (ids are never reused in a run).
    pub next_transfer: u64,
    /// A line shown above the status bar about the composer (Tab's candidates, a
    /// dropped file); goes as soon as the composer changes.
    pub composer_note: Option<String>,
    /// The pairing whose chat Ctrl-R kept, while its re-pairing is under way: Esc goes back
    /// to it.
    pub kept: Option<Pairing>,
    /// Leaving a chat that is not saved was asked at this time; the same again within
    /// [`ASK_AGAIN`] leaves.
    pub asked: Option<(Leaving, Duration)>,
    /// The composer holds `/send` made from this paste (dropped files): Esc puts the
    /// pasted text back instead.
    pub dropped: Option<String>,
    /// Known peers: who is here, who asks (`tui/known.rs`).
    pub known: super::known::KnownState,
}

impl App {
    pub fn new(opts: Options) -> (App, Vec<Effect>) {
        let mut app = App {
            screen: Screen::Start,
            help: None,
            size: opts.size,
            now: Duration::ZERO,
            pairing: Pairing::new(0, None, &opts),
            chat: Chat::default(),
            opts,
            start_sel: 0,
            notice: None,
            composer: Input::default(),
            focused: true,
            unread: 0,
            repaint: false,
            outbox: Vec::new(),
            last_peer: None,
            quit: false,
            next_transfer: 0,
            composer_note: None,
            dropped: None,
            kept: None,
            asked: None,
            known: Default::default(),
        };
        let fx = if app.opts.start {
            app.begin_start()
        } else if let Some(code) = app.opts.code.clone() {
            app.join_with(&code)
        } else if app.opts.join {
            app.begin_join()
        } else {
            vec![]
        };
        (app, fx)
    }

    /// Set the clock (time since the app started); the loop calls it before `update`.
    pub fn set_now(&mut self, now: Duration) {
        self.now = now;
    }

    /// "HH:MM" now.
    pub fn clock(&self) -> String {
        if let Some(at) = self.opts.started_at {
            return crate::chat::local_clock(at + self.now);
        }
        let t = self.opts.clock_origin + self.now.as_secs();
        format!("{:02}:{:02}", (t / 3600) % 24, (t / 60) % 60)
    }

    pub fn role(&self) -> Option<Role> {
        self.pairing.role
    }

    pub fn starter(&self) -> bool {
        self.pairing.role == Some(Role::Starter)
    }

    pub fn expected_kind(&self) -> SdpKind {
        match self.pairing.role {
            Some(Role::Starter) => SdpKind::Answer,
            _ => SdpKind::Offer,
        }
    }

    pub fn set_notice(&mut self, text: impl Into<String>, secs: u64) {
        self.notice = Some((text.into(), self.now + Duration::from_secs(secs)));
    }

    /// Does the screen want the spinner ticking?
    pub fn animating(&self) -> bool {
        let p = &self.pairing;
        p.gathering.is_some()
            || p.scan.found.is_some()
            || (self.screen == Screen::Connecting && p.conn.failed.is_none())
            || (p.role == Some(Role::Joiner)
                && self.screen == Screen::MyCode
                && (p.conn.since.is_some() || p.conn.waiting_since.is_some()))
            || self.notice.is_some()
            || p.peer.interrupted_at.is_some()
    }

    /// Is this the first screen the app showed (where Esc quits)?
    pub fn first_screen(&self) -> bool {
        if self.kept.is_some() {
            return false;
        }
        match self.screen {
            Screen::Start => true,
            Screen::MyCode => self.opts.start && self.starter(),
            Screen::Scan => self.opts.join,
            Screen::Paste => self.opts.join && !self.pairing.paste.from_scan && !self.starter(),
            Screen::Connecting | Screen::Chat => false,
        }
    }

    /// Is something typed (the chat's composer, the paste box)?
    pub fn drafting(&self) -> bool {
        match self.screen {
            Screen::Chat => !self.composer.is_empty(),
            Screen::Paste => !self.pairing.paste.input.text().is_empty(),
            _ => false,
        }
    }

    /// Does the screen take typed text (so `?` is a character, not help)?
    pub fn typing(&self) -> bool {
        matches!(self.screen, Screen::Paste | Screen::Chat)
    }

    /// The key table of the screen (or of the help box when it is open).
    pub fn key_table(&self) -> &'static [keys::Binding] {
        if self.help.is_some() {
            return screens::help::KEYS;
        }
        screens::table(self.screen)
    }

    pub fn update(&mut self, ev: AppEvent) -> Vec<Effect> {
        let mut fx = self.update_inner(ev);
        fx.append(&mut self.outbox);
        fx
    }

    fn update_inner(&mut self, ev: AppEvent) -> Vec<Effect> {
        match ev {
            AppEvent::Key(key) => {
                if key.kind == KeyEventKind::Release {
                    return vec![];
                }
                self.on_key(key)
            }
            AppEvent::Paste(text) => self.on_paste(text),
            AppEvent::Resize(w, h) => {
                self.size = (w, h);
                vec![]
            }
            AppEvent::Focus(focused) => self.on_focus(focused),
            AppEvent::Tick => self.on_tick(),
            AppEvent::Session { pairing, event } if pairing == self.pairing.id => {
                self.on_session(event)
            }
            AppEvent::Local { pairing, desc } if pairing == self.pairing.id => {
                self.on_local(desc);
                vec![]
            }
            AppEvent::SessionError { pairing, error } if pairing == self.pairing.id => {
                self.pairing.gathering = None;
                if self.pairing.local.is_none() {
                    self.pairing.local_error = Some(LocalError::Session(error));
                    self.screen = Screen::MyCode;
                } else {
                    self.fail(error.to_string());
                }
                vec![]
            }
            AppEvent::Session { .. } | AppEvent::Local { .. } | AppEvent::SessionError { .. } => {
                vec![]
            }
            AppEvent::Sent { pairing, result } if pairing == self.pairing.id => {
                self.on_sent(result);
                vec![]
            }
            // A pairing that is over: its lines were marked when it ended.
            AppEvent::Sent { .. } => vec![],
            AppEvent::Camera(ev) => self.on_camera(ev),
            AppEvent::Saving(Ok(path)) => {
                let path = crate::chat::sanitize(&path.display().to_string());
                self.push_line(Who::Info, format!("this chat is saved to {path}"));
                vec![]
            }
            AppEvent::Saving(Err(e)) => {
                self.chat.saving = false;
                self.push_line(Who::Warn, format!("this chat is not saved: {e}"));
                vec![]
            }
            AppEvent::Delivered { pairing, outcome } if pairing == self.pairing.id => {
                self.on_delivered(outcome)
            }
            AppEvent::AnswerArrived { pairing, answer } if pairing == self.pairing.id => {
                self.on_answer_arrived(answer)
            }
            AppEvent::Delivered { .. } | AppEvent::AnswerArrived { .. } => vec![],
            AppEvent::Transfer { id, event } => self.on_transfer(id, event),
            AppEvent::PeerSaved(Ok(line)) => {
                self.push_line(Who::Info, line);
                vec![]
            }
            AppEvent::PeerSaved(Err(why)) => {
                self.push_line(Who::Warn, why);
                vec![]
            }
            AppEvent::KnownPeers { known, here } => {
                self.on_known_peers(known, here);
                vec![]
            }
            AppEvent::KnownAsk { ask, peer } => self.on_known_ask(ask, peer),
            AppEvent::KnownWithdrawn { ask } => {
                self.on_known_withdrawn(ask);
                vec![]
            }
            AppEvent::KnownStep { pairing, step } if pairing == self.pairing.id => {
                self.on_known_step(step);
                vec![]
            }
            AppEvent::KnownFailed { pairing, why } if pairing == self.pairing.id => {
                self.on_known_failed(why)
            }
            AppEvent::KnownStep { .. } | AppEvent::KnownFailed { .. } => vec![],
        }
    }

    fn on_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        // A known peer asking takes Enter and Esc until answered.
        if let Some(fx) = self.known_key(&key) {
            return fx;
        }
        if let Some(b) = keys::find(screens::GLOBAL, self, &key) {
            return (b.run)(self, key);
        }
        if let Some(b) = keys::find(self.key_table(), self, &key) {
            return (b.run)(self, key);
        }
        if self.help.is_some() {
            return vec![];
        }
        match self.screen {
            Screen::Paste => screens::paste::type_key(self, key),
            Screen::Chat => screens::chat::type_key(self, key),
            _ => vec![],
        }
    }

    fn on_paste(&mut self, text: String) -> Vec<Effect> {
        if self.help.is_some() {
            return vec![];
        }
        match self.screen {
            Screen::Paste => {
                self.pairing.paste.input.insert(&text);
                self.validate_paste();
                vec![]
            }
            Screen::Chat => {
                screens::chat::paste(self, text);
                vec![]
            }
            Screen::Start => {
                let mut fx = self.begin_join();
                fx.extend(self.goto_paste(None));
                fx.extend(self.on_paste(text));
                fx
            }
            Screen::Scan => {
                let mut fx = self.goto_paste(None);
                fx.extend(self.on_paste(text));
                fx
            }
            Screen::MyCode if self.starter() && self.pairing.local.is_some() => {
                let mut fx = self.goto_paste(None);
                fx.extend(self.on_paste(text));
                fx
            }
            _ => vec![],
        }
    }

    fn on_focus(&mut self, focused: bool) -> Vec<Effect> {
        self.focused = focused;
        if focused && self.unread > 0 {
            self.unread = 0;
            return vec![Effect::Title(TITLE.into())];
        }
        vec![]
    }

    fn on_tick(&mut self) -> Vec<Effect> {
        if let Some((_, until)) = &self.notice {
            if self.now >= *until {
                self.notice = None;
            }
        }
        let fx = self.known_tick();
        if !fx.is_empty() {
            return fx;
        }
        if let Some((code, at)) = &self.pairing.scan.found {
            if self.now >= *at + FOUND_PAUSE {
                let code = code.clone();
                self.pairing.scan.found = None;
                let mut fx = vec![Effect::StopCamera];
                fx.extend(self.accept_code(code));
                return fx;
            }
        }
        vec![]
    }
}
