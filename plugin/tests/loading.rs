//! Loading plugins: the declaration of a good one, and each broken one refused with its own
//! error, naming the path.

mod common;

use plugin::abi::ABI_VERSION;

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
