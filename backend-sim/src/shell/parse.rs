//! Parser of the supported `sh -c` subset (see the crate documentation for the grammar).
//!
//! Parsing happens at `create`/`exec`, so a script that uses anything outside the subset is
//! refused before any process exists, with an error that names the unsupported word.

use std::sync::Arc;

/// A parsed script: a list of and-or chains, each run in the foreground or (with `&`) in a
/// forked background process.
#[derive(Debug, Clone, PartialEq)]
pub struct Script {
    /// The list items, in order.
    pub items: Vec<Item>,
}

/// One element of a list: an and-or chain and whether it ends with `&`.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// The chain.
    pub and_or: AndOr,
    /// Run in a forked child (`cmd &`).
    pub background: bool,
}

/// `cmd1 && cmd2 || cmd3 ...`.
#[derive(Debug, Clone, PartialEq)]
pub struct AndOr {
    /// The first command.
    pub first: Command,
    /// The following commands with the connector before each.
    pub rest: Vec<(Connector, Command)>,
}

impl AndOr {
    /// The number of commands in the chain.
    pub fn len(&self) -> usize {
        1 + self.rest.len()
    }

    /// Whether the chain is empty (never: it always has a first command).
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The `i`th command.
    pub fn command(&self, i: usize) -> &Command {
        if i == 0 {
            &self.first
        } else {
            &self.rest[i - 1].1
        }
    }
}

/// `&&` or `||`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Connector {
    /// Run the next command if the previous one succeeded.
    And,
    /// Run the next command if the previous one failed.
    Or,
}

/// Which way a command's output streams are redirected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Redirect {
    /// No redirection.
    #[default]
    None,
    /// `>&2` or `1>&2`: standard output goes to standard error.
    OutToErr,
    /// `2>&1`: standard error goes to standard output.
    ErrToOut,
}

/// A simple command: its (literal) name, its argument words and its redirection.
#[derive(Debug, Clone, PartialEq)]
pub struct Command {
    /// The command name (always a literal word of the subset).
    pub name: String,
    /// The argument words, expanded when the command runs.
    pub args: Vec<Word>,
    /// Output redirection.
    pub redirect: Redirect,
    /// For `trap ACTION SIG...`: the parsed action (`None` for `-` or `''`).
    pub trap_action: Option<Arc<Script>>,
}

/// A word: literal text and the special parameters `$!`, `$?`, `$$`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Word {
    /// The parts, concatenated at expansion.
    pub parts: Vec<Part>,
}

/// A piece of a word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// Literal text.
    Lit(String),
    /// `$!`: pid of the last background job.
    LastBackground,
    /// `$?`: status of the last command.
    LastStatus,
    /// `$$`: the shell's own pid.
    ShellPid,
}

impl Word {
    /// The word's text if it has no parameter in it.
    pub fn literal(&self) -> Option<String> {
        let mut s = String::new();
        for p in &self.parts {
            match p {
                Part::Lit(t) => s.push_str(t),
                _ => return None,
            }
        }
        Some(s)
    }

    fn lit(text: &str) -> Word {
        Word {
            parts: vec![Part::Lit(text.to_string())],
        }
    }
}

/// The builtins the simulated shell runs in its own process.
pub const BUILTINS: [&str; 9] = [
    "echo", "printf", "exit", "kill", "trap", "true", "false", "wait", ":",
];
/// The programs the simulated shell forks (or execs, for the last command).
pub const UTILITIES: [&str; 3] = ["sleep", "cat", "head"];

/// Why a script was refused: names the unsupported word or construct.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported(pub String);

impl std::fmt::Display for Unsupported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

type PResult<T> = Result<T, Unsupported>;

fn refuse<T>(msg: impl Into<String>) -> PResult<T> {
    Err(Unsupported(msg.into()))
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(Word),
    Semi,
    Amp,
    AndIf,
    OrIf,
    Redirect(Redirect),
}

