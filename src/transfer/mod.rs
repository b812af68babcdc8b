//! Files and folders over the link: resumable, verified, never written outside the
//! receive folder.
//!
//! * [`paths`]: the receive-folder rules (pure, plus the careful folder walk).
//! * [`proto`]: the wire protocol, documented there; decoding is hostile-input safe.
//! * [`state`]: each side as a pure state machine (order, sizes, resume points).
//! * [`send`], and [`receive`] (or in two steps: [`offer`], then [`Offer`]'s answer):
//!   bytes between a [`Wire`] and the filesystem, streamed (a chunk at a time: memory
//!   stays flat whatever the file size), over the helpers both share: `wire` (reading the
//!   peer cancel-safely, and `end`, the one place a failure ends a transfer), `progress`
//!   and `disk`.
//! * [`dirs`]: the default receive folder (`~/Downloads/qrchat`, XDG-aware).
//! * [`pipe`]: an in-memory [`Wire`] for tests and benches.
//!
//! A transfer runs on its own channel ([`proto::LABEL`]): the sender opens it and calls
//! [`send`]; the receiver gets it from the session and calls [`receive`]. Either side
//! stops it with a [`CancelHandle`]; both report [`Progress`] on a channel.

pub mod bulk;
pub mod dirs;
mod disk;
pub mod paths;
pub mod pipe;
mod progress;
pub mod proto;
mod receive;
mod rtc_wire;
mod send;
pub mod state;
mod wire;
pub mod words;

use std::future::Future;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

pub use bulk::BulkWire;
pub use proto::{ErrorCode, Msg};
pub use receive::{offer, receive, Answer, Offer};
pub use send::send;

/// A message channel a transfer runs over (an rtc data channel, or a [`pipe`]):
/// reliable, ordered, messages kept whole. `send` waits while too much is buffered.
pub trait Wire: Send + Sync {
    fn send(&self, msg: Msg) -> impl Future<Output = io::Result<()>> + Send;
    /// The next message; `Ok(None)` once the peer closed the channel.
    fn recv(&self) -> impl Future<Output = io::Result<Option<Msg>>> + Send;
    /// Close once what was sent has left.
    fn close(&self) -> impl Future<Output = ()> + Send;
}

/// Which way a transfer goes, from this side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Send,
    Receive,
}

/// How a transfer is going (sent on the progress channel every ~200 ms and at the end).
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    pub direction: Direction,
    /// The transfer's name, as [`words`] names it everywhere (`a.pdf`, `photos/`,
    /// `3 items`; sanitised).
    pub name: String,
    /// The file under way (relative path), empty between files.
    pub file: String,
    /// Content bytes that are across, resumed ones included.
    pub done: u64,
    pub total: u64,
    /// Bytes per second moved in this run (resumed bytes do not count); 0 until a MiB
    /// has moved (a tiny file shows no rate).
    pub rate: f64,
    /// Time left at that rate (None until a rate is known).
    pub eta: Option<Duration>,
}

/// What the receiver is asked about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferSummary {
    /// The top-level names, as offered (peer text: sanitise before display).
    pub names: Vec<String>,
    pub files: usize,
    pub dirs: usize,
    pub bytes: u64,
}

/// How the receiver answers an offer in one step ([`receive`]); [`offer`] and [`Offer`]
/// answer it in two (the TUI's question).
#[derive(Debug, Clone)]
pub enum Policy {
    AcceptAll,
    /// Decline, telling the sender why.
    Decline(String),
}

/// Stops a transfer from outside (the user's cancel). Cheap to clone.
#[derive(Debug, Clone)]
pub struct CancelHandle(std::sync::Arc<tokio::sync::watch::Sender<Option<String>>>);

/// The transfer's side of a [`CancelHandle`].
#[derive(Debug, Clone)]
pub struct CancelSignal(tokio::sync::watch::Receiver<Option<String>>);

/// A connected cancel handle and signal.
pub fn cancel_pair() -> (CancelHandle, CancelSignal) {
    let (tx, rx) = tokio::sync::watch::channel(None);
    (CancelHandle(std::sync::Arc::new(tx)), CancelSignal(rx))
}

impl CancelHandle {
    /// Cancel, with a reason the peer is told.
    pub fn cancel(&self, reason: &str) {
        let _ = self.0.send(Some(reason.to_string()));
    }
}

impl CancelSignal {
    /// A signal that never fires.
    pub fn never() -> CancelSignal {
        let (h, s) = cancel_pair();
        std::mem::forget(h);
        s
    }
    fn reason(&self) -> Option<String> {
        self.0.borrow().clone()
    }
    /// Resolves with the reason once cancelled (never, if the handle is gone unused).
    async fn cancelled(&mut self) -> String {
        loop {
            if let Some(r) = self.reason() {
                return r;
            }
            if self.0.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }
}

/// What both sides take besides the wire.
#[derive(Debug, Clone)]
pub struct Options {
    pub progress: Option<tokio::sync::mpsc::Sender<Progress>>,
    pub cancel: CancelSignal,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            progress: None,
            cancel: CancelSignal::never(),
        }
    }
}

