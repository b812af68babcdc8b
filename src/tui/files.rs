//! Paths as a shell user types them, for `/send`: words with quotes and backslash escapes,
//! `~` expanded, Tab completion against the file system, and a paste that is nothing but
//! paths (a file dropped onto the terminal) recognised as such.
//!
//! Splitting and quoting are pure; completion, the drop check and [`describe`] look at the
//! file system (a directory listing or a few `stat`s: quick enough for a key press).

use std::path::{Path, PathBuf};

use crate::transfer::words::path_name;

/// The chat command that sends files, with its space.
pub const SEND: &str = "/send ";

/// Most paths a paste may hold to be taken as dropped files (more is text).
const MAX_DROPPED: usize = 100;
/// A paste longer than this is text, not dropped files.
const MAX_DROP_TEXT: usize = 64 * 1024;

/// The words of a command line, unquoted; and the quote still open at the end, if any.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Words {
    pub words: Vec<String>,
    /// The text ends inside this quote (`'` or `"`).
    pub open_quote: Option<char>,
    /// The text ends after a word separator (the next word has not begun).
    pub ended: bool,
}

/// Split as a POSIX shell does (no expansion other than what [`expand`] does later):
/// `'single'` keeps everything, `"double"` takes `\"`, `\\`, `\$` and `` \` ``, and a
/// backslash outside quotes keeps the next character as it is.
pub fn split(text: &str) -> Words {
    let mut out = Words::default();
    let mut word: Option<String> = None;
    let mut chars = text.chars().peekable();
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        match quote {
            Some('\'') => {
                if c == '\'' {
                    quote = None;
                } else {
                    word.get_or_insert_default().push(c);
                }
            }
            Some(_) => match c {
                '"' => quote = None,
                '\\' if matches!(chars.peek(), Some('"' | '\\' | '$' | '`')) => {
                    let n = chars.next().unwrap_or('\\');
                    word.get_or_insert_default().push(n);
                }
                c => word.get_or_insert_default().push(c),
            },
            None => match c {
                '\'' | '"' => {
                    quote = Some(c);
                    word.get_or_insert_default();
                }
                '\\' => {
                    let w = word.get_or_insert_default();
                    match chars.next() {
                        // A backslash-newline joins lines.
                        Some('\n') => {}
                        Some(n) => w.push(n),
                        None => w.push('\\'),
                    }
                }
                c if c.is_whitespace() => {
                    if let Some(w) = word.take() {
                        out.words.push(w);
                    }
                }
                c => word.get_or_insert_default().push(c),
            },
        }
    }
    out.ended = word.is_none();
    if let Some(w) = word {
        out.words.push(w);
    }
    out.open_quote = quote;
    out
}

/// `~` and `~/...` become the home directory (other `~user` forms are left as typed).
pub fn expand(word: &str, home: Option<&Path>) -> PathBuf {
    match (home, word) {
        (Some(h), "~") => h.to_path_buf(),
        (Some(h), w) if w.starts_with("~/") => h.join(&w[2..]),
        _ => PathBuf::from(word),
    }
}

/// A path quoted for a shell-like command line: as is when nothing needs quoting, else in
/// single quotes (a `'` inside as `'\''`).
pub fn quote(path: &str) -> String {
    if !path.is_empty() && path.chars().all(plain_char) {
        return path.to_string();
    }
    format!("'{}'", path.replace('\'', r"'\''"))
}

fn plain_char(c: char) -> bool {
    c.is_alphanumeric() || "-_./,+:@%=^".contains(c)
}

/// Text to add inside a word being typed, escaped for where the word stands.
fn escape(s: &str, quote: Option<char>) -> String {
    match quote {
        Some('\'') => s.replace('\'', r"'\''"),
        Some(_) => {
            let mut out = String::new();
            for c in s.chars() {
                if matches!(c, '"' | '\\' | '$' | '`') {
                    out.push('\\');
                }
                out.push(c);
            }
            out
        }
        None => {
            let mut out = String::new();
            for c in s.chars() {
                if !plain_char(c) {
                    out.push('\\');
                }
                out.push(c);
            }
            out
        }
    }
}

/// What `/send ARGS` names: the paths, `~` expanded, relative ones against `cwd`.
pub fn send_args(args: &str, home: Option<&Path>, cwd: &Path) -> Result<Vec<PathBuf>, String> {
    let w = split(args);
    if let Some(q) = w.open_quote {
        return Err(format!("a {q} quote is not closed"));
    }
    if w.words.is_empty() {
        return Err("/send needs a file or folder: /send PATH... (Tab completes)".into());
    }
    Ok(w.words
        .iter()
        .map(|p| {
            let p = expand(p, home);
            if p.is_absolute() {
                p
            } else {
                cwd.join(p)
            }
        })
        .collect())
}

/// The paths among `paths` that are not there.
pub fn missing(paths: &[PathBuf]) -> Vec<&PathBuf> {
    paths
        .iter()
        .filter(|p| std::fs::symlink_metadata(p).is_err())
        .collect()
}

/// What a Tab press does to the composer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Completion {
    /// Nothing to complete here (not a `/send` line, or nothing matches).
    Nothing,
    /// Append this to the composer's text.
    Append(String),
    /// Several names fit and none is longer than what is typed: show them (folders end
    /// in `/`).
    Candidates(Vec<String>),
}

