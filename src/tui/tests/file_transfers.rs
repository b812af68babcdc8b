//! Tests: files in the chat.

use super::*;
use crate::transfer::TransferError;

/// A chat (starter side) with a qrchat peer, paths relative to `dir`, files received
/// into `dir/in`.
fn chatting_in(dir: &std::path::Path) -> App {
    let mut app = chatting(100, 24);
    app.opts.cwd = Some(dir.to_path_buf());
    app.opts.home = Some(dir.join("home"));
    app.opts.receive_dir = Some(dir.join("in"));
    let pairing = app.pairing.id;
    app.update(AppEvent::Session {
        pairing,
        event: SessionEvent::Peer { qrchat: true },
    });
    app
}

fn enter(app: &mut App, text: &str) -> Vec<Effect> {
    typed(app, text);
    app.update(key(KeyCode::Enter))
}

/// The chat's message rows (between the title and the status bar), trimmed.
fn chat_rows(app: &App) -> Vec<String> {
    let out = render(app);
    let rows: Vec<&str> = out.lines().collect();
    rows[1..rows.len().saturating_sub(3)]
        .iter()
        .map(|l| l.trim_end().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

fn progress(direction: Direction, name: &str, done: u64, total: u64, rate: f64) -> Progress {
    Progress {
        direction,
        name: name.into(),
        file: name.into(),
        done,
        total,
        rate,
        eta: (rate > 0.0).then(|| Duration::from_secs_f64((total - done) as f64 / rate)),
    }
}

#[test]
fn send_words_are_split_as_a_shell_does() {
    let w = files::split(r#"a\ b 'c d' "e \"f\"" g'h i'j ~/k"#);
    assert_eq!(w.words, vec!["a b", "c d", "e \"f\"", "gh ij", "~/k"]);
    assert_eq!(w.open_quote, None);
    assert!(!w.ended);
    let w = files::split("'unclosed dir/");
    assert_eq!(w.open_quote, Some('\''));
    assert!(files::split("a ").ended);
    let home = std::path::Path::new("/home/u");
    assert_eq!(files::expand("~/x", Some(home)), home.join("x"));
    assert_eq!(files::expand("~", Some(home)), home);
    assert_eq!(
        files::expand("~bob/x", Some(home)),
        std::path::Path::new("~bob/x")
    );
    assert_eq!(files::quote("/a/b.txt"), "/a/b.txt");
    assert_eq!(files::quote("/a/it's here"), r"'/a/it'\''s here'");
    // What quote makes, split gives back.
    for p in ["/a b/c", "it's", "$HOME", "x\"y", "tab\there"] {
        assert_eq!(files::split(&files::quote(p)).words, vec![p.to_string()]);
    }
    assert_eq!(
        files::file_url("file:///tmp/a%20b.txt"),
        Some("/tmp/a b.txt".into())
    );
    assert_eq!(files::file_url("file://localhost/x"), Some("/x".into()));
    assert_eq!(files::file_url("file://evil.example/x"), None);
    assert_eq!(files::file_url("file:///bad%zz"), None);
}

#[test]
fn send_offers_existing_paths_and_names_missing_ones() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("a.txt"), b"hello").unwrap();
    std::fs::write(d.join("my file.txt"), vec![0u8; 2_100_000]).unwrap();
    std::fs::create_dir_all(d.join("home/pics")).unwrap();
    let mut app = chatting_in(d);

    // A missing path: named, nothing sent (even when others exist).
    let fx = enter(&mut app, "/send a.txt nope.txt");
    assert!(fx.is_empty(), "{fx:?}");
    let want = format!(
        "no such file or folder: {}. Nothing was sent.",
        d.join("nope.txt").display()
    );
    assert_eq!(last_line(&app), want);
    assert!(app.chat.transfers.is_empty());

    // An unclosed quote is said as such.
    enter(&mut app, "/send 'my file.txt");
    assert!(last_line(&app).contains("quote is not closed"));
    // /send alone says how.
    enter(&mut app, "/send");
    assert!(last_line(&app).contains("/send PATH"));

    // Quoted, escaped and ~ paths, several at once: one transfer.
    let fx = enter(&mut app, r"/send 'my file.txt' a.txt ~/pics");
    assert_eq!(
        fx,
        vec![Effect::SendFiles {
            id: 1,
            paths: vec![d.join("my file.txt"), d.join("a.txt"), d.join("home/pics")],
        }]
    );
    let line = &last_line(&app);
    assert!(
        line.starts_with(
            "offering 3 items (2.1 MB in files, plus folders): my file.txt, a.txt, pics/"
        ),
        "{line}"
    );
    let fx = enter(&mut app, r"/send my\ file.txt");
    assert_eq!(
        fx,
        vec![Effect::SendFiles {
            id: 2,
            paths: vec![d.join("my file.txt")]
        }]
    );
    assert!(render(&app).contains("offering my file.txt (2.1 MB): waiting for the peer to accept"));
    // Commands are not chat messages.
    assert!(!app.chat.lines.iter().any(|l| l.who == Who::Me));
}

#[test]
fn a_browser_peer_is_told_to_need_qrchat_for_files() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.txt"), b"x").unwrap();
    let mut app = chatting_in(dir.path());
    let pairing = app.pairing.id;
    app.update(AppEvent::Session {
        pairing,
        event: SessionEvent::Peer { qrchat: false },
    });
    let fx = enter(&mut app, "/send a.txt");
    assert!(fx.is_empty());
    let out = render(&app);
    assert!(out.contains("files need qrchat on both sides"), "{out}");
    // A dropped file into a browser chat is text.
    app.update(AppEvent::Paste(
        dir.path().join("a.txt").display().to_string(),
    ));
    assert!(!app.composer.text().starts_with("/send"));
}

