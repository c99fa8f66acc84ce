//! The runtime's errors: the last error-level message of its JSON log, mapped to an
//! [`ErrorKind`].
//!
//! runc and youki report failures as text. Each invocation gets a fresh `--log <file>
//! --log-format json`, so the last error-level line of that file is the reason for this
//! invocation's failure. Both log dialects are read (runc's `"level":"error","msg"`, youki's
//! tracing `"level":"ERROR","message"`); youki's anyhow chains are flattened to one line and
//! backtraces dropped. The wordings of runc 1.1, runc 1.2 and youki 0.7 are recognised; where
//! the wording is unknown, the invocation layer asks `state` and [`kind_for_status`] decides.
//! The message of the resulting error keeps the runtime's own text.

use runtime_api::{Error, ErrorKind, Status};

/// One line of the runtime's JSON log.
#[derive(Debug, serde::Deserialize)]
struct LogLine {
    #[serde(default)]
    level: String,
    /// runc's `msg`, youki's `message`.
    #[serde(default, alias = "message")]
    msg: String,
    #[serde(default)]
    error: Option<String>,
}

/// The text of the last error-level (or fatal/panic) message in a runc JSON log, with the
/// `error` field appended when runc gives one. Lines that are not JSON are skipped (runc prints
/// some early failures as plain text); if no error-level JSON line exists, the last non-empty
/// plain line is used.
pub(crate) fn last_error_message(log: &str) -> Option<String> {
    let mut last_plain = None;
    let mut last_error = None;
    for line in log.lines().map(str::trim).filter(|l| !l.is_empty()) {
        match serde_json::from_str::<LogLine>(line) {
            Ok(l)
                if matches!(
                    l.level.to_ascii_lowercase().as_str(),
                    "error" | "fatal" | "panic"
                ) =>
            {
                let msg = tidy(&l.msg);
                let text = match l.error {
                    Some(e) if !e.is_empty() && !msg.contains(&e) => format!("{msg}: {e}"),
                    _ => msg,
                };
                // youki's last line is its summary (`error in executing command: ...`); the
                // line before it often says what failed (`failed to canonicalize rootfs`).
                let text = match last_error.take() {
                    Some(prev)
                        if l.msg.starts_with("error in executing command: ")
                            && !text.contains(&prev) =>
                    {
                        format!("{prev}; {text}")
                    }
                    _ => text,
                };
                last_error = Some(text);
            }
            Ok(_) => {}
            Err(_) => last_plain = Some(line.to_string()),
        }
    }
    last_error.or(last_plain)
}

/// One line from a multi-line message: youki's `error in executing command: ` prefix and any
/// `Stack backtrace:` dropped, an anyhow chain (`ctx\n\nCaused by:\n    0: a\n    1: b`)
/// joined as `ctx: a: b`.
pub(crate) fn tidy(msg: &str) -> String {
    let msg = match msg.find("Stack backtrace:") {
        Some(i) => &msg[..i],
        None => msg,
    };
    let msg = msg.trim_start();
    let msg = msg
        .strip_prefix("error in executing command: ")
        .unwrap_or(msg);
    let parts: Vec<&str> = msg
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && *l != "Caused by:")
        .map(|l| match l.split_once(": ") {
            Some((n, rest)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => rest,
            _ => l,
        })
        .collect();
    parts.join(": ")
}

/// The kind of failure of `command` when the container's status is `status` (`None`: the
/// container does not exist), for a runtime whose wording says only that the status was wrong
/// (youki's ``incompatible container status: `X` ``) or says nothing known at all (then the
/// status comes from a `state` call). `None` when the status explains nothing (an `exec` that
/// failed in a running container stays a backend failure).
pub(crate) fn kind_for_status(command: &str, status: Option<Status>) -> Option<ErrorKind> {
    let Some(status) = status else {
        return Some(ErrorKind::NotFound);
    };
    use Status::*;
    match (command, status) {
        ("start", Created) => None,
        ("start", _) => Some(ErrorKind::NotStopped),
        ("delete", Creating | Running | Paused) => Some(ErrorKind::StillRunning),
        ("exec", Creating | Created | Paused | Stopped) => Some(ErrorKind::NotRunning),
        ("kill" | "update", Stopped) => Some(ErrorKind::NotRunning),
        ("pause", Creating | Created | Paused | Stopped) => Some(ErrorKind::NotRunning),
        ("resume", Creating | Created | Running | Stopped) => Some(ErrorKind::NotRunning),
        _ => None,
    }
}

