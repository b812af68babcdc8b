//! File transfers over real WebRTC on loopback: two qrchat sessions in one process, and
//! a hostile raw webrtc-rs peer that passes for qrchat and sends hostile headers on a
//! `qrchat-file` channel.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use qrchat::rtc::{Channel, Session, SessionEvent};
use qrchat::signal::{self, SdpKind};
use qrchat::transfer::{self, proto, Options, Policy, TransferError};
use tokio::sync::mpsc;

use crate::common::{loopback, wait_for};
use crate::netns::Proc;

const T: Duration = Duration::from_secs(20);

async fn pair() -> (
    Session,
    mpsc::UnboundedReceiver<SessionEvent>,
    Session,
    mpsc::UnboundedReceiver<SessionEvent>,
) {
    let ((alice, arx, _), (bob, brx, _)) = crate::common::pair().await;
    (alice, arx, bob, brx)
}

async fn incoming(rx: &mut mpsc::UnboundedReceiver<SessionEvent>) -> Channel {
    wait_for(rx, T, |e| match e {
        SessionEvent::Channel(ch) if ch.label() == proto::LABEL => Some(ch.clone()),
        _ => None,
    })
    .await
}

/// Bytes that do not repeat in any short period (a misplaced chunk shows), from `seed`:
/// the one generator lives in loss.rs, which the lossy bench includes too.
pub use crate::loss::bytes as noise;

fn write(p: &Path, data: &[u8]) {
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, data).unwrap();
}

fn tree(root: &Path) -> Vec<String> {
    fn go(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            // a symlink is listed as itself, never followed
            if std::fs::symlink_metadata(&p).unwrap().is_dir() {
                out.push(format!("{rel}/"));
                go(root, &p, out);
            } else {
                out.push(rel);
            }
        }
    }
    let mut out = Vec::new();
    if root.exists() {
        go(root, root, &mut out);
    }
    out.sort();
    out
}

/// `from` sends `paths` to `to` (whose events are `to_rx`), which saves into `dir`.
async fn transfer_between(
    from: &Session,
    to_rx: &mut mpsc::UnboundedReceiver<SessionEvent>,
    paths: &[PathBuf],
    dir: &Path,
) -> (transfer::SendReport, transfer::ReceiveReport) {
    let send = async {
        let ch = from
            .open_channel(proto::LABEL)
            .await
            .expect("open a file channel");
        transfer::send(&ch, paths, Options::default()).await
    };
    let recv = async {
        let ch = incoming(to_rx).await;
        transfer::receive(&ch, dir, Policy::AcceptAll, Options::default()).await
    };
    let (s, r) = tokio::time::timeout(Duration::from_secs(120), async { tokio::join!(send, recv) })
        .await
        .expect("the transfer finishes");
    (s.expect("send"), r.expect("receive"))
}

/// The bulk path over a real pairing: both sides on loopback host candidates, the
/// sender's channel announcing the feature, the receiver's listener, the proof and the
/// records over real TCP; the data channel carries the control only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn between_two_qrchat_sessions_the_content_goes_over_tcp() {
    let (alice, _arx, _bob, mut brx) = pair().await;
    let src = tempfile::tempdir().unwrap();
    let video = noise(8 << 20, 7);
    write(&src.path().join("video.bin"), &video);
    let paths = [src.path().join("video.bin")];
    let at_bob = tempfile::tempdir().unwrap();
    let send = async {
        let ch = alice.open_channel(proto::LABEL).await.unwrap();
        let wire = transfer::BulkWire::sending(ch);
        let r = transfer::send(&wire, &paths, Options::default()).await;
        (r, wire.used_tcp())
    };
    let recv = async {
        let ch = incoming(&mut brx).await;
        assert!(ch.host_pair().is_some(), "loopback is a host pair");
        let wire = transfer::BulkWire::receiving(ch);
        let r =
            transfer::receive(&wire, at_bob.path(), Policy::AcceptAll, Options::default()).await;
        (r, wire.used_tcp())
    };
    let ((s, s_tcp), (r, r_tcp)) =
        tokio::time::timeout(Duration::from_secs(60), async { tokio::join!(send, recv) })
            .await
            .expect("the transfer finishes");
    assert_eq!(s.unwrap().sent, 8 << 20);
    assert_eq!(r.unwrap().received, 8 << 20);
    assert!(s_tcp && r_tcp, "sender on TCP: {s_tcp}, receiver: {r_tcp}");
    assert!(std::fs::read(at_bob.path().join("video.bin")).unwrap() == video);
}

