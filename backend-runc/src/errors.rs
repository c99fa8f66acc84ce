//! runc's errors: the last error-level message of its JSON log, mapped to an [`ErrorKind`].
//!
//! runc reports failures as text. Each invocation gets a fresh `--log <file> --log-format json`,
//! so the last `"level":"error"` line of that file is the reason for this invocation's failure.
//! The wordings of runc 1.1 and 1.2 are both recognised; the message of the resulting error
//! keeps runc's own text.

use runtime_api::{Error, ErrorKind};

/// One line of runc's JSON log.
#[derive(Debug, serde::Deserialize)]
struct LogLine {
    #[serde(default)]
    level: String,
    #[serde(default)]
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
            Ok(l) if matches!(l.level.as_str(), "error" | "fatal" | "panic") => {
                let text = match l.error {
                    Some(e) if !e.is_empty() && !l.msg.contains(&e) => format!("{}: {e}", l.msg),
                    _ => l.msg,
                };
                last_error = Some(text);
            }
            Ok(_) => {}
            Err(_) => last_plain = Some(line.to_string()),
        }
    }
    last_error.or(last_plain)
}

/// The kind of a runc failure from its message (and exit code: `exec` exits 255 when it cannot
/// exec into a stopped container).
pub(crate) fn classify(message: &str, exit_code: Option<i32>) -> ErrorKind {
    let m = message.to_ascii_lowercase();
    let has = |s: &str| m.contains(s);
    if has("already exists") || has("container with id exists") || has("with given id exists") {
        ErrorKind::AlreadyExists
    } else if has("does not exist") || has("not exist") || has("container not found") {
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
    let kind = classify(&text, exit_code);
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
            assert_eq!(classify(msg, Some(1)), kind, "{msg}");
        }
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
