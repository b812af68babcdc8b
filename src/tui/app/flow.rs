//! Moving between screens and pairings: scanning, pasting, starting, joining, going back,
//! re-pairing, quitting.

use super::{App, Chat, Pairing, PasteState, Role, ScanState, Screen, Who};
use crate::signal::{self, DecodeError, Decoded};
use crate::tui::event::{CameraEvent, Effect};
use crate::tui::screens;

impl App {
    pub(super) fn on_camera(&mut self, ev: CameraEvent) -> Vec<Effect> {
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
    pub(super) fn check(&self, text: &str) -> Result<Decoded, DecodeError> {
        let own = self.pairing.local.as_ref().map(|l| &l.desc);
        signal::decode_expecting(&signal::find_code(text), self.expected_kind(), own)
    }

    // ------------------------------------------------------------ transitions

    /// A fresh pairing in this role (the chat stays: see [`App::new_pairing`]); the composer
    /// is emptied (its history stays).
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

    /// Close whatever was under way and begin again from the first screen, with a new chat.
    pub(crate) fn new_pairing(&mut self) -> Vec<Effect> {
        let mut fx = vec![Effect::StopCamera, Effect::Close];
        self.chat = Chat::default();
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
        let draft = self.composer.clone();
        let fx = self.retry();
        self.composer = draft;
        self.chat.scroll = None;
        self.chat.unseen = 0;
        self.push_line(
            Who::Info,
            "pairing again: this chat is kept; exchange the new codes".into(),
        );
        fx
    }

    /// Try the same role again with a fresh session (and the same chat).
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
            Screen::Chat if self.pairing.peer.left.is_some() => self.new_pairing(),
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
    pub(super) fn accept_code(&mut self, c: Decoded) -> Vec<Effect> {
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
}
