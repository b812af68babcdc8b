//! What a transfer says to the user, in one wording for the TUI and headless: its name,
//! the offer, the progress line, and the line that says how it ended. Peer text is
//! sanitised here (names, paths), so no front end prints it raw.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::proto::{Entry, Kind};
use super::{
    human_bytes, Direction, OfferSummary, Progress, ReceiveReport, SendReport, TransferError,
};

fn count(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

fn sanitize(s: &str) -> String {
    crate::chat::sanitize_line(s)
}

/// `0:07`, `12:30`, `1:02:03`.
pub fn clock(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

/// A path's last part for display (`photo.jpg`, `photos/`).
pub fn path_name(p: &Path) -> String {
    let name = p
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| p.display().to_string());
    let name = sanitize(&name);
    if std::fs::metadata(p).is_ok_and(|m| m.is_dir()) {
        format!("{name}/")
    } else {
        name
    }
}

/// The name of a transfer of `paths` (the sender's view): `photo.jpg`, `photos/`,
/// `3 items`.
pub fn paths_name(paths: &[PathBuf]) -> String {
    match paths {
        [one] => path_name(one),
        many => format!("{} items", many.len()),
    }
}

/// The name of a transfer of these entries, as both sides' progress reports give it:
/// the same as [`paths_name`] and [`offer_name`] give (`photo.jpg`, `photos/`,
/// `3 items`), so a transfer has one name from its first line to its last.
pub fn entries_name(entries: &[Entry]) -> String {
    let top: Vec<&Entry> = entries.iter().filter(|e| !e.path.contains('/')).collect();
    match top.as_slice() {
        [one] if one.kind == Kind::Dir => format!("{}/", sanitize(&one.path)),
        [one] => sanitize(&one.path),
        many => format!("{} items", many.len()),
    }
}

/// The name of an offer (the receiver's view), as [`paths_name`] names it on the other
/// side: `photo.jpg`, `photos/`, `3 items`.
pub fn offer_name(s: &OfferSummary) -> String {
    match s.names.as_slice() {
        [one] => {
            let n = sanitize(one);
            if s.dirs > 0 {
                format!("{n}/")
            } else {
                n
            }
        }
        many => format!("{} items", many.len()),
    }
}

/// `photo.jpg (2.1 MB, 1 file)`, `photos/ (40 MB, 12 files, 3 folders)`.
pub fn offer_words(s: &OfferSummary) -> String {
    let mut what = vec![human_bytes(s.bytes), count(s.files, "file", "files")];
    if s.dirs > 0 {
        what.push(count(s.dirs, "folder", "folders"));
    }
    let names = if s.names.len() > 1 {
        let shown: Vec<String> = s.names.iter().take(3).map(|n| sanitize(n)).collect();
        let more = s.names.len().saturating_sub(3);
        let more = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        };
        format!(": {}{more}", shown.join(", "))
    } else {
        String::new()
    };
    format!("{} ({}){names}", offer_name(s), what.join(", "))
}

/// The progress line of transfer `name`:
/// `sending photo.jpg: 1.2 MB of 4.0 MB (30%), 3.1 MB/s, 0:01 left · photos/b.jpg`; before
/// the first report `… starting`; while the link is interrupted `… paused: the link is
/// interrupted`. No rate (nor time left) until there is one to tell (see [`Progress`]).
pub fn progress_line(
    direction: Direction,
    name: &str,
    p: Option<&Progress>,
    paused: bool,
) -> String {
    let verb = match direction {
        Direction::Send => "sending",
        Direction::Receive => "receiving",
    };
    let Some(p) = p else {
        return if paused {
            format!("{verb} {name}: paused: the link is interrupted")
        } else {
            format!("{verb} {name}: starting")
        };
    };
    let pct = p
        .done
        .saturating_mul(100)
        .checked_div(p.total)
        .unwrap_or(100);
    let mut s = format!(
        "{verb} {name}: {} of {} ({pct}%)",
        human_bytes(p.done),
        human_bytes(p.total)
    );
    if paused {
        s.push_str(", paused: the link is interrupted");
    } else if p.rate > 0.0 {
        s.push_str(&format!(", {}/s", human_bytes(p.rate as u64)));
        if let Some(eta) = p.eta {
            s.push_str(&format!(", {} left", clock(eta)));
        }
    }
    let file = sanitize(&p.file);
    if !file.is_empty() && file != name.trim_end_matches('/') {
        s.push_str(&format!(" · {file}"));
    }
    s
}

