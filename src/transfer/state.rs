//! The protocol's two sides as pure state machines: the driver decodes each message,
//! feeds it here, and does what the returned event says. Everything about order (what
//! may come when), announced sizes, resume points and paths is decided here, without
//! I/O, so it is tested without I/O.

use std::collections::HashMap;

use bytes::Bytes;

use super::paths::{check_path, PathSet, RelPath};
use super::proto::{Control, Entry, ErrorCode, Frame, Kind, ProtoError, Sha256, VERSION};

/// An offered entry with its checked path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    pub entry: Entry,
    pub path: RelPath,
}

/// What the receiver's driver does next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RxEvent {
    /// Nothing to do (e.g. more entries listed).
    Nothing,
    /// The whole offer is in: ask the user (or the policy), then `accept` or `decline`.
    OfferReady,
    /// File `i` starts at byte `from`: open its partial file, cut it to `from`.
    Start {
        i: u32,
        from: u64,
    },
    /// Content of the current file, within its announced size.
    Data(Bytes),
    /// The current file is complete: verify against `sha256`, give it its name.
    End {
        i: u32,
        sha256: Sha256,
    },
    /// The sender has nothing more: create the folders, answer `done`.
    PeerDone,
    Cancelled(String),
    PeerError(ErrorCode, String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RxPhase {
    Offer,
    Entries,
    Deciding,
    Receiving,
    Over,
}

#[derive(Debug, Clone, Copy)]
struct Current {
    i: u32,
    size: u64,
    pos: u64,
}

/// The receiving side.
#[derive(Debug)]
pub struct Receiver {
    phase: RxPhase,
    count: u32,
    announced: u64,
    listed: u64,
    entries: Vec<Planned>,
    set: PathSet,
    resume: HashMap<u32, u64>,
    current: Option<Current>,
    /// the next file entry may not come before this index
    next: u32,
}

impl Default for Receiver {
    fn default() -> Self {
        Receiver::new()
    }
}

fn unexpected(got: &'static str, when: &'static str) -> ProtoError {
    ProtoError::Unexpected { got, when }
}

impl Receiver {
    pub fn new() -> Receiver {
        Receiver {
            phase: RxPhase::Offer,
            count: 0,
            announced: 0,
            listed: 0,
            entries: Vec::new(),
            set: PathSet::new(),
            resume: HashMap::new(),
            current: None,
            next: 0,
        }
    }

    /// The offer so far (complete once `OfferReady` was returned).
    pub fn entries(&self) -> &[Planned] {
        &self.entries
    }

    /// Bytes of content announced in all.
    pub fn total_bytes(&self) -> u64 {
        self.announced
    }

    /// The current file and how far it is (entry index, bytes so far).
    pub fn current(&self) -> Option<(u32, u64)> {
        self.current.map(|c| (c.i, c.pos))
    }

    pub fn is_over(&self) -> bool {
        self.phase == RxPhase::Over
    }

    /// The user accepted. `resume`: (entry, bytes already here, their SHA-256) for the
    /// files a part of which is already here. Returns the messages to send.
    pub fn accept(&mut self, resume: &[(u32, u64, Sha256)]) -> Vec<Control> {
        debug_assert_eq!(self.phase, RxPhase::Deciding);
        self.phase = RxPhase::Receiving;
        let mut out = vec![Control::Accept {
            resume: resume.len() as u32,
        }];
        for &(i, have, sha256) in resume {
            self.resume.insert(i, have);
            out.push(Control::Resume { i, have, sha256 });
        }
        out
    }

    /// The user declined.
    pub fn decline(&mut self, reason: &str) -> Control {
        self.phase = RxPhase::Over;
        Control::Decline {
            reason: super::proto::clip_reason(reason),
        }
    }

    /// This side stops (cancel or error): nothing more is accepted.
    pub fn stop(&mut self) {
        self.phase = RxPhase::Over;
    }

    /// Feed one decoded message from the sender.
    pub fn on_frame(&mut self, f: Frame) -> Result<RxEvent, ProtoError> {
        let r = self.step(f);
        if r.is_err() {
            self.phase = RxPhase::Over;
        }
        r
    }

    fn step(&mut self, f: Frame) -> Result<RxEvent, ProtoError> {
        if self.phase == RxPhase::Over {
            return Err(unexpected("message", "after the transfer ended"));
        }
        let c = match f {
            Frame::Chunk(b) => {
                let Some(cur) = self.current.as_mut() else {
                    return Err(unexpected("data", "outside a file"));
                };
                let len = b.len() as u64;
                if cur.pos + len > cur.size {
                    return Err(ProtoError::MoreThanAnnounced {
                        i: cur.i,
                        size: cur.size,
                    });
                }
                cur.pos += len;
                return Ok(RxEvent::Data(b));
            }
            Frame::Control(c) => c,
        };
        match c {
            Control::Cancel { reason } => {
                self.phase = RxPhase::Over;
                Ok(RxEvent::Cancelled(reason))
            }
            Control::Error { code, message } => {
                self.phase = RxPhase::Over;
                Ok(RxEvent::PeerError(code, message))
            }
            Control::Offer { v, count, bytes } if self.phase == RxPhase::Offer => {
                if v != VERSION {
                    return Err(ProtoError::Version(v));
                }
                self.count = count;
                self.announced = bytes;
                if count == 0 {
                    self.phase = RxPhase::Deciding;
                    self.check_total()?;
                    return Ok(RxEvent::OfferReady);
                }
                self.phase = RxPhase::Entries;
                Ok(RxEvent::Nothing)
            }
            Control::Entries { list } if self.phase == RxPhase::Entries => {
                if self.entries.len() + list.len() > self.count as usize {
                    return Err(ProtoError::ExtraEntries(self.count));
                }
                for e in list {
                    let path = check_path(&e.path).map_err(|why| ProtoError::Path {
                        path: e.path.clone(),
                        why,
                    })?;
                    self.set
                        .add(&path, e.kind == Kind::Dir)
                        .map_err(|why| ProtoError::Path {
                            path: e.path.clone(),
                            why,
                        })?;
                    self.listed = self.listed.saturating_add(e.size);
                    self.entries.push(Planned { entry: e, path });
                }
                if self.entries.len() == self.count as usize {
                    self.check_total()?;
                    self.phase = RxPhase::Deciding;
                    return Ok(RxEvent::OfferReady);
                }
                Ok(RxEvent::Nothing)
            }
            Control::File { i, from } if self.phase == RxPhase::Receiving => {
                if self.current.is_some() {
                    return Err(unexpected("file", "before the previous file ended"));
                }
                let e = self
                    .entries
                    .get(i as usize)
                    .filter(|p| p.entry.kind == Kind::File)
                    .ok_or(ProtoError::BadIndex(i))?;
                if i < self.next {
                    return Err(ProtoError::Repeated(i));
                }
                let size = e.entry.size;
                let allowed = self.resume.get(&i).copied().unwrap_or(0);
                if from != 0 && from != allowed {
                    return Err(ProtoError::BadResumePoint { i, from, allowed });
                }
                if from > size {
                    return Err(ProtoError::ResumePastEnd {
                        i,
                        have: from,
                        size,
                    });
                }
                self.current = Some(Current { i, size, pos: from });
                self.next = i + 1;
                Ok(RxEvent::Start { i, from })
            }
            Control::End { i, sha256 } if self.phase == RxPhase::Receiving => {
                let Some(cur) = self.current else {
                    return Err(unexpected("end", "outside a file"));
                };
                if cur.i != i {
                    return Err(ProtoError::BadIndex(i));
                }
                if cur.pos != cur.size {
                    return Err(ProtoError::ShortFile {
                        i,
                        got: cur.pos,
                        size: cur.size,
                    });
                }
                self.current = None;
                Ok(RxEvent::End { i, sha256 })
            }
            Control::Done {} if self.phase == RxPhase::Receiving => {
                if self.current.is_some() {
                    return Err(unexpected("done", "in the middle of a file"));
                }
                let missing = self.entries[self.next as usize..]
                    .iter()
                    .any(|p| p.entry.kind == Kind::File);
                if missing {
                    return Err(unexpected("done", "before every file was sent"));
                }
                self.phase = RxPhase::Over;
                Ok(RxEvent::PeerDone)
            }
            other => Err(unexpected(
                other.name(),
                match self.phase {
                    RxPhase::Offer => "before the offer",
                    RxPhase::Entries => "while the offer is listed",
                    RxPhase::Deciding => "before the offer was answered",
                    RxPhase::Receiving => "from a sender",
                    RxPhase::Over => "after the transfer ended",
                },
            )),
        }
    }

    fn check_total(&self) -> Result<(), ProtoError> {
        if self.listed != self.announced {
            return Err(ProtoError::TotalMismatch {
                announced: self.announced,
                listed: self.listed,
            });
        }
        Ok(())
    }
}

/// Where the sender starts file content, given the receiver's resume point (`have`
/// bytes hashing to `theirs`) and the hash of the sender's own first `have` bytes
/// (`None` when the source is shorter than `have` now). The same prefix continues;
/// anything else (a changed source, a foreign partial) starts afresh.
pub fn resume_from(size: u64, have: u64, theirs: &Sha256, ours: Option<&Sha256>) -> u64 {
    match ours {
        Some(o) if have <= size && o == theirs => have,
        _ => 0,
    }
}

/// What the sender's driver does next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxEvent {
    Nothing,
    /// Accepted, every resume point is in: send the files.
    Accepted,
    Declined(String),
    /// The receiver verified entry `i` and saved it as `name`.
    Saved {
        i: u32,
        name: String,
    },
    /// Everything is saved: close.
    PeerDone,
    Cancelled(String),
    PeerError(ErrorCode, String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TxPhase {
    AwaitReply,
    AwaitResume,
    Sending,
    Over,
}

/// The sending side.
#[derive(Debug)]
pub struct Sender {
    entries: Vec<Entry>,
    phase: TxPhase,
    resume_left: u32,
    resume: HashMap<u32, (u64, Sha256)>,
    ended: Vec<bool>,
    saved: Vec<bool>,
    done_sent: bool,
}

impl Sender {
    pub fn new(entries: Vec<Entry>) -> Sender {
        let n = entries.len();
        Sender {
            entries,
            phase: TxPhase::AwaitReply,
            resume_left: 0,
            resume: HashMap::new(),
            ended: vec![false; n],
            saved: vec![false; n],
            done_sent: false,
        }
    }

    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The messages that make the offer.
    pub fn offer(&self) -> Vec<Control> {
        let bytes = self
            .entries
            .iter()
            .filter(|e| e.kind == Kind::File)
            .map(|e| e.size)
            .sum();
        let mut out = vec![Control::Offer {
            v: VERSION,
            count: self.entries.len() as u32,
            bytes,
        }];
        out.extend(super::proto::entry_messages(&self.entries));
        out
    }

    /// The receiver's resume point for entry `i`, if it has one.
    pub fn resume_point(&self, i: u32) -> Option<(u64, Sha256)> {
        self.resume.get(&i).copied()
    }

    /// The driver sent `end` for entry `i`.
    pub fn ended(&mut self, i: u32) {
        if let Some(e) = self.ended.get_mut(i as usize) {
            *e = true;
        }
    }

    /// The driver sent `done`.
    pub fn done_sent(&mut self) {
        self.done_sent = true;
    }

    pub fn stop(&mut self) {
        self.phase = TxPhase::Over;
    }

    pub fn is_over(&self) -> bool {
        self.phase == TxPhase::Over
    }

    /// Feed one decoded message from the receiver.
    pub fn on_frame(&mut self, f: Frame) -> Result<TxEvent, ProtoError> {
        let r = self.step(f);
        if r.is_err() {
            self.phase = TxPhase::Over;
        }
        r
    }

    fn step(&mut self, f: Frame) -> Result<TxEvent, ProtoError> {
        if self.phase == TxPhase::Over {
            return Err(unexpected("message", "after the transfer ended"));
        }
        let Frame::Control(c) = f else {
            return Err(unexpected("data", "from a receiver"));
        };
        match c {
            Control::Cancel { reason } => {
                self.phase = TxPhase::Over;
                Ok(TxEvent::Cancelled(reason))
            }
            Control::Error { code, message } => {
                self.phase = TxPhase::Over;
                Ok(TxEvent::PeerError(code, message))
            }
            Control::Decline { reason } if self.phase == TxPhase::AwaitReply => {
                self.phase = TxPhase::Over;
                Ok(TxEvent::Declined(reason))
            }
            Control::Accept { resume } if self.phase == TxPhase::AwaitReply => {
                let files = self.entries.iter().filter(|e| e.kind == Kind::File).count();
                if resume as usize > files {
                    return Err(unexpected("resume count", "above the number of files"));
                }
                self.resume_left = resume;
                if resume == 0 {
                    self.phase = TxPhase::Sending;
                    return Ok(TxEvent::Accepted);
                }
                self.phase = TxPhase::AwaitResume;
                Ok(TxEvent::Nothing)
            }
            Control::Resume { i, have, sha256 } if self.phase == TxPhase::AwaitResume => {
                let e = self
                    .entries
                    .get(i as usize)
                    .filter(|e| e.kind == Kind::File)
                    .ok_or(ProtoError::BadIndex(i))?;
                if have > e.size {
                    return Err(ProtoError::ResumePastEnd {
                        i,
                        have,
                        size: e.size,
                    });
                }
                if self.resume.insert(i, (have, sha256)).is_some() {
                    return Err(ProtoError::Repeated(i));
                }
                self.resume_left -= 1;
                if self.resume_left == 0 {
                    self.phase = TxPhase::Sending;
                    return Ok(TxEvent::Accepted);
                }
                Ok(TxEvent::Nothing)
            }
            Control::Saved { i, name } if self.phase == TxPhase::Sending => {
                let idx = i as usize;
                if !self.ended.get(idx).copied().unwrap_or(false) {
                    return Err(unexpected("saved", "for a file not sent"));
                }
                if std::mem::replace(&mut self.saved[idx], true) {
                    return Err(ProtoError::Repeated(i));
                }
                Ok(TxEvent::Saved { i, name })
            }
            Control::Done {} if self.phase == TxPhase::Sending => {
                let all = self
                    .entries
                    .iter()
                    .zip(&self.saved)
                    .all(|(e, s)| e.kind == Kind::Dir || *s);
                if !self.done_sent || !all {
                    return Err(unexpected("done", "before every file was saved"));
                }
                self.phase = TxPhase::Over;
                Ok(TxEvent::PeerDone)
            }
            other => Err(unexpected(
                other.name(),
                match self.phase {
                    TxPhase::AwaitReply => "before the offer was answered",
                    TxPhase::AwaitResume => "among resume points",
                    TxPhase::Sending => "from a receiver",
                    TxPhase::Over => "after the transfer ended",
                },
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transfer::paths::PathError;

    fn file(path: &str, size: u64) -> Entry {
        Entry {
            path: path.into(),
            kind: Kind::File,
            size,
            mode: 0o644,
            mtime_ns: None,
        }
    }
    fn dir(path: &str) -> Entry {
        Entry {
            path: path.into(),
            kind: Kind::Dir,
            size: 0,
            mode: 0o755,
            mtime_ns: None,
        }
    }
    fn c(x: Control) -> Frame {
        Frame::Control(x)
    }
    fn data(n: usize) -> Frame {
        Frame::Chunk(Bytes::from(vec![7u8; n]))
    }
    const H: Sha256 = Sha256([1; 32]);

    /// A receiver that took the sender's offer and accepted it with `resume`.
    fn accepted(entries: Vec<Entry>, resume: &[(u32, u64, Sha256)]) -> Receiver {
        let s = Sender::new(entries);
        let mut r = Receiver::new();
        let mut last = RxEvent::Nothing;
        for m in s.offer() {
            last = r.on_frame(c(m)).unwrap();
        }
        assert_eq!(last, RxEvent::OfferReady);
        r.accept(resume);
        r
    }

    #[test]
    fn a_whole_transfer_between_the_machines() {
        let entries = vec![dir("d"), file("d/a", 5), file("d/empty", 0), dir("d/e")];
        let mut s = Sender::new(entries.clone());
        let mut r = Receiver::new();
        for m in s.offer() {
            r.on_frame(c(m)).unwrap();
        }
        assert_eq!(r.entries().len(), 4);
        assert_eq!(r.total_bytes(), 5);
        for m in r.accept(&[]) {
            assert_eq!(s.on_frame(c(m)).unwrap(), TxEvent::Accepted);
        }
        assert_eq!(
            r.on_frame(c(Control::File { i: 1, from: 0 })).unwrap(),
            RxEvent::Start { i: 1, from: 0 }
        );
        assert!(matches!(r.on_frame(data(3)).unwrap(), RxEvent::Data(_)));
        assert!(matches!(r.on_frame(data(2)).unwrap(), RxEvent::Data(_)));
        assert_eq!(
            r.on_frame(c(Control::End { i: 1, sha256: H })).unwrap(),
            RxEvent::End { i: 1, sha256: H }
        );
        s.ended(1);
        let saved = Control::Saved {
            i: 1,
            name: "d/a".into(),
        };
        assert!(matches!(
            s.on_frame(c(saved)).unwrap(),
            TxEvent::Saved { .. }
        ));
        r.on_frame(c(Control::File { i: 2, from: 0 })).unwrap();
        r.on_frame(c(Control::End { i: 2, sha256: H })).unwrap();
        s.ended(2);
        // the receiver cannot say done before every file is saved
        let mut early = Sender::new(entries);
        assert!(early.on_frame(c(Control::Accept { resume: 0 })).is_ok());
        assert!(early.on_frame(c(Control::Done {})).is_err());
        s.on_frame(c(Control::Saved {
            i: 2,
            name: "d/empty".into(),
        }))
        .unwrap();
        assert_eq!(r.on_frame(c(Control::Done {})).unwrap(), RxEvent::PeerDone);
        s.done_sent();
        assert_eq!(s.on_frame(c(Control::Done {})).unwrap(), TxEvent::PeerDone);
        assert!(r.is_over() && s.is_over());
    }

    #[test]
    fn more_bytes_than_announced_is_refused() {
        let mut r = accepted(vec![file("a", 5)], &[]);
        r.on_frame(c(Control::File { i: 0, from: 0 })).unwrap();
        r.on_frame(data(4)).unwrap();
        assert_eq!(
            r.on_frame(data(2)),
            Err(ProtoError::MoreThanAnnounced { i: 0, size: 5 })
        );
        // and nothing more is taken after that
        assert!(r.on_frame(data(1)).is_err());
        assert!(r.is_over());
    }

    #[test]
    fn past_the_announced_size_and_short_files_are_refused() {
        // a resume point the receiver never gave, or past the end
        let mut r = accepted(vec![file("a", 5)], &[(0, 3, H)]);
        assert_eq!(
            r.on_frame(c(Control::File { i: 0, from: 4 })),
            Err(ProtoError::BadResumePoint {
                i: 0,
                from: 4,
                allowed: 3
            })
        );
        let mut r = accepted(vec![file("a", 5)], &[(0, 3, H)]);
        assert_eq!(
            r.on_frame(c(Control::File { i: 0, from: 3 })).unwrap(),
            RxEvent::Start { i: 0, from: 3 }
        );
        assert!(r.on_frame(data(3)).is_err());
        let mut r = accepted(vec![file("a", 5)], &[]);
        r.on_frame(c(Control::File { i: 0, from: 0 })).unwrap();
        r.on_frame(data(4)).unwrap();
        assert_eq!(
            r.on_frame(c(Control::End { i: 0, sha256: H })),
            Err(ProtoError::ShortFile {
                i: 0,
                got: 4,
                size: 5
            })
        );
    }

    #[test]
    fn out_of_order_messages_are_refused() {
        let entries = vec![dir("d"), file("d/a", 1), file("d/b", 1)];
        let mut r = Receiver::new();
        // data or a file before any offer
        assert!(r.on_frame(data(1)).is_err());
        let mut r = Receiver::new();
        assert!(r.on_frame(c(Control::File { i: 0, from: 0 })).is_err());
        // a file before the offer was answered
        let mut r = Receiver::new();
        for m in Sender::new(entries.clone()).offer() {
            r.on_frame(c(m)).unwrap();
        }
        assert!(r.on_frame(c(Control::File { i: 1, from: 0 })).is_err());
        // a folder's index, an index past the end, a repeat, a done before the files
        let mut r = accepted(entries.clone(), &[]);
        assert_eq!(
            r.on_frame(c(Control::File { i: 0, from: 0 })),
            Err(ProtoError::BadIndex(0))
        );
        let mut r = accepted(entries.clone(), &[]);
        assert_eq!(
            r.on_frame(c(Control::File { i: 9, from: 0 })),
            Err(ProtoError::BadIndex(9))
        );
        let mut r = accepted(entries.clone(), &[]);
        r.on_frame(c(Control::File { i: 2, from: 0 })).unwrap();
        r.on_frame(data(1)).unwrap();
        r.on_frame(c(Control::End { i: 2, sha256: H })).unwrap();
        assert_eq!(
            r.on_frame(c(Control::File { i: 1, from: 0 })),
            Err(ProtoError::Repeated(1))
        );
        let mut r = accepted(entries.clone(), &[]);
        r.on_frame(c(Control::File { i: 1, from: 0 })).unwrap();
        assert!(r.on_frame(c(Control::File { i: 2, from: 0 })).is_err());
        let mut r = accepted(entries, &[]);
        assert!(r.on_frame(c(Control::Done {})).is_err());
        // a receiver's message from the sender
        let mut r = accepted(vec![file("a", 1)], &[]);
        assert!(r.on_frame(c(Control::Accept { resume: 0 })).is_err());
    }

    #[test]
    fn hostile_offers_are_refused() {
        let feed = |list: Vec<Entry>, announced: Option<u64>| {
            let mut r = Receiver::new();
            let bytes = announced.unwrap_or(list.iter().map(|e| e.size).sum());
            r.on_frame(c(Control::Offer {
                v: VERSION,
                count: list.len() as u32,
                bytes,
            }))?;
            r.on_frame(c(Control::Entries { list }))
        };
        let path_err = |r: Result<RxEvent, ProtoError>| match r {
            Err(ProtoError::Path { why, .. }) => why,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            path_err(feed(vec![file("../x", 1)], None)),
            PathError::DotComponent
        );
        assert_eq!(
            path_err(feed(vec![file("/etc/x", 1)], None)),
            PathError::Absolute
        );
        assert_eq!(
            path_err(feed(vec![file("a", 1), file("A", 1)], None)),
            PathError::CaseCollision("a".into(), "A".into())
        );
        assert_eq!(
            feed(vec![file("a", 1)], Some(2)),
            Err(ProtoError::TotalMismatch {
                announced: 2,
                listed: 1
            })
        );
        // more entries than announced
        let mut r = Receiver::new();
        r.on_frame(c(Control::Offer {
            v: VERSION,
            count: 1,
            bytes: 2,
        }))
        .unwrap();
        assert_eq!(
            r.on_frame(c(Control::Entries {
                list: vec![file("a", 1), file("b", 1)]
            })),
            Err(ProtoError::ExtraEntries(1))
        );
        // a second offer
        let mut r = accepted(vec![file("a", 1)], &[]);
        assert!(r
            .on_frame(c(Control::Offer {
                v: VERSION,
                count: 0,
                bytes: 0
            }))
            .is_err());
    }

    #[test]
    fn cancel_and_errors_end_either_side_at_any_point() {
        let mut r = accepted(vec![file("a", 5)], &[]);
        r.on_frame(c(Control::File { i: 0, from: 0 })).unwrap();
        assert_eq!(
            r.on_frame(c(Control::Cancel {
                reason: "stop".into()
            }))
            .unwrap(),
            RxEvent::Cancelled("stop".into())
        );
        assert!(r.is_over() && r.on_frame(data(1)).is_err());
        let mut s = Sender::new(vec![file("a", 5)]);
        assert_eq!(
            s.on_frame(c(Control::Error {
                code: ErrorCode::DiskFull,
                message: "full".into()
            }))
            .unwrap(),
            TxEvent::PeerError(ErrorCode::DiskFull, "full".into())
        );
        let mut s = Sender::new(vec![file("a", 5)]);
        assert_eq!(
            s.on_frame(c(Control::Decline {
                reason: "no".into()
            }))
            .unwrap(),
            TxEvent::Declined("no".into())
        );
        assert!(s.is_over());
    }

    #[test]
    fn sender_checks_resume_points() {
        let mut s = Sender::new(vec![dir("d"), file("d/a", 10)]);
        s.on_frame(c(Control::Accept { resume: 1 })).unwrap();
        assert_eq!(
            s.on_frame(c(Control::Resume {
                i: 1,
                have: 11,
                sha256: H
            })),
            Err(ProtoError::ResumePastEnd {
                i: 1,
                have: 11,
                size: 10
            })
        );
        let mut s = Sender::new(vec![dir("d"), file("d/a", 10)]);
        s.on_frame(c(Control::Accept { resume: 1 })).unwrap();
        assert_eq!(
            s.on_frame(c(Control::Resume {
                i: 0,
                have: 1,
                sha256: H
            })),
            Err(ProtoError::BadIndex(0))
        );
        let mut s = Sender::new(vec![file("a", 10)]);
        assert!(s.on_frame(c(Control::Accept { resume: 2 })).is_err());
        let mut s = Sender::new(vec![file("a", 10)]);
        s.on_frame(c(Control::Accept { resume: 1 })).unwrap();
        assert_eq!(
            s.on_frame(c(Control::Resume {
                i: 0,
                have: 4,
                sha256: H
            }))
            .unwrap(),
            TxEvent::Accepted
        );
        assert_eq!(s.resume_point(0), Some((4, H)));
        // data from a receiver, a saved for a file not sent
        assert!(s.clone_for_test().on_frame(data(1)).is_err());
        assert!(s
            .on_frame(c(Control::Saved {
                i: 0,
                name: "a".into()
            }))
            .is_err());
    }

    #[test]
    fn resume_decisions() {
        let other = Sha256([2; 32]);
        assert_eq!(resume_from(10, 4, &H, Some(&H)), 4);
        assert_eq!(resume_from(10, 10, &H, Some(&H)), 10);
        // the source changed: its prefix hashes differently
        assert_eq!(resume_from(10, 4, &H, Some(&other)), 0);
        // the source is shorter now than what the receiver has
        assert_eq!(resume_from(3, 4, &H, None), 0);
        assert_eq!(resume_from(3, 4, &H, Some(&H)), 0);
    }

    impl Sender {
        fn clone_for_test(&self) -> Sender {
            Sender {
                entries: self.entries.clone(),
                phase: self.phase,
                resume_left: self.resume_left,
                resume: self.resume.clone(),
                ended: self.ended.clone(),
                saved: self.saved.clone(),
                done_sent: self.done_sent,
            }
        }
    }
}
