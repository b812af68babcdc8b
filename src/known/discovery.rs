//! The known-peer datagrams ([`super::lan`]) over UDP: a [`Listener`] that answers known
//! peers on the discovery port, and [`Connector`] that finds one (broadcast on every LAN
//! this machine is on, and unicast to where it was last seen) and hands it an offer.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::UdpSocket;
use tokio::sync::mpsc;

use super::lan::{self, Keys, Nonce, Packet, ReplyBody, Status, Step};
use super::store::{KnownPeer, Store};

/// The UDP port known peers meet on (one per machine; `QRCHAT_KNOWN_PORT` moves it, for
/// tests that run several on one machine).
pub const DEFAULT_PORT: u16 = 47_153;
/// How long the connector looks for the peer before saying it is not here.
pub const FIND_WAIT: Duration = Duration::from_secs(2);
/// A hello goes out this often while looking.
const HELLO_EVERY: Duration = Duration::from_millis(200);
/// And this often in a presence probe (the app's start screen looks for every known peer
/// every few seconds: a listener takes 20 datagrams a second from one address, and the
/// hellos for absent peers must not crowd out the one for the peer that is there).
const PROBE_HELLO_EVERY: Duration = Duration::from_millis(1000);
/// An offer is sent again this often until a reply comes.
const OFFER_EVERY: Duration = Duration::from_millis(300);
/// With no reply at all to an offer after this, the peer is said not to answer.
const OFFER_WAIT: Duration = Duration::from_secs(5);
/// While the other user is being asked.
pub const ACCEPT_WAIT: Duration = Duration::from_secs(60);
/// A withdrawal goes out at once and again after these (UDP, no answer: best effort).
const WITHDRAW_AGAIN: [Duration; 2] = [Duration::from_millis(100), Duration::from_millis(300)];
/// Datagrams the listener takes per second, from one address and from all.
const PER_SOURCE_PER_SEC: u32 = 20;
const ALL_PER_SEC: u32 = 200;
/// Requests waiting for the owner at once; more are told busy.
const WAITING_REQUESTS: usize = 4;

/// The nonces of this process's own hellos (a connector looking while the app's listener
/// runs): the listener ignores them. The tags are keyed by the pairwise secret, which both
/// sides hold, so without this the app's own listener would answer its own broadcast as if
/// it were the peer.
pub type OwnHellos = Arc<std::sync::Mutex<std::collections::VecDeque<Nonce>>>;
/// How many of our own recent hello nonces are remembered.
const OWN_HELLOS: usize = 64;

fn is_own(own: Option<&OwnHellos>, nc: &Nonce) -> bool {
    own.is_some_and(|o| o.lock().unwrap_or_else(|e| e.into_inner()).contains(nc))
}

/// The discovery port in use.
pub fn port() -> u16 {
    std::env::var("QRCHAT_KNOWN_PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .filter(|p| *p != 0)
        .unwrap_or(DEFAULT_PORT)
}

/// A known peer wants to chat: its offer code, to be answered with [`Request::answer`].
pub struct Request {
    pub peer: KnownPeer,
    pub from: SocketAddr,
    pub offer_code: String,
    keys: Keys,
    nc: Nonce,
    nl: Nonce,
    my_fp: [u8; 32],
    out: mpsc::UnboundedSender<Out>,
    answered: bool,
}

/// Which request a [`Heard::Withdrawn`] takes back ([`Request::id`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RequestId(Nonce);

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Request({} from {})", self.peer.name, self.from)
    }
}

/// How the owner answers a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// The answer code.
    Accept(String),
    Decline,
    Busy,
    /// Accepted, but this app could not start the chat.
    Failed,
}

impl Request {
    /// What a withdrawal of this request names.
    pub fn id(&self) -> RequestId {
        RequestId(self.nl)
    }

    /// The asker took it back ([`Heard::Withdrawn`]): it is dropped unanswered.
    pub fn withdrawn(mut self) {
        self.answered = true;
    }

    /// Tell the connector that the user is being asked (it waits longer).
    pub fn asking(&self) {
        self.send(Status::Asking, String::new(), false);
    }

    pub fn answer(mut self, a: Answer) {
        let (status, code) = match a {
            Answer::Accept(code) => (Status::Answer, code),
            Answer::Decline => (Status::Declined, String::new()),
            Answer::Busy => (Status::Busy, String::new()),
            Answer::Failed => (Status::Failed, String::new()),
        };
        self.send(status, code, true);
        self.answered = true;
    }

