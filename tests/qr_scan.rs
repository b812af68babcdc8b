//! The QR scanner against fixtures/qr/: photos (synthetic, deterministic: see
//! examples/gen_qr_fixtures.rs) of our codes on terminals, frames without a code and
//! frames with foreign codes; and render -> scan round trips.

use std::path::{Path, PathBuf};

use qrchat::camera;
use qrchat::qr;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/qr")
}

struct Entry {
    file: String,
    kind: String,
    class: String,
    payload: Vec<u8>,
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex in manifest"))
        .collect()
}

fn manifest() -> Vec<Entry> {
    let text = std::fs::read_to_string(fixtures().join("manifest.tsv")).expect("manifest.tsv");
    let mut entries: Vec<Entry> = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            Entry {
                file: f[0].to_string(),
                kind: f[1].to_string(),
                class: f[2].to_string(),
                payload: unhex(f.get(3).copied().unwrap_or("")),
            }
        })
        .collect();
    entries.sort_by(|a, b| a.file.cmp(&b.file));
    entries
}

/// What the app accepts: a payload that decodes as a qrchat blob. Foreign codes (URLs,
/// binary) are refused.
fn looks_like_blob(bytes: &[u8]) -> bool {
    std::str::from_utf8(bytes)
        .map(|t| qrchat::signal::decode(t).is_ok())
        .unwrap_or(false)
}

/// Every frame of the fixture directory, through the same FrameSource `--camera-file`
/// uses, paired with its manifest entry.
fn frames() -> Vec<(Entry, image::GrayImage)> {
    let entries = manifest();
    let mut src = camera::open_path(&fixtures()).expect("fixture directory");
    let mut out = Vec::new();
    for e in entries {
        let frame = src
            .next_frame()
            .expect("fixture frame reads")
            .unwrap_or_else(|| panic!("the directory source ended before {}", e.file));
        out.push((e, frame));
    }
    assert!(
        src.next_frame().unwrap().is_none(),
        "images not in the manifest"
    );
    out
}

#[test]
fn fixture_set_is_big_and_varied() {
    let m = manifest();
    let ours: Vec<&Entry> = m.iter().filter(|e| e.kind == "ours").collect();
    assert!(ours.len() >= 60, "{} fixtures of our codes", ours.len());
    assert!(m.iter().filter(|e| e.kind == "none").count() >= 4);
    assert!(m.iter().filter(|e| e.kind == "foreign").count() >= 4);
    for size in ["640x480", "1280x720"] {
        assert!(ours.iter().filter(|e| e.file.contains(size)).count() >= 20);
    }
    for e in &ours {
        assert!(
            looks_like_blob(&e.payload),
            "{}: expected payload is not a blob",
            e.file
        );
    }
}

