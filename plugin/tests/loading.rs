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
    assert!(
        matches!(
            error,
            LoadError::Malformed {
                check: plugin::Check::ElfHeader,
                ..
            }
        ),
        "{error:?}"
    );
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

/// The host goes on after a refusal: a good plugin still loads (afresh), opens and answers.
fn assert_host_goes_on() {
    let path = plugin::testing::plugin_path("test-plugin-full");
    let plugin = plugin::load(&path).unwrap_or_else(|e| panic!("after a refusal: {e}"));
    let runtime = plugin.open(&serde_json::json!({})).unwrap();
    assert_eq!(
        runtime
            .extension("echo", &serde_json::json!({"still": "alive"}))
            .unwrap(),
        serde_json::json!({"still": "alive"})
    );
}

/// Asserts that the message of `error` names `path` and that `error.path()` is `path`.
fn assert_names_path(error: &LoadError, path: &std::path::Path) {
    assert_eq!(error.path(), path);
    assert!(
        error.to_string().contains(&path.display().to_string()),
        "{error}"
    );
}

/// A copy of workspace library `package` named `lib<crate_name>.so` in `dir`: the loader
/// looks for the entry symbol `rtlayer_plugin_entry_<crate_name>`, so the copy selects one of
/// the library's entry symbols.
fn copy_as(package: &str, crate_name: &str, dir: &tempfile::TempDir) -> std::path::PathBuf {
    let path = dir.path().join(format!("lib{crate_name}.so"));
    std::fs::copy(plugin::testing::plugin_path(package), &path).unwrap();
    path
}

#[test]
fn wrong_vtable_size_is_a_layout_mismatch() {
    let path = plugin::testing::plugin_path("test-plugin-bad-layout");
    let error = plugin::load(&path).unwrap_err();
    match &error {
        LoadError::LayoutMismatch {
            structure,
            found,
            expected,
            ..
        } => {
            assert_eq!(*structure, "ContainerVTable");
            assert_eq!(
                *expected,
                plugin::abi::size_u32::<plugin::abi::ContainerVTable>()
            );
            assert_eq!(*found, *expected + std::mem::size_of::<usize>() as u32);
        }
        other => panic!("expected LayoutMismatch, got {other:?}"),
    }
    assert_names_path(&error, &path);
    assert!(error.to_string().contains("ContainerVTable"), "{error}");
    assert_host_goes_on();
}

#[test]
fn wrong_declaration_size_is_a_layout_mismatch() {
    let dir = tempfile::tempdir().unwrap();
    let path = copy_as("test-plugin-bad-layout", "bad_layout_declaration", &dir);
    let error = plugin::load(&path).unwrap_err();
    match &error {
        LoadError::LayoutMismatch {
            structure,
            found,
            expected,
            ..
        } => {
            assert_eq!(*structure, "PluginDeclaration");
            assert_eq!(
                *expected,
                plugin::abi::size_u32::<plugin::abi::PluginDeclaration>()
            );
            // The grown declaration carries one more field than the host's.
            assert!(*found > *expected, "{found} <= {expected}");
        }
        other => panic!("expected LayoutMismatch, got {other:?}"),
    }
    assert_names_path(&error, &path);
    assert_host_goes_on();
}

#[test]
fn incompatible_api_version_is_an_api_mismatch() {
    let path = plugin::testing::plugin_path("test-plugin-bad-api");
    let error = plugin::load(&path).unwrap_err();
    match &error {
        LoadError::ApiMismatch {
            found, expected, ..
        } => {
            assert_eq!(found, "999.0.0");
            assert_eq!(expected, runtime_api::API_VERSION);
        }
        other => panic!("expected ApiMismatch, got {other:?}"),
    }
    assert_names_path(&error, &path);
    assert!(error.to_string().contains("999.0.0"), "{error}");
    assert_host_goes_on();
}

/// Loads `path`, expects `BadDeclaration` with a message containing `what`.
fn assert_bad_declaration(path: &std::path::Path, what: &str) {
    let error = plugin::load(path).unwrap_err();
    match &error {
        LoadError::BadDeclaration { message, .. } => {
            assert!(message.contains(what), "{message:?} lacks {what:?}")
        }
        other => panic!("expected BadDeclaration ({what}), got {other:?}"),
    }
    assert_names_path(&error, path);
}

#[test]
fn null_vtable_pointer_is_a_bad_declaration() {
    let path = plugin::testing::plugin_path("test-plugin-bad-declaration");
    assert_bad_declaration(&path, "vtable pointer is null");
    assert_host_goes_on();
}

#[test]
fn null_declaration_is_a_bad_declaration() {
    let dir = tempfile::tempdir().unwrap();
    let path = copy_as("test-plugin-bad-declaration", "bad_declaration_null", &dir);
    assert_bad_declaration(&path, "null declaration");
    assert_host_goes_on();
}

#[test]
fn non_utf8_name_is_a_bad_declaration() {
    let dir = tempfile::tempdir().unwrap();
    let path = copy_as("test-plugin-bad-declaration", "bad_declaration_name", &dir);
    assert_bad_declaration(&path, "backend name is not UTF-8");
    assert_host_goes_on();
}

#[test]
fn non_utf8_api_version_is_a_bad_declaration() {
    let dir = tempfile::tempdir().unwrap();
    let path = copy_as("test-plugin-bad-declaration", "bad_declaration_api", &dir);
    assert_bad_declaration(&path, "API version is not UTF-8");
    assert_host_goes_on();
}

#[test]
fn every_refusal_in_a_row_leaves_the_host_working() {
    // All the broken libraries, one after the other in one thread, then the good one: no
    // refusal leaves state behind that stops the next load.
    let dir = tempfile::tempdir().unwrap();
    let paths = [
        plugin::testing::plugin_path("test-plugin-no-entry"),
        plugin::testing::plugin_path("test-plugin-bad-abi"),
        plugin::testing::plugin_path("test-plugin-bad-layout"),
        copy_as("test-plugin-bad-layout", "bad_layout_declaration", &dir),
        plugin::testing::plugin_path("test-plugin-bad-api"),
        plugin::testing::plugin_path("test-plugin-bad-declaration"),
        copy_as("test-plugin-bad-declaration", "bad_declaration_null", &dir),
        copy_as("test-plugin-bad-declaration", "bad_declaration_name", &dir),
        copy_as("test-plugin-bad-declaration", "bad_declaration_api", &dir),
    ];
    let mut refusals = Vec::new();
    for path in &paths {
        let error = plugin::load(path).unwrap_err();
        assert_names_path(&error, path);
        refusals.push(
            format!("{error:?}")
                .split([' ', '{'])
                .next()
                .unwrap()
                .to_string(),
        );
    }
    assert_eq!(
        refusals,
        [
            "MissingEntry",
            "AbiMismatch",
            "LayoutMismatch",
            "LayoutMismatch",
            "ApiMismatch",
            "BadDeclaration",
            "BadDeclaration",
            "BadDeclaration",
            "BadDeclaration",
        ]
    );
    assert_host_goes_on();
}
