//! The command line as a user meets it: help words, `start`/`join`, completions, the man
//! page, `--history` checked at start, the headless `answer` prompt on a terminal, and
//! `--log` files that never hold what was typed or said.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_qrchat");

fn qrchat(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run qrchat")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn help_says_code_never_blob() {
    for args in [
        &["--help"][..],
        &["offer", "--help"],
        &["answer", "--help"],
        &["scan", "--help"],
    ] {
        let out = qrchat(args);
        assert!(out.status.success(), "{args:?}");
        let help = text(&out.stdout);
        assert!(
            !help.to_lowercase().contains("blob"),
            "{args:?} says blob:\n{help}"
        );
    }
    let answer = text(&qrchat(&["answer", "--help"]).stdout);
    assert!(answer.contains("[CODE]"), "{answer}");
    let top = text(&qrchat(&["--help"]).stdout);
    for flag in ["--history <DIR>", "--quiet", "completions", "man"] {
        assert!(top.contains(flag), "--help lacks {flag}:\n{top}");
    }
}

#[test]
fn completions_and_man_page_come_from_the_definitions() {
    let bash = qrchat(&["completions", "bash"]);
    assert!(bash.status.success());
    let bash = text(&bash.stdout);
    assert!(bash.contains("complete -F"), "{bash}");
    for word in ["cameras", "--camera-file", "--history", "completions"] {
        assert!(bash.contains(word), "bash completion lacks {word}");
    }
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        let out = qrchat(&["completions", shell]);
        assert!(out.status.success(), "{shell}");
        assert!(text(&out.stdout).contains("camera-file"), "{shell}");
    }
    let bad = qrchat(&["completions", "tcsh"]);
    assert!(!bad.status.success());
    assert!(
        text(&bad.stderr).contains("possible values"),
        "{}",
        text(&bad.stderr)
    );
    let man = qrchat(&["man"]);
    assert!(man.status.success());
    let man = text(&man.stdout);
    assert!(
        man.starts_with(".ie") || man.contains(".TH qrchat"),
        "{man}"
    );
    assert!(man.contains(".TH qrchat 1"), "{man}");
    assert!(man.contains("camera\\-file"), "{man}");
}

