//! The scenario file parser: text in, [`Scenario`] out, or one error naming the line.
//!
//! Grammar (one step per line; `#` starts a comment; words split like a shell, see
//! [`lex`](super::lex)):
//!
//! ```text
//! create NAME BUNDLE [stdin TEXT] [stdout CONN] [stderr CONN]        [expect ...]
//! start NAME                               [expect ...]
//! exec CONTAINER NAME [tty] [stdin TEXT] [stdout CONN] [stderr CONN] -- ARG...   [expect ...]
//! kill CONTAINER [SIGNAL]                  [expect ...]   (SIGNAL: TERM, SIGKILL, 9; default TERM)
//! wait NAME                                [expect ...]
//! pause CONTAINER | resume CONTAINER | delete NAME | state CONTAINER | ps CONTAINER
//! advance MS                               (simulator only: virtual milliseconds)
//!
//! CONN: capture (default) | null | pipe | socket
//!
//! expect CLAUSE...   where CLAUSE is one of
//!   exit N | signal SIG | stdout TEXT | stderr TEXT | relay complete|cut     (wait only)
//!   alive NAME | dead NAME | status created|running|paused|stopped | error KIND
//! ```
//!
//! Names are checked statically: a step may only use a container or exec named by an earlier
//! `create`/`exec`, and a name is given once per scenario.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use runtime_api::{ErrorKind, Signal, Status};

use super::lex::{split_words, Word};
use super::{Action, Connection, Expectation, RelayOutcome, Scenario, Step};

/// Every step keyword, in the order the help text lists them.
pub const STEP_KEYWORDS: [&str; 11] = [
    "create", "start", "exec", "kill", "wait", "pause", "resume", "delete", "state", "ps",
    "advance",
];

/// A scenario that could not be parsed: which file, which line, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// The scenario file.
    pub path: PathBuf,
    /// 1-based line number.
    pub line: usize,
    /// What is wrong, in one line.
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.path.display(), self.line, self.message)
    }
}

impl std::error::Error for ParseError {}

#[derive(Clone, Copy, PartialEq, Eq)]
enum NameKind {
    Container,
    Exec,
}

/// Parses scenario text. `path` names the file in messages; relative bundle paths are resolved
/// against its directory.
pub fn parse(path: &Path, text: &str) -> Result<Scenario, ParseError> {
    let base = path.parent().unwrap_or(Path::new("")).to_path_buf();
    let mut names: BTreeMap<String, (NameKind, usize)> = BTreeMap::new();
    let mut steps = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let fail = |message: String| ParseError {
            path: path.to_path_buf(),
            line,
            message,
        };
        let words = split_words(raw).map_err(|e| fail(e.0))?;
        if words.is_empty() {
            continue;
        }
        let split = words
            .iter()
            .position(|w| w.is_keyword("expect"))
            .unwrap_or(words.len());
        let (call, clauses) = words.split_at(split);
        if call.is_empty() {
            return Err(fail(
                "a line starts with `expect`: put it after a step".into(),
            ));
        }
        let action = parse_action(call, &base, &mut names, line).map_err(fail)?;
        let expect = match clauses.split_first() {
            None => Vec::new(),
            Some((_, rest)) => parse_expectations(&action, rest, &names).map_err(fail)?,
        };
        steps.push(Step {
            line,
            text: raw.trim().to_string(),
            action,
            expect,
        });
    }
    if steps.is_empty() {
        return Err(ParseError {
            path: path.to_path_buf(),
            line: text.lines().count().max(1),
            message: "the scenario has no steps".into(),
        });
    }
    Ok(Scenario {
        path: path.to_path_buf(),
        steps,
    })
}

