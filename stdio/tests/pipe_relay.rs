//! Pipe relay behaviour over real pipes, sockets, files and processes.

mod common;
use testkit::bounded;

use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{collect, config, fill_until_stalled, pattern, socketpair};
use runtime_api::{RelayEnd, StdioSet};
use stdio::PipeRelay;

#[test]
fn all_output_arrives_and_the_relay_is_complete() {
    let (out, out_peer) = socketpair();
    let (err, err_peer) = socketpair();
    let (relay, child) = PipeRelay::new(
        StdioSet {
            stdin: None,
            stdout: Some(out),
            stderr: Some(err),
        },
        config(2000),
    )
    .unwrap();
    let out_reader = collect(out_peer);
    let err_reader = collect(err_peer);
    let data_out = pattern(1, 300_000);
    let data_err = pattern(2, 70_000);
    let mut w_out = std::fs::File::from(child.stdout);
    let mut w_err = std::fs::File::from(child.stderr);
    drop(child.stdin);
    bounded("writer", || w_out.write_all(&data_out)).unwrap();
    bounded("writer", || w_err.write_all(&data_err)).unwrap();
    drop(w_out);
    drop(w_err);
    relay.process_exited();
    let report = bounded("relay wait", || relay.wait());
    assert_eq!(report.end, RelayEnd::Complete);
    assert_eq!(report.stdout.relayed, data_out.len() as u64);
    assert_eq!(report.stderr.relayed, data_err.len() as u64);
    assert_eq!(
        bounded("reader", move || out_reader.join()).unwrap(),
        data_out
    );
    assert_eq!(
        bounded("reader", move || err_reader.join()).unwrap(),
        data_err
    );
    assert_eq!(relay.try_report(), Some(report));
}

#[test]
fn stdin_reaches_the_process_and_stops_at_exit() {
    let (inp, mut in_peer) = socketpair();
    let (out, out_peer) = socketpair();
    let (relay, child) = PipeRelay::new(
        StdioSet {
            stdin: Some(inp),
            stdout: Some(out),
            stderr: None,
        },
        config(2000),
    )
    .unwrap();
    let reader = collect(out_peer);
    // `cat` echoes stdin to stdout; the peer closes its write side so cat sees end-of-file.
    let mut cmd = Command::new("/bin/busybox");
    cmd.args(["cat"])
        .stdin(Stdio::from(child.stdin))
        .stdout(Stdio::from(child.stdout))
        .stderr(Stdio::from(child.stderr));
    let mut proc = cmd.spawn().unwrap();
    drop(cmd);
    let data = pattern(3, 200_000);
    in_peer.write_all(&data).unwrap();
    in_peer.shutdown(std::net::Shutdown::Write).unwrap();
    proc.wait().unwrap();
    relay.process_exited();
    let report = bounded("relay wait", || relay.wait());
    assert_eq!(report.end, RelayEnd::Complete);
    assert_eq!(report.stdin.relayed, data.len() as u64);
    assert_eq!(bounded("reader", move || reader.join()).unwrap(), data);
}

/// The seed's hang: the exec's child keeps stdout open. All output written before the exit
/// arrives, the relay ends after the grace, says it was cut, and nothing hangs.
#[test]
fn seed_hang_lingering_child_is_cut_after_the_grace() {
    let (out, out_peer) = socketpair();
    let grace = Duration::from_millis(300);
    let (relay, child) = PipeRelay::new(
        StdioSet {
            stdin: None,
            stdout: Some(out),
            stderr: None,
        },
        config(300),
    )
    .unwrap();
    let reader = collect(out_peer);
    let mut cmd = Command::new("/bin/busybox");
    cmd.args([
        "sh",
        "-c",
        "sleep 1000 2>/dev/null & echo $! >&2; head -c 1048576 /dev/zero",
    ])
    .stdin(Stdio::from(child.stdin))
    .stdout(Stdio::from(child.stdout))
    .stderr(Stdio::piped());
    let mut proc = cmd.spawn().unwrap();
    drop(cmd);
    let mut sleeper = String::new();
    proc.stderr
        .take()
        .unwrap()
        .read_to_string(&mut sleeper)
        .unwrap();
    proc.wait().unwrap();
    let exited = Instant::now();
    relay.process_exited();
    let report = bounded("relay wait", || relay.wait());
    let took = exited.elapsed();
    // Kill the lingering sleeper so nothing is left behind.
    let pid: i32 = sleeper.trim().parse().expect("sleeper pid");
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::SIGKILL).unwrap();
    assert_eq!(report.end, RelayEnd::Cut { grace });
    assert_eq!(report.stdout.relayed, 1 << 20);
    let got = bounded("reader", move || reader.join()).unwrap();
    assert_eq!(got.len(), 1 << 20);
    assert!(got.iter().all(|&b| b == 0));
    // Generous upper bound: "never hangs".
    assert!(took < Duration::from_secs(10), "relay took {took:?}");
}

