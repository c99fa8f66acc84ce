//! One scenario language: a run of the runner written as an rtctl `.scenario` file.
//!
//! The runner records every call that moves a backend (create, start, exec, kill, wait,
//! delete, the simulator's `advance`) as a [`Call`], in the order it made them. [`write`]
//! turns that log into a `.scenario` file plus the bundles it names (each a `config.json` and an
//! empty `rootfs/`; `rtctl bundle init` fills it for runc), so that
//! `rtctl scenario FILE --seed N` makes the same calls with the same connections, ids and
//! sandbox id: on the simulator it replays the run exactly (same trace digest). Read-only
//! calls (state, listings, the inspector's queries) move nothing and are left out.

use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};

use oci_spec::runtime::Spec;
use runtime_api::{ErrorKind, Signal};

use crate::scenario::Conn;

/// The sandbox id rtctl's scenario runner gives every container: runs meant to be replayed
/// use it too.
pub const RTCTL_SANDBOX: &str = "rtctl-scenario";

/// A backend-moving call the runner made.
#[derive(Clone, Debug)]
pub enum Call {
    /// `create_container` of container `id` with this spec and these output connections.
    Create {
        /// The container id (also its scenario name).
        id: String,
        /// The bundle's spec.
        spec: Box<Spec>,
        /// Stdout connection.
        stdout: Conn,
        /// Stderr connection.
        stderr: Conn,
    },
    /// `start` of container `id`.
    Start {
        /// The container id.
        id: String,
    },
    /// `exec` in container `id`; the process is named `e<exec>`.
    Exec {
        /// The container id.
        id: String,
        /// Index among the runner's exec attempts (started or refused).
        exec: usize,
        /// The argv.
        args: Vec<String>,
        /// Stdout connection.
        stdout: Conn,
        /// Stderr connection.
        stderr: Conn,
    },
    /// `kill` of container `id`'s init.
    Kill {
        /// The container id.
        id: String,
        /// The signal.
        signal: Signal,
    },
    /// `wait` on a container's init (its id) or an exec (`e<n>`).
    Wait {
        /// The scenario name.
        name: String,
    },
    /// `delete` of a container (its id) or an exec (`e<n>`).
    Delete {
        /// The scenario name.
        name: String,
    },
    /// The simulator's `advance` extension.
    Advance {
        /// Virtual milliseconds.
        ms: u64,
    },
}

/// A call and, if it failed, the error kind it failed with (rendered as `expect error KIND`,
/// so the replay expects exactly what happened).
#[derive(Clone, Debug)]
pub struct Logged {
    /// The call.
    pub call: Call,
    /// Its error kind, if it failed.
    pub error: Option<ErrorKind>,
}

/// The scenario name of exec attempt `n`.
pub fn exec_name(n: usize) -> String {
    format!("e{n}")
}

fn conn_word(c: Conn) -> &'static str {
    match c {
        Conn::Null => "null",
        Conn::Pipe => "pipe",
        Conn::Socket => "socket",
    }
}

/// Quotes a word for a scenario line (single quotes; a `'` inside is written as `"'"`).
fn quote(word: &str) -> String {
    if !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:+,".contains(&b))
        && word != "expect"
        && word != "--"
    {
        return word.to_string();
    }
    let mut s = String::from("'");
    for ch in word.chars() {
        if ch == '\'' {
            s.push_str("'\"'\"'");
        } else {
            s.push(ch);
        }
    }
    s.push('\'');
    s
}

