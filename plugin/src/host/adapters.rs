//! Host-side adapters: `Runtime`, `Container` and `Process` implemented over a plugin's
//! vtables, so that a host cannot tell a plugin from a statically linked backend.
//!
//! Each adapter owns one plugin handle and destroys it exactly once, on drop. Fds of a
//! `StdioSet` are released (`into_raw_fd`) only at the moment of the call that hands them
//! over; any failure before that call drops them here.

use std::os::fd::{IntoRawFd, OwnedFd};
use std::path::Path;
use std::sync::Arc;

use runtime_api::{
    ConsoleSize, Container, ContainerState, Error, ErrorKind, ExitStatus, Process, ProcessInfo,
    RelayReport, Result, Runtime, Signal, StdioSet,
};

use crate::abi::{
    self, Buffer, BytesRef, ContainerHandle, ProcessHandle, ProcessOps, RawExit, RawStdio,
    RuntimeHandle,
};
use crate::host::decode;
use crate::host::loader::PluginInner;

/// A buffer received from the plugin, given back to its `free_buffer` on drop.
struct Received<'a> {
    buffer: Buffer,
    plugin: &'a PluginInner,
}

impl Received<'_> {
    fn bytes(&self) -> &[u8] {
        if self.buffer.ptr.is_null() || self.buffer.len == 0 {
            &[]
        } else {
            // SAFETY: a non-null buffer from the plugin holds `len` initialised bytes until
            // it is freed, which only our drop does.
            unsafe { std::slice::from_raw_parts(self.buffer.ptr, self.buffer.len) }
        }
    }
}

impl Drop for Received<'_> {
    fn drop(&mut self) {
        let buffer = std::mem::replace(&mut self.buffer, Buffer::EMPTY);
        if !buffer.ptr.is_null() {
            // SAFETY: the buffer was produced by this plugin and goes back exactly once.
            unsafe { (self.plugin.free_buffer)(buffer) };
        }
    }
}

impl PluginInner {
    fn received(&self, buffer: Buffer) -> Received<'_> {
        Received {
            buffer,
            plugin: self,
        }
    }

    /// Turns a call's status and error buffer into a result. The buffer is freed whatever
    /// the outcome.
    pub(crate) fn check(&self, status: u32, err: Buffer, method: &str) -> Result<()> {
        let err = self.received(err);
        if status == abi::STATUS_OK {
            return Ok(());
        }
        Err(decode::call_error(&self.name, method, status, err.bytes()))
    }

    /// Makes a call that answers with JSON in its `out` buffer; both buffers are freed
    /// whatever the outcome.
    fn call_json<T: serde::de::DeserializeOwned>(
        &self,
        method: &str,
        call: impl FnOnce(&mut Buffer, &mut Buffer) -> u32,
    ) -> Result<T> {
        let mut out = Buffer::EMPTY;
        let mut err = Buffer::EMPTY;
        let status = call(&mut out, &mut err);
        let out = self.received(out);
        self.check(status, err, method)?;
        decode::answer(&self.name, method, out.bytes())
    }

    /// Makes a call whose only answer is its status.
    fn call_unit(&self, method: &str, call: impl FnOnce(&mut Buffer) -> u32) -> Result<()> {
        let mut err = Buffer::EMPTY;
        let status = call(&mut err);
        self.check(status, err, method)
    }
}

fn to_json<T: serde::Serialize>(value: &T, what: &str) -> Result<Vec<u8>> {
    serde_json::to_vec(value).map_err(|e| {
        Error::new(
            ErrorKind::InvalidArgument,
            format!("cannot serialise {what}: {e}"),
        )
    })
}

/// Releases the fds for a call that takes them over. Call only immediately before the call.
fn hand_over(stdio: StdioSet) -> RawStdio {
    let raw = |fd: Option<OwnedFd>| fd.map_or(-1, IntoRawFd::into_raw_fd);
    RawStdio {
        stdin: raw(stdio.stdin),
        stdout: raw(stdio.stdout),
        stderr: raw(stdio.stderr),
    }
}

// ---------------------------------------------------------------------------------------------

/// A runtime living in a plugin.
pub(crate) struct RemoteRuntime {
    plugin: Arc<PluginInner>,
    handle: *mut RuntimeHandle,
}

