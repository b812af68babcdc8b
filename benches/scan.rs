//! Scan figures over fixtures/qr/: decode rate, the cascade step that read each class,
//! median and p95 time per frame at 640x480 and 1280x720, and time per frame without a
//! code. One core (the scanner is single-threaded). Run: `cargo bench --bench scan`.
//! `cargo bench --bench scan -- --verbose` also lists every fixture.

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
}
