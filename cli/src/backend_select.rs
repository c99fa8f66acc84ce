//! Choosing a backend at run time: a name (`sim`, `runc`) finds `libbackend_<name>.so` beside
//! the rtctl binary; anything with a `/` (or ending in `.so`) is a path to a plugin.
//!
//! Where names are looked up, first match wins:
//! 1. each directory of `RTCTL_PLUGIN_PATH` (colon separated), if set;
//! 2. the directory of the rtctl executable (where `cargo build --workspace` puts the
//!    plugins), and its parent when that directory is cargo's `deps/`.
//!
//! How a plugin is loaded: always with the loader's preflight checks. A plugin given by path
//! (`--backend PATH`, `RTCTL_BACKEND=PATH`), and every plugin `rtctl backends` lists, is
//! first loaded by a probe: a child rtctl (`rtctl __rtlayer-probe`) loads it, and for a path
//! also opens a runtime with the `--backend-config` and lists its containers; only if the
//! child ends normally does rtctl load it itself. A file that crashes or hangs the loader
//! kills the child, and rtctl reports it in one line. Names (`sim`, `runc`) found in the
//! search directories, which `cargo build` wrote, are loaded with preflight only.

use std::path::PathBuf;

use plugin::Plugin;
use runtime_api::Runtime;
use serde_json::{Map, Value};

use crate::error::CliError;

/// Environment variable naming the backend when `--backend` is not given.
pub const BACKEND_VAR: &str = "RTCTL_BACKEND";
/// Environment variable with extra directories to look for plugins in.
pub const PLUGIN_PATH_VAR: &str = "RTCTL_PLUGIN_PATH";
/// The backend used when neither `--backend` nor `RTCTL_BACKEND` names one: the simulator,
/// which needs neither root nor runc.
pub const DEFAULT_BACKEND: &str = "sim";

/// A loaded plugin and the configuration its runtimes are opened with.
#[derive(Clone)]
pub struct Backend {
    plugin: Plugin,
    config: Map<String, Value>,
}

impl Backend {
    /// The loaded plugin.
    pub fn plugin(&self) -> &Plugin {
        &self.plugin
    }

    /// Whether this is the simulator (seeds, traces and sweeps apply only to it).
    pub fn is_simulator(&self) -> bool {
        self.plugin.name() == "sim"
    }

    /// Opens a runtime with the configuration given on the command line.
    pub fn open(&self) -> Result<Box<dyn Runtime>, CliError> {
        self.open_with(&[])
    }

    /// Opens a runtime with the command line's configuration plus `extra` keys (which win).
    pub fn open_with(&self, extra: &[(&str, Value)]) -> Result<Box<dyn Runtime>, CliError> {
        let mut config = self.config.clone();
        for (k, v) in extra {
            config.insert((*k).to_string(), v.clone());
        }
        self.plugin.open(&Value::Object(config)).map_err(|e| {
            CliError::new(format!(
                "backend {:?} ({}): cannot open: {e}",
                self.plugin.name(),
                self.plugin.path().display()
            ))
        })
    }
}

/// Loads the backend named or pointed at by `choice`, with `config_json` (a JSON object, or
/// `None` for an empty one) as its configuration.
pub fn select(choice: &str, config_json: Option<&str>) -> Result<Backend, CliError> {
    let config = parse_config(config_json)?;
    let path = resolve(choice)?;
    let options = if is_path(choice) {
        plugin::LoadOptions::new().probe(probe()?.open_with(Value::Object(config.clone())))
    } else {
        plugin::LoadOptions::new()
    };
    let plugin = plugin::load_with(&path, &options).map_err(|e| CliError::new(e.to_string()))?;
    tracing::debug!(
        backend = plugin.name(),
        path = %plugin.path().display(),
        abi = plugin.abi_version(),
        api = plugin.api_version(),
        "backend loaded"
    );
    Ok(Backend { plugin, config })
}

/// The probe rtctl uses: this very executable, as the child.
pub fn probe() -> Result<plugin::Probe, CliError> {
    let exe = std::env::current_exe().map_err(|e| {
        CliError::new(format!(
            "cannot find rtctl's own executable to probe a plugin: {e}"
        ))
    })?;
    Ok(plugin::Probe::new(exe))
}

fn parse_config(config_json: Option<&str>) -> Result<Map<String, Value>, CliError> {
    match config_json {
        None => Ok(Map::new()),
        Some(text) => match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(map)) => Ok(map),
            Ok(other) => Err(CliError::new(format!(
                "--backend-config must be a JSON object, got {other}"
            ))),
            Err(e) => Err(CliError::new(format!(
                "--backend-config is not valid JSON: {e}"
            ))),
        },
    }
}

