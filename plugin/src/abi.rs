//! The C ABI between a host and a backend plugin, version [`ABI_VERSION`].
//!
//! Everything here is `#[repr(C)]` and made only of integers, raw pointers and `extern "C"`
//! function pointers: nothing `repr(Rust)` (no `String`, `Vec`, `Box<dyn Trait>`, `Result`)
//! ever crosses, because two separately compiled Rust binaries need not agree on those
//! layouts, allocators or vtables.
//!
//! # Shape
//!
//! A plugin exports one function, its *entry symbol* (see [`entry_symbol_name`]), returning a
//! pointer to a static [`PluginDeclaration`]. The host checks, in this order and before it
//! touches anything else: the ABI version and the declaration's own size (the first two
//! fields, whose layout never changes), the sizes of every struct the declaration points to,
//! and the API version. Only then does it read the vtables.
//!
//! Objects live on the plugin's side behind opaque handles ([`RuntimeHandle`],
//! [`ContainerHandle`], [`ProcessHandle`]); the host calls the vtable functions with them and
//! destroys each handle exactly once with the vtable's `destroy`.
//!
//! # Calls
//!
//! Every fallible function returns a status: [`STATUS_OK`] (0), or the
//! [`ErrorKind::code`](runtime_api::ErrorKind::code) of the error, in which case it has
//! written the JSON of the [`runtime_api::Error`] into the `err` buffer. Results are written
//! to out-parameters only on success. Structured values travel as JSON (serde of the
//! `runtime-api` and `oci-spec` types).
//!
//! # Memory
//!
//! - Host to plugin: [`BytesRef`], borrowed for the duration of the call only.
//! - Plugin to host: [`Buffer`], allocated by the plugin; the host copies what it needs and
//!   hands it back to the plugin's [`PluginDeclaration::free_buffer`] (the producer frees).
//!
//! # File descriptors
//!
//! Fds go host to plugin only, in a [`RawStdio`] (`-1` for none). Ownership moves to the plugin
//! at the moment of the call, on every outcome: the plugin closes each fd exactly once (when
//! it is done relaying, or at once if the call fails or panics); the host must not touch the
//! numbers after the call. If the host fails before making the call, it still owns them and
//! closes them itself.
//!
//! # Panics
//!
//! Every exported function catches panics (`std::panic::catch_unwind`) and reports them as
//! [`ErrorKind::Panicked`](runtime_api::ErrorKind::Panicked). No unwinding ever crosses.

use std::marker::{PhantomData, PhantomPinned};

/// The version of this ABI. Bumped on any change of any struct or function signature here; a
/// host refuses a plugin whose version differs.
///
/// History: 1, the first; 2 added [`RuntimeVTable::open_container`],
/// [`RuntimeVTable::force_delete`] and [`EXIT_UNKNOWN`].
pub const ABI_VERSION: u32 = 2;

/// The prefix of the entry symbol. The full name is the prefix followed by the crate name of
/// the plugin (for example `rtlayer_plugin_entry_backend_sim`), so that several backends can
/// be linked statically into one binary (as rlibs) without their entry symbols clashing.
pub const ENTRY_SYMBOL_PREFIX: &str = "rtlayer_plugin_entry_";

/// The entry symbol of a plugin whose crate name is `crate_name` (`backend_sim`): the loader
/// derives the crate name from the library's file name (`libbackend_sim.so`), as cargo
/// names it.
pub fn entry_symbol_name(crate_name: &str) -> String {
    format!("{ENTRY_SYMBOL_PREFIX}{crate_name}")
}

/// The type of the entry symbol: returns the plugin's static declaration. Never fails, never
/// allocates; may be called any number of times.
pub type EntryFn = unsafe extern "C" fn() -> *const PluginDeclaration;

/// Status of a successful call.
pub const STATUS_OK: u32 = 0;

/// Log levels on the wire (`tracing::Level`, most severe first).
pub mod level {
    /// ERROR.
    pub const ERROR: u32 = 1;
    /// WARN.
    pub const WARN: u32 = 2;
    /// INFO.
    pub const INFO: u32 = 3;
    /// DEBUG.
    pub const DEBUG: u32 = 4;
    /// TRACE.
    pub const TRACE: u32 = 5;
}

