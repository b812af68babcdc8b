//! Key bindings as data: each screen has one table of [`Binding`]s. The same table
//! decides what a key does (`dispatch`), what the footer offers (`hints`: only the keys
//! that work right now) and what the help box lists (`help_lines`), so the three cannot
//! drift apart.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::app::App;
use super::event::Effect;

/// One key with its modifiers. A character matches with or without Shift (terminals
/// differ on reporting Shift for `?`); other keys match their modifiers exactly, so
/// Enter and Shift-Enter are told apart.
#[derive(Debug, Clone, Copy)]
pub struct Chord {
    pub code: KeyCode,
    pub mods: KeyModifiers,
}

pub const fn plain(code: KeyCode) -> Chord {
    Chord {
        code,
        mods: KeyModifiers::NONE,
    }
}
pub const fn ch(c: char) -> Chord {
    plain(KeyCode::Char(c))
}
pub const fn ctrl(c: char) -> Chord {
    Chord {
        code: KeyCode::Char(c),
        mods: KeyModifiers::CONTROL,
    }
}
pub const fn alt(code: KeyCode) -> Chord {
    Chord {
        code,
        mods: KeyModifiers::ALT,
    }
}

impl Chord {
    pub fn matches(&self, key: &KeyEvent) -> bool {
        if key.code != self.code {
            return false;
        }
        let held = if matches!(key.code, KeyCode::Char(_)) {
            key.modifiers & (KeyModifiers::CONTROL | KeyModifiers::ALT)
        } else {
            key.modifiers & (KeyModifiers::CONTROL | KeyModifiers::ALT | KeyModifiers::SHIFT)
        };
        held == self.mods
    }
}

/// What a key does on a screen.
pub struct Binding {
    /// How the key is written for people: "Esc", "PgUp/PgDn".
    pub label: &'static str,
    pub chords: &'static [Chord],
    /// The footer's words; "" keeps it out of the footer (help only).
    pub hint: fn(&App) -> &'static str,
    /// The help box's line; "" keeps it out of the help (a variant of the line above).
    pub help: &'static str,
    /// Whether the key does something now. A key that does nothing is not offered.
    pub when: fn(&App) -> bool,
    pub run: fn(&mut App, KeyEvent) -> Vec<Effect>,
}

/// For `when`: always.
pub fn always(_: &App) -> bool {
    true
}

/// Esc where it only goes one step back (and quits from the first screen).
pub const ESC_BACK: Binding = Binding {
    label: "Esc",
    chords: &[plain(KeyCode::Esc)],
    hint: |app| {
        if app.first_screen() {
            "quit"
        } else if app.esc_to_chat() {
            "back to the chat"
        } else {
            "back"
        }
    },
    help: "",
    when: always,
    run: |app, _| app.back(),
};

/// `q` quits where nothing is typed (the help box says so once, on the my-code screen).
pub const Q_QUIT: Binding = Binding {
    label: "q",
    chords: &[ch('q')],
    hint: |_| "",
    help: "",
    when: always,
    run: |app, _| app.leave_by("q"),
};

/// The first binding of `table` that takes `key` now.
pub fn find<'a>(table: &'a [Binding], app: &App, key: &KeyEvent) -> Option<&'a Binding> {
    table
        .iter()
        .find(|b| b.chords.iter().any(|c| c.matches(key)) && (b.when)(app))
}

/// The footer: (key, words) for every binding that works now and has words.
pub fn hints(table: &[Binding], app: &App) -> Vec<(&'static str, &'static str)> {
    table
        .iter()
        .filter(|b| (b.when)(app))
        .map(|b| (b.label, (b.hint)(app)))
        .filter(|(_, h)| !h.is_empty())
        .collect()
}

/// The help box's lines of a table: (key, what it does).
pub fn help_lines(table: &[Binding]) -> Vec<(&'static str, &'static str)> {
    table
        .iter()
        .filter(|b| !b.help.is_empty())
        .map(|b| (b.label, b.help))
        .collect()
}