/// Whether `choice` names a plugin file rather than a backend name.
fn is_path(choice: &str) -> bool {
    choice.contains('/') || choice.ends_with(".so")
}

/// The file name a backend name maps to (`sim` -> `libbackend_sim.so`).
pub fn library_name(name: &str) -> String {
    format!("libbackend_{}.so", name.replace('-', "_"))
}

/// The plugin file for `choice`: the path itself, or the named backend's library in the first
/// search directory that has it.
pub fn resolve(choice: &str) -> Result<PathBuf, CliError> {
    if choice.is_empty() {
        return Err(CliError::new(
            "empty backend name (use sim, runc or a path to a plugin)",
        ));
    }
    if is_path(choice) {
        return Ok(PathBuf::from(choice));
    }
    if !choice
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(CliError::new(format!(
            "unknown backend {choice:?}: a backend name is letters, digits, '-' and '_' (or give a path to a plugin)"
        )));
    }
    let file = library_name(choice);
    let dirs = search_dirs();
    if let Some(found) = dirs.iter().map(|d| d.join(&file)).find(|p| p.is_file()) {
        return Ok(found);
    }
    let known: Vec<String> = discover().into_iter().map(|(name, _)| name).collect();
    let looked: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
    Err(CliError::new(format!(
        "unknown backend {choice:?}: no {file} in {} (found: {}; build them with `cargo build --workspace`, or give a path to a plugin)",
        looked.join(", "),
        if known.is_empty() { "none".to_string() } else { known.join(", ") }
    )))
}

/// The directories searched for plugins, in order.
pub fn search_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os(PLUGIN_PATH_VAR)
        .map(|v| {
            std::env::split_paths(&v)
                .filter(|p| !p.as_os_str().is_empty())
                .collect()
        })
        .unwrap_or_default();
    if let Ok(exe) = std::env::current_exe() {
        if let Some(dir) = exe.parent() {
            dirs.push(dir.to_path_buf());
            if dir.file_name().is_some_and(|n| n == "deps") {
                if let Some(parent) = dir.parent() {
                    dirs.push(parent.to_path_buf());
                }
            }
        }
    }
    dirs.dedup();
    dirs
}

/// Every backend plugin in the search directories, as (name, path), the first of each name.
pub fn discover() -> Vec<(String, PathBuf)> {
    let mut found: Vec<(String, PathBuf)> = Vec::new();
    for dir in search_dirs() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut here: Vec<(String, PathBuf)> = entries
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let file = e.file_name().into_string().ok()?;
                let name = file.strip_prefix("libbackend_")?.strip_suffix(".so")?;
                Some((name.to_string(), e.path()))
            })
            .filter(|(_, p)| p.is_file())
            .collect();
        here.sort();
        for (name, path) in here {
            if !found.iter().any(|(n, _)| *n == name) {
                found.push((name, path));
            }
        }
    }
    found
}

/// Resolves what `--backend` / `RTCTL_BACKEND` / the default says, for messages.
pub fn effective_choice(flag: Option<&str>) -> String {
    flag.map(str::to_string)
        .or_else(|| std::env::var(BACKEND_VAR).ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| DEFAULT_BACKEND.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_paths() {
        assert!(is_path("./x.so"));
        assert!(is_path("/a/b"));
        assert!(is_path("libfoo.so"));
        assert!(!is_path("sim"));
        assert_eq!(library_name("sim"), "libbackend_sim.so");
        assert_eq!(library_name("my-backend"), "libbackend_my_backend.so");
    }

    #[test]
    fn unknown_names_are_refused_in_one_line() {
        let e = resolve("no-such-backend-xyz").unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.starts_with("unknown backend \"no-such-backend-xyz\""),
            "{msg}"
        );
        assert!(!msg.contains('\n'));
        assert!(resolve("bad name!")
            .unwrap_err()
            .to_string()
            .contains("unknown backend"));
        assert!(resolve("").is_err());
    }

    #[test]
    fn config_must_be_an_object() {
        assert!(parse_config(None).unwrap().is_empty());
        assert_eq!(
            parse_config(Some(r#"{"seed": 3}"#)).unwrap()["seed"],
            Value::from(3)
        );
        assert!(parse_config(Some("[1]")).is_err());
        assert!(parse_config(Some("{")).is_err());
    }
}
