// The check of fuzz target `sim_shell_parse`, shared by the target (`fuzz_targets/sim_shell_parse.rs`)
// and by the stable replay of its committed corpus in the test suite: one source for both.
use backend_sim::shell::{parse_argv, parse_script};

/// The simulator's shell parser (`backend_sim::shell`): any script text, and any argv, gives
/// a parsed script or an `Unsupported` refusal, never a panic; parsing is deterministic.
/// Panics when the property does not hold for `data`.
pub fn check(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let first = parse_script(&text)
        .map(|s| format!("{s:?}"))
        .map_err(|e| e.to_string());
    let again = parse_script(&text)
        .map(|s| format!("{s:?}"))
        .map_err(|e| e.to_string());
    assert_eq!(first, again);
    // The same bytes as an argv: NUL-separated words (`sh`, `-c`, script... or a program).
    let argv: Vec<String> = text.split('\0').map(str::to_string).collect();
    let _ = parse_argv(&argv);
    let _ = parse_argv(&["sh".to_string(), "-c".to_string(), text.into_owned()]);
}