#[test]
fn peer_gone_early_keeps_draining_and_counts_dropped() {
    let (out, out_peer) = socketpair();
    let (relay, child) = PipeRelay::new(
        StdioSet {
            stdin: None,
            stdout: Some(out),
            stderr: None,
        },
        config(2000),
    )
    .unwrap();
    drop(out_peer);
    let mut w = std::fs::File::from(child.stdout);
    // Far more than the pipe holds: this would block forever if the relay stopped draining.
    let data = vec![7u8; 4 << 20];
    bounded("writer", || w.write_all(&data)).unwrap();
    drop(w);
    drop(child.stdin);
    drop(child.stderr);
    relay.process_exited();
    let report = bounded("relay wait", || relay.wait());
    assert_eq!(report.end, RelayEnd::Complete);
    assert_eq!(
        report.stdout.relayed + report.stdout.dropped,
        data.len() as u64
    );
    assert!(report.stdout.dropped > 0);
}

/// A peer that reads a part of the output and then goes away: every byte the process wrote
/// is counted once, as relayed or as dropped, also the rest of a buffer the socket had taken
/// only in part when its peer left.
#[test]
fn peer_gone_midway_counts_each_byte_once() {
    use nix::sys::socket::{setsockopt, sockopt::SndBuf};
    let (out, out_peer) = socketpair();
    // A small send buffer: most of the relay's writes are taken in part.
    setsockopt(&out, SndBuf, &4096).unwrap();
    let (relay, child) = PipeRelay::new(
        StdioSet {
            stdin: None,
            stdout: Some(out),
            stderr: None,
        },
        config(2000),
    )
    .unwrap();
    drop(child.stdin);
    drop(child.stderr);
    let data = vec![5u8; 4 << 20];
    let mut w = std::fs::File::from(child.stdout);
    let writer = std::thread::spawn(move || w.write_all(&data).map(|()| data.len()));
    // Read a little more than the socket holds, so that the relay is in the middle of its
    // writes, then leave.
    let mut peer = std::fs::File::from(OwnedFd::from(out_peer));
    let mut got = vec![0u8; 300_000];
    bounded("reading a part", || peer.read_exact(&mut got)).unwrap();
    drop(peer);
    let written = bounded("writer", move || writer.join().unwrap()).unwrap();
    relay.process_exited();
    let report = bounded("relay wait", || relay.wait());
    assert_eq!(report.end, RelayEnd::Complete);
    assert_eq!(
        report.stdout.relayed + report.stdout.dropped,
        written as u64,
        "relayed {} + dropped {}",
        report.stdout.relayed,
        report.stdout.dropped
    );
    assert!(report.stdout.relayed >= got.len() as u64);
    assert!(report.stdout.dropped > 0);
}

#[test]
fn regular_file_and_dev_null_connections() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out");
    let file = std::fs::File::create(&path).unwrap();
    let null = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/null")
        .unwrap();
    let input = dir.path().join("in");
    let data_in = pattern(9, 100_000);
    std::fs::write(&input, &data_in).unwrap();
    let (relay, child) = PipeRelay::new(
        StdioSet {
            stdin: Some(OwnedFd::from(std::fs::File::open(&input).unwrap())),
            stdout: Some(OwnedFd::from(file)),
            stderr: Some(OwnedFd::from(null)),
        },
        config(2000),
    )
    .unwrap();
    let mut cmd = Command::new("/bin/busybox");
    cmd.args(["sh", "-c", "cat; echo oops >&2"])
        .stdin(Stdio::from(child.stdin))
        .stdout(Stdio::from(child.stdout))
        .stderr(Stdio::from(child.stderr));
    let mut proc = cmd.spawn().unwrap();
    drop(cmd);
    proc.wait().unwrap();
    relay.process_exited();
    let report = bounded("relay wait", || relay.wait());
    assert_eq!(report.end, RelayEnd::Complete);
    assert_eq!(report.stderr.relayed, 5);
    assert_eq!(std::fs::read(&path).unwrap(), data_in);
}

