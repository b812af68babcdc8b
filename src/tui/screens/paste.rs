//! Paste: a bracketed paste (or typing) of the other side's code, checked as it comes,
//! with the codec's specific error, and a word on trusting pasted codes.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
use ratatui::Frame;

use crate::tui::app::{App, Role};
use crate::tui::event::Effect;
use crate::tui::input::Edit;
use crate::tui::keys::{ctrl, plain, Binding, ESC_BACK};
use crate::tui::ui;

/// The most of a paste drawn (the whole of it is still checked).
const SHOWN_CHARS: usize = 8 * 1024;

/// Paste's keys (everything else goes to the text).
pub const KEYS: &[Binding] = &[
    Binding {
        label: "Enter",
        chords: &[plain(KeyCode::Enter)],
        hint: |_| "use this code",
        help: "use the pasted code",
        when: |app| matches!(app.pairing.paste.verdict, Some(Ok(_))),
        run: |app, _| app.submit_paste(),
    },
    Binding {
        label: "Ctrl-U",
        chords: &[ctrl('u')],
        hint: |_| "clear",
        help: "clear what was pasted",
        when: |app| !app.pairing.paste.input.is_empty(),
        run: |app, _| {
            app.pairing.paste.input.clear();
            app.validate_paste();
            vec![]
        },
    },
    ESC_BACK,
];

/// A key for the pasted text.
pub fn type_key(app: &mut App, key: KeyEvent) -> Vec<Effect> {
    match app.pairing.paste.input.key(key, false) {
        Edit::Changed => {
            app.validate_paste();
            vec![]
        }
        _ => vec![],
    }
}

pub fn draw(f: &mut Frame, area: Rect, app: &App) {
    let what = match app.pairing.role {
        Some(Role::Starter) => "Paste the answer code the other side shows (its text: `t` there).",
        _ => "Paste the code the other side shows (its text: `t` there).",
    };
    let mut head = vec![];
    if let Some(n) = &app.pairing.paste.note {
        head.push(Line::styled(n.clone(), ui::warn_style()));
    }
    head.push(Line::raw(what));
    head.push(Line::styled(
        "A pasted code may have passed through anyone: once connected, compare the safety \
         number on both screens.",
        ui::warn_style(),
    ));
    let head_h = head.len() as u16 + 2;
    let [top, input, verdict] = Layout::vertical([
        Constraint::Length(head_h),
        Constraint::Min(3),
        Constraint::Length(3),
    ])
    .areas(area);
    f.render_widget(Paragraph::new(head).wrap(Wrap { trim: false }), top);

    let text = app.pairing.paste.input.text();
    let shown: Line = if text.is_empty() {
        Line::styled("(paste here)", ui::dim_style())
    } else {
        // A code is a few hundred characters; show no more than a screenful of a huge paste.
        let shown: String = text.chars().take(SHOWN_CHARS).collect();
        Line::raw(shown)
    };
    let border = match &app.pairing.paste.verdict {
        Some(Ok(_)) => ui::ok_style(),
        Some(Err(_)) => ui::err_style(),
        None => ui::dim_style(),
    };
    let block = Block::new()
        .borders(Borders::ALL)
        .border_style(border)
        .title(format!(" code ({} characters) ", text.chars().count()));
    f.render_widget(
        Paragraph::new(shown)
            .wrap(Wrap { trim: false })
            .block(block),
        input,
    );
    let v = match &app.pairing.paste.verdict {
        None => Line::styled("waiting for a code…", ui::dim_style()),
        Some(Ok(c)) => Line::styled(
            format!("✓ {}: press Enter to use it", crate::tui::words::code(c)),
            ui::ok_style(),
        ),
        Some(Err(e)) => Line::styled(format!("✗ {e}"), ui::err_style()),
    };
    f.render_widget(Paragraph::new(v).wrap(Wrap { trim: false }), verdict);
}
