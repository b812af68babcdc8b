//! `draw`: a pure function of the app's state. A title line, the screen's body, a line
//! of keys, and the help box on top when asked for.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

use super::app::{App, Screen};
use super::screens;

pub const SPINNER: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

pub fn spinner(app: &App) -> &'static str {
    SPINNER[(app.now.as_millis() / 100) as usize % SPINNER.len()]
}

pub fn title_style() -> Style {
    Style::new().fg(Color::Black).bg(Color::Cyan)
}
pub fn key_style() -> Style {
    Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD)
}
pub fn err_style() -> Style {
    Style::new().fg(Color::Red).add_modifier(Modifier::BOLD)
}
pub fn warn_style() -> Style {
    Style::new().fg(Color::Yellow)
}
pub fn ok_style() -> Style {
    Style::new().fg(Color::Green)
}
pub fn dim_style() -> Style {
    Style::new().fg(Color::DarkGray)
}

/// Seconds as "1.2 s".
pub fn secs(d: std::time::Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

/// Paint the whole app.
pub fn draw(f: &mut Frame, app: &App) {
    let area = f.area();
    let [top, body, bottom] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(area);

    let title = screens::name(app.screen);
    let step = match (app.role(), app.screen) {
        // A notice takes the step's place on the title bar.
        _ if app.notice.is_some() => String::new(),
        (_, Screen::Start) => String::new(),
        (_, Screen::Chat) => String::new(),
        (Some(super::app::Role::Starter), _) => "  (you started the chat)".into(),
        _ => "  (you are joining)".into(),
    };
    let mut head = vec![
        Span::styled(" qrchat ", title_style().add_modifier(Modifier::BOLD)),
        Span::styled(format!(" {title}{step}"), title_style()),
    ];
    // A notice (a copy, a question before leaving) is one short line on the title bar's
    // right, so the footer's keys stay in view; cut to what fits.
    if let Some((n, _)) = &app.notice {
        let used: usize = head.iter().map(|s| super::input::width(&s.content)).sum();
        let room = (top.width as usize).saturating_sub(used + 2);
        let n = cut(n, room);
        if !n.is_empty() {
            let pad = room.saturating_sub(super::input::width(&n));
            head.push(Span::styled(" ".repeat(pad + 1), title_style()));
            head.push(Span::styled(
                format!("{n} "),
                title_style().add_modifier(Modifier::BOLD),
            ));
        }
    }
    f.render_widget(Paragraph::new(Line::from(head)).style(title_style()), top);

    match app.screen {
        Screen::Start => screens::start::draw(f, body, app),
        Screen::MyCode => screens::my_code::draw(f, body, app),
        Screen::Scan => screens::scan::draw(f, body, app),
        Screen::Paste => screens::paste::draw(f, body, app),
        Screen::Connecting => screens::connecting::draw(f, body, app),
        Screen::Chat => screens::chat::draw(f, body, app),
    }

    let keys = screens::hints(app);
    let mut spans = Vec::new();
    // Whole hints only: on a narrow terminal the last ones before "quit" give way, so no
    // key is shown cut in half.
    let cost = |(k, w): &(&str, &str)| super::input::width(k) + super::input::width(w) + 3;
    let quit = keys.last().copied();
    let mut room = (bottom.width as usize).saturating_sub(quit.as_ref().map_or(0, cost));
    for (i, hint) in keys.iter().enumerate() {
        let last = i + 1 == keys.len();
        if !last {
            if cost(hint) > room {
                // Skip to "quit".
                let (key, what) = keys[keys.len() - 1];
                spans.push(Span::styled(format!(" {key}"), key_style()));
                spans.push(Span::raw(format!(" {what} ")));
                break;
            }
            room -= cost(hint);
        }
        let (key, what) = hint;
        spans.push(Span::styled(format!(" {key}"), key_style()));
        spans.push(Span::raw(format!(" {what} ")));
    }
    // A known peer asking: its prompt takes the footer on every screen until answered
    // (the start screen shows it in its box too).
    match super::known::prompt(app) {
        Some(p) => f.render_widget(
            Paragraph::new(Line::styled(
                format!(" {p}"),
                warn_style().add_modifier(Modifier::BOLD),
            )),
            bottom,
        ),
        None => f.render_widget(Paragraph::new(Line::from(spans)), bottom),
    }

    if app.help.is_some() {
        screens::help::draw(f, body, app);
    }
}

/// `s` cut to at most `w` columns (whole characters), with "…" where it was cut.
fn cut(s: &str, w: usize) -> String {
    if super::input::width(s) <= w {
        return s.to_string();
    }
    let mut out = String::new();
    for c in s.chars() {
        let next = format!("{out}{c}");
        if super::input::width(&next) + 1 > w {
            break;
        }
        out = next;
    }
    if w == 0 {
        return String::new();
    }
    out + "…"
}

/// A centred rectangle of at most `w` x `h` inside `area`.
pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

/// A boxed, wrapped paragraph (cleared first, for overlays).
pub fn boxed(f: &mut Frame, area: Rect, title: &str, lines: Vec<Line<'_>>) {
    f.render_widget(Clear, area);
    f.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(
            Block::new()
                .borders(Borders::ALL)
                .title(format!(" {title} ")),
        ),
        area,
    );
}
