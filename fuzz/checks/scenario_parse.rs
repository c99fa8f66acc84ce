// The check of fuzz target `scenario_parse`, shared by the target (`fuzz_targets/scenario_parse.rs`)
// and by the stable replay of its committed corpus in the test suite: one source for both.
use rtctl::scenario::lex::{quote_bytes, split_words};
use rtctl::scenario::parse::parse;
use std::path::Path;

/// The scenario file parser (`rtctl::scenario::parse`): any text gives a scenario or one
/// error naming a line within the text, never a panic; and the quoting rtctl prints
/// (`quote_bytes`) always splits back into the same bytes.
/// Panics when the property does not hold for `data`.
pub fn check(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    match parse(Path::new("/fuzz/input.scenario"), &text) {
        Ok(s) => assert!(!s.steps.is_empty()),
        Err(e) => assert!(e.line >= 1 && e.line <= text.lines().count().max(1)),
    }
    let quoted = quote_bytes(data);
    let words = split_words(&quoted).expect("quote_bytes output always splits");
    assert_eq!(words.len(), 1);
    assert_eq!(words[0].bytes, data);
    assert!(words[0].quoted);
}
