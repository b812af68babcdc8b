//! Delivery you can see (issue 17): message ids and acks between qrchat peers over the
//! real WebRTC stack, the resend after a re-pairing with the same app, and what a headless
//! run says about messages that never arrived.
//!
//! The re-pairing test runs two sessions through a UDP relay on loopback that the test
//! can tell to drop one direction or both (the same rerouting as `lossy.rs`), so a message
//! can be shown while its ack is lost, or lost itself.

use std::net::SocketAddr;
use std::process::Command;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use qrchat::chat::delivery::{self, Mark};
use qrchat::rtc::{CloseReason, Identity, RtcConfig, Session, SessionEvent};
use tokio::net::UdpSocket;
use tokio::sync::mpsc::{self, UnboundedReceiver};

use crate::common::wait_for;
use crate::lossy::reroute;
use crate::netns::{Proc, BIN};

const T: Duration = Duration::from_secs(20);

/// What the relay lets through.
const BOTH: u8 = 0;
const ONLY_A_TO_B: u8 = 1;
const NONE: u8 = 2;

/// One direction: from `from`'s peer to the address last seen on `to`, while `pass` says so.
fn pump(
    from: Arc<UdpSocket>,
    to: Arc<UdpSocket>,
    dst: Arc<Mutex<Option<SocketAddr>>>,
    src: Arc<Mutex<Option<SocketAddr>>>,
    mode: Arc<AtomicU8>,
    a_to_b: bool,
) {
    tokio::spawn(async move {
        let mut buf = vec![0u8; 65536];
        loop {
            let Ok((n, from_addr)) = from.recv_from(&mut buf).await else {
                return;
            };
            *src.lock().unwrap() = Some(from_addr);
            let pass = match mode.load(Ordering::Relaxed) {
                BOTH => true,
                ONLY_A_TO_B => a_to_b,
                _ => false,
            };
            let Some(d) = *dst.lock().unwrap() else {
                continue;
            };
            if pass {
                let _ = to.send_to(&buf[..n], d).await;
            }
        }
    });
}

struct Side {
    cfg: RtcConfig,
}

impl Side {
    fn new() -> Side {
        Side {
            cfg: RtcConfig {
                identity: Some(Identity::generate().unwrap()),
                delivery: Some(delivery::shared()),
                peer_timeout: Duration::from_secs(2),
                ..RtcConfig::loopback()
            },
        }
    }
    fn mark(&self, id: Option<delivery::MessageId>) -> Mark {
        delivery::lock(self.cfg.delivery.as_ref().unwrap()).mark(id)
    }
}

async fn open(rx: &mut UnboundedReceiver<SessionEvent>) {
    wait_for(rx, T, |e| {
        matches!(e, SessionEvent::Open { .. }).then_some(())
    })
    .await;
}

/// Pairs `a` (offerer) and `b`, through a relay whose mode the returned atomic sets.
async fn pair_via_relay(
    a: &Side,
    b: &Side,
) -> (
    (Session, UnboundedReceiver<SessionEvent>),
    (Session, UnboundedReceiver<SessionEvent>),
    Arc<AtomicU8>,
) {
    let pa = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
    let pb = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
    let a_addr = Arc::new(Mutex::new(None));
    let b_addr = Arc::new(Mutex::new(None));
    let mode = Arc::new(AtomicU8::new(BOTH));
    let (atx, mut arx) = mpsc::unbounded_channel();
    let (btx, mut brx) = mpsc::unbounded_channel();
    let alice = Session::offer(&a.cfg, atx).await.unwrap();
    let (real_a, offer) = reroute(alice.local_description(), pb.local_addr().unwrap());
    *a_addr.lock().unwrap() = Some(real_a);
    let bob = Session::answer(&b.cfg, &offer, btx).await.unwrap();
    let (real_b, answer) = reroute(bob.local_description(), pa.local_addr().unwrap());
    *b_addr.lock().unwrap() = Some(real_b);
    // pa faces alice: what alice sends goes on to bob (a -> b), and back.
    pump(
        pa.clone(),
        pb.clone(),
        b_addr.clone(),
        a_addr.clone(),
        mode.clone(),
        true,
    );
    pump(pb, pa, a_addr, b_addr, mode.clone(), false);
    alice.accept_answer(&answer).await.unwrap();
    open(&mut arx).await;
    open(&mut brx).await;
    ((alice, arx), (bob, brx), mode)
}

async fn message(rx: &mut UnboundedReceiver<SessionEvent>) -> String {
    wait_for(rx, T, |e| match e {
        SessionEvent::Message(m) => Some(m.clone()),
        _ => None,
    })
    .await
}

