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
use super::session::{CloseReason, RtcError, Scripted, SdpKind, SessionDescription, SessionEvent};
use super::{ui, CameraSpec, Runner};
use crate::rtc::{LinkState, Route};
use crate::signal::{self, Format};

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
    &app.pairing.chat.lines.back().expect("a chat line").text
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

/// A starter whose code is made (fingerprint 0xAA).
fn starter_with_code(w: u16, h: u16) -> App {
    let (mut app, _) = app_with(true, false, w, h);
    let pairing = app.pairing.id;
    app.update(AppEvent::Local {
        pairing,
        desc: sdp(SdpKind::Offer, 0xAA, 50000),
    });
    app
}

/// Two people chatting (starter side), `n` messages in.
fn chatting(w: u16, h: u16) -> App {
    let mut app = starter_with_code(w, h);
    app.update(key(KeyCode::Char('p')));
    app.update(AppEvent::Paste(blob(SdpKind::Answer, 0xBB)));
    app.update(key(KeyCode::Enter));
    session(&mut app, SessionEvent::State(LinkState::Connecting));
    session(
        &mut app,
        SessionEvent::State(LinkState::Open { route: Route::Lan }),
    );
    session(
        &mut app,
        SessionEvent::Open {
            sas: "418 092".into(),
            remote: Some("192.168.1.21:50001".into()),
            route: Route::Lan,
        },
    );
    app
}

// ------------------------------------------------------------------ snapshots

#[test]
fn snapshot_start() {
    let (app, fx) = app_with(false, false, 80, 24);
    assert!(fx.is_empty());
    insta::assert_snapshot!("start", render(&app));
}

#[test]
fn snapshot_help() {
    let (mut app, _) = app_with(false, false, 80, 30);
    app.update(key(KeyCode::Char('?')));
    insta::assert_snapshot!("help", render(&app));
    app.update(key(KeyCode::Esc));
    assert!(app.help.is_none());
}

#[test]
fn snapshot_my_code_gathering() {
    let (mut app, fx) = app_with(true, false, 80, 24);
    assert_eq!(
        fx,
        vec![Effect::StartOffer {
            pairing: app.pairing.id
        }]
    );
    app.set_now(Duration::from_millis(1300));
    session(&mut app, SessionEvent::Gathering { candidates: 2 });
    let out = render(&app);
    assert!(out.contains("candidates so far: 2"), "{out}");
    assert!(out.contains("elapsed: 1.3 s"), "{out}");
    insta::assert_snapshot!("my_code_gathering", out);
}

