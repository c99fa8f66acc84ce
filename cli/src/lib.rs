//! rtctl: the command-line host.
