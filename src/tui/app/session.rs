//! What the session tells the app: gathering, link states, the chat opening, messages,
//! channels, the end.

use std::sync::Arc;

use super::{App, LocalCode, LocalError, Notifier, Role, Screen, Who, TITLE};
use crate::direct::Delivery;
use crate::rtc::LinkState;
use crate::signal::{self, SessionDescription};
use crate::tui::event::Effect;
use crate::tui::session::{CloseReason, SessionEvent};

impl App {
    pub(super) fn on_session(&mut self, ev: SessionEvent) -> Vec<Effect> {
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
                let was = p.peer.link.replace(s);
                let in_chat = self.screen == Screen::Chat;
                match s {
                    LinkState::Interrupted { .. } if in_chat => {
                        self.pairing.peer.interrupted_at = Some(now);
                        let t = self.opts.peer_timeout.as_secs();
                        let text = if t == 0 {
                            "the link is interrupted: reconnecting (what you send waits)".into()
                        } else {
                            format!(
                                "the link is interrupted: reconnecting (what you send waits); \
                                 the chat ends if it is not back within {t} s"
                            )
                        };
                        self.push_line(Who::Warn, text);
                        self.refresh_transfer_lines();
                    }
                    LinkState::Open { route }
                        if in_chat && matches!(was, Some(LinkState::Interrupted { .. })) =>
                    {
                        self.pairing.peer.interrupted_at = None;
                        self.push_line(Who::Info, format!("the link is back ({route})"));
                        self.refresh_transfer_lines();
                    }
                    _ => {}
                }
            }
            SessionEvent::Open { sas, remote, route } => {
                // The re-pairing made it: there is no other chat to go back to.
                self.kept = None;
                // A notice of the code screens (a copy) does not follow into the chat.
                self.notice = None;
                if self.opts.history && !self.chat.saving {
                    self.chat.saving = true;
                    self.outbox.push(Effect::SaveStart);
                }
                self.screen = Screen::Chat;
                self.pairing.conn.failed = None;
                self.pairing.peer.link = Some(LinkState::Open { route });
                // A known peer: its name, when paired, the saved safety number.
                if self.known_opened(route) {
                    self.pairing.remote = remote;
                    return vec![];
                }
                let peer = remote
                    .as_deref()
                    .map(|r| crate::chat::sanitize(&address_only(r)));
                self.push_line(
                    Who::Info,
                    format!(
                        "connected to {} ({route}); safety number {sas}",
                        peer.as_deref().unwrap_or("the peer")
                    ),
                );
                if self.pairing.direct {
                    self.push_line(
                        Who::Warn,
                        format!(
                            "a peer read your code and joined (no second scan): compare the \
                             safety number {sas} with theirs (say it aloud). Not them? Ctrl-O \
                             drops them and shows a new code."
                        ),
                    );
                } else if self.pairing.pasted {
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
                        Some(prev) if prev == fp => {
                            self.push_line(
                                Who::Info,
                                "the same app as before (the same certificate): the safety \
                                 number is unchanged"
                                    .into(),
                            );
                            // The session sends what it never got acknowledged again, first
                            // (chat::delivery's new_pairing, the same rule).
                            if self.pairing.peer_qrchat == Some(true) {
                                self.resending();
                            }
                        }
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
                self.pairing.peer.sas = Some(sas);
                self.pairing.peer.name = peer;
                // Known peers: the starter opens the pairing channel with a qrchat peer.
                if let (Some(Role::Starter), Some(true), Some(peer_fp)) = (
                    self.pairing.role,
                    self.pairing.peer_qrchat,
                    self.pairing.peer_fp,
                ) {
                    self.outbox.push(Effect::Pair {
                        channel: None,
                        peer_fp,
                    });
                }
                self.pairing.remote = remote;
            }
            SessionEvent::Message(text) => {
                self.push_line(Who::Peer, crate::chat::sanitize(&text));
                return self.arrived();
            }
            SessionEvent::Rtt(rtt) => self.pairing.peer.rtt = Some(rtt),
            SessionEvent::Delivered(ids) => self.on_acked(&ids),
            SessionEvent::Notice(text) => {
                self.push_line(Who::Warn, crate::chat::sanitize(&text));
            }
            SessionEvent::Channel(channel) if channel.label() == crate::known::pair::LABEL => {
                if let Some(peer_fp) = self.pairing.peer_fp {
                    return vec![Effect::Pair {
                        channel: Some(channel),
                        peer_fp,
                    }];
                }
            }
            SessionEvent::Channel(channel) => {
                // Other labels (a headless peer's "done", which it closes) mean nothing here.
                if crate::tui::transfers::is_transfer_label(channel.label()) {
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
                self.undelivered();
                if self.screen == Screen::Chat {
                    let words = match reason {
                        // The other side closed while we heard nothing from it: it may have
                        // given up on us (its peer timeout) as much as left; not "left".
                        CloseReason::PeerLeft if self.pairing.peer.interrupted_at.is_some() => {
                            "the other side ended the chat while the link was interrupted (it \
                             stopped hearing this app, or left)"
                                .to_string()
                        }
                        r => r.to_string(),
                    };
                    self.peer_left(words);
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
    pub(super) fn peer_left(&mut self, reason: String) {
        if self.pairing.peer.left.is_some() {
            return;
        }
        let reason = crate::chat::sanitize(&reason);
        let again = match &self.pairing.known {
            Some(k) => format!("ask {} again", k.peer.name),
            None => "new code".into(),
        };
        self.push_line(
            Who::Warn,
            format!("{reason}. Ctrl-R: {again}, keeping this chat; Esc: new pairing; Ctrl-C: quit"),
        );
        self.pairing.peer.left = Some(reason);
        self.pairing.peer.interrupted_at = None;
    }

    pub(super) fn fail(&mut self, why: String) {
        // A known peer's link that does not come up: one line where the user came from
        // (the connecting screen's advice is about codes).
        if let Some(k) = &self.pairing.known {
            if self.screen == Screen::Connecting {
                let line = format!("could not connect to {}: {why}", k.peer.name);
                let fx = self.on_known_failed(line);
                self.outbox.extend(fx);
                return;
            }
        }
        self.pairing.conn.failed = Some(crate::chat::sanitize(&why));
        self.pairing.gathering = None;
        self.screen = Screen::Connecting;
    }

    pub(super) fn on_local(&mut self, desc: SessionDescription) {
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
        if p.role == Some(Role::Joiner) && p.offer_direct {
            p.handing = Some(self.now);
        }
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
}

impl App {
    /// One scan, the joiner: how handing my answer over went.
    pub(super) fn on_delivered(&mut self, outcome: Delivery) -> Vec<Effect> {
        let p = &mut self.pairing;
        p.handing = None;
        match outcome {
            Delivery::Accepted { .. } => {
                if self.screen == Screen::MyCode {
                    self.screen = Screen::Connecting;
                    p.conn.since = Some(self.now);
                    p.conn
                        .states
                        .push("the other side took my answer (one scan)".into());
                }
            }
            Delivery::UsedUp { .. } => p.used_up = true,
            Delivery::Failed(why) => {
                tracing::info!("direct delivery failed: {why}");
            }
        }
        vec![]
    }

    /// One scan, the starter: a peer read my code and handed its answer over; the runner
    /// applied it. As if scanned, but the chat will ask to compare the safety number.
    pub(super) fn on_answer_arrived(&mut self, answer: SessionDescription) -> Vec<Effect> {
        let mut fx = vec![];
        if self.screen == Screen::Scan {
            fx.push(Effect::StopCamera);
        }
        let p = &mut self.pairing;
        p.peer_fp = signal::fingerprint_of(&answer.sdp);
        p.direct = true;
        if matches!(self.screen, Screen::MyCode | Screen::Scan | Screen::Paste) {
            self.screen = Screen::Connecting;
            p.conn.since = Some(self.now);
        }
        fx
    }
}

/// The peer's address without the candidate type rtc may add (`127.0.0.1:5000 (host)`):
/// the route already says it in words ("direct on your network").
fn address_only(remote: &str) -> String {
    let r = remote.trim();
    match r.rsplit_once(" (") {
        Some((addr, typ)) if typ.ends_with(')') && !typ.contains(' ') => addr.to_string(),
        _ => r.to_string(),
    }
}
