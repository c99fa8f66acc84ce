//! Test plugin that declares a wrong ABI version.
