//! ICE servers: the `--stun` and `--turn` URLs, checked before anything starts, turned into
//! what webrtc-rs takes, and resolved at session start so a name that goes nowhere is told
//! to the user rather than only to the log.
//!
//! Accepted (RFC 7064 / 7065, narrowed to what webrtc-rs 0.17 gathers over):
//! - STUN: `stun:HOST[:PORT]`, or `HOST:PORT` without the scheme. Port 3478 by default.
//! - TURN: `turn:HOST[:PORT]` or `turn:HOST[:PORT]?transport=udp`, with a user name and a
//!   password. webrtc-rs 0.17 relays over UDP only, so `turns:` and `?transport=tcp` are
//!   refused with that reason rather than silently gathering nothing.
//!
//! HOST is an IPv4 address, a bracketed IPv6 address or a DNS name.

use std::net::{IpAddr, Ipv6Addr};
use std::time::Duration;

use webrtc::ice_transport::ice_server::RTCIceServer;

use super::RtcConfig;

/// The port a STUN or TURN URL without one means.
pub const DEFAULT_PORT: u16 = 3478;
/// How long a session start waits for a STUN or TURN host name to resolve.
pub const RESOLVE_TIMEOUT: Duration = Duration::from_secs(2);

/// How long ICE waits before it may nominate a pair through a TURN relay (webrtc-rs: 2 s).
/// A direct pair that works wins anyway (it ranks above any relayed one once its check
/// succeeds, and server-reflexive pairs may be nominated after 0.5 s); the wait only
/// gives slower direct checks a head start. 1 s keeps that head start over the 0.5 s
/// reflexive wait, and halves the time a pairing that needs TURN waits for it (measured
/// in the namespaces of tests/integration/reach.rs: ~2.04 s -> ~1.05 s).
pub const RELAY_ACCEPTANCE_WAIT: Duration = Duration::from_millis(1000);

/// How long ICE waits before it may nominate a pair with a server-reflexive (STUN-learned)
/// candidate (webrtc-rs: 0.5 s). The wait lets host pairs on a shared LAN win; those
/// answer within milliseconds, so 0.1 s is plenty, and two cone NATs pair sooner
/// (measured in the namespaces, cone+cone with STUN: 617 ms -> 217 ms).
pub const SRFLX_ACCEPTANCE_WAIT: Duration = Duration::from_millis(100);

/// A TURN server with its long-term credentials. `Debug` leaves the password out, so a
/// logged config never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct TurnServer {
    /// `turn:host:port` (optionally `?transport=udp`).
    pub url: String,
    pub username: String,
    pub credential: String,
}

impl std::fmt::Debug for TurnServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TurnServer")
            .field("url", &self.url)
            .field("username", &self.username)
            .field("credential", &"…")
            .finish()
    }
}

/// A STUN or TURN setting that cannot be used, named the way the user wrote it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServerError {
    #[error("--stun {given:?}: {why}")]
    BadStun { given: String, why: String },
    #[error("--turn {given:?}: {why}")]
    BadTurn { given: String, why: String },
    #[error("--turn {given:?} needs {missing} (the TURN server's long-term credentials)")]
    MissingCredentials {
        given: String,
        missing: &'static str,
    },
    #[error("{option} is given but no --turn server is")]
    CredentialsWithoutTurn { option: &'static str },
}

/// Whether a URL is for STUN or TURN (the scheme the user meant).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scheme {
    Stun,
    Turn,
}

/// A checked server address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerUrl {
    /// Host name or address as written (IPv6 without brackets).
    pub host: String,
    pub port: u16,
    /// The URL in the form webrtc-rs takes (`stun:host:port`, `turn:host:port?transport=udp`).
    pub url: String,
}

