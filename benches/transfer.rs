//! File-transfer throughput, memory and resume cost. `cargo bench --bench transfer`
//!
//! The table: between two processes on loopback (one rtc session each, as two qrchat
//! apps would be), the raw data channel (64 KiB binary messages, nothing else) and a file
//! transfer over such a channel (read, hash, frame, verify, write, rename), side by side
//! in each run, so the transfer's own cost shows as the ratio; the peak RSS of each side;
//! the median over the runs. Then, in this process, one run of the same pair with both
//! sessions in one runtime, the driver alone over the in-memory pipe (its ceiling without
//! a network), and the bytes sent again when a transfer broken at half is resumed.
//!
//! QRCHAT_BENCH_MB sets the file size (default 1024 = 1 GiB); QRCHAT_BENCH_RUNS the
//! two-process runs (default 3); QRCHAT_BENCH_DIR where the files go (default /tmp).

#[path = "common/files.rs"]
mod files;

use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use bytes::Bytes;
use qrchat::rtc::{Channel, ChannelMessage, RtcConfig, Session, SessionEvent};
use qrchat::signal::{self, Format, SdpKind};
use qrchat::transfer::pipe::{pipe, PipeEnd};
use qrchat::transfer::{self, proto, Msg, Options, Policy, Wire};
use tokio::sync::mpsc;

fn mb() -> u64 {
    std::env::var("QRCHAT_BENCH_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024)
}

/// Peak resident set of this process (VmHWM), in bytes.
fn peak_rss() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map(|kb| kb * 1024)
        .unwrap_or(0)
}

/// Start a fresh peak-RSS measurement (Linux: "5" to clear_refs resets VmHWM).
fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

async fn pair() -> (Session, Session, mpsc::UnboundedReceiver<SessionEvent>) {
    let (atx, mut arx) = mpsc::unbounded_channel();
    let (btx, mut brx) = mpsc::unbounded_channel();
    let alice = Session::offer(&RtcConfig::loopback(), atx).await.unwrap();
    let blob = signal::encode(alice.local_description(), Format::Auto).unwrap();
    let offer = signal::decode_expecting(&blob, SdpKind::Offer, None).unwrap();
    let bob = Session::answer(&RtcConfig::loopback(), &offer.desc, btx)
        .await
        .unwrap();
    let blob = signal::encode(bob.local_description(), Format::Auto).unwrap();
    let answer =
        signal::decode_expecting(&blob, SdpKind::Answer, Some(alice.local_description())).unwrap();
    alice.accept_answer(&answer.desc).await.unwrap();
    for rx in [&mut arx, &mut brx] {
        while let Some(e) = rx.recv().await {
            if matches!(e, SessionEvent::Open { .. }) {
                break;
            }
        }
    }
    tokio::spawn(async move { while arx.recv().await.is_some() {} });
    (alice, bob, brx)
}

async fn incoming(rx: &mut mpsc::UnboundedReceiver<SessionEvent>, label: &str) -> Channel {
    while let Some(e) = rx.recv().await {
        if let SessionEvent::Channel(ch) = e {
            if ch.label() == label {
                return ch;
            }
        }
    }
    panic!("no channel {label}");
}

async fn raw_rtc(bytes: u64) -> f64 {
    let (alice, bob, mut brx) = pair().await;
    let chunk = Bytes::from(vec![7u8; 64 * 1024]);
    let t = Instant::now();
    let sender = async {
        let ch = alice.open_channel("bench-raw").await.unwrap();
        let mut left = bytes;
        while left > 0 {
            let n = left.min(chunk.len() as u64) as usize;
            ch.send_bytes(chunk.slice(..n)).await.unwrap();
            left -= n as u64;
        }
        ch
    };
    let receiver = async {
        let ch = incoming(&mut brx, "bench-raw").await;
        let mut got = 0u64;
        while got < bytes {
            match ch.recv().await.unwrap() {
                Some(ChannelMessage::Binary(b)) => got += b.len() as u64,
                other => panic!("{other:?}"),
            }
        }
        got
    };
    let (_ch, got) = tokio::join!(sender, receiver);
    let rate = got as f64 / t.elapsed().as_secs_f64() / 1e6;
    alice.close().await;
    bob.close().await;
    rate
}

