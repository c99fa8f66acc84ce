//! One full container lifecycle (create, start, one exec, waits, delete) through the runc
//! plugin, against the same runc command sequence issued by a bare harness, and `runc run` of
//! the same bundle as a reference. Hand-rolled (no criterion): the three are interleaved
//! round-robin in one run so drift hits all alike; prints medians, means and the ratio.
//!
//! Run as root with runc and busybox: `cargo bench -p backend-runc --bench lifecycle`.
//! `RTL_BENCH_ITERS` sets the iterations per variant (default 30).

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
        let st = Command::new("runc")
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
        assert!(st.success(), "runc {args:?}: {st}");
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

fn main() {
    if !testkit::require_runc_or_skip("bench lifecycle") {
        return;
    }
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
    let rt = plugin
        .open(&serde_json::json!({
            "root": tmp.path().join("root-plugin"),
            "state_dir": tmp.path().join("state"),
        }))
        .unwrap();
    let bare_dir = tmp.path().join("bare");
    std::fs::create_dir_all(&bare_dir).unwrap();
    let mut bare = Bare {
        root: tmp.path().join("root-bare"),
        dir: bare_dir,
        n: 0,
    };
    // Warm-up: page cache, the reaper and relay threads.
    let _ = run_lifecycle(rt.as_ref(), bundle.path(), "warm-p");
    let _ = bare.lifecycle(bundle.path(), "warm-b");
    bare.run(bundle.path(), "warm-r");

    let (mut tp, mut tb, mut tr) = (Vec::new(), Vec::new(), Vec::new());
    let (mut sp, mut sb) = (Vec::new(), Vec::new());
    for i in 0..iters {
        let t = Instant::now();
        sp.push(run_lifecycle(rt.as_ref(), bundle.path(), &format!("p{i}")));
        tp.push(t.elapsed());
        let t = Instant::now();
        sb.push(bare.lifecycle(bundle.path(), &format!("b{i}")));
        tb.push(t.elapsed());
        let t = Instant::now();
        bare.run(bundle.path(), &format!("r{i}"));
        tr.push(t.elapsed());
    }
    let (pm, pa) = stats(tp);
    let (bm, ba) = stats(tb);
    let (rm, ra) = stats(tr);
    println!(
        "lifecycle (create, start, exec, waits, delete), {iters} iterations each, interleaved:"
    );
    println!(
        "  plugin       median {:>8.2} ms  mean {:>8.2} ms",
        ms(pm),
        ms(pa)
    );
    println!(
        "  bare harness median {:>8.2} ms  mean {:>8.2} ms",
        ms(bm),
        ms(ba)
    );
    println!(
        "  runc run     median {:>8.2} ms  mean {:>8.2} ms  (reference: no exec)",
        ms(rm),
        ms(ra)
    );
    println!("  per step, median ms (plugin / bare):");
    for (k, name) in LIFECYCLE_STEPS.iter().enumerate() {
        let p = stats(sp.iter().map(|s| s[k]).collect()).0;
        let b = stats(sb.iter().map(|s| s[k]).collect()).0;
        println!("    {name:<10} {:>7.2} / {:>7.2}", ms(p), ms(b));
    }
    println!(
        "  ratio plugin/bare: median {:.3}x  mean {:.3}x  (target <= 1.10x)",
        pm.as_secs_f64() / bm.as_secs_f64(),
        pa.as_secs_f64() / ba.as_secs_f64()
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
