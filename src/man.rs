//! `qrchat man`: one man page, made from the same sources as `--help` and the app's help
//! box (clap's command, the key tables, the chat's commands), so it cannot drift from
//! them. Only this page: it names no other page (there are none).

use clap::CommandFactory;

/// The page, in roff.
pub fn page() -> String {
    let cmd = crate::cli::Cli::command();
    let mut m = String::new();
    let version = cmd.get_version().unwrap_or_default();
    m += &format!(".TH qrchat 1 \"\" \"qrchat {version}\" \"User Commands\"\n");
    m += ".SH NAME\nqrchat \\- pair two nearby computers by QR code and chat over a direct, \
          encrypted WebRTC link, with no server\n";
    m += ".SH SYNOPSIS\n";
    for line in [
        "\\fBqrchat\\fR [\\fIOPTIONS\\fR] [\\fBstart\\fR | \\fBjoin\\fR [\\fICODE\\fR]]",
        "\\fBqrchat offer\\fR [\\fIOPTIONS\\fR]",
        "\\fBqrchat answer\\fR [\\fIOPTIONS\\fR] [\\fICODE\\fR]",
        "\\fBqrchat listen\\fR | \\fBqrchat connect\\fR \\fINAME\\fR | \\fBqrchat peers\\fR | \\fBqrchat forget\\fR \\fINAME\\fR",
        "\\fBqrchat scan\\fR [\\fB\\-\\-raw\\fR] \\fIIMAGE\\fR...",
        "\\fBqrchat cameras\\fR | \\fBqrchat completions\\fR \\fISHELL\\fR | \\fBqrchat man\\fR",
    ] {
        m += &format!("{line}\n.br\n");
    }
    m += ".SH DESCRIPTION\n";
    m += &text(
        "qrchat pairs two computers by sight: one shows a code as a QR, the other scans it \
         (or pastes its text) and shows its answer, the first reads that, and the two talk \
         over a direct WebRTC data channel: messages and files, end-to-end encrypted, with \
         no server of any kind. Without a subcommand it runs the terminal app; offer and \
         answer are the same pairing for scripts, with codes and messages as lines.",
    );
    m += ".SH COMMANDS\n";
    for sub in cmd.get_subcommands() {
        let name = sub.get_name();
        if name == "help" {
            continue;
        }
        let args: Vec<String> = sub
            .get_positionals()
            .map(|a| {
                let v = a
                    .get_value_names()
                    .and_then(|v| v.first())
                    .map(|v| v.to_string())
                    .unwrap_or_else(|| a.get_id().to_string().to_uppercase());
                format!(" \\fI{}\\fR", esc(&v))
            })
            .collect();
        m += &format!(".TP\n\\fBqrchat {name}\\fR{}\n", args.join(""));
        if let Some(about) = sub.get_about() {
            m += &text(&esc(&about.to_string()));
        }
        let opts = if matches!(name, "start" | "join") {
            // The same as the app's own, once, under OPTIONS.
            String::new()
        } else {
            options(sub)
        };
        if !opts.is_empty() {
            m += ".RS\n";
            m += &opts;
            m += ".RE\n";
        }
    }
    m += ".SH OPTIONS\nEvery mode takes these:\n";
    m += &options_where(&cmd, |a| a.is_global_set());
    m += ".PP\nThe terminal app's own (\\fBqrchat\\fR, \\fBqrchat start\\fR, \\fBqrchat join\\fR):\n";
    m += &options_where(&cmd, |a| !a.is_global_set());
    m += ".SH KEYS\nThe footer shows the keys that work on the screen at hand; \\fB?\\fR (or F1 \
          while typing) shows them all.\n";
    for (key, what) in crate::tui::screens::help::lines() {
        if key.is_empty() {
            m += &format!(".SS {}\n", esc(what));
        } else {
            m += &format!(".TP\n\\fB{}\\fR\n{}", esc(key), text(&esc(what)));
        }
    }
    m += ".SH EXAMPLES\n";
    for (what, how) in [
        (
            "Chat with someone nearby: one side starts, the other joins.",
            "qrchat start\nqrchat join",
        ),
        (
            "Join with a code someone sent you as text.",
            "qrchat join 'CODE'",
        ),
        (
            "Two terminals on one machine, kept on loopback.",
            "qrchat start \\-\\-bind 127.0.0.1\nqrchat join \\-\\-bind 127.0.0.1",
        ),
        (
            "Save each chat's transcript, and put accepted files in ~/inbox.",
            "qrchat \\-\\-history ~/chats \\-\\-receive ~/inbox",
        ),
        (
            "Headless, for scripts: the offer side prints its code (and here a QR image of \
             it); the answer side reads it and hands its answer over directly (else the offer \
             side takes it as the first line of stdin); then both relay lines.",
            "qrchat offer \\-\\-qr\\-png offer.png\nqrchat answer \"$(qrchat scan offer.png)\"",
        ),
        (
            "Send a file from a script and end when the other side has verified it.",
            "qrchat offer \\-\\-send report.pdf < answer.txt",
        ),
        (
            "Pair once by code and keep each other as known peers; later, on the same \
             network, connect by name with no code.",
            "qrchat offer \\-\\-remember bob      # and on Bob's: qrchat answer \\-\\-remember alice CODE\nqrchat listen                     # Bob, any time later\nqrchat connect bob                # Alice",
        ),
        (
            "Read the code in a photo, exactly as the QR holds it.",
            "qrchat scan \\-\\-raw photo.jpg",
        ),
    ] {
        m += &format!(".PP\n{}.PP\n.nf\n.RS\n{how}\n.RE\n.fi\n", text(what));
    }
    m += ".SH EXIT STATUS\n";
    m += &text(
        "0 when the session ended normally (every message confirmed by a qrchat peer, every \
         transfer completed and verified); non-zero with a one-line reason on stderr \
         otherwise. Headless, messages the peer never confirmed are listed first \
         (qrchat: not delivered: ...). Bad options exit 2.",
    );
    m += ".SH ENVIRONMENT\n.TP\n\\fBQRCHAT_TURN_PASSWORD\\fR\n";
    m += &text("the \\-\\-turn\\-password, kept out of the process list.");
    m += ".TP\n\\fBXDG_DATA_HOME\\fR\n";
    m += &text(
        "its qrchat/ folder (else ~/.local/share/qrchat) holds the lasting identity \
         (identity.pem) and the known peers (peers.json), owner-only; remove it to reset both.",
    );
    m += ".TP\n\\fBQRCHAT_KNOWN_PORT\\fR\n";
    m += &text("the UDP port known peers meet on (default 47153), for tests on one machine.");
    m += ".TP\n\\fBXDG_DOWNLOAD_DIR\\fR\n";
    m += &text(
        "where accepted files go (its qrchat/ folder) without \\-\\-receive; else ~/Downloads.",
    );
    m
}

