//! `qrchat offer` and `qrchat answer` as two real processes wired by pipes.

use std::process::Command;
use std::thread;
use std::time::Duration;

use crate::netns::Proc;

const BIN: &str = env!("CARGO_BIN_EXE_qrchat");

const T: Duration = Duration::from_secs(20);

/// Two scans (`--no-direct`): the answer goes back by hand after `delay`.
fn pair_after(delay: Duration) {
    let mut alice = Proc::loopback(&["offer", "--no-direct"]);
    let offer = alice.line(T);
    assert!(
        !offer.contains(' '),
        "the blob is one line without spaces: {offer}"
    );
    let mut bob = Proc::loopback(&["answer", "--no-direct", &offer]);
    let answer = bob.line(T);
    // Bob types before the link exists: queued, not lost.
    bob.say("hello alice, this is bob");
    thread::sleep(delay);
    alice.say(&answer);
    // Alice types right after the answer, before the link is up: queued too.
    alice.say("early bird from alice");
    alice.say("second line from alice \x1b[31mred?");
    assert_eq!(bob.line(T), "early bird from alice");
    assert_eq!(
        bob.line(T),
        "second line from alice ␛[31mred?",
        "escape codes are shown, not obeyed"
    );
    assert_eq!(alice.line(T), "hello alice, this is bob");
    alice.wait_stderr("safety number", T);
    bob.wait_stderr("safety number", T);
    let sas = |s: &str| s.split("safety number ").nth(1).map(|r| r[..7].to_owned());
    assert_eq!(
        sas(&alice.stderr()),
        sas(&bob.stderr()),
        "both sides show the same safety number"
    );
    // Alice ends with stdin EOF; Bob sees the peer leave; both exit 0.
    alice.hang_up();
    let (code_a, err_a) = alice.exit(T);
    assert_eq!(code_a, 0, "alice: {err_a}");
    let (code_b, err_b) = bob.exit(T);
    assert_eq!(code_b, 0, "bob: {err_b}");
    assert!(err_b.contains("the peer left"), "{err_b}");
}

#[test]
fn offer_and_answer_processes_chat_both_ways() {
    pair_after(Duration::ZERO);
}

/// The answer reaches the offerer 40 s late, longer than webrtc's default ICE timeouts
/// (30 s) would survive: a human carrying a code back must still get a link.
#[test]
fn a_late_answer_still_connects() {
    pair_after(Duration::from_secs(40));
}

#[test]
fn garbage_answer_gives_a_one_line_reason_and_non_zero_exit() {
    let mut alice = Proc::loopback(&["offer"]);
    let _offer = alice.line(T);
    alice.say("https://example.com/not-a-qrchat-code");
    let (code, err) = alice.exit(T);
    assert_ne!(code, 0);
    let last = err.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("qrchat: the answer code cannot be used"),
        "{err}"
    );
}

#[test]
fn own_offer_fed_back_is_named_as_such() {
    let mut alice = Proc::loopback(&["offer"]);
    let offer = alice.line(T);
    alice.say(&offer);
    let (code, err) = alice.exit(T);
    assert_ne!(code, 0);
    assert!(err.to_lowercase().contains("your own"), "{err}");
}

#[test]
fn answer_without_offer_says_what_to_do() {
    let mut bob = Proc::loopback(&["answer"]);
    bob.hang_up();
    let (code, err) = bob.exit(T);
    assert_ne!(code, 0);
    assert!(err.contains("no offer code"), "{err}");
}

/// A peer that vanishes (process killed: no goodbye on the wire) is shown as not
/// responding, given up after the peer timeout (`--peer-timeout`, 60 s by default, short
/// here), reported in one line, and the survivor exits non-zero instead of hanging.
#[test]
fn a_killed_peer_is_detected_and_reported() {
    let (mut alice, mut bob) = Proc::loopback_pair(&["--peer-timeout", "4"], &[]);
    alice.say("are you there?");
    assert_eq!(bob.line(T), "are you there?");
    let killed = std::time::Instant::now();
    bob.child.kill().unwrap();
    let (code, err) = alice.exit(Duration::from_secs(40));
    eprintln!("peer loss noticed after {:?}", killed.elapsed());
    assert_ne!(code, 0, "{err}");
    assert!(err.contains("not responding; reconnecting"), "{err}");
    assert!(err.contains("stopped responding"), "{err}");
    let _ = bob.exit(T);
}

