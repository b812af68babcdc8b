//! Everything the TUI uses from the modules below it, behind one small function each, so
//! the app codes against one place while `signal`, `qr`, `camera`, `rtc` and `chat` land.

use std::sync::Arc;

use futures::future::BoxFuture;
use image::GrayImage;
use tokio::sync::mpsc::UnboundedSender;

use super::session::{Connector, Link};
use crate::rtc;
use crate::signal::{self, SdpKind, SessionDescription};

pub use crate::rtc::{CloseReason, SessionEvent};

// ---------------------------------------------------------------- codec (signal)

/// A pasted or scanned code, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    pub desc: SessionDescription,
    /// It came in the browser JSON form (answer in kind).
    pub json: bool,
    /// One human line about it.
    pub summary: String,
}

/// Decode a code expecting `expected`, refusing our own code fed back. The codec says
/// what is wrong with a bad code; kind and fingerprint are checked here so the messages
/// speak to the person at this screen.
pub fn check_code(
    text: &str,
    expected: SdpKind,
    own_fingerprint: Option<&[u8; 32]>,
) -> Result<Checked, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("empty: paste the code shown by the other side".into());
    }
    // A code copied off a terminal may carry line breaks; the text codes have no spaces.
    let joined: String;
    let text = if text.starts_with('{') || text.contains('(') {
        text
    } else {
        joined = text.split_whitespace().collect();
        &joined
    };
    let decoded = signal::decode(text).map_err(|e| e.to_string())?;
    let desc = decoded.desc;
    if desc.kind != expected {
        return Err(match expected {
            SdpKind::Offer => "this is an answer but an offer was expected: scan or paste \
                               the code of the side that started"
                .into(),
            SdpKind::Answer => "this is an offer but an answer was expected: scan or paste \
                                the answer the other side shows after joining"
                .into(),
        });
    }
    if let (Some(own), Some(fp)) = (own_fingerprint, fingerprint_of(&desc.sdp)) {
        if &fp == own {
            return Err("this is my own code: paste the other side's code".into());
        }
    }
    let json = decoded.encoding == signal::Encoding::Json;
    let candidates = candidates_of(&desc.sdp);
    let summary = format!(
        "{} ({}), {} candidate{}",
        desc.kind,
        match decoded.encoding {
            signal::Encoding::Json => "browser JSON",
            signal::Encoding::Compact => "compact",
            signal::Encoding::Baseline => "full",
        },
        candidates.len(),
        if candidates.len() == 1 { "" } else { "s" }
    );
    Ok(Checked {
        desc,
        json,
        summary,
    })
}

/// The code text for our local description.
pub fn encode_code(desc: &SessionDescription, json: bool) -> Result<String, String> {
    let format = if json {
        signal::Format::Json
    } else {
        signal::Format::Auto
    };
    signal::encode(desc, format).map_err(|e| e.to_string())
}

/// `a=fingerprint:sha-256 AA:BB:..` as bytes.
pub fn fingerprint_of(sdp: &str) -> Option<[u8; 32]> {
    signal::fingerprint_of(sdp)
}

/// The candidates of an SDP, one short item each: "host 192.168.1.5:50000/udp".
pub fn candidates_of(sdp: &str) -> Vec<String> {
    sdp.lines()
        .filter_map(|l| l.trim().strip_prefix("a=candidate:"))
        .filter_map(|c| {
            let f: Vec<&str> = c.split_whitespace().collect();
            let proto = f.get(2)?.to_ascii_lowercase();
            let addr = f.get(4)?;
            let port = f.get(5)?;
            let typ = f
                .iter()
                .position(|x| *x == "typ")
                .and_then(|i| f.get(i + 1))?;
            Some(format!("{typ} {addr}:{port}/{proto}"))
        })
        .fold(Vec::new(), |mut v: Vec<String>, c| {
            // RTP and RTCP components share an address: list it once.
            if !v.contains(&c) {
                v.push(c);
            }
            v
        })
}

