//! The plugin boundary: a versioned C ABI, an export macro for backends, a loader for hosts.
