//! Resource hygiene: 50 pairings in one process leave no tasks, threads or sockets
//! behind. Its own test binary, so no other test's sockets are counted.

use std::time::Duration;

use qrchat::rtc::{RtcConfig, Session, SessionEvent};
use tokio::sync::mpsc;

fn loopback() -> RtcConfig {
    RtcConfig::loopback()
}

fn count(dir: &str) -> usize {
    std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0)
}

async fn wait_open(rx: &mut mpsc::UnboundedReceiver<SessionEvent>) {
    tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(ev) = rx.recv().await {
            if let SessionEvent::Open { .. } = ev {
                return;
            }
        }
        panic!("no open");
    })
    .await
    .expect("opened in time");
}

async fn one_pairing() {
    let (atx, mut arx) = mpsc::unbounded_channel();
    let (btx, mut brx) = mpsc::unbounded_channel();
    let a = Session::offer(&loopback(), atx).await.unwrap();
    let b = Session::answer(&loopback(), a.local_description(), btx)
        .await
        .unwrap();
    a.accept_answer(b.local_description()).await.unwrap();
    wait_open(&mut arx).await;
    wait_open(&mut brx).await;
    a.send("hi").await.unwrap();
    loop {
        if let Some(SessionEvent::Message(m)) = brx.recv().await {
            assert_eq!(m, "hi");
            break;
        }
    }
    a.close().await;
    b.close().await;
}

#[test]
fn fifty_pairings_leave_nothing_behind() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_keep_alive(Duration::from_millis(50))
        .enable_all()
        .build()
        .unwrap();
    let settle = |rt: &tokio::runtime::Runtime| {
        rt.block_on(async { tokio::time::sleep(Duration::from_millis(1500)).await });
        (
            count("/proc/self/fd"),
            count("/proc/self/task"),
            rt.metrics().num_alive_tasks(),
        )
    };
    rt.block_on(one_pairing());
    let (fd0, th0, tasks0) = settle(&rt);
    for _ in 0..50 {
        rt.block_on(one_pairing());
    }
    // Closing is asynchronous inside webrtc-rs: give stragglers a few seconds.
    let mut after = settle(&rt);
    for _ in 0..5 {
        if after.0 <= fd0 && after.2 <= tasks0 {
            break;
        }
        after = settle(&rt);
    }
    let (fd1, th1, tasks1) = after;
    eprintln!("after 1 pairing: {fd0} fds, {th0} threads, {tasks0} tasks; after 51: {fd1} fds, {th1} threads, {tasks1} tasks");
    assert!(fd1 <= fd0 + 2, "file descriptors leak: {fd0} -> {fd1}");
    assert!(th1 <= th0 + 2, "threads leak: {th0} -> {th1}");
    assert!(tasks1 <= tasks0 + 2, "tasks leak: {tasks0} -> {tasks1}");
}
