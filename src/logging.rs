//! Logging: tracing to the `--log` file only (never over the TUI or into stdout), ANSI
//! off; `log` records from webrtc-rs are routed in; panics are logged.
//!
//! A log is something users attach to bug reports: it records events (states, errors,
//! which camera opened), never what was typed or said. No tracing call may carry a key
//! event, a draft or a message's text (`tests/integration/cli.rs` checks a real pairing's
//! logs and a TUI session's); codes may appear, they are not secret.

use std::fs::OpenOptions;
use std::path::Path;
use std::sync::Mutex;

use tracing_subscriber::EnvFilter;

/// Start logging to `path` (appending). Without a path nothing is logged.
/// `QRCHAT_LOG` (env-filter syntax) overrides the default level (`info`, `qrchat=debug`).
pub fn init(path: Option<&Path>) -> anyhow::Result<()> {
    let Some(path) = path else {
        return Ok(());
    };
    // Its folder is created if missing, as --history's is.
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| {
            anyhow::anyhow!(
                "cannot create the folder of the log file {}: {e}",
                path.display()
            )
        })?;
    }
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| anyhow::anyhow!("cannot open log file {}: {e}", path.display()))?;
    let filter = EnvFilter::try_from_env("QRCHAT_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,qrchat=debug"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(Mutex::new(file))
        .try_init()
        .map_err(|e| anyhow::anyhow!("logging: {e}"))?;
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        tracing::error!("panic: {info}");
        prev(info);
    }));
    tracing::info!(version = env!("CARGO_PKG_VERSION"), "qrchat starting");
    Ok(())
}
