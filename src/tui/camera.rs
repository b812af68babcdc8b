//! The TUI's camera task: open the source, then for every frame look for a qrchat code and
//! send a small preview, until told to stop. It runs on a blocking thread and reports as
//! [`CameraEvent`]s, so the UI never waits on the camera.
//!
//! A live camera goes through [`qr::Scanner::streaming`] (a bounded cost per frame) and
//! takes only codes that decode as qrchat codes (`signal::decode` succeeds), so a foreign
//! QR in view (a poster, a Wi-Fi code) never hides ours: it is mentioned once
//! ([`CameraEvent::Foreign`]) and the search goes on. Whether the code is the one this
//! screen wants (an offer or an answer, not our own) is the app's to say. Image files
//! (`--camera-file`) are still pictures read once: they get the full cascade.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use image::GrayImage;
use tokio::sync::mpsc::UnboundedSender;

use super::event::{AppEvent, CameraEvent};
use crate::camera::{self, CameraError, FrameSource};
use crate::{qr, signal};

/// Which camera to open.
#[derive(Debug, Clone, Default)]
pub struct CameraSpec {
    /// `--camera N`: only this webcam (its formats still tried in turn).
    pub index: Option<u32>,
    /// `--camera-file PATH`: an image file or a directory of images.
    pub file: Option<PathBuf>,
}

/// Preview frames are scaled down to at most this many pixels wide.
pub const PREVIEW_WIDTH: u32 = 160;

/// What the scan screen says once when a QR that is not ours is in view.
pub const FOREIGN_HINT: &str = "a QR code that is not a qrchat code is in view";

/// Does this QR payload decode as a qrchat code?
pub fn is_qrchat_code(payload: &[u8]) -> bool {
    std::str::from_utf8(payload)
        .map(|t| signal::decode(t.trim()).is_ok())
        .unwrap_or(false)
}

/// What one frame showed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Seen {
    /// The text of a qrchat code in the frame.
    pub code: Option<String>,
    /// A foreign code was read, for the first time since this finder was made.
    pub first_foreign: bool,
}

/// Finds qrchat codes in a camera's frames (see the module documentation).
pub struct CodeFinder {
    scanner: qr::Scanner,
    foreign_told: bool,
}

impl CodeFinder {
    /// For a live camera: the streaming scanner.
    pub fn live() -> Self {
        CodeFinder {
            scanner: qr::Scanner::streaming(),
            foreign_told: false,
        }
    }

    /// For still images: the full cascade on every frame.
    pub fn still() -> Self {
        CodeFinder {
            scanner: qr::Scanner::new(),
            foreign_told: false,
        }
    }

    pub fn scan(&mut self, frame: &GrayImage) -> Seen {
        let mut foreign = false;
        let code = self
            .scanner
            .scan(frame, |payload| {
                let ours = is_qrchat_code(payload);
                foreign |= !ours;
                ours
            })
            .and_then(|b| String::from_utf8(b).ok())
            .map(|t| t.trim().to_string());
        let first_foreign = foreign && !self.foreign_told;
        self.foreign_told |= foreign;
        Seen {
            code,
            first_foreign,
        }
    }
}

/// The frame made small for the preview (area averaging: cheap and smooth).
pub fn preview(frame: &GrayImage) -> GrayImage {
    let (w, h) = frame.dimensions();
    if w <= PREVIEW_WIDTH {
        return frame.clone();
    }
    let ph = (h as u64 * PREVIEW_WIDTH as u64 / w as u64).max(1) as u32;
    image::imageops::thumbnail(frame, PREVIEW_WIDTH, ph)
}

/// Open what the options ask for: `--camera-file`, else `--camera N`, else the first
/// webcam that delivers frames.
pub fn open(spec: &CameraSpec) -> Result<Box<dyn FrameSource>, CameraError> {
    match (&spec.file, spec.index) {
        (Some(path), _) => camera::open_path(path),
        (None, Some(n)) => camera::open_webcam(n),
        (None, None) => camera::open_any_webcam(),
    }
}

/// Run the camera task on a blocking thread until `stop` is set or the app goes away.
pub fn spawn(spec: CameraSpec, stop: Arc<AtomicBool>, tx: UnboundedSender<AppEvent>) {
    tokio::task::spawn_blocking(move || run(spec, stop, tx));
}

