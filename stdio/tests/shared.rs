//! Connections the host shares: dups of one socket or pipe given to several streams or
//! relays, the host's own dups, its terminal. The relay must never make a reactor thread
//! block, never change the mode of a description the host holds, half-close a socket once
//! after the last stream using it, never consume stdin bytes while it waits for the peer, and
//! count honestly.
//!
//! Waiting is always bounded: a relay that does not end is seen through `try_report` polled
//! against a deadline, and the test then unblocks what it can before failing.

mod common;
use testkit::bounded;

use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{collect, config, pattern, socketpair};
use nix::fcntl::{fcntl, FcntlArg, OFlag};
use runtime_api::{RelayEnd, RelayReport, StdioSet};
use stdio::{PipeRelay, TtyRelay};

/// Polls `report` until it gives something or `limit` passes.
fn report_within(limit: Duration, report: impl Fn() -> Option<RelayReport>) -> Option<RelayReport> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(r) = report() {
            return Some(r);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn dup(fd: impl AsFd) -> OwnedFd {
    fd.as_fd().try_clone_to_owned().unwrap()
}

fn nonblocking(fd: impl AsFd) -> bool {
    OFlag::from_bits_truncate(fcntl(fd.as_fd(), FcntlArg::F_GETFL).unwrap())
        .contains(OFlag::O_NONBLOCK)
}

fn set_nonblocking(fd: impl AsFd) {
    let flags = OFlag::from_bits_truncate(fcntl(fd.as_fd(), FcntlArg::F_GETFL).unwrap());
    fcntl(fd.as_fd(), FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK)).unwrap();
}

/// Issue #10, 1(a): stdin and stdout are two dups of one socket; the process closes its stdout
/// early and keeps its stdin. At the exit, stdin's end used to put the socket's description
/// back to blocking while stdout waited for the peer's end-of-file with `read()`: the reactor
/// thread slept in the kernel and `wait()` never returned.
#[test]
fn stdin_and_stdout_dups_of_one_socket_never_block_the_reactor() {
    let (sock, mut peer) = socketpair();
    let (relay, child) = PipeRelay::new(
        StdioSet {
            stdin: Some(dup(&sock)),
            stdout: Some(sock),
            stderr: None,
        },
        config(200),
    )
    .unwrap();
    let _child_stdin = child.stdin;
    drop(child.stdout);
    drop(child.stderr);
    // stdout's end-of-file reaches the peer: the relay is now waiting for the peer.
    let mut got = Vec::new();
    bounded("end-of-file", || peer.read_to_end(&mut got)).unwrap();
    relay.process_exited();
    // The peer keeps its side open and says nothing: only the peer-close timeout ends it.
    let report = report_within(Duration::from_secs(10), || relay.try_report());
    if report.is_none() {
        // Unblock the reactor thread before failing.
        drop(peer);
        panic!("the relay did not end within 10 s: a reactor thread is blocked");
    }
    assert_eq!(report.unwrap().end, RelayEnd::Complete);
}

