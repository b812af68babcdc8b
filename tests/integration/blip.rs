//! A blip mid-chat ends nothing: two real `qrchat` processes in two network namespaces
//! joined by a veth pair; the test sets one end down for 30 s (a cable out, Wi-Fi gone)
//! while both sides type, then up again. Every message arrives, in order; neither side
//! exits; both say the link was interrupted and came back.
//!
//! Needs root (network namespaces) and iproute2: without them the test says why and returns.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_qrchat");

/// Two namespaces `<tag>a`/`<tag>b` joined by veth `<tag>0`/`<tag>1`, 10.77.<n>.1 and .2;
/// removed on drop, also when the test fails.
struct Pair {
    a: String,
    b: String,
    addr_a: String,
    addr_b: String,
}

fn ip(args: &str) -> bool {
    Command::new("ip")
        .args(args.split_whitespace())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

impl Pair {
    fn new(n: u8) -> Option<Pair> {
        let tag = format!("qbl{}{n}", std::process::id() % 10000);
        let p = Pair {
            a: format!("{tag}a"),
            b: format!("{tag}b"),
            addr_a: format!("10.77.{n}.1"),
            addr_b: format!("10.77.{n}.2"),
        };
        let ok = ip(&format!("netns add {}", p.a))
            && ip(&format!("netns add {}", p.b))
            && ip(&format!(
                "link add {tag}0 netns {} type veth peer name {tag}1 netns {}",
                p.a, p.b
            ))
            && ip(&format!("-n {} addr add {}/24 dev {tag}0", p.a, p.addr_a))
            && ip(&format!("-n {} addr add {}/24 dev {tag}1", p.b, p.addr_b))
            && ip(&format!("-n {} link set {tag}0 up", p.a))
            && ip(&format!("-n {} link set {tag}1 up", p.b))
            && ip(&format!("-n {} link set lo up", p.a))
            && ip(&format!("-n {} link set lo up", p.b));
        ok.then_some(p)
    }

    fn set_a(&self, up: bool) {
        let dev = format!("{}0", &self.a[..self.a.len() - 1]);
        let state = if up { "up" } else { "down" };
        assert!(ip(&format!("-n {} link set {dev} {state}", self.a)));
    }
}

impl Drop for Pair {
    fn drop(&mut self) {
        ip(&format!("netns del {}", self.a));
        ip(&format!("netns del {}", self.b));
    }
}

struct Peer {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
    stderr: Arc<Mutex<String>>,
}

impl Peer {
    fn spawn(ns: &str, args: &[&str]) -> Peer {
        let mut child = Command::new("ip")
            .args(["netns", "exec", ns, BIN])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run qrchat in a namespace");
        let (tx, lines) = mpsc::channel();
        let out = child.stdout.take().unwrap();
        thread::spawn(move || {
            for l in BufReader::new(out).lines() {
                let Ok(l) = l else { break };
                if tx.send(l).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let sink = stderr.clone();
        let err = child.stderr.take().unwrap();
        thread::spawn(move || {
            for l in BufReader::new(err).lines() {
                let Ok(l) = l else { break };
                let mut s = sink.lock().unwrap();
                s.push_str(&l);
                s.push('\n');
            }
        });
        let stdin = child.stdin.take();
        Peer {
            child,
            stdin,
            lines,
            stderr,
        }
    }

    fn line(&self, limit: Duration) -> String {
        self.lines.recv_timeout(limit).unwrap_or_else(|_| {
            panic!(
                "no line within {limit:?}; stderr:\n{}",
                self.stderr.lock().unwrap()
            )
        })
    }

    fn say(&mut self, text: &str) {
        let s = self.stdin.as_mut().unwrap();
        writeln!(s, "{text}").unwrap();
        s.flush().unwrap();
    }

    fn running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    fn wait_stderr(&self, needle: &str, limit: Duration) {
        let t0 = Instant::now();
        while !self.stderr().contains(needle) {
            assert!(
                t0.elapsed() < limit,
                "no {needle:?} within {limit:?}; stderr:\n{}",
                self.stderr()
            );
            thread::sleep(Duration::from_millis(50));
        }
    }

    fn finish(mut self, limit: Duration) -> (i32, String) {
        self.stdin = None;
        let t0 = Instant::now();
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                return (st.code().unwrap_or(-1), self.stderr());
            }
            if t0.elapsed() > limit {
                let _ = self.child.kill();
                panic!("did not exit within {limit:?}; stderr:\n{}", self.stderr());
            }
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn can_run() -> Option<&'static str> {
    if !Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0"))
    {
        return Some("not root: network namespaces need root");
    }
    if !ip("-V") {
        return Some("iproute2 (`ip`) is not installed");
    }
    None
}

const T: Duration = Duration::from_secs(20);
const BLIP: Duration = Duration::from_secs(30);

#[test]
fn a_30_s_blip_loses_nothing_and_ends_nothing() {
    if let Some(why) = can_run() {
        eprintln!("SKIPPED a_30_s_blip_loses_nothing_and_ends_nothing: {why}");
        return;
    }
    let net = Pair::new(1).expect("namespaces and a veth pair");
    let mut alice = Peer::spawn(&net.a, &["offer", "--bind", &net.addr_a]);
    let offer = alice.line(T);
    let mut bob = Peer::spawn(&net.b, &["answer", "--bind", &net.addr_b, &offer]);
    let answer = bob.line(T);
    alice.say(&answer);
    alice.say("before the blip");
    assert_eq!(bob.line(T), "before the blip");

    net.set_a(false);
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
    net.set_a(true);
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
    let (code_a, err_a) = alice.finish(T);
    let (code_b, err_b) = bob.finish(T);
    assert_eq!(code_a, 0, "{err_a}");
    assert_eq!(code_b, 0, "{err_b}");
}