/// A chat message from `from` still reaches the side whose events are `to_rx`.
async fn chat_still_works(from: &Session, to_rx: &mut mpsc::UnboundedReceiver<SessionEvent>) {
    from.send("still here").await.unwrap();
    let got = wait_for(to_rx, T, |e| match e {
        SessionEvent::Message(m) => Some(m.clone()),
        _ => None,
    })
    .await;
    assert_eq!(got, "still here");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_and_a_folder_cross_each_way() {
    let (alice, mut arx, bob, mut brx) = pair().await;
    let src = tempfile::tempdir().unwrap();
    let s = src.path();
    let photo = noise(2 * 1024 * 1024 + 3, 1);
    write(&s.join("photo.jpg"), &photo);
    write(&s.join("album/a.txt"), b"hello");
    write(&s.join("album/empty"), b"");
    write(&s.join("album/sub/b.bin"), &noise(200_000, 2));
    std::fs::create_dir_all(s.join("album/nothing")).unwrap();
    let paths = [s.join("photo.jpg"), s.join("album")];
    let want = [
        "album/",
        "album/a.txt",
        "album/empty",
        "album/nothing/",
        "album/sub/",
        "album/sub/b.bin",
        "photo.jpg",
    ];

    let at_bob = tempfile::tempdir().unwrap();
    let (tx, rx) = transfer_between(&alice, &mut brx, &paths, at_bob.path()).await;
    assert_eq!(tree(at_bob.path()), want);
    assert_eq!(
        std::fs::read(at_bob.path().join("photo.jpg")).unwrap(),
        photo
    );
    assert_eq!(
        std::fs::read(at_bob.path().join("album/sub/b.bin")).unwrap(),
        noise(200_000, 2)
    );
    assert_eq!((tx.files, tx.dirs, rx.files.len()), (4, 3, 4));

    let at_alice = tempfile::tempdir().unwrap();
    let (tx, _) = transfer_between(&bob, &mut arx, &paths, at_alice.path()).await;
    assert_eq!(tree(at_alice.path()), want);
    assert_eq!(
        std::fs::read(at_alice.path().join("photo.jpg")).unwrap(),
        photo
    );
    assert_eq!(tx.saved_as.len(), 4);

    // the chat still works after both
    chat_still_works(&alice, &mut brx).await;
    alice.close().await;
    bob.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declined_offer_over_the_link() {
    let (alice, _arx, bob, mut brx) = pair().await;
    let src = tempfile::tempdir().unwrap();
    write(&src.path().join("a.txt"), b"x");
    let dir = tempfile::tempdir().unwrap();
    let into = dir.path().join("in");
    let paths = [src.path().join("a.txt")];
    let send = async {
        let ch = alice.open_channel(proto::LABEL).await.unwrap();
        transfer::send(&ch, &paths, Options::default()).await
    };
    let recv = async {
        let ch = incoming(&mut brx).await;
        let policy = Policy::Decline("this side takes no files (no --receive)".into());
        transfer::receive(&ch, &into, policy, Options::default()).await
    };
    let (s, r) = tokio::join!(send, recv);
    assert!(
        matches!(&s, Err(TransferError::Declined(r)) if r.contains("no --receive")),
        "{s:?}"
    );
    assert!(r.unwrap().declined);
    assert!(!into.exists());
    alice.close().await;
    bob.close().await;
}

/// One side cancels a 32 MiB file once 2 MiB are across, over the real link: the
/// canceller's transfer ends as cancelled, the other side is told why, the receiver keeps
/// its partial file (for a resume) and nothing has the file's name; the chat goes on.
async fn cancel_over_the_link(by_sender: bool) {
    let (alice, _arx, bob, mut brx) = pair().await;
    let src = tempfile::tempdir().unwrap();
    write(&src.path().join("big.bin"), &noise(32 << 20, 7));
    let dir = tempfile::tempdir().unwrap();
    let paths = [src.path().join("big.bin")];
    let (button, signal) = transfer::cancel_pair();
    let (progress_tx, mut progress) = mpsc::channel::<transfer::Progress>(64);
    let watcher = tokio::spawn(async move {
        while let Some(p) = progress.recv().await {
            if p.done >= 2 << 20 {
                button.cancel("changed my mind");
                return p.done;
            }
        }
        0
    });
    let (mine, theirs) = (
        Options {
            progress: Some(progress_tx),
            cancel: signal,
        },
        Options::default(),
    );
    let (send_opts, recv_opts) = if by_sender {
        (mine, theirs)
    } else {
        (theirs, mine)
    };
    let send = async {
        let ch = alice.open_channel(proto::LABEL).await.unwrap();
        transfer::send(&ch, &paths, send_opts).await
    };
    let recv = async {
        let ch = incoming(&mut brx).await;
        transfer::receive(&ch, dir.path(), Policy::AcceptAll, recv_opts).await
    };
    let limit = Duration::from_secs(30);
    let (s, r) = tokio::join!(
        tokio::time::timeout(limit, send),
        tokio::time::timeout(limit, recv)
    );
    let at = watcher.await.unwrap();
    assert!(at >= 2 << 20, "cancelled after {at} bytes");
    let s = s.expect("the sender ends after a cancel");
    let r = r.expect("the receiver ends after a cancel");
    let (canceller, told) = if by_sender {
        (s.map(|_| ()), r.map(|_| ()))
    } else {
        (r.map(|_| ()), s.map(|_| ()))
    };
    assert!(
        matches!(&canceller, Err(TransferError::Cancelled(why)) if why == "changed my mind"),
        "{canceller:?}"
    );
    assert!(
        matches!(&told, Err(TransferError::PeerCancelled(why)) if why == "changed my mind"),
        "{told:?}"
    );
    assert!(!dir.path().join("big.bin").exists());
    let part = tree(dir.path());
    assert!(
        part.iter().any(|n| n.ends_with(".qrchat-part")),
        "the partial file is kept: {part:?}"
    );
    chat_still_works(&alice, &mut brx).await;
    alice.close().await;
    bob.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sender_cancels_over_the_link() {
    cancel_over_the_link(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_receiver_cancels_over_the_link() {
    cancel_over_the_link(false).await;
}

/// A raw webrtc-rs offerer whose ICE credentials are derived from its certificate as
/// qrchat's are, so the qrchat answerer takes it for qrchat and accepts its channels.
mod raw {
    use super::*;
    use webrtc::api::setting_engine::SettingEngine;
    use webrtc::api::APIBuilder;
    use webrtc::data_channel::RTCDataChannel;
    use webrtc::ice::mdns::MulticastDnsMode;
    use webrtc::ice::network_type::NetworkType;
    use webrtc::peer_connection::certificate::RTCCertificate;
    use webrtc::peer_connection::configuration::RTCConfiguration;
    use webrtc::peer_connection::sdp::session_description::RTCSessionDescription;
    use webrtc::peer_connection::RTCPeerConnection;

    pub struct Raw {
        pub pc: Arc<RTCPeerConnection>,
        _chat: Arc<RTCDataChannel>,
    }

    impl Raw {
        pub async fn offer() -> (Raw, signal::SessionDescription) {
            let key = rcgen::KeyPair::generate().unwrap();
            let cert = RTCCertificate::from_key_pair(key).unwrap();
            let fp = cert
                .get_fingerprints()
                .iter()
                .find(|f| f.algorithm == "sha-256")
                .and_then(|f| signal::parse_fingerprint_hex(&f.value))
                .unwrap();
            let (ufrag, pwd) = signal::ice_credentials(&fp);
            let mut se = SettingEngine::default();
            se.set_ice_credentials(ufrag, pwd);
            se.set_ice_multicast_dns_mode(MulticastDnsMode::Disabled);
            se.set_network_types(vec![NetworkType::Udp4]);
            se.set_include_loopback_candidate(true);
            se.set_ip_filter(Box::new(|ip| ip.is_loopback()));
            se.detach_data_channels();
            let api = APIBuilder::new().with_setting_engine(se).build();
            let config = RTCConfiguration {
                certificates: vec![cert],
                ..Default::default()
            };
            let pc = Arc::new(api.new_peer_connection(config).await.unwrap());
            let chat = pc
                .create_data_channel(qrchat::rtc::CHANNEL_LABEL, None)
                .await
                .unwrap();
            let offer = pc.create_offer(None).await.unwrap();
            let mut done = pc.gathering_complete_promise().await;
            pc.set_local_description(offer).await.unwrap();
            let _ = done.recv().await;
            let sdp = pc.local_description().await.unwrap().sdp;
            (
                Raw { pc, _chat: chat },
                signal::SessionDescription {
                    kind: SdpKind::Offer,
                    sdp,
                },
            )
        }

        pub async fn accept(&self, answer: &signal::SessionDescription) {
            let a = RTCSessionDescription::answer(answer.sdp.clone()).unwrap();
            self.pc.set_remote_description(a).await.unwrap();
        }

        /// A new `qrchat-file` channel, open and detached.
        pub async fn file_channel(&self) -> Arc<webrtc::data::data_channel::DataChannel> {
            let dc = self
                .pc
                .create_data_channel(proto::LABEL, None)
                .await
                .unwrap();
            for _ in 0..200 {
                if let Ok(raw) = dc.detach().await {
                    return raw;
                }
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
            panic!("file channel never opened");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_peer_gets_every_bad_header_refused() {
    let (raw, offer) = raw::Raw::offer().await;
    let (btx, mut brx) = mpsc::unbounded_channel();
    let bob = Session::answer(&loopback(), &offer, btx).await.unwrap();
    assert_eq!(
        brx.try_recv().ok(),
        Some(SessionEvent::Peer { qrchat: true }),
        "the raw peer passes for qrchat"
    );
    raw.accept(bob.local_description()).await;
    wait_for(&mut brx, T, |e| {
        matches!(e, SessionEvent::Open { .. }).then_some(())
    })
    .await;

    let outer = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let dir = outer.path().join("in");
    std::fs::create_dir(&dir).unwrap();
    std::os::unix::fs::symlink(outside.path(), dir.join("link")).unwrap();
    let entry = |path: &str, size: u64| serde_json::json!({"path": path, "kind": "file", "size": size, "mode": 420});
    let offer_of = |list: Vec<serde_json::Value>| {
        let bytes: u64 = list.iter().map(|e| e["size"].as_u64().unwrap()).sum();
        vec![
            serde_json::json!({"t": "offer", "v": 1, "count": list.len(), "bytes": bytes})
                .to_string(),
            serde_json::json!({"t": "entries", "list": list}).to_string(),
        ]
    };
    let file_start = r#"{"t":"file","i":0,"from":0}"#.to_string();
    let mut over = offer_of(vec![entry("over.bin", 10)]);
    over.push(file_start.clone());
    let mut via_link = offer_of(vec![entry("link/x", 1)]);
    via_link.push(file_start.clone());
    let cases: Vec<(&str, Vec<String>, Vec<usize>, &str)> = vec![
        (
            "dotdot",
            offer_of(vec![entry("../../evil", 1)]),
            vec![],
            "'.' or '..'",
        ),
        (
            "absolute",
            offer_of(vec![entry("/tmp/evil", 1)]),
            vec![],
            "absolute",
        ),
        (
            "drive",
            offer_of(vec![entry("C:evil", 1)]),
            vec![],
            "drive letter",
        ),
        (
            "backslash",
            offer_of(vec![entry("..\\evil", 1)]),
            vec![],
            "backslash",
        ),
        (
            "escape",
            offer_of(vec![entry("a\u{1b}[2Jb", 1)]),
            vec![],
            "control character",
        ),
        ("nul", offer_of(vec![entry("a\u{0}b", 1)]), vec![], "NUL"),
        (
            "long",
            offer_of(vec![entry(&"n".repeat(300), 1)]),
            vec![],
            "name too long",
        ),
        (
            "case",
            offer_of(vec![entry("Notes.txt", 1), entry("notes.TXT", 1)]),
            vec![],
            "differ only in case",
        ),
        ("symlink", via_link, vec![1], "symbolic link"),
        (
            "more than announced",
            over,
            vec![8, 8],
            "more bytes than announced",
        ),
        (
            "junk",
            vec!["{\"t\":\"offer\",".into()],
            vec![],
            "malformed",
        ),
        (
            "unknown field",
            vec![r#"{"t":"offer","v":1,"count":0,"bytes":0,"exec":"rm -rf /"}"#.into()],
            vec![],
            "malformed",
        ),
    ];
    for (what, texts, chunks, want) in cases {
        let ch = raw.file_channel().await;
        let ours = incoming(&mut brx).await;
        let receiving = tokio::spawn({
            let dir = dir.clone();
            async move { transfer::receive(&ours, &dir, Policy::AcceptAll, Options::default()).await }
        });
        for t in &texts {
            ch.write_data_channel(&bytes::Bytes::from(t.clone()), true)
                .await
                .unwrap();
        }
        for n in &chunks {
            let _ = ch
                .write_data_channel(&bytes::Bytes::from(vec![0x41u8; *n]), false)
                .await;
        }
        // the hostile peer is told, in a protocol error, before the channel closes
        let mut buf = vec![0u8; 70_000];
        let told = tokio::time::timeout(T, async {
            loop {
                match ch.read_data_channel(&mut buf).await {
                    Ok((n, true)) if n > 0 => {
                        let m = String::from_utf8_lossy(&buf[..n]).into_owned();
                        if m.contains(r#""t":"error""#) {
                            return Some(m);
                        }
                    }
                    Ok((0, _)) | Err(_) => return None,
                    _ => {}
                }
            }
        })
        .await
        .ok()
        .flatten();
        let _ = ch.close().await;
        let r = tokio::time::timeout(T, receiving)
            .await
            .unwrap_or_else(|_| panic!("{what}: the receiver hangs"))
            .unwrap();
        let err = r.expect_err(what).to_string();
        assert!(err.contains(want), "{what}: {err}");
        assert!(!err.chars().any(|c| c.is_control()), "{what}: {err:?}");
        assert!(told.is_some(), "{what}: no error message came back");
        // nothing outside the receive folder, nothing named in it; a partial holds at
        // most the announced size
        assert_eq!(tree(outside.path()), Vec::<String>::new(), "{what}");
        let (parts, named): (Vec<String>, Vec<String>) = tree(outer.path())
            .into_iter()
            .partition(|p| p.ends_with(".qrchat-part"));
        assert_eq!(named, ["in/", "in/link"], "{what}");
        for p in parts {
            let len = std::fs::metadata(outer.path().join(&p)).unwrap().len();
            assert!(len <= 10, "{what}: {p} holds {len} bytes");
            std::fs::remove_file(outer.path().join(&p)).unwrap();
        }
    }
    // the session survived all of it
    assert!(bob.is_open());
    bob.close().await;
    raw.pc.close().await.unwrap();
}

/// The receiving channel, counting content; past `after` bytes it rings `bell` once.
struct Watched {
    ch: Channel,
    seen: std::sync::atomic::AtomicU64,
    after: u64,
    bell: tokio::sync::Notify,
}

impl transfer::Wire for Watched {
    async fn send(&self, msg: transfer::Msg) -> std::io::Result<()> {
        transfer::Wire::send(&self.ch, msg).await
    }
    async fn recv(&self) -> std::io::Result<Option<transfer::Msg>> {
        let m = transfer::Wire::recv(&self.ch).await?;
        if let Some(transfer::Msg::Binary(b)) = &m {
            use std::sync::atomic::Ordering;
            let before = self.seen.fetch_add(b.len() as u64, Ordering::SeqCst);
            if before < self.after && before + b.len() as u64 >= self.after {
                self.bell.notify_one();
            }
        }
        Ok(m)
    }
    async fn close(&self) {
        transfer::Wire::close(&self.ch).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pairing_that_breaks_mid_file_resumes_in_the_next() {
    let src = tempfile::tempdir().unwrap();
    let data = noise(24 << 20, 3);
    let file = src.path().join("video.mp4");
    write(&file, &data);
    let dst = tempfile::tempdir().unwrap();
    let paths = [file.clone()];

    // first pairing: the sender's session goes away once 6 MiB are across
    let (alice, _arx, bob, mut brx) = pair().await;
    let send = async {
        let ch = alice.open_channel(proto::LABEL).await.unwrap();
        transfer::send(&ch, &paths, Options::default()).await
    };
    let recv = async {
        let ch = Watched {
            ch: incoming(&mut brx).await,
            seen: Default::default(),
            after: 6 << 20,
            bell: Default::default(),
        };
        let r = transfer::receive(&ch, dst.path(), Policy::AcceptAll, Options::default());
        tokio::pin!(r);
        tokio::select! {
            r = &mut r => return r,
            () = ch.bell.notified() => {}
        }
        alice.close().await;
        tokio::time::timeout(T, r)
            .await
            .expect("the receiver notices")
    };
    let (s, r) = tokio::join!(send, recv);
    assert!(s.is_err(), "{s:?}");
    assert!(matches!(r, Err(TransferError::Interrupted)), "{r:?}");
    bob.close().await;
    let part = transfer::paths::part_path(dst.path(), "video.mp4");
    let arrived = std::fs::metadata(&part).unwrap().len();
    assert!(arrived >= 6 << 20, "{arrived}");

    // a new pairing, the same file: only the rest crosses, the whole file is verified
    let (alice, _arx, bob, mut brx) = pair().await;
    let (tx, rx) = transfer_between(&alice, &mut brx, &paths, dst.path()).await;
    assert_eq!(std::fs::read(dst.path().join("video.mp4")).unwrap(), data);
    assert!(!part.exists());
    let again = tx.sent - (data.len() as u64 - arrived);
    println!(
        "resume over rtc: {arrived} bytes had arrived, {again} sent again ({:.2}%)",
        again as f64 * 100.0 / arrived as f64
    );
    assert!(again * 20 < arrived, "sent again {again} of {arrived}");
    assert_eq!((tx.resumed, rx.resumed), (arrived, arrived));
    alice.close().await;
    bob.close().await;
}

/// Two processes: the sender is killed (SIGKILL, no goodbye) in the middle of a file;
/// a new pairing sends the same file, and only the rest crosses.
#[test]
fn a_sender_killed_mid_file_resumes_in_a_new_pairing() {
    let dir = tempfile::tempdir().unwrap();
    let data = noise(48 << 20, 11);
    let file = dir.path().join("disk.img");
    write(&file, &data);
    let into = dir.path().join("got");
    let (file_s, into_s) = (file.display().to_string(), into.display().to_string());
    let part = transfer::paths::part_path(&into, "disk.img");

    let mut sender = Proc::loopback(&["offer", "--send", &file_s]);
    let offer = sender.line(T);
    let mut receiver = Proc::loopback(&["answer", "--receive", &into_s, &offer]);
    let answer = receiver.line(T);
    sender.say(&answer);
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while std::fs::metadata(&part).map(|m| m.len()).unwrap_or(0) < 8 << 20 {
        assert!(
            std::time::Instant::now() < deadline,
            "the transfer never got going: {}",
            receiver.stderr()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    sender.child.kill().unwrap(); // SIGKILL
    let _ = sender.child.wait();
    receiver.child.kill().unwrap();
    let _ = receiver.child.wait();
    let arrived = std::fs::metadata(&part).unwrap().len();
    assert!(
        arrived >= 8 << 20 && arrived < data.len() as u64,
        "{arrived}"
    );

    let mut sender = Proc::loopback(&["offer", "--send", &file_s]);
    let offer = sender.line(T);
    let mut receiver = Proc::loopback(&["answer", "--receive", &into_s, &offer]);
    receiver.hang_up();
    let answer = receiver.line(T);
    sender.say(&answer);
    sender.hang_up();
    let (code_s, err_s) = sender.exit(Duration::from_secs(120));
    let (code_r, err_r) = receiver.exit(Duration::from_secs(120));
    assert_eq!(code_s, 0, "sender: {err_s}");
    assert_eq!(code_r, 0, "receiver: {err_r}");
    assert_eq!(std::fs::read(into.join("disk.img")).unwrap(), data);
    assert!(!part.exists());
    // all of what had arrived was kept: the receiver reports it resumed exactly that
    let want = format!(", {} resumed), verified", transfer::human_bytes(arrived));
    assert!(err_r.contains(&want), "{want} in: {err_r}");
    println!("killed sender: {arrived} bytes had arrived; the new pairing resumed from them");
}
