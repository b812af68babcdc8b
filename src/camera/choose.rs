//! Which camera and which format to try, in what order: pure, so the order is tested
//! against scripted camera lists (no device needed); the nokhwa code supplies the probing
//! and the opening as closures.
//!
//! The order: the cameras as the system lists them (only the one `--camera N` names, when
//! given); for each camera, one mode per pixel format: MJPEG first (small buffers, every
//! webcam's fast mode), then YUYV (uncompressed, what most webcams also give), then every
//! other format the camera offers, in the order it lists them. Within a format the mode
//! closest to [`WANTED`] is taken (distance in pixels, then the frame rate nearest 30 fps,
//! higher first). A camera that cannot be probed, refuses a format, or delivers no frame
//! moves the search on to the next format, then the next camera.

use std::fmt;

/// The resolution and frame rate asked for: enough for a terminal QR across the room,
/// cheap to scan.
pub const WANTED: (u32, u32, u32) = (1280, 720, 30);

/// A camera's pixel format, as far as qrchat cares (nokhwa's `FrameFormat`, kept out of
/// the pure code).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PixelFormat {
    Mjpeg,
    Yuyv,
    Nv12,
    Gray,
    Rgb,
    Bgr,
}

impl fmt::Display for PixelFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PixelFormat::Mjpeg => "MJPEG",
            PixelFormat::Yuyv => "YUYV",
            PixelFormat::Nv12 => "NV12",
            PixelFormat::Gray => "GRAY",
            PixelFormat::Rgb => "RGB",
            PixelFormat::Bgr => "BGR",
        })
    }
}

/// One mode a camera offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Mode {
    pub format: PixelFormat,
    pub width: u32,
    pub height: u32,
    pub fps: u32,
}

impl Mode {
    pub fn new(format: PixelFormat, width: u32, height: u32, fps: u32) -> Self {
        Mode {
            format,
            width,
            height,
            fps,
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}x{} {} @{} fps",
            self.width, self.height, self.format, self.fps
        )
    }
}

/// The cameras to try, in order: all of them, or only `forced`.
pub fn camera_order(listed: &[u32], forced: Option<u32>) -> Vec<u32> {
    match forced {
        Some(n) => vec![n],
        None => listed.to_vec(),
    }
}

fn rank(f: PixelFormat) -> u8 {
    match f {
        PixelFormat::Mjpeg => 0,
        PixelFormat::Yuyv => 1,
        _ => 2,
    }
}

/// How far a mode is from [`WANTED`]: resolution first, then frame rate (a rate nearer
/// 30 fps is better; of two equally near, the higher).
fn distance(m: &Mode) -> (u64, u32, std::cmp::Reverse<u32>) {
    let (w, h, fps) = WANTED;
    let dx = m.width as i64 - w as i64;
    let dy = m.height as i64 - h as i64;
    (
        (dx * dx + dy * dy) as u64,
        m.fps.abs_diff(fps),
        std::cmp::Reverse(m.fps),
    )
}

/// The modes to try on one camera, in order: one per pixel format, MJPEG, then YUYV, then
/// the rest in the order the camera lists them; each the offered mode nearest [`WANTED`].
pub fn format_order(offered: &[Mode]) -> Vec<Mode> {
    let mut formats: Vec<PixelFormat> = Vec::new();
    for m in offered {
        if !formats.contains(&m.format) {
            formats.push(m.format);
        }
    }
    // a stable sort keeps the camera's own order among the "other" formats
    formats.sort_by_key(|f| rank(*f));
    formats
        .into_iter()
        .filter_map(|f| {
            offered
                .iter()
                .filter(|m| m.format == f && m.width > 0 && m.height > 0)
                .min_by_key(|m| distance(m))
                .copied()
        })
        .collect()
}

/// Why one attempt did not give a working camera.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The camera could not be opened or asked what it offers.
    Open(String),
    /// It refused this mode.
    Format(String),
    /// It opened but no frame came.
    NoFrame(String),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Open(r) => write!(f, "cannot open: {r}"),
            Failure::Format(r) => write!(f, "refused the format: {r}"),
            Failure::NoFrame(r) => write!(f, "no frame: {r}"),
        }
    }
}

