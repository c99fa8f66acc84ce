//! The deterministic simulator backend.
