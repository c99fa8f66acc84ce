//! Checking a step's expectations against what the runtime did.
//!
//! Pure: the runner gathers the observations (the step's result, a wait's status and bytes,
//! liveness and status lookups) and these functions decide, each returning the one-line reason
//! when an expectation does not hold.

use runtime_api::{Error, ErrorKind, ExitStatus, RelayEnd, RelayReport, Status};

use super::lex::quote_bytes;
use super::{Expectation, RelayOutcome};

/// What a successful `wait` step observed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitOutcome {
    /// How the process ended.
    pub status: ExitStatus,
    /// Every byte that reached the stdout connection.
    pub stdout: Vec<u8>,
    /// Every byte that reached the stderr connection.
    pub stderr: Vec<u8>,
    /// How the relay ended, if the process had connections.
    pub relay: Option<RelayReport>,
}

/// Lookups the runner answers after the step, for `alive`, `dead` and `status`.
pub trait Probe {
    /// Whether the named process is among its container's running processes.
    fn is_alive(&self, name: &str) -> Result<bool, Error>;
    /// The status of the container the step is about.
    fn status(&self) -> Result<Status, Error>;
}

/// Checks the step's result against its `error` expectation (or the lack of one): without one
/// the step must succeed; with one it must fail with that kind.
pub fn check_result<T>(expect: &[Expectation], result: &Result<T, Error>) -> Result<(), String> {
    let wanted = expect.iter().find_map(|e| match e {
        Expectation::Error(kind) => Some(*kind),
        _ => None,
    });
    match (wanted, result) {
        (None, Ok(_)) => Ok(()),
        (None, Err(e)) => Err(format!("the step failed: {e}")),
        (Some(kind), Ok(_)) => Err(format!(
            "expected error {}, but the step succeeded",
            kind.as_str()
        )),
        (Some(kind), Err(e)) if e.kind() == kind => Ok(()),
        (Some(kind), Err(e)) => Err(format!(
            "expected error {}, got {}: {e}",
            kind.as_str(),
            e.kind().as_str()
        )),
    }
}

/// Checks one expectation other than `error` (which [`check_result`] handles). `wait` is the
/// outcome of the step when it was a successful `wait`.
pub fn check(
    expectation: &Expectation,
    wait: Option<&WaitOutcome>,
    probe: &dyn Probe,
) -> Result<(), String> {
    let need_wait = || wait.ok_or_else(|| "no wait outcome to check".to_string());
    match expectation {
        Expectation::Error(_) => Ok(()),
        Expectation::Exit(code) => {
            let status = need_wait()?.status;
            if status.code() == *code {
                Ok(())
            } else {
                Err(format!("expected exit {code}, got {status}"))
            }
        }
        Expectation::Signal(sig) => {
            let status = need_wait()?.status;
            if status.signal() == Some(*sig) {
                Ok(())
            } else {
                Err(format!("expected to be killed by {sig}, got {status}"))
            }
        }
        Expectation::Stdout(bytes) => same_bytes("stdout", bytes, &need_wait()?.stdout),
        Expectation::Stderr(bytes) => same_bytes("stderr", bytes, &need_wait()?.stderr),
        Expectation::Relay(outcome) => {
            let report = need_wait()?
                .relay
                .ok_or("expected a relay report, the process has none")?;
            let got = match report.end {
                RelayEnd::Complete => RelayOutcome::Complete,
                RelayEnd::Cut { .. } => RelayOutcome::Cut,
            };
            if got == *outcome {
                Ok(())
            } else {
                Err(format!("expected relay {outcome:?}, got {:?}", report.end))
            }
        }
        Expectation::Alive(name) | Expectation::Dead(name) => {
            let want_alive = matches!(expectation, Expectation::Alive(_));
            let alive = probe.is_alive(name).map_err(|e| {
                format!("could not list the processes of {name:?}'s container: {e}")
            })?;
            match (want_alive, alive) {
                (true, true) | (false, false) => Ok(()),
                (true, false) => Err(format!("expected {name:?} alive, it is not running")),
                (false, true) => Err(format!("expected {name:?} dead, it is still running")),
            }
        }
        Expectation::Status(want) => match probe.status() {
            Ok(got) if got == *want => Ok(()),
            Ok(got) => Err(format!("expected status {want}, got {got}")),
            Err(e) if e.is(ErrorKind::NotFound) => Err(format!(
                "expected status {want}, the container does not exist"
            )),
            Err(e) => Err(format!("expected status {want}, state failed: {e}")),
        },
    }
}