/// Opaque handle of a plugin-side runtime. Never dereferenced by the host.
#[repr(C)]
pub struct RuntimeHandle {
    _private: [u8; 0],
    _marker: PhantomData<(*mut u8, PhantomPinned)>,
}

/// Opaque handle of a plugin-side container. It is also accepted, cast to
/// `*mut ProcessHandle`, by the functions of [`ContainerVTable::init`] (the container seen as
/// its init process), and only by those.
#[repr(C)]
pub struct ContainerHandle {
    _private: [u8; 0],
    _marker: PhantomData<(*mut u8, PhantomPinned)>,
}

/// Opaque handle of a plugin-side process (from `exec`).
#[repr(C)]
pub struct ProcessHandle {
    _private: [u8; 0],
    _marker: PhantomData<(*mut u8, PhantomPinned)>,
}

/// Bytes lent by the host for the duration of one call. `ptr` may be null when `len` is 0.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct BytesRef {
    /// First byte.
    pub ptr: *const u8,
    /// Number of bytes.
    pub len: usize,
}

impl BytesRef {
    /// Lends `bytes` (the borrow must outlive the call the value is passed to).
    pub fn new(bytes: &[u8]) -> BytesRef {
        BytesRef {
            ptr: bytes.as_ptr(),
            len: bytes.len(),
        }
    }
}

/// Bytes produced by the plugin (a `Vec<u8>` taken apart), owned by the receiver until it
/// gives them back to the producer's [`PluginDeclaration::free_buffer`]. All zero is "no
/// buffer".
#[repr(C)]
#[derive(Debug)]
pub struct Buffer {
    /// First byte; null for no buffer.
    pub ptr: *mut u8,
    /// Bytes used.
    pub len: usize,
    /// Bytes allocated (needed by the producer to free).
    pub cap: usize,
}

impl Buffer {
    /// No buffer: what out-parameters are initialised to before a call.
    pub const EMPTY: Buffer = Buffer {
        ptr: std::ptr::null_mut(),
        len: 0,
        cap: 0,
    };
}

/// A string in the plugin's static memory (its name, its API version): valid for as long as
/// the library is loaded, which is forever.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct StaticStr {
    /// First byte (UTF-8).
    pub ptr: *const u8,
    /// Number of bytes.
    pub len: usize,
}

impl StaticStr {
    /// Points at a static string.
    pub const fn new(s: &'static str) -> StaticStr {
        StaticStr {
            ptr: s.as_ptr(),
            len: s.len(),
        }
    }
}

/// The connections of a process: fds whose ownership moves to the plugin with the call, or
/// `-1` for none (see the module documentation).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RawStdio {
    /// Standard input connection, or -1.
    pub stdin: i32,
    /// Standard output connection, or -1.
    pub stdout: i32,
    /// Standard error connection, or -1.
    pub stderr: i32,
}

/// How a process ended: `kind` [`EXIT_CODE`] with `value` the exit code,
/// [`EXIT_SIGNAL`] with `value` the signal number, or [`EXIT_UNKNOWN`] (`value` 0) when the
/// status cannot be known (`ExitStatus::Unknown`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RawExit {
    /// [`EXIT_CODE`], [`EXIT_SIGNAL`] or [`EXIT_UNKNOWN`].
    pub kind: u32,
    /// Exit code or signal number.
    pub value: i32,
}

/// [`RawExit::kind`] of a process that exited with a code.
pub const EXIT_CODE: u32 = 0;
/// [`RawExit::kind`] of a process killed by a signal.
pub const EXIT_SIGNAL: u32 = 1;
/// [`RawExit::kind`] of a process whose exit status cannot be known (the init of a taken-back
/// container); `value` is 0.
pub const EXIT_UNKNOWN: u32 = 2;

/// The callbacks the host gives the plugin at load, through which the plugin's `tracing`
/// events reach the host's subscriber.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct HostLogger {
    /// Whether the host wants events of this [`level`]; `0` means no. Called often; cheap.
    pub enabled: extern "C" fn(level: u32) -> u8,
    /// Receives one event, the JSON of a [`LogRecord`](crate::logging::LogRecord), borrowed
    /// for the duration of the call. May be called from any thread, concurrently.
    pub log: extern "C" fn(record: BytesRef),
}

