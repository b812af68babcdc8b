//! The chat: its lines (with each message's delivery state), its transfers and its
//! transcript. A [`Chat`] outlives the [`Pairing`](super::Pairing) that carried it:
//! re-pairing (Ctrl-R) is a new pairing with the same chat; a new pairing from the start
//! screen begins a new one.

use std::collections::VecDeque;
use std::sync::Arc;

use super::{App, SCROLLBACK};
use crate::chat::delivery::MessageId;
use crate::tui::event::Effect;
use crate::tui::session::RtcError;
use crate::tui::transfers::Transfer;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    Me,
    Peer,
    Info,
    Warn,
}

/// Where a message I sent stands (qrchat peers acknowledge messages; browsers do not).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Sent, not yet acknowledged.
    Pending,
    /// The peer acknowledged it.
    Delivered,
    /// The link ended for good before it was acknowledged.
    NotDelivered,
}

#[derive(Debug, Clone)]
pub struct ChatLine {
    pub time: String,
    pub who: Who,
    pub text: String,
    /// The line of this transfer (updated in place as it goes).
    pub transfer: Option<u64>,
    /// For my messages to a peer that acknowledges them: where the message stands. None:
    /// not tracked (status lines, the peer's lines, a browser peer).
    pub delivery: Option<Delivery>,
    /// My message's id, once the session gave it (`AppEvent::Sent`).
    pub id: Option<MessageId>,
    /// My message went to the runner; its `AppEvent::Sent` has not come back yet (they come
    /// back in the order sent, so the oldest such line is the next one's).
    pub awaiting_id: bool,
    /// Marked not delivered once, then sent again after a re-pairing with the same app
    /// (the transcript says so when it arrives after all).
    pub resent: bool,
}

impl Delivery {
    /// The mark after my line: quiet for pending and delivered, a word for the loss.
    pub fn mark(self) -> &'static str {
        match self {
            Delivery::Pending => "⋯",
            Delivery::Delivered => "✓",
            Delivery::NotDelivered => "(not delivered)",
        }
    }
}

/// What outlives a pairing: the lines, the view of them, the transfers, the transcript.
#[derive(Debug, Clone, Default)]
pub struct Chat {
    pub lines: VecDeque<ChatLine>,
    /// None: follow the newest. Some((i, hidden)): line `i` is at the bottom of the view
    /// with its last `hidden` wrapped rows below it.
    pub scroll: Option<(usize, usize)>,
    /// Messages that arrived below the view while scrolled up.
    pub unseen: usize,
    /// File transfers of this chat, both ways, oldest first.
    pub transfers: Vec<Transfer>,
    /// Chat lines go to the transcript (`--history`, once it is open).
    pub saving: bool,
    /// The highest of my messages the peer acknowledged (acks are cumulative): a `Sent`
    /// that comes back after its ack is delivered at once.
    pub acked: Option<MessageId>,
}

impl App {
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
        if self.chat.saving {
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
        let chat = &mut self.chat;
        chat.lines.push_back(ChatLine {
            time,
            who,
            text,
            transfer,
            delivery: None,
            id: None,
            awaiting_id: false,
            resent: false,
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

impl App {
    /// A message of mine, handed to the session: pending (with a mark) to a qrchat peer,
    /// unmarked to a browser page.
    pub(crate) fn push_mine(&mut self, text: String) {
        self.push_line(Who::Me, text);
        let marked = self.pairing.peer_qrchat == Some(true);
        if let Some(line) = self.chat.lines.back_mut() {
            line.awaiting_id = true;
            line.delivery = marked.then_some(Delivery::Pending);
        }
    }

    /// The session took (or refused) my oldest message still waiting for its id.
    pub(super) fn on_sent(&mut self, result: Result<Option<MessageId>, Arc<RtcError>>) {
        let acked = self.chat.acked;
        let Some(line) = self.chat.lines.iter_mut().find(|l| l.awaiting_id) else {
            if let Err(e) = result {
                self.push_line(Who::Warn, format!("not sent: {e}"));
            }
            return;
        };
        line.awaiting_id = false;
        match result {
            Ok(Some(id)) => {
                line.id = Some(id);
                let done = acked.is_some_and(|a| a.chat == id.chat && id.seq <= a.seq);
                // Still pending unless the link already ended (then it is not delivered).
                line.delivery = match line.delivery {
                    _ if done => Some(Delivery::Delivered),
                    Some(Delivery::NotDelivered) => Some(Delivery::NotDelivered),
                    _ => Some(Delivery::Pending),
                };
            }
            // A browser peer: plain text, no acks, no mark.
            Ok(None) => line.delivery = None,
            Err(e) => {
                let was = line.delivery.replace(Delivery::NotDelivered);
                let text = line.text.clone();
                if was != Some(Delivery::NotDelivered) {
                    self.save_line(Who::Info, &format!("not delivered: {text}"));
                }
                self.push_line(Who::Warn, format!("not sent: {e}"));
            }
        }
    }

    /// The peer acknowledged these of mine; acks are cumulative: everything of that chat
    /// up to the newest is delivered.
    pub(super) fn on_acked(&mut self, ids: &[MessageId]) {
        let Some(top) = ids.iter().max_by_key(|i| i.seq).copied() else {
            return;
        };
        if self
            .chat
            .acked
            .is_none_or(|a| a.chat != top.chat || a.seq < top.seq)
        {
            self.chat.acked = Some(top);
        }
        let mut late = Vec::new();
        for line in self.chat.lines.iter_mut() {
            let Some(id) = line.id else { continue };
            if id.chat == top.chat
                && id.seq <= top.seq
                && line.delivery != Some(Delivery::Delivered)
            {
                line.delivery = Some(Delivery::Delivered);
                if std::mem::take(&mut line.resent) {
                    late.push(line.text.clone());
                }
            }
        }
        for text in late {
            self.save_line(Who::Info, &format!("delivered after re-pairing: {text}"));
        }
    }

    /// The link ended for good (or is being dropped): what is still pending is not
    /// delivered, on screen and in the transcript. A `Sent` of this pairing may still come
    /// (it raced the close): it gives the line its id, for a resend after a re-pairing.
    pub(crate) fn undelivered(&mut self) {
        let mut lost = Vec::new();
        for line in self.chat.lines.iter_mut() {
            if line.delivery == Some(Delivery::Pending) {
                line.delivery = Some(Delivery::NotDelivered);
                lost.push(line.text.clone());
            }
        }
        for text in lost {
            self.save_line(Who::Info, &format!("not delivered: {text}"));
        }
    }

    /// My lines still waiting for the peer's confirmation.
    pub(crate) fn pending_lines(&self) -> usize {
        self.chat
            .lines
            .iter()
            .filter(|l| l.delivery == Some(Delivery::Pending))
            .count()
    }

    /// A new pairing: the reports of the last one's sends are ignored from now on (another
    /// pairing id), so no line waits for one.
    pub(crate) fn forget_awaiting(&mut self) {
        for line in self.chat.lines.iter_mut() {
            line.awaiting_id = false;
        }
    }

    /// A re-pairing with the same qrchat app opened: the session sends what was not
    /// delivered again, in order, with the same ids; those lines are pending again.
    pub(crate) fn resending(&mut self) {
        for line in self.chat.lines.iter_mut() {
            if line.id.is_some() && line.delivery == Some(Delivery::NotDelivered) {
                line.delivery = Some(Delivery::Pending);
                line.resent = true;
            }
        }
    }
}
