//! Chat: scrollback with times and senders, wrapped; a status bar with the peer, the
//! link state and the safety number; an input with history and multi-line paste.
//!
//! Drawing touches only the lines on screen: the view is anchored on the message at its
//! bottom, so 10,000 messages cost no more than 10.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Position, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};
use ratatui::Frame;
use unicode_segmentation::UnicodeSegmentation;
use unicode_width::UnicodeWidthStr;

use std::time::Duration;

use crate::rtc::LinkState;
use crate::tui::app::{App, ChatLine, Delivery, Who, NOT_RESPONDING};
use crate::tui::event::Effect;
use crate::tui::files::{self, Completion};
use crate::tui::input;
use crate::tui::keys::{alt, always, ctrl, plain, Binding, Chord};
use crate::tui::ui;

/// "HH:MM name  " before each message.
pub const PREFIX: u16 = 12;
/// Most rows the composer grows to; past that it scrolls.
pub const INPUT_ROWS: u16 = 5;
/// The composer's "> " and a column for the cursor at the end of a full row.
const COMPOSER_MARGIN: u16 = 3;

fn scrolled(app: &App) -> bool {
    app.chat.scroll.is_some()
}

/// An offer waits for an answer.
fn answerable(app: &App) -> bool {
    app.asking().next().is_some()
}

/// The chat's keys (everything else goes to the composer).
///
/// An offer is answered with Ctrl-Y / Ctrl-N (or `/accept`, `/decline`), never with a
/// plain letter: a reply that starts with "y" or "n" is a message, whatever is offered.
pub const KEYS: &[Binding] = &[
    Binding {
        label: "Ctrl-Y",
        chords: &[ctrl('y')],
        hint: |_| "accept files",
        help: "while files are offered: accept them (also /accept). A control key, so no \
               typed word can accept or decline",
        when: answerable,
        run: |app, _| app.answer_offer(true),
    },
    Binding {
        label: "Ctrl-N",
        chords: &[ctrl('n')],
        hint: |_| "decline",
        help: "while files are offered: decline them (also /decline)",
        when: answerable,
        run: |app, _| app.answer_offer(false),
    },
    Binding {
        label: "Esc",
        chords: &[plain(KeyCode::Esc)],
        hint: |_| "keep as text",
        help: "",
        when: |app| app.dropped.is_some(),
        run: |app, _| {
            if let Some(text) = app.dropped.take() {
                app.composer.clear();
                app.composer.insert(&text);
                app.composer_note = None;
            }
            vec![]
        },
    },
    Binding {
        label: "Tab",
        chords: &[plain(KeyCode::Tab)],
        hint: |_| "complete path",
        help: "after /send: complete the path (again: list what fits)",
        when: |app| {
            app.composer.text().starts_with(files::SEND)
                && app.composer.cursor() == app.composer.text().len()
        },
        run: |app, _| {
            complete(app);
            vec![]
        },
    },
    Binding {
        label: "Ctrl-X",
        chords: &[ctrl('x')],
        hint: |_| "cancel transfer",
        help: "stop the file transfers under way, both ways (also /cancel)",
        when: |app| app.cancellable().next().is_some() || app.asking().next().is_some(),
        run: |app, _| app.cancel_transfers(),
    },
    Binding {
        label: "Ctrl-O",
        chords: &[ctrl('o')],
        hint: |_| "not them? new code",
        help: "after a peer joined by handing its answer over (one scan): drop it and show a new code, keeping this chat",
        when: |app| app.pairing.direct && app.pairing.peer.left.is_none(),
        run: |app, _| app.drop_direct_peer(),
    },
    Binding {
        label: "Ctrl-R",
        chords: &[ctrl('r')],
        hint: |app| {
            if app.pairing.known.is_some() {
                "ask again, keep chat"
            } else {
                "new code, keep chat"
            }
        },
        help: "once the link is gone: pair again with a new code, keeping this chat (Esc on \
               its screens comes back to it); with a known peer, ask it again by name",
        when: |app| app.pairing.peer.left.is_some(),
        run: |app, _| app.repair(),
    },
    Binding {
        label: "Esc",
        chords: &[plain(KeyCode::Esc)],
        hint: |app| {
            if app.pairing.peer.left.is_some() {
                "new pairing"
            } else {
                "newest"
            }
        },
        help: "back to the newest message; once the link is gone: a new pairing",
        when: |app| app.pairing.peer.left.is_some() || scrolled(app),
        run: |app, _| app.back(),
    },
    Binding {
        label: "Enter",
        chords: &[plain(KeyCode::Enter)],
        // Once the link is gone Enter sends nothing (it says so): not offered.
        hint: |app| if app.pairing.peer.left.is_some() { "" } else { "send" },
        help: "send the message",
        when: always,
        run: |app, _| send(app),
    },
    Binding {
        label: "Alt-Enter",
        chords: &[
            alt(KeyCode::Enter),
            Chord {
                code: KeyCode::Enter,
                mods: KeyModifiers::SHIFT,
            },
            ctrl('j'),
        ],
        hint: |_| "new line",
        help: "a new line in the message (also Ctrl-J)",
        when: always,
        run: |app, _| {
            app.composer.insert("\n");
            vec![]
        },
    },
    Binding {
        label: "↑↓",
        chords: &[plain(KeyCode::Up), plain(KeyCode::Down)],
        hint: |_| "",
        help: "move between the message's lines; from its first or last line: the messages sent before",
        when: always,
        run: |app, key| {
            let w = composer_width(app);
            if key.code == KeyCode::Up {
                app.composer.up(w);
            } else {
                app.composer.down(w);
            }
            vec![]
        },
    },
    Binding {
        label: "PgUp/PgDn",
        chords: &[plain(KeyCode::PageUp), plain(KeyCode::PageDown)],
        hint: |_| "scroll",
        help: "scroll the chat",
        when: always,
        run: |app, key| {
            let (width, rows) = viewport(app);
            let page = rows.saturating_sub(1).max(1);
            if key.code == KeyCode::PageUp {
                scroll_up(app, page, width);
            } else {
                scroll_down(app, page, width);
            }
            vec![]
        },
    },
    Binding {
        label: "End",
        chords: &[plain(KeyCode::End)],
        hint: |_| "newest",
        help: "back to the newest message (when scrolled back, with nothing typed)",
        when: |app| scrolled(app) && app.composer.is_empty(),
        run: |app, _| {
            follow(app);
            vec![]
        },
    },
];

