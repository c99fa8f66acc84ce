//! Unit tests of the rule oracles on hand-made records: a clean record passes, and every kind
//! of violation the checks know about is reported, naming the process or container.
//!
//! Records are built the way [`crate::runner::run_plan`] fills them in: init records first
//! (index = container), then exec records; one probe per init wait; relay facts as the
//! simulator's inspector reports them.

use std::time::Duration;

use runtime_api::{
    ErrorKind, ExitStatus, ProcessInfo, RelayEnd, RelayReport, Signal, StreamReport,
};

use super::{
    clean_run, rule1, rule2, rule2_with_known, PEER_CLOSE_ALLOWANCE, SIM_KNOWN_RACE_CUT_VS_EOF,
};
use crate::connection::Collected;
use crate::inspect::{KernelProcess, RelayFacts};
use crate::runner::{ExecRecord, InitExitProbe, ProcRecord, Record};
use crate::scenario::{Cmd, ContainerPlan, PidNs, Plan, Script, StdioPlan};

/// The drain grace of every hand-made record.
const GRACE: Duration = Duration::from_millis(500);

fn echo(text: &str, stderr: bool) -> Cmd {
    Cmd::Echo {
        text: text.into(),
        stderr,
    }
}

/// A script that writes on both streams and exits 0.
fn chatty() -> Script {
    Script::new(vec![
        echo("out1", false),
        echo("err1", true),
        echo("out2", false),
    ])
}

fn container(pid_ns: PidNs, cgroup: usize) -> ContainerPlan {
    ContainerPlan {
        pid_ns,
        cgroup,
        init: chatty(),
        stdio: StdioPlan::PIPES,
    }
}

fn collected(bytes: &[u8]) -> Option<Collected> {
    Some(Collected {
        bytes: bytes.to_vec(),
        error: None,
    })
}

fn complete(out: usize, err: usize) -> RelayReport {
    RelayReport {
        end: RelayEnd::Complete,
        stdin: StreamReport::default(),
        stdout: StreamReport {
            relayed: out as u64,
            dropped: 0,
        },
        stderr: StreamReport {
            relayed: err as u64,
            dropped: 0,
        },
    }
}

/// A process that ran its script to the end, exited at `exited_at`, whose relay drained
/// everything it wrote before end-of-file at the exit, and whose `wait` returned at once.
fn proc_record(
    label: &str,
    container: usize,
    exec: Option<usize>,
    script: Script,
    namespace_init: bool,
    exited_at: Duration,
) -> ProcRecord {
    let o = script.expected(namespace_init);
    ProcRecord {
        label: label.into(),
        container,
        exec,
        pid: 100 + 10 * container as i32 + exec.map_or(0, |e| e as i32 + 1),
        script,
        namespace_init,
        stdio: StdioPlan::PIPES,
        status: Some(Ok(o.status)),
        wait_called_at: Some(Duration::ZERO),
        waited_at: Some(exited_at),
        stdout: collected(&o.stdout),
        stderr: collected(&o.stderr),
        unclosed: Vec::new(),
        relay: Some(complete(o.stdout.len(), o.stderr.len())),
        facts: Some(RelayFacts {
            exited_at,
            eof_at: [Some(exited_at), Some(exited_at)],
            written: [o.stdout.len() as u64, o.stderr.len() as u64],
            grace: GRACE,
            cut: false,
        }),
        signals: Vec::new(),
    }
}

/// A clean probe of container `c`'s init exit: nothing left, one kill-all unless it owns its
/// namespace.
fn probe(plan: &Plan, c: usize) -> InitExitProbe {
    InitExitProbe {
        container: c,
        listed: Ok(Vec::new()),
        kernel: Some(Vec::new()),
        kernel_all: Some(Vec::new()),
        kill_all: Some((0, usize::from(!plan.owns_namespace(c)))),
        peers: Vec::new(),
    }
}

