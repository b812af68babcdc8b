//! Known peers with the real binary: pair once by code with `--remember`, restart, then
//! `qrchat listen` / `qrchat connect NAME` find each other again with no code. In network
//! namespaces (two hosts on a veth LAN, broadcast discovery) where root allows; one test on
//! loopback (no broadcast: `--bind 127.0.0.1` asks only the last address) everywhere.
//! Every data folder is the test's own (XDG_DATA_HOME), never the real home.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::netns::{Net, Ns, Proc, BIN};
use crate::netns_or_skip;

const T: Duration = Duration::from_secs(20);

/// The environment of one side: its own data folder.
fn env(dir: &Path) -> Vec<(&'static str, String)> {
    vec![("XDG_DATA_HOME", dir.display().to_string())]
}

fn qrchat(net: &Net, ns: &Ns, dir: &Path, args: &[&str]) -> Proc {
    let e = env(dir);
    let e: Vec<(&str, &str)> = e.iter().map(|(k, v)| (*k, v.as_str())).collect();
    std::fs::create_dir_all(dir).unwrap();
    let log = dir.join(format!("{}.log", args[0]));
    let mut all: Vec<&str> = args.to_vec();
    let log_s = log.display().to_string();
    all.extend(["--log", &log_s]);
    net.qrchat_with_env(ns, &all, &e)
}

/// "418 092" from a line that says "safety number 418 092".
fn sas_in(line: &str) -> String {
    let at = line.find("safety number ").expect("no safety number") + "safety number ".len();
    line[at..at + 7].to_owned()
}

/// Alice (in `a`) and Bob (in `b`) pair by code, each remembering the other. Returns the
/// safety number they saw.
pub fn pair_and_remember(net: &Net, a: &Ns, da: &Path, b: &Ns, db: &Path) -> String {
    let mut alice = qrchat(net, a, da, &["offer", "--remember", "bob"]);
    let code = alice.line(T);
    let mut bob = qrchat(net, b, db, &["answer", "--remember", "alice", &code]);
    alice.say(&bob.line(T));
    let (_, saw) = alice.wait_stderr("safety number", T);
    alice.wait_stderr("remembered the other side as bob", T);
    bob.wait_stderr("remembered the other side as alice", T);
    alice.say("paired");
    assert_eq!(bob.line(T), "paired");
    bob.hang_up();
    alice.hang_up();
    let (ca, ea) = alice.exit(T);
    let (cb, eb) = bob.exit(T);
    assert_eq!((ca, cb), (0, 0), "alice:\n{ea}\nbob:\n{eb}");
    sas_in(&saw)
}

pub fn two_hosts() -> Option<(Net, Ns, Ns, PathBuf, PathBuf)> {
    let mut net = Net::new();
    let (a, b) = net.lan_pair();
    let da = net.dir().join("alice");
    let db = net.dir().join("bob");
    Some((net, a, b, da, db))
}

