//! Snapshot and update() tests.