#[test]
fn snapshot_my_code_qr_is_black_on_white() {
    let app = starter_with_code(130, 70);
    let b = render_buffer(&app);
    let out = text_of(&b);
    assert!(out.contains("█"), "{out}");
    assert!(out.contains("candidates: 192.168.1.20:50000 host, 10.0.0.7:50001 host"));
    // Every QR cell has an explicit black-on-white style, whatever the theme.
    let mut qr_cells = 0;
    for c in b.content() {
        if matches!(c.symbol(), "█" | "▀" | "▄") {
            assert_eq!((c.fg, c.bg), (Color::Black, Color::White));
            qr_cells += 1;
        }
    }
    assert!(qr_cells > 500);
    // The QR decodes back to the code.
    let lines = app.pairing.local.as_ref().unwrap().qr.as_ref().unwrap();
    let img = half_blocks_to_image(lines);
    assert_eq!(
        scan_text(&img).as_deref(),
        Some(app.pairing.local.as_ref().unwrap().blob.as_str())
    );
    insta::assert_snapshot!("my_code_qr", out);
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

#[test]
fn snapshot_my_code_too_small_says_size_and_shows_text() {
    let mut app = starter_with_code(40, 20);
    let out = render(&app);
    assert!(out.contains("The terminal is 40x20; the QR needs"), "{out}");
    // The code is still there, whole, as text: its rows join back into it.
    let blob = app.pairing.local.as_ref().unwrap().blob.clone();
    let joined: String = out.lines().map(str::trim_end).collect();
    assert!(joined.contains(&blob), "{out}");
    insta::assert_snapshot!("my_code_too_small", out);
    // Made big enough, the QR comes back.
    app.update(AppEvent::Resize(80, 24));
    assert!(render(&app).contains("█"));
}

/// A compact code (the length qrchat's own codes have on a LAN) fits a classic 80x24
/// terminal as a QR, with the quiet zone trimmed to two modules, and still scans.
#[test]
fn snapshot_compact_code_fits_80x24() {
    let mut app = starter_with_code(80, 24);
    let blob = "QECWIFHDGVIBINFMBNTGS5BFWOSNPPZTA4WUW6HSW4FB4EAMPHMSWKAIAP4AAAAM5RAWFCVED";
    let local = app.pairing.local.as_mut().unwrap();
    local.blob = blob.into();
    local.qr = Ok(qr_lines(blob));
    let b = render_buffer(&app);
    let out = text_of(&b);
    assert!(!out.contains("the QR needs"), "{out}");
    let qr_rows: Vec<String> = (0..b.area.height)
        .map(|y| {
            (0..b.area.width)
                .filter(|&x| b[(x, y)].bg == Color::White)
                .map(|x| b[(x, y)].symbol().to_string())
                .collect::<String>()
        })
        .filter(|r| !r.is_empty())
        .collect();
    assert!(qr_rows.len() >= 20, "{out}");
    assert_eq!(
        scan_text(&half_blocks_to_image(&qr_rows)).as_deref(),
        Some(blob)
    );
    insta::assert_snapshot!("my_code_80x24", out);
}

#[test]
fn snapshot_my_code_text_toggle_and_copy() {
    let mut app = starter_with_code(130, 70);
    app.update(key(KeyCode::Char('t')));
    let out = render(&app);
    assert!(!out.contains("█"));
    assert!(out.contains(super::screens::my_code::TEXT_HEADER));
    insta::assert_snapshot!("my_code_text", out);
    let fx = app.update(key(KeyCode::Char('c')));
    assert_eq!(
        fx,
        vec![Effect::Copy(
            app.pairing.local.as_ref().unwrap().blob.clone()
        )]
    );
    assert!(render(&app).contains("code sent to the terminal's clipboard (OSC 52)"));
}

#[test]
fn a_gathering_cut_at_the_deadline_is_said() {
    let (mut app, _) = app_with(true, false, 130, 40);
    session(
        &mut app,
        SessionEvent::Gathered {
            candidates: 1,
            timed_out: true,
        },
    );
    let pairing = app.pairing.id;
    app.update(AppEvent::Local {
        pairing,
        desc: sdp(SdpKind::Offer, 0xAA, 50000),
    });
    assert!(render(&app).contains("(gathering stopped at --gather-timeout)"));
}

#[test]
fn snapshot_my_code_error() {
    let (mut app, _) = app_with(true, false, 80, 24);
    let pairing = app.pairing.id;
    app.update(AppEvent::SessionError {
        pairing,
        error: Arc::new(RtcError::NoCandidates { hint: "" }),
    });
    let out = render(&app);
    assert!(out.contains("no usable network interface"));
    insta::assert_snapshot!("my_code_error", out);
    let fx = app.update(key(KeyCode::Char('r')));
    assert!(fx.contains(&Effect::StartOffer {
        pairing: app.pairing.id
    }));
}

#[test]
fn snapshot_joiner_answer_waiting() {
    let (mut app, fx) = app_with(false, true, 130, 70);
    assert_eq!(fx, vec![Effect::OpenCamera]);
    app.update(AppEvent::Camera(CameraEvent::Failed(Arc::new(
        crate::camera::CameraError::NoCamera(String::new()),
    ))));
    app.update(AppEvent::Paste(blob(SdpKind::Offer, 0xBB)));
    let fx = app.update(key(KeyCode::Enter));
    assert!(matches!(&fx[..], [Effect::Join { offer, .. }] if offer.kind == SdpKind::Offer));
    let pairing = app.pairing.id;
    app.update(AppEvent::Local {
        pairing,
        desc: sdp(SdpKind::Answer, 0xAA, 50002),
    });
    session(&mut app, SessionEvent::State(LinkState::Connecting));
    let out = render(&app);
    assert!(out.contains("connection: connecting"), "{out}");
    insta::assert_snapshot!("my_code_joiner", out);
}

fn gradient(w: u32, h: u32) -> GrayImage {
    GrayImage::from_fn(w, h, |x, y| {
        image::Luma([((x * 255 / w + y * 64 / h) % 256) as u8])
    })
}

#[test]
fn snapshot_scan_preview() {
    let (mut app, _) = app_with(false, true, 80, 24);
    app.update(AppEvent::Camera(CameraEvent::Opened(
        "Integrated Camera".into(),
    )));
    app.update(AppEvent::Camera(CameraEvent::Frame {
        preview: gradient(160, 120),
        code: None,
    }));
    let b = render_buffer(&app);
    let out = text_of(&b);
    assert!(out.contains("camera: Integrated Camera"));
    // The preview is drawn in gray levels.
    assert!(b
        .content()
        .iter()
        .any(|c| c.symbol() == "▀" && matches!(c.fg, Color::Rgb(v, w, x) if v == w && w == x)));
    insta::assert_snapshot!("scan", out);
}

#[test]
fn snapshot_scan_refused_and_found() {
    let (mut app, _) = app_with(false, true, 80, 24);
    app.update(AppEvent::Camera(CameraEvent::Opened("cam".into())));
    // An answer where an offer is wanted: refused with the reason, frame not green.
    app.update(AppEvent::Camera(CameraEvent::Frame {
        preview: gradient(40, 30),
        code: Some(blob(SdpKind::Answer, 0xBB)),
    }));
    let out = render(&app);
    assert!(out.contains("A code was seen but"), "{out}");
    insta::assert_snapshot!("scan_refused", out);
    // The right code: the frame turns green, and after a moment the app joins.
    app.update(AppEvent::Camera(CameraEvent::Frame {
        preview: gradient(40, 30),
        code: Some(blob(SdpKind::Offer, 0xBB)),
    }));
    let b = render_buffer(&app);
    assert_eq!(b[(0, 3)].symbol(), "┌");
    assert_eq!(b[(0, 3)].fg, Color::Green);
    insta::assert_snapshot!("scan_found", text_of(&b));
    assert!(app.update(AppEvent::Tick).is_empty());
    app.set_now(FOUND_PAUSE);
    let fx = app.update(AppEvent::Tick);
    assert!(fx.contains(&Effect::StopCamera));
    assert!(fx.iter().any(|e| matches!(e, Effect::Join { .. })));
    assert_eq!(app.screen, Screen::MyCode);
    assert!(!app.pairing.pasted, "a scanned code needs no paste warning");
}

#[test]
fn frames_that_run_out_without_a_code_lead_to_paste() {
    let (mut app, _) = app_with(false, true, 80, 24);
    app.update(AppEvent::Camera(CameraEvent::Opened("shots/".into())));
    app.update(AppEvent::Camera(CameraEvent::Frame {
        preview: gradient(40, 30),
        code: None,
    }));
    let fx = app.update(AppEvent::Camera(CameraEvent::Ended));
    assert_eq!(fx, vec![Effect::StopCamera]);
    assert_eq!(app.screen, Screen::Paste);
    assert!(render(&app).contains("No code was found in shots/"));
}

#[test]
fn snapshot_no_camera_goes_to_paste() {
    let (mut app, _) = app_with(false, true, 80, 24);
    app.update(AppEvent::Camera(CameraEvent::Failed(Arc::new(
        crate::camera::CameraError::NoCamera(String::new()),
    ))));
    assert_eq!(app.screen, Screen::Paste);
    let out = render(&app);
    // The camera's reason, said once (it already says to paste the code).
    let note = app.pairing.paste.note.clone().unwrap();
    assert_eq!(
        note,
        "Cannot scan: no camera found; use --camera-file PATH or paste the code."
    );
    assert!(out.contains("Cannot scan: no camera found"), "{out}");
    assert_eq!(out.matches("camera").count(), 2, "{out}");
    assert!(out.contains("compare the safety"), "{out}");
    insta::assert_snapshot!("paste_no_camera", out);
}

#[test]
fn snapshot_paste_states() {
    let (mut app, _) = app_with(false, true, 80, 24);
    app.update(key(KeyCode::Char('p')));
    insta::assert_snapshot!("paste_empty", render(&app));

    app.update(AppEvent::Paste("hello there".into()));
    let out = render(&app);
    assert!(out.contains("✗ "), "{out}");
    assert_eq!(app.update(key(KeyCode::Enter)), vec![]);
    insta::assert_snapshot!("paste_invalid", out);

    app.update(ctrl('u'));
    app.update(AppEvent::Paste(blob(SdpKind::Answer, 0xBB)));
    let out = render(&app);
    assert!(out.contains("expected an offer"), "{out}");
    insta::assert_snapshot!("paste_wrong_kind", out);

    app.update(ctrl('u'));
    app.update(AppEvent::Paste(blob(SdpKind::Offer, 0xBB)));
    let out = render(&app);
    assert!(out.contains("✓ offer"), "{out}");
    insta::assert_snapshot!("paste_valid", out);
}

#[test]
fn paste_of_my_own_code_is_refused() {
    let mut app = starter_with_code(80, 24);
    app.update(key(KeyCode::Char('p')));
    let own = signal::encode(&sdp(SdpKind::Answer, 0xAA, 1), Format::Auto).unwrap();
    app.update(AppEvent::Paste(own));
    let out = render(&app);
    assert!(out.contains("your own code"), "{out}");
    assert_eq!(app.update(key(KeyCode::Enter)), vec![]);
}

#[test]
fn snapshot_connecting_and_failure_hints() {
    let mut app = starter_with_code(90, 24);
    app.update(key(KeyCode::Char('p')));
    app.update(AppEvent::Paste(blob(SdpKind::Answer, 0xBB)));
    let fx = app.update(key(KeyCode::Enter));
    assert!(matches!(&fx[..], [Effect::AcceptAnswer(d)] if d.kind == SdpKind::Answer));
    assert_eq!(app.screen, Screen::Connecting);
    app.set_now(Duration::from_millis(2500));
    session(&mut app, SessionEvent::State(LinkState::Connecting));
    let out = render(&app);
    assert!(out.contains("link: connecting"), "{out}");
    insta::assert_snapshot!("connecting", out);

    // rtc gives up after its connect timeout and says so.
    app.set_now(crate::rtc::CONNECT_TIMEOUT + Duration::from_secs(1));
    session(
        &mut app,
        SessionEvent::Closed(CloseReason::NoConnection(crate::rtc::CONNECT_TIMEOUT)),
    );
    let out = render(&app);
    assert!(
        out.contains("Could not connect: no connection after 30 s"),
        "{out}"
    );
    assert!(out.contains("--stun"));
    assert!(out.contains("--turn turn:HOST:PORT"), "{out}");
    assert!(
        out.contains("(no --stun or --turn server is configured)"),
        "{out}"
    );
    insta::assert_snapshot!("connecting_failed", out);
}

#[test]
fn snapshot_chat_with_safety_number_and_paste_warning() {
    let mut app = chatting(90, 20);
    session(&mut app, SessionEvent::Message("hi! are you there?".into()));
    typed(&mut app, "yes, here");
    let fx = app.update(key(KeyCode::Enter));
    assert_eq!(fx, vec![Effect::Send("yes, here".into())]);
    session(
        &mut app,
        SessionEvent::Message("a long message that wraps over more than one line of the chat screen, so the continuation is indented under the text".into()),
    );
    typed(&mut app, "draft");
    session(&mut app, SessionEvent::Rtt(Duration::from_micros(420)));
    let out = render(&app);
    assert!(out.contains("rtt 0.4 ms"), "{out}");
    assert!(out.contains("safety number 418 092"), "{out}");
    assert!(out.contains("peer 192.168.1.21:50001"));
    assert!(out.contains("a code was pasted"));
    insta::assert_snapshot!("chat", out);
}

#[test]
fn snapshot_chat_hostile_text_is_shown_not_interpreted() {
    let mut app = chatting(80, 16);
    let hostile = "\x1b[2J\x1b]52;c;ZXZpbA==\x07bell\r\u{202e}evil\u{9b}31m";
    session(&mut app, SessionEvent::Message(hostile.into()));
    let b = render_buffer(&app);
    for c in b.content() {
        assert!(
            !c.symbol().chars().any(|ch| ch.is_control()),
            "a control character reached the screen: {:?}",
            c.symbol()
        );
    }
    let out = text_of(&b);
    assert!(out.contains("␛[2J"), "{out}");
    insta::assert_snapshot!("chat_hostile", out);
}

#[test]
fn snapshot_chat_peer_left() {
    let mut app = chatting(80, 16);
    session(&mut app, SessionEvent::Message("bye".into()));
    session(&mut app, SessionEvent::Closed(CloseReason::PeerLeft));
    let out = render(&app);
    assert!(out.contains("✗ the peer left the chat"), "{out}");
    insta::assert_snapshot!("chat_peer_left", out);
    typed(&mut app, "still there?");
    assert_eq!(app.update(key(KeyCode::Enter)), vec![]);
    assert!(render(&app).contains("nothing was sent"));
    let fx = app.update(key(KeyCode::Esc));
    assert!(fx.contains(&Effect::Close));
}

#[test]
fn snapshot_chat_scrolled_back_and_resized() {
    let mut app = chatting(60, 14);
    for i in 0..200 {
        session(
            &mut app,
            SessionEvent::Message(format!("message number {i}")),
        );
    }
    assert!(render(&app).contains("message number 199"));
    app.update(key(KeyCode::PageUp));
    app.update(key(KeyCode::PageUp));
    let out = render(&app);
    assert!(!out.contains("message number 199"), "{out}");
    assert!(out.contains("message number 180"), "{out}");
    // The status bar says how many messages are below the view (not "0 new").
    let last_shown = (0..200)
        .rev()
        .find(|i| {
            out.lines()
                .any(|l| l.ends_with(&format!("message number {i}")))
        })
        .unwrap();
    let below = 199 - last_shown;
    assert!(below >= 10, "{out}");
    assert!(out.contains(&format!("↓ {below} below\n")), "{out}");
    // New messages while scrolled back do not move the view; the status bar counts them.
    session(&mut app, SessionEvent::Message("new one".into()));
    let out = render(&app);
    assert!(
        out.contains(&format!("↓ {} below, 1 new\n", below + 1)),
        "{out}"
    );
    insta::assert_snapshot!("chat_scrolled", out);
    // Resize to something narrow: still readable, still anchored.
    app.update(AppEvent::Resize(30, 12));
    let out = render(&app);
    assert!(out.lines().all(|l| l.chars().count() <= 30));
    insta::assert_snapshot!("chat_resized", out);
    // PageDown all the way follows the newest again.
    for _ in 0..40 {
        app.update(key(KeyCode::PageDown));
    }
    assert_eq!(app.pairing.chat.scroll, None);
    assert!(render(&app).contains("new one"));
}

#[test]
fn scrolling_to_the_top_shows_the_first_line_first() {
    let mut app = chatting(60, 14);
    for i in 0..100 {
        session(&mut app, SessionEvent::Message(format!("m{i}")));
    }
    for _ in 0..50 {
        app.update(key(KeyCode::PageUp));
    }
    let out = render(&app);
    let first_body_line = out.lines().nth(1).unwrap();
    assert!(first_body_line.contains("connected to"), "{out}");
}

// ------------------------------------------------------------------ update()

#[test]
fn ctrl_c_quits_from_every_screen() {
    let screens: Vec<(&str, App)> = vec![
        ("start", app_with(false, false, 80, 24).0),
        ("gathering", app_with(true, false, 80, 24).0),
        ("scan", app_with(false, true, 80, 24).0),
        ("my code", starter_with_code(80, 24)),
        ("chat", chatting(80, 24)),
        ("help", {
            let mut a = app_with(false, false, 80, 24).0;
            a.update(key(KeyCode::Char('?')));
            a
        }),
        ("paste", {
            let mut a = app_with(false, true, 80, 24).0;
            a.update(key(KeyCode::Char('p')));
            a
        }),
        ("connecting", {
            let mut a = starter_with_code(80, 24);
            a.update(key(KeyCode::Char('p')));
            a.update(AppEvent::Paste(blob(SdpKind::Answer, 0xBB)));
            a.update(key(KeyCode::Enter));
            a
        }),
    ];
    for (name, mut app) in screens {
        let fx = app.update(ctrl('c'));
        assert!(app.quit, "{name}");
        assert_eq!(fx.last(), Some(&Effect::Quit), "{name}");
        assert!(fx.contains(&Effect::Close), "{name}");
    }
}

#[test]
fn events_of_an_old_pairing_are_ignored() {
    let mut app = starter_with_code(80, 24);
    let old = app.pairing.id;
    app.update(key(KeyCode::Esc)); // --start: Esc quits; use a fresh app instead
    let (mut app, _) = app_with(false, false, 80, 24);
    app.update(key(KeyCode::Char('s')));
    let first = app.pairing.id;
    app.update(key(KeyCode::Esc));
    app.update(key(KeyCode::Char('s')));
    assert_ne!(first, app.pairing.id);
    app.update(AppEvent::Local {
        pairing: first,
        desc: sdp(SdpKind::Offer, 1, 1),
    });
    assert!(app.pairing.local.is_none());
    let _ = old;
}

#[test]
fn json_offer_gets_a_json_answer() {
    let (mut app, _) = app_with(false, true, 80, 24);
    app.update(key(KeyCode::Char('p')));
    let json =
        serde_json::json!({"type": "offer", "sdp": sdp(SdpKind::Offer, 0xBB, 1).sdp}).to_string();
    app.update(AppEvent::Paste(json));
    app.update(key(KeyCode::Enter));
    assert!(app.pairing.json_reply);
    let pairing = app.pairing.id;
    app.update(AppEvent::Local {
        pairing,
        desc: sdp(SdpKind::Answer, 0xAA, 50002),
    });
    let reply = &app.pairing.local.as_ref().unwrap().blob;
    let v: serde_json::Value = serde_json::from_str(reply).expect("the answer is JSON");
    assert_eq!(v["type"], "answer");
}

#[test]
fn a_compact_offer_gets_a_compact_answer() {
    let (mut app, _) = app_with(false, true, 80, 24);
    app.update(key(KeyCode::Char('p')));
    app.update(AppEvent::Paste(blob(SdpKind::Offer, 0xBB)));
    app.update(key(KeyCode::Enter));
    let pairing = app.pairing.id;
    app.update(AppEvent::Local {
        pairing,
        desc: sdp(SdpKind::Answer, 0xAA, 50002),
    });
    assert!(app.pairing.local.as_ref().unwrap().blob.starts_with('Q'));
}

#[test]
fn a_paste_on_the_start_screen_joins_with_it() {
    let (mut app, _) = app_with(false, false, 80, 24);
    let fx = app.update(AppEvent::Paste(blob(SdpKind::Offer, 0xBB)));
    assert!(fx.contains(&Effect::OpenCamera) || fx.contains(&Effect::StopCamera));
    assert_eq!(app.screen, Screen::Paste);
    assert!(matches!(app.pairing.paste.verdict, Some(Ok(_))));
}

#[test]
fn scrollback_and_message_size_are_bounded() {
    let mut app = chatting(80, 24);
    for i in 0..SCROLLBACK + 50 {
        session(&mut app, SessionEvent::Message(format!("{i}")));
    }
    assert_eq!(app.pairing.chat.lines.len(), SCROLLBACK);
    session(&mut app, SessionEvent::Message("x".repeat(1 << 20)));
    let last = app.pairing.chat.lines.back().unwrap();
    assert!(last.text.chars().count() <= crate::chat::MAX_DISPLAY_CHARS + 64);
    // Still drawable, quickly enough for a test.
    assert!(render(&app).contains("x"));
}

#[test]
fn binary_and_failed_states_are_reported() {
    let mut app = chatting(80, 24);
    session(&mut app, SessionEvent::Binary(12));
    assert!(render(&app).contains("12 bytes of binary data"));
    session(&mut app, SessionEvent::Closed(CloseReason::PeerLost));
    assert!(app.pairing.chat.peer_left.is_some());
}

#[test]
fn input_history_and_multiline_in_chat() {
    let mut app = chatting(80, 24);
    typed(&mut app, "one");
    app.update(key(KeyCode::Enter));
    app.update(AppEvent::Paste("line a\nline b".into()));
    let out = render(&app);
    assert!(
        out.contains("> line a") && out.contains("  line b"),
        "{out}"
    );
    let fx = app.update(key(KeyCode::Enter));
    assert_eq!(fx, vec![Effect::Send("line a\nline b".into())]);
    // Up recalls the two-line message (cursor on its last line), Up moves to its first
    // line, and only from there does Up go on to the message before.
    app.update(key(KeyCode::Up));
    app.update(key(KeyCode::Up));
    assert_eq!(app.composer.text(), "line a\nline b");
    app.update(key(KeyCode::Up));
    assert_eq!(app.composer.text(), "one");
}

// ------------------------------------------------------------------ runner + scripted session

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

#[tokio::test]
async fn a_whole_pairing_through_the_runner_with_a_scripted_session() {
    let script = Scripted {
        local: Some(sdp(SdpKind::Offer, 0xAA, 50000)),
        on_gather: vec![SessionEvent::Gathering { candidates: 1 }],
        on_connect: vec![
            SessionEvent::State(LinkState::Connecting),
            SessionEvent::State(LinkState::Open { route: Route::Lan }),
            SessionEvent::Open {
                sas: "111 222".into(),
                remote: Some("127.0.0.1:4000".into()),
                route: Route::Lan,
            },
            SessionEvent::Message("hello from the peer".into()),
        ],
        ..Default::default()
    };
    let log = script.log.clone();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let (mut runner, _) = runner(script, CameraSpec::default(), tx);
    let (mut app, fx) = app_with(true, false, 100, 30);
    runner.execute_all(fx);
    pump(&mut app, &mut runner, &mut rx).await;
    assert!(app.pairing.local.is_some(), "the code is shown");
    assert_eq!(log.lock().unwrap().offers, 1);

    let fx = app.update(key(KeyCode::Char('p')));
    runner.execute_all(fx);
    app.update(AppEvent::Paste(blob(SdpKind::Answer, 0xBB)));
    let fx = app.update(key(KeyCode::Enter));
    runner.execute_all(fx);
    pump(&mut app, &mut runner, &mut rx).await;
    assert_eq!(app.screen, Screen::Chat);
    assert_eq!(log.lock().unwrap().accepted.len(), 1);
    assert!(render(&app).contains("hello from the peer"));

    for m in ["one", "two", "three"] {
        typed(&mut app, m);
        let fx = app.update(key(KeyCode::Enter));
        runner.execute_all(fx);
    }
    pump(&mut app, &mut runner, &mut rx).await;
    assert_eq!(log.lock().unwrap().sent, vec!["one", "two", "three"]);

    let fx = app.update(ctrl('c'));
    assert!(runner.execute_all(fx));
    runner.shutdown().await;
    assert_eq!(log.lock().unwrap().closed, 1);
}

#[tokio::test]
async fn a_failing_session_shows_its_error() {
    // What rtc says for `--bind 10.9.9.9` on a machine without that address.
    let script = Scripted {
        fail: Some(|| {
            RtcError::Bind(crate::rtc::BindError::Unknown {
                given: "10.9.9.9".into(),
                available: "lo 127.0.0.1".into(),
            })
        }),
        ..Default::default()
    };
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let (mut runner, _) = runner(script, CameraSpec::default(), tx);
    let (mut app, fx) = app_with(true, false, 80, 24);
    runner.execute_all(fx);
    pump(&mut app, &mut runner, &mut rx).await;
    assert!(render(&app).contains("--bind 10.9.9.9: no local interface has that address"));
}

#[tokio::test]
async fn camera_file_frames_are_scanned() {
    // A real QR image of an offer, through the camera loop and the scanner.
    let code = blob(SdpKind::Offer, 0xBB);
    let lines = qr_lines(&code);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("qr.png");
    half_blocks_to_image(&lines).save(&path).unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let spec = CameraSpec {
        index: None,
        file: Some(path),
    };
    let (mut runner, _) = runner(Scripted::default(), spec, tx);
    let (mut app, fx) = app_with(false, true, 80, 24);
    runner.execute_all(fx);
    let mut found = false;
    for _ in 0..50 {
        if let Some(e) = rx.recv().await {
            app.update(e);
        }
        if app.pairing.scan.found.is_some() {
            found = true;
            break;
        }
    }
    runner.execute(Effect::StopCamera);
    assert!(found, "the offer QR was seen");
}

// ------------------------------------------------------------------ round 2: the composer

fn alt_enter() -> AppEvent {
    AppEvent::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::ALT))
}

