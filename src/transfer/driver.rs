//! The driver: moves bytes between a [`Wire`] and the filesystem, as the state machines
//! say. Files are streamed a chunk at a time (memory stays flat whatever their size);
//! file I/O is plain blocking calls of at most one chunk (page-cache copies), and what
//! can take long (hashing a large partial file, fsync) runs on the blocking pool.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, UNIX_EPOCH};

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::FutureExt;
use sha2::Digest;

use super::paths::{self, PathSet, PlaceError, RelPath};
use super::proto::{self, Control, Entry, Frame, Kind, Msg, Sha256, MAX_CHUNK};
use super::state::{self, Receiver, RxEvent, Sender, TxEvent};
use super::{
    CancelSignal, Direction, OfferRequest, OfferSummary, Options, Policy, Progress, ReceiveReport,
    SendReport, TransferError, Wire,
};

/// How long a goodbye (an error or cancel message, the close) may take.
const GOODBYE: Duration = Duration::from_secs(2);
/// How long our own close may take once the peer has closed (see [`last_word`]).
const CLOSED_GOODBYE: Duration = Duration::from_millis(100);
/// Progress events at most this often.
const PROGRESS_EVERY: Duration = Duration::from_millis(200);
/// A progress report carries a rate only once this much has moved in this run (before
/// that it is no measure of the link).
const RATE_AFTER_BYTES: u64 = 1 << 20;

/// The next message from the peer, cancel-safe: an unfinished `recv` is kept for the
/// next call, so polling the inbox between chunks loses nothing.
struct Inbox<'a, W: Wire> {
    wire: &'a W,
    pending: Option<BoxFuture<'a, io::Result<Option<Msg>>>>,
}

impl<'a, W: Wire> Inbox<'a, W> {
    fn new(wire: &'a W) -> Self {
        Inbox {
            wire,
            pending: None,
        }
    }

    async fn next(&mut self) -> io::Result<Option<Msg>> {
        let wire = self.wire;
        let f = self.pending.get_or_insert_with(|| Box::pin(wire.recv()));
        let r = f.await;
        self.pending = None;
        r
    }

    /// A message if one is there now.
    fn ready(&mut self) -> Option<io::Result<Option<Msg>>> {
        self.next().now_or_never()
    }
}

fn sha(h: &sha2::Sha256) -> Sha256 {
    Sha256(h.clone().finalize().into())
}

struct Meter {
    tx: Option<tokio::sync::mpsc::Sender<Progress>>,
    direction: Direction,
    name: String,
    file: String,
    total: u64,
    done: u64,
    moved: u64,
    start: Instant,
    last: Option<Instant>,
}

impl Meter {
    fn new(opts: &Options, direction: Direction, entries: &[Entry]) -> Meter {
        let top: Vec<&Entry> = entries.iter().filter(|e| !e.path.contains('/')).collect();
        let name = match top.as_slice() {
            [one] => one.path.clone(),
            // counted as the summary at the end counts (files, and folders among them)
            _ => super::items_words(
                entries.iter().filter(|e| e.kind == Kind::File).count(),
                entries.iter().filter(|e| e.kind == Kind::Dir).count(),
            ),
        };
        Meter {
            tx: opts.progress.clone(),
            direction,
            name,
            file: String::new(),
            total: entries
                .iter()
                .filter(|e| e.kind == Kind::File)
                .map(|e| e.size)
                .sum(),
            done: 0,
            moved: 0,
            start: Instant::now(),
            last: None,
        }
    }

    fn moved(&mut self, n: u64) {
        self.done += n;
        self.moved += n;
        self.tick(false);
    }

    fn resumed(&mut self, n: u64) {
        self.done += n;
    }

    fn tick(&mut self, force: bool) {
        let Some(tx) = &self.tx else { return };
        let now = Instant::now();
        if !force && self.last.is_some_and(|l| now - l < PROGRESS_EVERY) {
            return;
        }
        self.last = Some(now);
        let secs = (now - self.start).as_secs_f64();
        // A rate needs something to measure: over a few kilobytes it is noise (a tiny file
        // "at 37 kB/s", the time mostly the round trips), so none is reported (0) before a
        // MiB has moved.
        let rate = if secs > 0.0 && self.moved >= RATE_AFTER_BYTES {
            self.moved as f64 / secs
        } else {
            0.0
        };
        let eta = (rate > 0.0)
            .then(|| Duration::from_secs_f64(self.total.saturating_sub(self.done) as f64 / rate));
        let _ = tx.try_send(Progress {
            direction: self.direction,
            name: self.name.clone(),
            file: self.file.clone(),
            done: self.done,
            total: self.total,
            rate,
            eta,
        });
    }
}

