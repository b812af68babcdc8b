//! The file-transfer wire protocol between two qrchat peers.
//!
//! One data channel per transfer, labelled [`LABEL`] (`qrchat-file`), opened by the
//! sender (only ever to a qrchat peer: a browser is never offered files). Reliable and
//! ordered, as SCTP gives it. Control messages are JSON text messages, one object each,
//! tagged by `"t"`; file content travels as binary messages of at most [`MAX_CHUNK`]
//! bytes. S is the sender, R the receiver:
//!
//! ```text
//! S: {"t":"offer","v":1,"count":N,"bytes":B}        N entries, B bytes of content in all
//! S: {"t":"entries","list":[{"path":"photos/a.jpg","kind":"file","size":123,
//!                            "mode":420,"mtime_ns":1700000000000000000}, ...]}
//!                                                    repeated until N entries were listed
//!                                                    (each message <= MAX_TEXT bytes);
//!                                                    entry i is the i-th listed, from 0
//! R: {"t":"decline","reason":"..."}                 and the channel closes; or
//! R: {"t":"accept","resume":K}                      then K resume points, one per file R
//! R: {"t":"resume","i":3,"have":1048576,"sha256":"<hex>"}  already has a part of: its
//!                                                    length and the SHA-256 of that part
//! for each file entry i, in order:
//!   S: {"t":"file","i":3,"from":F}                  F = the resume point's `have` when S's
//!                                                    own first `have` bytes hash the same,
//!                                                    else 0 (the source changed: afresh)
//!   S: <binary> ...                                 exactly size - F bytes in all
//!   S: {"t":"end","i":3,"sha256":"<hex>"}           SHA-256 of the whole file
//!   R: {"t":"saved","i":3,"name":"photos/a (1).jpg"} verified and given its name
//!                                                    (R answers while S sends on)
//! S: {"t":"done"}                                   nothing more; R makes empty folders
//! R: {"t":"done"}                                   everything is saved: S may close
//! either, at any time:
//!   {"t":"cancel","reason":"..."}                   the user stopped it; partials kept
//!   {"t":"error","code":"disk_full","message":"..."} it cannot go on (codes: ErrorCode)
//! ```
//!
//! Directory entries have `"kind":"dir"`, size 0, and no `file` message: R creates them
//! (and so empty folders arrive). Empty files are a `file`, no binary, and an `end`.
//! `mode` is the Unix permission bits (R keeps `rwx` bits, always owner read/write);
//! `mtime_ns` the modification time in ns since 1970 (R sets it on the saved file).
//! `size` and `mtime_ns` identify a file version; the resume check itself is the
//! prefix SHA-256, so a source edited meanwhile is never spliced onto an old part.
//!
//! Decoding ([`decode`]) treats every message as hostile: text over [`MAX_TEXT`] bytes,
//! binary over [`MAX_CHUNK`], unknown `"t"` or fields, a malformed hash, a size over
//! [`MAX_FILE_SIZE`], a reason over [`MAX_REASON`] each give one [`ProtoError`].
//! Sequence rules (what may come when) live in the state machines (`state`).

use bytes::Bytes;
use serde::{Deserialize, Serialize};

/// The data channel label of a transfer.
pub const LABEL: &str = "qrchat-file";
/// Protocol version in the offer.
pub const VERSION: u32 = 1;
/// Largest binary message (file content), and what the sender sends.
pub const MAX_CHUNK: usize = 64 * 1024;
/// Largest control (text) message.
pub const MAX_TEXT: usize = 64 * 1024;
/// Most entries in one offer.
pub const MAX_ENTRIES: u32 = 100_000;
/// Largest file (1 PiB): keeps every sum of sizes far from overflow.
pub const MAX_FILE_SIZE: u64 = 1 << 50;
/// Longest reason or error message, in bytes.
pub const MAX_REASON: usize = 1024;

/// One message on a transfer channel, as the channel carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Msg {
    Text(String),
    Binary(Bytes),
}

/// A file or a folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    File,
    Dir,
}

/// One entry of an offer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// Relative path, `/`-separated; checked by `paths::check_path` on arrival.
    pub path: String,
    pub kind: Kind,
    pub size: u64,
    pub mode: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtime_ns: Option<i64>,
}

/// Why a side cannot go on (sent in an `error` message).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The receiver's disk is full (or over quota).
    DiskFull,
    /// Permission denied (receiver: writing; sender: reading).
    PermissionDenied,
    /// The peer broke the protocol or offered what is refused (e.g. a bad path).
    Protocol,
    /// A file's SHA-256 did not match.
    Verify,
    /// The source file changed while it was being sent.
    SourceChanged,
    /// Any other I/O error.
    Io,
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ErrorCode::DiskFull => "disk full",
            ErrorCode::PermissionDenied => "permission denied",
            ErrorCode::Protocol => "protocol error",
            ErrorCode::Verify => "verification failed",
            ErrorCode::SourceChanged => "source changed",
            ErrorCode::Io => "I/O error",
        })
    }
}