/// The composer's rows on screen: the rows from the status bar down to the footer.
fn composer_rows(out: &str) -> Vec<String> {
    let lines: Vec<&str> = out.lines().collect();
    let status = lines
        .iter()
        .rposition(|l| l.contains("safety number") || l.contains("● "))
        .unwrap();
    lines[status + 1..lines.len() - 1]
        .iter()
        .map(|l| l.to_string())
        .collect()
}

#[test]
fn snapshot_composer_wraps_grows_and_then_scrolls() {
    let mut app = chatting(80, 24);
    // 340 characters on one line: all of it shows, wrapped (not just its tail).
    let words: Vec<String> = (0..35).map(|i| format!("word{i:04}5")).collect();
    let long = words.join(" ");
    assert!(long.chars().count() >= 340);
    typed(&mut app, &long);
    let out = render(&app);
    let rows = composer_rows(&out);
    assert_eq!(rows.len(), 5, "{out}");
    let shown: String = rows
        .iter()
        .map(|r| r.trim_start_matches(['>', '↑', ' ']).trim_end())
        .collect::<Vec<_>>()
        .join(" ");
    assert_eq!(shown, long, "{out}");
    assert!(rows[0].starts_with("> word0000"), "{out}");
    insta::assert_snapshot!("chat_composer_wrapped", out);
    // Past five rows it scrolls: the cursor's row stays in view, the top row says more
    // is above.
    typed(&mut app, &format!(" {long}"));
    let out = render(&app);
    let rows = composer_rows(&out);
    assert_eq!(rows.len(), 5, "{out}");
    assert!(rows[0].starts_with("↑ "), "{out}");
    assert!(rows[4].trim_end().ends_with("word00345"), "{out}");
    // Up moves inside the draft (no history recalled), by rows.
    app.update(key(KeyCode::Enter));
    typed(&mut app, "line one");
    app.update(alt_enter());
    typed(&mut app, "line two");
    app.update(key(KeyCode::Up));
    assert_eq!(app.composer.text(), "line one\nline two");
    app.update(key(KeyCode::Up));
    assert!(
        app.composer.text().starts_with("word0000"),
        "from the first line Up recalls what was sent"
    );
}