/// Tell the peer why we stop, let it read that (see [`linger`]), close, and hand the
/// error back.
async fn fail<W: Wire>(inbox: &mut Inbox<'_, W>, err: TransferError) -> TransferError {
    let wire = inbox.wire;
    let msg = match &err {
        TransferError::Cancelled(r) => Control::Cancel {
            reason: proto::clip_reason(r),
        },
        // the peer's own stop, or a dead link: nothing to tell
        TransferError::PeerCancelled(_)
        | TransferError::Peer { .. }
        | TransferError::Declined(_)
        | TransferError::Interrupted
        | TransferError::Wire(_) => {
            let _ = tokio::time::timeout(GOODBYE, wire.close()).await;
            return err;
        }
        other => Control::Error {
            code: other.code(),
            message: proto::clip_reason(&peer_message(other)),
        },
    };
    last_word(inbox, &msg).await;
    err
}

/// Send our last message and close, but only once the peer has read it: a close resets
/// the stream, and a reset may overtake data still in flight, so the side that has the
/// last word waits (bounded) for the other to close first. The other side closes as
/// soon as it reads `done`, `decline`, `cancel` or `error`.
async fn last_word<W: Wire>(inbox: &mut Inbox<'_, W>, msg: &Control) {
    let wire = inbox.wire;
    let mut peer_closed = false;
    if let Ok(Ok(())) = tokio::time::timeout(GOODBYE, wire.send(proto::encode(msg))).await {
        peer_closed = tokio::time::timeout(GOODBYE, async {
            while let Ok(Some(_)) = inbox.next().await {}
        })
        .await
        .is_ok();
    }
    // Once the peer has closed, it has read our last word: nothing of ours is left to
    // deliver. A close that waits for our data to drain would then wait for an
    // acknowledgement that may never come (a peer that leaves right after closing takes
    // its last SACK with it), and the receiver's "verified" came 2 s after the sender's.
    let limit = if peer_closed { CLOSED_GOODBYE } else { GOODBYE };
    let _ = tokio::time::timeout(limit, wire.close()).await;
}

/// What the peer is told: relative paths only, never this machine's folders.
fn peer_message(err: &TransferError) -> String {
    match err {
        TransferError::Place { path, .. } => format!("the receiver cannot place {path}"),
        // the file's own name and why, never the folder it is in
        TransferError::Source { path, why } => match path.file_name() {
            Some(name) => format!("the sender cannot read {}: {why}", name.to_string_lossy()),
            None => format!("the sender cannot read a file: {why}"),
        },
        TransferError::Io { path, source } => format!("{path}: {}", source.kind()),
        other => other.to_string(),
    }
}

fn io_error(path: &str, e: io::Error) -> TransferError {
    let path = path.to_string();
    match e.kind() {
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => {
            TransferError::DiskFull { path }
        }
        io::ErrorKind::PermissionDenied => TransferError::PermissionDenied { path },
        _ => TransferError::Io { path, source: e },
    }
}

fn place_error(path: &RelPath, e: PlaceError) -> TransferError {
    match e {
        PlaceError::Io { source, .. } => io_error(&path.as_string(), source),
        why => TransferError::Place {
            path: path.as_string(),
            why,
        },
    }
}

/// Read until `buf` is full or the file ends.
fn read_full(f: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Hash the first `len` bytes of `f` (from its start). None if it is shorter.
fn hash_prefix(f: &mut File, len: u64) -> io::Result<Option<sha2::Sha256>> {
    f.seek(SeekFrom::Start(0))?;
    let mut h = sha2::Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut left = len;
    while left > 0 {
        let want = buf.len().min(left as usize);
        let n = read_full(f, &mut buf[..want])?;
        if n == 0 {
            return Ok(None);
        }
        h.update(&buf[..n]);
        left -= n as u64;
    }
    Ok(Some(h))
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, TransferError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| TransferError::Wire(io::Error::other(e.to_string())))
}

// ---------------------------------------------------------------------------- receive

