//! Line mode for scripts and tests.
