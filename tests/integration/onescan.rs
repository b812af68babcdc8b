//! One scan between two hosts on a LAN: two real `qrchat` processes in two network
//! namespaces joined by a veth pair (tests/integration/netns.rs). The joiner reads the
//! starter's code and nothing is fed back: the link comes up and messages cross. With the
//! starter's namespace dropping TCP (the delivery port filtered), the joiner's code is
//! still printed at once, its delivery fails within its time, and the two-scan path
//! works exactly as before.
//!
//! Needs root (network namespaces), iproute2 and iptables: without them the test says why
//! and returns.

use std::time::{Duration, Instant};

use crate::netns::Net;

const T: Duration = Duration::from_secs(20);

#[test]
fn one_scan_pairs_two_hosts_on_a_lan_with_nothing_fed_back() {
    crate::netns_or_skip!("ip");
    let mut net = Net::new();
    let (a, b) = net.lan_pair();
    let log = net.dir().join("offer.log");
    let mut alice = net.qrchat(
        &a,
        &[
            "offer",
            "--bind",
            "10.99.50.1",
            "--log",
            log.to_str().unwrap(),
        ],
    );
    let offer = alice.line(T);
    let t0 = Instant::now();
    let mut bob = net.qrchat(&b, &["answer", "--bind", "10.99.50.2", &offer]);
    let _answer_not_used = bob.line(T);
    bob.say("hello from the one who scanned");
    assert_eq!(alice.line(T), "hello from the one who scanned");
    alice.say("and back");
    assert_eq!(bob.line(T), "and back");
    eprintln!("joiner start to a message each way: {:?}", t0.elapsed());
    assert!(alice.stderr().contains("handed its answer over directly"));
    // Bob says "took my answer directly" unless the link opened before the hand-over's
    // acknowledgement came (then "connected" says it); he never falls back to the code.
    assert!(!bob.stderr().contains("could not hand my answer over"));
    alice.hang_up();
    let (code, err) = alice.exit(T);
    assert_eq!(code, 0, "{err}");
    let (code, err) = bob.exit(T);
    assert_eq!(code, 0, "{err}");
    // The listener closed once paired, and said what it saw.
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("listener closed; 1 accepted, 0 dropped"),
        "{text}"
    );
}

#[test]
fn with_the_port_filtered_the_second_code_pairs_as_before() {
    crate::netns_or_skip!("ip", "iptables");
    let mut net = Net::new();
    let (a, b) = net.lan_pair();
    // The starter's host drops every TCP packet (a firewall that lets WebRTC's UDP through).
    net.drop_tcp_in(&a);
    let mut alice = net.qrchat(&a, &["offer", "--bind", "10.99.50.1"]);
    let offer = alice.line(T);
    let t0 = Instant::now();
    let bob = net.qrchat(&b, &["answer", "--bind", "10.99.50.2", &offer]);
    let (at, answer) = bob.line_at(T);
    eprintln!(
        "the joiner's answer code appeared {:?} after its start",
        at - t0
    );
    let (failed, _) = bob.wait_stderr("could not hand my answer over directly", T);
    eprintln!("its delivery gave up {:?} after its start", failed - t0);
    assert!(
        alice.stderr_line("safety number").is_none(),
        "nothing got through the filter: {}",
        alice.stderr()
    );
    // The second scan: exactly as before.
    alice.say(&answer);
    alice.wait_stderr("safety number", T);
    alice.say("through the fallback");
    assert_eq!(bob.line(T), "through the fallback");
    alice.hang_up();
    let (code, err) = alice.exit(T);
    assert_eq!(code, 0, "{err}");
    let (code, err) = bob.exit(T);
    assert_eq!(code, 0, "{err}");
}
