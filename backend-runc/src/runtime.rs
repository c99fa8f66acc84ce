//! The [`Runtime`] implementation: opening the backend, and creating containers.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use runtime_api::oci_spec::runtime::Spec;
use runtime_api::{
    owns_pid_namespace, validate_container_id, Container, ContainerState, Error, ErrorKind, Result,
    Runtime, StdioSet,
};
use stdio::RelayConfig;

use crate::command::{Command, CreateOpts, DeleteOpts};
use crate::config::Config;
use crate::container::{RuncContainer, Setup, Shared};
use crate::invocation::Runc;
use crate::io_setup::Prepared;
use crate::process::ProcCore;
use crate::reaper::Reaper;
use crate::state;
use crate::statedir::{read_pid, StateDir};

/// The runc backend. `Send + Sync`; one value serves any number of containers.
pub struct RuncRuntime {
    pub(crate) config: Config,
    pub(crate) runc: Arc<Runc>,
    pub(crate) relay_config: RelayConfig,
}

/// Opens the backend: checks the configuration, creates the state directory (0700), starts
/// the process-wide [reaper](crate::reaper) (this process becomes a child subreaper), and
/// finds out which runtime `runc_path` is ([`Config::flavour`], else `runc_path --version`,
/// or what it said before, from [`Config::version_cache`]):
/// a binary that is missing, hangs, or is not a runc-compatible OCI runtime is refused here
/// with [`ErrorKind::Backend`] (or [`ErrorKind::Timeout`]), naming the binary.
pub fn open(config: Config) -> Result<RuncRuntime> {
    config.validate()?;
    let backend = |m: String| Error::new(ErrorKind::Backend, m);
    std::fs::DirBuilder::new()
        .recursive(true)
        .create(&config.state_dir)
        .map_err(|e| backend(format!("state_dir {}: {e}", config.state_dir.display())))?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&config.state_dir, std::fs::Permissions::from_mode(0o700))
        .map_err(|e| backend(format!("state_dir {}: {e}", config.state_dir.display())))?;
    Reaper::global().map_err(|e| backend(e.to_string()))?;
    let (flavour, version) = match config.flavour {
        Some(f) => (f, None),
        None => {
            let v = crate::version_cache::detect_with_cache(
                &config.runc_path,
                config.version_cache.as_deref(),
                || {
                    Runc::detect(
                        &config.runc_path,
                        &config.state_dir,
                        config.command_timeout(),
                    )
                },
            )?;
            (v.flavour, Some(v.version))
        }
    };
    let runc = Arc::new(Runc::new(
        config.runc_path.clone(),
        flavour,
        config.root.clone(),
        config.state_dir.clone(),
        config.command_timeout(),
    ));
    let relay_config = RelayConfig {
        drain_grace: Some(config.drain_grace()),
        peer_close_timeout: config.peer_close_timeout(),
        ..RelayConfig::default()
    };
    tracing::info!(runc = %config.runc_path.display(), %flavour, version = version.as_deref().unwrap_or("(not asked)"), root = %config.root.display(), state_dir = %config.state_dir.display(), "runc backend opened");
    Ok(RuncRuntime {
        config,
        runc,
        relay_config,
    })
}

/// Opens the backend from a JSON configuration (the plugin entry point). Unknown keys fail
/// with [`ErrorKind::InvalidArgument`].
pub fn open_from_json(config: &serde_json::Value) -> Result<RuncRuntime> {
    open(Config::from_json(config)?)
}

fn load_spec(id: &str, bundle: &Path) -> Result<(PathBuf, Spec)> {
    let invalid = |m: String| Error::for_container(ErrorKind::InvalidSpec, id, m);
    let bundle = bundle
        .canonicalize()
        .map_err(|e| invalid(format!("bundle {}: {e}", bundle.display())))?;
    let config = bundle.join("config.json");
    let spec = Spec::load(&config).map_err(|e| invalid(format!("{}: {e}", config.display())))?;
    // A missing root filesystem is refused here, with the same kind on every runtime: runc
    // says so in its log, youki sometimes exits before its log is written.
    if let Some(root) = spec.root() {
        let rootfs = bundle.join(root.path());
        if !rootfs.is_dir() {
            return Err(invalid(format!(
                "root filesystem {} (root.path in {}) is not a directory",
                rootfs.display(),
                config.display()
            )));
        }
    }
    Ok((bundle, spec))
}

