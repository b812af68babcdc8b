//! Line mode for scripts and tests (DESIGN.md's command line):
//!
//! - `qrchat offer`: print my offer blob as one line on stdout, then connect on whichever
//!   comes first: the joiner's answer delivered directly over the LAN (one scan,
//!   `crate::direct`) or the answer blob as a line of stdin; then relay.
//! - `qrchat answer [BLOB]`: read the offer (argument or first stdin line), print the
//!   answer blob as one line, hand it to the offerer directly where it can, then relay.
//! - `--no-direct` on either side: strict two-scan pairing (nothing listens, nothing is
//!   delivered).
//!
//! While the offerer waits, the first stdin line is the answer code, as before: a line
//! that is not a usable answer ends it with an error naming what is wrong (a script that
//! lets the link come up by direct delivery writes nothing before it is connected), and
//! the end of stdin before the link is up ends it with an error, as before (a script
//! that waits for a direct answer keeps stdin open). Once paired, a line holding an answer
//! to my code (the one applied, or another joiner's) is recognised and never sent as a
//! message.
//!
//! Relay: each further stdin line is sent as one message (lines read before the channel
//! opens are queued and sent once it opens, none lost); each received message is printed
//! as one sanitised line on stdout. Status goes to stderr. Exit 0 on stdin EOF (after the
//! queue is flushed) or when the peer closes; an error with a one-line reason otherwise.
//!
//! Between qrchat peers every message carries an id and the peer acknowledges it once
//! printed (`chat::delivery`, done by the session): a side whose stdin ended leaves only
//! once its messages are acknowledged, and a run that ends with messages never
//! acknowledged (the peer left or was lost, Ctrl-C) names them on stderr and exits
//! non-zero. With a browser page nothing changes: plain text, sent is done.

use std::collections::VecDeque;
use std::io::{BufRead, IsTerminal, Write};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use tokio::sync::mpsc;

mod checks;
mod files;
pub mod known;

use crate::chat::{self, delivery};
use crate::direct::{self, Delivery};
use crate::qr;
use crate::rtc::{CloseReason, LinkState, RtcConfig, RtcError, Session, SessionEvent};
use crate::signal::{self, Format, SdpKind, SessionDescription};

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
    /// `--no-direct`: strict two-scan pairing (no listener, no delivery).
    pub no_direct: bool,
    /// `--remember NAME`: keep the peer as a known peer once the link is open.
    pub remember: Option<String>,
}

/// How long `qrchat answer` keeps trying to hand its answer over directly. A LAN delivery
/// takes milliseconds; past this the printed code is the way.
pub const DELIVERY_TIME: Duration = Duration::from_secs(5);

pub(crate) fn status(msg: impl std::fmt::Display) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "qrchat: {msg}");
}

/// Ctrl-C or SIGTERM: a normal way to leave at any step (the peer sees the chat end);
/// said on stderr.
fn interrupted() -> Stop {
    Box::pin(async {
        let ctrl_c = async {
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
        };
        #[cfg(unix)]
        let term = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let term = std::future::pending::<()>();
        tokio::select! {
            _ = ctrl_c => status("interrupted (Ctrl-C); leaving the chat"),
            _ = term => status("terminated (SIGTERM); leaving the chat"),
        }
    })
}

/// The user stopping a run ([`interrupted`]).
type Stop = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

/// How every run ends (offer, answer, connect, listen): `body` (what is left of the
/// pairing, then the relay) until it ends or the user stops it (a normal way to leave),
/// then the session is closed. What the run says of it is `Chat::finish` of this.
async fn until_stopped(
    session: &Session,
    stop: &mut Stop,
    body: impl std::future::Future<Output = Result<()>>,
) -> Result<()> {
    let res = tokio::select! {
        r = body => r,
        _ = stop => Ok(()),
    };
    session.close().await;
    res
}

/// What a run keeps across its steps: the lines not yet sent and the delivery state, so
/// that whatever ends the run (the peer, an error, Ctrl-C) can name what was not delivered.
struct Chat {
    queue: VecDeque<String>,
    /// Ids, acks, what is pending (shared with the session, which wraps and acknowledges).
    delivery: delivery::Shared,
    /// Lines the link refused before they got an id (a browser peer, or a link gone).
    unsent: Vec<String>,
}

