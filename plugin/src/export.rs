//! Backend side: the `extern "C"` functions behind the vtables, generic over the backend, and
//! [`export_backend!`](crate::export_backend) which instantiates them in a `cdylib`.
//!
//! Every function here:
//! - takes ownership of incoming fds before anything else, so that they are closed exactly
//!   once whatever happens next (success, error, panic);
//! - runs the backend code inside `catch_unwind`, turning a panic into an
//!   [`ErrorKind::Panicked`] error;
//! - writes results to out-parameters only on success, and errors to `err` as JSON.

use std::ffi::OsStr;
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use runtime_api::{
    ConsoleSize, Container, Error, ErrorKind, ExitStatus, Process, Result, Runtime, Signal,
    StdioSet,
};

use crate::abi::{
    self, Buffer, BytesRef, ContainerHandle, ContainerVTable, HostLogger, PluginDeclaration,
    ProcessHandle, ProcessOps, ProcessVTable, RawExit, RawStdio, RuntimeHandle, RuntimeVTable,
    StaticStr,
};

/// What [`export_backend!`](crate::export_backend) knows about a backend: its name and how to
/// open it. Implemented by the macro on a private type; not meant to be implemented by hand.
pub trait Backend: 'static {
    /// The backend's name, as [`Plugin::name`](crate::Plugin::name) reports it.
    const NAME: &'static str;
    /// Opens a runtime from its JSON configuration (unknown keys refused with
    /// `InvalidArgument`).
    fn open(config: &serde_json::Value) -> Result<Box<dyn Runtime>>;
}

/// The declaration of backend `B`, pointing at the given vtables (statics made with
/// [`runtime_vtable`], [`container_vtable`] and [`process_vtable`]).
pub const fn declaration<B: Backend>(
    runtime: &'static RuntimeVTable,
    container: &'static ContainerVTable,
    process: &'static ProcessVTable,
) -> PluginDeclaration {
    PluginDeclaration {
        abi_version: abi::ABI_VERSION,
        declaration_size: abi::size_u32::<PluginDeclaration>(),
        runtime_vtable_size: abi::size_u32::<RuntimeVTable>(),
        container_vtable_size: abi::size_u32::<ContainerVTable>(),
        process_vtable_size: abi::size_u32::<ProcessVTable>(),
        buffer_size: abi::size_u32::<Buffer>(),
        api_version: StaticStr::new(runtime_api::API_VERSION),
        name: StaticStr::new(B::NAME),
        free_buffer,
        set_logger: set_logger::<B>,
        runtime,
        container,
        process,
    }
}

/// The runtime vtable of backend `B`.
pub const fn runtime_vtable<B: Backend>() -> RuntimeVTable {
    RuntimeVTable {
        open: runtime_open::<B>,
        destroy: runtime_destroy::<B>,
        create_container: runtime_create_container::<B>,
        list_container_states: runtime_list_container_states::<B>,
        extension: runtime_extension::<B>,
        open_container: runtime_open_container::<B>,
        force_delete: runtime_force_delete::<B>,
    }
}

/// The container vtable of backend `B`.
pub const fn container_vtable<B: Backend>() -> ContainerVTable {
    ContainerVTable {
        init: process_ops::<B, dyn Container>(),
        destroy: container_destroy::<B>,
        id: container_id::<B>,
        exists: container_exists::<B>,
        start: container_start::<B>,
        exec: container_exec::<B>,
        kill: container_kill::<B>,
        pause: container_pause::<B>,
        resume: container_resume::<B>,
        state: container_state::<B>,
        running_processes: container_running_processes::<B>,
        all_processes: container_all_processes::<B>,
        update: container_update::<B>,
    }
}

/// The process vtable of backend `B`.
pub const fn process_vtable<B: Backend>() -> ProcessVTable {
    ProcessVTable {
        ops: process_ops::<B, dyn Process>(),
        destroy: process_destroy::<B>,
    }
}

