//! Generated busybox `sh -c` scripts and the outcome each one has when nothing interferes.
//!
//! A [`Script`] is a list of [`Cmd`]s inside the shell subset the simulator models and real
//! busybox runs, so the same script can run on every backend. [`Script::expected`] computes,
//! without running anything, what the script writes on each stream and how it exits when no
//! outside signal or namespace teardown interrupts it: the oracle of the properties and of the
//! differential suite.

use std::fmt;
use std::time::Duration;

use runtime_api::{ExitStatus, Signal};

/// One command of a generated script.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cmd {
    /// `echo TEXT` (to stderr with `>&2`): writes `TEXT\n`.
    Echo {
        /// Letters and digits only, so no quoting is needed.
        text: String,
        /// Whether it goes to stderr.
        stderr: bool,
    },
    /// `head -c N /dev/zero` (to stderr with `>&2`): writes `N` zero bytes.
    Zeros {
        /// How many bytes.
        bytes: usize,
        /// Whether they go to stderr.
        stderr: bool,
    },
    /// `sleep S`: waits in the foreground.
    Sleep {
        /// How long, in milliseconds (rendered as fractional seconds).
        ms: u32,
    },
    /// `sleep S &`: a background child that inherits stdout and stderr and holds them open
    /// for `ms` after it starts, writing nothing.
    HoldStdio {
        /// How long the child lives, in milliseconds.
        ms: u32,
    },
    /// `trap 'echo caught; exit C' SIG`: a handler that writes `caught\n` and exits.
    Trap {
        /// The trapped signal.
        signal: Signal,
        /// The handler's exit code.
        code: i32,
    },
    /// `kill -SIG $$`: the script signals itself.
    KillSelf {
        /// The signal.
        signal: Signal,
    },
    /// `exit C`.
    Exit {
        /// The exit code, 0..=255.
        code: i32,
    },
    /// `echo TEXT | cat` (to stderr with `>&2` on `cat`): a pipeline of two processes.
    Pipe {
        /// Letters and digits.
        text: String,
        /// Whether `cat` writes to stderr.
        stderr: bool,
    },
    /// `if [ A = B ]; then echo THEN; else echo ELSE; fi` with `A = B` true or not.
    If {
        /// Whether the condition holds.
        cond: bool,
        /// Written when it holds.
        then_text: String,
        /// Written when it does not.
        else_text: String,
    },
    /// `for w in W...; do echo $w; done`.
    For {
        /// The words, each written on its own line.
        words: Vec<String>,
    },
    /// `case WORD in PREFIX*) echo yes;; *) echo no;; esac`.
    Case {
        /// The word matched.
        word: String,
        /// The prefix of the first pattern.
        prefix: String,
    },
    /// `V='A  B'; echo $V "$V"`: a variable, split unquoted, kept quoted.
    Var {
        /// Two letter-and-digit words.
        words: (String, String),
    },
    /// `echo TEXT > /tmp/rtl.$$; read l < /tmp/rtl.$$; echo "got $l"`: a file of the container.
    File {
        /// Letters and digits.
        text: String,
    },
    /// `(echo TEXT; exit C); echo $?`: a subshell and its status.
    Subshell {
        /// Letters and digits.
        text: String,
        /// The subshell's exit code.
        code: i32,
    },
    /// `printf 'A\nB\n' | while read l; do echo "<$l>"; done`: a loop reading a pipe.
    ReadLoop {
        /// The lines.
        lines: Vec<String>,
    },
    /// `sleep S | cat &`: a background pipeline (three processes) holding stdout and stderr.
    HoldPipeline {
        /// How long the sleep lives, in milliseconds.
        ms: u32,
    },
    /// `(sleep S) &`: a background subshell (which execs its sleep) holding stdio.
    HoldSubshell {
        /// How long it lives, in milliseconds.
        ms: u32,
    },
}

/// A generated script: commands joined with `; `.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Script {
    /// The commands, in order.
    pub cmds: Vec<Cmd>,
}

/// What a script does when nothing outside interrupts it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// Every byte written to stdout, in order.
    pub stdout: Vec<u8>,
    /// Every byte written to stderr, in order.
    pub stderr: Vec<u8>,
    /// How the script's process ends.
    pub status: ExitStatus,
    /// Time spent in foreground sleeps before the process ends.
    pub runtime: Duration,
    /// Latest moment, counted from the script's start, at which a background child still
    /// holds the stdio open (zero if none does).
    pub held_until: Duration,
}

fn signal_name(sig: Signal) -> String {
    sig.name()
        .map(str::to_string)
        .unwrap_or_else(|| sig.0.to_string())
}

