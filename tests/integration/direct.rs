//! One scan: the joiner hands its answer straight to the starter (src/direct), with real
//! sessions, a real listener and real TCP sockets on loopback, and a hostile sender of our
//! own. The namespace tests (two hosts on a LAN, the port filtered) are in `onescan.rs`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use qrchat::direct::{self, wire, Delivery, Dropped, Listener};
use qrchat::rtc::{Session, SessionEvent};
use qrchat::signal::{self, Format, SdpKind, SessionDescription};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::mpsc::{self, UnboundedReceiver};

use crate::common::{loopback, wait_for};

const T: Duration = Duration::from_secs(20);

struct Starter {
    session: Session,
    events: UnboundedReceiver<SessionEvent>,
    listener: Listener<SessionDescription>,
    /// The code as the joiner reads it (marked: takes a direct answer).
    offer: SessionDescription,
}

async fn starter() -> Starter {
    let (tx, events) = mpsc::unbounded_channel();
    let session = Session::offer(&loopback(), tx).await.expect("offer");
    let listener = direct::listen_for_answer(session.local_description())
        .await
        .expect("listen");
    let marked = SessionDescription {
        kind: SdpKind::Offer,
        sdp: signal::mark_direct(&session.local_description().sdp),
    };
    let code = signal::encode(&marked, Format::Auto).unwrap();
    let offer = signal::decode_expecting(&code, SdpKind::Offer, None)
        .unwrap()
        .desc;
    assert!(
        signal::accepts_direct(&offer.sdp),
        "the flag travels in the code"
    );
    Starter {
        session,
        events,
        listener,
        offer,
    }
}

struct Joiner {
    session: Session,
    events: UnboundedReceiver<SessionEvent>,
    code: String,
}

async fn joiner(offer: &SessionDescription) -> Joiner {
    let (tx, events) = mpsc::unbounded_channel();
    let session = Session::answer(&loopback(), offer, tx)
        .await
        .expect("answer");
    let code = signal::encode(session.local_description(), Format::Auto).unwrap();
    Joiner {
        session,
        events,
        code,
    }
}

async fn deliver(offer: &SessionDescription, j: &Joiner) -> Delivery {
    direct::deliver_answer(
        offer,
        j.session.local_description(),
        &j.code,
        Duration::from_secs(5),
    )
    .await
}

fn open(e: &SessionEvent) -> Option<String> {
    match e {
        SessionEvent::Open { sas, .. } => Some(sas.clone()),
        _ => None,
    }
}

/// The starter applies what the listener hands on, and both sides open with one scan.
async fn pairs(a: &mut Starter, b: &mut Joiner) {
    let answer = tokio::time::timeout(T, a.listener.won())
        .await
        .expect("a delivery won");
    a.session.accept_answer(&answer).await.expect("accept");
    let sa = wait_for(&mut a.events, T, open).await;
    let sb = wait_for(&mut b.events, T, open).await;
    assert_eq!(sa, sb);
    b.session.send("over the one-scan link").await.unwrap();
    let got = wait_for(&mut a.events, T, |e| match e {
        SessionEvent::Message(m) => Some(m.clone()),
        _ => None,
    })
    .await;
    assert_eq!(got, "over the one-scan link");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivered_answer_pairs_and_a_second_joiner_is_refused() {
    let mut a = starter().await;
    let mut b = joiner(&a.offer).await;
    match deliver(&a.offer, &b).await {
        Delivery::Accepted { to } => assert!(a.listener.addresses().contains(&to)),
        other => panic!("{other:?}"),
    }
    // Someone else read the same code: its valid answer is refused, and it is told.
    let c = joiner(&a.offer).await;
    match deliver(&a.offer, &c).await {
        Delivery::UsedUp { .. } => {}
        other => panic!("the second joiner: {other:?}"),
    }
    pairs(&mut a, &mut b).await;
    let counts = a.listener.counts();
    assert_eq!(counts.accepted, 1, "{counts}");
    assert_eq!(counts.dropped(Dropped::UsedUp), 1, "{counts}");
    // The first joiner's ack, if it was lost, is sent again; nothing else happens.
    assert!(matches!(
        deliver(&a.offer, &b).await,
        Delivery::Accepted { .. }
    ));
    assert_eq!(a.listener.counts().dropped(Dropped::Replayed), 1);
    assert_eq!(a.listener.counts().accepted, 1);
    c.session.close().await;
    a.session.close().await;
    b.session.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_flag_or_a_listener_nothing_is_delivered() {
    // A code without the flag (--no-direct, --json): not even tried.
    let (tx, _events) = mpsc::unbounded_channel();
    let plain = Session::offer(&loopback(), tx).await.unwrap();
    let b = joiner(plain.local_description()).await;
    let t0 = std::time::Instant::now();
    match deliver(plain.local_description(), &b).await {
        Delivery::Failed(why) => assert!(why.contains("does not take"), "{why}"),
        other => panic!("{other:?}"),
    }
    assert!(t0.elapsed() < Duration::from_millis(100));
    // The flag but nobody listening (refused at once): fails within the time given.
    let marked = SessionDescription {
        kind: SdpKind::Offer,
        sdp: signal::mark_direct(&plain.local_description().sdp),
    };
    let out = direct::deliver_answer(
        &marked,
        b.session.local_description(),
        &b.code,
        Duration::from_millis(600),
    )
    .await;
    match out {
        Delivery::Failed(why) => assert!(why.contains("refused"), "{why}"),
        other => panic!("{other:?}"),
    }
    plain.close().await;
    b.session.close().await;
}

/// A TCP connection from 127.0.0.2: a hostile host of its own on the "LAN".
async fn hostile(to: SocketAddr) -> std::io::Result<TcpStream> {
    let s = TcpSocket::new_v4()?;
    s.bind(SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)), 0))?;
    s.connect(to).await
}

