//! The resumable interpreter of the `sh -c` subset.
//!
//! A simulated shell is a state machine the scheduler advances one step at a time: each
//! [`Shell::step`] runs at most one command (a builtin in the shell's own process, or the fork
//! of a child), so that the scheduler can interleave processes at every command boundary. The
//! interpreter talks to the simulated kernel only through [`ShellEnv`].
//!
//! It follows busybox ash where the difference is visible from outside:
//! - the last command of a script, when it is a program (`sleep`, `cat`, `head`) and no trap
//!   was ever set, is `exec`ed: the shell process becomes that program (same pid, new argv);
//! - other programs are forked and waited for (the wait reaps any exited child, as
//!   `waitpid(-1)` does); a trapped signal that arrives meanwhile runs after the child ends;
//! - `wait` is interrupted at once by a trapped signal (status 128+signal);
//! - background jobs are forked subshells whose traps are reset (ignored signals stay ignored).

use super::parse::{Command, Connector, Item, Part, Redirect, Script, Word};
use runtime_api::{ExitStatus, Signal};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

/// An output stream of a process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Standard output.
    Out,
    /// Standard error.
    Err,
}

/// A program the shell runs outside itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Utility {
    /// `sleep`: exits 0 after this many virtual nanoseconds.
    Sleep {
        /// Duration in nanoseconds.
        ns: u64,
    },
    /// `cat`: copies standard input to standard output until end-of-file.
    Cat,
    /// `head -c N /dev/zero`: writes N zero bytes.
    HeadZero {
        /// Bytes to write.
        bytes: u64,
    },
}

/// A fork that the kernel refused (the spawn-failure fault).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ForkFailed;

/// What a signal does to a shell.
#[derive(Debug, Clone, PartialEq)]
pub enum Disposition {
    /// The default action.
    Default,
    /// Ignored (`trap '' SIG`).
    Ignore,
    /// Runs this action (`trap 'cmd' SIG`).
    Handler(Arc<Script>),
}

/// The kernel services a shell uses.
pub trait ShellEnv {
    /// The shell's pid in its own pid namespace (`$$`).
    fn own_pid(&self) -> i32;
    /// Writes to one of the shell's output streams.
    fn write(&mut self, stream: Stream, bytes: &[u8]);
    /// Forks a background child running `script`, inheriting `ignored` signal dispositions.
    /// Returns the child's pid in the shell's namespace and its global pid.
    fn fork_script(
        &mut self,
        script: Arc<Script>,
        ignored: BTreeSet<i32>,
        redirect: Redirect,
    ) -> Result<(i32, i32), ForkFailed>;
    /// Forks a child running `utility` (for a foreground command). Returns its global pid.
    fn fork_utility(
        &mut self,
        utility: Utility,
        argv: Vec<String>,
        redirect: Redirect,
    ) -> Result<i32, ForkFailed>;
    /// Sends `signal` to the process with pid `pid` in the shell's namespace.
    fn kill(&mut self, pid: i32, signal: Signal) -> Result<(), String>;
    /// Reaps every exited child; returns their global pids and statuses.
    fn reap_children(&mut self) -> Vec<(i32, ExitStatus)>;
    /// Whether the shell has a child that has not been reaped.
    fn has_children(&self) -> bool;
    /// Records an interpreter decision in the trace.
    fn note(&mut self, what: &str);
}

/// The result of one step.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Something was done; the shell may continue.
    Ran,
    /// Nothing to do until a child exits or a signal arrives.
    Blocked,
    /// Replace the process with this program (exec of the last command).
    Exec(Utility, Vec<String>, Redirect),
    /// The shell exits with this status.
    Exit(i32),
}

#[derive(Debug, Clone, PartialEq)]
enum FrameKind {
    Main,
    Trap { saved_status: i32 },
    ExitTrap { status: i32 },
}

#[derive(Debug, Clone)]
struct Frame {
    script: Arc<Script>,
    item: usize,
    cmd: usize,
    kind: FrameKind,
}

#[derive(Debug, Clone, PartialEq)]
enum Waiting {
    Ready,
    /// A foreground child (global pid).
    Foreground(i32),
    /// The `wait` builtin: for all children (`None`) or for these jobs (global pids).
    Jobs(Option<Vec<i32>>),
}

