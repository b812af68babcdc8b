//! A small text editor: multi-line text, a cursor, and a history of what was sent.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// The longest text an input holds (a paste beyond it is cut).
pub const MAX_INPUT: usize = 256 * 1024;

#[derive(Debug, Default, Clone)]
pub struct Input {
    text: String,
    /// Cursor as a byte offset into `text`, always on a char boundary.
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
        self.browsing = None;
    }

    fn prev_boundary(&self) -> usize {
        self.text[..self.cursor]
            .char_indices()
            .next_back()
            .map_or(0, |(i, _)| i)
    }
    fn next_boundary(&self) -> usize {
        self.text[self.cursor..]
            .chars()
            .next()
            .map_or(self.cursor, |c| self.cursor + c.len_utf8())
    }

    /// Apply a key. `multiline`: Alt-Enter / Ctrl-J insert a newline, Up/Down browse history.
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
            KeyCode::Up if multiline => self.history_step(true),
            KeyCode::Down if multiline => self.history_step(false),
            _ => Edit::Ignored,
        }
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
}