/// Issue #10, 1(b): two relays write to dups of one log pipe whose reader is slow. When the
/// first ended it restored the blocking mode of the shared description; the second then wrote
/// 1 MiB into the full pipe with a blocking `write()` on a reactor thread, so neither its
/// grace nor any other timer of that reactor could fire.
#[test]
fn dups_of_one_log_pipe_with_a_slow_reader_never_block_the_reactor() {
    let (log_read, log_write) = nix::unistd::pipe().unwrap();
    let (first, first_child) = PipeRelay::new(
        StdioSet {
            stdin: None,
            stdout: Some(dup(&log_write)),
            stderr: None,
        },
        config(200),
    )
    .unwrap();
    let (second, second_child) = PipeRelay::new(
        StdioSet {
            stdin: None,
            stdout: Some(dup(&log_write)),
            stderr: None,
        },
        config(200),
    )
    .unwrap();
    drop(first_child);
    first.process_exited();
    let first_report = report_within(Duration::from_secs(10), || first.try_report())
        .expect("the first relay ended");
    assert_eq!(first_report.end, RelayEnd::Complete);

    let mut out = std::fs::File::from(second_child.stdout);
    drop(second_child.stdin);
    drop(second_child.stderr);
    let writer = std::thread::spawn(move || {
        // The relay stops reading after its cut; the write then fails (EPIPE), which is fine.
        let _ = out.write_all(&pattern(1, 1 << 20));
    });
    second.process_exited();
    // Nobody reads the log: the relay must still end, cut, within its bounds.
    let report = report_within(Duration::from_secs(10), || second.try_report());
    if report.is_none() {
        // Drain the log so that the blocked reactor thread gets going again, then fail.
        let mut sink = std::fs::File::from(log_read);
        std::thread::spawn(move || std::io::copy(&mut sink, &mut std::io::sink()));
        panic!("the second relay did not end within 10 s: a reactor thread is blocked");
    }
    assert!(report.unwrap().was_cut());
    bounded("reader", move || writer.join()).unwrap();
    // The host's own description of the log pipe kept its (blocking) mode throughout.
    assert!(!nonblocking(&log_write));
}

/// The layer never changes the mode of a description the host still uses: its dup of a
/// socket, of a pipe and of its terminal stay blocking while relays run on them, and a
/// description the host made nonblocking stays so after the relay ended.
#[test]
fn the_hosts_descriptions_keep_their_mode() {
    let (sock, _peer) = socketpair();
    let (_log_read, log_write) = nix::unistd::pipe().unwrap();
    let pty = nix::pty::openpty(None, None).unwrap();
    let terminal = pty.slave;
    let (relay, child) = PipeRelay::new(
        StdioSet {
            stdin: Some(dup(&terminal)),
            stdout: Some(dup(&sock)),
            stderr: Some(dup(&log_write)),
        },
        config(200),
    )
    .unwrap();
    // Give the reactor a moment of work on every stream.
    let mut out = std::fs::File::from(child.stdout);
    out.write_all(b"hello").unwrap();
    for (name, fd) in [
        ("socket", sock.as_fd()),
        ("pipe", log_write.as_fd()),
        ("terminal", terminal.as_fd()),
    ] {
        assert!(!nonblocking(fd), "the host's {name} became nonblocking");
    }
    drop(out);
    drop(child.stdin);
    drop(child.stderr);
    relay.process_exited();
    bounded("relay wait", || relay.wait());
    for (name, fd) in [
        ("socket", sock.as_fd()),
        ("pipe", log_write.as_fd()),
        ("terminal", terminal.as_fd()),
    ] {
        assert!(!nonblocking(fd), "the host's {name} became nonblocking");
    }

    // A host that uses its socket nonblocking keeps it so.
    set_nonblocking(&sock);
    let (relay, child) = PipeRelay::new(
        StdioSet {
            stdin: Some(dup(&sock)),
            stdout: None,
            stderr: None,
        },
        config(200),
    )
    .unwrap();
    drop(child);
    relay.process_exited();
    bounded("relay wait", || relay.wait());
    assert!(
        nonblocking(&sock),
        "the host's nonblocking socket became blocking"
    );
}

/// Issue #10, 2(a): stdout and stderr on two dups of one socket. stdout's end-of-file used to
/// half-close the socket: stderr's later bytes failed with `EPIPE`, were counted as dropped,
/// and the report still said `Complete`.
#[test]
fn stdout_and_stderr_dups_of_one_socket_each_keep_their_bytes() {
    let (sock, peer) = socketpair();
    let received = collect(peer);
    let (relay, child) = PipeRelay::new(
        StdioSet {
            stdin: None,
            stdout: Some(dup(&sock)),
            stderr: Some(sock),
        },
        config(2000),
    )
    .unwrap();
    drop(child.stdin);
    drop(child.stdout);
    let data = pattern(2, 100_000);
    let mut err = std::fs::File::from(child.stderr);
    bounded("writer", || err.write_all(&data)).unwrap();
    drop(err);
    relay.process_exited();
    let report = bounded("relay wait", || relay.wait());
    assert_eq!(
        bounded("reader", move || received.join()).unwrap(),
        data,
        "the peer got stderr's bytes"
    );
    assert_eq!(report.end, RelayEnd::Complete);
    assert_eq!(report.stderr.relayed, data.len() as u64);
    assert_eq!(report.stderr.dropped, 0);
    assert_eq!(report.stdout.relayed, 0);
}

