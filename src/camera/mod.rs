//! Where frames come from: a webcam (nokhwa), an image file, or a directory of images.
//! Every source yields luma frames (`image::GrayImage`), the form the QR scanner reads.
//!
//! - [`open_webcam`]: the camera is opened and read on its own OS thread (nokhwa's camera
//!   handle is not `Send`, and capture blocks); frames come through a one-slot channel, and
//!   frames the consumer is too slow for are dropped, so `next_frame` always returns a
//!   recent one. Dropping the source stops the capture thread.
//! - [`open_path`]: an image file yields its one frame once, then the source is exhausted
//!   (`Ok(None)`); a directory yields each image file in it (`.png`, `.jpg`, `.jpeg`,
//!   sorted by file name) once, in order. Callers that want to keep showing a still image
//!   keep the last frame.
//!
//! Frames are pulled on a blocking thread, never on the async runtime.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use image::GrayImage;

/// The resolution asked of a webcam: enough for a terminal QR across the room, cheap to scan.
pub const WEBCAM_WIDTH: u32 = 1280;
/// See [`WEBCAM_WIDTH`].
pub const WEBCAM_HEIGHT: u32 = 720;
/// Frame rate asked of a webcam.
pub const WEBCAM_FPS: u32 = 30;

/// How long a webcam may go without delivering a frame before `next_frame` gives up.
pub const FRAME_TIMEOUT: Duration = Duration::from_secs(5);

/// A source of luma frames.
pub trait FrameSource: Send {
    /// What the user would call it: "camera 0 (Integrated Webcam)", a file path.
    fn name(&self) -> String;
    /// The next frame; `Ok(None)` when the source is exhausted (files); blocks until a
    /// frame arrives (webcams, at most [`FRAME_TIMEOUT`]).
    fn next_frame(&mut self) -> Result<Option<GrayImage>, CameraError>;
}

/// A camera the system offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CameraInfo {
    /// The index `--camera N` takes.
    pub index: u32,
    pub name: String,
    pub description: String,
}

impl std::fmt::Display for CameraInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.index, self.name)?;
        if !self.description.is_empty() {
            write!(f, " ({})", self.description)?;
        }
        Ok(())
    }
}

/// What went wrong getting frames.
#[derive(Debug, thiserror::Error)]
pub enum CameraError {
    #[error("no camera found{}; use --camera-file PATH or paste the code", reason_suffix(.0))]
    NoCamera(String),
    #[error("cannot open camera {index}: {reason}; try another --camera N (see `qrchat cameras`), --camera-file PATH, or paste the code")]
    Open { index: u32, reason: String },
    #[error("camera {index} stopped delivering frames: {reason}")]
    Capture { index: u32, reason: String },
    #[error("{path}: no such file or directory")]
    NotFound { path: String },
    #[error("{path}: no images in this directory (looked for .png, .jpg, .jpeg)")]
    EmptyDir { path: String },
    #[error("{path}: cannot read: {reason}")]
    Read { path: String, reason: String },
    #[error("{path}: not an image this program can read: {reason}")]
    Decode { path: String, reason: String },
}

fn reason_suffix(reason: &str) -> String {
    if reason.is_empty() {
        String::new()
    } else {
        format!(" ({reason})")
    }
}

/// Cameras the system offers. An empty list when there are none.
pub fn list() -> Result<Vec<CameraInfo>, CameraError> {
    let backend = nokhwa::native_api_backend().ok_or_else(|| {
        CameraError::NoCamera(format!("no camera support on {}", std::env::consts::OS))
    })?;
    let cams = nokhwa::query(backend).map_err(|e| CameraError::NoCamera(e.to_string()))?;
    let mut out: Vec<CameraInfo> = cams
        .into_iter()
        .filter_map(|c| {
            let index = match c.index() {
                nokhwa::utils::CameraIndex::Index(i) => *i,
                nokhwa::utils::CameraIndex::String(s) => s.parse().ok()?,
            };
            Some(CameraInfo {
                index,
                name: c.human_name(),
                description: c.description().to_string(),
            })
        })
        .collect();
    out.sort_by_key(|c| c.index);
    Ok(out)
}

/// Read a single image file as a luma frame.
pub fn load_luma(path: &Path) -> Result<GrayImage, CameraError> {
    let shown = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => CameraError::NotFound {
            path: shown.clone(),
        },
        _ => CameraError::Read {
            path: shown.clone(),
            reason: e.to_string(),
        },
    })?;
    let img = image::load_from_memory(&bytes).map_err(|e| CameraError::Decode {
        path: shown,
        reason: e.to_string(),
    })?;
    Ok(img.to_luma8())
}

fn is_image(p: &Path) -> bool {
    p.is_file()
        && p.extension()
            .and_then(|e| e.to_str())
            .map(|e| matches!(e.to_ascii_lowercase().as_str(), "png" | "jpg" | "jpeg"))
            .unwrap_or(false)
}

