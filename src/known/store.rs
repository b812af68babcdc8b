//! The known peers: `peers.json` in the data folder, owner-only, changed under a lock
//! (`peers.lock`, flock) so a listening app and a `qrchat forget` in another terminal do
//! not overwrite each other.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::identity::{ensure_dir, write_private, DataDirError};

pub const PEERS_FILE: &str = "peers.json";
const LOCK_FILE: &str = "peers.lock";
/// More would make every probe's trial of tags slow and the file big; nobody pairs by
/// sight with that many computers.
pub const MAX_PEERS: usize = 256;
/// Longest name, in characters.
pub const MAX_NAME_CHARS: usize = 32;
const MAX_FILE_BYTES: u64 = 1 << 20;
/// Last addresses kept per peer (where a probe goes besides the broadcast).
const MAX_ADDRS: usize = 4;

/// One known peer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnownPeer {
    pub name: String,
    /// SHA-256 of its lasting certificate, as seen when paired by sight (hex).
    #[serde(with = "hex32")]
    pub fingerprint: [u8; 32],
    /// My own lasting fingerprint when we paired (the safety number is of the two).
    #[serde(with = "hex32")]
    pub my_fingerprint: [u8; 32],
    /// Agreed over the sight-verified link; keys every later meeting.
    #[serde(with = "hex32")]
    pub secret: [u8; 32],
    /// Unix seconds.
    pub paired: u64,
    pub last_seen: u64,
    /// Where it was last seen (newest first).
    #[serde(default)]
    pub addrs: Vec<IpAddr>,
}

impl KnownPeer {
    /// A peer saved now, from the chat that is open with it (`/save`, `--remember`): paired
    /// and last seen at this moment, at its address of that chat if known.
    pub fn paired_now(
        name: String,
        fingerprint: [u8; 32],
        my_fingerprint: [u8; 32],
        secret: [u8; 32],
        addr: Option<IpAddr>,
    ) -> KnownPeer {
        let now = now_unix();
        KnownPeer {
            name,
            fingerprint,
            my_fingerprint,
            secret,
            paired: now,
            last_seen: now,
            addrs: addr.into_iter().collect(),
        }
    }

    /// The safety number both sides saw when they paired by sight.
    pub fn safety_number(&self) -> String {
        crate::signal::sas(&self.my_fingerprint, &self.fingerprint)
    }

    /// "2026-12-06" of the pairing, local time.
    pub fn paired_on(&self) -> String {
        day(self.paired)
    }

    pub fn last_seen_on(&self) -> String {
        day(self.last_seen)
    }
}

fn day(unix: u64) -> String {
    use chrono::{Local, TimeZone};
    match Local.timestamp_opt(unix as i64, 0).single() {
        Some(t) => t.format("%Y-%m-%d").to_string(),
        None => "?".into(),
    }
}

pub fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Dir(#[from] DataDirError),
    #[error("cannot read or write {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is damaged ({why}); move it away to start a new list of known peers")]
    Damaged { path: PathBuf, why: String },
    #[error("{0:?} cannot be a name: use 1 to {MAX_NAME_CHARS} letters, digits, '-', '_' or '.'")]
    BadName(String),
    #[error(
        "no known peer is called {name:?} ({known}); pair by code first, with --remember {name}"
    )]
    Unknown { name: String, known: String },
    #[error("already {MAX_PEERS} known peers: forget one first (qrchat forget NAME)")]
    Full,
}

/// A name is a handle typed on the command line: letters (any script), digits, `-_.`.
pub fn check_name(name: &str) -> Result<String, StoreError> {
    let n = name.trim();
    let ok = !n.is_empty()
        && n.chars().count() <= MAX_NAME_CHARS
        && n.chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !n.starts_with('-');
    if ok {
        Ok(n.to_owned())
    } else {
        Err(StoreError::BadName(name.to_owned()))
    }
}