fn parse_action(
    call: &[Word],
    base: &Path,
    names: &mut BTreeMap<String, (NameKind, usize)>,
    line: usize,
) -> Result<Action, String> {
    let keyword = call[0].text();
    let args = &call[1..];
    let need = |n: usize, usage: &str| -> Result<(), String> {
        if args.len() < n {
            Err(format!("`{keyword}` needs {usage}"))
        } else {
            Ok(())
        }
    };
    let exact = |n: usize, usage: &str| -> Result<(), String> {
        if args.len() != n {
            Err(format!(
                "`{keyword}` takes {usage}, got {} word(s)",
                args.len()
            ))
        } else {
            Ok(())
        }
    };
    if call[0].quoted {
        return Err(format!(
            "unknown step {:?}: a step keyword is never quoted",
            keyword
        ));
    }
    let action = match keyword.as_str() {
        "create" => {
            need(
                2,
                "a name and a bundle directory: create NAME BUNDLE [stdin TEXT]",
            )?;
            let name = new_name(names, &args[0], NameKind::Container, line)?;
            let bundle = base.join(args[1].text());
            let mut io = IoOptions::default();
            let mut opts = args[2..].iter();
            while let Some(opt) = opts.next() {
                if !io.take(opt, &mut opts)? {
                    return Err(format!(
                        "unknown create option {:?} (expected `stdin TEXT`, `stdout CONN` or `stderr CONN`)",
                        opt.text()
                    ));
                }
            }
            Action::Create {
                name,
                bundle,
                stdin: io.stdin,
                stdout: io.stdout,
                stderr: io.stderr,
            }
        }
        "exec" => {
            need(
                3,
                "a container, a name and `-- ARG...`: exec CONTAINER NAME [tty] [stdin TEXT] -- ARG...",
            )?;
            let container = known(names, &args[0], NameKind::Container)?;
            let dashes = args
                .iter()
                .position(|w| w.is_keyword("--"))
                .ok_or("`exec` needs `--` before the process's arguments")?;
            if dashes < 2 {
                return Err("`exec` needs CONTAINER NAME before `--`".into());
            }
            let mut tty = false;
            let mut io = IoOptions::default();
            let mut opts = args[2..dashes].iter();
            while let Some(opt) = opts.next() {
                if opt.is_keyword("tty") {
                    tty = true;
                } else if !io.take(opt, &mut opts)? {
                    return Err(format!(
                        "unknown exec option {:?} (expected `tty`, `stdin TEXT`, `stdout CONN` or `stderr CONN` before `--`)",
                        opt.text()
                    ));
                }
            }
            let argv: Vec<String> = args[dashes + 1..].iter().map(Word::text).collect();
            if argv.is_empty() {
                return Err("`exec` needs at least one argument after `--`".into());
            }
            let name = new_name(names, &args[1], NameKind::Exec, line)?;
            Action::Exec {
                container,
                name,
                args: argv,
                tty,
                stdin: io.stdin,
                stdout: io.stdout,
                stderr: io.stderr,
            }
        }
        "kill" => {
            if args.is_empty() || args.len() > 2 {
                return Err("`kill` takes CONTAINER [SIGNAL]".into());
            }
            let container = known(names, &args[0], NameKind::Container)?;
            let signal = match args.get(1) {
                None => Signal::TERM,
                Some(w) => parse_signal(w)?,
            };
            Action::Kill { container, signal }
        }
        "start" | "pause" | "resume" | "state" | "ps" => {
            exact(1, "one container name")?;
            let container = known(names, &args[0], NameKind::Container)?;
            match keyword.as_str() {
                "start" => Action::Start { container },
                "pause" => Action::Pause { container },
                "resume" => Action::Resume { container },
                "state" => Action::State { container },
                _ => Action::Ps { container },
            }
        }
        "advance" => {
            exact(1, "a number of milliseconds")?;
            let ms = args[0]
                .text()
                .parse()
                .map_err(|_| format!("`advance` takes milliseconds, got {:?}", args[0].text()))?;
            Action::Advance { ms }
        }
        "wait" | "delete" => {
            exact(1, "one container or exec name")?;
            let target = known_any(names, &args[0])?;
            if keyword == "wait" {
                Action::Wait { target }
            } else {
                Action::Delete { target }
            }
        }
        other => {
            return Err(format!(
                "unknown step {other:?} (expected one of: {})",
                STEP_KEYWORDS.join(", ")
            ))
        }
    };
    Ok(action)
}

/// The stdio options of `create` and `exec`.
#[derive(Default)]
struct IoOptions {
    stdin: Option<Vec<u8>>,
    stdout: Connection,
    stderr: Connection,
}

