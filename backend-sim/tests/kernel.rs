//! One test per kernel semantic the simulator models.

mod common;
use common::*;
use runtime_api::{Container, ExitStatus, Runtime, Signal, StdioSet};
use std::time::Duration;
use testkit::PidNamespace;

fn create(
    rt: &dyn Runtime,
    id: &str,
    b: &testkit::Bundle,
    io: Option<Io>,
) -> (Box<dyn Container>, Option<(Capture, Capture)>) {
    match io {
        Some(io) => {
            let c = rt.create_container("sb", id, b.path(), io.set).unwrap();
            (c, Some((io.out, io.err)))
        }
        None => (
            rt.create_container("sb", id, b.path(), StdioSet::none())
                .unwrap(),
            None,
        ),
    }
}

#[test]
fn owned_pid_namespace_numbers_from_one() {
    let rt = sim(1);
    let (st, out, _) = run_init(&rt, "c", &["sh", "-c", "echo $$"], None);
    assert_eq!((st, out.as_slice()), (ExitStatus::Exited(0), &b"1\n"[..]));
    let (c, _b) = long_container(&rt, "long");
    let (_, out, _, p) = run_exec(c.as_ref(), &["sh", "-c", "echo $$"], None);
    assert_eq!(out, b"2\n");
    let snap = rt.process(c.pid()).unwrap();
    assert!(snap.ns_init && snap.ns_pid == 1 && snap.ns != 0);
    assert!(p.pid() > c.pid(), "host pids differ from namespace pids");
}

#[test]
fn host_pid_namespace_shows_host_pids() {
    let rt = sim(1);
    let b = bundle_with(&["sh", "-c", "echo $$"], PidNamespace::Host, None);
    let (c, cap) = create(&rt, "c", &b, Some(io(None)));
    c.start().unwrap();
    bounded("wait", || c.wait()).unwrap();
    let (out, _) = cap.unwrap();
    assert_eq!(
        String::from_utf8(out.bytes()).unwrap(),
        format!("{}\n", c.pid())
    );
}

#[test]
fn joined_pid_namespace_by_path_dies_with_its_init() {
    let rt = sim(2);
    let (a, _ba) = long_container(&rt, "a");
    let path = format!("/proc/{}/ns/pid", a.pid());
    let bb = bundle_with(
        &["sh", "-c", "echo $$; sleep 1000"],
        PidNamespace::Join(path.into()),
        None,
    );
    let (b, cap) = create(&rt, "b", &bb, Some(io(None)));
    b.start().unwrap();
    rt.advance(Duration::from_millis(10));
    let snap = rt.process(b.pid()).unwrap();
    assert_eq!(snap.ns, rt.process(a.pid()).unwrap().ns);
    assert_eq!(snap.ns_pid, 2);
    // The namespace's init dies: every member is killed, the joined container's init too.
    a.kill(Signal::KILL).unwrap();
    assert_eq!(
        bounded("wait", || a.wait()).unwrap(),
        ExitStatus::Signaled(Signal::KILL)
    );
    assert_eq!(
        bounded("wait", || b.wait()).unwrap(),
        ExitStatus::Signaled(Signal::KILL)
    );
    let (out, _) = cap.unwrap();
    assert_eq!(out.bytes(), b"2\n");
    assert!(rt.trace_text().contains("pidns_death"));
    // A namespace whose init is gone cannot be joined.
    let bc = bundle_with(
        &["true"],
        PidNamespace::Join(format!("/proc/{}/ns/pid", a.pid()).into()),
        None,
    );
    let e = rt
        .create_container("sb", "c", bc.path(), StdioSet::none())
        .err()
        .unwrap();
    assert_eq!(e.kind(), runtime_api::ErrorKind::Backend, "{e}");
}