/// A key for the composer.
pub fn type_key(app: &mut App, key: KeyEvent) -> Vec<Effect> {
    let before = app.composer.text().to_string();
    app.composer.key(key, true);
    composer_changed(app, &before);
    vec![]
}

/// Tab after `/send`: complete the path being typed, or list what fits.
fn complete(app: &mut App) {
    let cwd = app.opts.cwd.clone().unwrap_or_default();
    match files::complete(app.composer.text(), app.opts.home.as_deref(), &cwd) {
        Completion::Append(more) => {
            app.composer.insert(&more);
            app.composer_note = None;
        }
        Completion::Candidates(names) => {
            let names: Vec<String> = names
                .iter()
                .map(|n| crate::chat::sanitize_line(n))
                .collect();
            app.composer_note = Some(names.join("  "));
        }
        Completion::Nothing => app.composer_note = Some("no file or folder fits".into()),
    }
}

/// A paste into the chat. Nothing but existing paths (files dropped onto the terminal),
/// into an empty composer with a qrchat peer: the composer becomes `/send 'PATH'...`,
/// ready for Enter; Esc keeps the paste as text. Anything else is text.
pub fn paste(app: &mut App, text: String) {
    let can_send = app.pairing.peer.left.is_none() && app.pairing.peer_qrchat != Some(false);
    if app.composer.is_empty() && can_send {
        if let Some(paths) = files::dropped(&text, app.opts.home.as_deref()) {
            let quoted: Vec<String> = paths
                .iter()
                .map(|p| files::quote(&p.display().to_string()))
                .collect();
            app.composer
                .set(&format!("{}{}", files::SEND, quoted.join(" ")));
            app.composer_note = Some(format!(
                "Enter sends {} to the peer; Esc keeps the paste as text",
                files::describe(&paths)
            ));
            app.dropped = Some(text);
            return;
        }
    }
    app.composer.insert(&text);
    app.composer_note = None;
    app.dropped = None;
}