    fn send(&self, status: Status, code: String, last: bool) {
        let bytes = lan::reply(
            &self.keys,
            &self.nc,
            &self.nl,
            &ReplyBody {
                status,
                fingerprint: self.my_fp,
                code,
            },
        );
        let _ = self.out.send(Out {
            to: self.from,
            bytes,
            cache: last.then_some(self.nl),
        });
    }
}

impl Drop for Request {
    fn drop(&mut self) {
        if !self.answered {
            self.send(Status::Busy, String::new(), true);
        }
    }
}

struct Out {
    to: SocketAddr,
    bytes: Vec<u8>,
    /// Keep as the final reply to the offer under this nonce (for retransmissions).
    cache: Option<Nonce>,
}

/// What the listener says besides requests (for stderr or the screen).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Heard {
    /// A known peer's offer whose lasting identity is not the saved one: refused.
    NotTheSavedIdentity { name: String, from: SocketAddr },
    /// The asker of request `id` gave up before it was answered (it always comes after
    /// that request: see [`Listener::next_event`]).
    Withdrawn { id: RequestId },
}

/// Answers known peers on the discovery port while it lives.
pub struct Listener {
    requests: mpsc::Receiver<Request>,
    heard: mpsc::UnboundedReceiver<Heard>,
    task: tokio::task::JoinHandle<()>,
    pub port: u16,
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Listener {
    /// Listen on `port` (all addresses). Known peers are read from `dir` as datagrams come,
    /// so a peer saved or forgotten meanwhile counts at once.
    pub async fn bind(dir: PathBuf, my_fp: [u8; 32], port: u16) -> std::io::Result<Listener> {
        Listener::bind_beside(dir, my_fp, port, None).await
    }

    /// As [`Listener::bind`], ignoring the hellos of connectors in this process (`own`).
    pub async fn bind_beside(
        dir: PathBuf,
        my_fp: [u8; 32],
        port: u16,
        own: Option<OwnHellos>,
    ) -> std::io::Result<Listener> {
        let sock = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, port)).await?;
        let port = sock.local_addr()?.port();
        let (req_tx, requests) = mpsc::channel(WAITING_REQUESTS);
        let (heard_tx, heard) = mpsc::unbounded_channel();
        let task = tokio::spawn(listen(sock, dir, my_fp, req_tx, heard_tx, own));
        Ok(Listener {
            requests,
            heard,
            task,
            port,
        })
    }

    /// The next request from a known peer.
    pub async fn next(&mut self) -> Option<Request> {
        self.requests.recv().await
    }

    /// The next thing worth saying.
    pub async fn heard(&mut self) -> Option<Heard> {
        self.heard.recv().await
    }

    /// Both at once: whichever comes first; a request before what was heard after it (a
    /// withdrawal never overtakes the request it takes back).
    pub async fn next_event(&mut self) -> Option<Result<Request, Heard>> {
        tokio::select! {
            biased;
            r = self.requests.recv() => r.map(Ok),
            Some(h) = self.heard.recv() => Some(Err(h)),
        }
    }
}

/// Per-second budgets, so a flood costs little and reads the peers file at a bounded rate.
struct Budget {
    second: Instant,
    all: u32,
    per: HashMap<IpAddr, u32>,
}

impl Budget {
    fn allow(&mut self, from: IpAddr, now: Instant) -> bool {
        if now.duration_since(self.second) >= Duration::from_secs(1) {
            self.second = now;
            self.all = 0;
            self.per.clear();
        }
        if self.all >= ALL_PER_SEC || self.per.len() >= 1024 {
            return false;
        }
        let n = self.per.entry(from).or_insert(0);
        if *n >= PER_SOURCE_PER_SEC {
            return false;
        }
        *n += 1;
        self.all += 1;
        true
    }
}

