//! Help (`?` or F1): the keys of every screen.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::Frame;

use crate::tui::app::App;
use crate::tui::ui;

const KEYS: &[(&str, &str)] = &[
    ("", "Everywhere"),
    ("Ctrl-C", "quit (the terminal is restored)"),
    ("? / F1", "this help (F1 while typing)"),
    ("", "Start"),
    ("s / j", "start a chat / join one"),
    ("", "My code"),
    ("t", "show the code as text / as QR"),
    ("c", "copy the code (OSC 52 clipboard)"),
    ("s / p", "scan / paste their answer (when you started)"),
    ("", "Scan and paste"),
    ("p", "paste instead of scanning"),
    ("Enter", "use the pasted code"),
    ("Esc", "back"),
    ("", "Chat"),
    ("Enter", "send"),
    ("Alt-Enter", "new line (also Ctrl-J)"),
    ("↑ / ↓", "previous / next sent message"),
    ("PgUp/PgDn", "scroll; End follows the newest"),
    ("Esc", "after the peer left: new pairing"),
];

pub fn draw(f: &mut Frame, area: Rect, _app: &App) {
    let lines: Vec<Line> = KEYS
        .iter()
        .map(|(k, what)| {
            if k.is_empty() {
                Line::styled(*what, ui::warn_style())
            } else {
                Line::from(vec![
                    Span::styled(format!("  {k:<10}"), ui::key_style()),
                    Span::raw(*what),
                ])
            }
        })
        .collect();
    let r = ui::centered(area, 60, KEYS.len() as u16 + 2);
    ui::boxed(f, r, "keys", lines);
}
