//! Pause and resume, and their refusals.

use runtime_api::{ErrorKind, Signal, Status, StdioSet};
use testkit::BundleBuilder;

use super::env::{expect_kind, wait_init, Env};
use super::{Case, CaseResult, Outcome};
use crate::ensure;

/// The pause/resume cases.
pub fn cases() -> Vec<Case> {
    vec![Case {
        area: "pause",
        name: "pause_resume_and_refusals",
        run: pause_resume,
    }]
}

fn status(c: &std::sync::Arc<dyn runtime_api::Container>) -> Result<Status, String> {
    c.state()
        .map(|s| s.status)
        .map_err(|e| format!("state: {e}"))
}

fn pause_resume(env: &Env) -> CaseResult {
    // Pausing a created container is left out: runc 1.1 accepts it (it freezes the blocked
    // init), although the API documents NotRunning; see the suites report.
    let c = env.started(
        "c",
        BundleBuilder::new(&["sleep", "1000"]),
        StdioSet::none(),
    )?;
    expect_kind(
        "resume of a running container",
        c.resume(),
        ErrorKind::NotRunning,
    )?;
    c.pause().map_err(|e| format!("pause: {e}"))?;
    ensure!(
        status(&c)? == Status::Paused,
        "after pause: {}",
        status(&c)?
    );
    expect_kind(
        "delete of a paused container",
        c.delete(),
        ErrorKind::StillRunning,
    )?;
    // One meaning everywhere: a frozen container takes no exec (runc 1.1 and 1.2+ refuse it
    // without --ignore-paused; the simulator does the same).
    expect_kind(
        "exec into a paused container",
        c.exec(&testkit::exec_process(&["true"], false), StdioSet::none())
            .map(|_| ()),
        ErrorKind::NotRunning,
    )?;
    c.resume().map_err(|e| format!("resume: {e}"))?;
    ensure!(
        status(&c)? == Status::Running,
        "after resume: {}",
        status(&c)?
    );
    c.kill(Signal::KILL).map_err(|e| format!("kill: {e}"))?;
    wait_init(&c)?;
    expect_kind(
        "pause of a stopped container",
        c.pause(),
        ErrorKind::NotRunning,
    )?;
    expect_kind(
        "resume of a stopped container",
        c.resume(),
        ErrorKind::NotRunning,
    )?;
    Ok(Outcome::Passed)
}
