//! Sending: walk what the user named into an offer, then stream each file the receiver
//! wants (from where its partial ends, on a resume) while listening for its answers and
//! the user's cancel. Every failure comes back as an `Err` to [`send`], which ends the
//! transfer in one place ([`end`]).

use std::fs::File;
use std::io::{self, Seek, SeekFrom};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use bytes::Bytes;
use sha2::Digest;

use super::disk::{blocking, hash_prefix, read_full, sha};
use super::paths::{self, PathSet};
use super::progress::Meter;
use super::proto::{self, Control, Entry, Frame, Kind, Msg, MAX_CHUNK};
use super::state::{self, Sender, TxEvent};
use super::wire::{end, unexpected_event, Inbox, GOODBYE};
use super::{CancelSignal, Direction, Options, SendReport, TransferError, Wire};

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
    let mut inbox = Inbox::new(wire);
    match sending(&mut inbox, paths_in, opts).await {
        Ok(report) => {
            let _ = tokio::time::timeout(GOODBYE, wire.close()).await;
            Ok(report)
        }
        // A plan that fails is told too: the receiver's channel is open and waits for an
        // offer, and should not see it close as a broken link.
        Err(e) => Err(end(&mut inbox, e).await),
    }
}

async fn sending<W: Wire>(
    inbox: &mut Inbox<'_, W>,
    paths_in: &[PathBuf],
    opts: Options,
) -> Result<SendReport, TransferError> {
    let owned = paths_in.to_vec();
    let plan = blocking(move || plan(&owned)).await??;
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
        inbox,
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
            TxEvent::Declined(r) => return Err(TransferError::Declined(r)),
            other => return Err(unexpected_event(&other)),
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
        let file = File::open(&src).map_err(|err| source_error(&src, err))?;
        // where to start: the receiver's part, if our own first bytes hash the same
        let size = e.size;
        let (from, mut hasher, mut file) = match tx.resume_point(i) {
            Some((have, theirs)) => {
                let (ours, mut file) = blocking(move || {
                    let mut file = file;
                    let r = hash_prefix(&mut file, have);
                    (r, file)
                })
                .await?;
                let ours = ours.map_err(|err| source_error(&src, err))?;
                let from = state::resume_from(size, have, &theirs, ours.as_ref().map(sha).as_ref());
                if from == 0 {
                    file.seek(SeekFrom::Start(0))
                        .map_err(|err| source_error(&src, err))?;
                    (0, sha2::Sha256::new(), file)
                } else {
                    (from, ours.expect("a match has a hash"), file)
                }
            }
            None => (0, sha2::Sha256::new(), file),
        };
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
                    return Err(TransferError::SourceChanged {
                        path: e.path.clone(),
                    })
                }
                Ok(n) => n,
                Err(err) => return Err(source_error(&src, err)),
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
            other => return Err(unexpected_event(&other)),
        }
    }
    meter.tick(true);
    Ok(report)
}

/// The sender's side of the wire: sends while watching for the receiver's messages and
/// the user's cancel.
struct Out<'a, 'b, W: Wire> {
    inbox: &'b mut Inbox<'a, W>,
    cancel: CancelSignal,
    /// The receiver's answer heard while our last message was still going out (its reply
    /// to the offer, its verdict after `done`): [`Out::next`] hands it on first. Until then
    /// the inbox is not read further, so what follows it keeps its order.
    early: Option<TxEvent>,
}

impl<W: Wire> Out<'_, '_, W> {
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
                Err(e) => return Err(e),
            }
        }
        let wire = self.inbox.wire;
        let send = wire.send(msg);
        tokio::pin!(send);
        loop {
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
                        return Err(w);
                    }
                    return Err(match e.kind() {
                        io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset => {
                            TransferError::Interrupted
                        }
                        _ => TransferError::Wire(e),
                    });
                }
                Step::Heard(m) => match handle(tx, m) {
                    Ok(TxEvent::Saved { name, .. }) => report.saved_as.push(name),
                    Ok(TxEvent::Nothing) => {}
                    // an answer that overtook our send: for `next`, once the send is out
                    Ok(other) => self.early = Some(other),
                    Err(e) => return Err(e),
                },
                Step::Cancel(r) => {
                    tx.stop();
                    return Err(TransferError::Cancelled(r));
                }
            }
        }
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
        match got {
            Ok(m) => handle(tx, m),
            Err(r) => {
                tx.stop();
                Err(TransferError::Cancelled(r))
            }
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