/// Receive one transfer into `dir` (created if missing). The offer is answered by
/// `policy`; accepted files land in `dir` under their offered paths, verified, never
/// overwriting (`name (1).ext`). Declining is `Ok` with `declined: true`.
pub async fn receive<W: Wire>(
    wire: &W,
    dir: &Path,
    policy: Policy,
    opts: Options,
) -> Result<ReceiveReport, TransferError> {
    let mut rx = Receiver::new();
    let mut inbox = Inbox::new(wire);
    let mut cancel = opts.cancel.clone();
    let mut report = ReceiveReport {
        declined: false,
        files: Vec::new(),
        dirs: 0,
        bytes: 0,
        received: 0,
        resumed: 0,
    };

    // the offer
    loop {
        match next_rx(&mut inbox, &mut rx, &mut cancel).await? {
            RxEvent::OfferReady => break,
            RxEvent::Nothing => {}
            other => return Err(fail(&mut inbox, unexpected_event(&other)).await),
        }
    }
    let entries: Vec<Entry> = rx.entries().iter().map(|p| p.entry.clone()).collect();
    report.bytes = rx.total_bytes();
    let summary = OfferSummary {
        names: entries
            .iter()
            .filter(|e| !e.path.contains('/'))
            .map(|e| e.path.clone())
            .collect(),
        files: entries.iter().filter(|e| e.kind == Kind::File).count(),
        dirs: entries.iter().filter(|e| e.kind == Kind::Dir).count(),
        bytes: rx.total_bytes(),
    };

    // the answer
    let yes = match policy {
        Policy::AcceptAll => Ok(true),
        Policy::Decline(reason) => Err(reason),
        Policy::Ask(ask) => {
            let (atx, arx) = tokio::sync::oneshot::channel();
            if ask
                .send(OfferRequest {
                    summary,
                    answer: atx,
                })
                .await
                .is_err()
            {
                Err("nobody is there to accept files".to_string())
            } else {
                let got = tokio::select! {
                    a = arx => Ok(a.unwrap_or(false)),
                    // only a cancel or an error can come now; anything else is refused
                    ev = next_rx(&mut inbox, &mut rx, &mut cancel) => Err(ev),
                };
                match got {
                    Ok(true) => Ok(true),
                    // no reason: the sender says "the other side declined", once
                    Ok(false) => Err(String::new()),
                    Err(ev) => {
                        let ev = ev?;
                        return Err(fail(&mut inbox, unexpected_event(&ev)).await);
                    }
                }
            }
        }
    };
    if let Err(reason) = yes {
        let m = rx.decline(&reason);
        last_word(&mut inbox, &m).await;
        report.declined = true;
        return Ok(report);
    }

    if let Err(e) = std::fs::create_dir_all(dir) {
        return Err(fail(&mut inbox, io_error("the receive folder", e)).await);
    }
    let dir = dir.to_path_buf();

    // what is already here from an earlier run
    let wanted: Vec<(u32, RelPath, u64)> = rx
        .entries()
        .iter()
        .enumerate()
        .filter(|(_, p)| p.entry.kind == Kind::File && p.entry.size > 0)
        .map(|(i, p)| (i as u32, p.path.clone(), p.entry.size))
        .collect();
    let scan_dir = dir.clone();
    let mut partials: HashMap<u32, (u64, sha2::Sha256)> =
        blocking(move || scan_partials(&scan_dir, wanted)).await?;
    let points: Vec<(u32, u64, Sha256)> = {
        let mut v: Vec<_> = partials
            .iter()
            .map(|(&i, (have, h))| (i, *have, sha(h)))
            .collect();
        v.sort_by_key(|p| p.0);
        v
    };
    // a peer cannot fill the disk: what is announced must fit in what is free
    let needed = rx.total_bytes() - points.iter().map(|p| p.1).sum::<u64>();
    if let Some(free) = free_space(&dir) {
        if needed > free {
            rx.stop();
            let e = TransferError::NoSpace { needed, free };
            return Err(fail(&mut inbox, e).await);
        }
    }
    for m in rx.accept(&points) {
        if let Err(e) = wire.send(proto::encode(&m)).await {
            return Err(fail(&mut inbox, TransferError::Wire(e)).await);
        }
    }

    let mut meter = Meter::new(&opts, Direction::Receive, &entries);
    let mut cur: Option<Incoming> = None;
    loop {
        let ev = next_rx(&mut inbox, &mut rx, &mut cancel).await?;
        let step = match ev {
            RxEvent::Start { i, from } => {
                let p = rx.entries()[i as usize].clone();
                meter.file = p.path.as_string();
                let hasher = match partials.remove(&i) {
                    Some((have, h)) if have == from && from > 0 => h,
                    _ => sha2::Sha256::new(),
                };
                meter.resumed(from);
                report.resumed += from;
                start_file(&dir, &p.path, from, hasher).map(|f| {
                    cur = Some(Incoming {
                        file: f,
                        path: p.path,
                        entry: p.entry,
                    })
                })
            }
            RxEvent::Data(b) => {
                let Some(c) = cur.as_mut() else {
                    unreachable!("the state machine passes data only inside a file")
                };
                c.write(&b).map(|()| {
                    report.received += b.len() as u64;
                    meter.moved(b.len() as u64);
                })
            }
            RxEvent::End { i, sha256 } => {
                let Some(c) = cur.take() else {
                    unreachable!("the state machine passes end only inside a file")
                };
                match finish_file(c, sha256).await {
                    Ok(dest) => {
                        let name = dest
                            .strip_prefix(&dir)
                            .map(|p| p.to_string_lossy().into_owned())
                            .unwrap_or_default();
                        report.files.push(dest);
                        meter.file.clear();
                        meter.tick(true);
                        wire.send(proto::encode(&Control::Saved { i, name }))
                            .await
                            .map_err(TransferError::Wire)
                    }
                    Err(e) => Err(e),
                }
            }
            RxEvent::PeerDone => {
                let mut made = Ok(());
                for p in rx.entries() {
                    if p.entry.kind == Kind::Dir {
                        if let Err(e) = paths::walk_folders(&dir, p.path.names(), true) {
                            made = Err(place_error(&p.path, e));
                            break;
                        }
                        report.dirs += 1;
                    }
                }
                if let Err(e) = made {
                    return Err(fail(&mut inbox, e).await);
                }
                meter.tick(true);
                last_word(&mut inbox, &Control::Done {}).await;
                return Ok(report);
            }
            other => Err(unexpected_event(&other)),
        };
        if let Err(e) = step {
            rx.stop();
            return Err(fail(&mut inbox, e).await);
        }
    }
}

