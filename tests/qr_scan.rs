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

#[test]
fn scan_command_names_an_image_without_a_code() {
    let e = manifest().into_iter().find(|e| e.kind == "none").unwrap();
    let path = fixtures().join(&e.file);
    let err = qrchat::scan_cmd::run_scan(true, &[path]).unwrap_err();
    assert!(err.to_string().contains(&e.file), "{err}");
    let err = qrchat::scan_cmd::run_scan(false, &[fixtures().join("missing.png")]).unwrap_err();
    assert!(err.to_string().contains("missing.png"), "{err}");
}

#[test]
fn cameras_command_behaves_without_a_camera() {
    // on a machine without a camera this prints the "no camera found" hint; with one it
    // lists it. Either way it is not an error.
    qrchat::scan_cmd::run_cameras().unwrap();
}
