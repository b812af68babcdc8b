#![forbid(unsafe_code)]
//! qrchat: pair two computers by QR code, chat over a direct WebRTC data channel.
//!
//! Layout (see ARCHITECTURE.md): `signal`, `qr`, `chat` are pure; `camera` and `rtc` do
//! I/O; `tui` and `headless` sit on top of everything; `cli` parses and dispatches.

pub mod camera;
pub mod chat;
pub mod cli;
pub mod direct;
pub mod headless;
pub mod known;
pub mod logging;
pub mod man;
pub mod qr;
pub mod rtc;
pub mod scan_cmd;
pub mod signal;
pub mod transfer;
pub mod tui;
