//! Scenarios: a written sequence of runtime calls with expectations, run against any backend.
//!
//! The file format (one step per line) is documented in `examples/scenarios/README.md` and on
//! [`parse::parse`]. [`exec::run`] plays a parsed scenario on a runtime, checking each step's
//! expectations ([`expect`]), and always cleans up the containers it created.

pub mod capture;
pub mod exec;
pub mod expect;
pub mod interrupt;
pub mod lex;
pub mod parse;

use std::path::PathBuf;

use runtime_api::{ErrorKind, Signal, Status};

/// A parsed scenario file.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Where it was read from (for messages and for the replay command).
    pub path: PathBuf,
    /// The steps, in file order.
    pub steps: Vec<Step>,
}

/// One line of a scenario: an action and what must hold once it ran.
#[derive(Debug, Clone)]
pub struct Step {
    /// 1-based line number in the file.
    pub line: usize,
    /// The line as written (trimmed), for printing.
    pub text: String,
    /// The runtime call.
    pub action: Action,
    /// What must hold after the call. Without an `error` expectation the call must succeed.
    pub expect: Vec<Expectation>,
}

/// A runtime call. Names are the scenario's own: a container's name is also its id (plus the
/// runner's id prefix); an exec's name only lives in the scenario.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// `create NAME BUNDLE [stdin TEXT] [stdout CONN] [stderr CONN]`:
    /// `Runtime::create_container`.
    Create {
        /// Container name.
        name: String,
        /// Bundle directory, resolved against the scenario file's directory.
        bundle: PathBuf,
        /// Bytes fed to init's stdin (then end-of-file); `None` gives `/dev/null`.
        stdin: Option<Vec<u8>>,
        /// How init's stdout is connected.
        stdout: Connection,
        /// How init's stderr is connected.
        stderr: Connection,
    },
    /// `start NAME`.
    Start {
        /// Container name.
        container: String,
    },
    /// `exec CONTAINER NAME [tty] [stdin TEXT] [stdout CONN] [stderr CONN] -- ARG...`.
    Exec {
        /// Container name.
        container: String,
        /// Name given to the new process.
        name: String,
        /// The process's argv.
        args: Vec<String>,
        /// Whether the process gets a terminal.
        tty: bool,
        /// Bytes fed to its stdin (then end-of-file).
        stdin: Option<Vec<u8>>,
        /// How its stdout is connected.
        stdout: Connection,
        /// How its stderr is connected.
        stderr: Connection,
    },
    /// `kill CONTAINER [SIGNAL]` (default TERM): signals the container's init.
    Kill {
        /// Container name.
        container: String,
        /// The signal.
        signal: Signal,
    },
    /// `wait NAME`: waits for a container's init or an exec.
    Wait {
        /// Container or exec name.
        target: String,
    },
    /// `pause CONTAINER`.
    Pause {
        /// Container name.
        container: String,
    },
    /// `resume CONTAINER`.
    Resume {
        /// Container name.
        container: String,
    },
    /// `delete NAME`: deletes a container or an exec.
    Delete {
        /// Container or exec name.
        target: String,
    },
    /// `state CONTAINER`: prints the container's state.
    State {
        /// Container name.
        container: String,
    },
    /// `ps CONTAINER`: prints the container's processes (zombies included).
    Ps {
        /// Container name.
        container: String,
    },
    /// `advance MS` (simulator only): moves the virtual clock `MS` milliseconds on, running
    /// everything due meanwhile (the simulator's `advance` extension).
    Advance {
        /// Milliseconds of virtual time.
        ms: u64,
    },
}

/// How an output stream of a process is connected (`stdout CONN` / `stderr CONN`).
///
/// The default, `capture`, is what a person wants; the others let a generated scenario
/// (the property suites write their failures as scenarios) hand the runtime exactly the kind
/// of connection the suite did, so the run replays call for call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Connection {
    /// An in-memory file that keeps every byte (no thread).
    #[default]
    Capture,
    /// No connection: the process writes to `/dev/null`.
    Null,
    /// A pipe whose read end rtctl drains with a thread.
    Pipe,
    /// A unix stream socket whose other end rtctl drains with a thread, half-closing after
    /// end-of-file.
    Socket,
}

impl Connection {
    /// The word a scenario uses for it.
    pub fn word(self) -> &'static str {
        match self {
            Connection::Capture => "capture",
            Connection::Null => "null",
            Connection::Pipe => "pipe",
            Connection::Socket => "socket",
        }
    }

    /// The connection a word names.
    pub fn from_word(word: &str) -> Option<Connection> {
        [
            Connection::Capture,
            Connection::Null,
            Connection::Pipe,
            Connection::Socket,
        ]
        .into_iter()
        .find(|c| c.word() == word)
    }
}

impl Action {
    /// The step's keyword.
    pub fn keyword(&self) -> &'static str {
        match self {
            Action::Create { .. } => "create",
            Action::Start { .. } => "start",
            Action::Exec { .. } => "exec",
            Action::Kill { .. } => "kill",
            Action::Wait { .. } => "wait",
            Action::Pause { .. } => "pause",
            Action::Resume { .. } => "resume",
            Action::Delete { .. } => "delete",
            Action::State { .. } => "state",
            Action::Ps { .. } => "ps",
            Action::Advance { .. } => "advance",
        }
    }
}

/// What must hold after a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expectation {
    /// `exit N` (on `wait`): the shell-style exit code is N (128+signal for a signal).
    Exit(i32),
    /// `signal SIG` (on `wait`): the process was killed by SIG.
    Signal(Signal),
    /// `stdout TEXT` (on `wait`): exactly these bytes arrived on stdout.
    Stdout(Vec<u8>),
    /// `stderr TEXT` (on `wait`): exactly these bytes arrived on stderr.
    Stderr(Vec<u8>),
    /// `relay complete|cut` (on `wait`): how the process's relay ended (rule 2).
    Relay(RelayOutcome),
    /// `alive NAME`: the process NAME (a container's init or an exec) is among its container's
    /// running processes after the step.
    Alive(String),
    /// `dead NAME`: the process NAME is not among its container's running processes.
    Dead(String),
    /// `status WORD` (on a step about a container): the container's status after the step.
    Status(Status),
    /// `error KIND`: the step fails with an error of this kind (`not_running`, ...).
    Error(ErrorKind),
}

/// How a relay ended, as `relay` expectations name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelayOutcome {
    /// Drained to end-of-file.
    Complete,
    /// Cut after the drain grace.
    Cut,
}
