// Replays a fuzz target's committed corpus (`fuzz/corpus/<target>/`) through its check, on
// stable: included by the crates' `tests/fuzz_corpus.rs`, so that `cargo test` runs every
// input the fuzzer kept (the short run of each target that CI makes without nightly).

/// Runs `check` on every file of `fuzz/corpus/<target>/`, on a thread bounded by 120 s of
/// wall clock (a parser that loops for ever fails the test instead of hanging it). Panics,
/// naming the input, when the check fails; also when the corpus is missing or nearly empty.
fn replay(target: &'static str, check: fn(&[u8])) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let mut inputs: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("corpus entry").path())
        .collect();
    inputs.sort();
    assert!(
        inputs.len() >= 100,
        "{target}: only {} inputs",
        inputs.len()
    );
    let (tx, rx) = std::sync::mpsc::channel();
    let count = inputs.len();
    std::thread::spawn(move || {
        for path in inputs {
            let data = std::fs::read(&path).expect("corpus input");
            let _ = tx.send(Some(path.clone()));
            check(&data);
        }
        let _ = tx.send(None);
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    let mut last = None;
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok(Some(path)) => last = Some(path),
            Ok(None) => return,
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                panic!("{target}: the check failed on {last:?} (of {count} inputs)")
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                panic!("{target}: still running after 120 s, on {last:?}")
            }
        }
    }
}
