//! The trait-only API of the runtime layer.
//!
//! A host (a shim, a guest agent, a supervisor) drives containers through three traits:
//! [`Runtime`] creates containers, a [`Container`] is also its init [`Process`], and
//! [`Container::exec`] starts more processes. Backends (the real `runc` one, the deterministic
//! simulator, anything loaded as a plugin) implement them; a host cannot tell them apart.
//!
//! This crate does no I/O and holds no backend code. It also holds the two pure decisions
//! every backend must make the same way: which ids are valid ([`validate_container_id`]) and
//! whether a container owns its pid namespace ([`owns_pid_namespace`], rule 1).
//!
//! The two rules every backend guarantees, documented on [`Process::wait`]:
//! 1. when a container's init exits, all its siblings die, unless the container owns its pid
//!    namespace (then the kernel kills them, and no cgroup-wide kill is issued);
//! 2. stdio relays always drain and never hang: all output arrives before `wait` returns,
//!    unless a writer outlives the drain grace, and then the relay is cut and says so.
//!
//! With the `mock` feature, the `mock` module has `mockall` mocks of the traits for unit tests of code
//! that consumes them.

#![warn(missing_docs)]

mod container;
mod error;
mod exit;
mod id;
mod namespace;
mod process;
mod relay;
mod runtime;
mod state;
mod stdio;

#[cfg(feature = "mock")]
pub mod mock;

pub use container::Container;
pub use error::{Error, ErrorKind, Result};
pub use exit::{ExitStatus, Signal};
pub use id::{validate_container_id, MAX_ID_LEN};
pub use namespace::owns_pid_namespace;
pub use process::Process;
pub use relay::{RelayEnd, RelayReport, StreamReport};
pub use runtime::Runtime;
pub use state::{ContainerState, ProcessInfo, Status};
pub use stdio::{ConsoleSize, StdioSet};

/// Re-export of the `oci-spec` crate whose types the API uses, so that hosts and backends agree
/// on its version.
pub use oci_spec;

/// The version of this API. A plugin built against another major version is refused.
pub const API_VERSION: &str = env!("CARGO_PKG_VERSION");
