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

/// An open file of a simulated process (what one of its fds 0-2 refers to).
#[derive(Debug, Clone)]
pub enum Fd {
    /// A real stdio stream of a runtime process (a relay's pipe or pty, or `/dev/null`),
    /// inherited by its descendants.
    Stream(Arc<StreamFd>),
    /// One end of a pipe between simulated processes (a pipeline's `|`).
    Pipe {
        /// The pipe ([`super::fs::SimPipe`]).
        id: u64,
        /// The write end (else the read end).
        write: bool,
    },
    /// A file of the container opened for writing (`>`, `>>`): writes append to it.
    File {
        /// Its absolute path in the container.
        path: String,
    },
    /// A file of the container opened for reading (`<`), with its own offset.
    FileIn {
        /// The open file ([`super::fs::OpenRead`]).
        id: u64,
    },
    /// `/dev/null` opened by a redirection: writes vanish, reads give end-of-file.
    Null,
    /// `/dev/zero` opened for reading.
    Zero,
}

impl Fd {
    /// The real stream, if it is one.
    pub fn stream(&self) -> Option<&Arc<StreamFd>> {
        match self {
            Fd::Stream(f) => Some(f),
            _ => None,
        }
    }
}

/// The three stdio slots of a process.
#[derive(Debug, Clone, Default)]
pub struct Slots {
    /// Standard input.
    pub stdin: Option<Fd>,
    /// Standard output.
    pub stdout: Option<Fd>,
    /// Standard error.
    pub stderr: Option<Fd>,
}

impl Slots {
    /// The slot of an output stream.
    pub fn output(&self, stream: Stream) -> Option<&Fd> {
        match stream {
            Stream::Out => self.stdout.as_ref(),
            Stream::Err => self.stderr.as_ref(),
        }
    }

    /// Slot `fd` (0, 1 or 2).
    pub fn slot_mut(&mut self, fd: i32) -> &mut Option<Fd> {
        match fd {
            0 => &mut self.stdin,
            1 => &mut self.stdout,
            _ => &mut self.stderr,
        }
    }

    /// Every real stream among the slots.
    pub fn streams(&self) -> impl Iterator<Item = &Arc<StreamFd>> {
        [&self.stdin, &self.stdout, &self.stderr]
            .into_iter()
            .flatten()
            .filter_map(Fd::stream)
    }
}

/// A write that the pipe could not take at once.
#[derive(Debug, Clone)]
pub struct PendingWrite {
    /// Where to.
    pub file: Fd,
    /// The bytes of the write.
    pub data: Vec<u8>,
    /// How many of them the pipe took already. An offset, not a copy of the rest at each
    /// partial write: a MiB-sized write into a 64 KiB pipe is taken in many parts.
    pub written: usize,
}

impl PendingWrite {
    /// The bytes not written yet.
    pub fn unwritten(&self) -> &[u8] {
        &self.data[self.written..]
    }
}

/// How flushing a process's pending writes ended.
pub(crate) enum Flush {
    /// Nothing pending any more.
    Done,
    /// A real pipe cannot take more yet (its relay drains it in real time).
    Real(Arc<StreamFd>),
    /// A simulated pipe is full (its reader drains it in virtual time).
    Simulated,
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
    pub(crate) fn hold(&mut self, file: &Option<Fd>) -> Option<Fd> {
        match file {
            Some(Fd::Stream(f)) => {
                if let Some(s) = self.kernel.streams.get_mut(&f.id) {
                    s.holders += 1;
                }
            }
            Some(Fd::Pipe { id, write }) => {
                if let Some(p) = self.kernel.pipes.get_mut(id) {
                    if *write {
                        p.writers += 1;
                    } else {
                        p.readers += 1;
                    }
                }
            }
            _ => {}
        }
        file.clone()
    }