/// Tab on the composer's `text` (the cursor at its end): the last word of a `/send` line
/// completed to the longest common prefix of the names that fit; a folder gets a `/`, a
/// single file a space (and its quote closed). Hidden names only when the typed part
/// starts with a dot.
pub fn complete(text: &str, home: Option<&Path>, cwd: &Path) -> Completion {
    let Some(args) = text.strip_prefix(SEND) else {
        return Completion::Nothing;
    };
    let w = split(args);
    let partial = if w.ended {
        String::new()
    } else {
        w.words.last().cloned().unwrap_or_default()
    };
    if partial == "~" && home.is_some() {
        return Completion::Append("/".into());
    }
    let typed = expand(&partial, home).to_string_lossy().into_owned();
    let (dir, prefix) = match typed.rsplit_once('/') {
        Some(("", name)) => (PathBuf::from("/"), name.to_string()),
        Some((dir, name)) => (PathBuf::from(dir), name.to_string()),
        None => (PathBuf::new(), typed),
    };
    let dir = if dir.as_os_str().is_empty() {
        cwd.to_path_buf()
    } else if dir.is_absolute() {
        dir
    } else {
        cwd.join(dir)
    };
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Completion::Nothing;
    };
    let mut names: Vec<(String, bool)> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            if !name.starts_with(&prefix) || (name.starts_with('.') && !prefix.starts_with('.')) {
                return None;
            }
            let is_dir = std::fs::metadata(e.path()).is_ok_and(|m| m.is_dir());
            Some((name, is_dir))
        })
        .collect();
    names.sort();
    match names.as_slice() {
        [] => Completion::Nothing,
        [(name, is_dir)] => {
            let mut add = escape(&name[prefix.len()..], w.open_quote);
            if *is_dir {
                add.push('/');
            } else {
                if let Some(q) = w.open_quote {
                    add.push(q);
                }
                add.push(' ');
            }
            Completion::Append(add)
        }
        many => {
            let common = common_prefix(many.iter().map(|(n, _)| n.as_str()));
            if common.len() > prefix.len() {
                Completion::Append(escape(&common[prefix.len()..], w.open_quote))
            } else {
                Completion::Candidates(
                    many.iter()
                        .map(|(n, d)| if *d { format!("{n}/") } else { n.clone() })
                        .collect(),
                )
            }
        }
    }
}

fn common_prefix<'a>(mut names: impl Iterator<Item = &'a str>) -> &'a str {
    let Some(first) = names.next() else {
        return "";
    };
    let mut end = first.len();
    for n in names {
        end = first
            .char_indices()
            .zip(n.chars())
            .take_while(|((_, a), b)| a == b)
            .last()
            .map_or(0, |((i, a), _)| i + a.len_utf8())
            .min(end);
    }
    &first[..end]
}

/// A paste that is nothing but existing absolute paths (one or more files dropped onto
/// the terminal: quoted, backslash-escaped, or `file://` URLs, on one line or several):
/// those paths. Anything else is text (`None`).
pub fn dropped(text: &str, home: Option<&Path>) -> Option<Vec<PathBuf>> {
    let text = text.trim();
    if text.is_empty() || text.len() > MAX_DROP_TEXT {
        return None;
    }
    let mut paths = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let tokens: Vec<String> = if line.starts_with("file://") {
            line.split_whitespace().map(str::to_string).collect()
        } else {
            let w = split(line);
            if w.open_quote.is_some() {
                return None;
            }
            w.words
        };
        for t in tokens {
            let p = if t.starts_with("file://") {
                file_url(&t)?
            } else {
                expand(&t, home)
            };
            // A bare `/` is text someone typed, not a dropped file.
            if !p.is_absolute() || p.parent().is_none() {
                return None;
            }
            paths.push(p);
            if paths.len() > MAX_DROPPED {
                return None;
            }
        }
    }
    if paths.is_empty() || !missing(&paths).is_empty() {
        return None;
    }
    Some(paths)
}

/// `file:///a%20b` (or `file://localhost/a%20b`) as a path; None for other hosts or bad
/// escapes.
pub fn file_url(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("file://")?;
    let rest = rest.strip_prefix("localhost").unwrap_or(rest);
    if !rest.starts_with('/') {
        return None;
    }
    let bytes = rest.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStringExt;
        Some(PathBuf::from(std::ffi::OsString::from_vec(out)))
    }
    #[cfg(not(unix))]
    {
        String::from_utf8(out).ok().map(PathBuf::from)
    }
}

/// What is about to be sent, in a few words: `photo.jpg (2.1 MB)`, `photos/ (a folder)`,
/// `3 items (4.0 MB): a.txt, b/, c.jpg` (sizes of the files named directly; a folder's
/// size is known once its transfer begins).
pub fn describe(paths: &[PathBuf]) -> String {
    let size = |p: &PathBuf| {
        std::fs::metadata(p)
            .ok()
            .filter(|m| m.is_file())
            .map(|m| m.len())
    };
    match paths {
        [p] => match size(p) {
            Some(n) => format!("{} ({})", path_name(p), crate::transfer::human_bytes(n)),
            None => format!("{} (a folder)", path_name(p)),
        },
        many => {
            let names: Vec<String> = many.iter().take(5).map(|p| path_name(p)).collect();
            let more = if many.len() > 5 { ", …" } else { "" };
            let files: u64 = many.iter().filter_map(size).sum();
            format!(
                "{} items ({}{}): {}{more}",
                many.len(),
                crate::transfer::human_bytes(files),
                if many.iter().all(|p| size(p).is_some()) {
                    ""
                } else {
                    " in files, plus folders"
                },
                names.join(", ")
            )
        }
    }
}