#[test]
fn init_death_kills_its_namespace_without_kill_all() {
    let rt = sim(3);
    let b = bundle(&["sh", "-c", "sleep 1000 & sleep 1"]);
    let (c, _) = create(&rt, "c", &b, None);
    c.start().unwrap();
    let p = c
        .exec(
            &testkit::exec_process(&["sleep", "500"], false),
            StdioSet::none(),
        )
        .unwrap();
    assert_eq!(bounded("wait", || c.wait()).unwrap(), ExitStatus::Exited(0));
    assert_eq!(
        bounded("wait", || p.wait()).unwrap(),
        ExitStatus::Signaled(Signal::KILL)
    );
    assert!(
        rt.container_processes("c").is_empty(),
        "{:?}",
        rt.processes()
    );
    assert!(
        rt.kill_alls().is_empty(),
        "an owned namespace needs no kill-all"
    );
    let trace = rt.trace_text();
    // The exec's exit is reported before the init's.
    let exec_reap = trace
        .find(&format!("pid={} relay_exited", p.pid()))
        .unwrap();
    let init_reap = trace
        .find(&format!("pid={} relay_exited", c.pid()))
        .unwrap();
    assert!(exec_reap < init_reap, "{trace}");
}

#[test]
fn rule1_kill_all_when_init_shares_the_host_namespace() {
    let rt = sim(4);
    let b = bundle_with(
        &["sh", "-c", "sleep 1000 & echo started"],
        PidNamespace::Host,
        None,
    );
    let (c, cap) = create(&rt, "c", &b, Some(io(None)));
    c.start().unwrap();
    assert_eq!(bounded("wait", || c.wait()).unwrap(), ExitStatus::Exited(0));
    let kills = rt.kill_alls();
    assert_eq!(kills.len(), 1);
    assert_eq!(kills[0].reason, "init_exit");
    assert_eq!(kills[0].signalled.len(), 1, "the background sleep");
    assert!(rt.container_processes("c").is_empty(), "killed and reaped");
    // The sibling that held stdout died, so the relay completed well before the grace.
    let report = c.relay_report().unwrap();
    assert!(!report.was_cut());
    assert!(rt.now() < Duration::from_secs(1));
    assert_eq!(cap.unwrap().0.bytes(), b"started\n");
}

#[test]
fn orphans_reparent_to_the_namespace_init_or_the_runtime() {
    let rt = sim(5);
    let (c, _b) = long_container(&rt, "own");
    let (st, _, _, _) = run_exec(c.as_ref(), &["sh", "-c", "sleep 100 & exit 0"], None);
    assert_eq!(st, ExitStatus::Exited(0));
    let orphan = rt
        .container_processes("own")
        .into_iter()
        .find(|p| p.argv == ["sleep", "100"])
        .unwrap();
    assert_eq!(orphan.ppid, c.pid(), "adopted by the namespace's init");

    let b = bundle_with(
        &["sh", "-c", "sleep 1000"],
        PidNamespace::Host,
        Some("/host"),
    );
    let (h, _) = create(&rt, "host", &b, None);
    h.start().unwrap();
    run_exec(h.as_ref(), &["sh", "-c", "sleep 100 & exit 0"], None);
    let orphan = rt
        .container_processes("host")
        .into_iter()
        .find(|p| p.argv == ["sleep", "100"])
        .unwrap();
    assert_eq!(orphan.ppid, 0, "adopted by the runtime (subreaper)");
    // When it exits, the runtime reaps it at once; the namespace init (`sleep`) never does.
    rt.advance(Duration::from_secs(200));
    let host_procs = rt.container_processes("host");
    assert!(host_procs.iter().all(|p| !p.is_zombie()), "{host_procs:?}");
    let own_zombies: Vec<_> = rt
        .container_processes("own")
        .into_iter()
        .filter(|p| p.is_zombie())
        .collect();
    assert_eq!(
        own_zombies.len(),
        1,
        "pid 1 is `sleep`, which does not reap"
    );
}

