//! Output into a socket whose description is blocking (the host's choice, which the relay may
//! not change): bytes are spliced by the reactor's io_uring worker through the stream's stage
//! pipe (see `offload.rs` and `stage.rs`), or copied where that is not possible. Whatever the
//! way, every byte arrives in order, a peer that stops reading still lets the relay end at its
//! deadline, the counts are exact, and nothing is left open.

mod common;
use testkit::bounded;

use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::sync::Mutex;

use common::{collect, config, fd_count, pattern, socketpair, stdout_only_relay};
use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use runtime_api::RelayEnd;
use stdio::PipeRelay;

/// The tests of this file run one at a time: one of them counts the process's descriptors.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

fn blocking(fd: impl AsFd) -> bool {
    !OFlag::from_bits_truncate(fcntl(fd.as_fd(), FcntlArg::F_GETFL).unwrap())
        .contains(OFlag::O_NONBLOCK)
}

/// Whether this kernel lets the process use io_uring (else the relay copies, which the tests
/// accept too).
fn io_uring_enabled() -> bool {
    std::fs::read_to_string("/proc/sys/kernel/io_uring_disabled")
        .map(|v| v.trim() == "0")
        .unwrap_or(false)
}

/// Names of this process's threads.
fn thread_names() -> Vec<String> {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .map(|n| n.trim().to_string())
        .collect()
}

/// Reads exactly `n` bytes from `peer`, then stops reading (the socket stays open).
fn read_then_stop(mut peer: UnixStream, n: usize) -> (Vec<u8>, UnixStream) {
    let mut got = vec![0u8; n];
    bounded("first reads", || peer.read_exact(&mut got)).unwrap();
    (got, peer)
}

/// A stdout-only relay into a blocking socket: (relay, the process's stdout, the peer).
fn relay_into_blocking_socket(grace_ms: u64) -> (PipeRelay, std::fs::File, UnixStream) {
    let (sock, peer) = socketpair();
    assert!(blocking(&sock));
    let (relay, out) = stdout_only_relay(sock, config(grace_ms));
    (relay, out, peer)
}

#[test]
fn bulk_output_into_a_blocking_socket_arrives_whole_and_in_order() {
    let _serial = serial();
    let (sock, peer) = socketpair();
    let hosts_dup = sock.try_clone().unwrap();
    let (relay, mut out) = stdout_only_relay(sock, config(2000));
    let data = pattern(3, 32 << 20);
    let expected = data.clone();
    let writer = std::thread::spawn(move || out.write_all(&data).unwrap());
    let reader = collect(peer);
    bounded("writer", move || writer.join()).unwrap();
    // The splices ran on a kernel worker of the reactor's ring; a ring keeps its last worker
    // after the requests, so it is still listed.
    let saw_worker = thread_names().iter().any(|n| n.starts_with("iou-wrk"));
    relay.process_exited();
    let report = bounded("relay wait", || relay.wait());
    drop(hosts_dup);
    let got = bounded("reader", move || reader.join()).unwrap();
    assert_eq!(report.end, RelayEnd::Complete);
    assert_eq!(report.stdout.relayed, expected.len() as u64);
    assert_eq!(report.stdout.dropped, 0);
    assert!(got == expected, "bytes lost or reordered");
    if io_uring_enabled() {
        assert!(saw_worker, "no io_uring worker moved the bytes");
    }
}

#[test]
fn the_hosts_description_stays_blocking_through_the_relay() {
    let _serial = serial();
    let (sock, peer) = socketpair();
    let hosts_dup = sock.try_clone().unwrap();
    let (relay, mut out) = stdout_only_relay(sock, config(2000));
    let reader = collect(peer);
    bounded("writer", || out.write_all(&pattern(4, 4 << 20))).unwrap();
    assert!(blocking(&hosts_dup));
    drop(out);
    relay.process_exited();
    let report = bounded("relay wait", || relay.wait());
    assert!(blocking(&hosts_dup));
    drop(hosts_dup);
    assert_eq!(
        bounded("reader", move || reader.join()).unwrap().len(),
        4 << 20
    );
    assert_eq!(report.stdout.relayed, 4 << 20);
}

