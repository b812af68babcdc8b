//! Fuzzes `signal::decode` with arbitrary text, and checks what it accepts: whole,
//! summarisable, re-encodable without loss. Reports the slowest decode it has seen.
#![no_main]

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
#[path = "../../src/signal/mod.rs"]
mod signal;

use signal::*;

static SLOWEST_NS: AtomicU64 = AtomicU64::new(0);

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let t = Instant::now();
    let r = decode(&text);
    let ns = t.elapsed().as_nanos() as u64;
    if ns > SLOWEST_NS.fetch_max(ns, Ordering::Relaxed) {
        eprintln!(
            "slowest decode so far: {} us ({} bytes)",
            ns / 1000,
            data.len()
        );
    }
    let Ok(d) = r else { return };
    assert!(fingerprint_of(&d.desc.sdp).is_some());
    let _ = summarize(&d).to_string();
    for f in [Format::Baseline, Format::Json, Format::Auto] {
        match encode(&d.desc, f) {
            Ok(b) => {
                let again = decode(&b).expect("an encoded blob decodes");
                if again.encoding == Encoding::Compact {
                    assert_eq!(again.desc.kind, d.desc.kind);
                    assert_eq!(fingerprint_of(&again.desc.sdp), fingerprint_of(&d.desc.sdp));
                } else {
                    assert_eq!(again.desc, d.desc);
                }
            }
            Err(EncodeError::TooBig { .. }) => {}
            Err(e) => panic!("decodes but does not encode as {f:?}: {e}"),
        }
    }
    let own = fingerprint_of(&d.desc.sdp);
    assert_eq!(
        decode_expecting(&text, SdpKind::Answer, own.as_ref()),
        Err(DecodeError::OwnBlob)
    );
});
