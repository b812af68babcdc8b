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

/// The QR of a code as half-block lines (two modules per cell, quiet zone 4), drawn
/// dark-on-light with an explicit style by the caller.
pub fn qr_lines(blob: &str) -> Result<Vec<String>, String> {
    use qrcode::{Color, EcLevel, QrCode};
    // The highest ECC whose code fits 80x24 with its quiet zone, else M, else L.
    let fits = |c: &QrCode| c.width() + 8 <= 48;
    let code = [EcLevel::H, EcLevel::Q, EcLevel::M]
        .iter()
        .filter_map(|l| QrCode::with_error_correction_level(blob, *l).ok())
        .find(fits)
        .or_else(|| QrCode::with_error_correction_level(blob, EcLevel::M).ok())
        .or_else(|| QrCode::with_error_correction_level(blob, EcLevel::L).ok())
        .ok_or_else(|| format!("the code is too long for a QR ({} bytes)", blob.len()))?;
    let w = code.width();
    let colors = code.to_colors();
    let quiet = 4usize;
    let full = w + 2 * quiet;
    let dark = |x: usize, y: usize| -> bool {
        if x < quiet || y < quiet || x >= quiet + w || y >= quiet + w {
            return false;
        }
        colors[(y - quiet) * w + (x - quiet)] == Color::Dark
    };
    let mut lines = Vec::with_capacity(full.div_ceil(2));
    let mut y = 0;
    while y < full {
        let mut s = String::with_capacity(full * 3);
        for x in 0..full {
            let top = dark(x, y);
            let bottom = y + 1 < full && dark(x, y + 1);
            s.push(match (top, bottom) {
                (true, true) => '█',
                (true, false) => '▀',
                (false, true) => '▄',
                (false, false) => ' ',
            });
        }
        lines.push(s);
        y += 2;
    }
    Ok(lines)
}

/// Look for a QR code in a frame; its text when one decodes.
pub fn scan_frame(frame: &GrayImage) -> Option<String> {
    let (w, h) = frame.dimensions();
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w as usize, h as usize, |x, y| {
        frame.get_pixel(x as u32, y as u32).0[0]
    });
    for grid in img.detect_grids() {
        if let Ok((_, text)) = grid.decode() {
            return Some(text);
        }
    }
    None
}

// ---------------------------------------------------------------- camera

/// Where frames come from.
pub trait Frames: Send {
    fn name(&self) -> String;
    /// The next frame; `None` when the source has no more.
    fn next_frame(&mut self) -> Result<Option<GrayImage>, String>;
}

struct ImageFiles {
    name: String,
    frames: Vec<std::path::PathBuf>,
    at: usize,
}

impl Frames for ImageFiles {
    fn name(&self) -> String {
        self.name.clone()
    }
    fn next_frame(&mut self) -> Result<Option<GrayImage>, String> {
        if self.frames.is_empty() {
            return Ok(None);
        }
        let p = &self.frames[self.at % self.frames.len()];
        self.at += 1;
        std::thread::sleep(std::time::Duration::from_millis(100));
        let img = image::open(p).map_err(|e| format!("{}: {e}", p.display()))?;
        Ok(Some(img.to_luma8()))
    }
}

/// Open the camera the options ask for.
pub fn open_camera(
    index: Option<u32>,
    file: Option<&std::path::Path>,
) -> Result<Box<dyn Frames>, String> {
    if let Some(path) = file {
        let frames = if path.is_dir() {
            let mut v: Vec<_> = std::fs::read_dir(path)
                .map_err(|e| format!("{}: {e}", path.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .collect();
            v.sort();
            v
        } else {
            vec![path.to_path_buf()]
        };
        return Ok(Box::new(ImageFiles {
            name: path.display().to_string(),
            frames,
            at: 0,
        }));
    }
    let _ = index;
    Err("no camera support in this build".into())
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
