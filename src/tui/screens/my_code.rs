//! My code: gathering progress, then the QR (or the text), the candidates and what next.

use crossterm::event::KeyCode;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

use crate::tui::app::{App, LocalCode, Role};
use crate::tui::event::Effect;
use crate::tui::keys::{always, ch, plain, Binding, ESC_BACK};
use crate::tui::ui;

/// The marker line above the code text (tests and people copy what follows it).
pub const TEXT_HEADER: &str = "My code as text";

fn has_code(app: &App) -> bool {
    app.pairing.local.is_some()
}

fn starter_with_code(app: &App) -> bool {
    app.starter() && has_code(app)
}

/// My code's keys.
pub const KEYS: &[Binding] = &[
    Binding {
        label: "s",
        chords: &[ch('s'), plain(KeyCode::Enter)],
        hint: |_| "scan answer",
        help: "scan their answer (when you started; also Enter)",
        when: starter_with_code,
        run: |app, _| app.goto_scan(),
    },
    Binding {
        label: "p",
        chords: &[ch('p')],
        hint: |_| "paste answer",
        help: "paste their answer (when you started)",
        when: starter_with_code,
        run: |app, _| app.goto_paste(None),
    },
    Binding {
        label: "t",
        chords: &[ch('t')],
        hint: |app| if app.pairing.show_text { "QR" } else { "text" },
        help: "show my code as text / as a QR",
        when: has_code,
        run: |app, _| {
            app.pairing.show_text = !app.pairing.show_text;
            vec![]
        },
    },
    Binding {
        label: "c",
        chords: &[ch('c')],
        hint: |_| "copy",
        help: "copy my code to the clipboard (OSC 52, where the terminal allows it)",
        when: has_code,
        run: |app, _| copy(app),
    },
    Binding {
        label: "r",
        chords: &[ch('r')],
        hint: |_| "retry",
        help: "try again after an error",
        when: |app| app.pairing.local_error.is_some(),
        run: |app, _| app.retry(),
    },
    ESC_BACK,
    Binding {
        label: "q",
        chords: &[ch('q')],
        hint: |_| "",
        help: "quit (where nothing is typed)",
        when: always,
        run: |app, _| app.leave_by("q"),
    },
];

/// `c`: send my code to the terminal's clipboard, and say truthfully what that means: the
/// terminal may ignore OSC 52 (tmux does by default), and nothing tells us.
fn copy(app: &mut App) -> Vec<Effect> {
    let Some(l) = &app.pairing.local else {
        return vec![];
    };
    let blob = l.blob.clone();
    // One short line: where it went, and the one thing that can stop it.
    let text = if app.opts.in_tmux {
        "sent by OSC 52: tmux needs set-clipboard on"
    } else {
        "sent to the clipboard, if the terminal allows it"
    };
    app.set_notice(text, 8);
    vec![Effect::Copy(blob)]
}

