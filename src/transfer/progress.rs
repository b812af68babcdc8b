//! Progress as both directions measure it: a [`Meter`] counts the bytes of a transfer and
//! reports [`Progress`] on the caller's channel (at most every 200 ms, and at the end).

use std::time::{Duration, Instant};

use super::proto::{Entry, Kind};
use super::{Direction, Options, Progress};

/// Progress events at most this often.
const PROGRESS_EVERY: Duration = Duration::from_millis(200);
/// A progress report carries a rate only once this much has moved in this run (before
/// that it is no measure of the link).
const RATE_AFTER_BYTES: u64 = 1 << 20;

pub(super) struct Meter {
    tx: Option<tokio::sync::mpsc::Sender<Progress>>,
    direction: Direction,
    name: String,
    pub(super) file: String,
    total: u64,
    done: u64,
    moved: u64,
    start: Instant,
    last: Option<Instant>,
}

impl Meter {
    pub(super) fn new(opts: &Options, direction: Direction, entries: &[Entry]) -> Meter {
        let name = super::words::entries_name(entries);
        Meter {
            tx: opts.progress.clone(),
            direction,
            name,
            file: String::new(),
            total: entries
                .iter()
                .filter(|e| e.kind == Kind::File)
                .map(|e| e.size)
                .sum(),
            done: 0,
            moved: 0,
            start: Instant::now(),
            last: None,
        }
    }

    pub(super) fn moved(&mut self, n: u64) {
        self.done += n;
        self.moved += n;
        self.tick(false);
    }

    pub(super) fn resumed(&mut self, n: u64) {
        self.done += n;
    }

    pub(super) fn tick(&mut self, force: bool) {
        let Some(tx) = &self.tx else { return };
        let now = Instant::now();
        if !force && self.last.is_some_and(|l| now - l < PROGRESS_EVERY) {
            return;
        }
        self.last = Some(now);
        let secs = (now - self.start).as_secs_f64();
        // A rate needs something to measure: over a few kilobytes it is noise (a tiny file
        // "at 37 kB/s", the time mostly the round trips), so none is reported (0) before a
        // MiB has moved.
        let rate = if secs > 0.0 && self.moved >= RATE_AFTER_BYTES {
            self.moved as f64 / secs
        } else {
            0.0
        };
        let eta = (rate > 0.0)
            .then(|| Duration::from_secs_f64(self.total.saturating_sub(self.done) as f64 / rate));
        let _ = tx.try_send(Progress {
            direction: self.direction,
            name: self.name.clone(),
            file: self.file.clone(),
            done: self.done,
            total: self.total,
            rate,
            eta,
        });
    }
}