#[test]
fn graphemes_are_drawn_whole_and_removing_them_repaints() {
    let mut app = chatting(80, 24);
    typed(&mut app, "ok 👍🏽 🇩🇪");
    let b = render_buffer(&app);
    let symbols: Vec<&str> = b.content().iter().map(|c| c.symbol()).collect();
    assert!(
        symbols.contains(&"👍🏽"),
        "the skin tone stays with the thumb"
    );
    assert!(symbols.contains(&"🇩🇪"), "the flag is one cell's symbol");
    assert!(!app.repaint);
    // Backspace takes the whole flag; the screen is repainted so no half stays behind.
    app.update(key(KeyCode::Backspace));
    assert_eq!(app.composer.text(), "ok 👍🏽 ");
    assert!(app.repaint);
    app.repaint = false;
    let fx = app.update(key(KeyCode::Enter));
    assert_eq!(fx, vec![Effect::Send("ok 👍🏽 ".into())]);
    assert!(app.repaint, "sending an emoji repaints");
    // Plain text never forces a repaint.
    app.repaint = false;
    typed(&mut app, "abc");
    app.update(key(KeyCode::Backspace));
    app.update(key(KeyCode::Enter));
    assert!(!app.repaint);
}

// ------------------------------------------------------------------ knowing something arrived

#[test]
fn unfocused_messages_ring_and_count_in_the_title() {
    let mut app = chatting(80, 24);
    assert!(session(&mut app, SessionEvent::Message("seen".into())).is_empty());
    app.update(AppEvent::Focus(false));
    let fx = session(&mut app, SessionEvent::Message("one".into()));
    assert_eq!(fx, vec![Effect::Title("(1) qrchat".into()), Effect::Bell]);
    let fx = session(&mut app, SessionEvent::Message("two".into()));
    assert_eq!(fx[0], Effect::Title("(2) qrchat".into()));
    // Looking again clears the count.
    let fx = app.update(AppEvent::Focus(true));
    assert_eq!(fx, vec![Effect::Title("qrchat".into())]);
    assert_eq!(app.unread, 0);
    // A terminal that shows notifications gets one, without the message's text.
    let mut app = chatting(80, 24);
    app.opts.notifier = Notifier::Osc777;
    app.update(AppEvent::Focus(false));
    let fx = session(&mut app, SessionEvent::Message("secret words".into()));
    assert!(matches!(&fx[1], Effect::Notify(Notifier::Osc777, body) if !body.contains("secret")));
    // --quiet: the title still counts, nothing rings.
    let mut app = chatting(80, 24);
    app.opts.quiet = true;
    app.update(AppEvent::Focus(false));
    let fx = session(&mut app, SessionEvent::Message("shh".into()));
    assert_eq!(fx, vec![Effect::Title("(1) qrchat".into())]);
}

#[test]
fn the_notifier_is_chosen_from_the_terminal() {
    let env = |pairs: &'static [(&'static str, &'static str)]| {
        move |k: &str| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    };
    assert_eq!(
        Notifier::detect(env(&[("TERM", "xterm-256color")])),
        Notifier::Bell
    );
    assert_eq!(
        Notifier::detect(env(&[("VTE_VERSION", "7600")])),
        Notifier::Osc777
    );
    assert_eq!(Notifier::detect(env(&[("TERM", "foot")])), Notifier::Osc777);
    assert_eq!(
        Notifier::detect(env(&[("TERM_PROGRAM", "iTerm.app")])),
        Notifier::Osc9
    );
    // tmux swallows both OSCs: the bell it is.
    assert_eq!(
        Notifier::detect(env(&[("TMUX", "/tmp/x"), ("VTE_VERSION", "7600")])),
        Notifier::Bell
    );
}

#[tokio::test]
async fn the_runner_writes_bell_title_and_notifications_to_the_terminal() {
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let (mut runner, out) = runner(Scripted::default(), CameraSpec::default(), tx);
    runner.execute_all(vec![
        Effect::Bell,
        Effect::Title("(1) qrchat".into()),
        Effect::Notify(Notifier::Osc777, "a new\x07 message".into()),
        Effect::Notify(Notifier::Osc9, "hi".into()),
    ]);
    let bytes = String::from_utf8(out.lock().unwrap().clone()).unwrap();
    assert_eq!(
        bytes,
        "\x07\x1b]2;(1) qrchat\x1b\\\x1b]777;notify;qrchat;a new message\x1b\\\x1b]9;qrchat: hi\x1b\\"
    );
}

// ------------------------------------------------------------------ keys mean one thing

fn footer(app: &App) -> String {
    render(app).lines().last().unwrap().to_string()
}

#[test]
fn esc_goes_back_one_step_and_quits_only_from_the_first_screen() {
    // The start screen is the first: Esc quits.
    let (mut app, _) = app_with(false, false, 80, 24);
    assert!(footer(&app).contains("q quit"));
    assert_eq!(app.update(key(KeyCode::Esc)).last(), Some(&Effect::Quit));

    // --start: my code is the first screen.
    let mut app = starter_with_code(80, 24);
    assert!(footer(&app).contains("Esc quit"), "{}", footer(&app));
    assert!(app.update(key(KeyCode::Esc)).contains(&Effect::Quit));

    // Start -> s -> my code: Esc goes back to start (closing the session), not out.
    let (mut app, _) = app_with(false, false, 80, 24);
    app.update(key(KeyCode::Char('s')));
    assert!(footer(&app).contains("Esc back"));
    let fx = app.update(key(KeyCode::Esc));
    assert!(fx.contains(&Effect::Close) && !fx.contains(&Effect::Quit));
    assert_eq!(app.screen, Screen::Start);

    // The starter's paste screen, from scan: back to scan; from there back to my code.
    let mut app = starter_with_code(80, 24);
    app.update(key(KeyCode::Char('s')));
    app.update(key(KeyCode::Char('p')));
    assert_eq!(app.screen, Screen::Paste);
    assert_eq!(app.update(key(KeyCode::Esc)), vec![Effect::OpenCamera]);
    assert_eq!(app.screen, Screen::Scan);
    assert_eq!(app.update(key(KeyCode::Esc)), vec![Effect::StopCamera]);
    assert_eq!(app.screen, Screen::MyCode);

    // --join, no camera: the paste screen is the first one; its footer says Esc quits
    // and Esc does (it did nothing before).
    let (mut app, _) = app_with(false, true, 80, 24);
    app.update(AppEvent::Camera(CameraEvent::Failed(Arc::new(
        crate::camera::CameraError::NoCamera(String::new()),
    ))));
    assert!(footer(&app).contains("Esc quit"), "{}", footer(&app));
    assert!(app.update(key(KeyCode::Esc)).contains(&Effect::Quit));

    // --join with a camera: scan is first (Esc quits); paste from there goes back to it.
    let (mut app, _) = app_with(false, true, 80, 24);
    assert!(footer(&app).contains("Esc quit"));
    app.update(key(KeyCode::Char('p')));
    assert!(footer(&app).contains("Esc back"));
    assert_eq!(app.update(key(KeyCode::Esc)), vec![Effect::OpenCamera]);
    assert_eq!(app.screen, Screen::Scan);

    // Join from start: scan -> Esc -> start.
    let (mut app, _) = app_with(false, false, 80, 24);
    app.update(key(KeyCode::Char('j')));
    let fx = app.update(key(KeyCode::Esc));
    assert!(fx.contains(&Effect::StopCamera) && !fx.contains(&Effect::Quit));
    assert_eq!(app.screen, Screen::Start);

    // The joiner's answer: Esc drops it and reads their code again.
    let (mut app, _) = app_with(false, true, 80, 24);
    app.update(key(KeyCode::Char('p')));
    app.update(AppEvent::Paste(blob(SdpKind::Offer, 0xBB)));
    app.update(key(KeyCode::Enter));
    assert_eq!(app.screen, Screen::MyCode);
    let fx = app.update(key(KeyCode::Esc));
    assert!(fx.contains(&Effect::Close) && fx.contains(&Effect::OpenCamera));
    assert_eq!(app.screen, Screen::Scan);

    // Connecting: Esc cancels (a new pairing), shown as such.
    let mut app = starter_with_code(80, 24);
    app.update(key(KeyCode::Char('p')));
    app.update(AppEvent::Paste(blob(SdpKind::Answer, 0xBB)));
    app.update(key(KeyCode::Enter));
    assert!(footer(&app).contains("Esc cancel"), "{}", footer(&app));
    let fx = app.update(key(KeyCode::Esc));
    assert!(fx.contains(&Effect::Close));
    assert_eq!(app.screen, Screen::MyCode, "--start makes a new code");

    // The chat: Esc is offered only when it does something (scrolled back, peer gone).
    let mut app = chatting(80, 24);
    assert!(!footer(&app).contains("Esc"), "{}", footer(&app));
    assert!(app.update(key(KeyCode::Esc)).is_empty());
    assert_eq!(app.screen, Screen::Chat);
}

#[test]
fn footers_offer_only_keys_that_work() {
    // Paste, nothing pasted: no Enter, no clear.
    let (mut app, _) = app_with(false, true, 80, 24);
    app.update(key(KeyCode::Char('p')));
    let f = footer(&app);
    assert!(!f.contains("Enter") && !f.contains("Ctrl-U"), "{f}");
    // A bad code: clear, but no Enter.
    app.update(AppEvent::Paste("nope".into()));
    let f = footer(&app);
    assert!(f.contains("Ctrl-U clear") && !f.contains("Enter"), "{f}");
    // My code while gathering: no copy or text toggle yet.
    let (app, _) = app_with(true, false, 80, 24);
    let f = footer(&app);
    assert!(!f.contains("copy") && !f.contains(" t "), "{f}");
    // Chat, following the newest: End is not offered (it would move the cursor only).
    let mut app = chatting(100, 24);
    assert!(!footer(&app).contains("End"));
    for i in 0..50 {
        session(&mut app, SessionEvent::Message(format!("m{i}")));
    }
    app.update(key(KeyCode::PageUp));
    let f = footer(&app);
    assert!(f.contains("End newest") && f.contains("Esc newest"), "{f}");
}

