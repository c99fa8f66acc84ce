//! `rtctl scenario FILE [--seed N] [--trace OUT.json]`: plays a scenario once, printing each
//! step's result and verdicts.

use std::path::Path;
use std::sync::Arc;

use serde_json::Value;

use crate::backend_select::Backend;
use crate::cli_args::ScenarioArgs;
use crate::error::CliError;
use crate::scenario::exec::{self, Outcome, RunOptions, StepReport};
use crate::scenario::interrupt::{Interrupt, InterruptGuard};
use crate::scenario::{parse, Scenario};
use crate::sim_ext::{self, SimRun, TraceSummary};

/// Reads and parses a scenario file, with one-line errors.
pub fn load(path: &Path) -> Result<Scenario, CliError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            CliError::new(format!("scenario {}: no such file", path.display()))
        } else {
            CliError::new(format!("scenario {}: {e}", path.display()))
        }
    })?;
    parse::parse(path, &text).map_err(|e| CliError::new(e.to_string()))
}

/// What one complete scenario run on one runtime gave: the scenario's outcome, and on the
/// simulator the rule check and the trace.
pub struct Played {
    /// The scenario's own verdict.
    pub outcome: Outcome,
    /// Simulator only: the rule violations found (empty: both rules held).
    pub violations: Vec<String>,
    /// Simulator only: the run's seed.
    pub sim: Option<SimRun>,
    /// Simulator only: the trace (always for `scenario`; for `sweep`, of failing seeds only).
    pub trace: Option<TraceSummary>,
}

impl Played {
    /// The first reason the run failed, in one line.
    pub fn failure_line(&self) -> Option<String> {
        if let Some(f) = &self.outcome.failure {
            return Some(format!("line {}: {}", f.line, f.message));
        }
        self.violations
            .first()
            .map(|v| format!("rule violated: {v}"))
    }
}

/// Plays `scenario` on a fresh runtime of `backend` (on the simulator with `seed`), in the
/// exact sequence of calls `sweep` makes, so a seed replays identically. On the simulator the
/// trace is read when `always_trace` is set or the run failed, and written as a Chrome trace
/// to `trace_out` if given.
pub fn play(
    backend: &Backend,
    scenario: &Scenario,
    seed: Option<u64>,
    always_trace: bool,
    trace_out: Option<&Path>,
    options: &RunOptions,
    report: &mut dyn FnMut(&StepReport),
) -> Result<Played, CliError> {
    let runtime = match seed {
        Some(seed) => backend.open_with(&[("seed", Value::from(seed))])?,
        None => backend.open()?,
    };
    let outcome = exec::run(runtime.as_ref(), scenario, options, report);
    let mut played = Played {
        outcome,
        violations: Vec::new(),
        sim: None,
        trace: None,
    };
    if backend.is_simulator() {
        let sim = SimRun::inspect(runtime.as_ref())?;
        played.violations = sim.violations.clone();
        played.sim = Some(sim);
        if always_trace || played.failure_line().is_some() {
            played.trace = Some(sim_ext::trace_summary(runtime.as_ref())?);
        }
        if let Some(out) = trace_out {
            sim_ext::write_chrome_trace(runtime.as_ref(), out)?;
        }
    }
    Ok(played)
}

/// Runs the command; exits 0 when everything held, 1 otherwise.
pub fn run(backend: &Backend, args: &ScenarioArgs) -> Result<i32, CliError> {
    if !backend.is_simulator() && (args.seed.is_some() || args.trace.is_some()) {
        return Err(CliError::new(format!(
            "--seed and --trace apply only to the simulator (the backend is {:?})",
            backend.plugin().name()
        )));
    }
    let scenario = load(&args.file)?;
    let interrupt = Arc::new(Interrupt::default());
    let _guard = InterruptGuard::install(interrupt.clone())
        .map_err(|e| CliError::new(format!("cannot install signal handlers: {e}")))?;
    let options = RunOptions {
        id_prefix: args.id_prefix.clone(),
        sandbox_id: "rtctl-scenario".into(),
        interrupt: Some(interrupt.clone()),
    };
    let played = play(
        backend,
        &scenario,
        args.seed,
        true,
        args.trace.as_deref(),
        &options,
        &mut print_step,
    )?;
    for p in &played.outcome.cleanup_problems {
        println!("cleanup: {p}");
    }
    if let Some(sim) = &played.sim {
        if played.violations.is_empty() {
            println!("rules: both held");
        }
        for v in &played.violations {
            println!("rules: VIOLATED: {v}");
        }
        if let Some(out) = &args.trace {
            println!("trace: written to {}", out.display());
        }
        match &played.trace {
            Some(t) => println!(
                "seed {}: trace {} events, digest {}",
                sim.seed, t.events, t.digest
            ),
            None => println!("seed {}", sim.seed),
        }
    }
    match played.failure_line() {
        None => {
            println!(
                "PASSED: {} steps of {}",
                played.outcome.steps_run,
                scenario.path.display()
            );
            Ok(0)
        }
        Some(line) => {
            println!("FAILED: {line}");
            // Interrupted: exit as a shell reports death by that signal.
            Ok(interrupt.signal().map_or(1, |s| 128 + s.number()))
        }
    }
}

fn print_step(r: &StepReport) {
    println!("line {:>3}: {}", r.line, r.text);
    println!("          -> {}", r.result);
    for (what, verdict) in &r.checks {
        match verdict {
            Ok(()) => println!("          ok      {what}"),
            Err(why) => println!("          FAILED  {what}: {why}"),
        }
    }
}