#[test]
fn progress_is_one_line_updated_in_place_then_done_and_verified() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("photo.jpg"), vec![1u8; 4_000_000]).unwrap();
    let mut app = chatting_in(dir.path());
    let fx = enter(&mut app, "/send photo.jpg");
    let Effect::SendFiles { id, .. } = fx[0].clone() else {
        panic!("{fx:?}")
    };
    let n = app.chat.lines.len();
    for (done, rate) in [(0, 0.0), (1_200_000, 3_100_000.0), (2_000_000, 2_000_000.0)] {
        app.update(AppEvent::Transfer {
            id,
            event: TransferEvent::Progress(progress(
                Direction::Send,
                "photo.jpg",
                done,
                4_000_000,
                rate,
            )),
        });
    }
    assert_eq!(app.chat.lines.len(), n, "updated in place, not added");
    // The chat stays usable: a message goes out while the transfer runs.
    let fx = enter(&mut app, "still here");
    assert_eq!(fx, vec![Effect::Send("still here".into())]);
    let rows = chat_rows(&app);
    assert!(
        rows.iter()
            .any(|r| r.ends_with("sending photo.jpg: 2.0 MB of 4.0 MB (50%), 2.0 MB/s, 0:01 left")),
        "{rows:#?}"
    );
    // A blip: the line says paused; it comes back.
    link_interrupted(&mut app);
    assert!(render(&app)
        .contains("sending photo.jpg: 2.0 MB of 4.0 MB (50%), paused: the link is interrupted"));
    session(
        &mut app,
        SessionEvent::State(LinkState::Open { route: Route::Lan }),
    );
    assert!(!render(&app).contains("paused"));
    insta::assert_snapshot!("chat_sending", render(&app));

    app.update(AppEvent::Transfer {
        id,
        event: TransferEvent::Sent(SendReport {
            files: 1,
            dirs: 0,
            bytes: 4_000_000,
            sent: 4_000_000,
            resumed: 0,
            saved_as: vec!["photo.jpg".into()],
            skipped: vec![],
        }),
    });
    let out = render(&app);
    assert!(
        out.contains("sent photo.jpg (4.0 MB, 1 file): verified by the peer"),
        "{out}"
    );
    assert!(!out.contains("sending photo.jpg:"), "{out}");
    assert_eq!(app.chat.transfers[0].stage, Stage::Over);
    // Said at the bottom, since a message came after the progress line; once only (the
    // same words twice read as two transfers), the line above pointing to it.
    assert!(last_line(&app).contains("verified by the peer"));
    assert_eq!(out.matches("verified by the peer").count(), 1, "{out}");
    assert!(out.contains("photo.jpg: see below"), "{out}");
    assert!(!footer(&app).contains("Ctrl-X"));
}

