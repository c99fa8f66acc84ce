//! A host whose standard input is closed (a daemon that closed descriptor 0 instead of opening
//! `/dev/null` on it): the descriptors the layer opens (pidfds, pipes, files) may then be
//! numbered 0, which is as valid as any other. A test binary of its own: closing descriptor 0
//! is process-wide (`closed_stdin_from_the_start.rs` closes it before the layer starts).
//! Real runc, as root; mandatory under `RTL_REQUIRE_RUNC=1`.

mod common;

use common::*;
use runtime_api::{ExitStatus, Signal, StdioSet};
use testkit::{exec_process, require_runc_or_skip, BundleBuilder};

#[test]
fn a_host_with_descriptor_0_closed_runs_containers_and_execs() {
    if !require_runc_or_skip("a_host_with_descriptor_0_closed_runs_containers_and_execs") {
        return;
    }
    let w = World::new("nostdin");
    let bundle = BundleBuilder::new(&["sleep", "1000"]).build().unwrap();
    // No test of this binary reads its standard input.
    nix::unistd::close(0).unwrap();
    let c =
        w.rt.create_container("sb", &w.id(1), bundle.path(), StdioSet::none())
            .unwrap();
    c.start().unwrap();
    for n in 0..3 {
        let (stdio, out, _err) = collect(None);
        let p = c
            .exec(
                &exec_process(&["sh", "-c", &format!("echo {n}; exit {n}")], false),
                stdio,
            )
            .unwrap_or_else(|e| panic!("exec {n} with descriptor 0 closed: {e}"));
        assert_eq!(p.wait_bounded().unwrap(), ExitStatus::Exited(n));
        assert_eq!(out.bytes(), format!("{n}\n").into_bytes());
        p.delete().unwrap();
    }
    c.kill(Signal::KILL).unwrap();
    assert_eq!(
        c.wait_bounded().unwrap(),
        ExitStatus::Signaled(Signal::KILL)
    );
    c.delete().unwrap();
    assert!(w.state_entries().is_empty(), "{:?}", w.state_entries());
}
