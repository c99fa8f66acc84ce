//! What the processes of a container read and write besides their stdio streams: pipes
//! between simulated processes (a pipeline's `|`), the container's files (redirections `>`,
//! `>>`, `<` and `cat FILE`), `/dev/null` and `/dev/zero`; and reading standard input, one
//! line at a time for the shell's `read` as ash does (it never takes more than the line).
//!
//! Files live in memory, one tree per container (its root filesystem is its own), starting
//! empty: the busybox rootfs's directories exist ([`ROOTFS_DIRS`]), its files are not
//! modelled. Input from a real stream (a connection feeding stdin) is buffered per stream, so
//! that a `read` leaves the rest of the input to the next reader, and is only taken from the
//! real fd when the world waits for outside input, never during a settle.

use super::file::{try_read, Fd, ReadResult, Slots};
use crate::shell::{LineRead, Resolved};
use crate::world::World;

/// Capacity of a simulated pipe, as Linux's default.
pub const PIPE_CAPACITY: usize = 64 * 1024;

/// Directories of the busybox root filesystem (testkit's bundles): a file can be created in
/// these.
pub const ROOTFS_DIRS: [&str; 8] = [
    "/", "/bin", "/dev", "/etc", "/proc", "/root", "/sys", "/tmp",
];

/// A pipe between simulated processes.
#[derive(Debug, Clone, Default)]
pub struct SimPipe {
    /// Written, not read yet (at most [`PIPE_CAPACITY`]).
    pub buf: std::collections::VecDeque<u8>,
    /// Open read ends.
    pub readers: u32,
    /// Open write ends.
    pub writers: u32,
}

/// A container file opened for reading: its content when opened, and the offset.
#[derive(Debug, Clone, Default)]
pub struct OpenRead {
    /// The bytes.
    pub data: Vec<u8>,
    /// How far reads got.
    pub pos: usize,
}

/// Input taken from a real stdin stream, not consumed yet.
#[derive(Debug, Clone, Default)]
pub struct InputBuf {
    /// Bytes read from the fd, not consumed by a process yet.
    pub buf: std::collections::VecDeque<u8>,
    /// The fd reached end-of-file.
    pub eof: bool,
}

/// `path` made absolute (the working directory is `/`) and without `.` or repeated `/`.
pub fn absolute(path: &str) -> String {
    let parts: Vec<&str> = path
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect();
    format!("/{}", parts.join("/"))
}

fn parent(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &path[..i],
    }
}

impl World {
    /// A container file's content (`None`: it does not exist).
    pub(crate) fn file_content(&self, container: &str, path: &str) -> Option<Vec<u8>> {
        match path {
            "/dev/null" => Some(Vec::new()),
            _ => self
                .kernel
                .files
                .get(&(container.to_string(), absolute(path)))
                .cloned(),
        }
    }

    /// `test -e/-f/-d/-s PATH` in `container`.
    pub(crate) fn file_test(&self, container: &str, op: &str, path: &str) -> bool {
        let path = absolute(path);
        let dir = ROOTFS_DIRS.contains(&path.as_str());
        let device = path == "/dev/null" || path == "/dev/zero";
        let file = self.file_content(container, &path);
        match op {
            "-e" => dir || device || file.is_some(),
            "-d" => dir,
            "-f" => !device && file.is_some(),
            "-s" => dir || file.is_some_and(|f| !f.is_empty()),
            _ => false,
        }
    }

    /// Creates a pipe between simulated processes, with no end open yet.
    pub(crate) fn new_pipe(&mut self) -> u64 {
        self.kernel.next_pipe += 1;
        let id = self.kernel.next_pipe;
        self.kernel.pipes.insert(id, SimPipe::default());
        id
    }

