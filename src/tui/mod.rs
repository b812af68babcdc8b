//! The terminal app: one `tokio::select!` loop over terminal input, session events,
//! camera frames and a slow tick; `App::update` turns events into state and effects;
//! `ui::draw` paints the state. Network and camera work run as tasks that send events, so
//! the UI never waits on them.
//!
//! The flow, one screen per file under `screens/`:
//! ```text
//! start ──s──▶ my code (gathering… then QR) ──s/p──▶ scan / paste their answer ──▶ connecting ──▶ chat
//!   ├───j──▶ scan (or paste) their code ──▶ my code (my answer's QR, waiting) ────────────────▶ chat
//!   └─Enter on a known peer (or Enter on "bob wants to chat") ──▶ connecting ─────────────────▶ chat
//! ```
//! Each screen's keys are one table (`keys.rs`, `screens/*::KEYS`) that decides what a
//! key does, what the footer offers and what the help box lists. Esc goes back one step
//! and quits only on the first screen; Ctrl-C quits from anywhere (exit 0, terminal
//! restored). The per-pairing state is one `app::Pairing`, replaced whole by the next;
//! the `app::Chat` outlives it (re-pairing keeps the chat).
//!
//! Files: `event.rs` what comes in and goes out (a leaf), `app/` state and update,
//! `runner.rs` effects to tasks, `session/` the seam
//! over the network (trait, rtc adapter, scripted double), `input.rs` the composer,
//! `terminal.rs` the guard, `ui.rs` and `screens/` drawing.

pub mod app;
pub mod camera;
pub mod event;
pub mod files;
pub mod input;
pub mod keys;
pub mod known;
pub mod runner;
pub mod screens;
pub mod session;
pub mod terminal;
pub mod transfers;
pub mod ui;
pub mod words;

#[cfg(test)]
mod tests;

use std::time::{Duration, Instant};

use anyhow::Context;
use crossterm::event::{Event, EventStream};
use futures::StreamExt;
use ratatui::backend::CrosstermBackend;
use ratatui::Terminal;
use tokio::sync::mpsc;

use app::{App, Options};
pub use camera::CameraSpec;
use event::{AppEvent, Notifier};
pub use runner::Runner;

/// What the app is started with (made from the command line by `cli`).
#[derive(Debug, Clone)]
pub struct Config {
    pub rtc: crate::rtc::RtcConfig,
    pub camera: CameraSpec,
    /// Skip the start screen: show my code / join.
    pub start: bool,
    pub join: bool,
    /// `qrchat join CODE`: join with this offer at once (checked by the caller).
    pub code: Option<String>,
    /// Codes in browser JSON.
    pub json: bool,
    /// Save each chat's transcript here.
    pub history: Option<std::path::PathBuf>,
    /// No bell or notifications.
    pub quiet: bool,
    /// `--receive DIR`: accepted files go here (else the download folder's `qrchat/`).
    pub receive: Option<std::path::PathBuf>,
    /// `--no-direct`: strict two-scan pairing.
    pub no_direct: bool,
}

