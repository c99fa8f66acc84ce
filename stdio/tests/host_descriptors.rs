//! The relay keeps no reference to a descriptor of the host it was not given, not even in the
//! io_uring ring of a reactor, whose fixed files are references of their own (see
//! `offload.rs`): once the host closes such a descriptor, its file is closed. The host's
//! stdout (descriptor 1) is the one a slip would catch: after a splice request the ring's
//! slots are emptied with -1, and 1 is the descriptor next to that value.
//!
//! One test in this binary: it points the process's descriptor 1 at a pipe for a while.

mod common;
use common::{collect, config, pattern, socketpair, stdout_only_relay};
use testkit::bounded;

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use nix::libc;
use runtime_api::RelayEnd;

/// Puts the saved descriptor back as descriptor 1 when dropped (the test harness writes there).
struct Stdout(OwnedFd);

impl Drop for Stdout {
    fn drop(&mut self) {
        // SAFETY: plain descriptor calls on descriptors this test owns.
        assert_eq!(unsafe { libc::dup2(self.0.as_raw_fd(), 1) }, 1);
    }
}

#[test]
fn no_reference_to_the_hosts_stdout_is_kept_after_offloaded_splices() {
    let (r, w) = nix::unistd::pipe().unwrap();
    // SAFETY: dup returns a new descriptor (or -1, checked) that nothing else owns.
    let saved = unsafe { libc::dup(1) };
    assert!(saved >= 0);
    // SAFETY: as above.
    let saved = Stdout(unsafe { OwnedFd::from_raw_fd(saved) });
    // SAFETY: descriptor 1 now names the pipe; the harness's own handle writes through it.
    assert_eq!(unsafe { libc::dup2(w.as_raw_fd(), 1) }, 1);
    drop(w);

    // A relay into a blocking socket: its bytes go through the stage and the ring, several
    // requests of one reactor.
    let (sock, peer) = socketpair();
    let (relay, mut out) = stdout_only_relay(sock, config(2000));
    let reader = collect(peer);
    let data = pattern(8, 4 << 20);
    bounded("writer", || out.write_all(&data)).unwrap();
    drop(out);
    relay.process_exited();
    let report = bounded("relay wait", || relay.wait());
    let got = bounded("reader", move || reader.join()).unwrap();
    assert_eq!(report.end, RelayEnd::Complete);
    assert_eq!(report.stdout.relayed, data.len() as u64);
    assert!(got == data);

    // The host's stdout goes back; the pipe's write end is then held by nobody.
    drop(saved);
    let mut rest = Vec::new();
    bounded("end-of-file of the pipe that was the host's stdout", || {
        std::fs::File::from(r).read_to_end(&mut rest)
    })
    .unwrap();
    assert!(rest.is_empty());
}