/// The peer never reads: a splice waits in the kernel for room that never comes. The drain
/// grace and then the peer-close bound end the relay anyway (the request is cancelled), and
/// the report counts exactly what reached the socket: the peer reads that many bytes, the
/// first ones of the stream.
#[test]
fn a_peer_that_stops_reading_still_ends_the_relay_with_exact_counts() {
    let _serial = serial();
    // The reactors (and their rings) start with the first relay of the process.
    let (warm, _, _) = relay_into_blocking_socket(0);
    warm.cut();
    bounded("warm-up relay", || warm.wait());
    let before = fd_count();
    let (relay, mut out, peer) = relay_into_blocking_socket(200);
    let data = pattern(5, 16 << 20);
    let expected = data.clone();
    let writer = std::thread::spawn(move || {
        // Blocks once every buffer is full; fails (EPIPE) once the relay has let go.
        let _ = out.write_all(&data);
    });
    // The peer reads the first 2 MiB (past a bulk stream's first MiB, which is copied), then
    // stops.
    let (mut got, mut peer) = read_then_stop(peer, 2 << 20);
    relay.process_exited();
    let report = bounded("relay wait", || relay.wait());
    bounded("writer", move || writer.join()).unwrap();
    assert!(report.was_cut(), "the writer was still there: {report:?}");
    bounded("end-of-file", || peer.read_to_end(&mut got)).unwrap();
    assert_eq!(got.len() as u64, report.stdout.relayed, "{report:?}");
    assert!(got == expected[..got.len()], "bytes lost or reordered");
    assert!(report.stdout.relayed > 0);
    // What the stage held beyond the cancelled request's count is counted as dropped.
    assert!(report.stdout.dropped > 0, "{report:?}");
    drop(peer);
    assert_eq!(fd_count(), before, "descriptors left open");
}

/// More streams into full blocking sockets than a reactor keeps requests in flight: the rest
/// copy through user space. Every relay still ends at its deadline with exact counts.
#[test]
fn more_stalled_streams_than_requests_in_flight_all_end() {
    let _serial = serial();
    const RELAYS: usize = 80;
    let mut all = Vec::new();
    for i in 0..RELAYS {
        let (relay, mut out, peer) = relay_into_blocking_socket(200);
        let data = pattern(i as u8, 4 << 20);
        let writer = std::thread::spawn(move || {
            let _ = out.write_all(&data);
        });
        // Each peer reads past the copied first MiB, then stops.
        let reader = std::thread::spawn(move || read_then_stop(peer, 3 << 19));
        all.push((relay, writer, reader, i));
    }
    let all: Vec<_> = all
        .into_iter()
        .map(|(relay, writer, reader, i)| {
            let (got, peer) = bounded("first reads", move || reader.join()).unwrap();
            (relay, writer, got, peer, i)
        })
        .collect();
    for (relay, ..) in &all {
        relay.process_exited();
    }
    for (relay, writer, mut got, mut peer, i) in all {
        let report = bounded("relay wait", || relay.wait());
        bounded("writer", move || writer.join()).unwrap();
        bounded("end-of-file", || peer.read_to_end(&mut got)).unwrap();
        assert_eq!(
            got.len() as u64,
            report.stdout.relayed,
            "relay {i}: {report:?}"
        );
        assert!(
            got == pattern(i as u8, 4 << 20)[..got.len()],
            "relay {i}: bytes lost or reordered"
        );
    }
}