/// A finished send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendReport {
    pub files: usize,
    pub dirs: usize,
    /// Content bytes of all files.
    pub bytes: u64,
    /// Content bytes sent in this run.
    pub sent: u64,
    /// Content bytes not sent because the receiver had them (resume).
    pub resumed: u64,
    /// Where the receiver saved each file (relative to its receive folder).
    pub saved_as: Vec<String>,
    /// What was left out (symlinks, sockets, devices inside a folder).
    pub skipped: Vec<PathBuf>,
}

/// A finished receive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiveReport {
    /// The offer was declined (by policy or the user): nothing was written.
    pub declined: bool,
    /// The files saved, verified, at their final paths.
    pub files: Vec<PathBuf>,
    pub dirs: usize,
    pub bytes: u64,
    /// Content bytes received in this run.
    pub received: u64,
    /// Content bytes that were already here from an earlier run (resume).
    pub resumed: u64,
}

/// Why a transfer did not complete. Partial files are kept for a later resume except
/// where it says otherwise.
#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    #[error("the other side declined{}", reason_suffix(.0))]
    Declined(String),
    #[error("cancelled{}", reason_suffix(.0))]
    Cancelled(String),
    #[error("the other side cancelled{}", reason_suffix(.0))]
    PeerCancelled(String),
    #[error("the other side stopped: {code}{}", reason_suffix(.message))]
    Peer { code: ErrorCode, message: String },
    #[error("the other side broke the file protocol: {0}")]
    Protocol(#[from] proto::ProtoError),
    #[error("the link broke before the transfer finished (partial files are kept; send again to resume)")]
    Interrupted,
    #[error("disk full writing {path} (the partial file is kept; free some space and send again to resume)")]
    DiskFull { path: String },
    #[error("not enough space: the transfer needs {} and {} is free", human_bytes(*.needed), human_bytes(*.free))]
    NoSpace { needed: u64, free: u64 },
    #[error("{path} is being received by another transfer right now")]
    Busy { path: String },
    #[error("permission denied: {path}")]
    PermissionDenied { path: String },
    #[error("{path}: content does not match its SHA-256 (the partial file was removed)")]
    Verify { path: String },
    #[error("{path} changed while it was being sent")]
    SourceChanged { path: String },
    #[error("cannot place {path}: {why}")]
    Place {
        path: String,
        #[source]
        why: paths::PlaceError,
    },
    #[error("cannot send {path}: {why}")]
    Source { path: PathBuf, why: String },
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: io::Error,
    },
    #[error("the channel failed: {0}")]
    Wire(io::Error),
    /// See [`peer_takes_files`].
    #[error(
        "files need qrchat on both sides (the other side is a browser page, which takes chat only)"
    )]
    NeedsQrchat,
    #[error("not connected")]
    NotConnected,
    #[error("could not open a channel for it: {0}")]
    NoChannel(String),
}

/// The rule that files need a qrchat peer, in one place: a browser page takes chat only.
/// `qrchat` is what the session said of the peer (None: not known yet; the session then
/// refuses the file channel itself, which [`channel_error`] words the same).
pub fn peer_takes_files(qrchat: Option<bool>) -> Result<(), TransferError> {
    match qrchat {
        Some(false) => Err(TransferError::NeedsQrchat),
        _ => Ok(()),
    }
}

/// Why a transfer's channel did not open, as the transfer's error.
pub fn channel_error(e: crate::rtc::RtcError) -> TransferError {
    match e {
        crate::rtc::RtcError::NotQrchat => TransferError::NeedsQrchat,
        e => TransferError::NoChannel(e.to_string()),
    }
}

/// `1.5 MB`, `320 kB`, `17 B` (decimal units, as file managers show sizes).
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 6] = ["B", "kB", "MB", "GB", "TB", "PB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1000.0 && u < UNITS.len() - 1 {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else if v < 10.0 {
        format!("{v:.1} {}", UNITS[u])
    } else {
        format!("{v:.0} {}", UNITS[u])
    }
}

fn reason_suffix(r: &str) -> String {
    if r.is_empty() {
        String::new()
    } else {
        format!(": {}", crate::chat::sanitize_line(r))
    }
}

impl TransferError {
    /// The code told to the peer when this side stops with this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            TransferError::DiskFull { .. } | TransferError::NoSpace { .. } => ErrorCode::DiskFull,
            TransferError::PermissionDenied { .. } => ErrorCode::PermissionDenied,
            TransferError::Verify { .. } => ErrorCode::Verify,
            TransferError::SourceChanged { .. } => ErrorCode::SourceChanged,
            TransferError::Protocol(_) | TransferError::Place { .. } => ErrorCode::Protocol,
            _ => ErrorCode::Io,
        }
    }
}

#[cfg(test)]
mod tests;