/// Output many times a turn's budget (1 MiB) into a connection that never blocks (a regular
/// file, written directly) arrives whole and in order.
#[test]
fn a_stream_past_its_turn_budget_into_a_file_is_carried_whole() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out");
    let file = std::fs::File::create(&path).unwrap();
    let (relay, child) = PipeRelay::new(
        StdioSet {
            stdin: None,
            stdout: Some(OwnedFd::from(file)),
            stderr: None,
        },
        config(2000),
    )
    .unwrap();
    drop(child.stdin);
    drop(child.stderr);
    let data = pattern(8, 32 << 20);
    let mut w = std::fs::File::from(child.stdout);
    bounded("writer", || w.write_all(&data)).unwrap();
    drop(w);
    relay.process_exited();
    let report = bounded("relay wait", || relay.wait());
    assert_eq!(report.end, RelayEnd::Complete);
    assert_eq!(report.stdout.relayed, data.len() as u64);
    assert!(std::fs::read(&path).unwrap() == data, "the file differs");
}

/// A regular file on stdin, read faster than a turn's budget (1 MiB), reaches the process
/// whole, before the process exits. The file never wakes the reactor, and a pipe that is not
/// full gives no event when the process reads it: a task that yields with work left must run
/// again without waiting for one.
#[test]
fn a_file_on_stdin_past_its_turn_budget_reaches_the_process_whole() {
    use nix::fcntl::{fcntl, FcntlArg};
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    let data = pattern(10, 48 << 20);
    std::fs::write(&input, &data).unwrap();
    let (relay, child) = PipeRelay::new(
        StdioSet {
            stdin: Some(OwnedFd::from(std::fs::File::open(&input).unwrap())),
            stdout: None,
            stderr: None,
        },
        config(2000),
    )
    .unwrap();
    drop(child.stdout);
    drop(child.stderr);
    // A pipe larger than the budget, so that a turn can end on the budget, not on a full pipe.
    fcntl(&child.stdin, FcntlArg::F_SETPIPE_SZ(1 << 20)).unwrap();
    let mut r = std::fs::File::from(child.stdin);
    let got = bounded("reading stdin to its end", move || {
        let mut got = Vec::new();
        r.read_to_end(&mut got).map(|_| got)
    })
    .unwrap();
    assert!(
        got == data,
        "stdin differs: {} of {} bytes",
        got.len(),
        data.len()
    );
    relay.process_exited();
    let report = bounded("relay wait", || relay.wait());
    assert_eq!(report.end, RelayEnd::Complete);
}

#[test]
fn cut_without_grace_delivers_what_is_readable_and_reports_zero_grace() {
    let (out, out_peer) = socketpair();
    let mut cfg = config(0);
    cfg.drain_grace = None;
    let (relay, child) = PipeRelay::new(
        StdioSet {
            stdin: None,
            stdout: Some(out),
            stderr: None,
        },
        cfg,
    )
    .unwrap();
    let reader = collect(out_peer);
    let mut w = std::fs::File::from(child.stdout);
    w.write_all(b"before the cut").unwrap();
    relay.process_exited();
    relay.cut();
    let report = bounded("relay wait", || relay.wait());
    assert_eq!(
        report.end,
        RelayEnd::Cut {
            grace: Duration::ZERO
        }
    );
    assert_eq!(
        bounded("reader", move || reader.join()).unwrap(),
        b"before the cut"
    );
    // The writer is still there, the relay is not: writing now fails instead of blocking.
    assert!(bounded("writer", || w.write_all(&[0u8; 1 << 20])).is_err());
}