impl IoOptions {
    /// Takes `opt` (and its value from `rest`) if it is a stdio option; `Ok(false)` if not.
    fn take<'a>(
        &mut self,
        opt: &Word,
        rest: &mut impl Iterator<Item = &'a Word>,
    ) -> Result<bool, String> {
        if opt.is_keyword("stdin") {
            let text = rest.next().ok_or("`stdin` needs a TEXT")?;
            self.stdin = Some(text.bytes.clone());
            return Ok(true);
        }
        let slot = if opt.is_keyword("stdout") {
            &mut self.stdout
        } else if opt.is_keyword("stderr") {
            &mut self.stderr
        } else {
            return Ok(false);
        };
        let word = rest
            .next()
            .ok_or_else(|| format!("`{}` needs capture, null, pipe or socket", opt.text()))?;
        *slot = Connection::from_word(&word.text()).ok_or_else(|| {
            format!(
                "unknown connection {:?} for {} (expected capture, null, pipe or socket)",
                word.text(),
                opt.text()
            )
        })?;
        Ok(true)
    }
}

fn new_name(
    names: &mut BTreeMap<String, (NameKind, usize)>,
    word: &Word,
    kind: NameKind,
    line: usize,
) -> Result<String, String> {
    let name = word.text();
    if name.is_empty() {
        return Err("a name cannot be empty".into());
    }
    if let Some((_, first)) = names.get(&name) {
        return Err(format!(
            "the name {name:?} is already used on line {first}; give each container and exec its own name"
        ));
    }
    names.insert(name.clone(), (kind, line));
    Ok(name)
}

fn known(
    names: &BTreeMap<String, (NameKind, usize)>,
    word: &Word,
    kind: NameKind,
) -> Result<String, String> {
    let name = word.text();
    match names.get(&name) {
        Some((k, _)) if *k == kind => Ok(name),
        Some((NameKind::Exec, line)) => Err(format!(
            "{name:?} is an exec (line {line}), not a container"
        )),
        Some((_, line)) => Err(format!(
            "{name:?} is a container (line {line}), not an exec"
        )),
        None => Err(format!(
            "no container named {name:?} was created before this line"
        )),
    }
}

fn known_any(names: &BTreeMap<String, (NameKind, usize)>, word: &Word) -> Result<String, String> {
    let name = word.text();
    if names.contains_key(&name) {
        Ok(name)
    } else {
        Err(format!(
            "no container or exec named {name:?} was created before this line"
        ))
    }
}

fn parse_signal(word: &Word) -> Result<Signal, String> {
    Signal::parse(&word.text()).ok_or_else(|| {
        format!(
            "unknown signal {:?} (use a name like TERM or SIGKILL, or a number 1-64)",
            word.text()
        )
    })
}