/// Ctrl-C while waiting for the answer, and in the middle of a chat: exit 0, and the
/// peer is told (it sees the chat end normally, not a lost peer).
#[test]
fn ctrl_c_leaves_cleanly_at_every_step() {
    let waiting = Proc::loopback(&["offer"]);
    let _ = waiting.line(T);
    waiting.signal("-INT");
    let (code, err) = waiting.exit(T);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("interrupted"), "{err}");

    let (alice, bob) = Proc::loopback_pair(&[], &[]);
    alice.wait_stderr("safety number", T);
    alice.signal("-INT");
    let (code, err) = alice.exit(T);
    assert_eq!(code, 0, "{err}");
    let (code, err) = bob.exit(T);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("the peer left"), "{err}");
}

/// `--qr-png` writes the code as an image the scanner reads back to the very blob printed.
#[test]
fn qr_png_scans_back_to_the_printed_blob() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("offer.png");
    let mut alice = Proc::loopback(&["offer", "--qr-png", png.to_str().unwrap()]);
    let offer = alice.line(T);
    alice.hang_up();
    let _ = alice.exit(T);
    let out = Command::new(BIN)
        .args(["scan", "--raw", png.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The very line `offer` printed: the code, then a newline.
    assert_eq!(String::from_utf8(out.stdout).unwrap(), format!("{offer}\n"));
}

/// `--send` and `--receive` on both sides, stdin closed on both: a file one way, a folder
/// (with an empty file and an empty folder) the other way; each arrives whole and both
/// exit 0 once everything is verified.
#[test]
fn files_and_folders_cross_both_ways_and_both_exit_0() {
    let dir = tempfile::tempdir().unwrap();
    let p = |s: &str| dir.path().join(s).display().to_string();
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(p("big.bin"), &big).unwrap();
    std::fs::create_dir_all(p("folder/sub")).unwrap();
    std::fs::create_dir_all(p("folder/empty")).unwrap();
    std::fs::write(p("folder/sub/a.txt"), b"hello\n").unwrap();
    std::fs::write(p("folder/zero"), b"").unwrap();

    let (send_a, recv_a) = (p("big.bin"), p("got_a"));
    let mut alice = Proc::loopback(&["offer", "--send", &send_a, "--receive", &recv_a]);
    let offer = alice.line(T);
    let (send_b, recv_b) = (p("folder"), p("got_b"));
    let mut bob = Proc::loopback(&["answer", "--send", &send_b, "--receive", &recv_b, &offer]);
    bob.hang_up();
    let answer = bob.line(T);
    alice.say(&answer);
    alice.hang_up();
    let (code_a, err_a) = alice.exit(Duration::from_secs(60));
    let (code_b, err_b) = bob.exit(Duration::from_secs(60));
    assert_eq!(code_a, 0, "alice: {err_a}");
    assert_eq!(code_b, 0, "bob: {err_b}");
    assert!(err_a.contains("verified by the peer"), "{err_a}");
    assert_eq!(std::fs::read(p("got_b/big.bin")).unwrap(), big);
    assert_eq!(
        std::fs::read(p("got_a/folder/sub/a.txt")).unwrap(),
        b"hello\n"
    );
    assert_eq!(std::fs::read(p("got_a/folder/zero")).unwrap(), b"");
    assert!(std::path::Path::new(&p("got_a/folder/empty")).is_dir());
}

/// The receiver says "received ..., verified" with the sender's "verified by the peer", not
/// seconds later (it used to wait 2 s for its own close to drain after the sender had
/// gone), and a tiny file shows no rate.
#[test]
fn the_receiver_says_verified_with_the_sender() {
    let dir = tempfile::tempdir().unwrap();
    let p = |s: &str| dir.path().join(s).display().to_string();
    std::fs::write(p("note.txt"), b"hello").unwrap();
    std::fs::create_dir_all(p("pics")).unwrap();
    std::fs::write(p("pics/a.txt"), b"a").unwrap();
    let (send, pics, inbox) = (p("note.txt"), p("pics"), p("in"));
    let mut alice = Proc::loopback(&["offer", "--send", &send, "--send", &pics]);
    let offer = alice.line(T);
    let mut bob = Proc::loopback(&["answer", "--receive", &inbox, &offer]);
    bob.hang_up();
    let answer = bob.line(T);
    alice.say(&answer);
    alice.hang_up();
    let (sent, _) = alice.wait_stderr("verified by the peer", T);
    let (got, _) = bob.wait_stderr("all verified: in ", T);
    let gap = got.saturating_duration_since(sent);
    assert!(
        gap < Duration::from_millis(1500),
        "the receiver said verified {gap:?} after the sender"
    );
    let (code_b, err_b) = bob.exit(T);
    assert_eq!(code_b, 0, "{err_b}");
    let (code_a, err_a) = alice.exit(T);
    assert_eq!(code_a, 0, "{err_a}");
    for line in err_a.lines().chain(err_b.lines()) {
        assert!(!line.contains("B/s"), "a rate for six bytes: {line}");
    }
    // The summary is the transfer's last word: no progress line comes after it (one
    // said "sending note.txt: 5 B of 5 B (100%)" after "sent note.txt ...: verified").
    for (err, summary, progress) in [
        (&err_a, "verified by the peer", "qrchat: sending "),
        (&err_b, "all verified: in ", "qrchat: receiving "),
    ] {
        let after: Vec<&str> = err
            .lines()
            .skip_while(|l| !l.contains(summary))
            .filter(|l| l.starts_with(progress))
            .collect();
        assert!(after.is_empty(), "progress after the summary: {err}");
    }
}

/// A receiver that stays says what arrived before it says that the sender left (it once
/// said "the peer left the chat" first: the leave was read before the transfer's end).
#[test]
fn what_arrived_is_said_before_the_senders_leaving() {
    let dir = tempfile::tempdir().unwrap();
    let p = |s: &str| dir.path().join(s).display().to_string();
    std::fs::write(p("note.txt"), b"hello").unwrap();
    let (send, inbox) = (p("note.txt"), p("in"));
    let (mut alice, bob) = Proc::loopback_pair(&["--send", &send], &["--receive", &inbox]);
    alice.hang_up();
    let (code_a, err_a) = alice.exit(T);
    assert_eq!(code_a, 0, "{err_a}");
    // bob's input stays open: the sender's leaving is what ends bob's run
    let (code_b, err_b) = bob.exit(T);
    assert_eq!(code_b, 0, "{err_b}");
    let at = |needle: &str| err_b.find(needle);
    let left = at("the peer left the chat").unwrap_or_else(|| panic!("{err_b}"));
    assert!(
        at("verified: saved as").is_some_and(|v| v < left),
        "the peer's leaving came before what arrived:\n{err_b}"
    );
}

/// Without `--receive` the offered files are declined, the sender is told why and exits
/// non-zero with that reason; nothing is written.
#[test]
fn without_receive_files_are_declined_and_the_sender_told() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("note.txt");
    std::fs::write(&file, b"secret plans").unwrap();
    let file = file.display().to_string();
    let (mut alice, mut bob) = Proc::loopback_pair(&["--send", &file], &[]);
    alice.hang_up();
    let (code_a, err_a) = alice.exit(Duration::from_secs(60));
    assert_ne!(code_a, 0, "{err_a}");
    assert!(err_a.contains("declined"), "{err_a}");
    assert!(err_a.contains("--receive"), "{err_a}");
    // the offer is named, as the TUI names it
    bob.wait_stderr(
        "offers note.txt (12 B, 1 file); declined (no --receive DIR)",
        T,
    );
    bob.hang_up();
    let (code_b, err_b) = bob.exit(T);
    assert_eq!(code_b, 0, "bob: {err_b}");
}