async fn file_rtc(src: &Path, dst: &Path) -> f64 {
    let (alice, bob, mut brx) = pair().await;
    let files = [src.to_path_buf()];
    let t = Instant::now();
    let send = async {
        let ch = alice.open_channel(proto::LABEL).await.unwrap();
        transfer::send(&ch, &files, Options::default()).await
    };
    let recv = async {
        let ch = incoming(&mut brx, proto::LABEL).await;
        transfer::receive(&ch, dst, Policy::AcceptAll, Options::default()).await
    };
    let (tx, rx) = tokio::join!(send, recv);
    let secs = t.elapsed().as_secs_f64();
    let tx = tx.unwrap();
    for f in rx.unwrap().files {
        std::fs::remove_file(f).unwrap();
    }
    alice.close().await;
    bob.close().await;
    tx.bytes as f64 / secs / 1e6
}

async fn file_over_pipe(src: &Path, dst: &Path) -> (f64, u64) {
    let (a, b) = pipe(64);
    let files = [src.to_path_buf()];
    let t = Instant::now();
    let (tx, rx) = tokio::join!(
        transfer::send(&a, &files, Options::default()),
        transfer::receive(&b, dst, Policy::AcceptAll, Options::default())
    );
    let tx = tx.unwrap();
    let rx = rx.unwrap();
    let secs = t.elapsed().as_secs_f64();
    for f in rx.files {
        std::fs::remove_file(f).unwrap();
    }
    (tx.bytes as f64 / secs / 1e6, tx.bytes)
}

/// A sender's wire that dies after `left` content bytes.
struct Breaking {
    end: PipeEnd,
    left: AtomicU64,
}

impl Wire for Breaking {
    async fn send(&self, msg: Msg) -> io::Result<()> {
        if let Msg::Binary(b) = &msg {
            if self.left.load(Ordering::SeqCst) < b.len() as u64 {
                self.end.break_now();
                return Err(io::Error::new(io::ErrorKind::BrokenPipe, "cut"));
            }
            self.left.fetch_sub(b.len() as u64, Ordering::SeqCst);
        }
        self.end.send(msg).await
    }
    async fn recv(&self) -> io::Result<Option<Msg>> {
        self.end.recv().await
    }
    async fn close(&self) {
        self.end.close().await
    }
}

async fn resume(src: &Path, dst: &Path, size: u64) -> (u64, u64) {
    let (a, b) = pipe(64);
    let a = Breaking {
        end: a,
        left: AtomicU64::new(size / 2),
    };
    let files = [src.to_path_buf()];
    let (tx, rx) = tokio::join!(
        transfer::send(&a, &files, Options::default()),
        transfer::receive(&b, dst, Policy::AcceptAll, Options::default())
    );
    assert!(tx.is_err() && rx.is_err());
    let name = src.file_name().unwrap().to_str().unwrap();
    let arrived = std::fs::metadata(qrchat::transfer::paths::part_path(dst, name))
        .map(|m| m.len())
        .unwrap_or(0);
    let (a, b) = pipe(64);
    let (tx, rx) = tokio::join!(
        transfer::send(&a, &files, Options::default()),
        transfer::receive(&b, dst, Policy::AcceptAll, Options::default())
    );
    let tx = tx.unwrap();
    for f in rx.unwrap().files {
        std::fs::remove_file(f).unwrap();
    }
    (arrived, tx.sent - (size - arrived))
}

