//! One stream's throughput through the relay, side by side in one run with
//! (a) the writer straight into the socket and (b) a plain 32 KiB read/write copy loop thread
//! between a pipe and the socket (what a Go `io.Copy` relay does).
//!
//! Hand-rolled, because the point is the ratios, measured in the same run on the same machine:
//! `cargo bench -p stdio --bench throughput`. Each mode moves `RTL_BENCH_MIB` MiB (default 512)
//! from a writer thread to a reader thread; the rounds are interleaved and the best of
//! `RTL_BENCH_ROUNDS` (default 5) is kept for each mode; `RTL_BENCH_MODES` picks rows (default
//! `01234`). Target: relay >= 0.6x (a). The relay never changes the mode of the host's socket:
//! on a nonblocking one and into a pipe (reopened privately) the reactor splices; on a blocking
//! one (where a splice may wait for room) the reactor splices into the stream's stage pipe and
//! an io_uring kernel worker splices from there into the socket (`offload.rs`), or, without
//! io_uring, it copies through user space with `send(MSG_DONTWAIT)`.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use runtime_api::StdioSet;
use stdio::{PipeRelay, RelayConfig};

const CHUNK: usize = 64 * 1024;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn writer(mut to: File, total: usize) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let chunk = vec![0x5au8; CHUNK];
        let mut left = total;
        while left > 0 {
            let n = left.min(CHUNK);
            to.write_all(&chunk[..n]).unwrap();
            left -= n;
        }
    })
}

fn reader(mut from: UnixStream) -> JoinHandle<usize> {
    std::thread::spawn(move || {
        let mut buf = vec![0u8; CHUNK];
        let mut got = 0;
        loop {
            let n = from.read(&mut buf).unwrap();
            if n == 0 {
                return got;
            }
            got += n;
        }
    })
}

/// (a) The writer writes straight into the socket.
fn direct(total: usize) -> Duration {
    let (a, b) = UnixStream::pair().unwrap();
    let start = Instant::now();
    let r = reader(b);
    let w = writer(File::from(OwnedFd::from(a)), total);
    w.join().unwrap();
    assert_eq!(r.join().unwrap(), total);
    start.elapsed()
}

/// (b) Writer -> pipe -> a thread copying with a 32 KiB buffer -> socket.
fn copy_loop(total: usize) -> Duration {
    let (a, b) = UnixStream::pair().unwrap();
    let (pr, pw) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap();
    let start = Instant::now();
    let r = reader(b);
    let copier = std::thread::spawn(move || {
        let mut src = File::from(pr);
        let mut dst = a;
        let mut buf = vec![0u8; 32 * 1024];
        loop {
            let n = src.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            dst.write_all(&buf[..n]).unwrap();
        }
    });
    let w = writer(File::from(pw), total);
    w.join().unwrap();
    copier.join().unwrap();
    assert_eq!(r.join().unwrap(), total);
    start.elapsed()
}

/// The relay: writer -> the relay's pipe -> reactor -> socket. `nonblocking`: the host's
/// socket description is nonblocking (then the reactor splices; on a blocking one, which it
/// never makes nonblocking, the splice into the socket runs on an io_uring kernel worker).
fn relay(total: usize, nonblocking: bool) -> Duration {
    let (a, b) = UnixStream::pair().unwrap();
    a.set_nonblocking(nonblocking).unwrap();
    let start = Instant::now();
    let (relay, child) = PipeRelay::new(
        StdioSet {
            stdin: None,
            stdout: Some(OwnedFd::from(a)),
            stderr: None,
        },
        RelayConfig::default(),
    )
    .unwrap();
    let r = reader(b);
    let w = writer(File::from(child.stdout), total);
    drop(child.stdin);
    drop(child.stderr);
    w.join().unwrap();
    relay.process_exited();
    assert_eq!(r.join().unwrap(), total);
    let report = relay.wait();
    assert_eq!(report.stdout.relayed, total as u64);
    start.elapsed()
}

/// The relay into a pipe connection (as containerd's FIFOs): writer -> the relay's pipe ->
/// reactor (splice into its private description of the host's pipe) -> pipe -> reader.
fn relay_to_pipe(total: usize) -> Duration {
    let (pr, pw) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap();
    let start = Instant::now();
    let (relay, child) = PipeRelay::new(
        StdioSet {
            stdin: None,
            stdout: Some(pw),
            stderr: None,
        },
        RelayConfig::default(),
    )
    .unwrap();
    let r = std::thread::spawn(move || {
        let mut from = File::from(pr);
        let mut buf = vec![0u8; CHUNK];
        let mut got = 0;
        loop {
            let n = from.read(&mut buf).unwrap();
            if n == 0 {
                return got;
            }
            got += n;
        }
    });
    let w = writer(File::from(child.stdout), total);
    drop(child.stdin);
    drop(child.stderr);
    w.join().unwrap();
    relay.process_exited();
    assert_eq!(r.join().unwrap(), total);
    assert_eq!(relay.wait().stdout.relayed, total as u64);
    start.elapsed()
}

fn main() {
    // `cargo bench` passes `--bench`; a plain `cargo test` of benches passes nothing useful.
    let total = env("RTL_BENCH_MIB", 512) << 20;
    let rounds = env("RTL_BENCH_ROUNDS", 5);
    let mut best = [Duration::MAX; 5];
    // Warm up the reactors and the page cache of buffers.
    relay(8 << 20, false);
    // RTL_BENCH_MODES: which modes to run, as their row numbers (default "01234").
    let modes = std::env::var("RTL_BENCH_MODES").unwrap_or_else(|_| "01234".into());
    let on = |m: char| modes.contains(m);
    for _ in 0..rounds {
        if on('0') {
            best[0] = best[0].min(direct(total));
        }
        if on('1') {
            best[1] = best[1].min(copy_loop(total));
        }
        if on('2') {
            best[2] = best[2].min(relay(total, false));
        }
        if on('3') {
            best[3] = best[3].min(relay(total, true));
        }
        if on('4') {
            best[4] = best[4].min(relay_to_pipe(total));
        }
    }
    let rate = |d: Duration| total as f64 / d.as_secs_f64() / (1 << 20) as f64;
    let names = [
        "(a) writer straight into the socket          ",
        "(b) 32 KiB read/write copy loop               ",
        "relay, host socket blocking (io_uring splice) ",
        "relay, host socket nonblocking (splice)       ",
        "relay, host pipe (private description, splice)",
    ];
    println!("one stream, {} MiB, best of {rounds} rounds:", total >> 20);
    let ran = |i: usize| best[i] != Duration::MAX;
    for (i, name) in names.iter().enumerate() {
        if ran(i) {
            let ratio = if ran(0) && i >= 2 {
                format!(
                    "  = {:.2} x (a)  (target >= 0.6)",
                    rate(best[i]) / rate(best[0])
                )
            } else {
                String::new()
            };
            println!("  {name}: {:8.0} MiB/s{ratio}", rate(best[i]));
        }
    }
    if ran(1) && ran(2) {
        println!(
            "  relay (blocking socket) / (b) = {:.2}",
            rate(best[2]) / rate(best[1])
        );
    }
}