/// Send `bytes`, then read whatever comes back until the listener closes.
async fn send(to: SocketAddr, bytes: &[u8]) -> Vec<u8> {
    let mut s = hostile(to).await.expect("connect");
    let _ = s.write_all(bytes).await;
    let _ = s.shutdown().await;
    let mut back = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(3), s.read_to_end(&mut back)).await;
    back
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_sender_changes_nothing_and_a_flood_does_not_stop_a_valid_answer() {
    let mut a = starter().await;
    let to = a.listener.addresses()[0];
    let b = joiner(&a.offer).await;
    let key = direct::AnswerKey::for_offer(a.session.local_description()).unwrap();
    let fp_b = signal::fingerprint_of(&b.session.local_description().sdp).unwrap();

    // Each kind of bad request, one by one: no reply, and counted for what it is.
    let (valid, _) = wire::answer_request(&key, &b.code, &fp_b);
    let mut wrong_mac = valid.clone();
    *wrong_mac.last_mut().unwrap() ^= 1;
    let other = starter().await;
    let other_key = direct::AnswerKey::for_offer(other.session.local_description()).unwrap();
    let o = joiner(&other.offer).await;
    let fp_o = signal::fingerprint_of(&o.session.local_description().sdp).unwrap();
    let (wrong_code, _) = wire::answer_request(&other_key, &o.code, &fp_o);
    let garbage = wire::request(wire::KIND_ANSWER, b"GET / HTTP/1.1", &[0; 32]);
    let cases: Vec<(&str, Vec<u8>, Dropped)> = vec![
        ("garbage", garbage, Dropped::Garbage),
        (
            "unknown kind",
            b"\x47ET / HTTP/1.1\r\n\r\n".to_vec(),
            Dropped::Garbage,
        ),
        (
            "truncated",
            valid[..valid.len() - 5].to_vec(),
            Dropped::Truncated,
        ),
        (
            "too large",
            vec![wire::KIND_ANSWER, 0xFF, 0xFF, 0, 0],
            Dropped::TooLarge,
        ),
        ("wrong MAC", wrong_mac, Dropped::WrongMac),
        ("for another code", wrong_code, Dropped::WrongCode),
    ];
    for (name, bytes, why) in &cases {
        let before = a.listener.counts().dropped(*why);
        let back = send(to, bytes).await;
        assert!(
            back.is_empty(),
            "{name}: no reply to a bad request, got {back:?}"
        );
        let counts = a.listener.counts();
        assert_eq!(counts.dropped(*why), before + 1, "{name}: {counts}");
    }
    // A sender that says nothing is cut off at the deadline.
    let mut slow = hostile(to).await.unwrap();
    slow.write_all(&valid[..10]).await.unwrap();
    let mut back = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(4), slow.read_to_end(&mut back)).await;
    assert!(back.is_empty());
    assert_eq!(a.listener.counts().dropped(Dropped::Slow), 1);
    assert_eq!(
        a.listener.counts().accepted,
        0,
        "nothing bad changed anything"
    );
    assert!(
        tokio::time::timeout(Duration::from_millis(50), a.listener.won())
            .await
            .is_err(),
        "nothing was handed on"
    );

    // A flood of 10,000 bad requests (wrong MACs, from the hostile host, many at once),
    // and the valid answer in the middle of it still pairs.
    let bad = cases[4].1.clone();
    let flood = tokio::spawn(async move {
        let mut sent = 0usize;
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..10_000 {
            let bad = bad.clone();
            set.spawn(async move {
                if let Ok(mut s) = hostile(to).await {
                    let _ = s.write_all(&bad).await;
                    let mut sink = [0u8; 8];
                    let _ = tokio::time::timeout(Duration::from_secs(3), s.read(&mut sink)).await;
                }
            });
            sent += 1;
            // Many at once, bounded (the test process has file descriptors to keep).
            while set.len() >= 48 {
                set.join_next().await;
            }
        }
        while set.join_next().await.is_some() {}
        sent
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut b = b;
    let t0 = std::time::Instant::now();
    let d = deliver(&a.offer, &b).await;
    let took = t0.elapsed();
    assert!(matches!(d, Delivery::Accepted { .. }), "{d:?}");
    pairs(&mut a, &mut b).await;
    let sent = flood.await.unwrap();
    assert_eq!(sent, 10_000);
    let counts = a.listener.counts();
    eprintln!("valid delivery during the flood took {took:?}; listener: {counts}");
    assert_eq!(counts.accepted, 1, "{counts}");
    assert!(
        counts.dropped(Dropped::WrongMac) + counts.dropped(Dropped::Busy) >= 10_000,
        "{counts}"
    );
    for s in [&a.session, &b.session, &other.session, &o.session] {
        s.close().await;
    }
}
