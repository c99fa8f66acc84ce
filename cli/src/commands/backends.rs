//! `rtctl backends`: what plugins rtctl can find, and whether they load.

use crate::backend_select;
use crate::error::CliError;

/// Prints one line per plugin found: name, ABI version, API version, path (or why it does
/// not load). Each is probed in a child process first, so a plugin that crashes at load is
/// listed as unusable instead of killing rtctl. Exits 0 if at least one loads.
pub fn run() -> Result<i32, CliError> {
    let found = backend_select::discover();
    if found.is_empty() {
        let dirs: Vec<String> = backend_select::search_dirs()
            .iter()
            .map(|d| d.display().to_string())
            .collect();
        return Err(CliError::new(format!(
            "no backend plugins (libbackend_*.so) in {}; build them with `cargo build --workspace`",
            dirs.join(", ")
        )));
    }
    println!("{:<8} {:<4} {:<8} PATH", "NAME", "ABI", "API");
    let mut usable = 0;
    let options = plugin::LoadOptions::new().probe(backend_select::probe()?);
    for (name, path) in found {
        match plugin::load_with(&path, &options) {
            Ok(p) => {
                usable += 1;
                println!(
                    "{:<8} {:<4} {:<8} {}",
                    p.name(),
                    p.abi_version(),
                    p.api_version(),
                    path.display()
                );
            }
            Err(e) => println!("{name:<8} -    -        {} (unusable: {e})", path.display()),
        }
    }
    Ok(if usable > 0 { 0 } else { 1 })
}
