//! Small, fast image operations for the scan cascade: box downscaling, bilinear
//! upscaling, a box blur, adaptive thresholding over an integral image, gap closing, and a
//! finder-pattern probe that tells whether a frame can hold a code at all.

use image::GrayImage;

/// A binary image: `true` = dark.
#[derive(Clone)]
pub struct Bitmap {
    pub w: usize,
    pub h: usize,
    pub px: Vec<bool>,
}

/// Average `factor` x `factor` blocks (factor >= 1). Trailing partial blocks are dropped.
pub fn downscale(img: &GrayImage, factor: u32) -> GrayImage {
    if factor <= 1 {
        return img.clone();
    }
    let (w, h) = img.dimensions();
    let (nw, nh) = (w / factor, h / factor);
    let f = factor as usize;
    let src = img.as_raw();
    let sw = w as usize;
    let mut out = vec![0u8; (nw * nh) as usize];
    let mut acc = vec![0u32; nw as usize];
    let div = (f * f) as u32;
    for oy in 0..nh as usize {
        acc.iter_mut().for_each(|a| *a = 0);
        for dy in 0..f {
            let row = &src[(oy * f + dy) * sw..(oy * f + dy) * sw + sw];
            for (ox, a) in acc.iter_mut().enumerate() {
                let s = &row[ox * f..ox * f + f];
                *a += s.iter().map(|&v| v as u32).sum::<u32>();
            }
        }
        let orow = &mut out[oy * nw as usize..(oy + 1) * nw as usize];
        for (o, a) in orow.iter_mut().zip(&acc) {
            *o = (a / div) as u8;
        }
    }
    GrayImage::from_raw(nw, nh, out).expect("buffer size matches")
}

/// Bilinear upscale by 2.
pub fn upscale2(img: &GrayImage) -> GrayImage {
    let (w, h) = img.dimensions();
    let src = img.as_raw();
    let sw = w as usize;
    let get = |x: usize, y: usize| src[y.min(h as usize - 1) * sw + x.min(sw - 1)] as u32;
    GrayImage::from_fn(w * 2, h * 2, |x, y| {
        let (sx, sy) = ((x / 2) as usize, (y / 2) as usize);
        let (fx, fy) = (x % 2, y % 2);
        // sample positions at 0 and 0.5 of a source pixel
        let v = match (fx, fy) {
            (0, 0) => get(sx, sy) * 4,
            (1, 0) => (get(sx, sy) + get(sx + 1, sy)) * 2,
            (0, 1) => (get(sx, sy) + get(sx, sy + 1)) * 2,
            _ => get(sx, sy) + get(sx + 1, sy) + get(sx, sy + 1) + get(sx + 1, sy + 1),
        };
        image::Luma([(v / 4) as u8])
    })
}

/// 3x3 box blur (edges clamp).
pub fn blur3(img: &GrayImage) -> GrayImage {
    let (w, h) = img.dimensions();
    let (w, h) = (w as usize, h as usize);
    let src = img.as_raw();
    let mut tmp = vec![0u16; w * h];
    for y in 0..h {
        let row = &src[y * w..y * w + w];
        for x in 0..w {
            let l = row[x.saturating_sub(1)] as u16;
            let r = row[(x + 1).min(w - 1)] as u16;
            tmp[y * w + x] = l + row[x] as u16 + r;
        }
    }
    let mut out = vec![0u8; w * h];
    for y in 0..h {
        let up = y.saturating_sub(1) * w;
        let down = (y + 1).min(h - 1) * w;
        for x in 0..w {
            out[y * w + x] = ((tmp[up + x] + tmp[y * w + x] + tmp[down + x]) / 9) as u8;
        }
    }
    GrayImage::from_raw(w as u32, h as u32, out).expect("buffer size matches")
}

/// Box blur of radius `r` (edges clamp), separable, via running sums.
pub fn box_blur(img: &GrayImage, r: usize) -> GrayImage {
    let (w, h) = (img.width() as usize, img.height() as usize);
    if r == 0 || w == 0 || h == 0 {
        return img.clone();
    }
    let src = img.as_raw();
    let n = (2 * r + 1) as u32;
    let mut tmp = vec![0u8; w * h];
    for y in 0..h {
        let row = &src[y * w..y * w + w];
        let mut acc: u32 =
            row[0] as u32 * r as u32 + (0..=r).map(|i| row[i.min(w - 1)] as u32).sum::<u32>();
        for x in 0..w {
            tmp[y * w + x] = (acc / n) as u8;
            acc += row[(x + r + 1).min(w - 1)] as u32;
            acc -= row[x.saturating_sub(r)] as u32;
        }
    }
    let mut out = vec![0u8; w * h];
    let mut acc: Vec<u32> = (0..w)
        .map(|x| {
            tmp[x] as u32 * r as u32
                + (0..=r)
                    .map(|i| tmp[i.min(h - 1) * w + x] as u32)
                    .sum::<u32>()
        })
        .collect();
    for y in 0..h {
        let add = (y + r + 1).min(h - 1) * w;
        let sub = y.saturating_sub(r) * w;
        for x in 0..w {
            out[y * w + x] = (acc[x] / n) as u8;
            acc[x] += tmp[add + x] as u32;
            acc[x] -= tmp[sub + x] as u32;
        }
    }
    GrayImage::from_raw(w as u32, h as u32, out).expect("buffer size matches")
}

