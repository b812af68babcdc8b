//! Files in the chat: `/send`, the offer the receiver answers with Ctrl-Y / Ctrl-N, one
//! progress line per transfer (updated in place), `/cancel`, and the line that says how it ended.
//! State and words only: the runner runs the transfers (`transfer::send` / `receive`) and
//! reports back as [`TransferEvent`]s.

use super::app::{App, Who};
use super::event::{Effect, TransferEvent};
use super::files;
use crate::transfer::words::{self, offer_name, offer_words};
use crate::transfer::{self, Direction, Progress};

/// Where a transfer stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Sender: offered, the peer has not answered. Receiver: the offer is on its way.
    Offered,
    /// Receiver: the offer is shown; waiting for Ctrl-Y / Ctrl-N.
    Asking,
    /// Accepted: bytes are moving (or paused by a blip).
    Running,
    Over,
}

#[derive(Debug, Clone)]
pub struct Transfer {
    pub id: u64,
    pub direction: Direction,
    /// For display (sanitised): `photo.jpg`, `photos/`, `3 items`.
    pub name: String,
    pub stage: Stage,
    pub progress: Option<Progress>,
}

/// Most offers from the peer that may wait for an answer at once; a channel beyond them
/// is dropped (closed), so a peer cannot flood the chat with offers.
pub const MAX_WAITING_OFFERS: usize = 8;

/// The progress line of `t` (see [`words::progress_line`]).
pub fn progress_text(t: &Transfer, paused: bool) -> String {
    words::progress_line(t.direction, &t.name, t.progress.as_ref(), paused)
}

impl App {
    fn transfer(&self, id: u64) -> Option<&Transfer> {
        self.chat.transfers.iter().find(|t| t.id == id)
    }

    fn transfer_mut(&mut self, id: u64) -> Option<&mut Transfer> {
        self.chat.transfers.iter_mut().find(|t| t.id == id)
    }

    /// The receive folder for display.
    fn receive_shown(&self) -> String {
        match &self.opts.receive_dir {
            Some(d) => crate::chat::sanitize_line(&d.display().to_string()),
            None => "nowhere".into(),
        }
    }

    /// Whether another offer from the peer is taken (see [`MAX_WAITING_OFFERS`]).
    pub(crate) fn may_take_offer(&self) -> bool {
        let waiting = self
            .chat
            .transfers
            .iter()
            .filter(|t| {
                t.direction == Direction::Receive
                    && matches!(t.stage, Stage::Offered | Stage::Asking)
            })
            .count();
        waiting < MAX_WAITING_OFFERS
    }

    /// Offers waiting for the user's answer, oldest first.
    pub fn asking(&self) -> impl Iterator<Item = &Transfer> {
        self.chat
            .transfers
            .iter()
            .filter(|t| t.stage == Stage::Asking)
    }

    /// Transfers that `/cancel` stops: offered by us, or accepted and running with bytes
    /// still to move (once all are across only the verdict is awaited: nothing to stop,
    /// and Ctrl-X is not offered for a transfer that looks finished).
    pub fn cancellable(&self) -> impl Iterator<Item = &Transfer> {
        self.chat.transfers.iter().filter(|t| {
            let all_moved = t
                .progress
                .as_ref()
                .is_some_and(|p| p.total > 0 && p.done >= p.total);
            (t.stage == Stage::Running && !all_moved)
                || (t.stage == Stage::Offered && t.direction == Direction::Send)
        })
    }

    /// Set the text of transfer `id`'s line (in place). A final word (`last`) that would
    /// sit above newer lines is said at the bottom, where it is seen, and the line above
    /// points to it (the same words twice read as two transfers).
    fn transfer_line(&mut self, id: u64, who: Who, text: String, last: bool) {
        let name = self.transfer(id).map(|t| t.name.clone());
        let lines = &mut self.chat.lines;
        let at = lines.iter().rposition(|l| l.transfer == Some(id));
        match at {
            Some(i) => {
                if last && i + 1 < lines.len() {
                    lines[i].who = Who::Info;
                    lines[i].text = match name {
                        Some(name) => format!("{name}: see below"),
                        None => "see below".into(),
                    };
                    self.push_line(who, text);
                    return;
                }
                lines[i].who = who;
                lines[i].text = text.clone();
                if last {
                    self.save_line(who, &text);
                }
            }
            None => self.push_transfer_line(id, who, text),
        }
    }