/// Text the terminal may draw wider than we count (emoji sequences, flags, combining
/// marks) was removed from the composer: repaint the screen so no half of it stays behind.
fn composer_changed(app: &mut App, before: &str) {
    let now = app.composer.text();
    if now != before {
        app.composer_note = None;
        app.dropped = None;
    }
    if now.len() < before.len() && before.graphemes(true).any(|g| g.chars().nth(1).is_some()) {
        app.repaint = true;
    }
}

fn send(app: &mut App) -> Vec<Effect> {
    let text = app.composer.text();
    if text.trim().is_empty() {
        return vec![];
    }
    if app.pairing.peer.left.is_some() {
        app.push_line(Who::Warn, "the link is gone: nothing was sent".into());
        return vec![];
    }
    if text.len() > crate::chat::MAX_MESSAGE_BYTES {
        let n = text.len();
        app.push_line(
            Who::Warn,
            format!(
                "too long to send ({n} bytes, at most {}): nothing was sent",
                crate::chat::MAX_MESSAGE_BYTES
            ),
        );
        return vec![];
    }
    let before = text.to_string();
    let text = match command(&before) {
        Parsed::Text(text) => text,
        Parsed::Unknown(word) => {
            // Not sent: the draft stays for fixing the typo.
            let word = crate::chat::sanitize_line(&word);
            app.push_line(
                Who::Warn,
                format!("unknown command {word}; /help lists the commands (//text sends /text)"),
            );
            follow(app);
            return vec![];
        }
        Parsed::Command(cmd) => {
            app.composer.take();
            composer_changed(app, &before);
            follow(app);
            return match cmd {
                Command::Send(args) => app.send_command(&args),
                Command::Save(name) => app.save_peer(&name),
                Command::Cancel => app.cancel_transfers(),
                Command::Accept => app.answer_offer(true),
                Command::Decline => app.answer_offer(false),
                Command::Help => {
                    super::help::open(app);
                    vec![]
                }
                Command::Quit => app.leave_by("/quit"),
            };
        }
    };
    app.composer.take();
    composer_changed(app, &before);
    follow(app);
    app.push_mine(crate::chat::sanitize(&text));
    vec![Effect::Send(text)]
}

/// The marks after my messages, for the help box: (the mark, what it means).
pub const MARKS: &[(&str, &str)] = &[
    (
        "⋯",
        "sent, not yet confirmed by the peer's app (waits through an interrupted link)",
    ),
    ("✓", "delivered: the peer's app showed it"),
    (
        "(not delivered)",
        "the link ended first; Ctrl-R with the same app sends it again (a new chat does not)",
    ),
    ("no mark", "to a browser page, which confirms nothing"),
];

/// The chat's commands for the help box: (what is typed, what it does).
pub const COMMANDS: &[(&str, &str)] = &[
    (
        "/send PATH",
        "offer files and folders to the peer, one or more, as a shell takes them (quotes, \\ \
         escapes, ~); Tab completes the path",
    ),
    ("/accept", "accept the files offered (also Ctrl-Y)"),
    ("/decline", "decline the files offered (also Ctrl-N)"),
    (
        "/cancel",
        "stop the transfers under way, both ways (also Ctrl-X)",
    ),
    (
        "/save NAME",
        "keep the peer as NAME (then: qrchat connect NAME)",
    ),
    ("/help", "this help (also F1)"),
    ("/quit", "leave qrchat (also Ctrl-C)"),
    (
        "//text",
        "send /text as a message; any other /word is a command, and an unknown one is not sent",
    ),
];

/// The chat's commands.
enum Command {
    Send(String),
    Save(String),
    Cancel,
    Accept,
    Decline,
    Help,
    Quit,
}

/// What Enter does with the composer's text.
enum Parsed {
    Command(Command),
    /// `/word` that is no command: said, not sent.
    Unknown(String),
    /// A message (`//text` becomes `/text`).
    Text(String),
}

