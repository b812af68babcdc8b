//! The command line: the contract scripts and outside checks rely on (DESIGN.md).
//! Extend it, never break it.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "qrchat",
    version,
    about = "Pair two nearby computers by QR code and chat over a direct, encrypted WebRTC link. No server.",
    after_help = "Without a subcommand qrchat runs the terminal app."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// TUI: skip the start screen and show my code (make an offer).
    #[arg(long, conflicts_with = "join")]
    pub start: bool,

    /// TUI: skip the start screen and join (scan or paste a code).
    #[arg(long)]
    pub join: bool,

    #[command(flatten)]
    pub tui: TuiArgs,

    #[command(flatten)]
    pub common: Common,

    /// `qrchat join CODE`: their offer, checked.
    #[arg(skip)]
    pub code: Option<String>,
}

/// The terminal app's own options: `qrchat`, `qrchat start` and `qrchat join` take them all.
#[derive(Debug, Clone, Args, Default)]
pub struct TuiArgs {
    /// Files I accept go into this directory (default: the download folder's qrchat/
    /// subfolder, e.g. ~/Downloads/qrchat).
    #[arg(long, value_name = "DIR")]
    pub receive: Option<PathBuf>,

    /// Save a plain-text transcript of each chat in this directory (local time stamps).
    /// Nothing is saved without it.
    #[arg(long, value_name = "DIR")]
    pub history: Option<PathBuf>,

    /// No bell and no desktop notification when a message arrives.
    #[arg(long)]
    pub quiet: bool,

    /// Scan with this camera only (see `qrchat cameras`); without it the first camera that
    /// delivers frames is used.
    #[arg(long, value_name = "N", conflicts_with = "camera_file")]
    pub camera: Option<u32>,

    /// Read camera frames from an image file, a directory of images, instead of a webcam.
    #[arg(long, value_name = "PATH")]
    pub camera_file: Option<PathBuf>,
}

impl TuiArgs {
    /// These, with what `other` (given before the subcommand) says where these are silent.
    fn or(self, other: TuiArgs) -> TuiArgs {
        TuiArgs {
            receive: self.receive.or(other.receive),
            history: self.history.or(other.history),
            quiet: self.quiet || other.quiet,
            camera: self.camera.or(other.camera),
            camera_file: self.camera_file.or(other.camera_file),
        }
    }
}

