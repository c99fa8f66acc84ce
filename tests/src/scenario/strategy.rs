//! Proptest strategies that generate [`Scenario`]s.
//!
//! [`scenarios`] takes a [`Shape`] that bounds what is generated: the property tests over the
//! simulator use [`Shape::simulator`] (everything, with virtual sleeps of seconds and outputs up
//! to MiBs), the differential suite uses [`Shape::differential`] (outcomes that do not depend on
//! timing, small enough to run on real runc quickly).

use std::sync::LazyLock;

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::string::{string_regex, RegexGeneratorStrategy};
use runtime_api::Signal;

use super::{Cmd, Conn, ContainerPlan, PidNs, Scenario, Script, StdioPlan, Step};

/// Bounds of the generated scenarios.
#[derive(Clone, Debug)]
pub struct Shape {
    /// At most this many containers (at least one is always generated).
    pub max_containers: usize,
    /// At most this many steps.
    pub max_steps: usize,
    /// At most this many commands per script.
    pub max_cmds: usize,
    /// Largest single output command, in bytes.
    pub max_output: usize,
    /// Longest foreground sleep, in milliseconds.
    pub max_sleep_ms: u32,
    /// Range of the life of background children that hold stdio, in milliseconds.
    pub hold_ms: (u32, u32),
    /// Whether containers may share a cgroup (runc 1.2+ refuses a non-empty cgroup).
    pub shared_cgroups: bool,
    /// Whether only timing-independent steps are generated: inits that never exit on their
    /// own, stops (kill + wait) instead of free signals and init waits, and no background
    /// child whose life ends during the run.
    pub timing_independent: bool,
    /// Whether sockets (besides pipes and `/dev/null`) are used as connections.
    pub sockets: bool,
}

impl Shape {
    /// Everything the simulator models: up to 4 containers, 8 steps, outputs up to 2 MiB,
    /// virtual sleeps up to 3 s.
    pub fn simulator() -> Shape {
        Shape {
            max_containers: 4,
            max_steps: 8,
            max_cmds: 6,
            max_output: 2 << 20,
            max_sleep_ms: 3000,
            hold_ms: (1, 4000),
            shared_cgroups: true,
            timing_independent: false,
            sockets: true,
        }
    }

    /// Small, timing-independent scenarios for simulator-vs-runc comparison.
    pub fn differential() -> Shape {
        Shape {
            max_containers: 3,
            max_steps: 5,
            max_cmds: 5,
            max_output: 256 << 10,
            max_sleep_ms: 50,
            hold_ms: (3_600_000, 3_600_000),
            shared_cgroups: false,
            timing_independent: true,
            sockets: true,
        }
    }
}

/// A word of generated text. The regex is compiled once: a `&str` strategy compiles its regex
/// again for every value it generates (a few percent of a simulated scenario's CPU time).
fn text() -> impl Strategy<Value = String> {
    static TEXT: LazyLock<RegexGeneratorStrategy<String>> =
        LazyLock::new(|| string_regex("[a-z][a-z0-9]{0,9}").expect("a valid regex"));
    &*TEXT
}

/// A `case` prefix (one or two letters), its regex compiled once like [`text`]'s.
fn prefix() -> impl Strategy<Value = String> {
    static PREFIX: LazyLock<RegexGeneratorStrategy<String>> =
        LazyLock::new(|| string_regex("[a-z]{1,2}").expect("a valid regex"));
    &*PREFIX
}

fn output_size(max: usize) -> impl Strategy<Value = usize> {
    let small = 4096.min(max);
    let medium = (256 << 10).min(max).max(small);
    prop_oneof![
        8 => 0..=small,
        3 => small..=medium,
        1 => medium..=max,
    ]
}

/// Signals a script traps (never KILL or STOP, which cannot be trapped).
pub fn trap_signal() -> impl Strategy<Value = Signal> {
    prop_oneof![
        Just(Signal::TERM),
        Just(Signal::USR1),
        Just(Signal::INT),
        Just(Signal::HUP)
    ]
}

/// Signals sent to a process: the trappable ones and KILL.
pub fn any_signal() -> impl Strategy<Value = Signal> {
    prop_oneof![3 => trap_signal(), 2 => Just(Signal::KILL)]
}

/// One command within `shape`.
pub fn cmd(shape: &Shape) -> impl Strategy<Value = Cmd> {
    let max_out = shape.max_output;
    let max_sleep = shape.max_sleep_ms;
    let (hold_lo, hold_hi) = shape.hold_ms;
    prop_oneof![
        4 => (text(), any::<bool>()).prop_map(|(text, stderr)| Cmd::Echo { text, stderr }),
        3 => (output_size(max_out), any::<bool>())
            .prop_map(|(bytes, stderr)| Cmd::Zeros { bytes, stderr }),
        2 => (0..=max_sleep).prop_map(|ms| Cmd::Sleep { ms }),
        1 => (hold_lo..=hold_hi).prop_map(|ms| Cmd::HoldStdio { ms }),
        1 => (trap_signal(), 0..=255i32).prop_map(|(signal, code)| Cmd::Trap { signal, code }),
        1 => any_signal().prop_map(|signal| Cmd::KillSelf { signal }),
        1 => (0..=255i32).prop_map(|code| Cmd::Exit { code }),
        1 => (text(), any::<bool>()).prop_map(|(text, stderr)| Cmd::Pipe { text, stderr }),
        1 => (any::<bool>(), text(), text()).prop_map(|(cond, then_text, else_text)| Cmd::If {
            cond,
            then_text,
            else_text
        }),
        1 => vec(text(), 0..=3).prop_map(|words| Cmd::For { words }),
        1 => (text(), prefix()).prop_map(|(word, prefix)| Cmd::Case { word, prefix }),
        1 => (text(), text()).prop_map(|words| Cmd::Var { words }),
        1 => text().prop_map(|text| Cmd::File { text }),
        1 => (text(), 0..=255i32).prop_map(|(text, code)| Cmd::Subshell { text, code }),
        1 => vec(text(), 1..=3).prop_map(|lines| Cmd::ReadLoop { lines }),
        1 => (hold_lo..=hold_hi).prop_map(|ms| Cmd::HoldPipeline { ms }),
        1 => (hold_lo..=hold_hi).prop_map(|ms| Cmd::HoldSubshell { ms }),
    ]
}

