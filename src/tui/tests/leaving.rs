//! Tests: no key loses a conversation, and slash commands like irssi's.

use super::*;

fn send(app: &mut App, text: &str) -> Vec<Effect> {
    typed(app, text);
    app.update(key(KeyCode::Enter))
}

/// A chat with a line each way (nothing saved: no --history).
fn talked() -> App {
    let mut app = chatting(100, 24);
    session(&mut app, SessionEvent::Message("hi".into()));
    assert_eq!(send(&mut app, "hello"), vec![Effect::Send("hello".into())]);
    app
}

#[test]
fn an_unknown_slash_word_is_not_sent_and_double_slash_sends_one() {
    let mut app = talked();
    // The typo that once gave the peer a local path.
    assert_eq!(send(&mut app, "/sned /etc/hostname"), vec![]);
    insta::assert_snapshot!("chat_unknown_command", render(&app));
    assert_eq!(
        last_line(&app),
        "unknown command /sned; /help lists the commands (//text sends /text)"
    );
    assert_eq!(
        app.composer.text(),
        "/sned /etc/hostname",
        "the draft stays"
    );
    app.update(ctrl('u'));
    assert_eq!(send(&mut app, "/me waves"), vec![]);
    assert!(last_line(&app).starts_with("unknown command /me;"));
    app.update(ctrl('u'));
    assert_eq!(
        send(&mut app, "//me waves"),
        vec![Effect::Send("/me waves".into())]
    );
    assert_eq!(last_line(&app), "/me waves");
    // A path is text, and so is a bare slash.
    assert_eq!(
        send(&mut app, "/etc/hostname is the file"),
        vec![Effect::Send("/etc/hostname is the file".into())]
    );
    assert_eq!(send(&mut app, "/"), vec![Effect::Send("/".into())]);
    // /help opens the help, which lists the commands.
    assert_eq!(send(&mut app, "/help"), vec![]);
    assert!(app.help.is_some());
    let help = crate::tui::screens::help::lines();
    for cmd in ["/help", "/quit", "//text"] {
        assert!(
            help.iter().any(|(k, _)| *k == cmd),
            "{cmd} is not in the help"
        );
    }
    app.update(key(KeyCode::Esc));
    assert!(app.help.is_none());
    // /quit asks once (not saved), then quits.
    assert_eq!(send(&mut app, "/quit"), vec![]);
    // The question names what was used to leave, not another key.
    assert!(render(&app).contains("this chat is not saved (no --history): /quit again to quit"));
    let fx = send(&mut app, "/quit");
    assert!(fx.contains(&Effect::Quit), "{fx:?}");
}

#[test]
fn ctrl_d_quits_only_with_an_empty_composer_and_an_unsaved_chat_asks_once() {
    let mut app = talked();
    typed(&mut app, "a draft");
    assert!(app.update(ctrl('d')).is_empty());
    assert_eq!(app.composer.text(), "a draft");
    assert!(!app.quit);
    // Ctrl-C asks first (the chat is not saved); typing on keeps the chat.
    assert!(app.update(ctrl('c')).is_empty());
    assert!(!app.quit);
    let out = render(&app);
    assert!(out.contains("Ctrl-C again to quit"), "{out}");
    insta::assert_snapshot!("chat_leave_asks", out);
    // The question lapses: later, it is asked again.
    app.set_now(app.now + ASK_AGAIN);
    app.update(AppEvent::Tick);
    assert!(!render(&app).contains("Ctrl-C again"));
    assert!(app.update(ctrl('c')).is_empty());
    assert!(app.update(ctrl('c')).contains(&Effect::Quit));

    // Ctrl-D with nothing typed, twice: the question says Ctrl-D (it said Ctrl-C).
    let mut app = talked();
    assert!(app.update(ctrl('d')).is_empty());
    let out = render(&app);
    assert!(
        out.contains("this chat is not saved (no --history): Ctrl-D again to quit"),
        "{out}"
    );
    assert!(app.update(ctrl('d')).contains(&Effect::Quit));

    // Saved (--history): nothing to lose, no question.
    let mut app = talked();
    app.chat.saving = true;
    assert!(app.update(ctrl('c')).contains(&Effect::Quit));
    // Nothing said yet: nothing to lose either.
    let mut app = chatting(100, 24);
    assert!(app.update(ctrl('d')).contains(&Effect::Quit));
}

#[test]
fn esc_after_ctrl_r_goes_back_to_the_kept_chat() {
    // The starter with --start (my code is its first screen, where Esc used to quit).
    let mut app = talked();
    session(&mut app, SessionEvent::Closed(CloseReason::PeerLost));
    app.update(ctrl('r'));
    assert_eq!(app.screen, Screen::MyCode);
    assert!(
        footer(&app).contains("Esc back to the chat"),
        "{}",
        footer(&app)
    );
    let fx = app.update(key(KeyCode::Esc));
    assert!(!app.quit);
    assert!(fx.contains(&Effect::Close), "the new session ends: {fx:?}");
    assert_eq!(app.screen, Screen::Chat);
    let out = render(&app);
    assert!(out.contains("hello") && out.contains("Ctrl-R"), "{out}");
    // The "pairing again" line above is not left to read as done.
    assert_eq!(
        last_line(&app),
        "no new pairing: back to this chat (Ctrl-R tries again)"
    );
    // Paste screen, Esc: one step back to my code, then to the chat.
    app.update(ctrl('r'));
    code_made(&mut app, SdpKind::Offer, 0xAA, 50000);
    app.update(key(KeyCode::Char('p')));
    assert_eq!(app.screen, Screen::Paste);
    app.update(key(KeyCode::Esc));
    assert_eq!(app.screen, Screen::MyCode);
    app.update(key(KeyCode::Esc));
    assert_eq!(app.screen, Screen::Chat);

    // The joiner with --join: Esc on the scan screen goes back to the chat.
    let (mut app, _) = app_with(false, true, 100, 24);
    paste_their_code(&mut app, SdpKind::Offer, 0xAA);
    link_opens(&mut app, None);
    session(&mut app, SessionEvent::Message("from the starter".into()));
    session(&mut app, SessionEvent::Closed(CloseReason::PeerLost));
    app.update(ctrl('r'));
    assert_eq!(app.screen, Screen::Scan);
    app.update(key(KeyCode::Esc));
    assert!(!app.quit);
    assert_eq!(app.screen, Screen::Chat);
    assert!(render(&app).contains("from the starter"));
    // Once the re-pairing opens, there is no other chat to go back to: Esc is as before.
    app.update(ctrl('r'));
    link_opens(&mut app, None);
    assert!(app.kept.is_none());
    assert!(render(&app).contains("from the starter"));
}