/// The terminal app's options where they do nothing (headless, scan, ...): still accepted,
/// as they were when they were global (the command line only grows), but not listed.
#[derive(Debug, Clone, Args, Default)]
#[allow(dead_code)] // parsed to be accepted, never read
pub struct Unused {
    #[arg(long, value_name = "DIR", hide = true)]
    history: Option<PathBuf>,
    #[arg(long, hide = true)]
    quiet: bool,
    #[arg(long, value_name = "N", hide = true)]
    camera: Option<u32>,
    #[arg(long, value_name = "PATH", hide = true)]
    camera_file: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Headless: print my offer code as one line, take the answer (handed over directly by
    /// the joiner, or as the first line of stdin), then relay stdin lines as messages and
    /// print received messages as lines.
    Offer {
        #[command(flatten)]
        args: HeadlessArgs,
        #[command(flatten)]
        unused: Unused,
    },
    /// Headless: read the offer code (argument or first stdin line), print the answer code
    /// as one line, then relay like `offer`.
    Answer {
        /// The offer code; read from the first line of stdin when absent.
        #[arg(value_name = "CODE")]
        blob: Option<String>,
        #[command(flatten)]
        args: HeadlessArgs,
        #[command(flatten)]
        unused: Unused,
    },
    /// Decode QR codes in image files.
    Scan {
        /// Print each code's bytes exactly, then a newline (one code per line, in order).
        #[arg(long)]
        raw: bool,
        /// Image files (PNG, JPEG).
        #[arg(required = true)]
        images: Vec<PathBuf>,
        #[command(flatten)]
        unused: Unused,
    },
    /// List cameras and the formats each offers.
    Cameras {
        #[command(flatten)]
        unused: Unused,
    },
    /// The terminal app, showing my code at once (the same as `qrchat --start`).
    Start {
        #[command(flatten)]
        tui: TuiArgs,
    },
    /// The terminal app, joining: with CODE (their offer, as `qrchat answer CODE` takes it)
    /// at once, else scanning or pasting it (the same as `qrchat --join`).
    Join {
        /// Their offer code; checked before the app starts.
        #[arg(value_name = "CODE")]
        code: Option<String>,
        #[command(flatten)]
        tui: TuiArgs,
    },
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell) to stdout.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
        #[command(flatten)]
        unused: Unused,
    },
    /// Print the man page (roff) to stdout: `qrchat man > qrchat.1`.
    Man {
        #[command(flatten)]
        unused: Unused,
    },
    /// Headless: wait for a known peer to connect (by name, on this network), accept it,
    /// then relay like `offer`.
    Listen {
        #[command(flatten)]
        args: KnownArgs,
        #[command(flatten)]
        unused: Unused,
    },
    /// Headless: connect to a known peer on this network (it must be listening: `qrchat
    /// listen`), then relay like `offer`. Lines typed before the link opens go out once it
    /// does.
    Connect {
        /// The name it was saved under (`--remember NAME`).
        #[arg(value_name = "NAME")]
        name: String,
        #[command(flatten)]
        args: KnownArgs,
        #[command(flatten)]
        unused: Unused,
    },
    /// List the known peers (saved with `--remember NAME`).
    Peers {
        #[command(flatten)]
        unused: Unused,
    },
    /// Forget a known peer: it can no longer reach this app by name.
    Forget {
        #[arg(value_name = "NAME")]
        name: String,
        #[command(flatten)]
        unused: Unused,
    },
}

/// Options of `listen` and `connect`.
#[derive(Debug, Clone, Args, Default)]
pub struct KnownArgs {
    /// Once the link is open, send this file or directory (repeatable).
    #[arg(long, value_name = "PATH")]
    pub send: Vec<PathBuf>,

    /// Accept what the other side sends, into this directory.
    #[arg(long, value_name = "DIR")]
    pub receive: Option<PathBuf>,
}

#[derive(Debug, Clone, Args, Default)]
pub struct HeadlessArgs {
    /// Also write my code as a QR image (PNG) to this file.
    #[arg(long, value_name = "FILE")]
    pub qr_png: Option<PathBuf>,

    /// Once the link is open, send this file or directory (repeatable). With stdin at EOF
    /// the session ends once the other side has verified everything.
    #[arg(long, value_name = "PATH")]
    pub send: Vec<PathBuf>,

    /// Accept what the other side sends, into this directory. Without it, offered files
    /// are declined and the sender is told so.
    #[arg(long, value_name = "DIR")]
    pub receive: Option<PathBuf>,

    /// Once the link is open, keep the other side as a known peer called NAME (uses the
    /// lasting identity): later `qrchat connect NAME` reaches it on this network.
    #[arg(long, value_name = "NAME", conflicts_with = "ephemeral")]
    pub remember: Option<String>,
}

/// Options every mode takes.
#[derive(Debug, Clone, Args)]
pub struct Common {
    /// STUN server (stun:host:port), repeatable. None by default: LAN pairing works offline.
    #[arg(long, value_name = "URL", global = true)]
    pub stun: Vec<String>,

    /// TURN server (turn:host:port, UDP), repeatable; needs --turn-user and --turn-password.
    /// Used only when no direct path works; it relays encrypted traffic it cannot read.
    #[arg(long, value_name = "URL", global = true)]
    pub turn: Vec<String>,

    /// User name on the --turn server(s).
    #[arg(long, value_name = "NAME", global = true)]
    pub turn_user: Option<String>,

