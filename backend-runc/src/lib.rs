//! The runc backend: implements the `runtime-api` traits by driving the `runc` binary.
//!
//! Built both as a plugin (`cdylib`, exported with `plugin::export_backend!` under the name
//! `"runc"`) and as an rlib ([`open`] with a [`Config`]). Works with runc 1.1 (Debian's 1.1.5)
//! and 1.2+.
//!
//! # What it does
//! * `create --no-pivot` then `start`; `exec -d --process`; `kill`; `delete`; `pause`;
//!   `resume`; `state`; `ps`; `list`; `update --resources -` — one typed options type per
//!   command ([`command`]), each invocation with a time limit and a fresh JSON log
//!   ([`invocation`]), runc's last error mapped to an error kind (`errors`), JSON read from
//!   stdout only (`state`).
//! * Container ids are validated before anything touches the disk; each container has a state
//!   directory `<state_dir>/<id>` (mode 0700) with its pid files, removed on delete and on every
//!   failed create.
//! * Stdio: pipes through `stdio::PipeRelay`, terminals through a console socket and
//!   `stdio::TtyRelay`. `wait` returns only after the relay ended (rule 2).
//! * Rule 1: decided once at create from the bundle's spec
//!   ([`runtime_api::owns_pid_namespace`]). When the init of a container that does not own its
//!   pid namespace exits, `wait` runs `runc kill --all <id> KILL` and reaps what it killed
//!   before returning; when the container owns its pid namespace, no kill-all is issued (the
//!   kernel kills the namespace, and another container sharing the cgroup survives).
//!
//! # Process-wide effects (read this if you host the backend)
//! The backend lives inside your process and changes it:
//! * **Child subreaper.** Opening the backend calls `prctl(PR_SET_CHILD_SUBREAPER, 1)` for the
//!   whole process, for good: orphaned descendants of *any* of your children are reparented to
//!   your process instead of to init. (runc needs this: `runc create`/`exec -d` exit and their
//!   container processes become your children.)
//! * **A reaper thread** (`rtl-runc-reaper`) lives until the process exits. It waits only for
//!   pids it watches (via pidfds) and for zombie orphans attributable to a container of this
//!   backend (see [`reaper`]). Your own children are never reaped by it: a child you spawn
//!   with `std::process::Command` still gets its exit status from `Child::wait`.
//! * **What you must not do:** call `waitpid(-1, ..)`/`wait()` (or `waitid(P_ALL, ..)`) — it
//!   steals the exit statuses of runc invocations and container processes; set `SIGCHLD` to
//!   `SIG_IGN` or use `SA_NOCLDWAIT` — the kernel then reaps children automatically and exit
//!   statuses are lost. If you must reap orphans of your own, reap only specific pids.
//! * runc runs in its own process group; on a timeout the whole group is killed and reaped.

#![warn(missing_docs)]

pub mod command;
mod config;
mod container;
mod errors;
pub mod flavour;
pub mod invocation;
mod io_setup;
pub mod parsers;
mod process;
pub mod procfs;
pub mod reaper;
mod recovery;
mod reserve;
mod runtime;
mod state;
mod statedir;
pub mod version_cache;

pub use config::Config;
pub use container::RuncContainer;
pub use flavour::Flavour;
pub use runtime::{open, open_from_json, RuncRuntime};

plugin::export_backend!(name = "runc", open = crate::open_from_json);
