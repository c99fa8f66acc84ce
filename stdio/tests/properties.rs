//! Property tests of the pipe relay over real pipes and socketpairs.
//!
//! Generated: chunk sizes from 0 up to several times the pipe capacity, interleaved between
//! stdout and stderr; when the exit is reported; slow readers and peers that disconnect early;
//! copies of the write ends held by threads or child processes that close early, or that linger
//! past the relay (the seed's `sleep 1000 &`).
//!
//! Checked: every byte written before the exit arrives, in order per stream (a peer that
//! disconnects early got a prefix, and the rest is counted as dropped); with a lingering writer
//! the relay still ends (generous bound: "never hangs") and says `Cut`; without one it says
//! `Complete`; no descriptor is leaked.
//!
//! This file holds a single test so that the descriptor count of the process is not disturbed
//! by other tests running in parallel.

mod common;
use testkit::bounded;

use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::process::{Command, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::{fd_count, pattern, socketpair};
use proptest::prelude::*;
use runtime_api::{RelayEnd, StdioSet};
use stdio::{PipeRelay, RelayConfig};

const PIPE_CAPACITY: usize = 64 * 1024;

#[derive(Clone, Debug)]
enum Reader {
    Fast,
    /// Reads small pieces with pauses.
    Slow,
    /// Reads this many bytes, then closes.
    DisconnectAfter(usize),
}

#[derive(Clone, Debug)]
enum Holder {
    /// A thread holds a copy of the write ends and closes it after this many ms.
    ThreadEarly(u64),
    /// A child process inherits a copy of the write ends and exits after this many ms.
    ChildEarly(u64),
    /// A thread holds a copy until after the relay has ended.
    Lingers,
}

#[derive(Clone, Debug)]
struct Scenario {
    /// (stream: false = stdout, true = stderr, size)
    chunks: Vec<(bool, usize)>,
    readers: [Reader; 2],
    holder: Option<Holder>,
    /// Milliseconds between the last write and the exit report.
    exit_delay_ms: u64,
}

fn reader() -> impl Strategy<Value = Reader> {
    prop_oneof![
        3 => Just(Reader::Fast),
        2 => Just(Reader::Slow),
        1 => (0usize..3 * PIPE_CAPACITY).prop_map(Reader::DisconnectAfter),
    ]
}

fn holder() -> impl Strategy<Value = Option<Holder>> {
    prop_oneof![
        3 => Just(None),
        1 => (0u64..20).prop_map(|ms| Some(Holder::ThreadEarly(ms))),
        1 => (0u64..20).prop_map(|ms| Some(Holder::ChildEarly(ms))),
        1 => Just(Some(Holder::Lingers)),
    ]
}

fn scenario() -> impl Strategy<Value = Scenario> {
    (
        prop::collection::vec(
            (
                any::<bool>(),
                prop_oneof![
                    2 => 0usize..512,
                    2 => 0usize..PIPE_CAPACITY,
                    1 => 0usize..4 * PIPE_CAPACITY,
                ],
            ),
            0..8,
        ),
        reader(),
        reader(),
        holder(),
        0u64..15,
    )
        .prop_map(|(chunks, r0, r1, holder, exit_delay_ms)| Scenario {
            chunks,
            readers: [r0, r1],
            holder,
            exit_delay_ms,
        })
}

fn read_with(mut peer: UnixStream, how: Reader) -> JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut out = Vec::new();
        match how {
            Reader::Fast => {
                peer.read_to_end(&mut out).unwrap();
            }
            Reader::Slow => {
                let mut buf = [0u8; 8192];
                loop {
                    let n = peer.read(&mut buf).unwrap();
                    if n == 0 {
                        break;
                    }
                    out.extend_from_slice(&buf[..n]);
                    std::thread::sleep(Duration::from_micros(300));
                }
            }
            Reader::DisconnectAfter(limit) => {
                let mut buf = [0u8; 4096];
                while out.len() < limit {
                    let want = (limit - out.len()).min(buf.len());
                    let n = peer.read(&mut buf[..want]).unwrap();
                    if n == 0 {
                        break;
                    }
                    out.extend_from_slice(&buf[..n]);
                }
            }
        }
        out
    })
}

