//! `containerd-shim-rtlayer-v1`: a containerd runtime v2 shim over any backend plugin.
//!
//! containerd starts the binary once per container (or CRI sandbox), talks ttrpc to it through
//! the `containerd-shim` crate, and the shim translates each task call into a call on the
//! `runtime-api` traits of a backend loaded with [`plugin::load`]: the runc backend by default,
//! the simulator, or any plugin, chosen by the runtime's options ([`options`]).
//!
//! Modules, one idea each:
//! - [`lifecycle`]: the `start` and `delete` subcommands and the serving shim;
//! - [`task`]: the task API over the traits;
//! - [`options`]: which backend, with which configuration;
//! - [`backend`]: finding, loading and opening the plugin;
//! - [`io`]: containerd's FIFOs as the runtime's `StdioSet`;
//! - [`rootfs`]: the rootfs mounts `Create` passes;
//! - [`events`]: publishing task events in order;
//! - [`exit`]: exit statuses and the order of exits;
//! - [`cleanup`]: after a dead shim;
//! - [`idle`]: what the shim does once quiet after a burst of work;
//! - [`memory`]: giving the heap and the code of a burst back to the system;
//! - [`pidfd`], [`logging`], [`error`].

#![warn(missing_docs)]

pub mod backend;
pub mod cleanup;
pub mod error;
pub mod events;
pub mod exit;
pub mod idle;
pub mod io;
pub mod lifecycle;
pub mod logging;
pub mod memory;
pub mod options;
pub mod pidfd;
pub mod rootfs;
pub mod task;
