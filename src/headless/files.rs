//! `--send` / `--receive` in line mode: the transfers a headless session runs, their
//! progress on stderr, and when the session may end.
//!
//! End of stdin means "this side has nothing more to send". A side is done once its stdin
//! is closed and its own transfers have finished (the peer verified them); it then tells a
//! qrchat peer so by opening a channel labelled [`DONE_LABEL`]. It leaves once it is done,
//! nothing is arriving, and, with `--receive`, the peer is done too (or left). Without
//! `--receive` and without `--send`, end of stdin leaves at once, as chat-only scripts
//! expect.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::rtc::{Channel, Session};
use crate::transfer::{self, words, Direction, Progress, TransferError};

/// A channel with this label from a qrchat peer means: the peer has nothing more to send.
pub const DONE_LABEL: &str = "qrchat-done";

/// How often a progress line is printed when stderr is not a terminal.
const LINE_EVERY: Duration = Duration::from_secs(3);

enum Outcome {
    Sent(String, Result<transfer::SendReport, TransferError>),
    /// The offer in words (None: it never came), and how it went.
    Received {
        offer: Option<(String, String)>,
        dir: Option<PathBuf>,
        r: Result<transfer::ReceiveReport, TransferError>,
    },
}

pub struct Files {
    send: Vec<PathBuf>,
    receive: Option<PathBuf>,
    started: bool,
    running: JoinSet<Outcome>,
    /// Our outgoing transfer is under way.
    sending: bool,
    pub peer_done: bool,
    told_done: bool,
    /// Whether the peer is qrchat, as the session said (`SessionEvent::Peer`): only a
    /// qrchat peer takes files and hears our "done".
    peer_qrchat: bool,
    failures: Vec<String>,
    progress_tx: mpsc::Sender<Progress>,
    last_line: Option<Instant>,
    /// The transfer whose 100% line was printed last (printed once).
    finished: Option<String>,
    /// Transfers whose last word (sent/received) is said: a 100% report still queued
    /// behind it is stale and not printed (it came after the summary).
    summarised: Vec<(Direction, String)>,
    tty: bool,
}

impl Files {
    /// The transfers to run, and where their progress reports arrive.
    pub fn new(send: Vec<PathBuf>, receive: Option<PathBuf>) -> (Files, mpsc::Receiver<Progress>) {
        let (progress_tx, progress) = mpsc::channel(64);
        let files = Files {
            send,
            receive,
            started: false,
            running: JoinSet::new(),
            sending: false,
            peer_done: false,
            told_done: false,
            peer_qrchat: false,
            failures: Vec::new(),
            progress_tx,
            last_line: None,
            finished: None,
            summarised: Vec::new(),
            tty: std::io::stderr().is_terminal(),
        };
        (files, progress)
    }

    fn opts(&self) -> transfer::Options {
        transfer::Options {
            progress: Some(self.progress_tx.clone()),
            ..Default::default()
        }
    }

    /// The session said whether the peer is qrchat.
    pub fn on_peer(&mut self, qrchat: bool) {
        self.peer_qrchat = qrchat;
    }

    /// The chat opened: start sending what `--send` named.
    pub fn on_open(&mut self, session: &Session) {
        if self.started || self.send.is_empty() {
            return;
        }
        self.started = true;
        let name = words::paths_name(&self.send);
        if let Err(e) = transfer::peer_takes_files(Some(self.peer_qrchat)) {
            self.fail(words::failed_line(Direction::Send, &name, &e, false));
            return;
        }
        let paths = self.send.clone();
        let opts = self.opts();
        let open = session.open_channel(transfer::proto::LABEL);
        // The channel is opened here, in order, before the task runs.
        self.sending = true;
        let open = async move {
            let ch = open.await.map_err(transfer::channel_error)?;
            // The content goes over a direct TCP connection where one can be made.
            let wire = transfer::BulkWire::sending(ch.clone());
            let r = transfer::send(&wire, &paths, opts).await;
            drop(wire);
            ch.close().await;
            r
        };
        self.running
            .spawn(async move { Outcome::Sent(name, open.await) });
    }