/// A clean record of `containers`: each init ran its script and was waited for in order (c0's
/// exit at 1 s, c1's at 2 s...), with a clean probe each; no exec.
fn record(containers: Vec<ContainerPlan>) -> Record {
    let plan = Plan {
        seed: 7,
        containers,
        steps: Vec::new(),
    };
    let n = plan.containers.len();
    let procs = (0..n)
        .map(|i| {
            let c = &plan.containers[i];
            proc_record(
                &format!("c{i} init"),
                i,
                None,
                c.init.clone(),
                c.pid_ns == PidNs::Own,
                Duration::from_secs(i as u64 + 1),
            )
        })
        .collect();
    let init_exits = (0..n).map(|i| probe(&plan, i)).collect();
    Record {
        ids: (0..n).map(|i| format!("t-c{i}")).collect(),
        plan,
        procs,
        execs: Vec::new(),
        init_exits,
        kills: Vec::new(),
        survivors: Vec::new(),
        failures: Vec::new(),
        final_survivors: None,
        final_listings: None,
        calls: Vec::new(),
    }
}

/// Adds exec `e` (the next exec index) of `script` in container `c`, started while its init
/// still ran, exiting at `exited_at`; returns its proc index.
fn add_exec(rec: &mut Record, c: usize, script: Script, exited_at: Duration) -> usize {
    let e = rec.execs.len();
    let p = rec.procs.len();
    rec.procs.push(proc_record(
        &format!("e{e} in c{c}"),
        c,
        Some(e),
        script,
        false,
        exited_at,
    ));
    rec.execs.push(ExecRecord::Started {
        proc: p,
        init_waited: false,
    });
    p
}

fn info(pid: i32, cmd: &str, zombie: bool) -> ProcessInfo {
    ProcessInfo {
        pid,
        command: if zombie {
            Vec::new()
        } else {
            cmd.split(' ').map(str::to_string).collect()
        },
        created_by_runtime: false,
        is_zombie: zombie,
    }
}

fn kernel(pid: i32, ppid: i32, container: &str, cmd: &str, zombie: bool) -> KernelProcess {
    KernelProcess {
        pid,
        ppid,
        container: container.into(),
        argv: cmd.split(' ').map(str::to_string).collect(),
        zombie,
    }
}

/// Asserts `v` holds exactly one violation, and that it contains every one of `words`.
#[track_caller]
fn assert_one(v: &[String], words: &[&str]) {
    assert_eq!(v.len(), 1, "expected exactly one violation, got {v:#?}");
    for w in words {
        assert!(v[0].contains(w), "violation {:?} does not name {w:?}", v[0]);
    }
}

#[track_caller]
fn assert_clean(rec: &Record) {
    assert_eq!(rule1(rec), Vec::<String>::new(), "rule 1");
    let (v, known) = rule2_with_known(rec);
    assert_eq!(v, Vec::<String>::new(), "rule 2");
    assert_eq!(known, Vec::<String>::new(), "known races");
    assert_eq!(clean_run(rec), Vec::<String>::new(), "clean run");
}

/// c0: host pid namespace, c1: its own, c2: joins c1's; c0 and c2 share a cgroup.
fn mixed() -> Record {
    record(vec![
        container(PidNs::Host, 0),
        container(PidNs::Own, 1),
        container(PidNs::Join(1), 0),
    ])
}

// ---- clean records ----

#[test]
fn a_clean_record_passes() {
    let mut rec = mixed();
    add_exec(&mut rec, 0, chatty(), Duration::from_millis(500));
    add_exec(&mut rec, 1, Script::default(), Duration::from_millis(700));
    // An exec after c0's init exit, refused as it must be.
    rec.execs.push(ExecRecord::Refused {
        container: 0,
        kind: ErrorKind::NotRunning,
        init_waited: true,
    });
    rec.kills
        .push((2, Signal::TERM, Err(ErrorKind::NotRunning)));
    assert_clean(&rec);
}

