//! The ratatui app.