/// A SHA-256 digest; on the wire 64 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Sha256(pub [u8; 32]);

impl std::fmt::Debug for Sha256 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.hex())
    }
}

impl Sha256 {
    pub fn hex(&self) -> String {
        use std::fmt::Write;
        let mut s = String::with_capacity(64);
        for b in self.0 {
            let _ = write!(s, "{b:02x}");
        }
        s
    }
    pub fn from_hex(s: &str) -> Option<Sha256> {
        let b = s.as_bytes();
        if b.len() != 64 {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, pair) in b.chunks(2).enumerate() {
            let d = |c: u8| match c {
                b'0'..=b'9' => Some(c - b'0'),
                b'a'..=b'f' => Some(c - b'a' + 10),
                _ => None,
            };
            out[i] = d(pair[0])? << 4 | d(pair[1])?;
        }
        Some(Sha256(out))
    }
}

impl Serialize for Sha256 {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.hex())
    }
}

impl<'de> Deserialize<'de> for Sha256 {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Sha256::from_hex(&s)
            .ok_or_else(|| serde::de::Error::custom("sha256 is not 64 lowercase hex digits"))
    }
}

/// A control message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case", deny_unknown_fields)]
pub enum Control {
    Offer {
        v: u32,
        count: u32,
        bytes: u64,
    },
    Entries {
        list: Vec<Entry>,
    },
    Accept {
        resume: u32,
    },
    Resume {
        i: u32,
        have: u64,
        sha256: Sha256,
    },
    Decline {
        reason: String,
    },
    File {
        i: u32,
        from: u64,
    },
    End {
        i: u32,
        sha256: Sha256,
    },
    Saved {
        i: u32,
        name: String,
    },
    /// (a struct variant, so that unknown fields are refused as for the others)
    Done {},
    Cancel {
        reason: String,
    },
    Error {
        code: ErrorCode,
        message: String,
    },
}

/// A decoded message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    Control(Control),
    Chunk(Bytes),
}

/// What is wrong with a message from the peer. One variant per wrong input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtoError {
    #[error("control message too long ({len} bytes; the limit is {max})")]
    TextTooLong { len: usize, max: usize },
    #[error("data message too long ({len} bytes; the limit is {max})")]
    ChunkTooLong { len: usize, max: usize },
    #[error("malformed control message: {0}")]
    Malformed(String),
    #[error("unsupported protocol version {0} (this qrchat speaks {VERSION})")]
    Version(u32),
    #[error("offer of {0} entries (the limit is {MAX_ENTRIES})")]
    TooManyEntries(u32),
    #[error("file of {0} bytes (the limit is {MAX_FILE_SIZE})")]
    TooBig(u64),
    #[error("folder entry {0:?} with a size")]
    DirWithSize(String),
    #[error("reason or message too long ({0} bytes; the limit is {MAX_REASON})")]
    ReasonTooLong(usize),
    #[error("empty data message")]
    EmptyChunk,
    // sequence errors, raised by the state machines
    #[error("unexpected {got} {when}")]
    Unexpected {
        got: &'static str,
        when: &'static str,
    },
    #[error("entry {0} does not exist or is not a file")]
    BadIndex(u32),
    #[error("more entries listed than the offer announced ({0})")]
    ExtraEntries(u32),
    #[error("refused path {path:?}: {why}")]
    Path {
        path: String,
        why: crate::transfer::paths::PathError,
    },
    #[error("offer announced {announced} bytes but its files add up to {listed}")]
    TotalMismatch { announced: u64, listed: u64 },
    #[error("more bytes than announced for entry {i} ({size} bytes)")]
    MoreThanAnnounced { i: u32, size: u64 },
    #[error("entry {i} ended at {got} of its {size} bytes")]
    ShortFile { i: u32, got: u64, size: u64 },
    #[error("entry {i} starts at byte {from}; the only resume point offered was {allowed}")]
    BadResumePoint { i: u32, from: u64, allowed: u64 },
    #[error("resume point {have} past the end of entry {i} ({size} bytes)")]
    ResumePastEnd { i: u32, have: u64, size: u64 },
    #[error("entry {0} sent twice")]
    Repeated(u32),
}

impl Control {
    /// Its `"t"`, for errors and logs.
    pub fn name(&self) -> &'static str {
        match self {
            Control::Offer { .. } => "offer",
            Control::Entries { .. } => "entries",
            Control::Accept { .. } => "accept",
            Control::Resume { .. } => "resume",
            Control::Decline { .. } => "decline",
            Control::File { .. } => "file",
            Control::End { .. } => "end",
            Control::Saved { .. } => "saved",
            Control::Done {} => "done",
            Control::Cancel { .. } => "cancel",
            Control::Error { .. } => "error",
        }
    }
}

