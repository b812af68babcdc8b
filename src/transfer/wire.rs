//! The wire helpers both directions share: the peer's messages read cancel-safely
//! ([`Inbox`]), and [`end`], the one place where a failure ends a transfer (what the peer
//! is told, and how the channel is closed).

use std::io;
use std::time::Duration;

use futures::future::BoxFuture;
use futures::FutureExt;

use super::proto::{self, Control, Msg};
use super::{TransferError, Wire};

/// How long a goodbye (an error or cancel message, the close) may take.
pub(super) const GOODBYE: Duration = Duration::from_secs(2);
/// How long our own close may take once the peer has closed (see [`last_word`]).
const CLOSED_GOODBYE: Duration = Duration::from_millis(100);

/// The next message from the peer, cancel-safe: an unfinished `recv` is kept for the
/// next call, so polling the inbox between chunks loses nothing.
pub(super) struct Inbox<'a, W: Wire> {
    pub(super) wire: &'a W,
    pending: Option<BoxFuture<'a, io::Result<Option<Msg>>>>,
}

impl<'a, W: Wire> Inbox<'a, W> {
    pub(super) fn new(wire: &'a W) -> Self {
        Inbox {
            wire,
            pending: None,
        }
    }

    pub(super) async fn next(&mut self) -> io::Result<Option<Msg>> {
        let wire = self.wire;
        let f = self.pending.get_or_insert_with(|| Box::pin(wire.recv()));
        let r = f.await;
        self.pending = None;
        r
    }

    /// A message if one is there now.
    pub(super) fn ready(&mut self) -> Option<io::Result<Option<Msg>>> {
        self.next().now_or_never()
    }
}

/// The end of a failed transfer, whichever side and whatever went wrong: tell the peer
/// why we stop (our cancel, or our error with its code), let it read that (see
/// [`last_word`]), close, and hand the error back. The peer's own stop (its cancel, error
/// or decline) and a dead link tell nothing: the channel is only closed (bounded).
pub(super) async fn end<W: Wire>(inbox: &mut Inbox<'_, W>, err: TransferError) -> TransferError {
    let wire = inbox.wire;
    let msg = match &err {
        TransferError::Cancelled(r) => Control::Cancel {
            reason: proto::clip_reason(r),
        },
        // the peer's own stop, or a dead link: nothing to tell
        TransferError::PeerCancelled(_)
        | TransferError::Peer { .. }
        | TransferError::Declined(_)
        | TransferError::Interrupted
        | TransferError::Wire(_) => {
            let _ = tokio::time::timeout(GOODBYE, wire.close()).await;
            return err;
        }
        other => Control::Error {
            code: other.code(),
            message: proto::clip_reason(&peer_message(other)),
        },
    };
    last_word(inbox, &msg).await;
    err
}

/// Send our last message and close, but only once the peer has read it: a close resets
/// the stream, and a reset may overtake data still in flight, so the side that has the
/// last word waits (bounded) for the other to close first. The other side closes as
/// soon as it reads `done`, `decline`, `cancel` or `error`.
pub(super) async fn last_word<W: Wire>(inbox: &mut Inbox<'_, W>, msg: &Control) {
    let wire = inbox.wire;
    let mut peer_closed = false;
    if let Ok(Ok(())) = tokio::time::timeout(GOODBYE, wire.send(proto::encode(msg))).await {
        peer_closed = tokio::time::timeout(GOODBYE, async {
            while let Ok(Some(_)) = inbox.next().await {}
        })
        .await
        .is_ok();
    }
    // Once the peer has closed, it has read our last word: nothing of ours is left to
    // deliver. A close that waits for our data to drain would then wait for an
    // acknowledgement that may never come (a peer that leaves right after closing takes
    // its last SACK with it), and the receiver's "verified" came 2 s after the sender's.
    let limit = if peer_closed { CLOSED_GOODBYE } else { GOODBYE };
    let _ = tokio::time::timeout(limit, wire.close()).await;
}

/// What the peer is told: relative paths only, never this machine's folders.
fn peer_message(err: &TransferError) -> String {
    match err {
        TransferError::Place { path, .. } => format!("the receiver cannot place {path}"),
        // the file's own name and why, never the folder it is in
        TransferError::Source { path, why } => match path.file_name() {
            Some(name) => format!("the sender cannot read {}: {why}", name.to_string_lossy()),
            None => format!("the sender cannot read a file: {why}"),
        },
        TransferError::Io { path, source } => format!("{path}: {}", source.kind()),
        other => other.to_string(),
    }
}

/// A message the state machine took but that has no place at this step.
pub(super) fn unexpected_event<E: std::fmt::Debug>(ev: &E) -> TransferError {
    TransferError::Protocol(proto::ProtoError::Malformed(format!(
        "unexpected message ({ev:?})"
    )))
}