/// The host writes into its own dup of the socket while the relay streams into it: neither
/// loses a byte (the socket interleaves them), and the relay ends.
#[test]
fn the_host_writing_its_own_dup_meanwhile_loses_nothing() {
    let _serial = serial();
    let (sock, peer) = socketpair();
    let mut hosts_dup = UnixStream::from(sock.try_clone().unwrap());
    let (relay, mut out) = stdout_only_relay(sock, config(2000));
    let reader = collect(peer);
    let writer = std::thread::spawn(move || {
        out.write_all(&vec![b'r'; 8 << 20]).unwrap();
        out
    });
    let host = std::thread::spawn(move || {
        for _ in 0..(8 << 20) / 4096 {
            hosts_dup.write_all(&[b'h'; 4096]).unwrap();
        }
        hosts_dup
    });
    // The process's stdout stays open until the host is done: the relay half-closes the
    // socket at its end-of-file.
    let out = bounded("writer", move || writer.join()).unwrap();
    let hosts_dup = bounded("host writer", move || host.join()).unwrap();
    drop(out);
    relay.process_exited();
    let report = bounded("relay wait", || relay.wait());
    drop(hosts_dup);
    let got = bounded("reader", move || reader.join()).unwrap();
    assert_eq!(report.end, RelayEnd::Complete);
    assert_eq!(report.stdout.relayed, 8 << 20);
    assert_eq!(got.iter().filter(|&&b| b == b'r').count(), 8 << 20);
    assert_eq!(got.iter().filter(|&&b| b == b'h').count(), 8 << 20);
}

/// A blocking socket the kernel cannot splice into: the host set `O_APPEND` on its description
/// (its choice; `send` ignores it), and every splice into it, the io_uring worker's included,
/// fails with `EINVAL`. The stream then copies through user space, the bytes it had already
/// staged included: every byte arrives, in order, none is dropped, and the relay ends.
#[test]
fn a_socket_the_kernel_cannot_splice_into_still_gets_every_byte() {
    let _serial = serial();
    let (sock, peer) = socketpair();
    let flags = OFlag::from_bits_truncate(fcntl(sock.as_fd(), FcntlArg::F_GETFL).unwrap());
    fcntl(sock.as_fd(), FcntlArg::F_SETFL(flags | OFlag::O_APPEND)).unwrap();
    assert!(blocking(&sock));
    let (relay, mut out) = stdout_only_relay(sock, config(2000));
    let data = pattern(6, 4 << 20);
    let expected = data.clone();
    let writer = std::thread::spawn(move || out.write_all(&data).unwrap());
    let reader = collect(peer);
    bounded("writer", move || writer.join()).unwrap();
    relay.process_exited();
    let report = bounded("relay wait", || relay.wait());
    let got = bounded("reader", move || reader.join()).unwrap();
    assert_eq!(report.end, RelayEnd::Complete, "{report:?}");
    assert_eq!(report.stdout.relayed, expected.len() as u64, "{report:?}");
    assert_eq!(report.stdout.dropped, 0, "{report:?}");
    assert!(got == expected, "bytes lost or reordered");
}

/// Once the relay has ended and the host has closed its descriptor, nothing holds the socket
/// any more, the ring of the reactor that spliced into it included: its peer sees the
/// connection closed (`POLLHUP`: both directions shut), not only the relay's half-close.
#[test]
fn after_the_relay_the_socket_is_closed_for_its_peer() {
    let _serial = serial();
    // More relays than a reactor has requests in flight, one after the other: each request's
    // fixed files must be let go for the next ones.
    for i in 0..12u8 {
        let (relay, mut out, peer) = relay_into_blocking_socket(2000);
        let reader = collect(peer.try_clone().unwrap());
        bounded("writer", || out.write_all(&pattern(i, 2 << 20))).unwrap();
        drop(out);
        relay.process_exited();
        let report = bounded("relay wait", || relay.wait());
        assert_eq!(report.stdout.relayed, 2 << 20, "{report:?}");
        assert_eq!(
            bounded("reader", move || reader.join()).unwrap().len(),
            2 << 20
        );
        // The relay half-closed the socket (end-of-file above); now it must be closed.
        // No event asked for: `poll` returns on the hang-up (or an error) only.
        let revents = bounded("peer's hang-up", || {
            let mut fds = [PollFd::new(peer.as_fd(), PollFlags::empty())];
            poll(&mut fds, PollTimeout::NONE).unwrap();
            fds[0].revents().unwrap()
        });
        assert!(revents.contains(PollFlags::POLLHUP), "{revents:?}");
    }
}
