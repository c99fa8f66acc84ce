//! Runs a [`Plan`] against any [`Runtime`] and records everything a rule oracle or a
//! differential comparison needs.
//!
//! The runner never judges: it records exit statuses, delivered bytes, relay reports, refused
//! operations and, right after each init's `wait` returns, a probe of the container and of its
//! cgroup peers. [`crate::checks`] judges the record.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use runtime_api::{
    Container, ErrorKind, ExitStatus, Process, ProcessInfo, RelayReport, Runtime, Signal, Status,
    StdioSet,
};
use testkit::{BundleBuilder, PidNamespace};

use crate::connection::{connect, Collected, Drain};
use crate::inspect::{Inspector, KernelProcess, RelayFacts};
use crate::replay::{exec_name, Call, Logged};
use crate::scenario::{PidNs, Plan, Script, StdioPlan, Step};
use crate::waiter::WaitWatch;

/// Where and how a plan runs.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Prefix of container ids (made unique per run).
    pub id_prefix: String,
    /// Prefix of cgroup paths (containers of one cgroup group share `<prefix>/<run>-g<n>`).
    pub cgroup_prefix: String,
    /// Wall-clock bound on one `wait`; past it the wait counts as hung.
    pub wait_bound: Duration,
    /// Wall-clock bound, after `wait` returned, for the runtime to close each connection.
    pub close_bound: Duration,
    /// Timing-independent mode (differential runs): before a stop and before teardown, wait
    /// every exec not waited yet (generated execs end by themselves), so that no exec is killed
    /// mid-script; after the steps, record [`Record::final_survivors`].
    pub settle: bool,
    /// Whether bundles get a busybox `rootfs/` (a real backend needs one; the simulator reads
    /// only `config.json`, and copying busybox per container dominated a simulated run).
    pub rootfs: bool,
    /// Whether container ids carry the process id and a run counter (unique on a shared
    /// backend such as runc). Without, ids are `<id_prefix>-c<n>` and cgroups
    /// `<cgroup_prefix>/<id_prefix>-g<n>`: a fresh simulator per run needs no more, and the
    /// run can be written as a `.scenario` file that replays it call for call.
    pub unique_ids: bool,
    /// The sandbox id given to `create_container`.
    pub sandbox_id: String,
    /// When set, each `wait` runs on the runner's own thread, watched through this (whoever
    /// owns the runner's thread bounds it: see `crate::worker`); when not, each runs on a
    /// waiter thread and is given up after [`wait_bound`](Self::wait_bound).
    pub inline_waits: Option<Arc<WaitWatch>>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            id_prefix: "suite".into(),
            cgroup_prefix: "/rtl-suites".into(),
            wait_bound: Duration::from_secs(60),
            close_bound: Duration::from_secs(10),
            settle: false,
            rootfs: true,
            unique_ids: true,
            sandbox_id: "suite-sandbox".into(),
            inline_waits: None,
        }
    }
}

static RUNS: AtomicU64 = AtomicU64::new(0);

/// A process the plan ran (an init or an exec) and what it did.
#[derive(Debug)]
pub struct ProcRecord {
    /// `c<n> init` or `e<n> in c<m>`.
    pub label: String,
    /// Its container's index.
    pub container: usize,
    /// The index among execs, `None` for an init.
    pub exec: Option<usize>,
    /// Its pid.
    pub pid: i32,
    /// Its script.
    pub script: Script,
    /// Whether it is PID 1 of its own namespace.
    pub namespace_init: bool,
    /// Its connections.
    pub stdio: StdioPlan,
    /// What `wait` returned; `None` if it did not return within the bound (hung).
    pub status: Option<Result<ExitStatus, ErrorKind>>,
    /// The backend's clock when `wait` was called (with an inspector).
    pub wait_called_at: Option<Duration>,
    /// The backend's clock when `wait` returned (with an inspector).
    pub waited_at: Option<Duration>,
    /// Bytes on the stdout connection; `None` if not connected or never closed.
    pub stdout: Option<Collected>,
    /// Bytes on the stderr connection.
    pub stderr: Option<Collected>,
    /// Connected streams the runtime had not closed within the bound after `wait` returned.
    pub unclosed: Vec<&'static str>,
    /// The relay report after `wait`.
    pub relay: Option<RelayReport>,
    /// The backend's relay facts (with an inspector).
    pub facts: Option<RelayFacts>,
    /// Signals the plan sent to it with `kill` before it was waited for.
    pub signals: Vec<Signal>,
}

