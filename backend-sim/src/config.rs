//! The simulator's configuration: what `Plugin::open` receives as JSON, or what a static user
//! builds in Rust.
//!
//! ```json
//! {
//!   "seed": 42,
//!   "drain_grace_ms": 2000,
//!   "peer_close_timeout_ms": 1000,
//!   "faults": { "command_failure": 0.1, "slow_peer": 1.0 },
//!   "mutations": { "plain_kill_on_init_exit": true }
//! }
//! ```
//! Every key is optional; unknown keys are refused with
//! [`InvalidArgument`](runtime_api::ErrorKind::InvalidArgument).

use runtime_api::{Error, ErrorKind, Result};
use serde::{Deserialize, Serialize};

/// The environment variable that supplies the seed when the configuration has none, and that
/// replays a failed run (`RTL_SIM_SEED=<n>`).
pub const SEED_ENV: &str = "RTL_SIM_SEED";

/// The seed used when neither the configuration nor [`SEED_ENV`] gives one.
pub const DEFAULT_SEED: u64 = 0x5EED_0000_0000_0001;

/// Configuration of a simulated runtime.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The seed of every decision. Default: [`SEED_ENV`] if set, else [`DEFAULT_SEED`].
    pub seed: Option<u64>,
    /// The drain grace in VIRTUAL milliseconds: how long after a process's exit its relay keeps
    /// waiting for end-of-file while a descendant still holds its stdio. Default 2000.
    pub drain_grace_ms: Option<u64>,
    /// How long (REAL milliseconds) a relay waits for a socket peer's end-of-file after
    /// half-closing it. Default 1000 (the stdio crate's default).
    pub peer_close_timeout_ms: Option<u64>,
    /// Fault injection; everything off by default.
    #[serde(default)]
    pub faults: Faults,
    /// Deliberately broken rules, for test suites that must show they catch them. Never enable
    /// these outside tests.
    #[serde(default)]
    pub mutations: Mutations,
}

/// Fault probabilities, each in `0.0..=1.0` (0 = off, 1 = every time). When a fault point is
/// reached, the run's RNG decides whether it fires, so a seed replays the same faults. A fault
/// with probability 0 draws nothing from the RNG, so disabled faults never change a run.
///
/// Effects:
/// - `command_failure`: `create_container`, `start`, `exec` or `kill` fails with
///   [`Backend`](runtime_api::ErrorKind::Backend) and a runc-like message, leaving nothing
///   behind (as if the runc command had failed).
/// - `spawn_failure`: a simulated shell's `fork` fails (for `cmd &` or a foreground
///   `sleep`/`cat`/`head`): the shell prints `sh: can't fork: Resource temporarily
///   unavailable` on stderr and exits with status 2, as busybox ash does.
/// - `peer_disconnect`: an output connection's peer goes away early: it receives the first
///   0..=64 bytes (chosen by the seed) and then is closed; the relay keeps draining and counts
///   the rest as dropped, and the process is never blocked by it.
/// - `slow_peer`: an output connection's peer reads slowly (4 KiB per real millisecond); the
///   relay applies back-pressure through its bounded buffer, and everything is still delivered.
/// - `stdin_never_closed`: the process's stdin never reaches end-of-file while the process
///   lives (the peer never closes it); a `cat` blocks until it is killed.
/// - `child_holds_stdio`: when a runtime-created process starts, a hidden child
///   (`sleep 1000000`) inherits its stdio. For an exec, its relay is cut after the drain grace;
///   for an init, rule 1 (or the pid namespace's death) kills the child and the relay completes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Faults {
    /// See the type's documentation.
    #[serde(default)]
    pub command_failure: f64,
    /// See the type's documentation.
    #[serde(default)]
    pub spawn_failure: f64,
    /// See the type's documentation.
    #[serde(default)]
    pub peer_disconnect: f64,
    /// See the type's documentation.
    #[serde(default)]
    pub slow_peer: f64,
    /// See the type's documentation.
    #[serde(default)]
    pub stdin_never_closed: f64,
    /// See the type's documentation.
    #[serde(default)]
    pub child_holds_stdio: f64,
}

/// Test-only mutations that break the rules on purpose, so that property suites can show they
/// catch each mistake. All off by default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mutations {
    /// The seed's mistake: on the exit of an init that does not own its pid namespace, send a
    /// plain kill to the (already dead) init instead of a kill-all over the cgroup; the
    /// siblings keep running.
    #[serde(default)]
    pub plain_kill_on_init_exit: bool,
    /// Issue the cgroup-wide kill-all even when the container owns its pid namespace, which
    /// kills other containers sharing the cgroup.
    #[serde(default)]
    pub kill_all_even_if_owned: bool,
    /// `wait` returns as soon as the process has exited, without waiting for its relay to
    /// drain; output may still be in flight when it returns.
    #[serde(default)]
    pub no_drain: bool,
}

