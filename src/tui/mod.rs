//! The terminal app: one `tokio::select!` loop over terminal input, session events,
//! camera frames and a slow tick; `App::update` turns events into state and effects;
//! `ui::draw` paints the state. Network and camera work run as tasks that send events, so
//! the UI never waits on them.
//!
//! The flow, one screen per file under `screens/`:
//! ```text
//! start ──s──▶ my code (gathering… then QR) ──s/p──▶ scan / paste their answer ──▶ connecting ──▶ chat
//!   └───j──▶ scan (or paste) their code ──▶ my code (my answer's QR, waiting) ────────────────▶ chat
//! ```
//! Keys: Ctrl-C quits from anywhere (exit 0, terminal restored); `?` (F1 while typing)
//! shows help. My code: `t` text/QR, `c` copy (OSC 52), `s` scan / `p` paste the answer.
//! Scan: `p` paste instead. Paste: a bracketed paste or typing, checked as it comes; Enter
//! uses it; Esc goes back. Chat: Enter sends, Alt-Enter or Ctrl-J adds a line, Up/Down
//! recall sent messages, PgUp/PgDn scroll (End follows the newest); Esc after the peer
//! left starts a new pairing. The status bar shows the link state, the safety number and
//! the peer's address.

pub mod app;
pub mod camera;
pub mod input;
pub mod screens;
pub mod seams;
pub mod session;
pub mod terminal;
pub mod ui;

#[cfg(test)]
mod tests;

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use crossterm::event::{Event, EventStream};
use futures::StreamExt;
use ratatui::backend::CrosstermBackend;
use ratatui::Terminal;
use tokio::sync::mpsc::{self, UnboundedReceiver, UnboundedSender};
use tokio::task::JoinHandle;

use crate::cli::Cli;
use app::{App, AppEvent, Effect, Options};
pub use camera::CameraSpec;
use session::{Connector, Link};

/// Run the app on the terminal until the user quits. Ctrl-C ends it with `Ok(())`.
pub async fn run(cli: &Cli) -> anyhow::Result<()> {
    let common = &cli.common;
    let connector = seams::connector(common.rtc_config());
    let camera = CameraSpec {
        index: common.camera,
        file: common.camera_file.clone(),
    };
    let guard = terminal::TerminalGuard::enter().context("could not set up the terminal")?;
    let mut term = Terminal::new(CrosstermBackend::new(std::io::stdout()))?;
    let size = term.size()?;
    let clock_origin = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let opts = Options {
        start: cli.start,
        join: cli.join,
        json: common.json,
        size: (size.width, size.height),
        clock_origin,
        stun: !common.stun.is_empty(),
    };
    let result = event_loop(&mut term, opts, connector, camera).await;
    let _ = term.show_cursor();
    drop(term);
    drop(guard);
    result
}

async fn event_loop(
    term: &mut Terminal<CrosstermBackend<std::io::Stdout>>,
    opts: Options,
    connector: Arc<dyn Connector>,
    camera: CameraSpec,
) -> anyhow::Result<()> {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut runner = Runner::new(connector, camera, tx);
    let started = Instant::now();
    let (mut app, fx) = App::new(opts);
    let mut quit = runner.execute_all(fx);
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
        dirty = true;
    }
    runner.shutdown().await;
    Ok(())
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
        _ => None,
    }
}

enum Cmd {
    Accept(session::SessionDescription),
    Send(String),
}

/// Turns effects into tasks; the tasks report back as `AppEvent`s.
pub struct Runner {
    connector: Arc<dyn Connector>,
    camera: CameraSpec,
    tx: UnboundedSender<AppEvent>,
    link: Arc<Mutex<Option<Arc<dyn Link>>>>,
    cmds: Option<UnboundedSender<Cmd>>,
    task: Option<JoinHandle<()>>,
    closing: Vec<JoinHandle<()>>,
    camera_stop: Option<Arc<AtomicBool>>,
}

impl Runner {
    pub fn new(
        connector: Arc<dyn Connector>,
        camera: CameraSpec,
        tx: UnboundedSender<AppEvent>,
    ) -> Runner {
        Runner {
            connector,
            camera,
            tx,
            link: Arc::new(Mutex::new(None)),
            cmds: None,
            task: None,
            closing: vec![],
            camera_stop: None,
        }
    }