/// One side in its own process (the bench runs itself twice): the sender prints its
/// offer code and reads the answer on stdin, the receiver the other way round. `mode` is
/// `raw` (64 KiB binary messages, nothing else) or `file` (a real transfer of `path`).
/// Both end by printing `RESULT <bytes> <seconds> <peak RSS bytes>`; the seconds are the
/// receiver's, from the channel's arrival to the last byte (raw) or to the verified,
/// renamed file (file), so the two modes are timed the same way.
async fn child(role: &str, mode: &str, path: &Path) {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let (etx, mut erx) = mpsc::unbounded_channel();
    let cfg = RtcConfig::loopback();
    let session = if role == "send" {
        let s = Session::offer(&cfg, etx).await.unwrap();
        println!(
            "{}",
            signal::encode(s.local_description(), Format::Auto).unwrap()
        );
        let line = lines.next_line().await.unwrap().unwrap();
        let answer = signal::decode_expecting(&line, SdpKind::Answer, None).unwrap();
        s.accept_answer(&answer.desc).await.unwrap();
        s
    } else {
        let line = lines.next_line().await.unwrap().unwrap();
        let offer = signal::decode_expecting(&line, SdpKind::Offer, None).unwrap();
        let s = Session::answer(&cfg, &offer.desc, etx).await.unwrap();
        println!(
            "{}",
            signal::encode(s.local_description(), Format::Auto).unwrap()
        );
        s
    };
    while let Some(e) = erx.recv().await {
        if matches!(e, SessionEvent::Open { .. }) {
            break;
        }
    }
    let size = mb() << 20;
    let label = if mode == "raw" {
        "bench-raw"
    } else {
        proto::LABEL
    };
    let t = Instant::now();
    let bytes = match (role, mode) {
        ("send", "raw") => {
            let ch = session.open_channel(label).await.unwrap();
            let chunk = Bytes::from(vec![7u8; 64 * 1024]);
            let mut left = size;
            while left > 0 {
                let n = left.min(chunk.len() as u64) as usize;
                ch.send_bytes(chunk.slice(..n)).await.unwrap();
                left -= n as u64;
            }
            // The receiver closes the channel once it has every byte.
            while let Ok(Some(_)) = ch.recv().await {}
            size
        }
        ("send", _) => {
            let ch = session.open_channel(label).await.unwrap();
            let r = transfer::send(&ch, &[path.to_path_buf()], Options::default()).await;
            r.unwrap().bytes
        }
        (_, "raw") => {
            let ch = incoming(&mut erx, label).await;
            let t = Instant::now();
            let mut got = 0u64;
            while got < size {
                match ch.recv().await.unwrap() {
                    Some(ChannelMessage::Binary(b)) => got += b.len() as u64,
                    other => panic!("{other:?}"),
                }
            }
            let secs = t.elapsed().as_secs_f64();
            println!("RESULT {got} {secs} {}", peak_rss());
            ch.close().await;
            session.close().await;
            return;
        }
        _ => {
            let ch = incoming(&mut erx, label).await;
            let t = Instant::now();
            let r = transfer::receive(&ch, path, Policy::AcceptAll, Options::default()).await;
            let r = r.unwrap();
            let secs = t.elapsed().as_secs_f64();
            println!("RESULT {} {secs} {}", r.bytes, peak_rss());
            session.close().await;
            return;
        }
    };
    println!(
        "RESULT {bytes} {} {}",
        t.elapsed().as_secs_f64(),
        peak_rss()
    );
    session.close().await;
}

