//! Receive-folder rules: what a peer-given relative path may be, and where it lands.
//!
//! A peer names each entry of an offer with a relative path (`photos/2024/a.jpg`, `/` as
//! the only separator). [`check_path`] turns it into a [`RelPath`] (a list of safe
//! names) or says exactly what is wrong; nothing else reaches the filesystem. The rules:
//!
//! * not empty, no leading `/` (absolute), no `\` (a Windows separator that would become
//!   part of a name here and a separator there), no drive letter (`C:...`), no empty
//!   component (`a//b`, trailing `/`), no `.` or `..` component;
//! * no NUL, no control character (C0, DEL, C1: escape sequences that would reach a
//!   terminal when the name is shown), no bidi override or isolate (a name that reads
//!   differently from what it is);
//! * a name at most [`MAX_NAME_BYTES`] bytes: filesystems take 255, and the receiver
//!   needs room for its partial-file name (`.NAME.qrchat-part`) and for ` (NNNN)` when it
//!   picks a free name; a path at most [`MAX_PATH_BYTES`] bytes and [`MAX_DEPTH`] names;
//! * no name ending in [`PART_SUFFIX`]: those are the receiver's own partial files.
//!
//! Windows-reserved names (`CON`, `aux.c`, ...) are allowed: qrchat receives on Linux and
//! macOS where they are ordinary names (the Linux kernel tree has an `aux.c`), and
//! refusing them would refuse real folders.
//!
//! Within one offer, [`PathSet`] refuses a path given twice, a path that is both a file
//! and a folder, and names that differ only in case (`Photo.jpg` and `photo.jpg`), which
//! would collide on a case-insensitive filesystem (macOS, a USB stick).
//!
//! On disk ([`prepare_parent`], [`free_name`]): folders are created one level at a time
//! and an existing folder is merged into, but a symbolic link on the way is never
//! followed and a file where a folder should be is an error. Files are never
//! overwritten: a taken `name.ext` becomes `name (1).ext`, `name (2).ext`, ... The
//! receive folder itself may be a symlink (the user chose it). Races with a local process
//! that swaps folders for symlinks while we write are out of scope: the peer is remote.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Longest name (one path component), in bytes of UTF-8.
pub const MAX_NAME_BYTES: usize = 200;
/// Longest relative path, in bytes of UTF-8.
pub const MAX_PATH_BYTES: usize = 4096;
/// Most names in one relative path.
pub const MAX_DEPTH: usize = 64;
/// The receiver's partial files end with this (`.NAME.qrchat-part`).
pub const PART_SUFFIX: &str = ".qrchat-part";
/// How many `name (N).ext` are tried before giving up.
pub const MAX_FREE_NAME_TRIES: u32 = 9999;

/// Why a peer-given path is refused. One variant per rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("empty path")]
    Empty,
    #[error("absolute path (starts with /)")]
    Absolute,
    #[error("drive letter in path ({0}:)")]
    DriveLetter(char),
    #[error("backslash in path")]
    Backslash,
    #[error("empty name in path (// or a trailing /)")]
    EmptyComponent,
    #[error("'.' or '..' in path")]
    DotComponent,
    #[error("NUL byte in path")]
    Nul,
    #[error("control character U+{0:04X} in path")]
    Control(u32),
    #[error("bidirectional-text control U+{0:04X} in path")]
    Bidi(u32),
    #[error("name too long ({len} bytes; the limit is {max})")]
    NameTooLong { len: usize, max: usize },
    #[error("path too long ({len} bytes; the limit is {max})")]
    PathTooLong { len: usize, max: usize },
    #[error("path too deep ({depth} names; the limit is {max})")]
    TooDeep { depth: usize, max: usize },
    #[error("name ends in {PART_SUFFIX}, reserved for partial files")]
    ReservedSuffix,
    #[error("{0:?} is offered twice")]
    Duplicate(String),
    #[error("{0:?} is offered both as a file and as a folder")]
    FileAndFolder(String),
    #[error("{0:?} and {1:?} differ only in case")]
    CaseCollision(String, String),
}

/// A checked relative path: each name is safe to join onto the receive folder.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RelPath(Vec<String>);

impl RelPath {
    pub fn names(&self) -> &[String] {
        &self.0
    }
    /// The last name.
    pub fn file_name(&self) -> &str {
        self.0.last().map(String::as_str).unwrap_or("")
    }
    /// The folders above the last name.
    pub fn parents(&self) -> &[String] {
        &self.0[..self.0.len().saturating_sub(1)]
    }
    /// `a/b/c`, as offered.
    pub fn as_string(&self) -> String {
        self.0.join("/")
    }
    /// The path under `root` (no filesystem access).
    pub fn under(&self, root: &Path) -> PathBuf {
        let mut p = root.to_path_buf();
        for n in &self.0 {
            p.push(n);
        }
        p
    }
}

