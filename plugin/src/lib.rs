//! The plugin boundary: a versioned C ABI, an export macro for backends, a loader for hosts.
//!
//! Backends are `cdylib`s. A backend crate exports any [`Runtime`](runtime_api::Runtime)
//! implementation with one macro:
//!
//! ```ignore
//! plugin::export_backend!(name = "sim", open = my_crate::open_from_config);
//! ```
//!
//! A host loads it and opens runtimes from it; what it gets implements the `runtime-api`
//! traits and cannot be told from the backend linked statically:
//!
//! ```no_run
//! let plugin = plugin::load(std::path::Path::new("target/debug/libbackend_sim.so"))?;
//! let runtime = plugin.open(&serde_json::json!({ "seed": 7 }))?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # A bad plugin file never takes the host down
//!
//! Two modes, chosen per load:
//! - [`load`] (preflight only): the file is checked as the dynamic loader would read it
//!   ([`host::preflight`]) before `dlopen`: a regular ELF shared object of this host, nothing
//!   truncated inside its loaded image, every table and relocation inside the library. A
//!   structurally broken file (truncated, flipped bytes in its headers, dynamic section,
//!   symbol, version or hash tables, relocations) is refused with [`LoadError::Malformed`]
//!   naming the [`Check`] and never reaches `dlopen`. The content of code and data is not
//!   checked: corrupt code that runs at load or in the entry function can still crash the
//!   host in this mode.
//! - [`load_with`] with [`LoadOptions::probe`] (preflight + probe): a child process loads the
//!   plugin first ([`host::probe`]); a crash or hang there is [`LoadError::ProbeFailed`] and
//!   the host never maps the file. Code the child did not run is not covered.
//!
//! Messages from the dynamic loader carry its own `dlerror` text.
//!
//! Modules, one idea each:
//! - [`abi`]: the `#[repr(C)]` declaration, vtables and wire types, and who owns what;
//! - [`export`]: the backend side, the functions behind the vtables and the macro;
//! - [`host`]: the preflight checks, the probe, the loader and the adapters that implement
//!   the traits over a vtable;
//! - [`logging`]: how the plugin's `tracing` events reach the host's subscriber;
//! - [`testing`]: finding (and building) a workspace plugin for tests.

#![warn(missing_docs)]

pub mod abi;
pub mod export;
pub mod host;
pub mod logging;
pub mod testing;

pub use host::loader::{load, load_with, LoadError, LoadOptions, Plugin};
pub use host::preflight::Check;
pub use host::probe::Probe;

/// What the export macro's expansion needs from this crate's dependencies, so that backend
/// crates need not depend on them by the same names. Not a public API.
#[doc(hidden)]
pub mod __private {
    pub use runtime_api;
    pub use serde_json;
}
