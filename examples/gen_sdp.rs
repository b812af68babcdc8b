//! Writes real webrtc-rs 0.17 session descriptions into fixtures/sdp/ (the signal codec's
//! test fixtures): an offer with a data channel and the matching answer, gathered on
//! loopback only, plus an offer with several loopback host candidates.
//!
//! Run: `cargo run --example gen_sdp -- fixtures/sdp`

use std::sync::Arc;

use webrtc::api::setting_engine::SettingEngine;
use webrtc::api::APIBuilder;
use webrtc::ice::mdns::MulticastDnsMode;
use webrtc::ice::network_type::NetworkType;
use webrtc::peer_connection::configuration::RTCConfiguration;
use webrtc::peer_connection::sdp::session_description::RTCSessionDescription;
use webrtc::peer_connection::RTCPeerConnection;

async fn peer(ips: &'static [&'static str]) -> anyhow::Result<Arc<RTCPeerConnection>> {
    let mut se = SettingEngine::default();
    se.set_include_loopback_candidate(true);
    se.set_ice_multicast_dns_mode(MulticastDnsMode::Disabled);
    se.set_network_types(vec![NetworkType::Udp4, NetworkType::Udp6]);
    se.set_ip_filter(Box::new(move |ip| ips.iter().any(|a| ip.to_string() == *a)));
    let api = APIBuilder::new().with_setting_engine(se).build();
    Ok(Arc::new(
        api.new_peer_connection(RTCConfiguration::default()).await?,
    ))
}

async fn gathered(pc: &RTCPeerConnection, desc: RTCSessionDescription) -> anyhow::Result<String> {
    let mut done = pc.gathering_complete_promise().await;
    pc.set_local_description(desc).await?;
    let _ = done.recv().await;
    Ok(pc
        .local_description()
        .await
        .ok_or_else(|| anyhow::anyhow!("no local description"))?
        .sdp)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "fixtures/sdp".into());
    std::fs::create_dir_all(&dir)?;

    let a = peer(&["127.0.0.1"]).await?;
    a.create_data_channel("chat", None).await?;
    let offer = gathered(&a, a.create_offer(None).await?).await?;
    let b = peer(&["127.0.0.1"]).await?;
    b.set_remote_description(RTCSessionDescription::offer(offer.clone())?)
        .await?;
    let answer = gathered(&b, b.create_answer(None).await?).await?;
    std::fs::write(format!("{dir}/webrtc-rs-offer.sdp"), &offer)?;
    std::fs::write(format!("{dir}/webrtc-rs-answer.sdp"), &answer)?;

    // Two host candidates, IPv4 and IPv6 loopback.
    let c = peer(&["127.0.0.1", "::1"]).await?;
    c.create_data_channel("chat", None).await?;
    let multi = gathered(&c, c.create_offer(None).await?).await?;
    std::fs::write(format!("{dir}/webrtc-rs-offer-2.sdp"), &multi)?;

    for pc in [a, b, c] {
        pc.close().await?;
    }
    println!("wrote {dir}/webrtc-rs-offer.sdp, -answer.sdp, -offer-2.sdp");
    Ok(())
}