fn offered(app: &mut App, names: &[&str], files: usize, dirs: usize, bytes: u64) -> u64 {
    let id = app.incoming_transfer();
    app.update(AppEvent::Transfer {
        id,
        event: TransferEvent::Offer(OfferSummary {
            names: names.iter().map(|n| n.to_string()).collect(),
            files,
            dirs,
            bytes,
        }),
    });
    id
}

#[test]
fn an_offer_is_shown_and_answered_with_ctrl_y_or_ctrl_n_never_by_typing() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = chatting_in(dir.path());
    assert!(!footer(&app).contains("accept"));
    let id = offered(&mut app, &["photos"], 12, 3, 40_000_000);
    let out = render(&app);
    let recv = dir.path().join("in").display().to_string();
    assert!(
        out.contains(&format!(
            "peer  offers photos/ (40 MB, 12 files, 3 folders). Ctrl-Y: accept (into {recv}),"
        )),
        "{out}"
    );
    let f = footer(&app);
    assert!(
        f.contains("Ctrl-Y accept files") && f.contains("Ctrl-N decline"),
        "{f}"
    );
    insta::assert_snapshot!("chat_offer", out.replace(&recv, "[DIR]"));

    // Typing never answers: a reply that starts with n or y is a message, sent whole.
    typed(&mut app, "nope, I already have it");
    assert_eq!(app.composer.text(), "nope, I already have it");
    assert!(footer(&app).contains("Ctrl-Y accept"));
    assert_eq!(
        app.update(key(KeyCode::Enter)),
        vec![Effect::Send("nope, I already have it".into())]
    );
    typed(&mut app, "yes");
    assert_eq!(app.composer.text(), "yes");
    app.update(ctrl('u'));
    assert_eq!(app.asking().count(), 1, "still offered");

    // Ctrl-Y accepts, with or without a draft.
    typed(&mut app, "thanks");
    assert_eq!(
        app.update(ctrl('y')),
        vec![Effect::AnswerOffer { id, accept: true }]
    );
    assert_eq!(app.composer.text(), "thanks");
    app.update(ctrl('u'));
    assert!(render(&app).contains(&format!("receiving photos/ into {recv}: starting")));
    assert!(!footer(&app).contains("Ctrl-Y accept"));
    assert!(
        footer(&app).contains("Ctrl-X cancel transfer"),
        "{}",
        footer(&app)
    );
    app.update(AppEvent::Transfer {
        id,
        event: TransferEvent::Progress(progress(
            Direction::Receive,
            "photos",
            10_000_000,
            40_000_000,
            5_000_000.0,
        )),
    });
    assert!(render(&app).contains("receiving photos/: 10 MB of 40 MB (25%), 5.0 MB/s, 0:06 left"));
    let top = dir.path().join("in/photos");
    app.update(AppEvent::Transfer {
        id,
        event: TransferEvent::Received(ReceiveReport {
            declined: false,
            files: (0..12).map(|i| top.join(format!("{i}.jpg"))).collect(),
            dirs: 3,
            bytes: 40_000_000,
            received: 40_000_000,
            resumed: 0,
        }),
    });
    let out = render(&app);
    assert!(
        out.contains(&format!(
            "received photos/ (40 MB, 12 files), all verified: in {}",
            top.display()
        )),
        "{out}"
    );

    // A second offer: Ctrl-N declines; /accept with nothing offered says so.
    let id2 = offered(&mut app, &["a.pdf", "b.pdf"], 2, 0, 2_000);
    assert!(render(&app).contains("offers 2 items (2.0 kB, 2 files): a.pdf, b.pdf."));
    assert_eq!(
        app.update(ctrl('n')),
        vec![Effect::AnswerOffer {
            id: id2,
            accept: false
        }]
    );
    assert!(render(&app).contains("declined 2 items"));
    assert!(enter(&mut app, "/accept").is_empty());
    assert_eq!(last_line(&app), "no files are offered right now");
    // /accept answers as Ctrl-Y does; a single file's line says where it is.
    let id3 = offered(&mut app, &["notes.txt"], 1, 0, 17);
    assert_eq!(
        enter(&mut app, "/accept"),
        vec![Effect::AnswerOffer {
            id: id3,
            accept: true
        }]
    );
    let saved = dir.path().join("in/notes (1).txt");
    app.update(AppEvent::Transfer {
        id: id3,
        event: TransferEvent::Received(ReceiveReport {
            declined: false,
            files: vec![saved.clone()],
            dirs: 0,
            bytes: 17,
            received: 17,
            resumed: 0,
        }),
    });
    assert!(render(&app).contains(&format!(
        "received notes.txt (17 B), verified: saved as {}",
        saved.display()
    )));
}

