//! Busybox `sh -c` scripts with known outcomes, shared by every backend's tests.
//!
//! The list lives in `testkit/scripts.json`. Each script must give the same exit code and the
//! same bytes on each stream whether it runs as a container's init or as an exec, on real runc
//! or on the simulator. Scripts stay inside the simulator's shell subset.

use serde::Deserialize;

/// One script and the outcome every backend must produce for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Script {
    /// A short unique name, for test output.
    pub name: String,
    /// The process arguments: `["sh", "-c", <script>]`.
    pub args: Vec<String>,
    /// Bytes fed to the process's stdin (then end-of-file).
    pub stdin: Vec<u8>,
    /// The exit code (`ExitStatus::code()`).
    pub exit_code: i32,
    /// Every byte the process writes to stdout.
    pub stdout: Vec<u8>,
    /// Every byte the process writes to stderr.
    pub stderr: Vec<u8>,
}

impl Script {
    /// The script text (what follows `sh -c`).
    pub fn script(&self) -> &str {
        &self.args[2]
    }

    /// The arguments as `&str`, for [`crate::BundleBuilder::new`] and [`crate::exec_process`].
    pub fn args_str(&self) -> Vec<&str> {
        self.args.iter().map(String::as_str).collect()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    name: String,
    script: String,
    #[serde(default)]
    stdin: String,
    #[serde(default)]
    exit_code: i32,
    #[serde(default)]
    stdout: String,
    /// Zero bytes written to stdout before `stdout` text (for `head -c N /dev/zero`).
    #[serde(default)]
    stdout_zeros: usize,
    #[serde(default)]
    stderr: String,
}

/// Every shared script, in file order.
pub fn shared_scripts() -> Vec<Script> {
    let entries: Vec<Entry> = serde_json::from_str(include_str!("../scripts.json"))
        .expect("testkit/scripts.json is valid (checked by its own test)");
    entries
        .into_iter()
        .map(|e| {
            let mut stdout = vec![0u8; e.stdout_zeros];
            stdout.extend_from_slice(e.stdout.as_bytes());
            Script {
                name: e.name,
                args: vec!["sh".into(), "-c".into(), e.script],
                stdin: e.stdin.into_bytes(),
                exit_code: e.exit_code,
                stdout,
                stderr: e.stderr.into_bytes(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_parse_with_unique_names() {
        let scripts = shared_scripts();
        assert!(scripts.len() >= 60);
        let mut names: Vec<_> = scripts.iter().map(|s| s.name.clone()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), scripts.len());
        let head = scripts.iter().find(|s| s.name == "head_zeros").unwrap();
        assert_eq!(head.stdout.len(), 100_000);
        assert!(head.stdout.iter().all(|b| *b == 0));
        let cat = scripts.iter().find(|s| s.name == "cat_stdin").unwrap();
        assert_eq!(cat.stdin, cat.stdout);
        assert_eq!(cat.args_str(), ["sh", "-c", "cat"]);
    }
}
