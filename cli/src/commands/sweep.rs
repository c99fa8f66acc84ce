//! `rtctl sweep FILE --seeds N`: the scenario once per simulator seed, in parallel, checking
//! the rules and the scenario's expectations; each failing seed is printed with the exact
//! command that replays it.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

use crate::backend_select::Backend;
use crate::cli_args::SweepArgs;
use crate::commands::scenario::{load, play};
use crate::error::CliError;
use crate::scenario::exec::RunOptions;

/// One failing seed.
struct SeedFailure {
    seed: u64,
    reason: String,
    digest: String,
}

/// How progress is shown: a bar on a terminal, a plain line every tenth otherwise.
enum Progress {
    Bar(ProgressBar),
    Lines { total: u64, next_report: AtomicU64 },
}

impl Progress {
    fn new(total: u64) -> Progress {
        if std::io::stderr().is_terminal() {
            let bar = ProgressBar::new(total);
            bar.set_style(
                ProgressStyle::with_template(
                    "{elapsed_precise} [{bar:40}] {pos}/{len} seeds, {per_sec} {msg}",
                )
                .expect("a valid progress template")
                .progress_chars("=> "),
            );
            Progress::Bar(bar)
        } else {
            Progress::Lines {
                total,
                next_report: AtomicU64::new(step(total)),
            }
        }
    }

    fn tick(&self, done: u64, failed: u64) {
        match self {
            Progress::Bar(bar) => {
                bar.inc(1);
                if failed > 0 {
                    bar.set_message(format!("{failed} failing"));
                }
            }
            Progress::Lines { total, next_report } => {
                let due = next_report.load(Ordering::Relaxed);
                if done >= due
                    && next_report
                        .compare_exchange(
                            due,
                            due + step(*total),
                            Ordering::Relaxed,
                            Ordering::Relaxed,
                        )
                        .is_ok()
                {
                    eprintln!("swept {done}/{total} seeds, {failed} failing");
                }
            }
        }
    }

    fn finish(&self) {
        if let Progress::Bar(bar) = self {
            bar.finish_and_clear();
        }
    }
}

fn step(total: u64) -> u64 {
    (total / 10).max(1)
}

/// Runs the sweep. `choice` and `config` are what selected the backend, repeated in the replay
/// commands. Exits 0 when every seed passed, 1 otherwise.
pub fn run(
    backend: &Backend,
    choice: &str,
    config: Option<&str>,
    args: &SweepArgs,
) -> Result<i32, CliError> {
    if !backend.is_simulator() {
        return Err(CliError::new(format!(
            "sweep runs on the simulator only (the backend is {:?}; use --backend sim)",
            backend.plugin().name()
        )));
    }
    if args.seeds == 0 {
        return Err(CliError::new("--seeds must be at least 1"));
    }
    let last = args
        .first_seed
        .checked_add(args.seeds - 1)
        .ok_or_else(|| CliError::new("--first-seed + --seeds overflows a u64"))?;
    let scenario = load(&args.file)?;
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .clamp(1, 256);
    let options = RunOptions {
        id_prefix: String::new(),
        sandbox_id: "rtctl-scenario".into(),
        interrupt: None,
    };

    let progress = Progress::new(args.seeds);
    let next = AtomicU64::new(args.first_seed);
    let done = AtomicU64::new(0);
    let failures: Mutex<Vec<SeedFailure>> = Mutex::new(Vec::new());
    let fatal: Mutex<Option<CliError>> = Mutex::new(None);
    let started = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..jobs {
            s.spawn(|| loop {
                let seed = next.fetch_add(1, Ordering::Relaxed);
                if seed > last || fatal.lock().map_or(true, |f| f.is_some()) {
                    break;
                }
                match play(
                    backend,
                    &scenario,
                    Some(seed),
                    false,
                    None,
                    &options,
                    &mut |_| {},
                ) {
                    Ok(played) => {
                        let mut failed = failures.lock().unwrap_or_else(|p| p.into_inner());
                        if let Some(reason) = played.failure_line() {
                            failed.push(SeedFailure {
                                seed,
                                reason,
                                digest: played
                                    .trace
                                    .as_ref()
                                    .map(|t| t.digest.clone())
                                    .unwrap_or_default(),
                            });
                        }
                        let failed_count = failed.len() as u64;
                        drop(failed);
                        let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                        progress.tick(n, failed_count);
                    }
                    Err(e) => {
                        *fatal.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
                        break;
                    }
                }
            });
        }
    });
    progress.finish();
    if let Some(e) = fatal.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(e);
    }
    let elapsed = started.elapsed();
    let mut failures = failures.into_inner().unwrap_or_else(|p| p.into_inner());
    failures.sort_by_key(|f| f.seed);

    let program = std::env::args().next().unwrap_or_else(|| "rtctl".into());
    let mut replay_prefix = format!(
        "{} --backend {}",
        shell_quote(&program),
        shell_quote(choice)
    );
    if let Some(c) = config {
        replay_prefix.push_str(&format!(" --backend-config {}", shell_quote(c)));
    }
    let file = shell_quote(&args.file.display().to_string());
    for f in &failures {
        println!(
            "seed {}: FAILED {} (trace digest {})",
            f.seed, f.reason, f.digest
        );
        println!(
            "  replay: {replay_prefix} scenario {file} --seed {}",
            f.seed
        );
    }
    println!(
        "swept {} seeds ({}..={last}) in {} with {jobs} threads: {} passed, {} failed",
        args.seeds,
        args.first_seed,
        human(elapsed),
        args.seeds - failures.len() as u64,
        failures.len()
    );
    Ok(if failures.is_empty() { 0 } else { 1 })
}

fn human(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

/// Quotes a word for a POSIX shell when it needs it.
fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+=:,@".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_is_shell_safe() {
        assert_eq!(shell_quote("examples/a.scenario"), "examples/a.scenario");
        assert_eq!(shell_quote(r#"{"seed":1}"#), r#"'{"seed":1}'"#);
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
    }
}