#[test]
fn every_fixture_gives_exactly_its_blob_and_negatives_give_none() {
    let mut scanner = qr::Scanner::new();
    let mut failures = Vec::new();
    let mut ours = 0;
    for (e, frame) in frames() {
        let got = scanner.scan(&frame, looks_like_blob);
        match e.kind.as_str() {
            "ours" => {
                ours += 1;
                if got.as_deref() != Some(&e.payload[..]) {
                    failures.push(format!(
                        "{} ({}): {}",
                        e.file,
                        e.class,
                        match got {
                            None => "no blob".to_string(),
                            Some(p) => format!("wrong payload {:?}", String::from_utf8_lossy(&p)),
                        }
                    ));
                }
            }
            "none" => {
                if let Some(p) = scanner.scan(&frame, |_| true) {
                    failures.push(format!(
                        "{}: a code read from a frame without one: {p:?}",
                        e.file
                    ));
                }
            }
            "foreign" => {
                if let Some(p) = got {
                    failures.push(format!("{}: a foreign code taken as a blob: {p:?}", e.file));
                }
                // the code is readable: it was refused, not missed
                let raw = scanner.scan(&frame, |_| true);
                if raw.as_deref() != Some(&e.payload[..]) {
                    failures.push(format!("{}: the foreign code itself was not read", e.file));
                }
            }
            other => panic!("{}: unknown kind {other}", e.file),
        }
    }
    assert!(ours >= 60);
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn a_foreign_code_next_to_ours_does_not_hide_it() {
    let blob = manifest()
        .into_iter()
        .find(|e| e.kind == "ours" && e.payload.first() == Some(&b'Q'))
        .unwrap()
        .payload;
    let ours = qr::to_png(&qr::matrix_bytes(&blob).unwrap(), 4);
    let url = qr::to_png(&qr::matrix("https://example.org/").unwrap(), 4);
    let mut frame = image::GrayImage::from_pixel(640, 480, image::Luma([255]));
    image::imageops::replace(&mut frame, &url, 20, 60);
    image::imageops::replace(&mut frame, &ours, 340, 60);
    let mut refused = Vec::new();
    let got = qr::scan(&frame, |p| {
        let ok = looks_like_blob(p);
        if !ok {
            refused.push(p.to_vec());
        }
        ok
    });
    assert_eq!(got, Some(blob));
    assert!(refused.iter().all(|p| p == b"https://example.org/"));
}

fn blob_of(len: usize, seed: u32) -> String {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut x = seed;
    let mut s = String::from("Q");
    while s.len() < len {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        s.push(alphabet[(x % 32) as usize] as char);
    }
    s
}

#[test]
fn half_block_rendering_round_trips_at_terminal_cell_sizes() {
    // cell sizes of common fonts; glyphs filling the cell, and leaving seams
    for (i, (cw, ch, gap)) in [(8, 16, 0), (9, 19, 1), (10, 20, 3), (7, 15, 2), (12, 24, 4)]
        .into_iter()
        .enumerate()
    {
        for len in [40, 90, 110] {
            let blob = blob_of(len, 7 + i as u32 * 31 + len as u32);
            let m = qr::matrix(&blob).unwrap();
            let lines = qr::to_half_block_lines(&m);
            let img = qr::rasterize_half_blocks(&lines, cw, ch, ch - gap);
            let got = qr::scan(&img, |_| true);
            assert_eq!(
                got.as_deref(),
                Some(blob.as_bytes()),
                "cell {cw}x{ch} gap {gap}, {len} chars"
            );
        }
    }
}

#[test]
fn png_rendering_round_trips() {
    for scale in 2..=6 {
        for len in [20, 100, 300] {
            let blob = blob_of(len, scale * 1000 + len as u32);
            let m = qr::matrix(&blob).unwrap();
            let img = qr::to_png(&m, scale);
            assert_eq!(
                qr::scan(&img, |_| true).as_deref(),
                Some(blob.as_bytes()),
                "scale {scale}, {len} chars (v{})",
                m.version()
            );
        }
    }
    // through a file, as --qr-png writes it
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("code.png");
    let blob = blob_of(95, 3);
    qr::save_png(&qr::matrix(&blob).unwrap(), 4, &path).unwrap();
    let mut src = camera::open_path(&path).unwrap();
    let frame = src.next_frame().unwrap().unwrap();
    assert_eq!(qr::scan(&frame, |_| true).as_deref(), Some(blob.as_bytes()));
}

#[test]
fn binary_payloads_come_back_byte_exact() {
    let payload: Vec<u8> = (0..=255u8).rev().chain(0..40).collect();
    let img = qr::to_png(&qr::matrix_bytes(&payload).unwrap(), 3);
    assert_eq!(qr::scan(&img, |_| true), Some(payload));
}

fn run_scan(raw: bool, files: &[PathBuf]) -> (anyhow::Result<()>, Vec<u8>, String) {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let r = qrchat::scan_cmd::scan_to(raw, files, &mut out, &mut err);
    (r, out, String::from_utf8(err).unwrap())
}

#[test]
fn scan_raw_writes_exactly_the_payloads_in_order() {
    let m = manifest();
    // two of ours, a foreign binary code, another of ours
    let picks: Vec<&Entry> = [
        m.iter().find(|e| e.class == "dark-theme"),
        m.iter().find(|e| e.class == "baseline"),
        m.iter()
            .find(|e| e.kind == "foreign" && std::str::from_utf8(&e.payload).is_err()),
        m.iter().find(|e| e.class == "cell-gaps"),
    ]
    .into_iter()
    .map(|e| e.expect("fixture"))
    .collect();
    let files: Vec<PathBuf> = picks.iter().map(|e| fixtures().join(&e.file)).collect();
    let (r, out, err) = run_scan(true, &files);
    r.unwrap();
    assert_eq!(err, "");
    // Each payload exactly, each followed by a newline (as zbarimg --raw does), binary ones too.
    let expected: Vec<u8> = picks
        .iter()
        .flat_map(|e| e.payload.iter().copied().chain([b'\n']))
        .collect();
    assert_eq!(out, expected);
}

#[test]
fn scan_summarises_our_blobs_and_names_foreign_and_missing_codes() {
    let m = manifest();
    let ours = m
        .iter()
        .find(|e| e.kind == "ours" && e.payload[0] == b'Q')
        .unwrap();
    let url = m
        .iter()
        .find(|e| e.kind == "foreign" && e.payload.starts_with(b"https://"))
        .unwrap();
    let (r, out, _) = run_scan(
        false,
        &[fixtures().join(&ours.file), fixtures().join(&url.file)],
    );
    r.unwrap();
    let out = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    let decoded = qrchat::signal::decode(std::str::from_utf8(&ours.payload).unwrap()).unwrap();
    let summary = qrchat::signal::summarize(&decoded).to_string();
    assert_eq!(
        lines[0],
        format!("{}: {summary}", fixtures().join(&ours.file).display())
    );
    assert!(
        lines[1].contains(&url.file) && lines[1].contains("a QR code, but not a qrchat code: "),
        "{}",
        lines[1]
    );

    // an image without a code, and a file that is not there: named, non-zero, nothing on stdout
    let none = m.iter().find(|e| e.kind == "none").unwrap();
    let (r, out, err) = run_scan(
        true,
        &[fixtures().join(&none.file), fixtures().join("missing.png")],
    );
    let msg = r.unwrap_err().to_string();
    assert!(out.is_empty());
    assert!(
        msg.contains(&none.file) && msg.contains("missing.png"),
        "{msg}"
    );
    assert!(
        err.contains(&format!(
            "{}: no QR code found",
            fixtures().join(&none.file).display()
        )),
        "{err}"
    );
    assert!(err.contains("missing.png: no such file"), "{err}");
}

#[test]
fn cameras_command_behaves_without_a_camera() {
    // on a machine without a camera this prints the "no camera found" hint; with one it
    // lists it. Either way it is not an error.
    qrchat::scan_cmd::run_cameras().unwrap();
}

#[test]
fn streaming_scanner_bounds_work_per_frame_and_still_reads_every_fixture() {
    // a camera held on each scene: at most three steps a frame, and every code read
    // within 20 frames (the cycle meets every step)
    for (e, frame) in frames() {
        let mut live = qr::Scanner::streaming();
        let mut read = None;
        for n in 1..=20 {
            let got = live.scan(&frame, looks_like_blob);
            assert!(
                live.stats().tried.len() <= 3,
                "{}: {:?}",
                e.file,
                live.stats().tried
            );
            if got.is_some() {
                read = Some((n, got));
                break;
            }
        }
        match e.kind.as_str() {
            "ours" => {
                let (_, got) = read.unwrap_or_else(|| panic!("{}: not read in 20 frames", e.file));
                assert_eq!(got.as_deref(), Some(&e.payload[..]), "{}", e.file);
            }
            _ => assert!(
                read.is_none(),
                "{}: a blob from a frame without ours",
                e.file
            ),
        }
    }
}