#[test]
fn cut_after_end_of_file_stays_complete() {
    let (out, out_peer) = socketpair();
    let mut cfg = config(0);
    cfg.drain_grace = None;
    let (relay, child) = PipeRelay::new(
        StdioSet {
            stdin: None,
            stdout: Some(out),
            stderr: None,
        },
        cfg,
    )
    .unwrap();
    let reader = collect(out_peer);
    let mut w = std::fs::File::from(child.stdout);
    w.write_all(b"all of it").unwrap();
    drop(w);
    drop(child.stdin);
    drop(child.stderr);
    relay.process_exited();
    relay.cut();
    let report = bounded("relay wait", || relay.wait());
    assert_eq!(report.end, RelayEnd::Complete);
    assert_eq!(
        bounded("reader", move || reader.join()).unwrap(),
        b"all of it"
    );
}

#[test]
fn no_connections_completes_at_once() {
    let (relay, child) = PipeRelay::new(StdioSet::none(), config(2000)).unwrap();
    drop(child);
    let report = bounded("relay wait", || relay.wait());
    assert_eq!(report.end, RelayEnd::Complete);
}

#[test]
fn peer_that_never_closes_is_closed_after_the_timeout() {
    let (out, mut out_peer) = socketpair();
    let (relay, child) = PipeRelay::new(
        StdioSet {
            stdin: None,
            stdout: Some(out),
            stderr: None,
        },
        config(2000),
    )
    .unwrap();
    drop(child);
    // The peer does not close: the relay half-closed, waits peer_close_timeout, then closes.
    let report = bounded("relay wait", || relay.wait());
    assert_eq!(report.end, RelayEnd::Complete);
    let mut buf = Vec::new();
    bounded("end-of-file", || out_peer.read_to_end(&mut buf)).unwrap();
    assert!(buf.is_empty());
}

#[test]
fn stdin_stops_when_the_process_exits() {
    let (inp, mut in_peer) = socketpair();
    let (relay, child) = PipeRelay::new(
        StdioSet {
            stdin: Some(inp),
            stdout: None,
            stderr: None,
        },
        config(2000),
    )
    .unwrap();
    let mut process_stdin = std::fs::File::from(child.stdin);
    in_peer.write_all(b"early").unwrap();
    let mut buf = [0u8; 5];
    process_stdin.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"early");
    // The peer keeps its side open; the exit alone ends stdin: the process side sees EOF.
    relay.process_exited();
    let mut rest = Vec::new();
    bounded("end-of-file", || process_stdin.read_to_end(&mut rest)).unwrap();
    assert!(rest.is_empty());
    let report = bounded("relay wait", || relay.wait());
    assert_eq!(report.end, RelayEnd::Complete);
    assert_eq!(report.stdin.relayed, 5);
    // The connection was closed by the relay.
    let mut tail = Vec::new();
    bounded("end-of-file", || in_peer.read_to_end(&mut tail)).unwrap();
}

