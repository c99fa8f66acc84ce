//! The resumable interpreter of the `sh -c` subset.
//!
//! A simulated shell is a state machine the scheduler advances one step at a time: each
//! [`Shell::step`] does one thing (runs a builtin in the shell's own process, forks a child,
//! enters or leaves a compound command), so that the scheduler can interleave processes at
//! every command boundary. The interpreter talks to the simulated kernel only through
//! [`ShellEnv`].
//!
//! It follows busybox ash (Debian's 1.35, checked on runc) where the difference is visible
//! from outside:
//! - `echo`, `printf`, `read`, `test`/`[`, `true`, `false`, `:`, `exit`, `kill`, `trap`,
//!   `wait`, `break`, `continue`, `exec` and assignments are builtins: no process; `sleep`,
//!   `cat` and `head` are programs: forked and waited for (the wait reaps any exited child,
//!   as `waitpid(-1)` does);
//! - the last thing a shell does, when it is a program and no trap handler was ever set
//!   (`trap '' SIG` does not count), is `exec`ed: the shell process becomes that program
//!   (same pid, new argv). "Last" follows ash's `EV_EXIT`: the last item of the script, the
//!   right side of `&&`/`||`, the branches of `if` and `case`, the body of `{ }` and `( )`,
//!   never inside `while`/`until`/`for` nor a pipeline's parent;
//! - `( list )` forks a child shell, except as the last thing (then it runs in place);
//! - a pipeline forks every command as a child shell (which execs its program) and waits
//!   for all of them; its status is the last one's;
//! - `cmd &` forks a child shell whose traps are reset (ignored signals stay ignored);
//! - a trapped signal that arrives during a foreground child runs after the child ends;
//!   `wait` is interrupted at once (status 128+signal).

use super::parse::{
    CommandKind, Connector, ForNode, IfNode, Item, List, LoopNode, Part, Pipeline, RedirOp, Script,
    Simple, Word,
};
use runtime_api::{ExitStatus, Signal};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

/// An output stream of a process (fd 1 or fd 2 of its current fd table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Standard output.
    Out,
    /// Standard error.
    Err,
}

/// How many lines or bytes `head` copies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeadCount {
    /// `-n N` (default 10).
    Lines(u64),
    /// `-c N`.
    Bytes(u64),
}

/// A program the shell runs outside itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Utility {
    /// `sleep`: exits 0 after this many virtual nanoseconds.
    Sleep {
        /// Duration in nanoseconds.
        ns: u64,
    },
    /// `cat [FILE...]`: copies the files (`-` or none: standard input) to standard output.
    Cat {
        /// The operands (empty: standard input).
        files: Vec<String>,
    },
    /// `head [-n N | -c N] [FILE]`.
    Head {
        /// How much.
        count: HeadCount,
        /// The file (`None` or `-`: standard input).
        file: Option<String>,
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

/// A redirection with its target expanded, for [`ShellEnv::push_redirs`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    /// `fd> path` (`append`: `>>`).
    Out {
        /// The fd.
        fd: i32,
        /// The path.
        path: String,
        /// `>>`.
        append: bool,
    },
    /// `fd< path`.
    In {
        /// The fd.
        fd: i32,
        /// The path.
        path: String,
    },
    /// `fd>&from`.
    Dup {
        /// The fd.
        fd: i32,
        /// The fd copied.
        from: i32,
    },
}

/// What reading a line from standard input gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineRead {
    /// A whole line, without its newline.
    Line(Vec<u8>),
    /// End-of-file, after these bytes (possibly none).
    Eof(Vec<u8>),
    /// Nothing available yet.
    WouldBlock,
}

/// The kernel services a shell uses.
pub trait ShellEnv {
    /// The shell's pid in its own pid namespace (`$$`).
    fn own_pid(&self) -> i32;
    /// Writes to one of the shell's output streams.
    fn write(&mut self, stream: Stream, bytes: &[u8]);
    /// Forks a child running `shell` (a subshell or a background job). Returns the child's
    /// pid in the shell's namespace and its global pid.
    fn fork_shell(&mut self, shell: Shell) -> Result<(i32, i32), ForkFailed>;
    /// Forks one child shell per element of a pipeline, connected by pipes. Returns their
    /// pids in the shell's namespace and global pids, in order.
    fn fork_pipeline(&mut self, shells: Vec<Shell>) -> Result<Vec<(i32, i32)>, ForkFailed>;
    /// Forks a child running `utility` (a foreground program). Returns its global pid.
    fn fork_utility(&mut self, utility: Utility, argv: Vec<String>) -> Result<i32, ForkFailed>;
    /// Sends `signal` to the process with pid `pid` in the shell's namespace.
    fn kill(&mut self, pid: i32, signal: Signal) -> Result<(), String>;
    /// Reaps every exited child; returns their global pids and statuses.
    fn reap_children(&mut self) -> Vec<(i32, ExitStatus)>;
    /// Whether the shell has a child that has not been reaped.
    fn has_children(&self) -> bool;
    /// Records an interpreter decision in the trace.
    fn note(&mut self, what: &str);
    /// Saves the current fd table and applies `redirs` in order; `permanent` (for `exec`
    /// without a command) drops the saved table instead. On failure nothing changes and the
    /// error is the shell's message (`can't create /x/y: nonexistent directory`).
    fn push_redirs(&mut self, redirs: &[Resolved], permanent: bool) -> Result<(), String>;
    /// Restores the fd table saved by the matching [`ShellEnv::push_redirs`].
    fn pop_redirs(&mut self);
    /// Reads one line from standard input (as ash's `read` does, never more than the line).
    fn read_line(&mut self) -> LineRead;
    /// `test`'s file operators: `-e`, `-f`, `-d`, `-s` on `path` in the container.
    fn file_test(&self, op: &str, path: &str) -> bool;
}

/// The result of one step.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Something was done; the shell may continue.
    Ran,
    /// Nothing to do until a child exits, input arrives or a signal comes.
    Blocked,
    /// Replace the process with this program (exec of the last command).
    Exec(Utility, Vec<String>),
    /// The shell exits with this status.
    Exit(i32),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LoopState {
    Start,
    Cond,
    Body,
}

#[derive(Debug, Clone)]
enum Frame {
    /// The script itself: when it is on top, the shell exits.
    Main,
    List {
        list: Arc<List>,
        next: usize,
        exit: bool,
    },
    AndOr {
        list: Arc<List>,
        item: usize,
        pos: usize,
        ran: bool,
        exit: bool,
    },
    /// `!`: negates the status of what ran above it.
    Bang,
    /// Restores the fd table when what ran above it is done.
    Restore,
    If {
        node: Arc<IfNode>,
        branch: usize,
        cond_ran: bool,
        exit: bool,
    },
    Loop {
        node: Arc<LoopNode>,
        state: LoopState,
        body_status: i32,
    },
    For {
        node: Arc<ForNode>,
        words: Vec<String>,
        next: usize,
    },
    Trap {
        saved_status: i32,
    },
    ExitTrap {
        status: i32,
    },
}