// SAFETY: the handle stands for a plugin-side `Box<dyn Runtime>`, and `Runtime: Send + Sync`;
// the vtable functions may be called from any thread, concurrently.
unsafe impl Send for RemoteRuntime {}
// SAFETY: as above.
unsafe impl Sync for RemoteRuntime {}

impl RemoteRuntime {
    pub(crate) fn new(plugin: Arc<PluginInner>, handle: *mut RuntimeHandle) -> Result<Self> {
        if handle.is_null() {
            return Err(Error::new(
                ErrorKind::Backend,
                format!(
                    "plugin {:?} opened a runtime but returned no handle",
                    plugin.name
                ),
            ));
        }
        Ok(RemoteRuntime { plugin, handle })
    }
}

impl Drop for RemoteRuntime {
    fn drop(&mut self) {
        // SAFETY: our handle, destroyed exactly once, here.
        let status = unsafe { (self.plugin.runtime.destroy)(self.handle) };
        if status != abi::STATUS_OK {
            tracing::error!(plugin = %self.plugin.name, status, "dropping a runtime failed in the plugin");
        }
    }
}

impl Runtime for RemoteRuntime {
    fn create_container(
        &self,
        sandbox_id: &str,
        id: &str,
        bundle_path: &Path,
        stdio: StdioSet,
    ) -> Result<Box<dyn Container>> {
        use std::os::unix::ffi::OsStrExt;
        let mut handle: *mut ContainerHandle = std::ptr::null_mut();
        let mut err = Buffer::EMPTY;
        let stdio = hand_over(stdio);
        // SAFETY: live handle; the strings outlive the call; the fds are handed over with the
        // call (the plugin owns them from now on, on every outcome); out-parameters are valid.
        let status = unsafe {
            (self.plugin.runtime.create_container)(
                self.handle,
                BytesRef::new(sandbox_id.as_bytes()),
                BytesRef::new(id.as_bytes()),
                BytesRef::new(bundle_path.as_os_str().as_bytes()),
                stdio,
                &mut handle,
                &mut err,
            )
        };
        self.plugin.check(status, err, "create_container")?;
        RemoteContainer::new(self.plugin.clone(), handle, id)
            .map(|c| Box::new(c) as Box<dyn Container>)
    }

    fn list_container_states(&self) -> Result<Vec<ContainerState>> {
        self.plugin.call_json("list_container_states", |out, err| {
            // SAFETY: live handle; valid out-parameters.
            unsafe { (self.plugin.runtime.list_container_states)(self.handle, out, err) }
        })
    }

    fn open_container(&self, id: &str) -> Result<Box<dyn Container>> {
        let mut handle: *mut ContainerHandle = std::ptr::null_mut();
        self.plugin.call_unit("open_container", |err| {
            // SAFETY: live handle; `id` outlives the call; valid out-parameters.
            unsafe {
                (self.plugin.runtime.open_container)(
                    self.handle,
                    BytesRef::new(id.as_bytes()),
                    &mut handle,
                    err,
                )
            }
        })?;
        RemoteContainer::new(self.plugin.clone(), handle, id)
            .map(|c| Box::new(c) as Box<dyn Container>)
    }

    fn force_delete(&self, id: &str) -> Result<()> {
        self.plugin.call_unit("force_delete", |err| {
            // SAFETY: live handle; `id` outlives the call; valid out-parameter.
            unsafe {
                (self.plugin.runtime.force_delete)(self.handle, BytesRef::new(id.as_bytes()), err)
            }
        })
    }

    fn extension(&self, method: &str, params: &serde_json::Value) -> Result<serde_json::Value> {
        let params = to_json(params, "extension parameters")?;
        self.plugin.call_json("extension", |out, err| {
            // SAFETY: live handle; borrowed bytes outlive the call; valid out-parameters.
            unsafe {
                (self.plugin.runtime.extension)(
                    self.handle,
                    BytesRef::new(method.as_bytes()),
                    BytesRef::new(&params),
                    out,
                    err,
                )
            }
        })
    }
}

// ---------------------------------------------------------------------------------------------

