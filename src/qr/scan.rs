//! Luma frame -> QR payload: rqrr behind a cascade of preprocessing steps ordered by cost.
//!
//! 1. `Plain`: rqrr with its own thresholding on the frame, downscaled so that its longer
//!    side is at most [`WORK_SIDE`] pixels (a 1280x720 frame is read at 640x360).
//! 2. A finder-pattern probe over an adaptive threshold of that image: when no row crosses
//!    anything shaped like a finder pattern (1:1:3:1:1) in either polarity, the frame has
//!    no code and the scan stops here. This is what keeps frames without a code cheap.
//! 3. `Adaptive`: rqrr on the adaptive (integral-image, local mean) threshold.
//! 4. `CloseGaps`: the same after closing thin horizontal light seams, which terminal fonts
//!    leave between rows of half blocks.
//! 5. `Inverted`: light-on-dark codes, when the probe saw inverted finder patterns.
//! 6. `FullRes`: the frame at full resolution when it was downscaled and the modules are
//!    small.
//! 7. `Upscale`: twice the resolution, for codes whose modules are under ~3 pixels.
//! 8. `Blur`: a 3x3 box blur before thresholding, against noise, moire and JPEG blocks.
//!
//! Each step tries every grid rqrr finds (also mirrored) and stops at the first payload
//! the caller's `accept` returns true for, so a foreign code in the frame is skipped while
//! other codes still get tried. A [`Scanner`] remembers the step that worked last and tries
//! it first on the next frame.

use image::GrayImage;
use rqrr::{BitGrid, Grid, PreparedImage};

use super::imgops::{self, Bitmap, Evidence};

/// Longer side of the working image for the cheap steps.
pub const WORK_SIDE: u32 = 800;

/// A step of the cascade (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Step {
    Plain,
    Adaptive,
    CloseGaps,
    Inverted,
    FullRes,
    Upscale,
    Blur,
}

impl Step {
    pub const ALL: [Step; 7] = [
        Step::Plain,
        Step::Adaptive,
        Step::CloseGaps,
        Step::Inverted,
        Step::FullRes,
        Step::Upscale,
        Step::Blur,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Step::Plain => "plain",
            Step::Adaptive => "adaptive",
            Step::CloseGaps => "close-gaps",
            Step::Inverted => "inverted",
            Step::FullRes => "full-res",
            Step::Upscale => "upscale",
            Step::Blur => "blur",
        }
    }
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What happened on the last frame.
#[derive(Debug, Clone, Default)]
pub struct ScanStats {
    /// The step that produced the accepted payload.
    pub step: Option<Step>,
    /// Steps run, in order.
    pub tried: Vec<Step>,
    /// Payloads read but refused by `accept` (foreign codes).
    pub rejected: usize,
    /// The probe found nothing shaped like a finder pattern: the frame was given up early.
    pub no_code: bool,
}

/// Scans frames; keeps which step worked last and tries it first.
#[derive(Debug, Default)]
pub struct Scanner {
    last: Option<Step>,
    stats: ScanStats,
}

/// Scan one frame with a fresh [`Scanner`].
pub fn scan(frame: &GrayImage, accept: impl FnMut(&[u8]) -> bool) -> Option<Vec<u8>> {
    Scanner::new().scan(frame, accept)
}

/// The frame prepared lazily for the steps.
struct Work<'a> {
    frame: &'a GrayImage,
    factor: u32,
    small: Option<GrayImage>,
    bin: Option<Bitmap>,
    evidence: Option<Evidence>,
}

impl<'a> Work<'a> {
    fn small(&mut self) -> &GrayImage {
        let (frame, factor) = (self.frame, self.factor);
        self.small
            .get_or_insert_with(|| imgops::downscale(frame, factor))
    }

    fn bin(&mut self) -> &Bitmap {
        if self.bin.is_none() {
            let small = self.small();
            let r = radius(small);
            let b = imgops::adaptive_threshold(small, r, 8);
            self.bin = Some(b);
        }
        self.bin.as_ref().expect("just set")
    }

    fn evidence(&mut self) -> Evidence {
        if self.evidence.is_none() {
            let e = imgops::finder_evidence(self.bin());
            self.evidence = Some(e);
        }
        self.evidence.expect("just set")
    }
}

