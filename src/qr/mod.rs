//! Render a blob as terminal cells or an image; scan luma frames for a blob. Pure: no
//! camera, no terminal, nothing else of ours.
//!
//! Rendering always draws dark modules in an explicit dark colour on an explicit light
//! background, with the 4-module quiet zone, whatever the terminal's theme: an inverted
//! code (light modules on dark) is the classic reason terminal QR codes fail to scan.
//!
//! Scanning ([`scan`], [`Scanner`]) runs rqrr behind a cascade of preprocessing steps
//! ordered by cost; see `scan.rs`.

mod imgops;
mod scan;

use std::path::Path;

use qrcode::{EcLevel, QrCode, Version};

pub use scan::{scan, ScanStats, Scanner, Step};

/// Quiet zone on every side, in modules (the QR standard's minimum).
pub const QUIET_ZONE: usize = 4;

/// The terminal size a code should fit in when it can: 80 columns by 24 rows.
pub const FIT_COLS: usize = 80;
/// See [`FIT_COLS`].
pub const FIT_ROWS: usize = 24;

/// xterm-256 palette index of the dark module colour (pure black, #000000). Indices 16..=231
/// are the fixed colour cube, which terminal themes do not remap (unlike 0..=15), so the
/// code keeps its polarity on every theme. For ratatui: `Color::Indexed(ANSI_DARK)`.
pub const ANSI_DARK: u8 = 16;
/// xterm-256 palette index of the light background colour (pure white, #ffffff).
pub const ANSI_LIGHT: u8 = 231;

/// Error-correction level of a rendered code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Ecc {
    L,
    M,
    Q,
    H,
}

impl std::fmt::Display for Ecc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Ecc::L => "L",
            Ecc::M => "M",
            Ecc::Q => "Q",
            Ecc::H => "H",
        })
    }
}

impl Ecc {
    fn level(self) -> EcLevel {
        match self {
            Ecc::L => EcLevel::L,
            Ecc::M => EcLevel::M,
            Ecc::Q => EcLevel::Q,
            Ecc::H => EcLevel::H,
        }
    }
}

/// What went wrong rendering or saving a code.
#[derive(Debug, thiserror::Error)]
pub enum QrError {
    #[error("nothing to encode: the code is empty")]
    Empty,
    #[error("the code is too long for a QR code ({len} bytes; the most a code holds is 2953)")]
    TooLong { len: usize },
    #[error("cannot draw the code as a QR code: {0}")]
    Encode(String),
    #[error("cannot write the QR image {path}: {reason}")]
    Save { path: String, reason: String },
}

/// A QR code's modules, without the quiet zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrMatrix {
    width: usize,
    version: u8,
    ecc: Ecc,
    /// Row-major, `true` = dark.
    modules: Vec<bool>,
}

impl QrMatrix {
    /// Modules per side, without the quiet zone (17 + 4 * version).
    pub fn width(&self) -> usize {
        self.width
    }

    /// QR version, 1..=40.
    pub fn version(&self) -> u8 {
        self.version
    }

    /// Error-correction level.
    pub fn ecc(&self) -> Ecc {
        self.ecc
    }

    /// Is the module at (x, y) dark? Coordinates outside the code (the quiet zone and
    /// beyond) are light.
    pub fn is_dark(&self, x: usize, y: usize) -> bool {
        x < self.width && y < self.width && self.modules[y * self.width + x]
    }

    /// Terminal cells needed to draw the code with half blocks, quiet zone included:
    /// (columns, rows).
    pub fn cells_needed(&self) -> (usize, usize) {
        cells_for_width(self.width)
    }

    /// Does the code fit a terminal of `cols` x `rows` cells?
    pub fn fits(&self, cols: usize, rows: usize) -> bool {
        let (c, r) = self.cells_needed();
        c <= cols && r <= rows
    }
}

fn cells_for_width(width: usize) -> (usize, usize) {
    let side = width + 2 * QUIET_ZONE;
    (side, side.div_ceil(2))
}

fn build(blob: &[u8], ecc: Ecc) -> Result<QrMatrix, qrcode::types::QrError> {
    let code = QrCode::with_error_correction_level(blob, ecc.level())?;
    let version = match code.version() {
        Version::Normal(v) => v as u8,
        Version::Micro(v) => v as u8,
    };
    let width = code.width();
    let modules = code
        .to_colors()
        .into_iter()
        .map(|c| c == qrcode::Color::Dark)
        .collect();
    Ok(QrMatrix {
        width,
        version,
        ecc,
        modules,
    })
}

/// The QR code for a blob, with the error correction chosen for reading off a screen: the
/// highest level (H, Q, then M) whose code still fits an 80x24 terminal with its quiet
/// zone; when even M needs a bigger code, M at the smallest version; L only when M cannot
/// hold the blob at all.
pub fn matrix(blob: &str) -> Result<QrMatrix, QrError> {
    matrix_bytes(blob.as_bytes())
}

