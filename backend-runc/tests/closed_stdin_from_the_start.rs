//! A host that closed descriptor 0 before the layer started: the layer's own long-lived
//! descriptors (the reaper's wake-up eventfd, made when the first runc call is watched) may
//! then be numbered 0. A test binary of its own, apart from `closed_stdin.rs`: there the
//! descriptor is closed after the layer started, so that the descriptors of each container and
//! exec (pidfds, pipes) are the ones that can get 0.

mod common;

use common::*;
use runtime_api::{ExitStatus, StdioSet};
use testkit::{require_runc_or_skip, BundleBuilder};

#[test]
fn a_host_with_descriptor_0_closed_from_the_start_runs_a_container() {
    if !require_runc_or_skip("a_host_with_descriptor_0_closed_from_the_start_runs_a_container") {
        return;
    }
    // No test of this binary reads its standard input.
    nix::unistd::close(0).unwrap();
    let w = World::new("nostdin0");
    let bundle = BundleBuilder::new(&["sh", "-c", "exit 4"]).build().unwrap();
    let c =
        w.rt.create_container("sb", &w.id(1), bundle.path(), StdioSet::none())
            .unwrap();
    c.start().unwrap();
    assert_eq!(c.wait_bounded().unwrap(), ExitStatus::Exited(4));
    c.delete().unwrap();
    assert!(w.state_entries().is_empty(), "{:?}", w.state_entries());
}
