//! Tests: known peers in the app. The start screen lists the ones on this network and
//! Enter asks one; a known peer asking shows "bob wants to chat: Enter accept, Esc
//! decline"; the chat opens with its name and the saved safety number; a reconnect with
//! the peer of a chat that ended keeps the chat and sends again what it did not get.

use super::*;
use crate::chat::delivery::MessageId;
use crate::tui::known::{Here, Reply, ASK_WAIT};

/// The screen's words, boxes and line breaks gone (wrapped lines read as one).
fn words(app: &App) -> String {
    render(app)
        .replace(['│', '┌', '┐', '└', '┘', '─'], " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn bob() -> Here {
    Here {
        name: "bob".into(),
        paired_on: "2026-12-01".into(),
        sas: "123 456".into(),
    }
}

fn known(app: &mut App, here: Vec<Here>) {
    app.update(AppEvent::KnownPeers {
        known: vec!["bob".into(), "carol".into()],
        here,
    });
}

fn step(app: &mut App, step: &str) {
    let pairing = app.pairing.id;
    app.update(AppEvent::KnownStep {
        pairing,
        step: step.into(),
    });
}

fn failed(app: &mut App, why: &str) -> Vec<Effect> {
    let pairing = app.pairing.id;
    app.update(AppEvent::KnownFailed {
        pairing,
        why: why.into(),
    })
}

/// The link of a known-peer pairing opens (the session's own safety number is another:
/// the certificate is fresh each time).
fn opens(app: &mut App) {
    session(app, SessionEvent::Peer { qrchat: true });
    session(
        app,
        SessionEvent::State(LinkState::Open { route: Route::Lan }),
    );
    session(
        app,
        SessionEvent::Open {
            sas: "999 999".into(),
            remote: Some("10.99.60.2:50001".into()),
            route: Route::Lan,
        },
    );
}

/// Start screen, bob on the network: ↓↓ Enter asks him.
fn ask_bob(app: &mut App) -> Vec<Effect> {
    known(app, vec![bob()]);
    app.update(key(KeyCode::Down));
    app.update(key(KeyCode::Down));
    app.update(key(KeyCode::Enter))
}

fn connect_fx(fx: &[Effect]) -> Option<(String, bool)> {
    fx.iter().find_map(|e| match e {
        Effect::ConnectKnown { name, keep, .. } => Some((name.clone(), *keep)),
        _ => None,
    })
}

fn answer_fx(fx: &[Effect]) -> Option<(u64, Reply)> {
    fx.iter().find_map(|e| match e {
        Effect::AnswerKnown { ask, answer } => Some((*ask, *answer)),
        _ => None,
    })
}

/// bob (saved, on this network) asks to chat; request number `ask`.
fn bob_asks(app: &mut App, ask: u64) -> Vec<Effect> {
    app.update(AppEvent::KnownAsk { ask, peer: bob() })
}

/// Enter on the prompt accepts request `ask` for the new pairing, keeping the chat so far
/// or not (`keep`); the effects of that key.
fn accept_with_enter(app: &mut App, ask: u64, keep: bool) -> Vec<Effect> {
    let fx = app.update(key(KeyCode::Enter));
    let pairing = app.pairing.id;
    assert_eq!(answer_fx(&fx), Some((ask, Reply::Accept { pairing, keep })));
    fx
}

#[test]
fn no_known_peers_no_word_of_them() {
    let (mut app, _) = app_with(false, false, 100, 30);
    let before = render(&app);
    app.update(AppEvent::KnownPeers {
        known: vec![],
        here: vec![],
    });
    assert_eq!(render(&app), before);
    assert!(!before.contains("known peer"), "{before}");
}

#[test]
fn the_start_screen_lists_the_known_peers_here_and_enter_asks_one() {
    let (mut app, _) = app_with(false, false, 100, 30);
    assert!(app.wants_presence());
    known(&mut app, vec![]);
    let screen = render(&app);
    assert!(
        screen.contains("No known peer is on this network now (bob, carol)."),
        "{screen}"
    );
    insta::assert_snapshot!("start_known_none_here", screen);

    known(&mut app, vec![bob()]);
    let screen = render(&app);
    assert!(
        screen.contains("Known peers on this network now:"),
        "{screen}"
    );
    assert!(
        screen.contains("bob   paired by sight on 2026-12-01"),
        "{screen}"
    );
    // ↑ wraps to the last choice: bob.
    app.update(key(KeyCode::Up));
    assert_eq!(app.start_sel, 2);
    insta::assert_snapshot!("start_known_here", render(&app));
    // ↓ wraps back to Start a chat.
    app.update(key(KeyCode::Down));
    assert_eq!(app.start_sel, 0);

    let fx = ask_bob(&mut app);
    assert_eq!(connect_fx(&fx), Some(("bob".into(), false)));
    assert_eq!(app.screen, Screen::Connecting);
    assert!(!app.wants_presence());
    step(&mut app, "found bob at 10.99.60.2; asking bob");
    step(&mut app, "waiting for bob to accept");
    let screen = words(&app);
    assert!(
        screen.contains(
            "looking for bob on this network → found bob at 10.99.60.2; asking bob → waiting for bob to accept"
        ),
        "{screen}"
    );
    assert!(screen.contains("Asking bob, a known peer"), "{screen}");

    // bob goes away: the list says so at the next round, and the selection goes back to
    // the first choice.
    app.update(key(KeyCode::Esc));
    assert_eq!(app.screen, Screen::Start);
    known(&mut app, vec![bob()]);
    assert_eq!(app.start_sel, 2, "still on bob");
    known(&mut app, vec![]);
    assert_eq!(app.start_sel, 0);
    assert!(render(&app).contains("No known peer is on this network now"));
}

#[test]
fn the_selection_follows_the_peer_when_the_list_changes_under_it() {
    let (mut app, _) = app_with(false, false, 100, 30);
    let carol = Here {
        name: "carol".into(),
        ..bob()
    };
    known(&mut app, vec![bob(), carol.clone()]);
    app.update(key(KeyCode::Up));
    assert_eq!(app.start_sel, 3, "on carol");
    // bob goes: carol moves up a row, and the selection with her.
    known(&mut app, vec![carol.clone()]);
    assert_eq!(app.start_sel, 2);
    // bob comes back before her: still carol.
    known(&mut app, vec![bob(), carol]);
    assert_eq!(app.start_sel, 3);
    let fx = app.update(key(KeyCode::Enter));
    assert_eq!(connect_fx(&fx), Some(("carol".into(), false)));
}

#[test]
fn each_failure_is_one_line_on_the_start_screen() {
    for why in [
        "bob is not on this network (no answer from bob's qrchat within 2 s); pair by code",
        "bob declined",
        "bob is in another chat right now; try again later",
    ] {
        let (mut app, _) = app_with(false, false, 100, 30);
        ask_bob(&mut app);
        let fx = failed(&mut app, why);
        assert!(fx.contains(&Effect::Close));
        assert_eq!(app.screen, Screen::Start);
        let screen = words(&app);
        assert!(screen.contains(why), "{screen}");
        if why == "bob declined" {
            insta::assert_snapshot!("start_known_declined", render(&app));
        }
        // The next choice clears it.
        ask_bob(&mut app);
        assert!(!words(&app).contains(why));
    }
}

#[test]
fn a_link_that_does_not_come_up_is_one_line_on_the_start_screen() {
    let (mut app, _) = app_with(false, false, 100, 30);
    bob_asks(&mut app, 1);
    app.update(key(KeyCode::Enter));
    let fx = session(&mut app, SessionEvent::Closed(CloseReason::PeerLost));
    assert!(fx.contains(&Effect::Close), "{fx:?}");
    assert_eq!(app.screen, Screen::Start);
    let screen = words(&app);
    assert!(screen.contains("could not connect to bob:"), "{screen}");
    assert!(!screen.contains("new code"), "{screen}");
}

#[test]
fn a_known_peer_asking_is_accepted_with_enter_and_the_chat_names_it() {
    let (mut app, _) = app_with(false, false, 100, 30);
    let fx = bob_asks(&mut app, 7);
    assert!(fx.contains(&Effect::Bell));
    let screen = render(&app);
    assert!(
        screen.contains("bob wants to chat: Enter accept, Esc decline"),
        "{screen}"
    );
    insta::assert_snapshot!("start_known_asks", screen);
    accept_with_enter(&mut app, 7, false);
    assert_eq!(app.screen, Screen::Connecting);
    let screen = words(&app);
    assert!(!screen.contains("wants to chat"), "{screen}");
    assert!(
        screen.contains("Connecting to bob, a known peer"),
        "{screen}"
    );
    assert!(screen.contains("accepted bob: answering"), "{screen}");
    opens(&mut app);
    assert_eq!(app.screen, Screen::Chat);
    let screen = words(&app);
    assert!(
        screen.contains("connected to bob (paired by sight on 2026-12-01)"),
        "{screen}"
    );
    assert!(
        screen.contains("safety number 123 456 (saved when you paired)"),
        "{screen}"
    );
    assert!(!screen.contains("999 999"), "{screen}");
    insta::assert_snapshot!("chat_known_opened", render(&app));
    // /save has nothing to add: bob is known.
    assert!(app.pairing.known.is_some());
}

#[test]
fn esc_declines_and_nothing_opens() {
    let (mut app, _) = app_with(false, false, 100, 30);
    bob_asks(&mut app, 3);
    let fx = app.update(key(KeyCode::Esc));
    assert_eq!(answer_fx(&fx), Some((3, Reply::Decline)));
    assert_eq!(app.screen, Screen::Start);
    assert!(!app.quit, "Esc answered the prompt, it did not quit");
    assert!(!render(&app).contains("wants to chat"));
    assert!(!fx.iter().any(|e| matches!(
        e,
        Effect::AnswerKnown {
            answer: Reply::Accept { .. },
            ..
        }
    )));
}

#[test]
fn in_an_open_chat_or_after_the_wait_the_asker_hears_busy() {
    let mut app = chatting(100, 30);
    let fx = bob_asks(&mut app, 1);
    assert_eq!(answer_fx(&fx), Some((1, Reply::Busy)));
    assert!(!render(&app).contains("wants to chat"));

    let (mut app, _) = app_with(false, false, 100, 30);
    bob_asks(&mut app, 2);
    // A second request while the first is asked: busy.
    let fx = bob_asks(&mut app, 4);
    assert_eq!(answer_fx(&fx), Some((4, Reply::Busy)));
    app.set_now(ASK_WAIT);
    let fx = app.update(AppEvent::Tick);
    assert_eq!(answer_fx(&fx), Some((2, Reply::Busy)));
    assert!(!render(&app).contains("wants to chat"));
}

/// A chat with bob (asked from the start screen) in which "first" and "second" went out
/// with ids and were never acknowledged before the link ended.
fn chat_with_bob_that_ended() -> App {
    let (mut app, _) = app_with(false, false, 100, 30);
    ask_bob(&mut app);
    opens(&mut app);
    for (n, text) in ["first", "second"].into_iter().enumerate() {
        typed(&mut app, text);
        let fx = app.update(key(KeyCode::Enter));
        assert!(fx.contains(&Effect::Send(text.into())), "{fx:?}");
        let pairing = app.pairing.id;
        app.update(AppEvent::Sent {
            pairing,
            result: Ok(Some(MessageId {
                chat: 9,
                seq: n as u64 + 1,
            })),
        });
    }
    session(&mut app, SessionEvent::Closed(CloseReason::PeerLost));
    assert!(app
        .chat
        .lines
        .iter()
        .filter(|l| l.text == "first" || l.text == "second")
        .all(|l| l.delivery == Some(Delivery::NotDelivered)));
    app
}

fn pending_again(app: &App) -> bool {
    app.chat
        .lines
        .iter()
        .filter(|l| l.text == "first" || l.text == "second")
        .all(|l| l.delivery == Some(Delivery::Pending))
}

#[test]
fn ctrl_r_asks_the_known_peer_again_and_what_it_did_not_get_is_pending_again() {
    let mut app = chat_with_bob_that_ended();
    assert!(
        footer(&app).contains("Ctrl-R ask again, keep chat"),
        "{}",
        footer(&app)
    );
    typed(&mut app, "a draft");
    let fx = app.update(ctrl('r'));
    assert_eq!(connect_fx(&fx), Some(("bob".into(), true)));
    assert_eq!(app.screen, Screen::Connecting);
    assert_eq!(app.composer.text(), "a draft");
    opens(&mut app);
    assert_eq!(app.screen, Screen::Chat);
    let screen = render(&app);
    assert!(screen.contains("bob again, the same app"), "{screen}");
    assert!(pending_again(&app), "{screen}");
    // The chat is the same one: the old lines are there.
    assert!(screen.contains("you   first ⋯"), "{screen}");
}

#[test]
fn a_reconnect_that_fails_goes_back_to_the_kept_chat_with_the_reason() {
    let mut app = chat_with_bob_that_ended();
    app.update(ctrl('r'));
    failed(
        &mut app,
        "bob is not on this network (no answer from bob's qrchat within 2 s); pair by code",
    );
    assert_eq!(app.screen, Screen::Chat);
    assert!(last_line(&app).contains("bob is not on this network"));
    assert!(app
        .chat
        .lines
        .iter()
        .any(|l| l.text == "first" && l.delivery == Some(Delivery::NotDelivered)));
}

#[test]
fn the_same_peer_asking_after_the_chat_ended_is_accepted_into_the_same_chat() {
    let mut app = chat_with_bob_that_ended();
    bob_asks(&mut app, 5);
    // The prompt takes the footer of the chat that ended.
    assert!(footer(&app).contains("bob wants to chat: Enter accept, Esc decline"));
    let fx = accept_with_enter(&mut app, 5, true);
    assert!(!fx.contains(&Effect::NewChat));
    opens(&mut app);
    assert!(pending_again(&app));

    // Someone else asking after a chat with bob ended: a new chat, nothing resent.
    let mut app = chat_with_bob_that_ended();
    let carol = Here {
        name: "carol".into(),
        ..bob()
    };
    app.update(AppEvent::KnownAsk {
        ask: 6,
        peer: carol,
    });
    let fx = app.update(key(KeyCode::Enter));
    assert!(fx.contains(&Effect::NewChat));
    assert!(app.chat.lines.is_empty());
}

/// The runner's known-peer half listening on loopback: this app ("me") saved bob
/// ("them") under `secret`; `alice` is what bob saved of this app (what a connector
/// posing as bob searches with).
struct Loopback {
    _dir: tempfile::TempDir,
    secret: [u8; 32],
    them: [u8; 32],
    alice: crate::known::KnownPeer,
    port: u16,
    bind: Vec<String>,
    rx: tokio::sync::mpsc::UnboundedReceiver<AppEvent>,
    side: crate::tui::known::Side,
}

impl Loopback {
    fn new() -> Loopback {
        use crate::known::{store, KnownPeer};
        let dir = tempfile::tempdir().unwrap();
        let secret = [7u8; 32];
        let (me, them) = ([1u8; 32], [2u8; 32]);
        let lo = std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
        let saved = |name: &str, fingerprint, my_fingerprint| KnownPeer {
            name: name.into(),
            fingerprint,
            my_fingerprint,
            secret,
            paired: 0,
            last_seen: 0,
            addrs: vec![lo],
        };
        store::remember(dir.path(), saved("bob", them, me)).unwrap();
        let port = std::net::UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let bind = vec!["127.0.0.1".to_string()];
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let mut side = crate::tui::known::Side::new(
            dir.path().into(),
            me,
            port,
            bind.clone(),
            Arc::new(Scripted::default()),
        );
        // The listener keeps its own sender (the app's events).
        side.listen(&tx);
        Loopback {
            _dir: dir,
            secret,
            them,
            alice: saved("alice", me, them),
            port,
            bind,
            rx,
            side,
        }
    }
}

/// The runner's half with real sockets on loopback: the app's listener (`Side::listen`)
/// turns only a genuine known peer's sealed offer into a prompt. A stranger (another
/// secret) and a holder of the secret with another identity get nothing shown; the
/// genuine one is asked, and the user's Esc reaches it as "declined".
#[tokio::test]
async fn only_a_genuine_known_peer_is_put_to_the_user() {
    use crate::known::discovery::{ConnectError, Connector};
    use crate::known::KnownPeer;

    let mut lb = Loopback::new();
    let (port, bind, them) = (lb.port, lb.bind.clone(), lb.them);
    let asked = |rx: &mut tokio::sync::mpsc::UnboundedReceiver<AppEvent>| {
        std::iter::from_fn(|| rx.try_recv().ok())
            .filter_map(|e| match e {
                AppEvent::KnownAsk { ask, peer } => Some((ask, peer)),
                _ => None,
            })
            .collect::<Vec<_>>()
    };

    // A stranger: another secret. Its hello gets a challenge it cannot use.
    let stranger = KnownPeer {
        secret: [8; 32],
        ..lb.alice.clone()
    };
    let r = Connector::find(&stranger, port, &bind).await;
    assert!(
        matches!(r, Err(ConnectError::ForgotUs { .. })),
        "{:?}",
        r.err()
    );

    // The secret, but not bob's identity: refused by the listener, nothing shown.
    let mut conn = Connector::find(&lb.alice, port, &bind).await.unwrap();
    let r = conn.offer([9; 32], "an offer", || {}).await;
    assert!(matches!(r, Err(ConnectError::NotYou { .. })), "{r:?}");
    assert!(asked(&mut lb.rx).is_empty());

    // bob himself: asked; the user declines.
    let mut conn = Connector::find(&lb.alice, port, &bind).await.unwrap();
    let offer = tokio::spawn(async move { conn.offer(them, "an offer", || {}).await });
    let (ask, peer) = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if let Some(a) = asked(&mut lb.rx).pop() {
                break a;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the genuine request reaches the app");
    assert_eq!(peer.name, "bob");
    lb.side
        .refuse(ask, crate::known::discovery::Answer::Decline);
    let r = offer.await.unwrap();
    assert!(matches!(r, Err(ConnectError::Declined { .. })), "{r:?}");
}

#[test]
fn a_withdrawn_request_leaves_the_screen_with_one_quiet_line() {
    // On the start screen: the prompt goes, one dim line says why, no bell.
    let (mut app, _) = app_with(false, false, 100, 30);
    bob_asks(&mut app, 5);
    assert!(render(&app).contains("bob wants to chat: Enter accept, Esc decline"));
    // Another request's withdrawal (answered meanwhile) does not touch this one.
    let fx = app.update(AppEvent::KnownWithdrawn { ask: 4 });
    assert!(fx.is_empty());
    assert!(render(&app).contains("bob wants to chat"));
    let fx = app.update(AppEvent::KnownWithdrawn { ask: 5 });
    assert!(fx.is_empty(), "nothing to answer, no bell: {fx:?}");
    assert!(app.known.ask.is_none());
    let screen = render(&app);
    assert!(!screen.contains("wants to chat"), "{screen}");
    assert_eq!(screen.matches("bob stopped asking").count(), 1, "{screen}");
    insta::assert_snapshot!("start_known_withdrawn", screen);
    // Enter now is the start screen's own again (Start a chat), not a late accept.
    let fx = app.update(key(KeyCode::Enter));
    assert!(answer_fx(&fx).is_none(), "{fx:?}");

    // In a chat with bob that ended: a line in that chat.
    let mut app = chat_with_bob_that_ended();
    bob_asks(&mut app, 8);
    assert!(render(&app).contains("bob wants to chat"));
    app.update(AppEvent::KnownWithdrawn { ask: 8 });
    assert!(app.known.ask.is_none());
    let w = words(&app);
    assert!(!w.contains("wants to chat"), "{w}");
    assert!(w.contains("bob stopped asking"), "{w}");
}

/// The next request or withdrawal the app's listener tells the app of.
async fn next(rx: &mut tokio::sync::mpsc::UnboundedReceiver<AppEvent>) -> AppEvent {
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match rx.recv().await {
                Some(e @ (AppEvent::KnownAsk { .. } | AppEvent::KnownWithdrawn { .. })) => break e,
                Some(_) => {}
                None => panic!("the listener stopped"),
            }
        }
    })
    .await
    .expect("the listener said nothing")
}

