//! Random sequences of API calls against the simulator (loaded through the plugin loader),
//! compared call by call with the reference model in [`suites::model`]: same results and same
//! error kinds.
//!
//! 500 sequences under CI (`CI=true` or `RTL_REQUIRE_RUNC=1`), 100 locally, or
//! `RTL_PROPTEST_CASES`. A failure shrinks to a minimal sequence, printed with the model's
//! simulator seed, and persists in `tests/proptest-regressions/state_machine.txt`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence, TestRunner};
use proptest_state_machine::{ReferenceStateMachine, StateMachineTest};
use runtime_api::{Container, ErrorKind, Runtime, Signal, StdioSet};
use serde_json::json;
use suites::model::{slot_id, Answer, Call, Model, SLOTS};
use suites::properties::{case_count, log_line, sim_plugin};
use testkit::{Bundle, BundleBuilder, PidNamespace};

struct ModelMachine;

impl ReferenceStateMachine for ModelMachine {
    type State = Model;
    type Transition = Call;

    fn init_state() -> BoxedStrategy<Model> {
        any::<u64>().prop_map(Model::new).boxed()
    }

    fn transitions(_state: &Model) -> BoxedStrategy<Call> {
        let slot = 0..SLOTS;
        let signal = prop_oneof![Just(Signal::KILL), Just(Signal::TERM), Just(Signal::USR1)];
        prop_oneof![
            3 => (slot.clone(), any::<bool>()).prop_map(|(slot, own_ns)| Call::Create { slot, own_ns }),
            3 => slot.clone().prop_map(Call::Start),
            2 => (slot.clone(), signal).prop_map(|(s, sig)| Call::Kill(s, sig)),
            1 => slot.clone().prop_map(Call::Wait),
            1 => slot.clone().prop_map(Call::Pause),
            1 => slot.clone().prop_map(Call::Resume),
            2 => slot.clone().prop_map(Call::Delete),
            2 => slot.clone().prop_map(Call::State),
            2 => (slot, 0..=255i32).prop_map(|(s, code)| Call::Exec(s, code)),
            1 => Just(Call::List),
        ]
        .boxed()
    }

    fn apply(mut state: Model, call: &Call) -> Model {
        state.apply(call);
        state
    }

    fn preconditions(state: &Model, call: &Call) -> bool {
        state.allows(call)
    }
}

struct Sut {
    seed: u64,
    runtime: Box<dyn Runtime>,
    handles: [Option<Arc<dyn Container>>; SLOTS],
    bundles: [Bundle; 2],
    _dir: tempfile::TempDir,
}

struct SimMachine;

fn kind<T>(r: runtime_api::Result<T>) -> Result<T, ErrorKind> {
    r.map_err(|e| e.kind())
}

fn unit(r: runtime_api::Result<()>) -> Answer {
    match r {
        Ok(()) => Answer::Ok,
        Err(e) => Answer::Err(e.kind()),
    }
}

impl Sut {
    fn handle(&self, slot: usize) -> &Arc<dyn Container> {
        self.handles[slot]
            .as_ref()
            .expect("the model only allows calls on slots with a handle")
    }

