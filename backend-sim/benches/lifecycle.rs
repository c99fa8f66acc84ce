//! The simulator against real runc, in one run: the same container lifecycle as the runc
//! backend's benchmark (create with a stdin pipe, start, one exec of `true`, its wait, close
//! stdin, the init's wait, delete) through each backend's plugin, on the same busybox bundle;
//! then the wall-clock cost of a simulated `sleep 3600`.
//!
//! Run: `cargo bench -p backend-sim --bench lifecycle` (runc part as root with runc and
//! busybox; otherwise it is skipped and only the simulator's figures are printed).
//! `RTL_BENCH_ITERS` sets the runc iterations (default 20; the simulator runs 50x as many).

use runtime_api::{ExitStatus, Runtime, StdioSet};
use std::path::Path;
use std::time::{Duration, Instant};
use testkit::{run_lifecycle, BundleBuilder};

/// One lifecycle (testkit's, the same as the runc backend's benchmark); its wall time.
fn lifecycle(rt: &dyn Runtime, bundle: &Path, id: &str) -> Duration {
    run_lifecycle(rt, bundle, id).iter().sum()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    let runc_iters: usize = std::env::var("RTL_BENCH_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let sim_iters = runc_iters * 50;
    // `cat` where the runc benchmark has `read x`: the simulator's subset has no `read`; both
    // block on stdin until it is closed, then exit 0.
    let bundle = BundleBuilder::new(&["sh", "-c", "cat; exit 0"])
        .build()
        .unwrap();
    let sim_plugin = plugin::load(&plugin::testing::plugin_path("backend-sim")).unwrap();
    let sim = sim_plugin.open(&serde_json::json!({"seed": 1})).unwrap();
    let _ = lifecycle(sim.as_ref(), bundle.path(), "warm");

    let runc = if testkit::runc_available() {
        let tmp = tempfile::Builder::new()
            .prefix("rtl-sim-bench-")
            .tempdir()
            .unwrap();
        let plugin = plugin::load(&plugin::testing::plugin_path("backend-runc")).unwrap();
        let rt = plugin
            .open(&serde_json::json!({
                "root": tmp.path().join("root"),
                "state_dir": tmp.path().join("state"),
            }))
            .unwrap();
        let _ = lifecycle(rt.as_ref(), bundle.path(), "warm-runc");
        Some((rt, tmp))
    } else {
        println!("runc part skipped: needs root, runc on PATH and /bin/busybox");
        None
    };

    // Interleave: one runc lifecycle, then 50 simulated ones, so drift hits both alike.
    let (mut ts, mut tr) = (Vec::new(), Vec::new());
    for i in 0..runc_iters {
        if let Some((rt, _)) = &runc {
            tr.push(lifecycle(rt.as_ref(), bundle.path(), &format!("r{i}")));
        }
        for j in 0..50 {
            ts.push(lifecycle(sim.as_ref(), bundle.path(), &format!("s{i}-{j}")));
        }
    }
    let sm = median(ts);
    println!("lifecycle (create, start, exec, waits, delete), through each backend's plugin:");
    println!(
        "  simulator  median {:>10.3} ms  ({sim_iters} iterations)",
        ms(sm)
    );
    if !tr.is_empty() {
        let rm = median(tr);
        println!(
            "  runc       median {:>10.3} ms  ({runc_iters} iterations)",
            ms(rm)
        );
        println!(
            "  simulator is {:.0}x faster (target >= 200x)",
            rm.as_secs_f64() / sm.as_secs_f64()
        );
    }

    // A simulated `sleep 3600`: its wait is one jump of the virtual clock.
    let sleeper = BundleBuilder::new(&["sleep", "3600"]).build().unwrap();
    let (mut waits, mut totals) = (Vec::new(), Vec::new());
    for i in 0..200 {
        let t0 = Instant::now();
        let c = sim
            .create_container(
                "bench",
                &format!("sleep{i}"),
                sleeper.path(),
                StdioSet::none(),
            )
            .unwrap();
        c.start().unwrap();
        let t1 = Instant::now();
        assert_eq!(c.wait().unwrap(), ExitStatus::Exited(0));
        waits.push(t1.elapsed());
        c.delete().unwrap();
        totals.push(t0.elapsed());
    }
    println!(
        "simulated `sleep 3600`: wait median {:.3} ms, create+start+wait+delete median {:.3} ms (target well under 1 ms)",
        ms(median(waits)),
        ms(median(totals))
    );
}
