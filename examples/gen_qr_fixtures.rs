//! Generates fixtures/qr/: our QR codes as a webcam sees them on another computer's
//! terminal, plus frames without a code and with foreign codes, and manifest.tsv.
//!
//! Deterministic (a seeded SplitMix64; no other randomness), so the images can be
//! regenerated bit for bit:
//!
//!     cargo run --release --example gen_qr_fixtures [OUT_DIR]
//!
//! Blobs come from the real codec (`signal::encode`, compact and baseline) over webrtc-rs
//! style descriptions with 1-4 host candidates.
//!
//! Each image: a blob is rendered with `qr::matrix` + `qr::to_half_block_lines` and drawn
//! as a terminal draws it (half-block cells of a real-looking cell size, block glyphs that
//! may not fill the cell so light seams run between rows, explicit black-on-white code on a
//! light or dark terminal theme, text around it); the screen is then "photographed": a
//! perspective warp (rotation up to 30 degrees, keystone), screen black/white levels,
//! colour cast, moire, glare, vignetting, lens blur, sensor noise and JPEG compression, in a
//! 640x480 or 1280x720 frame with the bezel and a room around the screen.
//!
//! manifest.tsv columns: file, kind (`ours` | `none` | `foreign`), class, payload as hex
//! (empty for `none`).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use image::{GrayImage, RgbImage};
use qrchat::{qr, signal};

// ---------------------------------------------------------------- randomness

struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn f(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.f()
    }
    fn int(&mut self, lo: u64, hi_incl: u64) -> u64 {
        lo + self.next_u64() % (hi_incl - lo + 1)
    }
    fn gauss(&mut self) -> f64 {
        let u1 = self.f().max(1e-12);
        let u2 = self.f();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next_u64() as u8).collect()
    }
}

// ---------------------------------------------------------------- blobs

