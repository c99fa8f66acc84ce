//! The shim's errors, and how they reach containerd: a ttrpc status whose code says what
//! kind of failure it is (containerd maps `NotFound`, `AlreadyExists`, `FailedPrecondition`,
//! `Unimplemented` to its own error kinds) and whose message keeps the backend's words.

use containerd_shim::protos::ttrpc;
use runtime_api::ErrorKind;
use ttrpc::Code;

/// A failure of the shim itself (not of a runtime call).
#[derive(Debug, thiserror::Error)]
pub enum ShimError {
    /// The runtime options are unusable.
    #[error("runtime options: {0}")]
    Options(String),
    /// The backend could not be found, loaded or opened.
    #[error("backend {backend:?}: {message}")]
    Backend {
        /// The name or path from the options.
        backend: String,
        /// What went wrong, with the loader's or backend's message.
        message: String,
    },
    /// A system call failed.
    #[error("{0}: {1}")]
    Io(String, #[source] std::io::Error),
    /// The request refers to something that does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The request is not valid in the current state.
    #[error("{0}")]
    Precondition(String),
    /// The request itself is malformed.
    #[error("{0}")]
    InvalidArgument(String),
}

/// A ttrpc status error with `code` and `message`.
pub fn status(code: Code, message: impl Into<String>) -> ttrpc::Error {
    ttrpc::Error::RpcStatus(ttrpc::get_status(code, message.into()))
}

impl From<ShimError> for ttrpc::Error {
    fn from(e: ShimError) -> Self {
        let code = match &e {
            ShimError::Options(_) | ShimError::InvalidArgument(_) => Code::INVALID_ARGUMENT,
            ShimError::Backend { .. } => Code::FAILED_PRECONDITION,
            ShimError::Io(..) => Code::INTERNAL,
            ShimError::NotFound(_) => Code::NOT_FOUND,
            ShimError::Precondition(_) => Code::FAILED_PRECONDITION,
        };
        status(code, e.to_string())
    }
}

/// A runtime error as containerd should see it: `what` says which call on which container,
/// the message is the backend's.
pub fn runtime(what: &str, e: &runtime_api::Error) -> ttrpc::Error {
    let code = match e.kind() {
        ErrorKind::AlreadyExists => Code::ALREADY_EXISTS,
        ErrorKind::NotFound => Code::NOT_FOUND,
        ErrorKind::StillRunning
        | ErrorKind::NotRunning
        | ErrorKind::NotStopped
        | ErrorKind::RelayClosed => Code::FAILED_PRECONDITION,
        ErrorKind::InvalidId | ErrorKind::InvalidSpec | ErrorKind::InvalidArgument => {
            Code::INVALID_ARGUMENT
        }
        ErrorKind::Timeout => Code::DEADLINE_EXCEEDED,
        ErrorKind::Unsupported => Code::UNIMPLEMENTED,
        _ => Code::INTERNAL,
    };
    status(code, format!("{what}: {e}"))
}