/// `, 63 MB resumed` (inside the parentheses of a summary) when some was there before.
fn resumed(n: u64) -> String {
    if n == 0 {
        String::new()
    } else {
        format!(", {} resumed", human_bytes(n))
    }
}

/// How a send ended: `sent photo.jpg (2.1 MB, 1 file): verified by the peer`, and what
/// was left out (symlinks, devices inside a folder), if anything.
pub fn sent_line(name: &str, rep: &SendReport) -> String {
    let what = format!(
        "{}, {}{}",
        human_bytes(rep.bytes),
        count(rep.files, "file", "files"),
        resumed(rep.resumed)
    );
    if rep.skipped.is_empty() {
        format!("sent {name} ({what}): verified by the peer")
    } else {
        let left: Vec<String> = rep
            .skipped
            .iter()
            .map(|p| sanitize(&p.display().to_string()))
            .collect();
        format!(
            "sent {name} ({what}): verified by the peer; left out (not a plain file or \
             folder): {}",
            left.join(", ")
        )
    }
}

/// Where a receive into `dir` went: the one file, the one top-level folder, or `dir`.
pub fn saved_where(rep: &ReceiveReport, dir: &Path) -> PathBuf {
    if let [one] = rep.files.as_slice() {
        return one.clone();
    }
    let tops: std::collections::BTreeSet<_> = rep
        .files
        .iter()
        .filter_map(|f| f.strip_prefix(dir).ok()?.components().next())
        .collect();
    match tops.into_iter().collect::<Vec<_>>().as_slice() {
        [top] => dir.join(top),
        _ => dir.to_path_buf(),
    }
}

/// The top-level names of what was received, relative to the receive folder (a few).
fn top_names(rep: &ReceiveReport, dir: &Path) -> String {
    let mut tops: Vec<String> = Vec::new();
    for f in &rep.files {
        let Some(top) = f.strip_prefix(dir).ok().and_then(|r| r.components().next()) else {
            continue;
        };
        let top = sanitize(&top.as_os_str().to_string_lossy());
        if !tops.contains(&top) {
            tops.push(top);
        }
    }
    let more = tops.len().saturating_sub(3);
    tops.truncate(3);
    let mut s = tops.join(", ");
    if more > 0 {
        s.push_str(&format!(" and {more} more"));
    }
    s
}

/// How a receive into `dir` ended: `received photo.jpg (2.1 MB), verified: saved as
/// DIR/photo.jpg`, `received photos/ (40 MB, 12 files), all verified: in DIR/photos`.
pub fn received_line(name: &str, rep: &ReceiveReport, dir: &Path) -> String {
    let place = saved_where(rep, dir);
    let at = sanitize(&place.display().to_string());
    // Several things side by side in the folder: name them.
    let names = if place == dir && !rep.files.is_empty() {
        format!(": {}", top_names(rep, dir))
    } else {
        String::new()
    };
    match rep.files.len() {
        0 => format!(
            "received {name} ({}): in {at}",
            count(rep.dirs, "empty folder", "empty folders")
        ),
        1 => format!(
            "received {name} ({}{}), verified: saved as {at}",
            human_bytes(rep.bytes),
            resumed(rep.resumed)
        ),
        n => format!(
            "received {name} ({}, {n} files{}), all verified: in {at}{names}",
            human_bytes(rep.bytes),
            resumed(rep.resumed)
        ),
    }
}