fn hex(data: &[u8]) -> String {
    data.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// A complete post-gathering description as webrtc-rs writes it: an offer or an answer
/// with 1-4 host candidates (IPv4 LAN, sometimes IPv6, sometimes a TCP one).
fn session_description(rng: &mut Rng) -> signal::SessionDescription {
    let kind = if rng.f() < 0.5 {
        signal::SdpKind::Offer
    } else {
        signal::SdpKind::Answer
    };
    let fp_bytes: [u8; 32] = rng.bytes(32).try_into().expect("32 bytes");
    let fp: Vec<String> = fp_bytes.iter().map(|b| format!("{b:02X}")).collect();
    // as rtc does: ICE credentials derived from the certificate fingerprint
    let (ufrag, pwd) = signal::ice_credentials(&fp_bytes);
    let setup = match kind {
        signal::SdpKind::Offer => "actpass",
        signal::SdpKind::Answer => "active",
    };
    let mut sdp = format!(
        "v=0\r\no=- {} {} IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=fingerprint:sha-256 {}\r\na=extmap-allow-mixed\r\na=group:BUNDLE 0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=setup:{setup}\r\na=mid:0\r\na=sendrecv\r\na=sctp-port:5000\r\na=ice-ufrag:{}\r\na=ice-pwd:{}\r\n",
        rng.next_u64() >> 1,
        rng.int(1, 9),
        fp.join(":"),
        ufrag,
        pwd
    );
    let n = rng.int(1, 4);
    for i in 0..n {
        let foundation = rng.next_u64() % 4_000_000_000;
        let port = rng.int(40000, 65000);
        let addr = if i == 1 && rng.f() < 0.4 {
            format!("fd00::{:x}:{:x}", rng.int(1, 0xffff), rng.int(1, 0xffff))
        } else if rng.f() < 0.6 {
            format!("192.168.{}.{}", rng.int(0, 20), rng.int(2, 254))
        } else {
            format!(
                "10.{}.{}.{}",
                rng.int(0, 255),
                rng.int(0, 255),
                rng.int(2, 254)
            )
        };
        let _ = write!(
            sdp,
            "a=candidate:{foundation} 1 udp {} {addr} {port} typ host\r\n",
            2130706431 - i
        );
    }
    sdp.push_str("a=end-of-candidates\r\n");
    signal::SessionDescription { kind, sdp }
}

/// A compact blob from the real codec ('Q' + base32).
fn compact_blob(rng: &mut Rng) -> String {
    let desc = session_description(rng);
    signal::encode(&desc, signal::Format::Compact).expect("compact blob")
}

/// A baseline blob from the real codec ('Z' + base64url of the deflated SDP).
fn baseline_blob(rng: &mut Rng) -> String {
    let desc = session_description(rng);
    signal::encode(&desc, signal::Format::Baseline).expect("baseline blob")
}

// ---------------------------------------------------------------- the terminal

#[derive(Clone, Copy)]
struct Theme {
    bg: [f64; 3],
    fg: [f64; 3],
}

const LIGHT: Theme = Theme {
    bg: [1.0, 1.0, 1.0],
    fg: [0.15, 0.15, 0.15],
};
const SOLARIZED_LIGHT: Theme = Theme {
    bg: [0.99, 0.96, 0.89],
    fg: [0.40, 0.48, 0.51],
};
const DARK: Theme = Theme {
    bg: [0.12, 0.12, 0.12],
    fg: [0.85, 0.85, 0.85],
};
const SOLARIZED_DARK: Theme = Theme {
    bg: [0.0, 0.17, 0.21],
    fg: [0.51, 0.58, 0.59],
};

/// A terminal screenshot in linear-ish RGB, 0..1.
struct Shot {
    w: usize,
    h: usize,
    px: Vec<[f64; 3]>,
}

impl Shot {
    fn new(w: usize, h: usize, c: [f64; 3]) -> Self {
        Shot {
            w,
            h,
            px: vec![c; w * h],
        }
    }
    fn rect(&mut self, x0: usize, y0: usize, w: usize, h: usize, c: [f64; 3]) {
        for y in y0..(y0 + h).min(self.h) {
            for x in x0..(x0 + w).min(self.w) {
                self.px[y * self.w + x] = c;
            }
        }
    }
    fn sample(&self, x: f64, y: f64) -> Option<[f64; 3]> {
        if x < 0.0 || y < 0.0 || x > (self.w - 1) as f64 || y > (self.h - 1) as f64 {
            return None;
        }
        let (x0, y0) = (x.floor() as usize, y.floor() as usize);
        let (x1, y1) = ((x0 + 1).min(self.w - 1), (y0 + 1).min(self.h - 1));
        let (fx, fy) = (x - x0 as f64, y - y0 as f64);
        let p = |x: usize, y: usize| self.px[y * self.w + x];
        let mut out = [0.0; 3];
        for (c, o) in out.iter_mut().enumerate() {
            let top = p(x0, y0)[c] * (1.0 - fx) + p(x1, y0)[c] * fx;
            let bot = p(x0, y1)[c] * (1.0 - fx) + p(x1, y1)[c] * fx;
            *o = top * (1.0 - fy) + bot * fy;
        }
        Some(out)
    }
}

/// A fake glyph: a few strokes inside the cell, like text seen from afar.
fn glyph(shot: &mut Shot, rng: &mut Rng, x0: usize, y0: usize, cw: usize, ch: usize, c: [f64; 3]) {
    let top = y0 + ch / 4;
    let bot = y0 + ch * 3 / 4;
    let th = (cw / 6).max(1);
    for _ in 0..rng.int(1, 3) {
        if rng.f() < 0.5 {
            let x = x0 + 1 + rng.int(0, (cw - 2 - th) as u64) as usize;
            shot.rect(x, top, th, bot - top, c);
        } else {
            let y = top + rng.int(0, (bot - top - th) as u64) as usize;
            shot.rect(x0 + 1, y, cw - 2, th, c);
        }
    }
}

fn text_line(
    shot: &mut Shot,
    rng: &mut Rng,
    row: usize,
    col0: usize,
    len: usize,
    cell: (usize, usize),
    c: [f64; 3],
) {
    let (cw, ch) = cell;
    let max_cols = shot.w / cw;
    for col in col0..(col0 + len).min(max_cols) {
        if rng.f() < 0.18 {
            continue; // a space
        }
        glyph(shot, rng, col * cw, row * ch, cw, ch, c);
    }
}

struct TermParams {
    cell: (usize, usize),
    glyph_h: usize,
    theme: Theme,
}

/// The terminal with `lines` (half-block QR lines, or none) drawn at a cell position, text
/// around it. Returns the screenshot and the QR's pixel rectangle (x, y, w, h).
fn terminal(rng: &mut Rng, p: &TermParams, lines: Option<&[String]>) -> (Shot, [f64; 4]) {
    let (cw, ch) = p.cell;
    let (qcols, qrows) = lines
        .map(|l| (l[0].chars().count(), l.len()))
        .unwrap_or((45, 23));
    let cols = qcols + 8 + rng.int(0, 30) as usize;
    let rows = qrows + 6 + rng.int(0, 4) as usize;
    let mut shot = Shot::new(cols * cw, rows * ch, p.theme.bg);
    // title, status and prompt lines
    text_line(&mut shot, rng, 0, 1, cols - 10, p.cell, p.theme.fg);
    text_line(&mut shot, rng, 1, 1, cols / 2, p.cell, p.theme.fg);
    let qx = 2 + rng.int(0, (cols - qcols - 4) as u64) as usize;
    let qy = 3;
    for r in (qy + qrows + 1)..rows {
        let len = rng.int(5, (cols - 2) as u64) as usize;
        text_line(&mut shot, rng, r, 1, len, p.cell, p.theme.fg);
    }
    // text beside the code on wide terminals
    if cols > qx + qcols + 12 {
        for r in qy..qy + qrows {
            if rng.f() < 0.4 {
                let c0 = qx + qcols + 2;
                let len = rng.int(3, (cols - c0 - 1) as u64) as usize;
                text_line(&mut shot, rng, r, c0, len, p.cell, p.theme.fg);
            }
        }
    }
    match lines {
        Some(lines) => {
            let qimg = qr::rasterize_half_blocks(lines, cw as u32, ch as u32, p.glyph_h as u32);
            let (ox, oy) = (qx * cw, qy * ch);
            for y in 0..qimg.height() as usize {
                for x in 0..qimg.width() as usize {
                    let v = qimg.get_pixel(x as u32, y as u32).0[0] as f64 / 255.0;
                    shot.px[(oy + y) * shot.w + ox + x] = [v; 3];
                }
            }
            let rect = [
                ox as f64,
                oy as f64,
                qimg.width() as f64,
                qimg.height() as f64,
            ];
            (shot, rect)
        }
        None => {
            // something else where the code would be: a box of text
            let rect = [
                (qx * cw) as f64,
                (qy * ch) as f64,
                (qcols * cw) as f64,
                (qrows * ch) as f64,
            ];
            for r in qy..qy + qrows {
                text_line(&mut shot, rng, r, qx, qcols, p.cell, p.theme.fg);
            }
            (shot, rect)
        }
    }
}

// ---------------------------------------------------------------- the camera

/// Homography mapping (x, y) -> (u, v) for four correspondences.
fn homography(from: &[(f64, f64); 4], to: &[(f64, f64); 4]) -> [f64; 9] {
    let mut a = [[0.0f64; 9]; 8];
    for i in 0..4 {
        let (x, y) = from[i];
        let (u, v) = to[i];
        a[2 * i] = [x, y, 1.0, 0.0, 0.0, 0.0, -u * x, -u * y, u];
        a[2 * i + 1] = [0.0, 0.0, 0.0, x, y, 1.0, -v * x, -v * y, v];
    }
    for col in 0..8 {
        let piv = (col..8)
            .max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))
            .unwrap();
        a.swap(col, piv);
        for row in 0..8 {
            if row != col {
                let f = a[row][col] / a[col][col];
                let pivot = a[col];
                for (x, p) in a[row][col..].iter_mut().zip(&pivot[col..]) {
                    *x -= f * p;
                }
            }
        }
    }
    let mut h = [0.0; 9];
    for i in 0..8 {
        h[i] = a[i][8] / a[i][i];
    }
    h[8] = 1.0;
    h
}

