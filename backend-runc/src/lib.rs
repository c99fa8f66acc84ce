//! The runc backend: drives the runc binary.