#[test]
fn snapshot_help_scrolls_on_a_small_terminal() {
    let (mut app, _) = app_with(false, false, 80, 14);
    app.update(key(KeyCode::Char('?')));
    let out = render(&app);
    assert!(out.contains("0 above"), "{out}");
    assert!(out.contains("↑↓ scroll"), "{out}");
    insta::assert_snapshot!("help_small", out);
    for _ in 0..100 {
        app.update(key(KeyCode::Down));
    }
    let out = render(&app);
    assert!(out.contains(", 0 below"), "{out}");
    // The last section, the chat's commands, is in view down to its last line.
    assert!(
        out.contains("Chat commands") && out.contains("(also Ctrl-X)"),
        "the last section comes into view: {out}"
    );
    app.update(key(KeyCode::Esc));
    assert!(app.help.is_none());
}

#[test]
fn every_key_in_a_footer_is_in_the_help_and_does_something() {
    use super::keys;
    // Each binding that is offered somewhere is explained in the help (directly or by a
    // line for the same key on that screen).
    let help = super::screens::help::lines();
    for screen in [
        Screen::Start,
        Screen::MyCode,
        Screen::Scan,
        Screen::Paste,
        Screen::Connecting,
        Screen::Chat,
    ] {
        for b in super::screens::table(screen) {
            if b.label == "Esc" || b.label == "q" {
                continue; // explained once, under "Everywhere"
            }
            assert!(
                help.iter().any(|(k, _)| *k == b.label),
                "{screen:?}: {} is not in the help",
                b.label
            );
        }
    }
    assert!(help.iter().any(|(k, _)| *k == "Esc"));
    let _ = keys::always;
}

// ------------------------------------------------------------------ truthful hints

#[test]
fn the_copy_hint_says_what_osc_52_can_and_cannot_do() {
    let mut app = starter_with_code(130, 70);
    app.update(key(KeyCode::Char('c')));
    let out = render(&app);
    assert!(out.contains("if the terminal allows it"), "{out}");
    assert!(!out.contains("code copied"), "{out}");
    let mut app = starter_with_code(130, 70);
    app.opts.in_tmux = true;
    app.update(key(KeyCode::Char('c')));
    assert!(render(&app).contains("set-clipboard on"));
}

#[test]
fn a_narrow_status_bar_keeps_the_state_and_the_safety_number() {
    let mut app = chatting(100, 16);
    session(&mut app, SessionEvent::Rtt(Duration::from_micros(420)));
    let status = |app: &App| {
        render(app)
            .lines()
            .find(|l| l.contains("418 092") && l.contains("●"))
            .map(str::to_string)
    };
    let wide = status(&app).unwrap();
    assert!(wide.contains("rtt 0.4 ms") && wide.contains("peer 192.168.1.21"));
    for w in [60, 40, 30, 24] {
        app.update(AppEvent::Resize(w, 16));
        let s = status(&app).unwrap_or_else(|| panic!("no safety number at {w}"));
        assert!(s.contains("connected"), "{w}: {s}");
        assert!(s.chars().count() <= w as usize, "{w}: {s}");
    }
    app.update(AppEvent::Resize(30, 16));
    insta::assert_snapshot!("chat_status_narrow", render(&app));
}

// ------------------------------------------------------------------ pasting forgives

#[test]
fn a_quoted_labelled_split_code_is_found_in_the_paste() {
    let (mut app, _) = app_with(false, true, 80, 24);
    app.update(key(KeyCode::Char('p')));
    let code = blob(SdpKind::Offer, 0xBB);
    let (a, b) = code.split_at(code.len() / 2);
    app.update(AppEvent::Paste(format!("my code: '{a}\n{b}'")));
    assert!(
        matches!(app.pairing.paste.verdict, Some(Ok(_))),
        "{}",
        render(&app)
    );
    let fx = app.update(key(KeyCode::Enter));
    assert!(matches!(&fx[..], [Effect::Join { offer, .. }] if offer.kind == SdpKind::Offer));
}

#[test]
fn pasting_my_own_offer_says_it_is_my_own_code() {
    let mut app = starter_with_code(80, 24);
    let own = app.pairing.local.as_ref().unwrap().blob.clone();
    app.update(key(KeyCode::Char('p')));
    app.update(AppEvent::Paste(own));
    let out = render(&app);
    assert!(out.contains("your own code"), "{out}");
    assert!(!out.contains("expected an answer"), "{out}");
}

// ------------------------------------------------------------------ link states in words

#[test]
fn link_states_are_shown_in_words() {
    let mut app = chatting(120, 20);
    let status = |app: &App| {
        render(app)
            .lines()
            .find(|l| l.contains("418 092") && l.contains("│"))
            .unwrap()
            .to_string()
    };
    assert!(
        status(&app).contains("● connected (direct on your network)"),
        "{}",
        status(&app)
    );
    assert!(render(&app).contains("connected to 192.168.1.21:50001 (direct on your network)"));
    // A blip: interrupted, counting; after a few seconds, not responding; then back.
    app.set_now(Duration::from_secs(10));
    session(
        &mut app,
        SessionEvent::State(LinkState::Interrupted {
            since: std::time::Instant::now(),
        }),
    );
    assert!(app.animating(), "the seconds count up");
    app.set_now(Duration::from_secs(12));
    assert!(
        status(&app).contains("◌ interrupted (reconnecting, 2 s)"),
        "{}",
        status(&app)
    );
    assert!(render(&app).contains("the link is interrupted: reconnecting"));
    app.set_now(Duration::from_secs(17));
    assert!(
        status(&app).contains("◌ not responding (reconnecting, 7 s)"),
        "{}",
        status(&app)
    );
    session(
        &mut app,
        SessionEvent::State(LinkState::Open { route: Route::Nat }),
    );
    assert!(status(&app).contains("● connected (direct through a NAT)"));
    assert!(render(&app).contains("the link is back (direct through a NAT)"));
    // The joiner waiting for the starter to read its answer says so.
    let (mut app, _) = app_with(false, true, 130, 70);
    app.update(key(KeyCode::Char('p')));
    app.update(AppEvent::Paste(blob(SdpKind::Offer, 0xBB)));
    app.update(key(KeyCode::Enter));
    let pairing = app.pairing.id;
    app.update(AppEvent::Local {
        pairing,
        desc: sdp(SdpKind::Answer, 0xAA, 50002),
    });
    session(&mut app, SessionEvent::State(LinkState::WaitingForPeer));
    assert!(render(&app).contains("connection: waiting for the other side to read my code, 0:00"));
    assert!(app.animating(), "the time waited counts up");
    app.set_now(app.now + Duration::from_secs(72));
    assert!(render(&app).contains("connection: waiting for the other side to read my code, 1:12"));
    // Gone: the reason, in the status bar.
    let mut app = chatting(100, 20);
    session(&mut app, SessionEvent::Closed(CloseReason::PeerLost));
    assert!(render(&app).contains("✗ the peer stopped responding"));
}

// ------------------------------------------------------------------ --history, through the runner

#[tokio::test]
async fn with_history_the_chat_is_saved_and_the_app_says_where() {
    let dir = tempfile::tempdir().unwrap();
    let script = Scripted {
        local: Some(sdp(SdpKind::Offer, 0xAA, 50000)),
        on_connect: vec![
            SessionEvent::State(LinkState::Connecting),
            SessionEvent::Open {
                sas: "111 222".into(),
                remote: Some("127.0.0.1:4000".into()),
                route: Route::Lan,
            },
            SessionEvent::Message("hello from the peer".into()),
        ],
        ..Default::default()
    };
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let (runner, _) = runner(script, CameraSpec::default(), tx);
    let mut runner = runner.with_history(Some(dir.path().to_path_buf()));
    let (mut app, fx) = App::new(Options {
        start: true,
        size: (100, 30),
        history: true,
        ..Default::default()
    });
    runner.execute_all(fx);
    pump(&mut app, &mut runner, &mut rx).await;
    runner.execute_all(app.update(key(KeyCode::Char('p'))));
    app.update(AppEvent::Paste(blob(SdpKind::Answer, 0xBB)));
    let fx = app.update(key(KeyCode::Enter));
    runner.execute_all(fx);
    pump(&mut app, &mut runner, &mut rx).await;
    typed(&mut app, "and hello back");
    let fx = app.update(key(KeyCode::Enter));
    runner.execute_all(fx);
    pump(&mut app, &mut runner, &mut rx).await;

    let files: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(files.len(), 1);
    let path = files[0].as_ref().unwrap().path();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(" peer: hello from the peer"), "{text}");
    assert!(text.contains(" you: and hello back"), "{text}");
    assert!(text.contains(" --: connected to 127.0.0.1:4000"), "{text}");
    let shown = render(&app);
    assert!(shown.contains("this chat is saved to"), "{shown}");
    assert_eq!(
        runner.saved_lines(),
        [format!("the chat was saved to {}", path.display())]
    );
    // Without --history nothing is written.
    let (app2, _) = app_with(true, false, 80, 24);
    assert!(!app2.opts.history);
}

#[test]
fn an_answer_made_for_another_code_is_named_as_such() {
    let mut app = starter_with_code(80, 24);
    app.update(key(KeyCode::Char('p')));
    // An answer tied to some other offer (fingerprint 0xCC), not to mine (0xAA).
    let mut answer = sdp(SdpKind::Answer, 0xBB, 50000);
    answer.sdp = signal::tie_answer(&answer.sdp, &sdp(SdpKind::Offer, 0xCC, 50000).sdp);
    let code = signal::encode(&answer, Format::Auto).unwrap();
    app.update(AppEvent::Paste(format!("the answer: '{code}'")));
    assert!(
        matches!(
            app.pairing.paste.verdict,
            Some(Err(signal::DecodeError::AnswersAnotherCode))
        ),
        "{:?}",
        app.pairing.paste.verdict
    );
    // Tied to mine, it is taken.
    let mut answer = sdp(SdpKind::Answer, 0xBB, 50000);
    answer.sdp = signal::tie_answer(&answer.sdp, &sdp(SdpKind::Offer, 0xAA, 50000).sdp);
    app.update(ctrl('u'));
    app.update(AppEvent::Paste(
        signal::encode(&answer, Format::Auto).unwrap(),
    ));
    assert!(matches!(app.pairing.paste.verdict, Some(Ok(_))));
}

