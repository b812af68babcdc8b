//! The TUI's figures (issue 4): time to draw one frame of the chat screen at 200x60 with
//! 10,000 messages in the scrollback, following the newest, scrolled back, with a new
//! message every frame, and for a keypress (update + draw). Prints median and p95 per
//! scenario on ratatui's TestBackend; and the time from "my description is ready" to the
//! first frame with the QR (encode, QR matrix, draw). Asserts nothing.
//!
//! `cargo bench --bench tui` (add `-- quick` for fewer frames).

use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use qrchat::rtc::SessionEvent;
use qrchat::tui::app::{App, Options, Screen};
use qrchat::tui::event::AppEvent;
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
    let pairing = app.pairing.id;
    app.update(AppEvent::Session {
        pairing,
        event: SessionEvent::Open {
            sas: "123 456".into(),
            remote: Some("192.168.1.20:50000 (host)".into()),
            route: qrchat::rtc::Route::Lan,
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

/// A description like a LAN session's: derived ICE credentials, two host candidates.
fn local_sdp(fp: u8) -> qrchat::signal::SessionDescription {
    let fingerprint = vec![format!("{fp:02X}"); 32].join(":");
    let (ufrag, pwd) = qrchat::signal::ice_credentials(&[fp; 32]);
    let sdp = [
        "v=0".to_string(),
        "o=- 4215775240449105457 2 IN IP4 0.0.0.0".into(),
        "s=-".into(),
        "t=0 0".into(),
        format!("a=fingerprint:sha-256 {fingerprint}"),
        "a=group:BUNDLE 0".into(),
        "m=application 9 UDP/DTLS/SCTP webrtc-datachannel".into(),
        "c=IN IP4 0.0.0.0".into(),
        "a=setup:actpass".into(),
        "a=mid:0".into(),
        "a=sendrecv".into(),
        "a=sctp-port:5000".into(),
        format!("a=ice-ufrag:{ufrag}"),
        format!("a=ice-pwd:{pwd}"),
        "a=candidate:1 1 udp 2130706431 192.168.1.20 50000 typ host".into(),
        "a=candidate:2 1 udp 2130706431 10.0.0.7 50001 typ host".into(),
        "a=end-of-candidates".into(),
        String::new(),
    ]
    .join("\r\n");
    qrchat::signal::SessionDescription {
        kind: qrchat::signal::SdpKind::Offer,
        sdp,
    }
}

fn code_to_qr_frame(runs: usize) -> (f64, f64) {
    let mut times = Vec::with_capacity(runs);
    let mut term = Terminal::new(TestBackend::new(W, H)).unwrap();
    for i in 0..runs {
        let (mut app, _) = App::new(Options {
            start: true,
            size: (W, H),
            ..Default::default()
        });
        let pairing = app.pairing.id;
        let desc = local_sdp((i % 250) as u8 + 1);
        let t = Instant::now();
        app.update(AppEvent::Local { pairing, desc });
        term.draw(|f| ui::draw(f, &app)).unwrap();
        times.push(t.elapsed().as_secs_f64() * 1e3);
        assert!(matches!(&app.pairing.local, Some(l) if l.qr.is_ok()));
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
        let pairing = a.pairing.id;
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

    let (m, p) = code_to_qr_frame(if quick { 20 } else { 200 });
    println!(
        "{:<44} {m:>10.3} {p:>10.3}",
        "description ready -> first frame with the QR"
    );
}
