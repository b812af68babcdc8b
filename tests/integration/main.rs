//! One integration-test binary, one module per area.
mod cli;
mod common;
mod headless;
mod hostile;
mod layout;
mod lossy;
mod session;