/// Threshold window radius: about a sixteenth of the shorter side, at least 8 pixels.
fn radius(img: &GrayImage) -> usize {
    (img.width().min(img.height()) as usize / 16).max(8)
}

impl Scanner {
    pub fn new() -> Self {
        Self::default()
    }

    /// What happened on the last frame scanned.
    pub fn stats(&self) -> &ScanStats {
        &self.stats
    }

    /// The first payload in `frame` that `accept` returns true for.
    pub fn scan(
        &mut self,
        frame: &GrayImage,
        accept: impl FnMut(&[u8]) -> bool,
    ) -> Option<Vec<u8>> {
        self.scan_detailed(frame, accept).map(|(p, _)| p)
    }

    /// [`Scanner::scan`], also telling which step read the code.
    pub fn scan_detailed(
        &mut self,
        frame: &GrayImage,
        mut accept: impl FnMut(&[u8]) -> bool,
    ) -> Option<(Vec<u8>, Step)> {
        self.stats = ScanStats::default();
        if frame.width() < 21 || frame.height() < 21 {
            return None;
        }
        let longer = frame.width().max(frame.height());
        let factor = longer.div_ceil(WORK_SIDE).max(1);
        let mut work = Work {
            frame,
            factor,
            small: None,
            bin: None,
            evidence: None,
        };
        let mut order: Vec<Step> = Vec::with_capacity(8);
        order.push(Step::Plain);
        if let Some(last) = self.last {
            if last != Step::Plain {
                order.push(last);
            }
        }
        for s in Step::ALL {
            if !order.contains(&s) {
                order.push(s);
            }
        }
        let mut ctx = Ctx {
            accept: &mut accept,
            rejected: Vec::new(),
        };
        for step in order {
            if step != Step::Plain {
                let ev = work.evidence();
                if ev.dark_hits == 0 && ev.light_hits == 0 {
                    self.stats.no_code = true;
                    break;
                }
                if !applies(step, &ev, factor) {
                    continue;
                }
            }
            self.stats.tried.push(step);
            if let Some(p) = run_step(step, &mut work, &mut ctx) {
                self.last = Some(step);
                self.stats.step = Some(step);
                self.stats.rejected = ctx.rejected.len();
                return Some((p, step));
            }
        }
        self.stats.rejected = ctx.rejected.len();
        None
    }
}

/// Is the step worth its cost for this frame?
fn applies(step: Step, ev: &Evidence, factor: u32) -> bool {
    match step {
        Step::Inverted => ev.light_hits > 0,
        // modules under ~3 px in the downscaled image: read the detail that was averaged away
        Step::FullRes => factor > 1 && (ev.module == 0.0 || ev.module < 3.5),
        Step::Upscale => {
            let full_module = ev.module * factor as f32;
            full_module > 0.0 && full_module < 3.5
        }
        _ => true,
    }
}

struct Ctx<'f> {
    accept: &'f mut dyn FnMut(&[u8]) -> bool,
    rejected: Vec<Vec<u8>>,
}

impl Ctx<'_> {
    fn offer(&mut self, payload: Vec<u8>) -> Option<Vec<u8>> {
        if self.rejected.contains(&payload) {
            return None;
        }
        if (self.accept)(&payload) {
            Some(payload)
        } else {
            self.rejected.push(payload);
            None
        }
    }
}