/// Unsharp mask: `p + amount * (p - blur_r(p))`, against lens blur.
pub fn sharpen(img: &GrayImage, r: usize, amount: f32) -> GrayImage {
    let blurred = box_blur(img, r);
    let k = (amount * 256.0) as i32;
    let px: Vec<u8> = img
        .as_raw()
        .iter()
        .zip(blurred.as_raw())
        .map(|(&p, &b)| {
            let p = p as i32;
            (p + ((p - b as i32) * k) / 256).clamp(0, 255) as u8
        })
        .collect();
    GrayImage::from_raw(img.width(), img.height(), px).expect("buffer size matches")
}

/// Grey-level closing of light seams: a vertical minimum filter then a vertical maximum
/// filter, both of radius `k` (dark spreads over thin light rows, then shrinks back).
pub fn close_vertical_gray(img: &GrayImage, k: usize) -> GrayImage {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let mut a = img.as_raw().clone();
    for (take_min, out_is_a) in [(true, false), (false, true)] {
        let mut b = vec![0u8; w * h];
        for y in 0..h {
            let lo = y.saturating_sub(k);
            let hi = (y + k).min(h - 1);
            for x in 0..w {
                let mut v = a[lo * w + x];
                for yy in lo + 1..=hi {
                    let c = a[yy * w + x];
                    v = if take_min { v.min(c) } else { v.max(c) };
                }
                b[y * w + x] = v;
            }
        }
        let _ = out_is_a;
        a = b;
    }
    GrayImage::from_raw(w as u32, h as u32, a).expect("buffer size matches")
}

/// Adaptive threshold: a pixel is dark when it is darker than `(100 - pct)`% of the mean of
/// the `(2r+1)`-square window around it. The window mean comes from an integral image, so
/// the cost does not depend on `r`.
pub fn adaptive_threshold(img: &GrayImage, r: usize, pct: u32) -> Bitmap {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let src = img.as_raw();
    let iw = w + 1;
    let mut integral = vec![0u32; iw * (h + 1)];
    for y in 0..h {
        let mut rowsum = 0u32;
        let row = &src[y * w..y * w + w];
        for x in 0..w {
            rowsum += row[x] as u32;
            integral[(y + 1) * iw + x + 1] = integral[y * iw + x + 1] + rowsum;
        }
    }
    let mut px = vec![false; w * h];
    let k = 100 - pct.min(99);
    for y in 0..h {
        let y0 = y.saturating_sub(r);
        let y1 = (y + r + 1).min(h);
        let top = y0 * iw;
        let bottom = y1 * iw;
        let row = &src[y * w..y * w + w];
        let out = &mut px[y * w..y * w + w];
        for x in 0..w {
            let x0 = x.saturating_sub(r);
            let x1 = (x + r + 1).min(w);
            let sum = integral[bottom + x1] + integral[top + x0]
                - integral[bottom + x0]
                - integral[top + x1];
            let count = ((y1 - y0) * (x1 - x0)) as u32;
            // row[x] < mean * k / 100
            out[x] = (row[x] as u32) * count * 100 < sum * k;
        }
    }
    Bitmap { w, h, px }
}

/// Close light gaps up to `2k` pixels tall inside dark areas: vertical dilation of dark by
/// `k` then erosion by `k`. Terminal fonts whose block glyphs do not fill the cell leave
/// exactly such horizontal seams between text rows.
pub fn close_vertical(b: &Bitmap, k: usize) -> Bitmap {
    if k == 0 {
        return b.clone();
    }
    let (w, h) = (b.w, b.h);
    let dil = vertical_filter(&b.px, w, h, k, true);
    let ero = vertical_filter(&dil, w, h, k, false);
    Bitmap { w, h, px: ero }
}

/// Vertical max (any dark, `dilate`) or min (all dark) filter of radius k; outside the
/// image is light.
fn vertical_filter(px: &[bool], w: usize, h: usize, k: usize, dilate: bool) -> Vec<bool> {
    let mut out = vec![false; w * h];
    // count of dark pixels in the running window, per column
    let mut count = vec![0usize; w];
    // window for output row y is [y-k, y+k]
    for y in 0..k.min(h) {
        for x in 0..w {
            count[x] += px[y * w + x] as usize;
        }
    }
    for y in 0..h {
        let add = y + k;
        if add < h {
            for x in 0..w {
                count[x] += px[add * w + x] as usize;
            }
        }
        if y > k {
            let sub = y - k - 1;
            for x in 0..w {
                count[x] -= px[sub * w + x] as usize;
            }
        }
        // outside the image counts as light
        let n = 2 * k + 1;
        for x in 0..w {
            out[y * w + x] = if dilate { count[x] > 0 } else { count[x] == n };
        }
    }
    out
}

