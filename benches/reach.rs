//! Reach figures (issue 9): how long each cell of the NAT matrix takes from the offerer
//! applying the answer to the chat channel being open, with two real `qrchat` processes
//! in network namespaces (NAT routers made with iptables, coturn as STUN/TURN server).
//! The same network and pairing code as `tests/integration/reach.rs`. Prints a table;
//! asserts nothing beyond each pairing working.
//!
//! `cargo bench --bench reach` (as root; add `-- quick` for fewer repetitions). Without
//! root, iptables or coturn it says why and prints nothing else.

#[path = "../tests/integration/netns.rs"]
mod netns;
#[allow(dead_code, unused_imports)]
#[path = "../tests/integration/reach.rs"]
mod reach;

use std::time::Instant;

use netns::{Nat, Net};
use reach::{hosts, pair_once, Servers};

/// A cell: its name, the two routers (None: one LAN), the servers both sides are given.
type Cell = (&'static str, Option<(Nat, Nat)>, Servers);

fn main() {
    let quick = std::env::args().any(|a| a == "quick");
    if let Some(why) = netns::unavailable(&["iptables", "turnserver"]) {
        println!("reach bench skipped: {why}");
        return;
    }
    let runs = if quick { 3 } else { 10 };
    let cells: [Cell; 6] = [
        ("same LAN", None, Servers::None),
        (
            "cone + cone, STUN",
            Some((Nat::Cone, Nat::Cone)),
            Servers::Stun,
        ),
        (
            "cone + cone, STUN+TURN",
            Some((Nat::Cone, Nat::Cone)),
            Servers::StunAndTurn,
        ),
        (
            "symmetric + cone, STUN+TURN",
            Some((Nat::Symmetric, Nat::Cone)),
            Servers::StunAndTurn,
        ),
        (
            "cone + symmetric, STUN+TURN",
            Some((Nat::Cone, Nat::Symmetric)),
            Servers::StunAndTurn,
        ),
        (
            "symmetric + symmetric, STUN+TURN",
            Some((Nat::Symmetric, Nat::Symmetric)),
            Servers::StunAndTurn,
        ),
    ];
    println!("answer applied -> channel open, {runs} pairings per cell (ms)");
    println!(
        "{:<34} {:>7} {:>7} {:>7}  route",
        "cell", "p50", "max", "min"
    );
    for (name, nats, servers) in cells {
        let t0 = Instant::now();
        let mut net = Net::new();
        let (ha, hb) = hosts(&mut net, nats, servers);
        let setup = t0.elapsed();
        let mut ms = Vec::new();
        let mut routes = Vec::new();
        for i in 0..runs {
            let out = pair_once(&net, &ha, &hb, servers, &format!("run{i}"));
            ms.push(out.took.as_secs_f64() * 1000.0);
            let r = format!("{:?}", out.route);
            if !routes.contains(&r) {
                routes.push(r);
            }
        }
        ms.sort_by(|a, b| a.partial_cmp(b).unwrap());
        println!(
            "{:<34} {:>7.0} {:>7.0} {:>7.0}  {}   (network set up in {} ms)",
            name,
            ms[ms.len() / 2],
            ms[ms.len() - 1],
            ms[0],
            routes.join("/"),
            setup.as_millis()
        );
    }
}
