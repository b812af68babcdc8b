//! Tests: snapshots.

use super::*;

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
    assert!(out.contains("reachable on your network (192.168.1.20, 10.0.0.7)"));
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
    assert!(out.contains(crate::tui::screens::my_code::TEXT_HEADER));
    insta::assert_snapshot!("my_code_text", out);
    let fx = app.update(key(KeyCode::Char('c')));
    assert_eq!(
        fx,
        vec![Effect::Copy(
            app.pairing.local.as_ref().unwrap().blob.clone()
        )]
    );
    assert!(render(&app).contains("sent to the clipboard, if the terminal allows it"));
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
    code_made(&mut app, SdpKind::Offer, 0xAA, 50000);
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
    code_made(&mut app, SdpKind::Answer, 0xAA, 50002);
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
    // No camera, said first and in words, with what to do.
    let note = app.pairing.paste.note.clone().unwrap();
    assert_eq!(note, "No camera found: paste the code here instead.");
    assert!(
        out.lines()
            .nth(1)
            .unwrap()
            .starts_with("No camera found: paste the code"),
        "{out}"
    );
    assert_eq!(out.matches("camera").count(), 1, "{out}");
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
    // What the code is, in words (the technical summary goes to the log).
    assert!(
        out.contains("✓ an offer from a qrchat app, 2 addresses on your network"),
        "{out}"
    );
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
    // A chat that is not saved: Esc asks once, the second Esc starts anew.
    app.update(ctrl('u'));
    let fx = app.update(key(KeyCode::Esc));
    assert!(!fx.contains(&Effect::Close), "{fx:?}");
    assert!(render(&app).contains("this chat is not saved (no --history): Esc again"));
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
    assert_eq!(app.chat.scroll, None);
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
