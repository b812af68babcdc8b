//! Files over links that behave like real ones (issue 18): two network namespaces joined
//! by a veth pair, shaped with `tc ... tbf` and made lossy with iptables' `statistic`
//! match, the same random file sent by qrchat (headless `offer --send` / `answer
//! --receive`, the release binary) and by OpenSSH's scp (aes128-gcm, to an sshd this
//! bench starts in the receiving namespace), one after the other in the same run, the
//! order alternating run by run. Prints, per link, the median MB/s of each, the ratio
//! qrchat / scp, CPU seconds per GiB on each side, peak RSS of each qrchat side, and
//! retransmissions (qrchat: SCTP DATA chunks sent again, from the association's closing
//! line in the --log file, plus the TCP segments retransmitted in the sending namespace
//! during the run: its bulk path is TCP; scp: those TCP segments).
//! Asserts nothing but that each transfer arrived.
//!
//! On the lossy rows TCP's segmentation offload is off (`gso_max_segs 1`), so that the
//! loss hits wire-sized packets for both tools (see `shape`).
//!
//! Timing: qrchat from the receiver's "connected" line to its "received" line (the file
//! verified and renamed); scp from its start to its exit minus the quickest of five
//! `ssh true` at the start (its connection set-up), so neither counts its pairing.
//!
//! `cargo bench --bench links` (as root). Environment: QRCHAT_LINKS_MB (file size,
//! default 256), QRCHAT_LINKS_RUNS (default 3), QRCHAT_LINKS_ROWS (comma-separated row
//! names, default all: veth,1g,300m,1g-loss0.1,1g-loss1), QRCHAT_LINKS_SCP=0 (qrchat
//! only). Without root, ip, tc or iptables it says why and stops; without sshd/scp
//! (Debian's openssh-server / openssh-client) the scp column says why it is empty.
//! QRCHAT_LINKS_BEFORE=PATH adds a column for another qrchat binary (an earlier build:
//! before/after in one run); QRCHAT_KEEP_NETNS_LOGS=1 keeps the --log files and
//! QRCHAT_LINKS_LOG sets their filter (default `info`).

#[path = "../tests/integration/netns.rs"]
mod netns;

#[path = "common/files.rs"]
mod files;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use netns::{Net, Ns, Proc, BIN};

const A_ADDR: &str = "10.99.50.1";
const B_ADDR: &str = "10.99.50.2";
const SSH_PORT: &str = "2222";

/// A link: its name, what it is in words, the tbf qdisc (None: unshaped), the random
/// loss each way.
struct Row {
    name: &'static str,
    words: &'static str,
    tbf: Option<&'static [&'static str]>,
    loss: f64,
}

const ROWS: &[Row] = &[
    Row {
        name: "veth",
        words: "veth, unshaped",
        tbf: None,
        loss: 0.0,
    },
    Row {
        name: "1g",
        words: "tbf 1 Gbit/s, 256 KiB burst, 20 ms queue",
        tbf: Some(&["rate", "1gbit", "burst", "256kb", "latency", "20ms"]),
        loss: 0.0,
    },
    Row {
        name: "300m",
        words: "tbf 300 Mbit/s, 256 KiB burst, 20 ms queue",
        tbf: Some(&["rate", "300mbit", "burst", "256kb", "latency", "20ms"]),
        loss: 0.0,
    },
    Row {
        name: "1g-loss0.1",
        words: "tbf 1 Gbit/s + 0.1% random loss each way",
        tbf: Some(&["rate", "1gbit", "burst", "256kb", "latency", "20ms"]),
        loss: 0.001,
    },
    Row {
        name: "1g-loss1",
        words: "tbf 1 Gbit/s + 1% random loss each way",
        tbf: Some(&["rate", "1gbit", "burst", "256kb", "latency", "20ms"]),
        loss: 0.01,
    },
];