fn apply(h: &[f64; 9], x: f64, y: f64) -> (f64, f64) {
    let d = h[6] * x + h[7] * y + h[8];
    (
        (h[0] * x + h[1] * y + h[2]) / d,
        (h[3] * x + h[4] * y + h[5]) / d,
    )
}

#[derive(Clone)]
struct Photo {
    frame: (usize, usize),
    /// QR side (with quiet zone) as a fraction of the frame height
    size: (f64, f64),
    rot_deg: f64,
    /// keystone strength
    persp: f64,
    /// lens blur sigma, in modules (added to a base of ~0.5 px)
    blur_modules: f64,
    noise: f64,
    /// screen black and white as the camera sees them, 0..255
    black: (f64, f64),
    white: (f64, f64),
    glare: bool,
    moire: bool,
    cast: bool,
    colour_out: bool,
    quality: u8,
}

fn base_photo(frame: (usize, usize)) -> Photo {
    Photo {
        frame,
        size: (0.45, 0.7),
        rot_deg: 8.0,
        persp: 0.12,
        blur_modules: 0.12,
        noise: 4.0,
        black: (18.0, 45.0),
        white: (195.0, 240.0),
        glare: false,
        moire: false,
        cast: false,
        colour_out: false,
        quality: 82,
    }
}

