//! Snapshot tests of every screen (ratatui TestBackend + insta), and `update()` fed with
//! events. Times are fixed by setting the app's clock; fingerprints and ports are fixed by
//! the scripted session's descriptions.

use std::sync::Arc;
use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use image::GrayImage;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::Color;
use ratatui::Terminal;

use super::app::*;
use super::event::*;
use super::files::{self, Completion};
use super::session::{CloseReason, RtcError, Scripted, SdpKind, SessionDescription, SessionEvent};
use super::transfers::Stage;
use super::{ui, CameraSpec, Runner};
use crate::rtc::{LinkState, Route};
use crate::signal::{self, Format};
use crate::transfer::{Direction, OfferSummary, Progress, ReceiveReport, SendReport};

mod composer;
mod file_transfers;
mod hints;
mod history;
mod keys;
mod known;
mod leaving;
mod link_states;
mod marks;
mod notify;
mod onescan;
mod paste;
mod screens;
mod scripted_runner;
mod update;

/// A full SDP like webrtc-rs makes, with a fingerprint of `fp` bytes.
pub fn sdp(kind: SdpKind, fp: u8, port: u16) -> SessionDescription {
    let fingerprint = vec![format!("{fp:02X}"); 32].join(":");
    // ICE credentials derived from the fingerprint, as qrchat's sessions make them.
    let (ufrag, pwd) = crate::signal::ice_credentials(&[fp; 32]);
    let setup = match kind {
        SdpKind::Offer => "actpass",
        SdpKind::Answer => "active",
    };
    let sdp = [
        "v=0".to_string(),
        "o=- 4215775240449105457 2 IN IP4 0.0.0.0".to_string(),
        "s=-".into(),
        "t=0 0".into(),
        format!("a=fingerprint:sha-256 {fingerprint}"),
        "a=group:BUNDLE 0".into(),
        "m=application 9 UDP/DTLS/SCTP webrtc-datachannel".into(),
        "c=IN IP4 0.0.0.0".into(),
        "a=setup:".to_string() + setup,
        "a=mid:0".into(),
        "a=sendrecv".into(),
        "a=sctp-port:5000".into(),
        format!("a=ice-ufrag:{ufrag}"),
        format!("a=ice-pwd:{pwd}"),
        format!("a=candidate:1 1 udp 2130706431 192.168.1.20 {port} typ host"),
        format!(
            "a=candidate:2 1 udp 2130706431 10.0.0.7 {} typ host",
            port + 1
        ),
        "a=end-of-candidates".into(),
        String::new(),
    ]
    .join("\r\n");
    SessionDescription { kind, sdp }
}

fn blob(kind: SdpKind, fp: u8) -> String {
    signal::encode(&sdp(kind, fp, 50000), Format::Auto).unwrap()
}

/// The QR of a code as half-block lines, as the app draws it.
fn qr_lines(code: &str) -> Vec<String> {
    crate::qr::to_half_block_lines(&crate::qr::matrix(code).unwrap())
}

/// The text of the QR code in an image, through the real decoder.
fn scan_text(img: &GrayImage) -> Option<String> {
    String::from_utf8(crate::qr::scan(img, |_| true)?).ok()
}

/// A runner whose terminal output (bell, title, clipboard) is collected.
fn runner(
    script: Scripted,
    camera: CameraSpec,
    tx: tokio::sync::mpsc::UnboundedSender<AppEvent>,
) -> (Runner, Arc<std::sync::Mutex<Vec<u8>>>) {
    let out = Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = Sink(out.clone());
    (
        Runner::new(Arc::new(script), camera, tx, Box::new(sink)),
        out,
    )
}

struct Sink(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Sink {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn app_with(start: bool, join: bool, w: u16, h: u16) -> (App, Vec<Effect>) {
    App::new(Options {
        start,
        join,
        json: false,
        size: (w, h),
        clock_origin: 12 * 3600 + 34 * 60,
        stun: false,
        ..Default::default()
    })
}

/// The chat's newest line.
fn last_line(app: &App) -> &str {
    &app.chat.lines.back().expect("a chat line").text
}

fn key(code: KeyCode) -> AppEvent {
    AppEvent::Key(KeyEvent::new(code, KeyModifiers::NONE))
}
fn ctrl(c: char) -> AppEvent {
    AppEvent::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL))
}
fn typed(app: &mut App, text: &str) {
    for c in text.chars() {
        app.update(key(KeyCode::Char(c)));
    }
}

