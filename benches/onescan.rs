//! One-scan figures (issue 15), printed, asserting nothing beyond each pairing working:
//!
//! 1. Two namespaces on one LAN, headless: from the joiner's start to a message crossing
//!    each way, nothing fed back (one scan), against the same with the answer fed back by
//!    the harness the moment it is printed (`--no-direct`, two scans) in the same run.
//! 2. The delivery blocked (the starter's namespace drops TCP): when the joiner's answer
//!    code appears, when its delivery gives up, and a pairing by the fed-back code.
//! 3. A flood of 10,000 bad requests (wrong MACs, from another address, 48 at a time) at
//!    a real listener on loopback while a valid answer is delivered: state changes, the
//!    valid delivery's time against one without a flood.
//!
//! `cargo bench --bench onescan` (as root for 1 and 2; add `-- quick` for 5 pairings
//! instead of 20). Without root or iptables, 1 and 2 say why and 3 still runs.

#[path = "../tests/integration/netns.rs"]
mod netns;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use netns::Net;
use qrchat::direct::{self, wire, Delivery, Dropped};
use qrchat::rtc::{RtcConfig, Session};
use qrchat::signal::{self, Format, SdpKind, SessionDescription};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpSocket;

const T: Duration = Duration::from_secs(20);

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i]
}

/// One LAN pairing: the joiner's start to a message each way, in ms.
fn lan_pairing(one_scan: bool) -> f64 {
    let mut net = Net::new();
    let (a, b) = net.lan_pair();
    let mut a_args = vec!["offer", "--bind", "10.99.50.1"];
    let mut b_args = vec!["answer", "--bind", "10.99.50.2"];
    if !one_scan {
        a_args.push("--no-direct");
        b_args.push("--no-direct");
    }
    let mut alice = net.qrchat(&a, &a_args);
    let offer = alice.line(T);
    b_args.push(&offer);
    let t0 = Instant::now();
    let mut bob = net.qrchat(&b, &b_args);
    let answer = bob.line(T);
    if !one_scan {
        alice.say(&answer);
    }
    bob.say("b");
    assert_eq!(alice.line(T), "b");
    alice.say("a");
    assert_eq!(bob.line(T), "a");
    let took = t0.elapsed();
    alice.hang_up();
    let _ = alice.exit(T);
    let _ = bob.exit(T);
    ms(took)
}

/// The starter's host drops TCP: (answer code shown, delivery gave up, linked by the
/// fed-back code), each from the joiner's start, in ms.
fn blocked_pairing() -> (f64, f64, f64) {
    let mut net = Net::new();
    let (a, b) = net.lan_pair();
    net.drop_tcp_in(&a);
    let mut alice = net.qrchat(&a, &["offer", "--bind", "10.99.50.1"]);
    let offer = alice.line(T);
    let t0 = Instant::now();
    let mut bob = net.qrchat(&b, &["answer", "--bind", "10.99.50.2", &offer]);
    let (shown, answer) = bob.line_at(T);
    alice.say(&answer);
    let (linked, _) = alice.wait_stderr("safety number", T);
    let (gave_up, _) = bob.wait_stderr("could not hand my answer over directly", T);
    bob.say("b");
    assert_eq!(alice.line(T), "b");
    alice.hang_up();
    let _ = alice.exit(T);
    let _ = bob.exit(T);
    (ms(shown - t0), ms(gave_up - t0), ms(linked - t0))
}

fn namespaces(runs: usize) {
    if let Some(why) = netns::unavailable(&["iptables"]) {
        println!("namespace figures skipped: {why}");
        return;
    }
    let (mut one, mut two) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        one.push(lan_pairing(true));
        two.push(lan_pairing(false));
    }
    let (m1, m2) = (pct(&mut one, 0.5), pct(&mut two, 0.5));
    println!(
        "LAN, joiner start -> a message each way, {runs} pairings (ms): one scan median {m1:.0}, p95 {:.0}, max {:.0}; \
         two scans with the answer fed back at once median {m2:.0}, p95 {:.0}; ratio {:.2}",
        pct(&mut one, 0.95),
        pct(&mut one, 1.0),
        pct(&mut two, 0.95),
        m1 / m2
    );
    let (mut shown, mut gave_up, mut linked) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs.min(5) {
        let (s, g, l) = blocked_pairing();
        shown.push(s);
        gave_up.push(g);
        linked.push(l);
    }
    println!(
        "TCP dropped at the starter, {} pairings (ms from the joiner's start, median): answer code shown {:.0}, \
         delivery gave up {:.0}, linked by the fed-back code {:.0}",
        shown.len(),
        pct(&mut shown, 0.5),
        pct(&mut gave_up, 0.5),
        pct(&mut linked, 0.5)
    );
}

