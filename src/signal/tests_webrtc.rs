//! The compact form against the real webrtc-rs: rebuilt descriptions are accepted, and two
//! peers that exchange only compact blobs connect (loopback only).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::mpsc;
use webrtc::api::setting_engine::SettingEngine;
use webrtc::api::APIBuilder;
use webrtc::data_channel::data_channel_message::DataChannelMessage;
use webrtc::dtls::crypto::Certificate;
use webrtc::ice::mdns::MulticastDnsMode;
use webrtc::ice::network_type::NetworkType;
use webrtc::peer_connection::certificate::RTCCertificate;
use webrtc::peer_connection::configuration::RTCConfiguration;
use webrtc::peer_connection::sdp::session_description::RTCSessionDescription;
use webrtc::peer_connection::RTCPeerConnection;

use super::tests::{as_qrchat, fixture_dir};
use super::*;

/// Whose ICE credentials a test peer uses.
#[derive(Clone, Copy, PartialEq)]
enum Creds {
    /// webrtc-rs's own random ones, as a browser's.
    Webrtc,
    /// Compact v1: derived from the certificate's fingerprint (older qrchat).
    V1,
    /// Compact v2: a fresh password and the ufrag derived from it (qrchat now).
    V2,
}

/// A loopback-only peer. With qrchat's credentials, it uses a certificate made up front,
/// as qrchat's rtc does.
async fn peer(creds: Creds) -> (Arc<RTCPeerConnection>, Option<[u8; 32]>) {
    let mut se = SettingEngine::default();
    se.set_include_loopback_candidate(true);
    se.set_ice_multicast_dns_mode(MulticastDnsMode::Disabled);
    se.set_network_types(vec![NetworkType::Udp4]);
    se.set_ip_filter(Box::new(|ip| ip.is_loopback()));
    let mut config = RTCConfiguration::default();
    let mut fp = None;
    if creds != Creds::Webrtc {
        let cert = Certificate::generate_self_signed(vec!["qrchat".to_string()]).unwrap();
        let cert =
            RTCCertificate::from_existing(cert, SystemTime::now() + Duration::from_secs(24 * 3600));
        let hex = &cert.get_fingerprints()[0].value;
        let f = fingerprint_of(&format!("a=fingerprint:sha-256 {hex}")).unwrap();
        let (u, p) = if creds == Creds::V1 {
            ice_credentials(&f)
        } else {
            let mut pwd = [0u8; ICE_PWD_BYTES];
            getrandom::fill(&mut pwd).unwrap();
            ice_credentials_v2(&pwd)
        };
        se.set_ice_credentials(u, p);
        config.certificates = vec![cert];
        fp = Some(f);
    }
    let api = APIBuilder::new().with_setting_engine(se).build();
    (Arc::new(api.new_peer_connection(config).await.unwrap()), fp)
}

async fn local_after_gathering(pc: &RTCPeerConnection, d: RTCSessionDescription) -> String {
    let mut done = pc.gathering_complete_promise().await;
    pc.set_local_description(d).await.unwrap();
    let _ = done.recv().await;
    pc.local_description().await.unwrap().sdp
}

fn to_rtc(desc: &SessionDescription) -> RTCSessionDescription {
    match desc.kind {
        SdpKind::Offer => RTCSessionDescription::offer(desc.sdp.clone()).unwrap(),
        SdpKind::Answer => RTCSessionDescription::answer(desc.sdp.clone()).unwrap(),
    }
}

#[tokio::test]
async fn rebuilt_fixture_offer_is_accepted_by_webrtc_rs() {
    let sdp_text = std::fs::read_to_string(fixture_dir().join("webrtc-rs-offer.sdp")).unwrap();
    let offer = as_qrchat(&SessionDescription {
        kind: SdpKind::Offer,
        sdp: sdp_text,
    });
    let blob = encode(&offer, Format::Auto).unwrap();
    assert!(blob.starts_with('Q'), "{blob}");
    let rebuilt = decode(&blob).unwrap().desc;
    // The SDP parser itself, then a peer connection.
    webrtc::sdp::SessionDescription::unmarshal(&mut std::io::Cursor::new(rebuilt.sdp.as_bytes()))
        .unwrap();
    let (b, _) = peer(Creds::Webrtc).await;
    b.set_remote_description(to_rtc(&rebuilt)).await.unwrap();
    let answer = b.create_answer(None).await.unwrap();
    assert!(answer.sdp.contains("a=setup:active"), "{}", answer.sdp);
    let remote = b.remote_description().await.unwrap();
    assert!(remote.sdp.contains("127.0.0.1"));
    b.close().await.unwrap();
}

