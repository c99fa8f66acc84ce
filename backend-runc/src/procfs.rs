//! Reading `/proc`: a process's parent, state, process group, session and command line.
//!
//! The reaper and the process listings read these fields; they are parsed here once. The kernel
//! may lack `/proc/<pid>/task/<tid>/children` (`CONFIG_PROC_CHILDREN`), so finding the children
//! of a process scans every `/proc/<pid>/stat`.

use std::fs;

/// The fields of `/proc/<pid>/stat` this crate uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stat {
    /// The pid.
    pub pid: i32,
    /// The one-letter state (`R`, `S`, `D`, `Z`, `T`, ...).
    pub state: char,
    /// The parent pid.
    pub ppid: i32,
    /// The process group.
    pub pgrp: i32,
    /// The session id. A zombie keeps it (unlike its cgroup membership, which on cgroup v1
    /// reads as `/` once the process has exited), which is how orphans are attributed to the
    /// container that made them.
    pub session: i32,
    /// When the process started, in clock ticks after boot (field 22). With the pid it names
    /// one process for good: a later process that reuses the pid has a later start time.
    pub start: u64,
}

impl Stat {
    /// Whether the process has exited and has not been reaped.
    pub fn is_zombie(&self) -> bool {
        self.state == 'Z'
    }
}

/// Parses the text of `/proc/<pid>/stat`. The command name (field 2) is in parentheses and may
/// itself hold spaces and parentheses, so the fields after it are found from the last `)`.
pub(crate) fn parse_stat(text: &str) -> Option<Stat> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let pid = text[..open].trim().parse().ok()?;
    let mut rest = text.get(close + 1..)?.split_ascii_whitespace();
    let state = rest.next()?.chars().next()?;
    let ppid = rest.next()?.parse().ok()?;
    let pgrp = rest.next()?.parse().ok()?;
    let session = rest.next()?.parse().ok()?;
    // Fields 7 to 21 (tty_nr .. itrealvalue), then starttime.
    let start = rest.nth(15)?.parse().ok()?;
    Some(Stat {
        pid,
        state,
        ppid,
        pgrp,
        session,
        start,
    })
}

/// Whether `pid` has begun to exit (`PF_EXITING` in its kernel flags, field 9 of its stat):
/// a pid-namespace init stays there until every other process of its namespace is reaped.
pub(crate) fn is_exiting(pid: i32) -> bool {
    const PF_EXITING: u64 = 0x4;
    let Ok(text) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    let Some(close) = text.rfind(')') else {
        return false;
    };
    // After the command: state, ppid, pgrp, session, tty_nr, tpgid, flags.
    text[close + 1..]
        .split_ascii_whitespace()
        .nth(6)
        .and_then(|f| f.parse::<u64>().ok())
        .is_some_and(|flags| flags & PF_EXITING != 0)
}

/// The stat of `pid`, or `None` if it does not exist (any more).
pub(crate) fn stat(pid: i32) -> Option<Stat> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&text)
}

/// The command line of `pid` (argv); empty for a zombie, a kernel thread, or a process that is
/// gone.
pub(crate) fn cmdline(pid: i32) -> Vec<String> {
    match fs::read(format!("/proc/{pid}/cmdline")) {
        Ok(bytes) => bytes
            .split(|b| *b == 0)
            .filter(|s| !s.is_empty())
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// The text of `/proc/<pid>/cgroup` (every hierarchy's path), or `None` if it is gone. On
/// cgroup v1 a zombie's reads `/` everywhere, so this only tells about live processes.
pub(crate) fn cgroup(pid: i32) -> Option<String> {
    fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()
}

/// Every process whose stat could be read, in `/proc` order.
pub(crate) fn all_processes() -> Vec<Stat> {
    let Ok(dir) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(stat)
        .collect()
}

/// The children of `parent` (of any of its threads).
pub(crate) fn children_of(parent: i32) -> Vec<Stat> {
    all_processes()
        .into_iter()
        .filter(|s| s.ppid == parent)
        .collect()
}

/// The pids of this process's children (those of every thread), from
/// `/proc/self/task/<tid>/children`; `None` where the kernel lacks those files. Cheap (one
/// small read per thread), unlike [`children_of`], which reads every process's stat.
pub(crate) fn own_children() -> Option<std::collections::BTreeSet<i32>> {
    let mut out = std::collections::BTreeSet::new();
    for task in fs::read_dir("/proc/self/task").ok()?.flatten() {
        let text = fs::read_to_string(task.path().join("children")).ok()?;
        out.extend(
            text.split_ascii_whitespace()
                .filter_map(|p| p.parse::<i32>().ok()),
        );
    }
    Some(out)
}

/// The number of open file descriptors of this process.
pub fn open_fd_count() -> usize {
    fs::read_dir("/proc/self/fd")
        .map(|d| d.count())
        .unwrap_or(0)
}

/// The number of threads of this process.
pub fn thread_count() -> usize {
    fs::read_dir("/proc/self/task")
        .map(|d| d.count())
        .unwrap_or(0)
}

/// The number of zombie children of this process (exited, not yet reaped).
pub fn zombie_children() -> usize {
    children_of(std::process::id() as i32)
        .iter()
        .filter(|s| s.is_zombie())
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_with_spaces_and_parens() {
        let s =
            parse_stat("123 (a b) c)) Z 1 77 88 0 -1 4194560 1 2 3 4 5 6 7 8 20 0 1 0 4242 0 0")
                .unwrap();
        assert_eq!(
            s,
            Stat {
                pid: 123,
                state: 'Z',
                ppid: 1,
                pgrp: 77,
                session: 88,
                start: 4242,
            }
        );
        assert!(s.is_zombie());
        assert_eq!(parse_stat("garbage"), None);
        assert_eq!(parse_stat("1 (x) R"), None);
        assert_eq!(parse_stat("1 (x) R 1 1 1 0 -1 0"), None);
    }

    #[test]
    fn reads_own_process() {
        let me = std::process::id() as i32;
        let s = stat(me).unwrap();
        assert_eq!(s.pid, me);
        assert!(!s.is_zombie());
        assert!(!cmdline(me).is_empty());
        assert!(open_fd_count() >= 3);
        assert!(thread_count() >= 1);
    }
}
