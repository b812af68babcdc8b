//! `qrchat scan [--raw] IMAGE...` and `qrchat cameras`.
//!
//! `scan --raw` writes each image's QR payload bytes to stdout exactly, each followed by a
//! newline, in order, nothing else (one code per line, as `qrchat offer` prints its code and
//! as `zbarimg --raw` does: `$(...)` and `read` take the code as it was, several images
//! stay apart, and the shell's prompt does not run on after it); any image without a
//! readable code is named on stderr and the command exits non-zero (after trying every
//! image). Without `--raw`, each image gets one line on stdout:
//! `IMAGE: <summary of the blob>`, or `IMAGE: a QR code, but not a qrchat code: <reason>`;
//! images without any code are named on stderr and make the exit non-zero.
//!
//! `cameras` prints one camera per line (`INDEX: NAME (DESCRIPTION)`) on stdout, each
//! followed by indented lines of what it offers and the order qrchat tries. A machine
//! without a camera is not an error: it prints `no camera found ...; use --camera-file PATH
//! or paste the code` and exits 0, so scripts can tell "none" from a failure (which exits
//! non-zero with the reason).

use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Context};

use crate::{camera, qr};
// signal: public API only (decode, summarize)

/// Run `qrchat scan`: results on stdout, per-image problems on stderr.
pub fn run_scan(raw: bool, images: &[PathBuf]) -> anyhow::Result<()> {
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    scan_to(raw, images, &mut stdout.lock(), &mut stderr.lock())
}

/// [`run_scan`] writing to `out` and `err`.
pub fn scan_to(
    raw: bool,
    images: &[PathBuf],
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<()> {
    let mut failed = Vec::new();
    let mut scanner = qr::Scanner::new();
    for path in images {
        let shown = path.display().to_string();
        let frame = match camera::load_luma(path) {
            Ok(f) => f,
            Err(e) => {
                let _ = writeln!(err, "{e}");
                failed.push(shown);
                continue;
            }
        };
        if raw {
            match scanner.scan(&frame, |_| true) {
                Some(bytes) => {
                    out.write_all(&bytes).context("writing to stdout")?;
                    out.write_all(b"\n").context("writing to stdout")?;
                    out.flush().context("writing to stdout")?;
                }
                None => {
                    let _ = writeln!(err, "{shown}: no QR code found");
                    failed.push(shown);
                }
            }
            continue;
        }
        // prefer a qrchat blob when the image holds several codes; remember a foreign one
        let mut foreign: Option<(Vec<u8>, String)> = None;
        let found = scanner.scan(&frame, |bytes| match check_blob(bytes) {
            Ok(_) => true,
            Err(reason) => {
                if foreign.is_none() {
                    foreign = Some((bytes.to_vec(), reason));
                }
                false
            }
        });
        match (found, foreign) {
            (Some(bytes), _) => {
                let summary = check_blob(&bytes).unwrap_or_else(|e| e);
                writeln!(out, "{shown}: {summary}").context("writing to stdout")?;
            }
            (None, Some((_, reason))) => {
                writeln!(out, "{shown}: a QR code, but not a qrchat code: {reason}")
                    .context("writing to stdout")?;
            }
            (None, None) => {
                let _ = writeln!(err, "{shown}: no QR code found");
                failed.push(shown);
            }
        }
    }
    match failed.len() {
        0 => Ok(()),
        1 => bail!("no QR code read from {}", failed[0]),
        n => bail!("no QR code read from {n} images: {}", failed.join(", ")),
    }
}

/// The blob check: `Ok(summary line)` for a qrchat blob, `Err(reason)` otherwise.
fn check_blob(bytes: &[u8]) -> Result<String, String> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| "the code holds binary data, not text".to_string())?;
    blob_summary(text.trim())
}

/// Decode and summarise with the signal codec.
fn blob_summary(text: &str) -> Result<String, String> {
    crate::signal::decode(text)
        .map(|d| crate::signal::summarize(&d).to_string())
        .map_err(|e| e.to_string())
}

/// Run `qrchat cameras`.
pub fn run_cameras() -> anyhow::Result<()> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match camera::list() {
        Ok(cams) if cams.is_empty() => {
            writeln!(out, "{}", camera::CameraError::NoCamera(String::new()))?;
        }
        Ok(cams) => {
            for c in cams {
                writeln!(out, "{c}")?;
                let offered = camera::offered_modes(c.index).map_err(|e| e.to_string());
                for line in offered_lines(&offered) {
                    writeln!(out, "    {line}")?;
                }
            }
        }
        Err(e @ camera::CameraError::NoCamera(_)) => writeln!(out, "{e}")?,
        Err(e) => return Err(e).context("listing cameras"),
    }
    Ok(())
}

/// What a camera offers, for `qrchat cameras`: one line per pixel format (its
/// resolutions, largest first, each with its highest frame rate), then the mode qrchat
/// tries first and the fallbacks after it; or why the camera cannot be asked.
pub fn offered_lines(offered: &Result<Vec<camera::Mode>, String>) -> Vec<String> {
    let modes = match offered {
        Ok(m) => m,
        Err(reason) => return vec![format!("cannot be opened: {reason}")],
    };
    if modes.is_empty() {
        return vec!["offers no format qrchat can read".into()];
    }
    // format -> (width, height, highest fps) in the order the camera lists them
    type Sizes = Vec<(u32, u32, u32)>;
    let mut by_format: Vec<(camera::PixelFormat, Sizes)> = Vec::new();
    for m in modes {
        let i = match by_format.iter().position(|(f, _)| *f == m.format) {
            Some(i) => i,
            None => {
                by_format.push((m.format, Vec::new()));
                by_format.len() - 1
            }
        };
        let sizes = &mut by_format[i].1;
        match sizes
            .iter_mut()
            .find(|(w, h, _)| (*w, *h) == (m.width, m.height))
        {
            Some(s) => s.2 = s.2.max(m.fps),
            None => sizes.push((m.width, m.height, m.fps)),
        }
    }
    let mut lines: Vec<String> = by_format
        .into_iter()
        .map(|(f, mut sizes)| {
            sizes.sort_by_key(|s| std::cmp::Reverse(s.0 * s.1));
            let list: Vec<String> = sizes
                .iter()
                .map(|(w, h, fps)| format!("{w}x{h}@{fps}"))
                .collect();
            format!("{f}: {}", list.join(" "))
        })
        .collect();
    let order: Vec<String> = camera::choose::format_order(modes)
        .iter()
        .map(|m| m.to_string())
        .collect();
    lines.push(format!("qrchat tries: {}", order.join(", then ")));
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use camera::{Mode, PixelFormat::*};

    #[test]
    fn cameras_lists_each_format_and_the_order_qrchat_tries() {
        let offered = Ok(vec![
            Mode::new(Yuyv, 640, 480, 30),
            Mode::new(Yuyv, 1280, 720, 10),
            Mode::new(Mjpeg, 1280, 720, 30),
            Mode::new(Mjpeg, 1280, 720, 15),
            Mode::new(Mjpeg, 1920, 1080, 30),
        ]);
        assert_eq!(
            offered_lines(&offered),
            vec![
                "YUYV: 1280x720@10 640x480@30",
                "MJPEG: 1920x1080@30 1280x720@30",
                "qrchat tries: 1280x720 MJPEG @30 fps, then 1280x720 YUYV @10 fps",
            ]
        );
        assert_eq!(
            offered_lines(&Err("Device or resource busy".into())),
            vec!["cannot be opened: Device or resource busy"]
        );
    }
}