/// What the finder-pattern probe saw.
#[derive(Debug, Clone, Copy, Default)]
pub struct Evidence {
    /// Row runs shaped like a finder pattern (1:1:3:1:1), dark centre.
    pub dark_hits: usize,
    /// The same with a light centre (an inverted code).
    pub light_hits: usize,
    /// Median module size in pixels over the hits (0 when none).
    pub module: f32,
    /// Groups of hits on nearby rows at the same place and scale: finder-pattern candidates.
    /// A code needs three.
    pub finders: usize,
}

/// Scan every other row for runs in the ratio 1:1:3:1:1, the signature of a QR finder
/// pattern crossed by a line, in both polarities.
pub fn finder_evidence(b: &Bitmap) -> Evidence {
    let mut units: Vec<f32> = Vec::new();
    let mut ev = Evidence::default();
    // (centre x, last row, unit, polarity, hits)
    let mut clusters: Vec<(f32, usize, f32, bool, usize)> = Vec::new();
    let mut runs: Vec<(bool, u32)> = Vec::with_capacity(256);
    for y in (0..b.h).step_by(2) {
        runs.clear();
        let row = &b.px[y * b.w..(y + 1) * b.w];
        let mut cur = row[0];
        let mut len = 0u32;
        for &p in row {
            if p == cur {
                len += 1;
            } else {
                runs.push((cur, len));
                cur = p;
                len = 1;
            }
        }
        runs.push((cur, len));
        if runs.len() < 5 {
            continue;
        }
        let mut start = 0u32;
        for (i, win) in runs.windows(5).enumerate() {
            if i > 0 {
                start += runs[i - 1].1;
            }
            let l: [f32; 5] = [
                win[0].1 as f32,
                win[1].1 as f32,
                win[2].1 as f32,
                win[3].1 as f32,
                win[4].1 as f32,
            ];
            let total: f32 = l.iter().sum();
            if total < 7.0 {
                continue;
            }
            let unit = total / 7.0;
            let tol = unit * 0.7;
            if (l[0] - unit).abs() <= tol
                && (l[1] - unit).abs() <= tol
                && (l[2] - 3.0 * unit).abs() <= tol * 1.8
                && (l[3] - unit).abs() <= tol
                && (l[4] - unit).abs() <= tol
            {
                if win[2].0 {
                    ev.dark_hits += 1;
                } else {
                    ev.light_hits += 1;
                }
                if units.len() < 4096 {
                    units.push(unit);
                }
                let cx = start as f32 + total / 2.0;
                let dark = win[2].0;
                match clusters.iter_mut().rev().find(|c| {
                    c.3 == dark
                        && y - c.1 <= 4
                        && (c.0 - cx).abs() <= c.2.max(unit) * 1.5
                        && (c.2 / unit).max(unit / c.2) < 1.6
                }) {
                    Some(c) => {
                        c.1 = y;
                        c.4 += 1;
                    }
                    None => {
                        if clusters.len() < 10_000 {
                            clusters.push((cx, y, unit, dark, 1));
                        }
                    }
                }
            }
        }
    }
    ev.finders = clusters.iter().filter(|c| c.4 >= 2).count();
    if !units.is_empty() {
        let mid = units.len() / 2;
        units.select_nth_unstable_by(mid, |a, b| a.total_cmp(b));
        ev.module = units[mid];
    }
    ev
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_vertical_fills_thin_seams_only() {
        // a 10-row dark column with a light seam of 2 rows, next to a light column
        let (w, h) = (2, 12);
        let mut px = vec![false; w * h];
        for y in 1..11 {
            if y != 5 && y != 6 {
                px[y * w] = true;
            }
        }
        let b = Bitmap { w, h, px };
        let c = close_vertical(&b, 1);
        for y in 1..11 {
            assert!(c.px[y * w], "row {y}");
        }
        assert!(!c.px[0] && !c.px[11 * w]);
        assert!((0..h).all(|y| !c.px[y * w + 1]));
    }

    #[test]
    fn downscale_averages_blocks() {
        let img = GrayImage::from_fn(4, 2, |x, _| image::Luma([if x < 2 { 0 } else { 200 }]));
        let d = downscale(&img, 2);
        assert_eq!(d.dimensions(), (2, 1));
        assert_eq!(d.as_raw(), &vec![0, 200]);
    }
}
