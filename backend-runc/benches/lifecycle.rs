//! One full container lifecycle (create, start, one exec, waits, delete) through the runc
//! plugin, against the same command sequence issued by a bare harness, and `<runtime> run` of
//! the same bundle as a reference — on runc, and on youki when it is installed (the plugin's
//! runc backend driving youki, against bare youki). Hand-rolled (no criterion): all variants
//! of both runtimes are interleaved round-robin in one run so drift hits all alike; prints
//! medians, means, the plugin/bare ratio per runtime, and runc's and youki's medians side by
//! side.
//!
//! Run as root with runc and busybox: `cargo bench -p backend-runc --bench lifecycle`.
//! `RTL_BENCH_ITERS` sets the iterations per variant (default 30). youki is found as the
//! tests find it (`$RTL_YOUKI`, `PATH`, `~/.cargo/bin`); without it the youki rows are
//! skipped (under `RTL_REQUIRE_RUNC=1` the bench fails instead).

use std::ffi::OsString;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::wait::waitpid;
use nix::unistd::Pid;
use testkit::{exec_process, run_lifecycle, BundleBuilder, LIFECYCLE_STEPS};

/// Per-step times of one lifecycle (create, start, exec, exec wait, init wait, delete).
type Steps = testkit::LifecycleSteps;

struct Lap(Instant);
impl Lap {
    fn next(&mut self) -> Duration {
        let now = Instant::now();
        let d = now - self.0;
        self.0 = now;
        d
    }
}

struct Bare {
    bin: PathBuf,
    root: PathBuf,
    dir: PathBuf,
    n: u64,
}

impl Bare {
    /// runc with the same global flags the backend passes (`--root`, a fresh `--log`,
    /// `--log-format json`), with stdin from `stdin` and stdout/stderr on /dev/null.
    fn runc(&mut self, args: &[&std::ffi::OsStr], stdin: Stdio) {
        self.n += 1;
        let log = self.dir.join(format!("bare-{}.log", self.n));
        File::create(&log).unwrap();
        let st = Command::new(&self.bin)
            // As the backend runs youki (no backtrace capture); harmless for runc.
            .env("RUST_BACKTRACE", "0")
            .env("RUST_LIB_BACKTRACE", "0")
            .arg("--root")
            .arg(&self.root)
            .arg("--log")
            .arg(&log)
            .args(["--log-format", "json"])
            .args(args)
            .stdin(stdin)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        std::fs::remove_file(&log).unwrap();
        assert!(st.success(), "{} {args:?}: {st}", self.bin.display());
    }

    fn lifecycle(&mut self, bundle: &Path, id: &str) -> Steps {
        let mut steps = Steps::default();
        let mut lap = Lap(Instant::now());
        let (stdin_r, stdin_w) = nix::unistd::pipe().unwrap();
        let init_pid = self.dir.join("init.pid");
        let exec_pid = self.dir.join("exec.pid");
        let spec = self.dir.join("exec.json");
        std::fs::write(
            &spec,
            serde_json::to_vec(&exec_process(&["true"], false)).unwrap(),
        )
        .unwrap();
        let os = |s: &str| OsString::from(s);
        self.runc(
            &[
                &os("create"),
                &os("--no-pivot"),
                &os("--bundle"),
                bundle.as_os_str(),
                &os("--pid-file"),
                init_pid.as_os_str(),
                &os(id),
            ],
            Stdio::from(stdin_r),
        );
        steps[0] = lap.next();
        self.runc(&[&os("start"), &os(id)], Stdio::null());
        steps[1] = lap.next();
        self.runc(
            &[
                &os("exec"),
                &os("-d"),
                &os("--process"),
                spec.as_os_str(),
                &os("--pid-file"),
                exec_pid.as_os_str(),
                &os(id),
            ],
            Stdio::null(),
        );
        let read =
            |p: &Path| -> i32 { std::fs::read_to_string(p).unwrap().trim().parse().unwrap() };
        let e = read(&exec_pid);
        steps[2] = lap.next();
        waitpid(Pid::from_raw(e), None).unwrap();
        steps[3] = lap.next();
        drop(stdin_w);
        let i = read(&init_pid);
        waitpid(Pid::from_raw(i), None).unwrap();
        steps[4] = lap.next();
        self.runc(&[&os("delete"), &os(id)], Stdio::null());
        for f in [init_pid, exec_pid, spec] {
            let _ = std::fs::remove_file(f);
        }
        steps[5] = lap.next();
        steps
    }

    fn run(&mut self, bundle: &Path, id: &str) {
        let os = |s: &str| OsString::from(s);
        self.runc(
            &[
                &os("run"),
                &os("--no-pivot"),
                &os("--bundle"),
                bundle.as_os_str(),
                &os(id),
            ],
            Stdio::null(),
        );
    }
}

fn stats(mut v: Vec<Duration>) -> (Duration, Duration) {
    v.sort();
    let median = v[v.len() / 2];
    let mean = v.iter().sum::<Duration>() / v.len() as u32;
    (median, mean)
}

/// One runtime's three variants and their samples.
struct Runtime {
    name: &'static str,
    rt: Box<dyn runtime_api::Runtime>,
    bare: Bare,
    plugin_t: Vec<Duration>,
    bare_t: Vec<Duration>,
    run_t: Vec<Duration>,
    /// Whether `<runtime> run` is timed: not for youki, whose `run` waits for a container init
    /// that has been reparented to this process (a subreaper, as the plugin makes it) and so
    /// never returns.
    with_run: bool,
    plugin_steps: Vec<Steps>,
    bare_steps: Vec<Steps>,
}

