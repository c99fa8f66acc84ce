//! How a process ended, and the signals that can end it.

use std::fmt;

/// A signal number, as the kernel numbers them on Linux (x86_64 and aarch64 agree on the ones
/// named here).
///
/// A newtype rather than `nix::sys::signal::Signal` so that the API stays free of system
/// crates and can carry real-time signals.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct Signal(pub i32);

impl Signal {
    /// SIGHUP.
    pub const HUP: Signal = Signal(1);
    /// SIGINT.
    pub const INT: Signal = Signal(2);
    /// SIGQUIT.
    pub const QUIT: Signal = Signal(3);
    /// SIGKILL: cannot be caught or ignored (except by a pid-namespace init for signals sent
    /// from inside its namespace).
    pub const KILL: Signal = Signal(9);
    /// SIGUSR1.
    pub const USR1: Signal = Signal(10);
    /// SIGUSR2.
    pub const USR2: Signal = Signal(12);
    /// SIGPIPE.
    pub const PIPE: Signal = Signal(13);
    /// SIGALRM.
    pub const ALRM: Signal = Signal(14);
    /// SIGTERM.
    pub const TERM: Signal = Signal(15);
    /// SIGCHLD.
    pub const CHLD: Signal = Signal(17);
    /// SIGCONT.
    pub const CONT: Signal = Signal(18);
    /// SIGSTOP.
    pub const STOP: Signal = Signal(19);
    /// SIGWINCH.
    pub const WINCH: Signal = Signal(28);

    const NAMES: [(&'static str, Signal); 13] = [
        ("HUP", Signal::HUP),
        ("INT", Signal::INT),
        ("QUIT", Signal::QUIT),
        ("KILL", Signal::KILL),
        ("USR1", Signal::USR1),
        ("USR2", Signal::USR2),
        ("PIPE", Signal::PIPE),
        ("ALRM", Signal::ALRM),
        ("TERM", Signal::TERM),
        ("CHLD", Signal::CHLD),
        ("CONT", Signal::CONT),
        ("STOP", Signal::STOP),
        ("WINCH", Signal::WINCH),
    ];

    /// The signal number.
    pub fn number(self) -> i32 {
        self.0
    }

    /// Whether the number is a valid Linux signal (1..=64).
    pub fn is_valid(self) -> bool {
        (1..=64).contains(&self.0)
    }

    /// Parses `KILL`, `SIGKILL`, `kill` or `9`. Unknown names and numbers outside 1..=64 give
    /// `None`.
    pub fn parse(s: &str) -> Option<Signal> {
        if let Ok(n) = s.parse::<i32>() {
            let sig = Signal(n);
            return sig.is_valid().then_some(sig);
        }
        let upper = s.to_ascii_uppercase();
        let name = upper.strip_prefix("SIG").unwrap_or(&upper);
        Signal::NAMES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, sig)| *sig)
    }

    /// The short name (`"KILL"`) if the signal is one of the named constants.
    pub fn name(self) -> Option<&'static str> {
        Signal::NAMES
            .iter()
            .find(|(_, sig)| *sig == self)
            .map(|(n, _)| *n)
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => write!(f, "SIG{n}"),
            None => write!(f, "signal {}", self.0),
        }
    }
}

/// How a process ended: it exited with a code, a signal killed it, or (for a process this
/// host did not start, such as the init of a taken-back container) it ended in a way that
/// cannot be known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExitStatus {
    /// The process called `exit(code)`; `code` is 0..=255.
    Exited(i32),
    /// The process was killed by this signal.
    Signaled(Signal),
    /// The process has exited, but how cannot be known: only its parent learns the status,
    /// and this host is not the parent (the init of a container taken back with
    /// [`Runtime::open_container`](crate::Runtime::open_container); a pidfd says when such a
    /// process exits, not how). [`code`](ExitStatus::code) gives 255, containerd's convention.
    Unknown,
}

impl ExitStatus {
    /// The shell-style exit code: the exit code itself, or 128 + the signal number for a
    /// process killed by a signal (what hcsshim and every shell report); 255 for
    /// [`Unknown`](ExitStatus::Unknown) (what containerd reports for a process whose status it
    /// lost).
    pub fn code(self) -> i32 {
        match self {
            ExitStatus::Exited(c) => c,
            ExitStatus::Signaled(s) => 128 + s.0,
            ExitStatus::Unknown => 255,
        }
    }

    /// The signal that killed the process, if a signal did.
    pub fn signal(self) -> Option<Signal> {
        match self {
            ExitStatus::Exited(_) | ExitStatus::Unknown => None,
            ExitStatus::Signaled(s) => Some(s),
        }
    }

    /// Whether the process exited with code 0.
    pub fn success(self) -> bool {
        self == ExitStatus::Exited(0)
    }
}

impl fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExitStatus::Exited(c) => write!(f, "exit code {c}"),
            ExitStatus::Signaled(s) => write!(f, "killed by {s} (code {})", self.code()),
            ExitStatus::Unknown => write!(f, "exit status unknown (code {})", self.code()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_is_128_plus_signal() {
        assert_eq!(ExitStatus::Exited(3).code(), 3);
        assert_eq!(ExitStatus::Signaled(Signal::KILL).code(), 137);
        assert_eq!(ExitStatus::Signaled(Signal::TERM).code(), 143);
        assert!(ExitStatus::Exited(0).success());
        assert!(!ExitStatus::Signaled(Signal::INT).success());
    }

    #[test]
    fn unknown_is_code_255_and_no_signal() {
        assert_eq!(ExitStatus::Unknown.code(), 255);
        assert_eq!(ExitStatus::Unknown.signal(), None);
        assert!(!ExitStatus::Unknown.success());
        assert_eq!(
            ExitStatus::Unknown.to_string(),
            "exit status unknown (code 255)"
        );
        let j = serde_json::to_string(&ExitStatus::Unknown).unwrap();
        assert_eq!(j, "\"unknown\"");
        assert_eq!(
            serde_json::from_str::<ExitStatus>(&j).unwrap(),
            ExitStatus::Unknown
        );
    }

    #[test]
    fn parse_accepts_names_and_numbers() {
        assert_eq!(Signal::parse("KILL"), Some(Signal::KILL));
        assert_eq!(Signal::parse("sigterm"), Some(Signal::TERM));
        assert_eq!(Signal::parse("9"), Some(Signal::KILL));
        assert_eq!(Signal::parse("0"), None);
        assert_eq!(Signal::parse("65"), None);
        assert_eq!(Signal::parse("NOPE"), None);
        assert_eq!(Signal::KILL.to_string(), "SIGKILL");
        assert_eq!(Signal(40).to_string(), "signal 40");
    }
}
