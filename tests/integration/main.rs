//! One integration-test binary, one module per area.
mod blip;
mod cli;
mod common;
mod delivery;
mod direct;
mod headless;
mod hostile;
mod known;
mod layout;
mod loss;
mod lossy;
mod netns;
mod onescan;
mod reach;
mod session;
mod tamper;
mod transfer;