#[test]
fn a_bad_history_dir_is_refused_before_the_terminal_is_touched() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, "x").unwrap();
    let out = qrchat(&["--history", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("--history") && err.contains("not a directory"),
        "{err}"
    );
    // nothing but the one line: the terminal was never set up
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn the_tui_takes_receive_dir_and_refuses_a_file_for_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, "x").unwrap();
    let out = qrchat(&["--receive", file.to_str().unwrap(), "--start"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("--receive") && err.contains("not a directory"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    // The help names it for the TUI; the headless one is still there.
    let help = text(&qrchat(&["--help"]).stdout);
    assert!(help.contains("--receive <DIR>"), "{help}");
    let help = text(&qrchat(&["answer", "--help"]).stdout);
    assert!(help.contains("--receive <DIR>"), "{help}");
}

/// Our own tmux server, for what needs a real terminal.
struct Tmux {
    socket: String,
    _dir: tempfile::TempDir,
}

impl Tmux {
    /// None (with the reason printed) when tmux is not installed.
    fn new() -> Option<Tmux> {
        if Command::new("tmux").arg("-V").output().is_err() {
            println!("tmux is not installed: skipping (apt-get install tmux)");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        Some(Tmux {
            socket: dir.path().join("tmux").display().to_string(),
            _dir: dir,
        })
    }

    fn run(&self, args: &[&str]) -> Output {
        let out = Command::new("tmux")
            .args(["-S", &self.socket, "-f", "/dev/null"])
            .args(args)
            .env_remove("TMUX")
            .output()
            .expect("tmux");
        assert!(out.status.success(), "tmux {args:?}: {}", text(&out.stderr));
        out
    }

    fn start(&self, command: &[&str]) {
        // The app's lasting identity goes into the test's folder, never the real home.
        let data = format!("XDG_DATA_HOME={}", self._dir.path().join("data").display());
        let mut args = vec![
            "new-session",
            "-d",
            "-s",
            "t",
            "-x",
            "120",
            "-y",
            "40",
            "env",
            "TERM=xterm-256color",
            &data,
        ];
        args.extend_from_slice(command);
        self.run(&args);
        self.run(&["set-option", "-t", "t", "remain-on-exit", "on"]);
    }

    fn screen(&self) -> String {
        text(&self.run(&["capture-pane", "-p", "-t", "t"]).stdout)
    }

    fn wait_for(&self, needle: &str) -> String {
        let t0 = Instant::now();
        loop {
            let s = self.screen();
            if s.contains(needle) {
                return s;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(20),
                "the pane never showed {needle:?}:\n{s}"
            );
            thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-S", &self.socket, "kill-server"])
            .output();
    }
}

#[test]
fn headless_answer_on_a_terminal_says_it_waits_for_the_code() {
    let Some(t) = Tmux::new() else { return };
    t.start(&[BIN, "answer", "--bind", "127.0.0.1"]);
    t.wait_for("waiting for the offer code on stdin");
    // piped stdin gets no prompt (scripts): see `answer_without_offer_says_what_to_do`
    let out = Command::new(BIN)
        .args(["answer", "--bind", "127.0.0.1"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!text(&out.stderr).contains("waiting for the offer code"));
}

#[test]
fn start_and_join_subcommands_run_the_app() {
    let Some(t) = Tmux::new() else { return };
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("tui.log");
    let log_s = log.to_str().unwrap();
    // no camera file to read: join lands on the paste screen
    let missing = dir.path().join("missing.png");
    t.start(&[
        BIN,
        "join",
        "--camera-file",
        missing.to_str().unwrap(),
        "--log",
        log_s,
    ]);
    let screen = t.wait_for("missing.png");
    assert!(screen.to_lowercase().contains("paste"), "{screen}");
    // typing into the paste box: keystrokes must not reach the log
    t.run(&["send-keys", "-t", "t", "-l", "secretword"]);
    // the app took the keys (they show in the paste box's verdict or input)
    t.wait_for("secretword");
    t.run(&["send-keys", "-t", "t", "C-c"]);
    let t0 = Instant::now();
    while !t.screen().contains("Pane is dead") && t0.elapsed() < Duration::from_secs(10) {
        thread::sleep(Duration::from_millis(100));
    }
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(logged.contains("qrchat starting"), "{logged}");
    assert!(!logged.contains("Char("), "keystrokes logged:\n{logged}");
    assert!(!logged.contains("secretword"), "{logged}");
    drop(t);
    let Some(t) = Tmux::new() else { return };
    t.start(&[BIN, "start", "--bind", "127.0.0.1"]);
    t.wait_for("my code");
}

/// A peer process with its stdout lines on a channel and stderr kept.
struct Peer {
    child: std::process::Child,
    stdin: Option<std::process::ChildStdin>,
    lines: mpsc::Receiver<String>,
}

impl Peer {
    fn spawn(args: &[&str]) -> Peer {
        let mut child = Command::new(BIN)
            .args(args)
            .args(["--bind", "127.0.0.1"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("run qrchat");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stdin = child.stdin.take();
        Peer {
            child,
            stdin,
            lines,
        }
    }

    fn line(&self) -> String {
        self.lines
            .recv_timeout(Duration::from_secs(20))
            .expect("a line within 20 s")
    }

    fn say(&mut self, s: &str) {
        let w = self.stdin.as_mut().unwrap();
        writeln!(w, "{s}").unwrap();
        w.flush().unwrap();
    }

    fn finish(mut self) {
        self.stdin = None;
        let t0 = Instant::now();
        while self.child.try_wait().unwrap().is_none() {
            if t0.elapsed() > Duration::from_secs(20) {
                let _ = self.child.kill();
                panic!("qrchat did not exit");
            }
            thread::sleep(Duration::from_millis(20));
        }
    }
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_default()
}

#[test]
fn logs_of_a_real_pairing_hold_no_message_text() {
    let dir = tempfile::tempdir().unwrap();
    let (la, lb) = (dir.path().join("a.log"), dir.path().join("b.log"));
    let mut alice = Peer::spawn(&["offer", "--log", la.to_str().unwrap()]);
    let offer = alice.line();
    let mut bob = Peer::spawn(&["answer", &offer, "--log", lb.to_str().unwrap()]);
    let answer = bob.line();
    alice.say(&answer);
    let (from_alice, from_bob) = ("pineapple-umbrella-7731", "walrus-saxophone-4412");
    alice.say(from_alice);
    bob.say(from_bob);
    assert_eq!(bob.line(), from_alice);
    assert_eq!(alice.line(), from_bob);
    alice.finish();
    bob.finish();
    for (name, log) in [("offer", read(&la)), ("answer", read(&lb))] {
        // the log is real: it recorded the session
        assert!(log.contains("qrchat starting"), "{name}: {log}");
        assert!(log.lines().count() > 3, "{name}: {log}");
        for secret in [from_alice, from_bob] {
            assert!(!log.contains(secret), "{name} log holds {secret:?}:\n{log}");
        }
    }
}

/// One command line: `start` and `join` take every option the app takes (and check them
/// before the terminal is touched), `join CODE` checks the code as `answer CODE` does, and
/// `offer` / `answer` list no option that does nothing there, yet still accept them (the
/// contract only grows).
#[test]
fn start_and_join_take_the_apps_options_and_headless_help_lists_only_its_own() {
    for sub in ["offer", "answer"] {
        let help = text(&qrchat(&[sub, "--help"]).stdout);
        for gone in ["--history", "--quiet", "--camera"] {
            assert!(!help.contains(gone), "{sub} --help lists {gone}:\n{help}");
        }
        assert!(
            help.contains("--receive") && help.contains("--send"),
            "{help}"
        );
        // Still accepted where they were (global before): parsing reaches --help.
        let out = qrchat(&[sub, "--quiet", "--history", "h", "--camera", "1", "--help"]);
        assert!(out.status.success(), "{sub}: {}", text(&out.stderr));
    }
    for sub in ["start", "join"] {
        let help = text(&qrchat(&[sub, "--help"]).stdout);
        for flag in [
            "--receive",
            "--history",
            "--quiet",
            "--camera-file",
            "--bind",
        ] {
            assert!(help.contains(flag), "{sub} --help lacks {flag}:\n{help}");
        }
    }
    // `--receive` after start / join is the app's, checked before it starts.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"x").unwrap();
    for args in [
        &["start", "--receive", file.to_str().unwrap()][..],
        &["join", "--receive", file.to_str().unwrap()],
        &["--receive", file.to_str().unwrap(), "start"],
    ] {
        let out = qrchat(args);
        assert!(!out.status.success(), "{args:?}");
        let err = text(&out.stderr);
        assert!(err.contains("not a directory"), "{args:?}: {err}");
    }
    // `join CODE`: a code that is no offer is refused with why, before the app starts.
    let out = qrchat(&["join", "not-a-code"]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("qrchat join CODE:"), "{err}");
    assert!(out.stdout.is_empty());
}

/// `qrchat join CODE` in a terminal: no scan, no paste; the joiner's answer is shown at once.
#[test]
fn join_with_a_code_shows_the_answer_at_once() {
    let Some(t) = Tmux::new() else { return };
    // Two scans (the answer's code is what is shown; one scan is tests/tui_tmux.rs's).
    let mut alice = Peer::spawn(&["offer", "--no-direct"]);
    let offer = alice.line();
    t.start(&[BIN, "join", &offer, "--bind", "127.0.0.1"]);
    let screen = t.wait_for("my code");
    assert!(!screen.contains("paste their code"), "{screen}");
    drop(t);
    let _ = alice.child.kill();
}

/// A reader that stops early (`qrchat man | head`): the page and the completions end
/// quietly, exit 0, nothing on stderr.
#[test]
fn man_and_completions_end_quietly_when_the_reader_stops() {
    for args in [&["man"][..], &["completions", "bash"]] {
        let mut child = Command::new(BIN)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Read a line, then stop reading (as head does).
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        assert!(!first.is_empty());
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        assert!(out.stderr.is_empty(), "{args:?}: {}", text(&out.stderr));
    }
    let page = text(&qrchat(&["man"]).stdout);
    for want in [
        ".SH KEYS",
        ".SH EXAMPLES",
        "Ctrl\\-Y",
        "/quit",
        "qrchat join",
        // the exit status names what makes a run fail: lines never confirmed
        "never confirmed are listed",
    ] {
        assert!(page.contains(want), "the man page lacks {want}");
    }
}