impl Runtime {
    fn new(
        name: &'static str,
        bin: PathBuf,
        plugin: &plugin::Plugin,
        tmp: &Path,
        bundle: &Path,
    ) -> Runtime {
        let rt = plugin
            .open(&serde_json::json!({
                "runc_path": bin,
                "root": tmp.join(format!("{name}-root-plugin")),
                "state_dir": tmp.join(format!("{name}-state")),
            }))
            .unwrap();
        let dir = tmp.join(format!("{name}-bare"));
        std::fs::create_dir_all(&dir).unwrap();
        let mut bare = Bare {
            bin,
            root: tmp.join(format!("{name}-root-bare")),
            dir,
            n: 0,
        };
        // Warm-up: page cache, the reaper and relay threads.
        let _ = run_lifecycle(rt.as_ref(), bundle, &format!("warm-p-{name}"));
        let _ = bare.lifecycle(bundle, &format!("warm-b-{name}"));
        let with_run = name == "runc";
        if with_run {
            bare.run(bundle, &format!("warm-r-{name}"));
        }
        Runtime {
            name,
            with_run,
            rt,
            bare,
            plugin_t: Vec::new(),
            bare_t: Vec::new(),
            run_t: Vec::new(),
            plugin_steps: Vec::new(),
            bare_steps: Vec::new(),
        }
    }

    fn round(&mut self, bundle: &Path, i: usize) {
        let t = Instant::now();
        self.plugin_steps
            .push(run_lifecycle(self.rt.as_ref(), bundle, &format!("p{i}")));
        self.plugin_t.push(t.elapsed());
        let t = Instant::now();
        self.bare_steps
            .push(self.bare.lifecycle(bundle, &format!("b{i}")));
        self.bare_t.push(t.elapsed());
        if self.with_run {
            let t = Instant::now();
            self.bare.run(bundle, &format!("r{i}"));
            self.run_t.push(t.elapsed());
        }
    }

    fn report(&self) -> (Duration, Duration) {
        let (pm, pa) = stats(self.plugin_t.clone());
        let (bm, ba) = stats(self.bare_t.clone());
        let n = self.name;
        println!("{n}:");
        println!(
            "  plugin       median {:>8.2} ms  mean {:>8.2} ms",
            ms(pm),
            ms(pa)
        );
        println!(
            "  bare {n:<7} median {:>8.2} ms  mean {:>8.2} ms",
            ms(bm),
            ms(ba)
        );
        if self.with_run {
            let (rm, ra) = stats(self.run_t.clone());
            println!(
                "  {n} run {:<pad$}median {:>8.2} ms  mean {:>8.2} ms  (reference: no exec)",
                "",
                ms(rm),
                ms(ra),
                pad = 8usize.saturating_sub(n.len())
            );
        }
        println!("  per step, median ms (plugin / bare):");
        for (k, name) in LIFECYCLE_STEPS.iter().enumerate() {
            let p = stats(self.plugin_steps.iter().map(|s| s[k]).collect()).0;
            let b = stats(self.bare_steps.iter().map(|s| s[k]).collect()).0;
            println!("    {name:<10} {:>7.2} / {:>7.2}", ms(p), ms(b));
        }
        println!(
            "  ratio plugin/bare {n}: median {:.3}x  mean {:.3}x  (target <= 1.10x)",
            pm.as_secs_f64() / bm.as_secs_f64(),
            pa.as_secs_f64() / ba.as_secs_f64()
        );
        (pm, bm)
    }
}

fn main() {
    if !testkit::require_runc_or_skip("bench lifecycle") {
        return;
    }
    let youki = testkit::require_youki_or_skip("bench lifecycle (youki)");
    let iters: usize = std::env::var("RTL_BENCH_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30);
    let tmp = tempfile::Builder::new()
        .prefix("rtl-bench-")
        .tempdir()
        .unwrap();
    let bundle = BundleBuilder::new(&["sh", "-c", "read x; exit 0"])
        .build()
        .unwrap();
    let plugin = plugin::load(&plugin::testing::plugin_path("backend-runc")).unwrap();
    let mut runtimes = vec![Runtime::new(
        "runc",
        "runc".into(),
        &plugin,
        tmp.path(),
        bundle.path(),
    )];
    if let Some(y) = youki {
        runtimes.push(Runtime::new("youki", y, &plugin, tmp.path(), bundle.path()));
    }
    for i in 0..iters {
        for r in &mut runtimes {
            r.round(bundle.path(), i);
        }
    }
    println!(
        "lifecycle (create, start, exec, waits, delete), {iters} iterations each, all variants \
         interleaved:"
    );
    let medians: Vec<(&str, (Duration, Duration))> =
        runtimes.iter().map(|r| (r.name, r.report())).collect();
    if let [(a, (ap, ab)), (b, (bp, bb))] = medians[..] {
        println!("side by side, one run (lifecycle medians):");
        println!(
            "  plugin: {a} {:.2} ms, {b} {:.2} ms ({b}/{a} {:.2}x)",
            ms(ap),
            ms(bp),
            bp.as_secs_f64() / ap.as_secs_f64()
        );
        println!(
            "  bare:   {a} {:.2} ms, {b} {:.2} ms ({b}/{a} {:.2}x)",
            ms(ab),
            ms(bb),
            bb.as_secs_f64() / ab.as_secs_f64()
        );
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
