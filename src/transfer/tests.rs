//! Transfer tests: real files in temporary folders, both sides over the in-memory pipe.

use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;

use super::pipe::{pipe, PipeEnd};
use super::proto::{self, Control, Entry, ErrorCode, Kind, Msg, ProtoError};
use super::*;

/// Deterministic bytes that differ per seed (the bulk path's tests use it too).
pub(super) fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn write(p: &Path, data: &[u8]) {
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, data).unwrap();
}

/// Every path under `root` (relative, sorted), folders marked with a trailing /.
fn tree(root: &Path) -> Vec<String> {
    fn go(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            if p.is_dir() {
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

async fn run(
    srcs: &[PathBuf],
    dir: &Path,
    policy: Policy,
) -> (
    Result<SendReport, TransferError>,
    Result<ReceiveReport, TransferError>,
) {
    let (a, b) = pipe(64);
    tokio::join!(
        send(&a, srcs, Options::default()),
        receive(&b, dir, policy, Options::default())
    )
}

#[tokio::test]
async fn a_file_and_a_folder_arrive_whole() {
    let src = tempfile::tempdir().unwrap();
    let dst = tempfile::tempdir().unwrap();
    let s = src.path();
    let big = noise(3 * 1024 * 1024 + 17, 1);
    write(&s.join("c.bin"), &big);
    write(&s.join("docs/a.txt"), b"hello");
    write(&s.join("docs/empty.txt"), b"");
    write(&s.join("docs/sub/deep/b.bin"), &noise(300_000, 2));
    std::fs::create_dir_all(s.join("docs/emptydir")).unwrap();
    std::fs::set_permissions(s.join("docs/a.txt"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let (tx, rx) = run(
        &[s.join("c.bin"), s.join("docs")],
        dst.path(),
        Policy::AcceptAll,
    )
    .await;
    let tx = tx.unwrap();
    let rx = rx.unwrap();
    let d = dst.path();
    assert_eq!(
        tree(d),
        [
            "c.bin",
            "docs/",
            "docs/a.txt",
            "docs/empty.txt",
            "docs/emptydir/",
            "docs/sub/",
            "docs/sub/deep/",
            "docs/sub/deep/b.bin"
        ]
    );
    assert_eq!(std::fs::read(d.join("c.bin")).unwrap(), big);
    assert_eq!(std::fs::read(d.join("docs/a.txt")).unwrap(), b"hello");
    assert_eq!(std::fs::read(d.join("docs/empty.txt")).unwrap(), b"");
    assert_eq!(
        std::fs::read(d.join("docs/sub/deep/b.bin")).unwrap(),
        noise(300_000, 2)
    );
    // the executable bit and the time survive
    let m = std::fs::metadata(d.join("docs/a.txt")).unwrap();
    assert_eq!(m.permissions().mode() & 0o777, 0o755);
    assert_eq!(
        m.modified().unwrap(),
        std::fs::metadata(s.join("docs/a.txt"))
            .unwrap()
            .modified()
            .unwrap()
    );
    assert_eq!((tx.files, tx.dirs), (4, 4));
    let bytes = big.len() as u64 + 5 + 300_000;
    assert_eq!((tx.bytes, tx.sent, tx.resumed), (bytes, bytes, 0));
    assert_eq!(tx.saved_as.len(), 4);
    assert_eq!(rx.files.len(), 4);
    assert_eq!((rx.received, rx.resumed, rx.bytes), (bytes, 0, bytes));
    assert!(!rx.declined);
}

#[tokio::test]
async fn nothing_is_overwritten() {
    let src = tempfile::tempdir().unwrap();
    let dst = tempfile::tempdir().unwrap();
    write(&src.path().join("c.txt"), b"new");
    write(&src.path().join("docs/a.txt"), b"new a");
    write(&dst.path().join("c.txt"), b"old");
    write(&dst.path().join("c (1).txt"), b"old 1");
    write(&dst.path().join("docs/a.txt"), b"old a");
    for _ in 0..2 {
        let (tx, rx) = run(
            &[src.path().join("c.txt"), src.path().join("docs")],
            dst.path(),
            Policy::AcceptAll,
        )
        .await;
        tx.unwrap();
        rx.unwrap();
    }
    let d = dst.path();
    let read = |p: &str| std::fs::read_to_string(d.join(p)).unwrap();
    assert_eq!(read("c.txt"), "old");
    assert_eq!(read("c (1).txt"), "old 1");
    assert_eq!(read("c (2).txt"), "new");
    assert_eq!(read("c (3).txt"), "new");
    assert_eq!(read("docs/a.txt"), "old a");
    assert_eq!(read("docs/a (1).txt"), "new a");
    assert_eq!(read("docs/a (2).txt"), "new a");
}

#[tokio::test]
async fn decline_tells_the_sender_and_writes_nothing() {
    let src = tempfile::tempdir().unwrap();
    let dst = tempfile::tempdir().unwrap();
    write(&src.path().join("a.txt"), b"x");
    let into = dst.path().join("inbox");
    let (tx, rx) = run(
        &[src.path().join("a.txt")],
        &into,
        Policy::Decline("not now".into()),
    )
    .await;
    match tx {
        Err(TransferError::Declined(r)) => assert_eq!(r, "not now"),
        other => panic!("{other:?}"),
    }
    assert!(rx.unwrap().declined);
    assert!(!into.exists());
}

/// Two steps: the offer is read, the user sees what it holds, and answers (accept into a
/// folder, or decline); a decline writes nothing.
#[tokio::test]
async fn the_user_is_asked() {
    let src = tempfile::tempdir().unwrap();
    let dst = tempfile::tempdir().unwrap();
    write(&src.path().join("docs/a.txt"), b"hello");
    write(&src.path().join("b.txt"), b"hi");
    let paths = [src.path().join("docs"), src.path().join("b.txt")];
    for accept in [false, true] {
        let (a, b) = pipe(64);
        let receiving = async {
            let offer = super::offer(&b, Options::default()).await.unwrap();
            let s = offer.summary().clone();
            let answer = if accept {
                Answer::Accept(dst.path().to_path_buf())
            } else {
                Answer::Decline(String::new())
            };
            (s, offer.answer(async { answer }).await)
        };
        let (tx, (s, rx)) = tokio::join!(send(&a, &paths, Options::default()), receiving);
        assert_eq!(s.names, ["docs", "b.txt"]);
        assert_eq!((s.files, s.dirs, s.bytes), (2, 1, 7));
        assert_eq!(tx.is_ok(), accept, "{tx:?}");
        assert_eq!(rx.unwrap().declined, !accept);
        if !accept {
            assert!(tree(dst.path()).is_empty());
        }
    }
    assert_eq!(tree(dst.path()), ["b.txt", "docs/", "docs/a.txt"]);
}

/// Two steps: while the user is still deciding (an answer that never comes), the
/// sender's cancel ends the offer at once, with its reason; nothing is written.
#[tokio::test]
async fn the_senders_cancel_is_heard_while_the_user_decides() {
    let src = tempfile::tempdir().unwrap();
    let dst = tempfile::tempdir().unwrap();
    write(&src.path().join("a.txt"), b"hello");
    let (a, b) = pipe(64);
    let (button, signal) = cancel_pair();
    let opts = Options {
        cancel: signal,
        ..Default::default()
    };
    let receiving = async {
        let offer = super::offer(&b, Options::default()).await.unwrap();
        assert_eq!(offer.summary().names, ["a.txt"]);
        assert_eq!(offer.summary().bytes, 5);
        button.cancel("changed my mind");
        offer.answer(std::future::pending::<Answer>()).await
    };
    let paths = [src.path().join("a.txt")];
    let both = async { tokio::join!(send(&a, &paths, opts), receiving) };
    let (tx, rx) = tokio::time::timeout(std::time::Duration::from_secs(10), both)
        .await
        .expect("the cancel was not heard while the user decided");
    assert!(matches!(tx, Err(TransferError::Cancelled(_))), "{tx:?}");
    match rx {
        Err(e @ TransferError::PeerCancelled(_)) => {
            assert_eq!(e.to_string(), "the other side cancelled: changed my mind")
        }
        other => panic!("{other:?}"),
    }
    assert!(tree(dst.path()).is_empty());
}

/// A wire that presses a cancel button once `after` content bytes went through it
/// (either way), as a user watching the progress would.
struct Tap {
    end: PipeEnd,
    after: u64,
    seen: AtomicU64,
    button: CancelHandle,
}

impl Tap {
    fn count(&self, msg: &Msg) {
        if let Msg::Binary(b) = msg {
            let seen = self.seen.fetch_add(b.len() as u64, Ordering::SeqCst) + b.len() as u64;
            if seen >= self.after {
                self.button.cancel("changed my mind");
            }
        }
    }
}

impl Wire for Tap {
    async fn send(&self, msg: Msg) -> io::Result<()> {
        self.count(&msg);
        self.end.send(msg).await
    }
    async fn recv(&self) -> io::Result<Option<Msg>> {
        let m = self.end.recv().await?;
        if let Some(m) = &m {
            self.count(m);
        }
        Ok(m)
    }
    async fn close(&self) {
        self.end.close().await
    }
}

/// A wire whose sends are slow to report back: each message is handed over at once, but
/// `send` returns only after a pause, so the peer's answer can arrive while our send is
/// still under way (as over a real link, when the send's task is scheduled late).
struct SlowAck {
    end: PipeEnd,
}

impl Wire for SlowAck {
    async fn send(&self, msg: Msg) -> io::Result<()> {
        self.end.send(msg).await?;
        tokio::time::sleep(Duration::from_millis(30)).await;
        Ok(())
    }
    async fn recv(&self) -> io::Result<Option<Msg>> {
        self.end.recv().await
    }
    async fn close(&self) {
        self.end.close().await
    }
}

/// The receiver's answer overtakes the sender's last send (the offer's, then `done`'s):
/// it is still taken as the answer, not as a message out of turn.
#[tokio::test]
async fn an_answer_that_overtakes_the_send_is_still_the_answer() {
    let src = tempfile::tempdir().unwrap();
    let dst = tempfile::tempdir().unwrap();
    write(&src.path().join("a.txt"), b"hello");
    let files = [src.path().join("a.txt")];
    for policy in [Policy::Decline("not now".into()), Policy::AcceptAll] {
        let declined = matches!(policy, Policy::Decline(_));
        let (a, b) = pipe(64);
        let a = SlowAck { end: a };
        let (tx, rx) = tokio::join!(
            send(&a, &files, Options::default()),
            receive(&b, dst.path(), policy, Options::default())
        );
        if declined {
            assert!(
                matches!(&tx, Err(TransferError::Declined(r)) if r == "not now"),
                "{tx:?}"
            );
            assert!(rx.unwrap().declined);
        } else {
            assert_eq!(tx.unwrap().saved_as, ["a.txt"]);
            assert_eq!(std::fs::read(dst.path().join("a.txt")).unwrap(), b"hello");
        }
    }
}

/// Cancel one side once 2 MiB of a 16 MiB file are across.
async fn cancel_mid_file(
    from_sender: bool,
) -> (
    Result<SendReport, TransferError>,
    Result<ReceiveReport, TransferError>,
    tempfile::TempDir,
) {
    let src = tempfile::tempdir().unwrap();
    let dst = tempfile::tempdir().unwrap();
    write(&src.path().join("big.bin"), &noise(16 << 20, 3));
    let (a, b) = pipe(4);
    let (button, signal) = cancel_pair();
    let tap = |end| Tap {
        end,
        after: 2 << 20,
        seen: AtomicU64::new(0),
        button: button.clone(),
    };
    let with = |cancel: bool| Options {
        progress: None,
        cancel: if cancel {
            signal.clone()
        } else {
            CancelSignal::never()
        },
    };
    let files = [src.path().join("big.bin")];
    let (tx, rx) = if from_sender {
        let a = tap(a);
        tokio::join!(
            send(&a, &files, with(true)),
            receive(&b, dst.path(), Policy::AcceptAll, with(false))
        )
    } else {
        let b = tap(b);
        tokio::join!(
            send(&a, &files, with(false)),
            receive(&b, dst.path(), Policy::AcceptAll, with(true))
        )
    };
    (tx, rx, dst)
}

fn part_len(dst: &Path, name: &str) -> u64 {
    std::fs::metadata(paths::part_path(dst, name))
        .map(|m| m.len())
        .unwrap_or(0)
}

#[tokio::test]
async fn the_sender_cancels() {
    let (tx, rx, dst) = cancel_mid_file(true).await;
    assert!(
        matches!(tx, Err(TransferError::Cancelled(ref r)) if r == "changed my mind"),
        "{tx:?}"
    );
    assert!(
        matches!(rx, Err(TransferError::PeerCancelled(ref r)) if r == "changed my mind"),
        "{rx:?}"
    );
    // the partial is kept for a resume, nothing has the final name
    assert!(part_len(dst.path(), "big.bin") > 0);
    assert!(!dst.path().join("big.bin").exists());
}

#[tokio::test]
async fn the_receiver_cancels() {
    let (tx, rx, dst) = cancel_mid_file(false).await;
    assert!(
        matches!(rx, Err(TransferError::Cancelled(ref r)) if r == "changed my mind"),
        "{rx:?}"
    );
    assert!(
        matches!(tx, Err(TransferError::PeerCancelled(ref r)) if r == "changed my mind"),
        "{tx:?}"
    );
    assert!(part_len(dst.path(), "big.bin") >= 2 << 20);
    assert!(!dst.path().join("big.bin").exists());
}

/// A wire that breaks (both ways, as a dead link) after `left` content bytes went out.
struct Breaking {
    end: PipeEnd,
    left: AtomicU64,
}

impl Wire for Breaking {
    async fn send(&self, msg: Msg) -> io::Result<()> {
        if let Msg::Binary(b) = &msg {
            let n = b.len() as u64;
            if self.left.load(Ordering::SeqCst) < n {
                self.end.break_now();
                return Err(io::Error::new(io::ErrorKind::BrokenPipe, "cut"));
            }
            self.left.fetch_sub(n, Ordering::SeqCst);
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

async fn broken_run(src: &Path, dst: &Path, cut_after: u64) -> (u64, u64) {
    let (a, b) = pipe(8);
    let a = Breaking {
        end: a,
        left: AtomicU64::new(cut_after),
    };
    let files = [src.to_path_buf()];
    let (tx, rx) = tokio::join!(
        send(&a, &files, Options::default()),
        receive(&b, dst, Policy::AcceptAll, Options::default())
    );
    assert!(matches!(tx, Err(TransferError::Interrupted)), "{tx:?}");
    assert!(matches!(rx, Err(TransferError::Interrupted)), "{rx:?}");
    let sent = cut_after - a.left.load(Ordering::SeqCst);
    (sent, part_len(dst, "big.bin"))
}

#[tokio::test]
async fn a_broken_link_resumes_where_it_stopped() {
    let src = tempfile::tempdir().unwrap();
    let dst = tempfile::tempdir().unwrap();
    let data = noise(12 << 20, 4);
    let file = src.path().join("big.bin");
    write(&file, &data);
    let (sent1, arrived) = broken_run(&file, dst.path(), 5 << 20).await;
    assert!(
        arrived > 1 << 20 && arrived <= sent1,
        "{arrived} of {sent1}"
    );
    let (tx, rx) = run(std::slice::from_ref(&file), dst.path(), Policy::AcceptAll).await;
    let (tx, rx) = (tx.unwrap(), rx.unwrap());
    assert_eq!(std::fs::read(dst.path().join("big.bin")).unwrap(), data);
    assert!(!paths::part_path(dst.path(), "big.bin").exists());
    let size = data.len() as u64;
    // of what had arrived, how much crossed again
    let again = tx.sent - (size - arrived);
    println!(
        "resume: {arrived} bytes had arrived, {again} sent again ({:.2}%)",
        again as f64 * 100.0 / arrived as f64
    );
    assert!(again * 20 < arrived, "sent again {again} of {arrived}");
    assert_eq!(tx.resumed, arrived);
    assert_eq!(rx.resumed, arrived);
    assert_eq!(rx.received, size - arrived);
}

#[tokio::test]
async fn a_changed_source_is_sent_afresh() {
    let src = tempfile::tempdir().unwrap();
    let dst = tempfile::tempdir().unwrap();
    let file = src.path().join("big.bin");
    write(&file, &noise(4 << 20, 5));
    let (_, arrived) = broken_run(&file, dst.path(), 2 << 20).await;
    assert!(arrived > 0);
    // same size, other bytes at the start
    let mut data = noise(4 << 20, 5);
    data[..1000].copy_from_slice(&noise(1000, 6));
    write(&file, &data);
    let (tx, rx) = run(std::slice::from_ref(&file), dst.path(), Policy::AcceptAll).await;
    let (tx, rx) = (tx.unwrap(), rx.unwrap());
    assert_eq!(std::fs::read(dst.path().join("big.bin")).unwrap(), data);
    assert_eq!((tx.resumed, tx.sent), (0, data.len() as u64));
    assert_eq!(rx.resumed, 0);
}

/// Play a hostile sender: send `msgs`, then answer nothing more. Returns the receiver's
/// result and what it sent back.
async fn hostile(
    dir: &Path,
    msgs: Vec<Msg>,
) -> (Result<ReceiveReport, TransferError>, Vec<Control>) {
    let (a, b) = pipe(64);
    let peer = async {
        for m in msgs {
            if a.send(m).await.is_err() {
                break;
            }
        }
        // read what comes back; a polite peer closes once told to stop
        let mut back = Vec::new();
        while let Ok(Some(m)) = a.recv().await {
            if let Ok(proto::Frame::Control(c)) = proto::decode(m) {
                let last = matches!(c, Control::Error { .. });
                back.push(c);
                if last {
                    break;
                }
            }
        }
        a.close().await;
        back
    };
    let (r, back) = tokio::join!(
        async {
            let r = receive(&b, dir, Policy::AcceptAll, Options::default()).await;
            b.close().await;
            r
        },
        peer
    );
    (r, back)
}

fn offer(list: Vec<Entry>) -> Vec<Msg> {
    let bytes = list.iter().map(|e| e.size).sum();
    vec![
        proto::encode(&Control::Offer {
            v: proto::VERSION,
            count: list.len() as u32,
            bytes,
        }),
        proto::encode(&Control::Entries { list }),
    ]
}

fn file(path: &str, size: u64) -> Entry {
    Entry {
        path: path.into(),
        kind: Kind::File,
        size,
        mode: 0o644,
        mtime_ns: None,
    }
}

fn text(s: &str) -> Msg {
    Msg::Text(s.into())
}

#[tokio::test]
async fn every_hostile_header_is_refused_and_nothing_lands_outside() {
    let long = "n".repeat(300);
    let cases: Vec<(&str, Vec<Msg>, &str)> = vec![
        ("dotdot", offer(vec![file("../evil", 1)]), "'.' or '..'"),
        (
            "deep dotdot",
            offer(vec![file("a/../../evil", 1)]),
            "'.' or '..'",
        ),
        ("absolute", offer(vec![file("/tmp/evil", 1)]), "absolute"),
        ("drive", offer(vec![file("C:evil", 1)]), "drive letter"),
        ("backslash", offer(vec![file("..\\evil", 1)]), "backslash"),
        (
            "escape",
            offer(vec![file("a\u{1b}]0;pwned\u{7}", 1)]),
            "control character",
        ),
        ("nul", offer(vec![file("a\0b", 1)]), "NUL"),
        ("long", offer(vec![file(&long, 1)]), "name too long"),
        (
            "case",
            offer(vec![file("Read.me", 1), file("read.ME", 1)]),
            "differ only in case",
        ),
        (
            "partial name",
            offer(vec![file(".x.qrchat-part", 1)]),
            "reserved",
        ),
        (
            "total",
            vec![
                text(r#"{"t":"offer","v":1,"count":1,"bytes":1}"#),
                proto::encode(&Control::Entries {
                    list: vec![file("a", 5)],
                }),
            ],
            "add up to",
        ),
        ("junk", vec![text("{\"t\":\"offer\"")], "malformed"),
        (
            "binary first",
            vec![Msg::Binary(Bytes::from_static(b"x"))],
            "unexpected data",
        ),
        (
            "huge text",
            vec![text(&"x".repeat(proto::MAX_TEXT + 1))],
            "too long",
        ),
    ];
    for (what, msgs, want) in cases {
        let outer = tempfile::tempdir().unwrap();
        let dir = outer.path().join("in");
        let (r, back) = hostile(&dir, msgs).await;
        let err = r.expect_err(what).to_string();
        assert!(err.contains(want), "{what}: {err}");
        assert!(
            back.iter().any(|c| matches!(
                c,
                Control::Error {
                    code: ErrorCode::Protocol,
                    ..
                }
            )),
            "{what}: the sender is told ({back:?})"
        );
        // nothing written at all: the receive folder is made only on accept
        assert_eq!(tree(outer.path()), Vec::<String>::new(), "{what}");
        // and the message shows no raw control characters
        assert!(!err.chars().any(|c| c.is_control()), "{what}: {err:?}");
    }
}

#[tokio::test]
async fn more_bytes_than_announced_are_not_written() {
    let outer = tempfile::tempdir().unwrap();
    let dir = outer.path().join("in");
    let mut msgs = offer(vec![file("a.bin", 10)]);
    msgs.push(text(r#"{"t":"file","i":0,"from":0}"#));
    msgs.push(Msg::Binary(Bytes::from(vec![1u8; 8])));
    msgs.push(Msg::Binary(Bytes::from(vec![2u8; 8])));
    msgs.push(Msg::Binary(Bytes::from(vec![3u8; 60_000])));
    let (r, back) = hostile(&dir, msgs).await;
    assert!(
        matches!(
            r,
            Err(TransferError::Protocol(ProtoError::MoreThanAnnounced {
                i: 0,
                size: 10
            }))
        ),
        "{r:?}"
    );
    assert!(back.iter().any(|c| matches!(c, Control::Error { .. })));
    // only the announced-size prefix of what came could ever be on disk
    assert!(part_len(&dir, "a.bin") <= 10);
    assert!(!dir.join("a.bin").exists());
    // a wrong hash: the part is removed, nothing gets the name
    let dir2 = outer.path().join("in2");
    let mut msgs = offer(vec![file("b.bin", 3)]);
    msgs.push(text(r#"{"t":"file","i":0,"from":0}"#));
    msgs.push(Msg::Binary(Bytes::from_static(b"abc")));
    msgs.push(proto::encode(&Control::End {
        i: 0,
        sha256: proto::Sha256([0; 32]),
    }));
    let (r, back) = hostile(&dir2, msgs).await;
    assert!(matches!(r, Err(TransferError::Verify { .. })), "{r:?}");
    assert!(back.iter().any(|c| matches!(
        c,
        Control::Error {
            code: ErrorCode::Verify,
            ..
        }
    )));
    assert_eq!(tree(&dir2), Vec::<String>::new());
}

#[tokio::test]
async fn a_symlink_in_the_receive_folder_is_not_followed() {
    let outer = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let dir = outer.path().join("in");
    std::fs::create_dir(&dir).unwrap();
    std::os::unix::fs::symlink(outside.path(), dir.join("link")).unwrap();
    let mut msgs = offer(vec![file("link/x", 1)]);
    msgs.push(text(r#"{"t":"file","i":0,"from":0}"#));
    msgs.push(Msg::Binary(Bytes::from_static(b"x")));
    let (r, back) = hostile(&dir, msgs).await;
    let err = r.unwrap_err();
    assert!(err.to_string().contains("symbolic link"), "{err}");
    assert!(back.iter().any(|c| matches!(c, Control::Error { .. })));
    assert_eq!(tree(outside.path()), Vec::<String>::new());
    // a symlink where the partial file goes is removed, never written through
    let target = outside.path().join("victim");
    std::fs::write(&target, "keep").unwrap();
    std::os::unix::fs::symlink(&target, paths::part_path(&dir, "y")).unwrap();
    let src = tempfile::tempdir().unwrap();
    write(&src.path().join("y"), b"new content");
    let (tx, rx) = run(&[src.path().join("y")], &dir, Policy::AcceptAll).await;
    tx.unwrap();
    rx.unwrap();
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep");
    assert_eq!(
        std::fs::read_to_string(dir.join("y")).unwrap(),
        "new content"
    );
}

#[tokio::test]
async fn the_sender_refuses_what_the_receiver_would() {
    let src = tempfile::tempdir().unwrap();
    write(&src.path().join("a\nb"), b"x");
    write(&src.path().join("x/same"), b"1");
    write(&src.path().join("y/same"), b"2");
    // nobody reads the other end (the sender tells it why it stops, and does not wait)
    let (a, b) = pipe(4);
    drop(b);
    let r = send(&a, &[src.path().join("a\nb")], Options::default()).await;
    assert!(
        matches!(&r, Err(TransferError::Source { why, .. }) if why.contains("control character")),
        "{r:?}"
    );
    let r = send(
        &a,
        &[src.path().join("x/same"), src.path().join("y/same")],
        Options::default(),
    )
    .await;
    assert!(
        matches!(&r, Err(TransferError::Source { why, .. }) if why.contains("twice")),
        "{r:?}"
    );
    let r = send(&a, &[src.path().join("missing")], Options::default()).await;
    assert!(matches!(r, Err(TransferError::Source { .. })), "{r:?}");
}

/// Mount a small tmpfs at `at`. Err: why not (not root, no mount).
fn mount_tmpfs(at: &Path, size: &str) -> Result<(), String> {
    let out = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
        .arg(at)
        .output()
        .map_err(|e| format!("cannot run mount: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "mount -t tmpfs failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(())
}

struct Unmount(PathBuf);
impl Drop for Unmount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

/// A receiving wire that fills the disk at `fill` once the first content arrives,
/// leaving `leave` bytes free: the disk runs full in the middle of a file.
struct Filler {
    end: PipeEnd,
    fill: PathBuf,
    leave: u64,
    done: std::sync::atomic::AtomicBool,
}

impl Wire for Filler {
    async fn send(&self, msg: Msg) -> io::Result<()> {
        self.end.send(msg).await
    }
    async fn recv(&self) -> io::Result<Option<Msg>> {
        let m = self.end.recv().await?;
        if matches!(m, Some(Msg::Binary(_))) && !self.done.swap(true, Ordering::SeqCst) {
            let v = rustix::fs::statvfs(self.fill.parent().unwrap()).unwrap();
            let free = v.f_bavail * v.f_frsize;
            let n = free.saturating_sub(self.leave) as usize;
            std::fs::write(&self.fill, vec![0u8; n]).unwrap();
        }
        Ok(m)
    }
    async fn close(&self) {
        self.end.close().await
    }
}

#[tokio::test]
async fn a_full_disk_is_reported_both_ways_and_resumes_after() {
    let src = tempfile::tempdir().unwrap();
    let mnt = tempfile::tempdir().unwrap();
    if let Err(why) = mount_tmpfs(mnt.path(), "1m") {
        println!("skipped: cannot mount a small tmpfs for a full disk here: {why}");
        return;
    }
    let _unmount = Unmount(mnt.path().to_path_buf());
    let dir = mnt.path().join("in");

    // an offer bigger than the free space is stopped before a byte is written
    write(&src.path().join("big.bin"), &noise(3 << 20, 7));
    let (tx, rx) = run(&[src.path().join("big.bin")], &dir, Policy::AcceptAll).await;
    assert!(
        matches!(&rx, Err(TransferError::NoSpace { needed, .. }) if *needed == 3 << 20),
        "{rx:?}"
    );
    assert!(rx.unwrap_err().to_string().contains("not enough space"));
    assert!(
        matches!(
            &tx,
            Err(TransferError::Peer {
                code: ErrorCode::DiskFull,
                ..
            })
        ),
        "{tx:?}"
    );
    assert!(tx
        .unwrap_err()
        .to_string()
        .contains("disk full: not enough space"));
    assert_eq!(tree(&dir), Vec::<String>::new());

    // the disk runs full in the middle of a file (something else filled it)
    let data = noise(600 << 10, 8);
    let file = src.path().join("mid.bin");
    write(&file, &data);
    let (a, b) = pipe(8);
    let b = Filler {
        end: b,
        fill: mnt.path().join("filler"),
        leave: 200 << 10,
        done: Default::default(),
    };
    let files = [file.clone()];
    let (tx, rx) = tokio::join!(
        send(&a, &files, Options::default()),
        receive(&b, &dir, Policy::AcceptAll, Options::default())
    );
    assert!(
        matches!(&rx, Err(TransferError::DiskFull { path }) if path == "mid.bin"),
        "{rx:?}"
    );
    assert!(rx
        .unwrap_err()
        .to_string()
        .contains("disk full writing mid.bin"));
    assert!(
        matches!(
            &tx,
            Err(TransferError::Peer {
                code: ErrorCode::DiskFull,
                ..
            })
        ),
        "{tx:?}"
    );
    assert!(tx.unwrap_err().to_string().contains("disk full"));
    let kept = part_len(&dir, "mid.bin");
    assert!(kept >= 100 << 10, "the partial is kept ({kept} bytes)");

    // space freed: the transfer resumes from what is there
    std::fs::remove_file(mnt.path().join("filler")).unwrap();
    let (tx, rx) = run(&files, &dir, Policy::AcceptAll).await;
    let tx = tx.unwrap();
    rx.unwrap();
    assert_eq!(tx.resumed, kept);
    assert_eq!(std::fs::read(dir.join("mid.bin")).unwrap(), data);
}

#[tokio::test]
async fn permission_denied_is_reported_both_ways() {
    let src = tempfile::tempdir().unwrap();
    let dst = tempfile::tempdir().unwrap();
    write(&src.path().join("docs/a.txt"), b"hello");
    // a folder this process may not write in: root ignores mode bits, so as root make
    // it immutable instead (EPERM, which is "permission denied" too)
    let locked = dst.path().join("locked");
    std::fs::create_dir(&locked).unwrap();
    let root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    if root {
        let ok = std::process::Command::new("chattr")
            .arg("+i")
            .arg(&locked)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            println!("skipped: running as root and chattr +i is not available here");
            return;
        }
    } else {
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o500)).unwrap();
    }
    let (tx, rx) = run(&[src.path().join("docs")], &locked, Policy::AcceptAll).await;
    if root {
        let _ = std::process::Command::new("chattr")
            .arg("-i")
            .arg(&locked)
            .status();
    }
    assert!(
        matches!(&rx, Err(TransferError::PermissionDenied { path }) if path == "docs/a.txt"),
        "{rx:?}"
    );
    assert!(
        matches!(
            &tx,
            Err(TransferError::Peer {
                code: ErrorCode::PermissionDenied,
                ..
            })
        ),
        "{tx:?}"
    );
    assert!(tx.unwrap_err().to_string().contains("permission denied"));
}

#[tokio::test]
async fn progress_is_reported() {
    let src = tempfile::tempdir().unwrap();
    let dst = tempfile::tempdir().unwrap();
    write(&src.path().join("big.bin"), &noise(4 << 20, 8));
    let (a, b) = pipe(8);
    let (ptx, mut prx) = tokio::sync::mpsc::channel(1024);
    let o = Options {
        progress: Some(ptx),
        cancel: CancelSignal::never(),
    };
    let files = [src.path().join("big.bin")];
    let (tx, rx) = tokio::join!(
        send(&a, &files, Options::default()),
        receive(&b, dst.path(), Policy::AcceptAll, o)
    );
    tx.unwrap();
    rx.unwrap();
    let mut all = Vec::new();
    while let Ok(p) = prx.try_recv() {
        all.push(p);
    }
    let last = all.last().expect("progress events");
    assert_eq!((last.done, last.total), (4 << 20, 4 << 20));
    assert_eq!(last.name, "big.bin");
    assert_eq!(last.direction, Direction::Receive);
    assert!(last.rate > 0.0);
    assert!(all.windows(2).all(|w| w[0].done <= w[1].done));
}

#[tokio::test]
async fn one_partial_has_one_writer() {
    let src = tempfile::tempdir().unwrap();
    let dst = tempfile::tempdir().unwrap();
    write(&src.path().join("a.bin"), &noise(100_000, 9));
    // another transfer is writing a.bin's partial right now
    let other = std::fs::File::create(paths::part_path(dst.path(), "a.bin")).unwrap();
    rustix::fs::flock(&other, rustix::fs::FlockOperation::LockExclusive).unwrap();
    let (tx, rx) = run(&[src.path().join("a.bin")], dst.path(), Policy::AcceptAll).await;
    assert!(
        matches!(&rx, Err(TransferError::Busy { path }) if path == "a.bin"),
        "{rx:?}"
    );
    assert!(matches!(&tx, Err(TransferError::Peer { .. })), "{tx:?}");
    drop(other);
    let (tx, rx) = run(&[src.path().join("a.bin")], dst.path(), Policy::AcceptAll).await;
    tx.unwrap();
    rx.unwrap();
    assert_eq!(
        std::fs::read(dst.path().join("a.bin")).unwrap(),
        noise(100_000, 9)
    );
}

#[tokio::test]
async fn a_sender_that_cannot_read_tells_the_receiver_what_it_is() {
    let src = tempfile::tempdir().unwrap();
    let dst = tempfile::tempdir().unwrap();
    let (tx, rx) = run(
        &[src.path().join("notes.txt")],
        dst.path(),
        Policy::AcceptAll,
    )
    .await;
    assert!(matches!(tx, Err(TransferError::Source { .. })), "{tx:?}");
    // what it is, with the file's name and not the sender's folders; not "the link broke"
    let rx = rx.expect_err("the receiver has nothing");
    let said = rx.to_string();
    assert!(
        matches!(rx, TransferError::Peer { .. }) && said.contains("cannot read notes.txt"),
        "{said}"
    );
    assert!(!said.contains(&src.path().display().to_string()), "{said}");
    assert!(tree(dst.path()).is_empty());
}

/// The progress reports of one transfer of `files`, as the receiver sees them.
async fn progress_of(files: &[PathBuf], dst: &Path) -> Vec<Progress> {
    let (a, b) = pipe(8);
    let (ptx, mut prx) = tokio::sync::mpsc::channel(1024);
    let o = Options {
        progress: Some(ptx),
        cancel: CancelSignal::never(),
    };
    let (tx, rx) = tokio::join!(
        send(&a, files, Options::default()),
        receive(&b, dst, Policy::AcceptAll, o)
    );
    tx.unwrap();
    rx.unwrap();
    let mut all = Vec::new();
    while let Ok(p) = prx.try_recv() {
        all.push(p);
    }
    all
}

#[tokio::test]
async fn a_tiny_file_shows_no_rate() {
    let src = tempfile::tempdir().unwrap();
    let dst = tempfile::tempdir().unwrap();
    write(&src.path().join("tiny.txt"), b"hello");
    let all = progress_of(&[src.path().join("tiny.txt")], dst.path()).await;
    let last = all.last().expect("progress events");
    assert_eq!((last.done, last.total), (5, 5));
    // five bytes in a millisecond are no measure of the link: no rate, no time left
    assert!(
        all.iter().all(|p| p.rate == 0.0 && p.eta.is_none()),
        "{all:?}"
    );
}

#[tokio::test]
async fn a_transfer_has_one_name_from_offer_to_summary() {
    let src = tempfile::tempdir().unwrap();
    let dst = tempfile::tempdir().unwrap();
    let s = src.path();
    write(&s.join("a.txt"), b"a");
    write(&s.join("docs/b.txt"), b"b");
    write(&s.join("docs/sub/c.txt"), b"c");
    for (paths, name) in [
        (vec![s.join("a.txt"), s.join("docs")], "2 items"),
        (vec![s.join("docs")], "docs/"),
        (vec![s.join("a.txt")], "a.txt"),
    ] {
        let all = progress_of(&paths, dst.path()).await;
        // the progress reports (both sides) name it as the sender's and the receiver's
        // lines do
        assert!(!all.is_empty());
        assert!(all.iter().all(|p| p.name == name), "{all:?}");
        assert_eq!(words::paths_name(&paths), name);
    }
}