fn same_bytes(stream: &str, want: &[u8], got: &[u8]) -> Result<(), String> {
    if want == got {
        Ok(())
    } else {
        Err(format!(
            "expected {stream} {}, got {}",
            shorten(&quote_bytes(want)),
            shorten(&quote_bytes(got))
        ))
    }
}

/// Bounds a quoted rendering for one-line messages.
pub fn shorten(s: &str) -> String {
    const MAX: usize = 160;
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        let head: String = s.chars().take(MAX).collect();
        format!("{head}...({} chars)", s.chars().count())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use runtime_api::{Signal, StreamReport};

    struct FakeProbe {
        alive: bool,
        status: Status,
    }
    impl Probe for FakeProbe {
        fn is_alive(&self, _: &str) -> Result<bool, Error> {
            Ok(self.alive)
        }
        fn status(&self) -> Result<Status, Error> {
            Ok(self.status)
        }
    }

    fn outcome(status: ExitStatus, stdout: &[u8], cut: bool) -> WaitOutcome {
        let end = if cut {
            RelayEnd::Cut {
                grace: std::time::Duration::from_secs(2),
            }
        } else {
            RelayEnd::Complete
        };
        WaitOutcome {
            status,
            stdout: stdout.to_vec(),
            stderr: Vec::new(),
            relay: Some(RelayReport {
                end,
                stdin: StreamReport::default(),
                stdout: StreamReport::default(),
                stderr: StreamReport::default(),
            }),
        }
    }

    #[test]
    fn result_must_match_error_expectation() {
        let ok: Result<(), Error> = Ok(());
        let not_running: Result<(), Error> = Err(Error::new(ErrorKind::NotRunning, "gone"));
        assert!(check_result(&[], &ok).is_ok());
        assert!(check_result(&[], &not_running)
            .unwrap_err()
            .contains("the step failed: not running: gone"));
        let want = [Expectation::Error(ErrorKind::NotRunning)];
        assert!(check_result(&want, &not_running).is_ok());
        assert!(check_result(&want, &ok).unwrap_err().contains("succeeded"));
        let other: Result<(), Error> = Err(Error::new(ErrorKind::NotFound, "x"));
        assert!(check_result(&want, &other)
            .unwrap_err()
            .contains("got not_found"));
    }

    #[test]
    fn wait_expectations() {
        let p = FakeProbe {
            alive: true,
            status: Status::Running,
        };
        let killed = outcome(ExitStatus::Signaled(Signal::KILL), b"hi\n", false);
        assert!(check(&Expectation::Exit(137), Some(&killed), &p).is_ok());
        assert!(check(&Expectation::Signal(Signal::KILL), Some(&killed), &p).is_ok());
        assert!(check(&Expectation::Exit(0), Some(&killed), &p)
            .unwrap_err()
            .contains("killed by SIGKILL"));
        assert!(check(&Expectation::Stdout(b"hi\n".to_vec()), Some(&killed), &p).is_ok());
        let msg = check(&Expectation::Stdout(b"ho\n".to_vec()), Some(&killed), &p).unwrap_err();
        assert_eq!(msg, r#"expected stdout "ho\n", got "hi\n""#);
        assert!(check(&Expectation::Stderr(Vec::new()), Some(&killed), &p).is_ok());
        assert!(check(
            &Expectation::Relay(RelayOutcome::Complete),
            Some(&killed),
            &p
        )
        .is_ok());
        let cut = outcome(ExitStatus::Exited(0), b"", true);
        assert!(check(&Expectation::Relay(RelayOutcome::Complete), Some(&cut), &p).is_err());
        assert!(check(&Expectation::Relay(RelayOutcome::Cut), Some(&cut), &p).is_ok());
    }

    #[test]
    fn probe_expectations() {
        let p = FakeProbe {
            alive: false,
            status: Status::Stopped,
        };
        assert!(check(&Expectation::Dead("x".into()), None, &p).is_ok());
        assert!(check(&Expectation::Alive("x".into()), None, &p)
            .unwrap_err()
            .contains("not running"));
        assert!(check(&Expectation::Status(Status::Stopped), None, &p).is_ok());
        assert!(check(&Expectation::Status(Status::Running), None, &p)
            .unwrap_err()
            .contains("got stopped"));
    }

    #[test]
    fn long_values_are_shortened() {
        let s = shorten(&"x".repeat(1000));
        assert!(s.len() < 200 && s.ends_with("(1000 chars)"), "{s}");
    }
}