    /// Password (long-term credential) on the --turn server(s). The environment variable
    /// keeps it out of the process list.
    #[arg(
        long,
        value_name = "SECRET",
        global = true,
        env = "QRCHAT_TURN_PASSWORD",
        hide_env_values = true
    )]
    pub turn_password: Option<String>,

    /// Gather host candidates only on this local address or interface name, repeatable
    /// (`--bind 127.0.0.1` keeps a same-machine pairing on loopback).
    #[arg(long, value_name = "ADDR", global = true)]
    pub bind: Vec<String>,

    /// Print codes as browser JSON ({"type":"offer","sdp":"..."}).
    #[arg(long, global = true)]
    pub json: bool,

    /// Strict two-scan pairing: the starter does not listen for the joiner's answer, the
    /// joiner does not hand it over directly (offer, answer and the TUI)
    #[arg(long, global = true)]
    pub no_direct: bool,

    /// Seconds to wait for ICE candidate gathering before using what was found.
    #[arg(long, value_name = "SECS", global = true, default_value_t = 3.0)]
    pub gather_timeout: f64,

    /// Seconds a peer that stopped answering is given before the chat ends (a blip
    /// shorter than this loses nothing).
    #[arg(long, value_name = "SECS", global = true, default_value_t = 60.0)]
    pub peer_timeout: f64,

    /// Write logs to this file (nothing is logged otherwise; never what is typed or said).
    #[arg(long, value_name = "FILE", global = true)]
    pub log: Option<PathBuf>,

    /// A fresh certificate for this run, not the lasting identity (nothing is read from or
    /// written to the data folder). Headless offer/answer do this unless --remember.
    #[arg(long, global = true)]
    pub ephemeral: bool,
}

impl Cli {
    /// What the terminal app needs (the one place options turn into it).
    pub fn tui_config(&self) -> crate::tui::Config {
        let c = &self.common;
        let t = &self.tui;
        crate::tui::Config {
            rtc: c.rtc_config(),
            camera: crate::tui::CameraSpec {
                index: t.camera,
                file: t.camera_file.clone(),
            },
            start: self.start,
            join: self.join,
            code: self.code.clone(),
            json: c.json,
            history: t.history.clone(),
            quiet: t.quiet,
            receive: t.receive.clone(),
            no_direct: c.no_direct,
        }
    }
}

impl Common {
    /// Refuses `--stun` / `--turn` settings that cannot work (bad URL, bad port, missing
    /// credentials) before anything starts: one line naming the option and value.
    pub fn check_servers(&self) -> Result<(), crate::rtc::ServerError> {
        crate::rtc::check_servers(
            &self.stun,
            &self.turn,
            self.turn_user.as_deref(),
            self.turn_password.as_deref(),
        )
    }

    /// The `--turn` servers with their credentials, for [`crate::rtc::RtcConfig::turn`].
    pub fn turn_servers(&self) -> Vec<crate::rtc::TurnServer> {
        crate::rtc::turn_servers(
            &self.turn,
            self.turn_user.as_deref(),
            self.turn_password.as_deref(),
        )
    }

    pub fn gather_timeout(&self) -> Duration {
        Duration::from_secs_f64(self.gather_timeout.clamp(0.05, 600.0))
    }

    /// What a headless session needs (the one place options turn into it).
    pub fn headless_config(&self, args: &HeadlessArgs) -> crate::headless::Config {
        crate::headless::Config {
            rtc: self.rtc_config(),
            json: self.json,
            qr_png: args.qr_png.clone(),
            send: args.send.clone(),
            receive: args.receive.clone(),
            no_direct: self.no_direct,
            remember: args.remember.clone(),
        }
    }

    /// What `listen` and `connect` need.
    pub fn known_config(&self, args: &KnownArgs) -> crate::headless::Config {
        crate::headless::Config {
            rtc: self.rtc_config(),
            json: false,
            qr_png: None,
            send: args.send.clone(),
            receive: args.receive.clone(),
            no_direct: true,
            remember: None,
        }
    }

