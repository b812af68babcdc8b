//! A code changed on the way: a certificate fingerprint is altered between the two real
//! `qrchat` processes: in a browser-JSON offer, in a compact offer (re-encoded, checksum
//! and all, as someone in the middle would) and in a compact answer. The ICE credentials
//! do not depend on the fingerprint, so the path comes up and DTLS is what refuses.
//! Nothing connects, and both sides name what happened, within seconds, instead of
//! waiting or blaming the network.

use std::time::{Duration, Instant};

use qrchat::signal::{self, Format};

use crate::netns::Proc;

const T: Duration = Duration::from_secs(20);

/// The fingerprint in `sdp` with its first byte changed.
fn changed(sdp: &str) -> String {
    let at = sdp.find("a=fingerprint:sha-256 ").unwrap() + "a=fingerprint:sha-256 ".len();
    let byte = &sdp[at..at + 2];
    let other = if byte == "00" { "11" } else { "00" };
    format!("{}{other}{}", &sdp[..at], &sdp[at + 2..])
}

/// A compact code with its fingerprint changed, made into a valid compact code again.
fn changed_compact(code: &str) -> String {
    assert!(code.starts_with('Q'), "not compact: {code}");
    let mut d = signal::decode(code).unwrap().desc;
    d.sdp = changed(&d.sdp);
    let out = signal::encode(&d, Format::Compact).unwrap();
    assert_ne!(out, code);
    out
}

/// Both sides end with their reason: `checker` (whose DTLS saw the wrong certificate) says
/// it does not match the code, the other that its certificate was refused.
fn both_named(checker: Proc, other: Proc) {
    let t0 = Instant::now();
    let (code_c, err_c) = checker.exit(Duration::from_secs(20));
    let first = t0.elapsed();
    let (code_o, err_o) = other.exit(Duration::from_secs(20));
    eprintln!(
        "named after {first:?} (the side that checked) and {:?} (the other)",
        t0.elapsed()
    );
    assert_ne!(code_c, 0);
    assert!(
        err_c.contains("certificate does not match its code"),
        "{err_c}"
    );
    assert_ne!(code_o, 0);
    assert!(err_o.contains("refused my certificate"), "{err_o}");
    for err in [&err_c, &err_o] {
        assert!(!err.contains("no connection after"), "{err}");
    }
}

/// A compact pairing with `offer` applied to the offer on its way to Bob and `answer`
/// to the answer on its way back; both processes, Alice first.
/// Two scans (`--no-direct`): these codes are changed on their way through the QR.
fn compact_pairing(offer: fn(&str) -> String, answer: fn(&str) -> String) -> (Proc, Proc) {
    let mut alice = Proc::loopback(&["offer", "--no-direct"]);
    let code = offer(&alice.line(T));
    let bob = Proc::loopback(&["answer", "--no-direct", &code]);
    let reply = answer(&bob.line(T));
    alice.say(&reply);
    (alice, bob)
}

#[test]
fn a_changed_fingerprint_in_a_compact_offer_is_named_on_both_sides() {
    let (alice, bob) = compact_pairing(changed_compact, str::to_owned);
    both_named(bob, alice);
}

#[test]
fn a_changed_fingerprint_in_a_compact_answer_is_named_on_both_sides() {
    let (alice, bob) = compact_pairing(str::to_owned, changed_compact);
    both_named(alice, bob);
}

#[test]
fn a_changed_fingerprint_is_named_on_both_sides() {
    let mut alice = Proc::loopback(&["offer", "--json"]);
    let mut offer: serde_json::Value = serde_json::from_str(&alice.line(T)).unwrap();
    offer["sdp"] = changed(offer["sdp"].as_str().unwrap()).into();
    let bob = Proc::loopback(&["answer", &offer.to_string()]);
    let answer = bob.line(T);
    alice.say(&answer);
    both_named(bob, alice);
}
