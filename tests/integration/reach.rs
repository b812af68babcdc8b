//! Reach: two real `qrchat offer` / `qrchat answer` processes in network namespaces, on one
//! LAN or each behind its own NAT router, with Debian's coturn as STUN and TURN server on
//! the "internet" between them (see `netns`). Each cell of the matrix checks what a user
//! sees: the messages cross both ways, and the status says how the link goes. It also
//! prints how long the link took from the answer being applied to the channel being open.
//!
//! | offerer   | answerer  | servers     | expected                                   |
//! |-----------|-----------|-------------|--------------------------------------------|
//! | same LAN  | same LAN  | none        | direct on your network (host candidates)   |
//! | one LAN behind one NAT  | STUN + TURN | direct on your network (servers unused)    |
//! | cone NAT  | cone NAT  | STUN        | direct through a NAT (hole punched)        |
//! | cone NAT  | cone NAT  | STUN + TURN | direct through a NAT (TURN left unused)    |
//! | symmetric | cone NAT  | STUN + TURN | relayed through your TURN server           |
//! | cone NAT  | symmetric | STUN + TURN | relayed through your TURN server           |
//! | symmetric | symmetric | STUN + TURN | relayed through your TURN server           |
//! | cone NAT  | symmetric | STUN        | no connection, said in one line            |

use std::time::{Duration, Instant};

use crate::netns::{Nat, Net, Ns, TurnInfo, BIN, TURN_PASSWORD};
use crate::netns_or_skip;

const T: Duration = Duration::from_secs(20);

/// How the link goes, as the user is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Lan,
    Nat,
    Relay,
}

impl Route {
    pub fn words(self) -> &'static str {
        match self {
            Route::Lan => "direct on your network",
            Route::Nat => "direct through a NAT",
            Route::Relay => "relayed through your TURN server",
        }
    }
}

/// The route a side's stderr states in words, if it does.
fn route_said(stderr: &str) -> Option<Route> {
    [Route::Lan, Route::Nat, Route::Relay]
        .into_iter()
        .find(|r| stderr.contains(r.words()))
}

/// The candidate type of the peer's address on the selected pair, from the status line
/// "connected to ADDR (TYPE)".
fn remote_type(stderr: &str) -> Option<String> {
    let line = stderr.lines().find(|l| l.contains("safety number"))?;
    let open = line.find(" (")?;
    let close = line[open..].find(')')?;
    Some(line[open + 2..open + close].to_owned())
}

/// Whether a route fits the candidate types both sides name for the other (a relay one
/// means relayed; a server-reflexive one, not on the LAN; host ones both, on the LAN; a
/// peer-reflexive one may be either, so it decides nothing).
fn fits_types(route: Route, offerer: &str, answerer: &str) -> bool {
    let types = [remote_type(offerer), remote_type(answerer)];
    let has = |t: &str| types.iter().any(|x| x.as_deref() == Some(t));
    match route {
        Route::Relay => has("relay"),
        Route::Nat => !has("relay") && (has("srflx") || has("prflx")),
        Route::Lan => !has("relay") && !has("srflx"),
    }
}

/// Servers a side is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Servers {
    None,
    Stun,
    StunAndTurn,
}

fn args(role: &str, servers: Servers, log: &std::path::Path) -> Vec<String> {
    let mut a = vec![
        role.to_owned(),
        "--log".to_owned(),
        log.display().to_string(),
    ];
    if servers != Servers::None {
        a.push("--stun".into());
        a.push(TurnInfo::stun_arg());
    }
    if servers == Servers::StunAndTurn {
        a.extend(TurnInfo::turn_args());
    }
    a
}

/// Two hosts for a cell: on one LAN, or each behind its own router.
pub fn hosts(net: &mut Net, nats: Option<(Nat, Nat)>, servers: Servers) -> (Ns, Ns) {
    let pair = match nats {
        None => net.lan_pair(),
        Some((a, b)) => {
            let (ha, _) = net.behind_nat(1, a);
            let (hb, _) = net.behind_nat(2, b);
            (ha, hb)
        }
    };
    if servers != Servers::None {
        net.turn_server();
    }
    pair
}

