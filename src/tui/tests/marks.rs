//! Tests: delivery marks on my lines (pending, delivered, not delivered), through the
//! runner and the scripted session, which hands out message ids as a real one does.

use super::*;
use crate::chat::delivery::{self, MessageId};
use crate::tui::session::scripted::SCRIPTED_CHAT;

/// A scripted session whose peer is (or is not) qrchat and whose link opens at once.
fn script(qrchat: bool) -> Scripted {
    Scripted {
        local: Some(sdp(SdpKind::Offer, 0xAA, 50000)),
        on_connect: vec![
            SessionEvent::State(LinkState::Connecting),
            SessionEvent::State(LinkState::Open { route: Route::Lan }),
            scripted_open(),
        ],
        qrchat,
        ..Default::default()
    }
}

/// A chat with the same app as before (certificate 0xBB), saved (--history) into a new
/// folder.
async fn saved_chat() -> (tempfile::TempDir, Rig) {
    let dir = tempfile::tempdir().unwrap();
    let mut rig = Rig::new(script(true), Some(dir.path())).await;
    rig.pair_with(0xBB).await;
    (dir, rig)
}

/// The text of the saved chat (the first file in `dir`).
fn saved_text(dir: &tempfile::TempDir) -> String {
    let files: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    std::fs::read_to_string(files[0].as_ref().unwrap().path()).unwrap()
}

struct Rig {
    app: App,
    runner: Runner,
    rx: tokio::sync::mpsc::UnboundedReceiver<AppEvent>,
}

impl Rig {
    async fn new(script: Scripted, history: Option<&std::path::Path>) -> Rig {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let (runner, _) = runner(script, CameraSpec::default(), tx);
        let runner = runner.with_history(history.map(|p| p.to_path_buf()));
        let (app, fx) = App::new(Options {
            start: true,
            size: (100, 30),
            clock_origin: 12 * 3600 + 34 * 60,
            history: history.is_some(),
            ..Default::default()
        });
        let mut rig = Rig { app, runner, rx };
        rig.runner.execute_all(fx);
        rig.pump().await;
        rig
    }

    async fn pump(&mut self) {
        pump(&mut self.app, &mut self.runner, &mut self.rx).await;
    }

    async fn update(&mut self, ev: AppEvent) {
        let fx = self.app.update(ev);
        self.runner.execute_all(fx);
        self.pump().await;
    }

    /// Paste the peer's answer (certificate `fp`) into my code screen: the link opens.
    async fn pair_with(&mut self, fp: u8) {
        self.update(key(KeyCode::Char('p'))).await;
        self.update(AppEvent::Paste(blob(SdpKind::Answer, fp)))
            .await;
        self.update(key(KeyCode::Enter)).await;
        assert_eq!(self.app.screen, Screen::Chat, "{}", render(&self.app));
    }

    async fn say(&mut self, text: &str) {
        typed(&mut self.app, text);
        self.update(key(KeyCode::Enter)).await;
    }

    async fn event(&mut self, event: SessionEvent) {
        let pairing = self.app.pairing.id;
        self.update(AppEvent::Session { pairing, event }).await;
    }

    /// My line saying `text`, as the chat shows it (the row that starts with it).
    fn shown(&self, text: &str) -> String {
        let screen = render(&self.app);
        let want = format!("you   {text}");
        screen
            .lines()
            .find(|l| l.contains(&want))
            .unwrap_or_else(|| panic!("no line {want:?} in\n{screen}"))
            .to_string()
    }

    fn mark(&self, text: &str) -> Option<Delivery> {
        let line = self.app.chat.lines.iter().find(|l| l.text == text);
        line.expect("the line").delivery
    }
}

fn id(seq: u64) -> MessageId {
    MessageId {
        chat: SCRIPTED_CHAT,
        seq,
    }
}

/// The chat area's rows from the first of mine to the last of mine.
fn my_rows(app: &App) -> String {
    let screen = render(app);
    let rows: Vec<&str> = screen.lines().collect();
    let mine = |l: &&str| l.starts_with("12:34 you ");
    let first = rows.iter().position(mine).unwrap();
    let last = rows.iter().rposition(mine).unwrap();
    rows[first..=last].join("\n")
}

#[tokio::test]
async fn my_lines_show_pending_then_delivered_and_acks_are_cumulative() {
    let mut rig = Rig::new(script(true), None).await;
    rig.pair_with(0xBB).await;
    rig.say("one").await;
    rig.say("two").await;
    rig.say("three").await;
    assert!(rig.shown("one").ends_with("one ⋯"), "{}", rig.shown("one"));
    assert_eq!(rig.app.chat.lines.back().unwrap().id, Some(id(3)));
    // The peer acknowledged the first.
    rig.event(SessionEvent::Delivered(vec![id(1)])).await;
    assert!(rig.shown("one").ends_with("one ✓"));
    assert!(rig.shown("two").ends_with("two ⋯"));
    insta::assert_snapshot!("marks_pending_and_delivered", my_rows(&rig.app));
    // An ack names everything up to it delivered (the peer shows in order).
    rig.event(SessionEvent::Delivered(vec![id(3)])).await;
    for m in ["one", "two", "three"] {
        assert_eq!(rig.mark(m), Some(Delivery::Delivered), "{m}");
        assert!(rig.shown(m).ends_with(&format!("{m} ✓")));
    }
    // A peer's line and the status lines carry no mark.
    rig.event(SessionEvent::Message("hi".into())).await;
    let screen = render(&rig.app);
    assert!(screen.contains("peer  hi\n"), "{screen}");
    assert!(
        !screen
            .lines()
            .any(|l| !l.starts_with("12:34 you ") && (l.ends_with('✓') || l.ends_with('⋯'))),
        "{screen}"
    );
}

