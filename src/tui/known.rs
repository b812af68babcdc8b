//! Known peers in the app: `/save NAME` keeps the peer of the open chat (the pairwise
//! secret is agreed on a `qrchat-pair` channel as soon as a chat with a qrchat peer opens;
//! see `crate::known`). The runner's half is [`run_pairing`] and [`save`].

use std::sync::Arc;

use tokio::sync::{mpsc::UnboundedSender, watch};

use super::app::{App, Who};
use super::event::{AppEvent, Effect};
use super::session::{Channel, Link};
use crate::known::{self, pair, store};

/// The secret being agreed for the chat under way: None while it is, then the outcome.
pub type Secret = watch::Receiver<Option<Result<[u8; 32], String>>>;

impl App {
    /// `/save NAME`
    pub(crate) fn save_peer(&mut self, name: &str) -> Vec<Effect> {
        let name = match store::check_name(name) {
            Ok(n) => n,
            Err(e) => {
                self.push_line(Who::Warn, format!("/save NAME: {e}"));
                return vec![];
            }
        };
        let open =
            self.pairing.peer.link.is_some_and(|l| {
                l.is_open() || matches!(l, crate::rtc::LinkState::Interrupted { .. })
            });
        let (Some(peer_fp), Some(sas), true) =
            (self.pairing.peer_fp, self.pairing.peer.sas.clone(), open)
        else {
            self.push_line(
                Who::Warn,
                "/save works in an open chat: the peer to keep is the one you are talking to"
                    .into(),
            );
            return vec![];
        };
        if self.pairing.peer_qrchat != Some(true) {
            self.push_line(
                Who::Warn,
                "only a qrchat app can be kept as a known peer (this one is a browser page)".into(),
            );
            return vec![];
        }
        self.push_line(
            Who::Info,
            format!(
                "keeping the other side as {name}: what you trust is the safety number {sas} \
                 (the same on both screens means nobody is in the middle)"
            ),
        );
        vec![Effect::SavePeer {
            name,
            peer_fp,
            addr: self.pairing.remote.clone(),
        }]
    }
}

/// Agree the secret on `channel` (or one opened on `link`); the outcome goes to the
/// returned receiver. The channel stays open until the session ends (as headless does).
pub fn run_pairing(link: Arc<dyn Link>, channel: Option<Channel>, peer_fp: [u8; 32]) -> Secret {
    let (tx, rx) = watch::channel(None);
    let my_fp = crate::signal::fingerprint_of(&link.local_description().sdp).unwrap_or([0; 32]);
    let open = channel.is_none().then(|| link.open_channel(pair::LABEL));
    tokio::spawn(async move {
        let ch = match (channel, open) {
            (Some(ch), _) => Ok(ch),
            (None, Some(open)) => open.await.map_err(|e| e.to_string()),
            (None, None) => Err("no channel".to_string()),
        };
        let r = match ch {
            Ok(ch) => pair::exchange(&ch, &my_fp, &peer_fp)
                .await
                .map_err(|e| e.to_string()),
            Err(e) => Err(e),
        };
        let _ = tx.send(Some(r));
    });
    rx
}

/// `/save NAME`: wait for the secret (bounded), then keep the peer; say how it went.
pub fn save(
    link: Option<Arc<dyn Link>>,
    secret: Option<Secret>,
    name: String,
    peer_fp: [u8; 32],
    addr: Option<String>,
    tx: UnboundedSender<AppEvent>,
) {
    tokio::spawn(async move {
        let r = async {
            let link = link.ok_or("the link is gone: nothing was saved")?;
            let mut secret = secret.ok_or(
                "no pairing secret was agreed with this peer (an older qrchat?): nothing was saved",
            )?;
            let got = tokio::time::timeout(pair::TIMEOUT, secret.wait_for(|s| s.is_some()))
                .await
                .map_err(|_| "the pairing secret did not come: nothing was saved".to_string())?
                .map_err(|_| "the link is gone: nothing was saved".to_string())?
                .clone();
            let secret = got
                .unwrap_or_else(|| Err("no pairing secret".into()))
                .map_err(|e| format!("no pairing secret ({e}): nothing was saved"))?;
            let my_fp = crate::signal::fingerprint_of(&link.local_description().sdp)
                .ok_or("no fingerprint of my own")?;
            let dir = known::data_dir().map_err(|e| e.to_string())?;
            // Only the lasting identity can be found again: not a --ephemeral run's.
            let lasting = known::load_or_create_identity(&dir).map_err(|e| e.to_string())?;
            if lasting.fingerprint() != my_fp {
                return Err(
                    "this app runs with --ephemeral (a certificate for this run only), \
                            so the peer could never find it again: nothing was saved"
                        .to_string(),
                );
            }
            let now = store::now_unix();
            let ip = addr
                .as_deref()
                .and_then(|r| r.split_whitespace().next())
                .and_then(|r| r.parse::<std::net::SocketAddr>().ok())
                .map(|a| a.ip());
            let peer = known::KnownPeer {
                name: name.clone(),
                fingerprint: peer_fp,
                my_fingerprint: my_fp,
                secret,
                paired: now,
                last_seen: now,
                addrs: ip.into_iter().collect(),
            };
            let sas = peer.safety_number();
            let notes = store::remember(&dir, peer).map_err(|e| e.to_string())?;
            let mut line = format!(
                "saved as {name} (safety number {sas}): `qrchat connect {name}` finds it again on \
                 this network when it listens"
            );
            for n in notes {
                line.push_str("; ");
                line.push_str(&n);
            }
            Ok::<String, String>(line)
        }
        .await
        .map_err(|e: String| e);
        let _ = tx.send(AppEvent::PeerSaved(r));
    });
}