/// [`matrix`] for arbitrary bytes (byte mode where needed).
pub fn matrix_bytes(blob: &[u8]) -> Result<QrMatrix, QrError> {
    if blob.is_empty() {
        return Err(QrError::Empty);
    }
    let mut smallest_m = None;
    for ecc in [Ecc::H, Ecc::Q, Ecc::M] {
        match build(blob, ecc) {
            Ok(m) if m.fits(FIT_COLS, FIT_ROWS) => return Ok(m),
            Ok(m) => {
                if ecc == Ecc::M {
                    smallest_m = Some(m);
                }
            }
            Err(qrcode::types::QrError::DataTooLong) => {}
            Err(e) => return Err(QrError::Encode(e.to_string())),
        }
    }
    if let Some(m) = smallest_m {
        return Ok(m);
    }
    match build(blob, Ecc::L) {
        Ok(m) => Ok(m),
        Err(qrcode::types::QrError::DataTooLong) => Err(QrError::TooLong { len: blob.len() }),
        Err(e) => Err(QrError::Encode(e.to_string())),
    }
}

/// The code as terminal lines of half blocks, two modules per cell (upper module = upper
/// half), quiet zone included. Draw every line with the foreground set to the dark colour
/// and the background to the light colour ([`ANSI_DARK`] on [`ANSI_LIGHT`], or black on
/// white): a dark module is always drawn by the foreground (`▀`, `▄`, `█`), a light one by
/// the background (` `), so the code keeps its polarity on dark themes. Every line has
/// [`QrMatrix::cells_needed`]`.0` characters.
pub fn to_half_block_lines(m: &QrMatrix) -> Vec<String> {
    let q = QUIET_ZONE as isize;
    let side = (m.width + 2 * QUIET_ZONE) as isize;
    let dark = |x: isize, y: isize| -> bool {
        let (mx, my) = (x - q, y - q);
        mx >= 0 && my >= 0 && m.is_dark(mx as usize, my as usize)
    };
    let mut lines = Vec::with_capacity(side as usize / 2 + 1);
    let mut y = 0;
    while y < side {
        let line: String = (0..side)
            .map(|x| match (dark(x, y), dark(x, y + 1)) {
                (true, true) => '█',
                (true, false) => '▀',
                (false, true) => '▄',
                (false, false) => ' ',
            })
            .collect();
        lines.push(line);
        y += 2;
    }
    lines
}

/// SGR sequence that sets the explicit code colours (dark foreground, light background).
pub const SGR_CODE_COLOURS: &str = "\x1b[38;5;16;48;5;231m";
/// SGR reset.
pub const SGR_RESET: &str = "\x1b[0m";

/// The half-block lines wrapped in explicit black-on-white SGR colours, one line each
/// ending in a reset and a newline: ready to print on an ANSI terminal of any theme.
pub fn to_ansi_string(m: &QrMatrix) -> String {
    let mut out = String::new();
    for line in to_half_block_lines(m) {
        out.push_str(SGR_CODE_COLOURS);
        out.push_str(&line);
        out.push_str(SGR_RESET);
        out.push('\n');
    }
    out
}

/// The code as a black-on-white image, quiet zone included, `scale` pixels per module
/// (at least 1).
pub fn to_png(m: &QrMatrix, scale: u32) -> image::GrayImage {
    let scale = scale.max(1);
    let side = (m.width + 2 * QUIET_ZONE) as u32 * scale;
    image::GrayImage::from_fn(side, side, |x, y| {
        let mx = (x / scale) as isize - QUIET_ZONE as isize;
        let my = (y / scale) as isize - QUIET_ZONE as isize;
        let dark = mx >= 0 && my >= 0 && m.is_dark(mx as usize, my as usize);
        image::Luma([if dark { 0 } else { 255 }])
    })
}

/// Draw half-block lines the way a terminal does, black on white: each character is a
/// `cell_w` x `cell_h` cell whose block glyph covers only the top `glyph_h` pixel rows
/// (`glyph_h < cell_h` models fonts with line spacing, which leave a light seam under every
/// text row), split in two halves at `glyph_h / 2`. For tests and the fixture generator.
pub fn rasterize_half_blocks(
    lines: &[String],
    cell_w: u32,
    cell_h: u32,
    glyph_h: u32,
) -> image::GrayImage {
    let cols = lines.iter().map(|l| l.chars().count()).max().unwrap_or(0) as u32;
    let rows = lines.len() as u32;
    let glyph_h = glyph_h.min(cell_h);
    let half = glyph_h / 2;
    let mut img = image::GrayImage::from_pixel(cols * cell_w, rows * cell_h, image::Luma([255]));
    for (r, line) in lines.iter().enumerate() {
        for (c, ch) in line.chars().enumerate() {
            let (y0, y1) = match ch {
                '█' => (0, glyph_h),
                '▀' => (0, half),
                '▄' => (half, glyph_h),
                _ => continue,
            };
            for y in y0..y1 {
                for x in 0..cell_w {
                    img.put_pixel(
                        c as u32 * cell_w + x,
                        r as u32 * cell_h + y,
                        image::Luma([0]),
                    );
                }
            }
        }
    }
    img
}

