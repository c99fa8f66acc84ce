//! The container lifecycle the benchmarks time, written once so that the runc backend's
//! benchmark and the simulator's benchmark measure exactly the same sequence of calls.

use std::fs::File;
use std::path::Path;
use std::time::{Duration, Instant};

use runtime_api::{ExitStatus, Runtime, StdioSet};

use crate::exec_process;

/// The steps of [`run_lifecycle`], in order.
pub const LIFECYCLE_STEPS: [&str; 6] = [
    "create",
    "start",
    "exec",
    "exec wait",
    "init wait",
    "delete",
];

/// Wall time of each step of one lifecycle, in the order of [`LIFECYCLE_STEPS`].
pub type LifecycleSteps = [Duration; 6];

/// One full lifecycle on `rt`: create container `id` from `bundle` with a stdin pipe, start
/// it, exec `true` and wait for it (then delete it), close the init's stdin and wait for init,
/// delete the container. The bundle's init must exit 0 once its stdin is closed (e.g.
/// `sh -c 'cat; exit 0'`). Panics on any failure: it is for benchmarks.
pub fn run_lifecycle(rt: &dyn Runtime, bundle: &Path, id: &str) -> LifecycleSteps {
    let mut steps = LifecycleSteps::default();
    let mut last = Instant::now();
    let mut lap = |step: usize| {
        let now = Instant::now();
        steps[step] = now - last;
        last = now;
    };
    let (stdin_r, stdin_w) = nix::unistd::pipe().expect("a pipe for the init's stdin");
    let c = rt
        .create_container(
            "bench",
            id,
            bundle,
            StdioSet {
                stdin: Some(stdin_r),
                ..StdioSet::none()
            },
        )
        .expect("create");
    lap(0);
    c.start().expect("start");
    lap(1);
    let p = c
        .exec(&exec_process(&["true"], false), StdioSet::none())
        .expect("exec");
    lap(2);
    assert_eq!(p.wait().expect("exec wait"), ExitStatus::Exited(0));
    p.delete().expect("exec delete");
    lap(3);
    drop(File::from(stdin_w));
    assert_eq!(c.wait().expect("init wait"), ExitStatus::Exited(0));
    lap(4);
    c.delete().expect("delete");
    lap(5);
    steps
}
