//! The pairing figures (issue 2): blob sizes and QR versions, gathering time, answer to
//! channel open, round-trip time, bulk throughput. Prints a table; asserts nothing.
//!
//! `cargo bench --bench pairing` (add `-- quick` for fewer repetitions).
//! Every network figure is measured on loopback.

use std::time::{Duration, Instant};

use qrchat::rtc::{RtcConfig, Session, SessionEvent};
use qrchat::signal::{self, Format, SdpKind, SessionDescription};
use tokio::sync::mpsc;

fn loopback() -> RtcConfig {
    RtcConfig::loopback()
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i]
}

fn stats(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    (pct(&v, 0.5), pct(&v, 0.99), pct(&v, 1.0))
}

fn qr_version(blob: &str) -> String {
    match qrcode::QrCode::with_error_correction_level(blob.as_bytes(), qrcode::EcLevel::M) {
        Ok(c) => match c.version() {
            qrcode::Version::Normal(v) => format!("{v}"),
            qrcode::Version::Micro(v) => format!("M{v}"),
        },
        Err(_) => "too big".into(),
    }
}

/// A real offer from webrtc-rs with its candidate lines replaced by `n` LAN host
/// candidates (the machine here has fewer real interfaces than a laptop).
fn with_candidates(real: &SessionDescription, n: usize) -> SessionDescription {
    let mut out = String::new();
    let mut done = false;
    for line in real.sdp.split("\r\n") {
        if line.starts_with("a=candidate:") {
            if !done {
                for i in 0..n {
                    let ip = ["192.168.1.23", "10.0.0.7", "172.20.5.40", "192.168.56.1"][i % 4];
                    let port = 50000 + 17 * i as u32;
                    for comp in [1, 2] {
                        out.push_str(&format!(
                            "a=candidate:{} {comp} udp 2130706431 {ip} {port} typ host\r\n",
                            1000 + i
                        ));
                    }
                }
                done = true;
            }
            continue;
        }
        if !line.is_empty() {
            out.push_str(line);
            out.push_str("\r\n");
        }
    }
    SessionDescription {
        kind: real.kind,
        sdp: out,
    }
}

async fn open_pair() -> (
    Session,
    mpsc::UnboundedReceiver<SessionEvent>,
    Session,
    mpsc::UnboundedReceiver<SessionEvent>,
    Duration,
) {
    let (atx, mut arx) = mpsc::unbounded_channel();
    let (btx, mut brx) = mpsc::unbounded_channel();
    let a = Session::offer(&loopback(), atx).await.unwrap();
    let b = Session::answer(&loopback(), a.local_description(), btx)
        .await
        .unwrap();
    let t0 = Instant::now();
    a.accept_answer(b.local_description()).await.unwrap();
    wait_open(&mut arx).await;
    let took = t0.elapsed();
    wait_open(&mut brx).await;
    (a, arx, b, brx, took)
}

async fn wait_open(rx: &mut mpsc::UnboundedReceiver<SessionEvent>) {
    while let Some(ev) = rx.recv().await {
        match ev {
            SessionEvent::Open { .. } => return,
            SessionEvent::Closed(r) => panic!("closed: {r}"),
            _ => {}
        }
    }
}