#[test]
fn hostile_offer_names_are_shown_not_interpreted() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = chatting_in(dir.path());
    offered(&mut app, &["\x1b[2Jevil\x07.txt"], 1, 0, 5);
    let out = render(&app);
    assert!(!out.contains('\x1b') && !out.contains('\x07'), "{out:?}");
    assert!(out.contains("evil"), "{out}");
}

#[test]
fn without_a_download_folder_offers_are_declined_and_said() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = chatting_in(dir.path());
    app.opts.receive_dir = None;
    let id = app.incoming_transfer();
    let fx = app.update(AppEvent::Transfer {
        id,
        event: TransferEvent::Offer(OfferSummary {
            names: vec!["x".into()],
            files: 1,
            dirs: 0,
            bytes: 1,
        }),
    });
    assert_eq!(fx, vec![Effect::AnswerOffer { id, accept: false }]);
    assert!(render(&app).contains("--receive DIR"));
}

#[test]
fn cancel_stops_transfers_both_ways_and_failures_are_said() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("big.bin"), vec![0u8; 1000]).unwrap();
    let mut app = chatting_in(dir.path());
    assert!(enter(&mut app, "/cancel").is_empty());
    assert_eq!(last_line(&app), "no transfer is under way");
    enter(&mut app, "/send big.bin");
    let incoming = offered(&mut app, &["in.bin"], 1, 0, 10);
    app.update(ctrl('y'));
    let waiting = offered(&mut app, &["later.bin"], 1, 0, 10);
    assert!(footer(&app).contains("Ctrl-X cancel transfer"));
    let fx = app.update(ctrl('x'));
    assert_eq!(
        fx,
        vec![
            Effect::CancelTransfer { id: 1 },
            Effect::CancelTransfer { id: incoming },
            Effect::AnswerOffer {
                id: waiting,
                accept: false
            },
        ]
    );
    // The engine's words for how each ended.
    app.update(AppEvent::Transfer {
        id: 1,
        event: TransferEvent::Failed(Arc::new(TransferError::Cancelled(String::new()))),
    });
    app.update(AppEvent::Transfer {
        id: incoming,
        event: TransferEvent::Failed(Arc::new(TransferError::Interrupted)),
    });
    let out = render(&app);
    assert!(out.contains("big.bin not sent: cancelled"), "{out}");
    assert!(
        out.contains("in.bin not received: the link broke before the transfer finished"),
        "{out}"
    );
    // The peer's cancel, on a transfer still offered to us: the offer goes.
    let id = offered(&mut app, &["x.bin"], 1, 0, 1);
    app.update(AppEvent::Transfer {
        id,
        event: TransferEvent::Failed(Arc::new(TransferError::PeerCancelled(String::new()))),
    });
    assert!(render(&app).contains("x.bin not received: the other side cancelled"));
    assert!(!footer(&app).contains("y accept"));
    // `/cancel` is the same as Ctrl-X.
    enter(&mut app, "/send big.bin");
    let id = app.next_transfer;
    assert_eq!(
        enter(&mut app, "/cancel"),
        vec![Effect::CancelTransfer { id }]
    );
}