fn unexpected_event<E: std::fmt::Debug>(ev: &E) -> TransferError {
    TransferError::Protocol(proto::ProtoError::Malformed(format!(
        "unexpected message ({ev:?})"
    )))
}

/// The next event from the sender: decoded, checked by the state machine; a cancel
/// (either side), a peer error, a broken link and a protocol error come back as `Err`
/// (the protocol error told to the peer first).
async fn next_rx<W: Wire>(
    inbox: &mut Inbox<'_, W>,
    rx: &mut Receiver,
    cancel: &mut CancelSignal,
) -> Result<RxEvent, TransferError> {
    let got = tokio::select! {
        m = inbox.next() => Ok(m),
        r = cancel.cancelled() => Err(r),
    };
    let msg = match got {
        Ok(m) => m,
        Err(r) => {
            rx.stop();
            return Err(fail(inbox, TransferError::Cancelled(r)).await);
        }
    };
    let msg = match msg {
        Ok(Some(m)) => m,
        Ok(None) => return Err(TransferError::Interrupted),
        Err(e) => return Err(TransferError::Wire(e)),
    };
    let ev = proto::decode(msg).and_then(|f| rx.on_frame(f));
    match ev {
        Ok(RxEvent::Cancelled(r)) => Err(fail(inbox, TransferError::PeerCancelled(r)).await),
        Ok(RxEvent::PeerError(code, message)) => {
            Err(fail(inbox, TransferError::Peer { code, message }).await)
        }
        Ok(ev) => Ok(ev),
        Err(e) => Err(fail(inbox, TransferError::Protocol(e)).await),
    }
}

/// Bytes an unprivileged user may still write in `dir`'s filesystem.
fn free_space(dir: &Path) -> Option<u64> {
    let v = rustix::fs::statvfs(dir).ok()?;
    Some(v.f_bavail.saturating_mul(v.f_frsize))
}

/// Partial files of earlier runs: (entry, bytes there, hash state after them).
fn scan_partials(
    dir: &Path,
    wanted: Vec<(u32, RelPath, u64)>,
) -> HashMap<u32, (u64, sha2::Sha256)> {
    let mut out = HashMap::new();
    for (i, path, size) in wanted {
        let Ok(Some(folder)) = paths::walk_folders(dir, path.parents(), false) else {
            continue;
        };
        let part = paths::part_path(&folder, path.file_name());
        let Ok(m) = std::fs::symlink_metadata(&part) else {
            continue;
        };
        if !m.is_file() || m.len() == 0 || m.len() > size {
            continue;
        }
        let Ok(mut f) = File::open(&part) else {
            continue;
        };
        if let Ok(Some(h)) = hash_prefix(&mut f, m.len()) {
            out.insert(i, (m.len(), h));
        }
    }
    out
}

struct Incoming {
    file: OpenPart,
    path: RelPath,
    entry: Entry,
}

struct OpenPart {
    file: File,
    part: PathBuf,
    folder: PathBuf,
    hasher: sha2::Sha256,
    /// Where the next byte goes, and up to where writeback has been started.
    pos: u64,
    flushed: u64,
}

