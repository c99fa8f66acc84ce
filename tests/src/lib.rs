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
//! - [`differential`]: runs one scenario on two runtimes and compares what a user sees.

#![warn(missing_docs)]

pub mod checks;
pub mod conformance;
pub mod connection;
pub mod differential;
pub mod inspect;
pub mod model;
pub mod properties;
pub mod runner;
pub mod scenario;
pub mod sim;