#[test]
fn tab_completes_paths_after_send() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("alpha.txt"), b"").unwrap();
    std::fs::create_dir(d.join("alphabet")).unwrap();
    std::fs::write(d.join("alphabet/inner.txt"), b"").unwrap();
    std::fs::write(d.join("beta b.txt"), b"").unwrap();
    std::fs::write(d.join(".hidden"), b"").unwrap();
    std::fs::create_dir_all(d.join("home/docs")).unwrap();
    let cwd = d.to_path_buf();
    let home = d.join("home");
    let c = |t: &str| files::complete(t, Some(&home), &cwd);
    assert_eq!(c("/send al"), Completion::Append("pha".into()));
    assert_eq!(
        c("/send alpha"),
        Completion::Candidates(vec!["alpha.txt".into(), "alphabet/".into()])
    );
    assert_eq!(c("/send alphab"), Completion::Append("et/".into()));
    assert_eq!(
        c("/send alphabet/"),
        Completion::Append("inner.txt ".into())
    );
    assert_eq!(c("/send be"), Completion::Append(r"ta\ b.txt ".into()));
    assert_eq!(c("/send 'be"), Completion::Append("ta b.txt' ".into()));
    assert_eq!(c("/send \"be"), Completion::Append("ta b.txt\" ".into()));
    assert_eq!(c("/send ~/d"), Completion::Append("ocs/".into()));
    assert_eq!(c("/send ~"), Completion::Append("/".into()));
    assert_eq!(c("/send ."), Completion::Append("hidden ".into()));
    assert_eq!(c("/send zz"), Completion::Nothing);
    assert_eq!(c("hello al"), Completion::Nothing);
    let abs = format!("/send {}/bet", d.display());
    assert_eq!(
        files::complete(&abs, None, std::path::Path::new("/")),
        Completion::Append(r"a\ b.txt ".into())
    );
    // Hidden names stay out unless asked for; every visible name is listed.
    assert_eq!(
        c("/send a.txt "),
        Completion::Candidates(vec![
            "alpha.txt".into(),
            "alphabet/".into(),
            "beta b.txt".into(),
            "home/".into()
        ])
    );

    // In the app: Tab completes; a second Tab lists in a line above the status bar.
    let mut app = chatting_in(d);
    assert!(!footer(&app).contains("Tab"));
    typed(&mut app, "/send al");
    assert!(
        footer(&app).contains("Tab complete path"),
        "{}",
        footer(&app)
    );
    app.update(key(KeyCode::Tab));
    assert_eq!(app.composer.text(), "/send alpha");
    app.update(key(KeyCode::Tab));
    assert_eq!(app.composer.text(), "/send alpha");
    let out = render(&app);
    assert!(out.contains(" alpha.txt  alphabet/\n"), "{out}");
    typed(&mut app, "b");
    assert!(
        !render(&app).contains("alpha.txt  alphabet/"),
        "the list goes as typing goes on"
    );
    app.update(key(KeyCode::Tab));
    assert_eq!(app.composer.text(), "/send alphabet/");
    app.update(key(KeyCode::Tab));
    assert_eq!(app.composer.text(), "/send alphabet/inner.txt ");
    let fx = app.update(key(KeyCode::Enter));
    assert_eq!(
        fx,
        vec![Effect::SendFiles {
            id: 1,
            paths: vec![d.join("alphabet/inner.txt")]
        }]
    );
}

