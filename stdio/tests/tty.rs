//! Tty relay over a real pty.

mod common;
use testkit::bounded;

use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{collect, config, fill_until_stalled, socketpair};
use runtime_api::{ConsoleSize, ErrorKind, RelayEnd};
use stdio::console::open_pty;
use stdio::TtyRelay;

fn spawn_on_pty(slave: OwnedFd, script: &str) -> std::process::Child {
    let mut cmd = Command::new("/bin/busybox");
    cmd.args(["sh", "-c", script])
        .stdin(Stdio::from(slave.try_clone().unwrap()))
        .stdout(Stdio::from(slave.try_clone().unwrap()))
        .stderr(Stdio::from(slave));
    cmd.spawn().unwrap()
    // `cmd` (and with it the parent's copies of the slave) is dropped here.
}

#[test]
fn output_written_just_before_exit_all_arrives() {
    let (master, slave) = open_pty().unwrap();
    let (out, out_peer) = socketpair();
    let relay = TtyRelay::new(master, None, Some(out), config(2000)).unwrap();
    let reader = collect(out_peer);
    let mut child = spawn_on_pty(
        slave,
        "/bin/busybox head -c 100000 /dev/zero | /bin/busybox tr '\\0' a; printf END",
    );
    child.wait().unwrap();
    relay.process_exited();
    let report = bounded("relay wait", || relay.wait());
    assert_eq!(report.end, RelayEnd::Complete);
    let got = bounded("reader", move || reader.join()).unwrap();
    let mut want = vec![b'a'; 100_000];
    want.extend_from_slice(b"END");
    assert_eq!(got.len(), want.len());
    assert!(got == want, "pty output differs");
    assert_eq!(report.stdout.relayed, want.len() as u64);
}

#[test]
fn a_resize_is_seen_by_the_child_and_fails_cleanly_after_close() {
    let (master, slave) = open_pty().unwrap();
    let (inp, mut in_peer) = socketpair();
    let (out, out_peer) = socketpair();
    let relay = TtyRelay::new(master, Some(inp), Some(out), config(2000)).unwrap();
    let resizer = relay.resizer();
    let reader = collect(out_peer);
    // The child waits for a line, then reports its terminal size.
    let mut child = spawn_on_pty(slave, "read line; /bin/busybox stty size");
    resizer.resize(ConsoleSize { rows: 33, cols: 77 }).unwrap();
    in_peer.write_all(b"go\n").unwrap();
    child.wait().unwrap();
    relay.process_exited();
    let report = bounded("relay wait", || relay.wait());
    assert_eq!(report.end, RelayEnd::Complete);
    let got =
        String::from_utf8_lossy(&bounded("reader", move || reader.join()).unwrap()).into_owned();
    assert!(got.contains("33 77"), "child saw: {got:?}");
    assert_eq!(report.stdin.relayed, 3);
    let err = resizer
        .resize(ConsoleSize { rows: 1, cols: 1 })
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RelayClosed);
    // A clone made after the close fails the same way.
    assert_eq!(
        relay
            .resizer()
            .resize(ConsoleSize { rows: 2, cols: 2 })
            .unwrap_err()
            .kind(),
        ErrorKind::RelayClosed
    );
}

#[test]
fn lingering_pty_holder_is_cut_after_the_grace() {
    let (master, slave) = open_pty().unwrap();
    let (out, out_peer) = socketpair();
    let relay = TtyRelay::new(master, None, Some(out), config(200)).unwrap();
    let reader = collect(out_peer);
    // The test itself holds the slave open: end-of-file (EIO) never comes.
    let mut slave_file = std::fs::File::from(slave);
    slave_file.write_all(b"hello").unwrap();
    relay.process_exited();
    let report = bounded("relay wait", || relay.wait());
    assert_eq!(
        report.end,
        RelayEnd::Cut {
            grace: Duration::from_millis(200)
        }
    );
    assert_eq!(bounded("reader", move || reader.join()).unwrap(), b"hello");
    drop(slave_file);
}

/// The pty's end-of-file (`EIO` once every slave descriptor is closed) ends the relay at once:
/// the drain grace (here far longer than any test waits) is not what ends it.
#[test]
fn the_ptys_end_of_file_ends_the_relay_before_the_grace() {
    let (master, slave) = open_pty().unwrap();
    let (out, out_peer) = socketpair();
    let relay = TtyRelay::new(master, None, Some(out), config(3_600_000)).unwrap();
    let reader = collect(out_peer);
    let mut child = spawn_on_pty(slave, "printf done");
    child.wait().unwrap();
    relay.process_exited();
    let report = bounded("relay wait", || relay.wait());
    assert_eq!(report.end, RelayEnd::Complete);
    assert_eq!(bounded("reader", move || reader.join()).unwrap(), b"done");
    assert_eq!(report.stdout.relayed, 4);
}