/// An exec's script.
pub fn exec_script(shape: &Shape) -> impl Strategy<Value = Script> {
    vec(cmd(shape), 0..=shape.max_cmds).prop_map(Script::new)
}

/// An init's script. Under [`Shape::timing_independent`] it writes some output and then
/// sleeps for an hour (it ends only when stopped); otherwise it may end at a generated moment
/// with a generated code, or sleep past every step.
pub fn init_script(shape: &Shape) -> BoxedStrategy<Script> {
    let body = vec(
        cmd(shape).prop_filter("an init's body neither exits nor signals itself", |c| {
            !matches!(c, Cmd::Exit { .. } | Cmd::KillSelf { .. })
        }),
        0..=3,
    );
    if shape.timing_independent {
        // No output and no foreground sleep in an init's body: a stop or the final process
        // count could come before the body finished, at a moment that differs between
        // backends.
        let quiet = vec(
            cmd(shape).prop_filter("a quiet init body", |c| {
                matches!(
                    c,
                    Cmd::HoldStdio { .. }
                        | Cmd::HoldPipeline { .. }
                        | Cmd::HoldSubshell { .. }
                        | Cmd::Trap { .. }
                )
            }),
            0..=3,
        );
        return quiet
            .prop_map(|mut cmds| {
                cmds.push(Cmd::Sleep { ms: 3_600_000 });
                Script::new(cmds)
            })
            .boxed();
    }
    let max_sleep = shape.max_sleep_ms;
    let ending = prop_oneof![
        // Lives past every step: ends when the suite stops it.
        2 => Just(vec![Cmd::Sleep { ms: 3_600_000 }]),
        // Ends by itself at a generated moment.
        2 => ((0..=max_sleep), (0..=255i32))
            .prop_map(|(ms, code)| vec![Cmd::Sleep { ms }, Cmd::Exit { code }]),
        1 => (0..=max_sleep, any_signal())
            .prop_map(|(ms, signal)| vec![Cmd::Sleep { ms }, Cmd::KillSelf { signal }]),
    ];
    (body, ending)
        .prop_map(|(mut cmds, ending)| {
            cmds.extend(ending);
            Script::new(cmds)
        })
        .boxed()
}

fn conn(shape: &Shape) -> BoxedStrategy<Conn> {
    if shape.sockets {
        prop_oneof![1 => Just(Conn::Null), 3 => Just(Conn::Pipe), 2 => Just(Conn::Socket)].boxed()
    } else {
        prop_oneof![1 => Just(Conn::Null), 3 => Just(Conn::Pipe)].boxed()
    }
}

/// Connections for one process.
pub fn stdio_plan(shape: &Shape) -> impl Strategy<Value = StdioPlan> {
    (conn(shape), conn(shape)).prop_map(|(stdout, stderr)| StdioPlan { stdout, stderr })
}

/// One container.
pub fn container(shape: &Shape) -> impl Strategy<Value = ContainerPlan> {
    let pid_ns = prop_oneof![
        3 => Just(PidNs::Own),
        2 => Just(PidNs::Host),
        2 => (0..4usize).prop_map(PidNs::Join),
    ];
    let cgroup = if shape.shared_cgroups {
        (0..shape.max_containers).boxed()
    } else {
        Just(usize::MAX).boxed()
    };
    (pid_ns, cgroup, init_script(shape), stdio_plan(shape)).prop_map(
        |(pid_ns, cgroup, init, stdio)| ContainerPlan {
            pid_ns,
            cgroup,
            init,
            stdio,
        },
    )
}

/// One step.
pub fn step(shape: &Shape) -> BoxedStrategy<Step> {
    let n = shape.max_containers;
    let exec =
        (0..n, exec_script(shape), stdio_plan(shape)).prop_map(|(container, script, stdio)| {
            Step::Exec {
                container,
                script,
                stdio,
            }
        });
    let wait_exec = (0..16usize).prop_map(|exec| Step::WaitExec { exec });
    if shape.timing_independent {
        return prop_oneof![
            5 => exec,
            3 => wait_exec,
            1 => (0..n).prop_map(|container| Step::Stop { container }),
        ]
        .boxed();
    }
    prop_oneof![
        5 => exec,
        3 => wait_exec,
        1 => (0..n, any_signal()).prop_map(|(container, signal)| Step::Kill { container, signal }),
        1 => (0..n).prop_map(|container| Step::WaitInit { container }),
        1 => (0..n).prop_map(|container| Step::Stop { container }),
    ]
    .boxed()
}

/// Whole scenarios within `shape`, each with a simulator seed.
pub fn scenarios(shape: Shape) -> impl Strategy<Value = Scenario> {
    let containers = vec(container(&shape), 1..=shape.max_containers);
    let steps = vec(step(&shape), 0..=shape.max_steps);
    (any::<u64>(), containers, steps).prop_map(|(seed, containers, steps)| {
        Scenario {
            seed,
            containers: containers
                .into_iter()
                .enumerate()
                .map(|(i, mut c)| {
                    if c.cgroup == usize::MAX {
                        // Sharing is off: one cgroup per container.
                        c.cgroup = i;
                    }
                    c
                })
                .collect(),
            steps,
        }
    })
}
