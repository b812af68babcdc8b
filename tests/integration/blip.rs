//! A blip mid-chat ends nothing: two real `qrchat` processes in two network namespaces
//! joined by a veth pair (tests/integration/netns.rs); the test sets one end down for 30 s
//! (a cable out, Wi-Fi gone) while both sides type, then up again. Every message arrives,
//! in order; neither side exits; both say the link was interrupted and came back.
//!
//! A transfer under way pauses through a blip and finishes once the link is back (its
//! content on the bulk TCP connection, transfer::bulk).
//!
//! Needs root (network namespaces) and iproute2: without them the test says why and returns.

use std::thread;
use std::time::{Duration, Instant};

use crate::netns::Net;

const T: Duration = Duration::from_secs(20);
const BLIP: Duration = Duration::from_secs(30);

#[test]
fn a_30_s_blip_loses_nothing_and_ends_nothing() {
    crate::netns_or_skip!("ip");
    let mut net = Net::new();
    let (a, b) = net.lan_pair();
    let mut alice = net.qrchat(&a, &["offer", "--bind", "10.99.50.1"]);
    let offer = alice.line(T);
    let mut bob = net.qrchat(&b, &["answer", "--bind", "10.99.50.2", &offer]);
    let answer = bob.line(T);
    alice.say(&answer);
    alice.say("before the blip");
    assert_eq!(bob.line(T), "before the blip");

    net.set_link(&a, "eth0", false);
    let down = Instant::now();
    // Both notice; neither gives up.
    alice.wait_stderr("link interrupted", T);
    bob.wait_stderr("link interrupted", T);
    let mut i = 0;
    while down.elapsed() < BLIP {
        alice.say(&format!("alice during {i}"));
        bob.say(&format!("bob during {i}"));
        i += 1;
        thread::sleep(Duration::from_secs(3));
        assert!(alice.running(), "alice exited: {}", alice.stderr());
        assert!(bob.running(), "bob exited: {}", bob.stderr());
    }
    net.set_link(&a, "eth0", true);
    let up = Instant::now();

    for k in 0..i {
        assert_eq!(bob.line(T), format!("alice during {k}"));
        assert_eq!(alice.line(T), format!("bob during {k}"));
    }
    eprintln!(
        "blip of {:?}: {i} messages each way delivered in order, the last {:?} after the path came back",
        up - down,
        up.elapsed()
    );
    alice.wait_stderr("link back", T);
    bob.wait_stderr("link back", T);

    alice.say("after the blip");
    assert_eq!(bob.line(T), "after the blip");
    alice.hang_up();
    bob.hang_up();
    let (code_a, err_a) = alice.exit(T);
    let (code_b, err_b) = bob.exit(T);
    assert_eq!(code_a, 0, "{err_a}");
    assert_eq!(code_b, 0, "{err_b}");
}

/// Bytes in the files of `dir` (the receiver's partial file included).
fn bytes_in(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.metadata().ok())
        .filter(|m| m.is_file())
        .map(|m| m.len())
        .sum()
}

/// A transfer pauses through a blip and goes on: a headless `--send` of a file to a headless
/// `--receive` in two namespaces; the test takes the link down once part of the file has
/// arrived. Nothing more arrives while it is down, neither side exits, and once it is back
/// the file finishes, verified, both exit 0, and the bytes are the sent ones.
#[test]
fn a_transfer_pauses_through_a_blip_and_finishes() {
    crate::netns_or_skip!("ip");
    let mut net = Net::new();
    let (a, b) = net.lan_pair();
    let src = net.dir().join("video.bin");
    let data = crate::transfer::noise(96 << 20, 5);
    std::fs::write(&src, &data).unwrap();
    let inbox = net.dir().join("inbox");
    std::fs::create_dir(&inbox).unwrap();

    let (mut alice, mut bob) = net.send_on_lan(&a, &b, &src, &inbox);
    let bob_log = net.dir().join("bob.log");

    // Down once a few MiB have arrived.
    let t0 = Instant::now();
    while bytes_in(&inbox) < 4 << 20 {
        assert!(
            t0.elapsed() < T,
            "the transfer never started: {}",
            bob.stderr()
        );
        thread::sleep(Duration::from_millis(20));
    }
    net.set_link(&a, "eth0", false);
    let down = Instant::now();
    alice.wait_stderr("link interrupted", T);
    bob.wait_stderr("link interrupted", T);
    // What was in flight lands in the first moments; then nothing more.
    thread::sleep(Duration::from_secs(2));
    let during = bytes_in(&inbox);
    while down.elapsed() < Duration::from_secs(12) {
        thread::sleep(Duration::from_secs(1));
        assert!(alice.running(), "alice exited: {}", alice.stderr());
        assert!(bob.running(), "bob exited: {}", bob.stderr());
    }
    let after = bytes_in(&inbox);
    assert_eq!(during, after, "bytes arrived while the link was down");
    assert!(
        after < data.len() as u64,
        "the whole file arrived before the link went down: make it bigger"
    );
    net.set_link(&a, "eth0", true);
    let up = Instant::now();

    let (code_b, err_b) = bob.exit(Duration::from_secs(120));
    let (code_a, err_a) = alice.exit(T);
    eprintln!(
        "{} MiB of {} MiB had arrived when the link went down for {:?}; done {:?} after it came back",
        after >> 20,
        data.len() >> 20,
        up - down,
        up.elapsed()
    );
    assert_eq!(code_b, 0, "{err_b}");
    assert_eq!(code_a, 0, "{err_a}");
    assert!(err_b.contains("verified: saved as"), "{err_b}");
    assert!(err_a.contains("verified by the peer"), "{err_a}");
    assert!(err_a.contains("link back") && err_b.contains("link back"));
    let got = std::fs::read(inbox.join("video.bin")).unwrap();
    assert!(got == data, "the received file differs from the sent one");
    // Two hosts on one network: the content went over the bulk TCP connection, and the
    // blip paused it as it pauses the data channel.
    let log = std::fs::read_to_string(&bob_log).unwrap();
    assert!(
        log.contains("bulk: reading the transfer from the proven TCP connection"),
        "{log}"
    );
}