/// The process operations of one plugin object: an exec'd process, or a container seen as
/// its init. Does not own the handle.
struct ProcessView {
    plugin: Arc<PluginInner>,
    handle: *mut ProcessHandle,
    ops: &'static ProcessOps,
    /// The pid read when the object arrived, answered if a later `pid` call fails (the pid
    /// is stable for the life of the object, and `Process::pid` cannot report errors).
    pid: i32,
}

impl ProcessView {
    fn new(
        plugin: Arc<PluginInner>,
        handle: *mut ProcessHandle,
        ops: &'static ProcessOps,
    ) -> Result<Self> {
        let mut view = ProcessView {
            plugin,
            handle,
            ops,
            pid: 0,
        };
        // The process exists and runs: a failing `pid` must not make us destroy the handle
        // (that would leave the process without an owner). Answer 0 until `pid` works.
        match view.try_pid() {
            Ok(pid) => view.pid = pid,
            Err(error) => {
                tracing::error!(plugin = %view.plugin.name, %error, "pid failed in the plugin right after the process was made; keeping the handle, pid unknown (0) until it answers");
            }
        }
        Ok(view)
    }

    fn try_pid(&self) -> Result<i32> {
        let mut pid = 0;
        self.plugin.call_unit("pid", |err| {
            // SAFETY: live handle of the kind `ops` expects; valid out-parameters.
            unsafe { (self.ops.pid)(self.handle, &mut pid, err) }
        })?;
        Ok(pid)
    }

    fn pid(&self) -> i32 {
        self.try_pid().unwrap_or_else(|error| {
            tracing::error!(plugin = %self.plugin.name, pid = self.pid, %error, "pid failed in the plugin; answering the pid it had");
            self.pid
        })
    }

    fn wait(&self) -> Result<ExitStatus> {
        let mut raw = RawExit::default();
        self.plugin.call_unit("wait", |err| {
            // SAFETY: live handle; valid out-parameters. Blocks as `Process::wait` does.
            unsafe { (self.ops.wait)(self.handle, &mut raw, err) }
        })?;
        match raw.kind {
            abi::EXIT_CODE => Ok(ExitStatus::Exited(raw.value)),
            abi::EXIT_SIGNAL => Ok(ExitStatus::Signaled(Signal(raw.value))),
            abi::EXIT_UNKNOWN => Ok(ExitStatus::Unknown),
            other => Err(Error::new(
                ErrorKind::Backend,
                format!(
                    "plugin {:?} answered wait with an unknown exit kind {other}",
                    self.plugin.name
                ),
            )),
        }
    }

    fn delete(&self) -> Result<()> {
        self.plugin.call_unit("delete", |err| {
            // SAFETY: live handle; valid out-parameter.
            unsafe { (self.ops.delete)(self.handle, err) }
        })
    }

    fn resize_console(&self, size: ConsoleSize) -> Result<()> {
        self.plugin.call_unit("resize_console", |err| {
            // SAFETY: live handle; valid out-parameter.
            unsafe { (self.ops.resize_console)(self.handle, size.rows, size.cols, err) }
        })
    }

    fn relay_report(&self) -> Option<RelayReport> {
        self.plugin
            .call_json("relay_report", |out, err| {
                // SAFETY: live handle; valid out-parameters.
                unsafe { (self.ops.relay_report)(self.handle, out, err) }
            })
            .unwrap_or_else(|error| {
                tracing::error!(plugin = %self.plugin.name, pid = self.pid, %error, "relay_report failed in the plugin; answering none");
                None
            })
    }
}

/// A process living in a plugin (from `exec`).
pub(crate) struct RemoteProcess {
    view: ProcessView,
}

// SAFETY: the handle stands for a plugin-side `Box<dyn Process>`, and `Process: Send + Sync`.
unsafe impl Send for RemoteProcess {}
// SAFETY: as above.
unsafe impl Sync for RemoteProcess {}

impl RemoteProcess {
    fn new(plugin: Arc<PluginInner>, handle: *mut ProcessHandle) -> Result<Self> {
        if handle.is_null() {
            return Err(Error::new(
                ErrorKind::Backend,
                format!(
                    "plugin {:?} started a process but returned no handle",
                    plugin.name
                ),
            ));
        }
        let vtable: &'static crate::abi::ProcessVTable = plugin.process;
        match ProcessView::new(plugin.clone(), handle, &vtable.ops) {
            Ok(view) => Ok(RemoteProcess { view }),
            Err(error) => {
                // SAFETY: we own the handle and drop it exactly once, here.
                unsafe { (plugin.process.destroy)(handle) };
                Err(error)
            }
        }
    }
}