/// Re-pair in place: the link is gone for good; Ctrl-R makes a new code in the same role
/// and keeps the chat (lines and draft); when the new peer is the same app (the same
/// certificate) the chat says so, and a different one is named as different.
#[test]
fn re_pairing_keeps_the_chat_and_names_the_peer() {
    fn reopen(app: &mut App, fp: u8) {
        let pairing = app.pairing.id;
        app.update(AppEvent::Local {
            pairing,
            desc: sdp(SdpKind::Offer, 0xAA, 50000),
        });
        app.update(key(KeyCode::Char('p')));
        app.update(AppEvent::Paste(blob(SdpKind::Answer, fp)));
        app.update(key(KeyCode::Enter));
        session(
            app,
            SessionEvent::State(LinkState::Open { route: Route::Lan }),
        );
        session(
            app,
            SessionEvent::Open {
                sas: "418 092".into(),
                remote: Some("192.168.1.21:50001".into()),
                route: Route::Lan,
            },
        );
    }
    let mut app = chatting(100, 30);
    session(&mut app, SessionEvent::Message("before the break".into()));
    typed(&mut app, "half a thought");
    // Ctrl-R does nothing while the link is up (and types nothing).
    assert!(app.update(ctrl('r')).is_empty());
    assert_eq!(app.composer.text(), "half a thought");
    session(&mut app, SessionEvent::Closed(CloseReason::PeerLost));
    assert!(render(&app).contains("Ctrl-R"), "{}", render(&app));
    let old_pairing = app.pairing.id;
    let fx = app.update(ctrl('r'));
    assert!(fx.contains(&Effect::Close), "{fx:?}");
    assert!(
        fx.iter().any(|e| matches!(e, Effect::StartOffer { .. })),
        "{fx:?}"
    );
    assert_ne!(app.pairing.id, old_pairing);
    assert_eq!(app.screen, Screen::MyCode);
    assert_eq!(app.composer.text(), "half a thought", "the draft is kept");

    reopen(&mut app, 0xBB);
    assert_eq!(app.screen, Screen::Chat);
    let out = render(&app);
    assert!(out.contains("before the break"), "the chat is kept: {out}");
    assert!(out.contains("the same app as before"), "{out}");
    assert!(app.pairing.chat.peer_left.is_none());

    // Another certificate this time: named as a different peer.
    session(&mut app, SessionEvent::Closed(CloseReason::PeerLost));
    app.update(ctrl('r'));
    reopen(&mut app, 0xCC);
    let out = render(&app);
    assert!(out.contains("a different peer than before"), "{out}");
    assert!(out.contains("before the break"), "{out}");
}

// ------------------------------------------------------------------ files in the chat

use super::files::{self, Completion};
use super::transfers::{Stage, TransferEvent};
use crate::transfer::{Direction, OfferSummary, Progress, ReceiveReport, SendReport};

/// A chat (starter side) with a qrchat peer, paths relative to `dir`, files received
/// into `dir/in`.
fn chatting_in(dir: &std::path::Path) -> App {
    let mut app = chatting(100, 24);
    app.opts.cwd = Some(dir.to_path_buf());
    app.opts.home = Some(dir.join("home"));
    app.opts.receive_dir = Some(dir.join("in"));
    let pairing = app.pairing.id;
    app.update(AppEvent::Session {
        pairing,
        event: SessionEvent::Peer { qrchat: true },
    });
    app
}

fn enter(app: &mut App, text: &str) -> Vec<Effect> {
    typed(app, text);
    app.update(key(KeyCode::Enter))
}

/// The chat's message rows (between the title and the status bar), trimmed.
fn chat_rows(app: &App) -> Vec<String> {
    let out = render(app);
    let rows: Vec<&str> = out.lines().collect();
    rows[1..rows.len().saturating_sub(3)]
        .iter()
        .map(|l| l.trim_end().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

fn progress(direction: Direction, name: &str, done: u64, total: u64, rate: f64) -> Progress {
    Progress {
        direction,
        name: name.into(),
        file: name.into(),
        done,
        total,
        rate,
        eta: (rate > 0.0).then(|| Duration::from_secs_f64((total - done) as f64 / rate)),
    }
}

#[test]
fn send_words_are_split_as_a_shell_does() {
    let w = files::split(r#"a\ b 'c d' "e \"f\"" g'h i'j ~/k"#);
    assert_eq!(w.words, vec!["a b", "c d", "e \"f\"", "gh ij", "~/k"]);
    assert_eq!(w.open_quote, None);
    assert!(!w.ended);
    let w = files::split("'unclosed dir/");
    assert_eq!(w.open_quote, Some('\''));
    assert!(files::split("a ").ended);
    let home = std::path::Path::new("/home/u");
    assert_eq!(files::expand("~/x", Some(home)), home.join("x"));
    assert_eq!(files::expand("~", Some(home)), home);
    assert_eq!(
        files::expand("~bob/x", Some(home)),
        std::path::Path::new("~bob/x")
    );
    assert_eq!(files::quote("/a/b.txt"), "/a/b.txt");
    assert_eq!(files::quote("/a/it's here"), r"'/a/it'\''s here'");
    // What quote makes, split gives back.
    for p in ["/a b/c", "it's", "$HOME", "x\"y", "tab\there"] {
        assert_eq!(files::split(&files::quote(p)).words, vec![p.to_string()]);
    }
    assert_eq!(
        files::file_url("file:///tmp/a%20b.txt"),
        Some("/tmp/a b.txt".into())
    );
    assert_eq!(files::file_url("file://localhost/x"), Some("/x".into()));
    assert_eq!(files::file_url("file://evil.example/x"), None);
    assert_eq!(files::file_url("file:///bad%zz"), None);
}

#[test]
fn send_offers_existing_paths_and_names_missing_ones() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("a.txt"), b"hello").unwrap();
    std::fs::write(d.join("my file.txt"), vec![0u8; 2_100_000]).unwrap();
    std::fs::create_dir_all(d.join("home/pics")).unwrap();
    let mut app = chatting_in(d);

    // A missing path: named, nothing sent (even when others exist).
    let fx = enter(&mut app, "/send a.txt nope.txt");
    assert!(fx.is_empty(), "{fx:?}");
    let want = format!(
        "no such file or folder: {}. Nothing was sent.",
        d.join("nope.txt").display()
    );
    assert_eq!(last_line(&app), want);
    assert!(app.pairing.transfers.is_empty());

    // An unclosed quote is said as such.
    enter(&mut app, "/send 'my file.txt");
    assert!(last_line(&app).contains("quote is not closed"));
    // /send alone says how.
    enter(&mut app, "/send");
    assert!(last_line(&app).contains("/send PATH"));

    // Quoted, escaped and ~ paths, several at once: one transfer.
    let fx = enter(&mut app, r"/send 'my file.txt' a.txt ~/pics");
    assert_eq!(
        fx,
        vec![Effect::SendFiles {
            id: 1,
            paths: vec![d.join("my file.txt"), d.join("a.txt"), d.join("home/pics")],
        }]
    );
    let line = &last_line(&app);
    assert!(
        line.starts_with(
            "offering 3 items (2.1 MB in files, plus folders): my file.txt, a.txt, pics/"
        ),
        "{line}"
    );
    let fx = enter(&mut app, r"/send my\ file.txt");
    assert_eq!(
        fx,
        vec![Effect::SendFiles {
            id: 2,
            paths: vec![d.join("my file.txt")]
        }]
    );
    assert!(render(&app).contains("offering my file.txt (2.1 MB): waiting for the peer to accept"));
    // Commands are not chat messages; a message that merely starts with / is.
    assert!(!app.pairing.chat.lines.iter().any(|l| l.who == Who::Me));
    let fx = enter(&mut app, "/shrug ok");
    assert_eq!(fx, vec![Effect::Send("/shrug ok".into())]);
}

#[test]
fn a_browser_peer_is_told_to_need_qrchat_for_files() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.txt"), b"x").unwrap();
    let mut app = chatting_in(dir.path());
    let pairing = app.pairing.id;
    app.update(AppEvent::Session {
        pairing,
        event: SessionEvent::Peer { qrchat: false },
    });
    let fx = enter(&mut app, "/send a.txt");
    assert!(fx.is_empty());
    let out = render(&app);
    assert!(out.contains("files need qrchat on both sides"), "{out}");
    // A dropped file into a browser chat is text.
    app.update(AppEvent::Paste(
        dir.path().join("a.txt").display().to_string(),
    ));
    assert!(!app.composer.text().starts_with("/send"));
}

#[test]
fn progress_is_one_line_updated_in_place_then_done_and_verified() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("photo.jpg"), vec![1u8; 4_000_000]).unwrap();
    let mut app = chatting_in(dir.path());
    let fx = enter(&mut app, "/send photo.jpg");
    let Effect::SendFiles { id, .. } = fx[0].clone() else {
        panic!("{fx:?}")
    };
    let n = app.pairing.chat.lines.len();
    for (done, rate) in [(0, 0.0), (1_200_000, 3_100_000.0), (2_000_000, 2_000_000.0)] {
        app.update(AppEvent::Transfer {
            id,
            event: TransferEvent::Progress(progress(
                Direction::Send,
                "photo.jpg",
                done,
                4_000_000,
                rate,
            )),
        });
    }
    assert_eq!(
        app.pairing.chat.lines.len(),
        n,
        "updated in place, not added"
    );
    // The chat stays usable: a message goes out while the transfer runs.
    let fx = enter(&mut app, "still here");
    assert_eq!(fx, vec![Effect::Send("still here".into())]);
    let rows = chat_rows(&app);
    assert!(
        rows.iter()
            .any(|r| r.ends_with("sending photo.jpg: 2.0 MB of 4.0 MB (50%), 2.0 MB/s, 0:01 left")),
        "{rows:#?}"
    );
    // A blip: the line says paused; it comes back.
    session(
        &mut app,
        SessionEvent::State(LinkState::Interrupted {
            since: std::time::Instant::now(),
        }),
    );
    assert!(render(&app)
        .contains("sending photo.jpg: 2.0 MB of 4.0 MB (50%), paused: the link is interrupted"));
    session(
        &mut app,
        SessionEvent::State(LinkState::Open { route: Route::Lan }),
    );
    assert!(!render(&app).contains("paused"));
    insta::assert_snapshot!("chat_sending", render(&app));

    app.update(AppEvent::Transfer {
        id,
        event: TransferEvent::Sent(SendReport {
            files: 1,
            dirs: 0,
            bytes: 4_000_000,
            sent: 4_000_000,
            resumed: 0,
            saved_as: vec!["photo.jpg".into()],
            skipped: vec![],
        }),
    });
    let out = render(&app);
    assert!(
        out.contains("sent photo.jpg (4.0 MB, 1 file): verified by the peer"),
        "{out}"
    );
    assert!(!out.contains("sending photo.jpg:"), "{out}");
    assert_eq!(app.pairing.transfers[0].stage, Stage::Over);
    // Said again at the bottom, since a message came after the progress line.
    assert!(last_line(&app).contains("verified by the peer"));
    assert!(!footer(&app).contains("Ctrl-X"));
}

