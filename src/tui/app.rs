//! The app's state and `update(event) -> effects`. No I/O here: the loop in `mod.rs`
//! turns effects into work and work into events, and `ui::draw` paints the state.

use std::collections::VecDeque;
use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use image::GrayImage;

use super::input::Input;
use super::screens;
use super::seams::{self, Checked, CloseReason, SessionEvent};
use crate::rtc::LinkState;
use crate::signal::{SdpKind, SessionDescription};

/// How long to wait for the link once both codes are exchanged.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// How many chat lines are kept.
pub const SCROLLBACK: usize = 10_000;
/// How long the scan frame stays green before moving on.
pub const FOUND_PAUSE: Duration = Duration::from_millis(600);

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
        fingerprint: [u8; 32],
    },
    /// Making the offer/answer or accepting the answer failed.
    SessionError {
        pairing: u64,
        message: String,
    },
    SendError(String),
    Camera(CameraEvent),
}

#[derive(Debug, Clone)]
pub enum CameraEvent {
    Opened(String),
    /// A preview frame (small), and the text of a QR code seen in it.
    Frame {
        preview: GrayImage,
        code: Option<String>,
    },
    Failed(String),
    /// A QR code that is not a qrchat code is in view (sent once per camera session).
    Foreign,
    /// The source has no more frames (an image file, a directory).
    Ended,
}

/// Work for the loop.
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
    Quit,
}

/// Options the app starts with.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub start: bool,
    pub join: bool,
    /// `--json`: blobs in browser JSON.
    pub json: bool,
    pub size: (u16, u16),
    /// Unix seconds (local time of day) at `now == 0`, for message timestamps.
    pub clock_origin: u64,
    /// Extra `--stun` servers configured (shown in hints).
    pub stun: bool,
}

/// Our code, once made.
#[derive(Debug, Clone)]
pub struct LocalCode {
    pub blob: String,
    pub candidates: Vec<String>,
    pub fingerprint: [u8; 32],
    /// The QR lines, or why there is no QR.
    pub qr: Result<Vec<String>, String>,
}

#[derive(Debug, Clone, Default)]
pub struct ScanState {
    pub camera: Option<String>,
    pub preview: Option<GrayImage>,
    /// The last code seen that was refused, and why.
    pub refused: Option<String>,
    /// A good code, waiting for the green frame to show.
    pub found: Option<(Checked, Duration)>,
    /// A QR code that is not a qrchat code was seen.
    pub foreign: bool,
}

