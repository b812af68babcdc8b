//! Tests: truthful hints.

use super::*;

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
    // One short line on the title bar: at 80 columns every key hint stays in view.
    let mut app = starter_with_code(80, 24);
    let before = render(&app).lines().last().unwrap().to_string();
    app.update(key(KeyCode::Char('c')));
    let out = render(&app);
    let rows: Vec<&str> = out.lines().collect();
    assert!(rows[0].contains("if the terminal allows it"), "{out}");
    assert_eq!(rows.last().unwrap().to_string(), before, "{out}");
    // And it does not follow into the chat.
    paste_their_code(&mut app, SdpKind::Answer, 0xBB);
    link_opens(&mut app, None);
    assert_eq!(app.screen, Screen::Chat);
    assert!(!render(&app).contains("allows it"));
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
