//! What the property tests share: case counts, the simulator plugin, running a scenario on a
//! fresh simulated runtime, and failure messages that carry the seed and how to replay it.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use proptest::test_runner::{
    Config, FileFailurePersistence, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner,
};

use serde_json::{json, Value};

use crate::runner::{run_plan, Record, RunOptions};
use crate::scenario::strategy::{scenarios, Shape};
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
    /// The rendered event trace (the simulator's `trace` extension), when asked for.
    pub trace: Option<String>,
}

static RUNS: AtomicUsize = AtomicUsize::new(0);

/// How many scenarios [`run_on_sim`] ran in this process.
pub fn runs() -> usize {
    RUNS.load(Ordering::Relaxed)
}

/// Runs `scenario` on a fresh simulated runtime (through the plugin loader) opened with its
/// seed and the mutations of [`MUTATIONS_ENV`].
pub fn run_on_sim(scenario: &Scenario) -> SimRun {
    run_on_sim_with(scenario, &mutations_from_env(), false)
}

/// How long one `wait` of a simulated scenario may take before it counts as hung.
pub const SIM_WAIT_BOUND: Duration = Duration::from_secs(30);

/// Runs `scenario` on a fresh simulated runtime opened with its seed and `mutations`; with
/// `keep_trace`, the run's rendered event trace is kept in [`SimRun::trace`].
///
/// The run happens on a scenario worker thread, with its `wait`s inline
/// ([`crate::worker`]). If one of them is still going after [`SIM_WAIT_BOUND`], the
/// scenario is run once more here with every `wait` on a waiter thread (each bounded the same
/// way), so that the record says what a hang left behind, and the first run's hung `wait` is
/// added to the record's failures (a hang fails the scenario even if the second run ends).
pub fn run_on_sim_with(scenario: &Scenario, mutations: &Value, keep_trace: bool) -> SimRun {
    match crate::worker::run_scenario(
        run_with_inline_waits,
        scenario,
        mutations,
        keep_trace,
        SIM_WAIT_BOUND,
    ) {
        Ok(run) => run,
        Err(whose) => {
            let mut run = run_on_sim_here(scenario, mutations, keep_trace, None);
            run.record.failures.push(format!(
                "wait {whose}: did not return within {SIM_WAIT_BOUND:?} (on the scenario \
                 worker; this record is of a second run, with bounded waits)"
            ));
            run
        }
    }
}

fn run_with_inline_waits(
    scenario: &Scenario,
    mutations: &Value,
    keep_trace: bool,
    watch: std::sync::Arc<crate::waiter::WaitWatch>,
) -> (SimRun, crate::worker::Leftovers) {
    let (run, runtime) = run_on_sim_kept(scenario, mutations, keep_trace, Some(watch));
    (run, Box::new(runtime))
}

/// [`run_on_sim_with`] on this thread: waits inline through `inline_waits`, or on waiter
/// threads bounded by [`SIM_WAIT_BOUND`].
fn run_on_sim_here(
    scenario: &Scenario,
    mutations: &Value,
    keep_trace: bool,
    inline_waits: Option<std::sync::Arc<crate::waiter::WaitWatch>>,
) -> SimRun {
    run_on_sim_kept(scenario, mutations, keep_trace, inline_waits).0
}

/// [`run_on_sim_here`], returning the simulated runtime too, for the caller to drop when it
/// suits it (a scenario worker drops it after handing the run over).
fn run_on_sim_kept(
    scenario: &Scenario,
    mutations: &Value,
    keep_trace: bool,
    inline_waits: Option<std::sync::Arc<crate::waiter::WaitWatch>>,
) -> (SimRun, Box<dyn runtime_api::Runtime>) {
    RUNS.fetch_add(1, Ordering::Relaxed);
    let mut plan = scenario.plan();
    plan.seed = effective_seed(scenario);
    let mutations = mutations.clone();
    let runtime = sim_plugin()
        .open(&json!({ "seed": plan.seed, "mutations": mutations }))
        .unwrap_or_else(|e| panic!("opening the simulator: {e}"));
    let inspector = SimInspector::new(runtime.as_ref()).expect("the simulator's inspector");
    let opts = RunOptions {
        id_prefix: "p".into(),
        wait_bound: SIM_WAIT_BOUND,
        rootfs: false,
        unique_ids: false,
        sandbox_id: crate::replay::RTCTL_SANDBOX.into(),
        inline_waits,
        ..RunOptions::default()
    };
    let record =
        with_bundle_dir(|dir| run_plan(runtime.as_ref(), Some(&inspector), &plan, &opts, dir));
    let self_check = inspector.self_check();
    let trace = keep_trace.then(|| {
        let t = runtime
            .extension("trace", &json!({}))
            .unwrap_or_else(|e| panic!("the simulator's trace: {e}"));
        t.get("text")
            .and_then(Value::as_str)
            .map_or_else(|| t.to_string(), str::to_string)
    });
    let run = SimRun {
        plan,
        seed: inspector_seed(&inspector),
        mutations,
        record,
        self_check,
        trace,
    };
    (run, runtime)
}

