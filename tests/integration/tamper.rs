//! A code changed on the way: a certificate fingerprint is altered between the two real
//! `qrchat` processes: in a browser-JSON offer, in a compact offer (re-encoded, checksum
//! and all, as someone in the middle would) and in a compact answer. The ICE credentials
//! do not depend on the fingerprint, so the path comes up and DTLS is what refuses.
//! Nothing connects, and both sides name what happened, within seconds, instead of
//! waiting or blaming the network.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use qrchat::signal::{self, Format};

const BIN: &str = env!("CARGO_BIN_EXE_qrchat");

struct Proc {
    child: std::process::Child,
    out: BufReader<std::process::ChildStdout>,
    err: Arc<Mutex<String>>,
}

fn spawn(args: &[&str]) -> Proc {
    let mut child = Command::new(BIN)
        .args(args)
        .args(["--bind", "127.0.0.1"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = BufReader::new(child.stdout.take().unwrap());
    let err = Arc::new(Mutex::new(String::new()));
    let sink = err.clone();
    let pipe = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for l in BufReader::new(pipe).lines().map_while(Result::ok) {
            sink.lock().unwrap().push_str(&(l + "\n"));
        }
    });
    Proc { child, out, err }
}

impl Proc {
    fn line(&mut self) -> String {
        let mut l = String::new();
        self.out.read_line(&mut l).unwrap();
        l.trim().to_owned()
    }

    fn exit(mut self, limit: Duration) -> (i32, String) {
        let t0 = Instant::now();
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                return (st.code().unwrap_or(-1), self.err.lock().unwrap().clone());
            }
            if t0.elapsed() > limit {
                let _ = self.child.kill();
                panic!("no exit within {limit:?}: {}", self.err.lock().unwrap());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

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
fn compact_pairing(offer: fn(&str) -> String, answer: fn(&str) -> String) -> (Proc, Proc) {
    let mut alice = spawn(&["offer"]);
    let code = offer(&alice.line());
    let mut bob = spawn(&["answer", &code]);
    let reply = answer(&bob.line());
    let stdin = alice.child.stdin.as_mut().unwrap();
    writeln!(stdin, "{reply}").unwrap();
    stdin.flush().unwrap();
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
    let mut alice = spawn(&["offer", "--json"]);
    let mut offer: serde_json::Value = serde_json::from_str(&alice.line()).unwrap();
    offer["sdp"] = changed(offer["sdp"].as_str().unwrap()).into();
    let mut bob = spawn(&["answer", &offer.to_string()]);
    let answer = bob.line();
    let stdin = alice.child.stdin.as_mut().unwrap();
    writeln!(stdin, "{answer}").unwrap();
    stdin.flush().unwrap();
    both_named(bob, alice);
}
