//! The simulated shell: the documented subset of busybox `sh -c` (parser and interpreter).

pub mod interp;
pub mod parse;

pub use interp::{
    Disposition, ForkFailed, HeadCount, LineRead, Outcome, Resolved, Shell, ShellEnv, Stream,
    Utility,
};
pub use parse::{parse_argv, parse_script, Script, Unsupported};
