//! The shim's options: which backend plugin runs the containers, and its JSON configuration.
//!
//! containerd hands a runtime other than runc its options as `runtimeoptions.v1.Options`
//! (`ctr run --runtime-config-path FILE`, or the CRI plugin's per-runtime `options` table with
//! `ConfigPath`). The file (or `ConfigBody`) is JSON:
//!
//! ```json
//! { "backend": "runc", "config": { "runc_path": "/usr/sbin/runc" } }
//! ```
//!
//! `backend` is a backend name (`runc`, `sim`: `libbackend_<name>.so` beside the shim binary
//! or in `plugin_dir`) or a path to a plugin; `config` is that backend's own configuration.
//! No options at all means the runc backend with its defaults.
//!
//! The options of a container are saved in its bundle, so that `containerd-shim-rtlayer-v1
//! delete` (run by containerd after a shim died) opens the same backend.

use std::path::{Path, PathBuf};

use containerd_shim::protos::protobuf::well_known_types::any::Any;
use containerd_shim::protos::protobuf::Message;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::ShimError;

/// Generated from containerd's `runtimeoptions/v1/api.proto`.
#[allow(missing_docs, clippy::all)]
pub mod proto {
    include!(concat!(env!("OUT_DIR"), "/protos/mod.rs"));
}

/// The backend used when the options name none.
pub const DEFAULT_BACKEND: &str = "runc";

/// The file in the bundle where a container's options are kept for `delete`.
pub const SAVED_OPTIONS_FILE: &str = "rtlayer-shim-options.json";

/// The protobuf message name containerd gives the options of non-runc runtimes.
const RUNTIME_OPTIONS_NAME: &str = "runtimeoptions.v1.Options";

/// What the shim runs containers with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShimOptions {
    /// A backend name (`runc`, `sim`) or the path of a backend plugin.
    #[serde(default = "default_backend")]
    pub backend: String,
    /// The backend's configuration object, passed to it unchanged (for `runc`, the shim
    /// fills in per-namespace state directories when they are not given).
    #[serde(default)]
    pub config: Map<String, Value>,
    /// Where backend names are looked up before the shim binary's own directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugin_dir: Option<PathBuf>,
}

fn default_backend() -> String {
    DEFAULT_BACKEND.to_string()
}

impl Default for ShimOptions {
    fn default() -> Self {
        ShimOptions {
            backend: default_backend(),
            config: Map::new(),
            plugin_dir: None,
        }
    }
}

impl ShimOptions {
    /// The options in containerd's `CreateTaskRequest.options`: `None` gives the defaults, a
    /// `runtimeoptions.v1.Options` names the JSON file (or carries the JSON body); any other
    /// message type, an unreadable file or bad JSON is an error naming what was wrong.
    pub fn from_any(any: Option<&Any>) -> Result<ShimOptions, ShimError> {
        let Some(any) = any else {
            return Ok(ShimOptions::default());
        };
        if any.type_url.is_empty() && any.value.is_empty() {
            return Ok(ShimOptions::default());
        }
        let name = any.type_url.rsplit('/').next().unwrap_or_default();
        if name != RUNTIME_OPTIONS_NAME {
            return Err(ShimError::Options(format!(
                "unsupported runtime options type {:?}: give {RUNTIME_OPTIONS_NAME} (ctr --runtime-config-path FILE, or ConfigPath in the runtime's options)",
                any.type_url
            )));
        }
        let opts = proto::runtimeoptions::Options::parse_from_bytes(&any.value).map_err(|e| {
            ShimError::Options(format!("cannot decode {RUNTIME_OPTIONS_NAME}: {e}"))
        })?;
        if !opts.config_path.is_empty() {
            return ShimOptions::from_file(Path::new(&opts.config_path));
        }
        if !opts.config_body.trim().is_empty() {
            return ShimOptions::from_json(&opts.config_body, "ConfigBody");
        }
        Ok(ShimOptions::default())
    }

    /// Reads the JSON options file at `path`.
    pub fn from_file(path: &Path) -> Result<ShimOptions, ShimError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ShimError::Options(format!(
                "cannot read runtime config {}: {e}",
                path.display()
            ))
        })?;
        ShimOptions::from_json(&text, &path.display().to_string())
    }

    /// Parses JSON options; `origin` names where they came from in the error.
    pub fn from_json(text: &str, origin: &str) -> Result<ShimOptions, ShimError> {
        serde_json::from_str(text).map_err(|e| {
            ShimError::Options(format!(
                "runtime config {origin}: {e} (expected {{\"backend\": NAME_OR_PATH, \"config\": {{...}}}})"
            ))
        })
    }

    /// Saves the options in `bundle`, for the `delete` subcommand.
    pub fn save(&self, bundle: &Path) -> Result<(), ShimError> {
        let path = bundle.join(SAVED_OPTIONS_FILE);
        let text = serde_json::to_vec_pretty(self).expect("options serialize");
        std::fs::write(&path, text)
            .map_err(|e| ShimError::Io(format!("write {}", path.display()), e))
    }

    /// The options saved in `bundle`, or the defaults if none were saved.
    pub fn load_saved(bundle: &Path) -> Result<ShimOptions, ShimError> {
        let path = bundle.join(SAVED_OPTIONS_FILE);
        if !path.exists() {
            return Ok(ShimOptions::default());
        }
        ShimOptions::from_file(&path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn any_with_path(path: &str) -> Any {
        let opts = proto::runtimeoptions::Options {
            config_path: path.to_string(),
            ..Default::default()
        };
        Any {
            type_url: RUNTIME_OPTIONS_NAME.to_string(),
            value: opts.write_to_bytes().unwrap(),
            ..Default::default()
        }
    }

    #[test]
    fn no_options_mean_runc() {
        assert_eq!(ShimOptions::from_any(None).unwrap().backend, "runc");
        assert_eq!(
            ShimOptions::from_any(Some(&Any::default())).unwrap(),
            ShimOptions::default()
        );
    }

    #[test]
    fn config_path_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("shim.json");
        std::fs::write(&file, r#"{"backend": "sim", "config": {"seed": 7}}"#).unwrap();
        let opts = ShimOptions::from_any(Some(&any_with_path(file.to_str().unwrap()))).unwrap();
        assert_eq!(opts.backend, "sim");
        assert_eq!(opts.config["seed"], Value::from(7));
        opts.save(dir.path()).unwrap();
        assert_eq!(ShimOptions::load_saved(dir.path()).unwrap(), opts);
    }

    #[test]
    fn bad_options_are_named() {
        let e = ShimOptions::from_any(Some(&any_with_path("/nonexistent/x.json"))).unwrap_err();
        assert!(e.to_string().contains("/nonexistent/x.json"), "{e}");
        let other = Any {
            type_url: "containerd.runc.v1.Options".into(),
            ..Default::default()
        };
        let e = ShimOptions::from_any(Some(&other)).unwrap_err();
        assert!(e.to_string().contains("containerd.runc.v1.Options"), "{e}");
        let e = ShimOptions::from_json(r#"{"backnd": "x"}"#, "t").unwrap_err();
        assert!(e.to_string().contains("backnd"), "{e}");
    }
}
