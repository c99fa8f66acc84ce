//! Open files of simulated processes: the real fds of their stdio, shared by every process
//! that inherited them, and the simulated `write`/`read` on them.
//!
//! A stream's end-of-file is real: the fd is a real pipe or pty end, and it closes when the
//! last simulated holder lets go of it (every process that inherited it exited, or replaced it
//! by a redirection). The kernel also counts holders itself, so that the simulated time of the
//! end-of-file is known exactly (for the drain-grace decision and the inspection API).

use super::process::ProcState;
use crate::shell::Stream;
use crate::world::World;
use nix::errno::Errno;
use nix::fcntl::{fcntl, FcntlArg, OFlag};
use std::os::fd::{AsFd, OwnedFd};
use std::sync::Arc;

/// What a stdio fd is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// `/dev/null` (the stream has no connection): writes vanish, reads give end-of-file.
    Null,
    /// A pipe end owned by a relay.
    Pipe,
    /// A pty slave (a process with a terminal).
    Tty,
}

/// A real fd of a simulated process's stdio. Shared (`Arc`) between the processes that
/// inherited it; closed when the last one drops it.
#[derive(Debug)]
pub struct StreamFd {
    /// The real descriptor (nonblocking, for pipes and ptys).
    pub fd: OwnedFd,
    /// What it is.
    pub kind: FileKind,
    /// The kernel's id of the stream (key of [`StreamStats`]).
    pub id: u64,
    /// For a stdin: a connection feeds it, so input (or end-of-file) will come from outside.
    pub input_connected: bool,
}

/// What the kernel knows about one stream.
#[derive(Debug, Clone, Default)]
pub struct StreamStats {
    /// Simulated processes holding the stream (counting each stdio slot).
    pub holders: u32,
    /// Bytes written into it by simulated processes.
    pub written: u64,
    /// Virtual time (ns) when the last holder closed it.
    pub eof_at: Option<u64>,
    /// Whether the relay reading it was cut (nothing reads it any more).
    pub reader_gone: bool,
}

/// The three stdio slots of a process.
#[derive(Debug, Clone, Default)]
pub struct Slots {
    /// Standard input.
    pub stdin: Option<Arc<StreamFd>>,
    /// Standard output.
    pub stdout: Option<Arc<StreamFd>>,
    /// Standard error.
    pub stderr: Option<Arc<StreamFd>>,
}

impl Slots {
    /// The slot of an output stream.
    pub fn output(&self, stream: Stream) -> Option<&Arc<StreamFd>> {
        match stream {
            Stream::Out => self.stdout.as_ref(),
            Stream::Err => self.stderr.as_ref(),
        }
    }
}

/// A write that the pipe could not take at once.
#[derive(Debug, Clone)]
pub struct PendingWrite {
    /// Where to.
    pub file: Arc<StreamFd>,
    /// The bytes not written yet.
    pub data: Vec<u8>,
}

/// Makes a real fd nonblocking, so that a simulated write never blocks the simulator.
pub fn set_nonblocking(fd: &OwnedFd) -> std::io::Result<()> {
    let flags = fcntl(fd.as_fd(), FcntlArg::F_GETFL)?;
    let flags = OFlag::from_bits_truncate(flags) | OFlag::O_NONBLOCK;
    fcntl(fd.as_fd(), FcntlArg::F_SETFL(flags))?;
    Ok(())
}

/// The result of trying to read a stdin.
#[derive(Debug, PartialEq, Eq)]
pub enum ReadResult {
    /// Bytes read.
    Data(Vec<u8>),
    /// End-of-file.
    Eof,
    /// Nothing available now.
    WouldBlock,
}

/// Reads what is available now from a stdin fd, without blocking.
pub fn try_read(file: &StreamFd) -> ReadResult {
    if file.kind == FileKind::Null {
        return ReadResult::Eof;
    }
    let mut buf = vec![0u8; 64 * 1024];
    match nix::unistd::read(file.fd.as_fd(), &mut buf) {
        Ok(0) => ReadResult::Eof,
        Ok(n) => {
            buf.truncate(n);
            ReadResult::Data(buf)
        }
        Err(Errno::EAGAIN) | Err(Errno::EINTR) => ReadResult::WouldBlock,
        // EIO on a pty slave whose master closed: end-of-file.
        Err(_) => ReadResult::Eof,
    }
}

/// How a write attempt ended.
enum WriteEnd {
    Done,
    Partial(usize),
    BrokenPipe,
}

fn write_now(file: &StreamFd, data: &[u8]) -> WriteEnd {
    if file.kind == FileKind::Null {
        return WriteEnd::Done;
    }
    let mut off = 0;
    while off < data.len() {
        match nix::unistd::write(file.fd.as_fd(), &data[off..]) {
            Ok(n) => off += n,
            Err(Errno::EINTR) => {}
            Err(Errno::EAGAIN) => return WriteEnd::Partial(off),
            Err(_) => return WriteEnd::BrokenPipe,
        }
    }
    WriteEnd::Done
}