#[derive(Debug, Clone, Default)]
pub struct PasteState {
    pub input: Input,
    pub verdict: Option<Result<Checked, String>>,
    /// Why we are here instead of scanning (no camera...).
    pub note: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct ConnState {
    /// States as they moved, oldest first.
    pub states: Vec<String>,
    pub since: Option<Duration>,
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
}

#[derive(Debug, Clone, Default)]
pub struct ChatState {
    pub lines: VecDeque<ChatLine>,
    pub input: Input,
    /// None: follow the newest. Some((i, hidden)): line `i` is at the bottom of the view
    /// with its last `hidden` wrapped rows below it.
    pub scroll: Option<(usize, usize)>,
    /// Messages that arrived below the view while scrolled up.
    pub unseen: usize,
    pub peer: Option<String>,
    pub sas: Option<String>,
    pub state: String,
    pub peer_left: Option<String>,
    /// Latest round-trip time to the peer (qrchat peers report it).
    pub rtt: Option<std::time::Duration>,
}

#[derive(Debug, Clone)]
pub struct App {
    pub screen: Screen,
    pub role: Option<Role>,
    pub help: bool,
    pub size: (u16, u16),
    pub now: Duration,
    pub opts: Options,
    pub pairing: u64,
    pub start_sel: usize,
    pub gathering: Option<(Duration, usize)>,
    pub local: Option<LocalCode>,
    pub local_error: Option<String>,
    /// Gathering was cut short by `--gather-timeout`.
    pub gather_cut: bool,
    pub show_text: bool,
    pub notice: Option<(String, Duration)>,
    /// Answer in browser JSON (the offer came as JSON, or `--json`).
    pub json_reply: bool,
    /// A code came in by paste: ask to compare the safety number.
    pub pasted: bool,
    pub scan: ScanState,
    pub paste: PasteState,
    pub conn: ConnState,
    pub chat: ChatState,
    pub quit: bool,
}

impl App {
    pub fn new(opts: Options) -> (App, Vec<Effect>) {
        let mut app = App {
            screen: Screen::Start,
            role: None,
            help: false,
            size: opts.size,
            now: Duration::ZERO,
            json_reply: opts.json,
            opts,
            pairing: 0,
            start_sel: 0,
            gathering: None,
            local: None,
            local_error: None,
            gather_cut: false,
            show_text: false,
            notice: None,
            pasted: false,
            scan: ScanState::default(),
            paste: PasteState::default(),
            conn: ConnState::default(),
            chat: ChatState::default(),
            quit: false,
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
        let t = self.opts.clock_origin + self.now.as_secs();
        format!("{:02}:{:02}", (t / 3600) % 24, (t / 60) % 60)
    }

    pub fn expected_kind(&self) -> SdpKind {
        match self.role {
            Some(Role::Starter) => SdpKind::Answer,
            _ => SdpKind::Offer,
        }
    }

    pub fn set_notice(&mut self, text: impl Into<String>) {
        self.notice = Some((text.into(), self.now + Duration::from_secs(4)));
    }

    /// Does the screen want the spinner ticking?
    pub fn animating(&self) -> bool {
        self.gathering.is_some()
            || self.scan.found.is_some()
            || (self.screen == Screen::Connecting && self.conn.failed.is_none())
            || (self.role == Some(Role::Joiner)
                && self.screen == Screen::MyCode
                && self.conn.since.is_some())
            || self.notice.is_some()
    }

    pub fn update(&mut self, ev: AppEvent) -> Vec<Effect> {
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
            AppEvent::Tick => self.on_tick(),
            AppEvent::Session { pairing, event } if pairing == self.pairing => {
                self.on_session(event)
            }
            AppEvent::Local {
                pairing,
                desc,
                fingerprint,
            } if pairing == self.pairing => {
                self.on_local(desc, fingerprint);
                vec![]
            }
            AppEvent::SessionError { pairing, message } if pairing == self.pairing => {
                self.gathering = None;
                if self.local.is_none() {
                    self.local_error = Some(message);
                    self.screen = Screen::MyCode;
                } else {
                    self.fail(message);
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
        }
    }

    fn on_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        if ctrl && matches!(key.code, KeyCode::Char('c') | KeyCode::Char('d')) {
            return self.quit();
        }
        if self.help {
            if matches!(
                key.code,
                KeyCode::Esc
                    | KeyCode::Char('?')
                    | KeyCode::Char('q')
                    | KeyCode::F(1)
                    | KeyCode::Enter
            ) {
                self.help = false;
            }
            return vec![];
        }
        let typing = matches!(self.screen, Screen::Paste | Screen::Chat);
        if key.code == KeyCode::F(1) || (!typing && key.code == KeyCode::Char('?')) {
            self.help = true;
            return vec![];
        }
        match self.screen {
            Screen::Start => screens::start::on_key(self, key),
            Screen::MyCode => screens::my_code::on_key(self, key),
            Screen::Scan => screens::scan::on_key(self, key),
            Screen::Paste => screens::paste::on_key(self, key),
            Screen::Connecting => screens::connecting::on_key(self, key),
            Screen::Chat => screens::chat::on_key(self, key),
        }
    }

    fn on_paste(&mut self, text: String) -> Vec<Effect> {
        match self.screen {
            Screen::Paste => {
                self.paste.input.insert(&text);
                self.validate_paste();
                vec![]
            }
            Screen::Chat => {
                self.chat.input.insert(&text);
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
            Screen::MyCode if self.role == Some(Role::Starter) && self.local.is_some() => {
                let mut fx = self.goto_paste(None);
                fx.extend(self.on_paste(text));
                fx
            }
            _ => vec![],
        }
    }

    fn on_tick(&mut self) -> Vec<Effect> {
        if let Some((_, until)) = &self.notice {
            if self.now >= *until {
                self.notice = None;
            }
        }
        if let Some((checked, at)) = &self.scan.found {
            if self.now >= *at + FOUND_PAUSE {
                let checked = checked.clone();
                self.scan.found = None;
                let mut fx = vec![Effect::StopCamera];
                fx.extend(self.accept_code(checked));
                return fx;
            }
        }
        if let (Some(since), None) = (self.conn.since, &self.conn.failed) {
            if self.screen != Screen::Chat && self.now >= since + CONNECT_TIMEOUT {
                self.fail(format!(
                    "no connection after {} s",
                    CONNECT_TIMEOUT.as_secs()
                ));
            }
        }
        vec![]
    }

    fn on_session(&mut self, ev: SessionEvent) -> Vec<Effect> {
        match ev {
            SessionEvent::Gathering { candidates } => {
                if let Some(g) = &mut self.gathering {
                    g.1 = candidates;
                }
            }
            SessionEvent::Gathered {
                candidates,
                timed_out,
            } => {
                if let Some(g) = &mut self.gathering {
                    g.1 = candidates;
                }
                self.gather_cut = timed_out;
            }
            SessionEvent::State(s) => {
                let name = s.to_string();
                if self.conn.states.last() != Some(&name) {
                    self.conn.states.push(name);
                }
                if self.conn.since.is_none() && s == LinkState::Connecting {
                    self.conn.since = Some(self.now);
                }
                if !s.is_open() {
                    self.chat.state = s.to_string();
                }
            }
            SessionEvent::Open { sas, remote, .. } => {
                self.screen = Screen::Chat;
                self.conn.failed = None;
                self.chat.state = "connected".into();
                let peer = remote
                    .as_deref()
                    .map(seams::sanitize)
                    .unwrap_or_else(|| "the peer".into());
                self.push_line(
                    Who::Info,
                    format!("connected to {peer}; safety number {sas}"),
                );
                if self.pasted {
                    self.push_line(
                        Who::Warn,
                        format!(
                            "a code was pasted: it may have passed through anyone. Check that the \
                             other side shows the same safety number {sas} (say it aloud) before \
                             you trust this chat."
                        ),
                    );
                }
                self.chat.sas = Some(sas);
                self.chat.peer = remote.map(|r| seams::sanitize(&r));
            }
            SessionEvent::Message(text) => {
                self.push_line(Who::Peer, seams::sanitize(&text));
            }
            SessionEvent::Rtt(rtt) => self.chat.rtt = Some(rtt),
            SessionEvent::Notice(text) => self.push_line(Who::Warn, seams::sanitize(&text)),
            // Transfers are not offered in the TUI yet: the peer's channel is dropped.
            SessionEvent::Channel(_) => {}
            SessionEvent::Binary(n) => {
                self.push_line(
                    Who::Warn,
                    format!("the peer sent {n} bytes of binary data (ignored)"),
                );
            }
            SessionEvent::Closed(reason) => {
                if self.screen == Screen::Chat {
                    self.peer_left(reason.to_string());
                } else if self.conn.failed.is_none() {
                    self.fail(match reason {
                        CloseReason::PeerLeft => "the other side closed the connection".into(),
                        r => r.to_string(),
                    });
                }
            }
        }
        vec![]
    }

    /// The chat is over: say why, keep the scrollback, offer a new pairing.
    fn peer_left(&mut self, reason: String) {
        if self.chat.peer_left.is_some() {
            return;
        }
        let reason = seams::sanitize(&reason);
        self.push_line(
            Who::Warn,
            format!("{reason}. Esc: new pairing, Ctrl-C: quit"),
        );
        self.chat.peer_left = Some(reason);
        self.chat.state = "closed".into();
    }

    fn fail(&mut self, why: String) {
        self.conn.failed = Some(seams::sanitize(&why));
        self.gathering = None;
        self.screen = Screen::Connecting;
    }

    fn on_local(&mut self, desc: SessionDescription, fingerprint: [u8; 32]) {
        self.gathering = None;
        let json = match self.role {
            Some(Role::Joiner) => self.json_reply,
            _ => self.opts.json,
        };
        match seams::encode_code(&desc, json) {
            Ok(blob) => {
                let qr = seams::qr_lines(&blob);
                self.local = Some(LocalCode {
                    candidates: seams::candidates_of(&desc.sdp),
                    blob,
                    fingerprint,
                    qr,
                });
            }
            Err(e) => self.local_error = Some(format!("could not make my code: {e}")),
        }
    }

    fn on_camera(&mut self, ev: CameraEvent) -> Vec<Effect> {
        if self.screen != Screen::Scan {
            return vec![];
        }
        match ev {
            CameraEvent::Opened(name) => self.scan.camera = Some(name),
            CameraEvent::Frame { preview, code } => {
                self.scan.preview = Some(preview);
                if let (Some(code), None) = (code, &self.scan.found) {
                    let own = self.local.as_ref().map(|l| l.fingerprint);
                    match seams::check_code(&code, self.expected_kind(), own.as_ref()) {
                        Ok(c) => {
                            self.scan.refused = None;
                            self.scan.found = Some((c, self.now));
                        }
                        Err(e) => self.scan.refused = Some(e),
                    }
                }
            }
            CameraEvent::Foreign => self.scan.foreign = true,
            CameraEvent::Ended if self.scan.found.is_none() => {
                let name = self.scan.camera.clone().unwrap_or_default();
                return self.goto_paste(Some(format!(
                    "No code was found in {}. Paste the code instead.",
                    seams::sanitize(&name)
                )));
            }
            CameraEvent::Ended => {}
            CameraEvent::Failed(why) => {
                return self.goto_paste(Some(format!(
                    "No camera: {}. Paste the code instead.",
                    seams::sanitize(&why)
                )));
            }
        }
        vec![]
    }

    // ------------------------------------------------------------ transitions

    pub(crate) fn begin_start(&mut self) -> Vec<Effect> {
        self.reset();
        self.role = Some(Role::Starter);
        self.gathering = Some((self.now, 0));
        self.screen = Screen::MyCode;
        vec![Effect::StartOffer {
            pairing: self.pairing,
        }]
    }

    pub(crate) fn begin_join(&mut self) -> Vec<Effect> {
        self.reset();
        self.role = Some(Role::Joiner);
        self.goto_scan()
    }

    /// Back to the start screen, closing whatever was under way.
    pub(crate) fn new_pairing(&mut self) -> Vec<Effect> {
        let mut fx = vec![Effect::StopCamera, Effect::Close];
        self.reset();
        if self.opts.start {
            fx.extend(self.begin_start());
        } else if self.opts.join {
            fx.extend(self.begin_join());
        }
        fx
    }

    /// Try the same role again with a fresh session.
    pub(crate) fn retry(&mut self) -> Vec<Effect> {
        let role = self.role;
        let mut fx = vec![Effect::StopCamera, Effect::Close];
        match role {
            Some(Role::Starter) => fx.extend(self.begin_start()),
            _ => fx.extend(self.begin_join()),
        }
        fx
    }

    fn reset(&mut self) {
        self.pairing += 1;
        self.screen = Screen::Start;
        self.role = None;
        self.gathering = None;
        self.local = None;
        self.local_error = None;
        self.gather_cut = false;
        self.show_text = false;
        self.json_reply = self.opts.json;
        self.pasted = false;
        self.scan = ScanState::default();
        self.paste = PasteState::default();
        self.conn = ConnState::default();
        let input = std::mem::take(&mut self.chat.input);
        self.chat = ChatState {
            input,
            ..Default::default()
        };
        self.chat.input.clear();
    }

    pub(crate) fn goto_scan(&mut self) -> Vec<Effect> {
        self.scan = ScanState::default();
        self.screen = Screen::Scan;
        vec![Effect::OpenCamera]
    }

    pub(crate) fn goto_paste(&mut self, note: Option<String>) -> Vec<Effect> {
        let fx = if self.screen == Screen::Scan {
            vec![Effect::StopCamera]
        } else {
            vec![]
        };
        self.paste = PasteState {
            note,
            ..Default::default()
        };
        self.screen = Screen::Paste;
        fx
    }

    /// Where "back" goes from scan/paste.
    pub(crate) fn back(&mut self) -> Vec<Effect> {
        let mut fx = if self.screen == Screen::Scan {
            vec![Effect::StopCamera]
        } else {
            vec![]
        };
        match self.role {
            Some(Role::Starter) => self.screen = Screen::MyCode,
            _ => fx.extend(self.new_pairing_to_start()),
        }
        fx
    }

    fn new_pairing_to_start(&mut self) -> Vec<Effect> {
        if self.opts.join {
            // `--join`: there is no start screen to go back to; stay on paste/scan.
            return vec![];
        }
        self.reset();
        vec![]
    }

    pub(crate) fn validate_paste(&mut self) {
        let text = self.paste.input.text();
        self.paste.verdict = if text.trim().is_empty() {
            None
        } else {
            let own = self.local.as_ref().map(|l| l.fingerprint);
            Some(seams::check_code(text, self.expected_kind(), own.as_ref()))
        };
    }

    pub(crate) fn submit_paste(&mut self) -> Vec<Effect> {
        self.validate_paste();
        match self.paste.verdict.clone() {
            Some(Ok(c)) => {
                self.pasted = true;
                self.accept_code(c)
            }
            _ => vec![],
        }
    }

    /// A good code from the other side: join with their offer or accept their answer.
    fn accept_code(&mut self, c: Checked) -> Vec<Effect> {
        match self.role {
            Some(Role::Starter) => {
                self.screen = Screen::Connecting;
                self.conn.since = Some(self.now);
                vec![Effect::AcceptAnswer(c.desc)]
            }
            _ => {
                self.json_reply = self.opts.json || c.json;
                self.gathering = Some((self.now, 0));
                self.screen = Screen::MyCode;
                vec![Effect::Join {
                    pairing: self.pairing,
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
        let time = self.clock();
        self.chat.lines.push_back(ChatLine { time, who, text });
        if self.chat.lines.len() > SCROLLBACK {
            self.chat.lines.pop_front();
            if let Some((i, _)) = &mut self.chat.scroll {
                *i = i.saturating_sub(1);
            }
        }
        if self.chat.scroll.is_some() {
            self.chat.unseen += 1;
        }
    }
}
