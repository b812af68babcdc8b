//! Tests: pasting forgives.

use super::*;

#[test]
fn a_quoted_labelled_split_code_is_found_in_the_paste() {
    let (mut app, _) = app_with(false, true, 80, 24);
    app.update(key(KeyCode::Char('p')));
    let code = blob(SdpKind::Offer, 0xBB);
    let (a, b) = code.split_at(code.len() / 2);
    app.update(AppEvent::Paste(format!("my code: '{a}\n{b}'")));
    assert!(
        matches!(app.pairing.paste.verdict, Some(Ok(_))),
        "{}",
        render(&app)
    );
    let fx = app.update(key(KeyCode::Enter));
    assert!(matches!(&fx[..], [Effect::Join { offer, .. }] if offer.kind == SdpKind::Offer));
}

#[test]
fn pasting_my_own_offer_says_it_is_my_own_code() {
    let mut app = starter_with_code(80, 24);
    let own = app.pairing.local.as_ref().unwrap().blob.clone();
    app.update(key(KeyCode::Char('p')));
    app.update(AppEvent::Paste(own));
    let out = render(&app);
    assert!(out.contains("your own code"), "{out}");
    assert!(!out.contains("expected an answer"), "{out}");
}
