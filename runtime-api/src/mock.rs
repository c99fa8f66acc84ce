//! `mockall` mocks of the three traits (feature `mock`), for unit tests of code that consumes
//! them.
//!
//! ```
//! use runtime_api::mock::MockProcess;
//! use runtime_api::{ExitStatus, Process};
//!
//! let mut p = MockProcess::new();
//! p.expect_pid().return_const(42);
//! p.expect_wait().returning(|| Ok(ExitStatus::Exited(0)));
//! assert_eq!(p.pid(), 42);
//! assert!(p.wait().unwrap().success());
//! ```

#![allow(missing_docs)]

use crate::{
    ConsoleSize, Container, ContainerState, ExitStatus, Process, ProcessInfo, RelayReport, Result,
    Runtime, Signal, StdioSet,
};

mockall::mock! {
    /// A mock [`Process`].
    pub Process {}
    impl Process for Process {
        fn pid(&self) -> i32;
        fn wait(&self) -> Result<ExitStatus>;
        fn delete(&self) -> Result<()>;
        fn resize_console(&self, size: ConsoleSize) -> Result<()>;
        fn relay_report(&self) -> Option<RelayReport>;
    }
}

mockall::mock! {
    /// A mock [`Container`] (and so [`Process`]).
    pub Container {}
    impl Process for Container {
        fn pid(&self) -> i32;
        fn wait(&self) -> Result<ExitStatus>;
        fn delete(&self) -> Result<()>;
        fn resize_console(&self, size: ConsoleSize) -> Result<()>;
        fn relay_report(&self) -> Option<RelayReport>;
    }
    impl Container for Container {
        fn id(&self) -> &str;
        fn exists(&self) -> Result<bool>;
        fn start(&self) -> Result<()>;
        fn exec(&self, process: &oci_spec::runtime::Process, stdio: StdioSet) -> Result<Box<dyn Process>>;
        fn kill(&self, signal: Signal) -> Result<()>;
        fn pause(&self) -> Result<()>;
        fn resume(&self) -> Result<()>;
        fn state(&self) -> Result<ContainerState>;
        fn running_processes(&self) -> Result<Vec<ProcessInfo>>;
        fn all_processes(&self) -> Result<Vec<ProcessInfo>>;
        fn init_process(&self) -> &dyn Process;
        fn update(&self, resources: &oci_spec::runtime::LinuxResources) -> Result<()>;
    }
}

mockall::mock! {
    /// A mock [`Runtime`].
    pub Runtime {}
    impl Runtime for Runtime {
        fn create_container(
            &self,
            sandbox_id: &str,
            id: &str,
            bundle_path: &std::path::Path,
            stdio: StdioSet,
        ) -> Result<Box<dyn Container>>;
        fn list_container_states(&self) -> Result<Vec<ContainerState>>;
        fn open_container(&self, id: &str) -> Result<Box<dyn Container>>;
        fn force_delete(&self, id: &str) -> Result<()>;
        fn extension(&self, method: &str, params: &serde_json::Value) -> Result<serde_json::Value>;
    }
}