const fn process_ops<B: Backend, P: ?Sized + Process + 'static>() -> ProcessOps {
    ProcessOps {
        pid: process_pid::<B, P>,
        wait: process_wait::<B, P>,
        delete: process_delete::<B, P>,
        resize_console: process_resize_console::<B, P>,
        relay_report: process_relay_report::<B, P>,
    }
}

// ---------------------------------------------------------------------------------------------
// The call frame shared by every function.

/// Runs `f` with panics caught; on error writes the error's JSON to `err` and returns its
/// kind's code, else returns [`abi::STATUS_OK`].
fn call<B: Backend>(method: &str, err: *mut Buffer, f: impl FnOnce() -> Result<()>) -> u32 {
    let outcome = catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|payload| {
        Err(Error::new(
            ErrorKind::Panicked,
            format!(
                "plugin {:?} panicked in {method}: {}",
                B::NAME,
                panic_message(&*payload)
            ),
        ))
    });
    match outcome {
        Ok(()) => abi::STATUS_OK,
        Err(error) => {
            let code = error.kind().code();
            // Serialising our own error type cannot fail in practice; if it panicked anyway,
            // the host still gets the kind from the status and reports the missing detail.
            if let Ok(Ok(json)) = catch_unwind(AssertUnwindSafe(|| serde_json::to_vec(&error))) {
                // SAFETY: the host passes a valid, writable out-parameter (ABI contract).
                unsafe { write_out(err, Buffer::from_vec(json)) };
            }
            code
        }
    }
}

/// The text of a panic payload (`&str` or `String`; anything else is unnamed).
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_string()
    }
}

/// Writes `value` through an out-parameter.
///
/// # Safety
/// `out` must be null or valid for writes of `T`. A null `out` drops the value.
unsafe fn write_out<T>(out: *mut T, value: T) {
    if !out.is_null() {
        // SAFETY: non-null and valid for writes per this function's contract; `write` does
        // not drop the (uninitialised or plain-data) previous content.
        unsafe { out.write(value) };
    }
}

impl Buffer {
    /// Takes a vector apart into a buffer that [`free_buffer`] of the same library frees.
    pub(crate) fn from_vec(bytes: Vec<u8>) -> Buffer {
        let mut bytes = std::mem::ManuallyDrop::new(bytes);
        Buffer {
            ptr: bytes.as_mut_ptr(),
            len: bytes.len(),
            cap: bytes.capacity(),
        }
    }
}

unsafe extern "C" fn free_buffer(buffer: Buffer) {
    if buffer.ptr.is_null() {
        return;
    }
    // SAFETY: a non-null buffer was made by `Buffer::from_vec` in this library (ABI contract:
    // buffers go back to their producer) and is freed exactly once, so ptr/len/cap are those
    // of a live `Vec<u8>` allocated by this library's allocator.
    drop(unsafe { Vec::from_raw_parts(buffer.ptr, buffer.len, buffer.cap) });
}

extern "C" fn set_logger<B: Backend>(logger: HostLogger) {
    // Installing a subscriber cannot meaningfully fail the host; a panic is swallowed here
    // rather than unwinding across the boundary.
    let _ = catch_unwind(|| crate::logging::forward::install(B::NAME, logger));
}

/// The bytes lent by the host.
///
/// # Safety
/// `bytes` must point to `len` readable bytes for the duration of the borrow (ABI contract),
/// or be null with `len` 0.
unsafe fn borrow<'a>(bytes: BytesRef) -> &'a [u8] {
    if bytes.ptr.is_null() || bytes.len == 0 {
        &[]
    } else {
        // SAFETY: per this function's contract.
        unsafe { std::slice::from_raw_parts(bytes.ptr, bytes.len) }
    }
}

fn utf8<'a>(bytes: &'a [u8], what: &str) -> Result<&'a str> {
    std::str::from_utf8(bytes).map_err(|e| {
        Error::new(
            ErrorKind::InvalidArgument,
            format!("{what} is not UTF-8: {e}"),
        )
    })
}