/// A simulated shell's state.
#[derive(Debug, Clone)]
pub struct Shell {
    frames: Vec<Frame>,
    status: i32,
    last_background: Option<i32>,
    /// Background jobs in order: (pid in namespace, global pid).
    jobs: Vec<(i32, i32)>,
    /// Statuses of reaped children, by global pid.
    reaped: BTreeMap<i32, ExitStatus>,
    traps: BTreeMap<i32, Disposition>,
    traps_ever_set: bool,
    pending: VecDeque<i32>,
    waiting: Waiting,
    exit_trap_ran: bool,
}

const FORK_FAILED_MSG: &[u8] = b"sh: can't fork: Resource temporarily unavailable\n";

impl Shell {
    /// A shell about to run `script`, with these signals ignored (inherited from its parent).
    pub fn new(script: Arc<Script>, ignored: BTreeSet<i32>) -> Shell {
        let traps: BTreeMap<i32, Disposition> = ignored
            .into_iter()
            .map(|s| (s, Disposition::Ignore))
            .collect();
        Shell {
            frames: vec![Frame {
                script,
                item: 0,
                cmd: 0,
                kind: FrameKind::Main,
            }],
            status: 0,
            last_background: None,
            jobs: Vec::new(),
            reaped: BTreeMap::new(),
            traps_ever_set: !traps.is_empty(),
            traps,
            pending: VecDeque::new(),
            waiting: Waiting::Ready,
            exit_trap_ran: false,
        }
    }

    /// What `signal` does to this shell.
    pub fn disposition(&self, signal: i32) -> Disposition {
        self.traps
            .get(&signal)
            .cloned()
            .unwrap_or(Disposition::Default)
    }

    /// Queues a trapped signal; its action runs at the shell's next command boundary (at once
    /// if the shell is in `wait`).
    pub fn queue_trapped(&mut self, signal: i32) {
        self.pending.push_back(signal);
    }

    /// Whether the shell would do something if stepped now, given whether it has an exited
    /// child to reap.
    pub fn wants_step(&self, has_zombie_child: bool, has_children: bool) -> bool {
        match &self.waiting {
            Waiting::Ready => true,
            Waiting::Foreground(_) => has_zombie_child,
            Waiting::Jobs(_) => has_zombie_child || !self.pending.is_empty() || !has_children,
        }
    }

    /// Whether the shell is waiting for a foreground child.
    pub fn in_foreground_wait(&self) -> bool {
        matches!(self.waiting, Waiting::Foreground(_))
    }

    /// Advances the shell by one step.
    pub fn step(&mut self, env: &mut dyn ShellEnv) -> Outcome {
        // Reap, as waitpid(-1) does while the shell waits or between commands.
        let reaped = env.reap_children();
        let progressed = !reaped.is_empty();
        for (gpid, st) in reaped {
            self.reaped.insert(gpid, st);
        }
        match self.waiting.clone() {
            Waiting::Ready => {}
            Waiting::Foreground(child) => match self.reaped.get(&child) {
                Some(st) => {
                    let code = st.code();
                    self.waiting = Waiting::Ready;
                    self.complete(code);
                    return Outcome::Ran;
                }
                None => {
                    return if progressed {
                        Outcome::Ran
                    } else {
                        Outcome::Blocked
                    }
                }
            },
            Waiting::Jobs(targets) => {
                if let Some(sig) = self.pending.front().copied() {
                    // A trapped signal interrupts `wait`.
                    self.waiting = Waiting::Ready;
                    self.complete(128 + sig);
                } else {
                    let done = match &targets {
                        None => !env.has_children(),
                        Some(t) => t.iter().all(|g| self.reaped.contains_key(g)),
                    };
                    if done {
                        let code = match &targets {
                            Some(t) => t
                                .last()
                                .and_then(|g| self.reaped.get(g))
                                .map(|s| s.code())
                                .unwrap_or(127),
                            None => 0,
                        };
                        self.waiting = Waiting::Ready;
                        self.complete(code);
                        return Outcome::Ran;
                    }
                    return if progressed {
                        Outcome::Ran
                    } else {
                        Outcome::Blocked
                    };
                }
            }
        }
        if let Some(sig) = self.pending.pop_front() {
            if let Disposition::Handler(action) = self.disposition(sig) {
                env.note(&format!("trap {} runs", signal_name(sig)));
                self.frames.push(Frame {
                    script: action,
                    item: 0,
                    cmd: 0,
                    kind: FrameKind::Trap {
                        saved_status: self.status,
                    },
                });
                return Outcome::Ran;
            }
        }
        self.run_next(env)
    }