/// A peer that does not read pushes back on the writer: it blocks after a bounded amount
/// (pipe + relay buffer + socket buffer), and the relay's memory stays bounded.
#[test]
fn slow_peer_gets_back_pressure() {
    let (out, out_peer) = socketpair();
    let (relay, child) = PipeRelay::new(
        StdioSet {
            stdin: None,
            stdout: Some(out),
            stderr: None,
        },
        config(2000),
    )
    .unwrap();
    let writer = std::fs::File::from(child.stdout);
    nix::fcntl::fcntl(
        &writer,
        nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
    )
    .unwrap();
    let mut written = 0usize;
    let chunk = vec![1u8; 16 * 1024];
    let deadline = Instant::now() + Duration::from_secs(10);
    // Write until the pipe stays full (the relay has stopped taking data).
    let mut full_since: Option<Instant> = None;
    while Instant::now() < deadline {
        match (&writer).write(&chunk) {
            Ok(n) => {
                written += n;
                full_since = None;
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                let since = *full_since.get_or_insert_with(Instant::now);
                if since.elapsed() > Duration::from_millis(200) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => panic!("{e}"),
        }
    }
    // 64 KiB pipe + 64 KiB relay buffer + the socket's buffers (a few hundred KiB at most).
    assert!(
        written < 4 << 20,
        "{written} bytes accepted without a reader"
    );
    let reader = collect(out_peer);
    drop(writer);
    drop(child.stdin);
    drop(child.stderr);
    relay.process_exited();
    let report = bounded("relay wait", || relay.wait());
    assert_eq!(report.end, RelayEnd::Complete);
    assert_eq!(
        bounded("reader", move || reader.join()).unwrap().len(),
        written
    );
}

/// The relay makes a connection nonblocking while it uses it (the flag is shared with every
/// duplicate, e.g. a caller's own terminal) and puts it back when it lets go.
#[test]
fn connection_flags_are_restored_after_the_relay() {
    let (out, out_peer) = socketpair();
    let callers_copy = out.try_clone().unwrap();
    let (relay, child) = PipeRelay::new(
        StdioSet {
            stdin: None,
            stdout: Some(out),
            stderr: None,
        },
        config(2000),
    )
    .unwrap();
    let reader = collect(out_peer);
    drop(child);
    bounded("relay wait", || relay.wait());
    let flags = nix::fcntl::OFlag::from_bits_truncate(
        nix::fcntl::fcntl(&callers_copy, nix::fcntl::FcntlArg::F_GETFL).unwrap(),
    );
    assert!(!flags.contains(nix::fcntl::OFlag::O_NONBLOCK));
    drop(callers_copy);
    bounded("reader", move || reader.join()).unwrap();
}

/// A child that inherited stdout and never stops writing (`yes`): after the process exits and
/// the grace runs out, the relay is cut and ends — it delivers what was readable at the cut,
/// then stops, however fast the child keeps writing.
#[test]
fn a_child_writing_for_ever_past_the_grace_still_ends_the_relay() {
    let grace = Duration::from_millis(300);
    let (out, out_peer) = socketpair();
    let (relay, child) = PipeRelay::new(
        StdioSet {
            stdin: None,
            stdout: Some(out),
            stderr: None,
        },
        config(300),
    )
    .unwrap();
    let reader = collect(out_peer);
    let mut cmd = Command::new("/bin/busybox");
    cmd.args(["sh", "-c", "yes 2>/dev/null & echo $! >&2"])
        .stdin(Stdio::from(child.stdin))
        .stdout(Stdio::from(child.stdout))
        .stderr(Stdio::piped());
    let mut proc = cmd.spawn().unwrap();
    drop(cmd);
    let mut writer = String::new();
    proc.stderr
        .take()
        .unwrap()
        .read_to_string(&mut writer)
        .unwrap();
    proc.wait().unwrap();
    relay.process_exited();
    let report = bounded("relay wait", || relay.wait());
    let pid: i32 = writer.trim().parse().expect("writer pid");
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::SIGKILL).unwrap();
    assert_eq!(report.end, RelayEnd::Cut { grace });
    let got = bounded("reader", move || reader.join()).unwrap();
    assert_eq!(got.len() as u64, report.stdout.relayed);
    assert!(got.chunks(2).all(|c| c == b"y\n" || c == b"y"));
}

/// While the process runs, one stream's own close timer (its peer did not close within
/// `peer_close_timeout`) ends that stream only: it does not cut the relay. The other stream
/// still carries what the process writes afterwards, and the relay ends complete.
#[test]
fn a_streams_close_timeout_does_not_cut_the_other_streams() {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    use std::os::fd::AsFd;
    let (out, out_peer) = socketpair();
    let (err, err_peer) = socketpair();
    let (relay, child) = PipeRelay::new(
        StdioSet {
            stdin: None,
            stdout: Some(out),
            stderr: Some(err),
        },
        config(2000),
    )
    .unwrap();
    drop(child.stdin);
    let mut w_err = std::fs::File::from(child.stderr);
    // stdout ends at once; its peer never closes, so the relay closes stdout after the
    // peer-close timeout: the peer sees the hang-up (poll with no event asked for returns on
    // it only).
    drop(child.stdout);
    let revents = bounded("stdout peer's hang-up", || {
        let mut fds = [PollFd::new(out_peer.as_fd(), PollFlags::empty())];
        poll(&mut fds, PollTimeout::NONE).unwrap();
        fds[0].revents().unwrap()
    });
    assert!(revents.contains(PollFlags::POLLHUP), "{revents:?}");
    // The process is still running: stderr must still be relayed.
    let data = pattern(4, 100_000);
    let reader = collect(err_peer);
    bounded("writer", || w_err.write_all(&data)).unwrap();
    drop(w_err);
    relay.process_exited();
    let report = bounded("relay wait", || relay.wait());
    assert_eq!(report.end, RelayEnd::Complete);
    assert_eq!(report.stderr.relayed, data.len() as u64);
    assert_eq!(bounded("reader", move || reader.join()).unwrap(), data);
}

