//! Tests: link states in words.

use super::*;

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
    link_interrupted(&mut app);
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
    paste_their_code(&mut app, SdpKind::Offer, 0xBB);
    code_made(&mut app, SdpKind::Answer, 0xAA, 50002);
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

#[test]
fn not_responding_says_when_the_chat_gives_up_and_a_gone_link_offers_no_send() {
    let mut app = chatting(120, 20);
    app.opts.peer_timeout = Duration::from_secs(60);
    app.set_now(Duration::from_secs(10));
    link_interrupted(&mut app);
    app.set_now(Duration::from_secs(25));
    let out = render(&app);
    assert!(
        out.contains("◌ not responding: the chat ends in 45 s unless the link returns"),
        "{out}"
    );
    insta::assert_snapshot!("chat_not_responding", out);
    // Narrow: the short form still says when.
    app.update(AppEvent::Resize(60, 20));
    assert!(render(&app).contains("ends in 45 s"), "{}", render(&app));
    app.update(AppEvent::Resize(120, 20));
    assert!(
        footer(&app).contains("Enter send"),
        "messages wait for the link"
    );
    // Gone: Enter sends nothing, so the footer does not offer it.
    session(&mut app, SessionEvent::Closed(CloseReason::PeerLost));
    let f = footer(&app);
    assert!(!f.contains("Enter send") && f.contains("Ctrl-R"), "{f}");
}

#[test]
fn left_and_stopped_responding_are_told_apart_and_no_candidate_type_is_shown() {
    // rtc names the remote with its candidate type; the screen says the route in words.
    let mut app = chatting(120, 20);
    let mut app2 = starter_with_code(120, 20);
    paste_their_code(&mut app2, SdpKind::Answer, 0xBB);
    link_opens(&mut app2, Some("127.0.0.1:58115 (host)"));
    let out = render(&app2);
    assert!(!out.contains("(host)"), "{out}");
    assert!(
        out.contains("connected to 127.0.0.1:58115 (direct on your network)"),
        "{out}"
    );
    // A close that comes while the link was interrupted is not called leaving.
    link_interrupted(&mut app);
    session(&mut app, SessionEvent::Closed(CloseReason::PeerLeft));
    let out = render(&app);
    assert!(!out.contains("the peer left"), "{out}");
    assert!(
        out.contains("the other side ended the chat while the link was interrupted"),
        "{out}"
    );
    // A plain leave is a leave; silence to the end is "stopped responding".
    let mut app = chatting(120, 20);
    session(&mut app, SessionEvent::Closed(CloseReason::PeerLeft));
    assert!(render(&app).contains("the peer left the chat"));
    let mut app = chatting(120, 20);
    session(&mut app, SessionEvent::Closed(CloseReason::PeerLost));
    assert!(render(&app).contains("the peer stopped responding"));
}

#[test]
fn a_silent_peer_shows_no_stale_round_trip_and_is_not_said_to_have_left() {
    let mut app = chatting(100, 20);
    session(&mut app, SessionEvent::Rtt(Duration::from_micros(420)));
    assert!(render(&app).contains("rtt 0.4 ms"));
    // Nothing comes back: the last round trip measured says nothing true any more.
    app.set_now(Duration::from_secs(10));
    link_interrupted(&mut app);
    app.set_now(Duration::from_secs(25));
    let out = render(&app);
    assert!(
        out.contains("not responding") && !out.contains("rtt "),
        "{out}"
    );
    // It stopped responding: the composer does not say it left.
    session(&mut app, SessionEvent::Closed(CloseReason::PeerLost));
    let out = render(&app);
    assert!(!out.contains("has left"), "{out}");
    insta::assert_snapshot!("chat_stopped_responding", out);
    typed(&mut app, "still there?");
    app.update(key(KeyCode::Enter));
    assert_eq!(last_line(&app), "the link is gone: nothing was sent");
}
