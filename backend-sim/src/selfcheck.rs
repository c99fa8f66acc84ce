//! Determinism self-checks and seed reporting, for tests that drive the simulator.
//!
//! - [`check_determinism`] runs a scenario twice with the same seed on fresh runtimes and
//!   compares the two traces byte for byte.
//! - [`run_seeded`] runs a scenario and, if it panics (a failing assertion), prints the seed
//!   and the command line that replays it (`RTL_SIM_SEED=<n>`), then fails with the same
//!   information in the panic message.
//! - [`seeds`] is the list of seeds a test should explore: just the one in `RTL_SIM_SEED` when
//!   it is set (replay), else a fixed range.

use crate::config::{parse_seed, Config, SEED_ENV};
use crate::runtime::SimRuntime;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};

/// Two runs of one seed made different decisions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Divergence {
    /// The seed.
    pub seed: u64,
    /// The first line (1-based) where the traces differ.
    pub line: usize,
    /// That line in the first run (empty if the first trace ended).
    pub first: String,
    /// That line in the second run.
    pub second: String,
}

impl std::fmt::Display for Divergence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "seed {} is not deterministic: trace line {} differs:\n  first:  {}\n  second: {}",
            self.seed, self.line, self.first, self.second
        )
    }
}

/// Runs `scenario` twice, each on a fresh runtime opened with `config` (same seed), and
/// compares the traces. Returns the trace when they are byte-identical.
pub fn check_determinism(
    config: &Config,
    scenario: impl Fn(&SimRuntime),
) -> Result<String, Divergence> {
    let run = || {
        let rt = SimRuntime::new(config.clone()).expect("simulator opens");
        scenario(&rt);
        (rt.seed(), rt.trace_text())
    };
    let (seed, first) = run();
    let (_, second) = run();
    if first == second {
        return Ok(first);
    }
    let a: Vec<&str> = first.lines().collect();
    let b: Vec<&str> = second.lines().collect();
    let line = (0..a.len().max(b.len()))
        .find(|i| a.get(*i) != b.get(*i))
        .unwrap_or(0);
    Err(Divergence {
        seed,
        line: line + 1,
        first: a.get(line).unwrap_or(&"").to_string(),
        second: b.get(line).unwrap_or(&"").to_string(),
    })
}

/// The replay hint for `seed`.
pub fn replay_hint(seed: u64) -> String {
    format!("simulation seed {seed}: replay with {SEED_ENV}={seed}")
}

/// Runs `f` on a fresh runtime opened with `config`. If `f` panics, prints the seed and how to
/// replay it on stderr, and panics again with that text prepended to the original message.
pub fn run_seeded<R>(config: Config, f: impl FnOnce(&SimRuntime) -> R) -> R {
    let rt = SimRuntime::new(config).expect("simulator opens");
    let seed = rt.seed();
    match catch_unwind(AssertUnwindSafe(|| f(&rt))) {
        Ok(r) => r,
        Err(payload) => {
            let original = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "(non-text panic)".to_string());
            let hint = replay_hint(seed);
            // A test helper: the whole point is to tell the person running the test.
            eprintln!("{hint}");
            drop(rt);
            resume_unwind(Box::new(format!("{hint}\n{original}")))
        }
    }
}

/// The seeds a test explores: `[RTL_SIM_SEED]` when the variable is set (to replay one run),
/// else `first..first + count`.
pub fn seeds(first: u64, count: u64) -> Vec<u64> {
    match std::env::var(SEED_ENV).ok().as_deref().and_then(parse_seed) {
        Some(seed) => vec![seed],
        None => (first..first + count).collect(),
    }
}
