//! Parser of the supported `sh -c` subset (see the crate documentation for the grammar).
//!
//! Parsing happens at `create`/`exec`, so a script that uses anything outside the subset is
//! refused before any process exists, with an error that names the unsupported word.
//!
//! The grammar is POSIX `sh`'s, restricted:
//!
//! ```text
//! list      := and_or (('&' | ';' | newline) and_or)* [ '&' | ';' ]
//! and_or    := pipeline (('&&' | '||') newline* pipeline)*
//! pipeline  := ['!'] command ('|' newline* command)*
//! command   := simple | compound redirection*
//! compound  := '{' list '}' | '(' list ')'
//!            | 'if' list 'then' list ('elif' list 'then' list)* ['else' list] 'fi'
//!            | ('while' | 'until') list 'do' list 'done'
//!            | 'for' NAME ['in' word*] (';' | newline) 'do' list 'done'
//!            | 'case' word 'in' (['('] pattern ('|' pattern)* ')' list? ';;')* 'esac'
//! simple    := assignment* | (word | redirection)+       (a known command name first)
//! redirection := [0-2] ('>' | '>>' | '<') word | [0-2] ('>&' | '<&') [0-2]
//! ```

use std::sync::Arc;

/// A parsed script: a list of and-or chains, each run in the foreground or (with `&`) in a
/// forked background process.
#[derive(Debug, Clone, PartialEq)]
pub struct Script {
    /// The list items, in order.
    pub items: Vec<Item>,
}

/// A list (the body of a script, a group, a branch or a loop).
pub type List = Script;

/// One element of a list: an and-or chain and whether it ends with `&`.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// The chain.
    pub and_or: AndOr,
    /// Run in a forked child (`cmd &`).
    pub background: bool,
}

/// `p1 && p2 || p3 ...`.
#[derive(Debug, Clone, PartialEq)]
pub struct AndOr {
    /// The first pipeline.
    pub first: Pipeline,
    /// The following pipelines with the connector before each.
    pub rest: Vec<(Connector, Pipeline)>,
}

impl AndOr {
    /// The number of pipelines in the chain.
    pub fn len(&self) -> usize {
        1 + self.rest.len()
    }

    /// Whether the chain is empty (never: it always has a first pipeline).
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The `i`th pipeline.
    pub fn pipeline(&self, i: usize) -> &Pipeline {
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
    /// Run the next pipeline if the previous one succeeded.
    And,
    /// Run the next pipeline if the previous one failed.
    Or,
}

/// `[!] c1 | c2 | ...`.
#[derive(Debug, Clone, PartialEq)]
pub struct Pipeline {
    /// `!`: the status is negated.
    pub bang: bool,
    /// The commands (one for a plain command).
    pub cmds: Vec<Command>,
}

/// A command with its redirections.
#[derive(Debug, Clone, PartialEq)]
pub struct Command {
    /// What it is.
    pub kind: CommandKind,
    /// Redirections, applied in order before it runs.
    pub redirs: Vec<Redir>,
}

/// The kinds of command.
#[derive(Debug, Clone, PartialEq)]
pub enum CommandKind {
    /// A simple command: assignments only (`X=1 Y=2`), or a command name and its arguments.
    Simple(Simple),
    /// `{ list; }`: runs in the shell itself.
    Group(Arc<List>),
    /// `( list )`: runs in a forked child shell (or in the shell itself when it is the last
    /// thing the shell does and no trap handler was ever set, as busybox ash does).
    Subshell(Arc<List>),
    /// `if`: the (condition, body) pairs of `if` and every `elif`, and the `else` body.
    If(Arc<IfNode>),
    /// `while` (`until: false`) or `until` loop.
    Loop(Arc<LoopNode>),
    /// `for NAME in WORDS; do BODY; done`.
    For(Arc<ForNode>),
    /// `case WORD in PATTERNS) BODY;; ... esac`.
    Case(Arc<CaseNode>),
}

/// A simple command.
#[derive(Debug, Clone, PartialEq)]
pub struct Simple {
    /// `NAME=VALUE` assignments (only when there is no command word).
    pub assigns: Vec<(String, Word)>,
    /// The command name (a literal word of the subset), `None` for assignments only.
    pub name: Option<String>,
    /// The argument words, expanded when the command runs.
    pub args: Vec<Word>,
    /// For `trap ACTION SIG...`: the parsed action (`None` for `-` or `''`).
    pub trap_action: Option<Arc<Script>>,
}

/// `if` / `elif` / `else`.
#[derive(Debug, Clone, PartialEq)]
pub struct IfNode {
    /// Each condition with its body.
    pub branches: Vec<(Arc<List>, Arc<List>)>,
    /// The `else` body.
    pub otherwise: Option<Arc<List>>,
}

/// `while`/`until`.
#[derive(Debug, Clone, PartialEq)]
pub struct LoopNode {
    /// `until` (run while the condition fails).
    pub until: bool,
    /// The condition.
    pub cond: Arc<List>,
    /// The body.
    pub body: Arc<List>,
}

/// `for`.
#[derive(Debug, Clone, PartialEq)]
pub struct ForNode {
    /// The loop variable.
    pub var: String,
    /// The words to iterate over (expanded when the loop starts).
    pub words: Vec<Word>,
    /// The body.
    pub body: Arc<List>,
}

/// `case`.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseNode {
    /// The word matched.
    pub word: Word,
    /// The arms: patterns and body.
    pub arms: Vec<(Vec<Word>, Arc<List>)>,
}

