//! Parsing what the runtime prints on stdout: `state`, `list --format json`, `list`'s table
//! and `ps --format json`.
//!
//! Only stdout is parsed (diagnostics go to the log and stderr). Parsing is tolerant where
//! runtimes differ: unknown fields are ignored (youki adds `annotations`, runc 1.2 adds
//! others); fields a runtime may omit are optional; `pid` and `owner` are read as a number or
//! a string (youki's `owner` is the creator's uid, a number; runc's a string); `status` is read
//! in any case. `pid` is 0 once the container is stopped, whatever the runtime says (runc says
//! 0, youki keeps the dead init's pid). `created` is kept as printed, an RFC 3339 timestamp,
//! and dropped if it is not one.

use runtime_api::{ContainerState, Error, ErrorKind, Result, Status};

/// The JSON object of `runc state` and of each entry of `runc list --format json`.
#[derive(Debug, serde::Deserialize)]
struct RuncState {
    #[serde(rename = "ociVersion", default)]
    oci_version: String,
    id: String,
    #[serde(default)]
    pid: Option<serde_json::Value>,
    status: String,
    #[serde(default)]
    bundle: Option<String>,
    #[serde(default)]
    rootfs: Option<String>,
    #[serde(default)]
    created: Option<serde_json::Value>,
    #[serde(default)]
    owner: Option<serde_json::Value>,
}