#[tokio::main]
async fn main() {
    let quick = std::env::args().any(|a| a == "quick");
    let reps = if quick { 5 } else { 20 };
    println!("qrchat pairing benchmark (loopback; {reps} repetitions where timed)\n");

    // Sizes.
    let (tx, _rx) = mpsc::unbounded_channel();
    let real = Session::offer(&loopback(), tx).await.unwrap();
    println!("| candidates | raw SDP bytes | baseline chars | QR (M) | compact chars | QR (M) |");
    println!("|---|---|---|---|---|---|");
    for n in [1, 2, 3, 4] {
        let d = with_candidates(real.local_description(), n);
        let base = signal::encode(&d, Format::Baseline).unwrap();
        let compact = signal::encode(&d, Format::Auto).unwrap();
        assert_eq!(
            signal::decode_expecting(&compact, SdpKind::Offer, None)
                .unwrap()
                .desc
                .kind,
            SdpKind::Offer
        );
        println!(
            "| {n} IPv4 host | {} | {} | v{} | {} ({}) | v{} |",
            d.sdp.len(),
            base.len(),
            qr_version(&base),
            compact.len(),
            &compact[..1],
            qr_version(&compact)
        );
    }
    real.close().await;

    // Gathering.
    let gather = |cfg: RtcConfig| async move {
        let mut v = Vec::new();
        for _ in 0..reps {
            let (tx, _rx) = mpsc::unbounded_channel();
            let t0 = Instant::now();
            let s = Session::offer(&cfg, tx).await.unwrap();
            v.push(t0.elapsed().as_secs_f64() * 1e3);
            s.close().await;
        }
        stats(v)
    };
    println!("\n| start to blob ready | median ms | p99 ms | max ms |\n|---|---|---|---|");
    let (m, p, x) = gather(loopback()).await;
    println!("| no STUN, --bind 127.0.0.1 | {m:.1} | {p:.1} | {x:.1} |");
    let (m, p, x) = gather(RtcConfig {
        bind: vec![],
        ..loopback()
    })
    .await;
    println!("| no STUN, all usable interfaces | {m:.1} | {p:.1} | {x:.1} |");
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let (m, p, x) = gather(RtcConfig {
        stun: vec![format!("stun:127.0.0.1:{port}")],
        ..loopback()
    })
    .await;
    println!("| unreachable STUN, deadline 3 s | {m:.1} | {p:.1} | {x:.1} |");

    // Answer applied to channel open.
    let mut opens = Vec::new();
    for _ in 0..reps {
        let (a, _arx, b, _brx, took) = open_pair().await;
        opens.push(took.as_secs_f64() * 1e3);
        a.close().await;
        b.close().await;
    }
    let (m, p, x) = stats(opens);
    println!(
        "\n| answer applied to channel open | median ms | p99 ms | max ms |\n|---|---|---|---|"
    );
    println!("| loopback | {m:.2} | {p:.2} | {x:.2} |");

    // Round trip: Bob echoes, Alice times 2000 small messages one at a time.
    let (a, mut arx, b, mut brx, _) = open_pair().await;
    let echo = tokio::spawn(async move {
        while let Some(ev) = brx.recv().await {
            match ev {
                SessionEvent::Message(m) if b.send(&m).await.is_err() => break,
                SessionEvent::Closed(_) => break,
                _ => {}
            }
        }
        b
    });
    let mut rtts = Vec::new();
    for i in 0..2000 {
        let t0 = Instant::now();
        a.send(&format!("ping {i}")).await.unwrap();
        loop {
            match arx.recv().await {
                Some(SessionEvent::Message(_)) => break,
                Some(_) => {}
                None => panic!("ended"),
            }
        }
        rtts.push(t0.elapsed().as_secs_f64() * 1e3);
    }
    let (m, p, x) = stats(rtts);
    println!(
        "\n| round trip, 2000 small messages | median ms | p99 ms | max ms |\n|---|---|---|---|"
    );
    println!("| loopback | {m:.3} | {p:.3} | {x:.3} |");
    a.close().await;
    let b = echo.await.unwrap();
    b.close().await;

    // Bulk: 64 MiB in 16 KiB messages, timed until the last byte arrives.
    let (a, _arx, b, mut brx, _) = open_pair().await;
    let total: usize = if quick { 16 << 20 } else { 64 << 20 };
    let chunk = "x".repeat(qrchat::chat::MAX_MESSAGE_BYTES);
    let recv = tokio::spawn(async move {
        let mut got = 0usize;
        while got < total {
            match brx.recv().await {
                Some(SessionEvent::Message(m)) => got += m.len(),
                Some(SessionEvent::Closed(r)) => panic!("closed: {r}"),
                Some(_) => {}
                None => break,
            }
        }
        (Instant::now(), b)
    });
    let t0 = Instant::now();
    let mut sent = 0;
    while sent < total {
        a.send(&chunk).await.unwrap();
        sent += chunk.len();
    }
    let (t1, b) = recv.await.unwrap();
    let secs = (t1 - t0).as_secs_f64();
    println!(
        "\n| bulk throughput | MiB | seconds | MB/s |\n|---|---|---|---|\n| loopback, 16 KiB messages | {} | {secs:.2} | {:.1} |",
        total >> 20,
        total as f64 / secs / 1e6
    );
    a.close().await;
    b.close().await;
}
