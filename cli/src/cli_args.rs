//! The command line, as clap parses it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// rtctl: run containers on a backend chosen at run time (the runc backend or the
/// deterministic simulator), play scenarios, and sweep simulator seeds.
#[derive(Debug, Parser)]
#[command(name = "rtctl", version, about, long_about = None)]
pub struct Cli {
    /// The backend: `sim`, `runc` (plugins built beside rtctl) or a path to a backend plugin
    /// (`.so`). Default: `sim`.
    #[arg(long, short = 'b', global = true, env = "RTCTL_BACKEND")]
    pub backend: Option<String>,

    /// The backend's configuration, a JSON object (e.g. `{"runc_path": "/usr/sbin/runc"}`;
    /// keys are the backend's own, unknown keys are refused).
    #[arg(long, global = true, value_name = "JSON")]
    pub backend_config: Option<String>,

    /// More logs on stderr (-v info, -vv debug, -vvv trace), the plugins' events included.
    /// `RUST_LOG` overrides this.
    #[arg(long, short = 'v', global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Lists the backend plugins found beside rtctl (and in RTCTL_PLUGIN_PATH), with their ABI
    /// and API versions.
    Backends,
    /// Creates a container from BUNDLE, starts it with this terminal's stdin/stdout/stderr
    /// (a real terminal if the bundle asks for one), waits, deletes it, and exits with its
    /// exit code. Signals (Ctrl-C) are forwarded to the container.
    Run {
        /// The bundle directory (holding config.json).
        bundle: PathBuf,
        /// The container id (default: `rtctl-<pid>`).
        #[arg(long)]
        id: Option<String>,
    },
    /// Plays a scenario file step by step, printing each result and checking its
    /// expectations; exits 0 if they all hold, 1 otherwise.
    Scenario(ScenarioArgs),
    /// Plays a scenario on the simulator once per seed, checking the rules and the scenario's
    /// expectations, and prints each failing seed with the command that replays it.
    Sweep(SweepArgs),
    /// Lists the containers the backend knows (also those an earlier rtctl left), one line
    /// each: ID PID STATUS BUNDLE.
    List,
    /// Prints a container's state as JSON.
    State {
        /// The container id.
        id: String,
    },
    /// Sends a signal (default TERM) to a container's init.
    Kill {
        /// The container id.
        id: String,
        /// The signal: a name (`KILL`, `SIGTERM`) or a number.
        signal: Option<String>,
    },
    /// Runs a command in a running container with this terminal's stdio; exits with its code.
    Exec {
        /// The container id.
        id: String,
        /// The command and its arguments (after `--`).
        #[arg(last = true, required = true)]
        cmd: Vec<String>,
    },
    /// Deletes a stopped container; with --force, any container: kills all its processes,
    /// waits until they are gone, removes it (what to do after an rtctl was killed).
    Delete {
        /// Kill and remove the container whatever its status.
        #[arg(long, short = 'f')]
        force: bool,
        /// The container id.
        id: String,
    },
    /// Prepares OCI bundles (fills their root filesystem from busybox, for runc).
    Bundle {
        /// What to do with the bundle.
        #[command(subcommand)]
        command: BundleCommand,
    },
}

/// `rtctl bundle ...`.
#[derive(Debug, Subcommand)]
pub enum BundleCommand {
    /// Fills bundles' root filesystems from /bin/busybox (what runc needs; the simulator only
    /// reads config.json). Idempotent.
    Init {
        /// The bundle directories (each holding config.json).
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
    },
}

/// `rtctl scenario FILE`.
#[derive(Debug, Args)]
pub struct ScenarioArgs {
    /// The scenario file.
    pub file: PathBuf,
    /// Simulator only: the seed of the run (replays a sweep's seed exactly).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Simulator only: writes the run's timeline as Chrome/Perfetto trace JSON to this file.
    #[arg(long, value_name = "OUT.json")]
    pub trace: Option<PathBuf>,
    /// Prepended to each container name to make its id.
    #[arg(long, default_value = "")]
    pub id_prefix: String,
}

/// `rtctl sweep FILE --seeds N`.
#[derive(Debug, Args)]
pub struct SweepArgs {
    /// The scenario file.
    pub file: PathBuf,
    /// How many seeds to run.
    #[arg(long)]
    pub seeds: u64,
    /// The first seed (seeds FIRST..FIRST+N are run).
    #[arg(long, default_value_t = 0)]
    pub first_seed: u64,
    /// Worker threads (default: the number of CPUs).
    #[arg(long)]
    pub jobs: Option<usize>,
}