/// A redirection of one of the standard fds.
#[derive(Debug, Clone, PartialEq)]
pub struct Redir {
    /// The fd redirected (0, 1 or 2).
    pub fd: i32,
    /// How.
    pub op: RedirOp,
}

/// What a redirection does.
#[derive(Debug, Clone, PartialEq)]
pub enum RedirOp {
    /// `> FILE`: truncates or creates FILE.
    Out(Word),
    /// `>> FILE`: appends.
    Append(Word),
    /// `< FILE`: reads.
    In(Word),
    /// `>&N`, `<&N`: a copy of fd N.
    Dup(i32),
}

/// A word: literal text, parameters, and (in `case` patterns) glob characters.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Word {
    /// The parts, concatenated at expansion.
    pub parts: Vec<Part>,
}

/// A piece of a word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// Literal text (quoted or not: it is never split).
    Lit(String),
    /// `$!`: pid of the last background job.
    LastBackground,
    /// `$?`: status of the last command.
    LastStatus,
    /// `$$`: the shell's own pid.
    ShellPid,
    /// `$NAME` or `${NAME}`; unquoted ones are split into fields on blanks.
    Var {
        /// The variable.
        name: String,
        /// Inside double quotes.
        quoted: bool,
    },
    /// An unquoted `*` or `?` (a pattern character in `case`; refused elsewhere).
    Glob(char),
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

    fn has_glob(&self) -> bool {
        self.parts.iter().any(|p| matches!(p, Part::Glob(_)))
    }
}