/// A subcommand's own options (not the global ones, not the hidden ones).
fn options(cmd: &clap::Command) -> String {
    options_where(cmd, |a| !a.is_global_set())
}

fn options_where(cmd: &clap::Command, keep: impl Fn(&clap::Arg) -> bool) -> String {
    let mut m = String::new();
    for a in cmd.get_arguments() {
        let Some(long) = a.get_long() else { continue };
        if a.is_hide_set() || !keep(a) || long == "help" || long == "version" {
            continue;
        }
        let value = a
            .get_value_names()
            .and_then(|v| v.first())
            .filter(|_| a.get_action().takes_values())
            .map(|v| format!(" \\fI{}\\fR", esc(v)))
            .unwrap_or_default();
        m += &format!(".TP\n\\fB\\-\\-{}\\fR{value}\n", esc(long));
        if let Some(help) = a.get_long_help().or(a.get_help()) {
            m += &text(&esc(&help.to_string()));
        }
    }
    m
}

/// Roff-escaped text: backslashes and hyphens escaped, nothing taken as a request.
fn esc(s: &str) -> String {
    s.replace('\\', "\\e").replace('-', "\\-")
}

/// A paragraph's text (already escaped where it needs to be), safe at a line start.
fn text(s: &str) -> String {
    let s = s.replace('\n', " ");
    let s = if s.starts_with('.') || s.starts_with('\'') {
        format!("\\&{s}")
    } else {
        s
    };
    format!("{s}\n")
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_page_names_the_keys_the_commands_and_no_other_page() {
        let page = super::page();
        for want in [
            ".SH KEYS",
            "\\fBCtrl\\-Y\\fR",
            "\\fB/quit\\fR",
            ".SH EXAMPLES",
            "\\fBqrchat join\\fR \\fICODE\\fR",
            "\\-\\-qr\\-png",
        ] {
            assert!(page.contains(want), "{want} is not in the page");
        }
        // No SEE ALSO to pages that do not exist (qrchat-offer(1) and the like).
        assert!(!page.contains("(1)"), "a reference to another page");
        // Nothing a roff reader takes as a request by accident.
        for line in page.lines() {
            if let Some(req) = line.strip_prefix('.') {
                let name: String = req
                    .chars()
                    .take_while(|c| c.is_ascii_alphabetic())
                    .collect();
                assert!(
                    ["TH", "SH", "SS", "TP", "PP", "RS", "RE", "br", "nf", "fi"]
                        .contains(&name.as_str()),
                    "a stray request: {line}"
                );
            }
        }
    }
}
