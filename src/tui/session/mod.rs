//! The app's small seam over the network (DESIGN.md "Session trait", as gurk-rs keeps its
//! manager, its implementation and its test double side by side): the TUI talks to a
//! [`Connector`] and the [`Link`] it yields and hears back through `SessionEvent`s.
//! [`rtc`] is the real thing over `crate::rtc`; [`scripted`] is the double the screen
//! tests drive, while `rtc` itself is tested against real sockets.

pub mod rtc;
pub mod scripted;

use std::sync::Arc;

use futures::future::BoxFuture;
use tokio::sync::mpsc::UnboundedSender;

pub use self::rtc::connector;
pub use self::scripted::{ScriptLog, Scripted};
pub use crate::chat::delivery::MessageId;
pub use crate::rtc::{Channel, CloseReason, RtcError, SessionEvent};
pub use crate::signal::{SdpKind, SessionDescription};

/// Makes sessions: an offer (we start) or an answer to a peer's offer (we join).
pub trait Connector: Send + Sync {
    /// Start a session and make an offer; resolves once gathering is done.
    fn offer(
        &self,
        events: UnboundedSender<SessionEvent>,
    ) -> BoxFuture<'static, Result<Arc<dyn Link>, RtcError>>;
    /// Answer a peer's offer; resolves once gathering is done.
    fn answer(
        &self,
        offer: SessionDescription,
        events: UnboundedSender<SessionEvent>,
    ) -> BoxFuture<'static, Result<Arc<dyn Link>, RtcError>>;
}

/// One live session.
pub trait Link: Send + Sync {
    /// Our complete local description (post gathering).
    fn local_description(&self) -> SessionDescription;
    fn accept_answer(&self, answer: SessionDescription) -> BoxFuture<'_, Result<(), RtcError>>;
    /// Send a chat message; its id when the peer is qrchat (it is delivered once
    /// `SessionEvent::Delivered` names it), None for a browser peer (no acks, no marks).
    fn send(&self, text: String) -> BoxFuture<'_, Result<Option<MessageId>, RtcError>>;
    fn close(&self) -> BoxFuture<'_, ()>;
    /// Open a further channel (a file transfer's); resolves once it is open. Only a qrchat
    /// peer takes one (`SessionEvent::Peer` says which): else `RtcError::NotQrchat`.
    fn open_channel(&self, label: &str) -> BoxFuture<'static, Result<Channel, RtcError>>;
}