fn render_buffer(app: &App) -> Buffer {
    let (w, h) = app.size;
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| ui::draw(f, app)).unwrap();
    t.backend().buffer().clone()
}

fn text_of(b: &Buffer) -> String {
    let mut s = String::new();
    for y in 0..b.area.height {
        let mut line = String::new();
        for x in 0..b.area.width {
            line.push_str(b[(x, y)].symbol());
        }
        s.push_str(line.trim_end());
        s.push('\n');
    }
    s
}

fn render(app: &App) -> String {
    text_of(&render_buffer(app))
}

fn session(app: &mut App, event: SessionEvent) -> Vec<Effect> {
    let pairing = app.pairing.id;
    app.update(AppEvent::Session { pairing, event })
}

/// Press `p`, paste the other side's code (`kind`, fingerprint `fp`) and take it with Enter.
fn paste_their_code(app: &mut App, kind: SdpKind, fp: u8) {
    app.update(key(KeyCode::Char('p')));
    app.update(AppEvent::Paste(blob(kind, fp)));
    app.update(key(KeyCode::Enter));
}

/// The link opens on the LAN with the safety number 418 092, the peer at `remote`.
fn link_opens(app: &mut App, remote: Option<&str>) -> Vec<Effect> {
    session(
        app,
        SessionEvent::Open {
            sas: "418 092".into(),
            remote: remote.map(Into::into),
            route: Route::Lan,
        },
    )
}

/// My code (`kind`, fingerprint `fp`, port `port`) is made for the current pairing.
fn code_made(app: &mut App, kind: SdpKind, fp: u8, port: u16) -> Vec<Effect> {
    let pairing = app.pairing.id;
    app.update(AppEvent::Local {
        pairing,
        desc: sdp(kind, fp, port),
    })
}

/// The link stops answering (a blip), from now on.
fn link_interrupted(app: &mut App) -> Vec<Effect> {
    session(
        app,
        SessionEvent::State(LinkState::Interrupted {
            since: std::time::Instant::now(),
        }),
    )
}

/// What the scripted session says when its link opens: safety number 111 222, the peer
/// on loopback.
fn scripted_open() -> SessionEvent {
    SessionEvent::Open {
        sas: "111 222".into(),
        remote: Some("127.0.0.1:4000".into()),
        route: Route::Lan,
    }
}

/// A starter whose code is made (fingerprint 0xAA).
fn starter_with_code(w: u16, h: u16) -> App {
    let (mut app, _) = app_with(true, false, w, h);
    code_made(&mut app, SdpKind::Offer, 0xAA, 50000);
    app
}

/// Two people chatting (starter side), `n` messages in.
fn chatting(w: u16, h: u16) -> App {
    let mut app = starter_with_code(w, h);
    paste_their_code(&mut app, SdpKind::Answer, 0xBB);
    session(&mut app, SessionEvent::State(LinkState::Connecting));
    session(
        &mut app,
        SessionEvent::State(LinkState::Open { route: Route::Lan }),
    );
    link_opens(&mut app, Some("192.168.1.21:50001"));
    app
}

/// Paint half-block lines as pixels (4 px per module) to scan them back.
fn half_blocks_to_image(lines: &[String]) -> GrayImage {
    let w = lines[0].chars().count() as u32;
    let h = lines.len() as u32 * 2;
    let s = 4;
    GrayImage::from_fn(w * s, h * s, |x, y| {
        let (mx, my) = (x / s, y / s);
        let c = lines[(my / 2) as usize].chars().nth(mx as usize).unwrap();
        let dark = match c {
            '█' => true,
            '▀' => my % 2 == 0,
            '▄' => my % 2 == 1,
            _ => false,
        };
        image::Luma([if dark { 0 } else { 255 }])
    })
}

/// Feed queued events into the app and run its effects until nothing is left.
async fn pump(
    app: &mut App,
    runner: &mut Runner,
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<AppEvent>,
) {
    loop {
        match tokio::time::timeout(Duration::from_millis(200), rx.recv()).await {
            Ok(Some(e)) => {
                let fx = app.update(e);
                runner.execute_all(fx);
            }
            _ => return,
        }
    }
}

fn footer(app: &App) -> String {
    render(app).lines().last().unwrap().to_string()
}