/// Every this many bytes received, the receiver asks the OS to start writing them to disk
/// (and to drop them from the page cache once written), so that the sync before the rename
/// finds little left: a 1 GiB file otherwise waits about a second at the end for its
/// dirty pages.
const WRITEBACK_EVERY: u64 = 8 << 20;

impl Incoming {
    fn write(&mut self, b: &Bytes) -> Result<(), TransferError> {
        let part = &mut self.file;
        part.file
            .write_all(b)
            .map_err(|e| io_error(&self.path.as_string(), e))?;
        part.hasher.update(b);
        part.pos += b.len() as u64;
        if part.pos - part.flushed >= WRITEBACK_EVERY {
            start_writeback(&part.file, part.flushed, part.pos - part.flushed);
            part.flushed = part.pos;
        }
        Ok(())
    }
}

/// Start writing `len` bytes at `from` to disk, without waiting (Linux: the DONTNEED
/// advice starts writeback of the dirty range and returns). Elsewhere nothing changes: the
/// sync before the rename makes the file durable either way.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn start_writeback(f: &File, from: u64, len: u64) {
    let _ = rustix::fs::fadvise(
        f,
        from,
        std::num::NonZeroU64::new(len),
        rustix::fs::Advice::DontNeed,
    );
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn start_writeback(_: &File, _: u64, _: u64) {}

fn start_file(
    dir: &Path,
    path: &RelPath,
    from: u64,
    hasher: sha2::Sha256,
) -> Result<OpenPart, TransferError> {
    let folder = paths::prepare_parent(dir, path).map_err(|e| place_error(path, e))?;
    let part = paths::part_path(&folder, path.file_name());
    let rel = path.as_string();
    if let Ok(m) = std::fs::symlink_metadata(&part) {
        // our reserved name, taken by something else: a symlink goes (never followed)
        if m.file_type().is_symlink() {
            std::fs::remove_file(&part).map_err(|e| io_error(&rel, e))?;
        } else if !m.is_file() {
            return Err(place_error(path, PlaceError::NotAFolder(part)));
        }
    }
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        // never through a symlink, even one made since the check above
        .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
        .open(&part)
        .map_err(|e| io_error(&rel, e))?;
    // one writer per partial: a second transfer of the same name at the same time
    // stops here instead of interleaving its bytes (the lock goes with the file)
    if rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive).is_err() {
        return Err(TransferError::Busy { path: rel });
    }
    file.set_len(from).map_err(|e| io_error(&rel, e))?;
    file.seek(SeekFrom::Start(from))
        .map_err(|e| io_error(&rel, e))?;
    Ok(OpenPart {
        file,
        part,
        folder,
        hasher,
        pos: from,
        flushed: from,
    })
}

/// Verify, give the file its mode and time, sync, and claim a free name for it.
async fn finish_file(c: Incoming, want: Sha256) -> Result<PathBuf, TransferError> {
    let rel = c.path.as_string();
    let OpenPart {
        file,
        part,
        folder,
        hasher,
        ..
    } = c.file;
    if sha(&hasher) != want {
        drop(file);
        let _ = std::fs::remove_file(&part);
        return Err(TransferError::Verify { path: rel });
    }
    let mode = (c.entry.mode & 0o777) | 0o600;
    let mtime = c.entry.mtime_ns.and_then(|ns| {
        if ns >= 0 {
            UNIX_EPOCH.checked_add(Duration::from_nanos(ns as u64))
        } else {
            UNIX_EPOCH.checked_sub(Duration::from_nanos(ns.unsigned_abs()))
        }
    });
    let name = c.path.file_name().to_string();
    let r = blocking(move || -> Result<PathBuf, TransferError> {
        let e = |err| io_error(&rel, err);
        file.set_permissions(std::fs::Permissions::from_mode(mode))
            .map_err(e)?;
        if let Some(t) = mtime {
            let _ = file.set_modified(t);
        }
        file.sync_all().map_err(e)?;
        drop(file);
        claim(&folder, &part, &name).map_err(|err| match err {
            PlaceError::Io { source, .. } => io_error(&rel, source),
            why => TransferError::Place {
                path: rel.clone(),
                why,
            },
        })
    })
    .await?;
    r
}

/// Give `part` the first free name of `name` in `folder`, atomically: a hard link fails
/// when the name is taken (then the next one is tried), so nothing is ever overwritten,
/// even by a race. Where hard links are not supported, a checked rename.
fn claim(folder: &Path, part: &Path, name: &str) -> Result<PathBuf, PlaceError> {
    for _ in 0..64 {
        let dest = paths::free_name(folder, name)?;
        match std::fs::hard_link(part, &dest) {
            Ok(()) => {
                std::fs::remove_file(part).map_err(|source| PlaceError::Io {
                    path: part.to_path_buf(),
                    source,
                })?;
                return Ok(dest);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
                return Err(PlaceError::Io {
                    path: dest,
                    source: e,
                })
            }
            Err(_) => {
                if paths::taken(&dest) {
                    continue;
                }
                std::fs::rename(part, &dest).map_err(|source| PlaceError::Io {
                    path: dest.clone(),
                    source,
                })?;
                return Ok(dest);
            }
        }
    }
    Err(PlaceError::NoFreeName(folder.join(name)))
}

