//! Test plugin that declares an incompatible `runtime-api` version.
//!
//! It stands for a plugin built against a future major version of `runtime-api`: same ABI
//! version, every struct of the right size, real vtables (of a backend whose `open` always
//! fails), but its declaration names API version [`DECLARED_API_VERSION`]. The loader must
//! refuse it with `LoadError::ApiMismatch`, and never call into it (not even `set_logger`).

use plugin::abi::{ContainerVTable, PluginDeclaration, ProcessVTable, RuntimeVTable, StaticStr};
use plugin::export::{self, Backend};
use runtime_api::{Error, ErrorKind, Result, Runtime};

/// The API version the declaration claims: a major version no host of this workspace has.
pub const DECLARED_API_VERSION: &str = "999.0.0";

/// A backend that is never opened: the loader refuses the library first.
struct NeverOpened;

impl Backend for NeverOpened {
    const NAME: &'static str = "bad-api";
    fn open(_config: &serde_json::Value) -> Result<Box<dyn Runtime>> {
        Err(Error::new(
            ErrorKind::Unsupported,
            "the bad-api test plugin is never meant to load",
        ))
    }
}

static RUNTIME: RuntimeVTable = export::runtime_vtable::<NeverOpened>();
static CONTAINER: ContainerVTable = export::container_vtable::<NeverOpened>();
static PROCESS: ProcessVTable = export::process_vtable::<NeverOpened>();

static DECLARATION: PluginDeclaration = PluginDeclaration {
    api_version: StaticStr::new(DECLARED_API_VERSION),
    ..export::declaration::<NeverOpened>(&RUNTIME, &CONTAINER, &PROCESS)
};

/// The entry symbol under the name the loader derives from the built library's file name.
#[unsafe(export_name = "rtlayer_plugin_entry_test_plugin_bad_api")]
pub extern "C" fn rtlayer_plugin_entry() -> *const PluginDeclaration {
    &DECLARATION
}