/// What the plan saw right after the `wait` of a container's init returned.
#[derive(Debug)]
pub struct InitExitProbe {
    /// The container.
    pub container: usize,
    /// `all_processes()` right after (zombies included).
    pub listed: Result<Vec<ProcessInfo>, ErrorKind>,
    /// The kernel's processes of the container's cgroup (with an inspector).
    pub kernel: Option<Vec<KernelProcess>>,
    /// Every process the kernel had at that moment, any container (with an inspector): tells
    /// who a leftover zombie's parent is. Read only when [`kernel`](Self::kernel) lists a
    /// zombie (`None` otherwise: there is no parent to tell, and reading every process of the
    /// kernel after each init exit was a large share of the inspector's cost).
    pub kernel_all: Option<Vec<KernelProcess>>,
    /// Cgroup-wide kills issued for the container before and after the wait (with an
    /// inspector).
    pub kill_all: Option<(usize, usize)>,
    /// Cgroup peers outside this container's pid namespace whose init was still alive before
    /// the wait, and how each ended if it is now stopped (`None`: still running).
    pub peers: Vec<(usize, Option<Result<ExitStatus, ErrorKind>>)>,
}

/// One exec attempt.
#[derive(Debug)]
pub enum ExecRecord {
    /// It started.
    Started {
        /// Index into [`Record::procs`].
        proc: usize,
        /// Whether the init's `wait` had returned before the exec.
        init_waited: bool,
    },
    /// It was refused with this kind; `init_waited` says whether the container's init `wait`
    /// had already returned.
    Refused {
        /// The container.
        container: usize,
        /// The error kind.
        kind: ErrorKind,
        /// Whether the init's `wait` had returned before the exec.
        init_waited: bool,
    },
}

/// Everything a run recorded.
#[derive(Debug)]
pub struct Record {
    /// The plan that ran.
    pub plan: Plan,
    /// The container ids used.
    pub ids: Vec<String>,
    /// Init records first (index = container), then exec records.
    pub procs: Vec<ProcRecord>,
    /// Exec attempts, in order.
    pub execs: Vec<ExecRecord>,
    /// Init-exit probes, in the order the waits returned.
    pub init_exits: Vec<InitExitProbe>,
    /// `kill` results, in order: (container, signal, outcome).
    pub kills: Vec<(usize, Signal, Result<(), ErrorKind>)>,
    /// Snapshots of live processes per container after each wait, as
    /// `running_processes().len()` (`None`: the container's init was waited for).
    pub survivors: Vec<Vec<Option<usize>>>,
    /// Operations that failed where the plan expected success (create, start, delete...).
    pub failures: Vec<String>,
    /// With [`RunOptions::settle`]: after the steps and after every exec was waited for, the
    /// number of live processes of each container whose init was not waited for (`None`: it
    /// was).
    pub final_survivors: Option<Vec<Option<usize>>>,
    /// With [`RunOptions::settle`]: at the same settled point, each container's state and
    /// process listing (`None` once its init was waited for).
    pub final_listings: Option<Vec<Option<Listing>>>,
    /// Every backend-moving call, in order: [`crate::replay`] writes it as a `.scenario`.
    pub calls: Vec<Logged>,
}

impl Record {
    fn log(&mut self, call: Call, error: Option<ErrorKind>) {
        self.calls.push(Logged { call, error });
    }
}

/// One listed process as the differential suite compares it: command line, whether the
/// runtime created it, whether it is a zombie.
pub type ListedProcess = (Vec<String>, bool, bool);

/// A container's state and `all_processes()` at a settled point (sorted), or the error kinds.
pub type Listing = (
    Result<Status, ErrorKind>,
    Result<Vec<ListedProcess>, ErrorKind>,
);

