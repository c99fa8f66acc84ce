//! Loading a plugin: check the file ([`crate::host::preflight`]), optionally load
//! it in a child first ([`crate::host::probe`]), open the library, find the entry
//! symbol, check the declaration, install the log callback. Libraries are never unloaded.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use runtime_api::{Error, ErrorKind, Result, Runtime};

use crate::abi::{
    self, Buffer, BytesRef, ContainerVTable, EntryFn, PluginDeclaration, ProcessVTable,
    RuntimeHandle, RuntimeVTable, StaticStr,
};
use crate::host::adapters::RemoteRuntime;
use crate::host::preflight::{self, Check};
use crate::host::probe::{self, Probe};

/// Why a library could not be used as a plugin. Every message names the library's path.
#[derive(thiserror::Error, Debug)]
#[non_exhaustive]
pub enum LoadError {
    /// There is no file at the path.
    #[error("plugin {}: no such file: {source}", path.display())]
    NotFound {
        /// The path given to [`load`].
        path: PathBuf,
        /// What the file system said.
        source: std::io::Error,
    },
    /// The file exists but the dynamic loader refused it (a missing dependency, an
    /// unresolved symbol...). The message is the loader's own (`dlerror`).
    #[error("plugin {}: not a loadable library: {message}", path.display())]
    NotALibrary {
        /// The path given to [`load`].
        path: PathBuf,
        /// The dynamic loader's message (`dlerror`).
        message: String,
    },
    /// The file failed a structural check before the dynamic loader saw it (see
    /// [`crate::host::preflight`]): not a regular file, not an ELF shared object
    /// for this host, truncated, or a table pointing outside the library.
    #[error("plugin {}: not a loadable library (preflight {check}): {message}", path.display())]
    Malformed {
        /// The path given to [`load`].
        path: PathBuf,
        /// Which check refused it.
        check: Check,
        /// What is wrong.
        message: String,
    },
    /// The probe's child did not load the plugin normally (it crashed, exited, or hung and
    /// was killed): the host did not map the library.
    #[error(
        "plugin {}: the probe process {} {}{}",
        path.display(),
        failure.what,
        failure.stage,
        if failure.stderr.is_empty() { String::new() } else { format!("; its stderr: {}", failure.stderr) }
    )]
    ProbeFailed {
        /// The path given to [`load`].
        path: PathBuf,
        /// What happened to the child.
        failure: probe::Failure,
    },
    /// The library has no entry symbol (it is not a plugin, or its file was renamed: the
    /// symbol's name comes from the file name, see
    /// [`abi::entry_symbol_name`]).
    #[error("plugin {}: no entry symbol {symbol:?}: {message}", path.display())]
    MissingEntry {
        /// The path given to [`load`].
        path: PathBuf,
        /// The symbol looked for.
        symbol: String,
        /// The dynamic loader's message.
        message: String,
    },
    /// The plugin speaks another version of the ABI.
    #[error("plugin {}: ABI version {found}, this host speaks version {expected}", path.display())]
    AbiMismatch {
        /// The path given to [`load`].
        path: PathBuf,
        /// The plugin's ABI version.
        found: u32,
        /// This host's [`abi::ABI_VERSION`].
        expected: u32,
    },
    /// Same ABI version, but a struct of the ABI has another size in the plugin (a build for
    /// another architecture, or a corrupt declaration).
    #[error(
        "plugin {}: size of {structure} is {found} bytes in the plugin, {expected} in the host",
        path.display()
    )]
    LayoutMismatch {
        /// The path given to [`load`].
        path: PathBuf,
        /// Which struct.
        structure: &'static str,
        /// Its size in the plugin.
        found: u32,
        /// Its size in this host.
        expected: u32,
    },
    /// The plugin was built against an incompatible `runtime-api` version.
    #[error("plugin {}: built for runtime-api {found}, this host has {expected}", path.display())]
    ApiMismatch {
        /// The path given to [`load`].
        path: PathBuf,
        /// The plugin's API version.
        found: String,
        /// This host's `runtime_api::API_VERSION`.
        expected: String,
    },
    /// The declaration is unusable (null pointers, a name that is not UTF-8).
    #[error("plugin {}: invalid declaration: {message}", path.display())]
    BadDeclaration {
        /// The path given to [`load`].
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

impl LoadError {
    /// The path of the library this error is about.
    pub fn path(&self) -> &Path {
        match self {
            LoadError::NotFound { path, .. }
            | LoadError::NotALibrary { path, .. }
            | LoadError::Malformed { path, .. }
            | LoadError::ProbeFailed { path, .. }
            | LoadError::MissingEntry { path, .. }
            | LoadError::AbiMismatch { path, .. }
            | LoadError::LayoutMismatch { path, .. }
            | LoadError::ApiMismatch { path, .. }
            | LoadError::BadDeclaration { path, .. } => path,
        }
    }

    /// The preflight check that refused the file, for [`LoadError::Malformed`] (and
    /// [`Check::EntrySymbol`] for a [`LoadError::MissingEntry`] found by preflight).
    pub fn check(&self) -> Option<Check> {
        match self {
            LoadError::Malformed { check, .. } => Some(*check),
            _ => None,
        }
    }
}

/// A loaded plugin: cheap to clone, `Send + Sync`. Its library stays loaded for the life of
/// the process.
#[derive(Clone)]
pub struct Plugin {
    pub(crate) inner: Arc<PluginInner>,
}

/// What every adapter keeps of its plugin: the checked vtables and the names for messages.
pub(crate) struct PluginInner {
    pub(crate) path: PathBuf,
    pub(crate) name: String,
    pub(crate) api_version: String,
    pub(crate) abi_version: u32,
    pub(crate) free_buffer: unsafe extern "C" fn(Buffer),
    pub(crate) runtime: &'static RuntimeVTable,
    pub(crate) container: &'static ContainerVTable,
    pub(crate) process: &'static ProcessVTable,
}

impl fmt::Debug for Plugin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Plugin")
            .field("path", &self.inner.path)
            .field("name", &self.inner.name)
            .field("abi_version", &self.inner.abi_version)
            .field("api_version", &self.inner.api_version)
            .finish()
    }
}

