//! File-transfer throughput, memory and resume cost. `cargo bench --bench transfer`
//!
//! In one run, side by side: the raw channel (64 KiB binary messages, nothing else) and
//! a file transfer over the same kind of channel (read, hash, frame, verify, write,
//! rename), so the transfer's own overhead shows as the ratio of the two. Then the peak
//! RSS while a large file crosses, and the bytes sent again when a broken transfer is
//! resumed.
//!
//! QRCHAT_BENCH_MB sets the file size (default 1024 = 1 GiB).

use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use bytes::Bytes;
use qrchat::transfer::pipe::{pipe, PipeEnd};
use qrchat::transfer::{self, Msg, Options, Policy, Wire};

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

fn make_file(p: &Path, bytes: u64) {
    use std::io::Write;
    let mut f = std::io::BufWriter::new(std::fs::File::create(p).unwrap());
    let mut x: u64 = 0x1234_5678_9abc_def1;
    let mut block = vec![0u8; 1 << 20];
    let mut left = bytes;
    while left > 0 {
        for b in block.chunks_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            b.copy_from_slice(&x.to_le_bytes()[..b.len()]);
        }
        let n = left.min(block.len() as u64) as usize;
        f.write_all(&block[..n]).unwrap();
        left -= n as u64;
    }
}

async fn raw_pipe(bytes: u64) -> f64 {
    let (a, b) = pipe(64);
    let chunk = Bytes::from(vec![7u8; 64 * 1024]);
    let t = Instant::now();
    let sender = async {
        let mut left = bytes;
        while left > 0 {
            let n = left.min(chunk.len() as u64) as usize;
            a.send(Msg::Binary(chunk.slice(..n))).await.unwrap();
            left -= n as u64;
        }
        a.close().await;
    };
    let receiver = async {
        let mut got = 0u64;
        while let Some(Msg::Binary(b)) = b.recv().await.unwrap() {
            got += b.len() as u64;
        }
        got
    };
    let ((), got) = tokio::join!(sender, receiver);
    assert_eq!(got, bytes);
    bytes as f64 / t.elapsed().as_secs_f64() / 1e6
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

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let size = mb() << 20;
    let work = tempfile::tempdir_in(std::env::var_os("QRCHAT_BENCH_DIR").unwrap_or("/tmp".into()))
        .unwrap();
    let src = work.path().join("big.bin");
    let dst = work.path().join("in");
    std::fs::create_dir(&dst).unwrap();
    make_file(&src, size);
    println!(
        "transfer bench: a {} MiB file, in-memory pipe (both sides in this process)",
        mb()
    );

    let raw = raw_pipe(size).await;
    let can_reset = reset_peak();
    let before = peak_rss();
    let (file, _) = file_over_pipe(&src, &dst).await;
    let peak = peak_rss();
    println!("  raw pipe, 64 KiB messages   {raw:8.0} MB/s");
    println!(
        "  file transfer over the pipe {file:8.0} MB/s  ({:.0}% of raw)",
        file * 100.0 / raw
    );
    if can_reset {
        println!(
            "  peak RSS during the transfer {:.1} MiB (both sides; {:.1} MiB before it)",
            peak as f64 / (1 << 20) as f64,
            before as f64 / (1 << 20) as f64
        );
    } else {
        println!(
            "  peak RSS of the whole run {:.1} MiB (cannot reset VmHWM here)",
            peak as f64 / (1 << 20) as f64
        );
    }
    let (arrived, again) = resume(&src, &dst, size).await;
    println!(
        "  resume after a break at half: {arrived} bytes had arrived, {again} sent again ({:.3}%)",
        again as f64 * 100.0 / arrived.max(1) as f64
    );
}