async fn listen(
    sock: UdpSocket,
    dir: PathBuf,
    my_fp: [u8; 32],
    requests: mpsc::Sender<Request>,
    heard: mpsc::UnboundedSender<Heard>,
    own: Option<OwnHellos>,
) {
    let mut responder = lan::Responder::new();
    let (out_tx, mut out_rx) = mpsc::unbounded_channel::<Out>();
    let mut budget = Budget {
        second: Instant::now(),
        all: 0,
        per: HashMap::new(),
    };
    let mut buf = vec![0u8; lan::MAX_DATAGRAM + 1];
    loop {
        tokio::select! {
            Some(out) = out_rx.recv() => {
                if let Some(nl) = out.cache {
                    responder.replied(&nl, out.bytes.clone());
                }
                if let Err(e) = sock.send_to(&out.bytes, out.to).await {
                    tracing::debug!("known peers: reply to {}: {e}", out.to);
                }
            }
            r = sock.recv_from(&mut buf) => {
                let (n, from) = match r {
                    Ok(x) => x,
                    Err(e) => {
                        tracing::debug!("known peers: receive: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let now = Instant::now();
                if !budget.allow(from.ip(), now) {
                    continue;
                }
                match lan::parse(&buf[..n]) {
                    _ if n > lan::MAX_DATAGRAM => {
                        tracing::debug!("known peers: ignored a malformed datagram from {from}");
                        continue;
                    }
                    Err(_) => {
                        tracing::debug!("known peers: ignored a malformed datagram from {from}");
                        continue;
                    }
                    Ok(Packet::Hello { nc, .. }) if is_own(own.as_ref(), &nc) => continue,
                    Ok(_) => {}
                }
                let peers = match Store::load(&dir) {
                    Ok(s) => s.peers,
                    Err(e) => {
                        tracing::warn!("known peers: {e}");
                        Vec::new()
                    }
                };
                let keys: Vec<([u8; 32], Keys)> = peers
                    .iter()
                    .map(|p| (p.fingerprint, Keys::from_secret(&p.secret)))
                    .collect();
                match responder.on_datagram(&buf[..n], &keys, now) {
                    Step::Send(b) => {
                        let _ = sock.send_to(&b, from).await;
                    }
                    Step::Ignore(why) => tracing::debug!("known peers: {from}: {why}"),
                    Step::Withdrawn(nl) => {
                        tracing::info!("known peers: a request was withdrawn by its asker");
                        let _ = heard.send(Heard::Withdrawn { id: RequestId(nl) });
                    }
                    Step::Offer(inc) => {
                        let peer = peers[inc.peer].clone();
                        let req = Request {
                            peer: peer.clone(),
                            from,
                            offer_code: inc.body.code.clone(),
                            keys: keys[inc.peer].1.clone(),
                            nc: inc.body.nc,
                            nl: inc.nl,
                            my_fp,
                            out: out_tx.clone(),
                            answered: false,
                        };
                        if inc.body.fingerprint != peer.fingerprint {
                            tracing::info!("known peers: refused an offer with {}'s secret and another identity", peer.name);
                            let mut req = req;
                            req.send(Status::NotYou, String::new(), true);
                            req.answered = true;
                            let _ = heard.send(Heard::NotTheSavedIdentity { name: peer.name, from });
                            continue;
                        }
                        tracing::info!("known peers: a request from a known peer");
                        if let Err(e) = requests.try_send(req) {
                            // Full or nobody listening: Request's drop says busy.
                            drop(e);
                        }
                    }
                }
            }
        }
    }
}

/// Why a known peer could not be reached; each says what to do.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("{name} is not on this network (no answer from {name}'s qrchat within {} s); pair by code", FIND_WAIT.as_secs())]
    NotHere { name: String },
    #[error(
        "{name}'s computer answers at {addr} but qrchat is not open there: ask {name} to open \
         qrchat (or run `qrchat listen`)"
    )]
    NotRunning { name: String, addr: IpAddr },
    #[error(
        "the qrchat at {addr}, where {name} was last seen, does not know us: {name} forgot us, \
         or it is another device now; pair by code again"
    )]
    ForgotUs { name: String, addr: IpAddr },
    #[error("{name} declined")]
    Declined { name: String },
    #[error("{name} is in another chat right now; try again later")]
    Busy { name: String },
    #[error(
        "{name} refused us: our identity is not the one {name} saved (was ours reset?); pair by \
         code again"
    )]
    NotYou { name: String },
    #[error(
        "refused: the device that answered as {name} has another identity than the one saved \
         when we paired by sight"
    )]
    WrongIdentity { name: String },
    #[error("{name}'s app could not start the chat; try again")]
    CouldNotStart { name: String },
    #[error("{name} did not answer our request within {secs} s")]
    NoReply { name: String, secs: u64 },
    #[error("the network: {0}")]
    Io(#[from] std::io::Error),
}

/// A datagram (or an error) read on the connector's socket number `.0`.
type Received = (usize, std::io::Result<(Vec<u8>, SocketAddr)>);

