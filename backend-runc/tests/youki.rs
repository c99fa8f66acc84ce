//! The runc backend's tests of `runc.rs` again, with youki as the runtime binary (the
//! backend detects it from `youki --version`). Mandatory like runc's under
//! `RTL_REQUIRE_RUNC=1`: a missing youki fails them. The few checks of runc's own wording are
//! skipped here (`common::on_youki`).

#[path = "runc.rs"]
mod on_youki;