fn lex(src: &str) -> PResult<Vec<Token>> {
    let chars: Vec<char> = src.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' => i += 1,
            '\n' | ';' => {
                if c == ';' && chars.get(i + 1) == Some(&';') {
                    return refuse("unsupported shell syntax \";;\"");
                }
                out.push(Token::Semi);
                i += 1;
            }
            '#' => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '&' => {
                if chars.get(i + 1) == Some(&'&') {
                    out.push(Token::AndIf);
                    i += 2;
                } else if chars.get(i + 1) == Some(&'>') {
                    return refuse("unsupported redirection \"&>\"");
                } else {
                    out.push(Token::Amp);
                    i += 1;
                }
            }
            '|' => {
                if chars.get(i + 1) == Some(&'|') {
                    out.push(Token::OrIf);
                    i += 2;
                } else {
                    return refuse("unsupported shell syntax \"|\" (pipelines)");
                }
            }
            '>' | '<' => {
                let rest: String = chars[i..].iter().take(4).collect();
                if rest.starts_with(">&2") {
                    out.push(Token::Redirect(Redirect::OutToErr));
                    i += 3;
                } else {
                    let op: String = chars[i..]
                        .iter()
                        .take_while(|c| matches!(c, '<' | '>' | '&' | '|'))
                        .collect();
                    let target: String = chars[i + op.chars().count()..]
                        .iter()
                        .skip_while(|c| c.is_whitespace())
                        .take_while(|c| !c.is_whitespace() && !matches!(c, ';' | '&' | '|'))
                        .collect();
                    let word = format!("{op} {target}").trim().to_string();
                    return refuse(format!("unsupported redirection {word:?}"));
                }
            }
            '(' | ')' | '{' | '}' | '`' => {
                return refuse(format!("unsupported shell syntax {:?}", c.to_string()))
            }
            _ => {
                // A redirection written with a leading fd number.
                let rest: String = chars[i..].iter().take(4).collect();
                let at_break = |n: usize| {
                    chars
                        .get(i + n)
                        .is_none_or(|c| c.is_whitespace() || matches!(c, ';' | '&' | '|'))
                };
                if rest.starts_with("1>&2") && at_break(4) {
                    out.push(Token::Redirect(Redirect::OutToErr));
                    i += 4;
                    continue;
                }
                if rest.starts_with("2>&1") && at_break(4) {
                    out.push(Token::Redirect(Redirect::ErrToOut));
                    i += 4;
                    continue;
                }
                let (word, next) = lex_word(&chars, i)?;
                out.push(Token::Word(word));
                i = next;
            }
        }
    }
    Ok(out)
}

fn push_lit(parts: &mut Vec<Part>, c: char) {
    if let Some(Part::Lit(s)) = parts.last_mut() {
        s.push(c);
    } else {
        parts.push(Part::Lit(c.to_string()));
    }
}

fn lex_dollar(chars: &[char], i: usize, parts: &mut Vec<Part>) -> PResult<usize> {
    // chars[i] == '$'
    match chars.get(i + 1) {
        Some('!') => parts.push(Part::LastBackground),
        Some('?') => parts.push(Part::LastStatus),
        Some('$') => parts.push(Part::ShellPid),
        Some('(') => return refuse("unsupported command substitution \"$(\""),
        Some(c) if c.is_alphanumeric() || matches!(c, '_' | '{' | '@' | '*' | '#' | '-') => {
            let name: String = if *c == '{' {
                chars[i..]
                    .iter()
                    .take_while(|c| **c != '}')
                    .chain(std::iter::once(&'}'))
                    .collect()
            } else {
                std::iter::once('$')
                    .chain(
                        chars[i + 1..]
                            .iter()
                            .take_while(|c| c.is_alphanumeric() || **c == '_')
                            .copied(),
                    )
                    .collect()
            };
            let name = if name.len() == 1 {
                format!("${c}")
            } else {
                name
            };
            return refuse(format!(
                "unsupported parameter {name:?} (only $!, $? and $$ are supported)"
            ));
        }
        _ => {
            push_lit(parts, '$');
            return Ok(i + 1);
        }
    }
    Ok(i + 2)
}

