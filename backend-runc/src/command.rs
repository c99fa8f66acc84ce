//! Typed runc commands: one options type per command, turned into runc's argument list.
//!
//! Global flags (`--root`, `--log`, `--log-format`) are added by
//! [`invocation`](crate::invocation); these types only hold what is particular to a command.

use std::ffi::OsString;
use std::path::PathBuf;

use runtime_api::Signal;

/// `runc create --no-pivot --bundle <bundle> --pid-file <file> [--console-socket <sock>] <id>`.
#[derive(Debug, Clone)]
pub struct CreateOpts {
    /// The container id.
    pub id: String,
    /// The bundle directory.
    pub bundle: PathBuf,
    /// Where runc writes the init's pid.
    pub pid_file: PathBuf,
    /// The console socket, for a container whose process has a terminal.
    pub console_socket: Option<PathBuf>,
    /// `--no-pivot`: use `MS_MOVE` + chroot instead of `pivot_root` (works on a ramfs root,
    /// as in a utility VM; hcsshim passes it).
    pub no_pivot: bool,
}

/// `runc exec [-d] --process <file> --pid-file <file> [--console-socket <sock>] <id>`.
#[derive(Debug, Clone)]
pub struct ExecOpts {
    /// The container id.
    pub id: String,
    /// The OCI process spec, as a JSON file.
    pub process_file: PathBuf,
    /// Where runc writes the process's pid.
    pub pid_file: PathBuf,
    /// The console socket, for a process with a terminal.
    pub console_socket: Option<PathBuf>,
    /// `-d`: runc exits once the process runs (it is reparented to the subreaper).
    pub detach: bool,
}

/// `runc kill [--all] <id> <signal>`.
#[derive(Debug, Clone)]
pub struct KillOpts {
    /// The container id.
    pub id: String,
    /// The signal.
    pub signal: Signal,
    /// `--all`: signal every process of the container's cgroup (rule 1 on runc 1.1).
    pub all: bool,
}

/// `runc delete [--force] <id>`.
#[derive(Debug, Clone)]
pub struct DeleteOpts {
    /// The container id.
    pub id: String,
    /// `--force`: kill a running container first.
    pub force: bool,
}

/// A runc command with its options.
#[derive(Debug, Clone)]
pub enum Command {
    /// `runc create`.
    Create(CreateOpts),
    /// `runc start <id>`.
    Start {
        /// The container id.
        id: String,
    },
    /// `runc exec`.
    Exec(ExecOpts),
    /// `runc kill`.
    Kill(KillOpts),
    /// `runc delete`.
    Delete(DeleteOpts),
    /// `runc pause <id>`.
    Pause {
        /// The container id.
        id: String,
    },
    /// `runc resume <id>`.
    Resume {
        /// The container id.
        id: String,
    },
    /// `runc state <id>` (JSON on stdout).
    State {
        /// The container id.
        id: String,
    },
    /// `runc ps --format json <id>` (a JSON array of pids on stdout).
    Ps {
        /// The container id.
        id: String,
    },
    /// `runc list --format json` (a JSON array, or `null`, on stdout); `runc list` (a table)
    /// without `json`, for runtimes that print no JSON (youki).
    List {
        /// Ask for `--format json`.
        json: bool,
    },
    /// `runc update --resources - <id>` (the LinuxResources JSON on stdin).
    Update {
        /// The container id.
        id: String,
    },
}