#[test]
fn a_clean_cut_passes() {
    // An exec whose background child held stdout past the grace: the relay was cut, reports
    // the grace that expired, and delivered a prefix of the output.
    let mut rec = record(vec![container(PidNs::Host, 0)]);
    let script = Script::new(vec![echo("before", false), Cmd::HoldStdio { ms: 5000 }]);
    let p = add_exec(&mut rec, 0, script, Duration::from_millis(300));
    let r = &mut rec.procs[p];
    let f = r.facts.as_mut().unwrap();
    f.eof_at = [None, Some(f.exited_at)];
    f.cut = true;
    r.relay.as_mut().unwrap().end = RelayEnd::Cut { grace: GRACE };
    r.waited_at = Some(f.exited_at + GRACE);
    assert_clean(&rec);
}

#[test]
fn a_clean_record_without_inspector_passes() {
    // What a runc run records: no kernel view, no kill-all count, no facts, no clock.
    let mut rec = mixed();
    add_exec(&mut rec, 0, chatty(), Duration::from_millis(500));
    for p in &mut rec.init_exits {
        p.kernel = None;
        p.kernel_all = None;
        p.kill_all = None;
    }
    for r in &mut rec.procs {
        r.facts = None;
        r.wait_called_at = None;
        r.waited_at = None;
    }
    assert_clean(&rec);
}

// ---- rule 1 ----

#[test]
fn a_sibling_alive_after_init_wait_is_reported_for_a_non_owner() {
    let mut rec = mixed();
    let probe = &mut rec.init_exits[0];
    probe.listed = Ok(vec![info(205, "sleep 1000", false)]);
    probe.kernel = Some(vec![kernel(205, 1, "t-c0", "sleep 1000", false)]);
    let v = rule1(&rec);
    assert_eq!(v.len(), 2, "{v:#?}");
    assert!(
        v[0].contains("c0 does not own its pid namespace"),
        "{}",
        v[0]
    );
    assert!(v[0].contains("all_processes still listed"), "{}", v[0]);
    assert!(
        v[0].contains("205") && v[0].contains("sleep 1000"),
        "{}",
        v[0]
    );
    assert!(
        v[1].contains("c0") && v[1].contains("the kernel still had"),
        "{}",
        v[1]
    );
    assert!(v[1].contains("pid: 205"), "{}", v[1]);
}

#[test]
fn a_sibling_seen_only_by_the_kernel_is_reported() {
    // A backend whose listing hides the survivor: the kernel's view still catches it.
    let mut rec = mixed();
    rec.init_exits[0].kernel = Some(vec![kernel(205, 1, "t-c0", "sleep 1000", false)]);
    assert_one(&rule1(&rec), &["c0", "the kernel still had", "pid: 205"]);
}

#[test]
fn a_sibling_alive_in_a_joined_namespace_is_reported() {
    // c2 joined c1's namespace: it does not own one, so rule 1 applies to it.
    let mut rec = mixed();
    rec.init_exits[2].listed = Ok(vec![info(305, "sleep 9", false)]);
    assert_one(&rule1(&rec), &["c2 does not own", "305", "sleep 9"]);
}

#[test]
fn a_zombie_left_behind_is_reported() {
    let mut rec = mixed();
    let probe = &mut rec.init_exits[0];
    probe.listed = Ok(vec![info(206, "", true)]);
    // Its parent is no live process of another container: the runtime should have reaped it.
    probe.kernel = Some(vec![kernel(206, 1, "t-c0", "sh", true)]);
    probe.kernel_all = Some(vec![kernel(206, 1, "t-c0", "sh", true)]);
    let v = rule1(&rec);
    assert_eq!(v.len(), 2, "{v:#?}");
    assert!(
        v[0].contains("c0") && v[0].contains("(206, \"\", true)"),
        "{}",
        v[0]
    );
    assert!(
        v[1].contains("c0") && v[1].contains("zombie: true"),
        "{}",
        v[1]
    );
}