    /// Run effects; true when the app should end.
    pub fn execute_all(&mut self, fx: Vec<Effect>) -> bool {
        let mut quit = false;
        for e in fx {
            quit |= self.execute(e);
        }
        quit
    }

    pub fn execute(&mut self, e: Effect) -> bool {
        match e {
            Effect::StartOffer { pairing } => self.begin(pairing, None),
            Effect::Join { pairing, offer } => self.begin(pairing, Some(offer)),
            Effect::AcceptAnswer(d) => self.command(Cmd::Accept(d)),
            Effect::Send(t) => self.command(Cmd::Send(t)),
            Effect::Close => self.close(),
            Effect::Copy(text) => {
                use base64::Engine;
                let b64 = base64::engine::general_purpose::STANDARD.encode(text.as_bytes());
                let mut out = std::io::stdout();
                let _ = write!(out, "\x1b]52;c;{b64}\x07");
                let _ = out.flush();
            }
            Effect::OpenCamera => self.open_camera(),
            Effect::StopCamera => {
                if let Some(stop) = self.camera_stop.take() {
                    stop.store(true, Ordering::SeqCst);
                }
            }
            Effect::Quit => return true,
        }
        false
    }

    fn command(&mut self, c: Cmd) {
        if let Some(cmds) = &self.cmds {
            let _ = cmds.send(c);
        }
    }

    fn begin(&mut self, pairing: u64, offer: Option<session::SessionDescription>) {
        self.close();
        let (stx, mut srx) = mpsc::unbounded_channel();
        let (ctx, crx) = mpsc::unbounded_channel();
        self.cmds = Some(ctx);
        let tx = self.tx.clone();
        let slot = self.link.clone();
        let connector = self.connector.clone();
        let forward_tx = tx.clone();
        self.task = Some(tokio::spawn(async move {
            let forward = tokio::spawn(async move {
                while let Some(event) = srx.recv().await {
                    if forward_tx
                        .send(AppEvent::Session { pairing, event })
                        .is_err()
                    {
                        break;
                    }
                }
            });
            let made = match offer {
                None => connector.offer(stx).await,
                Some(o) => connector.answer(o, stx).await,
            };
            match made {
                Ok(link) => {
                    *slot.lock().unwrap() = Some(link.clone());
                    let _ = tx.send(AppEvent::Local {
                        pairing,
                        desc: link.local_description(),
                        fingerprint: link.local_fingerprint(),
                    });
                    serve(link, crx, tx, pairing).await;
                }
                Err(message) => {
                    let _ = tx.send(AppEvent::SessionError { pairing, message });
                }
            }
            let _ = forward.await;
        }));
    }

    fn close(&mut self) {
        self.cmds = None;
        if let Some(t) = self.task.take() {
            t.abort();
        }
        if let Some(link) = self.link.lock().unwrap().take() {
            self.closing.push(tokio::spawn(async move {
                link.close().await;
            }));
        }
        self.closing.retain(|t| !t.is_finished());
    }

    fn open_camera(&mut self) {
        if let Some(stop) = self.camera_stop.take() {
            stop.store(true, Ordering::SeqCst);
        }
        let stop = Arc::new(AtomicBool::new(false));
        self.camera_stop = Some(stop.clone());
        camera::spawn(self.camera.clone(), stop, self.tx.clone());
    }

    /// Stop the camera and close the session, waiting a little for the goodbye to go out.
    pub async fn shutdown(&mut self) {
        self.execute(Effect::StopCamera);
        self.close();
        for t in self.closing.drain(..) {
            let _ = tokio::time::timeout(Duration::from_secs(1), t).await;
        }
    }
}

async fn serve(
    link: Arc<dyn Link>,
    mut cmds: UnboundedReceiver<Cmd>,
    tx: UnboundedSender<AppEvent>,
    pairing: u64,
) {
    while let Some(c) = cmds.recv().await {
        match c {
            Cmd::Accept(d) => {
                if let Err(message) = link.accept_answer(d).await {
                    let _ = tx.send(AppEvent::SessionError { pairing, message });
                }
            }
            Cmd::Send(t) => {
                if let Err(e) = link.send(t).await {
                    let _ = tx.send(AppEvent::SendError(e));
                }
            }
        }
    }
}
