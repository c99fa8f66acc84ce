//! Runs the conformance suite against a backend plugin.
//!
//! Usage: `rtl-conformance <plugin.so> [config-json] [case-filter]`. Prints one line per case
//! and a summary; exits 1 if any case failed, 2 if the plugin could not be loaded or opened.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let Some(path) = args.get(1) else {
        eprintln!("usage: rtl-conformance <plugin.so> [config-json] [case-filter]");
        return ExitCode::from(2);
    };
    let config = match args.get(2).map(|s| serde_json::from_str(s)) {
        None => serde_json::Value::Null,
        Some(Ok(v)) => v,
        Some(Err(e)) => {
            eprintln!("rtl-conformance: configuration is not JSON: {e}");
            return ExitCode::from(2);
        }
    };
    let plugin = match plugin::load(std::path::Path::new(path)) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("rtl-conformance: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match plugin.open(&config) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("rtl-conformance: opening {}: {e}", plugin.name());
            return ExitCode::from(2);
        }
    };
    let report = suites::conformance::run_runtime(
        plugin.name(),
        runtime.as_ref(),
        args.get(3).map(String::as_str),
        2,
    );
    println!("{report}");
    if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