    /// The options as the session's config: the one place they turn into it.
    pub fn rtc_config(&self) -> crate::rtc::RtcConfig {
        crate::rtc::RtcConfig {
            stun: self.stun.clone(),
            turn: self.turn_servers(),
            bind: self.bind.clone(),
            gather_timeout: self.gather_timeout(),
            peer_timeout: Duration::from_secs_f64(self.peer_timeout.clamp(1.0, 86_400.0)),
            identity: None,
            delivery: None,
        }
    }
}

/// Run what the command line asked for.
pub async fn run(mut cli: Cli) -> anyhow::Result<()> {
    match cli.command.take() {
        Some(Command::Start { tui }) => {
            cli.start = true;
            cli.tui = tui.or(std::mem::take(&mut cli.tui));
        }
        Some(Command::Join { code, tui }) => {
            cli.join = true;
            cli.tui = tui.or(std::mem::take(&mut cli.tui));
            if let Some(code) = code {
                // As `answer CODE` takes it: found in the text, checked, before the app starts.
                crate::signal::decode_expecting(
                    &crate::signal::find_code(&code),
                    crate::signal::SdpKind::Offer,
                    None,
                )
                .map_err(|e| anyhow::anyhow!("qrchat join CODE: {e}"))?;
                cli.code = Some(code);
            }
        }
        other => cli.command = other,
    }
    if cli.start && cli.join {
        anyhow::bail!("--start and --join: pick one");
    }
    if let (None, Some(dir)) = (&cli.command, &cli.tui.history) {
        crate::chat::history::check_dir(dir)?;
    }
    if let (None, Some(dir)) = (&cli.command, &cli.tui.receive) {
        // Created when the first files are accepted; a file in its place is refused now.
        if dir.exists() && !dir.is_dir() {
            anyhow::bail!("--receive {}: not a directory", dir.display());
        }
    }
    match &cli.command {
        Some(Command::Offer { args, .. }) => {
            crate::headless::run_offer(&cli.common.headless_config(args)).await
        }
        Some(Command::Answer { blob, args, .. }) => {
            crate::headless::run_answer(&cli.common.headless_config(args), blob.as_deref()).await
        }
        Some(Command::Scan { raw, images, .. }) => crate::scan_cmd::run_scan(*raw, images),
        Some(Command::Cameras { .. }) => crate::scan_cmd::run_cameras(),
        Some(Command::Completions { shell, .. }) => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            let mut out = Vec::new();
            clap_complete::generate(*shell, &mut cmd, "qrchat", &mut out);
            write_stdout(&out)
        }
        Some(Command::Man { .. }) => write_stdout(crate::man::page().as_bytes()),
        Some(Command::Listen { args, .. }) => {
            if cli.common.ephemeral {
                anyhow::bail!("listen uses the lasting identity: --ephemeral does not go with it");
            }
            crate::headless::known::run_listen(&cli.common.known_config(args)).await
        }
        Some(Command::Connect { name, args, .. }) => {
            if cli.common.ephemeral {
                anyhow::bail!("connect uses the lasting identity: --ephemeral does not go with it");
            }
            crate::headless::known::run_connect(&cli.common.known_config(args), name).await
        }
        Some(Command::Peers { .. }) => crate::headless::known::run_peers(),
        Some(Command::Forget { name, .. }) => crate::headless::known::run_forget(name),
        Some(Command::Start { .. } | Command::Join { .. }) | None => {
            let mut cfg = cli.tui_config();
            if !cli.common.ephemeral {
                // The lasting identity: a peer that paired with this app by sight sees the
                // same certificate after a restart.
                let dir = crate::known::data_dir()?;
                cfg.rtc.identity =
                    Some(crate::known::load_or_create_identity(&dir).map_err(|e| {
                        anyhow::anyhow!("{e} (--ephemeral runs without the lasting identity)")
                    })?);
            }
            crate::tui::run(cfg).await
        }
    }
}

/// Write to stdout; a reader that stopped early (`qrchat man | head`) ends it quietly.
fn write_stdout(bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => r.map_err(|e| anyhow::anyhow!("writing to stdout: {e}")),
    }
}