impl Plugin {
    /// The path it was loaded from, as given to [`load`].
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The backend's name from its declaration (`"sim"`, `"runc"`).
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The ABI version the plugin declared (equal to [`abi::ABI_VERSION`], or it would not
    /// have loaded).
    pub fn abi_version(&self) -> u32 {
        self.inner.abi_version
    }

    /// The `runtime-api` version the plugin was built against.
    pub fn api_version(&self) -> &str {
        &self.inner.api_version
    }

    /// Opens a runtime with a JSON configuration (the backend documents its keys and refuses
    /// unknown ones with `InvalidArgument`). The result behaves exactly as the backend linked
    /// statically would; its containers and processes are adapters over the plugin's vtables.
    /// Several runtimes may be opened from one plugin.
    pub fn open(&self, config: &serde_json::Value) -> Result<Box<dyn Runtime>> {
        let config = serde_json::to_vec(config).map_err(|e| {
            Error::new(
                ErrorKind::InvalidArgument,
                format!("cannot serialise the configuration: {e}"),
            )
        })?;
        let mut handle: *mut RuntimeHandle = std::ptr::null_mut();
        let mut err = Buffer::EMPTY;
        // SAFETY: vtable checked at load; `config` outlives the call; the out-parameters are
        // valid for writes.
        let status =
            unsafe { (self.inner.runtime.open)(BytesRef::new(&config), &mut handle, &mut err) };
        self.inner.check(status, err, "open")?;
        RemoteRuntime::new(self.inner.clone(), handle).map(|r| Box::new(r) as Box<dyn Runtime>)
    }
}

/// How [`load_with`] guards the host against a bad plugin file.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    probe: Option<Probe>,
}

impl LoadOptions {
    /// Preflight only (what [`load`] does).
    pub fn new() -> LoadOptions {
        LoadOptions::default()
    }

    /// Preflight, then the probe: the plugin is loaded in a child process first, and the
    /// host maps it only if the child loaded it and exited normally.
    pub fn probe(mut self, probe: Probe) -> LoadOptions {
        self.probe = Some(probe);
        self
    }
}

/// Loads the plugin at `path` with the preflight checks only: see [`load_with`].
pub fn load(path: &Path) -> std::result::Result<Plugin, LoadError> {
    load_with(path, &LoadOptions::new())
}