#[derive(Debug, Clone, PartialEq)]
enum Waiting {
    Ready,
    /// Foreground children (global pids); the status is the last one's.
    Foreground(Vec<i32>),
    /// The `wait` builtin: for all children (`None`) or for these jobs (global pids).
    Jobs(Option<Vec<i32>>),
    /// `read [-r] NAME...` waiting for input.
    Read {
        names: Vec<String>,
        raw: bool,
    },
}

/// A simulated shell's state.
#[derive(Debug, Clone)]
pub struct Shell {
    frames: Vec<Frame>,
    status: i32,
    vars: BTreeMap<String, String>,
    last_background: Option<i32>,
    /// Background jobs in order: (pid in namespace, global pid).
    jobs: Vec<(i32, i32)>,
    /// Statuses of reaped children, by global pid.
    reaped: BTreeMap<i32, ExitStatus>,
    traps: BTreeMap<i32, Disposition>,
    /// A trap handler was set at some point (ash's `may_have_traps`): no exec of the last
    /// command, no in-place subshell.
    handler_ever_set: bool,
    pending: VecDeque<i32>,
    waiting: Waiting,
    exit_trap_ran: bool,
    /// A line `read` took before a backslash-newline, waiting for its continuation.
    read_partial: Vec<u8>,
}

const FORK_FAILED_MSG: &[u8] = b"sh: can't fork: Resource temporarily unavailable\n";

fn one_item_list(item: &Item) -> Arc<List> {
    Arc::new(Script {
        items: vec![Item {
            and_or: item.and_or.clone(),
            background: false,
        }],
    })
}

fn pipeline_list(p: &Pipeline) -> Arc<List> {
    Arc::new(Script {
        items: vec![Item {
            and_or: super::parse::AndOr {
                first: p.clone(),
                rest: Vec::new(),
            },
            background: false,
        }],
    })
}

impl Shell {
    /// A shell about to run `script`, with these signals ignored (inherited from its parent).
    pub fn new(script: Arc<Script>, ignored: BTreeSet<i32>) -> Shell {
        let traps: BTreeMap<i32, Disposition> = ignored
            .into_iter()
            .map(|s| (s, Disposition::Ignore))
            .collect();
        Shell {
            frames: vec![
                Frame::Main,
                Frame::List {
                    list: script,
                    next: 0,
                    exit: true,
                },
            ],
            status: 0,
            vars: BTreeMap::new(),
            last_background: None,
            jobs: Vec::new(),
            reaped: BTreeMap::new(),
            handler_ever_set: false,
            traps,
            pending: VecDeque::new(),
            waiting: Waiting::Ready,
            exit_trap_ran: false,
            read_partial: Vec::new(),
        }
    }

    /// A forked child shell running `list`: variables, `$?`, `$!` and ignored signals are
    /// inherited; trap handlers and jobs are not.
    fn child(&self, list: Arc<List>) -> Shell {
        let mut c = Shell::new(list, self.ignored());
        c.vars = self.vars.clone();
        c.status = self.status;
        c.last_background = self.last_background;
        c
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

    /// Whether the shell waits for standard input (`read`).
    pub fn wants_input(&self) -> bool {
        matches!(self.waiting, Waiting::Read { .. })
    }

    /// Whether the shell would do something if stepped now, given whether it has an exited
    /// child to reap, whether it has children, and whether its standard input has something
    /// to read (data or end-of-file).
    ///
    /// Each fact is asked for only when the shell's state needs it: the scheduler asks this of
    /// every shell at every step, and the first two scan the process table.
    pub fn wants_step(
        &self,
        has_zombie_child: impl FnOnce() -> bool,
        has_children: impl FnOnce() -> bool,
        input: impl FnOnce() -> bool,
    ) -> bool {
        match &self.waiting {
            Waiting::Ready => true,
            Waiting::Foreground(_) => has_zombie_child(),
            Waiting::Jobs(_) => has_zombie_child() || !self.pending.is_empty() || !has_children(),
            Waiting::Read { .. } => input() || has_zombie_child(),
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
            Waiting::Foreground(children) => {
                if children.iter().all(|c| self.reaped.contains_key(c)) {
                    let last = children.last().copied().unwrap_or(0);
                    let code = self.reaped.get(&last).map(|s| s.code()).unwrap_or(0);
                    self.waiting = Waiting::Ready;
                    self.status = code;
                    return Outcome::Ran;
                }
                return if progressed {
                    Outcome::Ran
                } else {
                    Outcome::Blocked
                };
            }
            Waiting::Jobs(targets) => {
                if let Some(sig) = self.pending.front().copied() {
                    // A trapped signal interrupts `wait`.
                    self.waiting = Waiting::Ready;
                    self.status = 128 + sig;
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
                        self.status = code;
                        return Outcome::Ran;
                    }
                    return if progressed {
                        Outcome::Ran
                    } else {
                        Outcome::Blocked
                    };
                }
            }
            Waiting::Read { names, raw } => {
                return match self.try_read(&names, raw, env) {
                    Some(status) => {
                        self.waiting = Waiting::Ready;
                        self.status = status;
                        Outcome::Ran
                    }
                    None if progressed => Outcome::Ran,
                    None => Outcome::Blocked,
                };
            }
        }
        if let Some(sig) = self.pending.pop_front() {
            if let Disposition::Handler(action) = self.disposition(sig) {
                // The command that was running has ended: its redirections are undone before
                // the handler runs (ash pops them in `evalcommand`, then runs traps), so
                // `trap 'echo caught' INT; head ... >&2` prints "caught" on stdout.
                while matches!(self.frames.last(), Some(Frame::Restore)) {
                    self.frames.pop();
                    env.pop_redirs();
                }
                env.note(&format!("trap {} runs", signal_name(sig)));
                self.frames.push(Frame::Trap {
                    saved_status: self.status,
                });
                self.frames.push(Frame::List {
                    list: action,
                    next: 0,
                    exit: false,
                });
                return Outcome::Ran;
            }
        }
        self.advance(env)
    }

