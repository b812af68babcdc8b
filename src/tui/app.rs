//! The app's state and `update(event) -> effects`. No I/O here: the runner turns effects
//! into work and work into events, and `ui::draw` paints the state.
//!
//! Everything that belongs to one pairing (role, codes, scan and paste state, the link and
//! the chat) lives in [`Pairing`]; a new pairing replaces it whole. What outlives pairings
//! (the screen, the composer and its history, focus and unread count) is on [`App`].

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crossterm::event::{KeyEvent, KeyEventKind};
use image::GrayImage;

use super::input::Input;
use super::keys;
use super::screens;
use super::session::{CloseReason, RtcError, SessionEvent};
use super::transfers::{Transfer, TransferEvent};
use crate::camera::CameraError;
use crate::rtc::{Channel, LinkState};
use crate::signal::{self, DecodeError, Decoded, EncodeError, SdpKind, SessionDescription};

/// An interrupted link is "not responding" after this long (rtc keeps trying until its
/// peer timeout).
pub const NOT_RESPONDING: Duration = Duration::from_secs(5);
/// How many chat lines are kept.
pub const SCROLLBACK: usize = 10_000;
/// How long the scan frame stays green before moving on.
pub const FOUND_PAUSE: Duration = Duration::from_millis(600);
/// The window title; with unread messages, "(N) qrchat".
pub const TITLE: &str = "qrchat";

/// Who makes the offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Makes the offer, then reads the answer.
    Starter,
    /// Reads the offer, then shows the answer.
    Joiner,
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

/// Everything that can happen to the app.
#[derive(Debug, Clone)]
pub enum AppEvent {
    Key(KeyEvent),
    Paste(String),
    Resize(u16, u16),
    /// The terminal window gained (true) or lost (false) focus.
    Focus(bool),
    Tick,
    /// An event of pairing number `pairing`.
    Session {
        pairing: u64,
        event: SessionEvent,
    },
    /// Our description is complete (gathering done).
    Local {
        pairing: u64,
        desc: SessionDescription,
    },
    /// Making the offer/answer or accepting the answer failed.
    SessionError {
        pairing: u64,
        error: Arc<RtcError>,
    },
    SendError(Arc<RtcError>),
    Camera(CameraEvent),
    /// The transcript (`--history`) for this chat was opened here, or could not be.
    Saving(Result<std::path::PathBuf, Arc<crate::chat::HistoryError>>),
    /// News of transfer `id` (see `transfers.rs`).
    Transfer {
        id: u64,
        event: TransferEvent,
    },
}

#[derive(Debug, Clone)]
pub enum CameraEvent {
    Opened(String),
    /// A preview frame (small), and the text of a qrchat code seen in it.
    Frame {
        preview: GrayImage,
        code: Option<String>,
    },
    Failed(Arc<CameraError>),
    /// A QR code that is not a qrchat code is in view (sent once per camera session).
    Foreign,
    /// The source has no more frames (an image file, a directory).
    Ended,
}

/// Work for the runner.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    StartOffer {
        pairing: u64,
    },
    Join {
        pairing: u64,
        offer: SessionDescription,
    },
    AcceptAnswer(SessionDescription),
    Send(String),
    /// Close the current session (if any).
    Close,
    /// Put text on the clipboard (OSC 52).
    Copy(String),
    OpenCamera,
    StopCamera,
    /// Ring the terminal's bell.
    Bell,
    /// A desktop notification through the terminal (OSC 777 or OSC 9).
    Notify(Notifier, String),
    /// Set the window title.
    Title(String),
    /// `--history`: start a transcript for the chat that just opened.
    SaveStart,
    /// `--history`: add a line to the transcript ("you", "peer" or "--").
    Save {
        who: &'static str,
        text: String,
    },
    /// Offer these files and folders to the peer as transfer `id`.
    SendFiles {
        id: u64,
        paths: Vec<PathBuf>,
    },
    /// The peer opened this transfer channel: receive on it as transfer `id` (asking first).
    ReceiveFiles {
        id: u64,
        channel: Channel,
    },
    /// Decline the offer on this transfer channel at once, telling the peer why.
    DeclineFiles {
        channel: Channel,
        why: String,
    },
    /// The user's answer to the offer of transfer `id`.
    AnswerOffer {
        id: u64,
        accept: bool,
    },
    /// Stop transfer `id` (the peer is told).
    CancelTransfer {
        id: u64,
    },
    Quit,
}

