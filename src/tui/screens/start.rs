//! Start: make an offer ("Start a chat"), join someone else's, or (below them) ask a
//! known peer that is on this network now. While a known peer asks, its prompt shows here.

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
        help: "choose Start a chat, Join, or a known peer on this network",
        when: always,
        run: |app, key| {
            app.start_move(matches!(key.code, KeyCode::Down | KeyCode::Tab));
            vec![]
        },
    },
    Binding {
        label: "Enter",
        chords: &[plain(KeyCode::Enter)],
        hint: |_| "go",
        help: "go with the choice (a known peer: ask it to chat, no code)",
        when: always,
        run: |app, _| app.start_go(),
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
        run: |app, key| app.leave_by(if key.code == KeyCode::Esc { "Esc" } else { "q" }),
    },
];

fn choice(sel: bool, name: &str, what: String) -> Line<'static> {
    let style = if sel {
        ui::key_style().add_modifier(Modifier::REVERSED)
    } else {
        Style::new()
    };
    Line::from(vec![
        Span::raw(if sel { " ▶ " } else { "   " }),
        Span::styled(format!(" {name} "), style),
        Span::styled(format!("  {what}"), ui::dim_style()),
    ])
}

pub fn draw(f: &mut Frame, area: Rect, app: &App) {
    let mut lines = vec![
        Line::raw("Pair two computers by QR code and chat directly, with no server."),
        Line::raw(""),
    ];
    for (i, (name, what)) in CHOICES.iter().enumerate() {
        lines.push(choice(i == app.start_sel, name, what.to_string()));
        lines.push(Line::raw(""));
    }
    lines.push(Line::styled(
        "One side starts and shows a code; the other scans it, and the chat opens.",
        ui::dim_style(),
    ));
    // Known peers: nothing at all for a user who has none.
    let k = &app.known;
    if !k.known.is_empty() {
        lines.push(Line::raw(""));
        if !k.here.is_empty() {
            lines.push(Line::raw("Known peers on this network now:"));
            for (i, p) in k.here.iter().enumerate() {
                let what = format!("paired by sight on {}", p.paired_on);
                lines.push(choice(app.start_sel == i + 2, &p.name, what));
            }
        } else {
            let names = k.known.join(", ");
            let text = if k.looked {
                format!("No known peer is on this network now ({names}).")
            } else {
                format!("Looking for your known peers ({names})…")
            };
            lines.push(Line::styled(text, ui::dim_style()));
        }
    }
    if let Some(why) = &k.failed {
        lines.push(Line::raw(""));
        lines.push(Line::styled(why.clone(), ui::err_style()));
    }
    if let Some(note) = &k.note {
        lines.push(Line::raw(""));
        lines.push(Line::styled(note.clone(), ui::dim_style()));
    }
    if let Some(p) = crate::tui::known::prompt(app) {
        lines.push(Line::raw(""));
        lines.push(Line::styled(
            p,
            ui::warn_style().add_modifier(Modifier::BOLD),
        ));
    }
    // Wrapped lines (a long failure) take more rows: count them at the box's width.
    let inner = 70usize;
    let rows: usize = lines.iter().map(|l| l.width().max(1).div_ceil(inner)).sum();
    let r = ui::centered(area, 72, rows as u16 + 2);
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(Block::new().borders(Borders::ALL).title(" qrchat ")),
        r,
    );
}