#[test]
fn a_zombie_adopted_by_another_containers_init_is_excused_but_a_live_sibling_is_not() {
    // c2 joined c1's namespace; its zombie 306 was adopted by c1's live init (pid 110), which
    // alone can reap it. A live sibling 307 is never excused.
    let mut rec = mixed();
    let probe = &mut rec.init_exits[2];
    probe.listed = Ok(vec![info(306, "", true), info(307, "sleep 5", false)]);
    probe.kernel = Some(vec![
        kernel(306, 110, "t-c2", "sh", true),
        kernel(307, 110, "t-c2", "sleep 5", false),
    ]);
    probe.kernel_all = Some(vec![
        kernel(110, 0, "t-c1", "sh", false),
        kernel(306, 110, "t-c2", "sh", true),
        kernel(307, 110, "t-c2", "sleep 5", false),
    ]);
    let v = rule1(&rec);
    assert_eq!(v.len(), 2, "{v:#?}");
    for m in &v {
        assert!(m.contains("c2") && m.contains("307"), "{m}");
        assert!(!m.contains("306"), "the adopted zombie is excused: {m}");
    }
}

#[test]
fn a_zombie_whose_parent_is_in_the_same_container_is_not_excused() {
    let mut rec = mixed();
    let probe = &mut rec.init_exits[2];
    probe.listed = Ok(vec![info(306, "", true)]);
    probe.kernel = Some(vec![kernel(306, 305, "t-c2", "sh", true)]);
    probe.kernel_all = Some(vec![
        kernel(305, 0, "t-c2", "sh", false),
        kernel(306, 305, "t-c2", "sh", true),
    ]);
    let v = rule1(&rec);
    assert_eq!(v.len(), 2, "{v:#?}");
    assert!(
        v.iter().all(|m| m.contains("c2") && m.contains("306")),
        "{v:#?}"
    );
}

#[test]
fn a_failed_listing_after_init_exit_is_reported() {
    let mut rec = mixed();
    rec.init_exits[0].listed = Err(ErrorKind::Timeout);
    assert_one(&rule1(&rec), &["c0", "all_processes", "Timeout"]);
    // "not running" and "not found" there are answers, not failures.
    rec.init_exits[0].listed = Err(ErrorKind::NotRunning);
    assert_eq!(rule1(&rec), Vec::<String>::new());
}

#[test]
fn a_kill_all_issued_for_an_owner_is_reported() {
    let mut rec = mixed();
    rec.init_exits[1].kill_all = Some((2, 3));
    assert_one(
        &rule1(&rec),
        &["c1 owns its pid namespace", "1 cgroup-wide kill(s)"],
    );
}

#[test]
fn an_owners_leftover_listing_is_not_a_rule1_violation() {
    // For an owner the kernel kills the namespace; rule 1 asks nothing of the runtime there.
    let mut rec = mixed();
    rec.init_exits[1].listed = Ok(vec![info(115, "sleep 1", false)]);
    assert_eq!(rule1(&rec), Vec::<String>::new());
}

/// c0 owns its namespace; c1 shares its cgroup with a namespace of its own; c1's init exits
/// (by SIGKILL) after c0's.
fn owner_with_peer() -> Record {
    let mut rec = record(vec![container(PidNs::Own, 0), container(PidNs::Own, 0)]);
    rec.procs[1].status = Some(Ok(ExitStatus::Signaled(Signal::KILL)));
    rec.init_exits[0].peers = vec![(1, Some(Ok(ExitStatus::Signaled(Signal::KILL))))];
    rec
}

#[test]
fn a_cgroup_peer_killed_by_an_owners_init_exit_is_reported() {
    let rec = owner_with_peer();
    assert_one(
        &rule1(&rec),
        &[
            "c1 shares c0's cgroup",
            "killed by SIGKILL when c0's init exited",
        ],
    );
}

