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

    /// The states of every container the backend knows, in id order, including containers
    /// that another host created on the same state (one that died, say) and that
    /// [`open_container`](Self::open_container) can take back.
    fn list_container_states(&self) -> Result<Vec<ContainerState>>;

    /// Takes back container `id`, created by another host (or an earlier instance of this
    /// one) on the same state, for example after that host died.
    ///
    /// On the returned container `state`, `exists`, `kill`, `pause`, `resume`, `exec` (with new
    /// connections), `running_processes`, `all_processes`, `update` and `delete` work as on a
    /// container this host created. `wait` returns when init exits (backends watch a process
    /// that is not their child through a pidfd) and applies rule 1 at that exit; since only
    /// the parent of a process learns how it ended, `wait` answers
    /// [`ExitStatus::Unknown`](crate::ExitStatus::Unknown) when the backend cannot know the
    /// status. The init's old stdio cannot be reattached: its output went to the dead host's
    /// connections, and [`relay_report`](crate::Process::relay_report) of a taken-back init is
    /// `None`. Taking back the same id twice gives two handles on one container.
    ///
    /// Errors: [`InvalidId`](crate::ErrorKind::InvalidId) (checked before anything touches
    /// disk; nothing is touched), [`NotFound`](crate::ErrorKind::NotFound) for an id the
    /// backend does not know. The default answers
    /// [`Unsupported`](crate::ErrorKind::Unsupported).
    fn open_container(&self, id: &str) -> Result<Box<dyn Container>> {
        crate::validate_container_id(id)?;
        Err(crate::Error::for_container(
            crate::ErrorKind::Unsupported,
            id,
            "this backend cannot take back containers (open_container)",
        ))
    }

    /// Removes container `id` whatever its status, with only its id (what a containerd shim's
    /// `delete` has after a shim died): kills every process of the container, waits until
    /// they are gone, then deletes the container and everything the backend keeps for it
    /// (state directory, cgroup).
    ///
    /// A container that a live host is still creating is refused (or waited for until its
    /// create has ended), never left half deleted. Returns only once nothing of the container
    /// remains.
    ///
    /// Errors: [`InvalidId`](crate::ErrorKind::InvalidId) (nothing touched),
    /// [`NotFound`](crate::ErrorKind::NotFound) for an id the backend does not know. The
    /// default answers [`Unsupported`](crate::ErrorKind::Unsupported).
    fn force_delete(&self, id: &str) -> Result<()> {
        crate::validate_container_id(id)?;
        Err(crate::Error::for_container(
            crate::ErrorKind::Unsupported,
            id,
            "this backend cannot force-delete containers",
        ))
    }

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    /// A runtime that implements only the required methods.
    struct Minimal;

    impl Runtime for Minimal {
        fn create_container(
            &self,
            _sandbox_id: &str,
            id: &str,
            _bundle_path: &std::path::Path,
            _stdio: StdioSet,
        ) -> Result<Box<dyn Container>> {
            Err(crate::Error::for_container(
                ErrorKind::Backend,
                id,
                "minimal",
            ))
        }

        fn list_container_states(&self) -> Result<Vec<ContainerState>> {
            Ok(Vec::new())
        }
    }

    #[test]
    fn default_recovery_methods_validate_the_id_then_answer_unsupported() {
        let rt = Minimal;
        assert_eq!(
            rt.open_container("..").err().map(|e| e.kind()),
            Some(ErrorKind::InvalidId)
        );
        assert_eq!(
            rt.force_delete("a/b").err().map(|e| e.kind()),
            Some(ErrorKind::InvalidId)
        );
        let open = rt.open_container("c1").err().expect("unsupported");
        assert_eq!(open.kind(), ErrorKind::Unsupported);
        assert_eq!(open.container_id(), Some("c1"));
        assert_eq!(
            rt.force_delete("c1").err().map(|e| e.kind()),
            Some(ErrorKind::Unsupported)
        );
    }
}