impl std::fmt::Display for RelPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.as_string())
    }
}

/// Check one peer-given relative path.
pub fn check_path(raw: &str) -> Result<RelPath, PathError> {
    if raw.is_empty() {
        return Err(PathError::Empty);
    }
    if raw.len() > MAX_PATH_BYTES {
        return Err(PathError::PathTooLong {
            len: raw.len(),
            max: MAX_PATH_BYTES,
        });
    }
    for c in raw.chars() {
        match c {
            '\0' => return Err(PathError::Nul),
            '\u{1}'..='\u{1f}' | '\u{7f}'..='\u{9f}' => return Err(PathError::Control(c as u32)),
            '\u{202a}'..='\u{202e}'
            | '\u{2066}'..='\u{2069}'
            | '\u{200e}'
            | '\u{200f}'
            | '\u{061c}' => return Err(PathError::Bidi(c as u32)),
            '\\' => return Err(PathError::Backslash),
            _ => {}
        }
    }
    if raw.starts_with('/') {
        return Err(PathError::Absolute);
    }
    let b = raw.as_bytes();
    if b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':' {
        return Err(PathError::DriveLetter(b[0] as char));
    }
    let names: Vec<&str> = raw.split('/').collect();
    if names.len() > MAX_DEPTH {
        return Err(PathError::TooDeep {
            depth: names.len(),
            max: MAX_DEPTH,
        });
    }
    let mut out = Vec::with_capacity(names.len());
    for n in names {
        if n.is_empty() {
            return Err(PathError::EmptyComponent);
        }
        if n == "." || n == ".." {
            return Err(PathError::DotComponent);
        }
        if n.len() > MAX_NAME_BYTES {
            return Err(PathError::NameTooLong {
                len: n.len(),
                max: MAX_NAME_BYTES,
            });
        }
        if n.ends_with(PART_SUFFIX) {
            return Err(PathError::ReservedSuffix);
        }
        out.push(n.to_string());
    }
    Ok(RelPath(out))
}

/// The paths of one offer so far: refuses duplicates, file/folder clashes and names that
/// differ only in case.
#[derive(Debug, Default)]
pub struct PathSet {
    /// lowercased path -> (path as given, is a folder, listed itself rather than
    /// implied by a path under it)
    seen: HashMap<String, (String, bool, bool)>,
}

impl PathSet {
    pub fn new() -> PathSet {
        PathSet::default()
    }

    /// Add an entry (`dir`: a folder). Its parent folders are added as folders.
    pub fn add(&mut self, path: &RelPath, dir: bool) -> Result<(), PathError> {
        let names = path.names();
        // check everything first, then record, so a refused entry leaves no trace
        let mut pending = Vec::with_capacity(names.len());
        for i in 1..=names.len() {
            let exact = names[..i].join("/");
            let is_dir = i < names.len() || dir;
            let lower = exact.to_lowercase();
            let last = i == names.len();
            match self.seen.get(&lower) {
                Some((orig, _, _)) if *orig != exact => {
                    return Err(PathError::CaseCollision(orig.clone(), exact));
                }
                Some((_, was_dir, _)) if *was_dir != is_dir => {
                    return Err(PathError::FileAndFolder(exact));
                }
                Some((_, _, true)) if last => return Err(PathError::Duplicate(exact)),
                Some(_) if !last => {}
                _ => pending.push((lower, (exact, is_dir, last))),
            }
        }
        self.seen.extend(pending);
        Ok(())
    }
}