    /// The progress lines again (the link went or came back).
    pub(crate) fn refresh_transfer_lines(&mut self) {
        let paused = self.pairing.peer.interrupted_at.is_some();
        let running: Vec<(u64, String)> = self
            .chat
            .transfers
            .iter()
            .filter(|t| t.stage == Stage::Running)
            .map(|t| (t.id, progress_text(t, paused)))
            .collect();
        for (id, text) in running {
            self.transfer_line(id, Who::Info, text, false);
        }
    }

    /// `/send ARGS`: check the paths, then offer them to the peer as one transfer.
    pub(crate) fn send_command(&mut self, args: &str) -> Vec<Effect> {
        if self.pairing.peer.left.is_some() {
            self.push_line(Who::Warn, "the link is gone: nothing was sent".into());
            return vec![];
        }
        if let Err(e) = transfer::peer_takes_files(self.pairing.peer_qrchat) {
            self.push_line(Who::Warn, format!("{e}. Nothing was sent."));
            return vec![];
        }
        let home = self.opts.home.clone();
        let cwd = self.opts.cwd.clone().unwrap_or_default();
        let paths = match files::send_args(args, home.as_deref(), &cwd) {
            Ok(p) => p,
            Err(why) => {
                self.push_line(Who::Warn, format!("{why}: nothing was sent"));
                return vec![];
            }
        };
        let missing = files::missing(&paths);
        if !missing.is_empty() {
            let names: Vec<String> = missing
                .iter()
                .map(|p| crate::chat::sanitize_line(&p.display().to_string()))
                .collect();
            let what = if names.len() == 1 {
                "no such file or folder"
            } else {
                "no such files or folders"
            };
            self.push_line(
                Who::Warn,
                format!("{what}: {}. Nothing was sent.", names.join(", ")),
            );
            return vec![];
        }
        self.next_transfer += 1;
        let id = self.next_transfer;
        let name = words::paths_name(&paths);
        let words = files::describe(&paths);
        self.chat.transfers.push(Transfer {
            id,
            direction: Direction::Send,
            name,
            stage: Stage::Offered,
            progress: None,
        });
        self.push_transfer_line(
            id,
            Who::Info,
            format!("offering {words}: waiting for the peer to accept (/cancel stops it)"),
        );
        vec![Effect::SendFiles { id, paths }]
    }

    /// The peer opened a transfer channel: a new incoming transfer (its offer follows).
    pub(crate) fn incoming_transfer(&mut self) -> u64 {
        self.next_transfer += 1;
        let id = self.next_transfer;
        self.chat.transfers.push(Transfer {
            id,
            direction: Direction::Receive,
            name: "files".into(),
            stage: Stage::Offered,
            progress: None,
        });
        id
    }

    /// Ctrl-Y / `/accept` (true) or Ctrl-N / `/decline` (false): answer the oldest offer
    /// waiting.
    pub(crate) fn answer_offer(&mut self, accept: bool) -> Vec<Effect> {
        let Some(t) = self.asking().next() else {
            self.push_line(Who::Warn, "no files are offered right now".into());
            return vec![];
        };
        let (id, name) = (t.id, t.name.clone());
        if let Some(t) = self.transfer_mut(id) {
            t.stage = if accept { Stage::Running } else { Stage::Over };
        }
        let text = if accept {
            format!("receiving {name} into {}: starting", self.receive_shown())
        } else {
            format!("declined {name}")
        };
        self.transfer_line(id, Who::Info, text, !accept);
        if accept {
            self.save_line(Who::Info, &format!("accepted {name}"));
        }
        vec![Effect::AnswerOffer { id, accept }]
    }

    /// `/cancel` or Ctrl-X: stop every transfer under way (both directions) and decline
    /// what is still offered.
    pub(crate) fn cancel_transfers(&mut self) -> Vec<Effect> {
        let ids: Vec<u64> = self.cancellable().map(|t| t.id).collect();
        let mut fx: Vec<Effect> = ids
            .iter()
            .map(|&id| Effect::CancelTransfer { id })
            .collect();
        while self.asking().next().is_some() {
            fx.extend(self.answer_offer(false));
        }
        if fx.is_empty() {
            self.push_line(Who::Warn, "no transfer is under way".into());
        }
        fx
    }