/// Run the app on the terminal until the user quits. Ctrl-C ends it with `Ok(())`.
pub async fn run(mut cfg: Config) -> anyhow::Result<()> {
    let stun = !cfg.rtc.stun.is_empty();
    let turn = !cfg.rtc.turn.is_empty();
    let peer_timeout = cfg.rtc.peer_timeout;
    // Known peers need the lasting identity (the command line loads it unless --ephemeral):
    // the app listens for them and the start screen lists those on this network. Their
    // sessions get a fresh certificate each (ARCHITECTURE.md, "known peers").
    let known = match &cfg.rtc.identity {
        Some(id) => match crate::known::data_dir() {
            Ok(dir) => {
                let fresh = crate::rtc::RtcConfig {
                    identity: None,
                    ..cfg.rtc.clone()
                };
                Some((dir, id.fingerprint(), fresh))
            }
            Err(e) => {
                tracing::info!("known peers are off: {e}");
                None
            }
        },
        None => None,
    };
    // One certificate for the app's whole run: a peer that pairs again with this app
    // sees the same one (and the same safety number).
    if cfg.rtc.identity.is_none() {
        cfg.rtc.identity = Some(crate::rtc::Identity::generate()?);
    }
    // One delivery state likewise (message ids and acks, chat::delivery): after Ctrl-R
    // with the same app, what it never confirmed is sent again, in order, and it shows
    // each message once.
    if cfg.rtc.delivery.is_none() {
        cfg.rtc.delivery = Some(crate::chat::delivery::shared());
    }
    let delivery = cfg.rtc.delivery.clone();
    let known = known.map(|(dir, fp, mut fresh)| {
        // The same delivery state: a reconnect that keeps the chat resends.
        fresh.delivery = delivery.clone();
        let port = crate::known::discovery::port();
        let bind = fresh.bind.clone();
        known::Side::new(dir, fp, port, bind, session::connector(fresh))
    });
    let connector = session::connector(cfg.rtc);
    let camera = cfg.camera;
    let receive_dir = cfg
        .receive
        .clone()
        .or_else(crate::transfer::dirs::default_receive_dir);
    let guard = terminal::TerminalGuard::enter().context("could not set up the terminal")?;
    let mut term = Terminal::new(CrosstermBackend::new(std::io::stdout()))?;
    let size = term.size()?;
    let opts = Options {
        start: cfg.start,
        join: cfg.join,
        code: cfg.code.clone(),
        json: cfg.json,
        size: (size.width, size.height),
        clock_origin: 0,
        started_at: Some(std::time::SystemTime::now()),
        history: cfg.history.is_some(),
        stun,
        turn,
        quiet: cfg.quiet,
        peer_timeout,
        notifier: Notifier::detect(|k| std::env::var(k).ok()),
        in_tmux: std::env::var_os("TMUX").is_some(),
        receive_dir: receive_dir.clone(),
        home: std::env::var_os("HOME")
            .filter(|h| !h.is_empty())
            .map(std::path::PathBuf::from),
        cwd: std::env::current_dir().ok(),
        // One scan, unless asked not to or the codes are for browser pages (which cannot
        // hand an answer over).
        direct: !cfg.no_direct && !cfg.json,
    };
    let (tx, rx) = mpsc::unbounded_channel();
    let runner = Runner::new(connector, camera, tx, Box::new(std::io::stdout()))
        .with_history(cfg.history)
        .with_receive_dir(receive_dir)
        .with_direct(opts.direct)
        .with_delivery(delivery)
        .with_known(known);
    let result = event_loop(&mut term, opts, runner, rx).await;
    let _ = term.show_cursor();
    drop(term);
    drop(guard);
    // After the terminal is back: where each saved chat went.
    for line in result.as_ref().map(|s| s.as_slice()).unwrap_or(&[]) {
        println!("qrchat: {line}");
    }
    result.map(|_| ())
}

async fn event_loop(
    term: &mut Terminal<CrosstermBackend<std::io::Stdout>>,
    opts: Options,
    mut runner: Runner,
    mut rx: mpsc::UnboundedReceiver<AppEvent>,
) -> anyhow::Result<Vec<String>> {
    let started = Instant::now();
    let (mut app, fx) = App::new(opts);
    let mut quit = runner.execute_all(fx);
    runner.presence(app.wants_presence());
    let mut input = EventStream::new();
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut ticks = 0u64;
    #[cfg(unix)]
    let mut term_sig = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    #[cfg(unix)]
    let mut hup_sig = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
    let mut dirty = true;
    while !quit {
        if dirty {
            if std::mem::take(&mut app.repaint) {
                term.clear()?;
            }
            term.draw(|f| ui::draw(f, &app))?;
            dirty = false;
        }
        let event = tokio::select! {
            e = input.next() => match e {
                Some(Ok(e)) => match map_terminal_event(e) {
                    Some(e) => e,
                    None => continue,
                },
                Some(Err(e)) => return Err(e).context("reading the terminal"),
                None => {
                    tracing::info!("terminal input ended");
                    break;
                }
            },
            Some(e) = rx.recv() => e,
            _ = tick.tick() => {
                ticks += 1;
                if !app.animating() && ticks % 10 != 0 {
                    continue;
                }
                AppEvent::Tick
            }
            _ = tokio::signal::ctrl_c() => {
                tracing::info!("SIGINT");
                break;
            }
            _ = sig(&mut term_sig) => {
                tracing::info!("SIGTERM");
                break;
            }
            _ = sig(&mut hup_sig) => {
                tracing::info!("SIGHUP");
                break;
            }
        };
        app.set_now(started.elapsed());
        quit = runner.execute_all(app.update(event));
        // Take whatever else is queued before drawing again (a flood of messages).
        for _ in 0..1000 {
            let Ok(e) = rx.try_recv() else { break };
            quit |= runner.execute_all(app.update(e));
        }
        runner.presence(app.wants_presence());
        dirty = true;
    }
    runner.shutdown().await;
    Ok(runner.saved_lines().to_vec())
}

#[cfg(unix)]
async fn sig(s: &mut tokio::signal::unix::Signal) {
    s.recv().await;
}

fn map_terminal_event(e: Event) -> Option<AppEvent> {
    match e {
        Event::Key(k) => Some(AppEvent::Key(k)),
        Event::Paste(s) => Some(AppEvent::Paste(s)),
        Event::Resize(w, h) => Some(AppEvent::Resize(w, h)),
        Event::FocusGained => Some(AppEvent::Focus(true)),
        Event::FocusLost => Some(AppEvent::Focus(false)),
        Event::Mouse(_) => None,
    }
}