/// An answer made for an earlier code (the joiner scanned yesterday's QR) is named as such
/// the moment it is pasted, not after a 30 s wait with Wi-Fi advice.
#[test]
fn an_answer_for_an_earlier_code_is_named_at_once() {
    let mut earlier = Proc::loopback(&["offer"]);
    let old_offer = earlier.line(T);
    let mut bob = Proc::loopback(&["answer", &old_offer]);
    let old_answer = bob.line(T);
    let mut alice = Proc::loopback(&["offer"]);
    let _ = alice.line(T);
    alice.say(&old_answer);
    let (code, err) = alice.exit(T);
    assert_ne!(code, 0, "{err}");
    assert!(err.contains("made for another code"), "{err}");
    assert!(!err.contains("no connection after"), "{err}");
    earlier.hang_up();
    let _ = earlier.exit(T);
    let _ = bob.child.kill();
    let _ = bob.child.wait();
}

/// One scan: Bob reads Alice's code and hands his answer straight to her; nobody feeds it
/// back. When a script pipes it back anyway, it is recognised, not sent as a message.
#[test]
fn one_scan_pairs_and_an_answer_piped_back_is_not_a_message() {
    let mut alice = Proc::loopback(&["offer"]);
    let offer = alice.line(T);
    let mut bob = Proc::loopback(&["answer", &offer]);
    let answer = bob.line(T);
    // Bob says the hand-over worked, unless the link opened first ("connected" says it).
    bob.wait_stderr("safety number", T);
    alice.wait_stderr("handed its answer over directly", T);
    alice.wait_stderr("safety number", T);
    bob.say("hello over one scan");
    assert_eq!(alice.line(T), "hello over one scan");
    // The script pipes the answer back as it always did: recognised, not sent.
    alice.say(&answer);
    alice.wait_stderr("already applied", T);
    alice.say("next line");
    assert_eq!(
        bob.line(T),
        "next line",
        "the answer code was not sent as a message"
    );
    alice.hang_up();
    let (code_a, err_a) = alice.exit(T);
    assert_eq!(code_a, 0, "alice: {err_a}");
    let (code_b, err_b) = bob.exit(T);
    assert_eq!(code_b, 0, "bob: {err_b}");
    // Nothing says "connecting…" once "connected" was said (the hand-over's acknowledgement
    // could come after the link opened).
    let after: Vec<&str> = err_b
        .lines()
        .skip_while(|l| !l.contains("safety number"))
        .filter(|l| l.contains("connecting"))
        .collect();
    assert!(after.is_empty(), "connecting after connected: {err_b}");
}

