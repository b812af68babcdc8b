//! Line mode for scripts and tests (DESIGN.md's command line):
//!
//! - `qrchat offer`: print my offer blob as one line on stdout, read the answer blob as the
//!   first stdin line, then relay.
//! - `qrchat answer [BLOB]`: read the offer (argument or first stdin line), print the
//!   answer blob as one line, then relay.
//!
//! Relay: each further stdin line is sent as one message (lines read before the channel
//! opens are queued and sent once it opens, none lost); each received message is printed
//! as one sanitised line on stdout. Status goes to stderr. Exit 0 on stdin EOF (after the
//! queue is flushed) or when the peer closes; an error with a one-line reason otherwise.

use std::collections::VecDeque;
use std::io::{BufRead, IsTerminal, Write};

use anyhow::{anyhow, bail, Context, Result};
use tokio::sync::mpsc;

mod files;
pub mod known;

use crate::chat;
use crate::qr;
use crate::rtc::{CloseReason, LinkState, RtcConfig, Session, SessionEvent};
use crate::signal::{self, Format, SdpKind};

/// Longest stdin line we read; anything longer is cut (and then refused as a message).
const MAX_LINE_BYTES: usize = 1 << 20;

/// What a headless session needs (made from the command line by `cli`).
#[derive(Debug, Clone, Default)]
pub struct Config {
    pub rtc: RtcConfig,
    /// Print codes as browser JSON.
    pub json: bool,
    /// Also write my code as a QR image here.
    pub qr_png: Option<std::path::PathBuf>,
    /// Send these once the link is open.
    pub send: Vec<std::path::PathBuf>,
    /// Accept files into this folder (declined without it).
    pub receive: Option<std::path::PathBuf>,
    /// `--remember NAME`: keep the peer as a known peer once the link is open.
    pub remember: Option<String>,
}

pub(crate) fn status(msg: impl std::fmt::Display) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "qrchat: {msg}");
}

/// Ctrl-C: a normal way to leave at any step.
fn interrupted() -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
    Box::pin(async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
        status("interrupted; leaving");
    })
}

/// `qrchat offer`
pub async fn run_offer(cfg: &Config) -> Result<()> {
    let cfg = &known::prepare(cfg)?;
    let mut stop = interrupted();
    let mut stdin = spawn_stdin_reader();
    let (tx, mut events) = mpsc::unbounded_channel();
    status("gathering candidates…");
    let session = tokio::select! {
        s = Session::offer(&cfg.rtc, tx) => s.context("could not make an offer")?,
        _ = &mut stop => return Ok(()),
    };
    let format = if cfg.json { Format::Json } else { Format::Auto };
    let body = async {
        publish(&session, format, cfg)?;
        status("waiting for the answer code on stdin");
        // Say what the session says meanwhile (a STUN server that does not resolve).
        let line = loop {
            tokio::select! {
                line = stdin.recv() => {
                    break line.ok_or_else(|| anyhow!("stdin closed before the answer code arrived"))?
                }
                Some(ev) = events.recv() => match ev {
                    SessionEvent::Notice(text) => status(chat::sanitize_line(&text)),
                    SessionEvent::Closed(reason) => bail!("{reason}"),
                    _ => {}
                },
            }
        };
        let answer = signal::decode_expecting(
            &signal::find_code(&line),
            SdpKind::Answer,
            Some(session.local_description()),
        )
        .map_err(|e| anyhow!("the answer code cannot be used: {e}"))?;
        session
            .accept_answer(&answer.desc)
            .await
            .context("the answer was refused")?;
        status("answer applied; connecting…");
        let mut known = known::Known::new(cfg.remember.clone(), None);
        relay(&session, &mut events, &mut stdin, cfg, &mut known).await
    };
    let res = tokio::select! {
        r = body => r,
        _ = &mut stop => Ok(()),
    };
    session.close().await;
    res
}

