//! The seed's scenario (issue #15), written once so that the simulator's test and the runc
//! backend's test run exactly the same calls and expect exactly the same process listing.
//!
//! A container in the host's pid namespace runs `sh -c 'cat; exit 3'` with its stdin on a
//! pipe that stays open; it gets two execs, `sleep 1000` and `sh -c 'sleep 1001 & sleep
//! 1002'`. Once the processes have settled, `all_processes()` lists five: the init's `sh`,
//! its forked `cat`, `sleep 1000`, and the second exec's shell, which has exec'd its last
//! command `sleep 1002`, with its background child `sleep 1001`.

use std::fs::File;
use std::path::Path;
use std::time::{Duration, Instant};

use runtime_api::{ExitStatus, ProcessInfo, Runtime, Signal, StdioSet};

use crate::{exec_process, BundleBuilder, PidNamespace};

/// The init's arguments.
pub const SEED_INIT: [&str; 3] = ["sh", "-c", "cat; exit 3"];
/// The two execs, in order.
pub const SEED_EXECS: [&[&str]; 2] = [&["sleep", "1000"], &["sh", "-c", "sleep 1001 & sleep 1002"]];

/// One listed process as the scenario compares it: its command line, whether the runtime
/// created it, whether it is a zombie.
pub type Listed = (Vec<String>, bool, bool);

/// What the settled listing must be, sorted.
pub fn seed_expected() -> Vec<Listed> {
    let l = |cmd: &[&str], rt: bool| (cmd.iter().map(|s| s.to_string()).collect(), rt, false);
    let mut v = vec![
        l(&SEED_INIT, true),
        l(&["cat"], false),
        l(&["sleep", "1000"], true),
        l(&["sleep", "1002"], true),
        l(&["sleep", "1001"], false),
    ];
    v.sort();
    v
}

/// The outcome of [`run_seed_scenario`].
#[derive(Debug)]
pub struct SeedOutcome {
    /// The settled listing (sorted).
    pub listed: Vec<Listed>,
    /// The init's exit status once its stdin was closed.
    pub init: ExitStatus,
    /// How the two execs ended (killed by rule 1: the init does not own a pid namespace).
    pub execs: Vec<ExitStatus>,
}

/// Runs the scenario on `rt` with a bundle under `dir` and container id `id`: polls
/// `all_processes()` until it lists five processes twice in a row, or `bound` passes (a real
/// runtime needs real time to fork and exec; the simulator is settled after every call). Then
/// closes the init's stdin, waits for the init and the execs, and deletes everything.
pub fn run_seed_scenario(rt: &dyn Runtime, dir: &Path, id: &str, bound: Duration) -> SeedOutcome {
    let bundle = BundleBuilder::new(&SEED_INIT)
        .pid_namespace(PidNamespace::Host)
        .cgroups_path(&format!("/rtl-seed/{id}"))
        .in_dir(dir)
        .build()
        .expect("a bundle");
    let (stdin_r, stdin_w) = nix::unistd::pipe().expect("a pipe for the init's stdin");
    let c = rt
        .create_container(
            "seed",
            id,
            bundle.path(),
            StdioSet {
                stdin: Some(stdin_r),
                ..StdioSet::none()
            },
        )
        .expect("create");
    c.start().expect("start");
    let execs: Vec<_> = SEED_EXECS
        .iter()
        .map(|args| {
            c.exec(&exec_process(args, false), StdioSet::none())
                .expect("exec")
        })
        .collect();
    let sorted = |v: Vec<ProcessInfo>| {
        let mut l: Vec<Listed> = v
            .into_iter()
            .map(|p| (p.command, p.created_by_runtime, p.is_zombie))
            .collect();
        l.sort();
        l
    };
    let deadline = Instant::now() + bound;
    let mut last = sorted(c.all_processes().expect("all_processes"));
    loop {
        if last.len() >= 5 || Instant::now() >= deadline {
            let now = sorted(c.all_processes().expect("all_processes"));
            if now == last || Instant::now() >= deadline {
                break;
            }
            last = now;
            continue;
        }
        std::thread::sleep(Duration::from_millis(20));
        last = sorted(c.all_processes().expect("all_processes"));
    }
    drop(File::from(stdin_w));
    let init = c.wait().expect("init wait");
    let execs = execs
        .into_iter()
        .map(|p| {
            let st = p.wait().expect("exec wait");
            p.delete().expect("exec delete");
            st
        })
        .collect();
    if c.kill(Signal::KILL).is_ok() {
        let _ = c.wait();
    }
    c.delete().expect("delete");
    SeedOutcome {
        listed: last,
        init,
        execs,
    }
}
