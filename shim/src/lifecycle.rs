//! The shim binary's lifecycle as containerd drives it: `start` (spawn the serving shim and
//! print its address), serving the task API, and `delete` (clean up after a shim that died).

use std::path::PathBuf;
use std::sync::Arc;

use containerd_shim::publisher::RemotePublisher;
use containerd_shim::{Config, DeleteResponse, ExitSignal, Flags, StartOpts};

use crate::events::Events;
use crate::options::ShimOptions;
use crate::task::Service;

/// The runtime name containerd knows this shim by (`ctr run --runtime io.containerd.rtlayer.v1`
/// finds the binary `containerd-shim-rtlayer-v1` on its `PATH`).
pub const RUNTIME_NAME: &str = "io.containerd.rtlayer.v1";

/// The annotation the CRI plugin sets on every container of a pod: containers of one sandbox
/// share one shim.
const SANDBOX_ANNOTATION: &str = "io.kubernetes.cri.sandbox-id";

/// The shim as `containerd_shim::run` drives it.
pub struct Lifecycle {
    namespace: String,
    id: String,
    bundle: PathBuf,
    exit: Arc<ExitSignal>,
}

/// The configuration the shim runs the crate with: the runtime backend owns reaping (its
/// reaper takes only the exits it was given or proved to be orphans), so the crate's global
/// `waitpid(-1)` is off; the shim logs through `tracing` into containerd's log FIFO.
pub fn config() -> Config {
    Config {
        no_setup_logger: true,
        no_reaper: true,
        ..Default::default()
    }
}

/// The group (one shim) a container belongs to: its sandbox's id under CRI, else its own.
fn grouping(id: &str) -> String {
    let Ok(text) = std::fs::read_to_string("config.json") else {
        return id.to_string();
    };
    serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| {
            v.get("annotations")?
                .get(SANDBOX_ANNOTATION)?
                .as_str()
                .map(str::to_string)
        })
        .unwrap_or_else(|| id.to_string())
}

impl containerd_shim::Shim for Lifecycle {
    type T = Service;

    fn new(_runtime_id: &str, args: &Flags, _config: &mut Config) -> Self {
        crate::logging::init(args);
        let bundle = if args.bundle.is_empty() {
            std::env::current_dir().unwrap_or_default()
        } else {
            PathBuf::from(&args.bundle)
        };
        Lifecycle {
            namespace: args.namespace.clone(),
            id: args.id.clone(),
            bundle,
            exit: Arc::new(ExitSignal::default()),
        }
    }

    fn start_shim(&mut self, opts: StartOpts) -> Result<String, containerd_shim::Error> {
        let group = grouping(&opts.id);
        let _s =
            tracing::info_span!("start_shim", container.id = %opts.id, group = %group).entered();
        let (pid, address) = containerd_shim::spawn(opts, &group, Vec::new())?;
        containerd_shim::util::write_address(&address)?;
        tracing::info!(pid, address = %address, "shim started");
        Ok(address)
    }

    fn delete_shim(&mut self) -> Result<DeleteResponse, containerd_shim::Error> {
        let _s = tracing::info_span!("delete_shim", container.id = %self.id).entered();
        crate::cleanup::after_dead_shim(&self.namespace, &self.id, &self.bundle)
            .map_err(|e| containerd_shim::Error::Other(e.to_string()))?;
        Ok(DeleteResponse {
            exit_status: 128 + libc::SIGKILL as u32,
            exited_at: containerd_shim::protos::protobuf::MessageField::some(
                containerd_shim::util::timestamp()?,
            ),
            ..Default::default()
        })
    }

    fn wait(&mut self) {
        self.exit.wait();
    }

    fn create_task_service(&self, publisher: RemotePublisher) -> Self::T {
        // containerd gives every shim its ttrpc address in `TTRPC_ADDRESS` (runtime v2);
        // `containerd_shim` read it there too (and connected `publisher`), and does not export
        // the name. Events reconnect there after an idle spell (see `events`).
        let address = std::env::var("TTRPC_ADDRESS").unwrap_or_default();
        Service::new(
            &self.namespace,
            Events::new(Some(publisher), &address, &self.namespace),
            self.exit.clone(),
        )
    }
}

/// Options of the container in `bundle` (saved there by `Create`), for `delete`.
pub fn saved_options(bundle: &std::path::Path) -> Result<ShimOptions, crate::error::ShimError> {
    ShimOptions::load_saved(bundle)
}
