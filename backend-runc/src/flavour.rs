//! Which runc-compatible CLI the backend drives, and what differs between them.
//!
//! The backend speaks runc's command line. Other OCI runtimes implement most of it; where they
//! differ, the difference is named here, once, so the rest of the backend asks the flavour
//! instead of testing binary names:
//!
//! | | runc 1.1 / 1.2+ | youki 0.7 |
//! | --- | --- | --- |
//! | `--version`, first line | `runc version 1.1.5` | `youki version: 0.7.0` |
//! | `list --format json` | a JSON array (or `null`) | ignored: always a table (`ID PID STATUS ...`) |
//! | JSON log line | `{"level":"error","msg":..}` | `{"level":"ERROR","message":..}` (tracing) |
//! | error text | one line | anyhow chain (`Caused by:`), a backtrace if `RUST_BACKTRACE` is set |
//! | `state` `owner` | a string | the creator's uid, a number |
//! | wrong status | `cannot start a container that has stopped`, ... | ``incompatible container status: `Stopped` `` |
//! | `kill --all` of a stopped container | kills the cgroup (1.1 needs `--all`) | kills the cgroup (freeze, kill each pid, thaw) |
//! | `kill` (no `--all`) of a stopped container | `container not running` | `container not running` |
//!
//! [`detect`] runs `<binary> --version` at open, so a path that is not an OCI runtime
//! (`/bin/true`, `/bin/cat`, a typo) fails there with a clear error, not later with a misparse.
//! The configuration's `flavour` key overrides the detection (for a wrapper script, say); then
//! the binary is not run at open.

use std::path::Path;

use runtime_api::{Error, ErrorKind, Result};

/// A runc-compatible CLI the backend knows how to drive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Flavour {
    /// runc (1.1 and 1.2+ alike).
    Runc,
    /// youki (0.7).
    Youki,
}

impl Flavour {
    /// The runtime's name, as it prints it in `--version`.
    pub fn name(self) -> &'static str {
        match self {
            Flavour::Runc => "runc",
            Flavour::Youki => "youki",
        }
    }

    /// Whether `list --format json` prints JSON. When `false`, the backend reads the ids from
    /// `list`'s table and asks `state` for each.
    pub fn lists_json(self) -> bool {
        matches!(self, Flavour::Runc)
    }

    /// Environment variables set for every invocation. youki captures (and prints into its
    /// error messages) a backtrace when `RUST_BACKTRACE` is set in the host's environment,
    /// which is slow and buries the message; it is turned off for youki's invocations only.
    pub fn env(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Flavour::Runc => &[],
            Flavour::Youki => &[("RUST_BACKTRACE", "0"), ("RUST_LIB_BACKTRACE", "0")],
        }
    }
}

impl std::fmt::Display for Flavour {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What `--version` said about a runtime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeVersion {
    /// The flavour.
    pub flavour: Flavour,
    /// The version word after `version` (`1.1.5`, `0.7.0`), as printed.
    pub version: String,
}

/// Parses the stdout of `<binary> --version`: the first non-empty line must be
/// `<name> version[:] <version>` with a name this backend knows. Anything else (nothing at all, a
/// coreutils banner, crun) is an [`ErrorKind::Backend`] error that names the binary, shows what
/// it printed, and says how to override the detection.
pub fn parse_version(binary: &Path, stdout: &[u8]) -> Result<RuntimeVersion> {
    let text = String::from_utf8_lossy(stdout);
    let first = text.lines().map(str::trim).find(|l| !l.is_empty());
    let mut words = first.unwrap_or("").split_whitespace();
    let (name, kw, version) = (words.next(), words.next(), words.next());
    let kw = kw.map(|k| k.trim_end_matches(':'));
    let flavour = match (name, kw) {
        (Some("runc"), Some("version")) => Some(Flavour::Runc),
        (Some("youki"), Some("version")) => Some(Flavour::Youki),
        _ => None,
    };
    match (flavour, version) {
        (Some(flavour), Some(v)) => Ok(RuntimeVersion {
            flavour,
            version: v.to_string(),
        }),
        _ => {
            let shown: String = first.unwrap_or("").chars().take(120).collect();
            let said = if shown.is_empty() {
                "printed nothing".to_string()
            } else {
                format!("printed {shown:?}")
            };
            Err(Error::new(
                ErrorKind::Backend,
                format!(
                    "{} is not an OCI runtime this backend knows: `--version` {said} \
                     (expected `runc version X` or `youki version X`; set \"flavour\" in the \
                     configuration to drive it anyway)",
                    binary.display()
                ),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runc_and_youki_banners() {
        let p = Path::new("/x");
        let r = parse_version(
            p,
            b"runc version 1.1.5+ds1\ncommit: 1.1.5+ds1-1\nspec: 1.0.2-dev\ngo: go1.19.8\n",
        )
        .unwrap();
        assert_eq!(r.flavour, Flavour::Runc);
        assert_eq!(r.version, "1.1.5+ds1");
        let r = parse_version(p, b"runc version 1.2.4\ncommit: v1.2.4-0\n").unwrap();
        assert_eq!((r.flavour, r.version.as_str()), (Flavour::Runc, "1.2.4"));
        let y = parse_version(
            p,
            b"youki version: 0.7.0\ncommit: 0.7.0-VERGEN_IDEMPOTENT_OUTPUT\nspec: 1.1.0\n",
        )
        .unwrap();
        assert_eq!((y.flavour, y.version.as_str()), (Flavour::Youki, "0.7.0"));
    }

    #[test]
    fn other_programs_are_refused_with_what_they_printed() {
        let p = Path::new("/bin/cat");
        for (out, shown) in [
            (&b""[..], "printed nothing"),
            (b"\n\n", "printed nothing"),
            (b"cat (GNU coreutils) 9.1\n", "cat (GNU coreutils) 9.1"),
            (b"crun version 1.8.1\n", "crun version 1.8.1"),
            (b"runc version\n", "runc version"),
        ] {
            let e = parse_version(p, out).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Backend);
            assert!(e.message().contains("/bin/cat"), "{e}");
            assert!(e.message().contains(shown), "{e}");
            assert!(e.message().contains("flavour"), "{e}");
        }
    }

    #[test]
    fn flavour_json_words() {
        assert_eq!(
            serde_json::from_str::<Flavour>("\"youki\"").unwrap(),
            Flavour::Youki
        );
        assert!(serde_json::from_str::<Flavour>("\"crun\"").is_err());
        assert!(Flavour::Runc.lists_json() && !Flavour::Youki.lists_json());
    }
}
