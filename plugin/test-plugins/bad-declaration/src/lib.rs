//! Test plugin whose declaration is unusable although its versions and sizes are right.
//!
//! The loader must refuse each of these with `LoadError::BadDeclaration`. The library has one
//! entry symbol per defect; the loader picks one by the library's file name (see
//! `plugin::abi::entry_symbol_name`), so a test copies the library under the name of the
//! defect it wants:
//!
//! | file name                             | entry symbol returns                        |
//! |---------------------------------------|---------------------------------------------|
//! | `libtest_plugin_bad_declaration.so`   | a declaration with a null container vtable  |
//! | `libbad_declaration_null.so`          | a null declaration pointer                  |
//! | `libbad_declaration_name.so`          | a backend name that is not UTF-8            |
//! | `libbad_declaration_api.so`           | an API version that is not UTF-8            |
//!
//! Apart from its defect, each declaration is right: current ABI version and struct sizes,
//! this build's `runtime-api` version, real vtables (of a backend whose `open` always fails).

use plugin::abi::{ContainerVTable, PluginDeclaration, ProcessVTable, RuntimeVTable, StaticStr};
use plugin::export::{self, Backend};
use runtime_api::{Error, ErrorKind, Result, Runtime};

/// A backend that is never opened: the loader refuses the library first.
struct NeverOpened;

impl Backend for NeverOpened {
    const NAME: &'static str = "bad-declaration";
    fn open(_config: &serde_json::Value) -> Result<Box<dyn Runtime>> {
        Err(Error::new(
            ErrorKind::Unsupported,
            "the bad-declaration test plugin is never meant to load",
        ))
    }
}

static RUNTIME: RuntimeVTable = export::runtime_vtable::<NeverOpened>();
static CONTAINER: ContainerVTable = export::container_vtable::<NeverOpened>();
static PROCESS: ProcessVTable = export::process_vtable::<NeverOpened>();

/// Bytes that are not UTF-8 (a lone continuation byte, then an invalid byte).
static NOT_UTF8: [u8; 4] = [b'b', 0x80, 0xff, b'd'];

const fn not_utf8() -> StaticStr {
    StaticStr {
        ptr: NOT_UTF8.as_ptr(),
        len: NOT_UTF8.len(),
    }
}

static NULL_VTABLE: PluginDeclaration = PluginDeclaration {
    container: std::ptr::null(),
    ..export::declaration::<NeverOpened>(&RUNTIME, &CONTAINER, &PROCESS)
};

static BAD_NAME: PluginDeclaration = PluginDeclaration {
    name: not_utf8(),
    ..export::declaration::<NeverOpened>(&RUNTIME, &CONTAINER, &PROCESS)
};

static BAD_API: PluginDeclaration = PluginDeclaration {
    api_version: not_utf8(),
    ..export::declaration::<NeverOpened>(&RUNTIME, &CONTAINER, &PROCESS)
};

/// The entry symbol of the built library: a null container vtable.
#[unsafe(export_name = "rtlayer_plugin_entry_test_plugin_bad_declaration")]
pub extern "C" fn rtlayer_plugin_entry() -> *const PluginDeclaration {
    &NULL_VTABLE
}

/// The entry symbol of the copy `libbad_declaration_null.so`: no declaration at all.
#[unsafe(export_name = "rtlayer_plugin_entry_bad_declaration_null")]
pub extern "C" fn rtlayer_plugin_entry_null() -> *const PluginDeclaration {
    std::ptr::null()
}

/// The entry symbol of the copy `libbad_declaration_name.so`: a name that is not UTF-8.
#[unsafe(export_name = "rtlayer_plugin_entry_bad_declaration_name")]
pub extern "C" fn rtlayer_plugin_entry_name() -> *const PluginDeclaration {
    &BAD_NAME
}

/// The entry symbol of the copy `libbad_declaration_api.so`: an API version that is not
/// UTF-8.
#[unsafe(export_name = "rtlayer_plugin_entry_bad_declaration_api")]
pub extern "C" fn rtlayer_plugin_entry_api() -> *const PluginDeclaration {
    &BAD_API
}