fn offered(app: &mut App, names: &[&str], files: usize, dirs: usize, bytes: u64) -> u64 {
    let id = app.incoming_transfer();
    app.update(AppEvent::Transfer {
        id,
        event: TransferEvent::Offer(OfferSummary {
            names: names.iter().map(|n| n.to_string()).collect(),
            files,
            dirs,
            bytes,
        }),
    });
    id
}

#[test]
fn an_offer_is_shown_and_answered_with_y_or_n() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = chatting_in(dir.path());
    assert!(!footer(&app).contains("accept"));
    let id = offered(&mut app, &["photos"], 12, 3, 40_000_000);
    let out = render(&app);
    let recv = dir.path().join("in").display().to_string();
    assert!(
        out.contains(&format!(
            "peer  offers photos/ (40 MB, 12 files, 3 folders). y: accept (into {recv}), n:"
        )),
        "{out}"
    );
    let f = footer(&app);
    assert!(
        f.contains("y accept files") && f.contains("n decline"),
        "{f}"
    );
    insta::assert_snapshot!("chat_offer", out.replace(&recv, "[DIR]"));

    // While a message is being typed, y and n are letters.
    typed(&mut app, "ok, yes n");
    assert_eq!(app.composer.text(), "ok, yes n");
    assert!(!footer(&app).contains("y accept"));
    app.update(ctrl('u'));

    // y accepts.
    assert_eq!(
        app.update(key(KeyCode::Char('y'))),
        vec![Effect::AnswerOffer { id, accept: true }]
    );
    assert!(render(&app).contains(&format!("receiving photos/ into {recv}: starting")));
    assert!(!footer(&app).contains("y accept"));
    assert!(
        footer(&app).contains("Ctrl-X cancel transfer"),
        "{}",
        footer(&app)
    );
    app.update(AppEvent::Transfer {
        id,
        event: TransferEvent::Progress(progress(
            Direction::Receive,
            "photos",
            10_000_000,
            40_000_000,
            5_000_000.0,
        )),
    });
    assert!(render(&app).contains("receiving photos/: 10 MB of 40 MB (25%), 5.0 MB/s, 0:06 left"));
    let top = dir.path().join("in/photos");
    app.update(AppEvent::Transfer {
        id,
        event: TransferEvent::Received(ReceiveReport {
            declined: false,
            files: (0..12).map(|i| top.join(format!("{i}.jpg"))).collect(),
            dirs: 3,
            bytes: 40_000_000,
            received: 40_000_000,
            resumed: 0,
        }),
    });
    let out = render(&app);
    assert!(
        out.contains(&format!(
            "received photos/ (40 MB, 12 files), all verified: in {}",
            top.display()
        )),
        "{out}"
    );

    // A second offer: n declines; /accept with nothing offered says so.
    let id2 = offered(&mut app, &["a.pdf", "b.pdf"], 2, 0, 2_000);
    assert!(render(&app).contains("offers 2 items (2.0 kB, 2 files): a.pdf, b.pdf."));
    assert_eq!(
        app.update(key(KeyCode::Char('n'))),
        vec![Effect::AnswerOffer {
            id: id2,
            accept: false
        }]
    );
    assert!(render(&app).contains("declined 2 items"));
    assert!(enter(&mut app, "/accept").is_empty());
    assert_eq!(last_line(&app), "no files are offered right now");
    // /accept answers as y does; a single file's line says where it is.
    let id3 = offered(&mut app, &["notes.txt"], 1, 0, 17);
    assert_eq!(
        enter(&mut app, "/accept"),
        vec![Effect::AnswerOffer {
            id: id3,
            accept: true
        }]
    );
    let saved = dir.path().join("in/notes (1).txt");
    app.update(AppEvent::Transfer {
        id: id3,
        event: TransferEvent::Received(ReceiveReport {
            declined: false,
            files: vec![saved.clone()],
            dirs: 0,
            bytes: 17,
            received: 17,
            resumed: 0,
        }),
    });
    assert!(render(&app).contains(&format!(
        "received notes.txt (17 B), verified: saved as {}",
        saved.display()
    )));
}

#[test]
fn hostile_offer_names_are_shown_not_interpreted() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = chatting_in(dir.path());
    offered(&mut app, &["\x1b[2Jevil\x07.txt"], 1, 0, 5);
    let out = render(&app);
    assert!(!out.contains('\x1b') && !out.contains('\x07'), "{out:?}");
    assert!(out.contains("evil"), "{out}");
}

#[test]
fn without_a_download_folder_offers_are_declined_and_said() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = chatting_in(dir.path());
    app.opts.receive_dir = None;
    let id = app.incoming_transfer();
    let fx = app.update(AppEvent::Transfer {
        id,
        event: TransferEvent::Offer(OfferSummary {
            names: vec!["x".into()],
            files: 1,
            dirs: 0,
            bytes: 1,
        }),
    });
    assert_eq!(fx, vec![Effect::AnswerOffer { id, accept: false }]);
    assert!(render(&app).contains("--receive DIR"));
}

#[test]
fn cancel_stops_transfers_both_ways_and_failures_are_said() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("big.bin"), vec![0u8; 1000]).unwrap();
    let mut app = chatting_in(dir.path());
    assert!(enter(&mut app, "/cancel").is_empty());
    assert_eq!(last_line(&app), "no transfer is under way");
    enter(&mut app, "/send big.bin");
    let incoming = offered(&mut app, &["in.bin"], 1, 0, 10);
    app.update(key(KeyCode::Char('y')));
    let waiting = offered(&mut app, &["later.bin"], 1, 0, 10);
    assert!(footer(&app).contains("Ctrl-X cancel transfer"));
    let fx = app.update(ctrl('x'));
    assert_eq!(
        fx,
        vec![
            Effect::CancelTransfer { id: 1 },
            Effect::CancelTransfer { id: incoming },
            Effect::AnswerOffer {
                id: waiting,
                accept: false
            },
        ]
    );
    // The engine's words for how each ended.
    app.update(AppEvent::Transfer {
        id: 1,
        event: TransferEvent::Failed("cancelled".into()),
    });
    app.update(AppEvent::Transfer {
        id: incoming,
        event: TransferEvent::Failed(crate::transfer::TransferError::Interrupted.to_string()),
    });
    let out = render(&app);
    assert!(out.contains("big.bin not sent: cancelled"), "{out}");
    assert!(
        out.contains("in.bin not received: the link broke before the transfer finished"),
        "{out}"
    );
    // The peer's cancel, on a transfer still offered to us: the offer goes.
    let id = offered(&mut app, &["x.bin"], 1, 0, 1);
    app.update(AppEvent::Transfer {
        id,
        event: TransferEvent::Failed(
            crate::transfer::TransferError::PeerCancelled(String::new()).to_string(),
        ),
    });
    assert!(render(&app).contains("x.bin not received: the other side cancelled"));
    assert!(!footer(&app).contains("y accept"));
    // `/cancel` is the same as Ctrl-X.
    enter(&mut app, "/send big.bin");
    let id = app.next_transfer;
    assert_eq!(
        enter(&mut app, "/cancel"),
        vec![Effect::CancelTransfer { id }]
    );
}

#[test]
fn tab_completes_paths_after_send() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("alpha.txt"), b"").unwrap();
    std::fs::create_dir(d.join("alphabet")).unwrap();
    std::fs::write(d.join("alphabet/inner.txt"), b"").unwrap();
    std::fs::write(d.join("beta b.txt"), b"").unwrap();
    std::fs::write(d.join(".hidden"), b"").unwrap();
    std::fs::create_dir_all(d.join("home/docs")).unwrap();
    let cwd = d.to_path_buf();
    let home = d.join("home");
    let c = |t: &str| files::complete(t, Some(&home), &cwd);
    assert_eq!(c("/send al"), Completion::Append("pha".into()));
    assert_eq!(
        c("/send alpha"),
        Completion::Candidates(vec!["alpha.txt".into(), "alphabet/".into()])
    );
    assert_eq!(c("/send alphab"), Completion::Append("et/".into()));
    assert_eq!(
        c("/send alphabet/"),
        Completion::Append("inner.txt ".into())
    );
    assert_eq!(c("/send be"), Completion::Append(r"ta\ b.txt ".into()));
    assert_eq!(c("/send 'be"), Completion::Append("ta b.txt' ".into()));
    assert_eq!(c("/send \"be"), Completion::Append("ta b.txt\" ".into()));
    assert_eq!(c("/send ~/d"), Completion::Append("ocs/".into()));
    assert_eq!(c("/send ~"), Completion::Append("/".into()));
    assert_eq!(c("/send ."), Completion::Append("hidden ".into()));
    assert_eq!(c("/send zz"), Completion::Nothing);
    assert_eq!(c("hello al"), Completion::Nothing);
    let abs = format!("/send {}/bet", d.display());
    assert_eq!(
        files::complete(&abs, None, std::path::Path::new("/")),
        Completion::Append(r"a\ b.txt ".into())
    );
    // Hidden names stay out unless asked for; every visible name is listed.
    assert_eq!(
        c("/send a.txt "),
        Completion::Candidates(vec![
            "alpha.txt".into(),
            "alphabet/".into(),
            "beta b.txt".into(),
            "home/".into()
        ])
    );

    // In the app: Tab completes; a second Tab lists in a line above the status bar.
    let mut app = chatting_in(d);
    assert!(!footer(&app).contains("Tab"));
    typed(&mut app, "/send al");
    assert!(
        footer(&app).contains("Tab complete path"),
        "{}",
        footer(&app)
    );
    app.update(key(KeyCode::Tab));
    assert_eq!(app.composer.text(), "/send alpha");
    app.update(key(KeyCode::Tab));
    assert_eq!(app.composer.text(), "/send alpha");
    let out = render(&app);
    assert!(out.contains(" alpha.txt  alphabet/\n"), "{out}");
    typed(&mut app, "b");
    assert!(
        !render(&app).contains("alpha.txt  alphabet/"),
        "the list goes as typing goes on"
    );
    app.update(key(KeyCode::Tab));
    assert_eq!(app.composer.text(), "/send alphabet/");
    app.update(key(KeyCode::Tab));
    assert_eq!(app.composer.text(), "/send alphabet/inner.txt ");
    let fx = app.update(key(KeyCode::Enter));
    assert_eq!(
        fx,
        vec![Effect::SendFiles {
            id: 1,
            paths: vec![d.join("alphabet/inner.txt")]
        }]
    );
}