    fn call(&mut self, call: Call) -> Answer {
        match call {
            Call::List => match self.runtime.list_container_states() {
                Ok(states) => Answer::List(
                    states
                        .iter()
                        .filter_map(|st| {
                            let slot = (0..SLOTS).find(|&s| slot_id(s) == st.id)?;
                            Some((slot, st.status))
                        })
                        .collect(),
                ),
                Err(e) => Answer::Err(e.kind()),
            },
            Call::Create { slot, own_ns } => {
                let bundle = &self.bundles[usize::from(!own_ns)];
                match self.runtime.create_container(
                    "state-machine",
                    &slot_id(slot),
                    bundle.path(),
                    StdioSet::none(),
                ) {
                    Ok(c) => {
                        self.handles[slot] = Some(Arc::from(c));
                        Answer::Ok
                    }
                    Err(e) => Answer::Err(e.kind()),
                }
            }
            Call::Start(s) => unit(self.handle(s).start()),
            Call::Kill(s, sig) => {
                let c = self.handle(s).clone();
                match c.kill(sig) {
                    Err(e) => Answer::Err(e.kind()),
                    Ok(()) => {
                        // The model says whether the init dies of it; when it does, `wait`
                        // returns its status. When it must not, check it still runs.
                        let st = kind(c.state()).map(|st| st.status);
                        let dies =
                            sig == Signal::KILL || !matches!(st, Ok(runtime_api::Status::Running));
                        if dies {
                            match c.wait() {
                                Ok(status) => Answer::Died(status),
                                Err(e) => Answer::Err(e.kind()),
                            }
                        } else {
                            Answer::Ok
                        }
                    }
                }
            }
            Call::Wait(s) => match self.handle(s).wait() {
                Ok(st) => Answer::Status(st),
                Err(e) => Answer::Err(e.kind()),
            },
            Call::Pause(s) => unit(self.handle(s).pause()),
            Call::Resume(s) => unit(self.handle(s).resume()),
            Call::Delete(s) => unit(self.handle(s).delete()),
            Call::State(s) => {
                let c = self.handle(s);
                match c.state() {
                    Err(e) => Answer::Err(e.kind()),
                    Ok(st) => {
                        let procs = match st.status {
                            runtime_api::Status::Running | runtime_api::Status::Paused => {
                                Some(c.running_processes().map(|p| p.len()).unwrap_or(usize::MAX))
                            }
                            _ => None,
                        };
                        Answer::State(st.status, procs)
                    }
                }
            }
            Call::Exec(s, code) => {
                let script = format!("exit {code}");
                let spec = testkit::exec_process(&["sh", "-c", &script], false);
                match self.handle(s).exec(&spec, StdioSet::none()) {
                    Err(e) => Answer::Err(e.kind()),
                    Ok(p) => {
                        let status = match p.wait() {
                            Ok(st) => st,
                            Err(e) => return Answer::Err(e.kind()),
                        };
                        if let Err(e) = p.delete() {
                            return Answer::Err(e.kind());
                        }
                        match p.delete() {
                            Ok(()) => Answer::Exec(status, ErrorKind::Panicked),
                            Err(e) => Answer::Exec(status, e.kind()),
                        }
                    }
                }
            }
        }
    }
}

impl StateMachineTest for SimMachine {
    type SystemUnderTest = Sut;
    type Reference = ModelMachine;

    fn init_test(model: &Model) -> Sut {
        let runtime = sim_plugin()
            .open(&json!({ "seed": model.seed }))
            .unwrap_or_else(|e| panic!("opening the simulator: {e}"));
        let dir = tempfile::Builder::new()
            .prefix("rtl-sm-")
            .tempdir()
            .expect("a temp dir");
        let bundle = |ns| {
            BundleBuilder::new(&["sleep", "3600"])
                .pid_namespace(ns)
                .in_dir(dir.path())
                .build()
                .expect("writing a bundle")
        };
        let bundles = [bundle(PidNamespace::Own), bundle(PidNamespace::Host)];
        Sut {
            seed: model.seed,
            runtime,
            handles: [None, None, None],
            bundles,
            _dir: dir,
        }
    }

    fn apply(mut sut: Sut, model: &Model, call: Call) -> Sut {
        let got = sut.call(call);
        let want = model.expected.clone().expect("the model answered");
        assert_eq!(
            got, want,
            "{call:?}: the simulator answered {got:?}, the model {want:?} \
             (simulator seed {}; slots after the call: {:?})",
            sut.seed, model.slots
        );
        sut
    }

    fn teardown(sut: Sut, _model: Model) {
        for c in sut.handles.iter().flatten() {
            let _ = c.kill(Signal::KILL);
        }
    }
}

#[test]
fn api_call_sequences_match_the_reference_model() {
    let cases = case_count(500, 100);
    let config = Config {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/proptest-regressions/state_machine.txt"
        )))),
        max_shrink_iters: 4096,
        ..Config::default()
    };
    let sequences = AtomicUsize::new(0);
    let calls = AtomicUsize::new(0);
    let mut runner = TestRunner::new(config.clone());
    let result = runner.run(
        &ModelMachine::sequential_strategy(1..24),
        |(initial, transitions, seen)| {
            sequences.fetch_add(1, Ordering::Relaxed);
            calls.fetch_add(transitions.len(), Ordering::Relaxed);
            SimMachine::test_sequential(config.clone(), initial, transitions, seen);
            Ok(())
        },
    );
    log_line(&format!(
        "state machine: {} sequences run ({cases} asked; shrinking included), {} calls",
        sequences.load(Ordering::Relaxed),
        calls.load(Ordering::Relaxed)
    ));
    if let Err(e) = result {
        panic!("state machine: {e}");
    }
}