    /// Applies `redirs` to `pid`'s fd table, saving the old table (or, `permanent`, closing
    /// it). On failure nothing changes; the error is the shell's message.
    pub(crate) fn push_redirs(
        &mut self,
        pid: i32,
        redirs: &[Resolved],
        permanent: bool,
    ) -> Result<(), String> {
        let Some(p) = self.kernel.procs.get(&pid) else {
            return Ok(());
        };
        let container = p.container.clone();
        let mut slots = p.slots.clone();
        for r in redirs {
            match r {
                Resolved::Out { fd, path, append } => {
                    let abs = absolute(path);
                    let fdv = if abs == "/dev/null" || abs == "/dev/zero" {
                        Fd::Null
                    } else {
                        if ROOTFS_DIRS.contains(&abs.as_str()) {
                            return Err(format!("can't create {path}: Is a directory"));
                        }
                        if !ROOTFS_DIRS.contains(&parent(&abs)) {
                            return Err(format!("can't create {path}: nonexistent directory"));
                        }
                        let key = (container.clone(), abs.clone());
                        if *append {
                            self.kernel.files.entry(key).or_default();
                        } else {
                            self.kernel.files.insert(key, Vec::new());
                        }
                        Fd::File { path: abs }
                    };
                    *slots.slot_mut(*fd) = Some(fdv);
                }
                Resolved::In { fd, path } => {
                    let abs = absolute(path);
                    let fdv = match abs.as_str() {
                        "/dev/null" => Fd::Null,
                        "/dev/zero" => Fd::Zero,
                        _ => match self.file_content(&container, &abs) {
                            Some(data) => {
                                self.kernel.next_open += 1;
                                let id = self.kernel.next_open;
                                self.kernel.reads.insert(id, OpenRead { data, pos: 0 });
                                Fd::FileIn { id }
                            }
                            None => return Err(format!("can't open {path}: no such file")),
                        },
                    };
                    *slots.slot_mut(*fd) = Some(fdv);
                }
                Resolved::Dup { fd, from } => {
                    let src = slots.slot_mut(*from).clone();
                    if src.is_none() {
                        return Err(format!("{from}: Bad file descriptor"));
                    }
                    *slots.slot_mut(*fd) = src;
                }
            }
        }
        let held = Slots {
            stdin: self.hold(&slots.stdin),
            stdout: self.hold(&slots.stdout),
            stderr: self.hold(&slots.stderr),
        };
        let Some(p) = self.kernel.procs.get_mut(&pid) else {
            return Ok(());
        };
        let old = std::mem::replace(&mut p.slots, held);
        if permanent {
            self.release_slots(old);
        } else {
            p.saved_slots.push(old);
        }
        Ok(())
    }

    /// Restores the fd table `pid` saved last.
    pub(crate) fn pop_redirs(&mut self, pid: i32) {
        let Some(p) = self.kernel.procs.get_mut(&pid) else {
            return;
        };
        let Some(old) = p.saved_slots.pop() else {
            return;
        };
        let current = std::mem::replace(&mut p.slots, old);
        self.release_slots(current);
    }

    /// Whether a read of `pid`'s stdin would not block: data or end-of-file is there.
    pub(crate) fn input_ready(&self, pid: i32) -> bool {
        self.input_ready_for(pid, false)
    }

    /// Whether reading one line of `pid`'s stdin would not block: a whole line or
    /// end-of-file is there.
    pub(crate) fn line_ready(&self, pid: i32) -> bool {
        self.input_ready_for(pid, true)
    }

    fn input_ready_for(&self, pid: i32, line: bool) -> bool {
        let Some(p) = self.kernel.procs.get(&pid) else {
            return true;
        };
        match &p.slots.stdin {
            None | Some(Fd::Null) | Some(Fd::Zero) | Some(Fd::FileIn { .. }) => true,
            Some(Fd::File { .. }) => true,
            Some(Fd::Pipe { id, write }) => {
                *write
                    || self.kernel.pipes.get(id).is_none_or(|q| {
                        q.writers == 0 || (!q.buf.is_empty() && (!line || q.buf.contains(&b'\n')))
                    })
            }
            Some(Fd::Stream(f)) => {
                f.kind == super::FileKind::Null
                    || self.kernel.inputs.get(&f.id).is_some_and(|b| {
                        b.eof || (!b.buf.is_empty() && (!line || b.buf.contains(&b'\n')))
                    })
            }
        }
    }