    fn begin_exit(&mut self, status: i32, env: &mut dyn ShellEnv) -> Outcome {
        if !self.exit_trap_ran {
            if let Some(Disposition::Handler(action)) = self.traps.get(&0).cloned() {
                self.exit_trap_ran = true;
                env.note("trap EXIT runs");
                self.frames.clear();
                self.frames.push(Frame::ExitTrap { status });
                self.frames.push(Frame::List {
                    list: action,
                    next: 0,
                    exit: false,
                });
                return Outcome::Ran;
            }
        }
        Outcome::Exit(status)
    }

    /// Runs the frame on top one step.
    fn advance(&mut self, env: &mut dyn ShellEnv) -> Outcome {
        let Some(top) = self.frames.pop() else {
            return Outcome::Exit(self.status);
        };
        match top {
            Frame::Main => self.begin_exit(self.status, env),
            Frame::ExitTrap { status } => Outcome::Exit(status),
            Frame::Trap { saved_status } => {
                self.status = saved_status;
                Outcome::Ran
            }
            Frame::Bang => {
                self.status = i32::from(self.status == 0);
                Outcome::Ran
            }
            Frame::Restore => {
                env.pop_redirs();
                Outcome::Ran
            }
            Frame::List { list, next, exit } => {
                let Some(item) = list.items.get(next) else {
                    return Outcome::Ran;
                };
                let last = next + 1 == list.items.len();
                self.frames.push(Frame::List {
                    list: list.clone(),
                    next: next + 1,
                    exit,
                });
                if item.background {
                    let p = &item.and_or.first;
                    if item.and_or.rest.is_empty() && p.cmds.len() > 1 && !p.bang {
                        // `a | b &`: ash forks the pipeline's commands itself, no subshell.
                        return match env.fork_pipeline(self.pipeline_shells(p)) {
                            Ok(children) => {
                                let (local, gpid) = children.last().copied().unwrap_or((0, 0));
                                self.last_background = Some(local);
                                self.jobs.push((local, gpid));
                                self.status = 0;
                                Outcome::Ran
                            }
                            Err(ForkFailed) => {
                                env.write(Stream::Err, FORK_FAILED_MSG);
                                Outcome::Exit(2)
                            }
                        };
                    }
                    let child = self.child(one_item_list(item));
                    return match env.fork_shell(child) {
                        Ok((local, gpid)) => {
                            self.last_background = Some(local);
                            self.jobs.push((local, gpid));
                            self.status = 0;
                            Outcome::Ran
                        }
                        Err(ForkFailed) => {
                            env.write(Stream::Err, FORK_FAILED_MSG);
                            Outcome::Exit(2)
                        }
                    };
                }
                if last {
                    // Tail position: the list frame is done.
                    self.frames.pop();
                }
                self.frames.push(Frame::AndOr {
                    list,
                    item: next,
                    pos: 0,
                    ran: false,
                    exit: exit && last,
                });
                Outcome::Ran
            }
            Frame::AndOr {
                list,
                item,
                pos,
                ran,
                exit,
            } => {
                let and_or = &list.items[item].and_or;
                if !ran {
                    let is_last = pos + 1 == and_or.len();
                    if !is_last {
                        self.frames.push(Frame::AndOr {
                            list: list.clone(),
                            item,
                            pos,
                            ran: true,
                            exit,
                        });
                    }
                    let p = and_or.pipeline(pos).clone();
                    return self.run_pipeline(&p, exit && is_last, env);
                }
                let mut next = pos + 1;
                while next < and_or.len() {
                    let run = match and_or.rest[next - 1].0 {
                        Connector::And => self.status == 0,
                        Connector::Or => self.status != 0,
                    };
                    if run {
                        break;
                    }
                    next += 1;
                }
                if next < and_or.len() {
                    self.frames.push(Frame::AndOr {
                        list,
                        item,
                        pos: next,
                        ran: false,
                        exit,
                    });
                }
                Outcome::Ran
            }
            Frame::If {
                node,
                branch,
                cond_ran,
                exit,
            } => {
                if !cond_ran {
                    let cond = node.branches[branch].0.clone();
                    self.frames.push(Frame::If {
                        node,
                        branch,
                        cond_ran: true,
                        exit,
                    });
                    self.frames.push(Frame::List {
                        list: cond,
                        next: 0,
                        exit: false,
                    });
                    return Outcome::Ran;
                }
                if self.status == 0 {
                    self.frames.push(Frame::List {
                        list: node.branches[branch].1.clone(),
                        next: 0,
                        exit,
                    });
                } else if branch + 1 < node.branches.len() {
                    self.frames.push(Frame::If {
                        node,
                        branch: branch + 1,
                        cond_ran: false,
                        exit,
                    });
                } else if let Some(otherwise) = &node.otherwise {
                    self.frames.push(Frame::List {
                        list: otherwise.clone(),
                        next: 0,
                        exit,
                    });
                } else {
                    self.status = 0;
                }
                Outcome::Ran
            }
            Frame::Loop {
                node,
                state,
                body_status,
            } => {
                match state {
                    LoopState::Start => {
                        let cond = node.cond.clone();
                        self.frames.push(Frame::Loop {
                            node,
                            state: LoopState::Cond,
                            body_status,
                        });
                        self.frames.push(Frame::List {
                            list: cond,
                            next: 0,
                            exit: false,
                        });
                    }
                    LoopState::Cond => {
                        if (self.status == 0) != node.until {
                            let body = node.body.clone();
                            self.frames.push(Frame::Loop {
                                node,
                                state: LoopState::Body,
                                body_status,
                            });
                            self.frames.push(Frame::List {
                                list: body,
                                next: 0,
                                exit: false,
                            });
                        } else {
                            self.status = body_status;
                        }
                    }
                    LoopState::Body => self.frames.push(Frame::Loop {
                        node,
                        state: LoopState::Start,
                        body_status: self.status,
                    }),
                }
                Outcome::Ran
            }
            Frame::For { node, words, next } => {
                if let Some(w) = words.get(next) {
                    self.vars.insert(node.var.clone(), w.clone());
                    let body = node.body.clone();
                    self.frames.push(Frame::For {
                        node,
                        words,
                        next: next + 1,
                    });
                    self.frames.push(Frame::List {
                        list: body,
                        next: 0,
                        exit: false,
                    });
                } else if words.is_empty() {
                    self.status = 0;
                }
                Outcome::Ran
            }
        }
    }

    /// `break` (`cont: false`) or `continue`: unwinds to the innermost loop.
    fn break_loop(&mut self, cont: bool, env: &mut dyn ShellEnv) {
        let has_loop = self
            .frames
            .iter()
            .rev()
            .take_while(|f| !matches!(f, Frame::Trap { .. } | Frame::ExitTrap { .. } | Frame::Main))
            .any(|f| matches!(f, Frame::Loop { .. } | Frame::For { .. }));
        self.status = 0;
        if !has_loop {
            return;
        }
        while let Some(f) = self.frames.pop() {
            match f {
                Frame::Restore => env.pop_redirs(),
                Frame::Loop {
                    node, body_status, ..
                } => {
                    if cont {
                        self.frames.push(Frame::Loop {
                            node,
                            state: LoopState::Start,
                            body_status,
                        });
                    }
                    return;
                }
                Frame::For { node, words, next } => {
                    if cont {
                        self.frames.push(Frame::For { node, words, next });
                    }
                    return;
                }
                _ => {}
            }
        }
    }

