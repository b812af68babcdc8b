//! Luma frame -> QR payload: two decoders behind a cascade of steps ordered by cost and
//! by what they read of the fixtures (`cargo bench --bench scan` prints what each step
//! reads alone and which step read each class).
//!
//! The frame is first downscaled (box average) so that its longer side is at most
//! [`WORK_SIDE`] pixels: a 1280x720 frame is read at 640x360.
//!
//! Cheap steps: rxing (a port of zxing-cpp's QR reader, hybrid local binarizer), about
//! 1-2 ms each at 640x480:
//! 1. `Rxing`: the working image as it is.
//! 2. `Blur`: after a 3x3 box blur (sensor noise, moire, JPEG blocks).
//! 3. `CloseGaps`: after a vertical grey closing that fills the thin light seams terminal
//!    fonts leave between rows of half blocks.
//! 4. `Sharpen`: after an unsharp mask about a module wide (lens blur, soft focus).
//! 5. `FullRes`: the full frame (when it was downscaled), then sharpened: small codes.
//! 6. `Inverted`: light-on-dark codes (other programs draw those on dark themes).
//!
//! rqrr steps, several times slower, run only when a finder-pattern probe (rows crossing
//! 1:1:3:1:1 runs, grouped over nearby rows) saw at least three candidates, and in
//! [`Scanner::streaming`] one per cycle of frames:
//! 7. `Plain`: rqrr's own thresholding.
//! 8. `Adaptive`: an integral-image local-mean threshold; of the sharpened image; with
//!    seams closed.
//! 9. `Upscale`: twice the resolution, for modules under ~3.5 pixels.
//!
//! Every step offers every code it reads (rqrr grids also mirrored) to the caller's
//! `accept` and stops at the first it takes, so a foreign code in the frame is skipped
//! while other codes still get tried; a payload refused once is not offered again in the
//! same frame. A [`Scanner`] remembers the step that read the last code and tries it
//! second; [`Scanner::streaming`] bounds the cost per camera frame.

use image::GrayImage;
use rqrr::{BitGrid, Grid, PreparedImage};

use super::imgops::{self, Bitmap, Evidence};

/// Longer side of the working image for the cheap steps.
pub const WORK_SIDE: u32 = 800;

/// A step of the cascade (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Step {
    Rxing,
    Plain,
    Adaptive,
    CloseGaps,
    Inverted,
    Sharpen,
    FullRes,
    Upscale,
    Blur,
}

impl Step {
    /// The cascade, cheapest and most productive first (measured on the fixtures).
    pub const ALL: [Step; 9] = [
        Step::Rxing,
        Step::Blur,
        Step::CloseGaps,
        Step::Sharpen,
        Step::FullRes,
        Step::Inverted,
        Step::Plain,
        Step::Adaptive,
        Step::Upscale,
    ];

    /// The rxing steps: a millisecond or two each. The others run rqrr, several times
    /// slower; they run only on still images (not in [`Scanner::streaming`]) and only when
    /// the finder-pattern probe saw at least three candidates.
    pub fn is_cheap(self) -> bool {
        matches!(
            self,
            Step::Rxing
                | Step::Blur
                | Step::Sharpen
                | Step::CloseGaps
                | Step::FullRes
                | Step::Inverted
        )
    }

    fn needs_finders(self) -> bool {
        !self.is_cheap()
    }

    pub fn name(self) -> &'static str {
        match self {
            Step::Rxing => "rxing",
            Step::Plain => "plain",
            Step::Adaptive => "adaptive",
            Step::CloseGaps => "close-gaps",
            Step::Inverted => "inverted",
            Step::Sharpen => "sharpen",
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
    /// The probe found fewer than three finder-pattern candidates: the frame was given up
    /// after the first step.
    pub no_code: bool,
    /// Finder-pattern candidates the probe found (when it ran).
    pub finders: usize,
}

/// Scans frames; keeps which step worked last and tries it first.
#[derive(Debug, Default)]
pub struct Scanner {
    last: Option<Step>,
    stats: ScanStats,
    /// Only these steps, in this order, without the no-code exit (for measuring a step).
    only: Option<Vec<Step>>,
    /// One extra step per frame, in turn (see [`Scanner::streaming`]).
    streaming: bool,
    cursor: usize,
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

    /// A scanner that runs only `steps`, in order, with no early exit: for measuring what
    /// each step is worth.
    pub fn with_steps(steps: &[Step]) -> Self {
        Scanner {
            only: Some(steps.to_vec()),
            ..Self::default()
        }
    }

    /// A scanner for a live camera: each frame gets the cheapest step, the step that read
    /// the last code, and one more step in turn (the four other cheap steps, then one rqrr
    /// step, a different one each cycle), so the cost per frame stays bounded while a code
    /// held in view meets every step within 20 frames.
    pub fn streaming() -> Self {
        Scanner {
            streaming: true,
            ..Self::default()
        }
    }

