//! Tests: update().

use super::*;

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
            paste_their_code(&mut a, SdpKind::Answer, 0xBB);
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
    code_made(&mut app, SdpKind::Answer, 0xAA, 50002);
    let reply = &app.pairing.local.as_ref().unwrap().blob;
    let v: serde_json::Value = serde_json::from_str(reply).expect("the answer is JSON");
    assert_eq!(v["type"], "answer");
}

#[test]
fn a_compact_offer_gets_a_compact_answer() {
    let (mut app, _) = app_with(false, true, 80, 24);
    paste_their_code(&mut app, SdpKind::Offer, 0xBB);
    code_made(&mut app, SdpKind::Answer, 0xAA, 50002);
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
    assert_eq!(app.chat.lines.len(), SCROLLBACK);
    session(&mut app, SessionEvent::Message("x".repeat(1 << 20)));
    let last = app.chat.lines.back().unwrap();
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
    assert!(app.pairing.peer.left.is_some());
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
