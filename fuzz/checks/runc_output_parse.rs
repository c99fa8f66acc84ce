// The check of fuzz target `runc_output_parse`, shared by the target (`fuzz_targets/runc_output_parse.rs`)
// and by the stable replay of its committed corpus in the test suite: one source for both.
use backend_runc::parsers::{classify, last_error_message, parse_list, parse_ps, parse_state};

/// The runc backend's parsers of runc's output: `state`, `list`, `ps` JSON and the JSON log
/// (last error message, error kind). Any bytes give a value or a typed error, never a panic;
/// `list` comes back sorted by id.
/// Panics when the property does not hold for `data`.
pub fn check(data: &[u8]) {
    if let Ok(state) = parse_state("fuzz-id", data) {
        let _ = format!("{state:?}");
    }
    if let Ok(list) = parse_list(data) {
        assert!(list.windows(2).all(|w| w[0].id <= w[1].id));
    }
    let _ = parse_ps("fuzz-id", data);
    let log = String::from_utf8_lossy(data);
    if let Some(message) = last_error_message(&log) {
        let _ = classify("kill", &message, Some(1));
        let _ = classify("exec", &message, Some(255));
    }
    let _ = classify("state", &log, None);
}