/// Like irssi and weechat: a first word of `/` and letters is a command, and an unknown one
/// is not sent; `//` sends the rest with one `/`. A word with another `/` in it (a path
/// such as `/etc/hosts`) or a bare `/` is text.
fn command(text: &str) -> Parsed {
    let t = text.trim();
    if let Some(rest) = text.trim_start().strip_prefix("//") {
        return Parsed::Text(format!("/{rest}"));
    }
    let (word, rest) = t.split_once(char::is_whitespace).unwrap_or((t, ""));
    let Some(name) = word.strip_prefix('/') else {
        return Parsed::Text(text.to_string());
    };
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
    {
        return Parsed::Text(text.to_string());
    }
    let bare = rest.trim().is_empty();
    Parsed::Command(match (name, bare) {
        ("send", _) => Command::Send(rest.to_string()),
        ("save", _) => Command::Save(rest.trim().to_string()),
        ("cancel", true) => Command::Cancel,
        ("accept", true) => Command::Accept,
        ("decline", true) => Command::Decline,
        ("help", _) => Command::Help,
        ("quit" | "exit", _) => Command::Quit,
        _ => return Parsed::Unknown(word.to_string()),
    })
}

/// The composer's text width.
pub fn composer_width(app: &App) -> usize {
    app.size.0.saturating_sub(COMPOSER_MARGIN).max(1) as usize
}

/// Rows the composer takes: its wrapped rows, at most [`INPUT_ROWS`].
fn input_rows(app: &App) -> u16 {
    (input::rows(app.composer.text(), composer_width(app)).len() as u16).clamp(1, INPUT_ROWS)
}

/// Rows of the note above the status bar (Tab's candidates, a dropped file).
fn note_rows(app: &App) -> u16 {
    u16::from(app.composer_note.is_some())
}

/// The message area's text width and height for the app's terminal size.
pub fn viewport(app: &App) -> (usize, usize) {
    let (w, h) = app.size;
    let body = h.saturating_sub(2);
    let rows = body.saturating_sub(1 + input_rows(app) + note_rows(app));
    (w.saturating_sub(PREFIX).max(1) as usize, rows as usize)
}

/// Greedy word wrap by display width; words longer than the width are broken.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut out = Vec::new();
    for para in text.split('\n') {
        let mut line = String::new();
        let mut w = 0;
        for word in split_keep_spaces(para) {
            let ww = input::width(word);
            if w + ww <= width {
                line.push_str(word);
                w += ww;
                continue;
            }
            if word.trim().is_empty() {
                // A space at the break: drop it.
                out.push(std::mem::take(&mut line));
                w = 0;
                continue;
            }
            if w > 0 && ww <= width {
                out.push(std::mem::take(&mut line));
                line.push_str(word);
                w = ww;
                continue;
            }
            let ascii = word.bytes().all(|b| (0x20..0x7f).contains(&b));
            let pieces: Box<dyn Iterator<Item = &str>> = if ascii {
                Box::new((0..word.len()).map(|i| &word[i..i + 1]))
            } else {
                Box::new(word.graphemes(true))
            };
            for g in pieces {
                let gw = if ascii { 1 } else { g.width() };
                if w + gw > width && w > 0 {
                    out.push(std::mem::take(&mut line));
                    w = 0;
                }
                line.push_str(g);
                w += gw;
            }
        }
        out.push(line);
    }
    out
}

fn split_keep_spaces(s: &str) -> impl Iterator<Item = &str> {
    let mut rest = s;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let space = rest.starts_with(' ');
        let end = rest
            .char_indices()
            .find(|(_, c)| (*c == ' ') != space)
            .map_or(rest.len(), |(i, _)| i);
        let (a, b) = rest.split_at(end);
        rest = b;
        Some(a)
    })
}

fn rows_of(line: &ChatLine, width: usize) -> usize {
    wrap(&shown(line), width).len()
}

/// A line's text as shown: my messages to a qrchat peer end with their delivery mark
/// (`⋯` pending, `✓` delivered, "(not delivered)").
fn shown(line: &ChatLine) -> std::borrow::Cow<'_, str> {
    match line.delivery {
        Some(d) => format!("{} {}", line.text, d.mark()).into(),
        None => line.text.as_str().into(),
    }
}

/// Follow the newest message again.
pub fn follow(app: &mut App) {
    app.chat.scroll = None;
    app.chat.unseen = 0;
}