/// Separable gaussian blur of `sigma` pixels (edges clamp).
fn blur_plane(p: &mut [f64], w: usize, h: usize, sigma: f64) {
    if sigma < 0.3 {
        return;
    }
    let r = (sigma * 3.0).ceil() as isize;
    let kernel: Vec<f64> = (-r..=r)
        .map(|i| (-(i * i) as f64 / (2.0 * sigma * sigma)).exp())
        .collect();
    let sum: f64 = kernel.iter().sum();
    let kernel: Vec<f64> = kernel.iter().map(|k| k / sum).collect();
    let mut tmp = vec![0.0; p.len()];
    for y in 0..h {
        for x in 0..w {
            let mut acc = 0.0;
            for (k, i) in kernel.iter().zip(-r..=r) {
                let xx = (x as isize + i).clamp(0, w as isize - 1) as usize;
                acc += k * p[y * w + xx];
            }
            tmp[y * w + x] = acc;
        }
    }
    for y in 0..h {
        for x in 0..w {
            let mut acc = 0.0;
            for (k, i) in kernel.iter().zip(-r..=r) {
                let yy = (y as isize + i).clamp(0, h as isize - 1) as usize;
                acc += k * tmp[yy * w + x];
            }
            p[y * w + x] = acc;
        }
    }
}

enum Out {
    Gray(GrayImage),
    Rgb(RgbImage),
}