fn seconds(ms: u32) -> String {
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

impl Cmd {
    /// The command as busybox shell text.
    pub fn render(&self) -> String {
        let redirect = |stderr: bool| if stderr { " >&2" } else { "" };
        match self {
            Cmd::Echo { text, stderr } => format!("echo {text}{}", redirect(*stderr)),
            Cmd::Zeros { bytes, stderr } => {
                format!("head -c {bytes} /dev/zero{}", redirect(*stderr))
            }
            Cmd::Sleep { ms } => format!("sleep {}", seconds(*ms)),
            Cmd::HoldStdio { ms } => format!("sleep {} &", seconds(*ms)),
            Cmd::Trap { signal, code } => {
                format!("trap 'echo caught; exit {code}' {}", signal_name(*signal))
            }
            Cmd::KillSelf { signal } => format!("kill -{} $$", signal_name(*signal)),
            Cmd::Exit { code } => format!("exit {code}"),
            Cmd::Pipe { text, stderr } => format!("echo {text} | cat{}", redirect(*stderr)),
            Cmd::If {
                cond,
                then_text,
                else_text,
            } => format!(
                "if [ a = {} ]; then echo {then_text}; else echo {else_text}; fi",
                if *cond { "a" } else { "b" }
            ),
            Cmd::For { words } => format!("for w in {}; do echo $w; done", words.join(" ")),
            Cmd::Case { word, prefix } => {
                format!("case {word} in {prefix}*) echo yes;; *) echo no;; esac")
            }
            Cmd::Var { words } => format!("V='{}  {}'; echo $V \"$V\"", words.0, words.1),
            Cmd::File { text } => {
                format!("echo {text} > /tmp/rtl.$$; read l < /tmp/rtl.$$; echo \"got $l\"")
            }
            Cmd::Subshell { text, code } => format!("(echo {text}; exit {code}); echo $?"),
            Cmd::ReadLoop { lines } => format!(
                "printf '{}' | while read l; do echo \"<$l>\"; done",
                lines.iter().map(|l| format!("{l}\\n")).collect::<String>()
            ),
            Cmd::HoldPipeline { ms } => format!("sleep {} | cat &", seconds(*ms)),
            Cmd::HoldSubshell { ms } => format!("(sleep {}) &", seconds(*ms)),
        }
    }
}

impl Script {
    /// A script of these commands.
    pub fn new(cmds: Vec<Cmd>) -> Script {
        Script { cmds }
    }

    /// The shell text: commands joined with `; ` (a background command already ends in `&`,
    /// so it is followed by a space only).
    pub fn render(&self) -> String {
        let mut text = String::new();
        for (i, cmd) in self.cmds.iter().enumerate() {
            if i > 0 {
                text.push(' ');
            }
            let rendered = cmd.render();
            text.push_str(&rendered);
            if i + 1 < self.cmds.len() && !rendered.ends_with('&') {
                text.push(';');
            }
        }
        if text.is_empty() {
            text.push_str("exit 0");
        }
        text
    }

    /// The process arguments: `["sh", "-c", <text>]`.
    pub fn args(&self) -> Vec<String> {
        vec!["sh".into(), "-c".into(), self.render()]
    }

    /// What the script writes and how it exits when nothing outside interrupts it.
    ///
    /// `pid_namespace_init`: the script runs as PID 1 of its own pid namespace, where a signal
    /// it sends itself without a handler is ignored (the kernel protects a namespace init).
    pub fn expected(&self, pid_namespace_init: bool) -> Outcome {
        let mut out = Outcome {
            stdout: Vec::new(),
            stderr: Vec::new(),
            status: ExitStatus::Exited(0),
            runtime: Duration::ZERO,
            held_until: Duration::ZERO,
        };
        let mut traps: Vec<(Signal, i32)> = Vec::new();
        for cmd in &self.cmds {
            match cmd {
                Cmd::Echo { text, stderr } => {
                    let stream = if *stderr {
                        &mut out.stderr
                    } else {
                        &mut out.stdout
                    };
                    stream.extend_from_slice(text.as_bytes());
                    stream.push(b'\n');
                }
                Cmd::Zeros { bytes, stderr } => {
                    let stream = if *stderr {
                        &mut out.stderr
                    } else {
                        &mut out.stdout
                    };
                    stream.resize(stream.len() + bytes, 0);
                }
                Cmd::Sleep { ms } => out.runtime += Duration::from_millis(u64::from(*ms)),
                Cmd::HoldStdio { ms } | Cmd::HoldPipeline { ms } | Cmd::HoldSubshell { ms } => {
                    let until = out.runtime + Duration::from_millis(u64::from(*ms));
                    out.held_until = out.held_until.max(until);
                }
                Cmd::Trap { signal, code } => {
                    traps.retain(|(s, _)| s != signal);
                    traps.push((*signal, *code));
                }
                Cmd::KillSelf { signal } => {
                    if let Some((_, code)) = traps.iter().find(|(s, _)| s == signal) {
                        out.stdout.extend_from_slice(b"caught\n");
                        out.status = ExitStatus::Exited(*code);
                        return out;
                    }
                    if !pid_namespace_init {
                        out.status = ExitStatus::Signaled(*signal);
                        return out;
                    }
                }
                Cmd::Exit { code } => {
                    out.status = ExitStatus::Exited(*code);
                    return out;
                }
                Cmd::Pipe { text, stderr } => {
                    let stream = if *stderr {
                        &mut out.stderr
                    } else {
                        &mut out.stdout
                    };
                    stream.extend_from_slice(format!("{text}\n").as_bytes());
                }
                Cmd::If {
                    cond,
                    then_text,
                    else_text,
                } => {
                    let t = if *cond { then_text } else { else_text };
                    out.stdout.extend_from_slice(format!("{t}\n").as_bytes());
                }
                Cmd::For { words } => {
                    for w in words {
                        out.stdout.extend_from_slice(format!("{w}\n").as_bytes());
                    }
                }
                Cmd::Case { word, prefix } => {
                    let m = if word.starts_with(prefix.as_str()) {
                        "yes"
                    } else {
                        "no"
                    };
                    out.stdout.extend_from_slice(format!("{m}\n").as_bytes());
                }
                Cmd::Var { words } => out.stdout.extend_from_slice(
                    format!("{a} {b} {a}  {b}\n", a = words.0, b = words.1).as_bytes(),
                ),
                Cmd::File { text } => out
                    .stdout
                    .extend_from_slice(format!("got {text}\n").as_bytes()),
                Cmd::Subshell { text, code } => out
                    .stdout
                    .extend_from_slice(format!("{text}\n{code}\n").as_bytes()),
                Cmd::ReadLoop { lines } => {
                    for l in lines {
                        out.stdout.extend_from_slice(format!("<{l}>\n").as_bytes());
                    }
                }
            }
        }
        out
    }

    /// Whether a background child of this script can still hold its stdio after the script's
    /// process ended.
    pub fn outlives_itself(&self, pid_namespace_init: bool) -> bool {
        let o = self.expected(pid_namespace_init);
        o.held_until > o.runtime
    }

    /// Total bytes written when uninterrupted, both streams.
    pub fn output_len(&self) -> usize {
        let o = self.expected(false);
        o.stdout.len() + o.stderr.len()
    }
}

impl fmt::Debug for Script {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.render())
    }
}