/// What one pairing showed.
pub struct Outcome {
    /// From the offerer's "answer applied" line to its "connected" line.
    pub took: Duration,
    pub route: Route,
    /// The candidate type each side names for the other (offerer's view, answerer's view).
    pub types: (String, String),
}

/// One pairing between two hosts of a network: offer on `ha`, answer on `hb`, a message
/// each way, the route checked against what both sides say, then both leave cleanly.
/// Logs go to the network's scratch directory, named after `tag`.
pub fn pair_once(net: &Net, ha: &Ns, hb: &Ns, servers: Servers, tag: &str) -> Outcome {
    let log_a = net.dir().join(format!("{tag}-offer.log"));
    let log_b = net.dir().join(format!("{tag}-answer.log"));
    let a_args = args("offer", servers, &log_a);
    let mut alice = net.qrchat(ha, &a_args.iter().map(String::as_str).collect::<Vec<_>>());
    let offer = alice.line(T);
    let mut b_args = args("answer", servers, &log_b);
    b_args.insert(1, offer);
    let mut bob = net.qrchat(hb, &b_args.iter().map(String::as_str).collect::<Vec<_>>());
    let answer = bob.line(T);
    assert!(
        answer.starts_with('Q'),
        "the answer travels in the compact form: {answer}"
    );
    bob.say("hello alice, this is bob");
    alice.say(&answer);
    let (applied, _) = alice.wait_stderr("answer applied", T);
    let (open, _) = alice.wait_stderr("safety number", T);
    let took = open.duration_since(applied);
    alice.say("hello bob, alice here");
    assert_eq!(bob.line(T), "hello bob, alice here", "{tag}: alice -> bob");
    assert_eq!(
        alice.line(T),
        "hello alice, this is bob",
        "{tag}: bob -> alice"
    );
    bob.wait_stderr("safety number", T);
    let (ea, eb) = (alice.stderr(), bob.stderr());
    // Both sides say how the link goes, in the same words, and the candidate types each
    // names for the other agree with it.
    let route =
        route_said(&ea).unwrap_or_else(|| panic!("{tag}: the offerer names no route:\n{ea}"));
    assert_eq!(route_said(&eb), Some(route), "{tag} answer: {eb}");
    assert!(
        fits_types(route, &ea, &eb),
        "{tag}: candidate types vs {route:?}\n{ea}\n{eb}"
    );
    alice.hang_up();
    let (code, err) = alice.exit(T);
    assert_eq!(code, 0, "{tag} offer: {err}");
    let (code, err) = bob.exit(T);
    assert_eq!(code, 0, "{tag} answer: {err}");
    assert!(err.contains("the peer left"), "{tag}: {err}");
    // The logs hold neither the chat nor the TURN password.
    for log in [&log_a, &log_b] {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        assert!(!text.is_empty(), "{tag}: {} is empty", log.display());
        for secret in [
            TURN_PASSWORD,
            "hello bob, alice here",
            "hello alice, this is bob",
        ] {
            assert!(
                !text.contains(secret),
                "{tag}: {} holds {secret:?}",
                log.display()
            );
        }
    }
    Outcome {
        took,
        route,
        types: (
            remote_type(&ea).unwrap_or_default(),
            remote_type(&eb).unwrap_or_default(),
        ),
    }
}

/// One cell of the matrix: its network, one pairing, the route it must take.
fn connects(name: &str, nats: Option<(Nat, Nat)>, servers: Servers, want: Route) {
    let mut net = Net::new();
    let (ha, hb) = hosts(&mut net, nats, servers);
    let out = pair_once(&net, &ha, &hb, servers, "cell");
    eprintln!(
        "reach {name}: answer applied -> channel open in {} ms; route {:?} ({} / {})",
        out.took.as_millis(),
        out.route,
        out.types.0,
        out.types.1,
    );
    assert_eq!(out.route, want, "{name}");
}