/// Issue #10, 2(b): stdin and stdout on one socket. After stdout's end-of-file, the wait for
/// the peer's end-of-file read (and threw away) what the peer sent next: stdin bytes meant
/// for the process (0 of 1,000 reached it).
#[test]
fn the_close_wait_never_consumes_stdin_bytes() {
    let (sock, mut peer) = socketpair();
    let (relay, child) = PipeRelay::new(
        StdioSet {
            stdin: Some(dup(&sock)),
            stdout: Some(sock),
            stderr: None,
        },
        config(2000),
    )
    .unwrap();
    drop(child.stdout);
    drop(child.stderr);
    let got = Arc::new(AtomicUsize::new(0));
    let got_by_process = Arc::clone(&got);
    let mut stdin = std::fs::File::from(child.stdin);
    let process = std::thread::spawn(move || {
        let mut all = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdin.read(&mut buf) {
            if n == 0 {
                break;
            }
            all.extend_from_slice(&buf[..n]);
            got_by_process.store(all.len(), Ordering::SeqCst);
        }
        all
    });
    // stdout ended: the peer sees its end-of-file; then it sends the process its input.
    let mut nothing = Vec::new();
    bounded("end-of-file", || peer.read_to_end(&mut nothing)).unwrap();
    let input = pattern(3, 1000);
    peer.write_all(&input).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while got.load(Ordering::SeqCst) < input.len() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    relay.process_exited();
    let delivered = bounded("reader", move || process.join()).unwrap();
    assert_eq!(delivered, input, "every stdin byte reached the process");
    let report = bounded("relay wait", || relay.wait());
    assert_eq!(report.stdin.relayed, input.len() as u64);
    assert_eq!(report.end, RelayEnd::Complete);
}

/// Two relays (two processes) given dups of one socket: the first one's end must not
/// half-close it under the second, whose bytes all arrive; the peer sees end-of-file once,
/// after the last.
#[test]
fn relays_sharing_one_socket_half_close_it_after_the_last() {
    let (sock, peer) = socketpair();
    let received = collect(peer);
    let (first, first_child) = PipeRelay::new(
        StdioSet {
            stdin: None,
            stdout: Some(dup(&sock)),
            stderr: None,
        },
        config(2000),
    )
    .unwrap();
    let (second, second_child) = PipeRelay::new(
        StdioSet {
            stdin: None,
            stdout: Some(sock),
            stderr: None,
        },
        config(2000),
    )
    .unwrap();
    let early = pattern(4, 10_000);
    std::fs::File::from(first_child.stdout)
        .write_all(&early)
        .unwrap();
    drop(first_child.stdin);
    drop(first_child.stderr);
    first.process_exited();
    let first_report = bounded("relay wait", || first.wait());
    assert_eq!(first_report.stdout.relayed, early.len() as u64);

    let late = pattern(5, 100_000);
    std::fs::File::from(second_child.stdout)
        .write_all(&late)
        .unwrap();
    drop(second_child.stdin);
    drop(second_child.stderr);
    second.process_exited();
    let report = bounded("relay wait", || second.wait());
    assert_eq!(report.stdout.relayed, late.len() as u64);
    assert_eq!(report.stdout.dropped, 0);
    let mut expected = early;
    expected.extend_from_slice(&late);
    assert_eq!(
        bounded("reader", move || received.join()).unwrap(),
        expected
    );
}

