//! `rtlayer-plugin-probe`: the child side of the plugin probe (`plugin::host::probe`).
//!
//! Run by a host as `rtlayer-plugin-probe __rtlayer-probe <plugin path> [<config JSON>]`: it
//! loads the plugin in this process, reports each stage on stdout and exits 0, so that a
//! plugin that crashes at load kills this process and not the host.

fn main() {
    match plugin::host::probe::serve(std::env::args().skip(1)) {
        Some(code) => std::process::exit(code),
        None => {
            eprintln!(
                "usage: rtlayer-plugin-probe {} <plugin path> [<config JSON>]",
                plugin::host::probe::PROBE_ARG
            );
            std::process::exit(2);
        }
    }
}
