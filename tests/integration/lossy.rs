//! Messages keep their order and none are lost on a bad link.
//!
//! The link is a real UDP relay on loopback that drops 20% of the datagrams in each
//! direction and delays the rest by 100 ms. Each side's candidates are rewritten to the
//! relay's address before the other side sees them, so every packet between the two
//! sessions crosses the relay. (tc netem would do the same in a network namespace; the
//! kernels these tests run on do not all have sch_netem, and a relay runs everywhere.)

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use qrchat::rtc::{Session, SessionEvent};
use qrchat::signal::SessionDescription;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

use crate::common::{loopback, wait_for};

const LOSS: f64 = 0.20;
const DELAY: Duration = Duration::from_millis(100);
const N: usize = 1000;

/// Counts what the relay did, so the test can show the loss really happened.
#[derive(Default)]
struct Tally {
    forwarded: AtomicU64,
    dropped: AtomicU64,
}

/// Small deterministic PRNG (xorshift64*): the same losses on every run.
struct Rng(u64);
impl Rng {
    fn next_f64(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// One direction of the relay: what arrives on `from` goes out of `to` towards the
/// address last seen on `to`'s side (learned from its traffic) or the `initial` one.
fn pump(
    from: Arc<UdpSocket>,
    to: Arc<UdpSocket>,
    peer_of_to: Arc<std::sync::Mutex<Option<SocketAddr>>>,
    peer_of_from: Arc<std::sync::Mutex<Option<SocketAddr>>>,
    seed: u64,
    tally: Arc<Tally>,
) {
    tokio::spawn(async move {
        let mut rng = Rng(seed);
        let mut buf = vec![0u8; 65536];
        loop {
            let Ok((n, src)) = from.recv_from(&mut buf).await else {
                return;
            };
            *peer_of_from.lock().unwrap() = Some(src);
            if rng.next_f64() < LOSS {
                tally.dropped.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            let Some(dst) = *peer_of_to.lock().unwrap() else {
                continue;
            };
            tally.forwarded.fetch_add(1, Ordering::Relaxed);
            let data = buf[..n].to_vec();
            let to = to.clone();
            tokio::spawn(async move {
                tokio::time::sleep(DELAY).await;
                let _ = to.send_to(&data, dst).await;
            });
        }
    });
}

/// The candidate `addr:port` in a description, and the same description pointing at `via`.
pub fn reroute(desc: &SessionDescription, via: SocketAddr) -> (SocketAddr, SessionDescription) {
    let mut real = None;
    let mut sdp = String::new();
    for line in desc.sdp.split("\r\n").filter(|l| !l.is_empty()) {
        if let Some(rest) = line.strip_prefix("a=candidate:") {
            let f: Vec<&str> = rest.split(' ').collect();
            let addr: SocketAddr = format!("{}:{}", f[4], f[5]).parse().unwrap();
            real.get_or_insert(addr);
            let mut f2: Vec<String> = f.iter().map(|s| s.to_string()).collect();
            f2[4] = via.ip().to_string();
            f2[5] = via.port().to_string();
            sdp.push_str(&format!("a=candidate:{}\r\n", f2.join(" ")));
        } else {
            sdp.push_str(line);
            sdp.push_str("\r\n");
        }
    }
    (
        real.expect("a candidate"),
        SessionDescription {
            kind: desc.kind,
            sdp,
        },
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousand_messages_each_way_survive_20_percent_loss_and_100ms_delay() {
    // Relay sockets: `pa` faces Alice, `pb` faces Bob.
    let pa = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
    let pb = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
    let alice_addr = Arc::new(std::sync::Mutex::new(None));
    let bob_addr = Arc::new(std::sync::Mutex::new(None));
    let tally = Arc::new(Tally::default());

    let (atx, mut arx) = mpsc::unbounded_channel();
    let (btx, mut brx) = mpsc::unbounded_channel();
    let alice = Session::offer(&loopback(), atx).await.unwrap();
    // Bob sees Alice at `pb`; Alice sees Bob at `pa`.
    let (alice_real, offer_via) = reroute(alice.local_description(), pb.local_addr().unwrap());
    *alice_addr.lock().unwrap() = Some(alice_real);
    let bob = Session::answer(&loopback(), &offer_via, btx).await.unwrap();
    let (bob_real, answer_via) = reroute(bob.local_description(), pa.local_addr().unwrap());
    *bob_addr.lock().unwrap() = Some(bob_real);
    pump(
        pa.clone(),
        pb.clone(),
        bob_addr.clone(),
        alice_addr.clone(),
        0x5eed_0001,
        tally.clone(),
    );
    pump(
        pb.clone(),
        pa.clone(),
        alice_addr.clone(),
        bob_addr.clone(),
        0x5eed_0002,
        tally.clone(),
    );
    alice.accept_answer(&answer_via).await.unwrap();

    let open = Duration::from_secs(240);
    let is_open = |e: &SessionEvent| matches!(e, SessionEvent::Open { .. }).then_some(());
    let t_open = std::time::Instant::now();
    wait_for(&mut arx, open, is_open).await;
    wait_for(&mut brx, open, is_open).await;
    // SCTP's handshake retransmits after 3 s, doubling: a few unlucky drops make this long.
    eprintln!(
        "channel open after {:?} on the lossy link",
        t_open.elapsed()
    );

    let t0 = std::time::Instant::now();
    for i in 0..N {
        alice.send(&format!("a {i:04}")).await.unwrap();
        bob.send(&format!("b {i:04}")).await.unwrap();
    }
    let limit = Duration::from_secs(240);
    for (rx, who) in [(&mut brx, 'a'), (&mut arx, 'b')] {
        for i in 0..N {
            let m = wait_for(rx, limit, |e| match e {
                SessionEvent::Message(m) => Some(m.clone()),
                SessionEvent::Closed(r) => panic!("link lost at message {i}: {r}"),
                _ => None,
            })
            .await;
            assert_eq!(m, format!("{who} {i:04}"), "in order, none lost");
        }
    }
    let dropped = tally.dropped.load(Ordering::Relaxed);
    let forwarded = tally.forwarded.load(Ordering::Relaxed);
    eprintln!(
        "{N} messages each way in {:?}; relay forwarded {forwarded} datagrams, dropped {dropped}",
        t0.elapsed()
    );
    assert!(
        dropped > 0 && (dropped as f64) / ((dropped + forwarded) as f64) > 0.1,
        "the link really was lossy"
    );
    alice.close().await;
    bob.close().await;
}