/// Looking for one known peer, then offering to it.
pub struct Connector {
    peer: KnownPeer,
    keys: Keys,
    nc: Nonce,
    sock: Arc<UdpSocket>,
    incoming: mpsc::UnboundedReceiver<Received>,
    readers: Vec<tokio::task::JoinHandle<()>>,
    sockets: Vec<Arc<UdpSocket>>,
    found: Option<(usize, SocketAddr, Nonce)>,
    /// An offer went out and no final reply came: given up now, it is withdrawn.
    asking: bool,
}

impl Drop for Connector {
    fn drop(&mut self) {
        for r in &self.readers {
            r.abort();
        }
        if self.asking {
            self.withdraw();
        }
    }
}

impl Connector {
    /// Look for `peer` on every LAN (broadcast) and at its last addresses, for up to
    /// [`FIND_WAIT`]. Ok once it answered as itself.
    /// `bind`: `--bind`, which limits the broadcast to those networks (none at all for a
    /// loopback address: then only the last addresses are asked).
    pub async fn find(
        peer: &KnownPeer,
        port: u16,
        bind: &[String],
    ) -> Result<Connector, ConnectError> {
        Connector::find_beside(peer, port, bind, None).await
    }

    /// As [`Connector::find`], from a process whose own listener must not answer (`own`:
    /// the nonces that listener ignores; see [`OwnHellos`]).
    pub async fn find_beside(
        peer: &KnownPeer,
        port: u16,
        bind: &[String],
        own: Option<&OwnHellos>,
    ) -> Result<Connector, ConnectError> {
        Connector::search(peer, port, bind, own, HELLO_EVERY).await
    }

    /// Whether `peer` answers on this network now (as [`Connector::find_beside`], with
    /// fewer hellos: for the start screen's rounds).
    pub async fn probe(peer: &KnownPeer, port: u16, bind: &[String], own: &OwnHellos) -> bool {
        Connector::search(peer, port, bind, Some(own), PROBE_HELLO_EVERY)
            .await
            .is_ok()
    }

