//! Receiving, in two steps: [`offer`] reads the sender's offer, and the [`Offer`] is then
//! answered: accepted into a folder or declined, while the peer's cancel is still heard
//! (the user may take their time). Accepted files are streamed to `.part` files (resumed
//! where an earlier run left one), verified, and given a free name. Every failure comes
//! back as an `Err` to the public functions here, which end the transfer in one place
//! ([`end`]).

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::future::Future;
use std::io::{self, Seek, SeekFrom, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use bytes::Bytes;
use sha2::Digest;

use super::disk::{blocking, hash_prefix, sha};
use super::paths::{self, PlaceError, RelPath};
use super::progress::Meter;
use super::proto::{self, Control, Entry, Kind, Sha256};
use super::state::{Receiver, RxEvent};
use super::wire::{end, last_word, unexpected_event, Inbox};
use super::{
    CancelSignal, Direction, OfferSummary, Options, Policy, ReceiveReport, TransferError, Wire,
};

/// Receive one transfer into `dir` (created if missing). The offer is answered by
/// `policy`; accepted files land in `dir` under their offered paths, verified, never
/// overwriting (`name (1).ext`). Declining is `Ok` with `declined: true`.
pub async fn receive<W: Wire>(
    wire: &W,
    dir: &Path,
    policy: Policy,
    opts: Options,
) -> Result<ReceiveReport, TransferError> {
    let offer = offer(wire, opts).await?;
    match policy {
        Policy::AcceptAll => offer.accept(dir).await,
        Policy::Decline(reason) => Ok(offer.decline(&reason).await),
    }
}

/// How the user answers an [`Offer`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Receive into this folder (created if missing).
    Accept(PathBuf),
    /// Decline, telling the sender why (empty: no reason given).
    Decline(String),
}

/// An offer from the peer, read and checked, that waits for an answer. Dropping it
/// without one leaves the channel to its owner (who closes it: the sender then sees the
/// link end).
pub struct Offer<'a, W: Wire> {
    inbox: Inbox<'a, W>,
    rx: Receiver,
    opts: Options,
    summary: OfferSummary,
}

/// Read the sender's offer (the first step of a receive). A cancel (either side), a
/// broken link or a bad offer ends the transfer here.
pub async fn offer<W: Wire>(wire: &W, opts: Options) -> Result<Offer<'_, W>, TransferError> {
    let mut inbox = Inbox::new(wire);
    let mut rx = Receiver::new();
    let mut cancel = opts.cancel.clone();
    let read = async {
        loop {
            match next_rx(&mut inbox, &mut rx, &mut cancel).await? {
                RxEvent::OfferReady => return Ok(()),
                RxEvent::Nothing => {}
                other => return Err(unexpected_event(&other)),
            }
        }
    };
    if let Err(e) = read.await {
        return Err(end(&mut inbox, e).await);
    }
    let entries = rx.entries();
    let summary = OfferSummary {
        names: entries
            .iter()
            .filter(|e| !e.entry.path.contains('/'))
            .map(|e| e.entry.path.clone())
            .collect(),
        files: entries
            .iter()
            .filter(|e| e.entry.kind == Kind::File)
            .count(),
        dirs: entries.iter().filter(|e| e.entry.kind == Kind::Dir).count(),
        bytes: rx.total_bytes(),
    };
    Ok(Offer {
        inbox,
        rx,
        opts,
        summary,
    })
}