impl World {
    /// Registers a new stream and returns its id.
    pub(crate) fn new_stream(&mut self) -> u64 {
        self.kernel.next_stream += 1;
        let id = self.kernel.next_stream;
        self.kernel.streams.insert(id, StreamStats::default());
        id
    }

    /// Counts a new holder of `file`.
    pub(crate) fn hold(&mut self, file: &Option<Arc<StreamFd>>) -> Option<Arc<StreamFd>> {
        if let Some(f) = file {
            if let Some(s) = self.kernel.streams.get_mut(&f.id) {
                s.holders += 1;
            }
        }
        file.clone()
    }

    /// Gives up one holder of `file`; the last one records the end-of-file time.
    pub(crate) fn release(&mut self, file: Option<Arc<StreamFd>>) {
        let Some(f) = file else { return };
        let now = self.clock.now().0;
        if let Some(s) = self.kernel.streams.get_mut(&f.id) {
            s.holders = s.holders.saturating_sub(1);
            if s.holders == 0 && s.eof_at.is_none() {
                s.eof_at = Some(now);
                self.trace.record(
                    self.clock.now(),
                    0,
                    "eof",
                    format!("stream {} closed by its last writer", f.id),
                );
            }
        }
    }

    /// Releases every stdio slot of a process.
    pub(crate) fn release_slots(&mut self, slots: Slots) {
        self.release(slots.stdin);
        self.release(slots.stdout);
        self.release(slots.stderr);
    }

    /// The simulated `write(2)` of process `pid` to one of its output streams. Completes at
    /// once when the pipe has room (the usual case); otherwise the rest becomes a pending write
    /// and the process blocks until the relay has drained the pipe. A write to a pipe whose
    /// reader is gone delivers SIGPIPE.
    pub(crate) fn sys_write(&mut self, pid: i32, stream: Stream, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        let Some(file) = self
            .kernel
            .procs
            .get(&pid)
            .and_then(|p| p.slots.output(stream).cloned())
        else {
            return;
        };
        let name = match stream {
            Stream::Out => "stdout",
            Stream::Err => "stderr",
        };
        self.trace.record(
            self.clock.now(),
            pid,
            "write",
            format!("{} bytes to {name} (stream {})", data.len(), file.id),
        );
        if let Some(p) = self.kernel.procs.get_mut(&pid) {
            if !p.pending_write.is_empty() {
                // Keep the order: queue behind the write that is still waiting.
                p.pending_write.push(PendingWrite {
                    file,
                    data: data.to_vec(),
                });
                return;
            }
        }
        match write_now(&file, data) {
            WriteEnd::Done => self.count_written(file.id, data.len()),
            WriteEnd::Partial(n) => {
                self.count_written(file.id, n);
                if let Some(p) = self.kernel.procs.get_mut(&pid) {
                    p.pending_write.push(PendingWrite {
                        file,
                        data: data[n..].to_vec(),
                    });
                }
            }
            WriteEnd::BrokenPipe => self.broken_pipe(pid),
        }
    }

    fn count_written(&mut self, stream: u64, n: usize) {
        if let Some(s) = self.kernel.streams.get_mut(&stream) {
            s.written += n as u64;
        }
    }

    fn broken_pipe(&mut self, pid: i32) {
        self.trace
            .record(self.clock.now(), pid, "write", "EPIPE: the reader is gone");
        let _ = self.send_signal(pid, runtime_api::Signal::PIPE, None);
    }

    /// Tries to finish the pending writes of `pid`, in order. Returns `None` when they are
    /// finished (or the process is gone), or the file it still waits on.
    pub(crate) fn flush_pending(&mut self, pid: i32) -> Option<Arc<StreamFd>> {
        loop {
            let p = self.kernel.procs.get_mut(&pid)?;
            if p.state != ProcState::Alive {
                p.pending_write.clear();
                return None;
            }
            if p.pending_write.is_empty() {
                return None;
            }
            let pending = p.pending_write.remove(0);
            match write_now(&pending.file, &pending.data) {
                WriteEnd::Done => self.count_written(pending.file.id, pending.data.len()),
                WriteEnd::Partial(n) => {
                    self.count_written(pending.file.id, n);
                    let file = pending.file.clone();
                    if let Some(p) = self.kernel.procs.get_mut(&pid) {
                        p.pending_write.insert(
                            0,
                            PendingWrite {
                                file: pending.file,
                                data: pending.data[n..].to_vec(),
                            },
                        );
                    }
                    return Some(file);
                }
                WriteEnd::BrokenPipe => {
                    if let Some(p) = self.kernel.procs.get_mut(&pid) {
                        p.pending_write.clear();
                    }
                    self.broken_pipe(pid);
                    return None;
                }
            }
        }
    }
}
