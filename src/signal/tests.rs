//! Codec tests: round-trips over real SDPs (fixtures/sdp), property tests, and every
//! hostile input with the error a user would see.

use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use proptest::prelude::*;

use super::sdp::{CandType, Candidate, Record, Setup};
use super::*;

pub(crate) fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/sdp")
}

/// Every captured SDP: (file name, kind, text).
pub(crate) fn fixtures() -> Vec<(String, SessionDescription)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(fixture_dir()).expect("fixtures/sdp") {
        let p = e.expect("dir entry").path();
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        if !name.ends_with(".sdp") {
            continue;
        }
        let kind = if name.contains("answer") {
            SdpKind::Answer
        } else {
            SdpKind::Offer
        };
        let sdp = std::fs::read_to_string(&p).expect("read fixture");
        out.push((name, SessionDescription { kind, sdp }));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(out.len() >= 9, "fixtures missing: {}", out.len());
    out
}

fn fixture(name: &str) -> SessionDescription {
    fixtures()
        .into_iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no fixture {name}"))
        .1
}

/// A webrtc-rs fixture with ICE credentials of the kind qrchat's rtc sets (v2: a password,
/// the ufrag derived from it), i.e. what qrchat itself produces.
pub(crate) fn as_qrchat(desc: &SessionDescription) -> SessionDescription {
    let fp = fingerprint_of(&desc.sdp).expect("fingerprint");
    // qrchat's v2 credentials, with a password fixed by the fingerprint (tests repeat).
    let mut pwd = [0u8; ICE_PWD_BYTES];
    pwd.copy_from_slice(&fp[..ICE_PWD_BYTES]);
    let (u, p) = sdp::Ice::Password(pwd).credentials(&fp);
    let sdp = sdp::lines(&desc.sdp)
        .map(|l| {
            if l.starts_with("a=ice-ufrag:") {
                format!("a=ice-ufrag:{u}")
            } else if l.starts_with("a=ice-pwd:") {
                format!("a=ice-pwd:{p}")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\r\n");
    SessionDescription {
        kind: desc.kind,
        sdp,
    }
}

/// A qrchat offer like webrtc-rs writes, with the given host candidates.
pub(crate) fn qrchat_offer(cands: &[(IpAddr, u16)]) -> SessionDescription {
    let base = as_qrchat(&fixture("webrtc-rs-offer.sdp"));
    let mut lines: Vec<String> = sdp::lines(&base.sdp)
        .filter(|l| !l.starts_with("a=candidate:") && !l.starts_with("a=end-of-candidates"))
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    for (i, (ip, port)) in cands.iter().enumerate() {
        for comp in 1..=2 {
            lines.push(format!(
                "a=candidate:{} {comp} udp 2130706431 {ip} {port} typ host",
                1000 + i
            ));
        }
    }
    lines.push("a=end-of-candidates".into());
    SessionDescription {
        kind: SdpKind::Offer,
        sdp: lines.join("\r\n") + "\r\n",
    }
}

pub(crate) fn zlib(data: &[u8]) -> Vec<u8> {
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    z.write_all(data).unwrap();
    z.finish().unwrap()
}

pub(crate) fn z_blob(payload: &[u8]) -> String {
    format!("Z{}", URL_SAFE_NO_PAD.encode(zlib(payload)))
}

pub(crate) fn q_blob(mut record: Vec<u8>) -> String {
    let crc = crc32fast::hash(&record);
    record.extend_from_slice(&crc.to_be_bytes());
    format!("Q{}", compact::base32_encode(&record))
}

fn record_bytes(r: &Record) -> Vec<u8> {
    let mut b = compact::to_bytes(r).unwrap();
    b.truncate(b.len() - 4);
    b
}

/// The sample as an older qrchat wrote it: compact v1, no password.
fn sample_v1() -> Record {
    Record {
        ice: sdp::Ice::FromFingerprint,
        ..sample_record()
    }
}

fn sample_record() -> Record {
    Record {
        kind: SdpKind::Offer,
        setup: Setup::ActPass,
        fingerprint: [0xAB; 32],
        ice: sdp::Ice::Password([0x5A; ICE_PWD_BYTES]),
        answers: None,
        direct: false,
        candidates: vec![
            Candidate {
                typ: CandType::Host,
                ip: IpAddr::V4(Ipv4Addr::new(192, 168, 1, 5)),
                port: 50000,
            },
            Candidate {
                typ: CandType::Srflx,
                ip: IpAddr::V6("2001:db8::7".parse().unwrap()),
                port: 3478,
            },
        ],
    }
}

// ---------------------------------------------------------------- base32

#[test]
fn base32_matches_rfc4648_vectors() {
    for (raw, enc) in [
        ("", ""),
        ("f", "MY"),
        ("fo", "MZXQ"),
        ("foo", "MZXW6"),
        ("foob", "MZXW6YQ"),
        ("fooba", "MZXW6YTB"),
        ("foobar", "MZXW6YTBOI"),
    ] {
        assert_eq!(compact::base32_encode(raw.as_bytes()), enc);
        assert_eq!(compact::base32_decode(enc).unwrap(), raw.as_bytes());
        assert_eq!(
            compact::base32_decode(&enc.to_lowercase()).unwrap(),
            raw.as_bytes()
        );
    }
}

// ---------------------------------------------------------------- fixtures

#[test]
fn every_fixture_round_trips_through_baseline_and_json() {
    for (name, desc) in fixtures() {
        for format in [Format::Baseline, Format::Json] {
            let blob = encode(&desc, format).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(!blob.contains(['\r', '\n']), "{name}: blob is not one line");
            let d = decode(&blob).unwrap_or_else(|e| panic!("{name} {format:?}: {e}"));
            assert_eq!(d.desc, desc, "{name} {format:?}");
            assert_eq!(d.chars, blob.len());
        }
        let base = encode(&desc, Format::Baseline).unwrap();
        assert!(base.starts_with('Z'), "{name}");
        assert!(
            base.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
            "{name}: baseline is not URL-safe, or has spaces"
        );
    }
}

#[test]
fn browser_and_foreign_sdps_fall_back_to_baseline_with_a_reason() {
    for (name, desc) in fixtures() {
        // Only qrchat's own credentials are derivable; everything else needs baseline.
        let blob = encode(&desc, Format::Auto).unwrap();
        assert!(blob.starts_with('Z'), "{name} went compact");
        let err = encode(&desc, Format::Compact).unwrap_err();
        assert!(matches!(err, EncodeError::NotCompact(_)), "{name}: {err}");
    }
    // mDNS and TCP candidates are named in the reason.
    let e = encode(
        &as_qrchat(&fixture("chromium-mdns-offer.sdp")),
        Format::Compact,
    )
    .unwrap_err();
    assert!(e.to_string().contains(".local"), "{e}");
    let e = encode(
        &as_qrchat(&fixture("firefox-plain-offer.sdp")),
        Format::Compact,
    )
    .unwrap_err();
    assert!(
        e.to_string().contains("TCP") || e.to_string().contains("a="),
        "{e}"
    );
}

#[test]
fn webrtc_rs_sdps_with_qrchat_credentials_go_compact() {
    for name in [
        "webrtc-rs-offer.sdp",
        "webrtc-rs-answer.sdp",
        "webrtc-rs-offer-2.sdp",
    ] {
        let desc = as_qrchat(&fixture(name));
        let blob = encode(&desc, Format::Auto).unwrap();
        assert!(blob.starts_with('Q'), "{name}: {blob}");
        assert_eq!(blob, encode(&desc, Format::Compact).unwrap());
        let base = encode(&desc, Format::Baseline).unwrap();
        assert!(
            blob.len() * 4 < base.len(),
            "{name}: {} vs {}",
            blob.len(),
            base.len()
        );
        let d = decode(&blob).unwrap();
        assert_eq!(d.encoding, Encoding::Compact);
        assert_eq!(d.desc.kind, desc.kind);
        assert_eq!(fingerprint_of(&d.desc.sdp), fingerprint_of(&desc.sdp));
        assert_eq!(sdp::setup(&d.desc.sdp), sdp::setup(&desc.sdp));
        let orig = sdp::compact_view(desc.kind, &desc.sdp).unwrap();
        let back = sdp::compact_view(d.desc.kind, &d.desc.sdp).unwrap();
        assert_eq!(orig, back);
        // Encoding the rebuilt description gives the same blob back.
        assert_eq!(encode(&d.desc, Format::Auto).unwrap(), blob);
        assert!(d.desc.sdp.contains("\r\n") && !d.desc.sdp.replace("\r\n", "").contains('\n'));
    }
}

#[test]
fn compact_refuses_what_it_cannot_carry() {
    let ok = as_qrchat(&fixture("webrtc-rs-offer.sdp"));
    let cases: Vec<(&str, String)> = vec![
        ("mDNS name", ok.sdp.replace(" 127.0.0.1 ", " 1f2e.local ")),
        ("TCP", ok.sdp.replace(" udp ", " tcp ")),
        (
            "ice-lite",
            ok.sdp.replace("a=sendrecv", "a=sendrecv\r\na=ice-lite"),
        ),
        ("other creds", fixture("webrtc-rs-offer.sdp").sdp),
        (
            "sctp port",
            ok.sdp.replace("sctp-port:5000", "sctp-port:5001"),
        ),
        ("mid", ok.sdp.replace("a=mid:0", "a=mid:data")),
        (
            "second media",
            ok.sdp.clone() + "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n",
        ),
        (
            "max size",
            ok.sdp
                .replace("a=sendrecv", "a=sendrecv\r\na=max-message-size:1024"),
        ),
    ];
    for (what, sdp_text) in cases {
        let desc = SessionDescription {
            kind: SdpKind::Offer,
            sdp: sdp_text,
        };
        assert!(
            matches!(
                encode(&desc, Format::Compact),
                Err(EncodeError::NotCompact(_))
            ),
            "{what}"
        );
        let auto = encode(&desc, Format::Auto).unwrap();
        assert!(auto.starts_with('Z'), "{what}");
        assert_eq!(decode(&auto).unwrap().desc, desc, "{what}");
    }
}

#[test]
fn encode_refuses_incomplete_descriptions() {
    let ok = fixture("webrtc-rs-offer.sdp");
    let no_fp = SessionDescription {
        kind: SdpKind::Offer,
        sdp: strip_lines(&ok.sdp, "a=fingerprint"),
    };
    let no_cand = SessionDescription {
        kind: SdpKind::Offer,
        sdp: strip_lines(&ok.sdp, "a=candidate"),
    };
    for f in [
        Format::Auto,
        Format::Baseline,
        Format::Json,
        Format::Compact,
    ] {
        assert_eq!(encode(&no_fp, f), Err(EncodeError::NoFingerprint));
        assert_eq!(encode(&no_cand, f), Err(EncodeError::NoCandidates));
    }
}

fn strip_lines(sdp_text: &str, prefix: &str) -> String {
    sdp_text
        .split("\r\n")
        .filter(|l| !l.starts_with(prefix))
        .collect::<Vec<_>>()
        .join("\r\n")
}

// ---------------------------------------------------------------- JSON

#[test]
fn json_forms_from_browser_pages_decode() {
    let offer = fixture("chromium-plain-offer.sdp");
    let json = encode(&offer, Format::Json).unwrap();
    assert!(!json.contains('\n'), "JSON must be one line");
    assert!(
        json.starts_with(r#"{"type":"offer","sdp":"v=0\r\n"#),
        "{json}"
    );
    let pretty = serde_json::to_string_pretty(&serde_json::json!({
        "type": "offer", "sdp": offer.sdp
    }))
    .unwrap();
    let forms = [
        json.clone(),
        format!("join({json})"),
        format!("gotAnswer({json});"),
        format!("  \n\t window.connect( {json} ) \r\n"),
        pretty.clone(),
        format!("join({pretty})"),
        // a paste broken over lines, right inside the SDP string
        json.chars()
            .enumerate()
            .flat_map(|(i, c)| {
                if i % 61 == 60 {
                    vec![c, '\r', '\n']
                } else {
                    vec![c]
                }
            })
            .collect(),
    ];
    for f in forms {
        let d = decode(&f).unwrap_or_else(|e| panic!("{f:?}: {e}"));
        assert_eq!(d.desc, offer);
        assert_eq!(d.encoding, Encoding::Json);
    }
    let answer = fixture("firefox-plain-answer.sdp");
    let d = decode(&format!(
        "gotAnswer({})",
        encode(&answer, Format::Json).unwrap()
    ))
    .unwrap();
    assert_eq!(d.desc, answer);
}

#[test]
fn bad_json_says_what_is_wrong() {
    for bad in [
        r#"{"type":"offer"}"#,
        r#"{"type":"rollback","sdp":"v=0\r\n"}"#,
        r#"{"type":"offer","sdp":"v=0\r\n""#,
        r#"join({"type":"offer","sdp":"v=0"}"#,
        r#"{"type":1,"sdp":"v=0"}"#,
    ] {
        assert!(
            matches!(decode(bad), Err(DecodeError::BadJson(_))),
            "{bad}: {:?}",
            decode(bad)
        );
    }
    let bad_sdp = r#"{"type":"offer","sdp":"v=1\r\nhello"}"#;
    assert!(matches!(decode(bad_sdp), Err(DecodeError::BadSdp(_))));
}

// ---------------------------------------------------------------- hostile input

#[test]
fn empty_and_too_long() {
    assert_eq!(decode(""), Err(DecodeError::Empty));
    assert_eq!(decode(" \r\n\t "), Err(DecodeError::Empty));
    let long = format!("Q{}", "A".repeat(MAX_INPUT));
    assert!(matches!(decode(&long), Err(DecodeError::TooLong { .. })));
    // The cap is on the raw text: a real blob padded with whitespace past it is refused too.
    let padded = format!("{}{}", " ".repeat(MAX_INPUT), "Q");
    assert!(matches!(decode(&padded), Err(DecodeError::TooLong { .. })));
}

#[test]
fn other_qr_codes_are_not_qrchat() {
    for other in [
        "https://example.com/menu",
        "HTTPS://EXAMPLE.COM/MENU",
        "WIFI:S:home;T:WPA;P:secret;;",
        "hello",
        "BEGIN:VCARD",
        "4006381333931",
        "{",
    ] {
        let e = decode(other).unwrap_err();
        if other == "{" {
            assert!(matches!(e, DecodeError::BadJson(_)), "{other}: {e:?}");
        } else {
            assert_eq!(e, DecodeError::NotQrchat, "{other}");
            assert!(e.to_string().contains("not a qrchat code"));
        }
    }
}

#[test]
fn future_versions_are_reported_as_newer() {
    // Another reserved capital letter with a URL-safe body.
    let future = format!("R{}", compact::base32_encode(&[7u8; 40]));
    assert_eq!(decode(&future), Err(DecodeError::UnknownVersion));
    // 'Q' records of versions 3 and 0 (whatever follows).
    for version in [3u8, 0] {
        let mut v = record_bytes(&sample_record());
        v[0] = (v[0] & 0x1F) | (version << 5);
        assert_eq!(decode(&q_blob(v)), Err(DecodeError::UnknownVersion));
    }
    // Versions 1 and 2 with a reserved header bit (bit 0 now says an answer's offer tag
    // follows), a reserved setup role, a reserved tag bit (of the first candidate: after
    // the count, byte 33 in v1, 51 in v2 with its password).
    // Header bit 1 is reserved in v1 and in answers; in a v2 offer it is the direct flag.
    let answer = Record {
        kind: SdpKind::Answer,
        setup: Setup::Active,
        ..sample_record()
    };
    for (rec, tag) in [
        (sample_v1(), 34),
        (sample_record(), 34 + ICE_PWD_BYTES),
        (answer, 34 + ICE_PWD_BYTES),
    ] {
        for (at, bits) in [(0usize, 0b10u8), (0, 0b1100), (tag, 0b1000), (tag, 0x80)] {
            if rec.kind == SdpKind::Offer && rec.ice != sdp::Ice::FromFingerprint && bits == 0b10 {
                let mut r = record_bytes(&rec);
                r[at] |= bits;
                let d = decode(&q_blob(r)).expect("a v2 offer with the direct flag");
                assert!(accepts_direct(&d.desc.sdp));
                continue;
            }
            let mut r = record_bytes(&rec);
            r[at] |= bits;
            assert_eq!(
                decode(&q_blob(r)),
                Err(DecodeError::UnknownVersion),
                "{at} {bits:b}"
            );
        }
    }
    // A baseline blob whose kind byte is unknown.
    assert_eq!(
        decode(&z_blob(b"xv=0\r\n")),
        Err(DecodeError::UnknownVersion)
    );
    assert!(DecodeError::UnknownVersion
        .to_string()
        .contains("newer qrchat"));
}

#[test]
fn bad_alphabet_is_bad_encoding() {
    for bad in [
        "Q01890189",
        "QABC!DEF",
        "QMZXW6YTBOI=",
        "Zab*cd",
        "Zabc+d/e",
    ] {
        assert!(
            matches!(decode(bad), Err(DecodeError::BadEncoding { .. })),
            "{bad}: {:?}",
            decode(bad)
        );
    }
}

#[test]
fn every_truncation_of_a_compact_blob_is_caught() {
    let blob = encode(&as_qrchat(&fixture("webrtc-rs-offer-2.sdp")), Format::Auto).unwrap();
    assert!(blob.starts_with('Q'));
    for cut in 2..blob.len() {
        let e = decode(&blob[..cut]).unwrap_err();
        assert!(matches!(e, DecodeError::Damaged { .. }), "cut {cut}: {e:?}");
        assert!(e.to_string().contains("copy it again"));
    }
    assert!(matches!(decode("Q"), Err(DecodeError::Damaged { .. })));
}

#[test]
fn every_single_character_change_of_a_compact_blob_is_caught() {
    let blob = encode(&as_qrchat(&fixture("webrtc-rs-offer.sdp")), Format::Auto).unwrap();
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    for i in 1..blob.len() {
        for &c in alphabet {
            if blob.as_bytes()[i].eq_ignore_ascii_case(&c) {
                continue;
            }
            let mut b = blob.clone().into_bytes();
            b[i] = c;
            let s = String::from_utf8(b).unwrap();
            let e = decode(&s).unwrap_err();
            // The first payload character holds the version bits.
            if i == 1 {
                assert!(
                    matches!(e, DecodeError::Damaged { .. } | DecodeError::UnknownVersion),
                    "{i} {c}: {e:?}"
                );
            } else {
                assert!(
                    matches!(e, DecodeError::Damaged { .. }),
                    "{i} {}: {e:?}",
                    c as char
                );
            }
        }
    }
}

#[test]
fn truncated_or_changed_baseline_blobs_are_caught() {
    let blob = encode(&fixture("firefox-plain-offer.sdp"), Format::Baseline).unwrap();
    for cut in 1..blob.len() {
        let e = decode(&blob[..cut]).unwrap_err();
        assert!(matches!(e, DecodeError::Damaged { .. }), "cut {cut}: {e:?}");
    }
    let alphabet = b"AZaz09-_";
    for i in (1..blob.len()).step_by(3) {
        for &c in alphabet {
            if blob.as_bytes()[i] == c {
                continue;
            }
            let mut b = blob.clone().into_bytes();
            b[i] = c;
            let s = String::from_utf8(b).unwrap();
            let e = decode(&s).unwrap_err();
            assert!(
                matches!(e, DecodeError::Damaged { .. }),
                "{i} {}: {e:?}",
                c as char
            );
        }
    }
    // Bytes after the zlib stream.
    let mut bytes = zlib(format!("o{}", fixture("webrtc-rs-offer.sdp").sdp).as_bytes());
    bytes.extend_from_slice(b"junk");
    let e = decode(&format!("Z{}", URL_SAFE_NO_PAD.encode(bytes))).unwrap_err();
    assert!(matches!(e, DecodeError::Damaged { .. }), "{e:?}");
}

#[test]
fn a_deflate_bomb_is_refused() {
    // 1 MiB and 40 MiB of zeros; both blobs are small enough to be pasted.
    for size in [1usize << 20, 40 << 20] {
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        z.write_all(b"o").unwrap();
        let chunk = vec![b'a'; 1 << 20];
        for _ in 0..size >> 20 {
            z.write_all(&chunk).unwrap();
        }
        let blob = format!("Z{}", URL_SAFE_NO_PAD.encode(z.finish().unwrap()));
        assert!(blob.len() < MAX_INPUT, "{}", blob.len());
        assert_eq!(
            decode(&blob),
            Err(DecodeError::InflatedTooBig { max: MAX_INFLATED })
        );
    }
}

#[test]
fn not_utf8_bad_sdp_no_fingerprint_no_candidates() {
    assert_eq!(
        decode(&z_blob(b"ov=0\r\n\xff\xfe")),
        Err(DecodeError::NotUtf8)
    );
    for bad in [
        "hello".to_string(),
        "v=0\r\nthis is not sdp\r\n".to_string(),
        "v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\n".to_string(), // no media section
        fixture("webrtc-rs-offer.sdp")
            .sdp
            .replace(" typ host", " host"),
        fixture("webrtc-rs-offer.sdp")
            .sdp
            .replace("a=mid:0", "a=mid:0\u{1b}[2J"),
    ] {
        let e = decode(&z_blob(format!("o{bad}").as_bytes())).unwrap_err();
        assert!(matches!(e, DecodeError::BadSdp(_)), "{bad:?}: {e:?}");
    }
    let ok = fixture("webrtc-rs-offer.sdp").sdp;
    let no_fp = strip_lines(&ok, "a=fingerprint");
    let sha1_only = ok.replace("a=fingerprint:sha-256", "a=fingerprint:sha-1");
    let no_cand = strip_lines(&ok, "a=candidate");
    for (text, want) in [
        (&no_fp, DecodeError::NoFingerprint),
        (&sha1_only, DecodeError::NoFingerprint),
        (&no_cand, DecodeError::NoCandidates),
    ] {
        assert_eq!(
            decode(&z_blob(format!("o{text}").as_bytes())),
            Err(want.clone())
        );
        let json = serde_json::json!({"type": "offer", "sdp": text}).to_string();
        assert_eq!(decode(&json), Err(want));
    }
    // A compact record that says zero candidates.
    let mut r = record_bytes(&sample_v1());
    r.truncate(34);
    r[33] = 0;
    assert_eq!(decode(&q_blob(r)), Err(DecodeError::NoCandidates));
    // Count says more candidates than there are, checksum intact.
    let mut r = record_bytes(&sample_v1());
    r[33] = 3;
    assert!(matches!(
        decode(&q_blob(r)),
        Err(DecodeError::Damaged { .. })
    ));
}

#[test]
fn wrong_kind_and_own_blob() {
    let offer = as_qrchat(&fixture("webrtc-rs-offer.sdp"));
    let answer = as_qrchat(&fixture("webrtc-rs-answer.sdp"));
    for format in [Format::Auto, Format::Baseline, Format::Json] {
        let ob = encode(&offer, format).unwrap();
        let ab = encode(&answer, format).unwrap();
        // The offerer scans its own offer back.
        assert_eq!(
            decode_expecting(&ob, SdpKind::Answer, Some(&offer)),
            Err(DecodeError::OwnBlob)
        );
        // The offerer scans another offer.
        let e = decode_expecting(&ob, SdpKind::Answer, Some(&answer)).unwrap_err();
        assert_eq!(
            e,
            DecodeError::WrongKind {
                expected: SdpKind::Answer,
                got: SdpKind::Offer
            }
        );
        assert!(e.to_string().contains(
            "this is an offer; qrchat expected an answer: give this code to the other side"
        ));
        let e = decode_expecting(&ab, SdpKind::Offer, None).unwrap_err();
        assert!(matches!(
            e,
            DecodeError::WrongKind {
                got: SdpKind::Answer,
                ..
            }
        ));
        assert!(e.to_string().starts_with("this is an answer"));
        assert_eq!(
            decode_expecting(&ab, SdpKind::Answer, Some(&offer))
                .unwrap()
                .desc
                .kind,
            SdpKind::Answer
        );
    }
    assert_eq!(
        DecodeError::OwnBlob.to_string(),
        "this is your own code; scan the other side's"
    );
}

// ---------------------------------------------------------------- helpers of the API

#[test]
fn ice_credentials_are_valid_and_distinct() {
    let (u, p) = ice_credentials(&[1; 32]);
    assert_eq!((u.len(), p.len()), (8, 24));
    let ice = |c: char| c.is_ascii_alphanumeric() || c == '+' || c == '/';
    assert!(u.chars().all(ice) && p.chars().all(ice), "{u} {p}");
    assert_eq!(ice_credentials(&[1; 32]), (u.clone(), p.clone()));
    let (u2, p2) = ice_credentials(&[2; 32]);
    assert_ne!(u, u2);
    assert_ne!(p, p2);
}

#[test]
fn sas_is_symmetric_six_digits_and_depends_on_both() {
    let a = fingerprint_of(&fixture("webrtc-rs-offer.sdp").sdp).unwrap();
    let b = fingerprint_of(&fixture("webrtc-rs-answer.sdp").sdp).unwrap();
    let s = sas(&a, &b);
    assert_eq!(s, sas(&b, &a));
    let d = s.as_bytes();
    assert_eq!(d.len(), 7, "{s}");
    assert!(
        d[3] == b' '
            && d.iter()
                .enumerate()
                .all(|(i, c)| i == 3 || c.is_ascii_digit())
    );
    let mut c = b;
    c[31] ^= 1;
    assert_ne!(sas(&a, &c), s);
}

#[test]
fn summary_names_kind_form_size_candidates_and_fingerprint() {
    let r = sample_record();
    let blob = compact::encode(&r).unwrap();
    let d = decode(&blob).unwrap();
    let s = summarize(&d);
    assert_eq!(s.kind, SdpKind::Offer);
    assert_eq!(s.encoding, Encoding::Compact);
    assert_eq!(s.setup, "actpass");
    assert_eq!(
        s.candidates,
        vec!["192.168.1.5:50000 host", "[2001:db8::7]:3478 srflx"]
    );
    let line = s.to_string();
    assert!(
        line.starts_with(&format!(
            "offer (compact, {} chars): 2 candidates 192.168.1.5:50000 host, [2001:db8::7]:3478 srflx; setup actpass; fingerprint AB:AB:AB"
        , blob.len())),
        "{line}"
    );
    let ff = decode(&encode(&fixture("firefox-mdns-answer.sdp"), Format::Json).unwrap()).unwrap();
    let line = summarize(&ff).to_string();
    assert!(line.starts_with("answer (json, "), "{line}");
    assert!(line.contains(".local:9 host tcp"), "{line}");
    assert!(line.contains("setup active"), "{line}");
}

// ---------------------------------------------------------------- properties

fn arb_candidate() -> impl Strategy<Value = Candidate> {
    let typ = prop_oneof![
        Just(CandType::Host),
        Just(CandType::Srflx),
        Just(CandType::Prflx),
        Just(CandType::Relay)
    ];
    let ip = prop_oneof![
        any::<[u8; 4]>().prop_map(|a| IpAddr::V4(Ipv4Addr::from(a))),
        any::<[u8; 16]>().prop_map(|a| IpAddr::V6(Ipv6Addr::from(a))),
    ];
    (typ, ip, any::<u16>()).prop_map(|(typ, ip, port)| Candidate { typ, ip, port })
}

fn arb_record() -> impl Strategy<Value = Record> {
    let kind = prop_oneof![Just(SdpKind::Offer), Just(SdpKind::Answer)];
    let setup = prop_oneof![
        Just(Setup::ActPass),
        Just(Setup::Active),
        Just(Setup::Passive)
    ];
    (
        kind,
        setup,
        any::<[u8; 32]>(),
        proptest::collection::vec(arb_candidate(), 1..12),
        any::<Option<[u8; 4]>>(),
        any::<Option<[u8; ICE_PWD_BYTES]>>(),
    )
        .prop_map(
            |(kind, setup, fingerprint, candidates, answers, pwd)| Record {
                kind,
                setup,
                fingerprint,
                ice: pwd.map_or(sdp::Ice::FromFingerprint, sdp::Ice::Password),
                answers: answers.filter(|_| kind == SdpKind::Answer),
                direct: kind == SdpKind::Offer && fingerprint[0] & 1 == 1 && pwd.is_some(),
                candidates,
            },
        )
}

/// Inserts whitespace (as a paste that wraps lines would) at the given positions.
fn break_lines(s: &str, cuts: &[usize], sep: &str) -> String {
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if cuts.contains(&i) {
            out.push_str(sep);
        }
        out.push(c);
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn base32_round_trips(data in proptest::collection::vec(any::<u8>(), 0..200)) {
        let e = compact::base32_encode(&data);
        prop_assert_eq!(compact::base32_decode(&e).unwrap(), data.clone());
        prop_assert_eq!(compact::base32_decode(&e.to_lowercase()).unwrap(), data);
    }

    #[test]
    fn compact_round_trips_any_record(r in arb_record(), cuts in proptest::collection::vec(0usize..200, 0..4), lower in any::<bool>()) {
        let blob = compact::encode(&r).unwrap();
        prop_assert!(blob.bytes().all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b)));
        let d = decode(&blob).unwrap();
        prop_assert_eq!(d.encoding, Encoding::Compact);
        prop_assert_eq!(d.desc.kind, r.kind);
        // The rebuilt SDP carries exactly the record, and re-encodes to the same blob.
        prop_assert_eq!(sdp::compact_view(d.desc.kind, &d.desc.sdp).unwrap(), r.clone());
        prop_assert_eq!(encode(&d.desc, Format::Compact).unwrap(), blob.clone());
        prop_assert_eq!(encode(&d.desc, Format::Auto).unwrap(), blob.clone());
        // Pasted with line breaks, or lower-cased, it still decodes.
        let pasted = break_lines(&blob, &cuts, "\r\n\u{a0}\t ");
        let pasted = if lower { pasted.to_lowercase() } else { pasted };
        prop_assert_eq!(decode(&pasted).unwrap().desc, d.desc.clone());
        // Baseline and JSON of the rebuilt SDP come back byte for byte.
        for f in [Format::Baseline, Format::Json] {
            let b = encode(&d.desc, f).unwrap();
            prop_assert_eq!(decode(&break_lines(&b, &cuts, "\n")).unwrap().desc, d.desc.clone());
        }
    }

    #[test]
    fn fixtures_survive_pasting_with_line_breaks(i in 0usize..11, cuts in proptest::collection::vec(0usize..2000, 0..6)) {
        let all = fixtures();
        let desc = &all[i % all.len()].1;
        let blob = encode(desc, Format::Baseline).unwrap();
        prop_assert_eq!(&decode(&break_lines(&blob, &cuts, "\n")).unwrap().desc, desc);
        let qr = as_qrchat(desc);
        let auto = encode(&qr, Format::Auto).unwrap();
        prop_assert_eq!(&decode(&break_lines(&auto, &cuts, " \r\n")).unwrap().desc.kind, &qr.kind);
    }

    #[test]
    fn arbitrary_text_never_panics(s in "\\PC{0,300}") {
        let _ = decode(&s);
        let _ = decode(&format!("Q{s}"));
        let _ = decode(&format!("Z{s}"));
        let _ = decode(&format!("join({s})"));
        let _ = decode(&format!("{{\"type\":\"offer\",\"sdp\":\"{s}\"}}"));
    }

    #[test]
    fn arbitrary_bytes_in_every_container_never_panic(data in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = decode(&String::from_utf8_lossy(&data));
        let _ = decode(&format!("Q{}", compact::base32_encode(&data)));
        let _ = decode(&q_blob(data.clone()));
        let _ = decode(&format!("Z{}", URL_SAFE_NO_PAD.encode(&data)));
        let r = decode(&z_blob(&data));
        // Text that is not a session description is always refused.
        prop_assert!(r.is_err());
    }
}

// ---------------------------------------------------------------- sizes

fn qr_version_m(blob: &str) -> i16 {
    match qrcode::QrCode::with_error_correction_level(blob.as_bytes(), qrcode::EcLevel::M)
        .expect("fits a QR code")
        .version()
    {
        qrcode::Version::Normal(v) | qrcode::Version::Micro(v) => v,
    }
}

/// Prints the size table (`cargo test --lib signal::tests::size_table -- --nocapture`)
/// and holds the target: a LAN offer with 3 IPv4 host candidates fits QR version 5 at M.
#[test]
fn size_table() {
    println!(
        "cands | raw SDP B | baseline ch | QR(M) | compact ch | QR(M) | +direct ch | QR(M) | json ch"
    );
    for n in [1usize, 2, 3, 4] {
        let cands: Vec<(IpAddr, u16)> = (0..n)
            .map(|i| {
                let ip = IpAddr::V4(Ipv4Addr::new(192, 168, 1 + i as u8, 100 + i as u8));
                (ip, 50000 + 1111 * i as u16)
            })
            .collect();
        let offer = qrchat_offer(&cands);
        let base = encode(&offer, Format::Baseline).unwrap();
        let compact = encode(&offer, Format::Auto).unwrap();
        let json = encode(&offer, Format::Json).unwrap();
        // The same offer from a starter that takes a direct answer: one header bit.
        let marked = SessionDescription {
            kind: SdpKind::Offer,
            sdp: mark_direct(&offer.sdp),
        };
        let direct = encode(&marked, Format::Auto).unwrap();
        assert!(direct.starts_with('Q'));
        assert!(accepts_direct(&decode(&direct).unwrap().desc.sdp));
        assert!(!accepts_direct(&decode(&compact).unwrap().desc.sdp));
        assert_eq!(direct.len(), compact.len(), "the flag costs a character");
        assert!(compact.starts_with('Q'));
        assert_eq!(
            compact.len(),
            1 + (54 + 7 * n) * 8 / 5 + usize::from((54 + 7 * n) * 8 % 5 != 0)
        );
        let (vb, vc) = (qr_version_m(&base), qr_version_m(&compact));
        let vd = qr_version_m(&direct);
        println!(
            "{n:5} | {:9} | {:11} | {vb:5} | {:10} | {vc:5} | {:10} | {vd:5} | {:7}",
            offer.sdp.len(),
            base.len(),
            compact.len(),
            direct.len(),
            json.len()
        );
        assert_eq!(vd, vc, "the direct flag must not grow the QR");
        assert!(vc < vb, "compact must need a smaller QR than baseline");
        if n <= 3 {
            assert!(vc <= 5, "{n} candidates need QR version {vc} at M");
        }
    }
}

// ---------------------------------------------------------------- the stored corpus

/// fixtures/blobs holds blobs written by an independent implementation
/// (fixtures/blobs/make_corpus.py); each file name says what decode must make of it.
#[test]
fn corpus_blobs_decode_as_their_names_say() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/blobs");
    let mut seen = 0;
    for e in std::fs::read_dir(dir).expect("fixtures/blobs") {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        let Some(stem) = name.strip_suffix(".txt") else {
            continue;
        };
        seen += 1;
        let text = String::from_utf8(std::fs::read(&p).unwrap()).unwrap();
        let got = decode(&text);
        if let Some(rest) = stem.strip_prefix("ok-") {
            let d = got.unwrap_or_else(|e| panic!("{name}: {e}"));
            let want = match rest.split('-').next().unwrap() {
                "compact" => Encoding::Compact,
                "baseline" => Encoding::Baseline,
                "json" => Encoding::Json,
                other => panic!("{name}: unknown encoding {other}"),
            };
            assert_eq!(d.encoding, want, "{name}");
            continue;
        }
        let e = got.expect_err(&name);
        let variant = match e {
            DecodeError::Empty => "empty",
            DecodeError::TooLong { .. } => "too-long",
            DecodeError::NotQrchat => "not-qrchat",
            DecodeError::UnknownVersion => "unknown-version",
            DecodeError::BadEncoding { .. } => "bad-encoding",
            DecodeError::Damaged { .. } => "damaged",
            DecodeError::InflatedTooBig { .. } => "inflated-too-big",
            DecodeError::NotUtf8 => "not-utf8",
            DecodeError::BadJson(_) => "bad-json",
            DecodeError::BadSdp(_) => "bad-sdp",
            DecodeError::NoFingerprint => "no-fingerprint",
            DecodeError::NoCandidates => "no-candidates",
            DecodeError::WrongKind { .. } => "wrong-kind",
            DecodeError::OwnBlob => "own-blob",
            DecodeError::AnswersAnotherCode => "answers-another-code",
        };
        assert!(
            stem.starts_with(&format!("err-{variant}")),
            "{name}: got {variant}: {e}"
        );
    }
    assert!(seen >= 20, "corpus has {seen} blobs");
    // The independent writer and this encoder agree byte for byte.
    let ours = encode(&as_qrchat(&fixture("webrtc-rs-offer.sdp")), Format::Auto).unwrap();
    let theirs = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/blobs/ok-compact-offer.txt"),
    )
    .unwrap();
    assert_eq!(ours, theirs);
}

