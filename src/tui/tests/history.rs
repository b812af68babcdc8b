//! Tests: --history, through the runner.

use super::*;

#[tokio::test]
async fn with_history_the_chat_is_saved_and_the_app_says_where() {
    let dir = tempfile::tempdir().unwrap();
    let script = Scripted {
        local: Some(sdp(SdpKind::Offer, 0xAA, 50000)),
        on_connect: vec![
            SessionEvent::State(LinkState::Connecting),
            scripted_open(),
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
        code_made(app, SdpKind::Offer, 0xAA, 50000);
        paste_their_code(app, SdpKind::Answer, fp);
        session(
            app,
            SessionEvent::State(LinkState::Open { route: Route::Lan }),
        );
        link_opens(app, Some("192.168.1.21:50001"));
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
    assert!(app.pairing.peer.left.is_none());

    // Another certificate this time: named as a different peer.
    session(&mut app, SessionEvent::Closed(CloseReason::PeerLost));
    app.update(ctrl('r'));
    reopen(&mut app, 0xCC);
    let out = render(&app);
    assert!(out.contains("a different peer than before"), "{out}");
    assert!(out.contains("before the break"), "{out}");
}
