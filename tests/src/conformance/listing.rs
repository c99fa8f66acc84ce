//! Process listings: who is listed, and whether the runtime created them.

use runtime_api::StdioSet;
use testkit::BundleBuilder;

use super::env::{exec, sh, Env};
use super::{Case, CaseResult, Outcome};
use crate::ensure;

/// The listing cases.
pub fn cases() -> Vec<Case> {
    vec![Case {
        area: "listing",
        name: "processes_listed_with_origin",
        run: listed,
    }]
}

fn listed(env: &Env) -> CaseResult {
    let c = env.started(
        "c",
        BundleBuilder::new(&["sleep", "1000"]),
        StdioSet::none(),
    )?;
    let p = exec(&c, &sh("sleep 1000 & sleep 1000"), StdioSet::none())?;
    // The exec's background child may need a moment to appear; poll a bounded number of times.
    let mut procs = Vec::new();
    for _ in 0..100 {
        procs = c
            .running_processes()
            .map_err(|e| format!("running_processes: {e}"))?;
        if procs.len() >= 3 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let find = |pid: i32| procs.iter().find(|i| i.pid == pid);
    let init = find(c.pid()).ok_or(format!("init {} not listed in {procs:?}", c.pid()))?;
    ensure!(
        init.created_by_runtime && !init.is_zombie,
        "init listed as {init:?}"
    );
    let e = find(p.pid()).ok_or(format!("exec {} not listed in {procs:?}", p.pid()))?;
    ensure!(
        e.created_by_runtime,
        "exec listed as not created by the runtime: {e:?}"
    );
    ensure!(
        procs.iter().any(|i| !i.created_by_runtime && !i.is_zombie),
        "the exec's background child is not listed as a process the runtime did not create: \
         {procs:?}"
    );
    ensure!(
        procs.iter().all(|i| !i.is_zombie),
        "running_processes lists a zombie: {procs:?}"
    );
    let all = c
        .all_processes()
        .map_err(|e| format!("all_processes: {e}"))?;
    ensure!(
        all.len() >= procs.len(),
        "all_processes lists fewer than running_processes"
    );
    Ok(Outcome::Passed)
}
