//! The TUI's figures (issue 4): time to draw one frame of the chat screen at 200x60 with
//! 10,000 messages in the scrollback, following the newest, scrolled back, with a new
//! message every frame, and for a keypress (update + draw). Prints median and p95 per
//! scenario on ratatui's TestBackend; asserts nothing.
//!
//! `cargo bench --bench tui` (add `-- quick` for fewer frames).

use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use qrchat::rtc::SessionEvent;
use qrchat::tui::app::{App, AppEvent, Options, Screen};
use qrchat::tui::ui;
use ratatui::backend::TestBackend;
use ratatui::Terminal;

const W: u16 = 200;
const H: u16 = 60;
const MESSAGES: usize = 10_000;

fn message(i: usize) -> String {
    match i % 7 {
        0 => format!("message {i}: short"),
        3 => format!(
            "message {i}: {}",
            "a longer line of chat that wraps over more than one row of the screen; ".repeat(4)
        ),
        5 => format!("message {i}: two\nlines, and unicode: 漢字 🙂 é"),
        _ => format!("message {i}: something an ordinary person would type in a chat"),
    }
}

fn chat_app() -> App {
    let (mut app, _) = App::new(Options {
        size: (W, H),
        ..Default::default()
    });
    app.screen = Screen::Chat;
    let pairing = app.pairing;
    app.update(AppEvent::Session {
        pairing,
        event: SessionEvent::Open {
            sas: "123 456".into(),
            remote: Some("192.168.1.20:50000 (host)".into()),
        },
    });
    for i in 0..MESSAGES {
        app.update(AppEvent::Session {
            pairing,
            event: SessionEvent::Message(message(i)),
        });
    }
    app
}

fn key(code: KeyCode) -> AppEvent {
    AppEvent::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Draw `frames` frames, calling `step` before each; milliseconds per frame.
fn measure(app: &mut App, frames: usize, mut step: impl FnMut(&mut App, usize)) -> (f64, f64) {
    let mut term = Terminal::new(TestBackend::new(W, H)).unwrap();
    let mut times = Vec::with_capacity(frames);
    for i in 0..frames {
        let t = Instant::now();
        step(app, i);
        term.draw(|f| ui::draw(f, app)).unwrap();
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    (pct(&times, 0.5), pct(&times, 0.95))
}

fn main() {
    let quick = std::env::args().any(|a| a == "quick");
    let frames = if quick { 100 } else { 1000 };
    let t = Instant::now();
    let base = chat_app();
    let fill: Duration = t.elapsed();
    println!(
        "chat screen {W}x{H}, {} messages in the scrollback (filled in {:.0} ms), {frames} frames each",
        base.chat.lines.len(),
        fill.as_secs_f64() * 1e3
    );
    println!("{:<44} {:>10} {:>10}", "scenario", "median ms", "p95 ms");

    let mut app = base.clone();
    let (m, p) = measure(&mut app, frames, |_, _| {});
    println!("{:<44} {m:>10.3} {p:>10.3}", "redraw, following the newest");

    let mut app = base.clone();
    let (m, p) = measure(&mut app, frames, |a, i| {
        let pairing = a.pairing;
        a.update(AppEvent::Session {
            pairing,
            event: SessionEvent::Message(message(i)),
        });
    });
    println!("{:<44} {m:>10.3} {p:>10.3}", "a new message every frame");

    let mut app = base.clone();
    let (m, p) = measure(&mut app, frames, |a, i| {
        // Page up through the history, then back down.
        let up = (i / 100) % 2 == 0;
        a.update(key(if up {
            KeyCode::PageUp
        } else {
            KeyCode::PageDown
        }));
    });
    println!(
        "{:<44} {m:>10.3} {p:>10.3}",
        "PageUp/PageDown through the history"
    );

    let mut app = base.clone();
    let (m, p) = measure(&mut app, frames, |a, i| {
        let c = (b'a' + (i % 26) as u8) as char;
        a.update(key(KeyCode::Char(c)));
        if i % 40 == 39 {
            a.update(key(KeyCode::Enter));
        }
    });
    println!(
        "{:<44} {m:>10.3} {p:>10.3}",
        "keypress in the input (update + draw)"
    );
}
