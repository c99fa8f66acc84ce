//! rtctl: the command-line host of the runtime layer.
//!
//! It picks a backend plugin at run time (`--backend sim|runc|PATH`, or `RTCTL_BACKEND`) and
//! drives it through the `runtime-api` traits: run a bundle with the terminal's stdio, play a
//! written scenario, or sweep a scenario over many simulator seeds.
//!
//! Exit codes: `run` exits with the container's code; `scenario` and `sweep` exit 0 when every
//! expectation (and, on the simulator, every rule) held and 1 otherwise (128 + the signal when
//! Ctrl-C or another signal stopped a scenario, after cleaning up); rtctl's own failures
//! (bad input, a backend that cannot be loaded) print one line `rtctl: ...` on stderr and exit
//! 125.

mod backend_select;
mod bundle;
mod cli_args;
mod commands;
mod error;
mod logging;
mod sim_ext;
mod terminal;

use std::io::Write;

use clap::Parser;
use rtctl::scenario;

use crate::cli_args::{BundleCommand, Cli, Command};
use crate::error::CliError;

fn main() {
    // rtctl is its own probe helper: `rtctl __rtlayer-probe PATH [CONFIG]` loads a plugin in
    // this (child) process and reports, so a plugin that crashes kills the child only.
    if let Some(code) = plugin::host::probe::serve(std::env::args().skip(1)) {
        std::process::exit(code);
    }
    let cli = Cli::parse();
    logging::init(cli.verbose);
    let code = match dispatch(&cli) {
        Ok(code) => code,
        Err(e) => {
            tracing::debug!(error = %e, "rtctl failed");
            let _ = std::io::stdout().flush();
            let _ = writeln!(std::io::stderr(), "rtctl: {e}");
            e.exit_code()
        }
    };
    let _ = std::io::stdout().flush();
    std::process::exit(code);
}

fn dispatch(cli: &Cli) -> Result<i32, CliError> {
    let select = || {
        let choice = backend_select::effective_choice(cli.backend.as_deref());
        backend_select::select(&choice, cli.backend_config.as_deref()).map(|b| (choice, b))
    };
    match &cli.command {
        Command::Backends => commands::backends::run(),
        Command::Bundle {
            command: BundleCommand::Init { dirs },
        } => commands::bundle::init(dirs),
        Command::Run { bundle, id } => {
            let (_, backend) = select()?;
            commands::run::run(&backend, bundle, id.as_deref())
        }
        Command::List => commands::manage::list(&select()?.1),
        Command::State { id } => commands::manage::state(&select()?.1, id),
        Command::Kill { id, signal } => commands::manage::kill(&select()?.1, id, signal.as_deref()),
        Command::Exec { id, cmd } => commands::manage::exec(&select()?.1, id, cmd),
        Command::Delete { force, id } => commands::manage::delete(&select()?.1, id, *force),
        Command::Scenario(args) => {
            let (_, backend) = select()?;
            commands::scenario::run(&backend, args)
        }
        Command::Sweep(args) => {
            let (choice, backend) = select()?;
            commands::sweep::run(&backend, &choice, cli.backend_config.as_deref(), args)
        }
    }
}
