//! Tests: knowing something arrived.

use super::*;

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