#[test]
fn a_pasted_path_is_offered_for_sending_and_esc_keeps_it_as_text() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let photo = d.join("my photo.jpg");
    std::fs::write(&photo, vec![0u8; 2_100_000]).unwrap();
    std::fs::write(d.join("b.txt"), b"b").unwrap();
    let home = Some(d.join("home"));
    let shown = photo.display().to_string();
    // The forms terminals and file managers drop a file in.
    for form in [
        format!("'{shown}'"),
        format!("\"{shown}\""),
        shown.replace(' ', r"\ "),
        format!("file://{}", shown.replace(' ', "%20")),
        format!("  '{shown}' \n"),
    ] {
        assert_eq!(
            files::dropped(&form, home.as_deref()),
            Some(vec![photo.clone()]),
            "{form}"
        );
    }
    // Two files, on one line or two.
    let two = vec![photo.clone(), d.join("b.txt")];
    let b = d.join("b.txt").display().to_string();
    assert_eq!(
        files::dropped(&format!("'{shown}' '{b}'"), None),
        Some(two.clone())
    );
    assert_eq!(
        files::dropped(&format!("{}\n{b}", shown.replace(' ', r"\ ")), None),
        Some(two)
    );
    // Text that is not only existing absolute paths stays text.
    for text in [
        format!("look at '{shown}'"),
        format!("'{shown}"),
        format!("{}/nope.txt", d.display()),
        "b.txt".into(),
        "hello".into(),
        "/".into(),
        String::new(),
    ] {
        assert_eq!(files::dropped(&text, None), None, "{text}");
    }

    let mut app = chatting_in(d);
    app.update(AppEvent::Paste(format!("'{shown}'")));
    assert_eq!(app.composer.text(), format!("/send '{shown}'"));
    let out = render(&app);
    assert!(
        out.contains("Enter sends my photo.jpg (2.1 MB) to the peer; Esc keeps the paste as text"),
        "{out}"
    );
    assert!(
        footer(&app).contains("Esc keep as text"),
        "{}",
        footer(&app)
    );
    insta::assert_snapshot!(
        "chat_dropped",
        out.replace(&d.display().to_string(), "[DIR]")
    );
    // Esc: the paste as it came, as text.
    app.update(key(KeyCode::Esc));
    assert_eq!(app.composer.text(), format!("'{shown}'"));
    assert!(app.dropped.is_none() && app.composer_note.is_none());
    app.update(ctrl('u'));
    // Enter sends it.
    app.update(AppEvent::Paste(format!("'{shown}'")));
    assert_eq!(
        app.update(key(KeyCode::Enter)),
        vec![Effect::SendFiles {
            id: 1,
            paths: vec![photo.clone()]
        }]
    );
    // Into a message being typed, a path is text.
    typed(&mut app, "see ");
    app.update(AppEvent::Paste(format!("'{shown}'")));
    assert_eq!(app.composer.text(), format!("see '{shown}'"));
}

#[tokio::test]
async fn the_runner_refuses_files_for_a_browser_peer_and_reports_a_failed_channel() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.txt"), b"a").unwrap();
    for qrchat in [false, true] {
        let script = Scripted {
            local: Some(sdp(SdpKind::Offer, 0xAA, 50000)),
            on_connect: vec![
                SessionEvent::State(LinkState::Open { route: Route::Lan }),
                SessionEvent::Open {
                    sas: "111 222".into(),
                    remote: None,
                    route: Route::Lan,
                },
            ],
            qrchat,
            ..Default::default()
        };
        let log = script.log.clone();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let (mut runner, _) = runner(script, CameraSpec::default(), tx);
        let (mut app, fx) = app_with(true, false, 120, 30);
        app.opts.cwd = Some(dir.path().to_path_buf());
        runner.execute_all(fx);
        pump(&mut app, &mut runner, &mut rx).await;
        runner.execute_all(app.update(key(KeyCode::Char('p'))));
        app.update(AppEvent::Paste(blob(SdpKind::Answer, 0xBB)));
        runner.execute_all(app.update(key(KeyCode::Enter)));
        pump(&mut app, &mut runner, &mut rx).await;
        assert_eq!(app.screen, Screen::Chat);
        assert_eq!(app.pairing.peer_qrchat, Some(qrchat));
        // Past the app's own check: the runner says it too.
        app.pairing.peer_qrchat = None;
        let fx = enter(&mut app, "/send a.txt");
        runner.execute_all(fx);
        pump(&mut app, &mut runner, &mut rx).await;
        let out = render(&app);
        if qrchat {
            // the pairing channel (known peers) a starter opens with every qrchat peer, then
            // the transfer's
            assert_eq!(
                log.lock().unwrap().channels,
                vec!["qrchat-pair", "qrchat-file"]
            );
            assert!(
                out.contains("a.txt not sent: could not open a channel for it"),
                "{out}"
            );
        } else {
            assert!(log.lock().unwrap().channels.is_empty());
            assert!(
                out.contains("a.txt not sent: files need qrchat on both sides"),
                "{out}"
            );
        }
        runner.shutdown().await;
    }
}