    fn run_pipeline(&mut self, p: &Pipeline, exit: bool, env: &mut dyn ShellEnv) -> Outcome {
        let exit = exit && !p.bang;
        if p.bang {
            self.frames.push(Frame::Bang);
        }
        if p.cmds.len() == 1 {
            return self.run_command(&p.cmds[0], exit, env);
        }
        match env.fork_pipeline(self.pipeline_shells(p)) {
            Ok(children) => {
                self.waiting = Waiting::Foreground(children.into_iter().map(|(_, g)| g).collect());
                Outcome::Ran
            }
            Err(ForkFailed) => {
                env.write(Stream::Err, FORK_FAILED_MSG);
                Outcome::Exit(2)
            }
        }
    }

    /// The child shells of a pipeline's commands.
    fn pipeline_shells(&self, p: &Pipeline) -> Vec<Shell> {
        p.cmds
            .iter()
            .map(|c| {
                self.child(pipeline_list(&Pipeline {
                    bang: false,
                    cmds: vec![c.clone()],
                }))
            })
            .collect()
    }

    fn ignored(&self) -> BTreeSet<i32> {
        self.traps
            .iter()
            .filter(|(_, d)| **d == Disposition::Ignore)
            .map(|(s, _)| *s)
            .collect()
    }

    fn special(&self, p: &Part, env: &dyn ShellEnv) -> Option<String> {
        match p {
            Part::LastBackground => Some(
                self.last_background
                    .map(|p| p.to_string())
                    .unwrap_or_default(),
            ),
            Part::LastStatus => Some(self.status.to_string()),
            Part::ShellPid => Some(env.own_pid().to_string()),
            _ => None,
        }
    }

    /// Expands a word into fields: unquoted variables are split on blanks; a word that
    /// expands to nothing unquoted gives no field.
    fn expand(&self, w: &Word, env: &dyn ShellEnv) -> Vec<String> {
        let mut fields = Vec::new();
        let mut cur = String::new();
        let mut present = false;
        for p in &w.parts {
            match p {
                Part::Lit(t) => {
                    cur.push_str(t);
                    present = true;
                }
                Part::Glob(c) => {
                    cur.push(*c);
                    present = true;
                }
                Part::Var { name, quoted: true } => {
                    cur.push_str(self.vars.get(name).map(String::as_str).unwrap_or(""));
                    present = true;
                }
                Part::Var {
                    name,
                    quoted: false,
                } => {
                    let v = self.vars.get(name).cloned().unwrap_or_default();
                    let blank = |c: char| matches!(c, ' ' | '\t' | '\n');
                    if v.starts_with(blank) && present {
                        fields.push(std::mem::take(&mut cur));
                        present = false;
                    }
                    for (i, piece) in v.split(blank).filter(|s| !s.is_empty()).enumerate() {
                        if i > 0 {
                            fields.push(std::mem::take(&mut cur));
                        }
                        cur.push_str(piece);
                        present = true;
                    }
                    if v.ends_with(blank) && present {
                        fields.push(std::mem::take(&mut cur));
                        present = false;
                    }
                }
                other => {
                    cur.push_str(&self.special(other, env).unwrap_or_default());
                    present = true;
                }
            }
        }
        if present {
            fields.push(cur);
        }
        fields
    }

    /// Expands a word without field splitting (assignments, redirection targets, `case`).
    fn expand_one(&self, w: &Word, env: &dyn ShellEnv) -> String {
        let mut s = String::new();
        for p in &w.parts {
            match p {
                Part::Lit(t) => s.push_str(t),
                Part::Glob(c) => s.push(*c),
                Part::Var { name, .. } => {
                    s.push_str(self.vars.get(name).map(String::as_str).unwrap_or(""))
                }
                other => s.push_str(&self.special(other, env).unwrap_or_default()),
            }
        }
        s
    }

    /// A `case` pattern: unquoted `*` and `?` match; everything else is literal.
    fn pattern(&self, w: &Word, env: &dyn ShellEnv) -> Vec<PatTok> {
        let mut out = Vec::new();
        for p in &w.parts {
            match p {
                Part::Glob('*') => out.push(PatTok::Star),
                Part::Glob(_) => out.push(PatTok::Any),
                other => {
                    let text = self.expand_one(
                        &Word {
                            parts: vec![other.clone()],
                        },
                        env,
                    );
                    out.extend(text.chars().map(PatTok::Char));
                }
            }
        }
        out
    }

