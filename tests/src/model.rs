//! The reference model of containers and processes for the state-machine test: what every
//! API call must return (a value or an error kind) given the calls before it.
//!
//! The model covers a fixed set of container slots (`m0`, `m1`, `m2`). Each slot's init runs
//! `sleep 3600` (it never ends by itself), in its own pid namespace or in the host's. Calls
//! whose outcome would depend on timing are either completed deterministically by the
//! transition (a kill that ends the init is followed by `wait`) or excluded by preconditions
//! (a kill or exec in a created or paused container, whose behaviour the API leaves to the
//! backend).

use std::fmt;

use runtime_api::{ErrorKind, ExitStatus, Signal, Status};

/// Number of container slots.
pub const SLOTS: usize = 3;

/// What the model knows about one slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot {
    /// Never created: no handle exists.
    Absent,
    /// Created, not started.
    Created {
        /// Whether it owns its pid namespace.
        own_ns: bool,
    },
    /// Started; init alive.
    Running {
        /// Whether it owns its pid namespace.
        own_ns: bool,
        /// Whether it is paused.
        paused: bool,
    },
    /// Init ended (and was waited for) with this status.
    Stopped(ExitStatus),
    /// Deleted; the handle remains.
    Deleted,
}

/// One API call (or a short fixed sequence whose outcome is timing-independent).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Call {
    /// `create_container` of slot `slot`; `own_ns` picks the bundle.
    Create {
        /// The slot.
        slot: usize,
        /// Own pid namespace (else the host's).
        own_ns: bool,
    },
    /// `start`.
    Start(usize),
    /// `kill(signal)`, then `wait` if the model says the init dies of it.
    Kill(usize, Signal),
    /// `wait` on a stopped init (returns at once).
    Wait(usize),
    /// `pause`.
    Pause(usize),
    /// `resume`.
    Resume(usize),
    /// `delete` of the container.
    Delete(usize),
    /// `state`, plus `running_processes` for a running container.
    State(usize),
    /// `exec` of `sh -c 'exit CODE'`; if it starts: `wait`, `delete`, and a second `delete`.
    Exec(usize, i32),
    /// `list_container_states`.
    List,
}

/// What a call returns, as the model and the test compare it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// Success with no value.
    Ok,
    /// Failure of this kind.
    Err(ErrorKind),
    /// A kill that ended the init, and the status its `wait` returned.
    Died(ExitStatus),
    /// A wait's status.
    Status(ExitStatus),
    /// A state: status, and the number of running processes (running or paused only).
    State(Status, Option<usize>),
    /// An exec that ran: its status, then the second delete's error kind.
    Exec(ExitStatus, ErrorKind),
    /// The listed containers: (slot, status) in id order.
    List(Vec<(usize, Status)>),
}

/// The model: every slot, plus the answer the last call must have given.
#[derive(Clone, PartialEq, Eq)]
pub struct Model {
    /// The simulator seed of this sequence.
    pub seed: u64,
    /// The slots.
    pub slots: [Slot; SLOTS],
    /// The expected answer of the last call applied.
    pub expected: Option<Answer>,
}

impl fmt::Debug for Model {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "model (sim seed {}) {:?}", self.seed, self.slots)
    }
}

/// The container id of slot `slot`.
pub fn slot_id(slot: usize) -> String {
    format!("m{slot}")
}

impl Model {
    /// A fresh model: every slot absent.
    pub fn new(seed: u64) -> Model {
        Model {
            seed,
            slots: [Slot::Absent; SLOTS],
            expected: None,
        }
    }

    /// Whether `call` is meaningful here: only `Create` and `List` on absent slots, and no
    /// call whose outcome depends on timing or is left to the backend.
    pub fn allows(&self, call: &Call) -> bool {
        let slot = match call {
            Call::List | Call::Create { .. } => return true,
            Call::Start(s)
            | Call::Kill(s, _)
            | Call::Wait(s)
            | Call::Pause(s)
            | Call::Resume(s)
            | Call::Delete(s)
            | Call::State(s)
            | Call::Exec(s, _) => self.slots[*s],
        };
        match (call, slot) {
            (_, Slot::Absent) => false,
            // Kill of a created or paused container, and exec in one, are backend-specific.
            (Call::Kill(..) | Call::Exec(..) | Call::Pause(_), Slot::Created { .. }) => false,
            (Call::Kill(..) | Call::Exec(..), Slot::Running { paused: true, .. }) => false,
            // Wait only where it returns at once; after delete only `pid` and `relay_report`
            // are specified.
            (Call::Wait(_), Slot::Created { .. } | Slot::Running { .. } | Slot::Deleted) => false,
            // A second pause is backend-specific (runc: "container not running").
            (Call::Pause(_), Slot::Running { paused: true, .. }) => false,
            _ => true,
        }
    }

