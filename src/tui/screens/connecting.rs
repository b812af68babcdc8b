//! Connecting: the link's states as they move (ICE, DTLS, SCTP), a timeout, and what to
//! try when it fails.

use crossterm::event::KeyCode;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::Frame;

use crate::rtc::CONNECT_TIMEOUT;
use crate::tui::app::App;
use crate::tui::keys::{always, ch, plain, Binding, Q_QUIT};
use crate::tui::ui;

fn failed(app: &App) -> bool {
    app.pairing.conn.failed.is_some()
}

/// Connecting's keys.
pub const KEYS: &[Binding] = &[
    Binding {
        label: "r",
        chords: &[ch('r')],
        hint: |_| "retry",
        help: "after a failure: try again with a new code",
        when: failed,
        run: |app, _| app.retry(),
    },
    Binding {
        label: "Esc",
        chords: &[plain(KeyCode::Esc), ch('n')],
        hint: |app| {
            if app.esc_to_chat() {
                "back to the chat"
            } else if failed(app) {
                "new pairing"
            } else {
                "cancel"
            }
        },
        help: "",
        when: always,
        run: |app, _| app.back(),
    },
    Q_QUIT,
];

pub fn draw(f: &mut Frame, area: Rect, app: &App) {
    let mut lines = vec![];
    match &app.pairing.conn.failed {
        None => {
            let waited = app
                .pairing
                .conn
                .since
                .map(|s| app.now.saturating_sub(s))
                .unwrap_or_default();
            // A known peer: found, asked (its user answers), then the link comes up.
            let what = match &app.pairing.known {
                Some(k) if app.starter() => format!(
                    " Asking {}, a known peer… {}",
                    k.peer.name,
                    ui::secs(waited)
                ),
                Some(k) => format!(
                    " Connecting to {}, a known peer… {}",
                    k.peer.name,
                    ui::secs(waited)
                ),
                None => format!(
                    " Connecting directly to the other side… {} (gives up after {} s)",
                    ui::secs(waited),
                    CONNECT_TIMEOUT.as_secs()
                ),
            };
            lines.push(Line::from(vec![
                Span::styled(ui::spinner(app), ui::key_style()),
                Span::raw(what),
            ]));
        }
        Some(why) => {
            lines.push(Line::styled(
                format!("Could not connect: {why}"),
                ui::err_style(),
            ));
        }
    }
    lines.push(Line::raw(""));
    let states = if app.pairing.conn.states.is_empty() {
        "new".to_string()
    } else {
        app.pairing.conn.states.join(" → ")
    };
    lines.push(Line::raw(format!("link: {states}")));
    lines.push(Line::styled(
        "(ICE checks the addresses, DTLS sets up encryption, SCTP opens the chat channel)",
        ui::dim_style(),
    ));
    if app.pairing.conn.failed.is_some() {
        lines.push(Line::raw(""));
        lines.push(Line::styled("What to try:", ui::warn_style()));
        lines.push(Line::raw(
            "• Are both computers on the same network (same Wi-Fi, no guest isolation)?",
        ));
        lines.push(Line::raw(
            "• A firewall may drop UDP: allow qrchat, or try another network.",
        ));
        lines.push(Line::raw(
            "• Across networks, add a STUN server on both sides: --stun stun:HOST:PORT",
        ));
        lines.push(Line::raw(
            "• Where a NAT lets no direct path through, relay through a TURN server:",
        ));
        lines.push(Line::raw(
            "  --turn turn:HOST:PORT --turn-user NAME --turn-password SECRET",
        ));
        lines.push(Line::raw(
            "• Limit addresses with --bind ADDR if one side has many interfaces.",
        ));
        let missing = match (app.opts.stun, app.opts.turn) {
            (false, false) => Some("  (no --stun or --turn server is configured)"),
            (true, false) => Some("  (no --turn server is configured)"),
            (false, true) => Some("  (no --stun server is configured)"),
            (true, true) => None,
        };
        if let Some(m) = missing {
            lines.push(Line::styled(m, ui::dim_style()));
        }
    }
    let r = ui::centered(area, 84, lines.len() as u16 + 2);
    ui::boxed(f, r, "connecting", lines);
}
