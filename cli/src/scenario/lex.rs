//! Splits one scenario line into words, the way a shell would (a small, predictable subset).
//!
//! - Words are separated by spaces or tabs.
//! - `'single quotes'` keep everything literally.
//! - `"double quotes"` understand `\n`, `\t`, `\r`, `\0`, `\\`, `\"`, `\'` and `\xNN`, so a
//!   scenario can state exact bytes (including non-UTF-8 ones) that a stream must carry.
//! - An unquoted `#` at the start of a word starts a comment that runs to the end of the line.
//!
//! Each word remembers whether any part of it was quoted: an unquoted `expect` ends a step's
//! arguments, a quoted one is an ordinary argument.

use std::fmt;

/// One word of a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    /// The word's bytes after quote removal and escapes.
    pub bytes: Vec<u8>,
    /// Whether some part of the word was quoted (so it is never a keyword).
    pub quoted: bool,
}

impl Word {
    /// Whether this is the unquoted keyword `kw`.
    pub fn is_keyword(&self, kw: &str) -> bool {
        !self.quoted && self.bytes == kw.as_bytes()
    }

    /// The word as text (lossy for non-UTF-8 bytes, which only stream contents use).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
}

/// Why a line could not be split into words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LexError(pub String);

impl fmt::Display for LexError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Splits `line` into words; an empty result means a blank or comment-only line.
pub fn split_words(line: &str) -> Result<Vec<Word>, LexError> {
    let mut words = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ' ' || *c == '\t') {
            chars.next();
        }
        match chars.peek() {
            None | Some('#') => return Ok(words),
            Some(_) => {}
        }
        let mut word = Word {
            bytes: Vec::new(),
            quoted: false,
        };
        while let Some(&c) = chars.peek() {
            match c {
                ' ' | '\t' => break,
                '\'' => {
                    chars.next();
                    word.quoted = true;
                    let mut closed = false;
                    for c in chars.by_ref() {
                        if c == '\'' {
                            closed = true;
                            break;
                        }
                        push_char(&mut word.bytes, c);
                    }
                    if !closed {
                        return Err(LexError("unterminated single quote".into()));
                    }
                }
                '"' => {
                    chars.next();
                    word.quoted = true;
                    let mut closed = false;
                    while let Some(c) = chars.next() {
                        match c {
                            '"' => {
                                closed = true;
                                break;
                            }
                            '\\' => word.bytes.push(escape(&mut chars)?),
                            _ => push_char(&mut word.bytes, c),
                        }
                    }
                    if !closed {
                        return Err(LexError("unterminated double quote".into()));
                    }
                }
                _ => {
                    chars.next();
                    push_char(&mut word.bytes, c);
                }
            }
        }
        words.push(word);
    }
}

fn push_char(out: &mut Vec<u8>, c: char) {
    let mut buf = [0u8; 4];
    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
}

fn escape(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Result<u8, LexError> {
    let c = chars
        .next()
        .ok_or_else(|| LexError("backslash at the end of the line".into()))?;
    Ok(match c {
        'n' => b'\n',
        't' => b'\t',
        'r' => b'\r',
        '0' => 0,
        '\\' => b'\\',
        '"' => b'"',
        '\'' => b'\'',
        'x' => {
            let hex: String = [chars.next(), chars.next()].into_iter().flatten().collect();
            if hex.len() != 2 {
                return Err(LexError("\\x needs two hex digits".into()));
            }
            u8::from_str_radix(&hex, 16)
                .map_err(|_| LexError(format!("\\x{hex} is not a hex byte")))?
        }
        other => return Err(LexError(format!("unknown escape \\{other}"))),
    })
}

/// Renders bytes the way a scenario would quote them, for messages (`"hi\n"`).
pub fn quote_bytes(bytes: &[u8]) -> String {
    let mut s = String::from("\"");
    for &b in bytes {
        match b {
            b'\n' => s.push_str("\\n"),
            b'\t' => s.push_str("\\t"),
            b'\r' => s.push_str("\\r"),
            b'\\' => s.push_str("\\\\"),
            b'"' => s.push_str("\\\""),
            0x20..=0x7e => s.push(b as char),
            _ => s.push_str(&format!("\\x{b:02x}")),
        }
    }
    s.push('"');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(line: &str) -> Vec<String> {
        split_words(line).unwrap().iter().map(Word::text).collect()
    }

    #[test]
    fn splits_like_a_shell() {
        assert_eq!(
            texts(r#"exec c p -- sh -c 'echo "a b"; exit 3'"#),
            ["exec", "c", "p", "--", "sh", "-c", "echo \"a b\"; exit 3"]
        );
        assert_eq!(texts("  wait  p   # a comment"), ["wait", "p"]);
        assert!(texts("# only a comment").is_empty());
        assert_eq!(texts("a#b"), ["a#b"]);
    }

    #[test]
    fn double_quotes_take_escapes_and_bytes() {
        let w = split_words(r#"stdout "hi\n\x00\xff\t\"""#).unwrap();
        assert_eq!(w[1].bytes, b"hi\n\x00\xff\t\"");
        assert!(w[1].quoted);
        assert_eq!(quote_bytes(&w[1].bytes), r#""hi\n\x00\xff\t\"""#);
    }

    #[test]
    fn quoted_keywords_are_not_keywords() {
        let w = split_words(r#"expect 'expect' "expect""#).unwrap();
        assert!(w[0].is_keyword("expect"));
        assert!(!w[1].is_keyword("expect"));
        assert!(!w[2].is_keyword("expect"));
    }

    #[test]
    fn refuses_broken_quotes_and_escapes() {
        assert!(split_words("'open").is_err());
        assert!(split_words("\"open").is_err());
        assert!(split_words(r#""\q""#).is_err());
        assert!(split_words(r#""\x4""#).is_err());
        assert!(split_words(r#""\xzz""#).is_err());
    }
}