fn env_num(key: &str, default: u64) -> u64 {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn found(tool: &str) -> bool {
    ["/usr/sbin", "/usr/bin", "/sbin", "/bin"]
        .iter()
        .any(|d| Path::new(d).join(tool).is_file())
}

/// One measured transfer.
#[derive(Default, Clone)]
struct Run {
    mbps: f64,
    /// CPU seconds per GiB: sender, receiver.
    cpu: (f64, f64),
    /// Peak RSS in MiB: sender, receiver (qrchat only).
    rss: (f64, f64),
    retrans: Option<u64>,
}

/// `bash -c 'time CMD...'` inside `ns`: the CPU time of CMD lands on stderr as
/// `cpu-seconds USER SYS`.
fn timed(ns: &Ns, args: &[&str]) -> Command {
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", ns.name(), "bash", "-c"])
        .arg("TIMEFORMAT='cpu-seconds %U %S'; time \"$@\"")
        .arg("timed")
        .args(args);
    cmd
}

fn quiet_log(mut cmd: Command) -> Command {
    // QRCHAT_LINKS_LOG: another filter for a look at what happened (slower)
    let filter = std::env::var("QRCHAT_LINKS_LOG").unwrap_or_else(|_| "info".into());
    cmd.env("QRCHAT_LOG", filter);
    cmd
}

fn cpu_of(stderr: &str) -> f64 {
    stderr
        .lines()
        .rev()
        .find_map(|l| {
            let rest = l.strip_prefix("cpu-seconds ")?;
            let mut it = rest.split_whitespace().map(|x| x.parse::<f64>().ok());
            Some(it.next()?? + it.next()??)
        })
        .unwrap_or(f64::NAN)
}

/// The pid of the qrchat under a `timed` bash, and its peak RSS (VmHWM) so far in MiB.
fn child_hwm(bash: u32) -> Option<f64> {
    let kids = std::fs::read_to_string(format!("/proc/{bash}/task/{bash}/children")).ok()?;
    let pid = kids.split_whitespace().next()?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: f64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}

/// The SCTP retransmissions the sender's log names (the fork's closing line:
/// "... N retransmitted ...").
fn sctp_retransmissions(log: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(log).ok()?;
    let mut total = None;
    for l in text.lines() {
        if let Some(i) = l.find("DATA chunks retransmitted: ") {
            let n: u64 = l[i + "DATA chunks retransmitted: ".len()..]
                .split(|c: char| !c.is_ascii_digit())
                .next()?
                .parse()
                .ok()?;
            total = Some(total.unwrap_or(0) + n);
        }
    }
    total
}

fn qrchat_run(
    net: &Net,
    bin: &str,
    (a, b): (&Ns, &Ns),
    src: &Path,
    dir: &Path,
    n: usize,
) -> Result<Run, String> {
    let re_before = tcp_retrans(net, a);
    let inbox = dir.join(format!("in-q{n}"));
    let send_log = dir.join(format!("send-{n}.log"));
    let recv_log = dir.join(format!("recv-{n}.log"));
    let size = std::fs::metadata(src).unwrap().len();
    let (src_s, inbox_s) = (src.to_str().unwrap(), inbox.to_str().unwrap());
    let (sl, rl) = (send_log.to_str().unwrap(), recv_log.to_str().unwrap());
    // --log for the association's closing line (retransmissions); at info only, so that
    // webrtc's per-packet debug records are not formatted and filtered as they would be
    // at qrchat's default log level, and the CPU figures stay those of a run without --log
    let mut offer = Proc::spawn(quiet_log(timed(
        a,
        &[bin, "offer", "--send", src_s, "--bind", A_ADDR, "--log", sl],
    )));
    let mut answer = Proc::spawn(quiet_log(timed(
        b,
        &[
            bin,
            "answer",
            "--receive",
            inbox_s,
            "--bind",
            B_ADDR,
            "--log",
            rl,
        ],
    )));
    let code = offer.line(Duration::from_secs(20));
    answer.say(&code);
    let reply = answer.line(Duration::from_secs(20));
    offer.say(&reply);
    offer.hang_up();
    answer.hang_up();
    let t_pair = Instant::now();
    let t0 = loop {
        if let Some((t, _)) = answer.stderr_line("connected") {
            break t;
        }
        if t_pair.elapsed() > Duration::from_secs(40) || !answer.running() {
            return Err(format!(
                "no link within 40 s: {}",
                answer.stderr().lines().last().unwrap_or("")
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let limit = Duration::from_secs(600);
    let (mut s_rss, mut r_rss) = (0f64, 0f64);
    let started = Instant::now();
    let (spid, rpid) = (offer.child.id(), answer.child.id());
    let done = loop {
        if let Some(hit) = answer.stderr_line("qrchat: received") {
            break Some(hit.0);
        }
        if let Some(x) = child_hwm(spid) {
            s_rss = s_rss.max(x);
        }
        if let Some(x) = child_hwm(rpid) {
            r_rss = r_rss.max(x);
        }
        if !answer.running() || started.elapsed() > limit {
            break answer.stderr_line("qrchat: received").map(|h| h.0);
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let Some(t1) = done else {
        let err = answer.stderr();
        let tail: Vec<&str> = err.lines().rev().take(4).collect();
        let why = if answer.running() {
            format!("not finished within {limit:?}")
        } else {
            "the receiver ended without the file".to_string()
        };
        return Err(format!(
            "{why}: {}",
            tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
        ));
    };
    let (rc_a, err_a) = answer.exit(Duration::from_secs(30));
    let (rc_o, err_o) = offer.exit(Duration::from_secs(30));
    if rc_a != 0 || rc_o != 0 {
        return Err(format!("qrchat exited {rc_o} / {rc_a}: {err_o} {err_a}"));
    }
    let got = inbox.join(src.file_name().unwrap());
    let len = std::fs::metadata(&got).map(|m| m.len()).unwrap_or(0);
    if len != size {
        return Err(format!(
            "qrchat: {} has {len} of {size} bytes",
            got.display()
        ));
    }
    let _ = std::fs::remove_dir_all(&inbox);
    let secs = (t1 - t0).as_secs_f64();
    let gib = size as f64 / (1u64 << 30) as f64;
    Ok(Run {
        mbps: size as f64 / secs / 1e6,
        cpu: (cpu_of(&err_o) / gib, cpu_of(&err_a) / gib),
        rss: (s_rss, r_rss),
        // SCTP's on the data channel, TCP's on the bulk path (the sending namespace's count)
        retrans: Some(
            sctp_retransmissions(&send_log).unwrap_or(0) + tcp_retrans(net, a) - re_before,
        ),
    })
}

/// An sshd of our own inside the receiving namespace, with a throwaway host key and
/// client key in `dir`. Stopped by its pid on drop.
struct Sshd {
    child: Child,
    key: PathBuf,
    /// The quickest `ssh true` seen: scp's connection set-up at best.
    setup: f64,
    /// The namespace the client runs in.
    from: Ns,
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_sshd(net: &Net, a: &Ns, b: &Ns, dir: &Path) -> Result<Sshd, String> {
    for tool in ["sshd", "scp", "ssh", "ssh-keygen"] {
        if !found(tool) {
            return Err(format!(
                "{tool} is missing (Debian packages openssh-server / openssh-client)"
            ));
        }
    }
    let ssh = dir.join("ssh");
    std::fs::create_dir_all(&ssh).map_err(|e| e.to_string())?;
    let key = ssh.join("client");
    let host = ssh.join("host");
    for k in [&key, &host] {
        let st = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-f"])
            .arg(k)
            .stdin(Stdio::null())
            .status()
            .map_err(|e| e.to_string())?;
        if !st.success() {
            return Err("ssh-keygen failed".into());
        }
    }
    std::fs::copy(key.with_extension("pub"), ssh.join("authorized_keys"))
        .map_err(|e| e.to_string())?;
    let conf = ssh.join("sshd_config");
    std::fs::write(
        &conf,
        format!(
            "Port {SSH_PORT}\nListenAddress {B_ADDR}\nHostKey {}\nAuthorizedKeysFile {}\n\
             PidFile {}\nPermitRootLogin prohibit-password\nPasswordAuthentication no\n\
             KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\nUseDNS no\n\
             Subsystem sftp internal-sftp\nLogLevel ERROR\n",
            host.display(),
            ssh.join("authorized_keys").display(),
            ssh.join("sshd.pid").display()
        ),
    )
    .map_err(|e| e.to_string())?;
    // sshd insists on its privilege-separation directory (Debian makes it at service start).
    if !Path::new("/run/sshd").is_dir() {
        std::fs::create_dir_all("/run/sshd").map_err(|e| format!("/run/sshd: {e}"))?;
    }
    let child = Command::new("ip")
        .args([
            "netns",
            "exec",
            b.name(),
            "/usr/sbin/sshd",
            "-D",
            "-e",
            "-f",
        ])
        .arg(&conf)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(
            std::fs::File::create(ssh.join("sshd.log")).map_err(|e| e.to_string())?,
        ))
        .spawn()
        .map_err(|e| format!("cannot start sshd: {e}"))?;
    let mut sshd = Sshd {
        child,
        key,
        setup: f64::INFINITY,
        from: a.clone(),
    };
    let t0 = Instant::now();
    while !net.reaches(b, B_ADDR, SSH_PORT.parse().unwrap()) || !listening(net, b) {
        if let Ok(Some(st)) = sshd.child.try_wait() {
            return Err(format!(
                "sshd exited ({st}): {}",
                std::fs::read_to_string(ssh.join("sshd.log")).unwrap_or_default()
            ));
        }
        if t0.elapsed() > Duration::from_secs(10) {
            return Err("sshd does not listen after 10 s".into());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    // the first connections check that the keys work and time the set-up: the quickest
    // of a few is what scp's own set-up costs at least (on a busy machine a single one
    // can take longer than a whole transfer)
    for _ in 0..5 {
        sshd.setup = sshd.setup.min(ssh_true(&sshd)?);
    }
    Ok(sshd)
}

fn listening(net: &Net, b: &Ns) -> bool {
    let out = net.exec(b, &["ss", "-tln"]);
    String::from_utf8_lossy(&out.stdout).contains(&format!("{B_ADDR}:{SSH_PORT}"))
}

fn ssh_opts(key: &Path) -> Vec<String> {
    [
        "-F",
        "/dev/null",
        "-i",
        key.to_str().unwrap(),
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "-o",
        "BatchMode=yes",
        "-o",
        "LogLevel=ERROR",
        "-o",
        "Compression=no",
        "-c",
        "aes128-gcm@openssh.com",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// The time `ssh true` takes from the sending namespace: scp's connection set-up.
fn ssh_true(sshd: &Sshd) -> Result<f64, String> {
    let t = Instant::now();
    let out = Command::new("ip")
        .args(["netns", "exec", sshd.from.name(), "ssh"])
        .args(ssh_opts(&sshd.key))
        .args(["-p", SSH_PORT, &format!("root@{B_ADDR}"), "true"])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "ssh to our sshd failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(t.elapsed().as_secs_f64())
}

/// utime + stime of `pid`'s reaped children, in seconds (sshd's connection processes).
fn children_cpu(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map(|x| x.1).unwrap_or("");
    let f: Vec<f64> = after
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0.0))
        .collect();
    // after the comm: state is field 3, cutime 16 and cstime 17 (1-based in proc(5))
    let tick = 100.0;
    (f.get(13).unwrap_or(&0.0) + f.get(14).unwrap_or(&0.0)) / tick
}

fn tcp_retrans(net: &Net, ns: &Ns) -> u64 {
    let out = net.exec(ns, &["cat", "/proc/net/snmp"]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let tcp: Vec<&str> = text.lines().filter(|l| l.starts_with("Tcp:")).collect();
    if tcp.len() < 2 {
        return 0;
    }
    let names: Vec<&str> = tcp[0].split_whitespace().collect();
    let vals: Vec<&str> = tcp[1].split_whitespace().collect();
    names
        .iter()
        .position(|n| *n == "RetransSegs")
        .and_then(|i| vals.get(i)?.parse().ok())
        .unwrap_or(0)
}

fn scp_run(net: &Net, a: &Ns, sshd: &Sshd, src: &Path, dir: &Path) -> Result<Run, String> {
    let size = std::fs::metadata(src).unwrap().len();
    let setup = sshd.setup;
    let dst = dir.join("scp-in.bin");
    let sshd_pid = sshd.child.id();
    let cpu_before = children_cpu(sshd_pid);
    let re_before = tcp_retrans(net, a);
    let mut args: Vec<String> = vec!["scp".into(), "-q".into()];
    args.extend(ssh_opts(&sshd.key));
    args.extend([
        "-P".into(),
        SSH_PORT.into(),
        src.to_str().unwrap().into(),
        format!("root@{B_ADDR}:{}", dst.display()),
    ]);
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let t = Instant::now();
    let out = timed(a, &argv)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| e.to_string())?;
    let wall = t.elapsed().as_secs_f64();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    if !out.status.success() {
        return Err(format!("scp failed: {}", err.trim()));
    }
    // the session's processes have been reaped by the time scp exits? give sshd a moment
    std::thread::sleep(Duration::from_millis(200));
    let cpu_recv = children_cpu(sshd_pid) - cpu_before;
    let len = std::fs::metadata(&dst).map(|m| m.len()).unwrap_or(0);
    let _ = std::fs::remove_file(&dst);
    if len != size {
        return Err(format!("scp delivered {len} of {size} bytes"));
    }
    let gib = size as f64 / (1u64 << 30) as f64;
    Ok(Run {
        mbps: size as f64 / (wall - setup).max(1e-3) / 1e6,
        cpu: (cpu_of(&err) / gib, cpu_recv / gib),
        rss: (f64::NAN, f64::NAN),
        retrans: Some(tcp_retrans(net, a) - re_before),
    })
}

/// Shape both ends of the link as `row` says (the previous row's shaping removed).
fn shape(net: &Net, ends: [&Ns; 2], row: &Row) {
    for ns in ends {
        let _ = Command::new("ip")
            .args([
                "netns",
                "exec",
                ns.name(),
                "tc",
                "qdisc",
                "del",
                "dev",
                "eth0",
                "root",
            ])
            .stderr(Stdio::null())
            .status();
        net.exec(ns, &["iptables", "-w", "-F", "OUTPUT"]);
        // A real link loses wire packets. With GSO a TCP sender hands the stack 64 KiB
        // super-packets that a veth never splits, and the statistic match would drop 1%
        // of those (a fortieth of the loss qrchat's datagrams see): on lossy rows TCP
        // builds one segment per packet, as what a NIC puts on the wire.
        let segs = if row.loss > 0.0 { "1" } else { "65535" };
        net.exec(ns, &["ip", "link", "set", "eth0", "gso_max_segs", segs]);
        if let Some(tbf) = row.tbf {
            let mut args = vec!["tc", "qdisc", "add", "dev", "eth0", "root", "tbf"];
            args.extend_from_slice(tbf);
            net.exec(ns, &args);
        }
        if row.loss > 0.0 {
            net.drop_at_random(ns, row.loss);
        }
    }
}

fn fmt(x: f64, w: usize, p: usize) -> String {
    if x.is_finite() {
        format!("{x:>w$.p$}")
    } else {
        format!("{:>w$}", "-")
    }
}

/// What sends the file in a column.
enum Tool {
    Qrchat(String),
    Scp,
}

fn main() {
    if let Some(why) = netns::unavailable(&["iptables", "tc"]) {
        println!("links bench skipped: {why}");
        return;
    }
    let mb = env_num("QRCHAT_LINKS_MB", 256);
    let runs = env_num("QRCHAT_LINKS_RUNS", 3).max(1) as usize;
    let want: Option<Vec<String>> = std::env::var("QRCHAT_LINKS_ROWS")
        .ok()
        .map(|v| v.split(',').map(|s| s.trim().to_string()).collect());
    let with_scp = std::env::var("QRCHAT_LINKS_SCP").map_or(true, |v| v != "0");
    // another qrchat binary (an earlier build) as a column of its own, for before/after
    let before = std::env::var("QRCHAT_LINKS_BEFORE").ok();

    let mut net = Net::new();
    let (a, b) = net.lan_pair();
    let dir = net.dir().to_path_buf();
    let src = dir.join("random.bin");
    files::make_file(&src, mb << 20, 0x9e37_79b9_7f4a_7c15);
    let sshd = if with_scp {
        start_sshd(&net, &a, &b, &dir)
    } else {
        Err("QRCHAT_LINKS_SCP=0".into())
    };
    if let Err(why) = &sshd {
        println!("scp column skipped: {why}");
    }
    let mut tools = vec![("qrchat", Tool::Qrchat(BIN.to_string()))];
    if let Some(b) = &before {
        tools.push(("before", Tool::Qrchat(b.clone())));
    }
    if sshd.is_ok() {
        tools.push(("scp", Tool::Scp));
    }
    println!(
        "links bench: a {mb} MiB random file from namespace a ({A_ADDR}) to b ({B_ADDR}) over a \
         veth pair, {runs} run(s) per link and tool, the tools taking turns; medians"
    );
    if let Some(b) = &before {
        println!("  before: {b}");
    }
    println!(
        "  {:<44} {:<7} {:>8} {:>6}  {:>15}  {:>8}  {:>13}  runs (MB/s)",
        "link", "tool", "MB/s", "/scp", "CPU s/GiB", "retrans", "RSS MiB"
    );
    println!(
        "  {:<44} {:<7} {:>8} {:>6}  {:>15}  {:>8}  {:>13}",
        "", "", "", "", "send / recv", "", "send / recv"
    );
    for row in ROWS {
        if let Some(w) = &want {
            if !w.iter().any(|x| x == row.name) {
                continue;
            }
        }
        shape(&net, [&a, &b], row);
        let mut got: Vec<Vec<Run>> = tools.iter().map(|_| vec![]).collect();
        let mut notes = vec![];
        for i in 0..runs {
            // each run starts with the next tool, so none always goes first
            for k in 0..tools.len() {
                let t = (i + k) % tools.len();
                let r = match &tools[t].1 {
                    Tool::Qrchat(bin) => qrchat_run(&net, bin, (&a, &b), &src, &dir, i),
                    Tool::Scp => scp_run(&net, &a, sshd.as_ref().unwrap(), &src, &dir),
                };
                match r {
                    Ok(r) => got[t].push(r),
                    Err(e) => notes.push(format!("{} run {}: {e}", tools[t].0, i + 1)),
                }
            }
        }
        let m = |v: &[Run], f: &dyn Fn(&Run) -> f64| median(&v.iter().map(f).collect::<Vec<_>>());
        let scp = tools
            .iter()
            .position(|t| matches!(t.1, Tool::Scp))
            .map(|i| m(&got[i], &|r| r.mbps))
            .unwrap_or(f64::NAN);
        for (t, runs) in tools.iter().zip(&got) {
            let mbps = m(runs, &|r| r.mbps);
            let re: Vec<f64> = runs
                .iter()
                .filter_map(|r| r.retrans.map(|x| x as f64))
                .collect();
            let rss = |f: &dyn Fn(&Run) -> f64| runs.iter().map(f).fold(f64::NAN, f64::max);
            println!(
                "  {:<44} {:<7} {} {}  {} / {}  {}  {} / {}  {}",
                if t.0 == tools[0].0 { row.words } else { "" },
                t.0,
                fmt(mbps, 8, 1),
                fmt(mbps / scp, 6, 2),
                fmt(m(runs, &|r| r.cpu.0), 6, 1),
                fmt(m(runs, &|r| r.cpu.1), 6, 1),
                fmt(median(&re), 8, 0),
                fmt(rss(&|r| r.rss.0), 5, 1),
                fmt(rss(&|r| r.rss.1), 5, 1),
                runs.iter()
                    .map(|r| format!("{:.1}", r.mbps))
                    .collect::<Vec<_>>()
                    .join(" ")
            );
        }
        for n in notes {
            println!("      {n}");
        }
    }
    drop(sshd);
}