/// The status named by youki's ``incompatible container status: `Running` ``, if the
/// message says so.
fn incompatible_status(message: &str) -> Option<Status> {
    let (_, rest) = message.split_once("incompatible container status: `")?;
    let (word, _) = rest.split_once('`')?;
    Status::parse(&word.to_ascii_lowercase())
}

/// The kind of a failure of `command` from the runtime's message (and exit code: `exec` exits
/// 255 when it cannot exec into a stopped container).
pub(crate) fn classify(command: &str, message: &str, exit_code: Option<i32>) -> ErrorKind {
    let m = message.to_ascii_lowercase();
    let has = |s: &str| m.contains(s);
    if let Some(kind) = incompatible_status(message).and_then(|s| kind_for_status(command, Some(s)))
    {
        kind
    } else if has("already exists")
        || has("container with id exists")
        || has("with given id exists")
    {
        ErrorKind::AlreadyExists
    } else if has("does not exist")
        || has("not exist")
        || has("container not found")
        || has("failed to open container state file")
    {
        ErrorKind::NotFound
    } else if has("is not stopped") || has("that is not stopped") || has("still running") {
        ErrorKind::StillRunning
    } else if has("cannot exec in a stopped container")
        || has("cannot exec in a paused container")
        || has("container not running")
        || has("container is not running")
        || has("not paused")
        || has("container is stopped")
    {
        ErrorKind::NotRunning
    } else if has("cannot start an already running container")
        || has("cannot start a container that has stopped")
        || has("cannot start a container in the")
        || has("cannot start a paused container")
    {
        ErrorKind::NotStopped
    } else if has("config.json")
        || has("oci spec error")
        || has("json specification file")
        || has("invalid character")
        || has("rootfs")
    {
        ErrorKind::InvalidSpec
    } else if has("invalid container id") || has("invalid id format") {
        ErrorKind::InvalidId
    } else {
        let _ = exit_code;
        ErrorKind::Backend
    }
}

