//! The scenario model: what a generated test does, as plain data.
//!
//! A [`Scenario`] names several containers (each owning a pid namespace, sharing the host's, or
//! joining an earlier container's by path; some sharing a cgroup), their init scripts, and a
//! list of [`Step`]s: execs with generated scripts, signals to inits, and waits, in order. The
//! raw generated values may hold out-of-range indices after shrinking; [`Scenario::plan`]
//! resolves them into a [`Plan`] that is always valid, and it is the plan that runs and that a
//! failure prints.
//!
//! [`strategy`] has the proptest strategies; [`script`] the generated shell scripts and their
//! expected outcomes.

pub mod script;
pub mod strategy;

use std::fmt;

use runtime_api::Signal;

pub use script::{Cmd, Outcome, Script};

/// Which pid namespace a planned container gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PidNs {
    /// Its own (a `pid` entry without a path): it owns its namespace.
    Own,
    /// The host's (no `pid` entry).
    Host,
    /// Joins the namespace of container `n` (by `/proc/<init pid>/ns/pid`). Resolved to an
    /// earlier container that owns its namespace, or to [`PidNs::Host`] if there is none.
    Join(usize),
}

/// How one output stream of a process is connected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Conn {
    /// No connection: the process writes to `/dev/null`.
    Null,
    /// A pipe whose read end the suite drains.
    Pipe,
    /// A unix stream socket whose other end the suite drains.
    Socket,
}

/// The connections of a process's stdout and stderr (stdin is never connected here).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StdioPlan {
    /// Standard output.
    pub stdout: Conn,
    /// Standard error.
    pub stderr: Conn,
}

impl StdioPlan {
    /// Both streams on pipes.
    pub const PIPES: StdioPlan = StdioPlan {
        stdout: Conn::Pipe,
        stderr: Conn::Pipe,
    };
}

/// One planned container.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContainerPlan {
    /// Its pid namespace.
    pub pid_ns: PidNs,
    /// Its cgroup group: containers with the same number share one cgroup path.
    pub cgroup: usize,
    /// Its init script.
    pub init: Script,
    /// Its init's connections.
    pub stdio: StdioPlan,
}

/// One step of a scenario, run in order after every container was created and started.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Exec `script` in container `container`.
    Exec {
        /// Container index.
        container: usize,
        /// The script.
        script: Script,
        /// Its connections.
        stdio: StdioPlan,
    },
    /// `Container::kill(signal)` on the init of container `container`.
    Kill {
        /// Container index.
        container: usize,
        /// The signal.
        signal: Signal,
    },
    /// Wait for the `exec`-th exec started so far.
    WaitExec {
        /// Index among the execs (resolved modulo the number started before this step).
        exec: usize,
    },
    /// Wait for the init of container `container`.
    WaitInit {
        /// Container index.
        container: usize,
    },
    /// `kill(KILL)` then wait on the init of container `container`: a stop whose outcome does
    /// not depend on timing.
    Stop {
        /// Container index.
        container: usize,
    },
}

/// A generated scenario, as proptest produces and shrinks it.
#[derive(Clone, PartialEq, Eq)]
pub struct Scenario {
    /// The simulator seed the scenario runs under.
    pub seed: u64,
    /// The containers, created in order (at least one).
    pub containers: Vec<ContainerPlan>,
    /// The steps.
    pub steps: Vec<Step>,
}

/// A scenario with every index resolved: what actually runs.
#[derive(Clone, PartialEq, Eq)]
pub struct Plan {
    /// The simulator seed.
    pub seed: u64,
    /// Containers; every `Join(n)` names an earlier container with [`PidNs::Own`].
    pub containers: Vec<ContainerPlan>,
    /// Steps; every container index is in range and every `WaitExec` names an exec started by
    /// an earlier step. Steps that resolve to nothing (a wait before any exec) are dropped.
    pub steps: Vec<Step>,
}

