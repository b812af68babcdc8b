//! Scan figures over fixtures/qr/: decode rate, the cascade step that read each class,
//! median and p95 time per frame at 640x480 and 1280x720, and time per frame without a
//! code. One core (the scanner is single-threaded). Run: `cargo bench --bench scan`.
//! `cargo bench --bench scan -- --verbose` also lists every fixture.
//!
//! Then the TUI's camera path (scan + preview per frame, as `tui::camera` runs it) at
//! 1280x720: frames per second it can keep up with and CPU time per frame (this thread's,
//! from /proc/thread-self/schedstat), without a code, with our code, with a foreign code
//! beside ours and with only a foreign code; "before" is round 1's path (the full
//! `Scanner::default()` cascade taking any UTF-8 text, Triangle-filtered preview), "after"
//! is `tui::camera::CodeFinder::live()` + `tui::camera::preview`.
//! `cargo bench --bench scan -- --camera` runs only this part.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use qrchat::{camera, qr};

/// Repetitions per frame; the per-frame figure is the median of these.
const REPS: usize = 7;

fn looks_like_blob(bytes: &[u8]) -> bool {
    std::str::from_utf8(bytes)
        .map(|t| qrchat::signal::decode(t).is_ok())
        .unwrap_or(false)
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn pct(v: &mut [Duration], p: f64) -> Duration {
    if v.is_empty() {
        return Duration::ZERO;
    }
    v.sort();
    let i = ((v.len() - 1) as f64 * p).round() as usize;
    v[i]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn main() {
    let verbose = std::env::args().any(|a| a == "--verbose");
    if std::env::args().any(|a| a == "--camera") {
        camera_path();
        return;
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/qr");
    let manifest = std::fs::read_to_string(dir.join("manifest.tsv")).expect("manifest");
    let mut ok = 0;
    let mut total = 0;
    let mut false_blobs = 0;
    let mut frames_to_read: Vec<usize> = Vec::new();
    // (kind, size) -> times
    let mut times: BTreeMap<(String, String), Vec<Duration>> = BTreeMap::new();
    // class -> step -> count
    let mut steps: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    // step alone -> (read, total time)
    let mut alone: BTreeMap<qr::Step, (usize, Duration)> = BTreeMap::new();
    for line in manifest
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let f: Vec<&str> = line.split('\t').collect();
        let (file, kind, class) = (f[0], f[1], f[2]);
        let expected = unhex(f.get(3).copied().unwrap_or(""));
        let frame = camera::load_luma(&dir.join(file)).expect("fixture");
        let size = format!("{}x{}", frame.width(), frame.height());
        let mut result = None;
        let mut reps = Vec::with_capacity(REPS);
        for _ in 0..REPS {
            // a fresh scanner each time: no memory of the step that worked before
            let mut s = qr::Scanner::new();
            let t = Instant::now();
            let r = s.scan_detailed(&frame, looks_like_blob);
            reps.push(t.elapsed());
            result = Some((r, s.stats().clone()));
        }
        let per_frame = pct(&mut reps, 0.5);
        if kind == "ours" {
            for step in qr::Step::ALL {
                let mut s = qr::Scanner::with_steps(&[step]);
                let t = Instant::now();
                let r = s.scan(&frame, looks_like_blob);
                let e = alone.entry(step).or_default();
                e.1 += t.elapsed();
                if r.as_deref() == Some(&expected[..]) {
                    e.0 += 1;
                }
            }
        }
        let (r, stats) = result.unwrap();
        let label = match kind {
            "ours" => {
                total += 1;
                let good = r.as_ref().map(|(p, _)| p == &expected).unwrap_or(false);
                if good {
                    ok += 1;
                }
                let step = match &r {
                    Some((_, s)) if good => s.name().to_string(),
                    Some(_) => "WRONG".into(),
                    None => "MISSED".into(),
                };
                *steps
                    .entry(class.to_string())
                    .or_default()
                    .entry(step.clone())
                    .or_default() += 1;
                // a live camera holding this code in view: frames until it is read
                let mut live = qr::Scanner::streaming();
                let mut n = 0;
                while n < 30 {
                    n += 1;
                    let t = Instant::now();
                    let r = live.scan(&frame, looks_like_blob);
                    times
                        .entry(("with code, streaming".into(), size.clone()))
                        .or_default()
                        .push(t.elapsed());
                    if r.is_some() {
                        break;
                    }
                }
                frames_to_read.push(n);
                let step = if good {
                    format!("{step} (streaming: {n} frames)")
                } else {
                    format!(
                        "{step} (tried {:?}, finder candidates {})",
                        stats.tried, stats.finders
                    )
                };
                times
                    .entry((
                        if good {
                            "with code, read"
                        } else {
                            "with code, missed"
                        }
                        .into(),
                        size.clone(),
                    ))
                    .or_default()
                    .push(per_frame);
                step
            }
            "none" | "foreign" => {
                if r.is_some() {
                    false_blobs += 1;
                }
                let k = if kind == "none" {
                    "no code"
                } else {
                    "foreign code"
                };
                times
                    .entry((k.into(), size.clone()))
                    .or_default()
                    .push(per_frame);
                // a live camera looking at this scene: 30 frames through a streaming scanner
                let mut live = qr::Scanner::streaming();
                for _ in 0..30 {
                    let t = Instant::now();
                    let r = live.scan(&frame, looks_like_blob);
                    let e = t.elapsed();
                    assert!(r.is_none());
                    times
                        .entry((format!("{k}, streaming"), size.clone()))
                        .or_default()
                        .push(e);
                }
                format!(
                    "{} (tried {:?}, early exit {}, finder candidates {})",
                    if r.is_some() { "FALSE BLOB" } else { "none" },
                    stats.tried,
                    stats.no_code,
                    stats.finders
                )
            }
            _ => continue,
        };
        if verbose {
            println!("{file:40} {:>10}  {label}", ms(per_frame));
        }
    }
    // synthetic frames without a code: flat grey and sensor noise
    for (w, h) in [(640u32, 480u32), (1280, 720)] {
        let mut x = 0x1234_5678u32;
        let noisy = image::GrayImage::from_fn(w, h, |_, _| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            image::Luma([100 + (x % 40) as u8])
        });
        let mut reps = Vec::new();
        for _ in 0..REPS * 3 {
            let t = Instant::now();
            let r = qr::scan(&noisy, |_| true);
            reps.push(t.elapsed());
            assert!(r.is_none());
        }
        times
            .entry(("no code (noise)".into(), format!("{w}x{h}")))
            .or_default()
            .push(pct(&mut reps, 0.5));
    }

    println!(
        "qrchat scan benchmark: {} fixtures, median of {REPS} runs per frame, one core",
        total
    );
    println!(
        "decode rate: {ok}/{total} = {:.1}%   false blobs from frames without ours: {false_blobs}",
        100.0 * ok as f64 / total.max(1) as f64
    );
    frames_to_read.sort();
    println!(
        "streaming scanner, frames until a code in view is read: median {}, max {}",
        frames_to_read
            .get(frames_to_read.len() / 2)
            .copied()
            .unwrap_or(0),
        frames_to_read.last().copied().unwrap_or(0)
    );
    println!("\ntime per frame (full cascade unless 'streaming'):");
    for ((kind, size), v) in times.iter_mut() {
        let n = v.len();
        println!(
            "  {kind:20} {size:9} n={n:3}  median {:>9}  p95 {:>9}  max {:>9}",
            ms(pct(v, 0.5)),
            ms(pct(v, 0.95)),
            ms(pct(v, 1.0))
        );
    }
    println!("\neach step alone (no cascade): codes read, mean time per frame");
    for (step, (n, t)) in &alone {
        println!(
            "  {:12} {n:3}/{total}  {}",
            step.name(),
            ms(*t / total.max(1) as u32)
        );
    }
    println!("\ncascade step that read each class:");
    for (class, m) in &steps {
        let parts: Vec<String> = m.iter().map(|(s, n)| format!("{s} {n}")).collect();
        println!("  {class:14} {}", parts.join(", "));
    }
    camera_path();
}

// ---------------------------------------------------------------- the camera path

/// CPU time this thread has run, when the system says (Linux).
fn thread_cpu() -> Option<Duration> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = s.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

/// Round 1's camera path: the full cascade, any UTF-8 text taken, Triangle preview.
struct Before(qr::Scanner);

impl Before {
    fn frame(&mut self, frame: &image::GrayImage) -> Option<String> {
        let code = self
            .0
            .scan(frame, |b| std::str::from_utf8(b).is_ok())
            .and_then(|b| String::from_utf8(b).ok());
        let (w, h) = frame.dimensions();
        let ph = (h as u64 * 160 / w as u64).max(1) as u32;
        let p = image::imageops::resize(frame, 160, ph, image::imageops::FilterType::Triangle);
        std::hint::black_box(p);
        code
    }
}

/// A 1280x720 webcam frame of a terminal showing `ours` as half blocks (8x16 px cells,
/// 14 px glyphs: light seams between rows, as terminal fonts leave; scaled to 5/8) and, when
/// given, a foreign QR printed on paper beside it (`foreign_left`: to the left of the
/// terminal, so it comes first in reading order); sensor noise over all of it.
fn scene(
    ours: Option<&[u8]>,
    foreign: Option<&[u8]>,
    foreign_left: bool,
    seed: u32,
) -> image::GrayImage {
    let mut frame = image::GrayImage::from_pixel(1280, 720, image::Luma([70]));
    let (term_x, paper_x) = if foreign_left { (520, 40) } else { (30, 800) };
    for y in 40..680 {
        for x in term_x..term_x + 730 {
            frame.put_pixel(x, y, image::Luma([200]));
        }
    }
    if let Some(p) = ours {
        let m = qr::matrix_bytes(p).expect("our code renders");
        let img = qr::rasterize_half_blocks(&qr::to_half_block_lines(&m), 8, 16, 14);
        let img = image::imageops::resize(
            &img,
            img.width() * 5 / 8,
            img.height() * 5 / 8,
            image::imageops::FilterType::Triangle,
        );
        image::imageops::overlay(&mut frame, &img, term_x as i64 + 30, 70);
    }
    if let Some(p) = foreign {
        let m = qr::matrix_bytes(p).expect("foreign code renders");
        let img = qr::to_png(&m, 7);
        image::imageops::overlay(&mut frame, &img, paper_x, 120);
    }
    let mut x = 0x9E37_79B9u32 ^ seed.wrapping_mul(0x85EB_CA6B);
    for p in frame.pixels_mut() {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        let n = (x % 25) as i32 - 12;
        p.0[0] = (p.0[0] as i32 + n).clamp(0, 255) as u8;
    }
    frame
}

struct PathFigures {
    fps: f64,
    cpu_per_frame: Option<Duration>,
    read_ours: usize,
    foreign_hints: usize,
}

const LIVE_FRAMES: usize = 60;

fn run_before(frames: &[image::GrayImage], ours: Option<&str>) -> PathFigures {
    let mut b = Before(qr::Scanner::default());
    let cpu0 = thread_cpu();
    let t = Instant::now();
    let mut read = 0;
    for i in 0..LIVE_FRAMES {
        let code = b.frame(&frames[i % frames.len()]);
        if code.is_some() && code.as_deref() == ours {
            read += 1;
        }
    }
    figures(t.elapsed(), cpu0, read, 0)
}

fn run_after(frames: &[image::GrayImage], ours: Option<&str>) -> PathFigures {
    let mut f = qrchat::tui::camera::CodeFinder::live();
    let cpu0 = thread_cpu();
    let t = Instant::now();
    let (mut read, mut hints) = (0, 0);
    for i in 0..LIVE_FRAMES {
        let frame = &frames[i % frames.len()];
        let seen = f.scan(frame);
        std::hint::black_box(qrchat::tui::camera::preview(frame));
        if seen.code.is_some() && seen.code.as_deref() == ours {
            read += 1;
        }
        hints += seen.first_foreign as usize;
    }
    figures(t.elapsed(), cpu0, read, hints)
}

fn figures(wall: Duration, cpu0: Option<Duration>, read: usize, hints: usize) -> PathFigures {
    let cpu = match (cpu0, thread_cpu()) {
        (Some(a), Some(b)) => Some((b - a) / LIVE_FRAMES as u32),
        _ => None,
    };
    PathFigures {
        fps: LIVE_FRAMES as f64 / wall.as_secs_f64(),
        cpu_per_frame: cpu,
        read_ours: read,
        foreign_hints: hints,
    }
}

fn camera_path() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/qr");
    let manifest = std::fs::read_to_string(dir.join("manifest.tsv")).expect("manifest");
    let mut photos: BTreeMap<&str, Vec<(image::GrayImage, Vec<u8>)>> = BTreeMap::new();
    for line in manifest
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let f: Vec<&str> = line.split('\t').collect();
        if !f[0].contains("1280x720") {
            continue;
        }
        let frame = camera::load_luma(&dir.join(f[0])).expect("fixture");
        photos
            .entry(f[1])
            .or_default()
            .push((frame, unhex(f.get(3).copied().unwrap_or(""))));
    }
    let ours = photos["ours"][0].1.clone();
    let ours_text = String::from_utf8(ours.clone()).expect("our code is text");
    let wifi = b"WIFI:S:Cafe Guest;T:WPA;P:espresso42;;".as_slice();
    let url = b"https://example.com/menu?table=12".as_slice();
    let scenes = |o: Option<&[u8]>| -> Vec<image::GrayImage> {
        (0..4).map(|s| scene(o, None, false, s)).collect()
    };
    let with = |o: Option<&[u8]>, left: bool| -> Vec<image::GrayImage> {
        vec![scene(o, Some(wifi), left, 0), scene(o, Some(url), left, 1)]
    };
    type Case = (&'static str, Vec<image::GrayImage>, Option<String>);
    let cases: Vec<Case> = vec![
        ("no code (rendered)", scenes(None), None),
        (
            "no code (photos)",
            photos["none"].iter().map(|(f, _)| f.clone()).collect(),
            None,
        ),
        (
            "our code (rendered)",
            scenes(Some(&ours)),
            Some(ours_text.clone()),
        ),
        (
            "foreign left of ours",
            with(Some(&ours), true),
            Some(ours_text.clone()),
        ),
        (
            "foreign right of ours",
            with(Some(&ours), false),
            Some(ours_text.clone()),
        ),
        ("foreign only", with(None, true), None),
    ];
    // our photographed codes, each with a crisp foreign code printed in a corner
    let sticker = qr::to_png(&qr::matrix_bytes(wifi).expect("renders"), 5);
    let mut stickered: Vec<(image::GrayImage, String)> = Vec::new();
    for (frame, payload) in &photos["ours"] {
        let mut f = frame.clone();
        image::imageops::overlay(&mut f, &sticker, 1280 - sticker.width() as i64 - 10, 10);
        stickered.push((f, String::from_utf8(payload.clone()).unwrap_or_default()));
    }
    let ours_photos: Vec<(image::GrayImage, String)> = photos["ours"]
        .iter()
        .map(|(f, p)| (f.clone(), String::from_utf8(p.clone()).unwrap_or_default()))
        .collect();
    println!(
        "\ncamera path at 1280x720 ({LIVE_FRAMES} frames per case, fed as fast as it takes them; \
         fps = frames it keeps up with, so a 30 fps camera is kept up with when fps >= 30)"
    );
    println!(
        "  {:22} {:>9} {:>12} {:>10}   {:>9} {:>12} {:>10} {:>6}",
        "", "before", "", "", "after", "", "", ""
    );
    println!(
        "  {:22} {:>9} {:>12} {:>10}   {:>9} {:>12} {:>10} {:>6}",
        "case", "fps", "CPU/frame", "read ours", "fps", "CPU/frame", "read ours", "hints"
    );
    let cpu = |d: Option<Duration>| d.map(ms).unwrap_or_else(|| "n/a".into());
    for (name, frames, want) in cases {
        let b = run_before(&frames, want.as_deref());
        let a = run_after(&frames, want.as_deref());
        println!(
            "  {name:22} {:>9.1} {:>12} {:>10}   {:>9.1} {:>12} {:>10} {:>6}",
            b.fps,
            cpu(b.cpu_per_frame),
            format!("{}/{LIVE_FRAMES}", b.read_ours),
            a.fps,
            cpu(a.cpu_per_frame),
            format!("{}/{LIVE_FRAMES}", a.read_ours),
            a.foreign_hints
        );
    }
    // each stickered photo held in view for 30 frames: frames on which our code was read
    let (mut before_read, mut after_read, mut held) = (0, 0, 0);
    let (mut cpu_b, mut cpu_a) = (Duration::ZERO, Duration::ZERO);
    for (frame, want) in &stickered {
        let mut b = Before(qr::Scanner::default());
        let mut a = qrchat::tui::camera::CodeFinder::live();
        for _ in 0..30 {
            held += 1;
            let c0 = thread_cpu();
            if b.frame(frame).as_deref() == Some(want.as_str()) {
                before_read += 1;
            }
            let c1 = thread_cpu();
            let seen = a.scan(frame);
            std::hint::black_box(qrchat::tui::camera::preview(frame));
            if seen.code.as_deref() == Some(want.as_str()) {
                after_read += 1;
            }
            if let (Some(c0), Some(c1), Some(c2)) = (c0, c1, thread_cpu()) {
                cpu_b += c1 - c0;
                cpu_a += c2 - c1;
            }
        }
    }
    println!(
        "  our {} photographed codes with a foreign code in a corner, 30 frames each: \
         ours read on {before_read}/{held} frames before ({} CPU/frame), {after_read}/{held} \
         after ({} CPU/frame)",
        stickered.len(),
        ms(cpu_b / held.max(1)),
        ms(cpu_a / held.max(1))
    );
    // our photographed codes held in view: frames each one takes the live finder to read
    let mut until: Vec<usize> = Vec::new();
    let mut cpu_total = Duration::ZERO;
    let mut n_frames = 0u32;
    for (frame, want) in &ours_photos {
        let mut f = qrchat::tui::camera::CodeFinder::live();
        let c0 = thread_cpu();
        let mut n = 0;
        while n < 40 {
            n += 1;
            let seen = f.scan(frame);
            std::hint::black_box(qrchat::tui::camera::preview(frame));
            if seen.code.as_deref() == Some(want.as_str()) {
                break;
            }
        }
        if let (Some(a), Some(b)) = (c0, thread_cpu()) {
            cpu_total += b - a;
        }
        n_frames += n as u32;
        until.push(n);
    }
    until.sort();
    println!(
        "  our {} photographed codes held in view (after): frames until read median {}, max {} \
         (40 = not read), CPU per frame {}",
        until.len(),
        until[until.len() / 2],
        until[until.len() - 1],
        ms(cpu_total / n_frames.max(1))
    );
}
