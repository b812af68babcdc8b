//! Where frames come from: a webcam (nokhwa), an image file, or a directory of images.
//! Every source yields luma frames (`image::GrayImage`), the form the QR scanner reads.
//!
//! - [`open_any_webcam`] / [`open_webcam`] (`--camera N`): the first camera and format that
//!   delivers a frame within [`FIRST_FRAME_TIMEOUT`] (the order is [`choose`]'s, a pure
//!   function: MJPEG, then YUYV, then whatever the camera offers, then the next camera); the
//!   source's name says which camera and format are in use. The camera is read on its own OS
//!   thread (nokhwa's camera handle is not `Send`, and capture blocks); frames come through a
//!   one-slot channel, and frames the consumer is too slow for are dropped, so `next_frame`
//!   always returns a recent one. Dropping the source stops the capture thread.
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

pub mod choose;

pub use choose::{Mode, PixelFormat};

/// The resolution asked of a webcam: enough for a terminal QR across the room, cheap to scan.
pub const WEBCAM_WIDTH: u32 = choose::WANTED.0;
/// See [`WEBCAM_WIDTH`].
pub const WEBCAM_HEIGHT: u32 = choose::WANTED.1;
/// Frame rate asked of a webcam.
pub const WEBCAM_FPS: u32 = choose::WANTED.2;

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
    #[error("no camera delivered frames ({0}); try --camera N (see `qrchat cameras`), --camera-file PATH, or paste the code")]
    NoneWorked(String),
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
        self.name.clone()
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

/// How long a freshly opened camera may take to deliver its first frame before the next
/// format or camera is tried.
pub const FIRST_FRAME_TIMEOUT: Duration = Duration::from_secs(4);

/// Open camera `index` (see [`list`]; `--camera N`): only that camera, in the first of its
/// formats that delivers a frame (MJPEG, then YUYV, then whatever it offers; see
/// [`choose`]).
pub fn open_webcam(index: u32) -> Result<Box<dyn FrameSource>, CameraError> {
    open_chosen(Some(index))
}

/// Open the first camera that delivers a frame, trying every camera the system lists and
/// each one's formats in turn (see [`choose`]). The source's name says which camera and
/// format are in use, and what was skipped.
pub fn open_any_webcam() -> Result<Box<dyn FrameSource>, CameraError> {
    open_chosen(None)
}

fn open_chosen(forced: Option<u32>) -> Result<Box<dyn FrameSource>, CameraError> {
    let cams = list()?;
    if cams.is_empty() {
        return Err(CameraError::NoCamera(String::new()));
    }
    if let Some(index) = forced {
        if !cams.iter().any(|c| c.index == index) {
            let have: Vec<String> = cams.iter().map(|c| c.index.to_string()).collect();
            return Err(CameraError::Open {
                index,
                reason: format!("there is no camera {index} (cameras: {})", have.join(", ")),
            });
        }
    }
    let listed: Vec<u32> = cams.iter().map(|c| c.index).collect();
    let human = |i: u32| {
        cams.iter()
            .find(|c| c.index == i)
            .map(|c| c.name.clone())
            .unwrap_or_default()
    };
    let opened = choose::open_first(
        &listed,
        forced,
        |i| offered_modes(i).map_err(|e| e.to_string()),
        |i, mode| {
            tracing::info!(camera = i, %mode, "trying camera");
            start_capture(i, mode)
        },
    );
    match opened {
        Ok((frames, index, mode, tried)) => {
            for t in &tried {
                tracing::info!("camera attempt failed: {t}");
            }
            let mut name = format!("camera {index} ({}), {mode}", human(index));
            if !tried.is_empty() {
                let skipped: Vec<String> = tried.iter().map(|t| t.to_string()).collect();
                name.push_str(&format!(" (after {})", skipped.join("; ")));
            }
            tracing::info!(camera = index, %mode, "camera in use");
            Ok(Box::new(Webcam {
                index,
                name,
                frames,
            }))
        }
        Err(tried) => {
            let reasons: Vec<String> = tried.iter().map(|t| t.to_string()).collect();
            tracing::info!("no camera worked: {}", reasons.join("; "));
            match forced {
                Some(index) => Err(CameraError::Open {
                    index,
                    reason: reasons.join("; "),
                }),
                None => Err(CameraError::NoneWorked(reasons.join("; "))),
            }
        }
    }
}

fn to_pixel_format(f: nokhwa::utils::FrameFormat) -> PixelFormat {
    use nokhwa::utils::FrameFormat as F;
    match f {
        F::MJPEG => PixelFormat::Mjpeg,
        F::YUYV => PixelFormat::Yuyv,
        F::NV12 => PixelFormat::Nv12,
        F::GRAY => PixelFormat::Gray,
        F::RAWRGB => PixelFormat::Rgb,
        F::RAWBGR => PixelFormat::Bgr,
    }
}

