//! One integration-test binary, one module per area.
mod blip;
mod cli;
mod common;
mod direct;
mod headless;
mod hostile;
mod known;
mod layout;
mod lossy;
mod netns;
mod onescan;
mod reach;
mod session;
mod tamper;
mod transfer;