async fn closed(rx: &mut UnboundedReceiver<SessionEvent>) -> CloseReason {
    wait_for(rx, T, |e| match e {
        SessionEvent::Closed(r) => Some(r.clone()),
        _ => None,
    })
    .await
}

/// Alice's messages: two shown by Bob whose acks were lost, one lost itself; the link ends
/// for good (both give up); a re-pairing of the same two apps sends all three again, in
/// order, and Bob shows only the one he never saw; all three end delivered, none before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_re_pairing_with_the_same_app_sends_the_undelivered_again_and_shows_each_once() {
    let (a, b) = (Side::new(), Side::new());
    let ((alice, mut arx), (bob, mut brx), mode) = pair_via_relay(&a, &b).await;

    let first = alice.send_marked("before").await.unwrap();
    assert_eq!(message(&mut brx).await, "before");
    let ids = wait_for(&mut arx, T, |e| match e {
        SessionEvent::Delivered(ids) => Some(ids.clone()),
        _ => None,
    })
    .await;
    assert_eq!(ids, vec![first.unwrap()]);
    assert_eq!(a.mark(first), Mark::Delivered);

    // Bob's side goes silent: Alice's messages arrive, Bob's acks do not.
    mode.store(ONLY_A_TO_B, Ordering::Relaxed);
    let m1 = alice.send_marked("during 1").await.unwrap();
    let m2 = alice.send_marked("during 2").await.unwrap();
    assert_eq!(message(&mut brx).await, "during 1");
    assert_eq!(message(&mut brx).await, "during 2");
    // Then nothing gets through.
    tokio::time::sleep(Duration::from_millis(300)).await;
    mode.store(NONE, Ordering::Relaxed);
    let m3 = alice.send_marked("during 3").await.unwrap();
    assert_eq!(a.mark(m1), Mark::Pending, "shown, but its ack never came");
    assert_eq!(a.mark(m3), Mark::Pending);
    assert_eq!(closed(&mut arx).await, CloseReason::PeerLost);
    let _ = closed(&mut brx).await;
    alice.close().await;
    bob.close().await;
    let lost = delivery::lock(a.cfg.delivery.as_ref().unwrap()).link_ended();
    assert_eq!(
        lost.iter().map(|u| u.text.as_str()).collect::<Vec<_>>(),
        ["during 1", "during 2", "during 3"]
    );
    assert_eq!(a.mark(m2), Mark::NotDelivered);

    // The same two apps pair again.
    let ((alice, mut arx), (bob, mut brx), _mode) = pair_via_relay(&a, &b).await;
    let delivered = wait_for(&mut arx, T, |e| match e {
        SessionEvent::Delivered(ids) if ids.contains(&m3.unwrap()) => Some(ids.clone()),
        _ => None,
    })
    .await;
    assert!(delivered.contains(&m3.unwrap()), "{delivered:?}");
    for id in [m1, m2, m3] {
        assert_eq!(a.mark(id), Mark::Delivered);
    }
    // Bob shows "during 3" once, and nothing of what he had shown already.
    bob.send("and now?").await.unwrap();
    assert_eq!(message(&mut brx).await, "during 3");
    alice.send("after").await.unwrap();
    assert_eq!(message(&mut brx).await, "after");
    assert_eq!(message(&mut arx).await, "and now?");
    alice.close().await;
    bob.close().await;
}