/// Loads the plugin at `path`.
///
/// 1. Preflight ([`crate::host::preflight`]): the file is checked as an ELF shared object of
///    this host, every table the dynamic loader reads inside the file and the library's
///    image, every relocation aimed at the library's own writable memory, the entry symbol
///    exported. A refusal is [`LoadError::Malformed`] (or [`LoadError::MissingEntry`]).
/// 2. With [`LoadOptions::probe`]: a child process loads the plugin first
///    ([`crate::host::probe`]); if it crashes, fails or hangs, the load fails with
///    [`LoadError::ProbeFailed`] and the host never maps the library.
/// 3. The library is opened (`dlopen`; its refusal is [`LoadError::NotALibrary`] with the
///    loader's own `dlerror` text), its entry symbol called, the ABI version, the struct
///    sizes and the API version checked before anything else is used, then it is passed
///    the host's log callback so its `tracing` events reach this process's subscriber.
///
/// The library is never unloaded, even when refused (a Rust `cdylib` may have registered
/// thread-local destructors or threads that outlive any handle). Loading the same path twice
/// gives two `Plugin` values over the same library.
pub fn load_with(path: &Path, options: &LoadOptions) -> std::result::Result<Plugin, LoadError> {
    let owned = || path.to_path_buf();
    let canonical = std::fs::canonicalize(path).map_err(|source| {
        if matches!(
            source.kind(),
            std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
        ) {
            LoadError::NotFound {
                path: owned(),
                source,
            }
        } else {
            LoadError::Malformed {
                path: owned(),
                check: Check::FileType,
                message: format!("cannot resolve the path: {source}"),
            }
        }
    })?;
    let symbol = abi::entry_symbol_name(&crate_name_of(&canonical));
    preflight::open_regular(&canonical)
        .and_then(|file| preflight::run(file, &symbol))
        .map_err(|refusal| match refusal.check {
            Check::EntrySymbol => LoadError::MissingEntry {
                path: owned(),
                symbol: symbol.clone(),
                message: refusal.message,
            },
            check => LoadError::Malformed {
                path: owned(),
                check,
                message: refusal.message,
            },
        })?;
    let seen = match &options.probe {
        None => None,
        Some(probe) => match probe.run(&canonical) {
            Ok(probe::Verdict::Loaded { declaration, .. }) => Some(declaration),
            // The child's loader refused it cleanly: loading here gives the same typed error.
            Ok(probe::Verdict::Refused(_)) => None,
            Err(failure) => {
                return Err(LoadError::ProbeFailed {
                    path: owned(),
                    failure,
                })
            }
        },
    };
    let plugin = open_checked(path, &canonical, &symbol)?;
    if let Some(seen) = seen {
        if seen.name != plugin.name()
            || seen.api_version != plugin.api_version()
            || seen.abi_version != plugin.abi_version()
        {
            return Err(LoadError::BadDeclaration {
                path: owned(),
                message: format!("the probe saw {seen:?}, this process {plugin:?}: the file changed between the two loads"),
            });
        }
    }
    Ok(plugin)
}

/// `dlopen`, entry symbol, declaration checks, logger.
fn open_checked(
    path: &Path,
    canonical: &Path,
    symbol: &str,
) -> std::result::Result<Plugin, LoadError> {
    let owned = || path.to_path_buf();
    // RTLD_NOW: every symbol the library imports is bound here, so an unresolvable one is a
    // `dlerror` now instead of the dynamic loader exiting the host (status 127) at first call.
    let flags = libloading::os::unix::RTLD_NOW | libloading::os::unix::RTLD_LOCAL;
    // SAFETY: loading a library runs its initialisers; the host has chosen to trust the
    // plugin file it loads (preflight, and the probe if asked, vetted it). The canonical path
    // contains a slash, so no search path is used.
    let library: libloading::Library =
        unsafe { libloading::os::unix::Library::open(Some(canonical), flags) }
            .map_err(|e| LoadError::NotALibrary {
                path: owned(),
                message: with_dlerror(&e),
            })?
            .into();
    // Never unloaded: the library lives as long as the process.
    let library: &'static libloading::Library = Box::leak(Box::new(library));

    // SAFETY: the symbol, if the library is a plugin of this family, has type `EntryFn`;
    // the ABI version check below guards against any other declaration shape.
    let entry: EntryFn = unsafe { library.get::<EntryFn>(symbol) }
        .map(|s| *s)
        .map_err(|e| LoadError::MissingEntry {
            path: owned(),
            symbol: symbol.to_string(),
            message: with_dlerror(&e),
        })?;
    // SAFETY: the entry function takes nothing and returns a pointer to static data.
    let declaration = unsafe { entry() };
    if declaration.is_null() {
        return Err(LoadError::BadDeclaration {
            path: owned(),
            message: "the entry symbol returned a null declaration".into(),
        });
    }
    // SAFETY: every ABI version starts the declaration with two u32s (version, size), so
    // reading them is valid whatever version the plugin speaks.
    let (abi_version, declaration_size) = unsafe {
        let first = declaration as *const u32;
        (first.read(), first.add(1).read())
    };
    if abi_version != abi::ABI_VERSION {
        return Err(LoadError::AbiMismatch {
            path: owned(),
            found: abi_version,
            expected: abi::ABI_VERSION,
        });
    }
    let layout = |structure, found, expected| {
        if found == expected {
            Ok(())
        } else {
            Err(LoadError::LayoutMismatch {
                path: owned(),
                structure,
                found,
                expected,
            })
        }
    };
    layout(
        "PluginDeclaration",
        declaration_size,
        abi::size_u32::<PluginDeclaration>(),
    )?;
    // SAFETY: same ABI version and same declaration size: the pointer is to a
    // `PluginDeclaration` of our layout, in the library's static memory (never unloaded).
    let declaration: &'static PluginDeclaration = unsafe { &*declaration };
    layout(
        "RuntimeVTable",
        declaration.runtime_vtable_size,
        abi::size_u32::<RuntimeVTable>(),
    )?;
    layout(
        "ContainerVTable",
        declaration.container_vtable_size,
        abi::size_u32::<ContainerVTable>(),
    )?;
    layout(
        "ProcessVTable",
        declaration.process_vtable_size,
        abi::size_u32::<ProcessVTable>(),
    )?;
    layout("Buffer", declaration.buffer_size, abi::size_u32::<Buffer>())?;

    let bad = |message: &str| LoadError::BadDeclaration {
        path: owned(),
        message: message.to_string(),
    };
    // SAFETY: the strings point into the library's static memory (ABI contract).
    let api_version = unsafe { static_str(declaration.api_version) }
        .ok_or_else(|| bad("the API version is not UTF-8"))?;
    // SAFETY: as above.
    let name = unsafe { static_str(declaration.name) }
        .ok_or_else(|| bad("the backend name is not UTF-8"))?;
    if !api_compatible(api_version, runtime_api::API_VERSION) {
        return Err(LoadError::ApiMismatch {
            path: owned(),
            found: api_version.to_string(),
            expected: runtime_api::API_VERSION.to_string(),
        });
    }
    if declaration.runtime.is_null()
        || declaration.container.is_null()
        || declaration.process.is_null()
    {
        return Err(bad("a vtable pointer is null"));
    }
    // SAFETY: non-null, sizes checked above, static data of a never-unloaded library.
    let (runtime, container, process) = unsafe {
        (
            &*declaration.runtime,
            &*declaration.container,
            &*declaration.process,
        )
    };

    (declaration.set_logger)(crate::logging::reemit::host_logger());
    tracing::debug!(plugin = name, path = %path.display(), "plugin loaded");

    Ok(Plugin {
        inner: Arc::new(PluginInner {
            path: owned(),
            name: name.to_string(),
            api_version: api_version.to_string(),
            abi_version,
            free_buffer: declaration.free_buffer,
            runtime,
            container,
            process,
        }),
    })
}

