//! Relays between a process's stdio (pipes or a pty) and connections, that always drain and
//! never hang.
//!
//! This is rule 2 of the runtime layer. The Go original (hcsshim's guest `stdio` package) waits
//! for end-of-file on the process's pipes with no bound: an exec whose child inherited stdout
//! (`sh -c 'sleep 1000 &'`) hangs the waiter forever. Peers either hang too or drop output
//! (kata after 500 ms, conmon whatever comes after the exit). Here:
//!
//! - every byte the process and its descendants write reaches the connection, in order per
//!   stream, unless a writer outlives the drain grace after the exit; then the bytes readable at
//!   that moment are still delivered, the relay stops, and its [`RelayReport`] says `Cut`;
//! - after the last byte a socket is half-closed and its peer gets a bounded time to close;
//! - a peer that went away early never blocks the process: the pipe is still drained and the
//!   lost bytes are counted; a slow peer gets back-pressure through bounded buffers;
//! - the relay is a guest in its host's process: it never changes the mode of a connection's
//!   open file description (the host may hold dups of it), no reactor thread ever blocks on a
//!   connection whatever the host does with its dups, and several streams may share one
//!   socket, which is half-closed once, after the last of them (see `connection.rs` and
//!   `sharing.rs`);
//! - relays cost no thread: all of them run on [`REACTOR_THREADS`] shared epoll threads
//!   (see `reactor.rs`), with `splice(2)` from pipe to stream socket as the fast path; into a
//!   socket whose description the host keeps blocking, that splice runs on one of at most
//!   [`OFFLOAD_WORKERS`] io_uring kernel workers per reactor (see `offload.rs`), so it may wait
//!   for room without blocking a reactor, and is cancelled at the relay's deadlines.
//!
//! Entry points: [`PipeRelay`] (pipes the relay makes; the child gets [`ChildStdio`]),
//! [`TtyRelay`] (a pty master, with a [`Resizer`]), and [`console`] (pty allocation and
//! `runc --console-socket` receive).
//!
//! [`RelayReport`]: runtime_api::RelayReport

#![warn(missing_docs)]

mod config;
mod connection;
pub mod console;
mod drain;
mod endpoint;
mod handle;
mod offload;
mod pipe_relay;
mod reactor;
mod sharing;
mod stage;
mod stream;
mod tty_relay;

pub use config::RelayConfig;
pub use offload::OFFLOAD_WORKERS;
pub use pipe_relay::{ChildStdio, PipeRelay};
pub use reactor::REACTOR_THREADS;
pub use tty_relay::{Resizer, TtyRelay};