/// Write [`to_png`] to `path` as a PNG file.
pub fn save_png(m: &QrMatrix, scale: u32, path: &Path) -> Result<(), QrError> {
    to_png(m, scale)
        .save_with_format(path, image::ImageFormat::Png)
        .map_err(|e| QrError::Save {
            path: path.display().to_string(),
            reason: e.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compact_like(len: usize) -> String {
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        let mut s = String::from("Q");
        let mut x: u32 = 12345;
        while s.len() < len {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            s.push(alphabet[(x >> 16) as usize % 32] as char);
        }
        s
    }

    #[test]
    fn typical_compact_blob_fits_80x24_with_at_least_m() {
        for len in [40, 70, 90, 110, 120] {
            let m = matrix(&compact_like(len)).unwrap();
            assert!(m.fits(80, 24), "len {len}: {:?}", m.cells_needed());
            assert!(m.ecc() >= Ecc::M, "len {len}: {}", m.ecc());
        }
        // short blobs get the strongest correction
        assert_eq!(matrix(&compact_like(40)).unwrap().ecc(), Ecc::H);
    }

    #[test]
    fn ecc_is_the_highest_that_fits() {
        for len in [30, 60, 80, 100, 120, 140] {
            let blob = compact_like(len);
            let m = matrix(&blob).unwrap();
            if m.ecc() < Ecc::H {
                let higher = match m.ecc() {
                    Ecc::M => Ecc::Q,
                    _ => Ecc::H,
                };
                let better = build(blob.as_bytes(), higher).unwrap();
                assert!(!better.fits(80, 24), "len {len}: {higher} would fit too");
            }
        }
    }

    #[test]
    fn long_blob_uses_m_at_a_bigger_version_and_huge_blob_is_an_error() {
        let long = "Z".repeat(700);
        let m = matrix(&long).unwrap();
        assert_eq!(m.ecc(), Ecc::M);
        assert!(!m.fits(80, 24));
        // too long for M, still fits L
        let l = matrix_bytes(&vec![b'x'; 2500]).unwrap();
        assert_eq!(l.ecc(), Ecc::L);
        assert!(matches!(
            matrix_bytes(&vec![b'x'; 4000]),
            Err(QrError::TooLong { len: 4000 })
        ));
        assert!(matches!(matrix(""), Err(QrError::Empty)));
    }

    #[test]
    fn half_blocks_draw_dark_modules_with_the_foreground() {
        let m = matrix("HELLO").unwrap();
        let lines = to_half_block_lines(&m);
        let (cols, rows) = m.cells_needed();
        assert_eq!(lines.len(), rows);
        for line in &lines {
            assert_eq!(line.chars().count(), cols);
        }
        // the top-left finder pattern's first row: quiet zone then 7 dark modules over
        // the light row above it? No: row 4 (first code row) is the cell row 2, upper half.
        let chars: Vec<char> = lines[2].chars().collect();
        assert_eq!(&chars[..4], &[' '; 4]);
        // modules (0,0)..(6,0) dark, (0,1) dark, (1,1) light
        assert_eq!(chars[4], '█');
        assert_eq!(chars[5], '▀');
        // quiet zone rows are all background
        assert!(lines[0].chars().all(|c| c == ' '));
        assert!(lines[1].chars().all(|c| c == ' '));
        // every character decodes back to the matrix
        for (row, line) in lines.iter().enumerate() {
            for (col, ch) in line.chars().enumerate() {
                let top = m.is_dark(col.wrapping_sub(4), (2 * row).wrapping_sub(4));
                let bottom = m.is_dark(col.wrapping_sub(4), (2 * row + 1).wrapping_sub(4));
                let expect = match (top, bottom) {
                    (true, true) => '█',
                    (true, false) => '▀',
                    (false, true) => '▄',
                    (false, false) => ' ',
                };
                assert_eq!(ch, expect, "cell {col},{row}");
            }
        }
    }

    #[test]
    fn ansi_string_sets_explicit_colours_on_every_line() {
        let m = matrix("HELLO").unwrap();
        let s = to_ansi_string(&m);
        let lines: Vec<&str> = s.lines().collect();
        assert_eq!(lines.len(), m.cells_needed().1);
        for l in lines {
            assert!(l.starts_with(SGR_CODE_COLOURS) && l.ends_with(SGR_RESET));
        }
    }

    #[test]
    fn png_has_quiet_zone_and_scale() {
        let m = matrix("HELLO").unwrap();
        let img = to_png(&m, 3);
        assert_eq!(img.width() as usize, (m.width() + 8) * 3);
        assert_eq!(img.get_pixel(0, 0).0[0], 255);
        assert_eq!(img.get_pixel(12, 12).0[0], 0); // module (0,0) is dark
        assert_eq!(img.get_pixel(11, 11).0[0], 255);
    }
}