impl Chat {
    fn new() -> Chat {
        Chat {
            queue: VecDeque::new(),
            delivery: delivery::shared(),
            unsent: Vec::new(),
        }
    }

    /// The session's config, carrying this chat's delivery state.
    fn rtc_config(&self, base: &crate::rtc::RtcConfig) -> crate::rtc::RtcConfig {
        crate::rtc::RtcConfig {
            delivery: Some(self.delivery.clone()),
            ..base.clone()
        }
    }

    /// Sent and not yet acknowledged by the peer app.
    fn unconfirmed(&self) -> usize {
        delivery::lock(&self.delivery).pending().len()
    }

    /// The end of a run: name every line that never reached the peer (queued and never
    /// sent, or sent and never acknowledged) on stderr; with any, the run fails.
    fn finish(mut self, res: Result<()>) -> Result<()> {
        let mut lost: Vec<String> = delivery::lock(&self.delivery)
            .link_ended()
            .into_iter()
            .map(|u| u.text)
            .collect();
        lost.append(&mut self.unsent);
        lost.extend(self.queue.drain(..));
        if lost.is_empty() {
            return res;
        }
        let n = lost.len();
        status(format!(
            "{n} message(s) not delivered (the other side never confirmed them):"
        ));
        for line in &lost {
            status(format!("  not delivered: {}", chat::sanitize_line(line)));
        }
        let what = format!("{n} message(s) not delivered");
        match res {
            Ok(()) => Err(anyhow!("{what}")),
            Err(e) => Err(e.context(what)),
        }
    }
}

