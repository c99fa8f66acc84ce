//! Test plugin: every method deterministic, for round-trip tests of the boundary.
