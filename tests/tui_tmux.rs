//! End to end in a real terminal: two `qrchat` TUIs in tmux pair through the paste path
//! (the code read off one pane, bracket-pasted into the other, and back), chat both ways,
//! quit with Ctrl-C, and leave their terminals as they found them.
//! Also: a joiner that waits (patiently, counting) for a slow starter to read its code,
//! and a 15 s blip mid-chat between two network namespaces that loses nothing. Known
//! peers: listed on the start screen, asked, declined, accepted; a reconnect by name that
//! keeps the chat and sends again what was lost.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// The binary under test: cargo's, or `QRCHAT_BIN` (for a target dir other builds share).
fn qrchat_bin() -> String {
    std::env::var("QRCHAT_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_qrchat").to_string())
}

/// Everything must be done within this; each wait polls the pane.
const OVERALL: Duration = Duration::from_secs(90);

struct Tmux {
    socket: String,
    deadline: Instant,
    _dir: tempfile::TempDir,
    dir: PathBuf,
}

impl Tmux {
    fn new(tag: &str) -> Tmux {
        Tmux::within(tag, OVERALL)
    }

    /// A server whose waits must all be done within `overall` (for tests that wait on purpose).
    fn within(tag: &str, overall: Duration) -> Tmux {
        let dir = tempfile::tempdir().unwrap();
        let t = Tmux {
            // Our own server, its socket in the temporary directory (removed with it).
            socket: dir.path().join(format!("tmux-{tag}")).display().to_string(),
            deadline: Instant::now() + overall,
            dir: dir.path().to_path_buf(),
            _dir: dir,
        };
        let v = Command::new("tmux").arg("-V").output();
        assert!(
            v.as_ref().is_ok_and(|o| o.status.success()),
            "this test needs tmux on PATH (apt-get install tmux)"
        );
        t
    }

