//! Everything the TUI uses from the modules below it, behind one small function each, so
//! the app codes against one place while `signal`, `qr`, `camera`, `rtc` and `chat` land.

use std::sync::Arc;

use futures::future::BoxFuture;
use image::GrayImage;
use tokio::sync::mpsc::UnboundedSender;

use super::session::{Connector, Link};
use crate::signal::{SdpKind, SessionDescription};

/// Events a session sends while it lives (the `rtc::SessionEvent` contract).
#[derive(Debug, Clone, PartialEq)]
pub enum SessionEvent {
    Gathering { candidates: usize },
    State(String),
    Open { sas: String, remote: Option<String> },
    Message(String),
    Binary(usize),
    Closed(Option<String>),
}

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

/// Decode a code expecting `expected`, refusing our own code fed back.
pub fn check_code(
    text: &str,
    expected: SdpKind,
    own_fingerprint: Option<&[u8; 32]>,
) -> Result<Checked, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("empty: paste the code shown by the other side".into());
    }
    let desc = decode_json(text)?;
    if desc.kind != expected {
        return Err(format!(
            "this is an {} but an {} was expected: scan or paste the other side's code",
            desc.kind, expected
        ));
    }
    if let (Some(own), Some(fp)) = (own_fingerprint, fingerprint_of(&desc.sdp)) {
        if &fp == own {
            return Err("this is my own code: paste the other side's code".into());
        }
    }
    let candidates = candidates_of(&desc.sdp);
    let summary = format!(
        "{} (browser JSON), {} candidate{}",
        desc.kind,
        candidates.len(),
        if candidates.len() == 1 { "" } else { "s" }
    );
    Ok(Checked {
        desc,
        json: true,
        summary,
    })
}

fn decode_json(text: &str) -> Result<SessionDescription, String> {
    let v: serde_json::Value = serde_json::from_str(text)
        .map_err(|_| "not a qrchat code: check that the whole code was copied".to_string())?;
    let kind = match v.get("type").and_then(|t| t.as_str()) {
        Some("offer") => SdpKind::Offer,
        Some("answer") => SdpKind::Answer,
        _ => return Err("JSON without \"type\": \"offer\" or \"answer\"".into()),
    };
    let sdp = v
        .get("sdp")
        .and_then(|s| s.as_str())
        .ok_or("JSON without \"sdp\"")?;
    Ok(SessionDescription {
        kind,
        sdp: sdp.to_string(),
    })
}

/// The code text for our local description.
pub fn encode_code(desc: &SessionDescription, json: bool) -> Result<String, String> {
    let _ = json;
    Ok(serde_json::json!({"type": desc.kind.to_string(), "sdp": desc.sdp}).to_string())
}

/// `a=fingerprint:sha-256 AA:BB:..` as bytes.
pub fn fingerprint_of(sdp: &str) -> Option<[u8; 32]> {
    let line = sdp
        .lines()
        .find_map(|l| l.trim().strip_prefix("a=fingerprint:sha-256 "))?;
    let mut out = [0u8; 32];
    let mut n = 0;
    for part in line.trim().split(':') {
        if n == 32 {
            return None;
        }
        out[n] = u8::from_str_radix(part, 16).ok()?;
        n += 1;
    }
    (n == 32).then_some(out)
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
        .collect()
}

// ---------------------------------------------------------------- qr

/// The QR of a code as half-block lines (two modules per cell, quiet zone 4), drawn
/// dark-on-light with an explicit style by the caller.
pub fn qr_lines(blob: &str) -> Result<Vec<String>, String> {
    use qrcode::{Color, EcLevel, QrCode};
    let code = [EcLevel::H, EcLevel::Q, EcLevel::M, EcLevel::L]
        .iter()
        .find_map(|l| QrCode::with_error_correction_level(blob, *l).ok())
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

/// Peer text made safe to display: control characters and escape sequences become
/// visible placeholders; newlines stay, tabs become spaces.
pub fn sanitize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' => out.push('\n'),
            '\t' => out.push_str("    "),
            '\u{0}'..='\u{1f}' => out.push(char::from_u32(0x2400 + c as u32).unwrap_or('?')),
            '\u{7f}' => out.push('\u{2421}'),
            '\u{80}'..='\u{9f}'
            | '\u{200b}'..='\u{200f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2066}'..='\u{2069}'
            | '\u{feff}' => out.push_str(&format!("<U+{:04X}>", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// Longest message we display, in bytes (longer ones are cut).
pub const MAX_DISPLAY_BYTES: usize = 64 * 1024;

// ---------------------------------------------------------------- rtc

/// Settings for real sessions.
#[derive(Debug, Clone, Default)]
pub struct NetConfig {
    pub stun: Vec<String>,
    pub bind: Vec<String>,
    pub gather_timeout: std::time::Duration,
}

/// The real connector.
pub fn connector(cfg: NetConfig) -> Arc<dyn Connector> {
    Arc::new(NoNetwork(cfg))
}

struct NoNetwork(#[allow(dead_code)] NetConfig);

impl Connector for NoNetwork {
    fn offer(
        &self,
        _events: UnboundedSender<SessionEvent>,
    ) -> BoxFuture<'static, Result<Arc<dyn Link>, String>> {
        Box::pin(async { Err("WebRTC sessions are not built in yet".to_string()) })
    }
    fn answer(
        &self,
        _offer: SessionDescription,
        _events: UnboundedSender<SessionEvent>,
    ) -> BoxFuture<'static, Result<Arc<dyn Link>, String>> {
        Box::pin(async { Err("WebRTC sessions are not built in yet".to_string()) })
    }
}
