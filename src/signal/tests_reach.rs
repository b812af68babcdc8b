//! Server-reflexive and relay candidates in the compact form: a real webrtc-rs offer made
//! behind a NAT with STUN and TURN (fixtures/sdp/qrchat/nat-offer.sdp) keeps every
//! candidate's type, address and port through the compact blob, and webrtc-rs takes the
//! candidate lines the rebuild writes (related address 0.0.0.0:0, which the compact form
//! does not carry: ICE never uses it, it only informs).

use std::collections::BTreeSet;

use webrtc::ice::candidate::candidate_base::unmarshal_candidate;
use webrtc::ice::candidate::{Candidate as _, CandidateType};

use super::tests::{as_qrchat, fixture_dir};
use super::*;

fn nat_offer() -> SessionDescription {
    let text = std::fs::read_to_string(fixture_dir().join("qrchat/nat-offer.sdp")).unwrap();
    as_qrchat(&SessionDescription {
        kind: SdpKind::Offer,
        sdp: text,
    })
}

/// (type, address, port) of every component-1 candidate line.
fn candidates(sdp_text: &str) -> BTreeSet<(String, String, u16)> {
    sdp::attributes(sdp_text, "candidate")
        .filter_map(|v| {
            let c = sdp::parse_candidate(v).unwrap();
            (c.component == 1).then(|| (c.typ.to_owned(), c.address.to_owned(), c.port))
        })
        .collect()
}

#[test]
fn srflx_and_relay_candidates_travel_in_the_compact_form() {
    let offer = nat_offer();
    let before = candidates(&offer.sdp);
    let types: BTreeSet<&str> = before.iter().map(|c| c.0.as_str()).collect();
    assert_eq!(
        types,
        BTreeSet::from(["host", "relay", "srflx"]),
        "the fixture has all three kinds: {before:?}"
    );
    let blob = encode(&offer, Format::Auto).unwrap();
    assert!(blob.starts_with('Q'), "compact, not baseline: {blob}");
    let base = encode(&offer, Format::Baseline).unwrap();
    assert!(
        blob.len() * 3 < base.len(),
        "{} vs {}",
        blob.len(),
        base.len()
    );
    let back = decode(&blob).unwrap();
    assert_eq!(back.encoding, Encoding::Compact);
    assert_eq!(candidates(&back.desc.sdp), before);
    // Encoding the rebuilt description again gives the same blob.
    assert_eq!(encode(&back.desc, Format::Auto).unwrap(), blob);
    // 4 candidates: 38 + 4 * 7 bytes.
    assert_eq!(compact::decode(&blob[1..]).unwrap().candidates.len(), 4);
}

/// The rebuilt lines as webrtc-rs's own candidate parser reads them: same type, address
/// and port; reflexive and relay ones with the placeholder related address.
#[test]
fn webrtc_rs_parses_every_rebuilt_candidate_line() {
    let offer = nat_offer();
    let blob = encode(&offer, Format::Compact).unwrap();
    let rebuilt = decode(&blob).unwrap().desc.sdp;
    let mut seen = BTreeSet::new();
    for v in sdp::attributes(&rebuilt, "candidate") {
        let c = unmarshal_candidate(v).unwrap_or_else(|e| panic!("{v}: {e}"));
        let typ = match c.candidate_type() {
            CandidateType::Host => "host",
            CandidateType::ServerReflexive => "srflx",
            CandidateType::PeerReflexive => "prflx",
            CandidateType::Relay => "relay",
            CandidateType::Unspecified => panic!("{v}: no type"),
        };
        if typ != "host" {
            let rel = c
                .related_address()
                .unwrap_or_else(|| panic!("{v}: no raddr"));
            assert_eq!((rel.address.as_str(), rel.port), ("0.0.0.0", 0), "{v}");
        }
        // Relay below reflexive below host, as RFC 8445 wants them tried.
        seen.insert((
            typ.to_owned(),
            c.address().to_owned(),
            c.port(),
            c.priority(),
        ));
    }
    let by_type = |t: &str| {
        seen.iter()
            .filter(|c| c.0 == t)
            .map(|c| c.3)
            .collect::<Vec<_>>()
    };
    let (host, srflx, relay) = (by_type("host"), by_type("srflx"), by_type("relay"));
    assert!(
        !host.is_empty() && !srflx.is_empty() && !relay.is_empty(),
        "{seen:?}"
    );
    assert!(host.iter().min() > srflx.iter().max(), "{seen:?}");
    assert!(srflx.iter().min() > relay.iter().max(), "{seen:?}");
    let addrs: BTreeSet<_> = seen
        .iter()
        .map(|c| (c.0.clone(), c.1.clone(), c.2))
        .collect();
    assert_eq!(addrs, candidates(&offer.sdp));
}

/// A whole peer connection takes the rebuilt offer and answers it.
#[tokio::test]
async fn webrtc_rs_answers_a_rebuilt_offer_with_relay_candidates() {
    use webrtc::api::setting_engine::SettingEngine;
    use webrtc::api::APIBuilder;
    use webrtc::ice::mdns::MulticastDnsMode;
    use webrtc::peer_connection::configuration::RTCConfiguration;
    use webrtc::peer_connection::sdp::session_description::RTCSessionDescription;

    let offer = nat_offer();
    let rebuilt = decode(&encode(&offer, Format::Compact).unwrap())
        .unwrap()
        .desc;
    webrtc::sdp::SessionDescription::unmarshal(&mut std::io::Cursor::new(rebuilt.sdp.as_bytes()))
        .unwrap();
    // Never gathers (no local description is set), so it sends nothing to the 10.99
    // addresses; loopback-only all the same.
    let mut se = SettingEngine::default();
    se.set_ice_multicast_dns_mode(MulticastDnsMode::Disabled);
    se.set_ip_filter(Box::new(|ip| ip.is_loopback()));
    let api = APIBuilder::new().with_setting_engine(se).build();
    let pc = api
        .new_peer_connection(RTCConfiguration::default())
        .await
        .unwrap();
    pc.set_remote_description(RTCSessionDescription::offer(rebuilt.sdp.clone()).unwrap())
        .await
        .unwrap();
    let answer = pc.create_answer(None).await.unwrap();
    assert!(answer.sdp.contains("a=setup:active"), "{}", answer.sdp);
    let remote = pc.remote_description().await.unwrap().sdp;
    for (_, addr, port) in candidates(&offer.sdp) {
        assert!(remote.contains(&format!(" {addr} {port} typ ")), "{remote}");
    }
    pc.close().await.unwrap();
}

/// Which of the peer's addresses are its own (host): a peer-reflexive pair to one of them is
/// on the LAN, to its NAT's public address (the srflx one) it crosses a NAT.
#[test]
fn host_addresses_leave_out_reflexive_and_relay_ones() {
    let offer = nat_offer();
    assert_eq!(host_addresses(&offer.sdp), vec!["10.99.11.2".to_string()]);
    let all = candidate_addresses(&offer.sdp);
    assert!(all.contains(&"10.99.0.11".to_string()) && all.contains(&"10.99.0.1".to_string()));
}
