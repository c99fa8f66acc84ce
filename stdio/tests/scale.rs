//! 1,000 concurrent relays in one process: all data correct, the thread count stays at the
//! reactor's fixed size (plus at most [`OFFLOAD_WORKERS`] io_uring kernel workers per reactor,
//! for splices into the blocking sockets used here), and the memory of an idle relay is
//! measured.
//!
//! A single test in this file, so that nothing else changes the thread count or RSS meanwhile.
//! Run with `--nocapture` to see the figures.

mod common;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;

use common::{config, pattern, socketpair};
use nix::sys::resource::{getrlimit, setrlimit, Resource};
use runtime_api::{RelayEnd, StdioSet};
use stdio::{PipeRelay, OFFLOAD_WORKERS, REACTOR_THREADS};
use testkit::bounded;

const RELAYS: usize = 1000;

/// Threads of this process other than io_uring's kernel workers (`iou-wrk-*`).
fn threads() -> usize {
    thread_names()
        .iter()
        .filter(|n| !n.starts_with("iou-wrk"))
        .count()
}

/// io_uring kernel workers of this process.
fn kernel_workers() -> usize {
    thread_names()
        .iter()
        .filter(|n| n.starts_with("iou-wrk"))
        .count()
}

fn thread_names() -> Vec<String> {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .map(|n| n.trim().to_string())
        .collect()
}

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

#[test]
fn thousand_concurrent_relays_share_the_reactor_threads() {
    // About 8 descriptors per relay on both sides together.
    let (_, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
    setrlimit(Resource::RLIMIT_NOFILE, hard, hard).unwrap();
    assert!(
        hard >= (RELAYS * 9) as u64,
        "need {} descriptors, hard limit {hard}",
        RELAYS * 9
    );

    // Warm up: the reactors start with the first relay.
    let (relay, child) = PipeRelay::new(StdioSet::none(), config(2000)).unwrap();
    drop(child);
    relay.wait();
    let threads_before = threads();
    let rss_before = rss_kib();

    let mut relays = Vec::with_capacity(RELAYS);
    let mut writers = Vec::with_capacity(RELAYS);
    let mut peers: Vec<(UnixStream, UnixStream)> = Vec::with_capacity(RELAYS);
    for _ in 0..RELAYS {
        let (out, out_peer) = socketpair();
        let (err, err_peer) = socketpair();
        let (relay, child) = PipeRelay::new(
            StdioSet {
                stdin: None,
                stdout: Some(out),
                stderr: Some(err),
            },
            config(5000),
        )
        .unwrap();
        relays.push(relay);
        writers.push((
            std::fs::File::from(child.stdout),
            std::fs::File::from(child.stderr),
        ));
        peers.push((out_peer, err_peer));
    }
    // Let the reactors take in the new relays.
    std::thread::sleep(std::time::Duration::from_millis(200));
    let rss_idle = rss_kib();
    let threads_idle = threads();
    let per_relay = (rss_idle.saturating_sub(rss_before)) * 1024 / RELAYS as u64;
    println!(
        "{RELAYS} idle relays: threads {threads_before} -> {threads_idle} (reactor threads: {REACTOR_THREADS}); \
         RSS {rss_before} KiB -> {rss_idle} KiB, about {per_relay} bytes per idle relay \
         (user-space memory, test-side handles included; kernel pipe/socket buffers not in RSS)"
    );
    assert_eq!(threads_idle, threads_before);
    // An idle relay holds no buffer: far below one 64 KiB stream buffer.
    assert!(per_relay < 16 * 1024, "{per_relay} bytes per idle relay");

    // Every relay carries its own data on both streams.
    for (i, (out, err)) in writers.iter_mut().enumerate() {
        out.write_all(&pattern(i as u8, 10_000 + i)).unwrap();
        err.write_all(&pattern(i as u8 ^ 0x5a, 3_000 + i)).unwrap();
    }
    let threads_busy = threads();
    let workers_busy = kernel_workers();
    drop(writers);
    for relay in &relays {
        relay.process_exited();
    }
    for (i, (mut out, mut err)) in peers.into_iter().enumerate() {
        let mut got = Vec::new();
        bounded("end-of-file", || out.read_to_end(&mut got)).unwrap();
        assert!(
            got == pattern(i as u8, 10_000 + i),
            "relay {i} stdout differs"
        );
        got.clear();
        bounded("end-of-file", || err.read_to_end(&mut got)).unwrap();
        assert!(
            got == pattern(i as u8 ^ 0x5a, 3_000 + i),
            "relay {i} stderr differs"
        );
    }
    for (i, relay) in relays.iter().enumerate() {
        // Not through `bounded`: its watcher thread could still be listed in `/proc/self/task`
        // when the threads are counted below.
        let report = relay.wait();
        assert_eq!(report.end, RelayEnd::Complete, "relay {i}");
        assert_eq!(report.stdout.relayed, (10_000 + i) as u64);
        assert_eq!(report.stderr.relayed, (3_000 + i) as u64);
    }
    // A thread `bounded` joined may still be listed in `/proc/self/task` for a moment after
    // its join returned (the kernel releases it after waking the joiner): wait (bounded) for
    // the count to come back before comparing.
    let settle = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while threads() != threads_before && std::time::Instant::now() < settle {
        std::thread::yield_now();
    }
    let threads_after = threads();
    let workers_after = kernel_workers();
    println!(
        "threads while relaying: {threads_busy} (+{workers_busy} io_uring workers), after: \
         {threads_after} (+{workers_after})"
    );
    assert_eq!(threads_busy, threads_before);
    assert_eq!(threads_after, threads_before);
    for workers in [workers_busy, workers_after] {
        assert!(
            workers <= REACTOR_THREADS * OFFLOAD_WORKERS,
            "{workers} io_uring workers for {RELAYS} relays"
        );
    }
}