/// A cut stream delivers what was readable at the cut and no more, then ends at once, however
/// much its writer keeps writing: here the peer was not reading at the cut (the pipe is full),
/// reads everything afterwards, and `peer_close_timeout` is far longer than any test waits.
#[test]
fn a_cut_stream_delivers_only_what_was_readable_at_the_cut() {
    let (inp, _in_peer) = socketpair();
    let (out, out_peer) = socketpair();
    let mut cfg = config(0);
    cfg.drain_grace = None;
    cfg.peer_close_timeout = Duration::from_secs(3600);
    let (relay, child) = PipeRelay::new(
        StdioSet {
            stdin: Some(inp),
            stdout: Some(out),
            stderr: None,
        },
        cfg,
    )
    .unwrap();
    drop(child.stderr);
    let mut process_stdin = std::fs::File::from(child.stdin);
    let mut w = std::fs::File::from(child.stdout);
    // The peer reads nothing yet: the relay stops taking data and the pipe stays full.
    let chunk = pattern(5, 16 * 1024);
    let written = fill_until_stalled(&mut w, &chunk);
    relay.cut();
    // The cut stops stdin: the process's stdin reaches end-of-file once the cut was taken.
    let mut rest = Vec::new();
    bounded("stdin's end-of-file", || {
        process_stdin.read_to_end(&mut rest)
    })
    .unwrap();
    // The writer goes on writing as fast as the relay lets it, until the relay lets go.
    let writer = std::thread::spawn(move || while w.write_all(&chunk).is_ok() {});
    let reader = collect(out_peer);
    let report = bounded("relay wait", || relay.wait());
    let got = bounded("reader", move || reader.join()).unwrap();
    bounded("writer", move || writer.join()).unwrap();
    assert_eq!(
        report.end,
        RelayEnd::Cut {
            grace: Duration::ZERO
        }
    );
    assert_eq!(got.len() as u64, report.stdout.relayed);
    assert!(!got.is_empty());
    assert!(
        got.len() <= written,
        "{} bytes delivered, {written} written before the cut",
        got.len()
    );
}

/// Into a socket the host uses nonblocking, and into a pipe, the relay splices (no copy through
/// user space): every byte arrives, in order, and the report counts each of them.
#[test]
fn spliced_output_arrives_whole_and_is_counted() {
    use nix::fcntl::{fcntl, FcntlArg, OFlag};
    let (out, out_peer) = socketpair();
    fcntl(&out, FcntlArg::F_SETFL(OFlag::O_NONBLOCK)).unwrap();
    let (err_read, err_write) = nix::unistd::pipe().unwrap();
    let (relay, child) = PipeRelay::new(
        StdioSet {
            stdin: None,
            stdout: Some(out),
            stderr: Some(err_write),
        },
        config(2000),
    )
    .unwrap();
    drop(child.stdin);
    let out_reader = collect(out_peer);
    let err_reader = std::thread::spawn(move || {
        let mut got = Vec::new();
        std::fs::File::from(err_read).read_to_end(&mut got).unwrap();
        got
    });
    // More than a bulk stream's threshold (1 MiB) on stdout, a little on stderr.
    let data_out = pattern(6, 3 << 20);
    let data_err = pattern(7, 200_000);
    let mut w_out = std::fs::File::from(child.stdout);
    let mut w_err = std::fs::File::from(child.stderr);
    bounded("writer", || w_out.write_all(&data_out)).unwrap();
    bounded("writer", || w_err.write_all(&data_err)).unwrap();
    drop(w_out);
    drop(w_err);
    relay.process_exited();
    let report = bounded("relay wait", || relay.wait());
    assert_eq!(report.end, RelayEnd::Complete);
    assert_eq!(report.stdout.relayed, data_out.len() as u64);
    assert_eq!(report.stderr.relayed, data_err.len() as u64);
    assert_eq!(report.stdout.dropped + report.stderr.dropped, 0);
    assert!(bounded("reader", move || out_reader.join()).unwrap() == data_out);
    assert!(bounded("reader", move || err_reader.join()).unwrap() == data_err);
}

