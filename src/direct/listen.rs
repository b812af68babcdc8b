//! The starter's listener: TCP on each host candidate's address and port (the same
//! number as the UDP candidate, so the code needs no extra bytes), one request per
//! connection, checked by an [`Acceptor`]; the first valid one wins.
//!
//! Hostile-input rules: at most [`MAX_CONNECTIONS`] connections at once and
//! [`MAX_PER_ADDRESS`] from one address (more are closed at once), a whole request within
//! [`REQUEST_DEADLINE`], a body of at most [`MAX_BODY`](super::wire::MAX_BODY) bytes read
//! only after its header was checked, and no reply at all to a request that fails its
//! check. A check changes nothing; only the first valid request does (it is handed on and
//! acknowledged). Every dropped request is counted, and the counts go to the log.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinSet;

use super::wire::{self, Dropped, Status, HEADER_LEN, MAC_LEN, REPLY_LEN};

/// Connections served at once, in all.
pub const MAX_CONNECTIONS: usize = 64;
/// Connections served at once from one address: a flooding host cannot hold every slot.
pub const MAX_PER_ADDRESS: usize = 8;
/// A whole request must arrive within this (a LAN delivery takes milliseconds).
pub const REQUEST_DEADLINE: Duration = Duration::from_millis(1500);

/// The rules of one kind of request. Issue 15's answer delivery is one
/// ([`super::AnswerAcceptor`]); a later kind (a known peer's reconnect) is another
/// acceptor, with its own kind byte, key and output.
pub trait Acceptor: Send + Sync + 'static {
    /// What a valid request hands on.
    type Output: Send + 'static;
    /// Whether the listener takes requests of this kind byte at all.
    fn knows(&self, kind: u8) -> bool;
    /// A whole request, checked. Pure: no state may change here.
    fn check(&self, kind: u8, body: &[u8], mac: &[u8; MAC_LEN]) -> Result<Self::Output, Dropped>;
    /// The authenticated reply to a valid request.
    fn reply(&self, kind: u8, status: Status, mac: &[u8; MAC_LEN]) -> [u8; REPLY_LEN];
}

/// What the listener saw, for the log and the tests.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Counts {
    pub accepted: usize,
    pub dropped: HashMap<Dropped, usize>,
}

impl Counts {
    pub fn dropped(&self, why: Dropped) -> usize {
        self.dropped.get(&why).copied().unwrap_or(0)
    }

    pub fn total_dropped(&self) -> usize {
        self.dropped.values().sum()
    }
}

impl std::fmt::Display for Counts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} accepted, {} dropped",
            self.accepted,
            self.total_dropped()
        )?;
        let mut first = true;
        for why in Dropped::ALL {
            let n = self.dropped(why);
            if n > 0 {
                write!(f, "{} {}: {n}", if first { ":" } else { "," }, why.name())?;
                first = false;
            }
        }
        Ok(())
    }
}

struct Shared<A: Acceptor> {
    acceptor: A,
    state: Mutex<State<A::Output>>,
}

struct State<T> {
    /// The MAC of the request that won (its repeats get the same ack).
    won: Option<[u8; MAC_LEN]>,
    winner: Option<oneshot::Sender<T>>,
    open: usize,
    per_address: HashMap<IpAddr, usize>,
    counts: Counts,
}

/// A listening starter. Dropping it (or [`Listener::close`]) stops listening at once.
pub struct Listener<T> {
    addresses: Vec<SocketAddr>,
    won: Option<oneshot::Receiver<T>>,
    counts: Arc<dyn Fn() -> Counts + Send + Sync>,
    tasks: JoinSet<()>,
}

impl<T: Send + 'static> Listener<T> {
    /// Listen on each of `addresses` that can be bound (TCP); the others are skipped with
    /// a log line. An error only when none can.
    pub async fn start<A: Acceptor<Output = T>>(
        addresses: &[SocketAddr],
        acceptor: A,
    ) -> io::Result<Listener<T>> {
        let (tx, rx) = oneshot::channel();
        let shared = Arc::new(Shared {
            acceptor,
            state: Mutex::new(State {
                won: None,
                winner: Some(tx),
                open: 0,
                per_address: HashMap::new(),
                counts: Counts::default(),
            }),
        });
        let mut tasks = JoinSet::new();
        let mut bound = Vec::new();
        let mut last_err = None;
        for addr in addresses {
            match TcpListener::bind(addr).await {
                Ok(l) => {
                    bound.push(*addr);
                    tasks.spawn(accept_loop(l, Arc::clone(&shared)));
                }
                Err(e) => {
                    tracing::info!(%addr, "direct delivery: cannot listen here: {e}");
                    last_err = Some(e);
                }
            }
        }
        if bound.is_empty() {
            return Err(last_err.unwrap_or_else(|| {
                io::Error::new(io::ErrorKind::AddrNotAvailable, "no address to listen on")
            }));
        }
        tracing::info!(addresses = ?bound, "direct delivery: listening");
        let counts = {
            let shared = Arc::clone(&shared);
            Arc::new(move || lock(&shared.state).counts.clone())
        };
        Ok(Listener {
            addresses: bound,
            won: Some(rx),
            counts,
            tasks,
        })
    }

    /// Where it listens.
    pub fn addresses(&self) -> &[SocketAddr] {
        &self.addresses
    }

    /// The first valid request's output. Cancel-safe (call it again in a `select!`); once
    /// it has returned, pending for ever.
    pub async fn won(&mut self) -> T {
        match &mut self.won {
            Some(rx) => match rx.await {
                Ok(t) => {
                    self.won = None;
                    t
                }
                Err(_) => {
                    self.won = None;
                    std::future::pending().await
                }
            },
            None => std::future::pending().await,
        }
    }

    /// What it saw so far.
    pub fn counts(&self) -> Counts {
        (self.counts)()
    }

    /// Stop listening (the pairing is made or the code abandoned); the counts go to the log.
    pub fn close(self) {}
}

