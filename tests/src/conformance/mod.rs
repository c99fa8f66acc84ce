//! The conformance suite: one set of cases, written against the `runtime-api` traits, that
//! every backend must pass.
//!
//! Run it against a plugin with [`run`] (or the `rtl-conformance` binary: `rtl-conformance
//! <plugin.so> [config-json]`), or against any runtime already opened with [`run_runtime`].
//! Each case uses fresh container ids (unique per process and run) and its own bundles in a
//! temporary directory, and deletes what it created, so the suite can run next to others.
//!
//! Areas, one module each: [`lifecycle`], [`exec`], [`stdio`], [`tty`], [`pause`],
//! [`listing`], [`errors`] (every error kind a caller can provoke through the traits), and
//! [`rules`] (rule 1 and rule 2).

pub mod env;
pub mod errors;
pub mod exec;
pub mod lifecycle;
pub mod listing;
pub mod pause;
pub mod recovery;
pub mod rules;
pub mod stdio;
pub mod tty;

use std::fmt;
use std::path::Path;

use runtime_api::Runtime;

pub use env::Env;

/// What a case concluded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Every check held.
    Passed,
    /// A check failed; the message says which and what was seen.
    Failed(String),
    /// The backend cannot run this case here (the reason says why, e.g. runc refusing a
    /// shared non-empty cgroup); not a failure.
    Skipped(String),
}

/// The result of one case body: `Err` is a failure message.
pub type CaseResult = Result<Outcome, String>;

/// One conformance case.
#[derive(Clone, Copy)]
pub struct Case {
    /// Its area (`"lifecycle"`, `"exec"`, ...).
    pub area: &'static str,
    /// Its name, unique in the suite.
    pub name: &'static str,
    /// The body.
    pub run: fn(&Env) -> CaseResult,
}

/// Every case of the suite, in area order.
pub fn cases() -> Vec<Case> {
    let mut all = Vec::new();
    all.extend(lifecycle::cases());
    all.extend(exec::cases());
    all.extend(stdio::cases());
    all.extend(tty::cases());
    all.extend(pause::cases());
    all.extend(listing::cases());
    all.extend(errors::cases());
    all.extend(rules::cases());
    all.extend(recovery::cases());
    all
}

/// The outcome of every case against one backend.
#[derive(Debug, Clone)]
pub struct Report {
    /// The backend's name.
    pub backend: String,
    /// `(area, case, outcome)` in suite order.
    pub results: Vec<(&'static str, &'static str, Outcome)>,
}

impl Report {
    /// Cases that failed.
    pub fn failures(&self) -> Vec<(&'static str, &'static str, &str)> {
        self.results
            .iter()
            .filter_map(|(a, n, o)| match o {
                Outcome::Failed(m) => Some((*a, *n, m.as_str())),
                _ => None,
            })
            .collect()
    }

    /// Whether no case failed.
    pub fn passed(&self) -> bool {
        self.failures().is_empty()
    }

    /// How many cases passed, failed and were skipped.
    pub fn counts(&self) -> (usize, usize, usize) {
        let mut c = (0, 0, 0);
        for (_, _, o) in &self.results {
            match o {
                Outcome::Passed => c.0 += 1,
                Outcome::Failed(_) => c.1 += 1,
                Outcome::Skipped(_) => c.2 += 1,
            }
        }
        c
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (area, name, o) in &self.results {
            match o {
                Outcome::Passed => writeln!(f, "ok      {}::{area}::{name}", self.backend)?,
                Outcome::Failed(m) => writeln!(f, "FAILED  {}::{area}::{name}: {m}", self.backend)?,
                Outcome::Skipped(m) => {
                    writeln!(f, "skipped {}::{area}::{name}: {m}", self.backend)?
                }
            }
        }
        let (p, fl, s) = self.counts();
        write!(
            f,
            "conformance of {}: {p} passed, {fl} failed, {s} skipped",
            self.backend
        )
    }
}

/// Runs every case (whose name contains `filter`, if given) against `runtime`, on `threads`
/// threads. Open the runtime with a non-zero drain grace (the suite's own tests use 500 ms):
/// a case checks that a cut relay reports the grace that expired. `cgroup_prefix`: where shared-cgroup cases put their cgroups.
pub fn run_runtime(
    backend: &str,
    runtime: &dyn Runtime,
    filter: Option<&str>,
    threads: usize,
) -> Report {
    let selected: Vec<Case> = cases()
        .into_iter()
        .filter(|c| filter.is_none_or(|f| c.name.contains(f) || c.area.contains(f)))
        .collect();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let slots: Vec<std::sync::Mutex<Option<Outcome>>> = selected
        .iter()
        .map(|_| std::sync::Mutex::new(None))
        .collect();
    std::thread::scope(|s| {
        for _ in 0..threads.max(1) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(case) = selected.get(i) else { break };
                let outcome = run_case(runtime, case);
                *slots[i].lock().unwrap_or_else(|p| p.into_inner()) = Some(outcome);
            });
        }
    });
    Report {
        backend: backend.to_string(),
        results: selected
            .iter()
            .zip(slots)
            .map(|(c, slot)| {
                let o = slot
                    .into_inner()
                    .unwrap_or_else(|p| p.into_inner())
                    .unwrap_or_else(|| Outcome::Failed("never ran".into()));
                (c.area, c.name, o)
            })
            .collect(),
    }
}

fn run_case(runtime: &dyn Runtime, case: &Case) -> Outcome {
    let env = match Env::new(runtime, case.name) {
        Ok(env) => env,
        Err(e) => return Outcome::Failed(format!("setting up: {e}")),
    };
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (case.run)(&env)));
    let outcome = match result {
        Ok(Ok(o)) => o,
        Ok(Err(m)) => Outcome::Failed(m),
        Err(panic) => Outcome::Failed(format!(
            "panicked: {}",
            panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default()
        )),
    };
    let leftovers = env.cleanup();
    match (outcome, leftovers) {
        (Outcome::Passed, Some(l)) => Outcome::Failed(format!("left behind: {l}")),
        (o, _) => o,
    }
}

/// Loads the plugin at `plugin_path`, opens it with `config`, and runs the whole suite.
pub fn run(plugin_path: &Path, config: &serde_json::Value) -> Result<Report, String> {
    let plugin = plugin::load(plugin_path).map_err(|e| e.to_string())?;
    let runtime = plugin.open(config).map_err(|e| e.to_string())?;
    Ok(run_runtime(plugin.name(), runtime.as_ref(), None, 2))
}
