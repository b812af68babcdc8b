//! A code changed on the way: the offer's certificate fingerprint is altered between the
//! two real `qrchat` processes (a browser-JSON code, whose ICE credentials travel in the
//! clear, so the path comes up and DTLS is what refuses). Nothing connects, and both sides
//! name what happened instead of waiting or blaming the network.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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

#[test]
fn a_changed_fingerprint_is_named_on_both_sides() {
    let mut alice = spawn(&["offer", "--json"]);
    let mut offer: serde_json::Value = serde_json::from_str(&alice.line()).unwrap();
    let sdp = offer["sdp"].as_str().unwrap().to_owned();
    let at = sdp.find("a=fingerprint:sha-256 ").unwrap() + "a=fingerprint:sha-256 ".len();
    let byte = &sdp[at..at + 2];
    let other = if byte == "00" { "11" } else { "00" };
    offer["sdp"] = format!("{}{other}{}", &sdp[..at], &sdp[at + 2..]).into();

    let mut bob = spawn(&["answer", &offer.to_string()]);
    let answer = bob.line();
    let stdin = alice.child.stdin.as_mut().unwrap();
    writeln!(stdin, "{answer}").unwrap();
    stdin.flush().unwrap();

    let t0 = Instant::now();
    let (code_b, err_b) = bob.exit(Duration::from_secs(20));
    let bob_after = t0.elapsed();
    let (code_a, err_a) = alice.exit(Duration::from_secs(20));
    eprintln!(
        "named after {bob_after:?} (the side that checked) and {:?} (the other)",
        t0.elapsed()
    );
    assert_ne!(code_b, 0);
    assert!(
        err_b.contains("certificate does not match its code"),
        "{err_b}"
    );
    assert_ne!(code_a, 0);
    assert!(err_a.contains("refused my certificate"), "{err_a}");
    assert!(!err_a.contains("no connection after"), "{err_a}");
}
