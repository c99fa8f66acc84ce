//! The cost of guarding a load: the preflight checks alone, and the probe (a child process
//! that loads the plugin; and one that also opens a runtime and lists its containers), per
//! load of the real plugins, side by side in one run.
//!
//! Run with `cargo bench -p plugin --bench guard` (plugins of the bench profile), or
//! `cargo bench -p plugin --bench guard --profile dev` (the ~55 MB debug plugins the tests
//! load). After criterion's report it prints the mean time per load of each.

use std::hint::black_box;
use std::path::Path;

use criterion::Criterion;
use plugin::Probe;

fn main() {
    // target/<profile>/deps/guard-<hash> -> target/criterion
    let dir = std::env::current_exe()
        .expect("the benchmark's path")
        .ancestors()
        .nth(3)
        .map(|target| target.join("criterion"))
        .unwrap_or_else(|| "target/criterion".into());
    let mut criterion = Criterion::default()
        .output_directory(&dir)
        .sample_size(20)
        .warm_up_time(std::time::Duration::from_secs(1))
        .measurement_time(std::time::Duration::from_secs(4))
        .configure_from_args();
    let helper = env!("CARGO_BIN_EXE_rtlayer-plugin-probe");
    let state = tempfile::tempdir().unwrap();
    let mut means: Vec<(String, f64)> = Vec::new();
    for (backend, config) in [
        ("sim", serde_json::json!({ "seed": 1 })),
        (
            "runc",
            serde_json::json!({
                "root": state.path().join("root"),
                "state_dir": state.path().join("state"),
            }),
        ),
    ] {
        let path = plugin::testing::plugin_path(&format!("backend-{backend}"));
        let entry = plugin::abi::entry_symbol_name(&format!("backend_{backend}"));
        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        let mut group = criterion.benchmark_group(format!("guard/{backend}"));
        group.bench_function("preflight", |b| {
            b.iter(|| plugin::host::preflight::check(black_box(&path), &entry).unwrap())
        });
        let probe = Probe::new(helper);
        group.bench_function("probe_load", |b| {
            b.iter(|| probe.run(black_box(&path)).unwrap())
        });
        let probe_open = Probe::new(helper).open_with(config.clone());
        group.bench_function("probe_load_open", |b| {
            b.iter(|| probe_open.run(black_box(&path)).unwrap())
        });
        group.finish();
        for function in ["preflight", "probe_load", "probe_load_open"] {
            if let Some(ns) = mean_ns(&dir, &format!("guard_{backend}"), function) {
                means.push((format!("{backend} ({} MB) {function}", size >> 20), ns));
            }
        }
    }
    criterion.final_summary();
    println!("\nper load (mean):");
    for (what, ns) in means {
        println!("  {what:40} {:>10.3} ms", ns / 1e6);
    }
}

/// Criterion's mean estimate (ns) for `group/function` in this run.
fn mean_ns(dir: &Path, group: &str, function: &str) -> Option<f64> {
    let path = dir
        .join(group)
        .join(function)
        .join("new")
        .join("estimates.json");
    let text = std::fs::read_to_string(path).ok()?;
    let value: serde_json::Value = serde_json::from_str(&text).ok()?;
    value["mean"]["point_estimate"].as_f64()
}
