//! Known peers: pair once by sight, then find each other again on the LAN by name.
//!
//! - [`identity`]: the lasting identity (one certificate per user, owner-only, in the XDG
//!   data folder) and where that folder is.
//! - [`store`]: the known peers (name, fingerprint, when paired and last seen, the pairwise
//!   secret, last addresses), one owner-only JSON file.
//! - [`pair`]: the pairwise secret, agreed over an open, sight-verified link (a
//!   `qrchat-pair` channel: each side gives 32 random bytes).
//! - [`lan`]: the discovery and hand-over datagrams, pure: tags and sealed offers keyed by
//!   the pairwise secret, nothing identifying in the clear.
//! - [`discovery`]: the UDP side: a listener that answers known peers, a connector that
//!   finds one and hands it an offer.
//!
//! Why a fresh DTLS certificate per reconnect, and the threat model: ARCHITECTURE.md,
//! "Known peers".

pub mod discovery;
pub mod identity;
pub mod lan;
pub mod pair;
pub mod store;

pub use identity::{data_dir, load_or_create_identity, DataDirError};
pub use store::{KnownPeer, Store, StoreError};
