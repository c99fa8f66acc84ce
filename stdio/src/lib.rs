//! Relays between a process's stdio (pipes or a pty) and connections, that always drain and never hang.