/// First valid delivery wins: once paired, the starter no longer listens, so a second
/// joiner of the same code is refused (and falls back to showing its code, which the
/// starter would refuse too); the first pairing is untouched. (A second valid delivery
/// that reaches a listener still open is answered "used up": tests/integration/direct.rs.)
#[test]
fn a_second_joiner_of_a_used_code_is_refused() {
    let mut alice = Proc::loopback(&["offer"]);
    let offer = alice.line(T);
    let mut bob = Proc::loopback(&["answer", &offer]);
    let _ = bob.line(T);
    alice.wait_stderr("safety number", T);
    let mut carol = Proc::loopback(&["answer", &offer]);
    let carols = carol.line(T);
    carol.wait_stderr("could not hand my answer over directly", T);
    let _ = carol.child.kill();
    // Carol's code pasted at Alice anyway: recognised, refused, not a message.
    alice.say(&carols);
    alice.wait_stderr("used up", T);
    bob.say("still here");
    assert_eq!(alice.line(T), "still here");
    alice.hang_up();
    bob.hang_up();
    let _ = alice.exit(T);
    let _ = bob.exit(T);
}

/// `--no-direct` on either side keeps strict two-scan pairing: nothing is handed over, the
/// offerer connects only when the answer comes on stdin.
#[test]
fn no_direct_on_either_side_keeps_two_scans() {
    for (a_args, b_extra) in [
        (vec!["offer", "--no-direct"], None),
        (vec!["offer"], Some("--no-direct")),
    ] {
        let mut alice = Proc::loopback(&a_args);
        let offer = alice.line(T);
        let mut b_args = vec!["answer"];
        b_args.extend(b_extra);
        b_args.push(&offer);
        let bob = Proc::loopback(&b_args);
        let answer = bob.line(T);
        bob.wait_stderr("give this answer code to the other side", T);
        thread::sleep(Duration::from_millis(1500));
        assert!(
            alice.stderr_line("safety number").is_none(),
            "{a_args:?} {b_extra:?}: connected without the answer: {}",
            alice.stderr()
        );
        assert!(!bob.stderr().contains("took my answer"), "{}", bob.stderr());
        alice.say(&answer);
        alice.wait_stderr("safety number", T);
        alice.hang_up();
        let (code, err) = alice.exit(T);
        assert_eq!(code, 0, "{err}");
        let _ = bob.exit(T);
    }
}