#[test]
fn reach_same_lan_is_direct_on_host_candidates() {
    netns_or_skip!();
    connects("same LAN", None, Servers::None, Route::Lan);
}

#[test]
fn reach_cone_and_cone_pair_by_stun_alone() {
    netns_or_skip!("iptables", "turnserver");
    connects(
        "cone+cone, STUN",
        Some((Nat::Cone, Nat::Cone)),
        Servers::Stun,
        Route::Nat,
    );
}

/// Two computers on one LAN behind one router, with STUN and TURN configured: they still
/// talk at their local addresses, not through the NAT or the relay.
#[test]
fn reach_one_lan_behind_a_nat_with_servers_stays_on_the_lan() {
    netns_or_skip!("iptables", "turnserver");
    let mut net = Net::new();
    let (ha, hb) = net.two_behind_one_nat(Nat::Cone);
    net.turn_server();
    let out = pair_once(&net, &ha, &hb, Servers::StunAndTurn, "cell");
    eprintln!(
        "reach one LAN behind a NAT, STUN+TURN: answer applied -> channel open in {} ms; \
         route {:?} ({} / {})",
        out.took.as_millis(),
        out.route,
        out.types.0,
        out.types.1,
    );
    assert_eq!(out.route, Route::Lan);
}

/// With a TURN server at hand, a pair that can go direct still does.
#[test]
fn reach_cone_and_cone_leave_turn_unused() {
    netns_or_skip!("iptables", "turnserver");
    connects(
        "cone+cone, STUN+TURN",
        Some((Nat::Cone, Nat::Cone)),
        Servers::StunAndTurn,
        Route::Nat,
    );
}

#[test]
fn reach_symmetric_and_cone_go_through_turn() {
    netns_or_skip!("iptables", "turnserver");
    connects(
        "symmetric+cone, STUN+TURN",
        Some((Nat::Symmetric, Nat::Cone)),
        Servers::StunAndTurn,
        Route::Relay,
    );
}

/// The symmetric NAT on the answering side this time.
#[test]
fn reach_cone_and_symmetric_go_through_turn() {
    netns_or_skip!("iptables", "turnserver");
    connects(
        "cone+symmetric, STUN+TURN",
        Some((Nat::Cone, Nat::Symmetric)),
        Servers::StunAndTurn,
        Route::Relay,
    );
}

#[test]
fn reach_symmetric_and_symmetric_go_through_turn() {
    netns_or_skip!("iptables", "turnserver");
    connects(
        "symmetric+symmetric, STUN+TURN",
        Some((Nat::Symmetric, Nat::Symmetric)),
        Servers::StunAndTurn,
        Route::Relay,
    );
}

/// A symmetric NAT on one side and no TURN server: ICE has no pair that works. The offerer
/// says so in one line and exits non-zero; no message is taken as delivered.
#[test]
fn reach_symmetric_without_turn_fails_with_a_reason() {
    netns_or_skip!("iptables", "turnserver");
    let mut net = Net::new();
    let (ha, hb) = hosts(&mut net, Some((Nat::Cone, Nat::Symmetric)), Servers::Stun);
    let log = net.dir().join("offer.log");
    let a_args = args("offer", Servers::Stun, &log);
    let mut alice = net.qrchat(&ha, &a_args.iter().map(String::as_str).collect::<Vec<_>>());
    let offer = alice.line(T);
    let mut b_args = args("answer", Servers::Stun, &net.dir().join("answer.log"));
    b_args.insert(1, offer);
    let bob = net.qrchat(&hb, &b_args.iter().map(String::as_str).collect::<Vec<_>>());
    let answer = bob.line(T);
    alice.say(&answer);
    alice.say("this cannot arrive");
    let t0 = Instant::now();
    let (code, err) = alice.exit(Duration::from_secs(90));
    eprintln!(
        "reach cone+symmetric, STUN only: gave up after {} ms",
        t0.elapsed().as_millis()
    );
    assert_ne!(code, 0, "{err}");
    assert!(
        !err.contains("safety number"),
        "it connected after all: {err}"
    );
    let last = err.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("qrchat: ") && last.contains("no connection") && last.contains("--turn"),
        "one line saying why, and what would help: {err}"
    );
    let bob_err = bob.stderr();
    assert!(!bob_err.contains("safety number"), "{bob_err}");
}

