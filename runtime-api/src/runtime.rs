//! The `Runtime` trait: the entry point of a backend.

use crate::{Container, ContainerState, Result, StdioSet};

/// A container runtime backend (runc, the simulator, a plugin).
///
/// Object safe and `Send + Sync`: hosts hold it as `Box<dyn Runtime>` or `Arc<dyn Runtime>` and
/// call it from any thread.
pub trait Runtime: Send + Sync {
    /// Creates container `id` from the OCI bundle at `bundle_path`, relaying its init's stdio
    /// to `stdio`; the container is left in the `created` status (call
    /// [`Container::start`]).
    ///
    /// `sandbox_id` groups containers of one pod/sandbox (hcsshim passes it through; backends
    /// may use it for logging or placement). The id is validated with
    /// [`validate_container_id`](crate::validate_container_id) before anything touches disk.
    ///
    /// Errors: [`InvalidId`](crate::ErrorKind::InvalidId),
    /// [`AlreadyExists`](crate::ErrorKind::AlreadyExists),
    /// [`InvalidSpec`](crate::ErrorKind::InvalidSpec) (no or malformed `config.json`), or a
    /// backend failure. A failed create leaves nothing behind: no state directory, no process,
    /// no open fd (the fds of `stdio` are closed).
    fn create_container(
        &self,
        sandbox_id: &str,
        id: &str,
        bundle_path: &std::path::Path,
        stdio: StdioSet,
    ) -> Result<Box<dyn Container>>;

    /// The states of every container the backend knows, in id order.
    fn list_container_states(&self) -> Result<Vec<ContainerState>>;

    /// A backend-specific call, JSON in and JSON out, for features outside the traits (the
    /// simulator's trace and clock, say). Each backend documents the methods it answers.
    /// The default answers [`Unsupported`](crate::ErrorKind::Unsupported).
    fn extension(&self, method: &str, params: &serde_json::Value) -> Result<serde_json::Value> {
        let _ = params;
        Err(crate::Error::new(
            crate::ErrorKind::Unsupported,
            format!("extension method {method:?} is not supported by this backend"),
        ))
    }
}