impl Drop for RemoteProcess {
    fn drop(&mut self) {
        // SAFETY: our handle, destroyed exactly once, here.
        let status = unsafe { (self.view.plugin.process.destroy)(self.view.handle) };
        if status != abi::STATUS_OK {
            tracing::error!(plugin = %self.view.plugin.name, pid = self.view.pid, status, "dropping a process failed in the plugin");
        }
    }
}

impl Process for RemoteProcess {
    fn pid(&self) -> i32 {
        self.view.pid()
    }

    fn wait(&self) -> Result<ExitStatus> {
        self.view.wait()
    }

    fn delete(&self) -> Result<()> {
        self.view.delete()
    }

    fn resize_console(&self, size: ConsoleSize) -> Result<()> {
        self.view.resize_console(size)
    }

    fn relay_report(&self) -> Option<RelayReport> {
        self.view.relay_report()
    }
}

/// A container living in a plugin.
pub(crate) struct RemoteContainer {
    view: ProcessView,
    handle: *mut ContainerHandle,
    id: String,
}

// SAFETY: the handle stands for a plugin-side `Box<dyn Container>`, and
// `Container: Send + Sync`.
unsafe impl Send for RemoteContainer {}
// SAFETY: as above.
unsafe impl Sync for RemoteContainer {}

impl RemoteContainer {
    /// Adopts a container handle from `create_container` or `open_container` of the container
    /// the host named `requested_id`. A container that exists is never given up: if the
    /// plugin fails to tell its id (or pid), the adapter keeps the handle, with the id the
    /// host asked for (and pid 0 until it answers), so that the host can still kill, wait for
    /// and delete it.
    fn new(
        plugin: Arc<PluginInner>,
        handle: *mut ContainerHandle,
        requested_id: &str,
    ) -> Result<Self> {
        if handle.is_null() {
            return Err(Error::new(
                ErrorKind::Backend,
                format!(
                    "plugin {:?} created a container but returned no handle",
                    plugin.name
                ),
            ));
        }
        let destroy = plugin.container.destroy;
        let made = (|| {
            let id_bytes: Result<Vec<u8>> = {
                let mut out = Buffer::EMPTY;
                let mut err = Buffer::EMPTY;
                // SAFETY: live handle; valid out-parameters.
                let status = unsafe { (plugin.container.id)(handle, &mut out, &mut err) };
                let out = plugin.received(out);
                plugin
                    .check(status, err, "id")
                    .map(|()| out.bytes().to_vec())
            };
            let id = id_bytes
                .and_then(|b| {
                    String::from_utf8(b).map_err(|_| {
                        Error::new(
                            ErrorKind::Backend,
                            format!(
                                "plugin {:?} gave a container id that is not UTF-8",
                                plugin.name
                            ),
                        )
                    })
                })
                .unwrap_or_else(|error| {
                    tracing::error!(plugin = %plugin.name, container.id = requested_id, %error, "id failed in the plugin right after the container was made; keeping the handle under the id asked for");
                    requested_id.to_string()
                });
            let vtable: &'static crate::abi::ContainerVTable = plugin.container;
            // A container handle is accepted, cast, by its vtable's `init` operations.
            let view =
                ProcessView::new(plugin.clone(), handle.cast::<ProcessHandle>(), &vtable.init)
                    .map_err(|e| e.with_container(id.clone()))?;
            Ok(RemoteContainer { view, handle, id })
        })();
        if made.is_err() {
            // SAFETY: we own the handle and drop it exactly once, here.
            unsafe { destroy(handle) };
        }
        made
    }

    fn container_call(&self, method: &str, call: impl FnOnce(&mut Buffer) -> u32) -> Result<()> {
        self.view.plugin.call_unit(method, call)
    }
}

impl Drop for RemoteContainer {
    fn drop(&mut self) {
        // SAFETY: our handle, destroyed exactly once, here.
        let status = unsafe { (self.view.plugin.container.destroy)(self.handle) };
        if status != abi::STATUS_OK {
            tracing::error!(plugin = %self.view.plugin.name, container.id = %self.id, status, "dropping a container failed in the plugin");
        }
    }
}