fn run_step(step: Step, work: &mut Work, ctx: &mut Ctx) -> Option<Vec<u8>> {
    match step {
        Step::Plain => rqrr_gray(work.small(), ctx),
        Step::Adaptive => rqrr_bitmap(work.bin(), ctx),
        Step::CloseGaps => {
            let k = gap_radius(work.evidence().module);
            let closed = imgops::close_vertical(work.bin(), k);
            rqrr_bitmap(&closed, ctx)
        }
        Step::Inverted => {
            let inv = work.bin().inverted();
            rqrr_bitmap(&inv, ctx).or_else(|| {
                let k = gap_radius(work.evidence().module);
                rqrr_bitmap(&imgops::close_vertical(&inv, k), ctx)
            })
        }
        Step::FullRes => {
            let frame = work.frame;
            let b = imgops::adaptive_threshold(frame, radius(frame), 8);
            rqrr_bitmap(&b, ctx).or_else(|| {
                let k = gap_radius(work.evidence().module * work.factor as f32);
                rqrr_bitmap(&imgops::close_vertical(&b, k), ctx)
            })
        }
        Step::Upscale => {
            let base = if work.factor > 1 {
                work.frame.clone()
            } else {
                work.small().clone()
            };
            // upscaling a big frame costs a lot; only worth it when the frame is small
            if base.width() * base.height() > 1280 * 720 {
                return None;
            }
            let up = imgops::upscale2(&base);
            let b = imgops::adaptive_threshold(&up, radius(&up), 8);
            rqrr_bitmap(&b, ctx)
        }
        Step::Blur => {
            let blurred = imgops::blur3(work.small());
            let b = imgops::adaptive_threshold(&blurred, radius(&blurred), 5);
            rqrr_gray(&blurred, ctx).or_else(|| {
                let k = gap_radius(work.evidence().module);
                rqrr_bitmap(&imgops::close_vertical(&b, k), ctx)
            })
        }
    }
}

/// Seams to close: up to about 40% of a module tall.
fn gap_radius(module: f32) -> usize {
    ((module * 0.2).round() as usize).clamp(1, 4)
}

fn rqrr_gray(img: &GrayImage, ctx: &mut Ctx) -> Option<Vec<u8>> {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let raw = img.as_raw();
    guarded(|| {
        let mut prepared = PreparedImage::prepare_from_greyscale(w, h, |x, y| raw[y * w + x]);
        let grids = prepared.detect_grids();
        decode_grids(&grids)
    })
    .into_iter()
    .find_map(|p| ctx.offer(p))
}

fn rqrr_bitmap(b: &Bitmap, ctx: &mut Ctx) -> Option<Vec<u8>> {
    guarded(|| {
        let mut prepared = PreparedImage::prepare_from_bitmap(b.w, b.h, |x, y| b.px[y * b.w + x]);
        let grids = prepared.detect_grids();
        decode_grids(&grids)
    })
    .into_iter()
    .find_map(|p| ctx.offer(p))
}

/// rqrr on hostile frames: a panic inside the decoder must not take the scanner down.
fn guarded(f: impl FnOnce() -> Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_default()
}

struct Mirrored<'a, G>(&'a G);

impl<G: BitGrid> BitGrid for Mirrored<'_, G> {
    fn size(&self) -> usize {
        self.0.size()
    }
    fn bit(&self, y: usize, x: usize) -> bool {
        self.0.bit(x, y)
    }
}

fn decode_grids<G: BitGrid>(grids: &[Grid<G>]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for g in grids {
        let mut buf = Vec::new();
        if g.decode_to(&mut buf).is_ok() {
            out.push(buf);
            continue;
        }
        let mirrored = Grid::new(Mirrored(&g.grid));
        let mut buf = Vec::new();
        if mirrored.decode_to(&mut buf).is_ok() {
            out.push(buf);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::qr::{matrix, to_png};

    #[test]
    fn reads_a_clean_png_and_respects_accept() {
        let m = matrix("QABCDEFGHIJKLMNOP234567").unwrap();
        let img = to_png(&m, 4);
        assert_eq!(
            scan(&img, |_| true).as_deref(),
            Some(&b"QABCDEFGHIJKLMNOP234567"[..])
        );
        let mut seen = 0;
        assert_eq!(
            scan(&img, |_| {
                seen += 1;
                false
            }),
            None
        );
        assert_eq!(seen, 1, "a refused payload is offered once per frame");
    }

    #[test]
    fn blank_and_tiny_frames_give_nothing() {
        let blank = GrayImage::from_pixel(640, 480, image::Luma([200]));
        let mut s = Scanner::new();
        assert_eq!(s.scan(&blank, |_| true), None);
        assert!(s.stats().no_code);
        assert_eq!(scan(&GrayImage::new(3, 3), |_| true), None);
        assert_eq!(scan(&GrayImage::new(0, 0), |_| true), None);
    }

    #[test]
    fn reads_an_inverted_code() {
        let m = matrix("QINVERTED234").unwrap();
        let mut img = to_png(&m, 5);
        image::imageops::invert(&mut img);
        assert_eq!(scan(&img, |_| true).as_deref(), Some(&b"QINVERTED234"[..]));
    }
}