impl<W: Wire> Offer<'_, W> {
    /// What is offered (names are the peer's text: sanitise before display).
    pub fn summary(&self) -> &OfferSummary {
        &self.summary
    }

    /// Accept into `dir` (created if missing) and receive. Files land under their offered
    /// paths, verified, never overwriting (`name (1).ext`).
    pub async fn accept(mut self, dir: &Path) -> Result<ReceiveReport, TransferError> {
        match receiving(&mut self.inbox, &mut self.rx, &self.opts, dir).await {
            Ok(report) => Ok(report),
            Err(e) => Err(end(&mut self.inbox, e).await),
        }
    }

    /// Decline, telling the sender why (empty: no reason). Nothing is written.
    pub async fn decline(mut self, reason: &str) -> ReceiveReport {
        let m = self.rx.decline(reason);
        last_word(&mut self.inbox, &m).await;
        ReceiveReport {
            declined: true,
            files: Vec::new(),
            dirs: 0,
            bytes: self.summary.bytes,
            received: 0,
            resumed: 0,
        }
    }

    /// Wait for the user's `answer`, then act on it. Meanwhile the peer is still heard:
    /// its cancel (or a broken link, or this side's cancel) ends the transfer without an
    /// answer (the user's question is then moot).
    pub async fn answer(
        mut self,
        answer: impl Future<Output = Answer>,
    ) -> Result<ReceiveReport, TransferError> {
        let mut cancel = self.opts.cancel.clone();
        let got = tokio::select! {
            a = answer => Ok(a),
            // only a cancel or an error can come now; anything else is refused
            ev = next_rx(&mut self.inbox, &mut self.rx, &mut cancel) => Err(ev),
        };
        match got {
            Ok(Answer::Accept(dir)) => self.accept(&dir).await,
            Ok(Answer::Decline(reason)) => Ok(self.decline(&reason).await),
            Err(ev) => {
                let e = match ev {
                    Ok(ev) => unexpected_event(&ev),
                    Err(e) => e,
                };
                Err(end(&mut self.inbox, e).await)
            }
        }
    }
}

/// The second step, once accepted: resume points, the space check, then the files.
async fn receiving<W: Wire>(
    inbox: &mut Inbox<'_, W>,
    rx: &mut Receiver,
    opts: &Options,
    dir: &Path,
) -> Result<ReceiveReport, TransferError> {
    let wire = inbox.wire;
    let mut cancel = opts.cancel.clone();
    let entries: Vec<Entry> = rx.entries().iter().map(|p| p.entry.clone()).collect();
    let mut report = ReceiveReport {
        declined: false,
        files: Vec::new(),
        dirs: 0,
        bytes: rx.total_bytes(),
        received: 0,
        resumed: 0,
    };
    std::fs::create_dir_all(dir).map_err(|e| io_error("the receive folder", e))?;
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
            return Err(TransferError::NoSpace { needed, free });
        }
    }
    for m in rx.accept(&points) {
        wire.send(proto::encode(&m))
            .await
            .map_err(TransferError::Wire)?;
    }

    let mut meter = Meter::new(opts, Direction::Receive, &entries);
    let mut cur: Option<Incoming> = None;
    loop {
        let ev = next_rx(inbox, rx, &mut cancel).await?;
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
                for p in rx.entries() {
                    if p.entry.kind == Kind::Dir {
                        paths::walk_folders(&dir, p.path.names(), true)
                            .map_err(|e| place_error(&p.path, e))?;
                        report.dirs += 1;
                    }
                }
                meter.tick(true);
                last_word(inbox, &Control::Done {}).await;
                return Ok(report);
            }
            other => Err(unexpected_event(&other)),
        };
        if let Err(e) = step {
            rx.stop();
            return Err(e);
        }
    }
}

/// The next event from the sender: decoded, checked by the state machine; a cancel
/// (either side), a peer error, a broken link and a protocol error come back as `Err`.
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
            return Err(TransferError::Cancelled(r));
        }
    };
    let msg = match msg {
        Ok(Some(m)) => m,
        Ok(None) => return Err(TransferError::Interrupted),
        Err(e) => return Err(TransferError::Wire(e)),
    };
    match proto::decode(msg).and_then(|f| rx.on_frame(f)) {
        Ok(RxEvent::Cancelled(r)) => Err(TransferError::PeerCancelled(r)),
        Ok(RxEvent::PeerError(code, message)) => Err(TransferError::Peer { code, message }),
        Ok(ev) => Ok(ev),
        Err(e) => Err(TransferError::Protocol(e)),
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