#[test]
fn a_cgroup_peer_alive_or_killed_for_another_reason_is_not_reported() {
    let mut rec = owner_with_peer();
    rec.init_exits[0].peers = vec![(1, None)];
    assert_eq!(rule1(&rec), Vec::<String>::new(), "alive");

    let mut rec = owner_with_peer();
    rec.procs[1].signals.push(Signal::KILL);
    assert_eq!(rule1(&rec), Vec::<String>::new(), "the plan killed it");

    // A host-namespace cgroup peer c2 whose init exited before c1's: its rule-1 kill-all
    // covers the cgroup, so c1's SIGKILL is explained.
    let mut rec = record(vec![
        container(PidNs::Own, 0),
        container(PidNs::Own, 0),
        container(PidNs::Host, 0),
    ]);
    rec.procs[1].status = Some(Ok(ExitStatus::Signaled(Signal::KILL)));
    rec.procs[1].facts.as_mut().unwrap().exited_at = Duration::from_secs(5);
    rec.init_exits[0].peers = vec![(1, Some(Ok(ExitStatus::Signaled(Signal::KILL))))];
    assert_eq!(
        rule1(&rec),
        Vec::<String>::new(),
        "c2's kill-all explains it"
    );
    // ... but not if c2's init exited only after c1 died.
    rec.procs[1].facts.as_mut().unwrap().exited_at = Duration::from_millis(2500);
    rec.procs[2].facts.as_mut().unwrap().exited_at = Duration::from_secs(3);
    assert_one(&rule1(&rec), &["c1 shares c0's cgroup"]);
}

#[test]
fn an_exec_after_init_exit_that_is_not_refused_is_reported() {
    let mut rec = mixed();
    let p = add_exec(&mut rec, 0, Script::default(), Duration::from_secs(4));
    rec.execs[0] = ExecRecord::Started {
        proc: p,
        init_waited: true,
    };
    assert_one(
        &rule1(&rec),
        &[
            "e0 in c0",
            "exec succeeded after the init's wait had returned",
        ],
    );
}

#[test]
fn an_exec_refused_with_the_wrong_kind_is_reported() {
    let mut rec = mixed();
    add_exec(&mut rec, 1, Script::default(), Duration::from_millis(100));
    rec.execs.push(ExecRecord::Refused {
        container: 2,
        kind: ErrorKind::NotFound,
        init_waited: true,
    });
    assert_one(&rule1(&rec), &["exec #1 in c2", "NotFound, not NotRunning"]);
}

// ---- rule 2 ----

/// A record with one host-namespace container and one exec `e0` of [`chatty`] in it, exiting
/// at 300 ms; returns it and the exec's proc index.
fn one_exec() -> (Record, usize) {
    let mut rec = record(vec![container(PidNs::Host, 0)]);
    let p = add_exec(&mut rec, 0, chatty(), Duration::from_millis(300));
    (rec, p)
}

#[test]
fn missing_bytes_are_reported() {
    let (mut rec, p) = one_exec();
    // The last line of stdout never arrived, and the relay counted what it delivered.
    rec.procs[p].stdout = collected(b"out1\n");
    rec.procs[p].relay.as_mut().unwrap().stdout.relayed = 5;
    let v = rule2(&rec);
    assert_eq!(v.len(), 2, "{v:#?}");
    assert!(
        v[0].contains("e0 in c0 stdout: got 5 bytes") && v[0].contains("expected exactly 10"),
        "{}",
        v[0]
    );
    assert!(
        v[1].contains("e0 in c0: 10 bytes written to stdout but 5 delivered (relay complete)"),
        "{}",
        v[1]
    );
}

#[test]
fn missing_bytes_are_reported_without_facts() {
    // Without facts (no inspector), an init that nothing else can kill is held to its exact
    // output. (An exec is not: every init is waited for by the end of a run, and without exit
    // times `exposed_to_kill` counts that as a possible kill, so only a prefix is required.)
    let mut rec = record(vec![container(PidNs::Host, 0)]);
    let r = &mut rec.procs[0];
    r.facts = None;
    r.stderr = collected(b"");
    r.relay.as_mut().unwrap().stderr.relayed = 0;
    assert_one(
        &rule2(&rec),
        &["c0 init stderr: got 0 bytes", "expected exactly 5 bytes"],
    );
}