/// A terminal relay whose stdin and stdout are dups of one socket: same rules as pipes.
#[test]
fn a_tty_relay_on_one_socket_for_stdin_and_stdout_ends_and_keeps_stdin() {
    let (master, slave) = stdio::console::open_pty().unwrap();
    let (sock, mut peer) = socketpair();
    let relay = TtyRelay::new(master, Some(dup(&sock)), Some(sock), config(200)).unwrap();
    peer.write_all(b"typed\n").unwrap();
    // The line discipline echoes it; the process reads it from the slave.
    let mut slave_file = std::fs::File::from(slave);
    let mut line = [0u8; 6];
    slave_file.read_exact(&mut line).unwrap();
    assert_eq!(&line, b"typed\n");
    drop(slave_file);
    relay.process_exited();
    let report = report_within(Duration::from_secs(10), || relay.try_report());
    if report.is_none() {
        drop(peer);
        panic!("the tty relay did not end within 10 s");
    }
    assert_eq!(report.unwrap().stdin.relayed, 6);
}

/// A connection that epoll can watch but that the relay can neither use with `MSG_DONTWAIT`
/// nor reopen (a pty master: reopening it would allocate a new pty) is refused, and nothing
/// is left open.
#[test]
fn a_pty_master_as_connection_is_refused() {
    let (master, slave) = stdio::console::open_pty().unwrap();
    let err = PipeRelay::new(
        StdioSet {
            stdin: None,
            stdout: Some(master),
            stderr: None,
        },
        config(200),
    )
    .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput, "{err}");
    // The master given was closed: its slave sees the hang-up.
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    let mut fds = [PollFd::new(slave.as_fd(), PollFlags::POLLIN)];
    poll(&mut fds, PollTimeout::ZERO).unwrap();
    assert!(
        fds[0].revents().unwrap().contains(PollFlags::POLLHUP),
        "the refused master is still open"
    );
}

/// After the half-close the relay waits for the peer's end-of-file without reading; the
/// peer's shutdown must end that wait at once, not the peer-close timeout (two minutes here).
#[test]
fn the_peers_shutdown_ends_the_close_wait() {
    let (sock, mut peer) = socketpair();
    let mut cfg = config(200);
    cfg.peer_close_timeout = Duration::from_secs(120);
    let (relay, child) = PipeRelay::new(
        StdioSet {
            stdin: None,
            stdout: Some(sock),
            stderr: None,
        },
        cfg,
    )
    .unwrap();
    drop(child);
    let mut got = Vec::new();
    bounded("end-of-file", || peer.read_to_end(&mut got)).unwrap();
    // Something the relay must leave alone, then the peer's own end-of-file.
    peer.write_all(b"for the host").unwrap();
    peer.shutdown(std::net::Shutdown::Write).unwrap();
    relay.process_exited();
    let report = report_within(Duration::from_secs(20), || relay.try_report())
        .expect("the relay still waits for a peer that has shut down");
    assert_eq!(report.end, RelayEnd::Complete);
}

/// A pipe connection whose reader is already gone (it cannot even be reopened for writing):
/// the process is still drained, and its bytes are counted as dropped.
#[test]
fn a_pipe_connection_without_reader_counts_the_bytes_as_dropped() {
    let (read, write) = nix::unistd::pipe().unwrap();
    drop(read);
    let (relay, child) = PipeRelay::new(
        StdioSet {
            stdin: None,
            stdout: Some(write),
            stderr: None,
        },
        config(200),
    )
    .unwrap();
    let data = pattern(6, 1000);
    bounded("writer", || {
        std::fs::File::from(child.stdout).write_all(&data)
    })
    .unwrap();
    drop(child.stdin);
    drop(child.stderr);
    relay.process_exited();
    let report = bounded("relay wait", || relay.wait());
    assert_eq!(report.stdout.relayed, 0);
    assert_eq!(report.stdout.dropped, data.len() as u64);
    assert_eq!(report.end, RelayEnd::Complete);
}
