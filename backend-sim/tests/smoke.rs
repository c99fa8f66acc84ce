mod common;
use common::*;
use runtime_api::ExitStatus;

#[test]
fn echo_as_init() {
    let rt = sim(1);
    let (st, out, err) = run_init(
        &rt,
        "c1",
        &["sh", "-c", "echo hello; echo oops >&2; exit 3"],
        None,
    );
    eprintln!("{}", rt.trace_text());
    assert_eq!(st, ExitStatus::Exited(3));
    assert_eq!(out, b"hello\n");
    assert_eq!(err, b"oops\n");
}
