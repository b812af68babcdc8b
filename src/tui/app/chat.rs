//! The chat: its lines (with each message's delivery state), its transfers and its
//! transcript. A [`Chat`] outlives the [`Pairing`](super::Pairing) that carried it:
//! re-pairing (Ctrl-R) is a new pairing with the same chat; a new pairing from the start
//! screen begins a new one.

use std::collections::VecDeque;

use super::{App, SCROLLBACK};
use crate::tui::event::Effect;
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