impl<T> Drop for Listener<T> {
    fn drop(&mut self) {
        self.tasks.abort_all();
        let counts = (self.counts)();
        tracing::info!("direct delivery: listener closed; {counts}");
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

async fn accept_loop<A: Acceptor>(listener: TcpListener, shared: Arc<Shared<A>>) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            r = listener.accept() => match r {
                Ok((stream, peer)) => {
                    let ip = peer.ip();
                    let admitted = {
                        let mut st = lock(&shared.state);
                        let here = st.per_address.get(&ip).copied().unwrap_or(0);
                        if st.open >= MAX_CONNECTIONS || here >= MAX_PER_ADDRESS {
                            count(&mut st, Dropped::Busy, peer);
                            false
                        } else {
                            st.open += 1;
                            *st.per_address.entry(ip).or_insert(0) += 1;
                            true
                        }
                    };
                    if admitted {
                        let shared = Arc::clone(&shared);
                        conns.spawn(async move {
                            serve(stream, peer, &shared).await;
                            let mut st = lock(&shared.state);
                            st.open -= 1;
                            if let Some(n) = st.per_address.get_mut(&ip) {
                                *n -= 1;
                                if *n == 0 {
                                    st.per_address.remove(&ip);
                                }
                            }
                        });
                    }
                    // Dropped here when not admitted: closed at once.
                }
                Err(e) => {
                    // Out of file descriptors and the like: do not spin.
                    tracing::debug!("direct delivery: accept: {e}");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
}

fn count<T>(st: &mut State<T>, why: Dropped, peer: SocketAddr) {
    let n = {
        let n = st.counts.dropped.entry(why).or_insert(0);
        *n += 1;
        *n
    };
    // Each kind's first few, then every thousandth: a flood cannot fill the log.
    if n <= 5 || n % 1000 == 0 {
        tracing::info!(%peer, "direct delivery: dropped a request ({}), {n} so far", why.name());
    }
}

async fn serve<A: Acceptor>(mut stream: TcpStream, peer: SocketAddr, shared: &Shared<A>) {
    let read = async {
        let mut h = [0u8; HEADER_LEN];
        stream
            .read_exact(&mut h)
            .await
            .map_err(|_| Dropped::Truncated)?;
        let (kind, len) = wire::parse_header(&h, |k| shared.acceptor.knows(k))?;
        let mut rest = vec![0u8; len + MAC_LEN];
        stream
            .read_exact(&mut rest)
            .await
            .map_err(|_| Dropped::Truncated)?;
        Ok::<_, Dropped>((kind, rest))
    };
    let (kind, rest) = match tokio::time::timeout(REQUEST_DEADLINE, read).await {
        Ok(Ok(r)) => r,
        Ok(Err(why)) => return count(&mut lock(&shared.state), why, peer),
        Err(_) => return count(&mut lock(&shared.state), Dropped::Slow, peer),
    };
    let (body, mac) = rest.split_at(rest.len() - MAC_LEN);
    let mut m = [0u8; MAC_LEN];
    m.copy_from_slice(mac);
    let status = match shared.acceptor.check(kind, body, &m) {
        Err(why) => return count(&mut lock(&shared.state), why, peer),
        Ok(output) => {
            let mut st = lock(&shared.state);
            match st.won {
                None => {
                    st.won = Some(m);
                    st.counts.accepted += 1;
                    if let Some(tx) = st.winner.take() {
                        let _ = tx.send(output);
                    }
                    tracing::info!(%peer, "direct delivery: accepted");
                    Status::Accepted
                }
                Some(w) if w == m => {
                    count(&mut st, Dropped::Replayed, peer);
                    Status::Accepted
                }
                Some(_) => {
                    count(&mut st, Dropped::UsedUp, peer);
                    Status::UsedUp
                }
            }
        }
    };
    let reply = shared.acceptor.reply(kind, status, &m);
    let _ = tokio::time::timeout(REQUEST_DEADLINE, async {
        stream.write_all(&reply).await?;
        stream.shutdown().await
    })
    .await;
}
