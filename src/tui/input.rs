//! A small text editor: multi-line text, a cursor that moves by grapheme (a flag or a
//! skin-toned emoji is one character), word-wrapped rows, and a history of what was sent.

use std::ops::Range;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use unicode_segmentation::UnicodeSegmentation;
use unicode_width::UnicodeWidthStr;

/// The longest text an input holds (a paste beyond it is cut).
pub const MAX_INPUT: usize = 256 * 1024;

#[derive(Debug, Default, Clone)]
pub struct Input {
    text: String,
    /// Cursor as a byte offset into `text`, always on a grapheme boundary.
    cursor: usize,
    history: Vec<String>,
    /// Position while browsing history (index into `history`), and the draft kept aside.
    browsing: Option<(usize, String)>,
}

/// What a key did to the input.
#[derive(Debug, PartialEq, Eq)]
pub enum Edit {
    Changed,
    Moved,
    /// Enter: the caller decides what submitting means.
    Submit,
    Ignored,
}

/// Display width of a piece of text, grapheme by grapheme (as the screen draws it).
pub fn width(s: &str) -> usize {
    // Printable ASCII (most chat text): one column a byte, no segmentation needed.
    if s.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return s.len();
    }
    s.graphemes(true).map(UnicodeWidthStr::width).sum()
}

/// The rows `text` takes when wrapped at `width` columns: byte ranges, newlines left out.
/// Rows break after a space when they can, else between graphemes; a grapheme wider than
/// the row gets a row of its own.
pub fn rows(text: &str, width: usize) -> Vec<Range<usize>> {
    let width = width.max(1);
    let mut out = Vec::new();
    let mut base = 0;
    for line in text.split('\n') {
        let mut start = 0;
        let mut w = 0;
        // Byte offset just after the last space in this row.
        let mut brk: Option<usize> = None;
        for (i, g) in line.grapheme_indices(true) {
            let gw = g.width();
            if w + gw > width && i > start && g != " " {
                let cut = brk.filter(|&b| b > start).unwrap_or(i);
                out.push(base + start..base + cut);
                start = cut;
                w = self::width(&line[cut..i]);
                brk = None;
            }
            w += gw;
            if g == " " {
                brk = Some(i + 1);
            }
        }
        out.push(base + start..base + line.len());
        base += line.len() + 1;
    }
    out
}

/// The row and column of byte offset `at` among `rows` of `text`. An offset at the seam of
/// a wrapped row belongs to the start of the next row.
pub fn locate(text: &str, rows: &[Range<usize>], at: usize) -> (usize, usize) {
    let mut r = 0;
    for (k, row) in rows.iter().enumerate() {
        if row.start > at {
            break;
        }
        if at <= row.end {
            r = k;
            if at < row.end {
                break;
            }
        }
    }
    let row = &rows[r];
    (r, width(&text[row.start..at.clamp(row.start, row.end)]))
}