/// One two-process run of `mode`: (MB/s as the receiver saw it, sender's peak RSS,
/// receiver's).
fn two_processes(mode: &str, src: &Path, dst: &Path) -> (f64, u64, u64) {
    use std::io::{BufRead, BufReader, Write};
    use std::process::{Command, Stdio};
    let me = std::env::current_exe().unwrap();
    let spawn = |role: &str, p: &Path| {
        Command::new(&me)
            .args(["--child", role, mode])
            .arg(p)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let mut s = spawn("send", src);
    let mut r = spawn("receive", dst);
    let mut s_out = BufReader::new(s.stdout.take().unwrap());
    let mut r_out = BufReader::new(r.stdout.take().unwrap());
    let mut line = String::new();
    s_out.read_line(&mut line).unwrap();
    r.stdin
        .as_mut()
        .unwrap()
        .write_all(line.as_bytes())
        .unwrap();
    line.clear();
    r_out.read_line(&mut line).unwrap();
    s.stdin
        .as_mut()
        .unwrap()
        .write_all(line.as_bytes())
        .unwrap();
    let result = |out: &mut BufReader<std::process::ChildStdout>| -> (u64, f64, u64) {
        let mut l = String::new();
        loop {
            l.clear();
            if out.read_line(&mut l).unwrap() == 0 {
                panic!("a side ended without a result");
            }
            if let Some(rest) = l.trim().strip_prefix("RESULT ") {
                let v: Vec<&str> = rest.split(' ').collect();
                return (
                    v[0].parse().unwrap(),
                    v[1].parse().unwrap(),
                    v[2].parse().unwrap(),
                );
            }
        }
    };
    let (bytes, secs, r_rss) = result(&mut r_out);
    let (_, _, s_rss) = result(&mut s_out);
    let _ = s.wait();
    let _ = r.wait();
    (bytes as f64 / secs / 1e6, s_rss, r_rss)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    // as the app runs: a multi-thread runtime (src/main.rs); here two workers, as on a
    // two-core machine
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    if args.get(1).map(String::as_str) == Some("--child") {
        return rt.block_on(child(&args[2], &args[3], Path::new(&args[4])));
    }
    rt.block_on(bench())
}

async fn bench() {
    let size = mb() << 20;
    let runs: usize = std::env::var("QRCHAT_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
        .max(1);
    let work = tempfile::tempdir_in(std::env::var_os("QRCHAT_BENCH_DIR").unwrap_or("/tmp".into()))
        .unwrap();
    let src = work.path().join("big.bin");
    let dst = work.path().join("in");
    std::fs::create_dir(&dst).unwrap();
    files::make_file(&src, size, 0x1234_5678_9abc_def1);
    let mib = |b: u64| b as f64 / (1 << 20) as f64;

    println!(
        "transfer bench: a {} MiB file, two processes on loopback (one rtc session each), {runs} run(s)",
        mb()
    );
    println!("  run   raw MB/s  file MB/s  file/raw  RSS raw send/recv  RSS file send/recv (MiB)");
    let (mut raws, mut files, mut ratios) = (vec![], vec![], vec![]);
    let mut rss_max = 0u64;
    for i in 1..=runs {
        let (raw, rs, rr) = tokio::task::spawn_blocking({
            let (src, dst) = (src.clone(), dst.clone());
            move || two_processes("raw", &src, &dst)
        })
        .await
        .unwrap();
        let (file, fs, fr) = tokio::task::spawn_blocking({
            let (src, dst) = (src.clone(), dst.clone());
            move || two_processes("file", &src, &dst)
        })
        .await
        .unwrap();
        for f in std::fs::read_dir(&dst).unwrap() {
            std::fs::remove_file(f.unwrap().path()).unwrap();
        }
        println!(
            "  {i:>3}  {raw:9.1}  {file:9.1}  {:7.0}%  {:8.1} / {:<8.1}  {:8.1} / {:<8.1}",
            file * 100.0 / raw,
            mib(rs),
            mib(rr),
            mib(fs),
            mib(fr)
        );
        rss_max = rss_max.max(rs).max(rr).max(fs).max(fr);
        raws.push(raw);
        files.push(file);
        ratios.push(file * 100.0 / raw);
    }
    println!(
        "  median {:7.1}  {:9.1}  {:7.0}%  peak RSS of any side in any run {:.1} MiB",
        median(&mut raws),
        median(&mut files),
        median(&mut ratios),
        mib(rss_max)
    );

    println!("in this process (both sides in one runtime), one run:");
    let raw = raw_rtc(size).await;
    println!("  raw data channel, 64 KiB messages {raw:7.1} MB/s");
    let can_reset = reset_peak();
    let before = peak_rss();
    let file = file_rtc(&src, &dst).await;
    let peak = peak_rss();
    println!(
        "  file transfer over such a channel {file:7.1} MB/s  ({:.0}% of raw)",
        file * 100.0 / raw
    );
    if can_reset {
        println!(
            "  peak RSS while the file crossed   {:7.1} MiB (both sides and WebRTC; {:.1} MiB before)",
            mib(peak),
            mib(before)
        );
    } else {
        println!(
            "  peak RSS of the whole run {:.1} MiB (cannot reset VmHWM here)",
            mib(peak)
        );
    }
    let (pipe_rate, _) = file_over_pipe(&src, &dst).await;
    println!("  file transfer over the in-memory pipe {pipe_rate:5.0} MB/s (the driver alone)");
    let (arrived, again) = resume(&src, &dst, size).await;
    println!(
        "  resume after a break at half: {arrived} bytes had arrived, {again} sent again ({:.3}%)",
        again as f64 * 100.0 / arrived.max(1) as f64
    );
}