struct Live {
    proc: Arc<dyn Process>,
    drains: [Option<Drain>; 2],
    waited: bool,
}

/// Whether container `i`'s failed `start` is explained by a kill that came first: the start
/// was refused as [`ErrorKind::NotStopped`], the container is stopped, and something started
/// before it could have killed it (see [`may_die_before_start`]).
fn killed_before_start(plan: &Plan, i: usize, c: &dyn Container, e: &runtime_api::Error) -> bool {
    e.kind() == ErrorKind::NotStopped
        && matches!(c.state(), Ok(s) if s.status == Status::Stopped)
        && may_die_before_start(plan, i, i, &mut Vec::new())
}

/// Whether container `k`'s init may be dead before container `i` is started (containers
/// start in index order), through a chain of:
/// - a cgroup peer that does not own its pid namespace and was started earlier (its init may
///   exit at once) or itself died early: its init's exit issues a kill-all covering the
///   shared cgroup (rule 1), as runc would;
/// - the owner of the pid namespace `k` joins, started earlier or itself dead early: the
///   kernel kills every process of a namespace whose init died.
fn may_die_before_start(plan: &Plan, k: usize, i: usize, seen: &mut Vec<usize>) -> bool {
    if seen.contains(&k) {
        return false;
    }
    seen.push(k);
    let early = |j: usize, seen: &mut Vec<usize>| j < i || may_die_before_start(plan, j, i, seen);
    let by_peer = plan
        .cgroup_peers(k)
        .into_iter()
        .filter(|&j| j != k && plan.containers[j].pid_ns != PidNs::Own)
        .any(|j| early(j, seen));
    by_peer || namespace_owner(plan, k).is_some_and(|o| early(o, seen))
}

/// The container whose init owns the pid namespace container `i` joins (following joins of
/// joins), if `i` joins one.
fn namespace_owner(plan: &Plan, i: usize) -> Option<usize> {
    let mut at = i;
    // A chain longer than the number of containers is a cycle: no owner.
    for _ in 0..=plan.containers.len() {
        match plan.containers.get(at)?.pid_ns {
            PidNs::Join(j) => at = j,
            PidNs::Own if at != i => return Some(at),
            PidNs::Own | PidNs::Host => return None,
        }
    }
    None
}

/// A container's bundle for one run.
enum RunBundle {
    /// A fresh directory with a rootfs, removed when the run ends.
    Owned(testkit::Bundle),
    /// `config.json` (and an empty `rootfs/`) in a directory of the caller's base, kept.
    ConfigOnly {
        dir: std::path::PathBuf,
        spec: oci_spec::runtime::Spec,
    },
}

impl RunBundle {
    fn path(&self) -> &Path {
        match self {
            RunBundle::Owned(b) => b.path(),
            RunBundle::ConfigOnly { dir, .. } => dir,
        }
    }

    fn spec(&self) -> &oci_spec::runtime::Spec {
        match self {
            RunBundle::Owned(b) => b.spec(),
            RunBundle::ConfigOnly { spec, .. } => spec,
        }
    }
}