impl ServerUrl {
    /// `host:port` (IPv6 bracketed), for messages and lookups.
    pub fn host_port(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// Checks one `--stun` value.
pub fn parse_stun(given: &str) -> Result<ServerUrl, ServerError> {
    let bad = |why: String| ServerError::BadStun {
        given: given.to_owned(),
        why,
    };
    let t = given.trim();
    let rest = if let Some(r) = strip_scheme(t, "stun:") {
        r
    } else if strip_scheme(t, "stuns:").is_some() {
        return Err(bad(
            "STUN over TLS (stuns:) is not supported; use stun:HOST:PORT".into(),
        ));
    } else if strip_scheme(t, "turn:").is_some() || strip_scheme(t, "turns:").is_some() {
        return Err(bad(
            "that is a TURN server: give it with --turn (and --turn-user, --turn-password)".into(),
        ));
    } else if t.contains("://") || t.contains('/') {
        return Err(bad("expected stun:HOST:PORT, not a web address".into()));
    } else {
        // Without the scheme a port is required: a bare word is more likely a slip
        // (`--stun notaurl`) than a host name.
        if !has_port(t) {
            return Err(bad(
                "expected stun:HOST:PORT (e.g. stun:192.0.2.1:3478)".into()
            ));
        }
        t
    };
    if rest.contains('?') {
        return Err(bad("a STUN URL takes no ?parameters".into()));
    }
    let (host, port) = host_port(rest).map_err(bad)?;
    Ok(finish(Scheme::Stun, host, port, ""))
}

/// Checks one `--turn` value (credentials apart).
pub fn parse_turn(given: &str) -> Result<ServerUrl, ServerError> {
    let bad = |why: String| ServerError::BadTurn {
        given: given.to_owned(),
        why,
    };
    let t = given.trim();
    let rest = if let Some(r) = strip_scheme(t, "turn:") {
        r
    } else if strip_scheme(t, "turns:").is_some() {
        return Err(bad(
            "TURN over TLS (turns:) is not supported: this build relays over UDP only; \
             use turn:HOST:PORT"
                .into(),
        ));
    } else if strip_scheme(t, "stun:").is_some() {
        return Err(bad("that is a STUN server: give it with --stun".into()));
    } else {
        return Err(bad("expected turn:HOST:PORT".into()));
    };
    let (addr, query) = match rest.split_once('?') {
        Some((a, q)) => (a, Some(q)),
        None => (rest, None),
    };
    match query.map(|q| q.to_ascii_lowercase()) {
        None => {}
        Some(q) if q == "transport=udp" => {}
        Some(q) if q == "transport=tcp" => {
            return Err(bad(
                "TURN over TCP is not supported: this build relays over UDP only; \
                 use ?transport=udp or leave it out"
                    .into(),
            ))
        }
        Some(_) => return Err(bad("the only parameter taken is ?transport=udp".into())),
    }
    let (host, port) = host_port(addr).map_err(bad)?;
    Ok(finish(Scheme::Turn, host, port, "?transport=udp"))
}

fn strip_scheme<'a>(s: &'a str, scheme: &str) -> Option<&'a str> {
    let head = s.get(..scheme.len())?;
    head.eq_ignore_ascii_case(scheme)
        .then(|| &s[scheme.len()..])
}

/// Whether `host:port` / `[v6]:port` has a port part at all.
fn has_port(s: &str) -> bool {
    if let Some(r) = s.strip_prefix('[') {
        return r.split_once(']').is_some_and(|(_, p)| p.starts_with(':'));
    }
    s.matches(':').count() == 1
}

fn finish(scheme: Scheme, host: String, port: u16, suffix: &str) -> ServerUrl {
    let shown = if host.contains(':') {
        format!("[{host}]")
    } else {
        host.clone()
    };
    let s = match scheme {
        Scheme::Stun => "stun",
        Scheme::Turn => "turn",
    };
    ServerUrl {
        url: format!("{s}:{shown}:{port}{suffix}"),
        host,
        port,
    }
}

/// `HOST[:PORT]` with HOST an IPv4 address, `[IPv6]` or a DNS name.
fn host_port(s: &str) -> Result<(String, u16), String> {
    if s.is_empty() {
        return Err("no host".into());
    }
    let (host, port) = if let Some(r) = s.strip_prefix('[') {
        let (h, after) = r
            .split_once(']')
            .ok_or("an IPv6 address in [ ] lacks its closing ]")?;
        h.parse::<Ipv6Addr>()
            .map_err(|_| format!("{h:?} is not an IPv6 address"))?;
        let port = match after {
            "" => None,
            p => Some(
                p.strip_prefix(':')
                    .ok_or(format!("unexpected {p:?} after the address"))?,
            ),
        };
        (h.to_owned(), port)
    } else {
        match s.matches(':').count() {
            0 => (s.to_owned(), None),
            1 => {
                let (h, p) = s.split_once(':').unwrap_or((s, ""));
                (h.to_owned(), Some(p))
            }
            _ if s.parse::<Ipv6Addr>().is_ok() => {
                return Err("put an IPv6 address in brackets: [ADDR]:PORT".into())
            }
            _ => return Err("too many ':'".into()),
        }
    };
    if host.is_empty() {
        return Err("no host".into());
    }
    if !host.contains(':') {
        check_host_name(&host)?;
    }
    let port = match port {
        None => DEFAULT_PORT,
        Some(p) => parse_port(p)?,
    };
    Ok((host, port))
}