#[test]
fn done_lines_say_what_was_resumed_and_name_what_arrived() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.bin"), b"a").unwrap();
    let mut app = chatting_in(dir.path());
    let inbox = dir.path().join("in");
    let id = offered(
        &mut app,
        &["a.txt", "pics", "b.txt", "c.txt"],
        5,
        1,
        3_000_000,
    );
    app.update(ctrl('y'));
    app.update(AppEvent::Transfer {
        id,
        event: TransferEvent::Received(ReceiveReport {
            declined: false,
            files: ["a.txt", "pics/1.jpg", "pics/2.jpg", "b.txt", "c.txt"]
                .iter()
                .map(|f| inbox.join(f))
                .collect(),
            dirs: 1,
            bytes: 3_000_000,
            received: 1_000_000,
            resumed: 2_000_000,
        }),
    });
    let want = format!(
        "received 4 items (3.0 MB, 5 files, 2.0 MB resumed), all verified: in {}: a.txt, pics, \
         b.txt and 1 more",
        inbox.display()
    );
    assert_eq!(last_line(&app), want);

    enter(&mut app, "/send a.bin");
    let id = app.next_transfer;
    app.update(AppEvent::Transfer {
        id,
        event: TransferEvent::Sent(SendReport {
            files: 1,
            dirs: 0,
            bytes: 1,
            sent: 0,
            resumed: 1,
            saved_as: vec!["a.bin".into()],
            skipped: vec![],
        }),
    });
    assert_eq!(
        last_line(&app),
        "sent a.bin (1 B, 1 file, 1 B resumed): verified by the peer"
    );

    // A receive cancelled part way says the part is kept for a resume.
    let id = offered(&mut app, &["big.iso"], 1, 0, 9_000_000);
    app.update(ctrl('y'));
    app.update(AppEvent::Transfer {
        id,
        event: TransferEvent::Progress(progress(
            Direction::Receive,
            "big.iso",
            1_000,
            9_000_000,
            1e6,
        )),
    });
    app.update(AppEvent::Transfer {
        id,
        event: TransferEvent::Failed(Arc::new(TransferError::PeerCancelled(String::new()))),
    });
    assert_eq!(
        last_line(&app),
        "big.iso not received: the other side cancelled (what arrived is kept: the same files \
         sent again resume from there)"
    );
}

#[test]
fn a_re_pairing_ends_the_transfers_still_going_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.bin"), b"a").unwrap();
    let mut app = chatting_in(dir.path());
    enter(&mut app, "/send a.bin");
    offered(&mut app, &["b.bin"], 1, 0, 10);
    session(&mut app, SessionEvent::Closed(CloseReason::PeerLost));
    assert!(footer(&app).contains("Ctrl-X"), "still running until told");
    let fx = app.update(ctrl('r'));
    assert!(fx.contains(&Effect::Close), "{fx:?}");
    // The kept chat (shown once the new pairing opens) says it.
    let out: Vec<&str> = app.chat.lines.iter().map(|l| l.text.as_str()).collect();
    let out = out.join("\n");
    assert!(out.contains("a.bin not sent: the link is gone"), "{out}");
    assert!(
        out.contains("b.bin not received: the link is gone"),
        "{out}"
    );
    // The chat's lines and transfers stay with the new pairing, all over: nothing to
    // cancel or accept once it opens.
    assert_eq!(app.chat.transfers.len(), 2);
    assert!(app.chat.transfers.iter().all(|t| t.stage == Stage::Over));
    assert!(app.cancellable().next().is_none() && app.asking().next().is_none());
}