/// Runs `plan` on `runtime`. `bundle_base`: where bundles are written (a temp dir). Without
/// [`RunOptions::rootfs`], container `i`'s bundle is `<bundle_base>/c<i>` and stays there
/// (overwritten by the next run on the same base); with it, bundles are fresh directories
/// removed when the run ends.
pub fn run_plan(
    runtime: &dyn Runtime,
    inspector: Option<&dyn Inspector>,
    plan: &Plan,
    opts: &RunOptions,
    bundle_base: &Path,
) -> Record {
    let run = RUNS.fetch_add(1, Ordering::Relaxed);
    let tag = if opts.unique_ids {
        format!("{}-{}-{run}", opts.id_prefix, std::process::id())
    } else {
        opts.id_prefix.clone()
    };
    let mut rec = Record {
        plan: plan.clone(),
        ids: Vec::new(),
        procs: Vec::new(),
        execs: Vec::new(),
        init_exits: Vec::new(),
        kills: Vec::new(),
        survivors: Vec::new(),
        failures: Vec::new(),
        final_survivors: None,
        final_listings: None,
        calls: Vec::new(),
    };
    let mut containers: Vec<Arc<dyn Container>> = Vec::new();
    let mut lives: Vec<Live> = Vec::new();
    let mut bundles = Vec::new();

    // Create every container (joins need the earlier init's pid), then start them.
    for (i, c) in plan.containers.iter().enumerate() {
        let id = format!("{tag}-c{i}");
        rec.ids.push(id.clone());
        let ns = match c.pid_ns {
            PidNs::Own => PidNamespace::Own,
            PidNs::Host => PidNamespace::Host,
            PidNs::Join(j) => {
                PidNamespace::Join(format!("/proc/{}/ns/pid", containers[j].pid()).into())
            }
        };
        let args = c.init.args();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let builder = BundleBuilder::new(&args)
            .pid_namespace(ns)
            .cgroups_path(&format!("{}/{tag}-g{}", opts.cgroup_prefix, c.cgroup))
            .in_dir(bundle_base);
        let bundle = if opts.rootfs {
            builder.build().map(RunBundle::Owned)
        } else {
            // A backend that reads only `config.json`, at create (the simulator): the bundle
            // is `<bundle_base>/c<i>`, rewritten by each run that uses the same base rather
            // than made and removed per container (that cost more than the simulated run), and
            // holds only what such a backend reads.
            let dir = bundle_base.join(format!("c{i}"));
            let builder = builder.config_only();
            builder
                .rewrite_config(&dir)
                .map(|()| RunBundle::ConfigOnly {
                    dir,
                    spec: builder.into_spec(),
                })
        };
        let bundle = match bundle {
            Ok(b) => b,
            Err(e) => {
                rec.failures.push(format!("c{i}: writing its bundle: {e}"));
                break;
            }
        };
        let (stdio, drains) = match make_stdio(c.stdio) {
            Ok(x) => x,
            Err(e) => {
                rec.failures.push(format!("c{i}: making connections: {e}"));
                break;
            }
        };
        let created = runtime.create_container(&opts.sandbox_id, &id, bundle.path(), stdio);
        rec.log(
            Call::Create {
                id: id.clone(),
                spec: Box::new(bundle.spec().clone()),
                stdout: c.stdio.stdout,
                stderr: c.stdio.stderr,
            },
            created.as_ref().err().map(|e| e.kind()),
        );
        match created {
            Ok(container) => {
                let container: Arc<dyn Container> = Arc::from(container);
                rec.procs.push(ProcRecord {
                    label: format!("c{i} init"),
                    container: i,
                    exec: None,
                    pid: container.pid(),
                    script: c.init.clone(),
                    namespace_init: c.pid_ns == PidNs::Own,
                    stdio: c.stdio,
                    status: None,
                    wait_called_at: None,
                    waited_at: None,
                    stdout: None,
                    stderr: None,
                    unclosed: Vec::new(),
                    relay: None,
                    facts: None,
                    signals: Vec::new(),
                });
                lives.push(Live {
                    proc: Arc::new(InitHandle(container.clone())),
                    drains,
                    waited: false,
                });
                containers.push(container);
                bundles.push(bundle);
            }
            Err(e) => {
                rec.failures.push(format!("c{i}: create: {e}"));
                break;
            }
        }
    }
    if !rec.failures.is_empty() {
        teardown(&mut rec, &containers, &mut lives, inspector, opts);
        return rec;
    }
    for (i, c) in containers.iter().enumerate() {
        let started = c.start();
        rec.log(
            Call::Start {
                id: rec.ids[i].clone(),
            },
            started.as_ref().err().map(|e| e.kind()),
        );
        if let Err(e) = started {
            if killed_before_start(plan, i, c.as_ref(), &e) {
                // A cgroup peer's rule-1 kill-all reached this container between its create
                // and its start, as it would on runc: its init's wait reports the SIGKILL and
                // the checks judge whether that death is explained.
                continue;
            }
            rec.failures.push(format!("c{i}: start: {e}"));
        }
    }
    if !rec.failures.is_empty() {
        teardown(&mut rec, &containers, &mut lives, inspector, opts);
        return rec;
    }

    let n = plan.containers.len();
    let mut exec_procs: Vec<usize> = Vec::new(); // exec index -> proc index (usize::MAX: refused)
    for step in &plan.steps {
        match step {
            Step::Exec {
                container,
                script,
                stdio,
            } => {
                let c = &containers[*container];
                let init_waited = lives[*container].waited;
                let exec_index = exec_procs.len();
                let (set, drains) = match make_stdio(*stdio) {
                    Ok(x) => x,
                    Err(e) => {
                        rec.failures
                            .push(format!("e{exec_index}: making connections: {e}"));
                        exec_procs.push(usize::MAX);
                        continue;
                    }
                };
                let args = script.args();
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                let execed = c.exec(&testkit::exec_process(&args, false), set);
                rec.log(
                    Call::Exec {
                        id: rec.ids[*container].clone(),
                        exec: exec_index,
                        args: script.args(),
                        stdout: stdio.stdout,
                        stderr: stdio.stderr,
                    },
                    execed.as_ref().err().map(|e| e.kind()),
                );
                match execed {
                    Ok(p) => {
                        let p: Arc<dyn Process> = Arc::from(p);
                        rec.execs.push(ExecRecord::Started {
                            proc: rec.procs.len(),
                            init_waited,
                        });
                        exec_procs.push(rec.procs.len());
                        rec.procs.push(ProcRecord {
                            label: format!("e{exec_index} in c{container}"),
                            container: *container,
                            exec: Some(exec_index),
                            pid: p.pid(),
                            script: script.clone(),
                            namespace_init: false,
                            stdio: *stdio,
                            status: None,
                            wait_called_at: None,
                            waited_at: None,
                            stdout: None,
                            stderr: None,
                            unclosed: Vec::new(),
                            relay: None,
                            facts: None,
                            signals: Vec::new(),
                        });
                        lives.push(Live {
                            proc: p,
                            drains,
                            waited: false,
                        });
                    }
                    Err(e) => {
                        drop(drains);
                        rec.execs.push(ExecRecord::Refused {
                            container: *container,
                            kind: e.kind(),
                            init_waited,
                        });
                        exec_procs.push(usize::MAX);
                    }
                }
            }
            Step::Kill { container, signal } => {
                let c = &containers[*container];
                let result = c.kill(*signal).map_err(|e| e.kind());
                rec.log(
                    Call::Kill {
                        id: rec.ids[*container].clone(),
                        signal: *signal,
                    },
                    result.err(),
                );
                if result.is_ok() && !lives[*container].waited {
                    rec.procs[*container].signals.push(*signal);
                }
                rec.kills.push((*container, *signal, result));
            }
            Step::WaitExec { exec } => {
                let p = exec_procs[*exec];
                if p != usize::MAX {
                    wait_one(&mut rec, &mut lives, p, inspector, opts);
                    snapshot(&mut rec, &containers, &lives, n);
                }
            }
            Step::WaitInit { container } => {
                wait_init(
                    &mut rec,
                    &containers,
                    &mut lives,
                    *container,
                    inspector,
                    opts,
                );
                snapshot(&mut rec, &containers, &lives, n);
            }
            Step::Stop { container } => {
                if opts.settle {
                    for p in n..lives.len() {
                        wait_one(&mut rec, &mut lives, p, inspector, opts);
                    }
                    if !lives[*container].waited {
                        settle_container(runtime, containers[*container].as_ref());
                    }
                }
                let c = &containers[*container];
                if !lives[*container].waited {
                    let result = c.kill(Signal::KILL).map_err(|e| e.kind());
                    rec.log(
                        Call::Kill {
                            id: rec.ids[*container].clone(),
                            signal: Signal::KILL,
                        },
                        result.err(),
                    );
                    if result.is_ok() {
                        rec.procs[*container].signals.push(Signal::KILL);
                    }
                    rec.kills.push((*container, Signal::KILL, result));
                }
                wait_init(
                    &mut rec,
                    &containers,
                    &mut lives,
                    *container,
                    inspector,
                    opts,
                );
                snapshot(&mut rec, &containers, &lives, n);
            }
        }
    }
    if opts.settle {
        for p in n..lives.len() {
            wait_one(&mut rec, &mut lives, p, inspector, opts);
        }
        let (listings, advanced) = settled_listings(runtime, &containers, &lives, n);
        let settled: Vec<Option<usize>> = listings
            .iter()
            .map(|l| {
                l.as_ref().and_then(|(_, procs)| {
                    procs
                        .as_ref()
                        .ok()
                        .map(|p| p.iter().filter(|(_, _, zombie)| !zombie).count())
                })
            })
            .collect();
        if let Some(ms) = advanced {
            rec.log(Call::Advance { ms }, None);
        }
        rec.survivors.push(settled);
        rec.final_survivors = rec.survivors.last().cloned();
        rec.final_listings = Some(listings);
    }
    teardown(&mut rec, &containers, &mut lives, inspector, opts);
    drop(bundles);
    rec
}