    fn order(&mut self) -> Vec<Step> {
        if let Some(only) = &self.only {
            return only.clone();
        }
        let first = Step::ALL[0];
        let mut order = vec![first];
        if let Some(last) = self.last {
            if last != first {
                order.push(last);
            }
        }
        if self.streaming {
            // a cycle: every cheap step, then one rqrr step (a different one each cycle)
            let cheap: Vec<Step> = Step::ALL[1..]
                .iter()
                .copied()
                .filter(|s| s.is_cheap())
                .collect();
            let slow: Vec<Step> = Step::ALL
                .iter()
                .copied()
                .filter(|s| !s.is_cheap())
                .collect();
            let cycle = cheap.len() + 1;
            let slot = self.cursor % cycle;
            let next = if slot < cheap.len() {
                cheap[slot]
            } else {
                slow[(self.cursor / cycle) % slow.len()]
            };
            self.cursor = self.cursor.wrapping_add(1);
            if !order.contains(&next) {
                order.push(next);
            }
        } else {
            for s in Step::ALL {
                if !order.contains(&s) {
                    order.push(s);
                }
            }
        }
        order
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
        let order = self.order();
        let gated = self.only.is_none();
        let mut ctx = Ctx {
            accept: &mut accept,
            rejected: Vec::new(),
        };
        for step in order {
            if gated && step.needs_finders() {
                let ev = work.evidence();
                self.stats.finders = ev.finders;
                if ev.finders < 3 {
                    self.stats.no_code = true;
                    continue;
                }
            }
            if gated && !applies(step, &mut work) {
                continue;
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
fn applies(step: Step, work: &mut Work) -> bool {
    let factor = work.factor;
    match step {
        // the frame was downscaled: read the detail that was averaged away
        Step::FullRes => factor > 1,
        Step::Upscale => {
            let full_module = work.evidence().module * factor as f32;
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
        Step::Rxing => rxing_gray(work.small(), ctx),
        Step::Sharpen => {
            let r = sharpen_radius(work.evidence().module);
            let sharp = imgops::sharpen(work.small(), r, 1.5);
            rxing_gray(&sharp, ctx)
        }
        Step::CloseGaps => {
            let k = gap_radius(work.evidence().module);
            let closed = imgops::close_vertical_gray(work.small(), k);
            rxing_gray(&closed, ctx)
        }
        Step::FullRes => {
            let frame = work.frame;
            rxing_gray(frame, ctx).or_else(|| {
                let r = sharpen_radius(work.evidence().module * work.factor as f32);
                rxing_gray(&imgops::sharpen(frame, r, 1.5), ctx)
            })
        }
        Step::Inverted => {
            let mut inv = work.small().clone();
            image::imageops::invert(&mut inv);
            rxing_gray(&inv, ctx)
        }
        Step::Plain => rqrr_gray(work.small(), ctx),
        Step::Adaptive => {
            if let Some(p) = rqrr_bitmap(work.bin(), ctx) {
                return Some(p);
            }
            let module = work.evidence().module;
            let sharp = imgops::sharpen(work.small(), sharpen_radius(module), 1.5);
            let b = imgops::adaptive_threshold(&sharp, radius(&sharp), 8);
            rqrr_bitmap(&b, ctx).or_else(|| {
                let k = gap_radius(module);
                rqrr_bitmap(&imgops::close_vertical(work.bin(), k), ctx)
            })
        }
        Step::Blur => {
            let blurred = imgops::blur3(work.small());
            rxing_gray(&blurred, ctx)
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
    }
}

/// Unsharp-mask radius: about a module.
fn sharpen_radius(module: f32) -> usize {
    (module.round() as usize).clamp(2, 8)
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

/// rxing (a port of zxing-cpp's QR reader) with its hybrid binarizer, every code in the
/// frame.
fn rxing_gray(img: &GrayImage, ctx: &mut Ctx) -> Option<Vec<u8>> {
    use rxing::multi::MultipleBarcodeReader;
    let (w, h) = img.dimensions();
    let payloads = guarded(|| {
        let Ok(source) = rxing::Luma8Source::new_with_slice(img.as_raw(), w, h) else {
            return Vec::new();
        };
        let mut bitmap = rxing::BinaryBitmap::new(rxing::common::HybridBinarizer::new(source));
        let hints = rxing::DecodeHints {
            TryHarder: Some(true),
            PossibleFormats: Some([rxing::BarcodeFormat::QR_CODE].into_iter().collect()),
            ..Default::default()
        };
        rxing::qrcode::cpp_port::QrReader
            .decode_multiple_with_hints(&mut bitmap, &hints)
            .unwrap_or_default()
            .iter()
            .map(rxing_payload)
            .collect()
    });
    payloads.into_iter().find_map(|p| ctx.offer(p))
}

/// The payload bytes of an rxing result. The zxing-cpp port's results carry the content
/// bytes exactly as encoded (byte, alphanumeric and numeric segments alike), whatever
/// character set the text was decoded with; the text is the fallback.
fn rxing_payload(r: &rxing::RXingResult) -> Vec<u8> {
    let raw = r.getRawBytes();
    if raw.is_empty() {
        r.getText().as_bytes().to_vec()
    } else {
        raw.to_vec()
    }
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
