//! Helpers shared by the integration tests: loopback-only configs and event waits.

use std::time::Duration;

use qrchat::rtc::{RtcConfig, SessionEvent};
use tokio::sync::mpsc::UnboundedReceiver;

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