fn lex_word(chars: &[char], mut i: usize) -> PResult<(Word, usize)> {
    let mut parts = Vec::new();
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' | '\n' | ';' | '&' | '|' => break,
            '>' | '<' | '(' | ')' | '`' => {
                return refuse(format!("unsupported shell syntax {:?}", c.to_string()))
            }
            '\'' => {
                let end = chars[i + 1..]
                    .iter()
                    .position(|c| *c == '\'')
                    .ok_or_else(|| Unsupported("unterminated single quote".into()))?;
                let text: String = chars[i + 1..i + 1 + end].iter().collect();
                if let Some(Part::Lit(s)) = parts.last_mut() {
                    s.push_str(&text);
                } else {
                    parts.push(Part::Lit(text));
                }
                i += end + 2;
            }
            '"' => {
                i += 1;
                let mut closed = false;
                // Make sure an empty "" still yields a (possibly empty) literal.
                if parts.is_empty() {
                    parts.push(Part::Lit(String::new()));
                }
                while i < chars.len() {
                    match chars[i] {
                        '"' => {
                            closed = true;
                            i += 1;
                            break;
                        }
                        '\\' if matches!(chars.get(i + 1), Some('"' | '\\' | '$' | '`')) => {
                            push_lit(&mut parts, chars[i + 1]);
                            i += 2;
                        }
                        '$' => i = lex_dollar(chars, i, &mut parts)?,
                        '`' => return refuse("unsupported command substitution \"`\""),
                        other => {
                            push_lit(&mut parts, other);
                            i += 1;
                        }
                    }
                }
                if !closed {
                    return refuse("unterminated double quote");
                }
            }
            '\\' => {
                match chars.get(i + 1) {
                    Some('\n') => {}
                    Some(n) => push_lit(&mut parts, *n),
                    None => push_lit(&mut parts, '\\'),
                }
                i += 2;
            }
            '$' => i = lex_dollar(chars, i, &mut parts)?,
            other => {
                if parts.is_empty() && matches!(other, '*' | '?' | '[' | '~') {
                    // Globbing and tilde expansion are not modelled; a lone literal is fine
                    // only if it cannot expand, so refuse them to stay faithful.
                    let word: String = chars[i..]
                        .iter()
                        .take_while(|c| !c.is_whitespace() && !matches!(c, ';' | '&' | '|'))
                        .collect();
                    return refuse(format!("unsupported pattern word {word:?}"));
                }
                push_lit(&mut parts, other);
                i += 1;
            }
        }
    }
    Ok((Word { parts }, i))
}

const KEYWORDS: [&str; 16] = [
    "if", "then", "else", "elif", "fi", "while", "until", "for", "do", "done", "case", "esac",
    "function", "in", "!", "select",
];

/// Parses a `sh -c` script of the subset.
pub fn parse_script(src: &str) -> PResult<Script> {
    let tokens = lex(src)?;
    let mut items = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        if tokens[i] == Token::Semi {
            i += 1;
            continue;
        }
        let (and_or, next) = parse_and_or(&tokens, i)?;
        i = next;
        let background = match tokens.get(i) {
            Some(Token::Amp) => {
                i += 1;
                true
            }
            Some(Token::Semi) => {
                i += 1;
                false
            }
            None => false,
            Some(t) => return refuse(format!("unexpected {t:?}")),
        };
        items.push(Item { and_or, background });
    }
    Ok(Script { items })
}

fn parse_and_or(tokens: &[Token], mut i: usize) -> PResult<(AndOr, usize)> {
    let (first, next) = parse_command(tokens, i)?;
    i = next;
    let mut rest = Vec::new();
    loop {
        let conn = match tokens.get(i) {
            Some(Token::AndIf) => Connector::And,
            Some(Token::OrIf) => Connector::Or,
            _ => break,
        };
        i += 1;
        while tokens.get(i) == Some(&Token::Semi) {
            // A newline may follow && or ||.
            i += 1;
        }
        let (cmd, next) = parse_command(tokens, i)?;
        rest.push((conn, cmd));
        i = next;
    }
    Ok((AndOr { first, rest }, i))
}