    /// Applies `call`: the new slots and the answer it must give.
    pub fn apply(&mut self, call: &Call) {
        use Answer as A;
        use ErrorKind as K;
        let answer = match *call {
            Call::List => A::List(
                (0..SLOTS)
                    .filter_map(|s| {
                        let status = match self.slots[s] {
                            Slot::Absent | Slot::Deleted => return None,
                            Slot::Created { .. } => Status::Created,
                            Slot::Running { paused: false, .. } => Status::Running,
                            Slot::Running { paused: true, .. } => Status::Paused,
                            Slot::Stopped(_) => Status::Stopped,
                        };
                        Some((s, status))
                    })
                    .collect(),
            ),
            Call::Create { slot, own_ns } => match self.slots[slot] {
                Slot::Absent | Slot::Deleted => {
                    self.slots[slot] = Slot::Created { own_ns };
                    A::Ok
                }
                _ => A::Err(K::AlreadyExists),
            },
            Call::Start(s) => match self.slots[s] {
                Slot::Created { own_ns } => {
                    self.slots[s] = Slot::Running {
                        own_ns,
                        paused: false,
                    };
                    A::Ok
                }
                Slot::Deleted => A::Err(K::NotFound),
                _ => A::Err(K::NotStopped),
            },
            Call::Kill(s, sig) => match self.slots[s] {
                Slot::Running { own_ns, .. } => {
                    // A pid namespace's init ignores signals it has no handler for, except
                    // SIGKILL from outside; `sleep` in the host namespace dies of any of these.
                    if sig == Signal::KILL || !own_ns {
                        let st = ExitStatus::Signaled(sig);
                        self.slots[s] = Slot::Stopped(st);
                        A::Died(st)
                    } else {
                        A::Ok
                    }
                }
                Slot::Stopped(_) => A::Err(K::NotRunning),
                Slot::Deleted => A::Err(K::NotFound),
                Slot::Absent | Slot::Created { .. } => unreachable!("excluded by allows"),
            },
            Call::Wait(s) => match self.slots[s] {
                Slot::Stopped(st) => A::Status(st),
                _ => unreachable!("excluded by allows"),
            },
            Call::Pause(s) => match self.slots[s] {
                Slot::Running { own_ns, .. } => {
                    self.slots[s] = Slot::Running {
                        own_ns,
                        paused: true,
                    };
                    A::Ok
                }
                Slot::Deleted => A::Err(K::NotFound),
                _ => A::Err(K::NotRunning),
            },
            Call::Resume(s) => match self.slots[s] {
                Slot::Running {
                    own_ns,
                    paused: true,
                } => {
                    self.slots[s] = Slot::Running {
                        own_ns,
                        paused: false,
                    };
                    A::Ok
                }
                Slot::Deleted => A::Err(K::NotFound),
                _ => A::Err(K::NotRunning),
            },
            Call::Delete(s) => match self.slots[s] {
                Slot::Created { .. } | Slot::Stopped(_) => {
                    self.slots[s] = Slot::Deleted;
                    A::Ok
                }
                Slot::Running { .. } => A::Err(K::StillRunning),
                Slot::Deleted => A::Err(K::NotFound),
                Slot::Absent => unreachable!("excluded by allows"),
            },
            Call::State(s) => match self.slots[s] {
                Slot::Created { .. } => A::State(Status::Created, None),
                Slot::Running { paused: false, .. } => A::State(Status::Running, Some(1)),
                Slot::Running { paused: true, .. } => A::State(Status::Paused, Some(1)),
                Slot::Stopped(_) => A::State(Status::Stopped, None),
                Slot::Deleted => A::Err(K::NotFound),
                Slot::Absent => unreachable!("excluded by allows"),
            },
            Call::Exec(s, code) => match self.slots[s] {
                Slot::Running { paused: false, .. } => {
                    A::Exec(ExitStatus::Exited(code), K::NotFound)
                }
                Slot::Stopped(_) => A::Err(K::NotRunning),
                Slot::Deleted => A::Err(K::NotFound),
                _ => unreachable!("excluded by allows"),
            },
        };
        self.expected = Some(answer);
    }
}
