//! [`SimRuntime`]: the simulator as a [`Runtime`], and its construction from a configuration.

use crate::clock::VirtualClock;
use crate::config::Config;
use crate::container::{script_of, SimContainer};
use crate::kernel::{Program, HOST_NS};
use crate::sim::Shared;
use crate::world::{ContainerRec, World};
use oci_spec::runtime::{LinuxNamespaceType, Spec};
use runtime_api::{
    validate_container_id, Container, ContainerState, Error, ErrorKind, Result, Runtime, Status,
    StdioSet,
};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The simulated runtime. Cheap to clone (clones share the same simulated world).
#[derive(Clone)]
pub struct SimRuntime {
    pub(crate) shared: Arc<Shared>,
}

/// Opens a simulated runtime: the static (rlib) entry point.
pub fn open(config: Config) -> Result<SimRuntime> {
    SimRuntime::new(config)
}

/// Opens a simulated runtime from its JSON configuration: the plugin entry point. Unknown
/// keys are refused with [`InvalidArgument`](runtime_api::ErrorKind::InvalidArgument).
pub fn open_from_json(config: &serde_json::Value) -> Result<SimRuntime> {
    SimRuntime::new(Config::from_json(config)?)
}

/// Where a new container's pid namespace comes from.
enum PidNsChoice {
    Own,
    Host,
    Join(String),
}

/// What `create` learns from the bundle before touching the world.
struct BundleInfo {
    bundle: PathBuf,
    rootfs: Option<PathBuf>,
    oci_version: String,
    argv: Vec<String>,
    terminal: bool,
    pid_ns: PidNsChoice,
    owns: bool,
    cgroup: Option<String>,
}

fn invalid_spec(id: &str, msg: String) -> Error {
    Error::for_container(ErrorKind::InvalidSpec, id, msg)
}

fn read_bundle(id: &str, bundle_path: &Path) -> Result<BundleInfo> {
    let bundle = std::path::absolute(bundle_path).unwrap_or_else(|_| bundle_path.to_path_buf());
    let config_path = bundle.join("config.json");
    let text = std::fs::read(&config_path)
        .map_err(|e| invalid_spec(id, format!("{}: {e}", config_path.display())))?;
    let spec: Spec = serde_json::from_slice(&text)
        .map_err(|e| invalid_spec(id, format!("{}: malformed: {e}", config_path.display())))?;
    let rootfs = match spec.root() {
        Some(root) => {
            let path = bundle.join(root.path());
            if !path.is_dir() {
                return Err(invalid_spec(
                    id,
                    format!("rootfs {} does not exist", path.display()),
                ));
            }
            Some(path)
        }
        None => return Err(invalid_spec(id, "config.json has no root".to_string())),
    };
    let process = spec
        .process()
        .as_ref()
        .ok_or_else(|| invalid_spec(id, "config.json has no process".to_string()))?;
    let argv = process.args().clone().unwrap_or_default();
    let terminal = process.terminal().unwrap_or(false);
    let owns = runtime_api::owns_pid_namespace(&spec);
    let pid_entry = spec
        .linux()
        .as_ref()
        .and_then(|l| l.namespaces().as_ref())
        .and_then(|ns| {
            ns.iter()
                .find(|n| n.typ() == LinuxNamespaceType::Pid)
                .cloned()
        });
    let pid_ns = match pid_entry {
        None => PidNsChoice::Host,
        Some(_) if owns => PidNsChoice::Own,
        Some(entry) => PidNsChoice::Join(
            entry
                .path()
                .as_ref()
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_default(),
        ),
    };
    let cgroup = spec
        .linux()
        .as_ref()
        .and_then(|l| l.cgroups_path().as_ref())
        .map(|p| p.to_string_lossy().into_owned())
        .filter(|p| !p.is_empty());
    Ok(BundleInfo {
        bundle,
        rootfs,
        oci_version: spec.version().clone(),
        argv,
        terminal,
        pid_ns,
        owns,
        cgroup,
    })
}