    /// The peer opened a channel: a transfer, or its "done".
    pub fn on_channel(&mut self, ch: Channel) {
        match ch.label() {
            DONE_LABEL => self.peer_done = true,
            transfer::proto::LABEL => {
                let dir = self.receive.clone();
                let opts = self.opts();
                self.running.spawn(async move {
                    let mut said = None;
                    let wire = transfer::BulkWire::receiving(ch.clone());
                    let r = async {
                        let offer = transfer::offer(&wire, opts).await?;
                        let s = offer.summary();
                        said = Some((words::offer_name(s), words::offer_words(s)));
                        match &dir {
                            Some(dir) => offer.accept(dir).await,
                            None => {
                                let why =
                                    "this side takes no files (it was started without --receive)";
                                Ok(offer.decline(why).await)
                            }
                        }
                    }
                    .await;
                    // The outcome is known now; the goodbye need not hold it up.
                    tokio::spawn(async move { ch.close().await });
                    Outcome::Received {
                        offer: said,
                        dir,
                        r,
                    }
                });
            }
            other => tracing::debug!(label = other, "ignoring a channel"),
        }
    }

    /// Wait for the next transfer to end (pending forever when none runs).
    pub async fn next_done(&mut self) -> Option<()> {
        match self.running.join_next().await {
            Some(Ok(outcome)) => {
                self.report(outcome);
                Some(())
            }
            Some(Err(e)) => {
                self.fail(format!("a transfer task failed: {e}"));
                Some(())
            }
            None => std::future::pending().await,
        }
    }

    fn report(&mut self, outcome: Outcome) {
        self.end_progress_line();
        match &outcome {
            Outcome::Sent(name, _) => self.summarised.push((Direction::Send, name.clone())),
            Outcome::Received {
                offer: Some((name, _)),
                ..
            } => self.summarised.push((Direction::Receive, name.clone())),
            Outcome::Received { .. } => {}
        }
        match outcome {
            Outcome::Sent(name, r) => {
                self.sending = false;
                match r {
                    Ok(rep) if rep.skipped.is_empty() => {
                        super::status(words::sent_line(&name, &rep))
                    }
                    // what was left out makes the exit non-zero
                    Ok(rep) => self.fail(words::sent_line(&name, &rep)),
                    Err(e) => self.fail(words::failed_line(Direction::Send, &name, &e, false)),
                }
            }
            Outcome::Received { offer, dir, r } => {
                let (name, offered) = offer.unwrap_or_else(|| ("files".into(), "files".into()));
                match (r, dir) {
                    (Ok(rep), _) if rep.declined => super::status(format!(
                        "the other side offers {offered}; declined (no --receive DIR)"
                    )),
                    (Ok(rep), Some(dir)) => super::status(words::received_line(&name, &rep, &dir)),
                    (Ok(_), None) => {}
                    (Err(e), _) => {
                        // a receive that broke keeps what arrived: the error says so
                        self.fail(words::failed_line(Direction::Receive, &name, &e, false))
                    }
                }
            }
        }
    }

    fn fail(&mut self, why: String) {
        super::status(&why);
        self.failures.push(why);
    }

    /// A progress report: a bar on a terminal, a line every few seconds otherwise.
    pub fn on_progress(&mut self, p: Progress) {
        if self.stale(&p) {
            return;
        }
        let name = crate::chat::sanitize_line(&p.name);
        let text = words::progress_line(p.direction, &name, Some(&p), false);
        if self.tty {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2Kqrchat: {text}");
            let _ = err.flush();
            self.last_line = Some(Instant::now());
        } else {
            let finished = p.done == p.total;
            let first_finish = finished && self.finished.as_deref() != Some(p.name.as_str());
            if first_finish
                || (!finished && self.last_line.is_none_or(|t| t.elapsed() >= LINE_EVERY))
            {
                super::status(text);
                self.last_line = Some(Instant::now());
            }
            if finished {
                self.finished = Some(p.name);
            }
        }
    }