/// `qrchat answer [BLOB]`
pub async fn run_answer(cfg: &Config, blob: Option<&str>) -> Result<()> {
    let cfg = &known::prepare(cfg)?;
    let mut stop = interrupted();
    let mut stdin = spawn_stdin_reader();
    if blob.is_none() && std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        status("waiting for the offer code on stdin: paste it and press Enter");
    }
    let text = match blob {
        Some(b) => b.to_owned(),
        None => tokio::select! {
            line = stdin.recv() => line.ok_or_else(|| {
                anyhow!("no offer code: pass it as an argument or the first line of stdin")
            })?,
            _ = &mut stop => return Ok(()),
        },
    };
    let offer = signal::decode_expecting(&signal::find_code(&text), SdpKind::Offer, None)
        .map_err(|e| anyhow!("the offer code cannot be used: {e}"))?;
    let (tx, mut events) = mpsc::unbounded_channel();
    status("gathering candidates…");
    let session = tokio::select! {
        s = Session::answer(&cfg.rtc, &offer.desc, tx) => s.context("could not answer the offer")?,
        _ = &mut stop => return Ok(()),
    };
    // A browser peer reads JSON only: answer in the form the offer came in.
    let format = signal::answer_format(offer.encoding, cfg.json);
    let body = async {
        publish(&session, format, cfg)?;
        status("give this answer code to the other side; waiting for the link…");
        let mut known = known::Known::new(cfg.remember.clone(), None);
        relay(&session, &mut events, &mut stdin, cfg, &mut known).await
    };
    let res = tokio::select! {
        r = body => r,
        _ = &mut stop => Ok(()),
    };
    session.close().await;
    res
}

/// Print my blob on stdout; draw it as a QR on stderr when that is a terminal; save it as
/// a PNG when asked.
fn publish(session: &Session, format: Format, args: &Config) -> Result<()> {
    let desc = session.local_description();
    let blob = signal::encode(desc, format).map_err(|e| anyhow!("cannot encode my code: {e}"))?;
    let code = qr::matrix(&blob);
    if let Some(path) = &args.qr_png {
        let m = code
            .as_ref()
            .map_err(|e| anyhow!("cannot draw my code as a QR: {e}"))?;
        qr::save_png(m, 8, path).map_err(|e| anyhow!("{e}"))?;
        status(format!("QR code saved to {}", path.display()));
    }
    if std::io::stderr().is_terminal() {
        if let Ok(m) = &code {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "{}", qr::to_ansi_string(m));
        }
    }
    let mut out = std::io::stdout().lock();
    writeln!(out, "{blob}")
        .and_then(|_| out.flush())
        .context("writing to stdout")?;
    status(format!(
        "{} ready: {} characters, {} candidate(s){}",
        desc.kind,
        blob.len(),
        crate::rtc::candidate_count(&desc.sdp),
        match &code {
            Ok(m) => format!(", QR version {} ({:?})", m.version(), m.ecc()),
            Err(_) => String::new(),
        }
    ));
    Ok(())
}