/// What `qrchat peers` prints for a data folder.
fn peers(dir: &Path) -> String {
    let out = Command::new(BIN)
        .arg("peers")
        .env("XDG_DATA_HOME", dir)
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Bob listens; Alice connects by name, with a line typed before the link is up. Returns
/// the time from starting `connect` to Bob's reply arriving (a message each way).
pub fn connect_and_talk(net: &Net, a: &Ns, da: &Path, b: &Ns, db: &Path, sas: &str) -> Duration {
    let mut bob = qrchat(net, b, db, &["listen"]);
    bob.wait_stderr("listening for known peers (alice)", T);
    let t0 = Instant::now();
    let mut alice = qrchat(net, a, da, &["connect", "bob"]);
    alice.say("typed before the link opened");
    assert_eq!(bob.line(T), "typed before the link opened");
    bob.say("hello alice");
    assert_eq!(alice.line(T), "hello alice");
    let took = t0.elapsed();
    let (_, la) = alice.wait_stderr("connected to bob (paired by sight on", T);
    let (_, lb) = bob.wait_stderr("connected to alice (paired by sight on", T);
    assert_eq!(sas_in(&la), sas, "{la}");
    assert_eq!(sas_in(&lb), sas, "{lb}");
    alice.hang_up();
    let (ca, ea) = alice.exit(T);
    let (cb, eb) = bob.exit(T);
    assert_eq!((ca, cb), (0, 0), "alice:\n{ea}\nbob:\n{eb}");
    took
}

#[test]
fn known_peers_remember_restart_and_connect_by_name() {
    netns_or_skip!();
    let Some((net, a, b, da, db)) = two_hosts() else {
        return;
    };
    let sas = pair_and_remember(&net, &a, &da, &b, &db);
    let listed = peers(&da);
    assert!(
        listed.contains("bob  paired by sight on") && listed.contains(&sas),
        "{listed}"
    );
    assert!(listed.contains("last at 10.99.50.2"), "{listed}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for f in ["identity.pem", "peers.json"] {
            let mode = std::fs::metadata(da.join("qrchat").join(f))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "{f} is readable by others");
        }
    }
    // Both apps restarted since: twice, by name, no code.
    connect_and_talk(&net, &a, &da, &b, &db, &sas);
    connect_and_talk(&net, &a, &da, &b, &db, &sas);

    // While Bob is in that chat, another request is told he is busy (no hang, no link).
    let mut bob = qrchat(&net, &b, &db, &["listen"]);
    bob.wait_stderr("listening for known peers", T);
    let mut alice = qrchat(&net, &a, &da, &["connect", "bob"]);
    alice.say("first");
    assert_eq!(bob.line(T), "first");
    let (code, err) = qrchat(&net, &a, &da, &["connect", "bob"]).exit(T);
    assert_ne!(code, 0);
    assert!(err.contains("bob is in another chat"), "{err}");
    bob.say("still here");
    assert_eq!(alice.line(T), "still here");
    alice.hang_up();
    assert_eq!(alice.exit(T).0, 0);
    assert_eq!(bob.exit(T).0, 0);
}

#[test]
fn known_peers_strangers_and_forgotten_peers_are_refused() {
    netns_or_skip!();
    let Some((net, a, b, da, db)) = two_hosts() else {
        return;
    };
    let sas = pair_and_remember(&net, &a, &da, &b, &db);
    let bob_fp = qrchat::known::Store::load(&da.join("qrchat"))
        .unwrap()
        .find("bob")
        .unwrap()
        .fingerprint;

    let mut bob = qrchat(&net, &b, &db, &["listen"]);
    bob.wait_stderr("listening for known peers", T);

    // A stranger on the same LAN that knows Bob's address and even his fingerprint, with a
    // secret of its own making: refused, nothing opens on Bob's side.
    let ds = net.dir().join("stranger");
    let me = qrchat::known::load_or_create_identity(&ds.join("qrchat")).unwrap();
    qrchat::known::store::remember(
        &ds.join("qrchat"),
        qrchat::known::KnownPeer {
            name: "bob".into(),
            fingerprint: bob_fp,
            my_fingerprint: me.fingerprint(),
            secret: [7; 32],
            paired: 0,
            last_seen: 0,
            addrs: vec!["10.99.50.2".parse().unwrap()],
        },
    )
    .unwrap();
    let stranger = qrchat(&net, &a, &ds, &["connect", "bob"]);
    let (code, err) = stranger.exit(T);
    assert_ne!(code, 0);
    assert!(err.contains("does not know us"), "{err}");
    assert!(
        bob.stderr_line("wants to chat").is_none(),
        "{}",
        bob.stderr()
    );

    // Bob forgets Alice while listening: she is refused too, and told so.
    let out = net.exec(
        &b,
        &[
            "env",
            &format!("XDG_DATA_HOME={}", db.display()),
            BIN,
            "forget",
            "alice",
        ],
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("forgot alice"));
    let alice = qrchat(&net, &a, &da, &["connect", "bob"]);
    let (code, err) = alice.exit(T);
    assert_ne!(code, 0);
    assert!(err.contains("bob forgot us"), "{err}");
    assert!(
        bob.stderr_line("wants to chat").is_none(),
        "{}",
        bob.stderr()
    );
    assert!(bob.running(), "the listener gave up");
    let _ = sas;
}

