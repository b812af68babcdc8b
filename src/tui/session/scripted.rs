//! The test double: a scripted session that hands out a fixed local description, replays
//! scripted events at each step and records what the app asked of it.

use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use tokio::sync::mpsc::UnboundedSender;

use super::{
    Channel, Connector, Link, MessageId, RtcError, SdpKind, SessionDescription, SessionEvent,
};

/// The chat id the scripted session's message ids carry.
pub const SCRIPTED_CHAT: u64 = 0x5c1;

/// A scripted session for tests: hands out a fixed local description, replays scripted
/// events at each step and records what the app sent.
#[derive(Clone, Default)]
pub struct Scripted {
    pub local: Option<SessionDescription>,
    /// Emitted while "gathering", before `offer`/`answer` resolves.
    pub on_gather: Vec<SessionEvent>,
    /// Emitted once the answer is accepted (starter) or right after answering (joiner).
    pub on_connect: Vec<SessionEvent>,
    /// When set, `offer`/`answer` fail with the error this makes (rtc's own errors).
    pub fail: Option<fn() -> RtcError>,
    /// Whether the peer is qrchat: said as `SessionEvent::Peer` when the peer's code is
    /// applied (before `on_connect`), and further channels are refused without it.
    pub qrchat: bool,
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
    /// Labels of the channels the app asked to open.
    pub channels: Vec<String>,
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
    ) -> Result<Arc<dyn Link>, RtcError> {
        if let Some(fail) = self.fail {
            return Err(fail());
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
    ) -> BoxFuture<'static, Result<Arc<dyn Link>, RtcError>> {
        self.log.lock().unwrap().offers += 1;
        let r = self.start(SdpKind::Offer, events);
        Box::pin(async move { r })
    }

    fn answer(
        &self,
        offer: SessionDescription,
        events: UnboundedSender<SessionEvent>,
    ) -> BoxFuture<'static, Result<Arc<dyn Link>, RtcError>> {
        self.log.lock().unwrap().answered.push(offer);
        let r = self.start(SdpKind::Answer, events.clone());
        if r.is_ok() {
            let _ = events.send(SessionEvent::Peer {
                qrchat: self.qrchat,
            });
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
    fn accept_answer(&self, answer: SessionDescription) -> BoxFuture<'_, Result<(), RtcError>> {
        self.script.log.lock().unwrap().accepted.push(answer);
        let _ = self.events.send(SessionEvent::Peer {
            qrchat: self.script.qrchat,
        });
        for ev in &self.script.on_connect {
            let _ = self.events.send(ev.clone());
        }
        Box::pin(async { Ok(()) })
    }
    fn send(&self, text: String) -> BoxFuture<'_, Result<Option<MessageId>, RtcError>> {
        let mut log = self.script.log.lock().unwrap();
        log.sent.push(text);
        // As a real session does: ids for a qrchat peer, numbered across the pairings of
        // the test (one log, as one chat's delivery state), none for a browser.
        let id = self.script.qrchat.then(|| MessageId {
            chat: SCRIPTED_CHAT,
            seq: log.sent.len() as u64,
        });
        Box::pin(async move { Ok(id) })
    }
    fn close(&self) -> BoxFuture<'_, ()> {
        self.script.log.lock().unwrap().closed += 1;
        Box::pin(async {})
    }
    fn open_channel(&self, label: &str) -> BoxFuture<'static, Result<Channel, RtcError>> {
        if !self.script.qrchat {
            // As a real session does: refused before anything is opened.
            return Box::pin(async { Err(RtcError::NotQrchat) });
        }
        self.script
            .log
            .lock()
            .unwrap()
            .channels
            .push(label.to_string());
        // No channel without a real session: the transfer fails as an unopened one would.
        Box::pin(async {
            Err(RtcError::Channel(
                "a scripted session has no channels".into(),
            ))
        })
    }
}
