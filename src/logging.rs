//! Logging to a file.