fn photograph(rng: &mut Rng, shot: &Shot, qr_rect: [f64; 4], modules: f64, ph: &Photo) -> Out {
    let (fw, fh) = ph.frame;
    let [qx, qy, qw, qh] = qr_rect;
    let aspect = qh / qw;
    // the quad the QR lands on in the frame
    let quad = loop {
        let side = rng.range(ph.size.0, ph.size.1) * fh as f64;
        let rot = rng.range(-ph.rot_deg, ph.rot_deg).to_radians();
        let (tx, ty) = (
            rng.range(-ph.persp, ph.persp),
            rng.range(-ph.persp, ph.persp),
        );
        let cx = rng.range(0.3, 0.7) * fw as f64;
        let cy = rng.range(0.35, 0.65) * fh as f64;
        let corners = [(-0.5, -0.5), (0.5, -0.5), (0.5, 0.5), (-0.5, 0.5)].map(|(x, y)| {
            let y = y * aspect;
            let d = 1.0 + tx * x + ty * y;
            let (x, y) = (x / d, y / d);
            let (x, y) = (x * rot.cos() - y * rot.sin(), x * rot.sin() + y * rot.cos());
            (cx + x * side, cy + y * side)
        });
        let inside = corners
            .iter()
            .all(|&(x, y)| x > 2.0 && y > 2.0 && x < fw as f64 - 3.0 && y < fh as f64 - 3.0);
        if inside {
            break corners;
        }
    };
    let src = [(qx, qy), (qx + qw, qy), (qx + qw, qy + qh), (qx, qy + qh)];
    let h = homography(&quad, &src);
    // shot pixels per frame pixel, for supersampling
    let scale = qw / ((quad[1].0 - quad[0].0).hypot(quad[1].1 - quad[0].1));
    let ss = scale.ceil().clamp(1.0, 4.0) as usize;
    let module_px = (quad[1].0 - quad[0].0).hypot(quad[1].1 - quad[0].1) / modules;

    let black = rng.range(ph.black.0, ph.black.1);
    let white = rng.range(ph.white.0, ph.white.1);
    let gains = if ph.cast {
        let casts = [
            [0.75, 0.9, 1.25],
            [1.25, 1.0, 0.7],
            [0.85, 1.2, 0.85],
            [1.2, 0.8, 1.15],
        ];
        casts[rng.int(0, 3) as usize]
    } else {
        let j = 0.04;
        [
            1.0 + rng.range(-j, j),
            1.0 + rng.range(-j, j),
            1.0 + rng.range(-j, j),
        ]
    };
    let room = [
        rng.range(60.0, 160.0),
        rng.range(50.0, 150.0),
        rng.range(40.0, 140.0),
    ];
    let bezel = rng.range(10.0, 35.0);
    let bezel_px = rng.range(0.03, 0.08) * shot.w as f64;
    let moire = ph.moire.then(|| {
        (
            rng.range(0.12, 0.25),                // amplitude
            rng.range(2.2, 4.5),                  // period, px
            rng.range(0.0, std::f64::consts::PI), // angle
            rng.range(0.02, 0.06),                // beat frequency
        )
    });
    let glare = ph.glare.then(|| {
        let c = quad[rng.int(0, 3) as usize];
        let mid = ((quad[0].0 + quad[2].0) / 2.0, (quad[0].1 + quad[2].1) / 2.0);
        let t = rng.range(0.3, 0.7);
        (
            mid.0 + (c.0 - mid.0) * t,
            mid.1 + (c.1 - mid.1) * t,
            rng.range(0.15, 0.3) * fh as f64,
            rng.range(90.0, 160.0),
        )
    });

    let n = fw * fh;
    let mut planes = [vec![0.0; n], vec![0.0; n], vec![0.0; n]];
    for y in 0..fh {
        for x in 0..fw {
            let mut acc = [0.0; 3];
            let mut on_screen = 0;
            for sy in 0..ss {
                for sx in 0..ss {
                    let fx = x as f64 + (sx as f64 + 0.5) / ss as f64;
                    let fy = y as f64 + (sy as f64 + 0.5) / ss as f64;
                    let (u, v) = apply(&h, fx, fy);
                    let px = match shot.sample(u, v) {
                        Some(c) => {
                            on_screen += 1;
                            c.map(|c| black + (white - black) * c)
                        }
                        None => {
                            let inside_bezel = u > -bezel_px
                                && v > -bezel_px
                                && u < shot.w as f64 + bezel_px
                                && v < shot.h as f64 + bezel_px;
                            if inside_bezel {
                                [bezel; 3]
                            } else {
                                let g = 0.8 + 0.4 * (fy / fh as f64);
                                room.map(|r| r * g)
                            }
                        }
                    };
                    for c in 0..3 {
                        acc[c] += px[c];
                    }
                }
            }
            let k = (ss * ss) as f64;
            let mut px = acc.map(|a| a / k);
            if let (Some((amp, period, angle, beat)), true) = (moire, on_screen > 0) {
                let t = x as f64 * angle.cos() + y as f64 * angle.sin();
                let env = 0.5 + 0.5 * ((x as f64 * beat).sin() * (y as f64 * beat * 0.7).cos());
                let m =
                    1.0 - amp * env * (0.5 + 0.5 * (2.0 * std::f64::consts::PI * t / period).sin());
                px = px.map(|p| p * m);
            }
            if let Some((gx, gy, gr, gain)) = glare {
                let d2 = (x as f64 - gx).powi(2) + (y as f64 - gy).powi(2);
                let g = gain * (-d2 / (gr * gr)).exp();
                px = px.map(|p| p + g);
            }
            // vignetting
            let dx = x as f64 / fw as f64 - 0.5;
            let dy = y as f64 / fh as f64 - 0.5;
            let vig = 1.0 - 0.35 * (dx * dx + dy * dy) * 2.0;
            for c in 0..3 {
                planes[c][y * fw + x] = px[c] * gains[c] * vig;
            }
        }
    }
    let sigma = 0.5 + ph.blur_modules * module_px;
    for p in planes.iter_mut() {
        blur_plane(p, fw, fh, sigma);
    }
    let clamp = |v: f64| v.round().clamp(0.0, 255.0) as u8;
    if ph.colour_out {
        let mut img = RgbImage::new(fw as u32, fh as u32);
        for (i, px) in img.pixels_mut().enumerate() {
            let noise = rng.gauss() * ph.noise;
            for (c, plane) in planes.iter().enumerate() {
                px.0[c] = clamp(plane[i] + noise + rng.gauss() * ph.noise * 0.3);
            }
        }
        Out::Rgb(img)
    } else {
        let mut img = GrayImage::new(fw as u32, fh as u32);
        for (i, px) in img.pixels_mut().enumerate() {
            let l = 0.2126 * planes[0][i] + 0.7152 * planes[1][i] + 0.0722 * planes[2][i];
            px.0[0] = clamp(l + rng.gauss() * ph.noise);
        }
        Out::Gray(img)
    }
}