    fn run_command(
        &mut self,
        cmd: &super::parse::Command,
        exit: bool,
        env: &mut dyn ShellEnv,
    ) -> Outcome {
        let is_bare_exec = matches!(&cmd.kind, CommandKind::Simple(s)
            if s.name.as_deref() == Some("exec") && s.args.is_empty());
        if !cmd.redirs.is_empty() {
            let resolved: Vec<Resolved> = cmd
                .redirs
                .iter()
                .map(|r| match &r.op {
                    RedirOp::Out(w) => Resolved::Out {
                        fd: r.fd,
                        path: self.expand_one(w, env),
                        append: false,
                    },
                    RedirOp::Append(w) => Resolved::Out {
                        fd: r.fd,
                        path: self.expand_one(w, env),
                        append: true,
                    },
                    RedirOp::In(w) => Resolved::In {
                        fd: r.fd,
                        path: self.expand_one(w, env),
                    },
                    RedirOp::Dup(from) => Resolved::Dup {
                        fd: r.fd,
                        from: *from,
                    },
                })
                .collect();
            if let Err(msg) = env.push_redirs(&resolved, is_bare_exec) {
                env.write(Stream::Err, format!("sh: {msg}\n").as_bytes());
                self.status = 1;
                return Outcome::Ran;
            }
            if is_bare_exec {
                self.status = 0;
                return Outcome::Ran;
            }
            self.frames.push(Frame::Restore);
        }
        match &cmd.kind {
            CommandKind::Simple(s) => self.run_simple(s, exit, env),
            CommandKind::Group(list) => {
                self.frames.push(Frame::List {
                    list: list.clone(),
                    next: 0,
                    exit,
                });
                Outcome::Ran
            }
            CommandKind::Subshell(list) => {
                if exit && !self.handler_ever_set {
                    env.note("subshell runs in place (last command)");
                    self.frames.push(Frame::List {
                        list: list.clone(),
                        next: 0,
                        exit: true,
                    });
                    return Outcome::Ran;
                }
                let child = self.child(list.clone());
                match env.fork_shell(child) {
                    Ok((_, gpid)) => {
                        self.waiting = Waiting::Foreground(vec![gpid]);
                        Outcome::Ran
                    }
                    Err(ForkFailed) => {
                        env.write(Stream::Err, FORK_FAILED_MSG);
                        Outcome::Exit(2)
                    }
                }
            }
            CommandKind::If(node) => {
                self.frames.push(Frame::If {
                    node: node.clone(),
                    branch: 0,
                    cond_ran: false,
                    exit,
                });
                Outcome::Ran
            }
            CommandKind::Loop(node) => {
                self.frames.push(Frame::Loop {
                    node: node.clone(),
                    state: LoopState::Start,
                    body_status: 0,
                });
                Outcome::Ran
            }
            CommandKind::For(node) => {
                let words: Vec<String> = node
                    .words
                    .iter()
                    .flat_map(|w| self.expand(w, env))
                    .collect();
                self.frames.push(Frame::For {
                    node: node.clone(),
                    words,
                    next: 0,
                });
                Outcome::Ran
            }
            CommandKind::Case(node) => {
                let word = self.expand_one(&node.word, env);
                let arm = node.arms.iter().find(|(pats, _)| {
                    pats.iter().any(|p| {
                        pattern_match(&self.pattern(p, env), &word.chars().collect::<Vec<_>>())
                    })
                });
                match arm {
                    Some((_, body)) if !body.items.is_empty() => self.frames.push(Frame::List {
                        list: body.clone(),
                        next: 0,
                        exit,
                    }),
                    _ => self.status = 0,
                }
                Outcome::Ran
            }
        }
    }

    fn run_simple(&mut self, cmd: &Simple, exit: bool, env: &mut dyn ShellEnv) -> Outcome {
        let Some(name) = &cmd.name else {
            for (var, w) in &cmd.assigns {
                let v = self.expand_one(w, env);
                self.vars.insert(var.clone(), v);
            }
            env.note("assignment");
            self.status = 0;
            return Outcome::Ran;
        };
        let args: Vec<String> = cmd.args.iter().flat_map(|w| self.expand(w, env)).collect();
        env.note(format!("{name} {}", args.join(" ")).trim_end());
        let status = match name.as_str() {
            "true" | ":" => 0,
            "false" => 1,
            "echo" => {
                env.write(Stream::Out, &echo(&args));
                0
            }
            "printf" => {
                let (bytes, ok) = printf(&args);
                env.write(Stream::Out, &bytes);
                i32::from(!ok)
            }
            "test" | "[" => {
                let mut a = args.clone();
                if name == "[" {
                    if a.last().map(String::as_str) != Some("]") {
                        env.write(Stream::Err, b"sh: missing ]\n");
                        self.status = 2;
                        return Outcome::Ran;
                    }
                    a.pop();
                }
                match test(&a, env) {
                    Ok(true) => 0,
                    Ok(false) => 1,
                    Err(msg) => {
                        env.write(Stream::Err, format!("sh: {msg}\n").as_bytes());
                        2
                    }
                }
            }
            "read" => {
                let raw = args.first().map(String::as_str) == Some("-r");
                let names: Vec<String> = args.iter().filter(|a| *a != "-r").cloned().collect();
                match self.try_read(&names, raw, env) {
                    Some(status) => status,
                    None => {
                        self.waiting = Waiting::Read { names, raw };
                        return Outcome::Ran;
                    }
                }
            }
            "break" | "continue" => {
                self.break_loop(name == "continue", env);
                return Outcome::Ran;
            }
            "exit" => {
                let status = match args.first() {
                    None => self.status,
                    Some(a) => match a.parse::<i64>() {
                        Ok(n) => (n & 0xff) as i32,
                        Err(_) => {
                            env.write(
                                Stream::Err,
                                format!("sh: exit: Illegal number: {a}\n").as_bytes(),
                            );
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
                            if matches!(disposition, Disposition::Handler(_)) {
                                self.handler_ever_set = true;
                            }
                            self.traps.insert(sig, disposition.clone());
                        }
                    }
                }
                0
            }
            "kill" => self.kill(&args, env),
            "wait" => {
                let targets = if args.is_empty() {
                    None
                } else {
                    let mut t = Vec::new();
                    for a in &args {
                        match self.resolve_job(a) {
                            Some(g) => t.push(g),
                            None => {
                                self.status = 127;
                                return Outcome::Ran;
                            }
                        }
                    }
                    Some(t)
                };
                self.waiting = Waiting::Jobs(targets);
                return Outcome::Ran;
            }
            "exec" => {
                let prog = args[0].clone();
                return match utility(&prog, &args[1..]) {
                    Ok(u) => Outcome::Exec(u, args),
                    Err(msg) => {
                        env.write(Stream::Err, msg.as_bytes());
                        Outcome::Exit(1)
                    }
                };
            }
            prog => {
                let u = match utility(prog, &args) {
                    Ok(u) => u,
                    Err(msg) => {
                        env.write(Stream::Err, msg.as_bytes());
                        self.status = 1;
                        return Outcome::Ran;
                    }
                };
                let argv: Vec<String> = std::iter::once(prog.to_string()).chain(args).collect();
                if exit && !self.handler_ever_set {
                    return Outcome::Exec(u, argv);
                }
                return match env.fork_utility(u, argv) {
                    Ok(gpid) => {
                        self.waiting = Waiting::Foreground(vec![gpid]);
                        Outcome::Ran
                    }
                    Err(ForkFailed) => {
                        env.write(Stream::Err, FORK_FAILED_MSG);
                        Outcome::Exit(2)
                    }
                };
            }
        };
        self.status = status;
        Outcome::Ran
    }

