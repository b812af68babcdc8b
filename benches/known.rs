//! Known peers (issue 16): `qrchat connect NAME` to a message crossing each way, two real
//! processes in two network namespaces on one veth LAN, both restarted since they paired
//! (every run is a fresh `listen` and a fresh `connect`). The reference in the same run: a
//! pairing by code where a script hands the codes over at once (the fastest a code pairing
//! can be), to the same message each way. Prints medians; asserts only that each run works.
//!
//! `cargo bench --profile dev --bench known` (as root; `-- quick` for 5 runs). Without root
//! it says why and prints nothing else.

#[allow(dead_code, unused_imports)]
#[path = "../tests/integration/known.rs"]
mod known;
#[path = "../tests/integration/netns.rs"]
mod netns;

use std::time::{Duration, Instant};

use known::{connect_and_talk, pair_and_remember, two_hosts};

const T: Duration = Duration::from_secs(20);

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn main() {
    let quick = std::env::args().any(|a| a == "quick");
    if let Some(why) = netns::unavailable(&[]) {
        println!("known bench skipped: {why}");
        return;
    }
    let runs = if quick { 5 } else { 20 };
    let (net, a, b, da, db) = two_hosts().unwrap();
    let sas = pair_and_remember(&net, &a, &da, &b, &db);
    let mut by_name = Vec::new();
    let mut by_code = Vec::new();
    for i in 0..runs {
        by_name.push(connect_and_talk(&net, &a, &da, &b, &db, &sas).as_secs_f64() * 1000.0);
        // reference: a code pairing, codes handed over by the script at once
        let t0 = Instant::now();
        let mut alice = net.qrchat(&a, &["offer"]);
        let code = alice.line(T);
        let mut bob = net.qrchat(&b, &["answer", &code]);
        alice.say(&bob.line(T));
        alice.say(&format!("ping {i}"));
        assert_eq!(bob.line(T), format!("ping {i}"));
        bob.say("pong");
        assert_eq!(alice.line(T), "pong");
        by_code.push(t0.elapsed().as_secs_f64() * 1000.0);
        alice.hang_up();
        bob.hang_up();
        let _ = alice.exit(T);
        let _ = bob.exit(T);
    }
    let (n, c) = (median(&mut by_name), median(&mut by_code));
    println!("start to a message each way, {runs} runs, two namespaces on one LAN (ms)");
    println!(
        "{:<44} {:>7.0} (min {:.0}, max {:.0})",
        "qrchat connect NAME (listener already up)",
        n,
        by_name[0],
        by_name[runs - 1]
    );
    println!(
        "{:<44} {:>7.0} (min {:.0}, max {:.0})",
        "reference: offer/answer, codes passed at once",
        c,
        by_code[0],
        by_code[runs - 1]
    );
    println!("ratio connect / code pairing: {:.2}", n / c);
}