/// Scroll up by `n` rows.
pub fn scroll_up(app: &mut App, n: usize, width: usize) {
    let lines = &app.chat.lines;
    if lines.is_empty() {
        return;
    }
    let (mut i, mut hidden) = app.chat.scroll.unwrap_or((lines.len() - 1, 0));
    hidden += n;
    loop {
        let r = rows_of(&lines[i], width);
        if hidden < r {
            break;
        }
        if i == 0 {
            hidden = r - 1;
            break;
        }
        hidden -= r;
        i -= 1;
    }
    // Do not scroll past the top: the first row stays at the top of the view.
    let (_, rows) = viewport(app);
    let mut above = rows_of(&lines[i], width) - hidden;
    let mut j = i;
    while above < rows && j > 0 {
        j -= 1;
        above += rows_of(&lines[j], width);
    }
    if above < rows {
        // Anchor so that message 0 starts at the top row.
        let mut filled = 0;
        let mut k = 0;
        loop {
            let r = rows_of(&lines[k], width);
            if filled + r >= rows || k + 1 == lines.len() {
                i = k;
                hidden = (filled + r).saturating_sub(rows);
                break;
            }
            filled += r;
            k += 1;
        }
    }
    if i + 1 == lines.len() && hidden == 0 {
        follow(app);
    } else {
        app.chat.scroll = Some((i, hidden));
    }
}

/// Scroll down by `n` rows.
pub fn scroll_down(app: &mut App, n: usize, width: usize) {
    let Some((mut i, hidden)) = app.chat.scroll else {
        return;
    };
    let lines = &app.chat.lines;
    let mut hidden = hidden as isize - n as isize;
    while hidden < 0 {
        i += 1;
        if i >= lines.len() {
            follow(app);
            return;
        }
        hidden += rows_of(&lines[i], width) as isize;
    }
    if i + 1 == lines.len() && hidden == 0 {
        follow(app);
    } else {
        app.chat.scroll = Some((i, hidden as usize));
    }
}

pub fn draw(f: &mut Frame, area: Rect, app: &App) {
    let in_rows = input_rows(app);
    let [msgs, note, status, input] = Layout::vertical([
        Constraint::Min(0),
        Constraint::Length(note_rows(app)),
        Constraint::Length(1),
        Constraint::Length(in_rows),
    ])
    .areas(area);
    f.render_widget(Messages(app), msgs);
    if let Some(n) = &app.composer_note {
        f.render_widget(
            Paragraph::new(Line::from(Span::styled(format!(" {n}"), ui::key_style()))),
            note,
        );
    }
    f.render_widget(
        Paragraph::new(status_line(app)).style(status_style(app)),
        status,
    );
    draw_input(f, input, app);
}

fn status_style(app: &App) -> Style {
    if app.pairing.peer.left.is_some() {
        Style::new().fg(Color::White).bg(Color::Red)
    } else if app.pairing.peer.interrupted_at.is_some() {
        Style::new().fg(Color::Black).bg(Color::Yellow)
    } else {
        Style::new().fg(Color::Black).bg(Color::Gray)
    }
}

/// The link's state in the user's words, long and short: connected (direct on your
/// network / through a NAT / relayed), interrupted (reconnecting, N s), not responding,
/// gone.
pub fn link_words(app: &App) -> (String, String) {
    let chat = &app.pairing.peer;
    if let Some(r) = &chat.left {
        return (format!("✗ {r}"), "✗ gone".into());
    }
    match &chat.link {
        Some(LinkState::Open { route }) => (format!("● connected ({route})"), "● connected".into()),
        Some(LinkState::Interrupted { .. }) => {
            let n = chat
                .interrupted_at
                .map(|at| app.now.saturating_sub(at).as_secs())
                .unwrap_or(0);
            if Duration::from_secs(n) < NOT_RESPONDING {
                (
                    format!("◌ interrupted (reconnecting, {n} s)"),
                    format!("◌ interrupted {n} s"),
                )
            } else if app.opts.peer_timeout.is_zero() {
                (
                    format!("◌ not responding (reconnecting, {n} s)"),
                    format!("◌ not responding {n} s"),
                )
            } else {
                // When the chat will give up, not how long it has waited.
                let left = app.opts.peer_timeout.as_secs().saturating_sub(n);
                (
                    format!("◌ not responding: the chat ends in {left} s unless the link returns"),
                    format!("◌ not responding, ends in {left} s"),
                )
            }
        }
        Some(s) => (format!("● {s}"), format!("● {s}")),
        None => ("● connecting".into(), "● connecting".into()),
    }
}