async fn starter() -> (
    Session,
    direct::Listener<SessionDescription>,
    SessionDescription,
) {
    let (tx, _) = tokio::sync::mpsc::unbounded_channel();
    let s = Session::offer(&RtcConfig::loopback(), tx).await.unwrap();
    let l = direct::listen_for_answer(s.local_description())
        .await
        .unwrap();
    let marked = SessionDescription {
        kind: SdpKind::Offer,
        sdp: signal::mark_direct(&s.local_description().sdp),
    };
    let code = signal::encode(&marked, Format::Auto).unwrap();
    let offer = signal::decode_expecting(&code, SdpKind::Offer, None)
        .unwrap()
        .desc;
    (s, l, offer)
}

async fn joiner(offer: &SessionDescription) -> (Session, String) {
    let (tx, _) = tokio::sync::mpsc::unbounded_channel();
    let s = Session::answer(&RtcConfig::loopback(), offer, tx)
        .await
        .unwrap();
    let code = signal::encode(s.local_description(), Format::Auto).unwrap();
    (s, code)
}

/// A valid delivery's time (ms), with `flood` bad requests sent meanwhile; the listener's
/// counts after.
async fn delivery(flood: usize) -> (f64, direct::Counts) {
    let (a, mut listener, offer) = starter().await;
    let (b, code) = joiner(&offer).await;
    let to = listener.addresses()[0];
    let key = direct::AnswerKey::for_offer(a.local_description()).unwrap();
    let fp = signal::fingerprint_of(&b.local_description().sdp).unwrap();
    let (mut bad, _) = wire::answer_request(&key, &code, &fp);
    *bad.last_mut().unwrap() ^= 1;
    let flooder = tokio::spawn(async move {
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..flood {
            let bad = bad.clone();
            set.spawn(async move {
                let s = TcpSocket::new_v4().unwrap();
                s.bind(SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)), 0))
                    .unwrap();
                if let Ok(mut c) = s.connect(to).await {
                    let _ = c.write_all(&bad).await;
                    let mut sink = [0u8; 8];
                    let _ = tokio::time::timeout(T, c.read(&mut sink)).await;
                }
            });
            while set.len() >= 48 {
                set.join_next().await;
            }
        }
        while set.join_next().await.is_some() {}
    });
    if flood > 0 {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let t0 = Instant::now();
    let d =
        direct::deliver_answer(&offer, b.local_description(), &code, Duration::from_secs(5)).await;
    let took = t0.elapsed();
    assert!(matches!(d, Delivery::Accepted { .. }), "{d:?}");
    let won = tokio::time::timeout(T, listener.won())
        .await
        .expect("the valid one won");
    a.accept_answer(&won).await.unwrap();
    flooder.await.unwrap();
    let counts = listener.counts();
    a.close().await;
    b.close().await;
    (ms(took), counts)
}

fn flood(runs: usize) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut quiet = Vec::new();
        for _ in 0..runs {
            quiet.push(delivery(0).await.0);
        }
        let (during, counts) = delivery(10_000).await;
        let q = pct(&mut quiet, 0.5);
        println!(
            "loopback listener, a valid delivery: {q:.1} ms median of {runs} without a flood; {during:.1} ms during a flood of 10,000 bad requests \
             (ratio {:.1}); state changes: {} accepted (the valid one), bad ones dropped: {} (wrong MAC {}, too many at once {})",
            during / q,
            counts.accepted,
            counts.total_dropped(),
            counts.dropped(Dropped::WrongMac),
            counts.dropped(Dropped::Busy)
        );
    });
}

fn main() {
    let quick = std::env::args().any(|a| a == "quick");
    let runs = if quick { 5 } else { 20 };
    namespaces(runs);
    flood(if quick { 3 } else { 10 });
}
