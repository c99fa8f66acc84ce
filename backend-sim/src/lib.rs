//! The deterministic simulator backend: a container runtime with no real containers, whose
//! every decision comes from a seed.
//!
//! Users test their supervisors and shims against it without root, in milliseconds; the
//! property suites explore thousands of scenarios through it. It implements the same
//! [`runtime_api`] traits as the runc backend, with the same error kinds for the same misuse,
//! and is loadable as a plugin (`libbackend_sim.so`, backend name `"sim"`) or linkable as an
//! rlib ([`open`], [`open_from_json`]).
//!
//! # Determinism
//!
//! One seeded RNG ([`rng`]), a virtual clock that jumps to the next event ([`clock`]), a
//! scheduler that picks the next runnable step with the RNG ([`scheduler`]); no wall-clock
//! reads and no unordered iteration in decisions. The same seed and the same sequence of API
//! calls from one thread give a byte-identical [`trace`]. The seed comes from the `seed`
//! configuration key, else the `RTL_SIM_SEED` environment variable, else a fixed default;
//! [`selfcheck`] runs a scenario twice to compare, and prints the seed of a failed run with
//! the way to replay it (`RTL_SIM_SEED=<n>`).
//!
//! Virtual time moves inside blocking calls (`wait`, until the awaited process is done), the
//! `advance` extension, and the settle that ends every API call: before any call returns (and
//! before a read such as `state` or `all_processes` answers), every step that is ready at the
//! current virtual instant has run — children forked, programs exec'd, writes the pipes can
//! take, exits that are due — so a host that polls sees the process tree runc would show once
//! its processes have settled. A settle never jumps to a timer and never waits for outside
//! input; it stops at a write that a real pipe cannot take yet (the relay's peer may be slow,
//! or read only after the call returns) and after 10 ms of virtual time (a busy loop goes on
//! at the next call). A simulated `sleep 3600` is one clock jump. The one input that comes
//! from outside is a process's stdin: while a process waits for it from a connection inside
//! `wait`, virtual time stands still (input is taken to arrive at once in virtual time), so
//! the timing of the peer never changes the run; only how the bytes are chunked can show in
//! the trace. (`advance` moves time forward even then.)
//!
//! Virtual time does not follow the host's wall clock (no "real-time clock mode"): a host
//! that polls with real timers sees the settled state at every poll, which is what runc
//! shows after its processes settled; tying virtual time to the wall clock would make every
//! run depend on the machine's speed, and the seed would no longer replay it.
//!
//! # Kernel model ([`kernel`])
//!
//! - pid namespaces: owned (`pid` entry without path; the init is pid 1), shared with the
//!   host (no entry), or joined by path (`/proc/<pid>/ns/pid` of another simulated process);
//! - the death of a namespace's init kills every other member (SIGKILL);
//! - orphans are adopted by their namespace's init, or by the runtime (a subreaper that reaps
//!   at once) in the host namespace; exited processes stay zombies until their parent reaps
//!   them (a shell reaps between commands and while waiting for a foreground child; a program
//!   such as `sleep` never reaps);
//! - signals: default actions, `trap` handlers, and a namespace init ignoring every signal it
//!   has no handler for (SIGKILL/SIGSTOP from outside its namespace still act);
//! - cgroups (`linux.cgroupsPath`, default `/<id>`) possibly shared by several containers;
//!   `pause` freezes the cgroup, and the runc-style kill-all (`runc kill --all`) signals every
//!   process in it;
//! - stdio fds inherited by children; a stream reaches end-of-file only when its last holder
//!   closes it.
//!
//! Rule 1 is applied in the simulator's init-exit path (the runtime's reaper): when the init
//! of a container that does not own its pid namespace exits, a kill-all over its cgroup is
//! issued (and recorded in the trace and in [`SimRuntime::kill_alls`]) before `wait` on the
//! init can return; when it owns its namespace, no cgroup-wide kill is issued (the
//! namespace's death kills the rest). [`config::Mutations`] break these rules on purpose, for
//! suites that must show they catch the mistakes.
//!
//! # Shell subset ([`shell`])
//!
//! A process's `args` must be `["sh", "-c", SCRIPT]` (also `/bin/sh`, `ash`) or a single
//! command of the subset (`["sleep", "5"]`). The script language, each construct checked
//! against Debian's busybox ash on runc (the shared scripts in `testkit/scripts.json`):
//!
//! - lists: `;`, newlines, `&` (background job, a forked subshell), `&&`, `||`, `!`;
//!   pipelines `a | b | c` (every command a forked child shell, connected by simulated pipes
//!   of 64 KiB); `#` comments;
//! - compound commands: `if/elif/else/fi`, `while`/`until ... do ... done`,
//!   `for NAME in WORDS; do ... done`, `case WORD in PAT|PAT) ...;; esac` (patterns with `*`
//!   and `?`), `{ list; }`, subshells `( list )`; `break`, `continue`;
//! - words: plain, `'single'`, `"double"` (with `\` escapes), `\x`; variables (`X=1`, `$X`,
//!   `${X}`; unquoted expansions are split on blanks), `$!` (last background pid), `$?` (last
//!   status), `$$` (the shell's pid in its namespace);
//! - redirections of fds 0-2 on any command: `> FILE`, `>> FILE`, `< FILE`, `>&N`, `<&N`
//!   (`2>&1`, `>&2`, `>/dev/null`); files live in memory, one tree per container, in the
//!   busybox rootfs's directories (`/tmp`, `/root`, ...), plus `/dev/null` and `/dev/zero`;
//! - builtins (no process): `echo [-n] [-e] ...`, `printf FORMAT [ARG...]` (`%s %b %c %d %i
//!   %u %x %o %%`, widths, `\n \t \\ \0NNN` escapes, format reused for extra arguments),
//!   `read [-r] NAME...` (one line, as ash reads it), `test`/`[` (`-n -z -e -f -d -s`, `= !=
//!   -eq -ne -lt -le -gt -ge`, `!`, up to four arguments), `exit [N]`, `true`, `false`, `:`,
//!   `kill [-SIG | -N | -s SIG] PID|%N|$!|$$ ...`, `trap 'ACTION' SIG...` (also `trap ''
//!   SIG` to ignore, `trap - SIG` to reset, `EXIT`), `wait [PID|%N ...]`, `exec [PROGRAM
//!   ARGS]` (with only redirections: applies them to the shell itself);
//! - programs (forked, or exec'd as busybox ash does when they are the last thing the shell
//!   does and no trap handler was ever set: see [`shell::interp`]): `sleep N[s|m|h|d]...`
//!   (fractions allowed), `cat [FILE|-]...`, `head [-n N | -c N] [FILE]`.
//!
//! Anything else — other commands or options, positional parameters, other parameter
//! expansions, command substitution, arithmetic, here-documents, globbing outside `case`,
//! functions, fds above 2, `/proc` and `/sys` — is refused at `create`/`exec` with
//! [`InvalidSpec`](runtime_api::ErrorKind::InvalidSpec) naming the unsupported word.
//!
//! # Output and relays ([`relay`])
//!
//! Output goes through the real `stdio::PipeRelay` / `stdio::TtyRelay` over real pipes or a
//! real pty, so rule 2 is exercised on the shipping relay code; the relays run without a
//! timer, and the simulator calls `process_exited` at the virtual exit and `cut` when the
//! virtual drain grace (`drain_grace_ms`) expires with a writer still holding the stream.
//!
//! # Faults ([`config::Faults`])
//!
//! Off by default; each fault point fires with its configured probability, decided by the
//! seed: runc-like command failures, spawn (fork) failures, early peer disconnect, slow peer,
//! stdin never closed, a child that holds stdio. See [`config::Faults`] for each effect.
//!
//! # Inspection ([`inspect`])
//!
//! [`SimRuntime`] exposes the kernel's ground truth (processes alive or zombie, kill-alls
//! issued, relay facts), the clock, the seed and the trace (text and Chrome/Perfetto JSON),
//! in Rust and through `Runtime::extension` methods, documented in [`inspect`].

#![warn(missing_docs)]

pub mod clock;
pub mod config;
mod container;
pub mod fault;
pub mod inspect;
pub mod kernel;
mod process;
mod recovery;
pub mod relay;
pub mod rng;
mod runtime;
pub mod scheduler;
pub mod selfcheck;
pub mod shell;
mod sim;
pub mod trace;
mod world;

pub use config::{Config, Faults, Mutations, SEED_ENV};
pub use container::SimContainer;
pub use inspect::{ProcSnapshot, RelayFacts};
pub use kernel::KillAllRecord;
pub use process::SimProcess;
pub use runtime::{open, open_from_json, SimRuntime};

/// The simulator's backend, as `Config` + `open` (the names every backend crate exports).
pub type Backend = SimRuntime;

plugin::export_backend!(name = "sim", open = crate::open_from_json);