/// The asker gives up on real loopback sockets: a hostile sender's forged withdrawals (a
/// stranger's key, the right key over the wrong nonces) leave the genuine request on
/// screen; the asker's own connector, dropped while it waits (Esc, quit, Ctrl-C), takes it
/// back: the app hears it once, and the request is gone (a late Enter answers nothing).
/// And a request the app accepts but cannot start is told so, not "busy".
#[tokio::test]
async fn the_asker_giving_up_takes_the_prompt_back_and_a_failed_start_is_said() {
    use crate::known::discovery::{ConnectError, Connector};
    use crate::known::lan::{self, Keys, Nonce, Packet};

    let Loopback {
        _dir,
        secret,
        them,
        alice,
        port,
        bind,
        mut rx,
        mut side,
        ..
    } = Loopback::new();
    // A hostile sender of our own that holds the secret drives the exchange by hand, so
    // it knows both nonces; then forges withdrawals of that request.
    let sock = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let to = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let keys = Keys::from_secret(&secret);
    let nc: Nonce = lan::random();
    let nl = loop {
        sock.send_to(&lan::hello(&keys, &nc), to).await.unwrap();
        let mut buf = [0u8; 2048];
        if let Ok(Ok((n, _))) =
            tokio::time::timeout(Duration::from_millis(500), sock.recv_from(&mut buf)).await
        {
            if let Ok(Packet::Challenge { nl, .. }) = lan::parse(&buf[..n]) {
                break nl;
            }
        }
    };
    let body = lan::OfferBody {
        fingerprint: them,
        nc,
        code: "an offer".into(),
    };
    sock.send_to(&lan::offer(&keys, &nl, &body), to)
        .await
        .unwrap();
    let AppEvent::KnownAsk { ask, peer } = next(&mut rx).await else {
        panic!("no request")
    };
    assert_eq!(peer.name, "bob");
    for forged in [
        lan::withdraw(&Keys::from_secret(&[8; 32]), &nc, &nl),
        lan::withdraw(&keys, &lan::random(), &nl),
        lan::withdraw(&keys, &nc, &lan::random()),
    ] {
        sock.send_to(&forged, to).await.unwrap();
    }
    // The genuine withdrawal after them: it is the first thing the app hears.
    let genuine = lan::withdraw(&keys, &nc, &nl);
    sock.send_to(&genuine, to).await.unwrap();
    match next(&mut rx).await {
        AppEvent::KnownWithdrawn { ask: w } => assert_eq!(w, ask),
        other => panic!("{other:?}"),
    }
    // Replayed: heard no more.
    sock.send_to(&genuine, to).await.unwrap();

    // The real connector, given up while bob's user is asked (its task dropped).
    let mut conn = Connector::find(&alice, port, &bind).await.unwrap();
    let offer = tokio::spawn(async move { conn.offer(them, "an offer", || {}).await });
    let AppEvent::KnownAsk { ask, .. } = next(&mut rx).await else {
        panic!("no request")
    };
    offer.abort();
    match next(&mut rx).await {
        AppEvent::KnownWithdrawn { ask: w } => assert_eq!(w, ask),
        other => panic!("{other:?}"),
    }
    // The request is gone: accepting it now makes nothing.
    let (stx, _srx) = tokio::sync::mpsc::unbounded_channel();
    let r = side.accept(ask, stx, None).await;
    assert!(r.is_err());
    // Nothing more was heard (the replay above, the connector's repeats).
    tokio::time::sleep(Duration::from_millis(500)).await;
    let more: Vec<_> = std::iter::from_fn(|| rx.try_recv().ok())
        .filter(|e| matches!(e, AppEvent::KnownWithdrawn { .. }))
        .collect();
    assert!(more.is_empty(), "{more:?}");

    // Accepted, but this app cannot start the chat (the offer cannot be used): the asker
    // is told that, not that bob is in another chat.
    let mut conn = Connector::find(&alice, port, &bind).await.unwrap();
    let offer = tokio::spawn(async move { conn.offer(them, "not an offer code", || {}).await });
    let AppEvent::KnownAsk { ask, .. } = next(&mut rx).await else {
        panic!("no request")
    };
    let (stx, _srx) = tokio::sync::mpsc::unbounded_channel();
    let r = side.accept(ask, stx, None).await;
    assert!(r.is_err());
    let r = offer.await.unwrap();
    match r {
        Err(e @ ConnectError::CouldNotStart { .. }) => assert_eq!(
            e.to_string(),
            "alice's app could not start the chat; try again"
        ),
        other => panic!("{other:?}"),
    }
}