/// The known peers as read at one moment.
#[derive(Debug, Clone, Default)]
pub struct Store {
    pub peers: Vec<KnownPeer>,
}

#[derive(Serialize, Deserialize)]
struct File {
    version: u32,
    peers: Vec<KnownPeer>,
}

impl Store {
    /// Read the list (none yet: empty).
    pub fn load(dir: &Path) -> Result<Store, StoreError> {
        let path = dir.join(PEERS_FILE);
        let io = |source| StoreError::Io {
            path: path.clone(),
            source,
        };
        let meta = match std::fs::metadata(&path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Store::default()),
            Err(e) => return Err(io(e)),
        };
        if meta.len() > MAX_FILE_BYTES {
            return Err(StoreError::Damaged {
                path,
                why: "too big".into(),
            });
        }
        let text = std::fs::read_to_string(&path).map_err(io)?;
        let file: File = serde_json::from_str(&text).map_err(|e| StoreError::Damaged {
            path: path.clone(),
            why: e.to_string(),
        })?;
        Ok(Store { peers: file.peers })
    }

    /// Change the list under the lock: read, `f`, write back.
    pub fn update<R>(
        dir: &Path,
        f: impl FnOnce(&mut Vec<KnownPeer>) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        ensure_dir(dir)?;
        let lock_path = dir.join(LOCK_FILE);
        let io = |path: &Path, source| StoreError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut opts = std::fs::OpenOptions::new();
        opts.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let lock = opts.open(&lock_path).map_err(|e| io(&lock_path, e))?;
        rustix::fs::flock(&lock, rustix::fs::FlockOperation::LockExclusive)
            .map_err(|e| io(&lock_path, e.into()))?;
        let mut store = Store::load(dir)?;
        let r = f(&mut store.peers)?;
        let path = dir.join(PEERS_FILE);
        let text = serde_json::to_string_pretty(&File {
            version: 1,
            peers: store.peers,
        })
        .map_err(|e| io(&path, std::io::Error::other(e)))?;
        write_private(&path, text.as_bytes()).map_err(|e| io(&path, e))?;
        Ok(r)
    }

    /// The peer called `name` (names compare case-insensitively).
    pub fn find(&self, name: &str) -> Result<&KnownPeer, StoreError> {
        self.peers
            .iter()
            .find(|p| p.name.to_lowercase() == name.trim().to_lowercase())
            .ok_or_else(|| StoreError::Unknown {
                name: name.trim().to_owned(),
                known: if self.peers.is_empty() {
                    "none yet".into()
                } else {
                    format!(
                        "known: {}",
                        self.peers
                            .iter()
                            .map(|p| p.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                },
            })
    }
}

/// Keep `peer` (one entry per name and one per fingerprint: an earlier entry with either is
/// replaced). Returns a sentence for each entry replaced.
pub fn remember(dir: &Path, peer: KnownPeer) -> Result<Vec<String>, StoreError> {
    Store::update(dir, |peers| {
        let mut notes = Vec::new();
        peers.retain(|p| {
            let same_name = p.name.to_lowercase() == peer.name.to_lowercase();
            if same_name && p.fingerprint != peer.fingerprint {
                notes.push(format!(
                    "the earlier {} (paired on {}) was another device: replaced",
                    p.name,
                    p.paired_on()
                ));
            } else if !same_name && p.fingerprint == peer.fingerprint {
                notes.push(format!(
                    "this device was known as {}: now {}",
                    p.name, peer.name
                ));
            }
            !same_name && p.fingerprint != peer.fingerprint
        });
        if peers.len() >= MAX_PEERS {
            return Err(StoreError::Full);
        }
        peers.push(peer);
        Ok(notes)
    })
}

/// Forget `name`; Err(Unknown) if no such peer.
pub fn forget(dir: &Path, name: &str) -> Result<KnownPeer, StoreError> {
    Store::update(dir, |peers| {
        let key = name.trim().to_lowercase();
        match peers.iter().position(|p| p.name.to_lowercase() == key) {
            Some(i) => Ok(peers.remove(i)),
            None => Err(Store {
                peers: peers.clone(),
            }
            .find(name)
            .map(|_| ())
            .unwrap_err()),
        }
    })
}

/// Note that the peer with this fingerprint was seen now, at `addr`.
pub fn seen(dir: &Path, fingerprint: &[u8; 32], addr: Option<IpAddr>) -> Result<(), StoreError> {
    Store::update(dir, |peers| {
        if let Some(p) = peers.iter_mut().find(|p| &p.fingerprint == fingerprint) {
            p.last_seen = now_unix();
            if let Some(a) = addr {
                p.addrs.retain(|x| *x != a);
                p.addrs.insert(0, a);
                p.addrs.truncate(MAX_ADDRS);
            }
        }
        Ok(())
    })
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

mod hex32 {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::hex(v))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let text = String::deserialize(d)?;
        let bad = || serde::de::Error::custom("expected 64 hex digits");
        if text.len() != 64 || !text.is_ascii() {
            return Err(bad());
        }
        let mut out = [0u8; 32];
        for (i, o) in out.iter_mut().enumerate() {
            *o = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(name: &str, fp: u8) -> KnownPeer {
        KnownPeer {
            name: name.into(),
            fingerprint: [fp; 32],
            my_fingerprint: [9; 32],
            secret: [fp.wrapping_add(1); 32],
            paired: 1_765_000_000,
            last_seen: 1_765_000_000,
            addrs: vec!["10.0.0.2".parse().unwrap()],
        }
    }

    #[test]
    fn names() {
        assert_eq!(check_name(" bob ").unwrap(), "bob");
        assert!(check_name("Zoë-laptop_2.home").is_ok());
        for bad in ["", "a b", "-rf", "x/y", "a\u{1b}[2J", &"x".repeat(33)] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn remember_find_forget_round_trip() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        assert!(Store::load(dir).unwrap().peers.is_empty());
        remember(dir, peer("bob", 1)).unwrap();
        remember(dir, peer("carol", 2)).unwrap();
        let s = Store::load(dir).unwrap();
        assert_eq!(s.find("BOB").unwrap().fingerprint, [1; 32]);
        assert_eq!(s.find("bob").unwrap().secret, [2; 32]);
        // the same device under a new name: one entry, the new name
        let notes = remember(dir, peer("robert", 1)).unwrap();
        assert!(notes[0].contains("known as bob"), "{notes:?}");
        let s = Store::load(dir).unwrap();
        assert!(s.find("bob").is_err());
        assert_eq!(s.peers.len(), 2);
        let gone = forget(dir, "robert").unwrap();
        assert_eq!(gone.fingerprint, [1; 32]);
        let err = forget(dir, "robert").unwrap_err().to_string();
        assert!(err.contains("carol"), "{err}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join(PEERS_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn seen_moves_the_address_first() {
        let tmp = tempfile::tempdir().unwrap();
        remember(tmp.path(), peer("bob", 1)).unwrap();
        seen(tmp.path(), &[1; 32], Some("10.0.0.7".parse().unwrap())).unwrap();
        let s = Store::load(tmp.path()).unwrap();
        let addrs = &s.find("bob").unwrap().addrs;
        assert_eq!(addrs[0].to_string(), "10.0.0.7");
        assert_eq!(addrs.len(), 2);
    }

    #[test]
    fn a_damaged_file_is_said_not_overwritten() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join(PEERS_FILE), "{not json").unwrap();
        let err = Store::load(tmp.path()).unwrap_err().to_string();
        assert!(err.contains("damaged"), "{err}");
        assert!(remember(tmp.path(), peer("bob", 1)).is_err());
        assert_eq!(
            std::fs::read_to_string(tmp.path().join(PEERS_FILE)).unwrap(),
            "{not json"
        );
    }
}