/// A qrchat answer names the offer it answers (4 bytes in the compact code, an
/// `a=qrchat-answers:` line in the full one); the offerer refuses an answer made for
/// another code with a message that says so, and takes the right one. The tie is to the
/// offer's ICE password, fresh for each code: an answer to an earlier code of the same app
/// (same certificate, as a re-pair keeps it) is another code's.
#[test]
fn an_answer_for_another_code_is_named() {
    let offer_rec = |pwd: u8| {
        let mut r = sample_record();
        r.ice = sdp::Ice::Password([pwd; ICE_PWD_BYTES]);
        SessionDescription {
            kind: SdpKind::Offer,
            sdp: sdp::rebuild(&r),
        }
    };
    let (offer, earlier) = (offer_rec(1), offer_rec(2));
    assert_eq!(fingerprint_of(&offer.sdp), fingerprint_of(&earlier.sdp));
    let mut rec = sample_record();
    rec.kind = SdpKind::Answer;
    rec.setup = Setup::Active;
    rec.fingerprint = [0x77; 32];
    rec.candidates.truncate(1);
    let sdp_text = sdp::rebuild(&rec);
    let tied = tie_answer(&sdp_text, &offer.sdp);
    assert_eq!(answered_offer(&tied), offer_tag(&offer.sdp));
    assert_ne!(offer_tag(&offer.sdp), offer_tag(&earlier.sdp));
    let desc = SessionDescription {
        kind: SdpKind::Answer,
        sdp: tied,
    };
    let compact_blob = encode(&desc, Format::Compact).unwrap();
    let untied = encode(
        &SessionDescription {
            kind: SdpKind::Answer,
            sdp: sdp_text,
        },
        Format::Compact,
    )
    .unwrap();
    // Four bytes more than an untied answer: 6-7 characters.
    assert!(
        compact_blob.len() <= untied.len() + 7,
        "{compact_blob} {untied}"
    );
    for blob in [compact_blob, encode(&desc, Format::Baseline).unwrap()] {
        let ok = decode_expecting(&blob, SdpKind::Answer, Some(&offer)).unwrap();
        assert_eq!(answered_offer(&ok.desc.sdp), offer_tag(&offer.sdp));
        let e = decode_expecting(&blob, SdpKind::Answer, Some(&earlier)).unwrap_err();
        assert_eq!(e, DecodeError::AnswersAnotherCode);
        assert!(e.to_string().contains("made for another code"), "{e}");
    }
}
