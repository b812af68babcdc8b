//! What travels on the data channel and how it is shown. Pure, but for [`history`]: the
//! `--history` transcript and the local clock every timestamp uses.
//!
//! A chat message is one UTF-8 text message on the data channel. To a browser page that is
//! all (what the copy-paste WebRTC pages send, so a browser peer just works); between two
//! qrchat apps it carries an id and is acknowledged once shown ([`delivery`]), because
//! SCTP's reliable ordered delivery ends with the link: a message sent while the peer was
//! gone must be seen as not delivered and sent again after a re-pairing.
//!
//! Peer text is hostile until shown otherwise: [`sanitize`] makes every control
//! character, escape sequence and bidi override visible and inert before display.

pub mod delivery;
pub mod history;

pub use history::{local_clock, local_timestamp, History, HistoryError};

/// Longest message we send (bytes of UTF-8). Browsers and webrtc-rs all take 64 KiB.
pub const MAX_MESSAGE_BYTES: usize = 16 * 1024;

/// Longest message we display; the rest is cut with a note.
pub const MAX_DISPLAY_CHARS: usize = 16 * 1024;

/// Make peer text safe to put on a terminal, keeping line breaks (for the TUI, which
/// lays out lines itself). Tabs become four spaces.
pub fn sanitize(text: &str) -> String {
    clean(text, true)
}

/// Like [`sanitize`], but the result is always one line: `\n` shows as `␤`.
/// Headless mode prints each message as one line with it.
pub fn sanitize_line(text: &str) -> String {
    clean(text, false)
}

fn clean(text: &str, keep_newlines: bool) -> String {
    let mut out = String::with_capacity(text.len().min(MAX_DISPLAY_CHARS * 4));
    let mut chars = 0usize;
    let mut it = text.chars().peekable();
    while let Some(c) = it.next() {
        if chars >= MAX_DISPLAY_CHARS {
            let rest = it.count() + 1;
            out.push_str(&format!(" [… {rest} more characters cut]"));
            break;
        }
        chars += 1;
        match c {
            '\n' if keep_newlines => out.push('\n'),
            '\n' => out.push('\u{2424}'),
            '\r' if it.peek() == Some(&'\n') => {}
            '\t' => out.push_str("    "),
            // C0 controls (ESC included) -> the Unicode "control pictures" block
            '\u{0}'..='\u{1f}' => out.push(char::from_u32(0x2400 + c as u32).unwrap_or('?')),
            '\u{7f}' => out.push('\u{2421}'),
            // C1 controls (CSI, OSC, ... as single code points) and the replacement of
            // bidi overrides/isolates, which reorder what follows them on the line
            '\u{80}'..='\u{9f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2066}'..='\u{2069}'
            | '\u{200e}'
            | '\u{200f}'
            | '\u{061c}' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn escape_sequences_become_visible() {
        let evil = "hi\x1b[2J\x1b]0;pwned\x07\u{9b}31m";
        let s = sanitize(evil);
        assert_eq!(s, "hi␛[2J␛]0;pwned␇\u{fffd}31m");
    }

    #[test]
    fn lines_and_bidi() {
        assert_eq!(sanitize("a\r\nb"), "a\nb");
        assert_eq!(sanitize_line("a\nb\r"), "a␤b␍");
        assert_eq!(sanitize("x\u{202e}y"), "x\u{fffd}y");
        assert_eq!(sanitize("é 漢字 🙂"), "é 漢字 🙂");
    }

    #[test]
    fn long_text_is_cut() {
        let big = "a".repeat(MAX_DISPLAY_CHARS + 10);
        let s = sanitize(&big);
        assert!(
            s.ends_with("[… 10 more characters cut]"),
            "{}",
            &s[s.len() - 40..]
        );
    }

    proptest! {
        #[test]
        fn no_control_survives(s in any::<String>()) {
            let out = sanitize(&s);
            prop_assert!(out.chars().all(|c| c == '\n' || !c.is_control()));
            let line = sanitize_line(&s);
            prop_assert!(line.chars().all(|c| !c.is_control()));
        }
    }
}