// ------------------------------------------------------------------------------- send

/// What will be sent: the entries of the offer, and each file's source.
struct Plan {
    entries: Vec<Entry>,
    sources: Vec<Option<PathBuf>>,
    skipped: Vec<PathBuf>,
}

fn entry_of(rel: String, m: &std::fs::Metadata) -> Entry {
    let mtime_ns = m
        .modified()
        .ok()
        .and_then(|t| match t.duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_nanos()).ok(),
            Err(e) => i64::try_from(e.duration().as_nanos()).ok().map(|n| -n),
        });
    Entry {
        path: rel,
        kind: if m.is_dir() { Kind::Dir } else { Kind::File },
        size: if m.is_dir() { 0 } else { m.len() },
        mode: m.permissions().mode() & 0o7777,
        mtime_ns,
    }
}

fn source_error(path: &Path, why: impl std::fmt::Display) -> TransferError {
    TransferError::Source {
        path: path.to_path_buf(),
        why: why.to_string(),
    }
}

/// Walk what the user named. A symlink the user named is followed; inside folders
/// symlinks, sockets and devices are skipped (and listed).
fn plan(paths_in: &[PathBuf]) -> Result<Plan, TransferError> {
    let mut plan = Plan {
        entries: Vec::new(),
        sources: Vec::new(),
        skipped: Vec::new(),
    };
    let mut set = PathSet::new();
    if paths_in.is_empty() {
        return Err(source_error(Path::new(""), "nothing to send"));
    }
    for p in paths_in {
        let canon = p.canonicalize().map_err(|e| source_error(p, e))?;
        let m = std::fs::metadata(&canon).map_err(|e| source_error(p, e))?;
        let name = canon
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| source_error(p, "its name is not UTF-8"))?
            .to_string();
        if !m.is_file() && !m.is_dir() {
            return Err(source_error(p, "not a file or folder"));
        }
        add(&mut plan, &mut set, p, &canon, name, &m)?;
        if m.is_dir() {
            walk(&mut plan, &mut set, &canon, &canon)?;
        }
    }
    if plan.entries.len() > proto::MAX_ENTRIES as usize {
        return Err(source_error(
            &paths_in[0],
            format!("more than {} files and folders", proto::MAX_ENTRIES),
        ));
    }
    Ok(plan)
}

fn add(
    plan: &mut Plan,
    set: &mut PathSet,
    shown: &Path,
    src: &Path,
    rel: String,
    m: &std::fs::Metadata,
) -> Result<(), TransferError> {
    let checked = paths::check_path(&rel)
        .map_err(|why| source_error(shown, format!("the receiver would refuse it: {why}")))?;
    set.add(&checked, m.is_dir())
        .map_err(|why| source_error(shown, why))?;
    plan.sources.push((!m.is_dir()).then(|| src.to_path_buf()));
    plan.entries.push(entry_of(rel, m));
    Ok(())
}

