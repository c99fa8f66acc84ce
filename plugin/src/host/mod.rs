//! Host side: loading a plugin ([`loader`]) and the adapters that make its objects implement
//! the `runtime-api` traits ([`adapters`]).

pub mod adapters;
pub mod decode;
pub mod loader;