/// The error for a failed runc invocation: kind from the message, runc's text kept.
pub(crate) fn runc_error(
    command: &str,
    container_id: Option<&str>,
    log: &str,
    stderr: &str,
    exit_code: Option<i32>,
) -> Error {
    let text = last_error_message(log)
        .or_else(|| {
            stderr
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .map(str::to_string)
        })
        .unwrap_or_else(|| match exit_code {
            Some(c) => format!("exited with code {c} and logged nothing"),
            None => "killed by a signal and logged nothing".to_string(),
        });
    let kind = classify(command, &text, exit_code);
    let message = format!("runc {command}: {text}");
    match container_id {
        Some(id) => Error::for_container(kind, id, message),
        None => Error::new(kind, message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_error_line_wins_and_keeps_error_field() {
        let log = r#"{"level":"warning","msg":"something","time":"t"}
{"level":"error","msg":"first","time":"t"}
{"level":"info","msg":"x"}
{"level":"error","msg":"exec failed","error":"cannot exec in a stopped container","time":"t"}
"#;
        assert_eq!(
            last_error_message(log).unwrap(),
            "exec failed: cannot exec in a stopped container"
        );
        assert_eq!(last_error_message(""), None);
        assert_eq!(last_error_message("plain text\n").unwrap(), "plain text");
    }

    #[test]
    fn runc_1_1_and_1_2_wordings() {
        let cases = [
            (
                "runc create failed: container with given ID already exists",
                ErrorKind::AlreadyExists,
            ),
            ("container with id exists: c1", ErrorKind::AlreadyExists),
            ("container does not exist", ErrorKind::NotFound),
            ("exec failed: container does not exist", ErrorKind::NotFound),
            ("container not exist", ErrorKind::NotFound),
            (
                "cannot delete container c1 that is not stopped: running",
                ErrorKind::StillRunning,
            ),
            ("container c1 is not stopped", ErrorKind::StillRunning),
            ("container not running", ErrorKind::NotRunning),
            (
                "exec failed: cannot exec in a stopped container",
                ErrorKind::NotRunning,
            ),
            ("container not paused", ErrorKind::NotRunning),
            (
                "exec failed: cannot exec in a paused container",
                ErrorKind::NotRunning,
            ),
            (
                "cannot start an already running container",
                ErrorKind::NotStopped,
            ),
            (
                "cannot start a container that has stopped",
                ErrorKind::NotStopped,
            ),
            (
                "JSON specification file config.json not found",
                ErrorKind::InvalidSpec,
            ),
            ("something else broke", ErrorKind::Backend),
        ];
        for (msg, kind) in cases {
            assert_eq!(classify("x", msg, Some(1)), kind, "{msg}");
        }
    }

    #[test]
    fn youki_log_lines_and_wordings() {
        // As youki 0.7 writes them with --log-format json (RUST_BACKTRACE=1 in its env).
        let log = concat!(
            r#"{"timestamp":"t","level":"ERROR","message":"cannot start container due to incorrect state","id":"\"c1\"","status":"Running","target":"libcontainer::container::container_start"}"#,
            "\n",
            r#"{"timestamp":"t","level":"ERROR","message":"error in executing command: failed to start container c1\n\nCaused by:\n    failed operation due to incompatible container status: `Running`\n\nStack backtrace:\n   0: <unknown>\n   1: __libc_start_main","target":"youki"}"#
        );
        let text = last_error_message(log).unwrap();
        assert_eq!(
            text,
            "cannot start container due to incorrect state; failed to start container c1: failed operation due to incompatible container status: `Running`"
        );
        let norootfs = concat!(
            r#"{"level":"ERROR","message":"failed to canonicalize rootfs: io operation failed","bundle":"\"nor\""}"#,
            "\n",
            r#"{"level":"ERROR","message":"error in executing command: oci spec error\n\nCaused by:\n    0: io operation failed\n    1: No such file or directory (os error 2)","target":"youki"}"#
        );
        let e = runc_error("create", Some("c6"), norootfs, "", Some(1));
        assert_eq!(e.kind(), ErrorKind::InvalidSpec, "{e}");
        assert!(e.message().contains("rootfs"), "{e}");
        assert_eq!(classify("start", &text, Some(1)), ErrorKind::NotStopped);
        let e = runc_error("start", Some("c1"), log, "", Some(1));
        assert_eq!(e.kind(), ErrorKind::NotStopped);
        assert!(!e.message().contains("backtrace"), "{e}");
        let st = |cmd: &str, s: &str| {
            classify(
                cmd,
                &format!("failed to {cmd} container c: failed operation due to incompatible container status: `{s}`"),
                Some(1),
            )
        };
        assert_eq!(st("delete", "Running"), ErrorKind::StillRunning);
        assert_eq!(st("delete", "Paused"), ErrorKind::StillRunning);
        assert_eq!(st("start", "Stopped"), ErrorKind::NotStopped);
        assert_eq!(st("resume", "Running"), ErrorKind::NotRunning);
        assert_eq!(st("pause", "Stopped"), ErrorKind::NotRunning);
        assert_eq!(st("exec", "Stopped"), ErrorKind::NotRunning);
        for (cmd, msg, kind) in [
            ("state", "container c1 does not exist.", ErrorKind::NotFound),
            (
                "kill",
                "container not running: failed operation due to incompatible container status: `Stopped`",
                ErrorKind::NotRunning,
            ),
            ("create", "container already exists", ErrorKind::AlreadyExists),
        ] {
            assert_eq!(classify(cmd, msg, Some(1)), kind, "{msg}");
        }
        // An anyhow chain with numbered causes.
        assert_eq!(tidy("a\n\nCaused by:\n    0: b\n    1: c"), "a: b: c");
    }

    #[test]
    fn kinds_from_a_status() {
        use Status::*;
        assert_eq!(kind_for_status("exec", None), Some(ErrorKind::NotFound));
        assert_eq!(kind_for_status("exec", Some(Running)), None);
        assert_eq!(
            kind_for_status("exec", Some(Stopped)),
            Some(ErrorKind::NotRunning)
        );
        assert_eq!(kind_for_status("start", Some(Created)), None);
        assert_eq!(
            kind_for_status("start", Some(Running)),
            Some(ErrorKind::NotStopped)
        );
        assert_eq!(kind_for_status("delete", Some(Stopped)), None);
        assert_eq!(kind_for_status("kill", Some(Running)), None);
        assert_eq!(kind_for_status("ps", Some(Stopped)), None);
    }

    #[test]
    fn error_keeps_runc_text() {
        let log = r#"{"level":"error","msg":"exec failed: cannot exec in a stopped container","time":"t"}"#;
        let e = runc_error("exec", Some("c1"), log, "", Some(255));
        assert_eq!(e.kind(), ErrorKind::NotRunning);
        assert_eq!(e.container_id(), Some("c1"));
        assert!(e.message().contains("cannot exec in a stopped container"));
        let e = runc_error("state", None, "", "", Some(2));
        assert_eq!(e.kind(), ErrorKind::Backend);
        assert!(e.message().contains("code 2"), "{}", e.message());
    }
}