    /// Takes input that arrived on the real stdin of `pid` into the stream's buffer. Returns
    /// whether something (data or end-of-file) came; `None` if nothing is there yet (`Some`
    /// of the fd when a connection may still send some).
    pub(crate) fn take_outside_input(
        &mut self,
        pid: i32,
    ) -> Result<bool, Option<std::sync::Arc<super::StreamFd>>> {
        let Some(f) = self
            .kernel
            .procs
            .get(&pid)
            .and_then(|p| p.slots.stdin.as_ref())
            .and_then(Fd::stream)
            .cloned()
        else {
            return Ok(false);
        };
        let now = self.clock.now();
        match try_read(&f) {
            ReadResult::WouldBlock => Err(f.input_connected.then_some(f)),
            ReadResult::Data(d) => {
                self.trace
                    .record(now, pid, "stdin", format!("read {} bytes", d.len()));
                self.kernel.inputs.entry(f.id).or_default().buf.extend(d);
                Ok(true)
            }
            ReadResult::Eof => {
                self.trace.record(now, pid, "stdin", "end-of-file");
                self.kernel.inputs.entry(f.id).or_default().eof = true;
                Ok(true)
            }
        }
    }

    /// Reads from `pid`'s stdin what is there: at most `max` bytes, or up to and including
    /// the first newline with `line`. Never touches a real fd (see [`World::input_ready`]).
    fn read_some(&mut self, pid: i32, max: usize, line: bool) -> ReadResult {
        let Some(stdin) = self.kernel.procs.get(&pid).map(|p| p.slots.stdin.clone()) else {
            return ReadResult::Eof;
        };
        let take = |buf: &mut std::collections::VecDeque<u8>| -> Vec<u8> {
            let n = if line {
                buf.iter()
                    .position(|b| *b == b'\n')
                    .map_or(buf.len(), |i| i + 1)
            } else {
                buf.len()
            }
            .min(max);
            buf.drain(..n).collect()
        };
        match stdin {
            None | Some(Fd::Null) | Some(Fd::File { .. }) => ReadResult::Eof,
            Some(Fd::Zero) => ReadResult::Data(vec![0; max.min(PIPE_CAPACITY)]),
            Some(Fd::FileIn { id }) => {
                let Some(r) = self.kernel.reads.get_mut(&id) else {
                    return ReadResult::Eof;
                };
                let rest = &r.data[r.pos..];
                if rest.is_empty() {
                    return ReadResult::Eof;
                }
                let n = if line {
                    rest.iter()
                        .position(|b| *b == b'\n')
                        .map_or(rest.len(), |i| i + 1)
                } else {
                    rest.len()
                }
                .min(max);
                let d = rest[..n].to_vec();
                r.pos += n;
                ReadResult::Data(d)
            }
            Some(Fd::Pipe { id, .. }) => {
                let Some(q) = self.kernel.pipes.get_mut(&id) else {
                    return ReadResult::Eof;
                };
                if q.buf.is_empty() {
                    return if q.writers == 0 {
                        ReadResult::Eof
                    } else {
                        ReadResult::WouldBlock
                    };
                }
                if line && !q.buf.contains(&b'\n') && q.writers > 0 {
                    return ReadResult::WouldBlock;
                }
                ReadResult::Data(take(&mut q.buf))
            }
            Some(Fd::Stream(f)) => {
                if f.kind == super::FileKind::Null {
                    return ReadResult::Eof;
                }
                let b = self.kernel.inputs.entry(f.id).or_default();
                if b.buf.is_empty() {
                    return if b.eof {
                        ReadResult::Eof
                    } else {
                        ReadResult::WouldBlock
                    };
                }
                if line && !b.buf.contains(&b'\n') && !b.eof {
                    return ReadResult::WouldBlock;
                }
                ReadResult::Data(take(&mut b.buf))
            }
        }
    }

    /// `read(2)` on `pid`'s stdin, for `cat` and `head`.
    pub(crate) fn sys_read(&mut self, pid: i32) -> ReadResult {
        self.read_some(pid, PIPE_CAPACITY, false)
    }

    /// One line of `pid`'s stdin, for the shell's `read`.
    pub(crate) fn read_line(&mut self, pid: i32) -> LineRead {
        match self.read_some(pid, usize::MAX, true) {
            ReadResult::WouldBlock => LineRead::WouldBlock,
            ReadResult::Eof => LineRead::Eof(Vec::new()),
            ReadResult::Data(mut d) => {
                if d.last() == Some(&b'\n') {
                    d.pop();
                    LineRead::Line(d)
                } else {
                    LineRead::Eof(d)
                }
            }
        }
    }
}