#[tokio::test]
async fn two_peers_connect_through_compact_blobs_only() {
    connect_through_compact(Creds::V2).await;
}

/// An older qrchat's v1 codes (credentials derived from the fingerprint) still pair.
#[tokio::test]
async fn v1_codes_still_connect() {
    connect_through_compact(Creds::V1).await;
}

async fn connect_through_compact(creds: Creds) {
    let (a, a_fp) = peer(creds).await;
    let (b, b_fp) = peer(creds).await;
    let (tx, mut rx) = mpsc::unbounded_channel::<String>();
    b.on_data_channel(Box::new(move |dc| {
        let tx = tx.clone();
        Box::pin(async move {
            dc.on_message(Box::new(move |m: DataChannelMessage| {
                let _ = tx.send(String::from_utf8_lossy(&m.data).to_string());
                Box::pin(async {})
            }));
        })
    }));
    let dc = a.create_data_channel("chat", None).await.unwrap();
    let (open_tx, mut open_rx) = mpsc::unbounded_channel::<()>();
    dc.on_open(Box::new(move || {
        let _ = open_tx.send(());
        Box::pin(async {})
    }));

    let offer = SessionDescription {
        kind: SdpKind::Offer,
        sdp: local_after_gathering(&a, a.create_offer(None).await.unwrap()).await,
    };
    let offer_blob = encode(&offer, Format::Auto).unwrap();
    assert!(
        offer_blob.starts_with('Q'),
        "offer not compact: {offer_blob}"
    );
    // The version bits (the top 3 of the first byte, the first base32 character's top 3
    // of 5 bits): 1 for v1, 2 for v2.
    let version = compact::base32_decode(&offer_blob[1..]).unwrap()[0] >> 5;
    assert_eq!(version, if creds == Creds::V1 { 1 } else { 2 });
    assert!(made_by_qrchat(&offer.sdp));
    let got = decode_expecting(&offer_blob, SdpKind::Offer, None).unwrap();
    assert_eq!(fingerprint_of(&got.desc.sdp), a_fp);
    b.set_remote_description(to_rtc(&got.desc)).await.unwrap();

    let answer = SessionDescription {
        kind: SdpKind::Answer,
        sdp: local_after_gathering(&b, b.create_answer(None).await.unwrap()).await,
    };
    let answer_blob = encode(&answer, Format::Auto).unwrap();
    assert!(
        answer_blob.starts_with('Q'),
        "answer not compact: {answer_blob}"
    );
    // Scanning our own offer back is refused; the answer is taken.
    assert_eq!(
        decode_expecting(&offer_blob, SdpKind::Answer, Some(&offer)),
        Err(DecodeError::OwnBlob)
    );
    let got = decode_expecting(&answer_blob, SdpKind::Answer, Some(&offer)).unwrap();
    a.set_remote_description(to_rtc(&got.desc)).await.unwrap();

    tokio::time::timeout(Duration::from_secs(20), open_rx.recv())
        .await
        .expect("data channel did not open")
        .unwrap();
    dc.send_text("hello over a compact pairing").await.unwrap();
    let msg = tokio::time::timeout(Duration::from_secs(20), rx.recv())
        .await
        .expect("no message")
        .unwrap();
    assert_eq!(msg, "hello over a compact pairing");
    // Both sides compute the same SAS from the two fingerprints.
    assert_eq!(
        sas(&a_fp.unwrap(), &b_fp.unwrap()),
        sas(&b_fp.unwrap(), &a_fp.unwrap())
    );
    a.close().await.unwrap();
    b.close().await.unwrap();
}