impl RuncRuntime {
    /// The configuration in use.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Creates a container (see [`Runtime::create_container`]) and returns the concrete type.
    pub fn create(
        &self,
        sandbox_id: &str,
        id: &str,
        bundle_path: &Path,
        stdio: StdioSet,
    ) -> Result<RuncContainer> {
        validate_container_id(id)?;
        let span =
            tracing::info_span!("container.create", container.id = %id, sandbox.id = %sandbox_id);
        let _e = span.enter();
        let (bundle, spec) = load_spec(id, bundle_path)?;
        let owns = owns_pid_namespace(&spec);
        let terminal = spec
            .process()
            .as_ref()
            .and_then(|p| p.terminal())
            .unwrap_or(false);
        // Held until create returns: recovery on other hosts leaves a container alone while
        // its create runs (see `recovery`). A stale directory of a dead host is removed here.
        let (dir, _lock) = self.claim_state_dir(id)?;
        match self.create_in(id, bundle, terminal, stdio, &dir) {
            Ok((pid, cell, relay, claim)) => {
                let init = Arc::new(ProcCore::new(pid, cell, relay));
                let shared = Shared::new(Setup {
                    id: id.to_string(),
                    runc: self.runc.clone(),
                    dir,
                    owns_pid_namespace: owns,
                    relay_config: self.relay_config.clone(),
                    socket_base: self.config.state_dir.clone(),
                    init,
                    claim,
                    taken_back: false,
                });
                tracing::info!(pid, owns_pid_namespace = owns, "created");
                Ok(RuncContainer {
                    shared: Arc::new(shared),
                })
            }
            Err(e) => {
                if let Err(rm) = dir.remove() {
                    tracing::warn!(error = %rm, "removing the state directory of a failed create");
                }
                Err(e)
            }
        }
    }

    #[allow(clippy::type_complexity)]
    fn create_in(
        &self,
        id: &str,
        bundle: PathBuf,
        terminal: bool,
        stdio: StdioSet,
        dir: &StateDir,
    ) -> Result<(
        i32,
        Arc<crate::reaper::ExitCell>,
        Option<crate::process::Relay>,
        crate::reaper::Claim,
    )> {
        let prepared = Prepared::new(terminal, stdio, &self.relay_config, &self.config.state_dir)
            .map_err(|e| e.with_container(id))?;
        let pid_file = dir.init_pid_file();
        let cmd = Command::Create(CreateOpts {
            id: id.to_string(),
            bundle,
            pid_file: pid_file.clone(),
            console_socket: prepared.console_socket(),
            no_pivot: true,
        });
        let (io, pending) = prepared.split();
        if let Err(e) = self.runc.run_with(&cmd, io) {
            pending.abandon();
            if e.kind() == ErrorKind::Timeout {
                // runc was killed mid-way: remove whatever it made, and the init it may have
                // started (in its own session already, so killing runc's group missed it).
                self.kill_started_init(id, &pid_file);
            }
            return Err(e);
        }
        let reaper = Reaper::global()
            .map_err(|e| Error::for_container(ErrorKind::Backend, id, e.to_string()))?;
        let watched = read_pid(&pid_file)
            .map_err(|e| format!("init pid file: {e}"))
            .and_then(|pid| {
                reaper
                    .watch(pid)
                    .map(|c| (pid, c))
                    .map_err(|e| format!("watching init pid {pid}: {e}"))
            });
        let (pid, cell) = match watched {
            Ok(x) => x,
            Err(m) => {
                pending.abandon();
                self.cleanup_failed_create(id);
                return Err(Error::for_container(ErrorKind::Backend, id, m));
            }
        };
        let claim = reaper.claim();
        claim.add_session(pid);
        match pending.complete(&self.relay_config) {
            Ok(relay) => Ok((pid, cell, relay, claim)),
            Err(e) => {
                self.cleanup_failed_create(id);
                let _ = cell.wait_timeout(std::time::Duration::from_secs(10));
                reaper.reap_orphans();
                Err(e.with_container(id))
            }
        }
    }