/// The scenario text of `calls`, with `header` lines as comments at the top. Bundles are
/// named `bundles/<id>` relative to the file.
pub fn render(calls: &[Logged], header: &[String]) -> String {
    let mut out = String::new();
    for h in header {
        for line in h.lines() {
            let _ = writeln!(out, "# {line}");
        }
    }
    for logged in calls {
        let mut line = match &logged.call {
            Call::Create {
                id, stdout, stderr, ..
            } => format!(
                "create {id} bundles/{id} stdout {} stderr {}",
                conn_word(*stdout),
                conn_word(*stderr)
            ),
            Call::Start { id } => format!("start {id}"),
            Call::Exec {
                id,
                exec,
                args,
                stdout,
                stderr,
            } => {
                let name = exec_name(*exec);
                let argv: Vec<String> = args.iter().map(|a| quote(a)).collect();
                format!(
                    "exec {id} {name} stdout {} stderr {} -- {}",
                    conn_word(*stdout),
                    conn_word(*stderr),
                    argv.join(" ")
                )
            }
            Call::Kill { id, signal } => format!("kill {id} {}", signal.0),
            Call::Wait { name } => format!("wait {name}"),
            Call::Delete { name } => format!("delete {name}"),
            Call::Advance { ms } => format!("advance {ms}"),
        };
        if let Some(kind) = logged.error {
            line.push_str(&format!(" expect error {}", kind.as_str()));
        }
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// Writes `calls` as `<dir>/<stem>.scenario` with its bundles under `<dir>/bundles/`, and
/// returns the scenario's path.
pub fn write(dir: &Path, stem: &str, calls: &[Logged], header: &[String]) -> io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    for logged in calls {
        if let Call::Create { id, spec, .. } = &logged.call {
            let bundle = dir.join("bundles").join(id);
            std::fs::create_dir_all(bundle.join("rootfs"))?;
            let config = serde_json::to_vec_pretty(spec.as_ref()).map_err(io::Error::other)?;
            std::fs::write(bundle.join("config.json"), config)?;
        }
    }
    let path = dir.join(format!("{stem}.scenario"));
    std::fs::write(&path, render(calls, header))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_keeps_plain_words_and_quotes_shell_text() {
        assert_eq!(quote("sh"), "sh");
        assert_eq!(quote("-c"), "-c");
        assert_eq!(quote("echo a; exit 3"), "'echo a; exit 3'");
        assert_eq!(quote("trap 'x' TERM"), "'trap '\"'\"'x'\"'\"' TERM'");
        assert_eq!(quote("expect"), "'expect'");
        assert_eq!(quote(""), "''");
    }

    #[test]
    fn renders_every_call() {
        let calls = vec![
            Call::Create {
                id: "p-c0".into(),
                spec: Box::default(),
                stdout: Conn::Pipe,
                stderr: Conn::Null,
            },
            Call::Start { id: "p-c0".into() },
            Call::Exec {
                id: "p-c0".into(),
                exec: 0,
                args: vec!["sh".into(), "-c".into(), "echo hi".into()],
                stdout: Conn::Socket,
                stderr: Conn::Pipe,
            },
            Call::Exec {
                id: "p-c0".into(),
                exec: 1,
                args: vec!["true".into()],
                stdout: Conn::Null,
                stderr: Conn::Null,
            },
            Call::Kill {
                id: "p-c0".into(),
                signal: Signal::KILL,
            },
            Call::Wait { name: "e0".into() },
            Call::Advance { ms: 200 },
            Call::Delete { name: "e0".into() },
        ];
        let calls: Vec<Logged> = calls
            .into_iter()
            .enumerate()
            .map(|(i, call)| Logged {
                call,
                error: (i == 3).then_some(ErrorKind::NotRunning),
            })
            .collect();
        let text = render(&calls, &["seed 7".into()]);
        assert_eq!(
            text,
            "# seed 7\n\
             create p-c0 bundles/p-c0 stdout pipe stderr null\n\
             start p-c0\n\
             exec p-c0 e0 stdout socket stderr pipe -- sh -c 'echo hi'\n\
             exec p-c0 e1 stdout null stderr null -- true expect error not_running\n\
             kill p-c0 9\n\
             wait e0\n\
             advance 200\n\
             delete e0\n"
        );
    }
}
