//! Scan: the camera's picture in grayscale half blocks, framed green once a good code is
//! seen; `p` switches to paste. Without a camera the app goes to paste by itself.

use crossterm::event::KeyCode;
use image::GrayImage;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Widget, Wrap};
use ratatui::Frame;

use crate::tui::app::{App, Role};
use crate::tui::keys::{always, ch, plain, Binding, ESC_BACK, Q_QUIT};
use crate::tui::ui;

/// Scan's keys.
pub const KEYS: &[Binding] = &[
    Binding {
        label: "p",
        chords: &[ch('p'), plain(KeyCode::Tab)],
        hint: |_| "paste instead",
        help: "paste the code instead of scanning",
        when: always,
        run: |app, _| app.goto_paste(None),
    },
    ESC_BACK,
    Q_QUIT,
];

pub fn draw(f: &mut Frame, area: Rect, app: &App) {
    let what = match app.pairing.role {
        Some(Role::Starter) => "Hold their answer's QR code up to the camera.",
        _ => "Hold the other side's QR code up to the camera.",
    };
    let camera = app
        .pairing
        .scan
        .camera
        .clone()
        .unwrap_or_else(|| "opening the camera…".into());
    let mut status = vec![Line::from(vec![
        Span::raw(what),
        Span::styled(format!("  camera: {camera}"), ui::dim_style()),
    ])];
    let (border, title) = if let Some((c, _)) = &app.pairing.scan.found {
        status.push(Line::styled(
            {
                // One line: the frame below stays where it is.
                let s = crate::signal::summarize(c);
                let n = s.candidates.len();
                format!(
                    "✓ code seen: {} ({}, {n} candidate{})",
                    s.kind,
                    s.encoding,
                    if n == 1 { "" } else { "s" }
                )
            },
            ui::ok_style(),
        ));
        (ui::ok_style(), " code seen ")
    } else if let Some(e) = &app.pairing.scan.refused {
        status.push(Line::styled(
            format!("A code was seen but: {e}"),
            ui::warn_style(),
        ));
        (ui::warn_style(), " not this code ")
    } else if app.pairing.scan.foreign {
        status.push(Line::styled(
            format!(
                "{}; looking for a qrchat code…",
                crate::tui::camera::FOREIGN_HINT
            ),
            ui::dim_style(),
        ));
        (Style::new(), " camera ")
    } else {
        status.push(Line::styled("looking for a code…", ui::dim_style()));
        (Style::new(), " camera ")
    };
    let [top, view] = Layout::vertical([Constraint::Length(2), Constraint::Min(0)]).areas(area);
    f.render_widget(Paragraph::new(status).wrap(Wrap { trim: false }), top);
    let block = Block::new()
        .borders(Borders::ALL)
        .border_style(border)
        .title(title);
    let inner = block.inner(view);
    f.render_widget(block, view);
    if let Some(img) = &app.pairing.scan.preview {
        f.render_widget(Preview(img), inner);
    }
}

/// A grayscale picture scaled into the area, two pixels per cell (upper half block).
pub struct Preview<'a>(pub &'a GrayImage);

impl Widget for Preview<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let (iw, ih) = self.0.dimensions();
        if iw == 0 || ih == 0 || area.width == 0 || area.height == 0 {
            return;
        }
        // Keep the aspect: a cell is one pixel wide and two tall.
        let scale = (area.width as f32 / iw as f32).min(area.height as f32 * 2.0 / ih as f32);
        let w = ((iw as f32 * scale) as u16).clamp(1, area.width);
        let h = ((ih as f32 * scale / 2.0) as u16).clamp(1, area.height);
        let x0 = area.x + (area.width - w) / 2;
        let y0 = area.y + (area.height - h) / 2;
        let px = |cx: u16, py: u32| -> Color {
            let sx = ((cx as u32 * iw) / w as u32).min(iw - 1);
            let sy = (py * ih / (h as u32 * 2)).min(ih - 1);
            let v = self.0.get_pixel(sx, sy).0[0];
            Color::Rgb(v, v, v)
        };
        for cy in 0..h {
            for cx in 0..w {
                let top = px(cx, cy as u32 * 2);
                let bottom = px(cx, cy as u32 * 2 + 1);
                if let Some(cell) = buf.cell_mut((x0 + cx, y0 + cy)) {
                    cell.set_char('▀').set_fg(top).set_bg(bottom);
                }
            }
        }
    }
}