/// Process operations, for an exec'd process and for a container seen as its init.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct ProcessOps {
    /// Writes the pid to `out`.
    pub pid: unsafe extern "C" fn(h: *mut ProcessHandle, out: *mut i32, err: *mut Buffer) -> u32,
    /// Blocks until exit (see `Process::wait`), writes the status to `out`.
    pub wait:
        unsafe extern "C" fn(h: *mut ProcessHandle, out: *mut RawExit, err: *mut Buffer) -> u32,
    /// `Process::delete` (for the container's init: deletes the container).
    pub delete: unsafe extern "C" fn(h: *mut ProcessHandle, err: *mut Buffer) -> u32,
    /// Resizes the console to `rows` x `cols`.
    pub resize_console:
        unsafe extern "C" fn(h: *mut ProcessHandle, rows: u16, cols: u16, err: *mut Buffer) -> u32,
    /// Writes the JSON of `Option<RelayReport>` to `out`.
    pub relay_report:
        unsafe extern "C" fn(h: *mut ProcessHandle, out: *mut Buffer, err: *mut Buffer) -> u32,
}

/// Functions on a [`ProcessHandle`].
#[repr(C)]
#[derive(Clone, Copy)]
pub struct ProcessVTable {
    /// The process operations.
    pub ops: ProcessOps,
    /// Drops the process object; the handle is invalid afterwards. Returns a status (a panic
    /// in the drop is caught and reported as `Panicked`, without detail).
    pub destroy: unsafe extern "C" fn(h: *mut ProcessHandle) -> u32,
}

/// Functions on a [`ContainerHandle`].
#[repr(C)]
#[derive(Clone, Copy)]
pub struct ContainerVTable {
    /// The container as its init process: these take the container handle cast to
    /// `*mut ProcessHandle`.
    pub init: ProcessOps,
    /// Drops the container object; the handle is invalid afterwards.
    pub destroy: unsafe extern "C" fn(h: *mut ContainerHandle) -> u32,
    /// Writes the container id (UTF-8) to `out`.
    pub id:
        unsafe extern "C" fn(h: *mut ContainerHandle, out: *mut Buffer, err: *mut Buffer) -> u32,
    /// Writes 1 or 0 to `out`.
    pub exists:
        unsafe extern "C" fn(h: *mut ContainerHandle, out: *mut u8, err: *mut Buffer) -> u32,
    /// `Container::start`.
    pub start: unsafe extern "C" fn(h: *mut ContainerHandle, err: *mut Buffer) -> u32,
    /// `Container::exec`: `spec` is the JSON of an `oci_spec::runtime::Process`; the fds of
    /// `stdio` move to the plugin. Writes the new process handle to `out`.
    pub exec: unsafe extern "C" fn(
        h: *mut ContainerHandle,
        spec: BytesRef,
        stdio: RawStdio,
        out: *mut *mut ProcessHandle,
        err: *mut Buffer,
    ) -> u32,
    /// `Container::kill` with a signal number.
    pub kill: unsafe extern "C" fn(h: *mut ContainerHandle, signal: i32, err: *mut Buffer) -> u32,
    /// `Container::pause`.
    pub pause: unsafe extern "C" fn(h: *mut ContainerHandle, err: *mut Buffer) -> u32,
    /// `Container::resume`.
    pub resume: unsafe extern "C" fn(h: *mut ContainerHandle, err: *mut Buffer) -> u32,
    /// Writes the JSON of the `ContainerState` to `out`.
    pub state:
        unsafe extern "C" fn(h: *mut ContainerHandle, out: *mut Buffer, err: *mut Buffer) -> u32,
    /// Writes the JSON of a `Vec<ProcessInfo>` (zombies excluded) to `out`.
    pub running_processes:
        unsafe extern "C" fn(h: *mut ContainerHandle, out: *mut Buffer, err: *mut Buffer) -> u32,
    /// Writes the JSON of a `Vec<ProcessInfo>` (zombies included) to `out`.
    pub all_processes:
        unsafe extern "C" fn(h: *mut ContainerHandle, out: *mut Buffer, err: *mut Buffer) -> u32,
    /// `Container::update`: `resources` is the JSON of `oci_spec::runtime::LinuxResources`.
    pub update:
        unsafe extern "C" fn(h: *mut ContainerHandle, resources: BytesRef, err: *mut Buffer) -> u32,
}