/// A JSON value as text: a string as is, a number in decimal; other types (and `null`) give
/// `None`.
fn text(v: Option<serde_json::Value>) -> Option<String> {
    match v? {
        serde_json::Value::String(s) => Some(s),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn garbage(what: &str, id: Option<&str>, stdout: &[u8], why: impl std::fmt::Display) -> Error {
    let shown: String = String::from_utf8_lossy(stdout).chars().take(200).collect();
    let msg = format!("runc {what} printed something that is not its JSON ({why}): {shown:?}");
    match id {
        Some(id) => Error::for_container(ErrorKind::Backend, id, msg),
        None => Error::new(ErrorKind::Backend, msg),
    }
}

/// Whether `s` looks like an RFC 3339 date-time (`YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`).
pub(crate) fn is_rfc3339(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| {
        b.get(r.clone())
            .is_some_and(|x| x.iter().all(u8::is_ascii_digit))
    };
    if b.len() < 20
        || !digits(0..4)
        || b[4] != b'-'
        || !digits(5..7)
        || b[7] != b'-'
        || !digits(8..10)
        || !matches!(b[10], b'T' | b't' | b' ')
        || !digits(11..13)
        || b[13] != b':'
        || !digits(14..16)
        || b[16] != b':'
        || !digits(17..19)
    {
        return false;
    }
    let mut i = 19;
    if b[i] == b'.' {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    match &b[i..] {
        [b'Z' | b'z'] => true,
        [b'+' | b'-', h1, h2, b':', m1, m2] => [h1, h2, m1, m2].iter().all(|c| c.is_ascii_digit()),
        _ => false,
    }
}

fn convert(s: RuncState, id: Option<&str>, what: &str, stdout: &[u8]) -> Result<ContainerState> {
    let status = Status::parse(&s.status.to_ascii_lowercase())
        .ok_or_else(|| garbage(what, id, stdout, format!("unknown status {:?}", s.status)))?;
    let pid = match text(s.pid) {
        None => 0,
        Some(p) => p
            .parse::<i32>()
            .map_err(|_| garbage(what, id, stdout, format!("pid {p:?} is not a pid")))?,
    };
    Ok(ContainerState {
        oci_version: s.oci_version,
        id: s.id,
        pid: if status == Status::Stopped { 0 } else { pid },
        bundle: s.bundle.unwrap_or_default(),
        rootfs: s.rootfs.filter(|r| !r.is_empty()),
        status,
        created: text(s.created).filter(|c| is_rfc3339(c)),
        owner: text(s.owner).filter(|o| !o.is_empty()),
    })
}

/// Parses the stdout of `runc state <id>`.
pub(crate) fn parse_state(id: &str, stdout: &[u8]) -> Result<ContainerState> {
    let s: RuncState =
        serde_json::from_slice(stdout).map_err(|e| garbage("state", Some(id), stdout, e))?;
    convert(s, Some(id), "state", stdout)
}

/// Parses the stdout of `runc list --format json` (`null` when there are none), sorted by id.
pub(crate) fn parse_list(stdout: &[u8]) -> Result<Vec<ContainerState>> {
    let list: Option<Vec<RuncState>> =
        serde_json::from_slice(stdout).map_err(|e| garbage("list", None, stdout, e))?;
    let mut out = list
        .unwrap_or_default()
        .into_iter()
        .map(|s| convert(s, None, "list", stdout))
        .collect::<Result<Vec<_>>>()?;
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(out)
}

/// The container ids of `list`'s table (youki's, and runc's without `--format json`): a header
/// line whose first column is `ID`, then one line per container whose first column is its id.
pub(crate) fn parse_list_table(stdout: &[u8]) -> Result<Vec<String>> {
    let text = String::from_utf8_lossy(stdout);
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header = lines.next().and_then(|l| l.split_whitespace().next());
    if header != Some("ID") {
        return Err(garbage(
            "list",
            None,
            stdout,
            "a table whose first column is ID was expected",
        ));
    }
    Ok(lines
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect())
}

/// Parses the stdout of `runc ps --format json <id>`: the pids of the container's cgroup
/// (`null` or `[]` when empty).
pub(crate) fn parse_ps(id: &str, stdout: &[u8]) -> Result<Vec<i32>> {
    let pids: Option<Vec<i32>> =
        serde_json::from_slice(stdout).map_err(|e| garbage("ps", Some(id), stdout, e))?;
    Ok(pids.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_with_and_without_optional_fields() {
        let full = br#"{"ociVersion":"1.0.2-dev","id":"c1","pid":42,"status":"running","bundle":"/b","rootfs":"/b/rootfs","created":"2024-01-02T03:04:05.123456789Z","owner":"","annotations":{"a":"b"}}"#;
        let s = parse_state("c1", full).unwrap();
        assert_eq!(s.pid, 42);
        assert_eq!(s.status, Status::Running);
        assert_eq!(s.rootfs.as_deref(), Some("/b/rootfs"));
        assert_eq!(s.created.as_deref(), Some("2024-01-02T03:04:05.123456789Z"));
        assert_eq!(s.owner, None);
        let min = br#"{"id":"c1","status":"stopped"}"#;
        let s = parse_state("c1", min).unwrap();
        assert_eq!(s.pid, 0);
        assert_eq!(s.created, None);
        assert_eq!(s.rootfs, None);
    }

    #[test]
    fn youki_state_owner_is_a_uid_and_pid_stays_after_stop() {
        // youki 0.7's `state`, verbatim.
        let y = br#"{
  "ociVersion": "1.1.0",
  "id": "c1",
  "status": "stopped",
  "pid": 21111,
  "bundle": "/tmp/yk/sleeper",
  "annotations": {},
  "created": "2026-12-02T17:05:55.244216676Z",
  "owner": 0
}"#;
        let s = parse_state("c1", y).unwrap();
        assert_eq!(s.status, Status::Stopped);
        assert_eq!(s.pid, 0);
        assert_eq!(s.owner.as_deref(), Some("0"));
        assert_eq!(s.oci_version, "1.1.0");
        assert_eq!(s.created.as_deref(), Some("2026-12-02T17:05:55.244216676Z"));
        let running = br#"{"id":"c1","status":"Running","pid":"77","owner":null,"extra":[1]}"#;
        let s = parse_state("c1", running).unwrap();
        assert_eq!((s.status, s.pid, s.owner), (Status::Running, 77, None));
        assert_eq!(
            parse_state("c1", br#"{"id":"c1","status":"running","pid":"x"}"#)
                .unwrap_err()
                .kind(),
            ErrorKind::Backend
        );
    }

    #[test]
    fn list_tables() {
        let t = b"ID                    PID    STATUS   BUNDLE           CREATED                    CREATOR\nc1                    21111  Created  /tmp/yk/sleeper  2026-12-02T17:05:55+00:00  root\nc-2                          Stopped  /tmp/a b        2026-12-02T17:05:55+00:00\n";
        assert_eq!(parse_list_table(t).unwrap(), ["c1", "c-2"]);
        assert!(parse_list_table(b"ID  PID  STATUS\n").unwrap().is_empty());
        for bad in [&b""[..], b"[]", b"hello world\n"] {
            assert_eq!(
                parse_list_table(bad).unwrap_err().kind(),
                ErrorKind::Backend
            );
        }
    }

    #[test]
    fn garbage_is_a_backend_error() {
        for bad in [&b"hello"[..], b"{\"id\":\"c\",\"status\":\"dancing\"}", b""] {
            let e = parse_state("c", bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Backend);
        }
        assert_eq!(
            parse_ps("c", b"[1,x]").unwrap_err().kind(),
            ErrorKind::Backend
        );
    }

    #[test]
    fn list_null_empty_and_sorted() {
        assert!(parse_list(b"null").unwrap().is_empty());
        assert!(parse_list(b"[]").unwrap().is_empty());
        let l = parse_list(br#"[{"id":"b","status":"created"},{"id":"a","status":"paused","created":"2024-01-02T03:04:05+01:00"}]"#).unwrap();
        assert_eq!(l[0].id, "a");
        assert_eq!(l[0].status, Status::Paused);
        assert!(l[0].created.is_some());
        assert_eq!(parse_ps("c", b"null").unwrap(), Vec::<i32>::new());
        assert_eq!(parse_ps("c", b"[3,4]").unwrap(), vec![3, 4]);
    }

    #[test]
    fn rfc3339() {
        assert!(is_rfc3339("2024-01-02T03:04:05Z"));
        assert!(is_rfc3339("2024-01-02T03:04:05.5-07:00"));
        assert!(!is_rfc3339("2024-01-02 03:04"));
        assert!(!is_rfc3339("yesterday"));
        assert!(!is_rfc3339("2024-01-02T03:04:05."));
    }
}