    /// `read`: one line from standard input into `names` (the last one takes the rest).
    /// `None` while no line is available.
    fn try_read(&mut self, names: &[String], raw: bool, env: &mut dyn ShellEnv) -> Option<i32> {
        let mut text = std::mem::take(&mut self.read_partial);
        let status = loop {
            match env.read_line() {
                LineRead::WouldBlock => {
                    // A continued line waits for its next part: keep what was read.
                    self.read_partial = text;
                    return None;
                }
                LineRead::Line(mut l) => {
                    if !raw && l.last() == Some(&b'\\') {
                        l.pop();
                        text.extend(l);
                        continue;
                    }
                    text.extend(l);
                    break 0;
                }
                LineRead::Eof(l) => {
                    text.extend(l);
                    break 1;
                }
            }
        };
        let mut line = String::from_utf8_lossy(&text).into_owned();
        if !raw {
            let mut out = String::new();
            let mut chars = line.chars();
            while let Some(c) = chars.next() {
                if c == '\\' {
                    if let Some(n) = chars.next() {
                        out.push(n);
                    }
                } else {
                    out.push(c);
                }
            }
            line = out;
        }
        let blank = |c: char| matches!(c, ' ' | '\t' | '\n');
        let mut rest = line.trim_start_matches(blank);
        for (i, name) in names.iter().enumerate() {
            let value = if i + 1 == names.len() {
                rest.trim_end_matches(blank).to_string()
            } else {
                let end = rest.find(blank).unwrap_or(rest.len());
                let v = rest[..end].to_string();
                rest = rest[end..].trim_start_matches(blank);
                v
            };
            self.vars.insert(name.clone(), value);
        }
        Some(status)
    }

    fn resolve_job(&self, spec: &str) -> Option<i32> {
        if let Some(n) = spec.strip_prefix('%') {
            let n: usize = n.parse().ok()?;
            return self.jobs.get(n.checked_sub(1)?).map(|(_, g)| *g);
        }
        let local: i32 = spec.parse().ok()?;
        self.jobs.iter().find(|(l, _)| *l == local).map(|(_, g)| *g)
    }

    fn kill(&mut self, args: &[String], env: &mut dyn ShellEnv) -> i32 {
        let mut signal = Signal::TERM;
        let mut i = 0;
        if let Some(first) = args.first() {
            if first == "-s" {
                signal = args
                    .get(1)
                    .and_then(|s| super::parse::parse_signal(s))
                    .unwrap_or(Signal::TERM);
                i = 2;
            } else if let Some(s) = first.strip_prefix('-') {
                if let Some(sig) = super::parse::parse_signal(s) {
                    signal = sig;
                    i = 1;
                }
            }
        }
        let mut status = 0;
        for target in args.iter().skip(i) {
            let pid = if let Some(n) = target.strip_prefix('%') {
                match n
                    .parse::<usize>()
                    .ok()
                    .and_then(|n| self.jobs.get(n.checked_sub(1)?))
                {
                    Some((local, _)) => *local,
                    None => {
                        env.write(
                            Stream::Err,
                            format!("sh: kill: {target}: no such job\n").as_bytes(),
                        );
                        status = 1;
                        continue;
                    }
                }
            } else {
                match target.parse::<i32>() {
                    Ok(p) => p,
                    Err(_) => {
                        env.write(
                            Stream::Err,
                            format!("sh: kill: invalid number '{target}'\n").as_bytes(),
                        );
                        status = 1;
                        continue;
                    }
                }
            };
            if let Err(why) = env.kill(pid, signal) {
                env.write(
                    Stream::Err,
                    format!("sh: can't kill pid {pid}: {why}\n").as_bytes(),
                );
                status = 1;
            }
        }
        status
    }
}