    /// After a timed-out `runc create`: finds the init it may have started (pid file, else
    /// `runc state`), force-deletes the container, and kills and reaps that init.
    fn kill_started_init(&self, id: &str, pid_file: &Path) {
        let pid = read_pid(pid_file).ok().or_else(|| {
            let out = self.runc.run(&Command::State { id: id.to_string() }).ok()?;
            state::parse_state(id, &out.stdout)
                .ok()
                .map(|s| s.pid)
                .filter(|p| *p > 0)
        });
        self.cleanup_failed_create(id);
        let (Some(pid), Ok(reaper)) = (pid, Reaper::global()) else {
            return;
        };
        let claim = reaper.claim();
        claim.add_session(pid);
        if reaper.kill_and_reap(pid, std::time::Duration::from_secs(10)) {
            tracing::info!(pid, "killed the init of a timed-out create");
        }
        reaper.reap_orphans();
    }

    /// Best-effort `runc delete --force` after a create that failed half-way.
    fn cleanup_failed_create(&self, id: &str) {
        let cmd = Command::Delete(DeleteOpts {
            id: id.to_string(),
            force: true,
        });
        if let Err(e) = self.runc.run(&cmd) {
            if e.kind() != ErrorKind::NotFound {
                tracing::warn!(error = %e, "cleaning up a failed create");
            }
        }
    }
}

impl Runtime for RuncRuntime {
    fn create_container(
        &self,
        sandbox_id: &str,
        id: &str,
        bundle_path: &Path,
        stdio: StdioSet,
    ) -> Result<Box<dyn Container>> {
        Ok(Box::new(self.create(sandbox_id, id, bundle_path, stdio)?))
    }

    fn list_container_states(&self) -> Result<Vec<ContainerState>> {
        // Listings race with other hosts' creates and deletes on the same root, and both
        // runtimes can fail on such a race instead of skipping the container (bounded
        // retries, see `lost_a_race`).
        let past_races = |cmd: &Command| {
            let mut tries = 0;
            loop {
                match self.runc.run(cmd) {
                    Err(e) if tries < 20 && lost_a_race(&e) => {
                        tries += 1;
                        std::thread::sleep(std::time::Duration::from_millis(10));
                    }
                    r => break r,
                }
            }
        };
        if self.runc.flavour().lists_json() {
            let out = past_races(&Command::List { json: true })?;
            return state::parse_list(&out.stdout);
        }
        // A table: its ids, then each one's `state` (exact JSON, the same as `state` gives).
        // A container deleted in between is not listed.
        let out = past_races(&Command::List { json: false })?;
        let mut states = Vec::new();
        for id in state::parse_list_table(&out.stdout)? {
            match past_races(&Command::State { id: id.clone() }) {
                Ok(out) => states.push(state::parse_state(&id, &out.stdout)?),
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        states.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(states)
    }

    fn open_container(&self, id: &str) -> Result<Box<dyn Container>> {
        Ok(Box::new(self.take_back(id)?))
    }

    fn force_delete(&self, id: &str) -> Result<()> {
        self.force_remove(id)
    }
}

/// Whether a `list` or `state` failed on a race with another host's create or delete on the
/// same root, which a retry gets past:
/// - runc (1.1): `list` reads the root's entries, then stats each; a container deleted in
///   between fails the whole listing with `stat <root>/<id>: no such file or directory`
///   (seen 2026-12-08 in the conformance suite, whose cases run in parallel);
/// - youki: `list` and `state` fail while a container's state file is being written (a
///   `create` in flight; the file is empty for a moment): `failed to parse container state`.
fn lost_a_race(e: &Error) -> bool {
    let m = e.message();
    m.contains("failed to parse container state")
        || (m.contains("stat ") && m.contains("no such file or directory"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listing_races_are_told_from_real_failures() {
        let backend = |m: &str| Error::new(ErrorKind::Backend, m);
        // runc 1.1.5's message, from the conformance suite's failure.
        assert!(lost_a_race(&backend(
            "runc list: stat /tmp/.tmpxtXfnd/runc-root/cf55822-3-s77: no such file or directory"
        )));
        assert!(lost_a_race(&backend(
            "youki state: failed to parse container state: EOF while parsing a value"
        )));
        assert!(!lost_a_race(&backend(
            "runc list: open /run/runc: permission denied"
        )));
        assert!(!lost_a_race(&backend(
            "runc: exec: no such file or directory"
        )));
    }
}
