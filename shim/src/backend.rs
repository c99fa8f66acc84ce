//! Loading the backend the options name and opening its runtime.
//!
//! A name (`runc`, `sim`) means `libbackend_<name>.so`, looked up in the options'
//! `plugin_dir`, then beside the shim binary (and in its parent directory when the binary
//! sits in cargo's `deps/`). Anything with a `/` or ending in `.so` is a plugin path.

use std::path::PathBuf;
use std::sync::Arc;

use runtime_api::Runtime;
use serde_json::Value;

use crate::error::ShimError;
use crate::options::ShimOptions;

/// A runtime opened from a plugin, and what the shim needs to know about it.
pub struct Backend {
    /// The runtime every task call goes to.
    pub runtime: Arc<dyn Runtime>,
    /// The plugin's declared name (`runc`, `sim`, ...).
    pub name: String,
    /// Whether the pids the backend reports are host pids (every backend but the simulator,
    /// whose processes are virtual): only then does the shim signal execs by pid or read a
    /// container's cgroup from `/proc`.
    pub host_pids: bool,
}

/// Where the runc backend keeps its state for containerd namespace `namespace`, unless its
/// configuration says otherwise: apart from other namespaces (ids are only unique within
/// one) and from other users of the runc backend; and where it remembers what the runtime
/// binary said to `--version`.
fn runc_defaults(namespace: &str, config: &mut serde_json::Map<String, Value>) {
    let base = PathBuf::from("/run/containerd/rtlayer").join(namespace);
    config
        .entry("root")
        .or_insert_with(|| Value::from(base.join("runc").display().to_string()));
    config
        .entry("state_dir")
        .or_insert_with(|| Value::from(base.join("state").display().to_string()));
    // Every container has a shim of its own, which opens the backend anew: the runtime's
    // `--version` is asked once per binary, not once per container.
    config
        .entry("version_cache")
        .or_insert_with(|| Value::from(base.join("runtime-version.json").display().to_string()));
}

/// The plugin file the options' `backend` names.
pub fn resolve(options: &ShimOptions) -> Result<PathBuf, ShimError> {
    let choice = options.backend.as_str();
    let err = |message: String| ShimError::Backend {
        backend: choice.to_string(),
        message,
    };
    if choice.is_empty() {
        return Err(err(
            "empty backend name (use runc, sim or a plugin path)".into()
        ));
    }
    if choice.contains('/') || choice.ends_with(".so") {
        return Ok(PathBuf::from(choice));
    }
    if !choice
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(err(
            "unknown backend: a backend name is letters, digits, '-' and '_' (or give a plugin path)"
                .into(),
        ));
    }
    let file = format!("libbackend_{}.so", choice.replace('-', "_"));
    let mut dirs: Vec<PathBuf> = options.plugin_dir.iter().cloned().collect();
    if let Ok(exe) = std::env::current_exe() {
        if let Some(dir) = exe.parent() {
            dirs.push(dir.to_path_buf());
            if dir.file_name().is_some_and(|n| n == "deps") {
                dirs.extend(dir.parent().map(PathBuf::from));
            }
        }
    }
    dirs.iter()
        .map(|d| d.join(&file))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            let looked: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
            err(format!(
                "unknown backend: no {file} in {}",
                looked.join(", ")
            ))
        })
}

/// Loads the plugin and opens a runtime with the options' configuration.
pub fn open(options: &ShimOptions, namespace: &str) -> Result<Backend, ShimError> {
    let path = resolve(options)?;
    let plugin = plugin::load(&path).map_err(|e| ShimError::Backend {
        backend: options.backend.clone(),
        message: e.to_string(),
    })?;
    let mut config = options.config.clone();
    if plugin.name() == "runc" {
        runc_defaults(namespace, &mut config);
    }
    let runtime = plugin
        .open(&Value::Object(config))
        .map_err(|e| ShimError::Backend {
            backend: options.backend.clone(),
            message: format!("cannot open ({}): {e}", path.display()),
        })?;
    tracing::info!(backend = plugin.name(), path = %path.display(), "backend opened");
    Ok(Backend {
        runtime: Arc::from(runtime),
        name: plugin.name().to_string(),
        host_pids: plugin.name() != "sim",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_backends_are_refused() {
        let opts = |b: &str| ShimOptions {
            backend: b.into(),
            ..Default::default()
        };
        let e = resolve(&opts("no-such-backend")).unwrap_err().to_string();
        assert!(e.contains("libbackend_no_such_backend.so"), "{e}");
        assert!(resolve(&opts("bad name!")).is_err());
        assert!(resolve(&opts("")).is_err());
        assert_eq!(
            resolve(&opts("/x/lib.so")).unwrap(),
            PathBuf::from("/x/lib.so")
        );
    }

    #[test]
    fn runc_state_is_per_namespace() {
        let mut c = serde_json::Map::new();
        c.insert("root".into(), Value::from("/mine"));
        runc_defaults("k8s.io", &mut c);
        assert_eq!(c["root"], Value::from("/mine"));
        assert_eq!(
            c["state_dir"],
            Value::from("/run/containerd/rtlayer/k8s.io/state")
        );
        assert_eq!(
            c["version_cache"],
            Value::from("/run/containerd/rtlayer/k8s.io/runtime-version.json")
        );
    }
}
