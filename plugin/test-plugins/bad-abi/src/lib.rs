//! Test plugin that declares a wrong ABI version.
//!
//! It stands for a plugin built for a future ABI: it exports the entry symbol the loader
//! looks for, but its declaration has another version number and another shape after the two
//! fields that every version shares. The loader must refuse it with
//! `LoadError::AbiMismatch` after reading only those two fields.

use plugin::abi::ABI_VERSION;

/// A declaration of "the next ABI version": the two leading fields every version keeps, then
/// a layout this host knows nothing about.
#[repr(C)]
pub struct FutureDeclaration {
    /// Not the host's version.
    pub abi_version: u32,
    /// The size of this struct.
    pub declaration_size: u32,
    /// Something a future ABI might carry first.
    pub feature_flags: u64,
}

static DECLARATION: FutureDeclaration = FutureDeclaration {
    abi_version: ABI_VERSION + 1,
    declaration_size: std::mem::size_of::<FutureDeclaration>() as u32,
    feature_flags: u64::MAX,
};

/// The entry symbol, under the name the loader derives from this library's file name.
#[unsafe(export_name = "rtlayer_plugin_entry_test_plugin_bad_abi")]
pub extern "C" fn rtlayer_plugin_entry() -> *const FutureDeclaration {
    &DECLARATION
}
