//! Tests: round 2: the composer.

use super::*;

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
