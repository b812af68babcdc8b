//! One file per screen: its keys (`on_key`), its key hints (`keys`) and its body (`draw`).

pub mod chat;
pub mod connecting;
pub mod help;
pub mod my_code;
pub mod paste;
pub mod scan;
pub mod start;
