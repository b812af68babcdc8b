//! Chat: scrollback with times and senders, wrapped; a status bar with the peer, the
//! link state and the safety number; an input with history and multi-line paste.
//!
//! Drawing touches only the lines on screen: the view is anchored on the message at its
//! bottom, so 10,000 messages cost no more than 10.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Position, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};
use ratatui::Frame;
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use crate::tui::app::{App, ChatLine, Effect, Who};
use crate::tui::input::Edit;
use crate::tui::seams;
use crate::tui::ui;

/// "HH:MM name  " before each message.
pub const PREFIX: u16 = 12;
/// Most rows the input grows to.
pub const INPUT_ROWS: u16 = 5;

pub fn on_key(app: &mut App, key: KeyEvent) -> Vec<Effect> {
    let (width, rows) = viewport(app);
    let page = rows.saturating_sub(1).max(1);
    match key.code {
        KeyCode::PageUp => {
            scroll_up(app, page, width);
            vec![]
        }
        KeyCode::PageDown => {
            scroll_down(app, page, width);
            vec![]
        }
        KeyCode::Esc if app.chat.peer_left.is_some() => app.new_pairing(),
        KeyCode::Esc | KeyCode::End if app.chat.scroll.is_some() && app.chat.input.is_empty() => {
            follow(app);
            vec![]
        }
        _ => match app.chat.input.key(key, true) {
            Edit::Submit => send(app),
            _ => vec![],
        },
    }
}

fn send(app: &mut App) -> Vec<Effect> {
    if app.chat.input.text().trim().is_empty() {
        return vec![];
    }
    if app.chat.peer_left.is_some() {
        app.push_line(Who::Warn, "the peer has left: nothing was sent".into());
        return vec![];
    }
    if app.chat.input.text().len() > seams::MAX_SEND_BYTES {
        app.push_line(
            Who::Warn,
            format!(
                "too long to send ({} bytes, at most {}): nothing was sent",
                app.chat.input.text().len(),
                seams::MAX_SEND_BYTES
            ),
        );
        return vec![];
    }
    let text = app.chat.input.take();
    follow(app);
    app.push_line(Who::Me, seams::sanitize(&text));
    vec![Effect::Send(text)]
}

pub fn keys(app: &App) -> Vec<(&'static str, &'static str)> {
    let mut k = vec![
        ("Enter", "send"),
        ("Alt-Enter", "new line"),
        ("PgUp/PgDn", "scroll"),
    ];
    if app.chat.peer_left.is_some() {
        k.insert(0, ("Esc", "new pairing"));
    }
    k
}

/// Rows the input takes.
fn input_rows(app: &App) -> u16 {
    (app.chat.input.text().split('\n').count() as u16).clamp(1, INPUT_ROWS)
}

/// The message area's text width and height for the app's terminal size.
pub fn viewport(app: &App) -> (usize, usize) {
    let (w, h) = app.size;
    let body = h.saturating_sub(2);
    let rows = body.saturating_sub(1 + input_rows(app));
    (w.saturating_sub(PREFIX).max(1) as usize, rows as usize)
}

/// Greedy word wrap by display width; words longer than the width are broken.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut out = Vec::new();
    for para in text.split('\n') {
        let mut line = String::new();
        let mut w = 0;
        for word in split_keep_spaces(para) {
            let ww = word.width();
            if w + ww <= width {
                line.push_str(word);
                w += ww;
                continue;
            }
            if word.trim().is_empty() {
                // A space at the break: drop it.
                out.push(std::mem::take(&mut line));
                w = 0;
                continue;
            }
            if w > 0 && ww <= width {
                out.push(std::mem::take(&mut line));
                line.push_str(word);
                w = ww;
                continue;
            }
            for c in word.chars() {
                let cw = c.width().unwrap_or(0);
                if w + cw > width && w > 0 {
                    out.push(std::mem::take(&mut line));
                    w = 0;
                }
                line.push(c);
                w += cw;
            }
        }
        out.push(line);
    }
    out
}

fn split_keep_spaces(s: &str) -> impl Iterator<Item = &str> {
    let mut rest = s;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let space = rest.starts_with(' ');
        let end = rest
            .char_indices()
            .find(|(_, c)| (*c == ' ') != space)
            .map_or(rest.len(), |(i, _)| i);
        let (a, b) = rest.split_at(end);
        rest = b;
        Some(a)
    })
}