/// One attempt that did not work: which camera, which mode (none when the camera could
/// not even be probed), why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tried {
    pub index: u32,
    pub mode: Option<Mode>,
    pub failure: Failure,
}

impl fmt::Display for Tried {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.mode {
            Some(m) => write!(f, "camera {} {}: {}", self.index, m, self.failure),
            None => write!(f, "camera {}: {}", self.index, self.failure),
        }
    }
}

/// The first camera and mode that works, trying them in the order above. `probe(index)`
/// lists what a camera offers; `open(index, mode)` opens it in that mode and waits for a
/// first frame. Returns what opened, the mode, and every failed attempt before it; or, when
/// nothing worked, every failed attempt.
pub fn open_first<T>(
    listed: &[u32],
    forced: Option<u32>,
    mut probe: impl FnMut(u32) -> Result<Vec<Mode>, String>,
    mut open: impl FnMut(u32, Mode) -> Result<T, Failure>,
) -> Result<(T, u32, Mode, Vec<Tried>), Vec<Tried>> {
    let mut tried = Vec::new();
    for index in camera_order(listed, forced) {
        let offered = match probe(index) {
            Ok(m) => m,
            Err(reason) => {
                tried.push(Tried {
                    index,
                    mode: None,
                    failure: Failure::Open(reason),
                });
                continue;
            }
        };
        let order = format_order(&offered);
        if order.is_empty() {
            tried.push(Tried {
                index,
                mode: None,
                failure: Failure::Format("it offers no format qrchat can read".into()),
            });
            continue;
        }
        for mode in order {
            match open(index, mode) {
                Ok(t) => return Ok((t, index, mode, tried)),
                Err(failure) => tried.push(Tried {
                    index,
                    mode: Some(mode),
                    failure,
                }),
            }
        }
    }
    Err(tried)
}

#[cfg(test)]
mod tests {
    use super::*;
    use PixelFormat::*;

    /// A scripted camera: what it offers (or why it cannot be probed), and which modes
    /// open, refuse, or deliver no frame.
    struct Scripted {
        index: u32,
        offers: Result<Vec<Mode>, String>,
        /// Modes that open and deliver frames.
        works: Vec<Mode>,
        /// Modes that open but deliver nothing (a virtual loopback output).
        silent: Vec<Mode>,
    }

    /// What opened (or every failure), and every (camera, mode) opened, in order.
    type Outcome = (Result<(u32, Mode), Vec<Tried>>, Vec<(u32, Mode)>);

    fn run(cams: &[Scripted], forced: Option<u32>) -> Outcome {
        let listed: Vec<u32> = cams.iter().map(|c| c.index).collect();
        let mut attempts = Vec::new();
        let find = |i: u32| cams.iter().find(|c| c.index == i);
        let r = open_first(
            &listed,
            forced,
            |i| match find(i) {
                Some(c) => c.offers.clone(),
                None => Err(format!("there is no camera {i}")),
            },
            |i, m| {
                attempts.push((i, m));
                let c = find(i).unwrap();
                if c.works.contains(&m) {
                    Ok(())
                } else if c.silent.contains(&m) {
                    Err(Failure::NoFrame("none in 4 s".into()))
                } else {
                    Err(Failure::Format("busy".into()))
                }
            },
        );
        (r.map(|((), i, m, _)| (i, m)), attempts)
    }

    fn hd(f: PixelFormat) -> Mode {
        Mode::new(f, 1280, 720, 30)
    }

    #[test]
    fn mjpeg_then_yuyv_then_the_rest_each_nearest_720p() {
        let offered = vec![
            Mode::new(Nv12, 1280, 720, 30),
            Mode::new(Yuyv, 640, 480, 30),
            Mode::new(Yuyv, 1280, 720, 10),
            Mode::new(Yuyv, 1280, 720, 5),
            Mode::new(Gray, 320, 240, 30),
            Mode::new(Mjpeg, 1920, 1080, 30),
            Mode::new(Mjpeg, 1280, 720, 60),
            Mode::new(Mjpeg, 1280, 720, 30),
            Mode::new(Mjpeg, 640, 360, 30),
        ];
        assert_eq!(
            format_order(&offered),
            vec![
                Mode::new(Mjpeg, 1280, 720, 30),
                Mode::new(Yuyv, 1280, 720, 10),
                Mode::new(Nv12, 1280, 720, 30),
                Mode::new(Gray, 320, 240, 30),
            ]
        );
        // no 720p at all: the nearest resolution, then the rate nearest 30 (higher on a tie)
        let offered = vec![
            Mode::new(Mjpeg, 640, 480, 15),
            Mode::new(Mjpeg, 1920, 1080, 30),
            Mode::new(Mjpeg, 1024, 768, 20),
            Mode::new(Mjpeg, 1024, 768, 40),
        ];
        assert_eq!(
            format_order(&offered),
            vec![Mode::new(Mjpeg, 1024, 768, 40)]
        );
        assert!(format_order(&[]).is_empty());
    }