impl Command {
    /// The runc subcommand name.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Create(_) => "create",
            Command::Start { .. } => "start",
            Command::Exec(_) => "exec",
            Command::Kill(_) => "kill",
            Command::Delete(_) => "delete",
            Command::Pause { .. } => "pause",
            Command::Resume { .. } => "resume",
            Command::State { .. } => "state",
            Command::Ps { .. } => "ps",
            Command::List { .. } => "list",
            Command::Update { .. } => "update",
        }
    }

    /// The container the command is about, if any.
    pub fn container_id(&self) -> Option<&str> {
        match self {
            Command::Create(o) => Some(&o.id),
            Command::Exec(o) => Some(&o.id),
            Command::Kill(o) => Some(&o.id),
            Command::Delete(o) => Some(&o.id),
            Command::Start { id }
            | Command::Pause { id }
            | Command::Resume { id }
            | Command::State { id }
            | Command::Ps { id }
            | Command::Update { id } => Some(id),
            Command::List { .. } => None,
        }
    }

    /// The arguments after the global flags: subcommand, options, operands.
    pub fn args(&self) -> Vec<OsString> {
        let mut a: Vec<OsString> = vec![self.name().into()];
        match self {
            Command::Create(o) => {
                if o.no_pivot {
                    a.push("--no-pivot".into());
                }
                a.push("--bundle".into());
                a.push(o.bundle.clone().into());
                a.push("--pid-file".into());
                a.push(o.pid_file.clone().into());
                if let Some(s) = &o.console_socket {
                    a.push("--console-socket".into());
                    a.push(s.clone().into());
                }
                a.push(o.id.clone().into());
            }
            Command::Exec(o) => {
                if o.detach {
                    a.push("-d".into());
                }
                a.push("--process".into());
                a.push(o.process_file.clone().into());
                a.push("--pid-file".into());
                a.push(o.pid_file.clone().into());
                if let Some(s) = &o.console_socket {
                    a.push("--console-socket".into());
                    a.push(s.clone().into());
                }
                a.push(o.id.clone().into());
            }
            Command::Kill(o) => {
                if o.all {
                    a.push("--all".into());
                }
                a.push(o.id.clone().into());
                a.push(o.signal.number().to_string().into());
            }
            Command::Delete(o) => {
                if o.force {
                    a.push("--force".into());
                }
                a.push(o.id.clone().into());
            }
            Command::Ps { id } => {
                a.push("--format".into());
                a.push("json".into());
                a.push(id.into());
            }
            Command::List { json: true } => {
                a.push("--format".into());
                a.push("json".into());
            }
            Command::List { json: false } => {}
            Command::Update { id } => {
                a.push("--resources".into());
                a.push("-".into());
                a.push(id.into());
            }
            Command::Start { id }
            | Command::Pause { id }
            | Command::Resume { id }
            | Command::State { id } => a.push(id.into()),
        }
        a
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strs(c: &Command) -> Vec<String> {
        c.args()
            .into_iter()
            .map(|s| s.into_string().unwrap())
            .collect()
    }

    #[test]
    fn create_and_exec_args() {
        let c = Command::Create(CreateOpts {
            id: "c1".into(),
            bundle: "/b".into(),
            pid_file: "/s/init.pid".into(),
            console_socket: Some("/t/sock".into()),
            no_pivot: true,
        });
        assert_eq!(
            strs(&c),
            [
                "create",
                "--no-pivot",
                "--bundle",
                "/b",
                "--pid-file",
                "/s/init.pid",
                "--console-socket",
                "/t/sock",
                "c1"
            ]
        );
        let e = Command::Exec(ExecOpts {
            id: "c1".into(),
            process_file: "/s/p.json".into(),
            pid_file: "/s/p.pid".into(),
            console_socket: None,
            detach: true,
        });
        assert_eq!(
            strs(&e),
            [
                "exec",
                "-d",
                "--process",
                "/s/p.json",
                "--pid-file",
                "/s/p.pid",
                "c1"
            ]
        );
    }

    #[test]
    fn kill_delete_query_args() {
        let k = Command::Kill(KillOpts {
            id: "c".into(),
            signal: Signal::KILL,
            all: true,
        });
        assert_eq!(strs(&k), ["kill", "--all", "c", "9"]);
        let d = Command::Delete(DeleteOpts {
            id: "c".into(),
            force: false,
        });
        assert_eq!(strs(&d), ["delete", "c"]);
        assert_eq!(
            strs(&Command::Ps { id: "c".into() }),
            ["ps", "--format", "json", "c"]
        );
        assert_eq!(
            strs(&Command::List { json: true }),
            ["list", "--format", "json"]
        );
        assert_eq!(strs(&Command::List { json: false }), ["list"]);
        assert_eq!(
            strs(&Command::Update { id: "c".into() }),
            ["update", "--resources", "-", "c"]
        );
        assert_eq!(Command::List { json: true }.container_id(), None);
        assert_eq!(Command::Start { id: "x".into() }.container_id(), Some("x"));
    }
}
