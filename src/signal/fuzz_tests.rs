//! A bounded, deterministic fuzz of `decode` that runs in `cargo test`: structure-aware
//! mutations of real blobs (fixtures/sdp in every form, plus the hostile corpus in
//! fixtures/blobs), re-packed so they reach every layer: base32/base64, the checksum,
//! the compact record, zlib, UTF-8, JSON, SDP. The cargo-fuzz target in fuzz/ runs the
//! same checks for as long as one likes.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

use super::tests::{as_qrchat, fixtures, q_blob, z_blob};
use super::*;

/// Executions per `cargo test` run (about 10-20 s in a debug build on 1 core).
const RUNS: usize = 50_000;

/// xorshift64*: deterministic, so a failure reproduces from its iteration number.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len())]
    }
}

/// Valid blobs of every form, and the stored corpus.
fn seeds() -> (Vec<String>, Vec<String>) {
    let mut blobs = Vec::new();
    let mut sdps = Vec::new();
    for (_, d) in fixtures() {
        for f in [Format::Baseline, Format::Json] {
            blobs.push(encode(&d, f).unwrap());
        }
        blobs.push(format!("gotAnswer({})", encode(&d, Format::Json).unwrap()));
        if let Ok(c) = encode(&as_qrchat(&d), Format::Compact) {
            blobs.push(c);
        }
        sdps.push(d.sdp);
    }
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/blobs");
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd
            .flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "txt"))
        {
            if let Ok(b) = std::fs::read(e.path()) {
                blobs.push(String::from_utf8_lossy(&b).into_owned());
            }
        }
    }
    (blobs, sdps)
}

const CHARS: &[&str] = &[
    "A",
    "Z",
    "Q",
    "q",
    "7",
    "2",
    "0",
    "1",
    "-",
    "_",
    "+",
    "/",
    "=",
    "{",
    "}",
    "(",
    ")",
    ";",
    "\"",
    "\\",
    ":",
    " ",
    "\n",
    "\r\n",
    "\u{a0}",
    "\u{0}",
    "é",
    "\u{1b}[2J",
    "\\u0000",
];

/// One byte-level mutation of a text.
fn mutate(rng: &mut Rng, s: &mut Vec<u8>, pool: &[String]) {
    let len = s.len();
    match rng.below(8) {
        0 if len > 0 => {
            let i = rng.below(len);
            s[i] ^= 1 << rng.below(8);
        }
        1 if len > 0 => {
            let i = rng.below(len);
            s[i] = rng.next() as u8;
        }
        2 if len > 0 => {
            let a = rng.below(len);
            let b = (a + 1 + rng.below(16)).min(len);
            s.drain(a..b);
        }
        3 => {
            let i = rng.below(len + 1);
            let ins = rng.pick(CHARS).as_bytes().to_vec();
            s.splice(i..i, ins);
        }
        4 if len > 0 => s.truncate(rng.below(len)),
        5 if len > 0 => {
            let a = rng.below(len);
            let b = (a + 1 + rng.below(64)).min(len);
            let chunk = s[a..b].to_vec();
            let i = rng.below(len + 1);
            s.splice(i..i, chunk);
        }
        6 if !pool.is_empty() => {
            let other = rng.pick(pool).as_bytes();
            let cut = rng.below(len + 1);
            let from = rng.below(other.len() + 1);
            s.truncate(cut);
            s.extend_from_slice(&other[from..]);
        }
        _ => {
            let i = rng.below(len + 1);
            let c = CHARS[rng.below(CHARS.len())];
            s.splice(i..i, c.bytes().cycle().take(c.len() * (1 + rng.below(4))));
        }
    }
}

/// An SDP mutated line by line, so it gets past zlib and UTF-8 into the SDP checks.
fn mutate_sdp(rng: &mut Rng, sdp_text: &str) -> Vec<u8> {
    let mut lines: Vec<String> = sdp_text.split("\r\n").map(str::to_string).collect();
    for _ in 0..1 + rng.below(3) {
        let n = lines.len();
        let i = rng.below(n);
        match rng.below(5) {
            0 => {
                lines.remove(i);
            }
            1 => {
                let l = lines[i].clone();
                lines.insert(rng.below(n), l);
            }
            2 => lines.swap(i, rng.below(n)),
            3 => {
                let mut b = lines[i].clone().into_bytes();
                mutate(rng, &mut b, &[]);
                lines[i] = String::from_utf8_lossy(&b).into_owned();
            }
            _ => {
                // A field of a candidate or fingerprint line made odd.
                let fields = ["99999", "-1", "", "x.local", "::", "tcp", "typ", "sha-512"];
                let mut f: Vec<String> = lines[i].split(' ').map(str::to_string).collect();
                let j = rng.below(f.len());
                f[j] = rng.pick(&fields).to_string();
                lines[i] = f.join(" ");
            }
        }
        if lines.is_empty() {
            break;
        }
    }
    lines.join("\r\n").into_bytes()
}