impl Faults {
    /// Checks that every probability is within 0..=1.
    fn validate(&self) -> Result<()> {
        for (name, p) in [
            ("command_failure", self.command_failure),
            ("spawn_failure", self.spawn_failure),
            ("peer_disconnect", self.peer_disconnect),
            ("slow_peer", self.slow_peer),
            ("stdin_never_closed", self.stdin_never_closed),
            ("child_holds_stdio", self.child_holds_stdio),
        ] {
            if !(0.0..=1.0).contains(&p) {
                return Err(Error::new(
                    ErrorKind::InvalidArgument,
                    format!("fault {name}: probability {p} is outside 0..=1"),
                ));
            }
        }
        Ok(())
    }
}

impl Config {
    /// Parses a JSON configuration; unknown keys and bad values are
    /// [`InvalidArgument`](runtime_api::ErrorKind::InvalidArgument). `null` means all defaults.
    pub fn from_json(value: &serde_json::Value) -> Result<Config> {
        let config: Config = if value.is_null() {
            Config::default()
        } else {
            serde_json::from_value(value.clone()).map_err(|e| {
                Error::new(
                    ErrorKind::InvalidArgument,
                    format!("simulator configuration: {e}"),
                )
            })?
        };
        config.faults.validate()?;
        Ok(config)
    }

    /// The seed this configuration runs with: `seed`, else the value of [`SEED_ENV`], else
    /// [`DEFAULT_SEED`]. A malformed [`SEED_ENV`] is an
    /// [`InvalidArgument`](runtime_api::ErrorKind::InvalidArgument) error rather than a silent
    /// default, so that a replay never runs the wrong seed.
    pub fn resolve_seed(&self) -> Result<u64> {
        resolve_seed(self.seed, std::env::var(SEED_ENV).ok().as_deref())
    }

    /// The virtual drain grace.
    pub fn drain_grace(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.drain_grace_ms.unwrap_or(2000))
    }

    /// The real peer-close timeout of relays.
    pub fn peer_close_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.peer_close_timeout_ms.unwrap_or(1000))
    }
}

/// The seed from an explicit value, else from the text of [`SEED_ENV`] (decimal, or hex with
/// `0x`), else [`DEFAULT_SEED`].
pub fn resolve_seed(configured: Option<u64>, env: Option<&str>) -> Result<u64> {
    if let Some(seed) = configured {
        return Ok(seed);
    }
    match env.map(str::trim) {
        None | Some("") => Ok(DEFAULT_SEED),
        Some(text) => parse_seed(text).ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidArgument,
                format!("{SEED_ENV}={text:?} is not a u64 (decimal or 0x-hex)"),
            )
        }),
    }
}

/// Parses a seed written in decimal or `0x` hexadecimal.
pub fn parse_seed(text: &str) -> Option<u64> {
    match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unknown_keys_are_invalid_argument() {
        let e = Config::from_json(&json!({"sed": 1})).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        assert!(e.message().contains("sed"), "{e}");
        let e = Config::from_json(&json!({"faults": {"typo": 1.0}})).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        let e = Config::from_json(&json!({"faults": {"slow_peer": 2.0}})).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    }

    #[test]
    fn defaults_and_values() {
        let c = Config::from_json(&serde_json::Value::Null).unwrap();
        assert_eq!(c, Config::default());
        assert_eq!(c.drain_grace(), std::time::Duration::from_secs(2));
        let c = Config::from_json(&json!({"seed": 5, "drain_grace_ms": 10,
            "mutations": {"no_drain": true}}))
        .unwrap();
        assert_eq!(c.seed, Some(5));
        assert!(c.mutations.no_drain);
    }

    #[test]
    fn seed_resolution_order() {
        assert_eq!(resolve_seed(Some(3), Some("9")).unwrap(), 3);
        assert_eq!(resolve_seed(None, Some("9")).unwrap(), 9);
        assert_eq!(resolve_seed(None, Some("0x10")).unwrap(), 16);
        assert_eq!(resolve_seed(None, None).unwrap(), DEFAULT_SEED);
        assert_eq!(
            resolve_seed(None, Some("nope")).unwrap_err().kind(),
            ErrorKind::InvalidArgument
        );
    }
}