fn run(s: &Scenario) -> Result<(), TestCaseError> {
    let lingers = matches!(s.holder, Some(Holder::Lingers));
    let grace = if lingers {
        Duration::from_millis(100)
    } else {
        // Long enough that only a lingering writer can make it expire.
        Duration::from_secs(20)
    };
    let config = RelayConfig {
        drain_grace: Some(grace),
        peer_close_timeout: Duration::from_millis(500),
        buffer_size: 64 * 1024,
    };
    let (out, out_peer) = socketpair();
    let (err, err_peer) = socketpair();
    let (relay, child) = PipeRelay::new(
        StdioSet {
            stdin: None,
            stdout: Some(out),
            stderr: Some(err),
        },
        config,
    )
    .unwrap();
    let readers = [
        read_with(out_peer, s.readers[0].clone()),
        read_with(err_peer, s.readers[1].clone()),
    ];
    drop(child.stdin);
    let mut writers = [
        std::fs::File::from(child.stdout),
        std::fs::File::from(child.stderr),
    ];

    let copies = || -> [OwnedFd; 2] {
        [
            writers[0].try_clone().unwrap().into(),
            writers[1].try_clone().unwrap().into(),
        ]
    };
    let (release_lingerer, lingerer_gone) = std::sync::mpsc::channel::<()>();
    let mut holder_thread: Option<JoinHandle<()>> = None;
    let mut holder_child: Option<std::process::Child> = None;
    match s.holder {
        None => {}
        Some(Holder::ThreadEarly(ms)) => {
            let fds = copies();
            holder_thread = Some(std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(ms));
                drop(fds);
            }));
        }
        Some(Holder::ChildEarly(ms)) => {
            let [o, e] = copies();
            let mut cmd = Command::new("/bin/busybox");
            cmd.args(["sleep", &format!("0.{ms:03}")])
                .stdin(Stdio::null())
                .stdout(Stdio::from(o))
                .stderr(Stdio::from(e));
            holder_child = Some(cmd.spawn().unwrap());
        }
        Some(Holder::Lingers) => {
            let fds = copies();
            holder_thread = Some(std::thread::spawn(move || {
                let _ = lingerer_gone.recv();
                drop(fds);
            }));
        }
    }

    let mut want: [Vec<u8>; 2] = [Vec::new(), Vec::new()];
    for (i, &(to_err, size)) in s.chunks.iter().enumerate() {
        let k = usize::from(to_err);
        let data = pattern(i as u8, size);
        // A peer that disconnected makes no write fail: the relay keeps draining.
        writers[k].write_all(&data).unwrap();
        want[k].extend_from_slice(&data);
    }
    drop(writers);
    std::thread::sleep(Duration::from_millis(s.exit_delay_ms));
    let exited = Instant::now();
    relay.process_exited();
    let report = bounded("relay wait", || relay.wait());
    let took = exited.elapsed();
    drop(release_lingerer);
    if let Some(t) = holder_thread {
        bounded("reader", move || t.join()).unwrap();
    }
    if let Some(mut c) = holder_child {
        c.wait().unwrap();
    }
    let got = readers.map(|r| bounded("reader", move || r.join()).unwrap());

    prop_assert!(took < Duration::from_secs(10), "relay took {:?}", took);
    if lingers {
        prop_assert_eq!(report.end, RelayEnd::Cut { grace });
    } else {
        prop_assert_eq!(report.end, RelayEnd::Complete);
    }
    let streams = [report.stdout, report.stderr];
    for k in 0..2 {
        let total = want[k].len() as u64;
        prop_assert_eq!(
            streams[k].relayed + streams[k].dropped,
            total,
            "stream {}",
            k
        );
        match s.readers[k] {
            Reader::DisconnectAfter(limit) => {
                prop_assert_eq!(
                    &got[k][..],
                    &want[k][..got[k].len()],
                    "stream {} not a prefix",
                    k
                );
                prop_assert_eq!(got[k].len(), limit.min(want[k].len()));
            }
            _ => {
                prop_assert_eq!(streams[k].dropped, 0);
                prop_assert!(
                    got[k] == want[k],
                    "stream {} differs: got {} of {} bytes",
                    k,
                    got[k].len(),
                    want[k].len()
                );
            }
        }
    }
    Ok(())
}

#[test]
fn every_byte_arrives_in_order_and_lingering_writers_are_cut() {
    // Warm up: the reactors' own descriptors are created by the first relay.
    let (relay, child) = PipeRelay::new(StdioSet::none(), RelayConfig::default()).unwrap();
    drop(child);
    bounded("relay wait", || relay.wait());
    let baseline = fd_count();
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(48);
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases,
        ..ProptestConfig::default()
    });
    runner
        .run(&scenario(), |s| {
            run(&s)?;
            prop_assert_eq!(fd_count(), baseline, "descriptor leak");
            Ok(())
        })
        .unwrap();
}