impl Process for RemoteContainer {
    fn pid(&self) -> i32 {
        self.view.pid()
    }

    fn wait(&self) -> Result<ExitStatus> {
        self.view.wait()
    }

    fn delete(&self) -> Result<()> {
        self.view.delete()
    }

    fn resize_console(&self, size: ConsoleSize) -> Result<()> {
        self.view.resize_console(size)
    }

    fn relay_report(&self) -> Option<RelayReport> {
        self.view.relay_report()
    }
}

impl Container for RemoteContainer {
    fn id(&self) -> &str {
        &self.id
    }

    fn exists(&self) -> Result<bool> {
        let mut exists = 0u8;
        self.container_call("exists", |err| {
            // SAFETY: live handle; valid out-parameters.
            unsafe { (self.view.plugin.container.exists)(self.handle, &mut exists, err) }
        })?;
        Ok(exists != 0)
    }

    fn start(&self) -> Result<()> {
        self.container_call("start", |err| {
            // SAFETY: live handle; valid out-parameter.
            unsafe { (self.view.plugin.container.start)(self.handle, err) }
        })
    }

    fn exec(
        &self,
        process: &oci_spec::runtime::Process,
        stdio: StdioSet,
    ) -> Result<Box<dyn Process>> {
        // Fallible preparation first: on failure `stdio` is dropped (closed) here.
        let spec = to_json(process, "process spec")?;
        let mut handle: *mut ProcessHandle = std::ptr::null_mut();
        let stdio = hand_over(stdio);
        self.container_call("exec", |err| {
            // SAFETY: live handle; `spec` outlives the call; the fds are handed over with
            // the call (the plugin owns them from now on, on every outcome); valid
            // out-parameters.
            unsafe {
                (self.view.plugin.container.exec)(
                    self.handle,
                    BytesRef::new(&spec),
                    stdio,
                    &mut handle,
                    err,
                )
            }
        })?;
        RemoteProcess::new(self.view.plugin.clone(), handle)
            .map(|p| Box::new(p) as Box<dyn Process>)
    }

    fn kill(&self, signal: Signal) -> Result<()> {
        self.container_call("kill", |err| {
            // SAFETY: live handle; valid out-parameter.
            unsafe { (self.view.plugin.container.kill)(self.handle, signal.number(), err) }
        })
    }

    fn pause(&self) -> Result<()> {
        self.container_call("pause", |err| {
            // SAFETY: live handle; valid out-parameter.
            unsafe { (self.view.plugin.container.pause)(self.handle, err) }
        })
    }

    fn resume(&self) -> Result<()> {
        self.container_call("resume", |err| {
            // SAFETY: live handle; valid out-parameter.
            unsafe { (self.view.plugin.container.resume)(self.handle, err) }
        })
    }

    fn state(&self) -> Result<ContainerState> {
        self.view.plugin.call_json("state", |out, err| {
            // SAFETY: live handle; valid out-parameters.
            unsafe { (self.view.plugin.container.state)(self.handle, out, err) }
        })
    }

    fn running_processes(&self) -> Result<Vec<ProcessInfo>> {
        self.view.plugin.call_json("running_processes", |out, err| {
            // SAFETY: live handle; valid out-parameters.
            unsafe { (self.view.plugin.container.running_processes)(self.handle, out, err) }
        })
    }

    fn all_processes(&self) -> Result<Vec<ProcessInfo>> {
        self.view.plugin.call_json("all_processes", |out, err| {
            // SAFETY: live handle; valid out-parameters.
            unsafe { (self.view.plugin.container.all_processes)(self.handle, out, err) }
        })
    }

    fn init_process(&self) -> &dyn Process {
        self
    }

    fn update(&self, resources: &oci_spec::runtime::LinuxResources) -> Result<()> {
        let resources = to_json(resources, "resources")?;
        self.container_call("update", |err| {
            // SAFETY: live handle; `resources` outlives the call; valid out-parameter.
            unsafe {
                (self.view.plugin.container.update)(self.handle, BytesRef::new(&resources), err)
            }
        })
    }
}
