//! Test library without the plugin entry symbol: a real shared library that exports a C
//! function, but not `rtlayer_plugin_entry_test_plugin_no_entry`. The loader must refuse it
//! with `LoadError::MissingEntry`.

/// A C function, so that the library exports something other than the entry symbol.
#[unsafe(no_mangle)]
pub extern "C" fn rtlayer_test_not_a_plugin() -> u32 {
    42
}
