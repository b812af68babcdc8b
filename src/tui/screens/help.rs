//! Help (`?` or F1): the keys of every screen, from the same tables that drive them. On a
//! small terminal the box scrolls.

use crossterm::event::KeyCode;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::Frame;

use crate::tui::app::{App, Screen};
use crate::tui::keys::{always, ch, help_lines, plain, Binding};
use crate::tui::ui;

fn scroll(app: &mut App, by: isize) {
    let max = max_scroll(app);
    if let Some(s) = &mut app.help {
        *s = (*s as isize + by).clamp(0, max as isize) as usize;
    }
}

/// The help box's keys.
pub const KEYS: &[Binding] = &[
    Binding {
        label: "Esc",
        chords: &[
            plain(KeyCode::Esc),
            ch('?'),
            ch('q'),
            plain(KeyCode::F(1)),
            plain(KeyCode::Enter),
        ],
        hint: |_| "close help",
        help: "",
        when: always,
        run: |app, _| {
            app.help = None;
            vec![]
        },
    },
    Binding {
        label: "↑↓",
        chords: &[plain(KeyCode::Up), plain(KeyCode::Down)],
        hint: |_| "scroll",
        help: "",
        when: |app| max_scroll(app) > 0,
        run: |app, key| {
            scroll(app, if key.code == KeyCode::Up { -1 } else { 1 });
            vec![]
        },
    },
    Binding {
        label: "PgUp/PgDn",
        chords: &[plain(KeyCode::PageUp), plain(KeyCode::PageDown)],
        hint: |_| "",
        help: "",
        when: |app| max_scroll(app) > 0,
        run: |app, key| {
            let page = visible_rows(app) as isize;
            scroll(
                app,
                if key.code == KeyCode::PageUp {
                    -page
                } else {
                    page
                },
            );
            vec![]
        },
    },
];

/// Open the help at the keys of the screen at hand (the chat's keys, from the chat), the
/// keys that work everywhere a scroll away above.
pub fn open(app: &mut App) {
    let want = title(app.screen);
    let (_, rows) = layout(full_area(app));
    let at = match app.screen {
        Screen::Start => 0,
        _ => rows
            .iter()
            .position(|l| l.spans.len() == 1 && l.spans[0].content == want)
            .unwrap_or(0),
    };
    app.help = Some(at.min(max_scroll(app)));
}

/// Every screen's keys, by screen.
pub fn lines() -> Vec<(&'static str, &'static str)> {
    let mut out = vec![("", "Everywhere")];
    out.extend(help_lines(super::GLOBAL));
    for screen in [
        Screen::Start,
        Screen::MyCode,
        Screen::Scan,
        Screen::Paste,
        Screen::Connecting,
        Screen::Chat,
    ] {
        let keys = help_lines(super::table(screen));
        if keys.is_empty() {
            continue;
        }
        out.push(("", title(screen)));
        out.extend(keys);
    }
    out.push(("", "A known peer asking (\"bob wants to chat\")"));
    out.extend(crate::tui::known::PROMPT_KEYS.iter().copied());
    out.push(("", "Chat commands (type them, then Enter)"));
    out.extend(super::chat::COMMANDS.iter().copied());
    out.push(("", "Marks after your messages (to another qrchat)"));
    out.extend(super::chat::MARKS.iter().copied());
    out
}

fn title(screen: Screen) -> &'static str {
    match screen {
        Screen::Start => "Start",
        Screen::MyCode => "My code",
        Screen::Scan => "Scan",
        Screen::Paste => "Paste",
        Screen::Connecting => "Connecting",
        Screen::Chat => "Chat",
    }
}

const WIDTH: u16 = 76;
/// Columns before the key's description.
const KEY_COLS: usize = 13;

/// The help's rows for a box `inner` columns wide: the descriptions wrapped under
/// themselves.
fn rows(inner: usize) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    for (k, what) in lines() {
        if k.is_empty() {
            out.push(Line::styled(what, ui::warn_style()));
            continue;
        }
        let wrapped = super::chat::wrap(what, inner.saturating_sub(KEY_COLS).max(8));
        // A key wider than its column ("(not delivered)") gets a row of its own.
        let own_row = crate::tui::input::width(k) > KEY_COLS - 2;
        if own_row {
            out.push(Line::styled(format!("  {k}"), ui::key_style()));
        }
        for (i, w) in wrapped.into_iter().enumerate() {
            let key = if i == 0 && !own_row {
                format!("  {k:<11}")
            } else {
                " ".repeat(KEY_COLS)
            };
            out.push(Line::from(vec![
                Span::styled(key, ui::key_style()),
                Span::raw(w),
            ]));
        }
    }
    out
}

/// The box inside `full`, and its rows.
fn layout(full: Rect) -> (Rect, Vec<Line<'static>>) {
    let w = WIDTH.min(full.width);
    let rows = rows(w.saturating_sub(2) as usize);
    (ui::centered(full, w, rows.len() as u16 + 2), rows)
}

/// Where the box goes on the app's terminal: between the title bar and the footer.
fn full_area(app: &App) -> Rect {
    Rect::new(0, 1, app.size.0, app.size.1.saturating_sub(2))
}

fn visible_rows(app: &App) -> usize {
    layout(full_area(app)).0.height.saturating_sub(2) as usize
}

fn max_scroll(app: &App) -> usize {
    let (r, rows) = layout(full_area(app));
    rows.len()
        .saturating_sub(r.height.saturating_sub(2) as usize)
}

/// Draw the box over the body (`area`: between the title bar and the footer).
pub fn draw(f: &mut Frame, area: Rect, app: &App) {
    let (r, all) = layout(area);
    let visible = r.height.saturating_sub(2) as usize;
    let first = app.help.unwrap_or(0).min(all.len().saturating_sub(visible));
    let n = all.len();
    let shown: Vec<Line> = all.into_iter().skip(first).take(visible).collect();
    let title = if n > visible {
        let below = n - first - shown.len();
        format!("keys: {first} above, {below} below (↑↓ scroll)")
    } else {
        "keys".to_string()
    };
    f.render_widget(ratatui::widgets::Clear, r);
    f.render_widget(
        ratatui::widgets::Paragraph::new(shown).block(
            ratatui::widgets::Block::new()
                .borders(ratatui::widgets::Borders::ALL)
                .title(format!(" {title} ")),
        ),
        r,
    );
}