    fn current(&self) -> Option<(&Item, usize)> {
        let f = self.frames.last()?;
        f.script.items.get(f.item).map(|it| (it, f.cmd))
    }

    /// Records the status of the command at the cursor and moves the cursor, following
    /// `&&`/`||`.
    fn complete(&mut self, status: i32) {
        self.status = status;
        let Some(frame) = self.frames.last_mut() else {
            return;
        };
        let Some(item) = frame.script.items.get(frame.item) else {
            return;
        };
        let and_or = &item.and_or;
        let mut next = frame.cmd + 1;
        while next < and_or.len() {
            let run = match and_or.rest[next - 1].0 {
                Connector::And => status == 0,
                Connector::Or => status != 0,
            };
            if run {
                break;
            }
            next += 1;
        }
        if next < and_or.len() {
            frame.cmd = next;
        } else {
            frame.item += 1;
            frame.cmd = 0;
        }
    }

    fn begin_exit(&mut self, status: i32, env: &mut dyn ShellEnv) -> Outcome {
        if !self.exit_trap_ran {
            if let Some(Disposition::Handler(action)) = self.traps.get(&0).cloned() {
                self.exit_trap_ran = true;
                env.note("trap EXIT runs");
                self.frames.clear();
                self.frames.push(Frame {
                    script: action,
                    item: 0,
                    cmd: 0,
                    kind: FrameKind::ExitTrap { status },
                });
                return Outcome::Ran;
            }
        }
        Outcome::Exit(status)
    }

    fn run_next(&mut self, env: &mut dyn ShellEnv) -> Outcome {
        let Some((item, cmd_index)) = self.current() else {
            // The frame is finished.
            let frame = self.frames.pop().expect("a frame");
            return match frame.kind {
                FrameKind::Main => self.begin_exit(self.status, env),
                FrameKind::Trap { saved_status } => {
                    self.status = saved_status;
                    Outcome::Ran
                }
                FrameKind::ExitTrap { status } => Outcome::Exit(status),
            };
        };
        let item = item.clone();
        let command = item.and_or.command(cmd_index).clone();
        if item.background {
            let script = Arc::new(Script {
                items: vec![Item {
                    and_or: item.and_or.clone(),
                    background: false,
                }],
            });
            let ignored = self.ignored();
            return match env.fork_script(script, ignored, Redirect::None) {
                Ok((local, gpid)) => {
                    self.last_background = Some(local);
                    self.jobs.push((local, gpid));
                    let f = self.frames.last_mut().expect("a frame");
                    f.item += 1;
                    f.cmd = 0;
                    self.status = 0;
                    Outcome::Ran
                }
                Err(ForkFailed) => {
                    env.write(Stream::Err, FORK_FAILED_MSG);
                    Outcome::Exit(2)
                }
            };
        }
        let is_last = {
            let f = self.frames.last().expect("a frame");
            self.frames.len() == 1
                && f.kind == FrameKind::Main
                && f.item + 1 == f.script.items.len()
                && cmd_index + 1 == item.and_or.len()
        };
        self.run_command(&command, is_last, env)
    }

    fn ignored(&self) -> BTreeSet<i32> {
        self.traps
            .iter()
            .filter(|(_, d)| **d == Disposition::Ignore)
            .map(|(s, _)| *s)
            .collect()
    }