pub fn draw(f: &mut Frame, area: Rect, app: &App) {
    if let Some(err) = &app.pairing.local_error {
        let lines = vec![
            Line::styled("Could not make my code.", ui::err_style()),
            Line::raw(""),
            Line::raw(err.to_string()),
            Line::raw(""),
            Line::raw("What to try: check that this computer has a network address (or use"),
            Line::raw("--bind ADDR), give gathering more time with --gather-timeout SECS,"),
            Line::raw("and press r to retry."),
        ];
        let r = ui::centered(area, 76, 11);
        ui::boxed(f, r, "my code", lines);
        return;
    }
    let Some(local) = &app.pairing.local else {
        draw_gathering(f, area, app);
        return;
    };
    if handing_over(app) {
        draw_handing(f, area, app);
        return;
    }
    let next = next_step(app);
    let cands = format!(
        "reachable {}{}",
        candidates_line(local),
        if app.pairing.gather_cut {
            " (gathering stopped at --gather-timeout)"
        } else {
            ""
        }
    );
    let qr = local.qr.as_ref();
    let fit = qr.ok().and_then(|lines| fit_qr(lines, area));

    if app.pairing.show_text || fit.is_none() {
        let mut lines = vec![next, Line::raw("")];
        if !app.pairing.show_text {
            match qr {
                Err(e) => lines.push(Line::styled(format!("No QR: {e}"), ui::warn_style())),
                Ok(q) => {
                    let (w, h) = min_size(q);
                    lines.push(Line::styled(
                        format!(
                            "The terminal is {}x{}; the QR needs at least {}x{}. Enlarge the \
                             window or make the font smaller, or copy the code below (c).",
                            area.width,
                            area.height + 2,
                            w,
                            h + 2
                        ),
                        ui::warn_style(),
                    ))
                }
            }
        }
        lines.push(Line::styled(cands, ui::dim_style()));
        if let Some(s) = joiner_status(app) {
            lines.push(s);
        }
        lines.push(Line::styled(
            format!("{TEXT_HEADER} ({} characters):", local.blob.chars().count()),
            ui::dim_style(),
        ));
        // Rows the head takes once wrapped, plus a blank row.
        let w = area.width.max(1) as usize;
        let head = lines
            .iter()
            .map(|l| l.width().div_ceil(w).max(1) as u16)
            .sum::<u16>()
            + 1;
        let [top, text] =
            Layout::vertical([Constraint::Length(head), Constraint::Min(0)]).areas(area);
        f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), top);
        // The code alone, cut at exactly the width, so its rows join back into the code.
        let w = text.width.max(1) as usize;
        let chars: Vec<char> = local.blob.chars().collect();
        let rows: Vec<Line> = chars
            .chunks(w)
            .map(|c| Line::raw(c.iter().collect::<String>()))
            .collect();
        f.render_widget(Paragraph::new(rows), text);
        return;
    }

    let (qr_lines, with_next, with_below) = fit.expect("checked above");
    let qw = qr_lines.first().map_or(0, |l| l.chars().count()) as u16;
    let qh = qr_lines.len() as u16;
    let [top, mid, bottom] = Layout::vertical([
        Constraint::Length(with_next as u16),
        Constraint::Length(qh),
        Constraint::Min(0),
    ])
    .areas(area);
    if with_next {
        f.render_widget(Paragraph::new(next).centered(), top);
    }
    let qr_area = ui::centered(mid, qw, qh);
    let style = Style::new().fg(Color::Black).bg(Color::White);
    let qr_lines: Vec<Line> = qr_lines
        .into_iter()
        .map(|l| Line::styled(l, style))
        .collect();
    f.render_widget(Paragraph::new(qr_lines), qr_area);
    if with_below {
        let mut below = vec![Line::styled(cands, ui::dim_style()).centered()];
        if let Some(s) = joiner_status(app) {
            below.push(s.centered());
        }
        f.render_widget(Paragraph::new(below).wrap(Wrap { trim: false }), bottom);
    }
}

/// Half-block QR lines with the quiet zone cut from four modules to two (one row off the
/// top and bottom, two columns off each side): scanners read that fine, and it lets a
/// typical code fit an 80x24 terminal.
pub fn trim_quiet_zone(lines: &[String]) -> Vec<String> {
    if lines.len() < 3 {
        return lines.to_vec();
    }
    lines[1..lines.len() - 1]
        .iter()
        .map(|l| {
            let n = l.chars().count();
            l.chars().skip(2).take(n.saturating_sub(4)).collect()
        })
        .collect()
}

/// The roomiest layout that fits: the QR (full or trimmed quiet zone), and whether the
/// next-step line above and the candidates below fit too.
fn fit_qr(lines: &[String], area: Rect) -> Option<(Vec<String>, bool, bool)> {
    let size = |l: &[String]| {
        (
            l.first().map_or(0, |x| x.chars().count()) as u16,
            l.len() as u16,
        )
    };
    let (w, h) = size(lines);
    let trimmed = trim_quiet_zone(lines);
    let (tw, th) = size(&trimmed);
    let (aw, ah) = (area.width, area.height);
    if aw >= w && ah >= h + 2 {
        return Some((lines.to_vec(), true, true));
    }
    if aw >= w && ah > h {
        return Some((lines.to_vec(), true, false));
    }
    if aw >= tw && ah > th {
        return Some((trimmed, true, false));
    }
    if aw >= tw && ah >= th {
        return Some((trimmed, false, false));
    }
    None
}