#[test]
fn zombies_stay_until_their_parent_reaps() {
    let rt = sim(6);
    // `sleep 100` is exec'd (last command): nobody reaps `true`.
    let b = bundle(&["sh", "-c", "true & sleep 100"]);
    let (c, _) = create(&rt, "c", &b, None);
    c.start().unwrap();
    rt.advance(Duration::from_secs(1));
    let all = c.all_processes().unwrap();
    let zombies: Vec<_> = all.iter().filter(|p| p.is_zombie).collect();
    assert_eq!(zombies.len(), 1, "{all:?}");
    assert!(zombies[0].command.is_empty());
    assert!(!zombies[0].created_by_runtime);
    assert!(c.running_processes().unwrap().iter().all(|p| !p.is_zombie));
    // A shell waiting for a foreground child reaps every exited child (waitpid(-1)).
    let b2 = bundle(&["sh", "-c", "true & sleep 1; sleep 100"]);
    let (c2, _) = create(&rt, "c2", &b2, None);
    c2.start().unwrap();
    rt.advance(Duration::from_secs(5));
    assert!(c2.all_processes().unwrap().iter().all(|p| !p.is_zombie));
}

#[test]
fn namespace_init_ignores_signals_it_has_no_handler_for() {
    let rt = sim(7);
    let (c, _b) = long_container(&rt, "own");
    c.kill(Signal::TERM).unwrap();
    rt.advance(Duration::from_secs(1));
    assert_eq!(c.state().unwrap().status, runtime_api::Status::Running);
    // From inside its namespace even SIGKILL is ignored.
    let (st, _, _, _) = run_exec(c.as_ref(), &["sh", "-c", "kill -9 1"], None);
    assert_eq!(st, ExitStatus::Exited(0));
    assert_eq!(c.state().unwrap().status, runtime_api::Status::Running);
    // SIGKILL from outside acts.
    c.kill(Signal::KILL).unwrap();
    assert_eq!(
        bounded("wait", || c.wait()).unwrap(),
        ExitStatus::Signaled(Signal::KILL)
    );

    // With a handler the signal is delivered.
    let b = bundle(&[
        "sh",
        "-c",
        "trap 'echo got; exit 4' TERM; sleep 1000 & wait",
    ]);
    let (t, cap) = create(&rt, "trap", &b, Some(io(None)));
    t.start().unwrap();
    rt.advance(Duration::from_millis(5));
    t.kill(Signal::TERM).unwrap();
    assert_eq!(bounded("wait", || t.wait()).unwrap(), ExitStatus::Exited(4));
    assert_eq!(cap.unwrap().0.bytes(), b"got\n");

    // Not a namespace init: the default action terminates.
    let b = bundle_with(&["sleep", "1000"], PidNamespace::Host, None);
    let (h, _) = create(&rt, "host", &b, None);
    h.start().unwrap();
    h.kill(Signal::TERM).unwrap();
    assert_eq!(
        bounded("wait", || h.wait()).unwrap(),
        ExitStatus::Signaled(Signal::TERM)
    );
}

#[test]
fn shared_cgroup_kill_all_hits_the_neighbour() {
    let rt = sim(8);
    let bb = bundle_with(&["sleep", "1000"], PidNamespace::Own, Some("/shared"));
    let (b, _) = create(&rt, "b", &bb, None);
    b.start().unwrap();
    let ba = bundle_with(&["sh", "-c", "exit 0"], PidNamespace::Host, Some("/shared"));
    let (a, _) = create(&rt, "a", &ba, None);
    a.start().unwrap();
    assert_eq!(bounded("wait", || a.wait()).unwrap(), ExitStatus::Exited(0));
    let kills = rt.kill_alls();
    assert_eq!(kills.len(), 1);
    assert_eq!(kills[0].cgroup, "/shared");
    assert_eq!(kills[0].signalled, vec![b.pid()]);
    assert_eq!(
        bounded("wait", || b.wait()).unwrap(),
        ExitStatus::Signaled(Signal::KILL)
    );
    // Both containers list the cgroup's processes, as `runc ps` does.
    assert!(a.all_processes().unwrap().is_empty());
}

#[test]
fn owned_namespace_spares_a_neighbour_sharing_its_cgroup() {
    let rt = sim(9);
    let bb = bundle_with(&["sleep", "1000"], PidNamespace::Own, Some("/shared"));
    let (b, _) = create(&rt, "b", &bb, None);
    b.start().unwrap();
    let ba = bundle_with(
        &["sh", "-c", "sleep 1 & exit 0"],
        PidNamespace::Own,
        Some("/shared"),
    );
    let (a, _) = create(&rt, "a", &ba, None);
    a.start().unwrap();
    assert_eq!(bounded("wait", || a.wait()).unwrap(), ExitStatus::Exited(0));
    assert!(rt.kill_alls().is_empty());
    assert_eq!(b.state().unwrap().status, runtime_api::Status::Running);
    assert!(rt.process(b.pid()).is_some_and(|p| !p.is_zombie()));
}