/// The builtins the simulated shell runs in its own process.
pub const BUILTINS: [&str; 16] = [
    "echo", "printf", "exit", "kill", "trap", "true", "false", "wait", ":", "read", "test", "[",
    "break", "continue", "exec", "cd",
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
enum Tok {
    /// A word, and its text when it is one unquoted literal (for reserved words).
    Word(Word, Option<String>),
    Newline,
    Semi,
    DSemi,
    Amp,
    AndIf,
    OrIf,
    Pipe,
    LParen,
    RParen,
    Redir(i32, RedirKind),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum RedirKind {
    Out,
    Append,
    In,
    DupOut,
    DupIn,
}

/// Whether `c` ends an unquoted word. The shell's blanks are space and tab (and newline, a
/// token of its own); every other character, other Unicode white space (`\r`, vertical tab,
/// form feed, U+0085, U+00A0...) included, is part of a word, as in busybox ash. (This used to
/// be `char::is_whitespace`, which disagreed with `lex`'s blanks: on `\r` or U+0085 a word
/// ended without taking a character and `lex` looped for ever; found by `fuzz/sim_shell_parse`.)
fn is_break(c: char) -> bool {
    matches!(
        c,
        ' ' | '\t' | '\n' | ';' | '&' | '|' | '(' | ')' | '<' | '>'
    )
}

fn lex(src: &str) -> PResult<Vec<Tok>> {
    let chars: Vec<char> = src.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        match c {
            ' ' | '\t' => i += 1,
            '\\' if next == Some('\n') => i += 2,
            '\n' => {
                out.push(Tok::Newline);
                i += 1;
            }
            ';' => {
                if next == Some(';') {
                    out.push(Tok::DSemi);
                    i += 2;
                } else {
                    out.push(Tok::Semi);
                    i += 1;
                }
            }
            '#' => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '&' => match next {
                Some('&') => {
                    out.push(Tok::AndIf);
                    i += 2;
                }
                Some('>') => return refuse("unsupported redirection \"&>\""),
                _ => {
                    out.push(Tok::Amp);
                    i += 1;
                }
            },
            '|' => {
                if next == Some('|') {
                    out.push(Tok::OrIf);
                    i += 2;
                } else {
                    out.push(Tok::Pipe);
                    i += 1;
                }
            }
            '(' => {
                out.push(Tok::LParen);
                i += 1;
            }
            ')' => {
                out.push(Tok::RParen);
                i += 1;
            }
            '`' => return refuse("unsupported command substitution \"`\""),
            '>' | '<' => i = lex_redir(&chars, i, None, &mut out)?,
            d if d.is_ascii_digit() && matches!(next, Some('>' | '<')) => {
                let fd = d.to_digit(10).unwrap_or(0) as i32;
                i = lex_redir(&chars, i + 1, Some(fd), &mut out)?;
            }
            _ => {
                let (word, raw, next) = lex_word(&chars, i)?;
                if next <= i {
                    // Every character reaching here starts a word; one that does not would
                    // loop for ever. Refuse the script rather than hang the host.
                    return refuse(format!("unsupported character {c:?}"));
                }
                out.push(Tok::Word(word, raw));
                i = next;
            }
        }
    }
    Ok(out)
}

fn lex_redir(chars: &[char], mut i: usize, fd: Option<i32>, out: &mut Vec<Tok>) -> PResult<usize> {
    let c = chars[i];
    let next = chars.get(i + 1).copied();
    let (kind, len) = match (c, next) {
        ('>', Some('>')) => (RedirKind::Append, 2),
        ('>', Some('&')) => (RedirKind::DupOut, 2),
        ('>', Some('|')) => return refuse("unsupported redirection \">|\""),
        ('>', _) => (RedirKind::Out, 1),
        ('<', Some('<')) => return refuse("unsupported here-document \"<<\""),
        ('<', Some('&')) => (RedirKind::DupIn, 2),
        ('<', Some('>')) => return refuse("unsupported redirection \"<>\""),
        _ => (RedirKind::In, 1),
    };
    let default = if c == '>' { 1 } else { 0 };
    let fd = fd.unwrap_or(default);
    if fd > 2 {
        return refuse(format!(
            "unsupported redirection of fd {fd} (only 0, 1 and 2)"
        ));
    }
    i += len;
    out.push(Tok::Redir(fd, kind));
    Ok(i)
}

fn push_lit(parts: &mut Vec<Part>, c: char) {
    if let Some(Part::Lit(s)) = parts.last_mut() {
        s.push(c);
    } else {
        parts.push(Part::Lit(c.to_string()));
    }
}

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_name(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

fn lex_dollar(chars: &[char], i: usize, quoted: bool, parts: &mut Vec<Part>) -> PResult<usize> {
    // chars[i] == '$'
    match chars.get(i + 1) {
        Some('!') => parts.push(Part::LastBackground),
        Some('?') => parts.push(Part::LastStatus),
        Some('$') => parts.push(Part::ShellPid),
        Some('(') => {
            return if chars.get(i + 2) == Some(&'(') {
                refuse("unsupported arithmetic expansion \"$((\"")
            } else {
                refuse("unsupported command substitution \"$(\"")
            }
        }
        Some('{') => {
            let body: String = chars[i + 2..].iter().take_while(|c| **c != '}').collect();
            let closed = chars.get(i + 2 + body.chars().count()) == Some(&'}');
            if closed && body.chars().next().is_some_and(is_name_start) && body.chars().all(is_name)
            {
                parts.push(Part::Var {
                    name: body.clone(),
                    quoted,
                });
                return Ok(i + 3 + body.chars().count());
            }
            return refuse(format!(
                "unsupported parameter expansion \"${{{body}{}\" (only ${{NAME}})",
                if closed { "}" } else { "" }
            ));
        }
        Some(c) if is_name_start(*c) => {
            let name: String = chars[i + 1..].iter().take_while(|c| is_name(**c)).collect();
            let n = name.chars().count();
            parts.push(Part::Var { name, quoted });
            return Ok(i + 1 + n);
        }
        Some(c) if c.is_ascii_digit() || matches!(c, '@' | '*' | '#' | '-') => {
            return refuse(format!(
                "unsupported parameter \"${c}\" (only $NAME, ${{NAME}}, $!, $? and $$)"
            ));
        }
        _ => {
            push_lit(parts, '$');
            return Ok(i + 1);
        }
    }
    Ok(i + 2)
}

/// Lexes one word; returns it, its text if it is a single unquoted literal, and where it ends.
fn lex_word(chars: &[char], mut i: usize) -> PResult<(Word, Option<String>, usize)> {
    let mut parts = Vec::new();
    let mut plain = true;
    while i < chars.len() {
        let c = chars[i];
        if is_break(c) {
            break;
        }
        match c {
            '`' => return refuse("unsupported command substitution \"`\""),
            '\'' => {
                plain = false;
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
                plain = false;
                i += 1;
                let mut closed = false;
                // An empty "" still yields a (possibly empty) literal.
                if !matches!(parts.last(), Some(Part::Lit(_))) {
                    parts.push(Part::Lit(String::new()));
                }
                while i < chars.len() {
                    match chars[i] {
                        '"' => {
                            closed = true;
                            i += 1;
                            break;
                        }
                        '\\' if matches!(chars.get(i + 1), Some('\n')) => i += 2,
                        '\\' if matches!(chars.get(i + 1), Some('"' | '\\' | '$' | '`')) => {
                            push_lit(&mut parts, chars[i + 1]);
                            i += 2;
                        }
                        '$' => i = lex_dollar(chars, i, true, &mut parts)?,
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
                plain = false;
                match chars.get(i + 1) {
                    Some('\n') => {}
                    Some(n) => push_lit(&mut parts, *n),
                    None => push_lit(&mut parts, '\\'),
                }
                i += 2;
            }
            '$' => {
                plain = false;
                i = lex_dollar(chars, i, false, &mut parts)?;
            }
            '*' | '?' => {
                plain = false;
                parts.push(Part::Glob(c));
                i += 1;
            }
            '~' if parts.is_empty() => {
                return refuse("unsupported tilde expansion \"~\"");
            }
            other => {
                push_lit(&mut parts, other);
                i += 1;
            }
        }
    }
    let word = Word { parts };
    let raw = if plain { word.literal() } else { None };
    Ok((word, raw, i))
}

const RESERVED: [&str; 16] = [
    "if", "then", "else", "elif", "fi", "while", "until", "for", "do", "done", "case", "esac", "{",
    "}", "!", "in",
];
const UNSUPPORTED_KEYWORDS: [&str; 2] = ["function", "select"];

/// Nesting bound: deeper scripts are refused (keeps the parser's recursion bounded).
const MAX_DEPTH: usize = 64;

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn peek_reserved(&self) -> Option<&str> {
        match self.peek() {
            Some(Tok::Word(_, Some(raw))) if RESERVED.contains(&raw.as_str()) => Some(raw),
            _ => None,
        }
    }

    fn skip_newlines(&mut self) {
        while self.peek() == Some(&Tok::Newline) {
            self.pos += 1;
        }
    }

    fn expect_reserved(&mut self, word: &str) -> PResult<()> {
        self.skip_newlines();
        if self.peek_reserved() == Some(word) {
            self.pos += 1;
            Ok(())
        } else {
            refuse(format!(
                "syntax error: expected \"{word}\", found {}",
                self.describe()
            ))
        }
    }

    fn describe(&self) -> String {
        match self.peek() {
            None => "end of script".into(),
            Some(Tok::Word(w, raw)) => format!(
                "{:?}",
                raw.clone()
                    .or_else(|| w.literal())
                    .unwrap_or_else(|| "a word".into())
            ),
            Some(Tok::Newline) => "newline".into(),
            Some(Tok::Semi) => "\";\"".into(),
            Some(Tok::DSemi) => "\";;\"".into(),
            Some(Tok::Amp) => "\"&\"".into(),
            Some(Tok::AndIf) => "\"&&\"".into(),
            Some(Tok::OrIf) => "\"||\"".into(),
            Some(Tok::Pipe) => "\"|\"".into(),
            Some(Tok::LParen) => "\"(\"".into(),
            Some(Tok::RParen) => "\")\"".into(),
            Some(Tok::Redir(..)) => "a redirection".into(),
        }
    }

    fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return refuse(format!("script nested deeper than {MAX_DEPTH} levels"));
        }
        Ok(())
    }

    /// A list, up to a closing reserved word, `)`, `;;` or the end.
    fn list(&mut self) -> PResult<List> {
        self.enter()?;
        let mut items = Vec::new();
        loop {
            self.skip_newlines();
            match self.peek() {
                None | Some(Tok::RParen) | Some(Tok::DSemi) => break,
                _ => {}
            }
            if matches!(
                self.peek_reserved(),
                Some("then" | "elif" | "else" | "fi" | "do" | "done" | "esac" | "}")
            ) {
                break;
            }
            let and_or = self.and_or()?;
            let background = match self.peek() {
                Some(Tok::Amp) => {
                    self.pos += 1;
                    true
                }
                Some(Tok::Semi) | Some(Tok::Newline) => {
                    self.pos += 1;
                    false
                }
                None | Some(Tok::RParen) | Some(Tok::DSemi) => false,
                _ if matches!(
                    self.peek_reserved(),
                    Some("then" | "elif" | "else" | "fi" | "do" | "done" | "esac" | "}")
                ) =>
                {
                    false
                }
                _ => return refuse(format!("syntax error: unexpected {}", self.describe())),
            };
            items.push(Item { and_or, background });
        }
        self.depth -= 1;
        Ok(Script { items })
    }

    fn and_or(&mut self) -> PResult<AndOr> {
        let first = self.pipeline()?;
        let mut rest = Vec::new();
        loop {
            let conn = match self.peek() {
                Some(Tok::AndIf) => Connector::And,
                Some(Tok::OrIf) => Connector::Or,
                _ => break,
            };
            self.pos += 1;
            self.skip_newlines();
            rest.push((conn, self.pipeline()?));
        }
        Ok(AndOr { first, rest })
    }

    fn pipeline(&mut self) -> PResult<Pipeline> {
        let mut bang = false;
        if self.peek_reserved() == Some("!") {
            self.pos += 1;
            bang = true;
        }
        let mut cmds = vec![self.command()?];
        while self.peek() == Some(&Tok::Pipe) {
            self.pos += 1;
            self.skip_newlines();
            cmds.push(self.command()?);
        }
        Ok(Pipeline { bang, cmds })
    }

    fn redirs(&mut self, redirs: &mut Vec<Redir>) -> PResult<()> {
        while let Some(Tok::Redir(fd, kind)) = self.peek().cloned() {
            self.pos += 1;
            let target = match self.peek().cloned() {
                Some(Tok::Word(w, _)) => {
                    self.pos += 1;
                    w
                }
                _ => return refuse("syntax error: a redirection without a target"),
            };
            redirs.push(build_redir(fd, kind, target)?);
        }
        Ok(())
    }

    fn command(&mut self) -> PResult<Command> {
        self.enter()?;
        let kind = match (self.peek().cloned(), self.peek_reserved()) {
            (Some(Tok::LParen), _) => {
                self.pos += 1;
                let body = self.list()?;
                if self.peek() != Some(&Tok::RParen) {
                    return refuse(format!(
                        "syntax error: expected \")\", found {}",
                        self.describe()
                    ));
                }
                self.pos += 1;
                non_empty(&body, "( )")?;
                Some(CommandKind::Subshell(Arc::new(body)))
            }
            (_, Some("{")) => {
                self.pos += 1;
                let body = self.list()?;
                self.expect_reserved("}")?;
                non_empty(&body, "{ }")?;
                Some(CommandKind::Group(Arc::new(body)))
            }
            (_, Some("if")) => {
                self.pos += 1;
                let mut branches = Vec::new();
                let mut otherwise = None;
                loop {
                    let cond = self.list()?;
                    self.expect_reserved("then")?;
                    let body = self.list()?;
                    non_empty(&cond, "if")?;
                    non_empty(&body, "then")?;
                    branches.push((Arc::new(cond), Arc::new(body)));
                    match self.peek_reserved() {
                        Some("elif") => self.pos += 1,
                        Some("else") => {
                            self.pos += 1;
                            let body = self.list()?;
                            non_empty(&body, "else")?;
                            otherwise = Some(Arc::new(body));
                            self.expect_reserved("fi")?;
                            break;
                        }
                        _ => {
                            self.expect_reserved("fi")?;
                            break;
                        }
                    }
                }
                Some(CommandKind::If(Arc::new(IfNode {
                    branches,
                    otherwise,
                })))
            }
            (_, Some(kw @ ("while" | "until"))) => {
                let until = kw == "until";
                self.pos += 1;
                let cond = self.list()?;
                self.expect_reserved("do")?;
                let body = self.list()?;
                self.expect_reserved("done")?;
                non_empty(&cond, if until { "until" } else { "while" })?;
                non_empty(&body, "do")?;
                Some(CommandKind::Loop(Arc::new(LoopNode {
                    until,
                    cond: Arc::new(cond),
                    body: Arc::new(body),
                })))
            }
            (_, Some("for")) => {
                self.pos += 1;
                let var = match self.peek().cloned() {
                    Some(Tok::Word(_, Some(name)))
                        if name.chars().next().is_some_and(is_name_start)
                            && name.chars().all(is_name) =>
                    {
                        self.pos += 1;
                        name
                    }
                    _ => return refuse("syntax error: \"for\" needs a variable name"),
                };
                self.skip_newlines();
                let mut words = Vec::new();
                if self.peek_reserved() == Some("in") {
                    self.pos += 1;
                    // The words are not in command position: `do` is a word here, as in sh.
                    while let Some(Tok::Word(w, _)) = self.peek().cloned() {
                        if w.has_glob() {
                            return refuse(glob_refusal(&w));
                        }
                        words.push(w);
                        self.pos += 1;
                    }
                    if let Some(Tok::Semi | Tok::Newline) = self.peek() {
                        self.pos += 1;
                    }
                } else {
                    return refuse("unsupported \"for\" without \"in\" (positional parameters)");
                }
                self.expect_reserved("do")?;
                let body = self.list()?;
                self.expect_reserved("done")?;
                non_empty(&body, "do")?;
                Some(CommandKind::For(Arc::new(ForNode {
                    var,
                    words,
                    body: Arc::new(body),
                })))
            }
            (_, Some("case")) => {
                self.pos += 1;
                let word = match self.peek().cloned() {
                    Some(Tok::Word(w, _)) if !w.has_glob() => {
                        self.pos += 1;
                        w
                    }
                    _ => return refuse("syntax error: \"case\" needs a word"),
                };
                self.expect_reserved("in")?;
                let mut arms = Vec::new();
                loop {
                    self.skip_newlines();
                    if self.peek_reserved() == Some("esac") {
                        self.pos += 1;
                        break;
                    }
                    if self.peek() == Some(&Tok::LParen) {
                        self.pos += 1;
                    }
                    let mut pats = Vec::new();
                    loop {
                        match self.peek().cloned() {
                            Some(Tok::Word(w, _)) => {
                                self.pos += 1;
                                pats.push(w);
                            }
                            _ => return refuse("syntax error: a case pattern is missing"),
                        }
                        match self.peek() {
                            Some(Tok::Pipe) => self.pos += 1,
                            Some(Tok::RParen) => {
                                self.pos += 1;
                                break;
                            }
                            _ => {
                                return refuse(format!(
                                    "syntax error: expected \")\" after a case pattern, found {}",
                                    self.describe()
                                ))
                            }
                        }
                    }
                    let body = self.list()?;
                    arms.push((pats, Arc::new(body)));
                    self.skip_newlines();
                    match self.peek() {
                        Some(Tok::DSemi) => self.pos += 1,
                        _ if self.peek_reserved() == Some("esac") => {}
                        _ => {
                            return refuse(format!(
                                "syntax error: expected \";;\" or \"esac\", found {}",
                                self.describe()
                            ))
                        }
                    }
                }
                Some(CommandKind::Case(Arc::new(CaseNode { word, arms })))
            }
            (_, Some(kw)) => {
                return refuse(format!("syntax error: unexpected \"{kw}\""));
            }
            _ => None,
        };
        let command = match kind {
            Some(kind) => {
                let mut redirs = Vec::new();
                self.redirs(&mut redirs)?;
                Command { kind, redirs }
            }
            None => self.simple()?,
        };
        self.depth -= 1;
        Ok(command)
    }

    fn simple(&mut self) -> PResult<Command> {
        let mut words: Vec<(Word, Option<String>)> = Vec::new();
        let mut redirs = Vec::new();
        loop {
            match self.peek().cloned() {
                Some(Tok::Word(w, raw)) => {
                    self.pos += 1;
                    words.push((w, raw));
                }
                Some(Tok::Redir(..)) => self.redirs(&mut redirs)?,
                Some(Tok::LParen) if !words.is_empty() => {
                    return refuse("unsupported function definition \"()\"")
                }
                _ => break,
            }
        }
        if words.is_empty() {
            return if redirs.is_empty() {
                refuse(format!("syntax error: unexpected {}", self.describe()))
            } else {
                refuse("unsupported redirection without a command")
            };
        }
        // Leading assignments.
        let mut assigns = Vec::new();
        let mut i = 0;
        while i < words.len() {
            match assignment(&words[i].0) {
                Some(a) => assigns.push(a),
                None => break,
            }
            i += 1;
        }
        if i == words.len() {
            if !redirs.is_empty() {
                return refuse("unsupported redirection on an assignment");
            }
            return Ok(Command {
                kind: CommandKind::Simple(Simple {
                    assigns,
                    name: None,
                    args: Vec::new(),
                    trap_action: None,
                }),
                redirs,
            });
        }
        if !assigns.is_empty() {
            return refuse(format!(
                "unsupported assignment before a command ({:?})",
                words[0].0.literal().unwrap_or_default()
            ));
        }
        let Some(name) = words[0].0.literal() else {
            return refuse("unsupported command word: a parameter or pattern as command name");
        };
        if UNSUPPORTED_KEYWORDS.contains(&name.as_str()) {
            return refuse(format!("unsupported shell keyword {name:?}"));
        }
        let args: Vec<Word> = words[1..].iter().map(|(w, _)| w.clone()).collect();
        if let Some(w) = args.iter().find(|w| w.has_glob()) {
            return refuse(glob_refusal(w));
        }
        let simple = build_simple(name, args)?;
        Ok(Command {
            kind: CommandKind::Simple(simple),
            redirs,
        })
    }
}

fn glob_refusal(w: &Word) -> String {
    let text: String = w
        .parts
        .iter()
        .map(|p| match p {
            Part::Lit(t) => t.clone(),
            Part::Glob(c) => c.to_string(),
            _ => "$".into(),
        })
        .collect();
    format!("unsupported pattern word {text:?} (globbing)")
}

fn non_empty(list: &List, what: &str) -> PResult<()> {
    if list.items.is_empty() {
        refuse(format!("syntax error: empty \"{what}\" body"))
    } else {
        Ok(())
    }
}

fn assignment(w: &Word) -> Option<(String, Word)> {
    let Some(Part::Lit(first)) = w.parts.first() else {
        return None;
    };
    let eq = first.find('=')?;
    let name = &first[..eq];
    if name.is_empty()
        || !name.chars().next().is_some_and(is_name_start)
        || !name.chars().all(is_name)
    {
        return None;
    }
    let mut parts = vec![Part::Lit(first[eq + 1..].to_string())];
    parts.extend(w.parts[1..].iter().cloned());
    Some((name.to_string(), Word { parts }))
}

fn build_redir(fd: i32, kind: RedirKind, target: Word) -> PResult<Redir> {
    if target.has_glob() {
        return refuse(glob_refusal(&target));
    }
    let op = match kind {
        RedirKind::Out | RedirKind::Append | RedirKind::In => {
            if let Some(path) = target.literal() {
                check_path(&path)?;
            }
            match kind {
                RedirKind::Out => RedirOp::Out(target),
                RedirKind::Append => RedirOp::Append(target),
                _ => RedirOp::In(target),
            }
        }
        RedirKind::DupOut | RedirKind::DupIn => {
            let sym = if kind == RedirKind::DupOut {
                ">&"
            } else {
                "<&"
            };
            match target.literal().as_deref() {
                Some(n @ ("0" | "1" | "2")) => RedirOp::Dup(n.parse().unwrap_or(0)),
                Some(other) => {
                    return refuse(format!(
                        "unsupported redirection \"{sym}{other}\" (only fds 0, 1 and 2)"
                    ))
                }
                None => return refuse(format!("unsupported redirection \"{sym}\" to a parameter")),
            }
        }
    };
    Ok(Redir { fd, op })
}

/// Paths the simulated file system refuses: the kernel's pseudo file systems (besides
/// `/dev/null` and `/dev/zero`) and `..`.
pub fn check_path(path: &str) -> PResult<()> {
    let p = if path.starts_with('/') {
        path.to_string()
    } else {
        format!("/{path}")
    };
    if p.split('/').any(|c| c == "..") {
        return refuse(format!("unsupported path {path:?} (\"..\")"));
    }
    for pseudo in ["/proc", "/sys", "/dev"] {
        if (p == pseudo || p.starts_with(&format!("{pseudo}/")))
            && p != "/dev/null"
            && p != "/dev/zero"
        {
            return refuse(format!(
                "unsupported path {path:?} (only /dev/null and /dev/zero of the kernel's files)"
            ));
        }
    }
    Ok(())
}

/// Parses a `sh -c` script of the subset.
pub fn parse_script(src: &str) -> PResult<Script> {
    let toks = lex(src)?;
    let mut p = Parser {
        toks,
        pos: 0,
        depth: 0,
    };
    let list = p.list()?;
    if p.pos < p.toks.len() {
        return refuse(format!("syntax error: unexpected {}", p.describe()));
    }
    Ok(list)
}

/// Validates a simple command of the subset and builds it.
fn build_simple(name: String, args: Vec<Word>) -> PResult<Simple> {
    let lits: Vec<Option<String>> = args.iter().map(Word::literal).collect();
    let mut trap_action = None;
    match name.as_str() {
        "echo" | "printf" | "true" | "false" | ":" | "test" | "[" | "break" | "continue" => {
            if name == "printf" && args.is_empty() {
                return refuse("printf: missing format");
            }
            if name == "test" || name == "[" {
                validate_test(&name, &lits)?;
            }
        }
        "cd" => {
            return refuse("unsupported command \"cd\" (the working directory is not modelled)")
        }
        "exit" => {
            if args.len() > 1 {
                return refuse("exit: too many arguments");
            }
        }
        "wait" => {}
        "read" => {
            let mut i = 0;
            while let Some(Some(opt)) = lits.get(i) {
                if opt == "-r" {
                    i += 1;
                } else if opt.starts_with('-') {
                    return refuse(format!("read: unsupported option {opt:?} (only -r)"));
                } else {
                    break;
                }
            }
            if i == lits.len() {
                return refuse("read: a variable name is needed (REPLY is not modelled)");
            }
            for l in &lits[i..] {
                match l {
                    Some(n)
                        if n.chars().next().is_some_and(is_name_start)
                            && n.chars().all(is_name) => {}
                    _ => return refuse("read: arguments must be variable names"),
                }
            }
        }
        "exec" => {
            if let Some(first) = lits.first() {
                let Some(prog) = first else {
                    return refuse("exec: a parameter as command name is not supported");
                };
                if !UTILITIES.contains(&prog.as_str()) {
                    return refuse(format!(
                        "exec: only a program (sleep, cat, head) can be exec'd, not {prog:?}"
                    ));
                }
                build_simple(prog.clone(), args[1..].to_vec())?;
            }
        }
        "kill" => validate_kill(&args, &lits)?,
        "trap" => trap_action = validate_trap(&lits)?,
        "sleep" => {
            if args.is_empty() {
                return refuse("sleep: missing operand");
            }
            for l in lits.iter().flatten() {
                if parse_duration_ns(l).is_none() {
                    return refuse(format!("sleep: unsupported duration {l:?}"));
                }
            }
        }
        "cat" => {
            for l in lits.iter().flatten() {
                if l.starts_with('-') && l != "-" {
                    return refuse(format!("cat: unsupported option {l:?}"));
                }
                check_path(l)?;
            }
        }
        "head" => validate_head(&lits)?,
        other => return refuse(format!("unsupported command {other:?}")),
    }
    Ok(Simple {
        assigns: Vec::new(),
        name: Some(name),
        args,
        trap_action,
    })
}

/// `head [-c N | -n N] [FILE]`.
fn validate_head(lits: &[Option<String>]) -> PResult<()> {
    let what = || {
        let v: Vec<String> = lits.iter().map(|l| l.clone().unwrap_or_default()).collect();
        format!(
            "head: only \"head [-c N | -n N] [FILE]\" is supported, not \"head {}\"",
            v.join(" ")
        )
    };
    let mut i = 0;
    if let Some(Some(opt)) = lits.first() {
        if opt == "-c" || opt == "-n" {
            match lits.get(1) {
                Some(Some(n)) if n.parse::<u64>().is_ok() => {}
                Some(None) => {}
                _ => return refuse(what()),
            }
            i = 2;
        }
    }
    match &lits[i.min(lits.len())..] {
        [] => Ok(()),
        [Some(f)] if !f.starts_with('-') || f == "-" => check_path(f),
        [None] => Ok(()),
        _ => refuse(what()),
    }
}

const TEST_UNARY: [&str; 6] = ["-n", "-z", "-e", "-f", "-d", "-s"];
const TEST_BINARY: [&str; 8] = ["=", "!=", "-eq", "-ne", "-lt", "-le", "-gt", "-ge"];

fn validate_test(name: &str, lits: &[Option<String>]) -> PResult<()> {
    let mut lits = lits.to_vec();
    if name == "[" && lits.last() == Some(&Some("]".to_string())) {
        // (A missing `]` is the shell's run-time error, as in ash.)
        lits.pop();
    }
    for l in lits.iter().flatten() {
        if l.starts_with('-')
            && l.len() == 2
            && !TEST_UNARY.contains(&l.as_str())
            && !TEST_BINARY.contains(&l.as_str())
        {
            return refuse(format!("{name}: unsupported operator {l:?}"));
        }
        if l == "-a" || l == "-o" || l == "(" || l == ")" {
            return refuse(format!("{name}: unsupported operator {l:?}"));
        }
    }
    if lits.len() > 4 {
        return refuse(format!("{name}: more than 4 arguments are not supported"));
    }
    Ok(())
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
    for l in lits[i..].iter().flatten() {
        let ok = l.parse::<i32>().is_ok()
            || l.strip_prefix('%')
                .is_some_and(|n| n.parse::<usize>().is_ok());
        if !ok {
            return refuse(format!("kill: unsupported target {l:?}"));
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
    if matches!(
        base,
        "exit" | "trap" | "wait" | "read" | "break" | "continue" | "exec" | "cd" | "kill"
    ) {
        return refuse(format!("{base:?} is a shell builtin, not a program"));
    }
    let args = argv[1..].iter().map(|a| Word::lit(a)).collect();
    let simple = build_simple(base.to_string(), args)?;
    Ok(Script {
        items: vec![Item {
            and_or: AndOr {
                first: Pipeline {
                    bang: false,
                    cmds: vec![Command {
                        kind: CommandKind::Simple(simple),
                        redirs: Vec::new(),
                    }],
                },
                rest: Vec::new(),
            },
            background: false,
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unicode_white_space_is_part_of_a_word_and_parsing_ends() {
        // The fuzz input that hung the lexer: '?' then U+0085 (NEL). It lexes to one word (a
        // glob and a literal); whether the parser accepts it, it returns.
        let toks = lex("?\u{85}").expect("lexes");
        assert!(matches!(toks.as_slice(), [Tok::Word(..)]), "{toks:?}");
        let _ = parse_script("?\u{85}");
        for (src, word) in [
            ("echo a\rb", "a\rb"),
            ("echo \u{a0}x", "\u{a0}x"),
            ("echo \u{0b}\u{0c}", "\u{0b}\u{0c}"),
        ] {
            let toks = lex(src).expect("lexes");
            let Some(Tok::Word(w, _)) = toks.last() else {
                panic!("{src:?}: no word in {toks:?}");
            };
            assert_eq!(w.literal().as_deref(), Some(word), "{src:?}");
            parse_script(src).expect("parses");
        }
    }

    fn names(s: &Script) -> Vec<String> {
        fn walk(l: &List, out: &mut Vec<String>) {
            for it in &l.items {
                for i in 0..it.and_or.len() {
                    for c in &it.and_or.pipeline(i).cmds {
                        match &c.kind {
                            CommandKind::Simple(s) => {
                                out.push(s.name.clone().unwrap_or_else(|| "=".into()))
                            }
                            CommandKind::Group(b) | CommandKind::Subshell(b) => walk(b, out),
                            CommandKind::If(n) => {
                                for (c, b) in &n.branches {
                                    walk(c, out);
                                    walk(b, out);
                                }
                                if let Some(e) = &n.otherwise {
                                    walk(e, out);
                                }
                            }
                            CommandKind::Loop(n) => {
                                walk(&n.cond, out);
                                walk(&n.body, out);
                            }
                            CommandKind::For(n) => walk(&n.body, out),
                            CommandKind::Case(n) => {
                                for (_, b) in &n.arms {
                                    walk(b, out);
                                }
                            }
                        }
                    }
                }
            }
        }
        let mut out = Vec::new();
        walk(s, &mut out);
        out
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
        let echo = &s.items[2].and_or.first.cmds[0];
        assert_eq!(
            echo.redirs,
            vec![Redir {
                fd: 1,
                op: RedirOp::Dup(2)
            }]
        );
    }

    #[test]
    fn parses_compound_commands() {
        let s = parse_script(
            "X=1; if [ \"$X\" = 1 ]; then echo one; elif true; then :; else exit 2; fi\n\
             while read -r l; do echo \"$l\"; done < /tmp/f\n\
             for i in a ${X} c; do echo $i | cat > /dev/null; done\n\
             case $X in 1|2) echo small;; *) echo big;; esac\n\
             ( sleep 1; echo sub ) & { echo g; } 2>&1; ! false; until false; do break; done",
        )
        .unwrap();
        assert_eq!(
            names(&s),
            [
                "=", "[", "echo", "true", ":", "exit", "read", "echo", "echo", "cat", "echo",
                "echo", "sleep", "echo", "echo", "false", "false", "break"
            ]
        );
    }

    #[test]
    fn refuses_naming_the_word() {
        for (src, needle) in [
            ("ls -l", "\"ls\""),
            ("echo $HOME $1", "$1"),
            ("echo hi > /proc/x", "/proc/x"),
            ("X=1 echo", "assignment before a command"),
            ("head -q 1", "head -q 1"),
            ("echo $(id)", "$("),
            ("echo `id`", "`"),
            ("sleep forever", "forever"),
            ("trap 'ls' TERM", "\"ls\""),
            ("kill -l", "-l"),
            ("echo *", "*"),
            ("cat <<EOF", "<<"),
            ("echo a 3>/dev/null", "fd 3"),
            ("f() { echo; }", "function"),
            ("if true; then echo; fi; fi", "\"fi\""),
            ("echo ${X:-a}", "${X:-a}"),
            ("[ -x /bin/sh ]", "-x"),
            ("exec echo hi", "exec"),
            ("while true; do", "\"done\""),
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
    fn words_quotes_and_variables() {
        let s = parse_script("echo 'x y' \"\" z\\ w \"a$X\" $Y").unwrap();
        let CommandKind::Simple(cmd) = &s.items[0].and_or.first.cmds[0].kind else {
            panic!()
        };
        let lits: Vec<_> = cmd.args[..3].iter().map(|w| w.literal().unwrap()).collect();
        assert_eq!(lits, ["x y", "", "z w"]);
        assert_eq!(
            cmd.args[3].parts,
            vec![
                Part::Lit("a".into()),
                Part::Var {
                    name: "X".into(),
                    quoted: true
                }
            ]
        );
        assert_eq!(
            cmd.args[4].parts,
            vec![Part::Var {
                name: "Y".into(),
                quoted: false
            }]
        );
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        let src = format!("{}echo{}", "( ".repeat(500), " )".repeat(500));
        assert!(parse_script(&src).unwrap_err().0.contains("nested"));
    }
}
