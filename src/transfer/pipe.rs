//! An in-memory message pipe with the [`Wire`] shape: two ends, bounded (so a fast
//! sender waits for a slow receiver, as a data channel's buffered-amount limit makes
//! it), ordered, reliable. Used by the tests, the bench and anyone who wants to drive a
//! transfer without a network.

use std::io;
use std::sync::Mutex;

use tokio::sync::mpsc;

use super::proto::Msg;
use super::Wire;

/// One end of a [`pipe`].
#[derive(Debug)]
pub struct PipeEnd {
    tx: Mutex<Option<mpsc::Sender<Msg>>>,
    rx: Mutex<mpsc::Receiver<Msg>>,
}

/// Two connected ends; each holds at most `capacity` messages in flight towards it.
pub fn pipe(capacity: usize) -> (PipeEnd, PipeEnd) {
    let (atx, brx) = mpsc::channel(capacity.max(1));
    let (btx, arx) = mpsc::channel(capacity.max(1));
    (
        PipeEnd {
            tx: Mutex::new(Some(atx)),
            rx: Mutex::new(arx),
        },
        PipeEnd {
            tx: Mutex::new(Some(btx)),
            rx: Mutex::new(brx),
        },
    )
}

impl PipeEnd {
    /// Break the pipe at once, both ways, as a dead link does: what is in flight towards
    /// this end is lost, the other end reads what we sent so far and then the end.
    pub fn break_now(&self) {
        self.tx.lock().unwrap_or_else(|e| e.into_inner()).take();
        self.rx.lock().unwrap_or_else(|e| e.into_inner()).close();
    }
}

fn broken() -> io::Error {
    io::Error::new(io::ErrorKind::BrokenPipe, "the pipe is closed")
}

impl Wire for PipeEnd {
    async fn send(&self, msg: Msg) -> io::Result<()> {
        let tx = self
            .tx
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .ok_or_else(broken)?;
        tx.send(msg).await.map_err(|_| broken())
    }

    async fn recv(&self) -> io::Result<Option<Msg>> {
        // the lock is held only while polling, so `close` never waits for a reader
        Ok(std::future::poll_fn(|cx| {
            self.rx
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .poll_recv(cx)
        })
        .await)
    }

    /// Closes both ways, as a data channel's close does: the peer reads what was sent
    /// and then the end; its further sends fail.
    async fn close(&self) {
        self.tx.lock().unwrap_or_else(|e| e.into_inner()).take();
        self.rx.lock().unwrap_or_else(|e| e.into_inner()).close();
    }
}