// ---------------------------------------------------------------- qr

/// The QR of a code as half-block lines (two modules per cell, quiet zone included),
/// drawn dark-on-light with an explicit style by the caller.
pub fn qr_lines(blob: &str) -> Result<Vec<String>, String> {
    let m = crate::qr::matrix(blob).map_err(|e| e.to_string())?;
    Ok(crate::qr::to_half_block_lines(&m))
}

/// Looks for codes in camera frames, remembering what worked on the last one.
#[derive(Default)]
pub struct FrameScanner(crate::qr::Scanner);

impl FrameScanner {
    /// The text of a QR code seen in the frame (any text: the app says what is wrong with
    /// a code that is not the one it wants).
    pub fn scan(&mut self, frame: &GrayImage) -> Option<String> {
        let bytes = self.0.scan(frame, |b| std::str::from_utf8(b).is_ok())?;
        String::from_utf8(bytes).ok()
    }
}

/// Look for a QR code in one frame.
pub fn scan_frame(frame: &GrayImage) -> Option<String> {
    FrameScanner::default().scan(frame)
}

// ---------------------------------------------------------------- camera

pub use crate::camera::FrameSource as Frames;

/// Open the camera the options ask for: `--camera-file`, else webcam `--camera N` (0).
pub fn open_camera(
    index: Option<u32>,
    file: Option<&std::path::Path>,
) -> Result<Box<dyn Frames>, String> {
    match file {
        Some(path) => crate::camera::open_path(path),
        None => crate::camera::open_webcam(index.unwrap_or(0)),
    }
    .map_err(|e| e.to_string())
}

// ---------------------------------------------------------------- chat

/// Peer text made safe to display (control characters and escape sequences become
/// visible placeholders; newlines stay; long text is cut with a note).
pub fn sanitize(text: &str) -> String {
    crate::chat::sanitize(text)
}

/// Longest message we send, in bytes.
pub const MAX_SEND_BYTES: usize = crate::chat::MAX_MESSAGE_BYTES;

// ---------------------------------------------------------------- rtc

/// The real connector: WebRTC sessions from `rtc`.
pub fn connector(cfg: rtc::RtcConfig) -> Arc<dyn Connector> {
    Arc::new(RtcConnector(cfg))
}

struct RtcConnector(rtc::RtcConfig);
struct RtcLink(rtc::Session);

fn link(r: Result<rtc::Session, rtc::RtcError>) -> Result<Arc<dyn Link>, String> {
    r.map(|s| Arc::new(RtcLink(s)) as Arc<dyn Link>)
        .map_err(|e| e.to_string())
}

impl Connector for RtcConnector {
    fn offer(
        &self,
        events: UnboundedSender<SessionEvent>,
    ) -> BoxFuture<'static, Result<Arc<dyn Link>, String>> {
        let cfg = self.0.clone();
        Box::pin(async move { link(rtc::Session::offer(&cfg, events).await) })
    }
    fn answer(
        &self,
        offer: SessionDescription,
        events: UnboundedSender<SessionEvent>,
    ) -> BoxFuture<'static, Result<Arc<dyn Link>, String>> {
        let cfg = self.0.clone();
        Box::pin(async move { link(rtc::Session::answer(&cfg, &offer, events).await) })
    }
}

impl Link for RtcLink {
    fn local_description(&self) -> SessionDescription {
        self.0.local_description().clone()
    }
    fn local_fingerprint(&self) -> [u8; 32] {
        self.0.local_fingerprint()
    }
    fn accept_answer(&self, answer: SessionDescription) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            self.0
                .accept_answer(&answer)
                .await
                .map_err(|e| e.to_string())
        })
    }
    fn send(&self, text: String) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move { self.0.send(&text).await.map_err(|e| e.to_string()) })
    }
    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(self.0.close())
    }
}