/// Why a checked path cannot be placed in the receive folder.
#[derive(Debug, thiserror::Error)]
pub enum PlaceError {
    #[error("{0} is a symbolic link in the receive folder; not following it")]
    Symlink(PathBuf),
    #[error("{0} is in the way: it is not a folder")]
    NotAFolder(PathBuf),
    #[error("no free name for {0} (tried {MAX_FREE_NAME_TRIES})")]
    NoFreeName(PathBuf),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl PlaceError {
    pub fn io_kind(&self) -> Option<std::io::ErrorKind> {
        match self {
            PlaceError::Io { source, .. } => Some(source.kind()),
            _ => None,
        }
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> PlaceError + '_ {
    move |source| PlaceError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Walk `names` down from `root`, one folder at a time, never following a symlink.
/// With `create`, missing folders are made; without, a missing one ends the walk with
/// `Ok(None)`. Returns the folder reached.
pub fn walk_folders(
    root: &Path,
    names: &[String],
    create: bool,
) -> Result<Option<PathBuf>, PlaceError> {
    let mut p = root.to_path_buf();
    for n in names {
        p.push(n);
        match std::fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => return Err(PlaceError::Symlink(p)),
            Ok(m) if m.is_dir() => {}
            Ok(_) => return Err(PlaceError::NotAFolder(p)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if !create {
                    return Ok(None);
                }
                match std::fs::create_dir(&p) {
                    Ok(()) => {}
                    // made meanwhile (by another transfer): check it again
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                        let m = std::fs::symlink_metadata(&p).map_err(io_err(&p))?;
                        if m.file_type().is_symlink() {
                            return Err(PlaceError::Symlink(p));
                        }
                        if !m.is_dir() {
                            return Err(PlaceError::NotAFolder(p));
                        }
                    }
                    Err(e) => return Err(io_err(&p)(e)),
                }
            }
            Err(e) => return Err(io_err(&p)(e)),
        }
    }
    Ok(Some(p))
}

/// The folder an entry goes in, created as needed (see [`walk_folders`]).
pub fn prepare_parent(root: &Path, path: &RelPath) -> Result<PathBuf, PlaceError> {
    Ok(walk_folders(root, path.parents(), true)?.unwrap_or_else(|| root.to_path_buf()))
}

/// Where the partial file of `name` lives in `folder`: `.NAME.qrchat-part`.
pub fn part_path(folder: &Path, name: &str) -> PathBuf {
    folder.join(format!(".{name}{PART_SUFFIX}"))
}

/// `name` with ` (n)` before its extension: `a.txt` -> `a (1).txt`, `a.tar.gz` ->
/// `a (1).tar.gz`, `.bashrc` -> `.bashrc (1)`, `notes` -> `notes (1)`.
pub fn numbered(name: &str, n: u32) -> String {
    let split = {
        let lower = name.to_ascii_lowercase();
        let tar = lower.rfind(".tar.").filter(|&i| i > 0);
        match tar {
            Some(i) if !name[i + 5..].contains('.') => Some(i),
            _ => name.rfind('.').filter(|&i| i > 0),
        }
    };
    match split {
        Some(i) => format!("{} ({n}){}", &name[..i], &name[i..]),
        None => format!("{name} ({n})"),
    }
}

/// Is anything (a file, folder, or symlink, even a dangling one) at `p`?
pub fn taken(p: &Path) -> bool {
    std::fs::symlink_metadata(p).is_ok()
}

/// The first of `name`, `name (1)`, `name (2)`, ... not taken in `folder`.
/// (The driver claims it atomically with a hard link, and calls again if it lost a race.)
pub fn free_name(folder: &Path, name: &str) -> Result<PathBuf, PlaceError> {
    let first = folder.join(name);
    if !taken(&first) {
        return Ok(first);
    }
    for n in 1..=MAX_FREE_NAME_TRIES {
        let p = folder.join(numbered(name, n));
        if !taken(&p) {
            return Ok(p);
        }
    }
    Err(PlaceError::NoFreeName(first))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ordinary_paths_pass() {
        for ok in [
            "a.txt",
            "photos/2024/IMG 0001.JPG",
            "ümlaut/日本語.txt",
            ".hidden",
            "a..b",
            "...",
            "meeting 10:30.txt",
            "aux.c",
            "x/CON",
        ] {
            let p = check_path(ok).unwrap_or_else(|e| panic!("{ok:?}: {e}"));
            assert_eq!(p.as_string(), ok);
        }
    }

    #[test]
    fn each_rule_has_its_error() {
        use PathError::*;
        let long_name = "n".repeat(MAX_NAME_BYTES + 1);
        let long_path = vec!["d"; MAX_PATH_BYTES / 2 + 1].join("/");
        let deep = vec!["d"; MAX_DEPTH + 1].join("/");
        let cases: Vec<(&str, PathError)> = vec![
            ("", Empty),
            ("/etc/passwd", Absolute),
            ("C:\\x", Backslash),
            ("C:x", DriveLetter('C')),
            ("c:/windows", DriveLetter('c')),
            ("a\\..\\b", Backslash),
            ("a//b", EmptyComponent),
            ("a/", EmptyComponent),
            ("..", DotComponent),
            ("a/../../b", DotComponent),
            ("./a", DotComponent),
            ("a\0b", Nul),
            ("a\u{1b}[31mb", Control(0x1b)),
            ("a\nb", Control(0x0a)),
            ("a\u{7f}", Control(0x7f)),
            ("a\u{9b}2J", Control(0x9b)),
            ("evil\u{202e}gpj.exe", Bidi(0x202e)),
            (
                &long_name,
                NameTooLong {
                    len: MAX_NAME_BYTES + 1,
                    max: MAX_NAME_BYTES,
                },
            ),
            (
                &long_path,
                PathTooLong {
                    len: long_path.len(),
                    max: MAX_PATH_BYTES,
                },
            ),
            (
                &deep,
                TooDeep {
                    depth: MAX_DEPTH + 1,
                    max: MAX_DEPTH,
                },
            ),
            ("a/.b.qrchat-part", ReservedSuffix),
        ];
        for (raw, want) in cases {
            assert_eq!(check_path(raw), Err(want), "{raw:?}");
        }
    }

    #[test]
    fn one_offer_cannot_collide_with_itself() {
        let mut s = PathSet::new();
        let p = |x: &str| check_path(x).unwrap();
        s.add(&p("Photos/a.jpg"), false).unwrap();
        s.add(&p("Photos"), true).unwrap(); // the folder itself, explicitly
        s.add(&p("Photos/b.jpg"), false).unwrap();
        assert_eq!(
            s.add(&p("photos/c.jpg"), false),
            Err(PathError::CaseCollision("Photos".into(), "photos".into()))
        );
        assert_eq!(
            s.add(&p("Photos/A.JPG"), false),
            Err(PathError::CaseCollision(
                "Photos/a.jpg".into(),
                "Photos/A.JPG".into()
            ))
        );
        assert_eq!(
            s.add(&p("Photos/a.jpg"), false),
            Err(PathError::Duplicate("Photos/a.jpg".into()))
        );
        assert_eq!(
            s.add(&p("Photos/a.jpg/x"), false),
            Err(PathError::FileAndFolder("Photos/a.jpg".into()))
        );
        assert_eq!(
            s.add(&p("Photos"), false),
            Err(PathError::FileAndFolder("Photos".into()))
        );
        // a refused entry leaves no trace
        s.add(&p("Other/x"), false).unwrap();
    }

    #[test]
    fn numbered_names() {
        assert_eq!(numbered("a.txt", 1), "a (1).txt");
        assert_eq!(numbered("a.tar.gz", 2), "a (2).tar.gz");
        assert_eq!(numbered("my.report.pdf", 1), "my.report (1).pdf");
        assert_eq!(numbered(".bashrc", 1), ".bashrc (1)");
        assert_eq!(numbered("notes", 3), "notes (3)");
    }

    #[test]
    fn free_name_never_takes_an_existing_one() {
        let d = tempfile::tempdir().unwrap();
        assert_eq!(
            free_name(d.path(), "a.txt").unwrap(),
            d.path().join("a.txt")
        );
        std::fs::write(d.path().join("a.txt"), "x").unwrap();
        std::fs::write(d.path().join("a (1).txt"), "x").unwrap();
        // a dangling symlink takes a name too
        std::os::unix::fs::symlink("/nonexistent", d.path().join("a (2).txt")).unwrap();
        assert_eq!(
            free_name(d.path(), "a.txt").unwrap(),
            d.path().join("a (3).txt")
        );
    }

    #[test]
    fn symlinks_on_the_way_are_never_followed() {
        let root = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), root.path().join("link")).unwrap();
        let err = prepare_parent(root.path(), &check_path("link/x/file").unwrap()).unwrap_err();
        assert!(matches!(err, PlaceError::Symlink(_)), "{err}");
        assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
        std::fs::write(root.path().join("f"), "x").unwrap();
        let err = prepare_parent(root.path(), &check_path("f/x").unwrap()).unwrap_err();
        assert!(matches!(err, PlaceError::NotAFolder(_)), "{err}");
        // an existing folder is merged into
        std::fs::create_dir(root.path().join("d")).unwrap();
        let p = prepare_parent(root.path(), &check_path("d/e/x").unwrap()).unwrap();
        assert_eq!(p, root.path().join("d/e"));
        assert!(p.is_dir());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        /// No input yields a path outside the folder: every accepted path is a list of
        /// plain names, and joined under a root it stays under that root.
        #[test]
        fn no_input_escapes_the_folder(raw in prop_oneof![
            ".*",
            "[a-zA-Z./\\\\:\\x00-\\x1f\u{202e} ]{0,40}",
            prop::collection::vec(prop_oneof![
                Just("..".to_string()), Just(".".to_string()), Just("".to_string()),
                Just("/".to_string()), Just("C:".to_string()), Just("a".to_string()),
                "[^/]{0,8}"
            ], 0..8).prop_map(|v| v.join("/")),
        ]) {
            if let Ok(p) = check_path(&raw) {
                let root = Path::new("/recv/root");
                let joined = p.under(root);
                prop_assert!(joined.starts_with(root));
                prop_assert!(!p.names().is_empty());
                for n in p.names() {
                    prop_assert!(!n.is_empty() && n != "." && n != "..");
                    prop_assert!(!n.contains('/') && !n.contains('\\') && !n.contains('\0'));
                    prop_assert!(!n.chars().any(|c| c.is_control()));
                    prop_assert!(n.len() <= MAX_NAME_BYTES);
                }
                let comps: Vec<_> = joined.strip_prefix(root).unwrap().components().collect();
                prop_assert_eq!(comps.len(), p.names().len());
                for c in comps {
                    prop_assert!(matches!(c, std::path::Component::Normal(_)));
                }
            }
        }
    }
}
