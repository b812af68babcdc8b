//! Start: make an offer ("Start a chat") or join someone else's.

use crossterm::event::KeyCode;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
use ratatui::Frame;

use crate::tui::app::App;
use crate::tui::keys::{always, ch, plain, Binding};
use crate::tui::ui;

const CHOICES: [(&str, &str); 2] = [
    ("Start a chat", "show my code for the other side to scan"),
    ("Join", "scan or paste the other side's code"),
];

/// Start's keys.
pub const KEYS: &[Binding] = &[
    Binding {
        label: "↑↓",
        chords: &[
            plain(KeyCode::Up),
            plain(KeyCode::Down),
            plain(KeyCode::Tab),
            plain(KeyCode::BackTab),
        ],
        hint: |_| "choose",
        help: "choose Start a chat or Join",
        when: always,
        run: |app, _| {
            app.start_sel = 1 - app.start_sel.min(1);
            vec![]
        },
    },
    Binding {
        label: "Enter",
        chords: &[plain(KeyCode::Enter)],
        hint: |_| "go",
        help: "go with the choice",
        when: always,
        run: |app, _| {
            if app.start_sel == 0 {
                app.begin_start()
            } else {
                app.begin_join()
            }
        },
    },
    Binding {
        label: "s",
        chords: &[ch('s')],
        hint: |_| "start",
        help: "start a chat: show my code",
        when: always,
        run: |app, _| app.begin_start(),
    },
    Binding {
        label: "j",
        chords: &[ch('j')],
        hint: |_| "join",
        help: "join: scan or paste the other side's code",
        when: always,
        run: |app, _| app.begin_join(),
    },
    Binding {
        label: "q",
        chords: &[ch('q'), plain(KeyCode::Esc)],
        hint: |_| "quit",
        help: "quit (also Esc)",
        when: always,
        run: |app, _| app.leave(),
    },
];

pub fn draw(f: &mut Frame, area: Rect, app: &App) {
    let mut lines = vec![
        Line::raw("Pair two computers by QR code and chat directly, with no server."),
        Line::raw(""),
    ];
    for (i, (name, what)) in CHOICES.iter().enumerate() {
        let sel = i == app.start_sel;
        let style = if sel {
            ui::key_style().add_modifier(Modifier::REVERSED)
        } else {
            Style::new()
        };
        lines.push(Line::from(vec![
            Span::raw(if sel { " ▶ " } else { "   " }),
            Span::styled(format!(" {name} "), style),
            Span::styled(format!("  {what}"), ui::dim_style()),
        ]));
        lines.push(Line::raw(""));
    }
    lines.push(Line::styled(
        "One side starts and shows a code; the other joins by scanning it, then shows its \
         own code back.",
        ui::dim_style(),
    ));
    let r = ui::centered(area, 72, 10);
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(Block::new().borders(Borders::ALL).title(" qrchat ")),
        r,
    );
}
