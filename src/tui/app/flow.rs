//! Moving between screens and pairings: scanning, pasting, starting, joining, going back,
//! re-pairing, quitting.

use super::{App, Chat, Leaving, Pairing, PasteState, Role, ScanState, Screen, Who, ASK_AGAIN};
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
                // No camera at all: say so first, in words, and what to do. Else the
                // camera's error says what is wrong and what to do, once.
                let note = match &*why {
                    crate::camera::CameraError::NoCamera(reason) if reason.is_empty() => {
                        "No camera found: paste the code here instead.".to_string()
                    }
                    crate::camera::CameraError::NoCamera(reason) => format!(
                        "No camera found: paste the code here instead ({}).",
                        crate::chat::sanitize(reason)
                    ),
                    why => format!("Cannot scan: {}.", crate::chat::sanitize(&why.to_string())),
                };
                return self.goto_paste(Some(note));
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
    pub(crate) fn fresh(&mut self, role: Option<Role>) {
        self.pairing = Pairing::new(self.pairing.id + 1, role, &self.opts);
        self.forget_awaiting();
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

    /// `qrchat join CODE`: join with their offer at once. It came as text, as a paste does
    /// (so the safety number is to be compared); a code that does not do is shown on the
    /// paste screen with why.
    pub(crate) fn join_with(&mut self, code: &str) -> Vec<Effect> {
        self.fresh(Some(Role::Joiner));
        match self.check(code) {
            Ok(c) => {
                self.pairing.pasted = true;
                self.accept_code(c)
            }
            Err(_) => {
                let fx = self.goto_paste(None);
                self.pairing.paste.input.insert(code);
                self.validate_paste();
                fx
            }
        }
    }

    /// Close whatever was under way and begin again from the first screen, with a new chat.
    pub(crate) fn new_pairing(&mut self) -> Vec<Effect> {
        // The old chat's undelivered messages are given up: a later pairing, even with the
        // same app, is a new chat and does not resend them.
        let mut fx = vec![Effect::StopCamera, Effect::Close, Effect::NewChat];
        self.chat = Chat::default();
        self.kept = None;
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
        // A known peer is asked again by name (no code), keeping the chat.
        if let Some(fx) = self.reconnect_known() {
            return fx;
        }
        self.end_transfers();
        // The old link is closed (if Ctrl-O drops a live peer, it ends here): what it did
        // not deliver is marked so; a re-pairing with the same app sends it again.
        self.undelivered();
        let draft = self.composer.clone();
        let kept = self.pairing.clone();
        let fx = self.retry();
        self.kept = Some(kept);
        self.composer = draft;
        self.chat.scroll = None;
        self.chat.unseen = 0;
        self.push_line(
            Who::Info,
            "pairing again: this chat is kept; exchange the new codes".into(),
        );
        fx
    }

    /// One scan, the starter: the peer that joined by handing its answer over is not the
    /// one meant (the safety numbers differ, or someone photographed the code): drop it
    /// and show a new code, keeping this chat.
    pub(crate) fn drop_direct_peer(&mut self) -> Vec<Effect> {
        self.push_line(
            Who::Warn,
            "dropped the peer that joined with my code; a new code follows".into(),
        );
        self.repair()
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
            return self.leave_by("Esc");
        }
        match self.screen {
            Screen::Start => self.leave_by("Esc"),
            Screen::MyCode if self.starter() => self.leave_pairing(),
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
                    fx.extend(self.leave_pairing());
                }
                fx
            }
            Screen::Connecting => self.leave_pairing(),
            Screen::Chat if self.pairing.peer.left.is_some() => {
                if self.ask(Leaving::Chat, "Esc") {
                    return vec![];
                }
                self.new_pairing()
            }
            Screen::Chat => {
                screens::chat::follow(self);
                vec![]
            }
        }
    }

    /// Does Esc here leave a re-pairing for the chat Ctrl-R kept?
    pub fn esc_to_chat(&self) -> bool {
        self.kept.is_some()
            && match self.screen {
                Screen::MyCode => self.starter(),
                Screen::Scan => !self.starter(),
                Screen::Paste => !self.pairing.paste.from_scan && !self.starter(),
                Screen::Connecting => true,
                Screen::Start | Screen::Chat => false,
            }
    }

    /// Esc out of a pairing's screens: back to the chat Ctrl-R kept, else a new pairing.
    pub(crate) fn leave_pairing(&mut self) -> Vec<Effect> {
        let Some(mut kept) = self.kept.take() else {
            return self.new_pairing();
        };
        // The abandoned re-pairing's late events are ignored (another id).
        kept.id = self.pairing.id + 1;
        self.pairing = kept;
        self.forget_awaiting();
        self.screen = Screen::Chat;
        // "pairing again" is above: say that it was given up, or it reads as done.
        self.push_line(
            Who::Info,
            "no new pairing: back to this chat (Ctrl-R tries again)".into(),
        );
        vec![Effect::StopCamera, Effect::Close]
    }

    /// Would leaving lose a chat nobody saved (no `--history`, or saving failed)?
    pub fn unsaved(&self) -> bool {
        !self.chat.saving
            && self
                .chat
                .lines
                .iter()
                .any(|l| matches!(l.who, Who::Me | Who::Peer))
    }

    /// Before leaving a chat that is not saved: ask once (a notice naming `key`, the key or
    /// command that asked to leave); the same again while the question shows leaves. True:
    /// asked, stay.
    fn ask(&mut self, how: Leaving, key: &str) -> bool {
        // Lines the peer has not confirmed yet (only while the link is up: once it ended
        // they are already marked not delivered).
        let pending = match how {
            Leaving::Quit => self.pending_lines(),
            Leaving::Chat => 0,
        };
        if !self.unsaved() && pending == 0 {
            return false;
        }
        if let Some((was, at)) = self.asked {
            if was == how && self.now < at + ASK_AGAIN {
                self.asked = None;
                return false;
            }
        }
        self.asked = Some((how, self.now));
        let text = match how {
            Leaving::Quit if pending > 0 => format!(
                "{pending} {} not confirmed by the other side yet: {key} again to quit \
                 (marked not delivered)",
                if pending == 1 { "message" } else { "messages" }
            ),
            Leaving::Quit => format!("this chat is not saved (no --history): {key} again to quit"),
            Leaving::Chat => {
                format!("this chat is not saved (no --history): {key} again for a new chat")
            }
        };
        self.set_notice(text, ASK_AGAIN.as_secs());
        true
    }

    /// Ctrl-C, Ctrl-D, q, Esc on the first screen, /quit (`key`, named in the question):
    /// quit; a chat that is not saved, or a line the peer has not confirmed yet, asks once
    /// first (any of them again leaves).
    pub(crate) fn leave_by(&mut self, key: &str) -> Vec<Effect> {
        if self.ask(Leaving::Quit, key) {
            return vec![];
        }
        self.quit()
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
        // The technical summary (candidate types, setup, fingerprint) for the log; the
        // screens say it in words.
        tracing::info!("their code: {}", signal::summarize(&c));
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
                p.offer_direct = self.opts.direct && signal::accepts_direct(&c.desc.sdp);
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
        // What the peer has not confirmed is not delivered as far as this app will ever
        // know: said so on screen and in the transcript before the app goes.
        self.undelivered();
        self.quit = true;
        vec![Effect::StopCamera, Effect::Close, Effect::Quit]
    }
}
