//! Helpers shared by the integration tests: loopback-only configs and event waits.

use std::time::Duration;

use qrchat::rtc::{RtcConfig, Session, SessionEvent};
use qrchat::signal::{self, Format, SdpKind};
use tokio::sync::mpsc::{self, UnboundedReceiver};

/// Every test pairing stays on loopback: no packet leaves the machine.
pub fn loopback() -> RtcConfig {
    RtcConfig::loopback()
}

/// Wait for the first event `pick` accepts (others are dropped), or panic after `limit`
/// with what was seen instead.
pub async fn wait_for<T>(
    rx: &mut UnboundedReceiver<SessionEvent>,
    limit: Duration,
    mut pick: impl FnMut(&SessionEvent) -> Option<T>,
) -> T {
    let mut seen = Vec::new();
    let res = tokio::time::timeout(limit, async {
        while let Some(ev) = rx.recv().await {
            if let Some(t) = pick(&ev) {
                return Some(t);
            }
            seen.push(ev);
        }
        None
    })
    .await;
    match res {
        Ok(Some(t)) => t,
        Ok(None) => panic!("event stream ended; seen: {seen:?}"),
        Err(_) => panic!("no matching event within {limit:?}; seen: {seen:?}"),
    }
}

/// Alice offers, Bob answers, both codes through the real codec (as through a QR code),
/// and both wait until the chat is open. Returns each side with its events and the
/// safety number each side showed.
pub async fn pair() -> (
    (Session, UnboundedReceiver<SessionEvent>, String),
    (Session, UnboundedReceiver<SessionEvent>, String),
) {
    const T: Duration = Duration::from_secs(20);
    let (atx, mut arx) = mpsc::unbounded_channel();
    let (btx, mut brx) = mpsc::unbounded_channel();
    let alice = Session::offer(&loopback(), atx).await.expect("offer");
    let blob = signal::encode(alice.local_description(), Format::Auto).unwrap();
    let offer = signal::decode_expecting(&blob, SdpKind::Offer, None).unwrap();
    let bob = Session::answer(&loopback(), &offer.desc, btx)
        .await
        .expect("answer");
    let blob = signal::encode(bob.local_description(), Format::Auto).unwrap();
    let answer =
        signal::decode_expecting(&blob, SdpKind::Answer, Some(alice.local_description())).unwrap();
    alice.accept_answer(&answer.desc).await.expect("accept");
    let open = |e: &SessionEvent| match e {
        SessionEvent::Open { sas, .. } => Some(sas.clone()),
        _ => None,
    };
    let sas_a = wait_for(&mut arx, T, open).await;
    let sas_b = wait_for(&mut brx, T, open).await;
    ((alice, arx, sas_a), (bob, brx, sas_b))
}
