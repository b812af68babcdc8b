//! The bulk path with real TCP on loopback and the transfer driver over the in-memory
//! pipe standing in for the data channel; and the listener against hostile senders.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::record::{Sealer, KEY_LEN};
use super::*;
use crate::transfer::pipe::{pipe, PipeEnd};
use crate::transfer::tests::noise;
use crate::transfer::{receive, send, Options, Policy};

const LO: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// A channel that counts the content bytes it carried.
struct Counted {
    end: PipeEnd,
    binary: AtomicU64,
}

impl Counted {
    fn new(end: PipeEnd) -> Counted {
        Counted {
            end,
            binary: AtomicU64::new(0),
        }
    }
}

impl Wire for Counted {
    async fn send(&self, msg: Msg) -> io::Result<()> {
        if let Msg::Binary(b) = &msg {
            self.binary.fetch_add(b.len() as u64, Ordering::Relaxed);
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

fn source(dir: &Path, len: usize) -> (std::path::PathBuf, Vec<u8>) {
    let data = noise(len, len as u64);
    let p = dir.join("video.bin");
    std::fs::write(&p, &data).unwrap();
    (p, data)
}

#[tokio::test]
async fn between_two_new_peers_the_content_goes_over_tcp() {
    let src = tempfile::tempdir().unwrap();
    let dst = tempfile::tempdir().unwrap();
    let (p, data) = source(src.path(), 5 << 20);
    let paths = [p];
    let (a, b) = pipe(64);
    let s = BulkWire::new(Counted::new(a), true, Some((LO, LO)));
    let r = BulkWire::new(b, false, Some((LO, LO)));
    let (sent, got) = tokio::join!(
        send(&s, &paths, Options::default()),
        receive(&r, dst.path(), Policy::AcceptAll, Options::default())
    );
    let (sent, got) = (sent.unwrap(), got.unwrap());
    assert_eq!((sent.sent, got.received), (5 << 20, 5 << 20));
    assert_eq!(std::fs::read(dst.path().join("video.bin")).unwrap(), data);
    assert!(s.used_tcp() && r.used_tcp());
    assert_eq!(
        s.inner().binary.load(Ordering::Relaxed),
        0,
        "content on the channel"
    );
}

#[tokio::test]
async fn an_older_receiver_gets_everything_on_the_channel() {
    let src = tempfile::tempdir().unwrap();
    let dst = tempfile::tempdir().unwrap();
    let (p, data) = source(src.path(), 1 << 20);
    let paths = [p];
    let (a, b) = pipe(64);
    let s = BulkWire::new(Counted::new(a), true, Some((LO, LO)));
    // an older qrchat: the plain channel, no bulk message ever
    let (sent, got) = tokio::join!(
        send(&s, &paths, Options::default()),
        receive(&b, dst.path(), Policy::AcceptAll, Options::default())
    );
    assert_eq!(sent.unwrap().sent, 1 << 20);
    got.unwrap();
    assert_eq!(std::fs::read(dst.path().join("video.bin")).unwrap(), data);
    assert!(!s.used_tcp());
    assert_eq!(s.inner().binary.load(Ordering::Relaxed), 1 << 20);
}

#[tokio::test]
async fn an_older_sender_hears_no_bulk_message() {
    let src = tempfile::tempdir().unwrap();
    let dst = tempfile::tempdir().unwrap();
    let (p, data) = source(src.path(), 1 << 20);
    let paths = [p];
    let (a, b) = pipe(64);
    // the sender's channel did not announce the feature: the receiver's pair is None
    // (BulkWire::receiving). The plain sender would stop at any message it does not know.
    let r = BulkWire::new(b, false, None);
    let (sent, got) = tokio::join!(
        send(&a, &paths, Options::default()),
        receive(&r, dst.path(), Policy::AcceptAll, Options::default())
    );
    sent.unwrap();
    got.unwrap();
    assert_eq!(std::fs::read(dst.path().join("video.bin")).unwrap(), data);
    assert!(!r.used_tcp());
}

#[tokio::test]
async fn where_tcp_cannot_connect_the_channel_carries_it() {
    let src = tempfile::tempdir().unwrap();
    let dst = tempfile::tempdir().unwrap();
    let (p, data) = source(src.path(), 1 << 20);
    let paths = [p];
    let (a, b) = pipe(64);
    // the sender tries 127.0.0.2, where nothing listens (a firewall that refuses)
    let s = BulkWire::new(
        Counted::new(a),
        true,
        Some((LO, "127.0.0.2".parse().unwrap())),
    );
    let r = BulkWire::new(b, false, Some((LO, LO)));
    let (sent, got) = tokio::join!(
        send(&s, &paths, Options::default()),
        receive(&r, dst.path(), Policy::AcceptAll, Options::default())
    );
    sent.unwrap();
    got.unwrap();
    assert_eq!(std::fs::read(dst.path().join("video.bin")).unwrap(), data);
    assert!(!s.used_tcp() && !r.used_tcp());
    assert_eq!(s.inner().binary.load(Ordering::Relaxed), 1 << 20);
}

#[tokio::test]
async fn a_cancelled_tcp_transfer_resumes_over_tcp() {
    let src = tempfile::tempdir().unwrap();
    let dst = tempfile::tempdir().unwrap();
    let len = 8 << 20;
    let (p, data) = source(src.path(), len);
    let paths = [p];
    // first run: the receiver cancels once 2 MiB are across
    let (a, b) = pipe(64);
    let s = BulkWire::new(a, true, Some((LO, LO)));
    let r = BulkWire::new(b, false, Some((LO, LO)));
    let (handle, signal) = crate::transfer::cancel_pair();
    let (ptx, mut prx) = tokio::sync::mpsc::channel::<crate::transfer::Progress>(64);
    let watch = async move {
        while let Some(pr) = prx.recv().await {
            if pr.done >= 2 << 20 {
                handle.cancel("enough");
                break;
            }
        }
    };
    let opts = Options {
        progress: Some(ptx),
        cancel: signal,
    };
    let (sent, got, ()) = tokio::join!(
        send(&s, &paths, Options::default()),
        receive(&r, dst.path(), Policy::AcceptAll, opts),
        watch
    );
    assert!(sent.is_err() && got.is_err(), "{sent:?} {got:?}");
    assert!(r.used_tcp(), "{sent:?} {got:?} {}", s.used_tcp());
    // second run: resumes from the partial
    let (a, b) = pipe(64);
    let s = BulkWire::new(a, true, Some((LO, LO)));
    let r = BulkWire::new(b, false, Some((LO, LO)));
    let (sent, got) = tokio::join!(
        send(&s, &paths, Options::default()),
        receive(&r, dst.path(), Policy::AcceptAll, Options::default())
    );
    let (sent, got) = (sent.unwrap(), got.unwrap());
    assert!(s.used_tcp());
    assert!(sent.resumed >= 2 << 20, "{sent:?}");
    assert_eq!(sent.resumed + sent.sent, len as u64);
    assert_eq!(got.resumed + got.received, len as u64);
    assert_eq!(std::fs::read(dst.path().join("video.bin")).unwrap(), data);
}

// ---- the listener against hostile senders ----

/// Whether the listener closed `c` (EOF or reset) within a few seconds.
async fn closed_by_listener(c: &mut TcpStream) -> bool {
    let mut b = [0u8; 64];
    matches!(
        tokio::time::timeout(Duration::from_secs(5), c.read(&mut b)).await,
        Ok(Ok(0)) | Ok(Err(_))
    )
}

async fn listening() -> (SocketAddr, [u8; KEY_LEN], Listening) {
    let (port, key, l) = listen(LO, LO).await.unwrap();
    (SocketAddr::new(LO, port), key, l)
}

/// After the hostile connection, the real sender still gets through.
async fn the_real_sender_still_proves(to: SocketAddr, key: [u8; KEY_LEN], l: Listening) {
    let (mut stream, _) = connect(LO, to, key).await.unwrap();
    let (mut got, _) = tokio::time::timeout(Duration::from_secs(5), l.proven)
        .await
        .expect("the real sender was not proven")
        .unwrap();
    // the proven stream is the real sender's: what it writes next arrives
    stream.write_all(b"next").await.unwrap();
    let mut b = [0u8; 4];
    got.read_exact(&mut b).await.unwrap();
    assert_eq!(&b, b"next");
}

#[tokio::test]
async fn garbage_is_dropped_unread_and_the_sender_gets_through() {
    let (to, key, mut l) = listening().await;
    let mut c = TcpStream::connect(to).await.unwrap();
    c.write_all(&noise(4096, 9)).await.unwrap();
    assert!(closed_by_listener(&mut c).await);
    assert!(l.proven.try_recv().is_err(), "garbage was taken");
    the_real_sender_still_proves(to, key, l).await;
}

#[tokio::test]
async fn a_wrong_key_or_another_transfers_proof_is_refused() {
    let (to, key, mut l) = listening().await;
    // a proof under a key of its own
    let mut c = TcpStream::connect(to).await.unwrap();
    c.write_all(&Sealer::new(&[1u8; KEY_LEN]).proof())
        .await
        .unwrap();
    assert!(closed_by_listener(&mut c).await);
    // the first record of another transfer (its own listener's key), replayed
    let (_, other_key, _other) = listening().await;
    let mut c = TcpStream::connect(to).await.unwrap();
    c.write_all(&Sealer::new(&other_key).proof()).await.unwrap();
    assert!(closed_by_listener(&mut c).await);
    // a content record instead of the proof, under the right key
    let mut s = Sealer::new(&key);
    let _ = s.proof();
    let mut c = TcpStream::connect(to).await.unwrap();
    c.write_all(&s.message(&Msg::Text("{}".into())))
        .await
        .unwrap();
    assert!(closed_by_listener(&mut c).await);
    assert!(l.proven.try_recv().is_err());
    the_real_sender_still_proves(to, key, l).await;
}

#[tokio::test]
async fn a_huge_length_is_refused_before_its_body() {
    let (to, key, mut l) = listening().await;
    let mut c = TcpStream::connect(to).await.unwrap();
    c.write_all(&(1u32 << 30).to_be_bytes()).await.unwrap();
    assert!(closed_by_listener(&mut c).await);
    assert!(l.proven.try_recv().is_err());
    the_real_sender_still_proves(to, key, l).await;
}

#[tokio::test]
async fn a_slow_loris_is_cut_off() {
    let (to, key, mut l) = listening().await;
    let mut c = TcpStream::connect(to).await.unwrap();
    let proof = Sealer::new(&key).proof();
    // the right proof, a byte every 200 ms: it would take 8 s
    let mut closed = false;
    for b in &proof {
        if c.write_all(&[*b]).await.is_err() {
            closed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        let mut buf = [0u8; 1];
        if let Ok(Ok(0) | Err(_)) =
            tokio::time::timeout(Duration::from_millis(1), c.read(&mut buf)).await
        {
            closed = true;
            break;
        }
    }
    assert!(closed, "the listener waited for the whole slow proof");
    assert!(l.proven.try_recv().is_err());
    the_real_sender_still_proves(to, key, l).await;
}

#[tokio::test]
async fn a_second_connection_finds_the_listener_closed() {
    let (to, key, l) = listening().await;
    the_real_sender_still_proves(to, key, l).await;
    let mut refused = false;
    for _ in 0..50 {
        if TcpStream::connect(to).await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(refused, "the listener still takes connections");
}

#[tokio::test]
async fn a_connection_from_another_address_is_not_read() {
    // the peer is 127.0.0.2; a local process connects from 127.0.0.1 with the right proof
    let (port, key, mut l) = listen(LO, "127.0.0.2".parse().unwrap()).await.unwrap();
    let to = SocketAddr::new(LO, port);
    let mut c = TcpStream::connect(to).await.unwrap();
    c.write_all(&Sealer::new(&key).proof()).await.unwrap();
    assert!(closed_by_listener(&mut c).await);
    assert!(l.proven.try_recv().is_err());
    // from the peer's address it goes through
    let (_s, _) = connect("127.0.0.2".parse().unwrap(), to, key)
        .await
        .unwrap();
    assert!(tokio::time::timeout(Duration::from_secs(5), l.proven)
        .await
        .unwrap()
        .is_ok());
}

// ---- a hostile sender of our own, over the pipe and real TCP ----

use crate::transfer::proto::{encode, Control, Entry, Kind};

/// Offer one 1 MiB file and read the receiver's answer: its bulk message (port, key).
async fn hostile_offer(wire: &PipeEnd) -> (u16, [u8; KEY_LEN]) {
    wire.send(encode(&Control::Offer {
        v: 1,
        count: 1,
        bytes: 1 << 20,
    }))
    .await
    .unwrap();
    wire.send(encode(&Control::Entries {
        list: vec![Entry {
            path: "x.bin".into(),
            kind: Kind::File,
            size: 1 << 20,
            mode: 0o644,
            mtime_ns: None,
        }],
    }))
    .await
    .unwrap();
    loop {
        match wire.recv().await.unwrap().and_then(|m| bulk_msg(&m)) {
            Some(BulkMsg::Bulk { port, key, .. }) => return (port, unhex(&key).unwrap()),
            Some(_) => panic!("bulk_on from the receiver"),
            None => continue,
        }
    }
}

#[tokio::test]
async fn a_forged_record_after_the_proof_ends_the_transfer_and_names_nothing() {
    let dst = tempfile::tempdir().unwrap();
    let (a, b) = pipe(64);
    let r = BulkWire::new(b, false, Some((LO, LO)));
    let hostile = async {
        let (port, key) = hostile_offer(&a).await;
        let (mut s, mut sealer) = connect(LO, SocketAddr::new(LO, port), key).await.unwrap();
        a.send(super::encode(&BulkMsg::BulkOn)).await.unwrap();
        s.write_all(&sealer.message(&encode(&Control::File { i: 0, from: 0 })))
            .await
            .unwrap();
        // content under the right key with one bit flipped
        let mut rec = sealer.message(&Msg::Binary(bytes::Bytes::from(vec![1u8; 4096])));
        rec[40] ^= 0x10;
        s.write_all(&rec).await.unwrap();
        // what the receiver says back on the channel, until it closes
        let mut heard = Vec::new();
        while let Ok(Some(m)) = a.recv().await {
            heard.push(m);
        }
        (s, heard)
    };
    let (got, (_s, heard)) = tokio::join!(
        receive(&r, dst.path(), Policy::AcceptAll, Options::default()),
        hostile
    );
    let err = got.unwrap_err().to_string();
    assert!(
        err.contains("does not open under the transfer's key"),
        "{err}"
    );
    assert!(
        !dst.path().join("x.bin").exists(),
        "a forged file was named"
    );
    assert!(r.used_tcp());
    // the hostile sender was told nothing that looks like success
    assert!(
        !heard
            .iter()
            .any(|m| matches!(m, Msg::Text(t) if t.contains("saved") || t.contains("done"))),
        "{heard:?}"
    );
}

#[tokio::test]
async fn bulk_on_without_a_proven_connection_is_a_clear_error() {
    let dst = tempfile::tempdir().unwrap();
    let (a, b) = pipe(64);
    let r = BulkWire::new(b, false, Some((LO, LO)));
    let hostile = async {
        let _ = hostile_offer(&a).await;
        // says it switched, never connects, and sends the content on the channel
        a.send(super::encode(&BulkMsg::BulkOn)).await.unwrap();
        let _ = a.send(encode(&Control::File { i: 0, from: 0 })).await;
        while let Ok(Some(_)) = a.recv().await {}
    };
    let (got, ()) = tokio::join!(
        receive(&r, dst.path(), Policy::AcceptAll, Options::default()),
        hostile
    );
    let err = got.unwrap_err().to_string();
    assert!(err.contains("never proved the key"), "{err}");
    assert!(!r.used_tcp());
    assert!(!dst.path().join("x.bin").exists());
}