    async fn search(
        peer: &KnownPeer,
        port: u16,
        bind: &[String],
        own: Option<&OwnHellos>,
        every: Duration,
    ) -> Result<Connector, ConnectError> {
        let keys = Keys::from_secret(&peer.secret);
        let nc: Nonce = lan::random();
        if let Some(o) = own {
            let mut o = o.lock().unwrap_or_else(|e| e.into_inner());
            if o.len() >= OWN_HELLOS {
                o.pop_front();
            }
            o.push_back(nc);
        }
        let bcast = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).await?;
        bcast.set_broadcast(true)?;
        let mut sockets = vec![Arc::new(bcast)];
        // One connected socket per last address: a closed port there comes back as
        // "connection refused" (the computer is there, qrchat is not).
        for a in &peer.addrs {
            let s = match a {
                IpAddr::V4(_) => UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).await,
                IpAddr::V6(_) => UdpSocket::bind((std::net::Ipv6Addr::UNSPECIFIED, 0)).await,
            };
            if let Ok(s) = s {
                if s.connect((*a, port)).await.is_ok() {
                    sockets.push(Arc::new(s));
                }
            }
        }
        let (tx, incoming) = mpsc::unbounded_channel();
        let readers = sockets
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let s = Arc::clone(s);
                let tx = tx.clone();
                tokio::spawn(async move {
                    let mut buf = vec![0u8; lan::MAX_DATAGRAM + 1];
                    loop {
                        let r = s
                            .recv_from(&mut buf)
                            .await
                            .map(|(n, a)| (buf[..n].to_vec(), a));
                        let err = r.is_err();
                        if tx.send((i, r)).is_err() {
                            break;
                        }
                        if err {
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                    }
                })
            })
            .collect();
        let mut c = Connector {
            peer: peer.clone(),
            keys,
            nc,
            sock: Arc::clone(&sockets[0]),
            incoming,
            readers,
            sockets,
            found: None,
            asking: false,
        };
        c.look(port, bind, every).await?;
        Ok(c)
    }

    async fn look(
        &mut self,
        port: u16,
        bind: &[String],
        every: Duration,
    ) -> Result<(), ConnectError> {
        let hello = lan::hello(&self.keys, &self.nc);
        let mut targets: Vec<SocketAddr> = crate::rtc::broadcast_addresses(bind)
            .into_iter()
            .map(|b| SocketAddr::new(IpAddr::V4(b), port))
            .collect();
        if bind.is_empty() {
            targets.push(SocketAddr::new(IpAddr::V4(Ipv4Addr::BROADCAST), port));
        }
        let deadline = tokio::time::Instant::now() + FIND_WAIT;
        let mut refused: Option<IpAddr> = None;
        let mut stranger_at_last: Option<IpAddr> = None;
        let mut tick = tokio::time::interval(every);
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    for t in &targets {
                        let _ = self.sock.send_to(&hello, t).await;
                    }
                    for s in &self.sockets[1..] {
                        let _ = s.send(&hello).await;
                    }
                }
                Some((i, r)) = self.incoming.recv() => match r {
                    Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                        if let Ok(a) = self.sockets[i].peer_addr() {
                            refused = Some(a.ip());
                        }
                    }
                    Err(_) => {}
                    Ok((bytes, from)) => {
                        if let Ok(Packet::Challenge { nc, nl, tag }) = lan::parse(&bytes) {
                            if nc != self.nc {
                                continue;
                            }
                            if lan::challenge_is_from(&self.keys, &nc, &nl, &tag) {
                                self.found = Some((i, from, nl));
                                return Ok(());
                            }
                            if self.peer.addrs.contains(&from.ip()) {
                                stranger_at_last = Some(from.ip());
                            }
                        }
                    }
                },
                _ = tokio::time::sleep_until(deadline) => break,
            }
        }
        let name = self.peer.name.clone();
        Err(match (stranger_at_last, refused) {
            (Some(addr), _) => ConnectError::ForgotUs { name, addr },
            (None, Some(addr)) => ConnectError::NotRunning { name, addr },
            _ => ConnectError::NotHere { name },
        })
    }

    /// Take back the offer made (the user gave up waiting): a withdrawal now, from this
    /// thread (so it goes even while the runtime shuts down), and again a little later
    /// where a runtime runs. Done by the drop of a connector whose offer is unanswered.
    fn withdraw(&mut self) {
        let Some((i, to, nl)) = self.found else {
            return;
        };
        self.asking = false;
        let datagram = lan::withdraw(&self.keys, &self.nc, &nl);
        let sock = Arc::clone(&self.sockets[i]);
        let send = move |sock: &UdpSocket| {
            let r = if i == 0 {
                sock.try_send_to(&datagram, to)
            } else {
                sock.try_send(&datagram)
            };
            if let Err(e) = r {
                tracing::debug!("known peers: withdrawal to {to}: {e}");
            }
        };
        send(&sock);
        tracing::info!("known peers: the request was withdrawn");
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                for wait in WITHDRAW_AGAIN {
                    tokio::time::sleep(wait).await;
                    send(&sock);
                }
            });
        }
    }

    /// Where the peer answered from.
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.found.map(|(_, a, _)| a)
    }

    /// Hand the peer our offer code; its answer code back. `on_asking` runs once if its
    /// user is being asked.
    pub async fn offer(
        &mut self,
        my_fp: [u8; 32],
        code: &str,
        mut on_asking: impl FnMut(),
    ) -> Result<String, ConnectError> {
        let Some((i, to, nl)) = self.found else {
            return Err(ConnectError::NotHere {
                name: self.peer.name.clone(),
            });
        };
        let sock = Arc::clone(&self.sockets[i]);
        let datagram = lan::offer(
            &self.keys,
            &nl,
            &lan::OfferBody {
                fingerprint: my_fp,
                nc: self.nc,
                code: code.to_owned(),
            },
        );
        let name = self.peer.name.clone();
        let started = tokio::time::Instant::now();
        let mut deadline = started + OFFER_WAIT;
        let mut asked = false;
        let mut tick = tokio::time::interval(OFFER_EVERY);
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    let _ = if i == 0 { sock.send_to(&datagram, to).await } else { sock.send(&datagram).await };
                    self.asking = true;
                }
                Some((_, r)) = self.incoming.recv() => {
                    let Ok((bytes, _from)) = r else { continue };
                    let Ok(Packet::Reply { nc, seal_nonce, sealed }) = lan::parse(&bytes) else { continue };
                    if nc != self.nc {
                        continue;
                    }
                    let Some(body) = lan::open_reply(&self.keys, &nc, &nl, &seal_nonce, &sealed) else {
                        continue;
                    };
                    if body.fingerprint != self.peer.fingerprint {
                        self.asking = false;
                        return Err(ConnectError::WrongIdentity { name });
                    }
                    if body.status != Status::Asking {
                        self.asking = false;
                    }
                    match body.status {
                        Status::Answer => return Ok(body.code),
                        Status::Declined => return Err(ConnectError::Declined { name }),
                        Status::Busy => return Err(ConnectError::Busy { name }),
                        Status::NotYou => return Err(ConnectError::NotYou { name }),
                        Status::Failed => return Err(ConnectError::CouldNotStart { name }),
                        Status::Asking => {
                            if !asked {
                                asked = true;
                                on_asking();
                                deadline = tokio::time::Instant::now() + ACCEPT_WAIT;
                            }
                        }
                    }
                }
                _ = tokio::time::sleep_until(deadline) => {
                    return Err(ConnectError::NoReply { name, secs: started.elapsed().as_secs() });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A listener that knows "bob" under secret S, and in the same process a connector
    /// looking for bob with S at the listener's address: without `OwnHellos` the app finds
    /// itself (both sides hold S, the tags have no direction); with it, nobody answers.
    #[tokio::test]
    async fn an_app_does_not_find_itself_as_its_known_peer() {
        let dir = tempfile::tempdir().unwrap();
        let bob = KnownPeer {
            name: "bob".into(),
            fingerprint: [2; 32],
            my_fingerprint: [1; 32],
            secret: [7; 32],
            paired: 0,
            last_seen: 0,
            addrs: vec![IpAddr::V4(Ipv4Addr::LOCALHOST)],
        };
        crate::known::store::remember(dir.path(), bob.clone()).unwrap();
        let bind = vec!["127.0.0.1".to_string()];

        let own = OwnHellos::default();
        let l = Listener::bind_beside(dir.path().into(), [1; 32], 0, Some(own.clone()))
            .await
            .unwrap();
        let port = l.port;
        let found = Connector::find_beside(&bob, port, &bind, Some(&own)).await;
        assert!(
            matches!(
                found,
                Err(ConnectError::ForgotUs { .. } | ConnectError::NotHere { .. })
            ),
            "{:?}",
            found.map(|c| c.peer_addr())
        );
        assert!(!Connector::probe(&bob, port, &bind, &own).await);
        // The same search not marked as ours: the listener answers it as bob would.
        let found = Connector::find(&bob, port, &bind).await;
        assert!(found.is_ok(), "{:?}", found.err());
        assert!(Connector::probe(&bob, port, &bind, &OwnHellos::default()).await);
    }

    /// The app quits while its user's request is being asked: the runtime that held the
    /// waiting connector shuts down (its task dropped, no runtime left to send from later),
    /// and the withdrawal still reaches the listener, once.
    #[test]
    fn a_connector_dropped_by_a_runtime_shutting_down_still_withdraws() {
        let dir = tempfile::tempdir().unwrap();
        let lo = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let saved = |name: &str, fingerprint, my_fingerprint| KnownPeer {
            name: name.into(),
            fingerprint,
            my_fingerprint,
            secret: [4; 32],
            paired: 0,
            last_seen: 0,
            addrs: vec![lo],
        };
        crate::known::store::remember(dir.path(), saved("alice", [1; 32], [2; 32])).unwrap();
        let bob = saved("bob", [2; 32], [1; 32]);
        let bind = vec!["127.0.0.1".to_string()];

        let listening = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let mut l = listening
            .block_on(Listener::bind(dir.path().into(), [2; 32], 0))
            .unwrap();
        let port = l.port;

        let asking = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let mut conn = asking.block_on(Connector::find(&bob, port, &bind)).unwrap();
        asking.spawn(async move { conn.offer([1; 32], "an offer", || {}).await });
        // The request arrives while the asking runtime runs its offer.
        let req = asking.block_on(async {
            listening
                .spawn(async move {
                    let r = tokio::time::timeout(Duration::from_secs(10), l.next()).await;
                    (r, l)
                })
                .await
                .unwrap()
        });
        let (req, mut l) = req;
        let req = req.expect("no request").unwrap();
        drop(asking);
        let heard = listening.block_on(async {
            let first = tokio::time::timeout(Duration::from_secs(5), l.heard()).await;
            let again = tokio::time::timeout(Duration::from_millis(600), l.heard()).await;
            (first, again.is_err())
        });
        match heard {
            (Ok(Some(Heard::Withdrawn { id })), true) => assert_eq!(id, req.id()),
            other => panic!("{other:?}"),
        }
        req.withdrawn();
    }
}