#[test]
fn the_transcript_gets_how_a_transfer_went_not_each_progress_step() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.bin"), vec![0u8; 1000]).unwrap();
    let mut app = chatting_in(dir.path());
    app.chat.saving = true;
    let mut saved = Vec::new();
    let mut keep = |fx: Vec<Effect>| {
        for e in fx {
            if let Effect::Save { who, text } = e {
                saved.push(format!("{who}: {text}"));
            }
        }
    };
    keep(enter(&mut app, "/send a.bin"));
    let id = app.next_transfer;
    for done in [100, 500, 900] {
        keep(app.update(AppEvent::Transfer {
            id,
            event: TransferEvent::Progress(progress(Direction::Send, "a.bin", done, 1000, 1e3)),
        }));
    }
    keep(app.update(AppEvent::Transfer {
        id,
        event: TransferEvent::Sent(SendReport {
            files: 1,
            dirs: 0,
            bytes: 1000,
            sent: 1000,
            resumed: 0,
            saved_as: vec!["a.bin".into()],
            skipped: vec![],
        }),
    }));
    assert_eq!(
        saved,
        vec![
            "--: offering a.bin (1.0 kB): waiting for the peer to accept (/cancel stops it)",
            "--: sent a.bin (1.0 kB, 1 file): verified by the peer",
        ]
    );
}

#[test]
fn a_peer_cannot_flood_the_chat_with_offers() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = chatting_in(dir.path());
    for i in 0..crate::tui::transfers::MAX_WAITING_OFFERS {
        assert!(app.may_take_offer(), "offer {i}");
        offered(&mut app, &["x"], 1, 0, 1);
    }
    assert!(!app.may_take_offer());
    // Answering one makes room for the next.
    app.update(ctrl('n'));
    assert!(app.may_take_offer());
}

#[test]
fn a_transfer_whose_bytes_are_all_across_offers_no_ctrl_x() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = chatting_in(dir.path());
    let id = offered(&mut app, &["a.bin"], 1, 0, 1000);
    app.update(ctrl('y'));
    let at = |app: &mut App, done: u64| {
        app.update(AppEvent::Transfer {
            id,
            event: TransferEvent::Progress(progress(Direction::Receive, "a.bin", done, 1000, 1e6)),
        });
    };
    at(&mut app, 500);
    assert!(footer(&app).contains("Ctrl-X cancel transfer"));
    // Every byte is in; only the verdict is awaited: nothing left to cancel.
    at(&mut app, 1000);
    assert!(!footer(&app).contains("Ctrl-X"), "{}", footer(&app));
}

/// `/save NAME` (known peers): a good name in an open chat with a qrchat peer asks the
/// runner to keep it and names the safety number as what is trusted; a bad name, or a
/// browser peer, is said and asks nothing.
#[test]
fn save_names_the_safety_number_and_refuses_what_cannot_be_kept() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = chatting_in(dir.path());
    let fx = enter(&mut app, "/save bob");
    assert!(
        matches!(&fx[..], [Effect::SavePeer { name, .. }] if name == "bob"),
        "{fx:?}"
    );
    let rows = chat_rows(&app).join(" ");
    assert!(rows.contains("keeping the other side as bob"), "{rows}");
    assert!(
        rows.contains("what you trust is the safety number"),
        "{rows}"
    );
    let fx = enter(&mut app, "/save a b");
    assert!(fx.is_empty(), "{fx:?}");
    assert!(chat_rows(&app).join(" ").contains("cannot be a name"));
    let mut browser = chatting(100, 24);
    let pairing = browser.pairing.id;
    browser.update(AppEvent::Session {
        pairing,
        event: SessionEvent::Peer { qrchat: false },
    });
    assert!(enter(&mut browser, "/save page").is_empty());
    assert!(chat_rows(&browser).join(" ").contains("only a qrchat app"));
}
