//! One file per screen: its key table (`KEYS`, see `keys.rs`), the keys that go to its
//! text input if it has one, and its body (`draw`).

pub mod chat;
pub mod connecting;
pub mod help;
pub mod my_code;
pub mod paste;
pub mod scan;
pub mod start;

use crossterm::event::KeyCode;

use super::app::{App, Screen};
use super::keys::{always, ch, ctrl, plain, Binding};

/// The screen's key table.
pub fn table(screen: Screen) -> &'static [Binding] {
    match screen {
        Screen::Start => start::KEYS,
        Screen::MyCode => my_code::KEYS,
        Screen::Scan => scan::KEYS,
        Screen::Paste => paste::KEYS,
        Screen::Connecting => connecting::KEYS,
        Screen::Chat => chat::KEYS,
    }
}

/// The screen's name, as the title bar and the help box say it.
pub fn name(screen: Screen) -> &'static str {
    match screen {
        Screen::Start => "start",
        Screen::MyCode => "my code",
        Screen::Scan => "scan their code",
        Screen::Paste => "paste their code",
        Screen::Connecting => "connecting",
        Screen::Chat => "chat",
    }
}

/// Keys that work on every screen (checked before the screen's own).
pub const GLOBAL: &[Binding] = &[
    Binding {
        label: "Ctrl-C",
        chords: &[ctrl('c')],
        hint: |_| "quit",
        help: "quit, the terminal restored; asks once if the chat is not saved (no --history) or a line is not yet ✓",
        when: always,
        run: |app, _| app.leave_by("Ctrl-C"),
    },
    Binding {
        label: "Ctrl-D",
        chords: &[ctrl('d')],
        hint: |_| "",
        help: "quit, only when nothing is typed",
        when: |app| !app.drafting(),
        run: |app, _| app.leave_by("Ctrl-D"),
    },
    Binding {
        label: "Esc",
        chords: &[],
        hint: |_| "",
        help: "back one step; quits on the first screen",
        when: always,
        run: |_, _| vec![],
    },
    Binding {
        label: "F1",
        chords: &[plain(KeyCode::F(1))],
        hint: |app| if app.typing() { "help" } else { "" },
        help: "this help (also ? where nothing is typed)",
        when: |app| app.help.is_none(),
        run: |app, _| {
            help::open(app);
            vec![]
        },
    },
    Binding {
        label: "?",
        chords: &[ch('?')],
        hint: |_| "help",
        help: "",
        when: |app| app.help.is_none() && !app.typing(),
        run: |app, _| {
            help::open(app);
            vec![]
        },
    },
];

/// The footer: the screen's keys that work now, then help and quit.
pub fn hints(app: &App) -> Vec<(&'static str, &'static str)> {
    let mut k = super::keys::hints(app.key_table(), app);
    let global = super::keys::hints(GLOBAL, app);
    // Help first, quit last.
    k.extend(global.iter().filter(|(l, _)| *l != "Ctrl-C"));
    k.extend(global.iter().filter(|(l, _)| *l == "Ctrl-C"));
    k
}