#[tokio::test]
async fn an_ack_that_overtakes_the_sent_report_still_delivers_the_line() {
    let mut rig = Rig::new(script(true), None).await;
    rig.pair_with(0xBB).await;
    // Typed, but its report from the session not in yet: the ack arrives first.
    typed(&mut rig.app, "quick");
    let fx = rig.app.update(key(KeyCode::Enter));
    assert_eq!(rig.mark("quick"), Some(Delivery::Pending));
    let pairing = rig.app.pairing.id;
    rig.app.update(AppEvent::Session {
        pairing,
        event: SessionEvent::Delivered(vec![id(1)]),
    });
    rig.runner.execute_all(fx);
    rig.pump().await;
    assert_eq!(rig.mark("quick"), Some(Delivery::Delivered));
}

#[tokio::test]
async fn a_message_the_session_refused_is_not_delivered_and_says_why() {
    let mut rig = Rig::new(script(true), None).await;
    rig.pair_with(0xBB).await;
    typed(&mut rig.app, "lost");
    rig.app.update(key(KeyCode::Enter));
    let pairing = rig.app.pairing.id;
    rig.update(AppEvent::Sent {
        pairing,
        result: Err(Arc::new(RtcError::Closed)),
    })
    .await;
    assert!(rig.shown("lost").ends_with("lost (not delivered)"));
    assert!(render(&rig.app).contains("not sent: "));
}

#[tokio::test]
async fn pending_lines_are_not_delivered_when_the_link_ends_on_screen_and_in_the_transcript() {
    let (dir, mut rig) = saved_chat().await;
    rig.say("made it").await;
    rig.say("sent during the outage").await;
    rig.event(SessionEvent::Delivered(vec![id(1)])).await;
    rig.event(SessionEvent::Closed(CloseReason::PeerLost)).await;
    assert!(rig.shown("made it").ends_with("made it ✓"));
    assert!(
        rig.shown("sent during the outage")
            .ends_with("sent during the outage (not delivered)"),
        "{}",
        rig.shown("sent during the outage")
    );
    insta::assert_snapshot!("marks_not_delivered", my_rows(&rig.app));
    let text = saved_text(&dir);
    assert!(text.contains(" you: sent during the outage\n"), "{text}");
    assert!(
        text.contains(" --: not delivered: sent during the outage\n"),
        "{text}"
    );
    assert!(!text.contains("not delivered: made it"), "{text}");
}

#[tokio::test]
async fn quitting_with_lines_not_confirmed_asks_once_then_marks_them_not_delivered() {
    let (dir, mut rig) = saved_chat().await;
    rig.say("made it").await;
    rig.say("still on its way").await;
    rig.event(SessionEvent::Delivered(vec![id(1)])).await;
    // The chat is saved (--history), but a line is not confirmed: asked once.
    rig.update(ctrl('c')).await;
    assert!(!rig.app.quit);
    let out = render(&rig.app);
    assert!(
        out.contains("1 message not confirmed by the other side yet: Ctrl-C again to quit"),
        "{out}"
    );
    assert_eq!(rig.mark("still on its way"), Some(Delivery::Pending));
    rig.update(ctrl('c')).await;
    assert!(rig.app.quit);
    assert_eq!(rig.mark("still on its way"), Some(Delivery::NotDelivered));
    assert_eq!(rig.mark("made it"), Some(Delivery::Delivered));
    let text = saved_text(&dir);
    assert!(
        text.contains(" --: not delivered: still on its way\n"),
        "{text}"
    );
    assert!(!text.contains("not delivered: made it"), "{text}");
}

#[tokio::test]
async fn quitting_with_every_line_confirmed_and_saved_asks_nothing() {
    let (_dir, mut rig) = saved_chat().await;
    rig.say("made it").await;
    rig.event(SessionEvent::Delivered(vec![id(1)])).await;
    rig.update(ctrl('c')).await;
    assert!(rig.app.quit);
}

