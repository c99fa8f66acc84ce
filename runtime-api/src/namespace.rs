//! The rule 1 decision: does a container own its pid namespace?

use oci_spec::runtime::{LinuxNamespaceType, Spec};

/// Whether the container described by `spec` owns its pid namespace: its `linux.namespaces`
/// has a `pid` entry with no path (or an empty one). No entry means it shares the runtime's pid
/// namespace; an entry with a path means it joins another's. Neither owns one.
///
/// Rule 1: when the init of a container that does not own its pid namespace exits, the runtime
/// kills every other process of the container (runc: `kill --all`). When it owns one, the
/// kernel kills the namespace and the runtime must issue no cgroup-wide kill, which could hit
/// another container sharing the cgroup.
pub fn owns_pid_namespace(spec: &Spec) -> bool {
    spec.linux()
        .as_ref()
        .and_then(|l| l.namespaces().as_ref())
        .map(|namespaces| {
            namespaces.iter().any(|ns| {
                ns.typ() == LinuxNamespaceType::Pid
                    && ns.path().as_ref().is_none_or(|p| p.as_os_str().is_empty())
            })
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::{LinuxBuilder, LinuxNamespaceBuilder, SpecBuilder};

    fn spec_with(namespaces: Option<Vec<oci_spec::runtime::LinuxNamespace>>) -> Spec {
        // oci-spec's defaults carry a pid namespace entry; set the list explicitly.
        let mut linux = LinuxBuilder::default().build().unwrap();
        linux.set_namespaces(namespaces);
        SpecBuilder::default().linux(linux).build().unwrap()
    }

    #[test]
    fn pid_entry_without_path_owns() {
        let ns = LinuxNamespaceBuilder::default()
            .typ(LinuxNamespaceType::Pid)
            .build()
            .unwrap();
        assert!(owns_pid_namespace(&spec_with(Some(vec![ns]))));
        let empty = LinuxNamespaceBuilder::default()
            .typ(LinuxNamespaceType::Pid)
            .path("")
            .build()
            .unwrap();
        assert!(owns_pid_namespace(&spec_with(Some(vec![empty]))));
    }

    #[test]
    fn no_entry_or_path_does_not_own() {
        let mount = LinuxNamespaceBuilder::default()
            .typ(LinuxNamespaceType::Mount)
            .build()
            .unwrap();
        assert!(!owns_pid_namespace(&spec_with(Some(vec![mount]))));
        assert!(!owns_pid_namespace(&spec_with(Some(vec![]))));
        assert!(!owns_pid_namespace(&spec_with(None)));
        let joined = LinuxNamespaceBuilder::default()
            .typ(LinuxNamespaceType::Pid)
            .path("/proc/42/ns/pid")
            .build()
            .unwrap();
        assert!(!owns_pid_namespace(&spec_with(Some(vec![joined]))));
        let no_linux = SpecBuilder::default().build().unwrap();
        // The default spec of oci-spec has a pid namespace entry; strip linux entirely.
        let mut no_linux = no_linux;
        no_linux.set_linux(None);
        assert!(!owns_pid_namespace(&no_linux));
    }
}
