//! Host side: checking a plugin file ([`preflight`]), loading it in a child first
//! ([`probe`]), loading it ([`loader`]) and the adapters that make its objects implement the
//! `runtime-api` traits ([`adapters`]).

pub mod adapters;
pub mod decode;
pub mod loader;
pub mod preflight;
pub mod probe;
