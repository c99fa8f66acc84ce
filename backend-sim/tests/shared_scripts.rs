//! The scripts shared with the runc backend's tests (testkit/scripts.json) give the same exit
//! codes and the same bytes on the simulator, as a container's init and as an exec.

mod common;
use common::*;

fn stdin_of(s: &testkit::Script) -> Option<&[u8]> {
    (!s.stdin.is_empty()).then_some(s.stdin.as_slice())
}

#[test]
fn shared_scripts_as_init() {
    let scripts = testkit::shared_scripts();
    assert!(scripts.len() >= 10);
    let rt = sim(7);
    for (i, s) in scripts.iter().enumerate() {
        let (st, out, err) = run_init(&rt, &format!("init-{i}"), &s.args_str(), stdin_of(s));
        assert_eq!(st.code(), s.exit_code, "{}: exit code", s.name);
        assert_eq!(out, s.stdout, "{}: stdout", s.name);
        assert_eq!(err, s.stderr, "{}: stderr", s.name);
    }
}

#[test]
fn shared_scripts_as_exec() {
    let rt = sim(8);
    let (c, _b) = long_container(&rt, "host");
    for s in testkit::shared_scripts() {
        let (st, out, err, p) = run_exec(c.as_ref(), &s.args_str(), stdin_of(&s));
        assert_eq!(st.code(), s.exit_code, "{}: exit code", s.name);
        assert_eq!(out, s.stdout, "{}: stdout", s.name);
        assert_eq!(err, s.stderr, "{}: stderr", s.name);
        let report = p.relay_report().expect("connections were given");
        assert!(!report.was_cut(), "{}: {report:?}", s.name);
        assert_eq!(report.stdout.relayed, s.stdout.len() as u64, "{}", s.name);
        p.delete().unwrap();
    }
    c.kill(runtime_api::Signal::KILL).unwrap();
    bounded("wait", || c.wait()).unwrap();
    c.delete().unwrap();
}

#[test]
fn shared_scripts_under_many_seeds() {
    // The outcome of a shared script never depends on the interleaving.
    let scripts = testkit::shared_scripts();
    let bundles: Vec<_> = scripts.iter().map(|s| bundle(&s.args_str())).collect();
    for seed in backend_sim::selfcheck::seeds(100, 5) {
        let rt = sim(seed);
        for (i, (s, b)) in scripts.iter().zip(&bundles).enumerate() {
            let (st, out, err) = run_init_in(&rt, &format!("s{i}"), b, stdin_of(s));
            assert_eq!(
                (st.code(), &out, &err),
                (s.exit_code, &s.stdout, &s.stderr),
                "{} under {}",
                s.name,
                backend_sim::selfcheck::replay_hint(seed)
            );
        }
    }
}