fn to_frame_format(f: PixelFormat) -> nokhwa::utils::FrameFormat {
    use nokhwa::utils::FrameFormat as F;
    match f {
        PixelFormat::Mjpeg => F::MJPEG,
        PixelFormat::Yuyv => F::YUYV,
        PixelFormat::Nv12 => F::NV12,
        PixelFormat::Gray => F::GRAY,
        PixelFormat::Rgb => F::RAWRGB,
        PixelFormat::Bgr => F::RAWBGR,
    }
}

const ALL_FORMATS: [nokhwa::utils::FrameFormat; 6] = [
    nokhwa::utils::FrameFormat::MJPEG,
    nokhwa::utils::FrameFormat::YUYV,
    nokhwa::utils::FrameFormat::NV12,
    nokhwa::utils::FrameFormat::GRAY,
    nokhwa::utils::FrameFormat::RAWRGB,
    nokhwa::utils::FrameFormat::RAWBGR,
];

/// The modes camera `index` offers (opens the device briefly).
pub fn offered_modes(index: u32) -> Result<Vec<Mode>, CameraError> {
    use nokhwa::utils::{CameraIndex, RequestedFormat, RequestedFormatType};
    let open_err = |e: nokhwa::NokhwaError| CameraError::Open {
        index,
        reason: e.to_string(),
    };
    let request = RequestedFormat::with_formats(RequestedFormatType::None, &ALL_FORMATS);
    let mut cam = nokhwa::Camera::new(CameraIndex::Index(index), request).map_err(open_err)?;
    let formats = cam.compatible_camera_formats().map_err(open_err)?;
    Ok(formats
        .into_iter()
        .map(|f| {
            Mode::new(
                to_pixel_format(f.format()),
                f.resolution().width_x,
                f.resolution().height_y,
                f.frame_rate(),
            )
        })
        .collect())
}

type FrameRx = mpsc::Receiver<Result<GrayImage, String>>;

/// Open camera `index` in `mode` on its own thread and wait for its first frame.
fn start_capture(index: u32, mode: Mode) -> Result<FrameRx, choose::Failure> {
    let (ready_tx, ready_rx) = mpsc::sync_channel::<Result<(), choose::Failure>>(1);
    let (tx, rx) = mpsc::sync_channel::<Result<GrayImage, String>>(1);
    thread::Builder::new()
        .name(format!("camera-{index}"))
        .spawn(move || capture_loop(index, mode, ready_tx, tx))
        .map_err(|e| choose::Failure::Open(e.to_string()))?;
    // opening takes a moment on top of the first frame
    match ready_rx.recv_timeout(FIRST_FRAME_TIMEOUT + Duration::from_secs(2)) {
        Ok(Ok(())) => Ok(rx),
        Ok(Err(f)) => Err(f),
        // the thread may be stuck waiting on the device; it ends when it next wakes up
        // and finds nobody listening
        Err(_) => Err(choose::Failure::NoFrame(format!(
            "none within {} s",
            FIRST_FRAME_TIMEOUT.as_secs()
        ))),
    }
}

fn capture_loop(
    index: u32,
    mode: Mode,
    ready: mpsc::SyncSender<Result<(), choose::Failure>>,
    frames: mpsc::SyncSender<Result<GrayImage, String>>,
) {
    use nokhwa::utils::{CameraFormat, CameraIndex, RequestedFormat, RequestedFormatType};
    use std::time::Instant;
    let fourcc = [to_frame_format(mode.format)];
    let wanted = CameraFormat::new_from(mode.width, mode.height, fourcc[0], mode.fps);
    let request = RequestedFormat::with_formats(RequestedFormatType::Exact(wanted), &fourcc);
    let mut cam = match nokhwa::Camera::new(CameraIndex::Index(index), request) {
        Ok(c) => c,
        Err(e) => {
            let _ = ready.send(Err(choose::Failure::Format(e.to_string())));
            return;
        }
    };
    if let Err(e) = cam.open_stream() {
        let _ = ready.send(Err(choose::Failure::Format(e.to_string())));
        return;
    }
    // the first frame decides whether this camera works in this mode
    let started = Instant::now();
    let first = loop {
        match cam
            .frame()
            .map_err(|e| e.to_string())
            .and_then(|b| to_luma(&b))
        {
            Ok(f) => break f,
            Err(e) if started.elapsed() > FIRST_FRAME_TIMEOUT => {
                let _ = ready.send(Err(choose::Failure::NoFrame(e)));
                let _ = cam.stop_stream();
                return;
            }
            Err(_) => thread::sleep(Duration::from_millis(20)),
        }
    };
    if started.elapsed() > FIRST_FRAME_TIMEOUT || ready.send(Ok(())).is_err() {
        // too late: the opener has moved on
        let _ = cam.stop_stream();
        return;
    }
    let _ = frames.try_send(Ok(first));
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
