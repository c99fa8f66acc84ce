//! A host that ignores a signal (a daemon started under `nohup` ignores `SIGHUP`): an ignored
//! signal stays ignored across `fork` and `exec`, but the containers' processes must get the
//! default actions, whatever the host chose for itself. A test binary of its own: a signal's
//! action is process-wide. Real runc, as root; mandatory under `RTL_REQUIRE_RUNC=1`
//! (`youki_host_ignoring_signals.rs` runs it again with youki).

mod common;

use common::*;
use runtime_api::{ExitStatus, Signal, StdioSet};
use testkit::{exec_process, BundleBuilder, PidNamespace};

#[test]
fn a_host_ignoring_sighup_does_not_hand_that_to_containers() {
    if !require_runc_or_skip("a_host_ignoring_sighup_does_not_hand_that_to_containers") {
        return;
    }
    // SAFETY: signal(2) with SIG_IGN, on this process; no test of this binary handles SIGHUP.
    unsafe { libc::signal(libc::SIGHUP, libc::SIG_IGN) };
    let w = World::new("nohup");
    // In the host's pid namespace, so that the init is not a namespace init (which ignores
    // the signals it has no handler for).
    let bundle = BundleBuilder::new(&["sh", "-c", "kill -HUP $$; exit 7"])
        .pid_namespace(PidNamespace::Host)
        .build()
        .unwrap();
    let c =
        w.rt.create_container("sb", &w.id(1), bundle.path(), StdioSet::none())
            .unwrap();
    c.start().unwrap();
    assert_eq!(
        c.wait_bounded().unwrap(),
        ExitStatus::Signaled(Signal::HUP),
        "the init"
    );
    c.delete().unwrap();

    let bundle = BundleBuilder::new(&["sleep", "1000"]).build().unwrap();
    let c =
        w.rt.create_container("sb", &w.id(2), bundle.path(), StdioSet::none())
            .unwrap();
    c.start().unwrap();
    let p = c
        .exec(
            &exec_process(&["sh", "-c", "kill -HUP $$; exit 7"], false),
            StdioSet::none(),
        )
        .unwrap();
    assert_eq!(
        p.wait_bounded().unwrap(),
        ExitStatus::Signaled(Signal::HUP),
        "the exec"
    );
    p.delete().unwrap();
    c.kill(Signal::KILL).unwrap();
    c.wait_bounded().unwrap();
    c.delete().unwrap();
}
