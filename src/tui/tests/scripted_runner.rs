//! Tests: runner + scripted session.

use super::*;

#[tokio::test]
async fn a_whole_pairing_through_the_runner_with_a_scripted_session() {
    let script = Scripted {
        local: Some(sdp(SdpKind::Offer, 0xAA, 50000)),
        on_gather: vec![SessionEvent::Gathering { candidates: 1 }],
        on_connect: vec![
            SessionEvent::State(LinkState::Connecting),
            SessionEvent::State(LinkState::Open { route: Route::Lan }),
            scripted_open(),
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

    // Not saved: the first Ctrl-C asks, the second quits.
    let fx = app.update(ctrl('c'));
    assert!(!runner.execute_all(fx));
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