/// The program a command name and its expanded arguments stand for, or the program's own
/// error message (`sleep: invalid number 'x'`).
fn utility(prog: &str, args: &[String]) -> Result<Utility, String> {
    match prog {
        "sleep" => {
            let mut ns = 0u64;
            for a in args {
                match super::parse::parse_duration_ns(a) {
                    Some(n) => ns = ns.saturating_add(n),
                    None => return Err(format!("sleep: invalid number '{a}'\n")),
                }
            }
            if args.is_empty() {
                return Err("sleep: missing operand\n".into());
            }
            Ok(Utility::Sleep { ns })
        }
        "cat" => Ok(Utility::Cat {
            files: args.to_vec(),
        }),
        "head" => {
            let mut count = HeadCount::Lines(10);
            let mut i = 0;
            if let Some(opt) = args.first() {
                if opt == "-c" || opt == "-n" {
                    let n = args.get(1).cloned().unwrap_or_default();
                    let Ok(n) = n.parse::<u64>() else {
                        return Err(format!("head: invalid number '{n}'\n"));
                    };
                    count = if opt == "-c" {
                        HeadCount::Bytes(n)
                    } else {
                        HeadCount::Lines(n)
                    };
                    i = 2;
                }
            }
            Ok(Utility::Head {
                count,
                file: args.get(i).cloned().filter(|f| f != "-"),
            })
        }
        other => Err(format!("sh: {other}: not found\n")),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PatTok {
    Char(char),
    Any,
    Star,
}

/// Whether `s` matches the glob `p` (`*`, `?`, literal characters), as `case` tests it.
///
/// Greedy with one backtrack point, the last `*` seen: a mismatch lets that `*` take one more
/// character and retries from there. Earlier stars never need to take more (the last one can
/// absorb anything they would), so the work is at most the product of the lengths, where
/// trying every split at every star is exponential in their number (a `case` with a pattern
/// of many stars in a container's script took the simulator minutes).
fn pattern_match(p: &[PatTok], s: &[char]) -> bool {
    let (mut pi, mut si) = (0, 0);
    // (pattern index after the last star, text index that star's match ends at)
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        match p.get(pi) {
            Some(PatTok::Star) => {
                pi += 1;
                star = Some((pi, si));
            }
            Some(PatTok::Any) => {
                pi += 1;
                si += 1;
            }
            Some(PatTok::Char(c)) if *c == s[si] => {
                pi += 1;
                si += 1;
            }
            _ => match star {
                Some((after, end)) => {
                    pi = after;
                    si = end + 1;
                    star = Some((after, end + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|t| matches!(t, PatTok::Star))
}

fn number(s: &str) -> Result<i64, String> {
    s.trim()
        .parse::<i64>()
        .map_err(|_| format!("{s}: bad number"))
}

/// `test` / `[` (without the closing `]`), as busybox ash evaluates up to four arguments.
fn test(a: &[String], env: &dyn ShellEnv) -> Result<bool, String> {
    let unary = |op: &str, x: &str| -> Result<bool, String> {
        match op {
            "-n" => Ok(!x.is_empty()),
            "-z" => Ok(x.is_empty()),
            "-e" | "-f" | "-d" | "-s" => Ok(env.file_test(op, x)),
            _ => Err(format!("{op}: unknown operand")),
        }
    };
    let binary = |x: &str, op: &str, y: &str| -> Result<bool, String> {
        Ok(match op {
            "=" => x == y,
            "!=" => x != y,
            "-eq" => number(x)? == number(y)?,
            "-ne" => number(x)? != number(y)?,
            "-lt" => number(x)? < number(y)?,
            "-le" => number(x)? <= number(y)?,
            "-gt" => number(x)? > number(y)?,
            "-ge" => number(x)? >= number(y)?,
            _ => return Err(format!("{op}: unknown operand")),
        })
    };
    let is_binary = |op: &str| {
        matches!(
            op,
            "=" | "!=" | "-eq" | "-ne" | "-lt" | "-le" | "-gt" | "-ge"
        )
    };
    match a {
        [] => Ok(false),
        [x] => Ok(!x.is_empty()),
        [bang, x] if bang == "!" => Ok(x.is_empty()),
        [op, x] => {
            if op.starts_with('-') && op.len() == 2 {
                unary(op, x)
            } else {
                Err(format!("{op}: unknown operand"))
            }
        }
        [x, op, y] if is_binary(op) => binary(x, op, y),
        [bang, op, x] if bang == "!" => unary(op, x).map(|b| !b),
        [x, op, _] => Err(format!(
            "{}: unknown operand",
            if x.starts_with('-') { x } else { op }
        )),
        [bang, x, op, y] if bang == "!" => binary(x, op, y).map(|b| !b),
        _ => Err("too many arguments".into()),
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

    #[test]
    fn patterns() {
        let p = |t: &str| -> Vec<PatTok> {
            t.chars()
                .map(|c| match c {
                    '*' => PatTok::Star,
                    '?' => PatTok::Any,
                    c => PatTok::Char(c),
                })
                .collect()
        };
        let m = |pat: &str, s: &str| pattern_match(&p(pat), &s.chars().collect::<Vec<_>>());
        assert!(m("a*", "abc"));
        assert!(m("*c", "abc"));
        assert!(m("a?c", "abc"));
        assert!(!m("a?c", "ac"));
        assert!(m("*", ""));
        assert!(!m("b*", "abc"));
        assert!(m("*b*", "abc"));
        assert!(m("a*b*c", "aXbYbZc"));
        assert!(!m("a*b*c", "aXbYbZ"));
        assert!(m("**?", "x"));
        assert!(!m("?*?", "x"));
        assert!(m("*ab", "aab"));
        assert!(!m("", "a"));
        assert!(m("", ""));
    }

    /// The same answers as the definition (try every split at every star), for every pattern
    /// over `a b * ?` and every text over `a b` up to 5 characters.
    #[test]
    fn patterns_agree_with_the_definition() {
        fn by_definition(p: &[PatTok], s: &[char]) -> bool {
            match p.split_first() {
                None => s.is_empty(),
                Some((PatTok::Star, rest)) => (0..=s.len()).any(|i| by_definition(rest, &s[i..])),
                Some((PatTok::Any, rest)) => !s.is_empty() && by_definition(rest, &s[1..]),
                Some((PatTok::Char(c), rest)) => {
                    s.first() == Some(c) && by_definition(rest, &s[1..])
                }
            }
        }
        fn all<T: Clone>(alphabet: &[T], max: usize) -> Vec<Vec<T>> {
            let mut out = vec![Vec::new()];
            let mut last = vec![Vec::new()];
            for _ in 0..max {
                let next: Vec<Vec<T>> = last
                    .iter()
                    .flat_map(|w: &Vec<T>| {
                        alphabet.iter().map(move |a| {
                            let mut w = w.clone();
                            w.push(a.clone());
                            w
                        })
                    })
                    .collect();
                out.extend(next.iter().cloned());
                last = next;
            }
            out
        }
        let pats = all(
            &[
                PatTok::Char('a'),
                PatTok::Char('b'),
                PatTok::Star,
                PatTok::Any,
            ],
            5,
        );
        let texts = all(&['a', 'b'], 5);
        for p in &pats {
            for t in &texts {
                assert_eq!(pattern_match(p, t), by_definition(p, t), "{p:?} {t:?}");
            }
        }
    }

    /// Many stars against a text that does not match: every split at every star was tried,
    /// 2^30 and more; now it ends (and says no).
    #[test]
    fn patterns_with_many_stars_end() {
        let mut pat: Vec<PatTok> = std::iter::repeat_n(PatTok::Star, 30).collect();
        pat.push(PatTok::Char('b'));
        let text: Vec<char> = std::iter::repeat_n('a', 200).collect();
        assert!(!pattern_match(&pat, &text));
        let mut pat: Vec<PatTok> = Vec::new();
        for _ in 0..30 {
            pat.extend([PatTok::Star, PatTok::Char('a')]);
        }
        assert!(pattern_match(&pat, &text));
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
        forked: Vec<String>,
        input: VecDeque<u8>,
        input_eof: bool,
        /// Redirections in effect; the fake models each as `>&2` (stdout goes to stderr).
        redirected: usize,
    }

    impl ShellEnv for Fake {
        fn own_pid(&self) -> i32 {
            1
        }
        fn write(&mut self, stream: Stream, bytes: &[u8]) {
            match stream {
                Stream::Out if self.redirected > 0 => self.err.extend_from_slice(bytes),
                Stream::Out => self.out.extend_from_slice(bytes),
                Stream::Err => self.err.extend_from_slice(bytes),
            }
        }
        fn fork_shell(&mut self, _: Shell) -> Result<(i32, i32), ForkFailed> {
            self.next += 1;
            self.children += 1;
            self.forked.push("sh".into());
            Ok((self.next + 1, self.next + 100))
        }
        fn fork_pipeline(&mut self, shells: Vec<Shell>) -> Result<Vec<(i32, i32)>, ForkFailed> {
            Ok(shells
                .into_iter()
                .map(|sh| self.fork_shell(sh).unwrap())
                .collect())
        }
        fn fork_utility(&mut self, _: Utility, argv: Vec<String>) -> Result<i32, ForkFailed> {
            self.next += 1;
            self.children += 1;
            self.forked.push(argv.join(" "));
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
        fn push_redirs(&mut self, _: &[Resolved], _: bool) -> Result<(), String> {
            self.redirected += 1;
            Ok(())
        }
        fn pop_redirs(&mut self) {
            self.redirected -= 1;
        }
        fn read_line(&mut self) -> LineRead {
            if let Some(i) = self.input.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = self.input.drain(..=i).collect();
                return LineRead::Line(line[..i].to_vec());
            }
            if self.input_eof {
                return LineRead::Eof(self.input.drain(..).collect());
            }
            LineRead::WouldBlock
        }
        fn file_test(&self, _: &str, path: &str) -> bool {
            path == "/yes"
        }
    }

    fn run(src: &str, env: &mut Fake) -> Outcome {
        let mut sh = Shell::new(Arc::new(parse_script(src).unwrap()), BTreeSet::new());
        for _ in 0..1000 {
            match sh.step(env) {
                Outcome::Ran => {}
                other => return other,
            }
        }
        panic!("did not finish");
    }

    fn out(src: &str) -> (Outcome, String) {
        let mut f = Fake::default();
        let o = run(src, &mut f);
        (o, String::from_utf8(f.out).unwrap())
    }

    #[test]
    fn and_or_and_status() {
        assert_eq!(
            out("false && echo no || echo yes; echo $?; exit 4"),
            (Outcome::Exit(4), "yes\n0\n".into())
        );
        assert_eq!(
            out("true || echo no && echo yes"),
            (Outcome::Exit(0), "yes\n".into())
        );
        assert_eq!(
            out("! true; echo $?; ! false"),
            (Outcome::Exit(0), "1\n".into())
        );
    }

    #[test]
    fn last_program_is_execed_unless_a_handler_was_set() {
        let mut f = Fake::default();
        assert!(matches!(
            run("echo a; sleep 5", &mut f),
            Outcome::Exec(Utility::Sleep { ns: 5_000_000_000 }, _)
        ));
        for src in [
            "true && sleep 5",
            "if true; then sleep 5; fi",
            "{ sleep 5; }",
            "(sleep 5)",
            "case a in a) sleep 5;; esac",
            "trap '' TERM; sleep 5",
        ] {
            let mut f = Fake::default();
            assert!(matches!(run(src, &mut f), Outcome::Exec(..)), "{src}");
        }
        for src in [
            "trap 'exit 1' TERM; sleep 5",
            "sleep 5 || true",
            "while true; do sleep 5; done",
            "trap 'exit 1' TERM; trap - TERM; sleep 5",
        ] {
            let mut f = Fake::default();
            assert_eq!(run(src, &mut f), Outcome::Blocked, "{src}");
            assert_eq!(f.forked, ["sleep 5"], "{src}");
        }
        let mut f = Fake::default();
        assert_eq!(run("echo a | sleep 5", &mut f), Outcome::Blocked);
        assert_eq!(f.forked, ["sh", "sh"]);
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
        assert_eq!(
            out("trap 'echo bye' EXIT; exit 3"),
            (Outcome::Exit(3), "bye\n".into())
        );
    }

    #[test]
    fn compound_commands_and_variables() {
        assert_eq!(
            out("X=2; if [ $X -eq 1 ]; then echo one; elif [ $X = 2 ]; then echo two; else echo other; fi"),
            (Outcome::Exit(0), "two\n".into())
        );
        assert_eq!(
            out("for i in a \"b c\" $Y; do echo $i; done; Y='d  e'; for i in $Y; do echo $i; done"),
            (Outcome::Exit(0), "a\nb c\nd\ne\n".into())
        );
        assert_eq!(
            out("i=0; while [ $i != 3 ]; do echo $i; case $i in 0) i=1;; 1) i=2;; *) i=3;; esac; done"),
            (Outcome::Exit(0), "0\n1\n2\n".into())
        );
        assert_eq!(
            out("for i in 1 2 3; do [ $i = 2 ] && continue; [ $i = 3 ] && break; echo $i; done; echo end"),
            (Outcome::Exit(0), "1\nend\n".into())
        );
        assert_eq!(
            out("until true; do echo never; done; echo $?; X=abc; case $X in a?c) echo m;; esac"),
            (Outcome::Exit(0), "0\nm\n".into())
        );
        assert_eq!(
            out("[ -f /yes ] && echo y; test -e /no || echo n; [ a = ]"),
            (Outcome::Exit(2), "y\nn\n".into())
        );
    }

    #[test]
    fn read_splits_and_waits_for_input() {
        let mut f = Fake::default();
        let mut sh = Shell::new(
            Arc::new(parse_script("read a b; echo \"[$a][$b]\"; read c; echo $? \"$c\"").unwrap()),
            BTreeSet::new(),
        );
        for _ in 0..5 {
            sh.step(&mut f);
        }
        assert!(sh.wants_input());
        assert!(f.out.is_empty());
        f.input.extend(b"x  y z\nlast".iter());
        f.input_eof = true;
        let mut last = Outcome::Ran;
        for _ in 0..50 {
            last = sh.step(&mut f);
            if last != Outcome::Ran && last != Outcome::Blocked {
                break;
            }
        }
        assert_eq!(last, Outcome::Exit(0));
        assert_eq!(f.out, b"[x][y z]\n1 last\n");
    }

    /// Steps `sh` (at most 20 times) until an outcome satisfies `done`; that outcome.
    fn step_until(sh: &mut Shell, f: &mut Fake, done: impl Fn(Outcome) -> bool) -> Option<Outcome> {
        (0..20).map(|_| sh.step(f)).find(|o| done(o.clone()))
    }

    #[test]
    fn trapped_signal_interrupts_wait() {
        let mut f = Fake::default();
        let mut sh = Shell::new(
            Arc::new(parse_script("trap 'echo got; exit 7' TERM; sleep 100 & wait").unwrap()),
            BTreeSet::new(),
        );
        let blocked = step_until(&mut sh, &mut f, |o| o == Outcome::Blocked).is_some();
        assert!(blocked);
        assert!(matches!(sh.disposition(15), Disposition::Handler(_)));
        sh.queue_trapped(15);
        assert!(sh.wants_step(|| false, || true, || false));
        let last = step_until(&mut sh, &mut f, |o| o != Outcome::Ran).unwrap_or(Outcome::Ran);
        assert_eq!(last, Outcome::Exit(7));
        assert_eq!(f.out, b"got\n");
    }

    /// A trapped signal that arrives while a redirected foreground program runs: the handler
    /// runs after the program ended, with the program's redirection undone (its `echo` goes
    /// to stdout, as on busybox ash). Found by the rule-2 property (seed 6055424362978669411).
    #[test]
    fn trap_after_redirected_program_writes_to_stdout() {
        let mut f = Fake::default();
        let mut sh = Shell::new(
            Arc::new(
                parse_script("trap 'echo caught; exit 52' INT; head -c 5 /dev/zero >&2").unwrap(),
            ),
            BTreeSet::new(),
        );
        let blocked = step_until(&mut sh, &mut f, |o| o == Outcome::Blocked).is_some();
        assert!(blocked, "the shell waits for head");
        assert_eq!(f.forked, vec!["head -c 5 /dev/zero".to_string()]);
        sh.queue_trapped(2);
        f.zombies.push((f.next + 100, ExitStatus::Exited(0)));
        let last = step_until(&mut sh, &mut f, |o| o != Outcome::Ran).unwrap_or(Outcome::Ran);
        assert_eq!(last, Outcome::Exit(52));
        assert_eq!(f.out, b"caught\n");
        assert!(f.err.is_empty());
        assert_eq!(f.redirected, 0);
    }
}
