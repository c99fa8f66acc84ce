//! Cross-backend suites: conformance, properties, differential.
//!
//! - [`conformance`]: one suite written against the `runtime-api` traits, run against any
//!   backend plugin through the loader ([`conformance::run`], or the `rtl-conformance`
//!   binary with a plugin path). It covers lifecycle, exec, stdio, tty, pause/resume, state and
//!   process listings, every error kind, and both rules.
//! - [`scenario`]: the scenario model and its proptest strategies: several containers (own,
//!   host or joined pid namespaces, shared cgroups), execs with generated busybox scripts,
//!   inits that exit at generated moments.
//! - [`runner`] runs a scenario on any runtime and records what happened; [`checks`] judges
//!   the record against rule 1 and rule 2, using an [`inspect::Inspector`] (the simulator's
//!   ground truth, [`sim`]) where the traits cannot show enough.
//! - [`model`]: the reference model of containers and processes for the state-machine test.
//! - [`differential`]: compares what a user sees when one plan ran on two runtimes.
//! - [`waiter`] and [`worker`]: bounded `wait`s, on waiter threads or on a scenario's own
//!   worker thread.
//! - [`properties`]: what the property tests share (case counts under CI, the simulator plugin,
//!   seed and mutation knobs, failure messages with the seed and how to replay it).
//!
//! The tests under `tests/tests/`: `conformance` (simulator always, runc when root with runc),
//! `properties` (rule 1 and rule 2, 1,000 cases each under CI), `state_machine` (500
//! sequences under CI), `differential` (simulator vs runc, 200 scenarios under CI;
//! `scripts/differential-long.sh` runs 2,000).

#![warn(missing_docs)]

pub mod checks;
pub mod conformance;
pub mod connection;
pub mod differential;
pub mod inspect;
pub mod model;
pub mod properties;
pub mod replay;
pub mod runner;
pub mod scenario;
pub mod sim;
pub mod waiter;
pub mod worker;
