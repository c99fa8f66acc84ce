//! Loading plugins: the declaration of a good one, and each broken one refused with its own
//! error, naming the path.

mod common;

use plugin::abi::ABI_VERSION;
use plugin::LoadError;

#[test]
fn full_plugin_declares_its_name_and_versions() {
    let plugin = common::full();
    assert_eq!(plugin.name(), "full");
    assert_eq!(plugin.abi_version(), ABI_VERSION);
    assert_eq!(plugin.api_version(), runtime_api::API_VERSION);
    assert!(
        plugin.path().ends_with("libtest_plugin_full.so"),
        "{}",
        plugin.path().display()
    );
}

#[test]
fn missing_file_is_not_found() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("libnothing_here.so");
    let error = plugin::load(&path).unwrap_err();
    assert!(matches!(error, LoadError::NotFound { .. }), "{error:?}");
    assert_eq!(error.path(), path);
    assert!(
        error.to_string().contains(&path.display().to_string()),
        "{error}"
    );
}

#[test]
fn text_file_is_not_a_library() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("libtext.so");
    std::fs::write(&path, "this is not an ELF file\n").unwrap();
    let error = plugin::load(&path).unwrap_err();
    assert!(matches!(error, LoadError::NotALibrary { .. }), "{error:?}");
    assert!(
        error.to_string().contains(&path.display().to_string()),
        "{error}"
    );
}

#[test]
fn library_without_entry_symbol_is_refused() {
    let path = plugin::testing::plugin_path("test-plugin-no-entry");
    let error = plugin::load(&path).unwrap_err();
    match &error {
        LoadError::MissingEntry { symbol, .. } => {
            assert_eq!(symbol, "rtlayer_plugin_entry_test_plugin_no_entry")
        }
        other => panic!("expected MissingEntry, got {other:?}"),
    }
    assert!(
        error.to_string().contains(&path.display().to_string()),
        "{error}"
    );
}

#[test]
fn wrong_abi_version_is_refused() {
    let path = plugin::testing::plugin_path("test-plugin-bad-abi");
    let error = plugin::load(&path).unwrap_err();
    match &error {
        LoadError::AbiMismatch {
            found, expected, ..
        } => {
            assert_eq!(*found, ABI_VERSION + 1);
            assert_eq!(*expected, ABI_VERSION);
        }
        other => panic!("expected AbiMismatch, got {other:?}"),
    }
    assert!(
        error.to_string().contains(&path.display().to_string()),
        "{error}"
    );
}

#[test]
fn renamed_plugin_is_missing_its_entry() {
    // The entry symbol's name comes from the file name cargo gives the library.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("librenamed.so");
    std::fs::copy(plugin::testing::plugin_path("test-plugin-full"), &path).unwrap();
    let error = plugin::load(&path).unwrap_err();
    assert!(matches!(error, LoadError::MissingEntry { .. }), "{error:?}");
}

#[test]
fn loading_twice_gives_two_working_plugins() {
    let path = plugin::testing::plugin_path("test-plugin-full");
    let first = plugin::load(&path).unwrap();
    let second = plugin::load(&path).unwrap();
    assert_eq!(first.name(), second.name());
    let a = first.open(&serde_json::json!({})).unwrap();
    let b = second.open(&serde_json::json!({})).unwrap();
    assert_eq!(a.extension("echo", &serde_json::json!(1)).unwrap(), 1);
    assert_eq!(b.extension("echo", &serde_json::json!(2)).unwrap(), 2);
}

#[test]
fn plugin_path_builds_once_for_concurrent_callers() {
    let paths: Vec<_> = (0..8)
        .map(|_| std::thread::spawn(|| plugin::testing::plugin_path("test-plugin-full")))
        .collect::<Vec<_>>()
        .into_iter()
        .map(|h| h.join().unwrap())
        .collect();
    assert!(paths.windows(2).all(|w| w[0] == w[1]));
    assert!(paths[0].is_file());
}
