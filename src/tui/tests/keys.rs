//! Tests: keys mean one thing.

use super::*;

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
    paste_their_code(&mut app, SdpKind::Offer, 0xBB);
    assert_eq!(app.screen, Screen::MyCode);
    let fx = app.update(key(KeyCode::Esc));
    assert!(fx.contains(&Effect::Close) && fx.contains(&Effect::OpenCamera));
    assert_eq!(app.screen, Screen::Scan);

    // Connecting: Esc cancels (a new pairing), shown as such.
    let mut app = starter_with_code(80, 24);
    paste_their_code(&mut app, SdpKind::Answer, 0xBB);
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
    // The last section, the marks after my messages, is in view down to its last line.
    assert!(
        out.contains("Marks after your messages")
            && out.contains("(not delivered)")
            && out.contains("no mark"),
        "the last section comes into view: {out}"
    );
    insta::assert_snapshot!("help_small_end", out);
    app.update(key(KeyCode::Esc));
    assert!(app.help.is_none());
}

#[test]
fn help_from_the_chat_opens_at_the_chats_keys() {
    // It opened at the start screen's keys: the chat's came 30 rows down, out of view.
    let mut app = chatting(100, 30);
    app.update(key(KeyCode::F(1)));
    let out = render(&app);
    assert!(out.contains("Ctrl-Y") && out.contains("Ctrl-R"), "{out}");
    assert!(!out.contains(" 0 above"), "{out}");
    insta::assert_snapshot!("help_from_the_chat", out);
    // Up reaches the keys that work everywhere.
    for _ in 0..100 {
        app.update(key(KeyCode::Up));
    }
    assert!(render(&app).contains("Everywhere"));
    app.update(key(KeyCode::Esc));
    // /help does the same.
    typed(&mut app, "/help");
    app.update(key(KeyCode::Enter));
    assert!(render(&app).contains("Ctrl-Y"));
    // The start screen's help starts at the top, as before.
    let (mut app, _) = app_with(false, false, 100, 30);
    app.update(key(KeyCode::Char('?')));
    assert!(render(&app).contains(" 0 above"));
}

#[test]
fn every_key_in_a_footer_is_in_the_help_and_does_something() {
    use crate::tui::keys;
    // Each binding that is offered somewhere is explained in the help (directly or by a
    // line for the same key on that screen).
    let help = crate::tui::screens::help::lines();
    for screen in [
        Screen::Start,
        Screen::MyCode,
        Screen::Scan,
        Screen::Paste,
        Screen::Connecting,
        Screen::Chat,
    ] {
        for b in crate::tui::screens::table(screen) {
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