/// One decode with every check the fuzz target makes; returns its duration.
pub(crate) fn check_one(input: &str) -> Duration {
    let t = Instant::now();
    let r = catch_unwind(AssertUnwindSafe(|| decode(input)))
        .unwrap_or_else(|_| panic!("decode panicked on {input:?}"));
    let took = t.elapsed();
    if let Ok(d) = r {
        // What decode accepts is whole, summarisable and re-encodable without loss.
        assert!(fingerprint_of(&d.desc.sdp).is_some(), "{input:?}");
        let _ = summarize(&d).to_string();
        for f in [Format::Baseline, Format::Json, Format::Auto] {
            match encode(&d.desc, f) {
                Ok(b) => {
                    let again = decode(&b).unwrap_or_else(|e| panic!("{input:?} -> {b:?}: {e}"));
                    if f == Format::Auto && again.encoding == Encoding::Compact {
                        // Compact keeps what connects, not every byte.
                        assert_eq!(again.desc.kind, d.desc.kind);
                        assert_eq!(fingerprint_of(&again.desc.sdp), fingerprint_of(&d.desc.sdp));
                    } else {
                        assert_eq!(again.desc, d.desc, "{input:?} via {f:?}");
                    }
                }
                Err(EncodeError::TooBig { .. }) => {}
                Err(e) => panic!("{input:?} decodes but does not encode as {f:?}: {e}"),
            }
        }
        let _ = decode_expecting(input, SdpKind::Answer, Some(&d.desc));
    }
    took
}

#[test]
fn bounded_fuzz_of_decode() {
    let (blobs, sdps) = seeds();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let (mut slowest, mut slowest_len) = (Duration::ZERO, 0);
    let mut oks = 0usize;
    for _ in 0..RUNS {
        let bytes: Vec<u8> = match rng.below(10) {
            // SDP-level damage inside an intact container.
            0 | 1 => {
                let base = rng.pick(&sdps).clone();
                let body = mutate_sdp(&mut rng, &base);
                let kind = if rng.below(2) == 0 { b'o' } else { b'a' };
                if rng.below(2) == 0 {
                    let mut p = vec![kind];
                    p.extend_from_slice(&body);
                    z_blob(&p).into_bytes()
                } else {
                    let sdp_text = String::from_utf8_lossy(&body);
                    serde_json::json!({"type": "offer", "sdp": sdp_text})
                        .to_string()
                        .into_bytes()
                }
            }
            // Record-level damage with a valid checksum and base32.
            2 => {
                let mut rec: Vec<u8> = (0..rng.below(80)).map(|_| rng.next() as u8).collect();
                if let Some(h) = rec.first_mut() {
                    *h = (*h & 0x1F) | if rng.below(4) > 0 { 1 << 5 } else { *h & 0xE0 };
                }
                if rec.len() > 33 {
                    rec[33] = rng.below(4) as u8;
                }
                q_blob(rec).into_bytes()
            }
            // Arbitrary bytes deflated, or base64'd raw.
            3 => {
                let data: Vec<u8> = (0..rng.below(300)).map(|_| rng.next() as u8).collect();
                if rng.below(2) == 0 {
                    z_blob(&data).into_bytes()
                } else {
                    format!("Z{}", URL_SAFE_NO_PAD.encode(&data)).into_bytes()
                }
            }
            // Byte-level mutations of a real blob.
            _ => {
                let mut b = rng.pick(&blobs).clone().into_bytes();
                for _ in 0..1 + rng.below(4) {
                    mutate(&mut rng, &mut b, &blobs);
                }
                b
            }
        };
        let input = String::from_utf8_lossy(&bytes);
        let took = check_one(&input);
        if decode(&input).is_ok() {
            oks += 1;
        }
        if took > slowest {
            (slowest, slowest_len) = (took, input.len());
        }
    }
    println!(
        "bounded fuzz: {RUNS} inputs, {oks} accepted, slowest decode {slowest:?} ({slowest_len} bytes, debug build)"
    );
    // Mutations must reach the accepting paths too, or the fuzz only exercises errors.
    assert!(oks > RUNS / 100, "only {oks} inputs decoded");
    assert!(oks < RUNS, "no input was refused");
}