/// How a transfer that did not complete ended: `photo.jpg not sent: cancelled`. A
/// cancelled receive that had `arrived` bytes says they are kept for a resume.
pub fn failed_line(direction: Direction, name: &str, e: &TransferError, arrived: bool) -> String {
    let what = match direction {
        Direction::Send => "not sent",
        Direction::Receive => "not received",
    };
    let why = sanitize(&e.to_string());
    // (a broken link's own error says so already)
    let cancelled = matches!(
        e,
        TransferError::Cancelled(_) | TransferError::PeerCancelled(_)
    );
    let kept = if direction == Direction::Receive && arrived && cancelled {
        " (what arrived is kept: the same files sent again resume from there)"
    } else {
        ""
    };
    format!("{name} {what}: {why}{kept}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn progress(direction: Direction, done: u64, rate: f64, file: &str) -> Progress {
        Progress {
            direction,
            name: "photos".into(),
            file: file.into(),
            done,
            total: 4_000_000,
            rate,
            eta: (rate > 0.0).then(|| Duration::from_secs(67)),
        }
    }

    #[test]
    fn one_progress_line_for_every_front_end() {
        let p = progress(Direction::Receive, 1_200_000, 3.1e6, "photos/b.jpg");
        assert_eq!(
            progress_line(Direction::Receive, "photos/", Some(&p), false),
            "receiving photos/: 1.2 MB of 4.0 MB (30%), 3.1 MB/s, 1:07 left · photos/b.jpg"
        );
        // no rate before there is one; paused says so instead of a rate
        let p = progress(Direction::Send, 0, 0.0, "");
        assert_eq!(
            progress_line(Direction::Send, "a.bin", Some(&p), false),
            "sending a.bin: 0 B of 4.0 MB (0%)"
        );
        assert_eq!(
            progress_line(Direction::Send, "a.bin", Some(&p), true),
            "sending a.bin: 0 B of 4.0 MB (0%), paused: the link is interrupted"
        );
        assert_eq!(
            progress_line(Direction::Send, "a.bin", None, false),
            "sending a.bin: starting"
        );
        // a file name from the peer cannot move the cursor
        let p = progress(Direction::Receive, 1, 0.0, "x\u{1b}[2Jy");
        assert!(!progress_line(Direction::Receive, "n", Some(&p), false).contains('\u{1b}'));
    }

    #[test]
    fn a_failure_is_worded_from_its_kind() {
        let cancelled = TransferError::PeerCancelled("busy".into());
        assert_eq!(
            failed_line(Direction::Receive, "big.iso", &cancelled, true),
            "big.iso not received: the other side cancelled: busy (what arrived is kept: the \
             same files sent again resume from there)"
        );
        // nothing arrived: nothing to keep; a sender keeps nothing either
        assert_eq!(
            failed_line(Direction::Receive, "big.iso", &cancelled, false),
            "big.iso not received: the other side cancelled: busy"
        );
        assert_eq!(
            failed_line(Direction::Send, "a", &TransferError::NeedsQrchat, true),
            "a not sent: files need qrchat on both sides (the other side is a browser page, \
             which takes chat only)"
        );
    }

    #[test]
    fn files_need_a_qrchat_peer() {
        assert!(matches!(
            crate::transfer::peer_takes_files(Some(false)),
            Err(TransferError::NeedsQrchat)
        ));
        assert!(crate::transfer::peer_takes_files(Some(true)).is_ok());
        // not known yet: the session refuses the channel itself, worded the same
        assert!(crate::transfer::peer_takes_files(None).is_ok());
        let refused = crate::transfer::channel_error(crate::rtc::RtcError::NotQrchat);
        assert_eq!(refused.to_string(), TransferError::NeedsQrchat.to_string());
    }
}