/// How long the runner lets a backend run before its final process count: generated init
/// bodies without foreground sleeps reach their final `sleep` well within it.
pub const QUIESCE: Duration = Duration::from_millis(200);

/// The longest a real backend is given to reach a steady process count.
const SETTLE_LIMIT: Duration = Duration::from_secs(5);

/// The final states and process listings, once the backend's processes have settled. The
/// simulator advances its virtual clock by [`QUIESCE`] (deterministic; every call settles).
/// A real backend runs for at least [`QUIESCE`], then its listings are read until two reads
/// in a row agree (bounded by [`SETTLE_LIMIT`]): the steady state is the event waited for,
/// so a loaded machine that takes longer to reach it does not change what is compared. Also
/// says how far the simulator's clock was advanced, if it was.
fn settled_listings(
    runtime: &dyn Runtime,
    containers: &[Arc<dyn Container>],
    lives: &[Live],
    n: usize,
) -> (Vec<Option<Listing>>, Option<u64>) {
    let ms = QUIESCE.as_millis() as u64;
    if runtime
        .extension("advance", &serde_json::json!({ "ms": ms }))
        .is_ok()
    {
        return (listings(containers, lives, n), Some(ms));
    }
    thread::sleep(QUIESCE);
    let deadline = std::time::Instant::now() + SETTLE_LIMIT;
    let mut last = listings(containers, lives, n);
    loop {
        thread::sleep(Duration::from_millis(50));
        let now = listings(containers, lives, n);
        if now == last || std::time::Instant::now() >= deadline {
            return (now, None);
        }
        last = now;
    }
}