fn save_jpeg(out: &Out, path: &Path, quality: u8) {
    let file = std::fs::File::create(path).unwrap();
    let mut w = std::io::BufWriter::new(file);
    let mut enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut w, quality);
    match out {
        Out::Gray(g) => enc.encode_image(g).unwrap(),
        Out::Rgb(c) => enc.encode_image(c).unwrap(),
    }
}

// ---------------------------------------------------------------- classes

struct Class {
    name: &'static str,
    tweak: fn(&mut Photo, &mut TermParams, &mut Rng),
    baseline: bool,
}

fn theme(rng: &mut Rng) -> Theme {
    [LIGHT, SOLARIZED_LIGHT, DARK, SOLARIZED_DARK][rng.int(0, 3) as usize]
}

fn classes() -> Vec<Class> {
    vec![
        Class {
            name: "clean",
            tweak: |_, _, _| {},
            baseline: false,
        },
        Class {
            name: "dark-theme",
            tweak: |_, t, r| t.theme = if r.f() < 0.5 { DARK } else { SOLARIZED_DARK },
            baseline: false,
        },
        Class {
            name: "rotated",
            tweak: |p, _, _| {
                p.rot_deg = 30.0;
                p.size = (0.4, 0.6);
            },
            baseline: false,
        },
        Class {
            name: "perspective",
            tweak: |p, _, _| {
                p.persp = 0.35;
                p.rot_deg = 12.0;
            },
            baseline: false,
        },
        // lens blur up to 0.35 module (+0.5 px): past ~0.4 module neighbouring modules merge
        // and neither decoder reads them (measured: 0 of 2 at 0.4)
        Class {
            name: "blur",
            tweak: |p, _, r| p.blur_modules = r.range(0.25, 0.35),
            baseline: false,
        },
        Class {
            name: "noise",
            tweak: |p, _, r| p.noise = r.range(12.0, 20.0),
            baseline: false,
        },
        Class {
            name: "low-contrast",
            tweak: |p, _, _| {
                p.black = (80.0, 105.0);
                p.white = (150.0, 175.0);
            },
            baseline: false,
        },
        Class {
            name: "glare",
            tweak: |p, _, _| p.glare = true,
            baseline: false,
        },
        Class {
            name: "moire",
            tweak: |p, _, _| p.moire = true,
            baseline: false,
        },
        Class {
            name: "colour-cast",
            tweak: |p, _, _| {
                p.cast = true;
                p.colour_out = true;
            },
            baseline: false,
        },
        Class {
            name: "small",
            tweak: |p, _, _| {
                p.size = if p.frame.0 > 700 {
                    (0.24, 0.3)
                } else {
                    (0.3, 0.36)
                };
                p.blur_modules = 0.08;
                p.rot_deg = 10.0;
            },
            baseline: false,
        },
        Class {
            name: "closeup",
            tweak: |p, _, _| {
                p.size = (0.82, 0.92);
                p.rot_deg = 4.0;
                p.persp = 0.06;
            },
            baseline: false,
        },
        Class {
            name: "cell-gaps",
            tweak: |_, t, r| {
                let (_, ch) = t.cell;
                t.glyph_h = ch - ((ch as f64 * r.range(0.12, 0.2)).round() as usize).max(2);
            },
            baseline: false,
        },
        Class {
            name: "baseline",
            tweak: |p, _, _| {
                p.size = (0.8, 0.92);
                p.rot_deg = 5.0;
                p.persp = 0.06;
                p.blur_modules = 0.08;
                p.quality = 90;
            },
            baseline: true,
        },
    ]
}

fn term_params(rng: &mut Rng) -> TermParams {
    // (cell width, cell height) of common fonts at common sizes, 1x and 2x
    let cells = [
        (7, 15),
        (8, 16),
        (8, 17),
        (9, 18),
        (9, 19),
        (10, 20),
        (10, 22),
        (12, 24),
        (14, 28),
    ];
    let cell = cells[rng.int(0, cells.len() as u64 - 1) as usize];
    // most fonts fill the cell with block glyphs; some leave a pixel
    let glyph_h = cell.1 - if rng.f() < 0.35 { 1 } else { 0 };
    TermParams {
        cell,
        glyph_h,
        theme: theme(rng),
    }
}