fn parse_command(tokens: &[Token], mut i: usize) -> PResult<(Command, usize)> {
    let mut words = Vec::new();
    let mut redirect = Redirect::None;
    while let Some(t) = tokens.get(i) {
        match t {
            Token::Word(w) => words.push(w.clone()),
            Token::Redirect(r) => redirect = *r,
            _ => break,
        }
        i += 1;
    }
    let Some(first) = words.first() else {
        return match tokens.get(i) {
            Some(t) => refuse(format!("syntax error: unexpected {}", token_text(t))),
            None => refuse("syntax error: missing command"),
        };
    };
    let Some(name) = first.literal() else {
        return refuse("unsupported command word: a parameter as command name");
    };
    let command = build_command(name, words[1..].to_vec(), redirect)?;
    Ok((command, i))
}

fn token_text(t: &Token) -> &'static str {
    match t {
        Token::Semi => "\";\"",
        Token::Amp => "\"&\"",
        Token::AndIf => "\"&&\"",
        Token::OrIf => "\"||\"",
        Token::Redirect(_) => "redirection",
        Token::Word(_) => "word",
    }
}

/// Validates a command of the subset and builds it.
fn build_command(name: String, args: Vec<Word>, redirect: Redirect) -> PResult<Command> {
    if KEYWORDS.contains(&name.as_str()) {
        return refuse(format!("unsupported shell keyword {name:?}"));
    }
    if name.contains('=') {
        return refuse(format!("unsupported variable assignment {name:?}"));
    }
    let lits: Vec<Option<String>> = args.iter().map(Word::literal).collect();
    let mut trap_action = None;
    match name.as_str() {
        "echo" | "printf" | "true" | "false" | ":" => {
            if name == "printf" && args.is_empty() {
                return refuse("printf: missing format");
            }
        }
        "exit" => {
            if args.len() > 1 {
                return refuse("exit: too many arguments");
            }
        }
        "wait" => {}
        "kill" => validate_kill(&args, &lits)?,
        "trap" => trap_action = validate_trap(&lits)?,
        "sleep" => {
            if args.is_empty() {
                return refuse("sleep: missing operand");
            }
            for l in &lits {
                match l {
                    Some(t) if parse_duration_ns(t).is_some() => {}
                    Some(t) => return refuse(format!("sleep: unsupported duration {t:?}")),
                    None => return refuse("sleep: parameters in durations are not supported"),
                }
            }
        }
        "cat" => {
            if !lits.iter().all(|l| l.as_deref() == Some("-")) {
                let what: Vec<String> =
                    lits.iter().map(|l| l.clone().unwrap_or_default()).collect();
                return refuse(format!(
                    "cat: only standard input is supported, not {:?}",
                    what.join(" ")
                ));
            }
        }
        "head" => {
            let ok = lits.len() == 3
                && lits[0].as_deref() == Some("-c")
                && lits[1].as_deref().is_some_and(|n| n.parse::<u64>().is_ok())
                && lits[2].as_deref() == Some("/dev/zero");
            if !ok {
                let what: Vec<String> =
                    lits.iter().map(|l| l.clone().unwrap_or_default()).collect();
                return refuse(format!(
                    "head: only \"head -c N /dev/zero\" is supported, not \"head {}\"",
                    what.join(" ")
                ));
            }
        }
        other => return refuse(format!("unsupported command {other:?}")),
    }
    Ok(Command {
        name,
        args,
        redirect,
        trap_action,
    })
}

