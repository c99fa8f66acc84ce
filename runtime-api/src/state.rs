//! What a runtime reports about containers and their processes.

use std::fmt;

/// The lifecycle status of a container, as runc names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Being created; not yet visible as `created`.
    Creating,
    /// Created: init exists, blocked before the user program, `start` not yet called.
    Created,
    /// Started and init is alive.
    Running,
    /// All processes frozen by `pause`.
    Paused,
    /// Init has exited.
    Stopped,
}

impl Status {
    /// The lowercase word runc uses (`"running"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Creating => "creating",
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        }
    }

    /// Parses the word runc uses; unknown words give `None`.
    pub fn parse(s: &str) -> Option<Status> {
        Some(match s {
            "creating" => Status::Creating,
            "created" => Status::Created,
            "running" => Status::Running,
            "paused" => Status::Paused,
            "stopped" => Status::Stopped,
            _ => return None,
        })
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A container's state, the fields of `runc state`.
///
/// Fields runc may omit are `Option`s; a backend never invents them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ContainerState {
    /// OCI runtime-spec version of the bundle (`ociVersion`).
    pub oci_version: String,
    /// The container id.
    pub id: String,
    /// Pid of the init process in the caller's pid namespace; 0 once stopped (as runc says).
    pub pid: i32,
    /// Absolute path of the bundle directory.
    pub bundle: String,
    /// Absolute path of the root filesystem, when known.
    pub rootfs: Option<String>,
    /// Lifecycle status.
    pub status: Status,
    /// Creation time as an RFC 3339 timestamp, when the backend reports one.
    pub created: Option<String>,
    /// Owner of the container (runc reports the user), when known.
    pub owner: Option<String>,
}

/// One process of a container, as `running_processes`/`all_processes` list it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ProcessInfo {
    /// Pid in the caller's pid namespace.
    pub pid: i32,
    /// The command line (argv), empty if it could not be read (a zombie has none).
    pub command: Vec<String>,
    /// Whether this runtime created the process (the init, or a process from `exec`), as
    /// opposed to a child those processes spawned themselves.
    pub created_by_runtime: bool,
    /// Whether the process has exited and has not been reaped yet.
    pub is_zombie: bool,
}