/// Image files of a directory, sorted by name.
pub fn images_in(dir: &Path) -> Result<Vec<PathBuf>, CameraError> {
    let rd = std::fs::read_dir(dir).map_err(|e| CameraError::Read {
        path: dir.display().to_string(),
        reason: e.to_string(),
    })?;
    let mut files: Vec<PathBuf> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| is_image(p))
        .collect();
    files.sort();
    Ok(files)
}

/// Image files, yielded once each, in order.
pub struct FileFrames {
    name: String,
    files: std::vec::IntoIter<PathBuf>,
}

impl FileFrames {
    /// The files' paths are read when their frame is asked for.
    pub fn new(name: String, files: Vec<PathBuf>) -> Self {
        FileFrames {
            name,
            files: files.into_iter(),
        }
    }
}

impl FrameSource for FileFrames {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn next_frame(&mut self) -> Result<Option<GrayImage>, CameraError> {
        match self.files.next() {
            None => Ok(None),
            Some(p) => load_luma(&p).map(Some),
        }
    }
}

/// An image file (one frame) or a directory of images (each once, sorted by name).
pub fn open_path(path: &Path) -> Result<Box<dyn FrameSource>, CameraError> {
    let shown = path.display().to_string();
    if path.is_dir() {
        let files = images_in(path)?;
        if files.is_empty() {
            return Err(CameraError::EmptyDir { path: shown });
        }
        return Ok(Box::new(FileFrames::new(shown, files)));
    }
    if !path.exists() {
        return Err(CameraError::NotFound { path: shown });
    }
    // read it now, so a bad file is reported when it is opened
    let frame = load_luma(path)?;
    Ok(Box::new(StillFrame {
        name: shown,
        frame: Some(frame),
    }))
}

struct StillFrame {
    name: String,
    frame: Option<GrayImage>,
}

impl FrameSource for StillFrame {
    fn name(&self) -> String {
        self.name.clone()
    }
    fn next_frame(&mut self) -> Result<Option<GrayImage>, CameraError> {
        Ok(self.frame.take())
    }
}

/// A webcam, read on its own thread.
pub struct Webcam {
    index: u32,
    name: String,
    frames: mpsc::Receiver<Result<GrayImage, String>>,
}

impl FrameSource for Webcam {
    fn name(&self) -> String {
        format!("camera {} ({})", self.index, self.name)
    }

    fn next_frame(&mut self) -> Result<Option<GrayImage>, CameraError> {
        match self.frames.recv_timeout(FRAME_TIMEOUT) {
            Ok(Ok(f)) => Ok(Some(f)),
            Ok(Err(reason)) => Err(CameraError::Capture {
                index: self.index,
                reason,
            }),
            Err(mpsc::RecvTimeoutError::Timeout) => Err(CameraError::Capture {
                index: self.index,
                reason: format!("no frame for {} s", FRAME_TIMEOUT.as_secs()),
            }),
            Err(mpsc::RecvTimeoutError::Disconnected) => Err(CameraError::Capture {
                index: self.index,
                reason: "the capture thread ended".into(),
            }),
        }
    }
}

/// Open camera `index` (see [`list`]) near 1280x720 at 30 fps.
pub fn open_webcam(index: u32) -> Result<Box<dyn FrameSource>, CameraError> {
    let cams = list()?;
    if cams.is_empty() {
        return Err(CameraError::NoCamera(String::new()));
    }
    if !cams.iter().any(|c| c.index == index) {
        let have: Vec<String> = cams.iter().map(|c| c.index.to_string()).collect();
        return Err(CameraError::Open {
            index,
            reason: format!("there is no camera {index} (cameras: {})", have.join(", ")),
        });
    }
    let (ready_tx, ready_rx) = mpsc::sync_channel::<Result<String, String>>(1);
    let (tx, rx) = mpsc::sync_channel::<Result<GrayImage, String>>(1);
    thread::Builder::new()
        .name(format!("camera-{index}"))
        .spawn(move || capture_loop(index, ready_tx, tx))
        .map_err(|e| CameraError::Open {
            index,
            reason: e.to_string(),
        })?;
    let name = match ready_rx.recv_timeout(Duration::from_secs(10)) {
        Ok(Ok(name)) => name,
        Ok(Err(reason)) => return Err(CameraError::Open { index, reason }),
        Err(_) => {
            return Err(CameraError::Open {
                index,
                reason: "the camera did not start within 10 s".into(),
            })
        }
    };
    Ok(Box::new(Webcam {
        index,
        name,
        frames: rx,
    }))
}