/// Lets one container's processes settle before it is stopped, so that what the stop kills
/// does not depend on how far its init got: an init that set a trap forks its final `sleep`
/// (rather than exec'ing it) a few milliseconds after `start` on a real runtime, while the
/// simulator has forked it when `start` returns. A stop in between left a zombie on one
/// backend and not on the other. The simulator has settled already (every call runs what is
/// ready); a real backend's listing is read until two reads 50 ms apart agree (bounded by
/// [`SETTLE_LIMIT`]).
fn settle_container(runtime: &dyn Runtime, container: &dyn Container) {
    if runtime
        .extension("advance", &serde_json::json!({ "ms": 0 }))
        .is_ok()
    {
        return;
    }
    let deadline = std::time::Instant::now() + SETTLE_LIMIT;
    let mut last = sorted_processes(container);
    loop {
        thread::sleep(Duration::from_millis(50));
        let now = sorted_processes(container);
        if now == last || std::time::Instant::now() >= deadline {
            return;
        }
        last = now;
    }
}

/// Each of the first `n` containers' state and sorted process listing (`None` once its init
/// was waited for).
fn listings(containers: &[Arc<dyn Container>], lives: &[Live], n: usize) -> Vec<Option<Listing>> {
    (0..n)
        .map(|i| {
            if lives[i].waited {
                return None;
            }
            let state = containers[i]
                .state()
                .map(|s| s.status)
                .map_err(|e| e.kind());
            Some((state, sorted_processes(containers[i].as_ref())))
        })
        .collect()
}