#[test]
fn known_peers_not_here_and_not_running_are_said() {
    netns_or_skip!();
    let Some((net, a, b, da, db)) = two_hosts() else {
        return;
    };
    pair_and_remember(&net, &a, &da, &b, &db);
    // Bob's computer is there but qrchat is not open on it.
    let t0 = Instant::now();
    let (code, err) = qrchat(&net, &a, &da, &["connect", "bob"]).exit(T);
    assert_ne!(code, 0);
    assert!(err.contains("qrchat is not open there"), "{err}");
    assert!(t0.elapsed() < Duration::from_secs(10));
    // Bob's computer is gone from the network.
    net.set_link(&b, "eth0", false);
    let (code, err) = qrchat(&net, &a, &da, &["connect", "bob"]).exit(T);
    assert_ne!(code, 0);
    assert!(
        err.contains("bob is not on this network") && err.contains("pair by code"),
        "{err}"
    );
}

/// A pcap file's UDP payloads: (source port, destination port, payload).
fn udp_payloads(pcap: &[u8]) -> Vec<(u16, u16, Vec<u8>)> {
    let mut out = Vec::new();
    if pcap.len() < 24 {
        return out;
    }
    let le = pcap[0..4] == [0xd4, 0xc3, 0xb2, 0xa1];
    let u32_at = |b: &[u8], i: usize| {
        let x = [b[i], b[i + 1], b[i + 2], b[i + 3]];
        if le {
            u32::from_le_bytes(x)
        } else {
            u32::from_be_bytes(x)
        }
    };
    let link = u32_at(pcap, 20);
    let mut i = 24;
    while i + 16 <= pcap.len() {
        let caplen = u32_at(pcap, i + 8) as usize;
        let frame = &pcap[i + 16..(i + 16 + caplen).min(pcap.len())];
        i += 16 + caplen;
        // Ethernet (1) or Linux cooked (113)
        let ip = match link {
            1 if frame.len() > 14 && frame[12..14] == [0x08, 0x00] => &frame[14..],
            113 if frame.len() > 16 && frame[14..16] == [0x08, 0x00] => &frame[16..],
            _ => continue,
        };
        if ip.len() < 20 || ip[9] != 17 {
            continue;
        }
        let ihl = (ip[0] & 0x0f) as usize * 4;
        let Some(udp) = ip.get(ihl..) else { continue };
        if udp.len() < 8 {
            continue;
        }
        let sp = u16::from_be_bytes([udp[0], udp[1]]);
        let dp = u16::from_be_bytes([udp[2], udp[3]]);
        out.push((sp, dp, udp[8..].to_vec()));
    }
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

/// Everything Alice's side of the LAN carries during one connect-by-name session.
fn captured_session(
    net: &Net,
    a: &Ns,
    da: &Path,
    b: &Ns,
    db: &Path,
    sas: &str,
    n: u32,
) -> Vec<(u16, u16, Vec<u8>)> {
    let file = net.dir().join(format!("capture{n}.pcap"));
    let dump = Proc::spawn({
        let mut c = Command::new("ip");
        c.args([
            "netns",
            "exec",
            a.name(),
            "tcpdump",
            // each packet as it comes (a ^C otherwise drops what is still buffered), and
            // as root: the test's folder is not the tcpdump user's
            "--immediate-mode",
            "-Z",
            "root",
            "-i",
            "eth0",
            "-U",
            "-w",
        ])
        .arg(&file)
        .arg("udp");
        c
    });
    dump.wait_stderr("listening on", T);
    connect_and_talk(net, a, da, b, db, sas);
    std::thread::sleep(Duration::from_millis(300));
    let _ = Command::new("kill")
        .args(["-INT", &dump.child.id().to_string()])
        .status();
    let _ = dump.exit(T);
    udp_payloads(&std::fs::read(&file).unwrap())
}

#[test]
fn known_peers_discovery_shows_no_name_fingerprint_or_stable_id_and_replays_open_nothing() {
    netns_or_skip!("tcpdump");
    let Some((net, a, b, da, db)) = two_hosts() else {
        return;
    };
    let sas = pair_and_remember(&net, &a, &da, &b, &db);
    let one = captured_session(&net, &a, &da, &b, &db, &sas, 1);
    let two = captured_session(&net, &a, &da, &b, &db, &sas, 2);
    let port = qrchat::known::discovery::DEFAULT_PORT;
    let discovery = |c: &[(u16, u16, Vec<u8>)]| -> Vec<Vec<u8>> {
        c.iter()
            .filter(|(s, d, _)| *s == port || *d == port)
            .map(|(_, _, p)| p.clone())
            .collect()
    };
    let (d1, d2) = (discovery(&one), discovery(&two));
    assert!(
        d1.len() >= 4 && d2.len() >= 4,
        "discovery not captured: {} {}",
        d1.len(),
        d2.len()
    );

    // No name, no lasting fingerprint (raw, hex, or as an SDP writes it) anywhere on the
    // wire: not in discovery, not in the DTLS handshake (a fresh certificate per session).
    let store = qrchat::known::Store::load(&da.join("qrchat")).unwrap();
    let bob = store.find("bob").unwrap();
    // Names in discovery (short names could turn up by chance in a long encrypted stream,
    // so they are looked for where discovery is, the few datagrams on its port).
    for p in d1.iter().chain(&d2) {
        for name in [&b"alice"[..], b"bob"] {
            assert!(!contains(p, name), "a discovery datagram holds a name");
        }
    }
    let mut secrets: Vec<Vec<u8>> = Vec::new();
    for fp in [bob.fingerprint, bob.my_fingerprint] {
        secrets.push(fp.to_vec());
        secrets.push(qrchat::known::store::hex(&fp).into_bytes());
        let colon: Vec<String> = fp.iter().map(|b| format!("{b:02X}")).collect();
        secrets.push(colon.join(":").into_bytes());
        // a DTLS certificate's hash covers its DER; the key inside is what would be seen
        secrets.push(fp[..8].to_vec());
    }
    for (_, _, p) in one.iter().chain(&two) {
        for s in &secrets {
            assert!(
                !contains(p, s),
                "a capture holds {:?}",
                String::from_utf8_lossy(s)
            );
        }
    }
    // The certificates DTLS sent are not the lasting one: the lasting certificate's DER
    // (in identity.pem) appears in neither capture.
    let pem = std::fs::read_to_string(da.join("qrchat/identity.pem")).unwrap();
    let der = pem_der(&pem, "CERTIFICATE");
    for (_, _, p) in one.iter().chain(&two) {
        assert!(
            !contains(p, &der[der.len() - 64..]),
            "the lasting certificate was sent"
        );
    }
    // Nothing in session one's discovery datagrams comes back in session two's (past the
    // fixed 5-byte header): no identifier stable across sessions.
    for x in &d1 {
        for w in x[5..].windows(8) {
            for y in &d2 {
                assert!(!contains(&y[5..], w), "8 bytes repeat across sessions");
            }
        }
    }

    // Replays: session one's datagrams sent again to a listening Bob open nothing.
    let mut bob_l = qrchat(&net, &b, &db, &["listen"]);
    bob_l.wait_stderr("listening for known peers", T);
    for (i, p) in d1.iter().enumerate() {
        if p.get(4).is_some_and(|k| *k == 1 || *k == 3) {
            let f = net.dir().join(format!("replay{i}"));
            std::fs::write(&f, p).unwrap();
            net.exec(
                &a,
                &[
                    "bash",
                    "-c",
                    &format!("cat {} > /dev/udp/10.99.50.2/{port}", f.display()),
                ],
            );
        }
    }
    std::thread::sleep(Duration::from_secs(1));
    assert!(
        bob_l.stderr_line("wants to chat").is_none(),
        "{}",
        bob_l.stderr()
    );
    assert!(bob_l.running());
}

/// The bytes of the first PEM block with this label.
fn pem_der(pem: &str, label: &str) -> Vec<u8> {
    use base64::Engine;
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let s = pem.find(&begin).unwrap() + begin.len();
    let e = pem[s..].find(&end).unwrap() + s;
    let body: String = pem[s..e].chars().filter(|c| !c.is_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .unwrap()
}

/// On loopback (no root needed): remember, then connect by name at the last address.
#[test]
fn known_peers_on_loopback_remember_then_connect() {
    let dir = tempfile::tempdir().unwrap();
    let (da, db) = (dir.path().join("a"), dir.path().join("b"));
    let port = {
        let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        s.local_addr().unwrap().port().to_string()
    };
    let spawn = |d: &Path, args: &[&str]| {
        let mut c = Command::new(BIN);
        c.args(args)
            .args(["--bind", "127.0.0.1"])
            .env("XDG_DATA_HOME", d)
            .env("QRCHAT_KNOWN_PORT", &port);
        Proc::spawn(c)
    };
    let mut alice = spawn(&da, &["offer", "--remember", "bob"]);
    let code = alice.line(T);
    let mut bob = spawn(&db, &["answer", "--remember", "alice", &code]);
    alice.say(&bob.line(T));
    alice.wait_stderr("remembered the other side as bob", T);
    bob.wait_stderr("remembered the other side as alice", T);
    bob.hang_up();
    alice.hang_up();
    assert_eq!(alice.exit(T).0, 0);
    assert_eq!(bob.exit(T).0, 0);

    let mut bob = spawn(&db, &["listen"]);
    bob.wait_stderr("listening for known peers (alice)", T);
    let mut alice = spawn(&da, &["connect", "bob"]);
    alice.say("hi bob");
    assert_eq!(bob.line(T), "hi bob");
    bob.say("hi alice");
    assert_eq!(alice.line(T), "hi alice");
    alice.hang_up();
    assert_eq!(alice.exit(T).0, 0);
    assert_eq!(bob.exit(T).0, 0);

    // unknown names and bad names: a clear line, nothing on the network
    let (code, err) = spawn(&da, &["connect", "carol"]).exit(T);
    assert_ne!(code, 0);
    assert!(
        err.contains("no known peer is called \"carol\" (known: bob)"),
        "{err}"
    );
    let (code, err) = spawn(&da, &["offer", "--remember", "a b"]).exit(T);
    assert_ne!(code, 0);
    assert!(err.contains("cannot be a name"), "{err}");
    let (code, err) = spawn(&da, &["offer", "--remember", "x", "--ephemeral"]).exit(T);
    assert_ne!(code, 0);
    assert!(err.contains("--ephemeral"), "{err}");
}

/// `qrchat connect bob` interrupted (Ctrl-C) while bob's user is being asked: the real
/// binary withdraws its request, and bob's listener (the one the app runs; here in this
/// test, on loopback) hears it, so the app takes its prompt back at once instead of after
/// 55 s. The two data folders are as a pairing leaves them (each other's lasting
/// fingerprint, one secret).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn known_peers_connect_interrupted_withdraws_its_request() {
    use qrchat::known::discovery::{Heard, Listener};
    use qrchat::known::{load_or_create_identity, store, KnownPeer};

    let dir = tempfile::tempdir().unwrap();
    let (da, db) = (dir.path().join("a"), dir.path().join("b"));
    let (ka, kb) = (da.join("qrchat"), db.join("qrchat"));
    let alice_fp = load_or_create_identity(&ka).unwrap().fingerprint();
    let bob_fp = load_or_create_identity(&kb).unwrap().fingerprint();
    let lo = "127.0.0.1".parse().unwrap();
    let saved = |name: &str, fingerprint, my_fingerprint| KnownPeer {
        name: name.into(),
        fingerprint,
        my_fingerprint,
        secret: [5; 32],
        paired: 0,
        last_seen: 0,
        addrs: vec![lo],
    };
    store::remember(&ka, saved("bob", bob_fp, alice_fp)).unwrap();
    store::remember(&kb, saved("alice", alice_fp, bob_fp)).unwrap();
    let port = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut l = Listener::bind(kb, bob_fp, port).await.unwrap();

    let mut c = Command::new(BIN);
    c.args(["connect", "bob", "--bind", "127.0.0.1"])
        .env("XDG_DATA_HOME", &da)
        .env("QRCHAT_KNOWN_PORT", port.to_string());
    let alice = Proc::spawn(c);
    let req = tokio::time::timeout(T, l.next())
        .await
        .expect("no request from connect")
        .unwrap();
    assert_eq!(req.peer.name, "alice");
    req.asking();
    let alice = tokio::task::spawn_blocking(move || {
        alice.wait_stderr("waiting for bob to accept", T);
        alice
    })
    .await
    .unwrap();
    alice.signal("-INT");
    match tokio::time::timeout(T, l.heard()).await {
        Ok(Some(Heard::Withdrawn { id })) => assert_eq!(id, req.id()),
        other => panic!("{other:?}"),
    }
    req.withdrawn();
    let (_, err) = tokio::task::spawn_blocking(move || alice.exit(T))
        .await
        .unwrap();
    assert!(err.contains("interrupted"), "{err}");
    // Sent a few times, heard once.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(
        tokio::time::timeout(std::time::Duration::from_millis(100), l.heard())
            .await
            .is_err(),
        "a withdrawal was heard twice"
    );
}