/// The camera task (see the module documentation).
pub fn run(spec: CameraSpec, stop: Arc<AtomicBool>, tx: UnboundedSender<AppEvent>) {
    let send = |e: CameraEvent| tx.send(AppEvent::Camera(e)).is_ok();
    let mut src = match open(&spec) {
        Ok(s) => s,
        Err(e) => {
            send(CameraEvent::Failed(Arc::new(e)));
            return;
        }
    };
    if !send(CameraEvent::Opened(src.name())) {
        return;
    }
    let mut finder = if spec.file.is_some() {
        CodeFinder::still()
    } else {
        CodeFinder::live()
    };
    while !stop.load(Ordering::SeqCst) {
        match src.next_frame() {
            Ok(Some(frame)) => {
                let seen = finder.scan(&frame);
                if seen.first_foreign {
                    tracing::info!("a foreign QR code is in view");
                    if !send(CameraEvent::Foreign) {
                        return;
                    }
                }
                let event = CameraEvent::Frame {
                    preview: preview(&frame),
                    code: seen.code,
                };
                if !send(event) {
                    return;
                }
            }
            Ok(None) => {
                send(CameraEvent::Ended);
                return;
            }
            Err(e) => {
                send(CameraEvent::Failed(Arc::new(e)));
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A real qrchat offer code, from the real codec.
    fn our_code() -> String {
        let fp: Vec<String> = (0..32u8).map(|b| format!("{:02X}", b ^ 0x5A)).collect();
        let (ufrag, pwd) = signal::ice_credentials(&core::array::from_fn(|i| i as u8 ^ 0x5A));
        let sdp = format!(
            "v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=fingerprint:sha-256 {}\r\n\
             a=group:BUNDLE 0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n\
             c=IN IP4 0.0.0.0\r\na=setup:actpass\r\na=mid:0\r\na=sendrecv\r\n\
             a=sctp-port:5000\r\na=ice-ufrag:{ufrag}\r\na=ice-pwd:{pwd}\r\n\
             a=candidate:1 1 udp 2130706431 192.168.1.20 50000 typ host\r\n\
             a=end-of-candidates\r\n",
            fp.join(":")
        );
        let desc = signal::SessionDescription {
            kind: signal::SdpKind::Offer,
            sdp,
        };
        signal::encode(&desc, signal::Format::Auto).unwrap()
    }

    /// A frame with the given codes drawn side by side, 5 px per module, on white.
    fn frame_with(codes: &[&str]) -> GrayImage {
        let mut frame = GrayImage::from_pixel(1280, 720, image::Luma([235]));
        let mut x0 = 40;
        for c in codes {
            let img = qr::to_png(&qr::matrix(c).unwrap(), 5);
            image::imageops::overlay(&mut frame, &img, x0, 60);
            x0 += img.width() as i64 + 60;
        }
        frame
    }

    #[test]
    fn a_foreign_code_beside_ours_is_told_once_and_ours_is_still_read() {
        let ours = our_code();
        assert!(is_qrchat_code(ours.as_bytes()));
        let wifi = "WIFI:S:Cafe Guest;T:WPA;P:espresso42;;";
        assert!(!is_qrchat_code(wifi.as_bytes()));
        // only the foreign code: never taken, told once
        let mut f = CodeFinder::live();
        let only_foreign = frame_with(&[wifi]);
        let seen: Vec<Seen> = (0..5).map(|_| f.scan(&only_foreign)).collect();
        assert!(seen.iter().all(|s| s.code.is_none()), "{seen:?}");
        assert!(seen[0].first_foreign);
        assert_eq!(seen.iter().filter(|s| s.first_foreign).count(), 1);
        // both, the foreign one first in reading order: ours wins on the first frame
        let both = frame_with(&[wifi, &ours]);
        assert_eq!(f.scan(&both).code.as_deref(), Some(ours.as_str()));
        // a still-image finder the same
        let mut s = CodeFinder::still();
        let seen = s.scan(&both);
        assert_eq!(seen.code.as_deref(), Some(ours.as_str()));
    }

    #[tokio::test]
    async fn the_camera_task_reports_foreign_once_then_our_code() {
        let ours = our_code();
        let wifi = "WIFI:S:Cafe Guest;T:WPA;P:espresso42;;";
        let dir = tempfile::tempdir().unwrap();
        frame_with(&[wifi]).save(dir.path().join("1.png")).unwrap();
        frame_with(&[wifi]).save(dir.path().join("2.png")).unwrap();
        frame_with(&[wifi, &ours])
            .save(dir.path().join("3.png"))
            .unwrap();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let spec = CameraSpec {
            index: None,
            file: Some(dir.path().to_path_buf()),
        };
        run(spec, Arc::new(AtomicBool::new(false)), tx);
        let mut events = Vec::new();
        while let Ok(AppEvent::Camera(e)) = rx.try_recv() {
            events.push(match e {
                CameraEvent::Opened(_) => "opened".to_string(),
                CameraEvent::Foreign => "foreign".into(),
                CameraEvent::Frame { preview, code } => {
                    assert_eq!(preview.width(), PREVIEW_WIDTH);
                    match code {
                        Some(c) if c == ours => "ours".into(),
                        Some(c) => format!("other {c}"),
                        None => "frame".into(),
                    }
                }
                CameraEvent::Ended => "ended".into(),
                CameraEvent::Failed(e) => format!("failed {e}"),
            });
        }
        assert_eq!(
            events,
            ["opened", "foreign", "frame", "frame", "ours", "ended"]
        );
    }
}
