//! `rtctl sweep` over the simulator: a scenario whose expectation holds only for some
//! interleavings reports exactly those seeds, and the printed command replays one exactly
//! (same verdict, same trace digest, byte-identical Chrome trace).

mod common;

use std::collections::BTreeMap;
use std::process::{Command, Output};

use common::*;

/// A failing seed as the sweep printed it.
#[derive(Debug)]
struct Reported {
    reason: String,
    digest: String,
    replay: String,
}

/// Parses the sweep's failure lines: `seed N: FAILED <reason> (trace digest D)` followed by
/// `  replay: <command>`.
fn failures(out: &Output) -> BTreeMap<u64, Reported> {
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut found = BTreeMap::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let Some(rest) = line.strip_prefix("seed ") else {
            continue;
        };
        let (seed, rest) = rest.split_once(": FAILED ").expect("a failure line");
        let (reason, digest) = rest
            .rsplit_once(" (trace digest ")
            .expect("a digest on the failure line");
        let replay = lines
            .next()
            .and_then(|l| l.strip_prefix("  replay: "))
            .expect("a replay line after each failure")
            .to_string();
        found.insert(
            seed.parse().unwrap(),
            Reported {
                reason: reason.to_string(),
                digest: digest.trim_end_matches(')').to_string(),
                replay,
            },
        );
    }
    found
}

fn summary_counts(out: &Output) -> (u64, u64) {
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.starts_with("swept "))
        .expect("a summary line");
    let tail = line.rsplit_once(": ").unwrap().1;
    let mut nums = tail
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<u64>().unwrap());
    (nums.next().unwrap(), nums.next().unwrap())
}

/// Runs a printed replay command exactly as printed, with a shell, from the workspace root.
fn run_replay(command: &str, extra: &str) -> Output {
    output(
        Command::new("sh")
            .arg("-c")
            .arg(format!("{command}{extra}"))
            .current_dir(workspace())
            .env_remove("RTCTL_BACKEND")
            .env_remove("RTL_SIM_SEED")
            .env_remove("RUST_LOG"),
    )
}

fn digest_of(out: &Output) -> String {
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find_map(|l| l.split_once(", digest ").map(|(_, d)| d.to_string()))
        .unwrap_or_else(|| panic!("no digest in {text}"))
}

#[test]
fn sweep_reports_the_interleavings_that_fail_and_replay_is_exact() {
    ensure_plugin("backend-sim");
    let seeds = 200;
    let out = output(rtctl().args([
        "--backend",
        "sim",
        "sweep",
        "examples/scenarios/race.scenario",
        "--seeds",
        &seeds.to_string(),
        "--jobs",
        "2",
    ]));
    let failed = failures(&out);
    let (passed, failed_count) = summary_counts(&out);
    assert_eq!(failed.len() as u64, failed_count);
    assert_eq!(passed + failed_count, seeds);
    assert!(
        !failed.is_empty() && passed > 0,
        "the race must go both ways over {seeds} seeds: {passed} passed, {failed_count} failed"
    );
    assert_eq!(out.status.code(), Some(1), "a failing seed fails the sweep");
    // Plain progress lines, since stderr is not a terminal here.
    assert!(stderr_text(&out).contains(&format!("swept {seeds}/{seeds} seeds")));

    for r in failed.values() {
        assert!(r.reason.starts_with("line 9: wait race expect"), "{r:?}");
        assert!(r.reason.contains("expected stdout"), "{r:?}");
    }

    // The printed command replays a failing seed: same verdict, same trace.
    let (&seed, reported) = failed.iter().next().unwrap();
    assert!(reported.replay.ends_with(&format!(
        "--backend sim scenario examples/scenarios/race.scenario --seed {seed}"
    )));
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.json");
    let b = dir.path().join("b.json");
    let first = run_replay(&reported.replay, &format!(" --trace {}", a.display()));
    assert_eq!(first.status.code(), Some(1));
    let text = String::from_utf8_lossy(&first.stdout);
    assert!(
        text.contains(&format!("FAILED: {}", reported.reason)),
        "{text}"
    );
    assert_eq!(digest_of(&first), reported.digest);
    let second = run_replay(&reported.replay, &format!(" --trace {}", b.display()));
    assert_eq!(digest_of(&second), reported.digest);
    assert_eq!(
        std::fs::read(&a).unwrap(),
        std::fs::read(&b).unwrap(),
        "the Chrome traces of two replays are byte-identical"
    );

    // A seed the sweep did not report passes when replayed.
    let good = (0..seeds).find(|s| !failed.contains_key(s)).unwrap();
    let out = output(rtctl().args([
        "--backend",
        "sim",
        "scenario",
        "examples/scenarios/race.scenario",
        "--seed",
        &good.to_string(),
    ]));
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn sweep_catches_a_rule_1_mistake_and_replays_it_with_the_same_configuration() {
    ensure_plugin("backend-sim");
    // Correct backend: every seed passes.
    let out = output(rtctl().args([
        "--backend",
        "sim",
        "sweep",
        "examples/scenarios/rule1.scenario",
        "--seeds",
        "50",
    ]));
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(summary_counts(&out), (50, 0));

    // The seed's mistake switched on: the sweep catches it.
    let config = r#"{"mutations":{"plain_kill_on_init_exit":true}}"#;
    let out = output(rtctl().args([
        "--backend",
        "sim",
        "--backend-config",
        config,
        "sweep",
        "examples/scenarios/rule1.scenario",
        "--seeds",
        "50",
    ]));
    assert_eq!(out.status.code(), Some(1));
    let failed = failures(&out);
    assert_eq!(failed.len(), 50, "the mistake shows on every seed");
    let (_, r) = failed.iter().next().unwrap();
    assert!(
        r.replay.contains(&format!("--backend-config '{config}'")),
        "{r:?}"
    );
    let replay = run_replay(&r.replay, "");
    assert_eq!(replay.status.code(), Some(1));
    let text = String::from_utf8_lossy(&replay.stdout);
    assert!(text.contains("rules: VIOLATED: rule 1"), "{text}");
    assert_eq!(digest_of(&replay), r.digest);
}

#[test]
fn sweep_draws_a_progress_bar_on_a_terminal() {
    use std::io::Read;
    use std::process::Stdio;
    ensure_plugin("backend-sim");
    let pty = nix::pty::openpty(None, None).unwrap();
    let mut screen = std::fs::File::from(pty.master);
    let reader = std::thread::spawn(move || {
        let mut all = Vec::new();
        let mut buf = [0u8; 4096];
        // EIO once rtctl closed the terminal: the end.
        while let Ok(n) = screen.read(&mut buf) {
            if n == 0 {
                break;
            }
            all.extend_from_slice(&buf[..n]);
        }
        String::from_utf8_lossy(&all).into_owned()
    });
    let out = rtctl()
        .args([
            "--backend",
            "sim",
            "sweep",
            "examples/scenarios/race.scenario",
            "--seeds",
            "1000",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::from(pty.slave))
        .output()
        .unwrap();
    let drawn = reader.join().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        drawn.contains("seeds") && drawn.contains("=>"),
        "a bar was drawn: {drawn:?}"
    );
    assert!(
        !drawn.contains("swept 100/1000"),
        "no plain lines on a terminal: {drawn:?}"
    );
    // The report itself goes to stdout either way.
    assert!(String::from_utf8_lossy(&out.stdout).contains("swept 1000 seeds"));
}