/// Bad `--send` / `--receive` paths end the run before any code is printed: non-zero,
/// stdout empty, the path and the reason on stderr.
#[test]
fn bad_send_or_receive_paths_print_no_code() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a file");
    std::fs::write(&file, b"x").unwrap();
    let missing = dir.path().join("missing.bin");
    let cases: Vec<(Vec<String>, String)> = vec![
        (
            vec![
                "offer".into(),
                "--send".into(),
                missing.display().to_string(),
            ],
            format!("--send {}: no such file or folder", missing.display()),
        ),
        (
            vec![
                "answer".into(),
                "--send".into(),
                missing.display().to_string(),
                "QNOTACODE".into(),
            ],
            format!("--send {}: no such file or folder", missing.display()),
        ),
        (
            vec![
                "offer".into(),
                "--receive".into(),
                file.display().to_string(),
            ],
            format!("--receive {}: not a folder", file.display()),
        ),
        (
            vec![
                "answer".into(),
                "--receive".into(),
                file.join("inbox").display().to_string(),
                "QNOTACODE".into(),
            ],
            format!(
                "--receive {}: cannot create it",
                file.join("inbox").display()
            ),
        ),
    ];
    for (args, want) in cases {
        let out = Command::new(BIN)
            .args(&args)
            .args(["--bind", "127.0.0.1"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?} printed a code");
        assert!(err.contains(&want), "{args:?}: {err}");
        assert!(!err.contains("gathering"), "{args:?} started: {err}");
    }
    // A missing --receive folder is made (as --history's is), then the code comes.
    let inbox = dir.path().join("new/inbox");
    let mut alice = Proc::loopback(&["offer", "--receive", &inbox.display().to_string()]);
    let _code = alice.line(T);
    assert!(inbox.is_dir());
    alice.hang_up();
    let _ = alice.exit(T);
    // --log makes its folder too.
    let log = dir.path().join("logs/deep/q.log");
    let out = Command::new(BIN)
        .args([
            "scan",
            "--log",
            &log.display().to_string(),
            "/nonexistent.png",
        ])
        .output()
        .unwrap();
    assert!(log.is_file(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// The peer stops (SIGSTOP) past Alice's peer timeout while she types: on exit she names
/// each line never confirmed, and exits non-zero.
#[test]
fn headless_names_undelivered_lines_on_exit() {
    let (mut alice, mut bob) = Proc::loopback_pair(&["--peer-timeout", "3"], &[]);
    alice.say("are you there?");
    assert_eq!(bob.line(T), "are you there?");
    // Bob's ack must be back before he stops: wait for the round trip of a reply.
    bob.say("yes");
    assert_eq!(alice.line(T), "yes");
    std::thread::sleep(Duration::from_millis(300));
    bob.signal("-STOP");
    alice.say("sent during the outage 1");
    alice.say("sent during the outage 2");
    let (code, err) = alice.exit(Duration::from_secs(30));
    bob.signal("-CONT");
    assert_ne!(code, 0, "{err}");
    assert!(err.contains("2 message(s) not delivered"), "{err}");
    assert!(
        err.contains("not delivered: sent during the outage 1")
            && err.contains("not delivered: sent during the outage 2"),
        "{err}"
    );
    assert!(!err.contains("not delivered: are you there?"), "{err}");
    let last = err.lines().last().unwrap_or_default();
    assert!(last.contains("2 message(s) not delivered"), "{err}");
    bob.hang_up();
    let _ = bob.exit(T);
}

/// The peer's lines come before "the peer left"; a side whose input ended says what it
/// waits for; SIGTERM leaves the chat with a reason line (the peer sees it leave).
#[test]
fn headless_says_what_it_waits_for_and_leaves_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = dir.path().join("inbox").display().to_string();
    let (mut alice, mut bob) = Proc::loopback_pair(&["--receive", &inbox], &[]);
    alice.hang_up();
    alice.wait_stderr("stdin closed; waiting for the other side to finish", T);
    for i in 0..5 {
        bob.say(&format!("line {i}"));
    }
    bob.hang_up();
    let mut last = None;
    for i in 0..5 {
        let (at, l) = alice.line_at(T);
        assert_eq!(l, format!("line {i}"));
        last = Some(at);
    }
    // Alice ends once Bob is done (or gone); whichever she says, it comes after his lines.
    let t0 = std::time::Instant::now();
    let end = loop {
        if let Some((at, _)) = alice
            .stderr_line("the peer left")
            .or_else(|| alice.stderr_line("leaving the chat"))
        {
            break at;
        }
        assert!(t0.elapsed() < T, "{}", alice.stderr());
        std::thread::sleep(Duration::from_millis(10));
    };
    // stdout and stderr are two pipes, each timestamped by its own reader thread: under a
    // loaded machine those stamps can cross by some milliseconds even when the lines were
    // written in order (CI saw it once), so allow a little slack.
    assert!(
        last.unwrap() <= end + Duration::from_millis(250),
        "{}",
        alice.stderr()
    );
    let (code, err) = alice.exit(T);
    assert_eq!(code, 0, "{err}");
    let (code, err_b) = bob.exit(T);
    assert_eq!(code, 0, "{err_b}");

    // SIGTERM in the middle of a chat.
    let (alice, bob) = Proc::loopback_pair(&[], &[]);
    alice.wait_stderr("safety number", T);
    alice.signal("-TERM");
    let (code, err) = alice.exit(T);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("terminated (SIGTERM); leaving the chat"),
        "{err}"
    );
    let (code, err) = bob.exit(T);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("the peer left"), "{err}");
}