    /// Gives up one holder of `file`; the last one records the end-of-file time.
    pub(crate) fn release(&mut self, file: Option<Fd>) {
        let f = match file {
            Some(Fd::Stream(f)) => f,
            Some(Fd::Pipe { id, write }) => {
                if let Some(p) = self.kernel.pipes.get_mut(&id) {
                    if write {
                        p.writers = p.writers.saturating_sub(1);
                    } else {
                        p.readers = p.readers.saturating_sub(1);
                    }
                    if p.readers == 0 && p.writers == 0 {
                        self.kernel.pipes.remove(&id);
                    }
                }
                return;
            }
            _ => return,
        };
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
    /// and the process blocks until the pipe's reader (a relay, or a simulated process) has
    /// drained it. A write to a pipe whose reader is gone delivers SIGPIPE. A write to a file
    /// appends to it; to `/dev/null`, or to an fd open for reading, goes nowhere.
    pub(crate) fn sys_write(&mut self, pid: i32, stream: Stream, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        let Some(p) = self.kernel.procs.get(&pid) else {
            return;
        };
        let Some(file) = p.slots.output(stream).cloned() else {
            return;
        };
        let container = p.container.clone();
        let name = match stream {
            Stream::Out => "stdout",
            Stream::Err => "stderr",
        };
        let target = match &file {
            Fd::Stream(f) => format!("stream {}", f.id),
            Fd::Pipe { id, .. } => format!("pipe {id}"),
            Fd::File { path } => path.clone(),
            Fd::Null | Fd::Zero | Fd::FileIn { .. } => "nowhere".into(),
        };
        self.trace.record(
            self.clock.now(),
            pid,
            "write",
            format!("{} bytes to {name} ({target})", data.len()),
        );
        match &file {
            Fd::File { path } => {
                self.kernel
                    .files
                    .entry((container, path.clone()))
                    .or_default()
                    .extend_from_slice(data);
                return;
            }
            Fd::Null | Fd::Zero | Fd::FileIn { .. } | Fd::Pipe { write: false, .. } => return,
            _ => {}
        }
        if let Some(p) = self.kernel.procs.get_mut(&pid) {
            if !p.pending_write.is_empty() {
                // Keep the order: queue behind the write that is still waiting.
                p.pending_write.push(PendingWrite {
                    file,
                    data: data.to_vec(),
                    written: 0,
                });
                return;
            }
        }
        match self.write_fd(&file, data) {
            WriteEnd::Done => {}
            WriteEnd::Partial(n) => {
                if let Some(p) = self.kernel.procs.get_mut(&pid) {
                    p.pending_write.push(PendingWrite {
                        file,
                        data: data[n..].to_vec(),
                        written: 0,
                    });
                }
            }
            WriteEnd::BrokenPipe => self.broken_pipe(pid),
        }
    }

    /// Writes what `file` takes now (a real pipe, or a simulated one of bounded capacity).
    fn write_fd(&mut self, file: &Fd, data: &[u8]) -> WriteEnd {
        match file {
            Fd::Stream(f) => {
                let end = write_now(f, data);
                match end {
                    WriteEnd::Done => self.count_written(f.id, data.len()),
                    WriteEnd::Partial(n) => self.count_written(f.id, n),
                    WriteEnd::BrokenPipe => {}
                }
                end
            }
            Fd::Pipe { id, .. } => {
                let Some(p) = self.kernel.pipes.get_mut(id) else {
                    return WriteEnd::BrokenPipe;
                };
                if p.readers == 0 {
                    return WriteEnd::BrokenPipe;
                }
                let room = super::fs::PIPE_CAPACITY.saturating_sub(p.buf.len());
                let n = room.min(data.len());
                p.buf.extend(&data[..n]);
                if n == data.len() {
                    WriteEnd::Done
                } else {
                    WriteEnd::Partial(n)
                }
            }
            _ => WriteEnd::Done,
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

    /// Tries to finish the pending writes of `pid`, in order.
    pub(crate) fn flush_pending(&mut self, pid: i32) -> Flush {
        loop {
            let Some(p) = self.kernel.procs.get_mut(&pid) else {
                return Flush::Done;
            };
            if p.state != ProcState::Alive {
                p.pending_write.clear();
                return Flush::Done;
            }
            if p.pending_write.is_empty() {
                return Flush::Done;
            }
            let mut pending = p.pending_write.remove(0);
            match self.write_fd(&pending.file, pending.unwritten()) {
                WriteEnd::Done => {}
                WriteEnd::Partial(n) => {
                    let file = pending.file.clone();
                    pending.written += n;
                    if let Some(p) = self.kernel.procs.get_mut(&pid) {
                        p.pending_write.insert(0, pending);
                    }
                    return match file {
                        Fd::Stream(f) => Flush::Real(f),
                        _ => Flush::Simulated,
                    };
                }
                WriteEnd::BrokenPipe => {
                    if let Some(p) = self.kernel.procs.get_mut(&pid) {
                        p.pending_write.clear();
                    }
                    self.broken_pipe(pid);
                    return Flush::Done;
                }
            }
        }
    }
}
