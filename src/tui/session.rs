//! The app's small seam over the network (DESIGN.md "Session trait"): the TUI talks to a
//! [`Connector`] and the [`Link`] it yields, and hears back through `SessionEvent`s, so
//! the screens are tested with [`Scripted`] while `rtc` is tested against real sockets.

use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use tokio::sync::mpsc::UnboundedSender;

pub use crate::signal::{SdpKind, SessionDescription};

pub use super::seams::SessionEvent;

/// Makes sessions: an offer (we start) or an answer to a peer's offer (we join).
pub trait Connector: Send + Sync {
    /// Start a session and make an offer; resolves once gathering is done.
    fn offer(
        &self,
        events: UnboundedSender<SessionEvent>,
    ) -> BoxFuture<'static, Result<Arc<dyn Link>, String>>;
    /// Answer a peer's offer; resolves once gathering is done.
    fn answer(
        &self,
        offer: SessionDescription,
        events: UnboundedSender<SessionEvent>,
    ) -> BoxFuture<'static, Result<Arc<dyn Link>, String>>;
}

/// One live session.
pub trait Link: Send + Sync {
    /// Our complete local description (post gathering).
    fn local_description(&self) -> SessionDescription;
    /// Our DTLS certificate fingerprint (to refuse our own code scanned back).
    fn local_fingerprint(&self) -> [u8; 32];
    fn accept_answer(&self, answer: SessionDescription) -> BoxFuture<'_, Result<(), String>>;
    fn send(&self, text: String) -> BoxFuture<'_, Result<(), String>>;
    fn close(&self) -> BoxFuture<'_, ()>;
}

/// A scripted session for tests: hands out a fixed local description, replays scripted
/// events at each step and records what the app sent.
#[derive(Clone, Default)]
pub struct Scripted {
    pub local: Option<SessionDescription>,
    pub fingerprint: [u8; 32],
    /// Emitted while "gathering", before `offer`/`answer` resolves.
    pub on_gather: Vec<SessionEvent>,
    /// Emitted once the answer is accepted (starter) or right after answering (joiner).
    pub on_connect: Vec<SessionEvent>,
    /// When set, `offer`/`answer` fail with this message.
    pub fail: Option<String>,
    pub log: Arc<Mutex<ScriptLog>>,
}

/// What the app asked of a [`Scripted`] session.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ScriptLog {
    pub offers: usize,
    pub answered: Vec<SessionDescription>,
    pub accepted: Vec<SessionDescription>,
    pub sent: Vec<String>,
    pub closed: usize,
}

struct ScriptedLink {
    script: Scripted,
    events: UnboundedSender<SessionEvent>,
}

impl Scripted {
    fn start(
        &self,
        kind: SdpKind,
        events: UnboundedSender<SessionEvent>,
    ) -> Result<Arc<dyn Link>, String> {
        if let Some(err) = &self.fail {
            return Err(err.clone());
        }
        for ev in &self.on_gather {
            let _ = events.send(ev.clone());
        }
        let mut script = self.clone();
        if let Some(local) = &mut script.local {
            local.kind = kind;
        }
        Ok(Arc::new(ScriptedLink { script, events }))
    }
}

impl Connector for Scripted {
    fn offer(
        &self,
        events: UnboundedSender<SessionEvent>,
    ) -> BoxFuture<'static, Result<Arc<dyn Link>, String>> {
        self.log.lock().unwrap().offers += 1;
        let r = self.start(SdpKind::Offer, events);
        Box::pin(async move { r })
    }

    fn answer(
        &self,
        offer: SessionDescription,
        events: UnboundedSender<SessionEvent>,
    ) -> BoxFuture<'static, Result<Arc<dyn Link>, String>> {
        self.log.lock().unwrap().answered.push(offer);
        let r = self.start(SdpKind::Answer, events.clone());
        if r.is_ok() {
            for ev in &self.on_connect {
                let _ = events.send(ev.clone());
            }
        }
        Box::pin(async move { r })
    }
}

impl Link for ScriptedLink {
    fn local_description(&self) -> SessionDescription {
        self.script.local.clone().unwrap_or(SessionDescription {
            kind: SdpKind::Offer,
            sdp: String::new(),
        })
    }
    fn local_fingerprint(&self) -> [u8; 32] {
        self.script.fingerprint
    }
    fn accept_answer(&self, answer: SessionDescription) -> BoxFuture<'_, Result<(), String>> {
        self.script.log.lock().unwrap().accepted.push(answer);
        for ev in &self.script.on_connect {
            let _ = self.events.send(ev.clone());
        }
        Box::pin(async { Ok(()) })
    }
    fn send(&self, text: String) -> BoxFuture<'_, Result<(), String>> {
        self.script.log.lock().unwrap().sent.push(text);
        Box::pin(async { Ok(()) })
    }
    fn close(&self) -> BoxFuture<'_, ()> {
        self.script.log.lock().unwrap().closed += 1;
        Box::pin(async {})
    }
}