fn rows_of(line: &ChatLine, width: usize) -> usize {
    wrap(&line.text, width).len()
}

/// Follow the newest message again.
pub fn follow(app: &mut App) {
    app.chat.scroll = None;
    app.chat.unseen = 0;
}

/// Scroll up by `n` rows.
pub fn scroll_up(app: &mut App, n: usize, width: usize) {
    let lines = &app.chat.lines;
    if lines.is_empty() {
        return;
    }
    let (mut i, mut hidden) = app.chat.scroll.unwrap_or((lines.len() - 1, 0));
    hidden += n;
    loop {
        let r = rows_of(&lines[i], width);
        if hidden < r {
            break;
        }
        if i == 0 {
            hidden = r - 1;
            break;
        }
        hidden -= r;
        i -= 1;
    }
    // Do not scroll past the top: the first row stays at the top of the view.
    let (_, rows) = viewport(app);
    let mut above = rows_of(&lines[i], width) - hidden;
    let mut j = i;
    while above < rows && j > 0 {
        j -= 1;
        above += rows_of(&lines[j], width);
    }
    if above < rows {
        // Anchor so that message 0 starts at the top row.
        let mut filled = 0;
        let mut k = 0;
        loop {
            let r = rows_of(&lines[k], width);
            if filled + r >= rows || k + 1 == lines.len() {
                i = k;
                hidden = (filled + r).saturating_sub(rows);
                break;
            }
            filled += r;
            k += 1;
        }
    }
    if i + 1 == lines.len() && hidden == 0 {
        follow(app);
    } else {
        app.chat.scroll = Some((i, hidden));
    }
}

/// Scroll down by `n` rows.
pub fn scroll_down(app: &mut App, n: usize, width: usize) {
    let Some((mut i, hidden)) = app.chat.scroll else {
        return;
    };
    let lines = &app.chat.lines;
    let mut hidden = hidden as isize - n as isize;
    while hidden < 0 {
        i += 1;
        if i >= lines.len() {
            follow(app);
            return;
        }
        hidden += rows_of(&lines[i], width) as isize;
    }
    if i + 1 == lines.len() && hidden == 0 {
        follow(app);
    } else {
        app.chat.scroll = Some((i, hidden as usize));
    }
}

pub fn draw(f: &mut Frame, area: Rect, app: &App) {
    let in_rows = input_rows(app);
    let [msgs, status, input] = Layout::vertical([
        Constraint::Min(0),
        Constraint::Length(1),
        Constraint::Length(in_rows),
    ])
    .areas(area);
    f.render_widget(Messages(app), msgs);
    f.render_widget(
        Paragraph::new(status_line(app)).style(status_style(app)),
        status,
    );
    draw_input(f, input, app);
}

fn status_style(app: &App) -> Style {
    if app.chat.peer_left.is_some() {
        Style::new().fg(Color::White).bg(Color::Red)
    } else {
        Style::new().fg(Color::Black).bg(Color::Gray)
    }
}

fn status_line(app: &App) -> Line<'static> {
    let mut s = vec![];
    match &app.chat.peer_left {
        Some(r) => s.push(Span::raw(format!(" ✗ {r} "))),
        None => s.push(Span::raw(format!(" ● {} ", app.chat.state))),
    }
    if app.chat.scroll.is_some() {
        s.push(Span::styled(
            format!("│ ↑ {} new below (End) ", app.chat.unseen),
            Style::new().add_modifier(Modifier::BOLD),
        ));
    }
    if let Some(sas) = &app.chat.sas {
        s.push(Span::styled(
            format!("│ safety number {sas} "),
            Style::new().add_modifier(Modifier::BOLD),
        ));
    }
    if let Some(p) = &app.chat.peer {
        s.push(Span::raw(format!("│ peer {p} ")));
    }
    if let (Some(rtt), None) = (app.chat.rtt, &app.chat.peer_left) {
        s.push(Span::raw(format!(
            "│ rtt {:.1} ms ",
            rtt.as_secs_f64() * 1e3
        )));
    }
    Line::from(s)
}