#[test]
fn stdio_reaches_eof_only_after_the_last_writer() {
    let rt = sim(10);
    let (c, _b) = long_container(&rt, "c");
    let t0 = rt.now();
    let (st, out, _, p) = run_exec(
        c.as_ref(),
        &["sh", "-c", "sleep 1 && echo late & echo early"],
        None,
    );
    assert_eq!(st, ExitStatus::Exited(0));
    assert_eq!(out, b"early\nlate\n");
    assert!(!p.relay_report().unwrap().was_cut());
    assert!(
        rt.now() - t0 >= Duration::from_secs(1),
        "waited for the child's end-of-file"
    );
    let facts = rt.relay_facts(p.pid()).unwrap();
    assert!(facts.eof_at_ns[0].unwrap() > facts.exited_at_ns);
    assert_eq!(facts.written, [11, 0]);
}

#[test]
fn a_child_holding_stdio_past_the_grace_cuts_the_relay() {
    let rt = sim(11);
    let (c, _b) = long_container(&rt, "c");
    let t0 = rt.now();
    let (st, out, _, p) = run_exec(c.as_ref(), &["sh", "-c", "sleep 1000 & echo hi"], None);
    assert_eq!(st, ExitStatus::Exited(0));
    assert_eq!(out, b"hi\n");
    let report = p.relay_report().unwrap();
    assert!(report.was_cut(), "{report:?}");
    assert_eq!(report.stdout.relayed, 3);
    let waited = rt.now() - t0;
    assert!(
        waited >= Duration::from_secs(2) && waited < Duration::from_secs(3),
        "{waited:?}"
    );
    let facts = rt.relay_facts(p.pid()).unwrap();
    assert!(facts.cut && facts.eof_at_ns[0].is_none());
}

#[test]
fn pause_freezes_the_cgroup_and_resume_thaws_it() {
    let rt = sim(12);
    let b = bundle(&["sh", "-c", "sleep 1; echo done"]);
    let (c, cap) = create(&rt, "c", &b, Some(io(None)));
    c.start().unwrap();
    rt.advance(Duration::from_millis(10));
    c.pause().unwrap();
    rt.advance(Duration::from_secs(5));
    assert_eq!(c.state().unwrap().status, runtime_api::Status::Paused);
    assert!(rt.process(c.pid()).is_some_and(|p| !p.is_zombie()));
    c.resume().unwrap();
    assert_eq!(bounded("wait", || c.wait()).unwrap(), ExitStatus::Exited(0));
    assert_eq!(cap.unwrap().0.bytes(), b"done\n");
}

#[test]
fn terminal_processes_go_through_a_pty() {
    let rt = sim(13);
    let (c, _b) = long_container(&rt, "c");
    let (w, cap) = Capture::new();
    let p = c
        .exec(
            // Alive until the virtual clock moves (in `wait`): the simulator runs every ready
            // step before a call returns, so a bare `echo hi` could have ended, and its relay
            // closed the pty, before the first resize.
            &testkit::exec_process(&["sh", "-c", "sleep 1; echo hi"], true),
            StdioSet {
                stdout: Some(w),
                ..StdioSet::none()
            },
        )
        .unwrap();
    p.resize_console(runtime_api::ConsoleSize {
        rows: 40,
        cols: 100,
    })
    .unwrap();
    assert_eq!(bounded("wait", || p.wait()).unwrap(), ExitStatus::Exited(0));
    assert_eq!(cap.bytes(), b"hi\r\n", "the pty's output processing");
    assert_eq!(
        p.resize_console(runtime_api::ConsoleSize { rows: 1, cols: 1 })
            .unwrap_err()
            .kind(),
        runtime_api::ErrorKind::RelayClosed
    );
}