#[test]
fn reordered_bytes_are_reported() {
    let (mut rec, p) = one_exec();
    rec.procs[p].stdout = collected(b"out2\nout1\n");
    assert_one(
        &rule2(&rec),
        &[
            "e0 in c0 stdout",
            "\"out2\\nout1\\n\"",
            "\"out1\\nout2\\n\"",
        ],
    );
}

#[test]
fn reordered_bytes_are_reported_even_when_the_output_may_be_cut_short() {
    // Signalled: only a prefix is required, but a reordered prefix is still wrong.
    let (mut rec, p) = one_exec();
    rec.procs[p].signals.push(Signal::TERM);
    rec.procs[p].status = Some(Ok(ExitStatus::Signaled(Signal::TERM)));
    rec.procs[p].stdout = collected(b"out2\n");
    rec.procs[p].relay.as_mut().unwrap().stdout.relayed = 5;
    // The facts say 5 bytes were written (it died early), so only the order is wrong.
    rec.procs[p].facts.as_mut().unwrap().written[0] = 5;
    assert_one(
        &rule2(&rec),
        &["e0 in c0 stdout", "expected a prefix of 10 bytes"],
    );
}

#[test]
fn a_relay_report_that_disagrees_with_the_delivered_bytes_is_reported() {
    let (mut rec, p) = one_exec();
    rec.procs[p].relay.as_mut().unwrap().stderr.dropped = 3;
    assert_one(&rule2(&rec), &["e0 in c0: relay report says", "dropped: 3"]);
}

/// [`one_exec`] whose exec left a background child holding stdout for 5 s.
fn lingering_writer() -> (Record, usize) {
    let (mut rec, p) = one_exec();
    let f = rec.procs[p].facts.as_mut().unwrap();
    f.eof_at[0] = Some(f.exited_at + Duration::from_secs(5));
    (rec, p)
}

#[test]
fn a_complete_relay_although_a_writer_outlived_the_grace_is_reported() {
    let (rec, _) = lingering_writer();
    assert_one(
        &rule2(&rec),
        &["e0 in c0: relay completed but a writer outlived the grace"],
    );
    // A writer that never closed outlives the grace too.
    let (mut rec, p) = lingering_writer();
    rec.procs[p].facts.as_mut().unwrap().eof_at[0] = None;
    assert_one(
        &rule2(&rec),
        &["e0 in c0: relay completed but a writer outlived"],
    );
}

#[test]
fn the_known_simulator_race_is_set_apart_not_hidden() {
    // The simulator's facts say it cut, the relay saw end-of-file first and delivered every
    // byte: a known race, reported apart.
    let (mut rec, p) = lingering_writer();
    rec.procs[p].facts.as_mut().unwrap().cut = true;
    let (v, known) = rule2_with_known(&rec);
    assert_eq!(v, Vec::<String>::new());
    assert_one(&known, &[SIM_KNOWN_RACE_CUT_VS_EOF, "e0 in c0"]);
    // With a byte lost it is a violation again.
    rec.procs[p].stdout = collected(b"out1\n");
    rec.procs[p].relay.as_mut().unwrap().stdout.relayed = 5;
    let (v, known) = rule2_with_known(&rec);
    assert!(known.is_empty(), "{known:#?}");
    assert!(
        v.iter()
            .any(|m| m.contains("e0 in c0: relay completed but a writer outlived")),
        "{v:#?}"
    );
}

#[test]
fn a_cut_without_a_lingering_writer_is_reported() {
    let (mut rec, p) = one_exec();
    rec.procs[p].relay.as_mut().unwrap().end = RelayEnd::Cut { grace: GRACE };
    assert_one(
        &rule2(&rec),
        &["e0 in c0: relay was cut but a writer did not outlive the grace"],
    );
}