fn parse_expectations(
    action: &Action,
    words: &[Word],
    names: &BTreeMap<String, (NameKind, usize)>,
) -> Result<Vec<Expectation>, String> {
    if words.is_empty() {
        return Err("`expect` needs at least one clause (exit, signal, stdout, stderr, relay, alive, dead, status, error)".into());
    }
    let is_wait = matches!(action, Action::Wait { .. });
    let about_container = match action {
        Action::Exec { .. } => false,
        Action::Wait { target } | Action::Delete { target } => {
            matches!(names.get(target), Some((NameKind::Container, _)))
        }
        _ => true,
    };
    let mut out = Vec::new();
    let mut it = words.iter();
    while let Some(clause) = it.next() {
        let name = clause.text();
        let mut value = || {
            it.next()
                .ok_or_else(|| format!("`expect {name}` needs a value"))
        };
        let wait_only = |e: Expectation| -> Result<Expectation, String> {
            if is_wait {
                Ok(e)
            } else {
                Err(format!(
                    "`expect {}` only applies to a `wait` step",
                    clause.text()
                ))
            }
        };
        let e = match name.as_str() {
            "exit" => {
                let v = value()?.text();
                let code: i32 = v
                    .parse()
                    .ok()
                    .filter(|c| (0..=255).contains(c))
                    .ok_or_else(|| format!("exit code {v:?} is not a number in 0..=255"))?;
                wait_only(Expectation::Exit(code))?
            }
            "signal" => {
                let sig = parse_signal(value()?)?;
                wait_only(Expectation::Signal(sig))?
            }
            "stdout" => wait_only(Expectation::Stdout(value()?.bytes.clone()))?,
            "stderr" => wait_only(Expectation::Stderr(value()?.bytes.clone()))?,
            "relay" => {
                let v = value()?.text();
                let outcome = match v.as_str() {
                    "complete" => RelayOutcome::Complete,
                    "cut" => RelayOutcome::Cut,
                    _ => return Err(format!("`relay` takes complete or cut, not {v:?}")),
                };
                wait_only(Expectation::Relay(outcome))?
            }
            "alive" | "dead" => {
                let target = known_any(names, value()?)?;
                if name == "alive" {
                    Expectation::Alive(target)
                } else {
                    Expectation::Dead(target)
                }
            }
            "status" => {
                let v = value()?.text();
                let status = Status::parse(&v).ok_or_else(|| {
                    format!("unknown status {v:?} (created, running, paused or stopped)")
                })?;
                if !about_container {
                    return Err("`expect status` only applies to a step about a container".into());
                }
                Expectation::Status(status)
            }
            "error" => {
                let v = value()?.text();
                let kind = ErrorKind::ALL
                    .into_iter()
                    .find(|k| k.as_str() == v)
                    .ok_or_else(|| {
                        let all: Vec<&str> = ErrorKind::ALL.iter().map(|k| k.as_str()).collect();
                        format!("unknown error kind {v:?} (one of: {})", all.join(", "))
                    })?;
                Expectation::Error(kind)
            }
            other => {
                return Err(format!(
                    "unknown expectation {other:?} (expected exit, signal, stdout, stderr, relay, alive, dead, status or error)"
                ))
            }
        };
        out.push(e);
    }
    let errors = out
        .iter()
        .filter(|e| matches!(e, Expectation::Error(_)))
        .count();
    if errors > 1 {
        return Err("at most one `error` expectation per step".into());
    }
    if errors == 1
        && out.iter().any(|e| {
            matches!(
                e,
                Expectation::Exit(_)
                    | Expectation::Signal(_)
                    | Expectation::Stdout(_)
                    | Expectation::Stderr(_)
                    | Expectation::Relay(_)
            )
        })
    {
        return Err(
            "`expect error` cannot be combined with exit, signal, stdout, stderr or relay".into(),
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(text: &str) -> Result<Scenario, ParseError> {
        parse(Path::new("dir/s.scenario"), text)
    }

    #[test]
    fn parses_connections_and_advance() {
        let s = parse_str(
            "create c b stdout pipe stderr null\nexec c e stderr socket stdout capture -- true\nadvance 200\n",
        )
        .unwrap();
        match &s.steps[0].action {
            Action::Create { stdout, stderr, .. } => {
                assert_eq!((*stdout, *stderr), (Connection::Pipe, Connection::Null))
            }
            other => panic!("{other:?}"),
        }
        match &s.steps[1].action {
            Action::Exec { stdout, stderr, .. } => {
                assert_eq!(
                    (*stdout, *stderr),
                    (Connection::Capture, Connection::Socket)
                )
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(s.steps[2].action, Action::Advance { ms: 200 });
        let (line, message) = error_of("create c b stdout tube\n");
        assert_eq!(line, 1);
        assert!(message.contains("unknown connection \"tube\""), "{message}");
        let (_, message) = error_of("advance soon\n");
        assert!(message.contains("milliseconds"), "{message}");
    }

    fn error_of(text: &str) -> (usize, String) {
        let e = parse_str(text).unwrap_err();
        (e.line, e.message)
    }

    #[test]
    fn parses_every_step_and_expectation() {
        let s = parse_str(
            r#"
# a comment
create c ../bundles/sleeper stdin "in\n"
start c expect status running
exec c p tty stdin 'x' -- sh -c 'echo hi' expect alive p
exec c q -- printf 'expect'
kill c KILL
wait p expect exit 0 stdout "hi\n" stderr "" relay complete
wait q expect signal 9
wait c expect exit 137 dead q
pause c expect error not_running
resume c expect error not_running
state c expect status stopped
ps c
delete p
delete c
"#,
        )
        .unwrap();
        assert_eq!(s.steps.len(), 14);
        assert_eq!(s.steps[0].line, 3);
        assert_eq!(
            s.steps[0].action,
            Action::Create {
                name: "c".into(),
                bundle: PathBuf::from("dir/../bundles/sleeper"),
                stdin: Some(b"in\n".to_vec()),
                stdout: Connection::Capture,
                stderr: Connection::Capture,
            }
        );
        assert_eq!(
            s.steps[2].action,
            Action::Exec {
                container: "c".into(),
                name: "p".into(),
                args: vec!["sh".into(), "-c".into(), "echo hi".into()],
                tty: true,
                stdin: Some(b"x".to_vec()),
                stdout: Connection::Capture,
                stderr: Connection::Capture,
            }
        );
        assert_eq!(s.steps[2].expect, vec![Expectation::Alive("p".into())]);
        match &s.steps[3].action {
            Action::Exec { args, .. } => assert_eq!(args, &["printf", "expect"]),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            s.steps[4].action,
            Action::Kill {
                container: "c".into(),
                signal: Signal::KILL
            }
        );
        assert_eq!(
            s.steps[5].expect,
            vec![
                Expectation::Exit(0),
                Expectation::Stdout(b"hi\n".to_vec()),
                Expectation::Stderr(Vec::new()),
                Expectation::Relay(RelayOutcome::Complete),
            ]
        );
        assert_eq!(s.steps[6].expect, vec![Expectation::Signal(Signal::KILL)]);
        assert_eq!(
            s.steps[8].expect,
            vec![Expectation::Error(ErrorKind::NotRunning)]
        );
        assert_eq!(
            s.steps[10].expect,
            vec![Expectation::Status(Status::Stopped)]
        );
    }

    #[test]
    fn unknown_step_names_the_line() {
        let (line, msg) = error_of("create c b\n\nfrobnicate c\n");
        assert_eq!(line, 3);
        assert!(msg.contains("unknown step \"frobnicate\""), "{msg}");
        let e = parse_str("create c b\nfrobnicate c").unwrap_err();
        assert!(e.to_string().starts_with("dir/s.scenario:2: unknown step"));
    }

    #[test]
    fn names_are_checked_statically() {
        assert!(error_of("start c").1.contains("no container named \"c\""));
        assert!(error_of("create c b\ncreate c b")
            .1
            .contains("already used on line 1"));
        assert!(error_of("create c b\nexec c p -- true\nstart p")
            .1
            .contains("is an exec"));
        assert!(error_of("create c b\nwait z").1.contains("\"z\""));
        assert!(error_of("create c b\nwait c expect alive nobody")
            .1
            .contains("\"nobody\""));
    }

    #[test]
    fn refuses_malformed_steps() {
        for (text, needle) in [
            ("create c", "needs a name and a bundle"),
            ("create c b extra", "unknown create option"),
            ("create c b\nexec c p true", "needs `--`"),
            ("create c b\nexec c p --", "at least one argument"),
            ("create c b\nexec c p bogus -- true", "unknown exec option"),
            ("create c b\nkill c NOPE", "unknown signal"),
            ("create c b\nstart c extra", "takes one container name"),
            ("create c b\nstart c expect", "at least one clause"),
            (
                "create c b\nstart c expect exit 0",
                "only applies to a `wait`",
            ),
            ("create c b\nwait c expect exit 300", "0..=255"),
            ("create c b\nwait c expect exit", "needs a value"),
            ("create c b\nwait c expect bogus", "unknown expectation"),
            ("create c b\nwait c expect error nope", "unknown error kind"),
            (
                "create c b\nwait c expect error not_found exit 1",
                "cannot be combined",
            ),
            (
                "create c b\nexec c p -- true expect status running",
                "about a container",
            ),
            ("expect exit 0", "starts with `expect`"),
            ("'create' c b", "never quoted"),
            ("create c 'b", "unterminated"),
            ("# nothing\n", "no steps"),
        ] {
            let e = parse_str(text).unwrap_err();
            assert!(e.message.contains(needle), "{text:?}: {}", e.message);
        }
    }
}