impl Scenario {
    /// Resolves indices into a valid [`Plan`].
    pub fn plan(&self) -> Plan {
        let n = self.containers.len().max(1);
        let mut containers: Vec<ContainerPlan> = Vec::new();
        for (i, c) in self.containers.iter().enumerate() {
            let mut c = c.clone();
            if let PidNs::Join(target) = c.pid_ns {
                let owners: Vec<usize> = (0..i)
                    .filter(|&j| containers[j].pid_ns == PidNs::Own)
                    .collect();
                c.pid_ns = if owners.is_empty() {
                    PidNs::Host
                } else {
                    PidNs::Join(owners[target % owners.len()])
                };
            }
            c.cgroup %= n;
            containers.push(c);
        }
        let mut steps = Vec::new();
        let mut execs = 0usize;
        for step in &self.steps {
            match step {
                Step::Exec {
                    container,
                    script,
                    stdio,
                } => {
                    steps.push(Step::Exec {
                        container: container % n,
                        script: script.clone(),
                        stdio: *stdio,
                    });
                    execs += 1;
                }
                Step::Kill { container, signal } => steps.push(Step::Kill {
                    container: container % n,
                    signal: *signal,
                }),
                Step::WaitExec { exec } => {
                    if execs > 0 {
                        steps.push(Step::WaitExec { exec: exec % execs });
                    }
                }
                Step::WaitInit { container } => steps.push(Step::WaitInit {
                    container: container % n,
                }),
                Step::Stop { container } => steps.push(Step::Stop {
                    container: container % n,
                }),
            }
        }
        Plan {
            seed: self.seed,
            containers,
            steps,
        }
    }
}

impl Plan {
    /// Whether container `i` owns its pid namespace.
    pub fn owns_namespace(&self, i: usize) -> bool {
        self.containers[i].pid_ns == PidNs::Own
    }

    /// The container whose pid namespace container `i`'s processes live in, if that is a
    /// container's (its own or the one it joined); `None` for the host's.
    pub fn namespace_owner(&self, i: usize) -> Option<usize> {
        match self.containers[i].pid_ns {
            PidNs::Own => Some(i),
            PidNs::Join(j) => Some(j),
            PidNs::Host => None,
        }
    }

    /// The containers that share container `i`'s cgroup, `i` excluded.
    pub fn cgroup_peers(&self, i: usize) -> Vec<usize> {
        (0..self.containers.len())
            .filter(|&j| j != i && self.containers[j].cgroup == self.containers[i].cgroup)
            .collect()
    }
}

impl fmt::Debug for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.plan(), f)
    }
}

impl fmt::Debug for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "scenario (sim seed {}):", self.seed)?;
        for (i, c) in self.containers.iter().enumerate() {
            let ns = match c.pid_ns {
                PidNs::Own => "own pid ns".to_string(),
                PidNs::Host => "host pid ns".to_string(),
                PidNs::Join(j) => format!("joins c{j}'s pid ns"),
            };
            writeln!(
                f,
                "  c{i}: {ns}, cgroup g{}, init {:?}, stdout {:?} stderr {:?}",
                c.cgroup, c.init, c.stdio.stdout, c.stdio.stderr
            )?;
        }
        let mut execs = 0;
        for step in &self.steps {
            match step {
                Step::Exec {
                    container,
                    script,
                    stdio,
                } => {
                    writeln!(
                        f,
                        "  e{execs} = exec c{container} {script:?} (stdout {:?} stderr {:?})",
                        stdio.stdout, stdio.stderr
                    )?;
                    execs += 1;
                }
                Step::Kill { container, signal } => writeln!(f, "  kill c{container} {signal}")?,
                Step::WaitExec { exec } => writeln!(f, "  wait e{exec}")?,
                Step::WaitInit { container } => writeln!(f, "  wait c{container}")?,
                Step::Stop { container } => writeln!(f, "  stop c{container} (KILL, wait)")?,
            }
        }
        write!(
            f,
            "  then: KILL and wait every init still running, wait every exec"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(pid_ns: PidNs, cgroup: usize) -> ContainerPlan {
        ContainerPlan {
            pid_ns,
            cgroup,
            init: Script::default(),
            stdio: StdioPlan::PIPES,
        }
    }

    #[test]
    fn plan_resolves_joins_and_indices() {
        let s = Scenario {
            seed: 1,
            containers: vec![c(PidNs::Join(3), 7), c(PidNs::Own, 1), c(PidNs::Join(5), 0)],
            steps: vec![
                Step::WaitExec { exec: 2 },
                Step::Exec {
                    container: 4,
                    script: Script::default(),
                    stdio: StdioPlan::PIPES,
                },
                Step::WaitExec { exec: 9 },
                Step::Kill {
                    container: 5,
                    signal: Signal::KILL,
                },
            ],
        };
        let p = s.plan();
        assert_eq!(p.containers[0].pid_ns, PidNs::Host);
        assert_eq!(p.containers[0].cgroup, 1);
        assert_eq!(p.containers[2].pid_ns, PidNs::Join(1));
        assert_eq!(p.cgroup_peers(0), vec![1]);
        assert_eq!(p.namespace_owner(2), Some(1));
        assert_eq!(p.steps.len(), 3, "the wait before any exec is dropped");
        assert_eq!(p.steps[1], Step::WaitExec { exec: 0 });
        assert!(format!("{s:?}").contains("joins c1's pid ns"));
    }
}
