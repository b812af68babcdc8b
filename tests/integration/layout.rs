//! Keeps the module layout honest (ARCHITECTURE.md): the lower modules never import the
//! ones above them, and the pure ones never import each other's internals.

use std::path::Path;

fn sources(dir: &Path, out: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push((
                p.display().to_string(),
                std::fs::read_to_string(&p).unwrap(),
            ));
        }
    }
}

#[test]
fn lower_modules_do_not_import_upper_ones() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    // module -> crate modules it must not name
    let rules: &[(&str, &[&str])] = &[
        (
            "signal",
            &["rtc", "qr", "camera", "chat", "tui", "headless", "cli"],
        ),
        (
            "qr",
            &["rtc", "signal", "camera", "chat", "tui", "headless", "cli"],
        ),
        (
            "camera",
            &["rtc", "signal", "qr", "chat", "tui", "headless", "cli"],
        ),
        (
            "chat",
            &["rtc", "signal", "qr", "camera", "tui", "headless", "cli"],
        ),
        ("rtc", &["qr", "camera", "tui", "headless", "cli"]),
        // One scan's listener and deliverer: signal only; the owner applies the answer.
        (
            "direct",
            &[
                "rtc", "qr", "camera", "chat", "transfer", "tui", "headless", "cli",
            ],
        ),
        (
            "transfer",
            &["qr", "camera", "signal", "tui", "headless", "cli"],
        ),
        ("known", &["qr", "camera", "tui", "headless", "cli"]),
        // Options become config at the edge: cli builds headless::Config and tui::Config.
        ("headless", &["tui", "cli"]),
        ("tui", &["headless", "cli"]),
    ];
    let mut bad = Vec::new();
    for (module, banned) in rules {
        let mut files = Vec::new();
        let dir = src.join(module);
        if dir.is_dir() {
            sources(&dir, &mut files);
        }
        let single = src.join(format!("{module}.rs"));
        if single.is_file() {
            files.push((
                single.display().to_string(),
                std::fs::read_to_string(&single).unwrap(),
            ));
        }
        assert!(!files.is_empty(), "module {module} has no source");
        for (path, text) in &files {
            for b in *banned {
                for pat in [
                    format!("crate::{b}"),
                    format!("qrchat::{b}"),
                    format!("super::super::{b}"),
                ] {
                    if text.contains(&pat) {
                        bad.push(format!("{path} names {pat}"));
                    }
                }
            }
        }
    }
    assert!(bad.is_empty(), "imports across the layout: {bad:#?}");
}

/// Nothing outside `rtc` touches webrtc types (the channel API is the only way to a data
/// channel), and the state machine inside rtc touches none either: it is pure.
#[test]
fn only_rtc_names_webrtc_and_its_state_machine_does_not() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let rtc_dir = src.join("rtc").display().to_string();
    let machine = src.join("rtc").join("machine.rs").display().to_string();
    let mut bad = Vec::new();
    for (path, text) in &files {
        let names_webrtc = text.contains("webrtc::") || text.contains("use webrtc");
        // signal's test modules (tests_*.rs) build real SDPs with webrtc-rs: test-only
        // code, not a boundary.
        let test_only = Path::new(path)
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("tests_"));
        if names_webrtc && !test_only && (!path.starts_with(&rtc_dir) || *path == machine) {
            bad.push(path.clone());
        }
    }
    assert!(
        bad.is_empty(),
        "webrtc named outside rtc's I/O part: {bad:#?}"
    );
    // The machine does no I/O: no tokio, no sockets, no clock of its own.
    let m = std::fs::read_to_string(&machine).unwrap();
    for banned in ["tokio::", "std::net", "Instant::now()"] {
        let outside_tests = m.split("#[cfg(test)]").next().unwrap();
        assert!(
            !outside_tests.contains(banned),
            "rtc/machine.rs uses {banned}"
        );
    }
}

/// Inside the TUI, what moves between the app and the world (`tui/event.rs`) is a leaf:
/// it names no other part of the TUI, and the tasks that make events and carry out
/// effects (the runner, the camera task) see the events, never the app's state.
#[test]
fn the_tuis_events_are_a_leaf_the_runner_and_camera_import() {
    let tui = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src")
        .join("tui");
    let read = |name: &str| std::fs::read_to_string(tui.join(name)).unwrap();
    let event = read("event.rs");
    assert!(
        !event.contains("super::") && !event.contains("crate::tui"),
        "tui/event.rs imports from the TUI"
    );
    for file in ["runner.rs", "camera.rs"] {
        let text = read(file);
        let code = text.split("#[cfg(test)]").next().unwrap();
        for pat in ["super::app", "crate::tui::app", "tui::app::"] {
            assert!(!code.contains(pat), "tui/{file} names {pat}");
        }
        assert!(
            code.contains("super::event::"),
            "tui/{file} does not use tui/event.rs"
        );
    }
}
