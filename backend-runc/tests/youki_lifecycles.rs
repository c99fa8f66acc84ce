//! `lifecycles.rs` again, with youki as the runtime binary: 100 lifecycles leave nothing
//! behind (fds, threads, zombies, state directories). Mandatory under `RTL_REQUIRE_RUNC=1`.

#[path = "lifecycles.rs"]
mod on_youki;
