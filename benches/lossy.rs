//! Pairings over a lossy path (issue 17's target): two real `qrchat` processes in network
//! namespaces whose outgoing packets are dropped at random by iptables; each pairing
//! carries a message each way and a file, and both sides must exit 0 with the file
//! verified. Prints how many of how many pairings did, and how long they took (median and
//! slowest). The same pairing as `tests/integration/loss.rs`, which runs a few in
//! `cargo test`.
//!
//! `cargo bench --bench lossy` (as root; `-- quick` for 10 at 1% and 5 at 5%). Without root
//! or iptables it says why and prints nothing else.

#[allow(dead_code)]
#[path = "../tests/integration/loss.rs"]
mod loss;
#[path = "../tests/integration/netns.rs"]
mod netns;

use std::time::Duration;

fn main() {
    let quick = std::env::args().any(|a| a == "quick");
    if let Some(why) = netns::unavailable(&["iptables"]) {
        println!("lossy bench skipped: {why}");
        return;
    }
    let runs: [(f64, usize); 2] = if quick {
        [(0.01, 10), (0.05, 5)]
    } else {
        [(0.01, 50), (0.05, 20)]
    };
    let file = 1 << 20;
    let mut all_ok = true;
    for (loss, n) in runs {
        let mut took: Vec<Duration> = Vec::new();
        let mut failed = 0;
        for i in 0..n {
            match loss::pairing(loss, file, 0xbe0c + i as u64) {
                Ok(d) => took.push(d),
                Err(e) => {
                    failed += 1;
                    println!("pairing {} at {}% loss failed: {e}", i + 1, loss * 100.0);
                }
            }
        }
        took.sort();
        let median = took.get(took.len() / 2).copied().unwrap_or_default();
        let slowest = took.last().copied().unwrap_or_default();
        println!(
            "{}% loss each way: {} of {n} pairings carried a message each way and a 1 MiB file, both sides exit 0 \
             (median {:.1} s, slowest {:.1} s)",
            loss * 100.0,
            n - failed,
            median.as_secs_f64(),
            slowest.as_secs_f64()
        );
        all_ok &= failed == 0;
    }
    if !all_ok {
        std::process::exit(1);
    }
}
