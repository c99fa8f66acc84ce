//! The cost of crossing the plugin boundary: the same implementation (the `full` test
//! plugin) called linked statically and through the loaded cdylib, side by side in one run.
//!
//! - `pid`: a trivial call (one integer out);
//! - `state`: a JSON-carrying call (a `ContainerState` serialised in the plugin, parsed in
//!   the host).
//!
//! Run with `cargo bench -p plugin --bench boundary`; after criterion's report it prints the
//! plugin/static ratio of the mean times of each call.

use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::Criterion;
use runtime_api::{Container, Runtime, StdioSet};
use serde_json::json;

/// A started container of `runtime`.
fn started(runtime: &dyn Runtime) -> Box<dyn Container> {
    let container = runtime
        .create_container(
            "bench",
            "bench-1",
            Path::new("/bundles/bench-1"),
            StdioSet::none(),
        )
        .expect("create the benchmark container");
    container.start().expect("start the benchmark container");
    container
}

/// The time per call (ns) criterion estimated for `group/function` in this run, if it ran:
/// the slope estimate it reports as "time", else the mean.
fn time_ns(dir: &Path, group: &str, function: &str) -> Option<f64> {
    let path = dir
        .join(group)
        .join(function)
        .join("new")
        .join("estimates.json");
    let text = std::fs::read_to_string(path).ok()?;
    let estimates: serde_json::Value = serde_json::from_str(&text).ok()?;
    estimates["slope"]["point_estimate"]
        .as_f64()
        .or_else(|| estimates["mean"]["point_estimate"].as_f64())
}

fn output_directory() -> PathBuf {
    // target/<profile>/deps/boundary-<hash> -> target/criterion
    let exe = std::env::current_exe().expect("the benchmark's path");
    exe.ancestors()
        .nth(3)
        .map(|target| target.join("criterion"))
        .unwrap_or_else(|| PathBuf::from("target/criterion"))
}

fn main() {
    let dir = output_directory();
    let mut criterion = Criterion::default()
        .output_directory(&dir)
        .configure_from_args();

    let linked: Box<dyn Runtime> =
        Box::new(test_plugin_full::open(&json!({})).expect("open the linked implementation"));
    let plugin = plugin::load(&plugin::testing::plugin_path("test-plugin-full"))
        .expect("load the full test plugin");
    let loaded = plugin.open(&json!({})).expect("open the plugin");
    let linked_container = started(linked.as_ref());
    let loaded_container = started(loaded.as_ref());
    assert_eq!(
        linked_container.state().unwrap(),
        loaded_container.state().unwrap(),
        "both sides must do the same work"
    );

    let mut group = criterion.benchmark_group("pid");
    group.bench_function("static", |b| b.iter(|| black_box(linked_container.pid())));
    group.bench_function("plugin", |b| b.iter(|| black_box(loaded_container.pid())));
    group.finish();

    let mut group = criterion.benchmark_group("state");
    group.bench_function("static", |b| {
        b.iter(|| black_box(linked_container.state().unwrap()))
    });
    group.bench_function("plugin", |b| {
        b.iter(|| black_box(loaded_container.state().unwrap()))
    });
    group.finish();

    criterion.final_summary();

    println!("\nplugin boundary cost (time per call, plugin / statically linked):");
    for call in ["pid", "state"] {
        match (time_ns(&dir, call, "static"), time_ns(&dir, call, "plugin")) {
            (Some(linked), Some(loaded)) => println!(
                "  {call:<6} static {linked:>10.1} ns   plugin {loaded:>10.1} ns   ratio {:.2}x",
                loaded / linked
            ),
            _ => println!("  {call:<6} not measured in this run"),
        }
    }
}
