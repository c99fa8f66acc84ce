//! The one error type of the API, and the kinds callers match on.

use std::fmt;

/// What went wrong, as a caller decides on it.
///
/// Kinds are stable across backends: the runc backend and the simulator return the same kind for
/// the same misuse, and the kind survives the plugin boundary unchanged. Match on
/// [`Error::kind`]; the message is for people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorKind {
    /// A container with this id already exists.
    AlreadyExists,
    /// No container (or process) with this id or pid exists.
    NotFound,
    /// The operation needs the container or process stopped, and it still runs
    /// (for example `delete` of a running container).
    StillRunning,
    /// The operation needs a running container or process, and it is not
    /// (for example `exec` after init exited, or `kill` of a stopped container).
    NotRunning,
    /// The operation needs a container that has not been started yet, or a
    /// paused one to resume, and its status is something else.
    NotStopped,
    /// The container id is not acceptable (empty, too long, `.`/`..`, or a
    /// character outside `[A-Za-z0-9_+.-]`). Refused before anything touches disk.
    InvalidId,
    /// The bundle is unusable: missing or malformed `config.json`, missing rootfs, or a
    /// process spec the backend cannot run (the simulator names the unsupported command).
    InvalidSpec,
    /// An argument other than the id or spec is unacceptable (resize of a process without a
    /// terminal, a bad signal number, unknown configuration key).
    InvalidArgument,
    /// The stdio relay of the process is closed, so a console operation cannot be done.
    RelayClosed,
    /// A backend command did not finish within its time limit; it was killed and reaped.
    Timeout,
    /// The backend does not implement this operation or extension.
    Unsupported,
    /// A plugin method panicked; the panic was caught at the plugin boundary.
    Panicked,
    /// Any other failure of the backend; the message keeps the backend's own words
    /// (for runc: the last error-level line of its log).
    Backend,
}

impl ErrorKind {
    /// Every kind, in declaration order. Used by the plugin boundary and by tests that want to
    /// exercise each kind.
    pub const ALL: [ErrorKind; 13] = [
        ErrorKind::AlreadyExists,
        ErrorKind::NotFound,
        ErrorKind::StillRunning,
        ErrorKind::NotRunning,
        ErrorKind::NotStopped,
        ErrorKind::InvalidId,
        ErrorKind::InvalidSpec,
        ErrorKind::InvalidArgument,
        ErrorKind::RelayClosed,
        ErrorKind::Timeout,
        ErrorKind::Unsupported,
        ErrorKind::Panicked,
        ErrorKind::Backend,
    ];

    /// A short lowercase name, stable across versions (`"not_running"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::AlreadyExists => "already_exists",
            ErrorKind::NotFound => "not_found",
            ErrorKind::StillRunning => "still_running",
            ErrorKind::NotRunning => "not_running",
            ErrorKind::NotStopped => "not_stopped",
            ErrorKind::InvalidId => "invalid_id",
            ErrorKind::InvalidSpec => "invalid_spec",
            ErrorKind::InvalidArgument => "invalid_argument",
            ErrorKind::RelayClosed => "relay_closed",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::Panicked => "panicked",
            ErrorKind::Backend => "backend",
        }
    }

    /// A stable integer code for the kind, used across the plugin boundary. Codes are never
    /// reused; `from_code` of an unknown code gives `None`.
    pub fn code(self) -> u32 {
        match self {
            ErrorKind::AlreadyExists => 1,
            ErrorKind::NotFound => 2,
            ErrorKind::StillRunning => 3,
            ErrorKind::NotRunning => 4,
            ErrorKind::NotStopped => 5,
            ErrorKind::InvalidId => 6,
            ErrorKind::InvalidSpec => 7,
            ErrorKind::InvalidArgument => 8,
            ErrorKind::RelayClosed => 9,
            ErrorKind::Timeout => 10,
            ErrorKind::Unsupported => 11,
            ErrorKind::Panicked => 12,
            ErrorKind::Backend => 13,
        }
    }

    /// The kind with this [`code`](Self::code), if any.
    pub fn from_code(code: u32) -> Option<ErrorKind> {
        ErrorKind::ALL.into_iter().find(|k| k.code() == code)
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            ErrorKind::AlreadyExists => "already exists",
            ErrorKind::NotFound => "does not exist",
            ErrorKind::StillRunning => "still running",
            ErrorKind::NotRunning => "not running",
            ErrorKind::NotStopped => "not stopped",
            ErrorKind::InvalidId => "invalid id",
            ErrorKind::InvalidSpec => "invalid spec",
            ErrorKind::InvalidArgument => "invalid argument",
            ErrorKind::RelayClosed => "relay closed",
            ErrorKind::Timeout => "timed out",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::Panicked => "panicked",
            ErrorKind::Backend => "backend failure",
        };
        f.write_str(s)
    }
}

/// An error of any runtime operation: a [kind](ErrorKind), the container it concerns (when
/// there is one) and a message that keeps the backend's own words.
///
/// Displayed as `container <id>: <kind>: <message>`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize)]
pub struct Error {
    kind: ErrorKind,
    container_id: Option<String>,
    message: String,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(id) = &self.container_id {
            write!(f, "container {id:?}: ")?;
        }
        write!(f, "{}", self.kind)?;
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        Ok(())
    }
}

impl Error {
    /// An error of `kind` with a message and no container context.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            container_id: None,
            message: message.into(),
        }
    }

    /// An error of `kind` about container `id`.
    pub fn for_container(
        kind: ErrorKind,
        id: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Error {
            kind,
            container_id: Some(id.into()),
            message: message.into(),
        }
    }

    /// The same error, now saying which container it concerns (replaces any earlier id).
    pub fn with_container(mut self, id: impl Into<String>) -> Self {
        self.container_id = Some(id.into());
        self
    }

    /// What went wrong, for matching.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The container the error concerns, when known.
    pub fn container_id(&self) -> Option<&str> {
        self.container_id.as_deref()
    }

    /// The detail, including the backend's own text where there is one.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Whether this error is of `kind`.
    pub fn is(&self, kind: ErrorKind) -> bool {
        self.kind == kind
    }
}

/// The result type of every API operation.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_are_unique() {
        let mut seen = std::collections::BTreeSet::new();
        for k in ErrorKind::ALL {
            assert!(seen.insert(k.code()), "duplicate code for {k:?}");
            assert_eq!(ErrorKind::from_code(k.code()), Some(k));
        }
        assert_eq!(ErrorKind::from_code(0), None);
        assert_eq!(ErrorKind::from_code(9999), None);
    }

    #[test]
    fn display_names_container_kind_and_message() {
        let e = Error::for_container(
            ErrorKind::NotRunning,
            "c1",
            "cannot exec in a stopped container",
        );
        assert_eq!(
            e.to_string(),
            "container \"c1\": not running: cannot exec in a stopped container"
        );
        assert!(e.is(ErrorKind::NotRunning));
        assert_eq!(Error::new(ErrorKind::Timeout, "").to_string(), "timed out");
    }

    #[test]
    fn serde_round_trip_keeps_everything() {
        let e = Error::for_container(ErrorKind::Backend, "x", "runc said: boom");
        let j = serde_json::to_string(&e).unwrap();
        let back: Error = serde_json::from_str(&j).unwrap();
        assert_eq!(back, e);
    }
}
