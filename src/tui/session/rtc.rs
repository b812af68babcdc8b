//! The real [`Connector`]: WebRTC sessions from `crate::rtc`.

use std::sync::Arc;

use futures::future::BoxFuture;
use tokio::sync::mpsc::UnboundedSender;

use super::{Channel, Connector, Link, MessageId, RtcError, SessionDescription, SessionEvent};
use crate::rtc::{RtcConfig, Session};

/// Sessions made with this configuration.
pub fn connector(cfg: RtcConfig) -> Arc<dyn Connector> {
    Arc::new(RtcConnector(cfg))
}

struct RtcConnector(RtcConfig);
struct RtcLink(Session);

fn link(s: Session) -> Arc<dyn Link> {
    Arc::new(RtcLink(s))
}

impl Connector for RtcConnector {
    fn offer(
        &self,
        events: UnboundedSender<SessionEvent>,
    ) -> BoxFuture<'static, Result<Arc<dyn Link>, RtcError>> {
        let cfg = self.0.clone();
        Box::pin(async move { Session::offer(&cfg, events).await.map(link) })
    }
    fn answer(
        &self,
        offer: SessionDescription,
        events: UnboundedSender<SessionEvent>,
    ) -> BoxFuture<'static, Result<Arc<dyn Link>, RtcError>> {
        let cfg = self.0.clone();
        Box::pin(async move { Session::answer(&cfg, &offer, events).await.map(link) })
    }
}

impl Link for RtcLink {
    fn local_description(&self) -> SessionDescription {
        self.0.local_description().clone()
    }
    fn accept_answer(&self, answer: SessionDescription) -> BoxFuture<'_, Result<(), RtcError>> {
        Box::pin(async move { self.0.accept_answer(&answer).await })
    }
    fn send(&self, text: String) -> BoxFuture<'_, Result<Option<MessageId>, RtcError>> {
        Box::pin(async move { self.0.send_marked(&text).await })
    }
    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(self.0.close())
    }
    fn open_channel(&self, label: &str) -> BoxFuture<'static, Result<Channel, RtcError>> {
        Box::pin(self.0.open_channel(label))
    }
}
