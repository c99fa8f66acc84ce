//! The simulated shell: the documented subset of busybox `sh -c` (parser and interpreter).

pub mod interp;
pub mod parse;

pub use interp::{Disposition, ForkFailed, Outcome, Shell, ShellEnv, Stream, Utility};
pub use parse::{parse_argv, parse_script, Redirect, Script, Unsupported};
