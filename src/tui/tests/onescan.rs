//! Tests: one scan. The joiner shows "handing my answer…" and its QR only when no
//! acknowledgement came within `HAND_OVER_WAIT`; the starter whose code was answered
//! directly is asked to compare the safety number and can drop the peer (Ctrl-O).

use super::*;

/// A joiner (one scan on) that has read a code taking a direct answer and made its answer.
fn joiner_handing() -> App {
    let (mut app, _) = app_with(false, true, 100, 40);
    app.opts.direct = true;
    app.update(key(KeyCode::Char('p')));
    let offer = sdp(SdpKind::Offer, 0xAA, 50000);
    let marked = SessionDescription {
        kind: SdpKind::Offer,
        sdp: signal::mark_direct(&offer.sdp),
    };
    app.update(AppEvent::Paste(
        signal::encode(&marked, Format::Auto).unwrap(),
    ));
    let fx = app.update(key(KeyCode::Enter));
    assert!(
        fx.iter().any(|e| matches!(e, Effect::Join { .. })),
        "{fx:?}"
    );
    code_made(&mut app, SdpKind::Answer, 0xBB, 50002);
    app
}

/// The direct hand-over of my answer ended with `outcome`.
fn delivered(app: &mut App, outcome: crate::direct::Delivery) -> Vec<Effect> {
    let pairing = app.pairing.id;
    app.update(AppEvent::Delivered { pairing, outcome })
}

#[test]
fn the_joiner_hands_its_answer_over_and_shows_its_qr_only_without_an_ack() {
    let mut app = joiner_handing();
    let t0 = app.now;
    let s = render(&app);
    assert!(s.contains("handing my answer to the other side"), "{s}");
    assert!(
        !s.contains(crate::tui::screens::my_code::TEXT_HEADER),
        "{s}"
    );
    // Still within the wait: no QR.
    app.set_now(t0 + Duration::from_millis(1400));
    assert!(render(&app).contains("handing my answer"));
    // No acknowledgement within it: the QR, saying the delivery goes on behind it.
    app.set_now(t0 + HAND_OVER_WAIT);
    let s = render(&app);
    assert!(!s.contains("handing my answer to the other side"), "{s}");
    assert!(s.contains("still handing it over directly"), "{s}");
    // The acknowledgement comes late: whichever comes first wins, on to connecting.
    delivered(
        &mut app,
        crate::direct::Delivery::Accepted {
            to: "192.168.1.20:50000".parse().unwrap(),
        },
    );
    assert_eq!(app.screen, Screen::Connecting);
}

#[test]
fn an_ack_in_time_goes_straight_to_connecting_and_a_refusal_says_the_code_is_used() {
    let mut app = joiner_handing();
    delivered(
        &mut app,
        crate::direct::Delivery::Accepted {
            to: "192.168.1.20:50000".parse().unwrap(),
        },
    );
    assert_eq!(app.screen, Screen::Connecting);
    assert!(render(&app).contains("the other side took my answer"));

    // Another joiner was first: the QR at once, and why it will not help.
    let mut app = joiner_handing();
    delivered(
        &mut app,
        crate::direct::Delivery::UsedUp {
            by: "192.168.1.20:50000".parse().unwrap(),
        },
    );
    assert_eq!(app.screen, Screen::MyCode);
    let s = render(&app);
    assert!(s.contains("code is used up"), "{s}");
    assert!(!s.contains("handing my answer to the other side"), "{s}");

    // A code without the flag (or --no-direct): the QR at once, as before.
    let (mut app, _) = app_with(false, true, 100, 40);
    app.opts.direct = true;
    paste_their_code(&mut app, SdpKind::Offer, 0xAA);
    code_made(&mut app, SdpKind::Answer, 0xBB, 50002);
    assert!(!render(&app).contains("handing my answer"));
}

#[test]
fn a_directly_answered_starter_asks_to_compare_and_can_drop_the_peer() {
    let mut app = starter_with_code(100, 30);
    let pairing = app.pairing.id;
    app.update(AppEvent::AnswerArrived {
        pairing,
        answer: sdp(SdpKind::Answer, 0xBB, 50002),
    });
    assert_eq!(app.screen, Screen::Connecting);
    session(
        &mut app,
        SessionEvent::State(LinkState::Open { route: Route::Lan }),
    );
    link_opens(&mut app, Some("192.168.1.21:50002"));
    assert_eq!(app.screen, Screen::Chat);
    let said: Vec<&str> = app.chat.lines.iter().map(|l| l.text.as_str()).collect();
    assert!(
        said.iter()
            .any(|l| l.contains("a peer read your code and joined")
                && l.contains("418 092")
                && l.contains("Ctrl-O")),
        "{said:?}"
    );
    assert!(footer(&app).contains("Ctrl-O"), "{}", footer(&app));
    let before = app.chat.lines.len();
    let fx = app.update(ctrl('o'));
    assert!(
        fx.iter().any(|e| matches!(e, Effect::StartOffer { .. })),
        "a new code: {fx:?}"
    );
    assert!(fx.contains(&Effect::Close), "the peer is dropped: {fx:?}");
    assert_eq!(app.screen, Screen::MyCode);
    assert!(app.chat.lines.len() > before, "the chat is kept");
    assert!(!app.pairing.direct);
}
