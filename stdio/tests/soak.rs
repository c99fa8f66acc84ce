//! The relay half of issue #10's soak: 1,000 relays on shared descriptions — dups of sockets
//! and of pipes, several relays and streams per description — while the host writes to its
//! own dup of each with blocking writes. No hang (every wait is bounded), every byte
//! accounted for, the host's descriptions keep their mode, and the process's descriptors are
//! back to where they started.
//!
//! A single test in this file, so that the descriptor count is not disturbed by others. Run
//! with `--nocapture` for the figures.

mod common;
use testkit::bounded;

use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::{config, fd_count, pattern, socketpair};
use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::sys::resource::{getrlimit, setrlimit, Resource};
use runtime_api::{RelayEnd, StdioSet};
use stdio::PipeRelay;

const GROUPS: usize = 100;
const RELAYS_PER_GROUP: usize = 10;
const PAYLOAD: usize = 2000;
const HOST_BYTES: usize = 100_000;

fn dup(fd: impl AsFd) -> OwnedFd {
    fd.as_fd().try_clone_to_owned().unwrap()
}

fn nonblocking(fd: impl AsFd) -> bool {
    OFlag::from_bits_truncate(fcntl(fd.as_fd(), FcntlArg::F_GETFL).unwrap())
        .contains(OFlag::O_NONBLOCK)
}

/// Reads `from` to end-of-file on a thread; returns the byte count.
fn count(mut from: impl Read + Send + 'static) -> JoinHandle<usize> {
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 64 * 1024];
        let mut n = 0;
        loop {
            match from.read(&mut buf) {
                Ok(0) => return n,
                Ok(k) => n += k,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => panic!("reading a group's connection: {e}"),
            }
        }
    })
}

/// One shared connection: the host's own dup, and the reader at the far end.
struct Group {
    socket: bool,
    host: OwnedFd,
    reader: JoinHandle<usize>,
    relays: Vec<PipeRelay>,
}

#[test]
fn thousand_relays_on_shared_descriptions() {
    let (_, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
    setrlimit(Resource::RLIMIT_NOFILE, hard, hard).unwrap();
    let relays = GROUPS * RELAYS_PER_GROUP;
    assert!(hard >= (relays * 12) as u64, "descriptor hard limit {hard}");

    // The reactors start with the first relay: start them before counting.
    let (warm_up, child) = PipeRelay::new(StdioSet::none(), config(200)).unwrap();
    drop(child);
    bounded("relay wait", || warm_up.wait());
    let fds_before = fd_count();
    let started = Instant::now();

    let mut groups = Vec::with_capacity(GROUPS);
    let mut children = Vec::with_capacity(relays);
    for g in 0..GROUPS {
        let socket = g % 2 == 0;
        let (host, reader) = if socket {
            let (ours, peer) = socketpair();
            (ours, count(peer))
        } else {
            let (r, w) = nix::unistd::pipe2(OFlag::O_CLOEXEC).unwrap();
            (w, count(std::fs::File::from(r)))
        };
        let mut group = Group {
            socket,
            host,
            reader,
            relays: Vec::with_capacity(RELAYS_PER_GROUP),
        };
        for _ in 0..RELAYS_PER_GROUP {
            let (relay, child) = PipeRelay::new(
                StdioSet {
                    // A socket also serves as the process's stdin: the close wait must not
                    // read from it.
                    stdin: socket.then(|| dup(&group.host)),
                    stdout: Some(dup(&group.host)),
                    stderr: Some(dup(&group.host)),
                },
                config(2000),
            )
            .unwrap();
            group.relays.push(relay);
            children.push(child);
        }
        groups.push(group);
    }

    // The host writes to its own dup of every connection meanwhile, with blocking writes: a
    // description made nonblocking under it would fail them with EAGAIN.
    let host_writers: Vec<JoinHandle<()>> = groups
        .iter()
        .map(|g| {
            let mut host = std::fs::File::from(dup(&g.host));
            std::thread::spawn(move || {
                host.write_all(&pattern(9, HOST_BYTES))
                    .expect("the host's blocking write on its own dup");
            })
        })
        .collect();
    let out = pattern(1, PAYLOAD);
    let err = pattern(2, PAYLOAD);
    // The process side stays open until the host is done: the last stream's end-of-file
    // half-closes a socket, after which the host's own writes would fail.
    let mut open = Vec::with_capacity(relays);
    for child in children {
        let mut stdout = std::fs::File::from(child.stdout);
        let mut stderr = std::fs::File::from(child.stderr);
        stdout.write_all(&out).unwrap();
        stderr.write_all(&err).unwrap();
        open.push((stdout, stderr, child.stdin));
    }
    for w in host_writers {
        bounded("reader", move || w.join()).unwrap();
    }
    drop(open);
    for g in &groups {
        assert!(
            !nonblocking(&g.host),
            "a host description became nonblocking"
        );
        for relay in &g.relays {
            relay.process_exited();
        }
    }

    // Every relay ends, within one overall bound.
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut ended = 0;
    let mut totals = Vec::with_capacity(GROUPS);
    for g in groups {
        for relay in &g.relays {
            let report = loop {
                if let Some(r) = relay.try_report() {
                    break r;
                }
                assert!(
                    Instant::now() < deadline,
                    "relay {ended} of {relays} did not end within 120 s"
                );
                std::thread::sleep(Duration::from_millis(2));
            };
            assert_eq!(report.end, RelayEnd::Complete);
            assert_eq!(report.stdout.relayed, PAYLOAD as u64, "{report:?}");
            assert_eq!(report.stderr.relayed, PAYLOAD as u64, "{report:?}");
            assert_eq!(
                report.stdout.dropped + report.stderr.dropped,
                0,
                "{report:?}"
            );
            ended += 1;
        }
        let Group {
            socket,
            host,
            reader,
            relays: group_relays,
        } = g;
        drop(group_relays);
        // A pipe's reader sees end-of-file once the host's own write end is closed too; a
        // socket's once the last relay on it half-closed it.
        drop(host);
        let got = bounded("reader", move || reader.join()).unwrap();
        let expected = HOST_BYTES + RELAYS_PER_GROUP * 2 * PAYLOAD;
        assert_eq!(
            got,
            expected,
            "{} group: bytes at the far end",
            if socket { "socket" } else { "pipe" }
        );
        totals.push(got);
    }
    let elapsed = started.elapsed();

    let fds_after = fd_count();
    println!(
        "soak: {relays} relays on {GROUPS} shared descriptions ({} sockets, {} pipes; \
         {RELAYS_PER_GROUP} relays x 2-3 streams each, plus the host's own writer): \
         {} bytes delivered in {:.2} s; fds {fds_before} -> {fds_after}",
        GROUPS / 2,
        GROUPS / 2,
        totals.iter().sum::<usize>(),
        elapsed.as_secs_f64()
    );
    assert_eq!(fds_after, fds_before, "descriptors left behind");
}
