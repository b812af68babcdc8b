//! qrchat: parse, start logging, run. Errors end as one line on stderr and exit 1.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = qrchat::cli::Cli::parse();
    if let Err(e) = cli.common.check_servers() {
        eprintln!("qrchat: {e}");
        return ExitCode::from(2);
    }
    if let Err(e) = qrchat::logging::init(cli.common.log.as_deref()) {
        eprintln!("qrchat: {e:#}");
        return ExitCode::from(2);
    }
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("qrchat: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = rt.block_on(qrchat::cli::run(cli));
    // Don't wait for stray blocking work (a stdin read) at shutdown.
    rt.shutdown_timeout(std::time::Duration::from_millis(200));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            let msg = format!("{e:#}").replace(['\n', '\r'], " ");
            eprintln!("qrchat: {msg}");
            ExitCode::FAILURE
        }
    }
}