/// Messages below the view, and how many of them arrived since scrolling back.
pub fn below(app: &App) -> Option<(usize, usize)> {
    let chat = &app.chat;
    let (i, _) = chat.scroll?;
    let below = chat.lines.len().saturating_sub(i + 1);
    Some((below, chat.unseen.min(below)))
}

/// The status bar: the link's state, the safety number, what is below the view, the
/// peer's address and the round trip, in that order of importance. On a narrow terminal
/// the least important parts go first, then the words shorten; the state and the safety
/// number stay.
fn status_line(app: &App) -> Line<'static> {
    let chat = &app.pairing.peer;
    let bold = Style::new().add_modifier(Modifier::BOLD);
    let (state, short_state) = link_words(app);
    let below_text = below(app).map(|(n, new)| {
        if new > 0 {
            format!("↓ {n} below, {new} new")
        } else {
            format!("↓ {n} below")
        }
    });
    let short_below = below(app).map(|(n, _)| format!("↓ {n}"));
    // Once the peer is gone, why matters more than where it was.
    let peer = match &chat.left {
        None => chat.name.as_ref().map(|p| format!("peer {p}")),
        Some(_) => None,
    };
    // The round trip only while the link is open: once nothing comes back, the last one
    // measured says nothing true.
    let rtt = match (chat.rtt, &chat.left, &chat.link) {
        (Some(rtt), None, Some(LinkState::Open { .. })) => {
            Some(format!("rtt {:.1} ms", rtt.as_secs_f64() * 1e3))
        }
        _ => None,
    };
    let sas = chat.sas.as_ref().map(|s| format!("safety number {s}"));
    let short_sas = chat.sas.clone();
    // From everything down to the bare minimum: the first that fits is drawn.
    let full = |st: &String, rtt_too: bool| {
        vec![
            (Some(st.clone()), false),
            (sas.clone(), true),
            (below_text.clone(), true),
            (peer.clone(), false),
            (if rtt_too { rtt.clone() } else { None }, false),
        ]
    };
    let variants: Vec<Vec<(Option<String>, bool)>> = vec![
        full(&state, true),
        full(&short_state, true),
        full(&state, false),
        full(&short_state, false),
        vec![
            (Some(short_state.clone()), false),
            (sas.clone(), true),
            (below_text.clone(), true),
        ],
        vec![
            (Some(short_state.clone()), false),
            (sas.clone(), true),
            (short_below.clone(), true),
        ],
        vec![
            (Some(short_state.clone()), false),
            (short_sas.clone(), true),
            (short_below, true),
        ],
        vec![(Some(short_state), false), (short_sas, true)],
    ];
    let width = app.size.0 as usize;
    let build = |parts: &[(Option<String>, bool)]| -> (usize, Line<'static>) {
        let mut spans = Vec::new();
        let mut w = 0;
        for (text, strong) in parts {
            let Some(t) = text else { continue };
            let t = if spans.is_empty() {
                format!(" {t} ")
            } else {
                format!("│ {t} ")
            };
            w += input::width(&t);
            spans.push(if *strong {
                Span::styled(t, bold)
            } else {
                Span::raw(t)
            });
        }
        (w, Line::from(spans))
    };
    let last = variants.len() - 1;
    for (k, v) in variants.iter().enumerate() {
        let (w, line) = build(v);
        if w <= width || k == last {
            return line;
        }
    }
    unreachable!("the last variant is always returned")
}