/// libloading's message with its source (since libloading 0.9 the `dlerror` text is the
/// error's source, not part of its `Display`): "dlopen failed: <what the loader said>".
fn with_dlerror(error: &libloading::Error) -> String {
    use std::error::Error as _;
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

/// Reads a string of the plugin's static memory.
///
/// # Safety
/// `s` must point to `len` bytes that stay valid for the life of the process.
unsafe fn static_str(s: StaticStr) -> Option<&'static str> {
    if s.ptr.is_null() {
        return (s.len == 0).then_some("");
    }
    // SAFETY: per this function's contract.
    let bytes = unsafe { std::slice::from_raw_parts(s.ptr, s.len) };
    std::str::from_utf8(bytes).ok()
}

/// The crate name cargo built the library from: `libbackend_sim.so` gives `backend_sim`.
fn crate_name_of(path: &Path) -> String {
    let file = path
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem = file.split(".so").next().unwrap_or(&file);
    stem.strip_prefix("lib").unwrap_or(stem).to_string()
}

/// Semver compatibility: same major version, and for 0.x the same minor version.
fn api_compatible(plugin: &str, host: &str) -> bool {
    let parts = |v: &str| -> Option<(u64, u64)> {
        let mut it = v.split('.');
        Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?))
    };
    match (parts(plugin), parts(host)) {
        (Some((0, pm)), Some((0, hm))) => pm == hm,
        (Some((pmaj, _)), Some((hmaj, _))) => pmaj == hmaj,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crate_name_comes_from_the_file_name() {
        assert_eq!(
            crate_name_of(Path::new("/x/libbackend_sim.so")),
            "backend_sim"
        );
        assert_eq!(crate_name_of(Path::new("libfoo.so.1")), "foo");
        assert_eq!(crate_name_of(Path::new("bar.so")), "bar");
    }

    #[test]
    fn api_versions_follow_semver() {
        assert!(api_compatible("0.1.0", "0.1.7"));
        assert!(!api_compatible("0.2.0", "0.1.0"));
        assert!(api_compatible("1.2.0", "1.0.0"));
        assert!(!api_compatible("2.0.0", "1.0.0"));
        assert!(!api_compatible("garbage", "1.0.0"));
    }
}