#[tokio::test]
async fn a_re_pairing_with_the_same_app_makes_them_pending_again_until_acknowledged() {
    let (dir, mut rig) = saved_chat().await;
    rig.say("first").await;
    rig.say("second").await;
    rig.event(SessionEvent::Closed(CloseReason::PeerLost)).await;
    assert_eq!(rig.mark("second"), Some(Delivery::NotDelivered));

    // Ctrl-R, and the same app (certificate 0xBB) pairs again: the session resends them.
    rig.update(ctrl('r')).await;
    assert_eq!(rig.app.screen, Screen::MyCode);
    rig.pair_with(0xBB).await;
    assert!(render(&rig.app).contains("the same app as before"));
    assert!(rig.shown("first").ends_with("first ⋯"));
    assert!(rig.shown("second").ends_with("second ⋯"));
    // A new message after them gets the next id.
    rig.say("third").await;
    assert_eq!(rig.app.chat.lines.back().unwrap().id, Some(id(3)));
    rig.event(SessionEvent::Delivered(vec![id(1), id(2), id(3)]))
        .await;
    for m in ["first", "second", "third"] {
        assert!(
            rig.shown(m).ends_with(&format!("{m} ✓")),
            "{}",
            rig.shown(m)
        );
    }
    let text = saved_text(&dir);
    assert!(text.contains(" --: not delivered: second\n"), "{text}");
    assert!(
        text.contains(" --: delivered after re-pairing: second\n"),
        "{text}"
    );
    assert!(
        !text.contains("delivered after re-pairing: third"),
        "{text}"
    );
}

#[tokio::test]
async fn a_sent_report_that_comes_after_the_close_still_gives_the_line_its_id() {
    let mut rig = Rig::new(script(true), None).await;
    rig.pair_with(0xBB).await;
    typed(&mut rig.app, "racing the close");
    let fx = rig.app.update(key(KeyCode::Enter));
    // The link ends before the session's report of the send is in.
    let pairing = rig.app.pairing.id;
    rig.app.update(AppEvent::Session {
        pairing,
        event: SessionEvent::Closed(CloseReason::PeerLost),
    });
    assert_eq!(rig.mark("racing the close"), Some(Delivery::NotDelivered));
    rig.runner.execute_all(fx);
    rig.pump().await;
    assert_eq!(rig.mark("racing the close"), Some(Delivery::NotDelivered));
    // rtc kept it in the outbox: after Ctrl-R with the same app it is pending, then
    // delivered.
    rig.update(ctrl('r')).await;
    rig.pair_with(0xBB).await;
    assert_eq!(rig.mark("racing the close"), Some(Delivery::Pending));
    rig.event(SessionEvent::Delivered(vec![id(1)])).await;
    assert_eq!(rig.mark("racing the close"), Some(Delivery::Delivered));
}

#[tokio::test]
async fn a_re_pairing_with_another_app_leaves_them_not_delivered() {
    let mut rig = Rig::new(script(true), None).await;
    rig.pair_with(0xBB).await;
    rig.say("for bob only").await;
    rig.event(SessionEvent::Closed(CloseReason::PeerLost)).await;
    rig.update(ctrl('r')).await;
    rig.pair_with(0xCC).await;
    assert!(render(&rig.app).contains("a different peer than before"));
    // Not sent to someone else: it stays not delivered.
    assert!(rig
        .shown("for bob only")
        .ends_with("for bob only (not delivered)"));
}

#[tokio::test]
async fn a_browser_peer_gets_no_marks() {
    let mut rig = Rig::new(script(false), None).await;
    rig.pair_with(0xBB).await;
    typed(&mut rig.app, "plain text");
    let fx = rig.app.update(key(KeyCode::Enter));
    // Not even pending while the session takes it.
    assert_eq!(rig.mark("plain text"), None);
    rig.runner.execute_all(fx);
    rig.pump().await;
    assert_eq!(rig.mark("plain text"), None);
    assert!(rig.shown("plain text").ends_with("plain text"));
    rig.event(SessionEvent::Closed(CloseReason::PeerLeft)).await;
    assert_eq!(rig.mark("plain text"), None);
    assert!(rig.shown("plain text").ends_with("plain text"));
}

#[tokio::test]
async fn a_new_chat_gives_up_what_the_last_one_did_not_deliver() {
    let mut rig = Rig::new(script(true), None).await;
    rig.pair_with(0xBB).await;
    rig.say("old chat").await;
    rig.event(SessionEvent::Closed(CloseReason::PeerLeft)).await;
    // Esc from the ended chat (asked once: it is not saved) begins a new chat.
    rig.update(key(KeyCode::Esc)).await;
    let fx = rig.app.update(key(KeyCode::Esc));
    assert!(fx.contains(&Effect::NewChat), "{fx:?}");
    assert!(rig.app.chat.lines.is_empty());

    // The runner clears the chat's delivery state, so no later pairing resends it.
    let shared = delivery::shared();
    {
        let mut d = delivery::lock(&shared);
        // Sent to the app of certificate 0xBB, which a later pairing would get it again.
        d.new_pairing(true, Some([0xBB; 32]));
        d.send("old chat").unwrap();
        d.link_ended();
    }
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let (runner, _) = runner(script(true), CameraSpec::default(), tx);
    let mut runner = runner.with_delivery(Some(shared.clone()));
    runner.execute_all(fx);
    let mut d = delivery::lock(&shared);
    assert!(d.pending().is_empty());
    assert!(d.new_pairing(true, Some([0xBB; 32])).is_empty());
}
