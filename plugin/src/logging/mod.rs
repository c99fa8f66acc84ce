//! How a plugin's `tracing` events reach the host's subscriber.
//!
//! Each `cdylib` carries its own copy of `tracing`'s globals, so an event emitted inside a
//! plugin would otherwise go to the plugin's (empty) dispatcher. At load, the host hands the
//! plugin a [`HostLogger`](crate::abi::HostLogger); the plugin installs a subscriber
//! ([`forward`]) that asks the host whether a level is wanted, serialises each event as a
//! [`LogRecord`] (JSON) and passes it to the host, which re-emits it into its own subscriber
//! ([`reemit`]).
//!
//! What the host's subscriber sees, for an event emitted inside plugin `sim`:
//! - the same level;
//! - target [`REEMIT_TARGET`] (`tracing` callsites are static, so the plugin's target cannot be
//!   re-created; it is carried in the field `plugin.target`);
//! - the message, as the `message` field;
//! - `plugin` = the backend name;
//! - `container.id` and `pid`, when the event or one of its enclosing spans has them (the
//!   innermost wins), as real fields of their own;
//! - `fields`: every other field of the event, as `name=value` pairs separated by spaces
//!   (strings quoted as `Debug` does), since dynamic field names cannot be re-created either;
//! - `spans`: the enclosing spans, outermost first, as `name{field=value ...}` joined by `:`.

pub mod forward;
pub mod reemit;

use std::collections::BTreeMap;

/// The target of every event re-emitted on the host for a plugin.
pub const REEMIT_TARGET: &str = "plugin";

/// One event, as it crosses the boundary (JSON).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LogRecord {
    /// The backend name of the plugin that emitted it.
    pub plugin: String,
    /// [`abi::level`](crate::abi::level) of the event.
    pub level: u32,
    /// The event's target inside the plugin (usually its module path).
    pub target: String,
    /// The `message` field, empty if the event had none.
    pub message: String,
    /// The other fields of the event: numbers and booleans as JSON values, the rest as the
    /// string of their `Display`/`Debug` form.
    pub fields: BTreeMap<String, serde_json::Value>,
    /// The enclosing spans, outermost first.
    pub spans: Vec<SpanRecord>,
}

/// A span enclosing an event.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SpanRecord {
    /// The span's name.
    pub name: String,
    /// Its fields, recorded so far.
    pub fields: BTreeMap<String, serde_json::Value>,
}