fn parse_port(p: &str) -> Result<u16, String> {
    if p.is_empty() {
        return Err("the port is missing after ':'".into());
    }
    if !p.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("port {p:?} is not a number"));
    }
    match p.parse::<u32>() {
        Ok(n @ 1..=65535) => Ok(n as u16),
        _ => Err(format!("port {p} is out of range (1-65535)")),
    }
}

/// A DNS name (letters, digits, '-', dots between labels) or a dotted IPv4 address.
fn check_host_name(h: &str) -> Result<(), String> {
    if h.parse::<IpAddr>().is_ok() {
        return Ok(());
    }
    let looks_numeric = h.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    if looks_numeric {
        return Err(format!("{h:?} is not an IPv4 address"));
    }
    let name = h.strip_suffix('.').unwrap_or(h);
    let ok = name.len() <= 253
        && name.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if ok {
        Ok(())
    } else {
        Err(format!("{h:?} is not a host name or address"))
    }
}

/// The `--turn` servers as the command line gives them: every URL with the one user name
/// and password (a missing one is left empty for [`check`] to name).
pub fn turn_servers(
    urls: &[String],
    user: Option<&str>,
    password: Option<&str>,
) -> Vec<TurnServer> {
    urls.iter()
        .map(|u| TurnServer {
            url: u.clone(),
            username: user.unwrap_or_default().to_owned(),
            credential: password.unwrap_or_default().to_owned(),
        })
        .collect()
}

/// Every check that needs no network: each URL parses, has a usable port, and each TURN
/// server has both credentials. The first problem is returned.
pub fn check(stun: &[String], turn: &[TurnServer]) -> Result<(), ServerError> {
    ice_servers(stun, turn).map(|_| ())
}

/// The command line's extra rule: a user name without a TURN server is a slip. (A password
/// alone is not: it may come from `QRCHAT_TURN_PASSWORD`, set once for all runs.)
pub fn check_cli(
    stun: &[String],
    turn: &[String],
    user: Option<&str>,
    password: Option<&str>,
) -> Result<(), ServerError> {
    if turn.is_empty() && user.is_some() {
        return Err(ServerError::CredentialsWithoutTurn {
            option: "--turn-user",
        });
    }
    check(stun, &turn_servers(turn, user, password))
}

/// What webrtc-rs takes, from checked settings.
pub(crate) fn ice_servers(
    stun: &[String],
    turn: &[TurnServer],
) -> Result<Vec<RTCIceServer>, ServerError> {
    let mut out = Vec::new();
    for s in stun {
        let u = parse_stun(s)?;
        out.push(RTCIceServer {
            urls: vec![u.url],
            ..Default::default()
        });
    }
    for t in turn {
        let u = parse_turn(&t.url)?;
        let missing = match (t.username.is_empty(), t.credential.is_empty()) {
            (true, true) => Some("--turn-user and --turn-password"),
            (true, false) => Some("--turn-user"),
            (false, true) => Some("--turn-password"),
            (false, false) => None,
        };
        if let Some(missing) = missing {
            return Err(ServerError::MissingCredentials {
                given: t.url.clone(),
                missing,
            });
        }
        out.push(RTCIceServer {
            urls: vec![u.url],
            username: t.username.clone(),
            credential: t.credential.clone(),
        });
    }
    Ok(out)
}

