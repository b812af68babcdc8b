//! The joiner's side: hand the answer to the starter at each of its host candidates'
//! address and port (TCP), all at once, again every [`RETRY_EVERY`] until one
//! acknowledges, refuses, or the time given runs out.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::wire::{self, AnswerKey, Status, MAC_LEN, REPLY_LEN};

/// A refused or silent try is made again after this.
pub const RETRY_EVERY: Duration = Duration::from_millis(250);
/// One try's connect (a LAN peer answers in a millisecond; a filtered port never).
pub const CONNECT_TIMEOUT: Duration = Duration::from_millis(800);
/// At most this many of the offer's addresses are tried (a code names a few).
pub const MAX_TARGETS: usize = 8;

/// How a delivery ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// The starter applied our answer: no need to show our code.
    Accepted { to: SocketAddr },
    /// The starter had already taken another answer: its code is used up.
    UsedUp { by: SocketAddr },
    /// No acknowledgement in the time given (port filtered, another network, no
    /// listener): the last reason per address.
    Failed(String),
}

/// Deliver `answer_code` (its certificate's fingerprint `answer_fp`) to the maker of the
/// offer `key` was made from, at `targets`, for at most `within`.
pub async fn deliver(
    key: &AnswerKey,
    targets: &[SocketAddr],
    answer_code: &str,
    answer_fp: &[u8; 32],
    within: Duration,
) -> Delivery {
    if targets.is_empty() {
        return Delivery::Failed("the code names no address to deliver to".into());
    }
    let (request, mac) = wire::answer_request(key, answer_code, answer_fp);
    let deadline = Instant::now() + within;
    let mut tries = JoinSet::new();
    for &to in targets.iter().take(MAX_TARGETS) {
        let (request, key) = (request.clone(), key.clone());
        tries.spawn(async move {
            let mut last = String::from("no try");
            loop {
                let started = Instant::now();
                if started >= deadline {
                    return (to, Err(last));
                }
                match try_once(to, &request, &key, &mac, deadline).await {
                    Ok(status) => return (to, Ok(status)),
                    Err(e) => last = e,
                }
                tracing::debug!(%to, "direct delivery: {last}");
                let next = (started + RETRY_EVERY).min(deadline);
                tokio::time::sleep_until(next).await;
            }
        });
    }
    let mut failures = Vec::new();
    while let Some(r) = tries.join_next().await {
        match r {
            Ok((to, Ok(Status::Accepted))) => return Delivery::Accepted { to },
            Ok((by, Ok(Status::UsedUp))) => return Delivery::UsedUp { by },
            Ok((to, Err(e))) => failures.push(format!("{to}: {e}")),
            Err(e) => failures.push(format!("a try ended: {e}")),
        }
    }
    Delivery::Failed(failures.join("; "))
}

async fn try_once(
    to: SocketAddr,
    request: &[u8],
    key: &AnswerKey,
    mac: &[u8; MAC_LEN],
    deadline: Instant,
) -> Result<Status, String> {
    let connect_by = (Instant::now() + CONNECT_TIMEOUT).min(deadline);
    let mut s = match tokio::time::timeout_at(connect_by, TcpStream::connect(to)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => return Err(format!("cannot connect: {e}")),
        Err(_) => return Err("no answer to connect (filtered?)".into()),
    };
    let _ = s.set_nodelay(true);
    let exchange = async {
        s.write_all(request).await?;
        let mut r = [0u8; REPLY_LEN];
        s.read_exact(&mut r).await?;
        Ok::<_, std::io::Error>(r)
    };
    match tokio::time::timeout_at(deadline, exchange).await {
        Ok(Ok(r)) => key
            .read_reply(wire::KIND_ANSWER, mac, &r)
            .ok_or_else(|| "the reply is not from the code's maker".into()),
        Ok(Err(e)) => Err(format!("no reply: {e}")),
        Err(_) => Err("no reply in time".into()),
    }
}