fn draw_input(f: &mut Frame, area: Rect, app: &App) {
    let text = app.chat.input.text();
    let cursor = app.chat.input.cursor();
    // Which row and column the cursor is on, counting newlines; show the rows around it.
    let before = &text[..cursor];
    let crow = before.matches('\n').count();
    let ccol = before.rsplit('\n').next().unwrap_or("").width();
    let rows: Vec<&str> = text.split('\n').collect();
    let first = (crow + 1).saturating_sub(area.height as usize);
    let width = area.width.saturating_sub(2) as usize;
    let lines: Vec<Line> = rows
        .iter()
        .enumerate()
        .skip(first)
        .take(area.height as usize)
        .map(|(i, r)| {
            let lead = if i == 0 { "> " } else { "  " };
            // Keep the cursor's column in view on long rows.
            let skip = if i == crow && ccol >= width {
                ccol + 1 - width
            } else {
                0
            };
            let shown: String = skip_cols(r, skip);
            Line::from(vec![Span::styled(lead, ui::key_style()), Span::raw(shown)])
        })
        .collect();
    let placeholder = text.is_empty();
    if placeholder {
        let hint = if app.chat.peer_left.is_some() {
            "the peer has left"
        } else {
            "type a message"
        };
        f.render_widget(
            Paragraph::new(Line::from(vec![
                Span::styled("> ", ui::key_style()),
                Span::styled(hint, ui::dim_style()),
            ])),
            area,
        );
    } else {
        f.render_widget(Paragraph::new(lines), area);
    }
    let col = if ccol >= width { width } else { ccol };
    f.set_cursor_position(Position {
        x: area.x + 2 + col as u16,
        y: area.y + (crow - first) as u16,
    });
}

fn skip_cols(s: &str, cols: usize) -> String {
    let mut w = 0;
    s.chars()
        .skip_while(|c| {
            if w >= cols {
                return false;
            }
            w += c.width().unwrap_or(0);
            true
        })
        .collect()
}

/// The visible part of the scrollback.
struct Messages<'a>(&'a App);

impl Widget for Messages<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let app = self.0;
        let lines = &app.chat.lines;
        if lines.is_empty() || area.height == 0 {
            return;
        }
        let width = area.width.saturating_sub(PREFIX).max(1) as usize;
        let height = area.height as usize;
        let (mut i, hidden) = app.chat.scroll.unwrap_or((lines.len() - 1, 0));
        i = i.min(lines.len() - 1);
        // Collect rows bottom-up: (line index, row index within it, text).
        let mut rows: Vec<(usize, usize, String)> = Vec::with_capacity(height);
        let mut skip = hidden;
        loop {
            let wrapped = wrap(&lines[i].text, width);
            let n = wrapped.len();
            for (r, text) in wrapped.into_iter().enumerate().rev() {
                if skip > 0 {
                    skip -= 1;
                    continue;
                }
                rows.push((i, r, text));
                if rows.len() == height {
                    break;
                }
            }
            let _ = n;
            if rows.len() == height || i == 0 {
                break;
            }
            i -= 1;
        }
        // Top-aligned when there are fewer rows than the height? No: bottom-aligned, like a chat.
        let y0 = area.y + (height - rows.len()) as u16;
        for (k, (li, r, text)) in rows.iter().rev().enumerate() {
            let y = y0 + k as u16;
            let line = &lines[*li];
            let (name, style) = match line.who {
                Who::Me => ("you", Style::new().fg(Color::Cyan)),
                Who::Peer => ("peer", Style::new().fg(Color::Magenta)),
                Who::Info => ("──", ui::ok_style()),
                Who::Warn => ("!!", ui::warn_style()),
            };
            if *r == 0 {
                buf.set_string(area.x, y, &line.time, ui::dim_style());
                buf.set_string(area.x + 6, y, name, style.add_modifier(Modifier::BOLD));
            }
            let text_style = match line.who {
                Who::Info => ui::ok_style(),
                Who::Warn => ui::warn_style(),
                _ => Style::new(),
            };
            buf.set_stringn(area.x + PREFIX, y, text, width, text_style);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_breaks_at_spaces_and_inside_long_words() {
        assert_eq!(wrap("hello big world", 9), vec!["hello big", "world"]);
        assert_eq!(wrap("abcdefghij", 4), vec!["abcd", "efgh", "ij"]);
        assert_eq!(wrap("a\n\nb", 10), vec!["a", "", "b"]);
        assert_eq!(wrap("", 10), vec![""]);
        // Wide characters count two columns.
        assert_eq!(wrap("日本語です", 4), vec!["日本", "語で", "す"]);
        for l in wrap(&"word ".repeat(100), 17) {
            assert!(l.width() <= 17, "{l:?}");
        }
    }
}
