//! Tty relay over a real pty.

mod common;
use testkit::bounded;

use std::io::Write;
use std::os::fd::OwnedFd;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{collect, config, socketpair};
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