/// A pty whose last slave descriptor closed before the cut, its last output still queued
/// behind a peer that was not reading, is complete: the cut delivers all of that output (more
/// than the pty's `FIONREAD` tells: that counts only the line discipline's 4 KiB buffer), the
/// stream reads the pty's end-of-file (`EIO`), and the relay reports `Complete`, not `Cut`.
#[test]
fn a_pty_at_end_of_file_behind_a_stalled_peer_is_complete_after_a_cut() {
    let (master, slave) = open_pty().unwrap();
    let (inp, mut in_peer) = socketpair();
    let (out, out_peer) = socketpair();
    let mut cfg = config(0);
    cfg.drain_grace = None;
    // Far longer than any test waits: the cut's own deadline must not be what ends the
    // delivery, however slow a loaded machine is.
    cfg.peer_close_timeout = Duration::from_secs(3600);
    let relay = TtyRelay::new(master, Some(inp), Some(out), cfg).unwrap();
    let mut slave = std::fs::File::from(slave);
    let written = fill_until_stalled(&mut slave, &[b'a'; 4096]);
    drop(slave);
    relay.cut();
    // The cut stops stdin: its connection is closed once the cut was taken, before the peer
    // reads anything.
    let mut rest = Vec::new();
    bounded("stdin connection's end-of-file", || {
        in_peer.read_to_end(&mut rest)
    })
    .unwrap();
    relay.process_exited();
    let reader = collect(out_peer);
    let report = bounded("relay wait", || relay.wait());
    let got = bounded("reader", move || reader.join()).unwrap();
    assert_eq!(report.end, RelayEnd::Complete);
    assert_eq!(got.len(), written);
    assert!(got.iter().all(|&b| b == b'a'));
    assert_eq!(report.stdout.relayed, written as u64);
}

/// A pty cut while its slave is still open gets what is readable at that moment as its quota;
/// when the slave's last descriptor closes before that quota is delivered, the probe after it
/// reads the pty's end-of-file (`EIO`): the stream is complete, and so is the relay.
#[test]
fn a_pty_whose_slave_closes_after_the_cut_is_complete() {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    use std::os::fd::AsFd;
    let (master, slave) = open_pty().unwrap();
    let master_dup = master.try_clone().unwrap();
    let (inp, mut in_peer) = socketpair();
    let (out, out_peer) = socketpair();
    let mut filler = std::fs::File::from(out.try_clone().unwrap());
    let mut cfg = config(0);
    cfg.drain_grace = None;
    // Far longer than any test waits: the cut's own deadline must not be what ends the
    // delivery, however slow a loaded machine is.
    cfg.peer_close_timeout = Duration::from_secs(3600);
    let relay = TtyRelay::new(master, Some(inp), Some(out), cfg).unwrap();
    // The connection is full (of the host's own bytes, through its dup) before the pty says
    // anything: the relay keeps what it reads and stops reading, and the pty holds the rest.
    let filled = fill_until_stalled(&mut filler, &[b'f'; 4096]);
    let mut slave = std::fs::File::from(slave);
    slave.write_all(&[b'a'; 100]).unwrap();
    slave.write_all(&[b'b'; 100]).unwrap();
    // A poll of the pty makes its queued output readable (`FIONREAD`) before the cut.
    let mut fds = [PollFd::new(master_dup.as_fd(), PollFlags::POLLIN)];
    poll(&mut fds, PollTimeout::ZERO).unwrap();
    relay.cut();
    let mut rest = Vec::new();
    bounded("stdin connection's end-of-file", || {
        in_peer.read_to_end(&mut rest)
    })
    .unwrap();
    // Only now is the slave closed, and only now does the peer read.
    drop(slave);
    drop(filler);
    let reader = collect(out_peer);
    let report = bounded("relay wait", || relay.wait());
    let got = bounded("reader", move || reader.join()).unwrap();
    let mut want = vec![b'f'; filled];
    want.extend_from_slice(&[b'a'; 100]);
    want.extend_from_slice(&[b'b'; 100]);
    assert!(got == want, "{} bytes, {} expected", got.len(), want.len());
    assert_eq!(report.end, RelayEnd::Complete);
    assert_eq!(report.stdout.relayed, 200);
}
