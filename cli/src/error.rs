//! rtctl's own failures: one line for the user, and the exit code that goes with it.

use std::fmt;

/// The exit code of rtctl when rtctl itself fails (bad input, a backend that cannot be loaded,
/// a runtime call that fails), as opposed to the container's own exit code. 125 is what
/// `docker run` and `podman run` use for the same purpose.
pub const EXIT_RTCTL_FAILED: i32 = 125;

/// A failure reported as a single line on stderr (`rtctl: <message>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliError {
    message: String,
    exit_code: i32,
}

impl CliError {
    /// A failure of rtctl itself (exit code [`EXIT_RTCTL_FAILED`]).
    pub fn new(message: impl Into<String>) -> CliError {
        CliError {
            message: one_line(&message.into()),
            exit_code: EXIT_RTCTL_FAILED,
        }
    }

    /// The exit code rtctl ends with.
    pub fn exit_code(&self) -> i32 {
        self.exit_code
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CliError {}

/// Joins a multi-line message (some libraries' errors have several lines) into one.
fn one_line(s: &str) -> String {
    s.split('\n')
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_one_line() {
        let e = CliError::new("first\n  second\n\nthird");
        assert_eq!(e.to_string(), "first second third");
        assert_eq!(e.exit_code(), EXIT_RTCTL_FAILED);
    }
}