/// Encode a control message.
pub fn encode(c: &Control) -> Msg {
    Msg::Text(serde_json::to_string(c).expect("control messages always serialize"))
}

/// Cut a reason or message to [`MAX_REASON`] bytes (on a char boundary).
pub fn clip_reason(s: &str) -> String {
    if s.len() <= MAX_REASON {
        return s.to_string();
    }
    let mut end = MAX_REASON;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

/// Decode a message from the peer (see the module docs for what is refused).
pub fn decode(msg: Msg) -> Result<Frame, ProtoError> {
    match msg {
        Msg::Binary(b) => {
            if b.len() > MAX_CHUNK {
                return Err(ProtoError::ChunkTooLong {
                    len: b.len(),
                    max: MAX_CHUNK,
                });
            }
            if b.is_empty() {
                return Err(ProtoError::EmptyChunk);
            }
            Ok(Frame::Chunk(b))
        }
        Msg::Text(t) => {
            if t.len() > MAX_TEXT {
                return Err(ProtoError::TextTooLong {
                    len: t.len(),
                    max: MAX_TEXT,
                });
            }
            let c: Control =
                serde_json::from_str(&t).map_err(|e| ProtoError::Malformed(e.to_string()))?;
            validate(&c)?;
            Ok(Frame::Control(c))
        }
    }
}

fn validate(c: &Control) -> Result<(), ProtoError> {
    match c {
        Control::Offer { v, count, .. } => {
            if *v != VERSION {
                return Err(ProtoError::Version(*v));
            }
            if *count > MAX_ENTRIES {
                return Err(ProtoError::TooManyEntries(*count));
            }
        }
        Control::Entries { list } => {
            for e in list {
                if e.size > MAX_FILE_SIZE {
                    return Err(ProtoError::TooBig(e.size));
                }
                if e.kind == Kind::Dir && e.size != 0 {
                    return Err(ProtoError::DirWithSize(e.path.clone()));
                }
            }
        }
        Control::Resume { have, .. } | Control::File { from: have, .. } => {
            if *have > MAX_FILE_SIZE {
                return Err(ProtoError::TooBig(*have));
            }
        }
        Control::Decline { reason: s }
        | Control::Cancel { reason: s }
        | Control::Error { message: s, .. } => {
            if s.len() > MAX_REASON {
                return Err(ProtoError::ReasonTooLong(s.len()));
            }
        }
        Control::Saved { name, .. } => {
            if name.len() > crate::transfer::paths::MAX_PATH_BYTES + 64 {
                return Err(ProtoError::ReasonTooLong(name.len()));
            }
        }
        Control::Accept { .. } | Control::End { .. } | Control::Done {} => {}
    }
    Ok(())
}

/// Split entries into `entries` messages of at most [`MAX_TEXT`] bytes each.
pub fn entry_messages(entries: &[Entry]) -> Vec<Control> {
    let mut out = Vec::new();
    let mut batch = Vec::new();
    let mut len = 32usize;
    for e in entries {
        let l = serde_json::to_string(e).map(|s| s.len()).unwrap_or(0) + 1;
        if !batch.is_empty() && len + l > MAX_TEXT - 64 {
            out.push(Control::Entries {
                list: std::mem::take(&mut batch),
            });
            len = 32;
        }
        len += l;
        batch.push(e.clone());
    }
    if !batch.is_empty() {
        out.push(Control::Entries { list: batch });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Result<Frame, ProtoError> {
        decode(Msg::Text(s.to_string()))
    }

    #[test]
    fn every_control_message_round_trips() {
        let h = Sha256([0xab; 32]);
        let all = vec![
            Control::Offer {
                v: VERSION,
                count: 2,
                bytes: 10,
            },
            Control::Entries {
                list: vec![
                    Entry {
                        path: "d".into(),
                        kind: Kind::Dir,
                        size: 0,
                        mode: 0o755,
                        mtime_ns: None,
                    },
                    Entry {
                        path: "d/a".into(),
                        kind: Kind::File,
                        size: 10,
                        mode: 0o644,
                        mtime_ns: Some(-5),
                    },
                ],
            },
            Control::Accept { resume: 1 },
            Control::Resume {
                i: 1,
                have: 4,
                sha256: h,
            },
            Control::Decline {
                reason: "no".into(),
            },
            Control::File { i: 1, from: 4 },
            Control::End { i: 1, sha256: h },
            Control::Saved {
                i: 1,
                name: "d/a (1)".into(),
            },
            Control::Done {},
            Control::Cancel { reason: "x".into() },
            Control::Error {
                code: ErrorCode::DiskFull,
                message: "full".into(),
            },
        ];
        for c in all {
            let m = encode(&c);
            assert_eq!(decode(m.clone()), Ok(Frame::Control(c)), "{m:?}");
        }
        assert_eq!(
            text(r#"{"t":"done"}"#),
            Ok(Frame::Control(Control::Done {}))
        );
    }

    #[test]
    fn hostile_messages_each_get_their_error() {
        let hex = "ab".repeat(32);
        let malformed = [
            "",
            "null",
            "[]",
            r#"{"t":"nope"}"#,
            r#"{"t":"done","x":1}"#,
            r#"{"t":"offer","v":1,"count":1}"#,
            r#"{"t":"offer","v":1,"count":1,"bytes":-1}"#,
            r#"{"t":"offer","v":1,"count":1,"bytes":1.5}"#,
            r#"{"t":"offer","v":1,"count":1,"bytes":1,"extra":true}"#,
            r#"{"t":"offer","v":1,"count":1,"bytes":18446744073709551616}"#,
            r#"{"t":"entries","list":[{"path":"a","kind":"link","size":0,"mode":0}]}"#,
            r#"{"t":"entries","list":[{"path":"a","kind":"file","size":0,"mode":0,"uid":0}]}"#,
            r#"{"t":"entries","list":[{"path":7,"kind":"file","size":0,"mode":0}]}"#,
            r#"{"t":"end","i":0,"sha256":"AB"}"#,
            r#"{"t":"error","code":"boom","message":""}"#,
            r#"{"t":"done"} trailing"#,
        ];
        for m in malformed {
            assert!(matches!(text(m), Err(ProtoError::Malformed(_))), "{m:?}");
        }
        // upper-case or short hex is not a hash
        let upper = format!(r#"{{"t":"end","i":0,"sha256":"{}"}}"#, hex.to_uppercase());
        assert!(matches!(text(&upper), Err(ProtoError::Malformed(_))));
        assert_eq!(
            text(r#"{"t":"offer","v":2,"count":1,"bytes":1}"#),
            Err(ProtoError::Version(2))
        );
        assert_eq!(
            text(r#"{"t":"offer","v":1,"count":100001,"bytes":1}"#),
            Err(ProtoError::TooManyEntries(100_001))
        );
        let big = MAX_FILE_SIZE + 1;
        assert_eq!(
            text(&format!(
                r#"{{"t":"entries","list":[{{"path":"a","kind":"file","size":{big},"mode":0}}]}}"#
            )),
            Err(ProtoError::TooBig(big))
        );
        assert_eq!(
            text(r#"{"t":"entries","list":[{"path":"a","kind":"dir","size":3,"mode":0}]}"#),
            Err(ProtoError::DirWithSize("a".into()))
        );
        let long = format!(
            r#"{{"t":"cancel","reason":"{}"}}"#,
            "x".repeat(MAX_REASON + 1)
        );
        assert_eq!(text(&long), Err(ProtoError::ReasonTooLong(MAX_REASON + 1)));
        let huge = "x".repeat(MAX_TEXT + 1);
        assert_eq!(
            text(&huge),
            Err(ProtoError::TextTooLong {
                len: MAX_TEXT + 1,
                max: MAX_TEXT
            })
        );
        assert_eq!(
            decode(Msg::Binary(Bytes::from(vec![0u8; MAX_CHUNK + 1]))),
            Err(ProtoError::ChunkTooLong {
                len: MAX_CHUNK + 1,
                max: MAX_CHUNK
            })
        );
        assert_eq!(
            decode(Msg::Binary(Bytes::new())),
            Err(ProtoError::EmptyChunk)
        );
        assert!(decode(Msg::Binary(Bytes::from(vec![0u8; MAX_CHUNK]))).is_ok());
    }

    #[test]
    fn entry_batches_fit_a_message() {
        let entries: Vec<Entry> = (0..5000)
            .map(|i| Entry {
                path: format!("folder/{}/{i}", "n".repeat(100)),
                kind: Kind::File,
                size: i,
                mode: 0o644,
                mtime_ns: Some(1_700_000_000_000_000_000),
            })
            .collect();
        let batches = entry_messages(&entries);
        assert!(batches.len() > 1);
        let mut back = Vec::new();
        for b in batches {
            let m = encode(&b);
            let Msg::Text(t) = &m else { unreachable!() };
            assert!(t.len() <= MAX_TEXT, "{}", t.len());
            match decode(m).unwrap() {
                Frame::Control(Control::Entries { list }) => back.extend(list),
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(back, entries);
    }

    #[test]
    fn clip_keeps_char_boundaries() {
        let s = "é".repeat(MAX_REASON);
        let c = clip_reason(&s);
        assert!(c.len() <= MAX_REASON && c.chars().all(|c| c == 'é'));
    }
}