impl SimRuntime {
    /// A new simulated world with this configuration. The seed comes from the configuration,
    /// else from `RTL_SIM_SEED`, else a fixed default.
    pub fn new(config: Config) -> Result<SimRuntime> {
        let seed = config.resolve_seed()?;
        tracing::debug!(seed, "simulator opened");
        let world = World::new(config, seed);
        let shared = Shared::new(world)
            .map_err(|e| Error::new(ErrorKind::Backend, format!("simulator wake pipe: {e}")))?;
        Ok(SimRuntime {
            shared: Arc::new(shared),
        })
    }
}

impl World {
    pub(crate) fn container_state(&self, id: &str) -> Option<ContainerState> {
        let c = self.containers.get(id)?;
        Some(ContainerState {
            oci_version: c.oci_version.clone(),
            id: id.to_string(),
            pid: if c.status == Status::Stopped {
                0
            } else {
                c.init_pid
            },
            bundle: c.bundle.to_string_lossy().into_owned(),
            rootfs: c.rootfs.as_ref().map(|p| p.to_string_lossy().into_owned()),
            status: c.status,
            created: Some(VirtualClock::rfc3339(c.created_at)),
            owner: None,
        })
    }
}

impl Runtime for SimRuntime {
    fn create_container(
        &self,
        sandbox_id: &str,
        id: &str,
        bundle_path: &Path,
        stdio: StdioSet,
    ) -> Result<Box<dyn Container>> {
        validate_container_id(id).map_err(|e| e.with_container(id))?;
        let info = read_bundle(id, bundle_path)?;
        let script = script_of(id, &info.argv)?;
        let mut g = self.shared.settled();
        if g.containers.contains_key(id) {
            return Err(Error::for_container(
                ErrorKind::AlreadyExists,
                id,
                "a container with this id already exists",
            ));
        }
        let now = g.clock.now();
        tracing::debug!(container.id = %id, sandbox_id, virtual_ns = now.0, "create");
        g.trace.record(
            now,
            0,
            "api",
            format!("create {id} sandbox={sandbox_id} argv={:?}", info.argv),
        );
        g.command_fault(id, "create")?;
        let ns = match &info.pid_ns {
            PidNsChoice::Host => HOST_NS,
            PidNsChoice::Own => g.new_pidns(),
            PidNsChoice::Join(path) => {
                if !path.starts_with("/proc/") || !path.ends_with("/ns/pid") {
                    return Err(invalid_spec(
                        id,
                        format!(
                            "unsupported pid namespace path {path:?} (only /proc/<pid>/ns/pid)"
                        ),
                    ));
                }
                g.ns_by_path(path)
                    .map_err(|m| Error::for_container(ErrorKind::Backend, id, m))?
            }
        };
        let cgroup = info.cgroup.clone().unwrap_or_else(|| format!("/{id}"));
        let init = g.spawn_runtime_process(
            id,
            ns,
            &cgroup,
            info.argv.clone(),
            Program::AwaitStart(script),
            info.terminal,
            stdio,
            true,
        )?;
        let host_gen = g.host_gen;
        g.containers.insert(
            id.to_string(),
            ContainerRec {
                bundle: info.bundle,
                rootfs: info.rootfs,
                oci_version: info.oci_version,
                owns_pid_ns: info.owns,
                ns,
                cgroup,
                init_pid: init,
                status: Status::Created,
                created_at: now,
                host_gen,
                orphaned: false,
                rule1_pending: false,
            },
        );
        let gen = g.host_gen;
        g.settle();
        drop(g);
        self.shared.notify();
        Ok(Box::new(SimContainer {
            shared: self.shared.clone(),
            id: id.to_string(),
            init,
            gen,
            taken_back: false,
        }))
    }

    fn list_container_states(&self) -> Result<Vec<ContainerState>> {
        let g = self.shared.settled();
        Ok(g.containers
            .keys()
            .filter_map(|id| g.container_state(id))
            .collect())
    }

    fn open_container(&self, id: &str) -> Result<Box<dyn Container>> {
        Ok(Box::new(self.take_back(id)?))
    }

    fn force_delete(&self, id: &str) -> Result<()> {
        self.force_remove(id)
    }

    fn extension(&self, method: &str, params: &serde_json::Value) -> Result<serde_json::Value> {
        crate::inspect::extension(self, method, params)
    }
}