/// A container's `all_processes()` as compared (command, created by the runtime, zombie),
/// sorted; or the error's kind.
fn sorted_processes(container: &dyn Container) -> Result<Vec<ListedProcess>, ErrorKind> {
    container
        .all_processes()
        .map(|v| {
            let mut l: Vec<ListedProcess> = v
                .into_iter()
                .map(|p| (p.command, p.created_by_runtime, p.is_zombie))
                .collect();
            l.sort();
            l
        })
        .map_err(|e| e.kind())
}

/// The init of a container seen as a process (the container object is both).
struct InitHandle(Arc<dyn Container>);

impl Process for InitHandle {
    fn pid(&self) -> i32 {
        self.0.pid()
    }
    fn wait(&self) -> runtime_api::Result<ExitStatus> {
        self.0.wait()
    }
    fn delete(&self) -> runtime_api::Result<()> {
        self.0.delete()
    }
    fn resize_console(&self, size: runtime_api::ConsoleSize) -> runtime_api::Result<()> {
        self.0.resize_console(size)
    }
    fn relay_report(&self) -> Option<RelayReport> {
        self.0.relay_report()
    }
}

fn make_stdio(plan: StdioPlan) -> std::io::Result<(StdioSet, [Option<Drain>; 2])> {
    let (out_fd, out_drain) = connect(plan.stdout)?;
    let (err_fd, err_drain) = connect(plan.stderr)?;
    Ok((
        StdioSet {
            stdin: None,
            stdout: out_fd,
            stderr: err_fd,
        },
        [out_drain, err_drain],
    ))
}

/// Waits for process `p` (bounded), then collects its connections and relay report.
fn wait_one(
    rec: &mut Record,
    lives: &mut [Live],
    p: usize,
    inspector: Option<&dyn Inspector>,
    opts: &RunOptions,
) {
    if lives[p].waited {
        return;
    }
    lives[p].waited = true;
    let proc = lives[p].proc.clone();
    let name = match rec.procs[p].exec {
        Some(e) => exec_name(e),
        None => rec.ids[rec.procs[p].container].clone(),
    };
    rec.procs[p].wait_called_at = inspector.map(|i| i.now());
    let status = match &opts.inline_waits {
        Some(watch) => Some(watch.wait(proc.as_ref(), &name)),
        None => crate::waiter::wait_bounded(proc, opts.wait_bound),
    };
    rec.log(Call::Wait { name }, status.and_then(Result::err));
    let r = &mut rec.procs[p];
    r.status = status;
    if r.status.is_none() {
        return;
    }
    r.waited_at = inspector.map(|i| i.now());
    r.relay = lives[p].proc.relay_report();
    r.facts = inspector.and_then(|i| i.relay_facts(r.pid));
    let [out, err] = std::mem::take(&mut lives[p].drains);
    for (name, drain, slot) in [
        ("stdout", out, &mut r.stdout),
        ("stderr", err, &mut r.stderr),
    ] {
        if let Some(d) = drain {
            match d.finish(opts.close_bound) {
                Some(c) => *slot = Some(c),
                None => r.unclosed.push(name),
            }
        }
    }
}

