//! No fd leaks across many calls that pass fds, on success and error paths. Alone in its
//! test binary so that no other test opens fds meanwhile.

mod common;

use std::path::Path;

use common::{open_fds, pipe, read_to_end, spec, write_and_close};
use runtime_api::{ErrorKind, ExitStatus, StdioSet};

#[test]
fn ten_thousand_calls_passing_fds_leak_nothing() {
    let runtime = common::full().open(&serde_json::json!({})).unwrap();
    let c = runtime
        .create_container("sb", "leak", Path::new("/b"), StdioSet::none())
        .unwrap();
    c.start().unwrap();
    // Warm up (lazy statics, allocator arenas, the plugin's logging) before counting.
    let _ = runtime.create_container("sb", "bad id", Path::new("/b"), StdioSet::none());
    let before = open_fds();

    for i in 0..10_000 {
        if i % 2 == 0 {
            // Success path: three fds in, the process runs, the plugin closes them.
            let (in_r, in_w) = pipe();
            let (out_r, out_w) = pipe();
            let (err_r, err_w) = pipe();
            let process = c
                .exec(
                    &spec(&["cat"], false),
                    StdioSet {
                        stdin: Some(in_r),
                        stdout: Some(out_w),
                        stderr: Some(err_w),
                    },
                )
                .unwrap();
            write_and_close(in_w, b"x");
            assert_eq!(process.wait().unwrap(), ExitStatus::Exited(0));
            assert_eq!(read_to_end(out_r), b"x");
            assert_eq!(read_to_end(err_r), b"");
            process.delete().unwrap();
        } else {
            // Error path: the fds go to a call that fails; the plugin closes them too.
            let (_in_r, in_w) = pipe();
            let (out_r, out_w) = pipe();
            let error = runtime
                .create_container(
                    "sb",
                    "bad id",
                    Path::new("/b"),
                    StdioSet {
                        stdin: Some(in_w),
                        stdout: Some(out_w),
                        stderr: None,
                    },
                )
                .err()
                .unwrap();
            assert_eq!(error.kind(), ErrorKind::InvalidId);
            assert_eq!(read_to_end(out_r), b"");
        }
    }

    assert_eq!(open_fds(), before, "fds open before and after 10,000 calls");
}