fn validate_kill(args: &[Word], lits: &[Option<String>]) -> PResult<()> {
    let mut i = 0;
    if let Some(Some(first)) = lits.first() {
        if first == "-s" {
            match lits.get(1) {
                Some(Some(sig)) if parse_signal(sig).is_some() => i = 2,
                _ => return refuse("kill: -s needs a signal name"),
            }
        } else if first == "-l" || first == "-L" {
            return refuse("kill: option \"-l\" is not supported");
        } else if let Some(sig) = first.strip_prefix('-') {
            if parse_signal(sig).is_none() {
                return refuse(format!("kill: unknown signal {sig:?}"));
            }
            i = 1;
        }
    }
    if i >= args.len() {
        return refuse("kill: missing pid");
    }
    for (w, l) in args[i..].iter().zip(&lits[i..]) {
        match l {
            Some(t) if t.parse::<i32>().is_ok() => {}
            Some(t)
                if t.strip_prefix('%')
                    .is_some_and(|n| n.parse::<usize>().is_ok()) => {}
            Some(t) => return refuse(format!("kill: unsupported target {t:?}")),
            None => {
                if w.parts.len() != 1 {
                    return refuse("kill: a target must be a pid, %N, $! or $$");
                }
            }
        }
    }
    Ok(())
}

fn validate_trap(lits: &[Option<String>]) -> PResult<Option<Arc<Script>>> {
    if lits.len() < 2 {
        return refuse("trap: expected \"trap ACTION SIGNAL...\"");
    }
    let Some(action) = &lits[0] else {
        return refuse("trap: the action must be a literal word");
    };
    for s in &lits[1..] {
        match s {
            Some(name) if parse_trap_signal(name).is_some() => {}
            Some(name) => return refuse(format!("trap: unknown signal {name:?}")),
            None => return refuse("trap: signals must be literal words"),
        }
    }
    if action == "-" || action.is_empty() {
        return Ok(None);
    }
    Ok(Some(Arc::new(parse_script(action)?)))
}

/// A signal name or number as `kill` accepts it (`TERM`, `SIGTERM`, `15`).
pub fn parse_signal(s: &str) -> Option<runtime_api::Signal> {
    runtime_api::Signal::parse(s)
}

/// A signal as `trap` accepts it: `EXIT`/`0` (the exit pseudo-signal, returned as 0) or a
/// signal.
pub fn parse_trap_signal(s: &str) -> Option<i32> {
    if s == "EXIT" || s == "0" {
        return Some(0);
    }
    parse_signal(s).map(|sig| sig.number())
}

/// A `sleep` duration: a non-negative decimal number with an optional `s`, `m`, `h` or `d`
/// suffix, in nanoseconds.
pub fn parse_duration_ns(s: &str) -> Option<u64> {
    let (num, mult) = match s.char_indices().last()? {
        (i, 's') => (&s[..i], 1e9),
        (i, 'm') => (&s[..i], 60e9),
        (i, 'h') => (&s[..i], 3600e9),
        (i, 'd') => (&s[..i], 86400e9),
        _ => (s, 1e9),
    };
    if num.is_empty() || !num.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return None;
    }
    let v: f64 = num.parse().ok()?;
    let ns = v * mult;
    (0.0..1e19).contains(&ns).then_some(ns.round() as u64)
}