    #[test]
    fn a_silent_first_camera_falls_through_to_the_next() {
        // camera 0 is a virtual loopback output (nokhwa #47): it opens, gives nothing
        let cams = [
            Scripted {
                index: 0,
                offers: Ok(vec![hd(Yuyv)]),
                works: vec![],
                silent: vec![hd(Yuyv)],
            },
            Scripted {
                index: 2,
                offers: Ok(vec![hd(Yuyv), hd(Mjpeg)]),
                works: vec![hd(Mjpeg)],
                silent: vec![],
            },
        ];
        let (r, attempts) = run(&cams, None);
        assert_eq!(r.unwrap(), (2, hd(Mjpeg)));
        assert_eq!(attempts, vec![(0, hd(Yuyv)), (2, hd(Mjpeg))]);
    }

    #[test]
    fn a_refused_format_tries_the_next_format_on_the_same_camera() {
        let cams = [Scripted {
            index: 0,
            offers: Ok(vec![hd(Nv12), hd(Yuyv), hd(Mjpeg)]),
            works: vec![hd(Nv12)],
            silent: vec![],
        }];
        let (r, attempts) = run(&cams, None);
        assert_eq!(r.unwrap(), (0, hd(Nv12)));
        assert_eq!(attempts, vec![(0, hd(Mjpeg)), (0, hd(Yuyv)), (0, hd(Nv12))]);
    }

    #[test]
    fn a_camera_that_cannot_be_probed_is_skipped_and_every_failure_is_told() {
        let cams = [
            Scripted {
                index: 0,
                offers: Err("Device or resource busy".into()),
                works: vec![],
                silent: vec![],
            },
            Scripted {
                index: 1,
                offers: Ok(vec![]),
                works: vec![],
                silent: vec![],
            },
            Scripted {
                index: 3,
                offers: Ok(vec![hd(Mjpeg)]),
                works: vec![],
                silent: vec![hd(Mjpeg)],
            },
        ];
        let (r, attempts) = run(&cams, None);
        let tried = r.unwrap_err();
        assert_eq!(attempts, vec![(3, hd(Mjpeg))]);
        let lines: Vec<String> = tried.iter().map(|t| t.to_string()).collect();
        assert_eq!(
            lines,
            vec![
                "camera 0: cannot open: Device or resource busy",
                "camera 1: refused the format: it offers no format qrchat can read",
                "camera 3 1280x720 MJPEG @30 fps: no frame: none in 4 s",
            ]
        );
    }

    #[test]
    fn forcing_a_camera_tries_only_that_one_and_all_its_formats() {
        let cams = [
            Scripted {
                index: 0,
                offers: Ok(vec![hd(Mjpeg)]),
                works: vec![hd(Mjpeg)],
                silent: vec![],
            },
            Scripted {
                index: 1,
                offers: Ok(vec![hd(Mjpeg), hd(Yuyv)]),
                works: vec![],
                silent: vec![hd(Mjpeg)],
            },
        ];
        let (r, attempts) = run(&cams, Some(1));
        assert_eq!(r.unwrap_err().len(), 2);
        assert_eq!(attempts, vec![(1, hd(Mjpeg)), (1, hd(Yuyv))]);
        // a forced camera that is not listed is still tried, and its probe says why not
        let (r, attempts) = run(&cams, Some(7));
        assert!(attempts.is_empty());
        assert_eq!(
            r.unwrap_err()[0].to_string(),
            "camera 7: cannot open: there is no camera 7"
        );
        // without forcing, camera 0 wins at once
        assert_eq!(run(&cams, None).0.unwrap(), (0, hd(Mjpeg)));
    }
}
