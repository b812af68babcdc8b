//! Network namespaces for tests: real networks made of veth pairs, NAT routers built with
//! iptables, and a real TURN server (coturn), all inside namespaces the test creates and
//! removes again (on drop, also when the test panics). Nothing here touches the machine's
//! own network: every address is in 10.99.0.0/16, and it exists only inside namespaces.
//!
//! ```text
//!  lan_pair():   [a] eth0 10.99.50.1 ─── eth0 10.99.50.2 [b]
//!
//!  internet() + behind_nat(i):
//!   [host i] eth0 10.99.1i.2 ── lan0 10.99.1i.1 [router i] wan0 10.99.0.1i ──┐
//!                                                                           br0 10.99.0.1 [wan]
//!   (coturn listens on 10.99.0.1:3478 in [wan])                              │
//! ```
//!
//! The routers behave like home routers: MASQUERADE on the way out (keeps the source port:
//! a port-restricted cone NAT; `--random-fully`: a new port per destination, symmetric),
//! and anything from outside that is not a reply to something sent out is dropped before
//! conntrack keeps it. The last part matters: a router that answers an early check (or
//! keeps a conntrack entry for it) takes the very port a later hole punch needs.
//!
//! Names are unique per process and test (`qrc<pid>t<n><role>`), so tests run in parallel;
//! namespaces left behind by a killed test run are removed by the next one.
//!
//! A failed test prints the end of every log (qrchat `--log` files, coturn's) in its
//! scratch directory; `QRCHAT_KEEP_NETNS_LOGS=1` keeps the directory.
//!
//! Needs root, `ip` (iproute2) and, for NAT and TURN, `iptables` and `turnserver`
//! (Debian's coturn). Without them, [`Net::new`] says why and the test returns.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex, Once};
use std::thread;
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_qrchat");

/// The TURN server's address on the "internet" of [`Net::internet`].
pub const INTERNET_SERVER: &str = "10.99.0.1";
pub const TURN_PORT: u16 = 3478;
pub const TURN_USER: &str = "qrchat";
pub const TURN_PASSWORD: &str = "not-a-real-secret";

/// What a NAT router does with outgoing flows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nat {
    /// Keeps the source port for every destination; lets in only replies from the exact
    /// address and port a flow went to (port-restricted cone).
    Cone,
    /// A new random source port for every destination (symmetric).
    Symmetric,
}

/// A namespace by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ns(pub String);

impl Ns {
    pub fn name(&self) -> &str {
        &self.0
    }
}

static SEQ: AtomicUsize = AtomicUsize::new(0);
static SWEEP: Once = Once::new();

/// Why a namespace test cannot run here, or None when it can.
pub fn unavailable(tools: &[&str]) -> Option<String> {
    let uid = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(1).map(str::to_owned))
        })
        .unwrap_or_default();
    if uid != "0" {
        return Some("network namespaces need root".into());
    }
    for tool in ["ip"].iter().chain(tools) {
        let found = std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
            .unwrap_or(false)
            || ["/usr/sbin", "/sbin"]
                .iter()
                .any(|d| std::path::Path::new(d).join(tool).is_file());
        if !found {
            let pkg = match *tool {
                "iptables" => "iptables",
                "turnserver" => "coturn",
                "tcpdump" => "tcpdump",
                _ => "iproute2",
            };
            return Some(format!(
                "{tool} is missing (Debian package {pkg}; scripts/install-deps installs it)"
            ));
        }
    }
    None
}

/// Skip (with the reason printed) unless root and the tools are there.
#[macro_export]
macro_rules! netns_or_skip {
    ($($tool:expr),* $(,)?) => {
        if let Some(why) = $crate::netns::unavailable(&[$($tool),*]) {
            eprintln!("skipped: {why}");
            return;
        }
    };
}

fn ip_cmd() -> Command {
    Command::new("ip")
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr).trim()
    );
    out
}