/// What a process runs: a script, parsed from its argv.
///
/// `["sh", "-c", SCRIPT, ...]` (also `/bin/sh`, `ash`) parses SCRIPT; any other argv must be a
/// single command of the subset (`["sleep", "5"]`, `["echo", "hi"]`). An empty argv, or a
/// program outside the subset, is refused naming it.
pub fn parse_argv(argv: &[String]) -> PResult<Script> {
    let Some(prog) = argv.first() else {
        return refuse("process.args is empty");
    };
    let base = prog.rsplit('/').next().unwrap_or(prog);
    if base == "sh" || base == "ash" {
        match argv.get(1).map(String::as_str) {
            Some("-c") => {
                let Some(script) = argv.get(2) else {
                    return refuse("sh -c: missing script");
                };
                return parse_script(script);
            }
            Some(other) => return refuse(format!("sh: unsupported option {other:?} (only -c)")),
            None => return refuse("sh without -c (interactive shell) is not supported"),
        }
    }
    if !BUILTINS.contains(&base) && !UTILITIES.contains(&base) {
        return refuse(format!("unsupported command {prog:?}"));
    }
    let args = argv[1..].iter().map(|a| Word::lit(a)).collect();
    let cmd = build_command(base.to_string(), args, Redirect::None)?;
    Ok(Script {
        items: vec![Item {
            and_or: AndOr {
                first: cmd,
                rest: Vec::new(),
            },
            background: false,
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(s: &Script) -> Vec<String> {
        s.items
            .iter()
            .flat_map(|it| (0..it.and_or.len()).map(|i| it.and_or.command(i).name.clone()))
            .collect()
    }

    #[test]
    fn parses_the_subset() {
        let s = parse_script(
            "trap 'echo bye; exit 3' TERM; sleep 1000 & echo \"pid $!\" >&2; kill -9 %1 && true || false\nwait; exit $?",
        )
        .unwrap();
        assert_eq!(
            names(&s),
            ["trap", "sleep", "echo", "kill", "true", "false", "wait", "exit"]
        );
        assert!(s.items[1].background);
        assert_eq!(s.items[2].and_or.first.redirect, Redirect::OutToErr);
        assert_eq!(
            s.items[2].and_or.first.args[0].parts,
            vec![Part::Lit("pid ".into()), Part::LastBackground]
        );
        let trap = s.items[0].and_or.first.trap_action.as_ref().unwrap();
        assert_eq!(names(trap), ["echo", "exit"]);
    }

    #[test]
    fn refuses_naming_the_word() {
        for (src, needle) in [
            ("ls -l", "\"ls\""),
            ("echo hi | cat", "|"),
            ("echo $HOME", "$HOME"),
            ("echo hi > /tmp/x", "> /tmp/x"),
            ("if true; then echo; fi", "\"if\""),
            ("X=1 echo", "X=1"),
            ("head -n 1", "head -n 1"),
            ("cat /etc/passwd", "/etc/passwd"),
            ("echo $(id)", "$("),
            ("sleep forever", "forever"),
            ("trap 'ls' TERM", "\"ls\""),
            ("kill -l", "-l"),
        ] {
            let e = parse_script(src).unwrap_err();
            assert!(e.0.contains(needle), "{src:?}: {e}");
        }
    }

    #[test]
    fn argv_forms() {
        let a = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(parse_argv(&a(&["sh", "-c", "echo hi"])).is_ok());
        assert!(parse_argv(&a(&["/bin/sh", "-c", "exit 2"])).is_ok());
        assert!(parse_argv(&a(&["sleep", "5"])).is_ok());
        assert!(parse_argv(&a(&["/bin/cat"])).is_ok());
        assert!(parse_argv(&a(&["nginx"])).unwrap_err().0.contains("nginx"));
        assert!(parse_argv(&a(&[])).is_err());
        assert!(parse_argv(&a(&["sh"])).is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration_ns("1"), Some(1_000_000_000));
        assert_eq!(parse_duration_ns("0.5"), Some(500_000_000));
        assert_eq!(parse_duration_ns("2m"), Some(120_000_000_000));
        assert_eq!(parse_duration_ns("x"), None);
        assert_eq!(parse_duration_ns("-1"), None);
    }

    #[test]
    fn redirects_with_fd_numbers_and_quotes() {
        let s = parse_script("echo a 1>&2; echo b 2>&1; echo 'x y' \"\" z\\ w").unwrap();
        assert_eq!(s.items[0].and_or.first.redirect, Redirect::OutToErr);
        assert_eq!(s.items[1].and_or.first.redirect, Redirect::ErrToOut);
        let lits: Vec<_> = s.items[2]
            .and_or
            .first
            .args
            .iter()
            .map(|w| w.literal().unwrap())
            .collect();
        assert_eq!(lits, ["x y", "", "z w"]);
    }
}