fn capture_loop(
    index: u32,
    ready: mpsc::SyncSender<Result<String, String>>,
    frames: mpsc::SyncSender<Result<GrayImage, String>>,
) {
    use nokhwa::pixel_format::LumaFormat;
    use nokhwa::utils::{
        CameraFormat, CameraIndex, FrameFormat, RequestedFormat, RequestedFormatType,
    };
    let wanted =
        CameraFormat::new_from(WEBCAM_WIDTH, WEBCAM_HEIGHT, FrameFormat::MJPEG, WEBCAM_FPS);
    let request = RequestedFormat::new::<LumaFormat>(RequestedFormatType::Closest(wanted));
    let mut cam = match nokhwa::Camera::new(CameraIndex::Index(index), request) {
        Ok(c) => c,
        Err(e) => {
            let _ = ready.send(Err(e.to_string()));
            return;
        }
    };
    if let Err(e) = cam.open_stream() {
        let _ = ready.send(Err(e.to_string()));
        return;
    }
    let fmt = cam.camera_format();
    let name = format!(
        "{}, {}x{} {} @{} fps",
        cam.info().human_name(),
        fmt.resolution().width_x,
        fmt.resolution().height_y,
        fmt.format(),
        fmt.frame_rate()
    );
    if ready.send(Ok(name)).is_err() {
        return;
    }
    let mut failures = 0;
    loop {
        let item = match cam.frame() {
            Ok(buf) => {
                failures = 0;
                to_luma(&buf)
            }
            Err(e) => {
                failures += 1;
                if failures < 5 {
                    continue;
                }
                Err(e.to_string())
            }
        };
        let fatal = item.is_err();
        match frames.try_send(item) {
            Ok(()) | Err(mpsc::TrySendError::Full(_)) => {}
            Err(mpsc::TrySendError::Disconnected(_)) => break,
        }
        if fatal {
            // deliver the error even if the slot was full, then stop
            let _ = frames.send(Err("the camera keeps failing".into()));
            break;
        }
    }
    let _ = cam.stop_stream();
}

/// A camera buffer to luma, taking the luma plane directly where the format has one.
fn to_luma(buf: &nokhwa::Buffer) -> Result<GrayImage, String> {
    use nokhwa::utils::FrameFormat;
    let res = buf.resolution();
    let (w, h) = (res.width_x, res.height_y);
    let data = buf.buffer();
    let n = (w as usize) * (h as usize);
    let bad = || {
        format!(
            "short {} frame ({} bytes for {w}x{h})",
            buf.source_frame_format(),
            data.len()
        )
    };
    match buf.source_frame_format() {
        FrameFormat::YUYV => {
            if data.len() < 2 * n {
                return Err(bad());
            }
            let y: Vec<u8> = data.iter().step_by(2).take(n).copied().collect();
            GrayImage::from_raw(w, h, y).ok_or_else(bad)
        }
        FrameFormat::NV12 | FrameFormat::GRAY => {
            if data.len() < n {
                return Err(bad());
            }
            GrayImage::from_raw(w, h, data[..n].to_vec()).ok_or_else(bad)
        }
        FrameFormat::MJPEG => image::load_from_memory_with_format(data, image::ImageFormat::Jpeg)
            .map(|i| i.to_luma8())
            .map_err(|e| format!("bad MJPEG frame: {e}")),
        _ => buf
            .decode_image::<nokhwa::pixel_format::LumaFormat>()
            .map_err(|e| e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directory_yields_sorted_images_once_then_none() {
        let dir = tempfile::tempdir().unwrap();
        for (name, v) in [("b.png", 20u8), ("a.png", 10), ("c.jpg", 30)] {
            let img = GrayImage::from_pixel(8, 8, image::Luma([v]));
            img.save(dir.path().join(name)).unwrap();
        }
        std::fs::write(dir.path().join("notes.txt"), "x").unwrap();
        let mut src = open_path(dir.path()).unwrap();
        let mut seen = Vec::new();
        while let Some(f) = src.next_frame().unwrap() {
            seen.push(f.get_pixel(0, 0).0[0]);
        }
        assert_eq!(seen.len(), 3);
        assert_eq!(seen[0], 10);
        assert_eq!(seen[1], 20);
        assert!(seen[2].abs_diff(30) <= 2, "jpeg {}", seen[2]);
        assert!(src.next_frame().unwrap().is_none());
    }

    #[test]
    fn bad_paths_give_specific_errors() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            open_path(&dir.path().join("missing.png")),
            Err(CameraError::NotFound { .. })
        ));
        assert!(matches!(
            open_path(dir.path()),
            Err(CameraError::EmptyDir { .. })
        ));
        let junk = dir.path().join("junk.png");
        std::fs::write(&junk, b"not a png").unwrap();
        let err = open_path(&junk).err().unwrap();
        assert!(matches!(err, CameraError::Decode { .. }), "{err}");
        assert!(err.to_string().contains("junk.png"));
    }

    #[test]
    fn a_file_yields_one_frame() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("one.png");
        GrayImage::from_pixel(4, 3, image::Luma([7]))
            .save(&p)
            .unwrap();
        let mut src = open_path(&p).unwrap();
        assert_eq!(src.next_frame().unwrap().unwrap().dimensions(), (4, 3));
        assert!(src.next_frame().unwrap().is_none());
    }

    #[test]
    fn webcam_errors_are_clean_without_a_camera() {
        // Whatever this machine has, asking for a camera index that is not there is a
        // clean error that says what to do, never a panic.
        match open_webcam(9999) {
            Err(e) => {
                let msg = e.to_string();
                assert!(msg.contains("--camera-file"), "{msg}");
            }
            Ok(_) => panic!("camera 9999 opened"),
        }
    }
}