/// `--montage OUT.png IMAGE...`: the images side by side at 640x480, for looking at them.
fn montage(out: &str, files: &[String]) {
    let rows = files.len().div_ceil(2) as u32;
    let mut m = RgbImage::new(1280, 480 * rows);
    for (i, p) in files.iter().enumerate() {
        let im = image::open(p).unwrap().to_rgb8();
        let im = image::imageops::resize(&im, 640, 480, image::imageops::FilterType::Triangle);
        image::imageops::replace(&mut m, &im, (i as i64 % 2) * 640, (i as i64 / 2) * 480);
    }
    m.save(out).unwrap();
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--montage") && args.len() > 3 {
        montage(&args[2], &args[3..]);
        return;
    }
    let out_dir: PathBuf = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("fixtures/qr"));
    std::fs::create_dir_all(&out_dir).unwrap();
    let mut rng = Rng(0x5152_4348_4154_0001);
    let mut manifest = String::from("# file\tkind\tclass\tpayload_hex\n");
    let frames = [
        (640usize, 480usize),
        (640, 480),
        (640, 480),
        (1280, 720),
        (1280, 720),
    ];
    for class in classes() {
        for (i, &frame) in frames.iter().enumerate() {
            let blob = if class.baseline {
                baseline_blob(&mut rng)
            } else {
                compact_blob(&mut rng)
            };
            let m = qr::matrix(&blob).unwrap();
            let lines = qr::to_half_block_lines(&m);
            let mut tp = term_params(&mut rng);
            let mut ph = base_photo(frame);
            (class.tweak)(&mut ph, &mut tp, &mut rng);
            let (shot, rect) = terminal(&mut rng, &tp, Some(&lines));
            let modules = (m.width() + 2 * qr::QUIET_ZONE) as f64;
            let img = photograph(&mut rng, &shot, rect, modules, &ph);
            let name = format!("{}-{}x{}-{}.jpg", class.name, frame.0, frame.1, i);
            save_jpeg(&img, &out_dir.join(&name), ph.quality);
            let _ = writeln!(
                manifest,
                "{name}\tours\t{}\t{}",
                class.name,
                hex(blob.as_bytes())
            );
        }
    }
    // frames without a code: terminals full of text, light and dark, at both sizes
    for i in 0..6 {
        let frame = frames[i % frames.len()];
        let mut tp = term_params(&mut rng);
        tp.theme = if i % 2 == 0 { LIGHT } else { DARK };
        let (shot, rect) = terminal(&mut rng, &tp, None);
        let ph = base_photo(frame);
        let img = photograph(&mut rng, &shot, rect, 45.0, &ph);
        let name = format!("none-{}x{}-{}.jpg", frame.0, frame.1, i);
        save_jpeg(&img, &out_dir.join(&name), ph.quality);
        let _ = writeln!(manifest, "{name}\tnone\tno-code\t");
    }
    // foreign codes: URLs and random bytes, drawn the same way
    for i in 0..6 {
        let frame = frames[i % frames.len()];
        let payload: Vec<u8> = if i < 3 {
            format!("https://example.org/invite?id={}", rng.next_u64()).into_bytes()
        } else {
            let n = 30 + rng.int(0, 30) as usize;
            let mut b = rng.bytes(n);
            b[0] = 0xFF; // never valid UTF-8, never our prefix
            b
        };
        let m = qr::matrix_bytes(&payload).unwrap();
        let lines = qr::to_half_block_lines(&m);
        let tp = term_params(&mut rng);
        let (shot, rect) = terminal(&mut rng, &tp, Some(&lines));
        let ph = base_photo(frame);
        let modules = (m.width() + 2 * qr::QUIET_ZONE) as f64;
        let img = photograph(&mut rng, &shot, rect, modules, &ph);
        let name = format!("foreign-{}x{}-{}.jpg", frame.0, frame.1, i);
        save_jpeg(&img, &out_dir.join(&name), ph.quality);
        let _ = writeln!(manifest, "{name}\tforeign\tforeign\t{}", hex(&payload));
    }
    std::fs::write(out_dir.join("manifest.tsv"), manifest).unwrap();
    eprintln!("wrote {}", out_dir.display());
}