/// Resolves every STUN and TURN host (at most [`RESOLVE_TIMEOUT`] each, all at once) and
/// returns one sentence per problem, for the user's eyes: a host that does not resolve,
/// or a TURN server with no IPv4 address (webrtc-rs relays over IPv4 only). Settings
/// that do not parse are [`check`]'s business and are skipped here.
pub async fn check_resolves(cfg: &RtcConfig) -> Vec<String> {
    let mut jobs = Vec::new();
    for s in &cfg.stun {
        if let Ok(u) = parse_stun(s) {
            jobs.push((Scheme::Stun, u));
        }
    }
    for t in &cfg.turn {
        if let Ok(u) = parse_turn(&t.url) {
            jobs.push((Scheme::Turn, u));
        }
    }
    let lookups = jobs.into_iter().map(|(scheme, u)| async move {
        let what = match scheme {
            Scheme::Stun => "STUN server",
            Scheme::Turn => "TURN server",
        };
        if let Ok(ip) = u.host.parse::<IpAddr>() {
            return (scheme == Scheme::Turn && ip.is_ipv6()).then(|| {
                format!(
                    "{what} {}: relaying works over IPv4 only; this one will not be used",
                    u.host_port()
                )
            });
        }
        let lookup = tokio::net::lookup_host((u.host.as_str(), u.port));
        match tokio::time::timeout(RESOLVE_TIMEOUT, lookup).await {
            Err(_) => Some(format!(
                "{what} {} did not resolve within {} s; {}",
                u.host_port(),
                RESOLVE_TIMEOUT.as_secs(),
                consequence(scheme)
            )),
            Ok(Err(_)) => Some(format!(
                "{what} {} does not resolve (unknown host); {}",
                u.host_port(),
                consequence(scheme)
            )),
            Ok(Ok(addrs)) => {
                let addrs: Vec<_> = addrs.collect();
                if addrs.is_empty() {
                    Some(format!(
                        "{what} {} has no address; {}",
                        u.host_port(),
                        consequence(scheme)
                    ))
                } else if scheme == Scheme::Turn && !addrs.iter().any(|a| a.is_ipv4()) {
                    Some(format!(
                        "{what} {} has no IPv4 address and relaying works over IPv4 only; \
                         it will not be used",
                        u.host_port()
                    ))
                } else {
                    None
                }
            }
        }
    });
    futures::future::join_all(lookups)
        .await
        .into_iter()
        .flatten()
        .collect()
}

