//! Known peers in line mode: `--remember NAME` on offer/answer, `qrchat listen`,
//! `qrchat connect NAME`, `qrchat peers`, `qrchat forget NAME`.

use std::io::Write;
use std::net::IpAddr;

use anyhow::{anyhow, bail, Context, Result};
use tokio::sync::{mpsc, oneshot};

use super::{interrupted, relay, spawn_stdin_reader, status, until_stopped, Config, Early};
use crate::known::discovery::{self, Answer, Connector, Heard, Listener};
use crate::known::store::{self, KnownPeer, Store};
use crate::known::{data_dir, load_or_create_identity, pair};
use crate::rtc::{Channel, Session};
use crate::signal::{self, Format, SdpKind};

type SecretTx = oneshot::Sender<Result<[u8; 32], pair::PairError>>;

/// What relay does about known peers in one session.
#[derive(Default)]
pub(super) struct Known {
    /// `--remember NAME`: save the peer once the secret is agreed.
    pub remember: Option<String>,
    /// A reconnect to this saved peer (no new secret; its name in the lines).
    pub peer: Option<KnownPeer>,
    /// The exchange under way.
    pending: Option<oneshot::Receiver<Result<[u8; 32], pair::PairError>>>,
    remote: Option<IpAddr>,
    /// Whether the peer is qrchat (SessionEvent::Peer): a browser page takes no pairing.
    qrchat: bool,
    /// When the chat opened (a --remember waits for the secret at most pair::TIMEOUT).
    opened: Option<std::time::Instant>,
    saved: bool,
    failed: bool,
}

impl Known {
    pub fn new(remember: Option<String>, peer: Option<KnownPeer>) -> Known {
        Known {
            remember,
            peer,
            ..Known::default()
        }
    }

    /// The line said when the link opens.
    pub fn open_line(&self, sas: &str, via: &str, route: &str) -> String {
        match &self.peer {
            Some(p) => format!(
                "connected to {} (paired by sight on {}){via}, {route}; safety number {} (saved when you paired)",
                p.name,
                p.paired_on(),
                p.safety_number()
            ),
            None => format!(
                "connected{via}, {route}; safety number {sas} (the other side must show the same)"
            ),
        }
    }

    /// The chat opened: the offerer starts the pairing exchange with a qrchat peer (not on
    /// a reconnect: the secret is there already).
    pub fn on_open(&mut self, session: &Session, remote: Option<&str>) {
        // "10.0.0.2:50001 (host)": the address before the candidate type
        self.remote = remote
            .and_then(|r| r.split_whitespace().next())
            .and_then(|r| r.parse::<std::net::SocketAddr>().ok())
            .map(|a| a.ip());
        self.opened = Some(std::time::Instant::now());
        if self.peer.is_some() || !session.is_offerer() || !self.qrchat {
            if self.remember.is_some() && !self.qrchat {
                status("cannot remember this peer: it is not qrchat (a browser page)");
                self.remember = None;
            }
            return;
        }
        let open = session.open_channel(pair::LABEL);
        let (fps, tx) = self.start(session);
        tokio::spawn(async move {
            let r = match open.await {
                Ok(ch) => run(ch, fps).await,
                Err(e) => Err(pair::PairError::Channel(e.to_string())),
            };
            let _ = tx.send(r);
        });
    }

    /// Whether the peer is qrchat (told once its code is applied).
    pub fn on_peer(&mut self, qrchat: bool) {
        self.qrchat = qrchat;
    }

    /// The peer opened the pairing channel (we answered its offer).
    pub fn on_channel(&mut self, session: &Session, ch: Channel) {
        if self.pending.is_some() || self.peer.is_some() {
            tokio::spawn(async move { ch.close().await });
            return;
        }
        let (fps, tx) = self.start(session);
        tokio::spawn(async move {
            let _ = tx.send(run(ch, fps).await);
        });
    }

    fn start(&mut self, session: &Session) -> (([u8; 32], [u8; 32]), SecretTx) {
        let (tx, rx) = oneshot::channel();
        self.pending = Some(rx);
        (
            (
                session.local_fingerprint(),
                session.remote_fingerprint().unwrap_or([0; 32]),
            ),
            tx,
        )
    }

    /// Whether a secret to be remembered is still to come (leaving waits for it, at most
    /// pair::TIMEOUT after the chat opened). Without --remember nothing waits: a peer that
    /// does not take part (the terminal app) must not hold up the end.
    pub fn busy(&self) -> bool {
        self.remember.is_some()
            && !self.saved
            && !self.failed
            && self.opened.is_some_and(|t| t.elapsed() < pair::TIMEOUT)
    }

    /// When a --remember still waiting stops waiting (the relay wakes then).
    pub fn deadline(&self) -> Option<std::time::Instant> {
        self.busy()
            .then_some(self.opened)
            .flatten()
            .map(|t| t + pair::TIMEOUT)
    }