/// Pump stdin lines to the peer and peer messages to stdout, run the transfers, until
/// the session may end (see `files` for when that is with transfers).
async fn relay(
    session: &Session,
    events: &mut mpsc::UnboundedReceiver<SessionEvent>,
    stdin: &mut mpsc::Receiver<String>,
    args: &Config,
    known: &mut known::Known,
) -> Result<()> {
    if let Some(dir) = &args.receive {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot use --receive {}", dir.display()))?;
    }
    let (mut files, mut progress) = files::Files::new(args.send.clone(), args.receive.clone());
    let mut queue: VecDeque<String> = VecDeque::new();
    let mut stdin_open = true;
    let mut open = false;
    loop {
        if open && !stdin_open {
            files.stdin_closed(session);
            // A pairing secret being agreed is waited for (bounded by its timeout).
            if files.may_leave() && !known.busy() {
                status("stdin closed; leaving the chat");
                break;
            }
        }
        let remember_by = known.deadline();
        tokio::select! {
            line = stdin.recv(), if stdin_open => match line {
                Some(line) => {
                    queue.push_back(line);
                    if open {
                        flush(session, &mut queue).await;
                    }
                }
                None => {
                    stdin_open = false;
                    if open {
                        flush(session, &mut queue).await;
                    }
                }
            },
            Some(p) = progress.recv() => files.on_progress(p),
            r = known.next() => known.on_secret(session, r)?,
            _ = sleep_until_or_never(remember_by) => {}
            Some(()) = files.next_done() => {}
            ev = events.recv() => match ev {
                None => bail!("the session ended unexpectedly"),
                Some(SessionEvent::Open { sas, remote, route }) => {
                    open = true;
                    let via = remote.as_ref().map(|r| format!(" to {r}")).unwrap_or_default();
                    status(known.open_line(&sas, &via, &route.to_string()));
                    flush(session, &mut queue).await;
                    files.on_open(session);
                    known.on_open(session, remote.as_deref());
                }
                Some(SessionEvent::Message(text)) => {
                    let mut out = std::io::stdout().lock();
                    if writeln!(out, "{}", chat::sanitize_line(&text)).and_then(|_| out.flush()).is_err() {
                        // Nobody reads our output any more: a normal end for a script.
                        break;
                    }
                }
                Some(SessionEvent::Binary(n)) => status(format!("ignored {n} bytes of binary data from the peer")),
                Some(SessionEvent::State(s)) => {
                    tracing::debug!("state {s}");
                    match s {
                        LinkState::Interrupted { .. } => status(format!(
                            "link interrupted: the other side is not responding; reconnecting \
                             (messages wait; giving up after {} s)",
                            session.peer_timeout().as_secs()
                        )),
                        LinkState::Open { route } if open => status(format!("link back ({route})")),
                        _ => {}
                    }
                }
                Some(SessionEvent::Notice(text)) => status(chat::sanitize_line(&text)),
                Some(SessionEvent::Channel(ch)) if ch.label() == crate::known::pair::LABEL => {
                    known.on_channel(session, ch)
                }
                Some(SessionEvent::Channel(ch)) => files.on_channel(ch),
                Some(SessionEvent::Peer { qrchat }) => {
                    files.on_peer(qrchat);
                    known.on_peer(qrchat);
                }
                Some(SessionEvent::Rtt(rtt)) => tracing::debug!("round trip {rtt:?}"),
                Some(SessionEvent::Gathering { .. }) | Some(SessionEvent::Gathered { .. }) => {}
                Some(SessionEvent::Closed(CloseReason::PeerLeft)) => {
                    status("the peer left the chat");
                    if !files.settle(std::time::Duration::from_secs(3)).await {
                        bail!("the peer left before every transfer finished (partial files are kept; send again to resume)");
                    }
                    break;
                }
                Some(SessionEvent::Closed(reason @ CloseReason::NoConnection(_))) => bail!(
                    "{reason}: are both on the same network? A firewall may block UDP; across networks try --stun, and --turn where a NAT lets no direct path through"
                ),
                Some(SessionEvent::Closed(reason)) => bail!("{reason}"),
            },
        }
    }
    match files.verdict().or_else(|| known.verdict()) {
        Some(why) => Err(anyhow!("{why}")),
        None => Ok(()),
    }
}

async fn sleep_until_or_never(t: Option<std::time::Instant>) {
    match t {
        Some(t) => tokio::time::sleep_until(t.into()).await,
        None => std::future::pending().await,
    }
}

async fn flush(session: &Session, queue: &mut VecDeque<String>) {
    while let Some(line) = queue.pop_front() {
        if let Err(e) = session.send(&line).await {
            status(format!("not sent: {e}"));
        }
    }
}

/// Read stdin lines on a plain thread (tokio's stdin would hold up runtime shutdown).
/// Lines are cut at [`MAX_LINE_BYTES`]; a trailing `\r` is dropped; bad UTF-8 is replaced.
fn spawn_stdin_reader() -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel(1024);
    std::thread::spawn(move || {
        let stdin = std::io::stdin();
        let mut input = stdin.lock();
        while let Ok(Some(line)) = read_line_capped(&mut input, MAX_LINE_BYTES) {
            if tx.blocking_send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// One line of at most `cap` bytes (the rest of a longer line is discarded).
pub fn read_line_capped(input: &mut impl BufRead, cap: usize) -> std::io::Result<Option<String>> {
    let mut buf = Vec::new();
    let mut saw_any = false;
    loop {
        let chunk = input.fill_buf()?;
        if chunk.is_empty() {
            break;
        }
        saw_any = true;
        let (take, done) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (chunk.len(), false),
        };
        let room = cap.saturating_sub(buf.len());
        buf.extend_from_slice(&chunk[..take.min(room)]);
        input.consume(take);
        if done {
            break;
        }
    }
    if !saw_any {
        return Ok(None);
    }
    while matches!(buf.last(), Some(b'\n' | b'\r')) {
        buf.pop();
    }
    Ok(Some(String::from_utf8_lossy(&buf).into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capped_lines() {
        let mut r = std::io::Cursor::new(b"abc\r\ndefghij\nlast".to_vec());
        assert_eq!(read_line_capped(&mut r, 4).unwrap().as_deref(), Some("abc"));
        assert_eq!(
            read_line_capped(&mut r, 4).unwrap().as_deref(),
            Some("defg")
        );
        assert_eq!(
            read_line_capped(&mut r, 4).unwrap().as_deref(),
            Some("last")
        );
        assert_eq!(read_line_capped(&mut r, 4).unwrap(), None);
    }
}