/// The smallest body area the QR fits in.
fn min_size(lines: &[String]) -> (u16, u16) {
    let t = trim_quiet_zone(lines);
    (
        t.first().map_or(0, |x| x.chars().count()) as u16,
        t.len() as u16,
    )
}

/// One scan, the joiner: still within the wait for the acknowledgement.
pub fn handing_over(app: &App) -> bool {
    app.pairing
        .handing
        .is_some_and(|t| app.now < t + crate::tui::app::HAND_OVER_WAIT)
}

fn draw_handing(f: &mut Frame, area: Rect, app: &App) {
    let lines = vec![
        Line::from(vec![
            Span::styled(ui::spinner(app), ui::key_style()),
            Span::raw(" handing my answer to the other side…"),
        ]),
        Line::raw(""),
        Line::styled(
            "If it does not get through, my answer's QR shows here in a moment.",
            ui::dim_style(),
        ),
    ];
    let r = ui::centered(area, 72, 5);
    ui::boxed(f, r, "my answer", lines);
}

fn draw_gathering(f: &mut Frame, area: Rect, app: &App) {
    let (since, n) = app.pairing.gathering.unwrap_or_default();
    let what = match app.pairing.role {
        Some(Role::Joiner) => "Making my answer",
        _ => "Making my code",
    };
    let lines = vec![
        Line::from(vec![
            Span::styled(ui::spinner(app), ui::key_style()),
            Span::raw(format!(" {what}: finding my network addresses")),
        ]),
        Line::raw(""),
        Line::raw(format!(
            "candidates so far: {n}    elapsed: {}",
            ui::secs(app.now.saturating_sub(since))
        )),
        Line::raw(""),
        Line::styled(
            "This takes at most --gather-timeout seconds (3 by default).",
            ui::dim_style(),
        ),
    ];
    let r = ui::centered(area, 64, 7);
    ui::boxed(f, r, "my code", lines);
}

fn next_step(app: &App) -> Line<'static> {
    let text = match app.pairing.role {
        Some(Role::Starter) => {
            "Let the other side scan this (Join), then scan their answer: s, or paste it: p"
        }
        _ if app.pairing.used_up => {
            "The other side's code is used up: someone else joined with it first. Ask for a new code."
        }
        _ if app.pairing.handing.is_some() => {
            "Let the other side scan this answer (I am still handing it over directly)."
        }
        _ => "Now let the other side scan this answer. The chat opens when they have it.",
    };
    Line::styled(text, Style::new().add_modifier(Modifier::BOLD))
}

fn joiner_status(app: &App) -> Option<Line<'static>> {
    if app.pairing.role != Some(Role::Joiner) {
        return None;
    }
    let state = app
        .pairing
        .conn
        .states
        .last()
        .cloned()
        .unwrap_or_else(|| "waiting".into());
    // While the other side has not read the code yet: for how long (m:ss), so a slow scan
    // reads as patience, not as a hang.
    let waited = match (app.pairing.conn.waiting_since, app.pairing.conn.since) {
        (Some(t), None) => {
            let n = app.now.saturating_sub(t).as_secs();
            format!(", {}:{:02}", n / 60, n % 60)
        }
        _ => String::new(),
    };
    Some(Line::from(vec![
        Span::styled(ui::spinner(app), ui::key_style()),
        Span::raw(format!(" connection: {state}{waited}")),
    ]))
}

/// Where my code says I can be reached, in words ("on your network (192.168.1.20)").
pub fn candidates_line(local: &LocalCode) -> String {
    crate::tui::words::reach(&local.candidates)
}