    fn run(&self, args: &[&str]) -> Output {
        let out = Command::new("tmux")
            .args(["-S", &self.socket, "-f", "/dev/null"])
            .args(args)
            .env_remove("TMUX")
            .output()
            .expect("running tmux");
        assert!(
            out.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// A session running a plain shell, sized like a roomy terminal.
    fn session(&self, name: &str) {
        // Each app its own data folder (its own lasting identity), inside the test's.
        let data = format!(
            "XDG_DATA_HOME={}",
            self.dir.join(format!("data-{name}")).display()
        );
        self.run(&[
            "new-session",
            "-d",
            "-s",
            name,
            "-x",
            "200",
            "-y",
            "60",
            "env",
            "PS1=$ ",
            &data,
            "TERM=xterm-256color",
            "bash",
            "--norc",
            "--noprofile",
        ]);
    }

    fn keys(&self, name: &str, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", name];
        args.extend_from_slice(keys);
        self.run(&args);
    }

    fn type_text(&self, name: &str, text: &str) {
        self.run(&["send-keys", "-t", name, "-l", text]);
    }

    /// A bracketed paste, as a terminal does it.
    fn paste(&self, name: &str, text: &str) {
        let file = self.dir.join(format!("paste-{name}"));
        std::fs::write(&file, text).unwrap();
        self.run(&["load-buffer", "-b", "t", file.to_str().unwrap()]);
        self.run(&["paste-buffer", "-p", "-d", "-b", "t", "-t", name]);
    }

    /// The screen, rows padded to the full width (trailing spaces kept).
    fn screen(&self, name: &str) -> String {
        String::from_utf8_lossy(&self.run(&["capture-pane", "-p", "-N", "-t", name]).stdout)
            .into_owned()
    }

    fn format(&self, name: &str, f: &str) -> String {
        String::from_utf8_lossy(&self.run(&["display-message", "-p", "-t", name, f]).stdout)
            .trim()
            .to_string()
    }

    /// Poll until the screen satisfies `ok`; the screen when it does.
    fn wait(&self, name: &str, what: &str, ok: impl Fn(&str) -> bool) -> String {
        loop {
            let s = self.screen(name);
            if ok(&s) {
                return s;
            }
            if Instant::now() > self.deadline {
                panic!(
                    "timed out waiting for {what} in pane {name}:\n{}",
                    trim_screen(&s)
                );
            }
            std::thread::sleep(Duration::from_millis(100));
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

fn trim_screen(s: &str) -> String {
    s.lines()
        .map(str::trim_end)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The code under "My code as text": the rows that follow it, joined.
fn code_text(screen: &str) -> Option<String> {
    let mut lines = screen
        .lines()
        .skip_while(|l| !l.starts_with("My code as text"));
    lines.next()?;
    let code: String = lines
        .skip_while(|l| l.trim().is_empty())
        .take_while(|l| !l.trim().is_empty())
        .collect();
    let code = code.trim_end().to_string();
    (!code.is_empty()).then_some(code)
}

/// Show my code as text (if the QR is shown) and read it off the pane.
fn read_code(t: &Tmux, name: &str) -> String {
    let s = t.wait(name, "my code", |s| s.contains(" c copy "));
    if !s.contains("My code as text") {
        t.keys(name, &["t"]);
    }
    let s = t.wait(name, "my code as text", |s| code_text(s).is_some());
    code_text(&s).unwrap()
}

fn paste_code(t: &Tmux, name: &str, code: &str) {
    t.wait(name, "the paste screen", |s| s.contains("paste their code"));
    t.paste(name, code);
    t.wait(name, "the pasted code to check out", |s| {
        s.contains("press Enter to use it")
    });
    t.keys(name, &["Enter"]);
}

fn sas(screen: &str) -> Option<String> {
    let status = screen.lines().find(|l| l.contains("│ safety number "))?;
    let rest = status.split("│ safety number ").nth(1)?;
    Some(rest.split('│').next()?.trim().to_string())
}

#[test]
fn two_tuis_pair_by_paste_chat_and_quit_cleanly() {
    let bin = qrchat_bin();
    let t = Tmux::new("pair");
    t.session("a");
    t.session("b");
    t.wait("a", "the shell prompt", |s| s.starts_with("$ "));
    t.wait("b", "the shell prompt", |s| s.starts_with("$ "));
    let log_a = t.dir.join("a.log");
    let log_b = t.dir.join("b.log");
    // No camera in a test: B reads frames from a file that is not there, and goes to paste.
    let nocam = t.dir.join("no-camera.png");
    t.type_text(
        "a",
        &format!(
            "{bin} --start --no-direct --bind 127.0.0.1 --log {}; echo EXIT=$?",
            log_a.display()
        ),
    );
    t.keys("a", &["Enter"]);
    t.type_text(
        "b",
        &format!(
            "{bin} --join --bind 127.0.0.1 --camera-file {} --log {}; echo EXIT=$?",
            nocam.display(),
            log_b.display()
        ),
    );
    t.keys("b", &["Enter"]);

    // A's offer, read off its pane, into B.
    let offer = read_code(&t, "a");
    // No camera: B goes to the paste screen by itself (a `p` pressed while the scan screen
    // is leaving would land in the paste box: a flake seen once).
    t.wait("b", "the paste screen", |s| s.contains("paste their code"));
    paste_code(&t, "b", &offer);

    // B's answer, read off its pane, into A.
    let answer = read_code(&t, "b");
    assert_ne!(offer, answer);
    t.keys("a", &["p"]);
    paste_code(&t, "a", &answer);

    // Both chat screens, with the same safety number and the paste warning.
    let sa = t.wait("a", "the chat with a safety number", |s| sas(s).is_some());
    let sb = t.wait("b", "the chat with a safety number", |s| sas(s).is_some());
    assert_eq!(sas(&sa), sas(&sb), "both sides show the same safety number");
    assert!(sa.contains("a code was pasted"));
    assert!(sb.contains("a code was pasted"));

    says(&t, "a", "b", "hello from A ✓");
    says(&t, "b", "a", "and hi from B");
    // A's own line ends with the delivery mark (its text has a ✓ of its own): B's app
    // acknowledged it over the real link.
    t.wait("a", "A's own line, delivered", |s| {
        s.contains("you   hello from A ✓ ✓")
    });
    t.wait("b", "B's own line, delivered", |s| {
        s.contains("you   and hi from B ✓")
    });

    // A quits: the chat is not saved, so the first Ctrl-C asks and the second quits. B sees
    // the peer leave; then B quits too. Both exit 0.
    t.keys("a", &["C-c"]);
    let s = t.wait("a", "the question", |s| {
        s.contains("this chat is not saved (no --history): Ctrl-C again to quit")
    });
    assert!(!exited(&s), "{}", trim_screen(&s));
    t.keys("a", &["C-c"]);
    t.wait("a", "A's exit status", exited);
    t.wait("b", "B's peer-left state", |s| {
        s.contains("✗ the peer left")
    });
    ctrl_c(&t, "b");
    for name in ["a", "b"] {
        assert_restored(&t, name);
    }
}

/// The app exited 0 and the terminal is back: main screen, cursor shown, line editing and
/// echo on.
fn assert_restored(t: &Tmux, name: &str) {
    let s = t.wait(name, "the exit status", exited);
    assert!(
        s.lines().any(|l| l.trim_end() == "EXIT=0"),
        "pane {name}:\n{}",
        trim_screen(&s)
    );
    assert_eq!(t.format(name, "#{alternate_on}"), "0", "pane {name}");
    assert_eq!(t.format(name, "#{cursor_flag}"), "1", "pane {name}");
    t.type_text(
        name,
        "stty -a | tr ' ' '\\n' | grep -x -- '-\\?icanon\\|-\\?echo'; echo DONE",
    );
    t.keys(name, &["Enter"]);
    let s = t.wait(name, "the shell to answer", |s| {
        s.lines().any(|l| l.trim_end() == "DONE")
    });
    let lines: Vec<&str> = s.lines().map(str::trim_end).collect();
    assert!(
        lines.contains(&"icanon"),
        "pane {name}:\n{}",
        trim_screen(&s)
    );
    assert!(lines.contains(&"echo"), "pane {name}:\n{}", trim_screen(&s));
}

/// The shell printed the app's exit status (not just the command line that will).
/// Ctrl-C in each pane, then each exited 0 and left its terminal as it found it.
fn quit_all(t: &Tmux, names: &[&str]) {
    for n in names {
        ctrl_c(t, n);
    }
    for n in names {
        assert_restored(t, n);
    }
}

/// Ctrl-C; a chat that is not saved asks once ("Ctrl-C again to quit"), then Ctrl-C again.
fn ctrl_c(t: &Tmux, name: &str) {
    t.keys(name, &["C-c"]);
    let s = t.wait(name, "the exit, or the question before it", |s| {
        exited(s) || s.contains("Ctrl-C again to quit")
    });
    if !exited(&s) {
        t.keys(name, &["C-c"]);
    }
}

fn exited(screen: &str) -> bool {
    screen.lines().any(|l| l.starts_with("EXIT="))
}

fn launch(t: &Tmux, name: &str, args: &str) {
    launch_cmd(t, name, &format!("{} {args}", qrchat_bin()));
}

/// A joiner on loopback in a new session `name`, with `extra` arguments and no camera: its
/// --camera-file is not there, so it goes to the paste screen by itself.
fn launch_joiner(t: &Tmux, name: &str, extra: &str) {
    let nocam = t.dir.join("no-camera.png");
    launch(
        t,
        name,
        &format!(
            "--join --bind 127.0.0.1 --camera-file {} {extra}",
            nocam.display()
        ),
    );
}

/// The terminal reports focus lost (ESC [ O) or gained (ESC [ I) to the app in `name`;
/// after losing it, give the app a moment to take the report before anything arrives.
fn focus(t: &Tmux, name: &str, gained: bool) {
    let last = if gained { "49" } else { "4f" };
    t.run(&["send-keys", "-t", name, "-H", "1b", "5b", last]);
    if !gained {
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// Wait (bounded) for the window title, then check it.
fn wait_title(t: &Tmux, name: &str, want: &str) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while t.format(name, "#{pane_title}") != want && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(t.format(name, "#{pane_title}"), want);
}

#[test]
fn ctrl_c_on_every_screen_exits_0_with_a_clean_terminal() {
    let t = Tmux::new("ctrlc");
    let nocam = t.dir.join("no-camera.png");
    let nocam = nocam.display();
    // (pane, arguments, keys once started, what the screen shows before Ctrl-C)
    let cases: Vec<(&str, String, Vec<&str>, &str)> = vec![
        ("start", String::new(), vec![], "Start a chat"),
        ("help", String::new(), vec!["?"], "this help"),
        // A STUN server that never answers keeps gathering going until the deadline.
        (
            "gathering",
            "--start --stun stun:127.0.0.1:9 --gather-timeout 60".into(),
            vec![],
            "finding my network addresses",
        ),
        (
            "mycode",
            "--start --no-direct --bind 127.0.0.1".into(),
            vec![],
            " c copy ",
        ),
        (
            "paste",
            format!("--join --camera-file {nocam}"),
            vec![],
            "paste their code",
        ),
    ];
    for (name, args, keys, shows) in &cases {
        launch(&t, name, args);
        t.wait(name, "the app", |s| s.contains("Ctrl-C quit"));
        if !keys.is_empty() {
            t.keys(name, keys);
        }
        t.wait(name, shows, |s| s.contains(shows));
        ctrl_c(&t, name);
    }
    for (name, ..) in &cases {
        assert_restored(&t, name);
    }

    // Connecting: A takes the answer of a joiner that has already quit, then Ctrl-C.
    launch(&t, "a", "--start --no-direct --bind 127.0.0.1");
    launch_joiner(&t, "b", "");
    let offer = read_code(&t, "a");
    paste_code(&t, "b", &offer);
    let answer = read_code(&t, "b");
    ctrl_c(&t, "b");
    assert_restored(&t, "b");
    t.keys("a", &["p"]);
    paste_code(&t, "a", &answer);
    t.wait("a", "the connecting screen", |s| s.contains("connecting"));
    ctrl_c(&t, "a");
    assert_restored(&t, "a");
}

/// The scan path with the real camera code: B's "camera" is an image file of A's QR (as
/// `--camera-file` takes it); B scans it, joins, and the chat opens once A has B's answer.
#[test]
fn joining_by_scanning_a_camera_file_of_the_code() {
    let t = Tmux::new("scan");
    launch(&t, "a", "--start --no-direct --bind 127.0.0.1");
    let offer = read_code(&t, "a");
    let m = qrchat::qr::matrix(&offer).expect("a QR for the offer");
    let shot = t.dir.join("offer-qr.png");
    qrchat::qr::to_png(&m, 6).save(&shot).unwrap();
    launch(
        &t,
        "b",
        &format!("--join --bind 127.0.0.1 --camera-file {}", shot.display()),
    );
    // B saw the code (the frame named after the file), joined, and shows its answer.
    let answer = read_code(&t, "b");
    t.keys("a", &["p"]);
    paste_code(&t, "a", &answer);
    let sa = t.wait("a", "the chat", |s| sas(s).is_some());
    let sb = t.wait("b", "the chat", |s| sas(s).is_some());
    assert_eq!(sas(&sa), sas(&sb));
    // Only A pasted a code: only A is asked to compare the safety number.
    assert!(sa.contains("a code was pasted"));
    assert!(!sb.contains("a code was pasted"));
    quit_all(&t, &["a", "b"]);
}

/// Pasting forgives, and a message to an unfocused terminal rings and shows in the title:
/// B pastes A's code quoted, with a label, broken over lines; A first pastes its own code
/// by mistake and is told so, then B's answer with spaces in it. Once chatting, B's
/// terminal loses focus (the bytes a terminal sends, ESC [ O), A writes, and B's window
/// gets the bell and "(1) qrchat" as its title; focus back, the title is plain again.
#[test]
fn pasting_forgives_and_unfocused_messages_ring() {
    let t = Tmux::new("forgive");
    launch(&t, "a", "--start --no-direct --bind 127.0.0.1");
    launch_joiner(&t, "b", "");
    let offer = read_code(&t, "a");
    let (x, y) = offer.split_at(offer.len() / 2);
    t.wait("b", "the paste screen", |s| s.contains("paste their code"));
    t.paste("b", &format!("here is my code: '{x}\n{y}'\n"));
    t.wait("b", "the quoted code to check out", |s| {
        s.contains("press Enter to use it")
    });
    t.keys("b", &["Enter"]);
    let answer = read_code(&t, "b");

    // A pastes its own code back: told it is its own, not that the kind is wrong.
    t.keys("a", &["p"]);
    t.wait("a", "the paste screen", |s| s.contains("paste their code"));
    t.paste("a", &offer);
    t.wait("a", "the own-code error", |s| s.contains("your own code"));
    t.keys("a", &["C-u"]);
    let spaced: Vec<String> = answer
        .as_bytes()
        .chunks(16)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect();
    t.paste("a", &spaced.join(" "));
    t.wait("a", "the spaced answer to check out", |s| {
        s.contains("press Enter to use it")
    });
    t.keys("a", &["Enter"]);
    t.wait("a", "the chat", |s| sas(s).is_some());
    t.wait("b", "the chat", |s| sas(s).is_some());
    assert_eq!(t.format("b", "#{pane_title}"), "qrchat");
    assert_eq!(t.format("b", "#{window_bell_flag}"), "0");

    // B loses focus; A writes; B rings and counts.
    focus(&t, "b", false);
    says(&t, "a", "b", "are you there?");
    wait_title(&t, "b", "(1) qrchat");
    assert_eq!(
        t.format("b", "#{window_bell_flag}"),
        "1",
        "B's window got the bell"
    );
    // Focus back (ESC [ I): the count goes.
    focus(&t, "b", true);
    wait_title(&t, "b", "qrchat");

    quit_all(&t, &["a", "b"]);
}

/// `--quiet`: a message to an unfocused terminal counts in the title but rings nothing.
#[test]
fn quiet_counts_in_the_title_without_a_bell() {
    let t = Tmux::new("quiet");
    pair_two(&t, "", "--quiet");
    focus(&t, "b", false);
    says(&t, "a", "b", "psst");
    wait_title(&t, "b", "(1) qrchat");
    assert_eq!(
        t.format("b", "#{window_bell_flag}"),
        "0",
        "--quiet rang the bell"
    );
    quit_all(&t, &["a", "b"]);
}

/// The joiner's status line on its code screen ("connection: ...").
fn joiner_connection(screen: &str) -> Option<String> {
    let l = screen.lines().find(|l| l.contains(" connection: "))?;
    Some(l.split(" connection: ").nth(1)?.trim().to_string())
}

/// The m:ss after "waiting for the other side to read my code, ", in seconds.
fn waited_secs(screen: &str) -> Option<u64> {
    let c = joiner_connection(screen)?;
    let t = c.strip_prefix("waiting for the other side to read my code, ")?;
    let (m, s) = t.split_once(':')?;
    Some(m.trim().parse::<u64>().ok()? * 60 + s.trim().parse::<u64>().ok()?)
}

/// A slow starter (40 s to read the answer: longer than the old 30 s give-up) still gets
/// a chat: meanwhile the joiner keeps its code on screen and says it is waiting for the
/// other side to read it, counting the time, and never gives up with "Could not connect".
/// And Esc on that waiting screen goes back one step (read their code again), not out.
#[test]
fn the_joiner_waits_for_its_code_to_be_read() {
    let t = Tmux::within("wait", Duration::from_secs(150));
    launch(&t, "a", "--start --no-direct --bind 127.0.0.1");
    launch_joiner(&t, "b", "");
    let offer = read_code(&t, "a");
    paste_code(&t, "b", &offer);
    let answer = read_code(&t, "b");

    // 40 s of a starter still reading: B waits, counting, with its code shown.
    let shown = Instant::now();
    let mut seen: Vec<u64> = Vec::new();
    while shown.elapsed() < Duration::from_secs(40) {
        let s = t.screen("b");
        assert!(
            !s.contains("Could not connect") && !exited(&s),
            "B gave up while A was still reading:\n{}",
            trim_screen(&s)
        );
        assert!(
            code_text(&s).as_deref() == Some(answer.as_str()),
            "B's code stays on screen:\n{}",
            trim_screen(&s)
        );
        if let Some(n) = waited_secs(&s) {
            if seen.last() != Some(&n) {
                seen.push(n);
            }
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    let s = t.screen("b");
    let last = waited_secs(&s).unwrap_or_else(|| {
        panic!(
            "B says it waits for its code to be read, with the time:\n{}",
            trim_screen(&s)
        )
    });
    assert!(
        (35..=45).contains(&last),
        "B counted {last} s after 40 s: {seen:?}"
    );
    assert!(
        seen.len() >= 20 && seen.windows(2).all(|w| w[0] < w[1]),
        "the time waited counts up: {seen:?}"
    );

    // A reads it at last: both chat, with the same safety number.
    t.keys("a", &["p"]);
    paste_code(&t, "a", &answer);
    let sa = t.wait("a", "the chat", |s| sas(s).is_some());
    let sb = t.wait("b", "the chat", |s| sas(s).is_some());
    assert_eq!(sas(&sa), sas(&sb), "both sides show the same safety number");
    enter_line(&t, "a", "sorry, slow camera");
    t.wait("b", "A's message", |s| {
        s.contains("peer  sorry, slow camera")
    });
    quit_all(&t, &["a", "b"]);

    // Esc while waiting cancels that answer and goes back to reading their code; the app
    // goes on (no exit), and a new code pairs from there.
    launch(&t, "c", "--start --no-direct --bind 127.0.0.1");
    launch_joiner(&t, "d", "");
    let offer = read_code(&t, "c");
    paste_code(&t, "d", &offer);
    read_code(&t, "d");
    t.wait("d", "the waiting line", |s| waited_secs(s).is_some());
    t.keys("d", &["Escape"]);
    let s = t.wait("d", "the paste screen again", |s| {
        s.contains("paste their code")
    });
    assert!(
        !exited(&s),
        "Esc quit instead of going back:\n{}",
        trim_screen(&s)
    );
    std::thread::sleep(Duration::from_millis(500));
    assert!(!exited(&t.screen("d")), "the app is still running");
    ctrl_c(&t, "d");
    ctrl_c(&t, "c");
    assert_restored(&t, "c");
    assert_restored(&t, "d");
}

/// Two network namespaces joined by a veth pair (each end `eth0`, 10.99.60.1 and .2), made
/// by the test and removed on drop, with whatever runs in them.
struct Lan {
    names: [String; 2],
}

/// Why this machine cannot make namespaces, if it cannot.
fn no_netns() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let uid = status
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or("");
    if uid != "0" {
        return Some("network namespaces need root".into());
    }
    if Command::new("ip").arg("-V").output().is_err() {
        return Some("ip is missing (Debian package iproute2)".into());
    }
    None
}

fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("running ip");
    assert!(
        out.status.success(),
        "ip {args:?}: {}",
        String::from_utf8_lossy(&out.stderr).trim()
    );
}

impl Lan {
    /// Two namespaces named after this process and `tag` (tests run side by side).
    fn new(tag: &str) -> Lan {
        let id = std::process::id();
        let lan = Lan {
            names: [format!("qrtui{id}{tag}a"), format!("qrtui{id}{tag}b")],
        };
        let [a, b] = &lan.names;
        for ns in [a, b] {
            ip(&["netns", "add", ns]);
            ip(&["-n", ns, "link", "set", "lo", "up"]);
        }
        // Made in the first namespace, so the names never meet the host's interfaces.
        ip(&[
            "-n", a, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns", b,
        ]);
        for (ns, addr) in [(a, "10.99.60.1/24"), (b, "10.99.60.2/24")] {
            ip(&["-n", ns, "addr", "add", addr, "dev", "eth0"]);
            ip(&["-n", ns, "link", "set", "eth0", "up"]);
        }
        lan
    }

    fn set_link(&self, i: usize, up: bool) {
        ip(&[
            "-n",
            &self.names[i],
            "link",
            "set",
            "eth0",
            if up { "up" } else { "down" },
        ]);
    }
}

impl Drop for Lan {
    fn drop(&mut self) {
        for ns in &self.names {
            if let Ok(out) = Command::new("ip").args(["netns", "pids", ns]).output() {
                for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                    let _ = Command::new("kill").args(["-KILL", pid]).status();
                }
            }
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
    }
}

/// A starter in the LAN's first namespace (pane a) and a joiner with `b_args` in the
/// second (pane b), paired by paste.
fn pair_in_lan(t: &Tmux, lan: &Lan, b_args: &str) {
    let bin = qrchat_bin();
    let nocam = t.dir.join("no-camera.png");
    let [na, nb] = &lan.names;
    launch_cmd(
        t,
        "a",
        &format!("ip netns exec {na} {bin} --start --no-direct --bind 10.99.60.1"),
    );
    launch_cmd(
        t,
        "b",
        &format!(
            "ip netns exec {nb} {bin} --join --bind 10.99.60.2 --camera-file {} {b_args}",
            nocam.display()
        ),
    );
    pair_by_paste(t, "a", "b");
}

/// The chat's status bar (the row with the safety number).
fn status_bar(screen: &str) -> String {
    screen
        .lines()
        .find(|l| l.contains("│ safety number "))
        .unwrap_or("")
        .trim()
        .to_string()
}

/// The seconds in "(reconnecting, N s)" on the status bar.
fn reconnecting_secs(screen: &str) -> Option<u64> {
    let bar = status_bar(screen);
    let rest = bar.split("(reconnecting, ").nth(1)?;
    rest.split(" s)").next()?.trim().parse().ok()
}

/// The seconds left before the chat gives up, once the link is not responding.
fn ends_in_secs(screen: &str) -> Option<u64> {
    let bar = status_bar(screen);
    let rest = bar.split("not responding: the chat ends in ").nth(1)?;
    rest.split(" s unless the link returns")
        .next()?
        .trim()
        .parse()
        .ok()
}

/// The chat has not ended on this screen.
fn assert_not_ended(screen: &str, who: &str) {
    assert!(
        !screen.contains("Esc: new pairing") && !status_bar(screen).contains('✗'),
        "{who} shows the chat as ended:\n{}",
        trim_screen(screen)
    );
}

/// A 15 s blip mid-chat (A's cable out and back) ends nothing: both screens say the link
/// is interrupted and count the seconds, what both type meanwhile arrives once the link is
/// back, in order, and the status is connected again.
#[test]
fn a_blip_in_the_chat_loses_nothing() {
    if let Some(why) = no_netns() {
        eprintln!("skipped: {why}");
        return;
    }
    let lan = Lan::new("chat");
    let t = Tmux::within("blip", Duration::from_secs(120));
    pair_in_lan(&t, &lan, "");
    enter_line(&t, "a", "before the blip");
    t.wait("b", "A's first message", |s| {
        s.contains("peer  before the blip")
    });

    // A's end goes down for about 15 s.
    lan.set_link(0, false);
    let down = Instant::now();
    let mut counts: [Vec<u64>; 2] = [Vec::new(), Vec::new()];
    let mut left: [Vec<u64>; 2] = [Vec::new(), Vec::new()];
    let mut typed = false;
    while down.elapsed() < Duration::from_secs(15) {
        for (i, name) in ["a", "b"].into_iter().enumerate() {
            let s = t.screen(name);
            assert_not_ended(&s, name);
            if let Some(n) = reconnecting_secs(&s) {
                if counts[i].last() != Some(&n) {
                    counts[i].push(n);
                }
            }
            if let Some(n) = ends_in_secs(&s) {
                if left[i].last() != Some(&n) {
                    left[i].push(n);
                }
            }
        }
        if !typed && down.elapsed() > Duration::from_secs(3) {
            for n in 1..=3 {
                t.type_text("a", &format!("during the blip {n}"));
                t.keys("a", &["Enter"]);
            }
            enter_line(&t, "b", "B during the blip");
            typed = true;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    for (i, name) in ["a", "b"].into_iter().enumerate() {
        let s = t.screen(name);
        assert!(
            counts[i].len() >= 3 && counts[i].windows(2).all(|w| w[0] < w[1]),
            "{name} shows the link interrupted, reconnecting, with seconds counting: {:?}\n{}",
            counts[i],
            trim_screen(&s)
        );
        // Past a few seconds: when the chat will give up (60 s of peer timeout), counting
        // down.
        assert!(
            left[i].len() >= 3
                && left[i].windows(2).all(|w| w[0] > w[1])
                && left[i].iter().all(|&n| (40..=56).contains(&n)),
            "{name} says when the chat ends, counting down: {:?}\n{}",
            left[i],
            trim_screen(&s)
        );
        // Nothing sent meanwhile arrived.
        assert!(!s.contains("peer  during the blip") && !s.contains("peer  B during"));
    }

    // Back up: everything arrives, in order, and both are connected again.
    lan.set_link(0, true);
    let sb = t.wait("b", "A's blip messages", |s| {
        s.contains("peer  during the blip 3")
    });
    let pos = |s: &str, m: &str| s.find(m).unwrap_or_else(|| panic!("{m} missing:\n{s}"));
    let p: Vec<usize> = (1..=3)
        .map(|n| pos(&sb, &format!("peer  during the blip {n}")))
        .collect();
    assert!(
        p.windows(2).all(|w| w[0] < w[1]),
        "in order:\n{}",
        trim_screen(&sb)
    );
    t.wait("a", "B's blip message", |s| {
        s.contains("peer  B during the blip")
    });
    for name in ["a", "b"] {
        let s = t.wait(name, "connected again", |s| {
            status_bar(s).contains("● connected")
        });
        assert_not_ended(&s, name);
        assert!(s.contains("the link is back"), "{}", trim_screen(&s));
    }
    enter_line(&t, "b", "after the blip");
    t.wait("a", "B's message after", |s| {
        s.contains("peer  after the blip")
    });
    quit_all(&t, &["a", "b"]);
}

/// Run a command line (qrchat, or qrchat behind a prefix such as `ip netns exec`) in a new
/// tmux session `name`, printing its exit status when it ends.
fn launch_cmd(t: &Tmux, name: &str, cmd: &str) {
    t.session(name);
    t.wait(name, "the shell prompt", |s| s.starts_with("$ "));
    t.type_text(name, &format!("{cmd}; echo EXIT=$?"));
    t.keys(name, &["Enter"]);
}

/// Pair the starter in `a` with the joiner in `b` by pasting codes both ways; the safety
/// number both show.
fn pair_by_paste(t: &Tmux, a: &str, b: &str) -> String {
    let offer = read_code(t, a);
    // The joiners here have no camera (a --camera-file that is not there): they go to the
    // paste screen by themselves (a `p` sent meanwhile would land in the paste box).
    paste_code(t, b, &offer);
    let answer = read_code(t, b);
    t.keys(a, &["p"]);
    paste_code(t, a, &answer);
    let sa = t.wait(a, "the chat with a safety number", |s| sas(s).is_some());
    let sb = t.wait(b, "the chat with a safety number", |s| sas(s).is_some());
    assert_eq!(sas(&sa), sas(&sb), "both sides show the same safety number");
    sas(&sa).unwrap()
}

/// Re-pair in place. The link goes for good while both apps run (B's process is frozen
/// past A's peer timeout, then thawed: its own link has ended too); Ctrl-R on both makes
/// new codes in the same roles, the chat so far stays on both screens, both say the peer
/// is the same app as before, and the safety number is the one they had. Then B quits and
/// A pairs again, with a new app C: A names it a different peer.
#[test]
fn re_pairing_in_place_keeps_the_chat_and_names_the_peer() {
    let t = Tmux::within("repair", Duration::from_secs(150));
    let nocam = t.dir.join("no-camera.png");
    let log_b = t.dir.join("b.log");
    // A gives B 12 s: time to type during the outage before it gives up.
    launch(
        &t,
        "a",
        "--start --no-direct --bind 127.0.0.1 --peer-timeout 12",
    );
    // Without job control (`set +m`) the shell does not take the terminal back when B's
    // process is stopped below.
    launch_cmd(
        &t,
        "b",
        &format!(
            "set +m; {} --join --bind 127.0.0.1 --peer-timeout 5 --camera-file {} --log {}",
            qrchat_bin(),
            nocam.display(),
            log_b.display()
        ),
    );
    let first = pair_by_paste(&t, "a", "b");
    says(&t, "a", "b", "before the break");

    // B's app stops answering (frozen); A gives up after its timeout and offers Ctrl-R.
    let b_proc = log_b.display().to_string();
    let signal = |sig: &str| {
        let st = Command::new("pkill")
            .args([sig, "-f", &b_proc])
            .status()
            .expect("running pkill");
        assert!(st.success(), "pkill {sig} found no qrchat for B");
    };
    signal("-STOP");
    // A types while B is gone: held, and after the re-pairing sent again (issue 17).
    t.wait("a", "A sees the link interrupted", |s| {
        s.contains("not responding")
    });
    for i in 1..=3 {
        t.type_text("a", &format!("sent during the outage {i}"));
        t.keys("a", &["Enter"]);
    }
    let s = t.wait("a", "A's link gone for good, with Ctrl-R offered", |s| {
        s.contains("the peer stopped responding") && s.contains("Ctrl-R: new code")
    });
    // What B never acknowledged is marked so; what it showed is delivered.
    assert!(
        s.contains("you   before the break ✓")
            && (1..=3)
                .all(|i| s.contains(&format!("you   sent during the outage {i} (not delivered)"))),
        "{}",
        trim_screen(&s)
    );
    signal("-CONT");
    let s = t.wait("b", "B's link gone for good, with Ctrl-R offered", |s| {
        s.contains("Ctrl-R: new code")
    });
    // No candidate type on the screen: the route says it in words.
    assert!(!s.contains("(host)"), "{}", trim_screen(&s));

    // Ctrl-R, then Esc: back to the kept chat (not quit, not a new chat), on both sides
    // (my code and the scan screen are their first screens with --start / --join).
    for name in ["a", "b"] {
        t.keys(name, &["C-r"]);
        t.wait(name, "the re-pairing's screen", |s| {
            s.contains("Esc back to the chat")
        });
        t.keys(name, &["Escape"]);
        let s = t.wait(name, "the kept chat again", |s| {
            s.contains("before the break") && s.contains("Ctrl-R new code")
        });
        assert!(!exited(&s), "{}", trim_screen(&s));
    }

    // Both pair again in place: same roles, new codes, the chat kept.
    t.keys("a", &["C-r"]);
    t.keys("b", &["C-r"]);
    let again = pair_by_paste(&t, "a", "b");
    assert_eq!(again, first, "the same two apps keep their safety number");
    for name in ["a", "b"] {
        let s = t.wait(name, "the same app named as such", |s| {
            s.contains("the same app as before")
        });
        assert!(
            s.contains("before the break") && s.contains("pairing again: this chat is kept"),
            "{name} kept the chat:\n{}",
            trim_screen(&s)
        );
    }
    // Every message typed during the outage arrives once, in order; the one B had
    // already shown is not shown again.
    let s = t.wait("b", "the outage's messages, sent again", |s| {
        s.contains("peer  sent during the outage 3")
    });
    let rows: Vec<&str> = s.lines().filter(|l| l.contains("peer  ")).collect();
    let got: Vec<&str> = rows
        .iter()
        .filter_map(|l| l.split("peer  ").nth(1).map(str::trim))
        .collect();
    assert_eq!(
        got,
        [
            "before the break",
            "sent during the outage 1",
            "sent during the outage 2",
            "sent during the outage 3"
        ],
        "{}",
        trim_screen(&s)
    );
    // On A they are delivered now.
    t.wait("a", "the outage's messages delivered", |s| {
        (1..=3).all(|i| s.contains(&format!("you   sent during the outage {i} ✓")))
    });
    enter_line(&t, "b", "after the re-pair");
    t.wait("a", "B's message over the new link", |s| {
        s.contains("peer  after the re-pair")
    });

    // B quits; A pairs again with another app, C, and says it is a different peer.
    ctrl_c(&t, "b");
    assert_restored(&t, "b");
    t.wait("a", "A's peer left, with Ctrl-R offered", |s| {
        s.contains("the peer left") && s.contains("Ctrl-R: new code")
    });
    t.keys("a", &["C-r"]);
    launch_joiner(&t, "c", "");
    let third = pair_by_paste(&t, "a", "c");
    assert_ne!(third, first, "another app, another safety number");
    let s = t.wait("a", "the new peer named as different", |s| {
        s.contains("this is a different peer than before")
    });
    assert!(s.contains("after the re-pair"), "{}", trim_screen(&s));
    quit_all(&t, &["a", "c"]);
}

/// Pair A (`--start`, with `a_args`) and B (`--join`, with `b_args`) by paste, both on
/// loopback; returns once both show the chat.
fn pair_two(t: &Tmux, a_args: &str, b_args: &str) {
    launch(
        t,
        "a",
        &format!("--start --no-direct --bind 127.0.0.1 {a_args}"),
    );
    launch_joiner(t, "b", b_args);
    pair_by_paste(t, "a", "b");
}

/// Type `text` into `name`'s input line and press Enter.
fn enter_line(t: &Tmux, name: &str, text: &str) {
    t.type_text(name, text);
    t.keys(name, &["Enter"]);
}

/// `from` sends the chat message `text`; `to` shows it as the peer's.
fn says(t: &Tmux, from: &str, to: &str, text: &str) {
    enter_line(t, from, text);
    t.wait(to, &format!("{from}'s message {text:?}"), |s| {
        s.contains(&format!("peer  {text}"))
    });
}

/// `from` types a `/send ...` command line; `to` sees the offer (a line containing
/// `offer`) and accepts it with Ctrl-Y.
fn send_and_accept(t: &Tmux, from: &str, command: &str, to: &str, offer: &str) {
    enter_line(t, from, command);
    t.wait(to, "the offer", |s| s.contains(offer));
    t.keys(to, &["C-y"]);
}

/// The screen's rows joined without their padding (a chat line may wrap).
fn flat(screen: &str) -> String {
    screen.lines().map(str::trim).collect::<Vec<_>>().join(" ")
}

/// Bytes that do not repeat in any short period (so a misplaced chunk shows).
fn payload(n: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

#[test]
fn a_file_sent_from_the_tui_is_offered_accepted_shown_and_verified() {
    // Room for a slow machine: the 48 MiB cross while other tests run beside this one.
    let t = Tmux::within("files", Duration::from_secs(180));
    let inbox = t.dir.join("inbox");
    let src = t.dir.join("out");
    std::fs::create_dir_all(&src).unwrap();
    let data = payload(48 * 1024 * 1024);
    let big = src.join("payload.bin");
    std::fs::write(&big, &data).unwrap();
    std::fs::write(src.join("small note.txt"), b"not wanted").unwrap();
    pair_two(
        &t,
        &format!("--log {}", t.dir.join("a.log").display()),
        &format!(
            "--receive {} --log {}",
            inbox.display(),
            t.dir.join("b.log").display()
        ),
    );

    // A sends; B is asked (name, size, count, from the peer) and accepts with y.
    t.type_text("a", &format!("/send {}", big.display()));
    t.keys("a", &["Enter"]);
    t.wait("a", "the offer waiting", |s| {
        s.contains("offering payload.bin (50 MB): waiting for the peer to accept")
    });
    let s = t.wait("b", "the offer", |s| {
        s.contains("peer  offers payload.bin (50 MB, 1 file). Ctrl-Y: accept")
    });
    assert!(
        s.contains(" Ctrl-Y accept files  Ctrl-N decline "),
        "{}",
        trim_screen(&s)
    );
    t.keys("b", &["C-y"]);

    // Progress lines on both sides while it runs, then done on both: where it is, verified.
    let mut progress_seen = [false, false];
    let done = |s: &str, side: usize| {
        let f = flat(s);
        if side == 0 {
            f.contains("sent payload.bin (50 MB, 1 file): verified by the peer")
        } else {
            f.contains(&format!(
                "received payload.bin (50 MB), verified: saved as {}",
                inbox.join("payload.bin").display()
            ))
        }
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let sa = t.screen("a");
        let sb = t.screen("b");
        progress_seen[0] |= sa.contains("sending payload.bin: ") && sa.contains("%)");
        progress_seen[1] |= sb.contains("receiving payload.bin: ") && sb.contains("%)");
        if done(&sa, 0) && done(&sb, 1) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the transfer did not finish:\n{}\n---\n{}",
            trim_screen(&sa),
            trim_screen(&sb)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        progress_seen,
        [true, true],
        "a progress line (bytes, %) showed on both sides"
    );
    let got = std::fs::read(inbox.join("payload.bin")).unwrap();
    assert!(got == data, "the received file's bytes are the sent file's");

    // The chat stayed a chat: messages both ways after the transfer.
    says(&t, "b", "a", "got it, thanks");

    // A declined offer: B presses n; A is told; nothing lands in B's folder. The path is
    // typed with a Tab completion of the escaped space.
    t.type_text("a", &format!("/send {}/sma", src.display()));
    t.keys("a", &["Tab"]);
    t.wait("a", "the completed path", |s| {
        s.contains(r"small\ note.txt")
    });
    t.keys("a", &["Enter"]);
    t.wait("b", "the second offer", |s| {
        s.contains("offers small note.txt (10 B, 1 file)")
    });
    // A reply that starts with n is a message, not a decline.
    enter_line(&t, "b", "nope, I already have it");
    t.wait("a", "B's reply, whole", |s| {
        s.contains("peer  nope, I already have it")
    });
    assert!(!t.screen("b").contains("declined small note.txt"));
    t.keys("b", &["C-n"]);
    t.wait("b", "the decline said", |s| {
        s.contains("declined small note.txt")
    });
    let s = t.wait("a", "the decline told", |s| {
        s.contains("small note.txt not sent: the other side declined")
    });
    assert!(
        !s.contains("declined: the other side declined"),
        "said once:\n{}",
        trim_screen(&s)
    );
    assert!(!inbox.join("small note.txt").exists());

    // A folder keeps its tree: a nested file, an empty file, an empty folder.
    let album = src.join("album");
    std::fs::create_dir_all(album.join("2026/empty")).unwrap();
    std::fs::write(album.join("2026/a.jpg"), payload(100_000)).unwrap();
    std::fs::write(album.join("empty.txt"), b"").unwrap();
    send_and_accept(
        &t,
        "a",
        &format!("/send {}/", album.display()),
        "b",
        "offers album/ (100 kB, 2 files, 3 folders)",
    );
    t.wait("b", "the folder received", |s| {
        flat(s).contains(&format!(
            "received album/ (100 kB, 2 files), all verified: in {}",
            inbox.join("album").display()
        ))
    });
    t.wait("a", "the folder sent", |s| {
        s.contains("sent album/ (100 kB, 2 files): verified by the peer")
    });
    assert!(std::fs::read(inbox.join("album/2026/a.jpg")).unwrap() == payload(100_000));
    assert_eq!(
        std::fs::metadata(inbox.join("album/empty.txt"))
            .unwrap()
            .len(),
        0
    );
    assert!(inbox.join("album/2026/empty").is_dir());

    quit_all(&t, &["a", "b"]);
}

#[test]
fn either_side_cancels_a_running_transfer_and_the_other_is_told() {
    let t = Tmux::within("cancel", Duration::from_secs(180));
    let inbox_a = t.dir.join("inbox-a");
    let inbox_b = t.dir.join("inbox-b");
    // Big and quick to make (sparse): the transfer runs for a while.
    let zeros = t.dir.join("zeros.bin");
    std::fs::File::create(&zeros)
        .unwrap()
        .set_len(1 << 30)
        .unwrap();
    pair_two(
        &t,
        &format!("--receive {}", inbox_a.display()),
        &format!("--receive {}", inbox_b.display()),
    );

    // B sends to A (the joiner sends, the starter receives); A accepts, then cancels with
    // /cancel while the bytes move.
    send_and_accept(
        &t,
        "b",
        &format!("/send {}", zeros.display()),
        "a",
        "offers zeros.bin (1.1 GB, 1 file)",
    );
    t.wait("a", "progress", |s| {
        s.contains("receiving zeros.bin: ") && s.contains("%)")
    });
    enter_line(&t, "a", "/cancel");
    t.wait("a", "the cancel said", |s| {
        s.contains("zeros.bin not received: cancelled (what arrived is kept")
    });
    t.wait("b", "the cancel told", |s| {
        s.contains("zeros.bin not sent: the other side cancelled")
    });
    assert!(!inbox_a.join("zeros.bin").exists());

    // A sends to B; the sender cancels this time, with Ctrl-X (the footer offers it).
    send_and_accept(
        &t,
        "a",
        &format!("/send {}", zeros.display()),
        "b",
        "offers zeros.bin (1.1 GB, 1 file)",
    );
    let s = t.wait("a", "progress", |s| {
        s.contains("sending zeros.bin: ") && s.contains("%)")
    });
    assert!(
        s.contains(" Ctrl-X cancel transfer "),
        "{}",
        trim_screen(&s)
    );
    t.keys("a", &["C-x"]);
    t.wait("a", "the cancel said", |s| {
        s.contains("zeros.bin not sent: cancelled")
    });
    t.wait("b", "the cancel told", |s| {
        s.contains("zeros.bin not received: the other side cancelled")
    });
    assert!(!inbox_b.join("zeros.bin").exists());
    // Still a chat.
    says(&t, "b", "a", "ok, later then");

    quit_all(&t, &["a", "b"]);
}

/// The percentage on the first progress line of `what` ("receiving zeros.bin") on screen.
fn percent(screen: &str, what: &str) -> Option<u64> {
    let line = screen.lines().find(|l| l.contains(&format!("{what}: ")))?;
    let open = line.find(" (")?;
    let close = line[open..].find("%)")?;
    line[open + 2..open + close].parse().ok()
}

#[test]
fn a_blip_pauses_a_transfer_and_it_finishes_verified() {
    if let Some(why) = no_netns() {
        eprintln!("skipped: {why}");
        return;
    }
    let lan = Lan::new("file");
    let t = Tmux::within("blipfile", Duration::from_secs(150));
    let inbox = t.dir.join("inbox");
    let zeros = t.dir.join("zeros.bin");
    std::fs::File::create(&zeros)
        .unwrap()
        .set_len(256 << 20)
        .unwrap();
    pair_in_lan(&t, &lan, &format!("--receive {}", inbox.display()));

    send_and_accept(
        &t,
        "a",
        &format!("/send {}", zeros.display()),
        "b",
        "offers zeros.bin (268 MB, 1 file)",
    );
    t.wait("b", "progress", |s| {
        s.contains("receiving zeros.bin: ") && s.contains("%)")
    });

    // A's end goes down: both lines say paused, and nothing moves meanwhile.
    lan.set_link(0, false);
    let sa = t.wait("a", "paused", |s| {
        s.contains("sending zeros.bin: ") && s.contains("paused: the link is interrupted")
    });
    let sb = t.wait("b", "paused", |s| {
        s.contains("receiving zeros.bin: ") && s.contains("paused: the link is interrupted")
    });
    let at = percent(&sb, "receiving zeros.bin").expect("a percentage while paused");
    assert!(at < 100, "{}", trim_screen(&sb));
    assert!(percent(&sa, "sending zeros.bin").is_some());
    std::thread::sleep(Duration::from_secs(2));
    let sb = t.screen("b");
    assert_eq!(
        percent(&sb, "receiving zeros.bin"),
        Some(at),
        "nothing arrives while the link is down:\n{}",
        trim_screen(&sb)
    );

    // Back up: it goes on and finishes, verified, on both sides.
    lan.set_link(0, true);
    t.wait("a", "done", |s| {
        flat(s).contains("sent zeros.bin (268 MB, 1 file): verified by the peer")
    });
    let want = format!(
        "received zeros.bin (268 MB), verified: saved as {}",
        inbox.join("zeros.bin").display()
    );
    t.wait("b", "done", |s| flat(s).contains(&want));
    assert_eq!(
        std::fs::metadata(inbox.join("zeros.bin")).unwrap().len(),
        256 << 20
    );
    quit_all(&t, &["a", "b"]);
}

/// The code a headless `qrchat offer` printed: the first row after its command line that
/// is one word (status rows begin `qrchat: `).
fn headless_code(screen: &str) -> Option<String> {
    screen
        .lines()
        .skip_while(|l| !l.contains(" offer "))
        .skip(1)
        .map(str::trim)
        .find(|l| l.len() > 40 && !l.contains(' '))
        .map(str::to_string)
}

#[test]
fn a_headless_sender_offers_to_the_tui_which_accepts() {
    let t = Tmux::within("headless", Duration::from_secs(120));
    let inbox = t.dir.join("inbox");
    let file = t.dir.join("report.pdf");
    let data = payload(300_000);
    std::fs::write(&file, &data).unwrap();
    // A: headless, sending a file; its stdin stays open (the pane's terminal).
    launch(
        &t,
        "a",
        &format!(
            "offer --no-direct --bind 127.0.0.1 --send {}",
            file.display()
        ),
    );
    // B: the TUI, joining.
    launch_joiner(&t, "b", &format!("--receive {}", inbox.display()));
    let s = t.wait("a", "the headless offer code", |s| {
        headless_code(s).is_some()
    });
    let offer = headless_code(&s).unwrap();
    paste_code(&t, "b", &offer);
    let answer = read_code(&t, "b");
    t.type_text("a", &answer);
    t.keys("a", &["Enter"]);
    t.wait("b", "the chat", |s| sas(s).is_some());

    t.wait("b", "the offer", |s| {
        s.contains("peer  offers report.pdf (300 kB, 1 file). Ctrl-Y: accept")
    });
    t.keys("b", &["C-y"]);
    t.wait("b", "done", |s| {
        flat(s).contains(&format!(
            "received report.pdf (300 kB), verified: saved as {}",
            inbox.join("report.pdf").display()
        ))
    });
    t.wait("a", "the headless side told", |s| {
        s.contains("qrchat: sent report.pdf (300 kB, 1 file): verified by the peer")
    });
    assert!(std::fs::read(inbox.join("report.pdf")).unwrap() == data);
    // The headless side's "done" channel is not a transfer: nothing more is offered.
    let s = t.screen("b");
    assert!(!s.contains("not received"), "{}", trim_screen(&s));

    // A's stdin ends: it leaves (exit 0); B sees the peer go.
    t.keys("a", &["C-d"]);
    let s = t.wait("a", "the headless exit", exited);
    assert!(s.contains("EXIT=0"), "{}", trim_screen(&s));
    t.wait("b", "the peer left", |s| s.contains("✗ the peer left"));
    ctrl_c(&t, "b");
    assert_restored(&t, "b");
}

/// Mount a small tmpfs at `at` (a test's own download folder). Err: why not.
fn mount_tmpfs(at: &std::path::Path, size: &str) -> Result<(), String> {
    std::fs::create_dir_all(at).map_err(|e| e.to_string())?;
    let out = Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
        .arg(at)
        .output()
        .map_err(|e| format!("cannot run mount: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "mount -t tmpfs failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(())
}

struct Unmount(PathBuf);
impl Drop for Unmount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_download_folder_without_room_is_said_on_both_sides() {
    let t = Tmux::new("full");
    let small = t.dir.join("small");
    if let Err(why) = mount_tmpfs(&small, "1m") {
        eprintln!("skipped: {why}");
        return;
    }
    let _unmount = Unmount(small.clone());
    let file = t.dir.join("video.mp4");
    std::fs::write(&file, payload(3_000_000)).unwrap();
    pair_two(&t, "", &format!("--receive {}", small.display()));

    send_and_accept(
        &t,
        "a",
        &format!("/send {}", file.display()),
        "b",
        "offers video.mp4 (3.0 MB, 1 file)",
    );
    t.wait("b", "no room said", |s| {
        flat(s).contains("video.mp4 not received: not enough space: the transfer needs 3.0 MB and")
    });
    t.wait("a", "no room told", |s| {
        flat(s).contains("video.mp4 not sent: the other side stopped: disk full")
    });
    // Nothing was written; the chat goes on.
    assert_eq!(std::fs::read_dir(&small).unwrap().count(), 0);
    says(&t, "b", "a", "no room here");
    quit_all(&t, &["a", "b"]);
}

/// One scan: B pastes A's code and both land in the chat with no second code; A is asked to
/// compare the safety number (anyone who photographed its code could have joined) and
/// Ctrl-O drops the peer and shows a new code, the chat kept.
#[test]
fn one_scan_pairs_two_tuis_with_one_paste_and_the_starter_can_drop_the_peer() {
    let t = Tmux::new("onescan");
    launch(&t, "a", "--start --bind 127.0.0.1");
    launch_joiner(&t, "b", "");
    let offer = read_code(&t, "a");
    paste_code(&t, "b", &offer);
    // No second code: both are in the chat, with the same safety number.
    let sa = t.wait("a", "the chat with a safety number", |s| sas(s).is_some());
    let sb = t.wait("b", "the chat with a safety number", |s| sas(s).is_some());
    assert_eq!(sas(&sa), sas(&sb), "both sides show the same safety number");
    let sa = t.wait("a", "the ask to compare", |s| {
        flat(s).contains("a peer read your code and joined")
    });
    assert!(flat(&sa).contains("Ctrl-O"), "{}", trim_screen(&sa));
    enter_line(&t, "b", "one scan was enough");
    t.wait("a", "B's message", |s| {
        s.contains("peer  one scan was enough")
    });
    // Not them: Ctrl-O drops the peer, shows a new code, and keeps the chat.
    t.keys("a", &["C-o"]);
    t.wait("a", "a new code", |s| s.contains(" c copy "));
    t.wait("b", "the peer gone", |s| s.contains("✗ the peer left"));
    let new = read_code(&t, "a");
    assert_ne!(new, offer, "a new code");
    quit_all(&t, &["a", "b"]);
}

/// Known peers from the app: two apps pair by paste, each keeps the other with `/save`
/// (the safety number is named as what is trusted), both quit; then, with no code, the
/// saved entries find each other: `qrchat listen` with B's data folder, `qrchat connect
/// bob` with A's (headless, loopback, the last address), and a message crosses.
#[test]
fn save_in_the_app_then_connect_by_name() {
    let t = Tmux::new("save");
    pair_two(&t, "", "");
    for (who, name) in [("a", "bob"), ("b", "alice")] {
        t.type_text(who, &format!("/save {name}"));
        t.keys(who, &["Enter"]);
    }
    for (who, name) in [("a", "bob"), ("b", "alice")] {
        let s = t.wait(who, "saved", |s| {
            flat(s).contains(&format!("saved as {name}"))
        });
        assert!(
            flat(&s).contains("what you trust is the safety number"),
            "{s}"
        );
    }
    quit_all(&t, &["a", "b"]);
    let data = |who: &str| t.dir.join(format!("data-{who}"));
    let port = {
        let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        s.local_addr().unwrap().port().to_string()
    };
    let spawn = |who: &str, args: &[&str]| {
        Command::new(qrchat_bin())
            .args(args)
            .args(["--bind", "127.0.0.1"])
            .env("XDG_DATA_HOME", data(who))
            .env("QRCHAT_KNOWN_PORT", &port)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let mut bob = spawn("b", &["listen"]);
    std::thread::sleep(Duration::from_millis(500));
    let mut alice = spawn("a", &["connect", "bob"]);
    {
        use std::io::Write;
        let mut i = alice.stdin.take().unwrap();
        writeln!(i, "hello from the app's saved peer").unwrap();
    }
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = bob.stdout.take().unwrap();
    std::thread::spawn(move || {
        use std::io::BufRead;
        let mut line = String::new();
        let _ = std::io::BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let got = rx.recv_timeout(Duration::from_secs(20));
    if got.is_err() {
        let _ = alice.kill();
        let _ = bob.kill();
    }
    let out = alice.wait_with_output().unwrap();
    let _ = bob.kill();
    let _ = bob.wait();
    assert_eq!(
        got.as_deref().map(str::trim),
        Ok("hello from the app's saved peer"),
        "connect said: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success());
}

/// Two apps in the LAN pair by paste and keep each other (A keeps B as bob, B keeps A as
/// alice), quit, and start again (a plain `qrchat`, the start screen, with `a_args` /
/// `b_args`) until each lists the other. The safety number of the pairing by sight.
fn known_and_restarted(t: &Tmux, lan: &Lan, a_args: &str, b_args: &str) -> String {
    pair_in_lan(t, lan, "");
    let first = sas(&t.screen("a")).unwrap();
    enter_line(t, "a", "/save bob");
    enter_line(t, "b", "/save alice");
    t.wait("a", "bob saved", |s| flat(s).contains("saved as bob"));
    t.wait("b", "alice saved", |s| flat(s).contains("saved as alice"));
    quit_all(t, &["a", "b"]);

    // The screen is cleared first so the last run's exit status is not read as this one's;
    // `set +m` (no job control) keeps the shell from taking the terminal back if the app
    // is stopped.
    let bin = qrchat_bin();
    for (name, ns, addr, args) in [
        ("a", &lan.names[0], "10.99.60.1", a_args),
        ("b", &lan.names[1], "10.99.60.2", b_args),
    ] {
        t.type_text(
            name,
            &format!("clear; set +m; ip netns exec {ns} {bin} --bind {addr} {args}; echo EXIT=$?"),
        );
        t.keys(name, &["Enter"]);
    }
    t.wait("a", "bob listed", |s| {
        s.contains("bob   paired by sight on")
    });
    t.wait("b", "alice listed", |s| {
        s.contains("alice   paired by sight on")
    });
    first
}

/// Known peers end to end, in two network namespaces (one LAN): two apps pair by paste and
/// keep each other (`/save`), both restart; each start screen lists the other; A asks B
/// and gives up (Esc): B's prompt goes with "alice stopped asking"; A asks again, B
/// declines with Esc (A says "bob declined", no chat on either side); A asks again, B
/// accepts with Enter; the chat names the peer and shows the safety number of the first
/// pairing, and a message crosses each way.
#[test]
fn known_peers_are_listed_asked_declined_then_accepted() {
    if let Some(why) = no_netns() {
        eprintln!("skipped: {why}");
        return;
    }
    let lan = Lan::new("known");
    let t = Tmux::within("known", Duration::from_secs(120));
    let first = known_and_restarted(&t, &lan, "", "");

    // ↑ wraps to the last choice, the one known peer.
    t.keys("a", &["Up"]);
    t.keys("a", &["Enter"]);
    t.wait("b", "the question", |s| {
        s.contains("alice wants to chat: Enter accept, Esc decline")
    });
    // A gives up while B is asked (Esc on its connecting screen): B's prompt goes, with
    // one quiet line, and nothing opens on either side.
    t.keys("a", &["Escape"]);
    let s = t.wait("b", "the question taken back", |s| {
        s.contains("alice stopped asking") && !s.contains("wants to chat")
    });
    assert!(!s.contains("connected to"), "{}", trim_screen(&s));
    t.wait("a", "A's start screen", |s| {
        s.contains("Known peers on this network now")
    });
    // The selection stayed on bob: Enter asks again.
    t.keys("a", &["Enter"]);
    t.wait("b", "the question again", |s| {
        s.contains("alice wants to chat: Enter accept, Esc decline")
    });
    t.keys("b", &["Escape"]);
    let s = t.wait("a", "the refusal", |s| flat(s).contains("bob declined"));
    assert!(
        s.contains("Known peers on this network now"),
        "{}",
        trim_screen(&s)
    );
    let s = t.screen("b");
    assert!(
        !s.contains("wants to chat") && !s.contains("connected to") && !exited(&s),
        "B declined and stays on its start screen:\n{}",
        trim_screen(&s)
    );

    t.keys("a", &["Enter"]);
    t.wait("b", "the question a third time", |s| {
        s.contains("alice wants to chat: Enter accept, Esc decline")
    });
    t.keys("b", &["Enter"]);
    let sa = t.wait("a", "the chat with bob", |s| {
        flat(s).contains("connected to bob (paired by sight on")
    });
    let sb = t.wait("b", "the chat with alice", |s| {
        flat(s).contains("connected to alice (paired by sight on")
    });
    assert_eq!(
        sas(&sa).as_deref(),
        Some(first.as_str()),
        "{}",
        trim_screen(&sa)
    );
    assert_eq!(
        sas(&sb).as_deref(),
        Some(first.as_str()),
        "{}",
        trim_screen(&sb)
    );
    enter_line(&t, "a", "hello bob, by name");
    t.wait("b", "A's message", |s| {
        s.contains("peer  hello bob, by name")
    });
    says(&t, "b", "a", "hello alice");
    quit_all(&t, &["a", "b"]);
}

/// Stop (`-STOP`) or continue (`-CONT`) every process in a namespace (the test's own).
fn signal_ns(ns: &str, sig: &str) {
    let out = Command::new("ip")
        .args(["netns", "pids", ns])
        .output()
        .unwrap();
    let pids = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(!pids.trim().is_empty(), "no process in {ns}");
    for pid in pids.split_whitespace() {
        let st = Command::new("kill").args([sig, pid]).status().unwrap();
        assert!(st.success(), "kill {sig} {pid}");
    }
}

/// A chat between known peers whose link ends for good (B frozen past A's peer timeout)
/// with A's lines undelivered: Ctrl-R on A asks bob again by name, B (its chat ended too)
/// is asked in that chat and accepts; the chat goes on on both sides, A's lines reach B
/// once each, in order, and are marked delivered.
#[test]
fn a_known_peer_reconnect_keeps_the_chat_and_sends_what_was_lost() {
    if let Some(why) = no_netns() {
        eprintln!("skipped: {why}");
        return;
    }
    let lan = Lan::new("kres");
    let t = Tmux::within("kres", Duration::from_secs(120));
    // A gives B 6 s, time to type during the outage; B gives A 3 s once it runs again.
    known_and_restarted(&t, &lan, "--peer-timeout 6", "--peer-timeout 3");
    t.keys("a", &["Up"]);
    t.keys("a", &["Enter"]);
    t.wait("b", "the question", |s| s.contains("alice wants to chat"));
    t.keys("b", &["Enter"]);
    t.wait("a", "the chat with bob", |s| {
        flat(s).contains("connected to bob")
    });
    says(&t, "a", "b", "before the break");

    signal_ns(&lan.names[1], "-STOP");
    t.wait("a", "A sees the link interrupted", |s| {
        s.contains("the link is interrupted")
    });
    for i in 1..=2 {
        t.type_text("a", &format!("lost {i}"));
        t.keys("a", &["Enter"]);
    }
    let s = t.wait("a", "A's chat over, Ctrl-R asks bob again", |s| {
        flat(s).contains("Ctrl-R: ask bob again, keeping this chat")
    });
    assert!(
        (1..=2).all(|i| s.contains(&format!("you   lost {i} (not delivered)"))),
        "{}",
        trim_screen(&s)
    );
    signal_ns(&lan.names[1], "-CONT");
    t.wait("b", "B's chat over too", |s| {
        flat(s).contains("Ctrl-R: ask alice again")
    });

    t.keys("a", &["C-r"]);
    let s = t.wait("b", "the question, in the chat that ended", |s| {
        s.contains("alice wants to chat: Enter accept, Esc decline")
    });
    assert!(s.contains("before the break"), "{}", trim_screen(&s));
    t.keys("b", &["Enter"]);
    let s = t.wait("a", "A's lines delivered after the reconnect", |s| {
        s.contains("you   lost 1 ✓") && s.contains("you   lost 2 ✓")
    });
    assert!(
        flat(&s).contains("bob again, the same app"),
        "{}",
        trim_screen(&s)
    );
    assert!(
        s.contains("you   before the break ✓"),
        "{}",
        trim_screen(&s)
    );
    let s = t.wait("b", "A's lost lines on B", |s| s.contains("peer  lost 2"));
    let shown: Vec<&str> = s
        .lines()
        .filter(|l| l.contains("peer  lost ") || l.contains("peer  before the break"))
        .collect();
    assert_eq!(
        shown.len(),
        3,
        "each line once, in order:\n{}",
        trim_screen(&s)
    );
    assert!(
        shown[0].contains("before the break")
            && shown[1].contains("lost 1")
            && shown[2].contains("lost 2"),
        "{}",
        trim_screen(&s)
    );
    says(&t, "b", "a", "got them");
    quit_all(&t, &["a", "b"]);
}
