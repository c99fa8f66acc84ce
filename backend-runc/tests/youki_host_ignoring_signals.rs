//! `host_ignoring_signals.rs` again, with youki as the runtime binary (see `youki.rs`). youki,
//! unlike runc, does not reset the signal actions it inherits.

#[path = "host_ignoring_signals.rs"]
mod on_youki;
