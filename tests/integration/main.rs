//! One integration-test binary, one module per area.
mod common;
mod headless;
mod layout;
mod session;