fn walk(plan: &mut Plan, set: &mut PathSet, root: &Path, dir: &Path) -> Result<(), TransferError> {
    let mut items: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| source_error(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    items.sort();
    let top = root
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    for p in items {
        let m = std::fs::symlink_metadata(&p).map_err(|e| source_error(&p, e))?;
        let Some(rel) = p
            .strip_prefix(root)
            .ok()
            .and_then(|r| r.to_str())
            .map(|r| format!("{top}/{r}"))
        else {
            plan.skipped.push(p);
            continue;
        };
        if m.file_type().is_symlink() || !(m.is_file() || m.is_dir()) {
            plan.skipped.push(p);
            continue;
        }
        add(plan, set, &p, &p, rel, &m)?;
        if m.is_dir() {
            walk(plan, set, root, &p)?;
        }
    }
    Ok(())
}

/// Send `paths` (files and folders; folders with their whole tree) to the peer on
/// `wire`. Returns once the receiver has verified and saved every file.
pub async fn send<W: Wire>(
    wire: &W,
    paths_in: &[PathBuf],
    opts: Options,
) -> Result<SendReport, TransferError> {
    let owned = paths_in.to_vec();
    let plan = match blocking(move || plan(&owned)).await? {
        Ok(plan) => plan,
        // the receiver is told what it is (its channel is open and waits for an offer),
        // not left to see the channel close as a broken link
        Err(e) => return Err(fail(&mut Inbox::new(wire), e).await),
    };
    let mut report = SendReport {
        files: plan.entries.iter().filter(|e| e.kind == Kind::File).count(),
        dirs: plan.entries.iter().filter(|e| e.kind == Kind::Dir).count(),
        bytes: plan
            .entries
            .iter()
            .filter(|e| e.kind == Kind::File)
            .map(|e| e.size)
            .sum(),
        sent: 0,
        resumed: 0,
        saved_as: Vec::new(),
        skipped: plan.skipped.clone(),
    };
    let mut tx = Sender::new(plan.entries.clone());
    let mut out = Out {
        wire,
        inbox: Inbox::new(wire),
        cancel: opts.cancel.clone(),
        early: None,
    };
    for m in tx.offer() {
        out.put(&mut tx, &mut report, proto::encode(&m)).await?;
    }
    loop {
        match out.next(&mut tx).await? {
            TxEvent::Accepted => break,
            TxEvent::Nothing => {}
            TxEvent::Declined(r) => {
                let _ = tokio::time::timeout(GOODBYE, wire.close()).await;
                return Err(TransferError::Declined(r));
            }
            other => return Err(fail(&mut out.inbox, unexpected_event(&other)).await),
        }
    }

    let mut meter = Meter::new(&opts, Direction::Send, &plan.entries);
    let mut buf = vec![0u8; MAX_CHUNK];
    for (i, e) in plan.entries.iter().enumerate() {
        let i = i as u32;
        let Some(src) = plan.sources[i as usize].clone() else {
            continue;
        };
        meter.file = e.path.clone();
        let rel = e.path.clone();
        let file = File::open(&src).map_err(|err| source_error(&src, err));
        let file = match file {
            Ok(f) => f,
            Err(err) => return Err(fail(&mut out.inbox, err).await),
        };
        // where to start: the receiver's part, if our own first bytes hash the same
        let size = e.size;
        let (from, hasher, mut file) = match tx.resume_point(i) {
            Some((have, theirs)) => {
                let prefix = blocking(move || {
                    let mut file = file;
                    let r = hash_prefix(&mut file, have);
                    (r, file)
                })
                .await?;
                match prefix {
                    (Ok(ours), mut file) => {
                        let from = state::resume_from(
                            size,
                            have,
                            &theirs,
                            ours.as_ref().map(sha).as_ref(),
                        );
                        if from == 0 {
                            if let Err(err) = file.seek(SeekFrom::Start(0)) {
                                return Err(fail(&mut out.inbox, source_error(&src, err)).await);
                            }
                            (0, sha2::Sha256::new(), file)
                        } else {
                            (from, ours.expect("a match has a hash"), file)
                        }
                    }
                    (Err(err), _) => {
                        return Err(fail(&mut out.inbox, source_error(&src, err)).await)
                    }
                }
            }
            None => (0, sha2::Sha256::new(), file),
        };
        let mut hasher = hasher;
        report.resumed += from;
        meter.resumed(from);
        out.put(
            &mut tx,
            &mut report,
            proto::encode(&Control::File { i, from }),
        )
        .await?;
        let mut pos = from;
        while pos < size {
            let want = MAX_CHUNK.min((size - pos) as usize);
            let n = match read_full(&mut file, &mut buf[..want]) {
                Ok(0) => {
                    return Err(
                        fail(&mut out.inbox, TransferError::SourceChanged { path: rel }).await,
                    )
                }
                Ok(n) => n,
                Err(err) => return Err(fail(&mut out.inbox, source_error(&src, err)).await),
            };
            hasher.update(&buf[..n]);
            out.put(
                &mut tx,
                &mut report,
                Msg::Binary(Bytes::copy_from_slice(&buf[..n])),
            )
            .await?;
            pos += n as u64;
            report.sent += n as u64;
            meter.moved(n as u64);
        }
        let end = Control::End {
            i,
            sha256: sha(&hasher),
        };
        // marked before the send: the receiver's `saved` may come back before our send
        // returns
        tx.ended(i);
        out.put(&mut tx, &mut report, proto::encode(&end)).await?;
    }
    tx.done_sent();
    out.put(&mut tx, &mut report, proto::encode(&Control::Done {}))
        .await?;
    meter.file.clear();
    loop {
        match out.next(&mut tx).await? {
            TxEvent::PeerDone => break,
            TxEvent::Saved { name, .. } => report.saved_as.push(name),
            TxEvent::Nothing => {}
            other => return Err(fail(&mut out.inbox, unexpected_event(&other)).await),
        }
    }
    meter.tick(true);
    let _ = tokio::time::timeout(GOODBYE, wire.close()).await;
    Ok(report)
}

/// The sender's side of the wire: sends while watching for the receiver's messages and
/// the user's cancel.
struct Out<'a, W: Wire> {
    wire: &'a W,
    inbox: Inbox<'a, W>,
    cancel: CancelSignal,
    /// The receiver's answer heard while our last message was still going out (its reply
    /// to the offer, its verdict after `done`): [`Out::next`] hands it on first. Until then
    /// the inbox is not read further, so what follows it keeps its order.
    early: Option<TxEvent>,
}