    /// A report that arrives after its transfer's summary: its final 100% is stale (the
    /// progress and the outcome travel apart). A lower figure is a new transfer of the
    /// same name, which shows again.
    fn stale(&mut self, p: &Progress) -> bool {
        let key = (p.direction, p.name.clone());
        let Some(i) = self.summarised.iter().position(|k| *k == key) else {
            return false;
        };
        if p.done == p.total {
            return true;
        }
        self.summarised.remove(i);
        false
    }

    fn end_progress_line(&mut self) {
        if self.tty && self.last_line.take().is_some() {
            let mut err = std::io::stderr().lock();
            let _ = writeln!(err);
        }
    }

    /// Our side has nothing more to send: say so to a qrchat peer (once).
    pub fn stdin_closed(&mut self, session: &Session) {
        if self.told_done || self.sending || !self.peer_qrchat {
            return;
        }
        if !self.started && !self.send.is_empty() {
            return;
        }
        self.told_done = true;
        let open = session.open_channel(DONE_LABEL);
        tokio::spawn(async move {
            if let Ok(ch) = open.await {
                ch.close().await;
            }
        });
    }

    /// Whether the session may end now that stdin is closed.
    pub fn may_leave(&self) -> bool {
        let own_done = !self.sending && (self.started || self.send.is_empty());
        let waiting_for_peer = self.receive.is_some() && self.peer_qrchat && !self.peer_done;
        own_done && self.running.is_empty() && !waiting_for_peer
    }

    /// The peer left: let what is still running end (a receiver that has everything is
    /// only saying goodbye; one that has not fails as the channel breaks), bounded.
    /// Whether all of it ended.
    pub async fn settle(&mut self, limit: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        while !self.running.is_empty() {
            match tokio::time::timeout_at(deadline, self.running.join_next()).await {
                Ok(Some(Ok(outcome))) => self.report(outcome),
                Ok(Some(Err(e))) => self.fail(format!("a transfer task failed: {e}")),
                Ok(None) => break,
                Err(_) => return false,
            }
        }
        true
    }

    /// What a side whose stdin ended still waits for, in words (None: nothing).
    pub fn waiting_for(&self) -> Option<String> {
        if self.sending {
            Some("the other side to receive and verify the files".into())
        } else if !self.running.is_empty() {
            Some("the files from the other side to finish".into())
        } else if self.receive.is_some() && self.peer_qrchat && !self.peer_done {
            Some(
                "the other side to finish (it may still send files; end its input to finish)"
                    .into(),
            )
        } else {
            None
        }
    }

    /// The reason to exit non-zero, if any transfer failed.
    pub fn verdict(&self) -> Option<String> {
        match self.failures.len() {
            0 => None,
            1 => Some(self.failures[0].clone()),
            n => Some(format!(
                "{} (and {} more failures)",
                self.failures[0],
                n - 1
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn progress(done: u64) -> Progress {
        Progress {
            direction: Direction::Send,
            name: "2 items".into(),
            file: String::new(),
            done,
            total: 6,
            rate: 0.0,
            eta: None,
        }
    }

    /// A run printed "sent 2 items (6 B, 3 files): verified by the peer", then "sending 2
    /// items: 6 B of 6 B (100%)": the last report was still queued behind the outcome.
    #[test]
    fn no_progress_after_the_summary_but_a_new_transfer_shows() {
        let (mut files, _rx) = Files::new(vec![], None);
        assert!(!files.stale(&progress(6)), "before the summary it shows");
        let report = transfer::SendReport {
            files: 3,
            dirs: 1,
            bytes: 6,
            sent: 6,
            resumed: 0,
            saved_as: vec![],
            skipped: vec![],
        };
        files.report(Outcome::Sent("2 items".into(), Ok(report)));
        assert!(
            files.stale(&progress(6)),
            "the queued 100% after the summary"
        );
        // The same files sent again: a new transfer, shown from its start to its end.
        assert!(!files.stale(&progress(2)));
        assert!(!files.stale(&progress(6)));
    }
}
