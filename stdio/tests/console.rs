//! Console socket: exactly one pty master over SCM_RIGHTS, no leak otherwise.

mod common;

use std::io::IoSlice;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::time::Duration;

use common::fd_count;
use nix::fcntl::{fcntl, FcntlArg, FdFlag};
use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags, UnixAddr};
use stdio::console::{open_pty, ConsoleSocket};

fn send_fds(sock: &ConsoleSocket, fds: &[OwnedFd], payload: &[u8]) {
    let conn = UnixStream::connect(sock.path()).unwrap();
    let raw: Vec<i32> = fds.iter().map(|f| f.as_raw_fd()).collect();
    let iov = [IoSlice::new(payload)];
    let cmsgs = if raw.is_empty() {
        vec![]
    } else {
        vec![ControlMessage::ScmRights(&raw)]
    };
    sendmsg::<UnixAddr>(conn.as_raw_fd(), &iov, &cmsgs, MsgFlags::empty(), None).unwrap();
}

#[test]
fn receives_exactly_one_master_close_on_exec() {
    let sock = ConsoleSocket::bind(None).unwrap();
    let path = sock.path().to_path_buf();
    assert!(path.as_os_str().len() < 108);
    let dir = path.parent().unwrap().to_path_buf();
    let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700);
    let (master, _slave) = open_pty().unwrap();
    send_fds(&sock, &[master], b"/dev/pts/x");
    let got = sock.receive_master(Duration::from_secs(5)).unwrap();
    let flags = FdFlag::from_bits_truncate(fcntl(&got, FcntlArg::F_GETFD).unwrap());
    assert!(flags.contains(FdFlag::FD_CLOEXEC));
    drop(sock);
    assert!(!path.exists());
    assert!(!dir.exists());
}

#[test]
fn zero_or_several_descriptors_are_refused_without_leaking() {
    let sock = ConsoleSocket::bind(None).unwrap();
    // Warm up lazily allocated descriptors before counting.
    let before = fd_count();
    {
        let (a, b) = open_pty().unwrap();
        send_fds(&sock, &[a, b], b"two");
    }
    let err = sock.receive_master(Duration::from_secs(5)).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidData, "{err}");
    send_fds(&sock, &[], b"none");
    let err = sock.receive_master(Duration::from_secs(5)).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidData, "{err}");
    {
        // More than the receive buffer has room for: truncated, refused, none leaked.
        let many: Vec<OwnedFd> = (0..40)
            .map(|_| OwnedFd::from(std::fs::File::open("/dev/null").unwrap()))
            .collect();
        send_fds(&sock, &many, b"many");
    }
    let err = sock.receive_master(Duration::from_secs(5)).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidData, "{err}");
    // Exactly one, but not a pty master.
    send_fds(
        &sock,
        &[OwnedFd::from(std::fs::File::open("/dev/null").unwrap())],
        b"null",
    );
    let err = sock.receive_master(Duration::from_secs(5)).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidData, "{err}");
    assert_eq!(fd_count(), before);
}

#[test]
fn nothing_arrives_times_out() {
    let sock = ConsoleSocket::bind(None).unwrap();
    let err = sock.receive_master(Duration::from_millis(100)).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
}

#[test]
fn too_long_a_path_is_refused_and_leaves_nothing() {
    let base = tempfile::tempdir().unwrap();
    let deep = base.path().join("d".repeat(100));
    std::fs::create_dir(&deep).unwrap();
    let err = ConsoleSocket::bind(Some(&deep)).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert_eq!(std::fs::read_dir(&deep).unwrap().count(), 0);
}
