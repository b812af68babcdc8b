//! Start: make an offer ("Start a chat") or join someone else's.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
use ratatui::Frame;

use crate::tui::app::{App, Effect};
use crate::tui::ui;

const CHOICES: [(&str, &str); 2] = [
    ("Start a chat", "show my code for the other side to scan"),
    ("Join", "scan or paste the other side's code"),
];

pub fn on_key(app: &mut App, key: KeyEvent) -> Vec<Effect> {
    match key.code {
        KeyCode::Up | KeyCode::Down | KeyCode::Tab | KeyCode::BackTab => {
            app.start_sel = 1 - app.start_sel.min(1);
            vec![]
        }
        KeyCode::Char('s') => app.begin_start(),
        KeyCode::Char('j') => app.begin_join(),
        KeyCode::Enter if app.start_sel == 0 => app.begin_start(),
        KeyCode::Enter => app.begin_join(),
        KeyCode::Char('q') => app.quit(),
        _ => vec![],
    }
}

pub fn keys(_app: &App) -> Vec<(&'static str, &'static str)> {
    vec![
        ("↑↓", "choose"),
        ("Enter", "go"),
        ("s", "start"),
        ("j", "join"),
        ("q", "quit"),
    ]
}

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