    pub(crate) fn on_transfer(&mut self, id: u64, ev: TransferEvent) -> Vec<Effect> {
        let Some(t) = self.transfer(id) else {
            return vec![];
        };
        let (name, direction, stage) = (t.name.clone(), t.direction, t.stage);
        match ev {
            TransferEvent::Offer(summary) => {
                let name = offer_name(&summary);
                let words = offer_words(&summary);
                if let Some(t) = self.transfer_mut(id) {
                    t.name = name.clone();
                }
                if self.opts.receive_dir.is_none() {
                    if let Some(t) = self.transfer_mut(id) {
                        t.stage = Stage::Over;
                    }
                    self.push_transfer_line(
                        id,
                        Who::Warn,
                        format!(
                            "the peer offers {words}; declined: there is no download folder \
                             (start qrchat with --receive DIR)"
                        ),
                    );
                    return vec![Effect::AnswerOffer { id, accept: false }];
                }
                if let Some(t) = self.transfer_mut(id) {
                    t.stage = Stage::Asking;
                }
                let dir = self.receive_shown();
                self.push_transfer_line(
                    id,
                    Who::Peer,
                    format!(
                        "offers {words}. Ctrl-Y: accept (into {dir}), Ctrl-N: decline (or \
                         /accept, /decline)"
                    ),
                );
                self.arrived()
            }
            TransferEvent::Progress(p) => {
                if stage != Stage::Running && stage != Stage::Offered {
                    return vec![];
                }
                let paused = self.pairing.peer.interrupted_at.is_some();
                let text = match self.transfer_mut(id) {
                    Some(t) => {
                        t.stage = Stage::Running;
                        t.progress = Some(p);
                        progress_text(t, paused)
                    }
                    None => return vec![],
                };
                self.transfer_line(id, Who::Info, text, false);
                vec![]
            }
            TransferEvent::Sent(rep) => {
                self.over(id);
                let who = if rep.skipped.is_empty() {
                    Who::Info
                } else {
                    Who::Warn
                };
                self.transfer_line(id, who, words::sent_line(&name, &rep), true);
                vec![]
            }
            TransferEvent::Received(rep) => {
                self.over(id);
                if rep.declined {
                    return vec![];
                }
                let dir = self.opts.receive_dir.clone().unwrap_or_default();
                let text = words::received_line(&name, &rep, &dir);
                self.transfer_line(id, Who::Info, text, true);
                vec![]
            }
            TransferEvent::Failed(e) => {
                self.over(id);
                // A cancelled receive keeps what arrived (the link's own error says so).
                let arrived = self
                    .transfer(id)
                    .and_then(|t| t.progress.as_ref())
                    .is_some_and(|p| p.done > 0);
                let text = words::failed_line(direction, &name, &e, arrived);
                self.transfer_line(id, Who::Warn, text, true);
                vec![]
            }
        }
    }

    /// The session is being closed under the transfers still going (a re-pairing keeps
    /// the chat): each says it stopped; what arrived stays for a resume.
    pub(crate) fn end_transfers(&mut self) {
        let open: Vec<(u64, String, Direction)> = self
            .chat
            .transfers
            .iter()
            .filter(|t| t.stage != Stage::Over)
            .map(|t| (t.id, t.name.clone(), t.direction))
            .collect();
        for (id, name, direction) in open {
            self.over(id);
            let what = match direction {
                Direction::Send => "not sent",
                Direction::Receive => "not received",
            };
            self.transfer_line(
                id,
                Who::Warn,
                format!(
                    "{name} {what}: the link is gone (what arrived is kept: the same files \
                     sent again in the next pairing resume from there)"
                ),
                true,
            );
        }
    }

    fn over(&mut self, id: u64) {
        if let Some(t) = self.transfer_mut(id) {
            t.stage = Stage::Over;
        }
    }
}

/// Whether a channel the peer opened is a transfer's (others, such as a headless peer's
/// "done", are dropped, which closes them).
pub fn is_transfer_label(label: &str) -> bool {
    label == transfer::proto::LABEL
}
