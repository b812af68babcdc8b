//! Times `signal::decode` over a corpus, uninstrumented, and prints the slowest inputs:
//!   cd fuzz && cargo run --release --bin replay -- corpus/decode ../fixtures/blobs

#[allow(dead_code)]
#[path = "../../src/signal/mod.rs"]
mod signal;

use std::time::{Duration, Instant};

fn main() {
    let mut times: Vec<(Duration, usize, String)> = Vec::new();
    for dir in std::env::args().skip(1) {
        for e in std::fs::read_dir(&dir).expect("corpus dir").flatten() {
            let data = std::fs::read(e.path()).expect("read");
            let text = String::from_utf8_lossy(&data);
            // Best of 5, so a scheduler hiccup on a shared machine does not count.
            let best = (0..5)
                .map(|_| {
                    let t = Instant::now();
                    let r = signal::decode(&text);
                    let d = t.elapsed();
                    let _ = std::hint::black_box(r);
                    d
                })
                .min()
                .unwrap();
            times.push((best, data.len(), e.path().display().to_string()));
        }
    }
    times.sort();
    let n = times.len();
    assert!(n > 0, "no inputs");
    let total: Duration = times.iter().map(|t| t.0).sum();
    println!(
        "{n} inputs: median {:?}, p99 {:?}, max {:?}, mean {:?}",
        times[n / 2].0,
        times[n * 99 / 100].0,
        times[n - 1].0,
        total / n as u32
    );
    for (d, len, path) in times.iter().rev().take(5) {
        println!("  {d:?}  {len} bytes  {path}");
    }
}
