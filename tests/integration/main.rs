//! One integration-test binary, one module per area.
mod common;
mod headless;
mod hostile;
mod layout;
mod lossy;
mod session;
mod transfer;
