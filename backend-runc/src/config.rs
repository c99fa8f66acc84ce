//! The backend's configuration, given by the host as JSON (through the plugin boundary) or as
//! a [`Config`] value when linked statically.

use std::path::PathBuf;
use std::time::Duration;

use runtime_api::{Error, ErrorKind, Result};

use crate::flavour::Flavour;

/// Configuration of the runc backend. Every key is optional; unknown keys are refused.
///
/// JSON keys: `runc_path`, `flavour`, `version_cache`, `root`, `state_dir`, `drain_grace_ms`,
/// `command_timeout_ms`, `peer_close_timeout_ms`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// The runc binary: a path, or a name looked up on `PATH`. Default `"runc"`.
    pub runc_path: PathBuf,
    /// Which runc-compatible CLI `runc_path` is (`"runc"` or `"youki"`). Default: detected at
    /// open from `runc_path --version`, which also refuses a binary that is not an OCI
    /// runtime. When given, the binary is trusted and not run at open.
    pub flavour: Option<Flavour>,
    /// A file where open keeps what `runc_path --version` said, with the identity of the
    /// binary it came from (device, inode, size, modification and change times): a later open,
    /// in this process or another, that finds the same binary does not run it again (see
    /// [`version_cache`](crate::version_cache)). Default: none, every open asks.
    pub version_cache: Option<PathBuf>,
    /// runc's `--root` directory (its own container state). Default `/run/rtlayer-runc`.
    pub root: PathBuf,
    /// Where this backend keeps per-container state directories (mode 0700) and per-call runc
    /// logs. Default `/run/rtlayer`.
    pub state_dir: PathBuf,
    /// After a process exits, how long its stdio relay keeps draining output from descendants
    /// that still hold the stdio open, before it is cut. Default 2000.
    pub drain_grace_ms: u64,
    /// The time limit of every runc invocation. Default 30000.
    pub command_timeout_ms: u64,
    /// After a relay's last byte, how long to wait for a socket peer to close its end.
    /// Default 1000.
    pub peer_close_timeout_ms: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            runc_path: PathBuf::from("runc"),
            flavour: None,
            version_cache: None,
            root: PathBuf::from("/run/rtlayer-runc"),
            state_dir: PathBuf::from("/run/rtlayer"),
            drain_grace_ms: 2000,
            command_timeout_ms: 30000,
            peer_close_timeout_ms: 1000,
        }
    }
}

impl Config {
    /// Parses a JSON configuration object. Unknown keys, wrong types or a zero time limit fail
    /// with [`ErrorKind::InvalidArgument`].
    pub fn from_json(value: &serde_json::Value) -> Result<Config> {
        let value = if value.is_null() {
            serde_json::Value::Object(Default::default())
        } else {
            value.clone()
        };
        let config: Config = serde_json::from_value(value).map_err(|e| {
            Error::new(
                ErrorKind::InvalidArgument,
                format!("runc backend configuration: {e}"),
            )
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Checks values that parse but cannot work.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: &str| {
            Err(Error::new(
                ErrorKind::InvalidArgument,
                format!("runc backend configuration: {m}"),
            ))
        };
        if self.command_timeout_ms == 0 {
            return bad("command_timeout_ms must be positive");
        }
        if self.runc_path.as_os_str().is_empty() {
            return bad("runc_path is empty");
        }
        if self.root.as_os_str().is_empty() || self.state_dir.as_os_str().is_empty() {
            return bad("root and state_dir must not be empty");
        }
        Ok(())
    }

    /// The drain grace as a duration.
    pub fn drain_grace(&self) -> Duration {
        Duration::from_millis(self.drain_grace_ms)
    }

    /// The per-invocation time limit as a duration.
    pub fn command_timeout(&self) -> Duration {
        Duration::from_millis(self.command_timeout_ms)
    }

    /// The peer close timeout as a duration.
    pub fn peer_close_timeout(&self) -> Duration {
        Duration::from_millis(self.peer_close_timeout_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults_and_overrides() {
        assert_eq!(Config::from_json(&json!({})).unwrap(), Config::default());
        assert_eq!(Config::from_json(&json!(null)).unwrap(), Config::default());
        let c = Config::from_json(&json!({"runc_path": "/x/runc", "drain_grace_ms": 300})).unwrap();
        assert_eq!(c.runc_path, PathBuf::from("/x/runc"));
        assert_eq!(c.drain_grace(), Duration::from_millis(300));
        assert_eq!(c.command_timeout_ms, 30000);
        assert_eq!(c.flavour, None);
        let c = Config::from_json(&json!({"flavour": "youki"})).unwrap();
        assert_eq!(c.flavour, Some(Flavour::Youki));
    }

    #[test]
    fn unknown_keys_and_bad_values_refused() {
        for bad in [
            json!({"runc": "x"}),
            json!({"drain_grace_ms": "soon"}),
            json!({"command_timeout_ms": 0}),
            json!({"flavour": "crun"}),
            json!([1]),
        ] {
            let e = Config::from_json(&bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{bad}");
        }
    }
}
