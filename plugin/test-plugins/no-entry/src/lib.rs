//! Test library without the plugin entry symbol.
