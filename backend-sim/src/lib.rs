//! The deterministic simulator backend.

pub mod clock;
pub mod config;
pub mod rng;
pub mod shell;
pub mod trace;
