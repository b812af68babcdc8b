//! A blip mid-chat ends nothing: two real `qrchat` processes in two network namespaces
//! joined by a veth pair (tests/integration/netns.rs); the test sets one end down for 30 s
//! (a cable out, Wi-Fi gone) while both sides type, then up again. Every message arrives,
//! in order; neither side exits; both say the link was interrupted and came back.
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