#[test]
fn a_pasted_path_is_offered_for_sending_and_esc_keeps_it_as_text() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let photo = d.join("my photo.jpg");
    std::fs::write(&photo, vec![0u8; 2_100_000]).unwrap();
    std::fs::write(d.join("b.txt"), b"b").unwrap();
    let home = Some(d.join("home"));
    let shown = photo.display().to_string();
    // The forms terminals and file managers drop a file in.
    for form in [
        format!("'{shown}'"),
        format!("\"{shown}\""),
        shown.replace(' ', r"\ "),
        format!("file://{}", shown.replace(' ', "%20")),
        format!("  '{shown}' \n"),
    ] {
        assert_eq!(
            files::dropped(&form, home.as_deref()),
            Some(vec![photo.clone()]),
            "{form}"
        );
    }
    // Two files, on one line or two.
    let two = vec![photo.clone(), d.join("b.txt")];
    let b = d.join("b.txt").display().to_string();
    assert_eq!(
        files::dropped(&format!("'{shown}' '{b}'"), None),
        Some(two.clone())
    );
    assert_eq!(
        files::dropped(&format!("{}\n{b}", shown.replace(' ', r"\ ")), None),
        Some(two)
    );
    // Text that is not only existing absolute paths stays text.
    for text in [
        format!("look at '{shown}'"),
        format!("'{shown}"),
        format!("{}/nope.txt", d.display()),
        "b.txt".into(),
        "hello".into(),
        "/".into(),
        String::new(),
    ] {
        assert_eq!(files::dropped(&text, None), None, "{text}");
    }

    let mut app = chatting_in(d);
    app.update(AppEvent::Paste(format!("'{shown}'")));
    assert_eq!(app.composer.text(), format!("/send '{shown}'"));
    let out = render(&app);
    assert!(
        out.contains("Enter sends my photo.jpg (2.1 MB) to the peer; Esc keeps the paste as text"),
        "{out}"
    );
    assert!(
        footer(&app).contains("Esc keep as text"),
        "{}",
        footer(&app)
    );
    insta::assert_snapshot!(
        "chat_dropped",
        out.replace(&d.display().to_string(), "[DIR]")
    );
    // Esc: the paste as it came, as text.
    app.update(key(KeyCode::Esc));
    assert_eq!(app.composer.text(), format!("'{shown}'"));
    assert!(app.dropped.is_none() && app.composer_note.is_none());
    app.update(ctrl('u'));
    // Enter sends it.
    app.update(AppEvent::Paste(format!("'{shown}'")));
    assert_eq!(
        app.update(key(KeyCode::Enter)),
        vec![Effect::SendFiles {
            id: 1,
            paths: vec![photo.clone()]
        }]
    );
    // Into a message being typed, a path is text.
    typed(&mut app, "see ");
    app.update(AppEvent::Paste(format!("'{shown}'")));
    assert_eq!(app.composer.text(), format!("see '{shown}'"));
}

#[tokio::test]
async fn the_runner_refuses_files_for_a_browser_peer_and_reports_a_failed_channel() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.txt"), b"a").unwrap();
    for qrchat in [false, true] {
        let script = Scripted {
            local: Some(sdp(SdpKind::Offer, 0xAA, 50000)),
            on_connect: vec![
                SessionEvent::State(LinkState::Open { route: Route::Lan }),
                SessionEvent::Open {
                    sas: "111 222".into(),
                    remote: None,
                    route: Route::Lan,
                },
            ],
            qrchat,
            ..Default::default()
        };
        let log = script.log.clone();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let (mut runner, _) = runner(script, CameraSpec::default(), tx);
        let (mut app, fx) = app_with(true, false, 120, 30);
        app.opts.cwd = Some(dir.path().to_path_buf());
        runner.execute_all(fx);
        pump(&mut app, &mut runner, &mut rx).await;
        runner.execute_all(app.update(key(KeyCode::Char('p'))));
        app.update(AppEvent::Paste(blob(SdpKind::Answer, 0xBB)));
        runner.execute_all(app.update(key(KeyCode::Enter)));
        pump(&mut app, &mut runner, &mut rx).await;
        assert_eq!(app.screen, Screen::Chat);
        assert_eq!(app.pairing.peer_qrchat, Some(qrchat));
        // Past the app's own check: the runner says it too.
        app.pairing.peer_qrchat = None;
        let fx = enter(&mut app, "/send a.txt");
        runner.execute_all(fx);
        pump(&mut app, &mut runner, &mut rx).await;
        let out = render(&app);
        if qrchat {
            assert_eq!(log.lock().unwrap().channels, vec!["qrchat-file"]);
            assert!(
                out.contains("a.txt not sent: could not open a channel for it"),
                "{out}"
            );
        } else {
            assert!(log.lock().unwrap().channels.is_empty());
            assert!(
                out.contains("a.txt not sent: files need qrchat on both sides"),
                "{out}"
            );
        }
        runner.shutdown().await;
    }
}

#[test]
fn done_lines_say_what_was_resumed_and_name_what_arrived() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.bin"), b"a").unwrap();
    let mut app = chatting_in(dir.path());
    let inbox = dir.path().join("in");
    let id = offered(
        &mut app,
        &["a.txt", "pics", "b.txt", "c.txt"],
        5,
        1,
        3_000_000,
    );
    app.update(key(KeyCode::Char('y')));
    app.update(AppEvent::Transfer {
        id,
        event: TransferEvent::Received(ReceiveReport {
            declined: false,
            files: ["a.txt", "pics/1.jpg", "pics/2.jpg", "b.txt", "c.txt"]
                .iter()
                .map(|f| inbox.join(f))
                .collect(),
            dirs: 1,
            bytes: 3_000_000,
            received: 1_000_000,
            resumed: 2_000_000,
        }),
    });
    let want = format!(
        "received 4 items (3.0 MB, 5 files, 2.0 MB resumed), all verified: in {}: a.txt, pics, \
         b.txt and 1 more",
        inbox.display()
    );
    assert_eq!(last_line(&app), want);

    enter(&mut app, "/send a.bin");
    let id = app.next_transfer;
    app.update(AppEvent::Transfer {
        id,
        event: TransferEvent::Sent(SendReport {
            files: 1,
            dirs: 0,
            bytes: 1,
            sent: 0,
            resumed: 1,
            saved_as: vec!["a.bin".into()],
            skipped: vec![],
        }),
    });
    assert_eq!(
        last_line(&app),
        "sent a.bin (1 B, 1 file, 1 B resumed): verified by the peer"
    );

    // A receive cancelled part way says the part is kept for a resume.
    let id = offered(&mut app, &["big.iso"], 1, 0, 9_000_000);
    app.update(key(KeyCode::Char('y')));
    app.update(AppEvent::Transfer {
        id,
        event: TransferEvent::Progress(progress(
            Direction::Receive,
            "big.iso",
            1_000,
            9_000_000,
            1e6,
        )),
    });
    app.update(AppEvent::Transfer {
        id,
        event: TransferEvent::Failed(
            crate::transfer::TransferError::PeerCancelled(String::new()).to_string(),
        ),
    });
    assert_eq!(
        last_line(&app),
        "big.iso not received: the other side cancelled (what arrived is kept: the same files \
         sent again resume from there)"
    );
}

#[test]
fn a_re_pairing_ends_the_transfers_still_going_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.bin"), b"a").unwrap();
    let mut app = chatting_in(dir.path());
    enter(&mut app, "/send a.bin");
    offered(&mut app, &["b.bin"], 1, 0, 10);
    session(&mut app, SessionEvent::Closed(CloseReason::PeerLost));
    assert!(footer(&app).contains("Ctrl-X"), "still running until told");
    let fx = app.update(ctrl('r'));
    assert!(fx.contains(&Effect::Close), "{fx:?}");
    // The kept chat (shown once the new pairing opens) says it.
    let out: Vec<&str> = app
        .pairing
        .chat
        .lines
        .iter()
        .map(|l| l.text.as_str())
        .collect();
    let out = out.join("\n");
    assert!(out.contains("a.bin not sent: the link is gone"), "{out}");
    assert!(
        out.contains("b.bin not received: the link is gone"),
        "{out}"
    );
    // The chat's lines and transfers stay with the new pairing, all over: nothing to
    // cancel or accept once it opens.
    assert_eq!(app.pairing.transfers.len(), 2);
    assert!(app.pairing.transfers.iter().all(|t| t.stage == Stage::Over));
    assert!(app.cancellable().next().is_none() && app.asking().next().is_none());
}

#[test]
fn the_transcript_gets_how_a_transfer_went_not_each_progress_step() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.bin"), vec![0u8; 1000]).unwrap();
    let mut app = chatting_in(dir.path());
    app.pairing.saving = true;
    let mut saved = Vec::new();
    let mut keep = |fx: Vec<Effect>| {
        for e in fx {
            if let Effect::Save { who, text } = e {
                saved.push(format!("{who}: {text}"));
            }
        }
    };
    keep(enter(&mut app, "/send a.bin"));
    let id = app.next_transfer;
    for done in [100, 500, 900] {
        keep(app.update(AppEvent::Transfer {
            id,
            event: TransferEvent::Progress(progress(Direction::Send, "a.bin", done, 1000, 1e3)),
        }));
    }
    keep(app.update(AppEvent::Transfer {
        id,
        event: TransferEvent::Sent(SendReport {
            files: 1,
            dirs: 0,
            bytes: 1000,
            sent: 1000,
            resumed: 0,
            saved_as: vec!["a.bin".into()],
            skipped: vec![],
        }),
    }));
    assert_eq!(
        saved,
        vec![
            "--: offering a.bin (1.0 kB): waiting for the peer to accept (/cancel stops it)",
            "--: sent a.bin (1.0 kB, 1 file): verified by the peer",
        ]
    );
}

#[test]
fn a_peer_cannot_flood_the_chat_with_offers() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = chatting_in(dir.path());
    for i in 0..super::transfers::MAX_WAITING_OFFERS {
        assert!(app.may_take_offer(), "offer {i}");
        offered(&mut app, &["x"], 1, 0, 1);
    }
    assert!(!app.may_take_offer());
    // Answering one makes room for the next.
    app.update(key(KeyCode::Char('n')));
    assert!(app.may_take_offer());
}