/// Functions on a [`RuntimeHandle`], and the one that makes it.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct RuntimeVTable {
    /// Opens a runtime from `config`, the JSON of the backend's configuration object. Writes
    /// the handle to `out`.
    pub open: unsafe extern "C" fn(
        config: BytesRef,
        out: *mut *mut RuntimeHandle,
        err: *mut Buffer,
    ) -> u32,
    /// Drops the runtime object; the handle is invalid afterwards. Containers made by it stay
    /// valid (they are separate objects).
    pub destroy: unsafe extern "C" fn(h: *mut RuntimeHandle) -> u32,
    /// `Runtime::create_container`: strings are UTF-8 except `bundle`, the path's raw bytes;
    /// the fds of `stdio` move to the plugin. Writes the new container handle to `out`.
    pub create_container: unsafe extern "C" fn(
        h: *mut RuntimeHandle,
        sandbox_id: BytesRef,
        id: BytesRef,
        bundle: BytesRef,
        stdio: RawStdio,
        out: *mut *mut ContainerHandle,
        err: *mut Buffer,
    ) -> u32,
    /// Writes the JSON of a `Vec<ContainerState>` to `out`.
    pub list_container_states:
        unsafe extern "C" fn(h: *mut RuntimeHandle, out: *mut Buffer, err: *mut Buffer) -> u32,
    /// `Runtime::extension`: `method` UTF-8, `params` JSON; writes the JSON answer to `out`.
    pub extension: unsafe extern "C" fn(
        h: *mut RuntimeHandle,
        method: BytesRef,
        params: BytesRef,
        out: *mut Buffer,
        err: *mut Buffer,
    ) -> u32,
    /// `Runtime::open_container`: `id` UTF-8. Writes the new container handle to `out`
    /// (ABI 2).
    pub open_container: unsafe extern "C" fn(
        h: *mut RuntimeHandle,
        id: BytesRef,
        out: *mut *mut ContainerHandle,
        err: *mut Buffer,
    ) -> u32,
    /// `Runtime::force_delete`: `id` UTF-8 (ABI 2).
    pub force_delete:
        unsafe extern "C" fn(h: *mut RuntimeHandle, id: BytesRef, err: *mut Buffer) -> u32,
}

/// What the entry symbol returns. The first two fields keep their place and type in every ABI
/// version, so that any host can read them and refuse a mismatch safely.
#[repr(C)]
pub struct PluginDeclaration {
    /// The plugin's [`ABI_VERSION`].
    pub abi_version: u32,
    /// `size_of::<PluginDeclaration>()` in the plugin.
    pub declaration_size: u32,
    /// `size_of::<RuntimeVTable>()` in the plugin.
    pub runtime_vtable_size: u32,
    /// `size_of::<ContainerVTable>()` in the plugin.
    pub container_vtable_size: u32,
    /// `size_of::<ProcessVTable>()` in the plugin.
    pub process_vtable_size: u32,
    /// `size_of::<Buffer>()` in the plugin.
    pub buffer_size: u32,
    /// The `runtime_api::API_VERSION` the plugin was built against.
    pub api_version: StaticStr,
    /// The backend's name ("sim", "runc").
    pub name: StaticStr,
    /// Frees a [`Buffer`] this plugin produced. Null buffers are ignored.
    pub free_buffer: unsafe extern "C" fn(buffer: Buffer),
    /// Installs the host's log callbacks (see [`HostLogger`]). The first call wins; later
    /// calls (the same library loaded twice) are ignored.
    pub set_logger: extern "C" fn(logger: HostLogger),
    /// The runtime functions.
    pub runtime: *const RuntimeVTable,
    /// The container functions.
    pub container: *const ContainerVTable,
    /// The process functions.
    pub process: *const ProcessVTable,
}

// SAFETY: a declaration is immutable static data: integers, function pointers and pointers to
// other immutable statics (strings, vtables). Sharing it between threads is reading it.
unsafe impl Sync for PluginDeclaration {}

/// `size_of::<T>()` as the `u32` the declaration carries.
pub const fn size_u32<T>() -> u32 {
    std::mem::size_of::<T>() as u32
}