impl fmt::Display for Script {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_busybox_text() {
        let s = Script::new(vec![
            Cmd::Trap {
                signal: Signal::TERM,
                code: 3,
            },
            Cmd::Echo {
                text: "a1".into(),
                stderr: true,
            },
            Cmd::HoldStdio { ms: 1500 },
            Cmd::Zeros {
                bytes: 10,
                stderr: false,
            },
            Cmd::Sleep { ms: 250 },
            Cmd::KillSelf {
                signal: Signal::TERM,
            },
        ]);
        assert_eq!(
            s.render(),
            "trap 'echo caught; exit 3' TERM; echo a1 >&2; sleep 1.500 & head -c 10 /dev/zero; \
             sleep 0.250; kill -TERM $$"
        );
        let o = s.expected(false);
        assert_eq!(o.stderr, b"a1\n");
        assert_eq!(o.stdout.len(), 10 + "caught\n".len());
        assert_eq!(o.status, ExitStatus::Exited(3));
        assert_eq!(o.runtime, Duration::from_millis(250));
        assert_eq!(o.held_until, Duration::from_millis(1500));
        assert!(s.outlives_itself(false));
    }

    #[test]
    fn self_signal_without_handler_kills_unless_namespace_init() {
        let s = Script::new(vec![
            Cmd::KillSelf {
                signal: Signal::USR1,
            },
            Cmd::Echo {
                text: "after".into(),
                stderr: false,
            },
            Cmd::Exit { code: 4 },
        ]);
        assert_eq!(s.expected(false).status, ExitStatus::Signaled(Signal::USR1));
        assert!(s.expected(false).stdout.is_empty());
        let init = s.expected(true);
        assert_eq!(init.status, ExitStatus::Exited(4));
        assert_eq!(init.stdout, b"after\n");
    }

    #[test]
    fn empty_script_exits_zero() {
        let s = Script::default();
        assert_eq!(s.render(), "exit 0");
        assert_eq!(s.expected(false).status, ExitStatus::Exited(0));
    }
}