fn consequence(scheme: Scheme) -> &'static str {
    match scheme {
        Scheme::Stun => "it is not used (a pairing across networks may not connect)",
        Scheme::Turn => "it is not used (no relay if a direct path fails)",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stun(s: &str) -> Result<String, String> {
        parse_stun(s).map(|u| u.url).map_err(|e| e.to_string())
    }

    fn turn(s: &str) -> Result<String, String> {
        parse_turn(s).map(|u| u.url).map_err(|e| e.to_string())
    }

    #[test]
    fn good_stun_urls_are_normalised() {
        assert_eq!(stun("stun:192.0.2.1:3478").unwrap(), "stun:192.0.2.1:3478");
        assert_eq!(
            stun(" stun:stun.example.org ").unwrap(),
            "stun:stun.example.org:3478"
        );
        assert_eq!(
            stun("STUN:example.org:19302").unwrap(),
            "stun:example.org:19302"
        );
        assert_eq!(stun("192.0.2.1:5000").unwrap(), "stun:192.0.2.1:5000");
        assert_eq!(
            stun("stun:[2001:db8::1]:3479").unwrap(),
            "stun:[2001:db8::1]:3479"
        );
        assert_eq!(
            stun("[2001:db8::1]:3479").unwrap(),
            "stun:[2001:db8::1]:3479"
        );
        assert_eq!(
            stun("stun:[2001:db8::1]").unwrap(),
            "stun:[2001:db8::1]:3478"
        );
    }

    #[test]
    fn bad_stun_urls_are_named_with_the_reason() {
        for (given, want) in [
            ("notaurl", "expected stun:HOST:PORT"),
            ("stun:host:99999", "port 99999 is out of range"),
            ("stun:host:0", "port 0 is out of range"),
            ("stun:host:abc", "port \"abc\" is not a number"),
            ("stun:host:", "the port is missing"),
            ("stun:", "no host"),
            ("stun::3478", "no host"),
            ("https://stun.example.org", "not a web address"),
            ("stun:a b:3478", "not a host name"),
            ("stun:300.1.1.1:3478", "not an IPv4 address"),
            ("stun:2001:db8::1", "brackets"),
            ("stun:[2001:db8::1:3478", "closing ]"),
            ("stun:h:1?x=y", "no ?parameters"),
            ("stuns:h:5349", "not supported"),
            ("turn:h:3478", "give it with --turn"),
        ] {
            let err = stun(given).unwrap_err();
            assert!(
                err.starts_with(&format!("--stun {given:?}: ")) && err.contains(want),
                "{given}: {err}"
            );
        }
    }

    #[test]
    fn turn_urls() {
        assert_eq!(
            turn("turn:10.0.0.1:3478").unwrap(),
            "turn:10.0.0.1:3478?transport=udp"
        );
        assert_eq!(
            turn("turn:relay.example.org?transport=udp").unwrap(),
            "turn:relay.example.org:3478?transport=udp"
        );
        assert_eq!(
            turn("turn:[2001:db8::2]:3478").unwrap(),
            "turn:[2001:db8::2]:3478?transport=udp"
        );
        for (given, want) in [
            ("turn:h:3478?transport=tcp", "UDP only"),
            ("turns:h:5349", "UDP only"),
            ("turn:h:3478?foo=bar", "?transport=udp"),
            ("turn:h:70000", "out of range"),
            ("h:3478", "expected turn:HOST:PORT"),
            ("stun:h:3478", "give it with --stun"),
        ] {
            let err = turn(given).unwrap_err();
            assert!(
                err.starts_with(&format!("--turn {given:?}: ")) && err.contains(want),
                "{given}: {err}"
            );
        }
    }

    /// What we hand over, webrtc-rs parses as the same server (so its gatherer never
    /// logs "invalid port number" for something we let through).
    #[test]
    fn webrtc_rs_takes_every_url_we_accept() {
        let servers = ice_servers(
            &[
                "stun:example.org".into(),
                "192.0.2.1:5000".into(),
                "stun:[2001:db8::1]:9".into(),
            ],
            &turn_servers(&["turn:10.0.0.1:3478".into()], Some("u"), Some("p")),
        )
        .unwrap();
        for s in &servers {
            for url in &s.urls {
                let parsed =
                    webrtc::ice::url::Url::parse_url(url).unwrap_or_else(|e| panic!("{url}: {e}"));
                assert!(url.contains(&parsed.host), "{url} -> {parsed:?}");
                assert!(
                    url.contains(&format!(":{}", parsed.port)),
                    "{url} -> {parsed:?}"
                );
            }
        }
        assert_eq!(servers[3].username, "u");
        assert_eq!(servers[3].credential, "p");
        let u = webrtc::ice::url::Url::parse_url(&servers[3].urls[0]).unwrap();
        assert_eq!(u.proto, webrtc::ice::url::ProtoType::Udp);
    }

    #[test]
    fn turn_needs_both_credentials() {
        let urls = ["turn:10.0.0.1:3478".to_string()];
        let e = check(&[], &turn_servers(&urls, Some("alice"), None)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "--turn \"turn:10.0.0.1:3478\" needs --turn-password (the TURN server's long-term credentials)"
        );
        let e = check(&[], &turn_servers(&urls, None, None)).unwrap_err();
        assert!(
            e.to_string()
                .contains("needs --turn-user and --turn-password"),
            "{e}"
        );
        assert!(check(&[], &turn_servers(&urls, Some("a"), Some("b"))).is_ok());
        assert!(check_cli(&[], &[], None, Some("from the environment")).is_ok());
        let e = check_cli(&[], &[], Some("alice"), None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "--turn-user is given but no --turn server is"
        );
        let e = check_cli(&["nope".into()], &[], None, None).unwrap_err();
        assert!(e.to_string().starts_with("--stun \"nope\""), "{e}");
    }

    /// Names are looked up only from /etc/hosts here (no DNS traffic from a unit test):
    /// `localhost` resolves, literal addresses are not looked up at all. A name that does
    /// not resolve is tested in a network namespace (tests/integration/netns.rs).
    #[tokio::test]
    async fn literal_and_local_hosts_need_no_note_but_an_ipv6_turn_does() {
        let cfg = RtcConfig {
            stun: vec!["stun:localhost:3478".into(), "stun:127.0.0.1:3478".into()],
            turn: turn_servers(
                &["turn:127.0.0.1:3478".into(), "turn:[::1]:3478".into()],
                Some("u"),
                Some("p"),
            ),
            ..RtcConfig::default()
        };
        let notes = check_resolves(&cfg).await;
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(
            notes[0].starts_with("TURN server [::1]:3478") && notes[0].contains("IPv4 only"),
            "{notes:?}"
        );
        assert!(check_resolves(&RtcConfig::loopback()).await.is_empty());
    }
}