fn from_json<T: serde::de::DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| {
        Error::new(
            ErrorKind::InvalidArgument,
            format!("{what}: invalid JSON: {e}"),
        )
    })
}

fn to_json<T: serde::Serialize>(value: &T, what: &str) -> Result<Vec<u8>> {
    serde_json::to_vec(value)
        .map_err(|e| Error::new(ErrorKind::Backend, format!("cannot serialise {what}: {e}")))
}

/// Takes ownership of the host's fds.
///
/// # Safety
/// Each non-negative number must be an open fd whose ownership the host handed over with
/// this call (ABI contract), so that nobody else closes it.
unsafe fn take_stdio(raw: RawStdio) -> StdioSet {
    let take = |fd: i32| {
        // SAFETY: per this function's contract, the fd is open and now ours alone.
        (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd) })
    };
    StdioSet {
        stdin: take(raw.stdin),
        stdout: take(raw.stdout),
        stderr: take(raw.stderr),
    }
}

/// The plugin-side object behind a handle: a boxed trait object, boxed again so that the
/// handle is a thin pointer.
///
/// # Safety
/// `h` must be a live handle made by `into_handle::<T, H>` of this library and not yet
/// destroyed. The returned reference must not outlive the call.
unsafe fn object<'a, T: ?Sized, H>(h: *mut H) -> Result<&'a T> {
    if h.is_null() {
        return Err(Error::new(ErrorKind::InvalidArgument, "null handle"));
    }
    // SAFETY: per this function's contract `h` came from `Box::<Box<T>>::into_raw` and is
    // live; objects are `Sync`, so shared references from several threads are fine.
    Ok(unsafe { &**(h as *const Box<T>) })
}

fn into_handle<T: ?Sized, H>(object: Box<T>) -> *mut H {
    Box::into_raw(Box::new(object)) as *mut H
}