    /// The exchange's result, once (pending forever when there is none).
    pub async fn next(&mut self) -> Result<[u8; 32], pair::PairError> {
        match self.pending.as_mut() {
            Some(rx) => {
                let r = rx.await.unwrap_or(Err(pair::PairError::Closed));
                self.pending = None;
                r
            }
            None => std::future::pending().await,
        }
    }

    /// The secret is agreed: save the peer if asked to.
    pub fn on_secret(
        &mut self,
        session: &Session,
        r: Result<[u8; 32], pair::PairError>,
    ) -> Result<()> {
        let Some(name) = self.remember.clone() else {
            if let Err(e) = r {
                tracing::debug!("pairing secret: {e}");
            }
            return Ok(());
        };
        let secret = r.map_err(|e| {
            self.failed = true;
            anyhow!("could not remember the other side as {name}: {e}")
        })?;
        let peer = KnownPeer::paired_now(
            name.clone(),
            session.remote_fingerprint().unwrap_or([0; 32]),
            session.local_fingerprint(),
            secret,
            self.remote,
        );
        let sas = peer.safety_number();
        let dir = data_dir()?;
        for note in store::remember(&dir, peer)? {
            status(note);
        }
        self.saved = true;
        status(format!(
            "remembered the other side as {name} (safety number {sas}): `qrchat connect {name}` reaches it again on this network"
        ));
        Ok(())
    }

    /// At the end: a --remember that never happened is an error.
    pub fn verdict(&self) -> Option<String> {
        match &self.remember {
            Some(name) if !self.saved => Some(format!(
                "the other side was not remembered as {name}: the link ended before a pairing secret was agreed"
            )),
            _ => None,
        }
    }
}

/// One side of the exchange. The channel is left open (it ends with the session): a close
/// right after the exchange overtook the other side's read of the last message now and
/// then (webrtc-sctp ends the stream on the reset even with data unread).
async fn run(
    ch: Channel,
    (mine, theirs): ([u8; 32], [u8; 32]),
) -> Result<[u8; 32], pair::PairError> {
    let r = pair::exchange(&ch, &mine, &theirs).await;
    if r.is_err() {
        tokio::spawn(async move { ch.close().await });
    }
    r
}

/// `--remember NAME`: checked, and the lasting identity put in the config, before any code
/// is printed.
pub(super) fn prepare(cfg: &Config) -> Result<Config> {
    let mut cfg = cfg.clone();
    if let Some(name) = &cfg.remember {
        let name = store::check_name(name)?;
        let dir = data_dir()?;
        cfg.rtc.identity = Some(load_or_create_identity(&dir)?);
        cfg.remember = Some(name);
    }
    Ok(cfg)
}

fn lasting() -> Result<(std::path::PathBuf, crate::rtc::Identity)> {
    let dir = data_dir()?;
    let id = load_or_create_identity(&dir)?;
    Ok((dir, id))
}

/// `qrchat connect NAME`
pub async fn run_connect(cfg: &Config, name: &str) -> Result<()> {
    super::checks::paths(&cfg.send, cfg.receive.as_deref())?;
    let (dir, me) = lasting()?;
    let peer = Store::load(&dir)?.find(name)?.clone();
    if peer.my_fingerprint != me.fingerprint() {
        bail!(
            "this app's identity changed since it paired with {} (the data folder was reset?): pair by code again",
            peer.name
        );
    }
    let mut stop = interrupted();
    let mut stdin = spawn_stdin_reader();
    status(format!("looking for {} on this network…", peer.name));
    // A fresh certificate for this session (nothing stable on the wire); the sealed offer
    // names it, and the pairwise secret vouches for the offer.
    let mut chat = super::Chat::new();
    let mut rtc = chat.rtc_config(&cfg.rtc);
    rtc.identity = None;
    let (tx, mut events) = mpsc::unbounded_channel();
    let port = discovery::port();
    let (found, session) = tokio::select! {
        r = async { tokio::join!(Connector::find(&peer, port, &cfg.rtc.bind), Session::offer(&rtc, tx)) } => r,
        _ = &mut stop => return Ok(()),
    };
    let session = session.context("could not make an offer")?;
    let body = async {
        let mut conn = found?;
        let code = signal::encode(session.local_description(), Format::Auto)
            .map_err(|e| anyhow!("cannot encode my offer: {e}"))?;
        if let Some(a) = conn.peer_addr() {
            status(format!("found {} at {}; asking…", peer.name, a.ip()));
        }
        let who = peer.name.clone();
        let answer = conn
            .offer(me.fingerprint(), &code, || {
                status(format!("waiting for {who} to accept…"))
            })
            .await?;
        let answer =
            signal::decode_expecting(&answer, SdpKind::Answer, Some(session.local_description()))
                .map_err(|e| anyhow!("{}'s answer cannot be used: {e}", peer.name))?;
        session
            .accept_answer(&answer.desc)
            .await
            .context("the answer was refused")?;
        let _ = store::seen(&dir, &peer.fingerprint, conn.peer_addr().map(|a| a.ip()));
        drop(conn);
        let early = Early {
            known: Known::new(None, Some(peer.clone())),
            ..Early::default()
        };
        relay(&session, &mut events, &mut stdin, cfg, early, &mut chat).await
    };
    let res = until_stopped(&session, &mut stop, body).await;
    chat.finish(res)
}