impl<W: Wire> Out<'_, W> {
    /// Send one message. Before it, take in whatever the receiver said meanwhile; while
    /// it waits (backpressure), keep listening: a receiver that stopped (disk full) and
    /// closed is heard even when the channel never drains, and its `saved` messages
    /// never pile up behind our wait.
    async fn put(
        &mut self,
        tx: &mut Sender,
        report: &mut SendReport,
        msg: Msg,
    ) -> Result<(), TransferError> {
        while self.early.is_none() {
            let Some(m) = self.inbox.ready() else {
                break;
            };
            match handle(tx, m) {
                Ok(TxEvent::Saved { name, .. }) => report.saved_as.push(name),
                Ok(TxEvent::Nothing) => {}
                Ok(other) => self.early = Some(other),
                Err(e) => return Err(fail(&mut self.inbox, e).await),
            }
        }
        let wire = self.wire;
        let send = wire.send(msg);
        tokio::pin!(send);
        let stop: TransferError = loop {
            let got = tokio::select! {
                r = &mut send => Step::Sent(r),
                m = self.inbox.next(), if self.early.is_none() => Step::Heard(m),
                r = self.cancel.cancelled() => Step::Cancel(r),
            };
            match got {
                Step::Sent(Ok(())) => return Ok(()),
                Step::Sent(Err(e)) => {
                    // the receiver may have said why before the channel went
                    let mut why = None;
                    while let Some(m) = self.inbox.ready() {
                        if let Err(w) = handle(tx, m) {
                            why = Some(w);
                            break;
                        }
                    }
                    if let Some(w) = why {
                        break w;
                    }
                    break match e.kind() {
                        io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset => {
                            TransferError::Interrupted
                        }
                        _ => TransferError::Wire(e),
                    };
                }
                Step::Heard(m) => match handle(tx, m) {
                    Ok(TxEvent::Saved { name, .. }) => report.saved_as.push(name),
                    Ok(TxEvent::Nothing) => {}
                    // an answer that overtook our send: for `next`, once the send is out
                    Ok(other) => self.early = Some(other),
                    Err(e) => break e,
                },
                Step::Cancel(r) => {
                    tx.stop();
                    break TransferError::Cancelled(r);
                }
            }
        };
        Err(fail(&mut self.inbox, stop).await)
    }

    /// Wait for the receiver's next message.
    async fn next(&mut self, tx: &mut Sender) -> Result<TxEvent, TransferError> {
        if let Some(ev) = self.early.take() {
            return Ok(ev);
        }
        let got = tokio::select! {
            m = self.inbox.next() => Ok(m),
            r = self.cancel.cancelled() => Err(r),
        };
        let r = match got {
            Ok(m) => handle(tx, m),
            Err(r) => {
                tx.stop();
                Err(TransferError::Cancelled(r))
            }
        };
        match r {
            Ok(ev) => Ok(ev),
            Err(e) => Err(fail(&mut self.inbox, e).await),
        }
    }
}

enum Step {
    Sent(io::Result<()>),
    Heard(io::Result<Option<Msg>>),
    Cancel(String),
}

/// One message from the receiver, through the sender's state machine. A cancel or an
/// error from the receiver, a broken link and a protocol error come back as `Err`.
fn handle(tx: &mut Sender, m: io::Result<Option<Msg>>) -> Result<TxEvent, TransferError> {
    let m = match m {
        Ok(Some(m)) => m,
        Ok(None) => return Err(TransferError::Interrupted),
        Err(e) => return Err(TransferError::Wire(e)),
    };
    match proto::decode(m).and_then(|f: Frame| tx.on_frame(f)) {
        Ok(TxEvent::Cancelled(r)) => Err(TransferError::PeerCancelled(r)),
        Ok(TxEvent::PeerError(code, message)) => Err(TransferError::Peer { code, message }),
        Ok(ev) => Ok(ev),
        Err(e) => Err(TransferError::Protocol(e)),
    }
}