    fn expand(&self, w: &Word, env: &dyn ShellEnv) -> String {
        let mut s = String::new();
        for p in &w.parts {
            match p {
                Part::Lit(t) => s.push_str(t),
                Part::LastBackground => {
                    if let Some(pid) = self.last_background {
                        s.push_str(&pid.to_string());
                    }
                }
                Part::LastStatus => s.push_str(&self.status.to_string()),
                Part::ShellPid => s.push_str(&env.own_pid().to_string()),
            }
        }
        s
    }

    fn run_command(&mut self, cmd: &Command, is_last: bool, env: &mut dyn ShellEnv) -> Outcome {
        let args: Vec<String> = cmd.args.iter().map(|w| self.expand(w, env)).collect();
        let out = match cmd.redirect {
            Redirect::OutToErr => Stream::Err,
            _ => Stream::Out,
        };
        let err = match cmd.redirect {
            Redirect::ErrToOut => Stream::Out,
            _ => Stream::Err,
        };
        env.note(format!("{} {}", cmd.name, args.join(" ")).trim_end());
        let status = match cmd.name.as_str() {
            "true" | ":" => 0,
            "false" => 1,
            "echo" => {
                env.write(out, &echo(&args));
                0
            }
            "printf" => {
                let (bytes, ok) = printf(&args);
                env.write(out, &bytes);
                if ok {
                    0
                } else {
                    1
                }
            }
            "exit" => {
                let status = match args.first() {
                    None => self.status,
                    Some(a) => match a.parse::<i64>() {
                        Ok(n) => (n & 0xff) as i32,
                        Err(_) => {
                            env.write(err, format!("sh: exit: Illegal number: {a}\n").as_bytes());
                            2
                        }
                    },
                };
                return self.begin_exit(status, env);
            }
            "trap" => {
                let disposition = match &cmd.trap_action {
                    Some(action) => Disposition::Handler(action.clone()),
                    None if args[0].is_empty() => Disposition::Ignore,
                    None => Disposition::Default,
                };
                for name in &args[1..] {
                    if let Some(sig) = super::parse::parse_trap_signal(name) {
                        if disposition == Disposition::Default {
                            self.traps.remove(&sig);
                        } else {
                            self.traps.insert(sig, disposition.clone());
                            self.traps_ever_set = true;
                        }
                    }
                }
                0
            }
            "kill" => self.kill(&args, err, env),
            "wait" => {
                let targets = if args.is_empty() {
                    None
                } else {
                    let mut t = Vec::new();
                    for a in &args {
                        match self.resolve_job(a) {
                            Some(g) => t.push(g),
                            None => {
                                self.complete(127);
                                return Outcome::Ran;
                            }
                        }
                    }
                    Some(t)
                };
                self.waiting = Waiting::Jobs(targets);
                return Outcome::Ran;
            }
            "sleep" | "cat" | "head" => {
                let utility = match cmd.name.as_str() {
                    "sleep" => Utility::Sleep {
                        ns: args
                            .iter()
                            .map(|a| super::parse::parse_duration_ns(a).unwrap_or(0))
                            .fold(0u64, u64::saturating_add),
                    },
                    "cat" => Utility::Cat,
                    _ => Utility::HeadZero {
                        bytes: args[1].parse().unwrap_or(0),
                    },
                };
                let argv: Vec<String> = std::iter::once(cmd.name.clone()).chain(args).collect();
                if is_last && !self.traps_ever_set {
                    return Outcome::Exec(utility, argv, cmd.redirect);
                }
                return match env.fork_utility(utility, argv, cmd.redirect) {
                    Ok(gpid) => {
                        self.waiting = Waiting::Foreground(gpid);
                        Outcome::Ran
                    }
                    Err(ForkFailed) => {
                        env.write(Stream::Err, FORK_FAILED_MSG);
                        Outcome::Exit(2)
                    }
                };
            }
            other => unreachable!("the parser admits only the subset, not {other:?}"),
        };
        self.complete(status);
        Outcome::Ran
    }

    fn resolve_job(&self, spec: &str) -> Option<i32> {
        if let Some(n) = spec.strip_prefix('%') {
            let n: usize = n.parse().ok()?;
            return self.jobs.get(n.checked_sub(1)?).map(|(_, g)| *g);
        }
        let local: i32 = spec.parse().ok()?;
        self.jobs.iter().find(|(l, _)| *l == local).map(|(_, g)| *g)
    }

