//! What moves between the app and the world: [`AppEvent`]s come in (terminal, session,
//! camera, transfers), [`Effect`]s go out to the runner. A leaf: the runner, the camera
//! task and the transfer tasks import only this, never the app's state.

use std::path::PathBuf;
use std::sync::Arc;

use crossterm::event::KeyEvent;
use image::GrayImage;

use crate::camera::CameraError;
use crate::chat::delivery::MessageId;
use crate::rtc::{Channel, RtcError, SessionEvent};
use crate::signal::SessionDescription;
use crate::transfer::{OfferSummary, Progress, ReceiveReport, SendReport, TransferError};

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
    /// A message of pairing `pairing` went to the session (in the order they were sent):
    /// its id (a qrchat peer acknowledges it), None (a browser peer: no marks), or why not.
    Sent {
        pairing: u64,
        result: Result<Option<MessageId>, Arc<RtcError>>,
    },
    Camera(CameraEvent),
    /// The transcript (`--history`) for this chat was opened here, or could not be.
    Saving(Result<std::path::PathBuf, Arc<crate::chat::HistoryError>>),
    /// One scan, the joiner: how handing my answer over went.
    Delivered {
        pairing: u64,
        outcome: crate::direct::Delivery,
    },
    /// One scan, the starter: a peer read my code and handed its answer over; applied.
    AnswerArrived {
        pairing: u64,
        answer: SessionDescription,
    },
    /// News of transfer `id` (see `transfers.rs`).
    Transfer {
        id: u64,
        event: TransferEvent,
    },
    /// `/save NAME` done (the line to show) or not (why).
    PeerSaved(Result<String, String>),
    /// Known peers: who is known, and who of them answered on this network just now.
    KnownPeers {
        known: Vec<String>,
        here: Vec<Here>,
    },
    /// A known peer wants to chat (request `ask`, answered with [`Effect::AnswerKnown`]).
    KnownAsk {
        ask: u64,
        peer: Here,
    },
    /// The known peer of request `ask` gave up asking (the request is gone).
    KnownWithdrawn {
        ask: u64,
    },
    /// Reaching a known peer for pairing `pairing` moved on (words for the connecting screen).
    KnownStep {
        pairing: u64,
        step: String,
    },
    /// Reaching a known peer (or answering one) for pairing `pairing` failed: one line.
    KnownFailed {
        pairing: u64,
        why: String,
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
    /// A new chat: what the last one never got delivered is given up (not sent again to a
    /// later pairing, even with the same app).
    NewChat,
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
    /// Agree the pairwise secret with a qrchat peer (known peers): on this channel, which the
    /// peer opened, or (None) on one we open.
    Pair {
        channel: Option<Channel>,
        peer_fp: [u8; 32],
    },
    /// `/save NAME`: keep the peer as a known peer (once the secret is agreed).
    SavePeer {
        name: String,
        peer_fp: [u8; 32],
        addr: Option<String>,
    },
    /// Connect to the known peer `name` (its user is asked) as pairing `pairing`; `keep`:
    /// a reconnect that keeps the chat (the same app: what it did not get is sent again).
    ConnectKnown {
        pairing: u64,
        name: String,
        keep: bool,
    },
    /// The user's answer to known-peer request `ask`.
    AnswerKnown {
        ask: u64,
        answer: Reply,
    },
    Quit,
}

/// A known peer, as the screens show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Here {
    pub name: String,
    /// "2026-12-06": when we paired by sight.
    pub paired_on: String,
    /// The safety number saved then.
    pub sas: String,
}

impl Here {
    pub fn of(p: &crate::known::KnownPeer) -> Here {
        Here {
            name: p.name.clone(),
            paired_on: p.paired_on(),
            sas: p.safety_number(),
        }
    }
}

/// The user's answer to a known peer's request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply {
    /// Answer it as pairing `pairing`; `keep`: the chat that ended with it goes on.
    Accept {
        pairing: u64,
        keep: bool,
    },
    Decline,
    /// The app is in another chat (or asked already).
    Busy,
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

/// What the runner reports about transfer `id`.
#[derive(Debug, Clone)]
pub enum TransferEvent {
    /// Receiver: the peer offers this (answer with [`Effect::AnswerOffer`]).
    Offer(OfferSummary),
    Progress(Progress),
    Sent(SendReport),
    Received(ReceiveReport),
    /// It ended without completing: why (its words are its `Display`).
    Failed(Arc<TransferError>),
}
