//! Test plugin whose declaration gives a wrong size for a struct of the ABI.
//!
//! It stands for a plugin of the same ABI version whose structs do not match the host's (a
//! build for another architecture, a hand-edited ABI, a corrupt declaration). The loader must
//! refuse it with `LoadError::LayoutMismatch`, naming the struct, before it reads anything
//! past the sizes.
//!
//! Everything else is right: real vtables (of a backend whose `open` always fails), the
//! right ABI version and API version. The library has two entry symbols; the loader picks
//! one by the library's file name (see `plugin::abi::entry_symbol_name`):
//! - `rtlayer_plugin_entry_test_plugin_bad_layout` (the file cargo builds,
//!   `libtest_plugin_bad_layout.so`): a [`ContainerVTable`] one function pointer larger than
//!   the host's, as if built against an ABI with one more container method;
//! - `rtlayer_plugin_entry_bad_layout_declaration` (the library copied to
//!   `libbad_layout_declaration.so`): a declaration that is itself larger than the host's
//!   [`PluginDeclaration`], with a trailing field the host does not know.

use plugin::abi::{self, ContainerVTable, PluginDeclaration, ProcessVTable, RuntimeVTable};
use plugin::export::{self, Backend};
use runtime_api::{Error, ErrorKind, Result, Runtime};

/// A backend that is never opened: the loader refuses the library first. Its vtables are the
/// real ones, so that the only thing wrong is the declared size.
struct NeverOpened;

impl Backend for NeverOpened {
    const NAME: &'static str = "bad-layout";
    fn open(_config: &serde_json::Value) -> Result<Box<dyn Runtime>> {
        Err(Error::new(
            ErrorKind::Unsupported,
            "the bad-layout test plugin is never meant to load",
        ))
    }
}

static RUNTIME: RuntimeVTable = export::runtime_vtable::<NeverOpened>();
static CONTAINER: ContainerVTable = export::container_vtable::<NeverOpened>();
static PROCESS: ProcessVTable = export::process_vtable::<NeverOpened>();

/// The size the declaration gives for the container vtable: one function pointer more than
/// the host's.
pub const DECLARED_CONTAINER_VTABLE_SIZE: u32 =
    abi::size_u32::<ContainerVTable>() + std::mem::size_of::<usize>() as u32;

static DECLARATION: PluginDeclaration = PluginDeclaration {
    container_vtable_size: DECLARED_CONTAINER_VTABLE_SIZE,
    ..export::declaration::<NeverOpened>(&RUNTIME, &CONTAINER, &PROCESS)
};

/// The entry symbol under the name the loader derives from the built library's file name.
#[unsafe(export_name = "rtlayer_plugin_entry_test_plugin_bad_layout")]
pub extern "C" fn rtlayer_plugin_entry() -> *const PluginDeclaration {
    &DECLARATION
}

/// A declaration of the same ABI version that grew a field: its declared size is its own,
/// larger than the host's [`PluginDeclaration`].
#[repr(C)]
pub struct GrownDeclaration {
    /// A correct declaration but for `declaration_size`.
    pub base: PluginDeclaration,
    /// A field the host does not know.
    pub extra: u64,
}

/// The size [`GrownDeclaration`] declares for itself.
pub const DECLARED_DECLARATION_SIZE: u32 = abi::size_u32::<GrownDeclaration>();

static GROWN: GrownDeclaration = GrownDeclaration {
    base: PluginDeclaration {
        declaration_size: DECLARED_DECLARATION_SIZE,
        ..export::declaration::<NeverOpened>(&RUNTIME, &CONTAINER, &PROCESS)
    },
    extra: u64::MAX,
};

/// The entry symbol of the library copied to `libbad_layout_declaration.so`.
#[unsafe(export_name = "rtlayer_plugin_entry_bad_layout_declaration")]
pub extern "C" fn rtlayer_plugin_entry_grown() -> *const GrownDeclaration {
    &GROWN
}