impl Input {
    pub fn text(&self) -> &str {
        &self.text
    }
    pub fn cursor(&self) -> usize {
        self.cursor
    }
    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }
    pub fn set(&mut self, text: &str) {
        self.text = text.to_string();
        self.cursor = self.text.len();
        self.browsing = None;
    }
    /// Take the text out and remember it in the history.
    pub fn take(&mut self) -> String {
        let t = std::mem::take(&mut self.text);
        self.cursor = 0;
        self.browsing = None;
        if !t.trim().is_empty() && self.history.last() != Some(&t) {
            self.history.push(t.clone());
        }
        t
    }
    pub fn clear(&mut self) {
        self.text.clear();
        self.cursor = 0;
        self.browsing = None;
    }

    /// Insert text (typed or pasted) at the cursor; CR LF and CR become LF.
    pub fn insert(&mut self, s: &str) {
        let s = s.replace("\r\n", "\n").replace('\r', "\n");
        let room = MAX_INPUT.saturating_sub(self.text.len());
        let mut cut = s.len().min(room);
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        self.text.insert_str(self.cursor, &s[..cut]);
        self.cursor += cut;
        // A combining mark or a second regional indicator joins the grapheme before it:
        // keep the cursor after the whole of it.
        self.cursor = self.grapheme_end(self.cursor);
        self.browsing = None;
    }

    /// The end of the grapheme that contains byte `at` (`at` itself on a boundary).
    fn grapheme_end(&self, at: usize) -> usize {
        let start = self.text[..at]
            .grapheme_indices(true)
            .next_back()
            .map_or(0, |(i, _)| i);
        self.text[start..]
            .grapheme_indices(true)
            .map(|(i, g)| start + i + g.len())
            .find(|&end| end >= at)
            .unwrap_or(at)
    }

    fn prev_boundary(&self) -> usize {
        self.text[..self.cursor]
            .grapheme_indices(true)
            .next_back()
            .map_or(0, |(i, _)| i)
    }
    fn next_boundary(&self) -> usize {
        self.text[self.cursor..]
            .graphemes(true)
            .next()
            .map_or(self.cursor, |g| self.cursor + g.len())
    }

    /// Apply a key. `multiline`: Alt-Enter / Ctrl-J insert a newline, Up/Down move between
    /// lines and browse history (see [`Input::up`]).
    pub fn key(&mut self, key: KeyEvent, multiline: bool) -> Edit {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let alt = key.modifiers.contains(KeyModifiers::ALT);
        match key.code {
            KeyCode::Enter if multiline && (alt || key.modifiers.contains(KeyModifiers::SHIFT)) => {
                self.insert("\n");
                Edit::Changed
            }
            KeyCode::Char('j') if ctrl && multiline => {
                self.insert("\n");
                Edit::Changed
            }
            KeyCode::Enter => Edit::Submit,
            KeyCode::Char('u') if ctrl => {
                self.clear();
                Edit::Changed
            }
            KeyCode::Char('w') if ctrl => {
                let before = &self.text[..self.cursor];
                let trimmed = before.trim_end();
                let start = trimmed
                    .char_indices()
                    .rev()
                    .find(|(_, c)| c.is_whitespace())
                    .map_or(0, |(i, c)| i + c.len_utf8());
                self.text.replace_range(start..self.cursor, "");
                self.cursor = start;
                Edit::Changed
            }
            KeyCode::Char('a') if ctrl => {
                self.cursor = 0;
                Edit::Moved
            }
            KeyCode::Char('e') if ctrl => {
                self.cursor = self.text.len();
                Edit::Moved
            }
            KeyCode::Char(c) if !ctrl => {
                let mut b = [0u8; 4];
                self.insert(c.encode_utf8(&mut b));
                Edit::Changed
            }
            KeyCode::Backspace => {
                if self.cursor == 0 {
                    return Edit::Ignored;
                }
                let p = self.prev_boundary();
                self.text.replace_range(p..self.cursor, "");
                self.cursor = p;
                Edit::Changed
            }
            KeyCode::Delete => {
                let n = self.next_boundary();
                if n == self.cursor {
                    return Edit::Ignored;
                }
                self.text.replace_range(self.cursor..n, "");
                Edit::Changed
            }
            KeyCode::Left => {
                self.cursor = self.prev_boundary();
                Edit::Moved
            }
            KeyCode::Right => {
                self.cursor = self.next_boundary();
                Edit::Moved
            }
            KeyCode::Home => {
                self.cursor = 0;
                Edit::Moved
            }
            KeyCode::End => {
                self.cursor = self.text.len();
                Edit::Moved
            }
            KeyCode::Up if multiline => self.up(usize::MAX),
            KeyCode::Down if multiline => self.down(usize::MAX),
            _ => Edit::Ignored,
        }
    }

    /// Up, with the text wrapped at `width`: to the row above, or from the first row to the
    /// message sent before.
    pub fn up(&mut self, width: usize) -> Edit {
        self.vertical(width, true)
    }

    /// Down: to the row below, or from the last row to the message sent after (and back
    /// to the draft).
    pub fn down(&mut self, width: usize) -> Edit {
        self.vertical(width, false)
    }

    fn vertical(&mut self, width: usize, up: bool) -> Edit {
        let rows = rows(&self.text, width);
        let (r, col) = locate(&self.text, &rows, self.cursor);
        let target = if up {
            r.checked_sub(1)
        } else {
            Some(r + 1).filter(|&t| t < rows.len())
        };
        let Some(t) = target else {
            return self.history_step(up);
        };
        let row = rows[t].clone();
        let mut at = row.start;
        let mut w = 0;
        for (i, g) in self.text[row.clone()].grapheme_indices(true) {
            let gw = g.width();
            if w + gw > col {
                break;
            }
            w += gw;
            at = row.start + i + g.len();
        }
        // The end of a wrapped row is the start of the next: stay on this one.
        if at == row.end && rows.get(t + 1).is_some_and(|n| n.start == row.end) {
            at = self.text[row.start..row.end]
                .grapheme_indices(true)
                .next_back()
                .map_or(row.start, |(i, _)| row.start + i);
        }
        self.cursor = at;
        Edit::Moved
    }

    fn history_step(&mut self, back: bool) -> Edit {
        if self.history.is_empty() {
            return Edit::Ignored;
        }
        let next = match (&self.browsing, back) {
            (None, true) => Some(self.history.len() - 1),
            (None, false) => return Edit::Ignored,
            (Some((i, _)), true) => Some(i.saturating_sub(1)),
            (Some((i, _)), false) if i + 1 < self.history.len() => Some(i + 1),
            (Some(_), false) => None,
        };
        let draft = match self.browsing.take() {
            Some((_, d)) => d,
            None => self.text.clone(),
        };
        match next {
            Some(i) => {
                self.text = self.history[i].clone();
                self.browsing = Some((i, draft));
            }
            None => self.text = draft,
        }
        self.cursor = self.text.len();
        Edit::Changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn typing_editing_and_history() {
        let mut i = Input::default();
        for c in "héllo".chars() {
            i.key(k(KeyCode::Char(c)), true);
        }
        i.key(k(KeyCode::Left), true);
        i.key(k(KeyCode::Backspace), true);
        assert_eq!(i.text(), "hélo");
        assert_eq!(i.key(k(KeyCode::Enter), true), Edit::Submit);
        assert_eq!(i.take(), "hélo");
        i.insert("second");
        i.take();
        i.insert("draft");
        i.key(k(KeyCode::Up), true);
        assert_eq!(i.text(), "second");
        i.key(k(KeyCode::Up), true);
        assert_eq!(i.text(), "hélo");
        i.key(k(KeyCode::Down), true);
        i.key(k(KeyCode::Down), true);
        assert_eq!(i.text(), "draft");
    }

    #[test]
    fn paste_normalises_newlines_and_alt_enter_breaks_lines() {
        let mut i = Input::default();
        i.insert("a\r\nb\rc");
        i.key(KeyEvent::new(KeyCode::Enter, KeyModifiers::ALT), true);
        i.insert("d");
        assert_eq!(i.text(), "a\nb\nc\nd");
    }

    #[test]
    fn huge_paste_is_cut_on_a_char_boundary() {
        let mut i = Input::default();
        i.insert(&"é".repeat(MAX_INPUT));
        assert!(i.text().len() <= MAX_INPUT);
        assert!(i.text().len() > MAX_INPUT - 4);
    }

    /// Type like a terminal delivers it: one key per char (a flag is two keys).
    fn typed(i: &mut Input, s: &str) {
        for c in s.chars() {
            i.key(k(KeyCode::Char(c)), true);
        }
    }

    #[test]
    fn the_cursor_moves_and_deletes_by_grapheme() {
        // A skin-toned thumb, a flag, a family (ZWJ sequence), e + combining acute.
        let mut i = Input::default();
        typed(&mut i, "a👍🏽🇩🇪👨‍👩‍👧e\u{301}");
        assert_eq!(i.cursor(), i.text().len());
        i.key(k(KeyCode::Backspace), true);
        assert_eq!(i.text(), "a👍🏽🇩🇪👨‍👩‍👧", "e with its accent goes at once");
        i.key(k(KeyCode::Left), true);
        i.key(k(KeyCode::Backspace), true);
        assert_eq!(i.text(), "a👍🏽👨‍👩‍👧", "the whole flag goes, no stray 🇪");
        i.key(k(KeyCode::Left), true);
        assert_eq!(i.cursor(), 1);
        i.key(k(KeyCode::Delete), true);
        assert_eq!(i.text(), "a👨‍👩‍👧", "the thumb goes with its skin tone");
        i.key(k(KeyCode::Right), true);
        assert_eq!(i.cursor(), i.text().len(), "one step over the whole family");
        assert_eq!(width("👍🏽"), 2);
        assert_eq!(width("🇩🇪"), 2);
    }

    #[test]
    fn rows_wrap_at_spaces_and_inside_long_words() {
        let text = "hello big world";
        let r = rows(text, 9);
        let shown: Vec<&str> = r.iter().map(|x| &text[x.clone()]).collect();
        assert_eq!(shown, vec!["hello big ", "world"]);
        let text = "abcdefghij\nxy";
        let r = rows(text, 4);
        let shown: Vec<&str> = r.iter().map(|x| &text[x.clone()]).collect();
        assert_eq!(shown, vec!["abcd", "efgh", "ij", "xy"]);
        // Wide graphemes are never split and never overflow the row.
        let text = "🇩🇪🇩🇪🇩🇪";
        for x in rows(text, 3) {
            assert_eq!(&text[x.clone()], "🇩🇪");
        }
        // The seam of a wrapped row belongs to the next row; the end of a line to its own.
        let text = "abcdefghij\nxy";
        let r = rows(text, 4);
        assert_eq!(locate(text, &r, 4), (1, 0));
        assert_eq!(locate(text, &r, 10), (2, 2));
        assert_eq!(locate(text, &r, 11), (3, 0));
    }

    #[test]
    fn up_and_down_move_inside_a_draft_and_recall_history_only_at_its_ends() {
        let mut i = Input::default();
        i.insert("sent before");
        i.take();
        // Three rows at width 10: "first row ", "second", "third".
        i.insert("first row second\nthird");
        assert_eq!(i.up(10), Edit::Moved);
        assert_eq!(
            i.text(),
            "first row second\nthird",
            "Up on the last row moves up"
        );
        assert_eq!(locate(i.text(), &rows(i.text(), 10), i.cursor()).0, 1);
        assert_eq!(i.up(10), Edit::Moved);
        assert_eq!(locate(i.text(), &rows(i.text(), 10), i.cursor()).0, 0);
        assert_eq!(i.up(10), Edit::Changed, "from the first row: history");
        assert_eq!(i.text(), "sent before");
        assert_eq!(i.down(10), Edit::Changed, "back to the draft");
        assert_eq!(i.text(), "first row second\nthird");
        // The column is kept, by display width.
        i.set("ab\n日本語");
        i.up(80);
        assert_eq!(i.cursor(), 2, "end of the shorter row above");
        i.down(80);
        assert_eq!(&i.text()[..i.cursor()], "ab\n日");
    }
}