fn wait_init(
    rec: &mut Record,
    containers: &[Arc<dyn Container>],
    lives: &mut [Live],
    i: usize,
    inspector: Option<&dyn Inspector>,
    opts: &RunOptions,
) {
    if lives[i].waited {
        return;
    }
    let c = &containers[i];
    let id = rec.ids[i].clone();
    let id = id.as_str();
    let plan = rec.plan.clone();
    // Peers on the cgroup that live outside this container's pid namespace and are alive now.
    let my_ns = plan.namespace_owner(i);
    let peers: Vec<usize> = plan
        .cgroup_peers(i)
        .into_iter()
        .filter(|&j| my_ns.is_none() || plan.namespace_owner(j) != my_ns)
        .filter(|&j| {
            !lives[j].waited
                && matches!(containers[j].state().map(|s| s.status), Ok(Status::Running))
        })
        .collect();
    let kill_all_before = inspector.map(|ins| ins.kill_all_count(id));
    wait_one(rec, lives, i, inspector, opts);
    if rec.procs[i].status.is_none() {
        return;
    }
    let listed = c.all_processes().map_err(|e| e.kind());
    let kernel = inspector.map(|ins| ins.container_processes(id));
    let has_zombie = kernel.as_ref().is_some_and(|k| k.iter().any(|p| p.zombie));
    let kernel_all = inspector
        .filter(|_| has_zombie)
        .map(|ins| ins.all_kernel_processes());
    let kill_all = inspector.map(|ins| (kill_all_before.unwrap_or(0), ins.kill_all_count(id)));
    let mut peer_states = Vec::new();
    for j in peers {
        let pc = &containers[j];
        let stopped = matches!(pc.state().map(|s| s.status), Ok(Status::Stopped));
        let outcome = if stopped {
            // Its init is gone: how did it end? (Waiting returns at once for a stopped init.)
            wait_one(rec, lives, j, inspector, opts);
            rec.procs[j].status
        } else {
            None
        };
        peer_states.push((j, outcome));
    }
    rec.init_exits.push(InitExitProbe {
        container: i,
        listed,
        kernel,
        kernel_all,
        kill_all,
        peers: peer_states,
    });
}

fn snapshot(rec: &mut Record, containers: &[Arc<dyn Container>], lives: &[Live], n: usize) {
    rec.survivors.push(counts(containers, lives, n));
}

/// The number of running processes of each of the first `n` containers (`None` once its init
/// was waited for, or if the listing failed).
fn counts(containers: &[Arc<dyn Container>], lives: &[Live], n: usize) -> Vec<Option<usize>> {
    (0..n)
        .map(|i| {
            if lives[i].waited {
                return None;
            }
            containers[i].running_processes().ok().map(|p| p.len())
        })
        .collect()
}

fn teardown(
    rec: &mut Record,
    containers: &[Arc<dyn Container>],
    lives: &mut [Live],
    inspector: Option<&dyn Inspector>,
    opts: &RunOptions,
) {
    let n = containers.len();
    for (i, c) in containers.iter().enumerate() {
        if lives[i].waited {
            continue;
        }
        match c.state().map(|s| s.status) {
            Ok(Status::Created) => {
                // Never started (a failed run): delete kills it.
                continue;
            }
            Ok(Status::Stopped) => {}
            _ => {
                let killed = c.kill(Signal::KILL);
                rec.log(
                    Call::Kill {
                        id: rec.ids[i].clone(),
                        signal: Signal::KILL,
                    },
                    killed.as_ref().err().map(|e| e.kind()),
                );
                match killed {
                    Ok(()) => rec.procs[i].signals.push(Signal::KILL),
                    Err(e) if e.is(ErrorKind::NotRunning) => {}
                    Err(e) => rec.failures.push(format!("c{i}: teardown kill: {e}")),
                }
            }
        }
        wait_init(rec, containers, lives, i, inspector, opts);
    }
    for p in n..lives.len() {
        wait_one(rec, lives, p, inspector, opts);
    }
    let mut deletes = Vec::new();
    for (live, r) in lives.iter().zip(rec.procs.iter()).skip(n) {
        if r.status.is_some() {
            let deleted = live.proc.delete();
            let name = exec_name(r.exec.unwrap_or_default());
            deletes.push((name, deleted.as_ref().err().map(|e| e.kind())));
            if let Err(e) = deleted {
                rec.failures.push(format!("{}: delete: {e}", r.label));
            }
        }
    }
    for (i, c) in containers.iter().enumerate() {
        let hung = lives[i].waited && rec.procs[i].status.is_none();
        if !hung {
            let deleted = c.delete();
            deletes.push((rec.ids[i].clone(), deleted.as_ref().err().map(|e| e.kind())));
            if let Err(e) = deleted {
                rec.failures.push(format!("c{i}: delete: {e}"));
            }
        }
    }
    for (name, error) in deletes {
        rec.log(Call::Delete { name }, error);
    }
}