fn draw_input(f: &mut Frame, area: Rect, app: &App) {
    let text = app.composer.text();
    if text.is_empty() {
        let long = "type a message (/send FILE sends a file)";
        let hint = if app.pairing.peer.left.is_some() {
            "the link is gone: nothing can be sent"
        } else if input::width(long) + 2 <= area.width as usize {
            long
        } else {
            "type a message"
        };
        f.render_widget(
            Paragraph::new(Line::from(vec![
                Span::styled("> ", ui::key_style()),
                Span::styled(hint, ui::dim_style()),
            ])),
            area,
        );
        f.set_cursor_position(Position {
            x: area.x + 2,
            y: area.y,
        });
        return;
    }
    let rows = input::rows(text, composer_width(app));
    let (crow, ccol) = input::locate(text, &rows, app.composer.cursor());
    // Show the rows around the cursor: the composer grows to INPUT_ROWS, then scrolls.
    let height = area.height.max(1) as usize;
    let first = (crow + 1).saturating_sub(height);
    let lines: Vec<Line> = rows
        .iter()
        .enumerate()
        .skip(first)
        .take(height)
        .map(|(i, r)| {
            let lead = if i == 0 {
                "> "
            } else if i == first {
                "↑ "
            } else {
                "  "
            };
            Line::from(vec![
                Span::styled(lead, ui::key_style()),
                Span::raw(text[r.clone()].to_string()),
            ])
        })
        .collect();
    f.render_widget(Paragraph::new(lines), area);
    f.set_cursor_position(Position {
        x: area.x + 2 + (ccol as u16).min(area.width.saturating_sub(3)),
        y: area.y + (crow - first) as u16,
    });
}

/// The visible part of the scrollback.
struct Messages<'a>(&'a App);

impl Widget for Messages<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let app = self.0;
        let lines = &app.chat.lines;
        if lines.is_empty() || area.height == 0 {
            return;
        }
        let width = area.width.saturating_sub(PREFIX).max(1) as usize;
        let height = area.height as usize;
        let (mut i, hidden) = app.chat.scroll.unwrap_or((lines.len() - 1, 0));
        i = i.min(lines.len() - 1);
        // Collect rows bottom-up: (line index, row index within it, text, the line's rows).
        let mut rows: Vec<(usize, usize, String, usize)> = Vec::with_capacity(height);
        let mut skip = hidden;
        loop {
            let wrapped = wrap(&shown(&lines[i]), width);
            let n = wrapped.len();
            for (r, text) in wrapped.into_iter().enumerate().rev() {
                if skip > 0 {
                    skip -= 1;
                    continue;
                }
                rows.push((i, r, text, n));
                if rows.len() == height {
                    break;
                }
            }
            if rows.len() == height || i == 0 {
                break;
            }
            i -= 1;
        }
        // Top-aligned when there are fewer rows than the height? No: bottom-aligned, like a chat.
        let y0 = area.y + (height - rows.len()) as u16;
        for (k, (li, r, text, n)) in rows.iter().rev().enumerate() {
            let y = y0 + k as u16;
            let line = &lines[*li];
            let (name, style) = match line.who {
                Who::Me => ("you", Style::new().fg(Color::Cyan)),
                Who::Peer => ("peer", Style::new().fg(Color::Magenta)),
                Who::Info => ("──", ui::ok_style()),
                Who::Warn => ("!!", ui::warn_style()),
            };
            if *r == 0 {
                buf.set_string(area.x, y, &line.time, ui::dim_style());
                buf.set_string(area.x + 6, y, name, style.add_modifier(Modifier::BOLD));
            }
            let text_style = match line.who {
                Who::Info => ui::ok_style(),
                Who::Warn => ui::warn_style(),
                _ => Style::new(),
            };
            buf.set_stringn(area.x + PREFIX, y, text, width, text_style);
            // The mark in its own style, where the line's last row ends with it.
            if let Some(d) = line.delivery {
                let mark = d.mark();
                if *r + 1 == *n && text.ends_with(mark) {
                    let x = area.x + PREFIX + input::width(&text[..text.len() - mark.len()]) as u16;
                    let style = match d {
                        Delivery::NotDelivered => ui::warn_style(),
                        Delivery::Pending | Delivery::Delivered => ui::dim_style(),
                    };
                    buf.set_stringn(x, y, mark, width, style);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_breaks_at_spaces_and_inside_long_words() {
        assert_eq!(wrap("hello big world", 9), vec!["hello big", "world"]);
        assert_eq!(wrap("abcdefghij", 4), vec!["abcd", "efgh", "ij"]);
        assert_eq!(wrap("a\n\nb", 10), vec!["a", "", "b"]);
        assert_eq!(wrap("", 10), vec![""]);
        // Wide characters count two columns.
        assert_eq!(wrap("日本語です", 4), vec!["日本", "語で", "す"]);
        for l in wrap(&"word ".repeat(100), 17) {
            assert!(l.width() <= 17, "{l:?}");
        }
    }
}