    fn kill(&mut self, args: &[String], err: Stream, env: &mut dyn ShellEnv) -> i32 {
        let mut signal = Signal::TERM;
        let mut i = 0;
        if let Some(first) = args.first() {
            if first == "-s" {
                signal = super::parse::parse_signal(&args[1]).unwrap_or(Signal::TERM);
                i = 2;
            } else if let Some(s) = first.strip_prefix('-') {
                if let Some(sig) = super::parse::parse_signal(s) {
                    signal = sig;
                    i = 1;
                }
            }
        }
        let mut status = 0;
        for target in &args[i..] {
            let pid = if let Some(n) = target.strip_prefix('%') {
                match n
                    .parse::<usize>()
                    .ok()
                    .and_then(|n| self.jobs.get(n.checked_sub(1)?))
                {
                    Some((local, _)) => *local,
                    None => {
                        env.write(err, format!("sh: kill: {target}: no such job\n").as_bytes());
                        status = 1;
                        continue;
                    }
                }
            } else {
                match target.parse::<i32>() {
                    Ok(p) => p,
                    Err(_) => {
                        env.write(
                            err,
                            format!("sh: kill: invalid number '{target}'\n").as_bytes(),
                        );
                        status = 1;
                        continue;
                    }
                }
            };
            if let Err(why) = env.kill(pid, signal) {
                env.write(err, format!("sh: can't kill pid {pid}: {why}\n").as_bytes());
                status = 1;
            }
        }
        status
    }
}

/// The name of a trap signal for the trace.
pub fn signal_name(sig: i32) -> String {
    if sig == 0 {
        "EXIT".to_string()
    } else {
        Signal(sig).to_string()
    }
}

fn echo(args: &[String]) -> Vec<u8> {
    let mut newline = true;
    let mut escapes = false;
    let mut i = 0;
    while let Some(a) = args.get(i) {
        if a.len() > 1 && a.starts_with('-') && a[1..].chars().all(|c| "neE".contains(c)) {
            for c in a[1..].chars() {
                match c {
                    'n' => newline = false,
                    'e' => escapes = true,
                    _ => escapes = false,
                }
            }
            i += 1;
        } else {
            break;
        }
    }
    let text = args[i..].join(" ");
    let mut out = if escapes {
        let (bytes, stop) = unescape(&text, true);
        if stop {
            return bytes;
        }
        bytes
    } else {
        text.into_bytes()
    };
    if newline {
        out.push(b'\n');
    }
    out
}

/// Backslash escapes of `printf` formats and `echo -e`. Returns the bytes and whether `\c`
/// (stop output) was seen.
fn unescape(s: &str, allow_c: bool) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' || i + 1 == bytes.len() {
            out.push(bytes[i]);
            i += 1;
            continue;
        }
        i += 1;
        match bytes[i] {
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'r' => out.push(b'\r'),
            b'a' => out.push(7),
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'v' => out.push(11),
            b'e' => out.push(27),
            b'\\' => out.push(b'\\'),
            b'c' if allow_c => return (out, true),
            b'0'..=b'7' => {
                let start = if bytes[i] == b'0' { i + 1 } else { i };
                let mut v: u32 = 0;
                let mut j = start;
                while j < bytes.len() && j < start + 3 && (b'0'..=b'7').contains(&bytes[j]) {
                    v = v * 8 + u32::from(bytes[j] - b'0');
                    j += 1;
                }
                out.push(v as u8);
                i = j;
                continue;
            }
            other => {
                out.push(b'\\');
                out.push(other);
            }
        }
        i += 1;
    }
    (out, false)
}

