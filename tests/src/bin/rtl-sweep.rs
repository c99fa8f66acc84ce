//! `rtl-sweep`: the rule properties as a long sweep on every core.
//!
//! ```text
//! rtl-sweep [--scenarios N] [--jobs J] [--chunk C] [--first-chunk K] [--mutations a,b] [--out DIR]
//! ```
//!
//! Generates N scenarios per rule (default 1,000,000) in chunks of C (default 1,000), each
//! chunk from its own generator seed (chunk index K, K+1, ...; a chunk is replayed exactly
//! with `--first-chunk K --scenarios C --jobs 1`), runs them on fresh simulated runtimes on J
//! threads (default: every core) and judges each with the rule oracles, with a progress bar
//! on stderr. A failing case is shrunk, written as a `.scenario` file under DIR (default
//! `target/rtl-sweep`), and its replay command printed; the sweep goes on with the next
//! chunk. Exits 1 if any case failed.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;
use suites::properties::{check_rule, Rule, RULE1, RULE2};
use suites::scenario::strategy::Shape;

struct Args {
    scenarios: u64,
    jobs: usize,
    chunk: u64,
    first_chunk: u64,
    mutations: Value,
    out: PathBuf,
}

fn usage(why: &str) -> ! {
    eprintln!("rtl-sweep: {why}");
    eprintln!(
        "usage: rtl-sweep [--scenarios N] [--jobs J] [--chunk C] [--first-chunk K] \
         [--mutations a,b] [--out DIR]"
    );
    std::process::exit(2);
}

fn parse_args() -> Args {
    let mut a = Args {
        scenarios: 1_000_000,
        jobs: std::thread::available_parallelism().map_or(1, |n| n.get()),
        chunk: 1000,
        first_chunk: 0,
        mutations: Value::Object(Default::default()),
        out: PathBuf::from("target/rtl-sweep"),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .unwrap_or_else(|| usage(&format!("{flag} needs a value")))
        };
        let number = |v: String| -> u64 {
            v.replace('_', "")
                .parse()
                .unwrap_or_else(|_| usage(&format!("{flag}: {v:?} is not a number")))
        };
        match flag.as_str() {
            "--scenarios" => a.scenarios = number(value()),
            "--jobs" => a.jobs = number(value()).max(1) as usize,
            "--chunk" => a.chunk = number(value()).max(1),
            "--first-chunk" => a.first_chunk = number(value()),
            "--mutations" => {
                let mut m = serde_json::Map::new();
                for name in value().split(',').filter(|n| !n.is_empty()) {
                    m.insert(name.to_string(), Value::Bool(true));
                }
                a.mutations = Value::Object(m);
            }
            "--out" => a.out = PathBuf::from(value()),
            "-h" | "--help" => usage("help"),
            other => usage(&format!("unknown argument {other:?}")),
        }
    }
    a
}

fn main() {
    let args = parse_args();
    let chunks = args.scenarios.div_ceil(args.chunk);
    let rules: [&Rule; 2] = [&RULE1, &RULE2];
    let total = chunks * args.chunk * rules.len() as u64;
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template(
            "{elapsed_precise} [{wide_bar}] {pos}/{len} scenarios, {per_sec}, eta {eta} {msg}",
        )
        .expect("a valid progress template"),
    );
    let next = AtomicU64::new(0);
    let failures: Mutex<Vec<String>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..args.jobs {
            s.spawn(|| loop {
                let job = next.fetch_add(1, Ordering::Relaxed);
                if job >= chunks * rules.len() as u64 {
                    return;
                }
                let rule = rules[(job % rules.len() as u64) as usize];
                let chunk = args.first_chunk + job / rules.len() as u64;
                let outcome = check_rule(
                    rule,
                    Shape::simulator(),
                    args.chunk as u32,
                    &args.mutations,
                    None,
                    Some(chunk),
                );
                bar.inc(args.chunk);
                if let Some((why, run)) = outcome.failure {
                    let stem = format!(
                        "{}-chunk-{chunk}-seed-{}",
                        rule.name.replace(' ', ""),
                        run.seed
                    );
                    let replay = match run.write_scenario(
                        &args.out,
                        &stem,
                        &[format!("{} violated", rule.name)],
                    ) {
                        Ok(path) => run.replay_command(&path),
                        Err(e) => format!("(could not write the scenario: {e})"),
                    };
                    let first = why.lines().take(4).collect::<Vec<_>>().join("\n  ");
                    let line = format!(
                        "FAILED {} in chunk {chunk}:\n  {first}\n  replay: {replay}\n  \
                         regenerate: rtl-sweep --first-chunk {chunk} --scenarios {} --jobs 1",
                        rule.name, args.chunk
                    );
                    bar.println(&line);
                    let mut f = failures.lock().unwrap_or_else(|p| p.into_inner());
                    f.push(line);
                    bar.set_message(format!("{} failed", f.len()));
                }
            });
        }
    });
    bar.finish();
    let failures = failures.into_inner().unwrap_or_else(|p| p.into_inner());
    eprintln!(
        "rtl-sweep: {} scenarios per rule in {:.1} s on {} threads, {} failing chunk(s)",
        chunks * args.chunk,
        bar.elapsed().as_secs_f64(),
        args.jobs,
        failures.len()
    );
    std::process::exit(i32::from(!failures.is_empty()));
}