#[test]
fn a_writer_closing_exactly_at_the_deadline_may_go_either_way() {
    let (mut rec, p) = one_exec();
    let f = rec.procs[p].facts.as_mut().unwrap();
    f.eof_at[0] = Some(f.exited_at + f.grace);
    assert_eq!(
        rule2(&rec),
        Vec::<String>::new(),
        "complete at the boundary"
    );
    rec.procs[p].relay.as_mut().unwrap().end = RelayEnd::Cut { grace: GRACE };
    assert_eq!(rule2(&rec), Vec::<String>::new(), "cut at the boundary");
}

#[test]
fn a_cut_reporting_the_wrong_grace_is_reported() {
    let (mut rec, p) = lingering_writer();
    let f = rec.procs[p].facts.as_mut().unwrap();
    f.cut = true;
    rec.procs[p].relay.as_mut().unwrap().end = RelayEnd::Cut {
        grace: Duration::ZERO,
    };
    assert_one(
        &rule2(&rec),
        &["e0 in c0: relay was cut reporting a grace of 0ns", "500ms"],
    );
}

#[test]
fn a_wait_past_the_grace_is_reported() {
    let (mut rec, p) = one_exec();
    let f = rec.procs[p].facts.clone().unwrap();
    let bound = f.exited_at + f.grace + PEER_CLOSE_ALLOWANCE;
    rec.procs[p].waited_at = Some(bound);
    assert_eq!(rule2(&rec), Vec::<String>::new(), "at the bound");
    rec.procs[p].waited_at = Some(bound + Duration::from_millis(1));
    assert_one(
        &rule2(&rec),
        &["e0 in c0: wait returned at 1.801s", "grace (500ms)"],
    );
    // A wait called long after the exit is bounded from the call, not from the exit.
    rec.procs[p].wait_called_at = Some(Duration::from_secs(10));
    rec.procs[p].waited_at = Some(Duration::from_secs(10) + PEER_CLOSE_ALLOWANCE);
    assert_eq!(rule2(&rec), Vec::<String>::new(), "late call");
}

#[test]
fn a_hung_wait_is_reported() {
    let (mut rec, p) = one_exec();
    let r = &mut rec.procs[p];
    r.status = None;
    r.waited_at = None;
    r.stdout = None;
    r.stderr = None;
    r.relay = None;
    assert_one(&rule2(&rec), &["e0 in c0: wait did not return (hung)"]);
}

#[test]
fn a_failed_wait_is_reported() {
    let (mut rec, p) = one_exec();
    rec.procs[p].status = Some(Err(ErrorKind::Panicked));
    assert_one(&rule2(&rec), &["e0 in c0: wait failed with Panicked"]);
}

#[test]
fn a_connection_left_open_after_wait_is_reported() {
    let (mut rec, p) = one_exec();
    rec.procs[p].stderr = None;
    rec.procs[p].unclosed.push("stderr");
    assert_one(
        &rule2(&rec),
        &["e0 in c0: the stderr connection was still open after wait returned"],
    );
}

#[test]
fn a_missing_relay_report_is_reported() {
    let (mut rec, p) = one_exec();
    rec.procs[p].relay = None;
    assert_one(&rule2(&rec), &["e0 in c0: no relay report after wait"]);
}

#[test]
fn an_exit_status_the_script_cannot_have_is_reported() {
    let (mut rec, p) = one_exec();
    rec.procs[p].status = Some(Ok(ExitStatus::Exited(3)));
    assert_one(&rule2(&rec), &["e0 in c0: exited with", "cannot end so"]);
}

// ---- clean_run ----

#[test]
fn failed_operations_are_reported_by_clean_run() {
    let mut rec = mixed();
    rec.failures.push("c1: delete: boom".into());
    rec.kills
        .push((0, Signal::TERM, Err(ErrorKind::NotRunning)));
    rec.kills.push((2, Signal::KILL, Err(ErrorKind::NotFound)));
    let v = clean_run(&rec);
    assert_eq!(v.len(), 2, "{v:#?}");
    assert_eq!(v[0], "c1: delete: boom");
    assert!(
        v[1].contains("kill c2") && v[1].contains("NotFound"),
        "{}",
        v[1]
    );
}