/// The directory for this thread's runs' bundles (each run rewrites `c<i>/config.json`; the
/// simulator reads it only at create): on `/dev/shm` (tmpfs) where there is one, since creating
/// and removing directories on ext4 by the thousand cost more CPU than the simulated runs
/// themselves (the inode allocator scans recently deleted inodes); else in the system temp
/// directory. One per thread (runs on several threads at once must not share), kept until the
/// thread ends: making and removing a directory per run and per container was a large share of
/// a scenario's CPU time.
fn with_bundle_dir<T>(f: impl FnOnce(&Path) -> T) -> T {
    thread_local! {
        static DIR: tempfile::TempDir = {
            let shm = Path::new("/dev/shm");
            let builder = || {
                let mut b = tempfile::Builder::new();
                b.prefix("rtl-props-");
                b
            };
            shm.is_dir()
                .then(|| builder().tempdir_in(shm).ok())
                .flatten()
                .unwrap_or_else(|| builder().tempdir().expect("a temp dir"))
        };
    }
    DIR.with(|d| f(d.path()))
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

    /// The rtctl command that replays this run from a `.scenario` file at `path`.
    pub fn replay_command(&self, path: &Path) -> String {
        let config = if self.mutations.as_object().is_some_and(|o| !o.is_empty()) {
            format!(
                " --backend-config '{}'",
                json!({ "mutations": self.mutations })
            )
        } else {
            String::new()
        };
        format!(
            "rtctl --backend sim{config} scenario {} --seed {}",
            path.display(),
            self.seed
        )
    }

    /// Writes the run as `<dir>/<stem>.scenario` (and its bundles), headed by `header` lines
    /// and the replay command; returns its path. `rtctl scenario` on it makes the same calls,
    /// so on the simulator with the same seed and mutations the trace is the same.
    pub fn write_scenario(&self, dir: &Path, stem: &str, header: &[String]) -> io::Result<PathBuf> {
        let path = dir.join(format!("{stem}.scenario"));
        let mut lines = header.to_vec();
        lines.push(format!("simulator seed {}", self.seed));
        lines.push(format!("replay: {}", self.replay_command(&path)));
        crate::replay::write(dir, stem, &self.record.calls, &lines)
    }
}

/// A rule as a property: what it is called, and its judge of a run (violations, and known
/// simulator races set apart).
pub struct Rule {
    /// `rule 1` or `rule 2`.
    pub name: &'static str,
    /// The judge.
    pub judge: fn(&SimRun) -> (Vec<String>, Vec<String>),
}

/// Rule 1 with the clean-run check.
pub const RULE1: Rule = Rule {
    name: "rule 1",
    judge: |run| {
        let mut v = crate::checks::rule1(&run.record);
        v.extend(crate::checks::clean_run(&run.record));
        (v, Vec::new())
    },
};

/// Rule 2 with the clean-run check.
pub const RULE2: Rule = Rule {
    name: "rule 2",
    judge: |run| {
        let (mut v, known) = crate::checks::rule2_with_known(&run.record);
        v.extend(crate::checks::clean_run(&run.record));
        (v, known)
    },
};

/// What a property run found.
pub struct PropertyOutcome {
    /// Scenarios run, shrinking included.
    pub ran: usize,
    /// Known simulator races set apart (with their seeds).
    pub known: Vec<String>,
    /// The failure, if one was found: proptest's message and the shrunk scenario's run (with
    /// its trace).
    pub failure: Option<(String, SimRun)>,
}

/// Checks `rule` over `cases` generated scenarios of `shape` on the simulator with
/// `mutations` (`persistence`: proptest's regression file, replayed first). A failure is
/// shrunk to a minimal scenario, which is run once more with its trace kept. `generator_seed`
/// makes the generated scenarios themselves deterministic (a sweep's chunks); `None` lets
/// proptest pick.
pub fn check_rule(
    rule: &Rule,
    shape: Shape,
    cases: u32,
    mutations: &Value,
    persistence: Option<&'static str>,
    generator_seed: Option<u64>,
) -> PropertyOutcome {
    let config = Config {
        cases,
        failure_persistence: persistence
            .map(|f| Box::new(FileFailurePersistence::Direct(f)) as Box<_>),
        max_shrink_iters: 4096,
        ..Config::default()
    };
    let ran = AtomicUsize::new(0);
    let known: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let mut runner = match generator_seed {
        Some(seed) => {
            let mut bytes = [0u8; 32];
            for chunk in bytes.chunks_mut(8) {
                chunk.copy_from_slice(&seed.to_le_bytes());
            }
            TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &bytes))
        }
        None => TestRunner::new(config),
    };
    let result = runner.run(&scenarios(shape), |scenario| {
        ran.fetch_add(1, Ordering::Relaxed);
        let run = run_on_sim_with(&scenario, mutations, false);
        let (violations, set_apart) = (rule.judge)(&run);
        if !set_apart.is_empty() {
            known.lock().unwrap_or_else(|p| p.into_inner()).extend(
                set_apart
                    .into_iter()
                    .map(|k| format!("seed {}: {k}", run.seed)),
            );
        }
        if violations.is_empty() {
            Ok(())
        } else {
            Err(TestCaseError::fail(run.failure(rule.name, &violations)))
        }
    });
    let failure = match result {
        Ok(()) => None,
        Err(TestError::Fail(why, scenario)) => {
            Some((why.to_string(), run_on_sim_with(&scenario, mutations, true)))
        }
        Err(TestError::Abort(why)) => panic!("{}: proptest aborted: {why}", rule.name),
    };
    PropertyOutcome {
        ran: ran.load(Ordering::Relaxed),
        known: known.into_inner().unwrap_or_else(|p| p.into_inner()),
        failure,
    }
}