/// Drops the object behind a handle.
///
/// # Safety
/// As for [`object`]; the handle is invalid afterwards (the host destroys each once).
unsafe fn destroy<B: Backend, T: ?Sized, H>(h: *mut H, what: &str) -> u32 {
    if h.is_null() {
        return abi::STATUS_OK;
    }
    // SAFETY: per this function's contract `h` came from `Box::<Box<T>>::into_raw` and is
    // destroyed exactly once.
    let object = unsafe { Box::from_raw(h as *mut Box<T>) };
    match catch_unwind(AssertUnwindSafe(move || drop(object))) {
        Ok(()) => abi::STATUS_OK,
        Err(payload) => {
            tracing::error!(
                backend = B::NAME,
                "dropping a {what} panicked: {}",
                panic_message(&*payload)
            );
            ErrorKind::Panicked.code()
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Runtime.

unsafe extern "C" fn runtime_open<B: Backend>(
    config: BytesRef,
    out: *mut *mut RuntimeHandle,
    err: *mut Buffer,
) -> u32 {
    call::<B>("open", err, || {
        // SAFETY: the host lends `config` for this call (ABI contract).
        let config: serde_json::Value = from_json(unsafe { borrow(config) }, "configuration")?;
        let runtime = B::open(&config)?;
        // SAFETY: `out` is the host's out-parameter (ABI contract).
        unsafe { write_out(out, into_handle::<dyn Runtime, RuntimeHandle>(runtime)) };
        Ok(())
    })
}

unsafe extern "C" fn runtime_destroy<B: Backend>(h: *mut RuntimeHandle) -> u32 {
    // SAFETY: the host destroys each runtime handle it got from `open` exactly once.
    unsafe { destroy::<B, dyn Runtime, _>(h, "runtime") }
}

unsafe extern "C" fn runtime_create_container<B: Backend>(
    h: *mut RuntimeHandle,
    sandbox_id: BytesRef,
    id: BytesRef,
    bundle: BytesRef,
    stdio: RawStdio,
    out: *mut *mut ContainerHandle,
    err: *mut Buffer,
) -> u32 {
    // SAFETY: the fds are handed over with this call (ABI contract); taken first so they are
    // closed exactly once on every path below.
    let stdio = unsafe { take_stdio(stdio) };
    call::<B>("create_container", err, move || {
        // SAFETY: a live runtime handle (ABI contract).
        let runtime = unsafe { object::<dyn Runtime, _>(h) }?;
        // SAFETY: the host lends the strings for this call (ABI contract).
        let (sandbox_id, id, bundle) = unsafe { (borrow(sandbox_id), borrow(id), borrow(bundle)) };
        let sandbox_id = utf8(sandbox_id, "sandbox id")?;
        let id = utf8(id, "container id")?;
        let bundle = Path::new(OsStr::from_bytes(bundle));
        let container = runtime.create_container(sandbox_id, id, bundle, stdio)?;
        // SAFETY: the host's out-parameter (ABI contract).
        unsafe {
            write_out(
                out,
                into_handle::<dyn Container, ContainerHandle>(container),
            )
        };
        Ok(())
    })
}

unsafe extern "C" fn runtime_list_container_states<B: Backend>(
    h: *mut RuntimeHandle,
    out: *mut Buffer,
    err: *mut Buffer,
) -> u32 {
    call::<B>("list_container_states", err, || {
        // SAFETY: a live runtime handle (ABI contract).
        let runtime = unsafe { object::<dyn Runtime, _>(h) }?;
        let json = to_json(&runtime.list_container_states()?, "container states")?;
        // SAFETY: the host's out-parameter (ABI contract).
        unsafe { write_out(out, Buffer::from_vec(json)) };
        Ok(())
    })
}

unsafe extern "C" fn runtime_extension<B: Backend>(
    h: *mut RuntimeHandle,
    method: BytesRef,
    params: BytesRef,
    out: *mut Buffer,
    err: *mut Buffer,
) -> u32 {
    call::<B>("extension", err, || {
        // SAFETY: a live runtime handle (ABI contract).
        let runtime = unsafe { object::<dyn Runtime, _>(h) }?;
        // SAFETY: the host lends both for this call (ABI contract).
        let (method, params) = unsafe { (borrow(method), borrow(params)) };
        let method = utf8(method, "extension method")?;
        let params: serde_json::Value = from_json(params, "extension parameters")?;
        let json = to_json(&runtime.extension(method, &params)?, "extension answer")?;
        // SAFETY: the host's out-parameter (ABI contract).
        unsafe { write_out(out, Buffer::from_vec(json)) };
        Ok(())
    })
}

unsafe extern "C" fn runtime_open_container<B: Backend>(
    h: *mut RuntimeHandle,
    id: BytesRef,
    out: *mut *mut ContainerHandle,
    err: *mut Buffer,
) -> u32 {
    call::<B>("open_container", err, || {
        // SAFETY: a live runtime handle (ABI contract).
        let runtime = unsafe { object::<dyn Runtime, _>(h) }?;
        // SAFETY: the host lends `id` for this call (ABI contract).
        let id = utf8(unsafe { borrow(id) }, "container id")?;
        let container = runtime.open_container(id)?;
        // SAFETY: the host's out-parameter (ABI contract).
        unsafe {
            write_out(
                out,
                into_handle::<dyn Container, ContainerHandle>(container),
            )
        };
        Ok(())
    })
}

unsafe extern "C" fn runtime_force_delete<B: Backend>(
    h: *mut RuntimeHandle,
    id: BytesRef,
    err: *mut Buffer,
) -> u32 {
    call::<B>("force_delete", err, || {
        // SAFETY: a live runtime handle (ABI contract).
        let runtime = unsafe { object::<dyn Runtime, _>(h) }?;
        // SAFETY: the host lends `id` for this call (ABI contract).
        let id = utf8(unsafe { borrow(id) }, "container id")?;
        runtime.force_delete(id)
    })
}

// ---------------------------------------------------------------------------------------------
// Container.

/// Runs `f` on the container behind `h` inside the call frame.
///
/// # Safety
/// `h` must be a live container handle (ABI contract).
unsafe fn with_container<B: Backend>(
    h: *mut ContainerHandle,
    method: &str,
    err: *mut Buffer,
    f: impl FnOnce(&dyn Container) -> Result<()>,
) -> u32 {
    call::<B>(method, err, || {
        // SAFETY: per this function's contract.
        f(unsafe { object::<dyn Container, _>(h) }?)
    })
}

unsafe extern "C" fn container_destroy<B: Backend>(h: *mut ContainerHandle) -> u32 {
    // SAFETY: the host destroys each container handle exactly once.
    unsafe { destroy::<B, dyn Container, _>(h, "container") }
}

unsafe extern "C" fn container_id<B: Backend>(
    h: *mut ContainerHandle,
    out: *mut Buffer,
    err: *mut Buffer,
) -> u32 {
    // SAFETY: a live container handle (ABI contract).
    unsafe {
        with_container::<B>(h, "id", err, |c| {
            // SAFETY: the host's out-parameter (ABI contract).
            write_out(out, Buffer::from_vec(c.id().as_bytes().to_vec()));
            Ok(())
        })
    }
}

unsafe extern "C" fn container_exists<B: Backend>(
    h: *mut ContainerHandle,
    out: *mut u8,
    err: *mut Buffer,
) -> u32 {
    // SAFETY: a live container handle (ABI contract).
    unsafe {
        with_container::<B>(h, "exists", err, |c| {
            let exists = c.exists()?;
            // SAFETY: the host's out-parameter (ABI contract).
            write_out(out, u8::from(exists));
            Ok(())
        })
    }
}

unsafe extern "C" fn container_start<B: Backend>(h: *mut ContainerHandle, err: *mut Buffer) -> u32 {
    // SAFETY: a live container handle (ABI contract).
    unsafe { with_container::<B>(h, "start", err, |c| c.start()) }
}

unsafe extern "C" fn container_exec<B: Backend>(
    h: *mut ContainerHandle,
    spec: BytesRef,
    stdio: RawStdio,
    out: *mut *mut ProcessHandle,
    err: *mut Buffer,
) -> u32 {
    // SAFETY: the fds are handed over with this call (ABI contract); taken first so they are
    // closed exactly once on every path below.
    let stdio = unsafe { take_stdio(stdio) };
    // SAFETY: a live container handle (ABI contract).
    unsafe {
        with_container::<B>(h, "exec", err, move |c| {
            // SAFETY: the host lends `spec` for this call (ABI contract).
            let spec: oci_spec::runtime::Process = from_json(borrow(spec), "process spec")?;
            let process = c.exec(&spec, stdio)?;
            // SAFETY: the host's out-parameter (ABI contract).
            write_out(out, into_handle::<dyn Process, ProcessHandle>(process));
            Ok(())
        })
    }
}

unsafe extern "C" fn container_kill<B: Backend>(
    h: *mut ContainerHandle,
    signal: i32,
    err: *mut Buffer,
) -> u32 {
    // SAFETY: a live container handle (ABI contract).
    unsafe { with_container::<B>(h, "kill", err, |c| c.kill(Signal(signal))) }
}

unsafe extern "C" fn container_pause<B: Backend>(h: *mut ContainerHandle, err: *mut Buffer) -> u32 {
    // SAFETY: a live container handle (ABI contract).
    unsafe { with_container::<B>(h, "pause", err, |c| c.pause()) }
}

unsafe extern "C" fn container_resume<B: Backend>(
    h: *mut ContainerHandle,
    err: *mut Buffer,
) -> u32 {
    // SAFETY: a live container handle (ABI contract).
    unsafe { with_container::<B>(h, "resume", err, |c| c.resume()) }
}

unsafe extern "C" fn container_state<B: Backend>(
    h: *mut ContainerHandle,
    out: *mut Buffer,
    err: *mut Buffer,
) -> u32 {
    // SAFETY: a live container handle (ABI contract).
    unsafe {
        with_container::<B>(h, "state", err, |c| {
            let json = to_json(&c.state()?, "container state")?;
            // SAFETY: the host's out-parameter (ABI contract).
            write_out(out, Buffer::from_vec(json));
            Ok(())
        })
    }
}

unsafe extern "C" fn container_running_processes<B: Backend>(
    h: *mut ContainerHandle,
    out: *mut Buffer,
    err: *mut Buffer,
) -> u32 {
    // SAFETY: a live container handle (ABI contract).
    unsafe {
        with_container::<B>(h, "running_processes", err, |c| {
            let json = to_json(&c.running_processes()?, "process list")?;
            // SAFETY: the host's out-parameter (ABI contract).
            write_out(out, Buffer::from_vec(json));
            Ok(())
        })
    }
}

unsafe extern "C" fn container_all_processes<B: Backend>(
    h: *mut ContainerHandle,
    out: *mut Buffer,
    err: *mut Buffer,
) -> u32 {
    // SAFETY: a live container handle (ABI contract).
    unsafe {
        with_container::<B>(h, "all_processes", err, |c| {
            let json = to_json(&c.all_processes()?, "process list")?;
            // SAFETY: the host's out-parameter (ABI contract).
            write_out(out, Buffer::from_vec(json));
            Ok(())
        })
    }
}

unsafe extern "C" fn container_update<B: Backend>(
    h: *mut ContainerHandle,
    resources: BytesRef,
    err: *mut Buffer,
) -> u32 {
    // SAFETY: a live container handle (ABI contract).
    unsafe {
        with_container::<B>(h, "update", err, |c| {
            // SAFETY: the host lends `resources` for this call (ABI contract).
            let resources: oci_spec::runtime::LinuxResources =
                from_json(borrow(resources), "resources")?;
            c.update(&resources)
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Process (an exec'd process, `P = dyn Process`; or a container as its init,
// `P = dyn Container`).

unsafe extern "C" fn process_destroy<B: Backend>(h: *mut ProcessHandle) -> u32 {
    // SAFETY: the host destroys each process handle exactly once.
    unsafe { destroy::<B, dyn Process, _>(h, "process") }
}

unsafe extern "C" fn process_pid<B: Backend, P: ?Sized + Process + 'static>(
    h: *mut ProcessHandle,
    out: *mut i32,
    err: *mut Buffer,
) -> u32 {
    call::<B>("pid", err, || {
        // SAFETY: a live handle of a `P` (ABI contract: container handles only reach the
        // `init` operations, instantiated with `P = dyn Container`).
        let process = unsafe { object::<P, _>(h) }?;
        let pid = process.pid();
        // SAFETY: the host's out-parameter (ABI contract).
        unsafe { write_out(out, pid) };
        Ok(())
    })
}

unsafe extern "C" fn process_wait<B: Backend, P: ?Sized + Process + 'static>(
    h: *mut ProcessHandle,
    out: *mut RawExit,
    err: *mut Buffer,
) -> u32 {
    call::<B>("wait", err, || {
        // SAFETY: as in `process_pid`.
        let process = unsafe { object::<P, _>(h) }?;
        let raw = match process.wait()? {
            ExitStatus::Exited(code) => RawExit {
                kind: abi::EXIT_CODE,
                value: code,
            },
            ExitStatus::Signaled(signal) => RawExit {
                kind: abi::EXIT_SIGNAL,
                value: signal.number(),
            },
            ExitStatus::Unknown => RawExit {
                kind: abi::EXIT_UNKNOWN,
                value: 0,
            },
        };
        // SAFETY: the host's out-parameter (ABI contract).
        unsafe { write_out(out, raw) };
        Ok(())
    })
}

unsafe extern "C" fn process_delete<B: Backend, P: ?Sized + Process + 'static>(
    h: *mut ProcessHandle,
    err: *mut Buffer,
) -> u32 {
    call::<B>("delete", err, || {
        // SAFETY: as in `process_pid`.
        unsafe { object::<P, _>(h) }?.delete()
    })
}

unsafe extern "C" fn process_resize_console<B: Backend, P: ?Sized + Process + 'static>(
    h: *mut ProcessHandle,
    rows: u16,
    cols: u16,
    err: *mut Buffer,
) -> u32 {
    call::<B>("resize_console", err, || {
        // SAFETY: as in `process_pid`.
        unsafe { object::<P, _>(h) }?.resize_console(ConsoleSize { rows, cols })
    })
}

unsafe extern "C" fn process_relay_report<B: Backend, P: ?Sized + Process + 'static>(
    h: *mut ProcessHandle,
    out: *mut Buffer,
    err: *mut Buffer,
) -> u32 {
    call::<B>("relay_report", err, || {
        // SAFETY: as in `process_pid`.
        let process = unsafe { object::<P, _>(h) }?;
        let json = to_json(&process.relay_report(), "relay report")?;
        // SAFETY: the host's out-parameter (ABI contract).
        unsafe { write_out(out, Buffer::from_vec(json)) };
        Ok(())
    })
}

/// Exports a [`Runtime`](runtime_api::Runtime) implementation from a `cdylib` as a plugin.
///
/// ```ignore
/// plugin::export_backend!(name = "sim", open = my_crate::open_from_config);
/// ```
///
/// `open` is a `fn(&serde_json::Value) -> runtime_api::Result<T>` with
/// `T: runtime_api::Runtime + 'static`; it must refuse unknown configuration keys with
/// `ErrorKind::InvalidArgument`. Use the macro once per crate, at the crate root or in any
/// module. It defines the entry symbol `rtlayer_plugin_entry_<crate name>` (see
/// [`abi::entry_symbol_name`](crate::abi::entry_symbol_name)); because the name carries the
/// crate name, several backend crates can also be linked statically as rlibs into one binary.
#[macro_export]
macro_rules! export_backend {
    (name = $name:literal, open = $open:path $(,)?) => {
        const _: () = {
            struct ExportedBackend;

            impl $crate::export::Backend for ExportedBackend {
                const NAME: &'static str = $name;
                fn open(
                    config: &$crate::__private::serde_json::Value,
                ) -> $crate::__private::runtime_api::Result<
                    ::std::boxed::Box<dyn $crate::__private::runtime_api::Runtime>,
                > {
                    match $open(config) {
                        ::std::result::Result::Ok(runtime) => {
                            ::std::result::Result::Ok(::std::boxed::Box::new(runtime)
                                as ::std::boxed::Box<dyn $crate::__private::runtime_api::Runtime>)
                        }
                        ::std::result::Result::Err(error) => ::std::result::Result::Err(error),
                    }
                }
            }

            static RUNTIME: $crate::abi::RuntimeVTable =
                $crate::export::runtime_vtable::<ExportedBackend>();
            static CONTAINER: $crate::abi::ContainerVTable =
                $crate::export::container_vtable::<ExportedBackend>();
            static PROCESS: $crate::abi::ProcessVTable =
                $crate::export::process_vtable::<ExportedBackend>();
            static DECLARATION: $crate::abi::PluginDeclaration =
                $crate::export::declaration::<ExportedBackend>(&RUNTIME, &CONTAINER, &PROCESS);

            #[unsafe(export_name = concat!("rtlayer_plugin_entry_", env!("CARGO_CRATE_NAME")))]
            extern "C" fn rtlayer_plugin_entry() -> *const $crate::abi::PluginDeclaration {
                &DECLARATION
            }
        };
    };
}