fn netns_list() -> Vec<String> {
    let out = ip_cmd()
        .args(["netns", "list"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    out.lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect()
}

/// Kill every process inside a namespace, then remove it.
fn remove_namespace(name: &str) {
    if let Ok(out) = ip_cmd().args(["netns", "pids", name]).output() {
        for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
            let _ = Command::new("kill").args(["-KILL", pid]).status();
        }
    }
    let _ = ip_cmd()
        .args(["netns", "del", name])
        .stderr(Stdio::null())
        .status();
    let _ = std::fs::remove_dir_all(PathBuf::from("/etc/netns").join(name));
}

/// Remove namespaces of earlier test runs whose process is gone (a killed `cargo test`).
fn sweep_stale() {
    for name in netns_list() {
        let Some(rest) = name.strip_prefix("qrc") else {
            continue;
        };
        let Some((pid, _)) = rest.split_once('t') else {
            continue;
        };
        if pid.parse::<u32>().is_ok()
            && pid != std::process::id().to_string()
            && !PathBuf::from("/proc").join(pid).exists()
        {
            remove_namespace(&name);
        }
    }
}

/// A test network. Dropping it kills what runs in it and removes every namespace.
pub struct Net {
    tag: String,
    namespaces: Vec<Ns>,
    daemons: Vec<Child>,
    dir: tempfile::TempDir,
    internet: Option<Ns>,
}

impl Net {
    /// A new, empty test network.
    pub fn new() -> Net {
        SWEEP.call_once(sweep_stale);
        let n = SEQ.fetch_add(1, Ordering::SeqCst);
        Net {
            tag: format!("qrc{}t{n}", std::process::id()),
            namespaces: Vec::new(),
            daemons: Vec::new(),
            dir: tempfile::tempdir().expect("tempdir"),
            internet: None,
        }
    }

    /// A scratch directory that lives as long as the network.
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// A namespace with loopback up and a resolver that stays inside it (127.0.0.1, where
    /// nothing answers): a host name looked up in a test never leaves the namespace.
    pub fn namespace(&mut self, role: &str) -> Ns {
        let ns = Ns(format!("{}{role}", self.tag));
        run(ip_cmd().args(["netns", "add", ns.name()]));
        self.namespaces.push(ns.clone());
        let etc = PathBuf::from("/etc/netns").join(ns.name());
        std::fs::create_dir_all(&etc).expect("mkdir /etc/netns/NAME");
        std::fs::write(
            etc.join("resolv.conf"),
            "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n",
        )
        .expect("write resolv.conf");
        self.ip(&ns, &["link", "set", "lo", "up"]);
        // No IPv6 router advertisements or DAD delays: these networks are IPv4.
        self.sysctl(&ns, "net.ipv6.conf.all.disable_ipv6", "1");
        self.sysctl(&ns, "net.ipv6.conf.default.disable_ipv6", "1");
        ns
    }

    /// `ip -n NS ARGS...`
    pub fn ip(&self, ns: &Ns, args: &[&str]) {
        run(ip_cmd().arg("-n").arg(ns.name()).args(args));
    }

    /// Run a command inside a namespace and wait for it (it must succeed).
    pub fn exec(&self, ns: &Ns, args: &[&str]) -> Output {
        run(ip_cmd().args(["netns", "exec", ns.name()]).args(args))
    }

    /// A per-namespace kernel setting (written under /proc/sys, no procps needed).
    fn sysctl(&self, ns: &Ns, key: &str, value: &str) {
        let path = format!("/proc/sys/{}", key.replace('.', "/"));
        self.exec(ns, &["sh", "-c", &format!("echo {value} > {path}")]);
    }

    /// Whether `addr:port` answers a TCP connect from inside `ns` within 2 s (a refused
    /// connection counts: the host is there). No ping or netcat needed.
    pub fn reaches(&self, ns: &Ns, addr: &str, port: u16) -> bool {
        let out = ip_cmd()
            .args(["netns", "exec", ns.name(), "timeout", "2", "bash", "-c"])
            .arg(format!("exec 3<>/dev/tcp/{addr}/{port}"))
            .output()
            .expect("run bash");
        out.status.success() || String::from_utf8_lossy(&out.stderr).contains("refused")
    }

    fn iptables(&self, ns: &Ns, rule: &str) {
        let args: Vec<&str> = rule.split_whitespace().collect();
        let mut all = vec!["iptables", "-w"];
        all.extend(args);
        self.exec(ns, &all);
    }

    /// A firewall on `ns` that drops every incoming TCP packet (WebRTC's UDP still passes).
    pub fn drop_tcp_in(&self, ns: &Ns) {
        self.exec(
            ns,
            &["iptables", "-w", "-A", "INPUT", "-p", "tcp", "-j", "DROP"],
        );
    }

    /// Drop each packet that leaves `ns` by its `eth0` at random, with `probability`
    /// (iptables' statistic match): a lossy link, seen from that side.
    pub fn drop_at_random(&self, ns: &Ns, probability: f64) {
        let p = format!("{probability}");
        self.exec(
            ns,
            &[
                "iptables",
                "-w",
                "-A",
                "OUTPUT",
                "-o",
                "eth0",
                "-m",
                "statistic",
                "--mode",
                "random",
                "--probability",
                &p,
                "-j",
                "DROP",
            ],
        );
    }

    /// A veth pair between two namespaces, each end named and addressed (`10.99.x.y/24`)
    /// and up.
    pub fn link(&mut self, a: &Ns, a_if: &str, a_addr: &str, b: &Ns, b_if: &str, b_addr: &str) {
        self.ip(
            a,
            &[
                "link",
                "add",
                a_if,
                "type",
                "veth",
                "peer",
                "name",
                b_if,
                "netns",
                b.name(),
            ],
        );
        for (ns, ifname, addr) in [(a, a_if, a_addr), (b, b_if, b_addr)] {
            if !addr.is_empty() {
                self.ip(ns, &["addr", "add", addr, "dev", ifname]);
            }
            self.ip(ns, &["link", "set", ifname, "up"]);
        }
    }

    /// Two hosts on one LAN, joined by a veth pair: `a` is 10.99.50.1, `b` 10.99.50.2,
    /// both on their `eth0`.
    pub fn lan_pair(&mut self) -> (Ns, Ns) {
        let a = self.namespace("a");
        let b = self.namespace("b");
        self.link(&a, "eth0", "10.99.50.1/24", &b, "eth0", "10.99.50.2/24");
        (a, b)
    }

    /// The "internet": one namespace with a bridge (10.99.0.1/24) that routers plug into.
    /// Public servers (the TURN server) run here, on [`INTERNET_SERVER`].
    pub fn internet(&mut self) -> Ns {
        if let Some(ns) = &self.internet {
            return ns.clone();
        }
        let ns = self.namespace("wan");
        self.ip(&ns, &["link", "add", "br0", "type", "bridge"]);
        self.ip(
            &ns,
            &[
                "addr",
                "add",
                &format!("{INTERNET_SERVER}/24"),
                "dev",
                "br0",
            ],
        );
        self.ip(&ns, &["link", "set", "br0", "up"]);
        // Like the real internet, packets to addresses nobody routes (a peer's private
        // host candidate) vanish somewhere far away: a default route into a dead-end veth
        // with a fixed neighbour, so sending succeeds and the packet is dropped. Without
        // it the send fails at once (ENETUNREACH), and coturn then closes that relay
        // socket for good, taking every other peer of the allocation with it.
        self.ip(
            &ns,
            &[
                "link", "add", "void0", "type", "veth", "peer", "name", "void1",
            ],
        );
        self.ip(&ns, &["link", "set", "void0", "up"]);
        self.ip(&ns, &["link", "set", "void1", "up"]);
        self.ip(
            &ns,
            &[
                "route",
                "add",
                "default",
                "via",
                "10.99.255.254",
                "dev",
                "void0",
                "onlink",
            ],
        );
        self.ip(
            &ns,
            &[
                "neigh",
                "add",
                "10.99.255.254",
                "lladdr",
                "02:00:00:00:00:01",
                "dev",
                "void0",
                "nud",
                "permanent",
            ],
        );
        self.internet = Some(ns.clone());
        ns
    }

    /// A host behind its own NAT router on the internet (`i` in 1..=9). Returns
    /// (host, router); the host is 10.99.1i.2, the router's public address 10.99.0.1i.
    pub fn behind_nat(&mut self, i: u8, nat: Nat) -> (Ns, Ns) {
        assert!((1..=9).contains(&i), "router index 1..=9");
        let wan = self.internet();
        let router = self.namespace(&format!("r{i}"));
        let host = self.namespace(&format!("h{i}"));
        let port = format!("r{i}");
        self.link(
            &router,
            "wan0",
            &format!("10.99.0.1{i}/24"),
            &wan,
            &port,
            "",
        );
        self.ip(&wan, &["link", "set", &port, "master", "br0"]);
        self.link(
            &router,
            "lan0",
            &format!("10.99.1{i}.1/24"),
            &host,
            "eth0",
            &format!("10.99.1{i}.2/24"),
        );
        self.ip(
            &host,
            &["route", "add", "default", "via", &format!("10.99.1{i}.1")],
        );
        self.sysctl(&router, "net.ipv4.ip_forward", "1");
        let masquerade = match nat {
            Nat::Cone => "-t nat -A POSTROUTING -o wan0 -j MASQUERADE",
            Nat::Symmetric => "-t nat -A POSTROUTING -o wan0 -j MASQUERADE --random-fully",
        };
        self.iptables(&router, masquerade);
        // From outside only replies get in, to the router itself or forwarded. Dropped in
        // the filter table, before conntrack confirms an entry for them.
        for chain in ["INPUT", "FORWARD"] {
            self.iptables(
                &router,
                &format!("-A {chain} -i wan0 -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT"),
            );
            self.iptables(&router, &format!("-A {chain} -i wan0 -j DROP"));
        }
        (host, router)
    }

    /// Two hosts on one LAN behind a single NAT router on the internet (router index 1):
    /// hosts 10.99.11.2 and 10.99.11.3 on a bridge in the router, which is 10.99.11.1.
    pub fn two_behind_one_nat(&mut self, nat: Nat) -> (Ns, Ns) {
        let (a, router) = self.behind_nat(1, nat);
        // Move the router's LAN end onto a bridge and add a second host to it.
        self.ip(&router, &["link", "add", "lanbr", "type", "bridge"]);
        self.ip(&router, &["addr", "del", "10.99.11.1/24", "dev", "lan0"]);
        self.ip(&router, &["link", "set", "lan0", "master", "lanbr"]);
        self.ip(&router, &["addr", "add", "10.99.11.1/24", "dev", "lanbr"]);
        self.ip(&router, &["link", "set", "lanbr", "up"]);
        let b = self.namespace("h1b");
        self.link(&router, "lan1", "", &b, "eth0", "10.99.11.3/24");
        self.ip(&router, &["link", "set", "lan1", "master", "lanbr"]);
        self.ip(&b, &["route", "add", "default", "via", "10.99.11.1"]);
        (a, b)
    }

    /// Start coturn on the internet ([`INTERNET_SERVER`]:[`TURN_PORT`]), answering STUN
    /// too, with one user ([`TURN_USER`] / [`TURN_PASSWORD`]). Killed when the network is
    /// dropped. Returns once it listens.
    pub fn turn_server(&mut self) -> TurnInfo {
        let wan = self.internet();
        let dir = self.dir.path().join("coturn");
        std::fs::create_dir_all(&dir).expect("mkdir coturn");
        let conf = dir.join("turnserver.conf");
        let log = dir.join("turnserver.log");
        std::fs::write(
            &conf,
            format!(
                "listening-ip={INTERNET_SERVER}\nrelay-ip={INTERNET_SERVER}\n\
                 listening-port={TURN_PORT}\nmin-port=49152\nmax-port=65535\n\
                 realm=qrchat.test\nlt-cred-mech\nuser={TURN_USER}:{TURN_PASSWORD}\n\
                 fingerprint\nno-tls\nno-dtls\nno-cli\nno-tcp-relay\nsimple-log\n\
                 log-file={}\npidfile={}\nuserdb={}\n",
                log.display(),
                dir.join("turnserver.pid").display(),
                dir.join("turndb").display(),
            ),
        )
        .expect("write coturn config");
        let child = ip_cmd()
            .args(["netns", "exec", wan.name(), "turnserver", "-c"])
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start turnserver");
        self.daemons.push(child);
        let want = format!("{INTERNET_SERVER}:{TURN_PORT}");
        let t0 = Instant::now();
        loop {
            let out = self.exec(&wan, &["ss", "-uln"]);
            if String::from_utf8_lossy(&out.stdout).contains(&want) {
                break;
            }
            if let Some(st) = self
                .daemons
                .last_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!(
                    "turnserver exited ({st}): {}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            }
            assert!(
                t0.elapsed() < Duration::from_secs(10),
                "turnserver does not listen on {want} after 10 s: {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
            thread::sleep(Duration::from_millis(50));
        }
        TurnInfo { log }
    }

    /// Set an interface in a namespace down or up (a cable pulled and put back).
    pub fn set_link(&self, ns: &Ns, ifname: &str, up: bool) {
        self.ip(ns, &["link", "set", ifname, if up { "up" } else { "down" }]);
    }

    /// The real qrchat binary inside a namespace, with stdin, stdout and stderr piped.
    pub fn qrchat(&self, ns: &Ns, args: &[&str]) -> Proc {
        self.qrchat_with_env(ns, args, &[])
    }

    /// On a [`lan_pair`](Self::lan_pair): alice (in `a`) offers `src` headless, bob (in
    /// `b`) answers, saving into `inbox`; the codes are passed both ways and then neither
    /// has anything else to say (stdin closed). They log to alice.log and bob.log in the
    /// scratch folder. Returns (alice, bob), transferring.
    pub fn send_on_lan(&self, a: &Ns, b: &Ns, src: &Path, inbox: &Path) -> (Proc, Proc) {
        const T: Duration = Duration::from_secs(20);
        let arg = |p: &Path| p.display().to_string();
        let (alice_log, bob_log) = (self.dir().join("alice.log"), self.dir().join("bob.log"));
        let (src, inbox, al, bl) = (arg(src), arg(inbox), arg(&alice_log), arg(&bob_log));
        let mut alice = self.qrchat(
            a,
            &[
                "offer",
                "--bind",
                "10.99.50.1",
                "--send",
                &src,
                "--log",
                &al,
            ],
        );
        let offer = alice.line(T);
        let mut bob = self.qrchat(
            b,
            &[
                "answer",
                "--bind",
                "10.99.50.2",
                "--receive",
                &inbox,
                "--log",
                &bl,
                &offer,
            ],
        );
        let answer = bob.line(T);
        alice.say(&answer);
        alice.hang_up();
        bob.hang_up();
        (alice, bob)
    }

    /// The same, with extra environment variables.
    pub fn qrchat_with_env(&self, ns: &Ns, args: &[&str], env: &[(&str, &str)]) -> Proc {
        let mut cmd = ip_cmd();
        cmd.args(["netns", "exec", ns.name(), BIN]).args(args);
        cmd.envs(env.iter().copied());
        Proc::spawn(cmd)
    }
}

impl Net {
    /// The last lines of every log file in the scratch directory (on a failed test).
    fn show_logs(&self) {
        let mut files = Vec::new();
        let mut dirs = vec![self.dir.path().to_path_buf()];
        while let Some(d) = dirs.pop() {
            for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                let p = e.path();
                if p.is_dir() {
                    dirs.push(p);
                } else if p.extension().is_some_and(|x| x == "log") {
                    files.push(p);
                }
            }
        }
        files.sort();
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            let tail = &lines[lines.len().saturating_sub(60)..];
            eprintln!(
                "---- {} (last {} lines)\n{}",
                f.display(),
                tail.len(),
                tail.join("\n")
            );
        }
    }
}

impl Default for Net {
    fn default() -> Self {
        Net::new()
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        if thread::panicking() {
            self.show_logs();
        }
        if std::env::var_os("QRCHAT_KEEP_NETNS_LOGS").is_some() {
            let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().expect("tempdir"));
            eprintln!("logs kept in {}", dir.keep().display());
        }
        for mut d in self.daemons.drain(..) {
            let _ = d.kill();
            let _ = d.wait();
        }
        for ns in self.namespaces.drain(..).rev() {
            remove_namespace(ns.name());
        }
    }
}

