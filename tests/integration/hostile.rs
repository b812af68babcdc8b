//! A hostile peer: a raw webrtc-rs peer (not qrchat) that offers in browser JSON and then
//! sends what no polite peer would, against the real `qrchat answer` binary.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use webrtc::api::setting_engine::{SctpMaxMessageSize, SettingEngine};
use webrtc::api::APIBuilder;
use webrtc::data_channel::RTCDataChannel;
use webrtc::ice::mdns::MulticastDnsMode;
use webrtc::ice::network_type::NetworkType;
use webrtc::peer_connection::configuration::RTCConfiguration;
use webrtc::peer_connection::sdp::session_description::RTCSessionDescription;
use webrtc::peer_connection::RTCPeerConnection;

const BIN: &str = env!("CARGO_BIN_EXE_qrchat");

struct Hostile {
    pc: Arc<RTCPeerConnection>,
    dc: Arc<RTCDataChannel>,
}

impl Hostile {
    async fn offer() -> (Hostile, String) {
        let mut se = SettingEngine::default();
        se.set_ice_multicast_dns_mode(MulticastDnsMode::Disabled);
        se.set_network_types(vec![NetworkType::Udp4]);
        se.set_include_loopback_candidate(true);
        se.set_ip_filter(Box::new(|ip| ip.is_loopback()));
        se.set_sctp_max_message_size_can_send(SctpMaxMessageSize::Unbounded);
        se.detach_data_channels();
        let api = APIBuilder::new().with_setting_engine(se).build();
        let pc = Arc::new(
            api.new_peer_connection(RTCConfiguration::default())
                .await
                .unwrap(),
        );
        // A browser page names its channel as it likes.
        let dc = pc.create_data_channel("sendChannel", None).await.unwrap();
        let offer = pc.create_offer(None).await.unwrap();
        let mut done = pc.gathering_complete_promise().await;
        pc.set_local_description(offer).await.unwrap();
        let _ = done.recv().await;
        let local = pc.local_description().await.unwrap();
        let json = serde_json::json!({"type": "offer", "sdp": local.sdp}).to_string();
        (Hostile { pc, dc }, json)
    }

    async fn accept(&self, answer_json: &str) {
        let v: serde_json::Value = serde_json::from_str(answer_json)
            .unwrap_or_else(|e| panic!("a JSON offer is answered in JSON ({e}): {answer_json}"));
        assert_eq!(v["type"], "answer");
        // Hostile: pretend qrchat accepts messages of any size, so ours go out whole.
        let sdp = v["sdp"].as_str().unwrap().replace(
            "a=sctp-port:5000\r\n",
            "a=sctp-port:5000\r\na=max-message-size:0\r\n",
        );
        let answer = RTCSessionDescription::answer(sdp).unwrap();
        self.pc.set_remote_description(answer).await.unwrap();
    }

    async fn raw(&self) -> Arc<webrtc::data::data_channel::DataChannel> {
        for _ in 0..200 {
            if let Ok(raw) = self.dc.detach().await {
                return raw;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("channel never opened");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_peer_cannot_break_the_terminal_or_the_chat() {
    let (hostile, offer) = Hostile::offer().await;
    let mut child = Command::new(BIN)
        .args(["answer", "--bind", "127.0.0.1", &offer])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, mut lines) = tokio::sync::mpsc::unbounded_channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for l in BufReader::new(stdout).lines() {
            let Ok(l) = l else { break };
            if tx.send(l).is_err() {
                break;
            }
        }
    });
    let mut next = async || {
        tokio::time::timeout(Duration::from_secs(30), lines.recv())
            .await
            .expect("a line from qrchat")
            .expect("qrchat still running")
    };
    let answer = next().await;
    hostile.accept(&answer).await;
    let raw = hostile.raw().await;

    // 1. terminal escape sequences: clear screen, set title, C1 CSI, bidi override
    raw.write_data_channel(
        &Bytes::from("\x1b[2J\x1b]0;owned\x07\u{9b}6n\u{202e}olleh"),
        true,
    )
    .await
    .unwrap();
    let line = next().await;
    assert_eq!(line, "␛[2J␛]0;owned␇\u{fffd}6n\u{fffd}olleh");
    assert!(!line.contains('\x1b'));

    // 2. invalid UTF-8 in a text message
    raw.write_data_channel(&Bytes::from_static(b"bad \xff\xfe utf8"), true)
        .await
        .unwrap();
    assert_eq!(next().await, "bad \u{fffd}\u{fffd} utf8");

    // 3. binary data on the chat channel: not printed; the chat goes on
    raw.write_data_channel(&Bytes::from_static(&[0, 1, 2, 0x1b]), false)
        .await
        .unwrap();

    // 4. a 1 MiB line: arrives cut, bounded, and the chat goes on
    raw.write_data_channel(&Bytes::from("A".repeat(1 << 20)), true)
        .await
        .unwrap();
    let big = next().await;
    assert!(
        big.len() < 70 * 1024,
        "cut to a bounded size, got {} bytes",
        big.len()
    );
    assert!(
        big.ends_with("more characters cut]") || big.contains("message cut"),
        "{}",
        &big[big.len() - 60..]
    );

    // 5. an extra data channel: closed by qrchat, nothing printed from it
    let extra = hostile.pc.create_data_channel("extra", None).await.unwrap();
    let mut extra_raw = None;
    for _ in 0..200 {
        if let Ok(r) = extra.detach().await {
            extra_raw = Some(r);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let extra_raw = extra_raw.expect("the extra channel opened at the SCTP level");
    let _ = extra_raw
        .write_data_channel(&Bytes::from_static(b"from the extra channel"), true)
        .await;
    let mut probe = vec![0u8; 1024];
    let closed = matches!(
        tokio::time::timeout(
            Duration::from_secs(10),
            extra_raw.read_data_channel(&mut probe)
        )
        .await,
        Ok(Ok((0, _))) | Ok(Err(_))
    );
    assert!(closed, "qrchat closes data channels beyond the first");

    // 6. a flood of 10,000 messages, all delivered in order
    for i in 0..10_000 {
        raw.write_data_channel(&Bytes::from(format!("flood {i}")), true)
            .await
            .unwrap();
    }
    for i in 0..10_000 {
        assert_eq!(next().await, format!("flood {i}"));
    }

    // Still a working chat both ways after all that.
    let stdin = child.stdin.as_mut().unwrap();
    writeln!(stdin, "still here").unwrap();
    stdin.flush().unwrap();
    let mut buf = vec![0u8; 256];
    let n = tokio::time::timeout(Duration::from_secs(20), raw.read_data_channel(&mut buf))
        .await
        .expect("qrchat still sends")
        .unwrap()
        .0;
    assert_eq!(&buf[..n], b"still here");

    // The peer leaves: qrchat ends normally.
    hostile.pc.close().await.unwrap();
    let status = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let err = String::from_utf8_lossy(&status.stderr);
    assert!(status.status.success(), "{err}");
    assert!(err.contains("ignored 4 bytes of binary data"), "{err}");
}