/// How to tell the user something arrived while the terminal is not focused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Notifier {
    /// The bell (every terminal has one; tmux marks the window).
    #[default]
    Bell,
    /// `OSC 777;notify;title;body` (VTE terminals, foot, WezTerm, urxvt).
    Osc777,
    /// `OSC 9;body` (iTerm2, ConEmu, kitty).
    Osc9,
}

impl Notifier {
    /// The best the terminal described by these environment variables understands.
    pub fn detect(var: impl Fn(&str) -> Option<String>) -> Notifier {
        if var("TMUX").is_some() {
            // tmux swallows both OSCs; its bell marks the window and reaches the terminal.
            return Notifier::Bell;
        }
        let term = var("TERM").unwrap_or_default();
        let program = var("TERM_PROGRAM").unwrap_or_default();
        if program == "iTerm.app" || var("KITTY_WINDOW_ID").is_some() || var("ConEmuPID").is_some()
        {
            Notifier::Osc9
        } else if var("VTE_VERSION").is_some() || term.starts_with("foot") || program == "WezTerm" {
            Notifier::Osc777
        } else {
            Notifier::Bell
        }
    }
}

/// Options the app starts with.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub start: bool,
    pub join: bool,
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
}

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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    Me,
    Peer,
    Info,
    Warn,
}

#[derive(Debug, Clone)]
pub struct ChatLine {
    pub time: String,
    pub who: Who,
    pub text: String,
    /// The line of this transfer (updated in place as it goes).
    pub transfer: Option<u64>,
}

#[derive(Debug, Clone, Default)]
pub struct ChatState {
    pub lines: VecDeque<ChatLine>,
    /// None: follow the newest. Some((i, hidden)): line `i` is at the bottom of the view
    /// with its last `hidden` wrapped rows below it.
    pub scroll: Option<(usize, usize)>,
    /// Messages that arrived below the view while scrolled up.
    pub unseen: usize,
    pub peer: Option<String>,
    pub sas: Option<String>,
    /// The link as rtc last told it.
    pub link: Option<LinkState>,
    /// When (app time) the link went silent, while it is interrupted.
    pub interrupted_at: Option<Duration>,
    pub peer_left: Option<String>,
    /// Latest round-trip time to the peer (qrchat peers report it).
    pub rtt: Option<Duration>,
}

/// One pairing: from choosing a role to the end of its chat. Replaced whole by the next.
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
    /// Chat lines go to the transcript.
    pub saving: bool,
    /// The certificate fingerprint the other side's code named.
    pub peer_fp: Option<[u8; 32]>,
    pub scan: ScanState,
    pub paste: PasteState,
    pub conn: ConnState,
    pub chat: ChatState,
    /// Whether the peer is qrchat (None until its code is applied).
    pub peer_qrchat: Option<bool>,
    /// File transfers of this chat, both ways, oldest first.
    pub transfers: Vec<Transfer>,
}

impl Pairing {
    fn new(id: u64, role: Option<Role>, opts: &Options) -> Pairing {
        Pairing {
            id,
            role,
            json_reply: opts.json,
            ..Default::default()
        }
    }
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
    /// The composer holds `/send` made from this paste (dropped files): Esc puts the
    /// pasted text back instead.
    pub dropped: Option<String>,
}