/// busybox-compatible `printf` for `%s %d %i %u %x %c %%` and backslash escapes; the format is
/// reused while arguments remain. Returns the bytes and whether every number was valid.
fn printf(args: &[String]) -> (Vec<u8>, bool) {
    let format = &args[0];
    let mut rest = args[1..].iter();
    let mut out = Vec::new();
    let mut ok = true;
    loop {
        let mut consumed = false;
        let chars: Vec<char> = format.chars().collect();
        let mut i = 0;
        let mut literal = String::new();
        while i < chars.len() {
            if chars[i] != '%' {
                literal.push(chars[i]);
                i += 1;
                continue;
            }
            out.extend(unescape(&literal, false).0);
            literal.clear();
            // %[flags][width]conv
            let mut j = i + 1;
            let mut spec = String::new();
            while j < chars.len() && "-+ #0123456789".contains(chars[j]) {
                spec.push(chars[j]);
                j += 1;
            }
            let Some(&conv) = chars.get(j) else {
                out.push(b'%');
                out.extend(spec.bytes());
                break;
            };
            let left = spec.starts_with('-');
            let zero = spec.starts_with('0');
            let width: usize = spec
                .trim_start_matches(['-', '+', ' ', '#', '0'])
                .parse()
                .unwrap_or(0);
            let pad = |s: String, numeric: bool| -> String {
                if s.len() >= width {
                    s
                } else if left {
                    format!("{s:<width$}")
                } else if zero && numeric {
                    format!("{s:0>width$}")
                } else {
                    format!("{s:>width$}")
                }
            };
            match conv {
                '%' => out.push(b'%'),
                's' | 'b' => {
                    let a = rest.next().cloned().unwrap_or_default();
                    consumed = true;
                    let a = if conv == 'b' {
                        String::from_utf8_lossy(&unescape(&a, false).0).into_owned()
                    } else {
                        a
                    };
                    out.extend(pad(a, false).bytes());
                }
                'c' => {
                    let a = rest.next().cloned().unwrap_or_default();
                    consumed = true;
                    out.extend(
                        a.chars()
                            .next()
                            .map(String::from)
                            .unwrap_or_default()
                            .bytes(),
                    );
                }
                'd' | 'i' | 'u' | 'x' | 'X' | 'o' => {
                    let a = rest.next().cloned().unwrap_or_default();
                    consumed = true;
                    let n: i64 = if a.is_empty() {
                        0
                    } else {
                        match a.trim().parse() {
                            Ok(n) => n,
                            Err(_) => {
                                ok = false;
                                0
                            }
                        }
                    };
                    let s = match conv {
                        'x' => format!("{n:x}"),
                        'X' => format!("{n:X}"),
                        'o' => format!("{n:o}"),
                        _ => n.to_string(),
                    };
                    out.extend(pad(s, true).bytes());
                }
                other => {
                    out.push(b'%');
                    out.extend(spec.bytes());
                    out.extend(other.to_string().bytes());
                }
            }
            i = j + 1;
        }
        out.extend(unescape(&literal, false).0);
        if !consumed || rest.len() == 0 {
            break;
        }
    }
    (out, ok)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shell::parse::parse_script;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn echo_flags() {
        assert_eq!(echo(&s(&["a", "b"])), b"a b\n");
        assert_eq!(echo(&s(&["-n", "a"])), b"a");
        assert_eq!(echo(&s(&["-e", "a\\tb"])), b"a\tb\n");
        assert_eq!(echo(&s(&["-x"])), b"-x\n");
        assert_eq!(echo(&s(&[])), b"\n");
    }

    #[test]
    fn printf_formats() {
        assert_eq!(printf(&s(&["%s-%d\\n", "a", "7"])).0, b"a-7\n");
        assert_eq!(printf(&s(&["%s\\n", "a", "b"])).0, b"a\nb\n");
        assert_eq!(printf(&s(&["100%%"])).0, b"100%");
        assert_eq!(printf(&s(&["%05d|%-3s|", "42", "x"])).0, b"00042|x  |");
        assert!(!printf(&s(&["%d", "x"])).1);
        assert_eq!(printf(&s(&["\\101\\0102"])).0, b"AB");
    }

    /// A scripted environment: records writes, forks instantly, children never exit.
    #[derive(Default)]
    struct Fake {
        out: Vec<u8>,
        err: Vec<u8>,
        next: i32,
        killed: Vec<(i32, Signal)>,
        zombies: Vec<(i32, ExitStatus)>,
        children: usize,
    }

    impl ShellEnv for Fake {
        fn own_pid(&self) -> i32 {
            1
        }
        fn write(&mut self, stream: Stream, bytes: &[u8]) {
            match stream {
                Stream::Out => self.out.extend_from_slice(bytes),
                Stream::Err => self.err.extend_from_slice(bytes),
            }
        }
        fn fork_script(
            &mut self,
            _: Arc<Script>,
            _: BTreeSet<i32>,
            _: Redirect,
        ) -> Result<(i32, i32), ForkFailed> {
            self.next += 1;
            self.children += 1;
            Ok((self.next + 1, self.next + 100))
        }
        fn fork_utility(
            &mut self,
            _: Utility,
            _: Vec<String>,
            _: Redirect,
        ) -> Result<i32, ForkFailed> {
            self.next += 1;
            self.children += 1;
            Ok(self.next + 100)
        }
        fn kill(&mut self, pid: i32, signal: Signal) -> Result<(), String> {
            if pid == 999 {
                return Err("No such process".into());
            }
            self.killed.push((pid, signal));
            Ok(())
        }
        fn reap_children(&mut self) -> Vec<(i32, ExitStatus)> {
            self.children -= self.zombies.len();
            std::mem::take(&mut self.zombies)
        }
        fn has_children(&self) -> bool {
            self.children > 0
        }
        fn note(&mut self, _: &str) {}
    }

    fn run(src: &str, env: &mut Fake) -> Outcome {
        let mut sh = Shell::new(Arc::new(parse_script(src).unwrap()), BTreeSet::new());
        for _ in 0..100 {
            match sh.step(env) {
                Outcome::Ran => {}
                other => return other,
            }
        }
        panic!("did not finish");
    }

    #[test]
    fn and_or_and_status() {
        let mut f = Fake::default();
        assert_eq!(
            run("false && echo no || echo yes; echo $?; exit 4", &mut f),
            Outcome::Exit(4)
        );
        assert_eq!(f.out, b"yes\n0\n");
        let mut f = Fake::default();
        assert_eq!(run("true || echo no && echo yes", &mut f), Outcome::Exit(0));
        assert_eq!(f.out, b"yes\n");
    }

    #[test]
    fn last_program_is_execed_unless_trapped() {
        let mut f = Fake::default();
        assert!(matches!(
            run("echo a; sleep 5", &mut f),
            Outcome::Exec(Utility::Sleep { ns: 5_000_000_000 }, _, _)
        ));
        let mut f = Fake::default();
        assert_eq!(run("trap 'exit 1' TERM; sleep 5", &mut f), Outcome::Blocked);
    }

    #[test]
    fn background_jobs_and_kill() {
        let mut f = Fake::default();
        assert_eq!(
            run("sleep 9 & kill -9 $! %1; kill 999; echo $?", &mut f),
            Outcome::Exit(0)
        );
        assert_eq!(f.killed, vec![(2, Signal::KILL), (2, Signal::KILL)]);
        assert_eq!(f.err, b"sh: can't kill pid 999: No such process\n");
        assert_eq!(f.out, b"1\n");
    }

    #[test]
    fn exit_trap_runs_on_exit() {
        let mut f = Fake::default();
        assert_eq!(
            run("trap 'echo bye' EXIT; exit 3", &mut f),
            Outcome::Exit(3)
        );
        assert_eq!(f.out, b"bye\n");
    }

    #[test]
    fn trapped_signal_interrupts_wait() {
        let mut f = Fake::default();
        let mut sh = Shell::new(
            Arc::new(parse_script("trap 'echo got; exit 7' TERM; sleep 100 & wait").unwrap()),
            BTreeSet::new(),
        );
        for _ in 0..3 {
            assert_eq!(sh.step(&mut f), Outcome::Ran);
        }
        assert_eq!(sh.step(&mut f), Outcome::Blocked);
        assert!(matches!(sh.disposition(15), Disposition::Handler(_)));
        sh.queue_trapped(15);
        assert!(sh.wants_step(false, true));
        let mut last = Outcome::Ran;
        for _ in 0..10 {
            last = sh.step(&mut f);
            if last != Outcome::Ran {
                break;
            }
        }
        assert_eq!(last, Outcome::Exit(7));
        assert_eq!(f.out, b"got\n");
    }
}