/// A bad `--stun` / `--turn` setting is refused before anything starts, in one line that
/// names the option and the value, with clap's exit code 2; in line mode and the TUI alike.
#[test]
fn bad_server_settings_are_refused_up_front() {
    for (args, want) in [
        (
            vec!["offer", "--stun", "notaurl"],
            "qrchat: --stun \"notaurl\": expected stun:HOST:PORT",
        ),
        (
            vec!["answer", "--stun", "stun:192.0.2.1:99999", "Qabc"],
            "qrchat: --stun \"stun:192.0.2.1:99999\": port 99999 is out of range (1-65535)",
        ),
        (
            vec!["--start", "--stun", "stun:192.0.2.1:34x"],
            "qrchat: --stun \"stun:192.0.2.1:34x\": port \"34x\" is not a number",
        ),
        (
            vec![
                "offer",
                "--turn",
                "turn:192.0.2.1:3478",
                "--turn-user",
                "me",
            ],
            "qrchat: --turn \"turn:192.0.2.1:3478\" needs --turn-password",
        ),
        (
            vec![
                "--turn",
                "turn:192.0.2.1:3478?transport=tcp",
                "--turn-user",
                "u",
                "--turn-password",
                "p",
            ],
            "qrchat: --turn \"turn:192.0.2.1:3478?transport=tcp\": TURN over TCP is not supported",
        ),
        (
            vec!["offer", "--turn-user", "me"],
            "qrchat: --turn-user is given but no --turn server is",
        ),
    ] {
        let out = std::process::Command::new(BIN)
            .args(&args)
            .env_remove("QRCHAT_TURN_PASSWORD")
            .stdin(std::process::Stdio::null())
            .output()
            .expect("run qrchat");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?}: nothing on stdout");
        assert_eq!(err.lines().count(), 1, "{args:?}: one line: {err}");
        assert!(err.starts_with(want), "{args:?}: {err}");
    }
}

/// A STUN or TURN host that does not resolve is named on stderr when the session starts,
/// and the pairing goes on without it (here on one LAN, where it is not needed). The
/// namespace's resolver is 127.0.0.1 inside it: the lookup fails at once, nothing leaves.
#[test]
fn a_server_name_that_does_not_resolve_is_named() {
    netns_or_skip!();
    let mut net = Net::new();
    let (ha, hb) = net.lan_pair();
    let mut alice = net.qrchat(&ha, &["offer"]);
    let offer = alice.line(T);
    // The TURN password comes from the environment (kept out of the process list).
    let mut bob = net.qrchat_with_env(
        &hb,
        &[
            "answer",
            &offer,
            "--stun",
            "stun:stun.nowhere.invalid:3478",
            "--turn",
            "turn:relay.nowhere.invalid",
            "--turn-user",
            "u",
        ],
        &[("QRCHAT_TURN_PASSWORD", "p")],
    );
    let answer = bob.line(T);
    bob.wait_stderr("STUN server stun.nowhere.invalid:3478 does not resolve", T);
    bob.wait_stderr("TURN server relay.nowhere.invalid:3478 does not resolve", T);
    alice.say(&answer);
    alice.say("still here");
    assert_eq!(bob.line(T), "still here");
    bob.hang_up();
    let (code, err) = bob.exit(T);
    assert_eq!(code, 0, "{err}");
    let notes = err
        .lines()
        .filter(|l| l.contains("does not resolve"))
        .count();
    assert_eq!(notes, 2, "each problem said once: {err}");
}
