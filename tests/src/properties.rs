//! What the property tests share: case counts, the simulator plugin, running a scenario on a
//! fresh simulated runtime, and failure messages that carry the seed and how to replay it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::{json, Value};

use crate::runner::{run_plan, Record, RunOptions};
use crate::scenario::{Plan, Scenario};
use crate::sim::SimInspector;

/// The environment variable that pins the simulator seed of every generated scenario.
pub const SEED_ENV: &str = "RTL_SIM_SEED";
/// The environment variable that switches on simulator mutations (comma-separated names).
pub const MUTATIONS_ENV: &str = "RTL_SIM_MUTATIONS";
/// The environment variable that overrides every property's case count.
pub const CASES_ENV: &str = "RTL_PROPTEST_CASES";

/// Writes a summary line straight to the process's standard error, past the test harness's
/// output capture, so that CI logs show what ran (case counts, known divergences) even for
/// passing tests.
pub fn log_line(line: &str) {
    use std::io::Write;
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{line}");
}

/// Whether the suite runs under CI: `CI=true` or `RTL_REQUIRE_RUNC=1`.
pub fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
        || std::env::var("RTL_REQUIRE_RUNC").is_ok_and(|v| v == "1")
}

/// The number of cases: [`CASES_ENV`] if set, else `ci` under CI, else `local`.
pub fn case_count(ci: u32, local: u32) -> u32 {
    if let Some(n) = std::env::var(CASES_ENV)
        .ok()
        .and_then(|v| v.trim().parse().ok())
    {
        return n;
    }
    if under_ci() {
        ci
    } else {
        local
    }
}

/// The simulator plugin, loaded once per test binary (built if needed).
pub fn sim_plugin() -> &'static plugin::Plugin {
    static PLUGIN: OnceLock<plugin::Plugin> = OnceLock::new();
    PLUGIN.get_or_init(|| {
        let path = plugin::testing::plugin_path("backend-sim");
        plugin::load(&path).unwrap_or_else(|e| panic!("loading the simulator plugin: {e}"))
    })
}

/// The mutations asked for with [`MUTATIONS_ENV`], as the simulator's `mutations` object.
pub fn mutations_from_env() -> Value {
    let mut m = serde_json::Map::new();
    if let Ok(names) = std::env::var(MUTATIONS_ENV) {
        for name in names.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            m.insert(name.to_string(), Value::Bool(true));
        }
    }
    Value::Object(m)
}

/// The seed a scenario runs under: [`SEED_ENV`] if set (decimal or 0x-hex), else its own.
pub fn effective_seed(scenario: &Scenario) -> u64 {
    match std::env::var(SEED_ENV) {
        Ok(text) => {
            let text = text.trim();
            let parsed = match text.strip_prefix("0x") {
                Some(hex) => u64::from_str_radix(hex, 16).ok(),
                None => text.parse().ok(),
            };
            parsed.unwrap_or_else(|| panic!("{SEED_ENV}={text:?} is not a u64"))
        }
        Err(_) => scenario.seed,
    }
}

/// One scenario's run on the simulator.
pub struct SimRun {
    /// The plan that ran.
    pub plan: Plan,
    /// The simulator seed it ran under.
    pub seed: u64,
    /// The mutations that were on.
    pub mutations: Value,
    /// What happened.
    pub record: Record,
    /// The simulator's own rule self-check (printed only; the oracles never use it).
    pub self_check: Vec<String>,
}

static RUNS: AtomicUsize = AtomicUsize::new(0);

/// How many scenarios [`run_on_sim`] ran in this process.
pub fn runs() -> usize {
    RUNS.load(Ordering::Relaxed)
}

/// Runs `scenario` on a fresh simulated runtime (through the plugin loader) opened with its
/// seed and the mutations of [`MUTATIONS_ENV`].
pub fn run_on_sim(scenario: &Scenario) -> SimRun {
    RUNS.fetch_add(1, Ordering::Relaxed);
    let mut plan = scenario.plan();
    plan.seed = effective_seed(scenario);
    let mutations = mutations_from_env();
    let runtime = sim_plugin()
        .open(&json!({ "seed": plan.seed, "mutations": mutations }))
        .unwrap_or_else(|e| panic!("opening the simulator: {e}"));
    let inspector = SimInspector::new(runtime.as_ref()).expect("the simulator's inspector");
    let dir = tempfile::Builder::new()
        .prefix("rtl-props-")
        .tempdir()
        .expect("a temp dir");
    let opts = RunOptions {
        id_prefix: "p".into(),
        wait_bound: Duration::from_secs(30),
        rootfs: false,
        unique_ids: false,
        sandbox_id: "rtctl-scenario".into(),
        ..RunOptions::default()
    };
    let record = run_plan(runtime.as_ref(), Some(&inspector), &plan, &opts, dir.path());
    let self_check = inspector.self_check();
    SimRun {
        plan,
        seed: inspector_seed(&inspector),
        mutations,
        record,
        self_check,
    }
}

fn inspector_seed(i: &SimInspector<'_>) -> u64 {
    crate::inspect::Inspector::seed(i)
}

impl SimRun {
    /// The failure message of a property: the violations, the plan, the seed and how to replay.
    pub fn failure(&self, rule: &str, violations: &[String]) -> String {
        let mut m = format!("{rule} violated (simulator seed {}):\n", self.seed);
        for v in violations {
            m.push_str(&format!("  - {v}\n"));
        }
        m.push_str(&format!("{:?}\n", self.plan));
        if self.mutations.as_object().is_some_and(|o| !o.is_empty()) {
            m.push_str(&format!("simulator mutations on: {}\n", self.mutations));
        }
        if !self.self_check.is_empty() {
            m.push_str(&format!(
                "(the simulator's own self-check also saw: {:?})\n",
                self.self_check
            ));
        }
        m.push_str(&format!(
            "replay: the shrunk scenario is saved in tests/proptest-regressions/ and runs first \
             next time; {SEED_ENV}={} pins this simulator seed",
            self.seed
        ));
        m
    }
}