/// A stream whose writer closed before the cut, its last bytes still in the pipe behind a peer
/// that was not reading, is complete: the cut delivers them, the probe finds end-of-file, and
/// the relay reports `Complete`, not `Cut`.
#[test]
fn a_stream_at_end_of_file_behind_a_stalled_peer_is_complete_after_a_cut() {
    let (inp, _in_peer) = socketpair();
    let (out, out_peer) = socketpair();
    let mut cfg = config(0);
    cfg.drain_grace = None;
    // Far longer than any test waits: the cut's own deadline must not be what ends the
    // delivery, however slow a loaded machine is.
    cfg.peer_close_timeout = Duration::from_secs(3600);
    let (relay, child) = PipeRelay::new(
        StdioSet {
            stdin: Some(inp),
            stdout: Some(out),
            stderr: None,
        },
        cfg,
    )
    .unwrap();
    drop(child.stderr);
    let mut process_stdin = std::fs::File::from(child.stdin);
    let mut w = std::fs::File::from(child.stdout);
    let written = fill_until_stalled(&mut w, &pattern(8, 16 * 1024));
    drop(w);
    relay.cut();
    // The cut stops stdin: the process's stdin reaches end-of-file once the cut was taken,
    // before the peer reads anything.
    let mut rest = Vec::new();
    bounded("stdin's end-of-file", || {
        process_stdin.read_to_end(&mut rest)
    })
    .unwrap();
    relay.process_exited();
    let reader = collect(out_peer);
    let report = bounded("relay wait", || relay.wait());
    let got = bounded("reader", move || reader.join()).unwrap();
    assert_eq!(report.end, RelayEnd::Complete);
    assert_eq!(got.len(), written);
    assert_eq!(report.stdout.relayed, written as u64);
}

/// A stream waiting for its peer's end-of-file keeps waiting (up to its own
/// `peer_close_timeout`, here far longer than any test waits) when the relay's drain grace runs
/// out meanwhile: the grace cuts the stream that still has a writer, not the close wait of
/// another.
#[test]
fn the_grace_does_not_end_another_streams_close_wait() {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    use std::os::fd::AsFd;
    let (out, mut out_peer) = socketpair();
    let (err, mut err_peer) = socketpair();
    let mut cfg = config(200);
    cfg.peer_close_timeout = Duration::from_secs(3600);
    let (relay, child) = PipeRelay::new(
        StdioSet {
            stdin: None,
            stdout: Some(out),
            stderr: Some(err),
        },
        cfg,
    )
    .unwrap();
    drop(child.stdin);
    // stdout ends at once; the relay half-closes it and waits for its peer.
    drop(child.stdout);
    let mut got = Vec::new();
    bounded("stdout's end-of-file", || out_peer.read_to_end(&mut got)).unwrap();
    // stderr's writer lingers: the grace cuts stderr, which then half-closes it.
    let lingering = child.stderr;
    relay.process_exited();
    bounded("stderr's end-of-file", || err_peer.read_to_end(&mut got)).unwrap();
    assert!(got.is_empty());
    // stdout still waits for its peer: its socket is not closed (no hang-up), and the relay has
    // not ended.
    let mut fds = [PollFd::new(out_peer.as_fd(), PollFlags::empty())];
    poll(&mut fds, PollTimeout::ZERO).unwrap();
    assert!(
        !fds[0].revents().unwrap().contains(PollFlags::POLLHUP),
        "stdout was closed before its peer closed"
    );
    assert_eq!(relay.try_report(), None);
    drop(out_peer);
    drop(err_peer);
    let report = bounded("relay wait", || relay.wait());
    assert_eq!(
        report.end,
        RelayEnd::Cut {
            grace: Duration::from_millis(200)
        }
    );
    drop(lingering);
}
