//! Test support for code built on the runtime layer.
//!
//! - [`BundleBuilder`] writes a real OCI bundle whose root filesystem is Debian's static busybox,
//!   so the same bundle runs on runc and on the simulator without any image download.
//! - [`exec_process`] builds the process spec that `Container::exec` takes.
//! - [`shared_scripts`] lists busybox `sh -c` scripts with known outcomes; the simulator's tests
//!   and the runc backend's tests both check them, which keeps the two backends honest.
//! - [`run_seed_scenario`] is the seed's scenario of issue #15, whose settled process listing
//!   must be the same on every backend.
//! - [`run_lifecycle`] is the container lifecycle the backends' benchmarks time.
//! - [`require_runc_or_skip`] decides whether a test that needs real runc runs, skips, or (under
//!   `RTL_REQUIRE_RUNC=1`, as CI sets it) fails because runc is missing;
//!   [`require_youki_or_skip`] the same for youki, the second OCI runtime.
//! - [`bounded`] puts a wall-clock bound on a wait, so that a hang fails the test run.

#![warn(missing_docs)]

mod bounded;
mod bundle;
mod lifecycle;
mod runc_switch;
mod scripts;
mod seed_scenario;

pub use bounded::{bounded, wait_bound, WAIT_BOUND};
pub use bundle::{
    exec_process, write_busybox_rootfs, Bundle, BundleBuilder, PidNamespace, BUSYBOX,
    BUSYBOX_APPLETS,
};
pub use lifecycle::{run_lifecycle, LifecycleSteps, LIFECYCLE_STEPS};
pub use runc_switch::{
    require_runc_or_skip, require_youki_or_skip, runc_available, runc_required, youki_path,
    REQUIRE_RUNC_VAR,
};
pub use scripts::{shared_scripts, Script};
pub use seed_scenario::{
    run_seed_scenario, seed_expected, Listed, SeedOutcome, SEED_EXECS, SEED_INIT,
};