/// `qrchat listen`
pub async fn run_listen(cfg: &Config) -> Result<()> {
    super::checks::paths(&cfg.send, cfg.receive.as_deref())?;
    let (dir, me) = lasting()?;
    let peers = Store::load(&dir)?.peers;
    if peers.is_empty() {
        bail!("no known peers yet: pair by code first with --remember NAME (qrchat offer --remember NAME)");
    }
    let port = discovery::port();
    let mut listener = Listener::bind(dir.clone(), me.fingerprint(), port)
        .await
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::AddrInUse => {
                anyhow!("UDP port {port} is taken: another qrchat listens on this computer already")
            }
            _ => anyhow!("cannot listen on UDP port {port}: {e}"),
        })?;
    let mut stop = interrupted();
    let mut stdin = spawn_stdin_reader();
    status(format!(
        "listening for known peers ({}) on UDP port {port}; Ctrl-C stops",
        peers
            .iter()
            .map(|p| p.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    ));
    loop {
        let req = tokio::select! {
            e = listener.next_event() => match e {
                None => bail!("the listener stopped"),
                Some(Err(Heard::NotTheSavedIdentity { name, from })) => {
                    status(format!(
                        "refused a request from {}: it holds {name}'s pairing secret but not {name}'s identity",
                        from.ip()
                    ));
                    continue;
                }
                // Its request was answered at once: nothing is left to take back.
                Some(Err(Heard::Withdrawn { .. })) => continue,
                Some(Ok(req)) => req,
            },
            _ = &mut stop => return Ok(()),
        };
        let name = req.peer.name.clone();
        status(format!(
            "{name} (paired by sight on {}) wants to chat: accepting",
            req.peer.paired_on()
        ));
        let offer = match signal::decode_expecting(&req.offer_code, SdpKind::Offer, None) {
            Ok(o) => o,
            Err(e) => {
                status(format!("{name}'s offer cannot be used: {e}"));
                req.answer(Answer::Failed);
                continue;
            }
        };
        let mut chat = super::Chat::new();
        let mut rtc = chat.rtc_config(&cfg.rtc);
        rtc.identity = None;
        let (tx, mut events) = mpsc::unbounded_channel();
        let session = match Session::answer(&rtc, &offer.desc, tx).await {
            Ok(s) => s,
            Err(e) => {
                req.answer(Answer::Failed);
                bail!("could not answer {name}'s offer: {e}");
            }
        };
        let code = match signal::encode(session.local_description(), Format::Auto) {
            Ok(c) => c,
            Err(e) => {
                req.answer(Answer::Failed);
                bail!("cannot encode my answer: {e}");
            }
        };
        let peer = req.peer.clone();
        let from = req.from.ip();
        req.answer(Answer::Accept(code));
        let _ = store::seen(&dir, &peer.fingerprint, Some(from));
        // Others who ask meanwhile hear that this side is busy (the listener stays, so a
        // lost reply is sent again to the one being answered).
        let busy = tokio::spawn(async move {
            while let Some(r) = listener.next().await {
                r.answer(Answer::Busy);
            }
        });
        let early = Early {
            known: Known::new(None, Some(peer)),
            ..Early::default()
        };
        let body = relay(&session, &mut events, &mut stdin, cfg, early, &mut chat);
        let res = until_stopped(&session, &mut stop, body).await;
        busy.abort();
        return chat.finish(res);
    }
}

/// `qrchat peers`
pub fn run_peers() -> Result<()> {
    let dir = data_dir()?;
    let store = Store::load(&dir)?;
    let mut out = std::io::stdout().lock();
    if store.peers.is_empty() {
        writeln!(
            out,
            "no known peers yet: pair by code with --remember NAME (or /save NAME in the app)"
        )?;
        return Ok(());
    }
    for p in &store.peers {
        let at = p
            .addrs
            .first()
            .map(|a| format!(", last at {a}"))
            .unwrap_or_default();
        writeln!(
            out,
            "{}  paired by sight on {}, safety number {}, last seen {}{at}",
            p.name,
            p.paired_on(),
            p.safety_number(),
            p.last_seen_on()
        )?;
    }
    Ok(())
}

/// `qrchat forget NAME`
pub fn run_forget(name: &str) -> Result<()> {
    let dir = data_dir()?;
    let gone = store::forget(&dir, name)?;
    println!(
        "forgot {} (paired on {}): it can no longer reach this app by name",
        gone.name,
        gone.paired_on()
    );
    Ok(())
}
