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
        (
            "transfer",
            &["qr", "camera", "signal", "tui", "headless", "cli"],
        ),
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