/// `qrchat offer`
pub async fn run_offer(cfg: &Config) -> Result<()> {
    checks::paths(&cfg.send, cfg.receive.as_deref())?;
    let cfg = &known::prepare(cfg)?;
    let mut stop = interrupted();
    let mut stdin = spawn_stdin_reader();
    let mut chat = Chat::new();
    let (tx, mut events) = mpsc::unbounded_channel();
    status("gathering candidates…");
    let rtc = chat.rtc_config(&cfg.rtc);
    let session = tokio::select! {
        s = Session::offer(&rtc, tx) => s.context("could not make an offer")?,
        _ = &mut stop => return Ok(()),
    };
    let format = if cfg.json { Format::Json } else { Format::Auto };
    // One scan: listen for the joiner's answer at my host candidates (a browser page, which
    // reads --json codes, cannot deliver, so JSON keeps the two-way paste).
    let mut listener = if cfg.no_direct || cfg.json {
        None
    } else {
        match direct::listen_for_answer(session.local_description()).await {
            Ok(l) => Some(l),
            Err(e) => {
                status(format!(
                    "not listening for a direct answer ({e}); the answer code on stdin pairs as before"
                ));
                None
            }
        }
    };
    let body = async {
        let code = match &listener {
            Some(_) => SessionDescription {
                kind: SdpKind::Offer,
                sdp: signal::mark_direct(&session.local_description().sdp),
            },
            None => session.local_description().clone(),
        };
        publish(&code, format, cfg)?;
        if listener.is_some() {
            status("waiting for the other side: it hands its answer over directly once it reads my code (or give me its answer code on stdin)");
        } else {
            status("waiting for the answer code on stdin");
        }
        // Say what the session says meanwhile (a STUN server that does not resolve).
        let answer = loop {
            let delivered = async {
                match &mut listener {
                    Some(l) => l.won().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                line = stdin.recv() => {
                    let Some(line) = line else {
                        bail!("stdin closed before the answer code arrived");
                    };
                    match signal::decode_expecting(
                        &signal::find_code(&line),
                        SdpKind::Answer,
                        Some(session.local_description()),
                    ) {
                        Ok(a) => break a.desc,
                        Err(e) => bail!("the answer code cannot be used: {e}"),
                    }
                }
                answer = delivered => {
                    status("the other side handed its answer over directly");
                    break answer;
                }
                Some(ev) = events.recv() => match ev {
                    SessionEvent::Notice(text) => status(chat::sanitize_line(&text)),
                    SessionEvent::Closed(reason) => bail!("{reason}"),
                    _ => {}
                },
            }
        };
        // Paired: the code is used up, nothing listens any more.
        if let Some(l) = listener.take() {
            l.close();
        }
        session
            .accept_answer(&answer)
            .await
            .context("the answer was refused")?;
        status("answer applied; connecting…");
        let early = Early {
            applied: Some(answer),
            known: known::Known::new(cfg.remember.clone(), None),
            ..Early::default()
        };
        relay(&session, &mut events, &mut stdin, cfg, early, &mut chat).await
    };
    let res = until_stopped(&session, &mut stop, body).await;
    chat.finish(res)
}

/// `qrchat answer [BLOB]`
pub async fn run_answer(cfg: &Config, blob: Option<&str>) -> Result<()> {
    checks::paths(&cfg.send, cfg.receive.as_deref())?;
    let cfg = &known::prepare(cfg)?;
    let mut stop = interrupted();
    let mut stdin = spawn_stdin_reader();
    let mut chat = Chat::new();
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
    let rtc = chat.rtc_config(&cfg.rtc);
    let session = tokio::select! {
        s = Session::answer(&rtc, &offer.desc, tx) => s.context("could not answer the offer")?,
        _ = &mut stop => return Ok(()),
    };
    // A browser peer reads JSON only: answer in the form the offer came in.
    let format = signal::answer_format(offer.encoding, cfg.json);
    let body = async {
        let code = publish(session.local_description(), format, cfg)?;
        let direct = !cfg.no_direct && signal::accepts_direct(&offer.desc.sdp);
        if direct {
            status("handing my answer to the other side…");
        } else {
            status("give this answer code to the other side; waiting for the link…");
        }
        let delivery = async {
            if !direct {
                return std::future::pending().await;
            }
            match direct::deliver_answer(
                &offer.desc,
                session.local_description(),
                &code,
                DELIVERY_TIME,
            )
            .await
            {
                Delivery::Accepted { to } => {
                    // Its acknowledgement can come after the link opened: "connecting…"
                    // then would follow "connected" (seen in a trial).
                    if matches!(session.state(), Some(LinkState::Open { .. })) {
                        tracing::info!("the other side took my answer directly ({to})");
                    } else {
                        status(format!(
                            "the other side took my answer directly ({to}); connecting…"
                        ));
                    }
                }
                Delivery::UsedUp { .. } => {
                    return Err(anyhow!("the other side's code is used up: another answer reached it first (someone else joined); ask for a new code"));
                }
                Delivery::Failed(why) => {
                    tracing::info!("direct delivery failed: {why}");
                    // The acknowledgement can be lost while the answer itself got through
                    // (a lossy path): once the link is coming up, the code is not needed.
                    if session.state() == Some(LinkState::WaitingForPeer) {
                        status("could not hand my answer over directly; give this answer code to the other side; waiting for the link…");
                    }
                }
            }
            std::future::pending().await
        };
        tokio::select! {
            r = relay(&session, &mut events, &mut stdin, cfg, Early {
                known: known::Known::new(cfg.remember.clone(), None),
                ..Early::default()
            }, &mut chat) => r,
            r = delivery => r,
        }
    };
    let res = until_stopped(&session, &mut stop, body).await;
    chat.finish(res)
}

/// Print my blob (`desc`: my description, or the offer marked for a direct answer) on
/// stdout; draw it as a QR on stderr when that is a terminal; save it as a PNG when asked.
/// The blob as printed.
fn publish(desc: &SessionDescription, format: Format, args: &Config) -> Result<String> {
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
    Ok(blob)
}

/// What the offerer brings from its wait into the relay.
struct Early {
    /// Lines read before the link was up (sent once it opens).
    queue: VecDeque<String>,
    stdin_open: bool,
    /// The answer applied (offerer only): a line with an answer to my code is not a message.
    applied: Option<SessionDescription>,
    /// Known peers: a --remember to carry out, or the saved peer this reconnect is with.
    known: known::Known,
}

impl Default for Early {
    fn default() -> Self {
        Early {
            queue: VecDeque::new(),
            stdin_open: true,
            applied: None,
            known: known::Known::default(),
        }
    }
}

/// A stdin line that holds an answer to my offer (the offerer, once paired): said what it
/// is, never sent as a message.
fn answer_line(session: &Session, applied: &SessionDescription, line: &str) -> bool {
    if line.trim().is_empty() {
        return false;
    }
    let Ok(a) = signal::decode_expecting(
        &signal::find_code(line),
        SdpKind::Answer,
        Some(session.local_description()),
    ) else {
        return false;
    };
    if signal::fingerprint_of(&a.desc.sdp) == signal::fingerprint_of(&applied.sdp) {
        status("that is the answer code already applied (it came directly); not sent as a message");
    } else {
        status("that is another answer to my code, which is used up (paired already); not sent as a message");
    }
    true
}

/// Pump stdin lines to the peer and peer messages to stdout, run the transfers, until
/// the session may end (see `files` for when that is with transfers).
async fn relay(
    session: &Session,
    events: &mut mpsc::UnboundedReceiver<SessionEvent>,
    stdin: &mut mpsc::Receiver<String>,
    args: &Config,
    early: Early,
    chat: &mut Chat,
) -> Result<()> {
    let (mut files, mut progress) = files::Files::new(args.send.clone(), args.receive.clone());
    let Early {
        queue,
        mut stdin_open,
        applied,
        mut known,
    } = early;
    chat.queue.extend(queue);
    let mut open = false;
    // What a side whose stdin ended waits for, as last said (said again when it changes).
    let mut waiting: Option<String> = None;
    loop {
        if open && !stdin_open {
            // Our "done" goes out only once the peer has every message of ours: it can
            // then leave without losing any (the channels race each other; acks do not).
            let unconfirmed = chat.unconfirmed();
            if unconfirmed == 0 {
                files.stdin_closed(session);
                // A pairing secret to be remembered is waited for (bounded by its timeout).
                if files.may_leave() && !known.busy() {
                    status("stdin closed; leaving the chat");
                    break;
                }
            }
            let now = if unconfirmed > 0 {
                Some(format!(
                    "the other side to confirm {unconfirmed} message(s)"
                ))
            } else {
                files.waiting_for()
            };
            if now.is_some() && now != waiting {
                status(format!(
                    "stdin closed; waiting for {}",
                    now.as_deref().unwrap_or_default()
                ));
            }
            waiting = now;
        }
        let remember_by = known.deadline();
        tokio::select! {
            line = stdin.recv(), if stdin_open => match line {
                Some(line) if applied.as_ref().is_some_and(|a| answer_line(session, a, &line)) => {}
                Some(line) => {
                    chat.queue.push_back(line);
                    if open {
                        flush(session, chat).await;
                    }
                }
                None => {
                    stdin_open = false;
                    if open {
                        flush(session, chat).await;
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
                    flush(session, chat).await;
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
                Some(SessionEvent::Delivered(ids)) => {
                    tracing::debug!(n = ids.len(), "messages delivered");
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
                    // What arrived is said first: a transfer's end may still be on its
                    // way to this loop when the peer's goodbye is already here.
                    if !files.settle(std::time::Duration::from_secs(3)).await {
                        bail!("the peer left before every transfer finished (partial files are kept; send again to resume)");
                    }
                    status("the peer left the chat");
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

/// Send what is queued, in order (ids and acks between qrchat peers). A line that cannot
/// be sent at all (too long) is said and dropped; one the link could not take stays
/// pending and is named at the end if never confirmed.
async fn flush(session: &Session, chat: &mut Chat) {
    while let Some(line) = chat.queue.pop_front() {
        match session.send_marked(&line).await {
            Ok(_) => {}
            // Said now, and not a delivery question: it can never be sent.
            Err(e @ RtcError::TooLong { .. }) => status(format!("not sent: {e}")),
            // Given an id before the link refused it: still pending, named at the end.
            Err(RtcError::Closed) if delivery::lock(&chat.delivery).marked() => {}
            Err(e) => {
                status(format!("not sent: {e}"));
                chat.unsent.push(line);
            }
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