/// The running TURN server.
pub struct TurnInfo {
    pub log: PathBuf,
}

impl TurnInfo {
    /// `--stun`, `--turn`, `--turn-user`, `--turn-password` for it, as qrchat takes them.
    pub fn stun_arg() -> String {
        format!("stun:{INTERNET_SERVER}:{TURN_PORT}")
    }

    pub fn turn_args() -> Vec<String> {
        vec![
            "--turn".into(),
            format!("turn:{INTERNET_SERVER}:{TURN_PORT}"),
            "--turn-user".into(),
            TURN_USER.into(),
            "--turn-password".into(),
            TURN_PASSWORD.into(),
        ]
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// A child process with its output read as lines (stderr lines with the time they came).
/// Killed on drop.
pub struct Proc {
    pub child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<(Instant, String)>,
    stderr: Arc<Mutex<Vec<(Instant, String)>>>,
}

impl Proc {
    /// Send the process a signal (`-INT`, `-STOP`, ...); `kill` must succeed.
    pub fn signal(&self, sig: &str) {
        let st = Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(st.success(), "kill {sig} {}", self.child.id());
    }

    /// `qrchat ARGS --bind 127.0.0.1` on this machine's loopback (no namespace).
    pub fn loopback(args: &[&str]) -> Proc {
        let mut cmd = Command::new(BIN);
        cmd.args(args).args(["--bind", "127.0.0.1"]);
        Proc::spawn(cmd)
    }

    /// A headless pairing on loopback: `qrchat offer OFFER_ARGS`, then `qrchat answer
    /// ANSWER_ARGS CODE` with the code it printed, and the answer passed back to the
    /// offerer. Returns (offerer, answerer).
    pub fn loopback_pair(offer_args: &[&str], answer_args: &[&str]) -> (Proc, Proc) {
        const T: Duration = Duration::from_secs(20);
        let mut alice = Proc::loopback(&[&["offer"], offer_args].concat());
        let offer = alice.line(T);
        let bob = Proc::loopback(&[&["answer"], answer_args, &[&offer]].concat());
        let answer = bob.line(T);
        alice.say(&answer);
        (alice, bob)
    }

    pub fn spawn(mut cmd: Command) -> Proc {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send((Instant::now(), line)).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let pipe = child.stderr.take().expect("stderr");
        let sink = Arc::clone(&stderr);
        thread::spawn(move || {
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                sink.lock().unwrap().push((Instant::now(), line));
            }
        });
        let stdin = child.stdin.take();
        Proc {
            child,
            stdin,
            lines,
            stderr,
        }
    }

    /// The next stdout line, or a panic (showing stderr) after `limit`.
    pub fn line(&self, limit: Duration) -> String {
        self.line_at(limit).1
    }

    /// The next stdout line and when it came.
    pub fn line_at(&self, limit: Duration) -> (Instant, String) {
        self.lines.recv_timeout(limit).unwrap_or_else(|_| {
            panic!(
                "no stdout line within {limit:?}; stderr so far:\n{}",
                self.stderr()
            )
        })
    }

    /// The next stdout line, or None after `limit` (or once stdout is closed).
    pub fn try_line(&self, limit: Duration) -> Option<String> {
        self.lines.recv_timeout(limit).ok().map(|(_, l)| l)
    }

    /// Type one line on its stdin.
    pub fn say(&mut self, text: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        writeln!(stdin, "{text}").expect("write to stdin");
        stdin.flush().expect("flush stdin");
    }

    /// Close its stdin (EOF).
    pub fn hang_up(&mut self) {
        self.stdin = None;
    }

    /// Everything it wrote on stderr so far.
    pub fn stderr(&self) -> String {
        let lines = self.stderr.lock().unwrap();
        lines.iter().map(|(_, l)| format!("{l}\n")).collect()
    }

    /// The first stderr line containing `needle` and when it came, if any yet.
    pub fn stderr_line(&self, needle: &str) -> Option<(Instant, String)> {
        let lines = self.stderr.lock().unwrap();
        lines.iter().find(|(_, l)| l.contains(needle)).cloned()
    }

    /// Wait for a stderr line containing `needle`; panic with stderr after `limit`.
    pub fn wait_stderr(&self, needle: &str, limit: Duration) -> (Instant, String) {
        let t0 = Instant::now();
        loop {
            if let Some(hit) = self.stderr_line(needle) {
                return hit;
            }
            if t0.elapsed() > limit {
                panic!(
                    "stderr never said {needle:?} within {limit:?}:\n{}",
                    self.stderr()
                );
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// Still running?
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Wait for it to exit: (exit code, all of stderr). Killed and a panic after `limit`.
    pub fn exit(mut self, limit: Duration) -> (i32, String) {
        let t0 = Instant::now();
        loop {
            if let Some(st) = self.child.try_wait().expect("wait") {
                // Let the reader thread take the last lines.
                thread::sleep(Duration::from_millis(50));
                return (st.code().unwrap_or(-1), self.stderr());
            }
            if t0.elapsed() > limit {
                let _ = self.child.kill();
                panic!(
                    "it did not exit within {limit:?}; stderr:\n{}",
                    self.stderr()
                );
            }
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// The harness itself: namespaces come and go, the LAN pair reaches itself and nothing
/// else, a NAT router rewrites the source address and lets no stranger in.
#[test]
fn namespaces_are_made_wired_and_removed() {
    netns_or_skip!("iptables");
    let mut names;
    {
        let mut net = Net::new();
        let (a, b) = net.lan_pair();
        assert!(net.reaches(&a, "10.99.50.2", 9), "a does not reach b");
        net.set_link(&b, "eth0", false);
        assert!(
            !net.reaches(&a, "10.99.50.2", 9),
            "a reaches b over a link that is down"
        );
        net.set_link(&b, "eth0", true);
        assert!(
            net.reaches(&a, "10.99.50.2", 9),
            "the link did not come back"
        );
        names = net.namespaces.clone();
        assert!(netns_list().contains(&a.0) && netns_list().contains(&b.0));
    }
    {
        let mut net = Net::new();
        let (h1, r1) = net.behind_nat(1, Nat::Cone);
        let wan = net.internet();
        assert!(
            net.reaches(&h1, INTERNET_SERVER, 9),
            "the host behind the NAT is cut off"
        );
        assert!(net.reaches(&r1, INTERNET_SERVER, 9));
        // A stranger gets no answer from the router, not even a refusal.
        assert!(
            !net.reaches(&wan, "10.99.0.11", 9),
            "the router answers strangers"
        );
        assert!(
            net.reaches(&h1, "10.99.11.1", 9),
            "the router is there on the inside"
        );
        names.extend(net.namespaces.clone());
    }
    let left = netns_list();
    for n in names {
        assert!(!left.contains(&n.0), "{} was not removed", n.0);
        assert!(!PathBuf::from("/etc/netns").join(&n.0).exists());
    }
}