impl App {
    pub fn new(opts: Options) -> (App, Vec<Effect>) {
        let mut app = App {
            screen: Screen::Start,
            help: None,
            size: opts.size,
            now: Duration::ZERO,
            pairing: Pairing::new(0, None, &opts),
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
        };
        let fx = if app.opts.start {
            app.begin_start()
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
            || p.chat.interrupted_at.is_some()
    }

    /// Is this the first screen the app showed (where Esc quits)?
    pub fn first_screen(&self) -> bool {
        match self.screen {
            Screen::Start => true,
            Screen::MyCode => self.opts.start && self.starter(),
            Screen::Scan => self.opts.join,
            Screen::Paste => self.opts.join && !self.pairing.paste.from_scan && !self.starter(),
            Screen::Connecting | Screen::Chat => false,
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
            AppEvent::SendError(e) => {
                self.push_line(Who::Warn, format!("not sent: {e}"));
                vec![]
            }
            AppEvent::Camera(ev) => self.on_camera(ev),
            AppEvent::Saving(Ok(path)) => {
                let path = crate::chat::sanitize(&path.display().to_string());
                self.push_line(Who::Info, format!("this chat is saved to {path}"));
                vec![]
            }
            AppEvent::Saving(Err(e)) => {
                self.pairing.saving = false;
                self.push_line(Who::Warn, format!("this chat is not saved: {e}"));
                vec![]
            }
            AppEvent::Transfer { id, event } => self.on_transfer(id, event),
        }
    }

    fn on_key(&mut self, key: KeyEvent) -> Vec<Effect> {
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

    fn on_session(&mut self, ev: SessionEvent) -> Vec<Effect> {
        let now = self.now;
        match ev {
            // The peer's code was applied: whether it is qrchat (only then can it take files).
            SessionEvent::Peer { qrchat } => self.pairing.peer_qrchat = Some(qrchat),
            SessionEvent::Gathering { candidates } => {
                if let Some(g) = &mut self.pairing.gathering {
                    g.1 = candidates;
                }
            }
            SessionEvent::Gathered {
                candidates,
                timed_out,
            } => {
                if let Some(g) = &mut self.pairing.gathering {
                    g.1 = candidates;
                }
                self.pairing.gather_cut = timed_out;
            }
            SessionEvent::State(s) => {
                let p = &mut self.pairing;
                let words = s.to_string();
                if p.conn.states.last() != Some(&words) {
                    p.conn.states.push(words);
                }
                if p.conn.since.is_none() && s == LinkState::Connecting {
                    p.conn.since = Some(now);
                }
                if p.conn.waiting_since.is_none() && s == LinkState::WaitingForPeer {
                    p.conn.waiting_since = Some(now);
                }
                let was = p.chat.link.replace(s);
                let in_chat = self.screen == Screen::Chat;
                match s {
                    LinkState::Interrupted { .. } if in_chat => {
                        self.pairing.chat.interrupted_at = Some(now);
                        self.push_line(
                            Who::Warn,
                            "the link is interrupted: reconnecting (what you send waits)".into(),
                        );
                        self.refresh_transfer_lines();
                    }
                    LinkState::Open { route }
                        if in_chat && matches!(was, Some(LinkState::Interrupted { .. })) =>
                    {
                        self.pairing.chat.interrupted_at = None;
                        self.push_line(Who::Info, format!("the link is back ({route})"));
                        self.refresh_transfer_lines();
                    }
                    _ => {}
                }
            }
            SessionEvent::Open { sas, remote, route } => {
                if self.opts.history && !self.pairing.saving {
                    self.pairing.saving = true;
                    self.outbox.push(Effect::SaveStart);
                }
                self.screen = Screen::Chat;
                self.pairing.conn.failed = None;
                self.pairing.chat.link = Some(LinkState::Open { route });
                let peer = remote.as_deref().map(crate::chat::sanitize);
                self.push_line(
                    Who::Info,
                    format!(
                        "connected to {} ({route}); safety number {sas}",
                        peer.as_deref().unwrap_or("the peer")
                    ),
                );
                if self.pairing.pasted {
                    self.push_line(
                        Who::Warn,
                        format!(
                            "a code was pasted: it may have passed through anyone. Check that the \
                             other side shows the same safety number {sas} (say it aloud) before \
                             you trust this chat."
                        ),
                    );
                }
                if let Some(fp) = self.pairing.peer_fp {
                    match self.last_peer {
                        Some(prev) if prev == fp => self.push_line(
                            Who::Info,
                            "the same app as before (the same certificate): the safety number \
                             is unchanged"
                                .into(),
                        ),
                        Some(_) => self.push_line(
                            Who::Warn,
                            "this is a different peer than before (another certificate): \
                             compare the safety number again"
                                .into(),
                        ),
                        None => {}
                    }
                    self.last_peer = Some(fp);
                }
                self.pairing.chat.sas = Some(sas);
                self.pairing.chat.peer = peer;
            }
            SessionEvent::Message(text) => {
                self.push_line(Who::Peer, crate::chat::sanitize(&text));
                return self.arrived();
            }
            SessionEvent::Rtt(rtt) => self.pairing.chat.rtt = Some(rtt),
            SessionEvent::Notice(text) => {
                self.push_line(Who::Warn, crate::chat::sanitize(&text));
            }
            SessionEvent::Channel(channel) => {
                // Other labels (a headless peer's "done", which it closes) mean nothing here.
                if super::transfers::is_transfer_label(channel.label()) {
                    if !self.may_take_offer() {
                        return vec![Effect::DeclineFiles {
                            channel,
                            why: "too many offers are waiting for an answer".into(),
                        }];
                    }
                    let id = self.incoming_transfer();
                    return vec![Effect::ReceiveFiles { id, channel }];
                }
            }
            SessionEvent::Binary(n) => {
                self.push_line(
                    Who::Warn,
                    format!("the peer sent {n} bytes of binary data (ignored)"),
                );
            }
            SessionEvent::Closed(reason) => {
                if self.screen == Screen::Chat {
                    self.peer_left(reason.to_string());
                } else if self.pairing.conn.failed.is_none() {
                    self.fail(match reason {
                        CloseReason::PeerLeft => "the other side closed the connection".into(),
                        r => r.to_string(),
                    });
                }
            }
        }
        vec![]
    }

    /// A message arrived: if nobody is looking, count it in the title and ring.
    pub(crate) fn arrived(&mut self) -> Vec<Effect> {
        if self.focused {
            return vec![];
        }
        self.unread += 1;
        let mut fx = vec![Effect::Title(format!("({}) {TITLE}", self.unread))];
        if !self.opts.quiet {
            fx.push(match self.opts.notifier {
                Notifier::Bell => Effect::Bell,
                n => Effect::Notify(n, "a new message from the peer".into()),
            });
        }
        fx
    }

    /// The chat is over: say why, keep the scrollback, offer a new pairing.
    fn peer_left(&mut self, reason: String) {
        if self.pairing.chat.peer_left.is_some() {
            return;
        }
        let reason = crate::chat::sanitize(&reason);
        self.push_line(
            Who::Warn,
            format!(
                "{reason}. Ctrl-R: new code, keeping this chat; Esc: new pairing; Ctrl-C: quit"
            ),
        );
        self.pairing.chat.peer_left = Some(reason);
        self.pairing.chat.interrupted_at = None;
    }

    fn fail(&mut self, why: String) {
        self.pairing.conn.failed = Some(crate::chat::sanitize(&why));
        self.pairing.gathering = None;
        self.screen = Screen::Connecting;
    }

    fn on_local(&mut self, desc: SessionDescription) {
        let p = &mut self.pairing;
        p.gathering = None;
        let json = match p.role {
            Some(Role::Joiner) => p.json_reply,
            _ => self.opts.json,
        };
        let format = if json {
            signal::Format::Json
        } else {
            signal::Format::Auto
        };
        match signal::encode(&desc, format) {
            Ok(blob) => {
                let qr = crate::qr::matrix(&blob)
                    .map(|m| crate::qr::to_half_block_lines(&m))
                    .map_err(Arc::new);
                p.local = Some(LocalCode {
                    candidates: signal::candidates(&desc.sdp),
                    blob,
                    desc,
                    qr,
                });
            }
            Err(e) => p.local_error = Some(LocalError::Encode(e)),
        }
    }

    fn on_camera(&mut self, ev: CameraEvent) -> Vec<Effect> {
        if self.screen != Screen::Scan {
            return vec![];
        }
        match ev {
            CameraEvent::Opened(name) => self.pairing.scan.camera = Some(name),
            CameraEvent::Frame { preview, code } => {
                self.pairing.scan.preview = Some(preview);
                if let (Some(code), None) = (code, &self.pairing.scan.found) {
                    match self.check(&code) {
                        Ok(c) => {
                            self.pairing.scan.refused = None;
                            self.pairing.scan.found = Some((c, self.now));
                        }
                        Err(e) => self.pairing.scan.refused = Some(e),
                    }
                }
            }
            CameraEvent::Foreign => self.pairing.scan.foreign = true,
            CameraEvent::Ended if self.pairing.scan.found.is_none() => {
                let name = self.pairing.scan.camera.clone().unwrap_or_default();
                return self.goto_paste(Some(format!(
                    "No code was found in {}. Paste the code instead.",
                    crate::chat::sanitize(&name)
                )));
            }
            CameraEvent::Ended => {}
            CameraEvent::Failed(why) => {
                // The camera's error says what is wrong and what to do, once.
                return self.goto_paste(Some(format!(
                    "Cannot scan: {}.",
                    crate::chat::sanitize(&why.to_string())
                )));
            }
        }
        vec![]
    }

    /// A code from the other side, found in whatever was pasted or scanned, checked.
    fn check(&self, text: &str) -> Result<Decoded, DecodeError> {
        let own = self.pairing.local.as_ref().map(|l| &l.desc);
        signal::decode_expecting(&signal::find_code(text), self.expected_kind(), own)
    }

    // ------------------------------------------------------------ transitions

    /// A fresh pairing in this role; the composer is emptied (its history stays).
    fn fresh(&mut self, role: Option<Role>) {
        self.pairing = Pairing::new(self.pairing.id + 1, role, &self.opts);
        self.composer.clear();
        self.screen = Screen::Start;
    }

    pub(crate) fn begin_start(&mut self) -> Vec<Effect> {
        self.fresh(Some(Role::Starter));
        self.pairing.gathering = Some((self.now, 0));
        self.screen = Screen::MyCode;
        vec![Effect::StartOffer {
            pairing: self.pairing.id,
        }]
    }

    pub(crate) fn begin_join(&mut self) -> Vec<Effect> {
        self.fresh(Some(Role::Joiner));
        self.goto_scan()
    }

    /// Close whatever was under way and begin again from the first screen.
    pub(crate) fn new_pairing(&mut self) -> Vec<Effect> {
        let mut fx = vec![Effect::StopCamera, Effect::Close];
        if self.opts.start {
            fx.extend(self.begin_start());
        } else if self.opts.join {
            fx.extend(self.begin_join());
        } else {
            self.fresh(None);
        }
        fx
    }

    /// The link is gone for good: pair again in the same role with a new code, keeping the
    /// chat (its lines, the draft, the transcript). The app keeps its certificate, so the
    /// same peer app is recognised and the safety number stays the same.
    pub(crate) fn repair(&mut self) -> Vec<Effect> {
        self.end_transfers();
        let lines = std::mem::take(&mut self.pairing.chat.lines);
        let transfers = std::mem::take(&mut self.pairing.transfers);
        let saving = self.pairing.saving;
        let draft = self.composer.clone();
        let fx = self.retry();
        self.composer = draft;
        self.pairing.chat.lines = lines;
        self.pairing.transfers = transfers;
        self.pairing.saving = saving;
        self.push_line(
            Who::Info,
            "pairing again: this chat is kept; exchange the new codes".into(),
        );
        fx
    }

    /// Try the same role again with a fresh session.
    pub(crate) fn retry(&mut self) -> Vec<Effect> {
        let mut fx = vec![Effect::StopCamera, Effect::Close];
        match self.pairing.role {
            Some(Role::Starter) => fx.extend(self.begin_start()),
            _ => fx.extend(self.begin_join()),
        }
        fx
    }

    pub(crate) fn goto_scan(&mut self) -> Vec<Effect> {
        self.pairing.scan = ScanState::default();
        self.screen = Screen::Scan;
        vec![Effect::OpenCamera]
    }

    pub(crate) fn goto_paste(&mut self, note: Option<String>) -> Vec<Effect> {
        let from_scan = self.screen == Screen::Scan && note.is_none();
        let fx = if self.screen == Screen::Scan {
            vec![Effect::StopCamera]
        } else {
            vec![]
        };
        self.pairing.paste = PasteState {
            note,
            from_scan,
            ..Default::default()
        };
        self.screen = Screen::Paste;
        fx
    }

    /// Esc: one step back; from the first screen, quit.
    pub(crate) fn back(&mut self) -> Vec<Effect> {
        if self.first_screen() {
            return self.quit();
        }
        match self.screen {
            Screen::Start => self.quit(),
            Screen::MyCode if self.starter() => self.new_pairing(),
            // The joiner's answer: drop it and read their code again.
            Screen::MyCode => {
                let mut fx = vec![Effect::Close];
                fx.extend(self.begin_join());
                fx
            }
            Screen::Scan | Screen::Paste => {
                let mut fx = if self.screen == Screen::Scan {
                    vec![Effect::StopCamera]
                } else {
                    vec![]
                };
                if self.screen == Screen::Paste && self.pairing.paste.from_scan {
                    fx.extend(self.goto_scan());
                } else if self.starter() {
                    self.screen = Screen::MyCode;
                } else {
                    fx.extend(self.new_pairing());
                }
                fx
            }
            Screen::Connecting => self.new_pairing(),
            Screen::Chat if self.pairing.chat.peer_left.is_some() => self.new_pairing(),
            Screen::Chat => {
                screens::chat::follow(self);
                vec![]
            }
        }
    }

    pub(crate) fn validate_paste(&mut self) {
        let text = self.pairing.paste.input.text().to_string();
        self.pairing.paste.verdict = if text.trim().is_empty() {
            None
        } else {
            Some(self.check(&text))
        };
    }

    pub(crate) fn submit_paste(&mut self) -> Vec<Effect> {
        self.validate_paste();
        match self.pairing.paste.verdict.clone() {
            Some(Ok(c)) => {
                self.pairing.pasted = true;
                self.accept_code(c)
            }
            _ => vec![],
        }
    }

    /// A good code from the other side: join with their offer or accept their answer.
    fn accept_code(&mut self, c: Decoded) -> Vec<Effect> {
        let p = &mut self.pairing;
        p.peer_fp = signal::fingerprint_of(&c.desc.sdp);
        match p.role {
            Some(Role::Starter) => {
                self.screen = Screen::Connecting;
                p.conn.since = Some(self.now);
                vec![Effect::AcceptAnswer(c.desc)]
            }
            _ => {
                p.json_reply =
                    signal::answer_format(c.encoding, self.opts.json) == signal::Format::Json;
                p.gathering = Some((self.now, 0));
                self.screen = Screen::MyCode;
                vec![Effect::Join {
                    pairing: p.id,
                    offer: c.desc,
                }]
            }
        }
    }

    pub(crate) fn quit(&mut self) -> Vec<Effect> {
        self.quit = true;
        vec![Effect::StopCamera, Effect::Close, Effect::Quit]
    }

    /// Add a chat line, keeping the scrollback bounded and the view where it was.
    pub(crate) fn push_line(&mut self, who: Who, text: String) {
        self.push_chat_line(who, text, None);
    }

    /// A transfer's line (found again by its id to be updated in place).
    pub(crate) fn push_transfer_line(&mut self, id: u64, who: Who, text: String) {
        self.push_chat_line(who, text, Some(id));
    }

    /// Put a line in the transcript (with `--history`).
    pub(crate) fn save_line(&mut self, who: Who, text: &str) {
        if self.pairing.saving {
            let name = match who {
                Who::Me => "you",
                Who::Peer => "peer",
                Who::Info | Who::Warn => "--",
            };
            self.outbox.push(Effect::Save {
                who: name,
                text: text.to_string(),
            });
        }
    }

    fn push_chat_line(&mut self, who: Who, text: String, transfer: Option<u64>) {
        let time = self.clock();
        self.save_line(who, &text);
        let chat = &mut self.pairing.chat;
        chat.lines.push_back(ChatLine {
            time,
            who,
            text,
            transfer,
        });
        if chat.lines.len() > SCROLLBACK {
            chat.lines.pop_front();
            if let Some((i, _)) = &mut chat.scroll {
                *i = i.saturating_sub(1);
            }
        }
        if chat.scroll.is_some() {
            chat.unseen += 1;
        }
    }
}
