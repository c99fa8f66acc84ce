//! Host side: the callbacks given to plugins, which re-emit their events into the host's own
//! `tracing` subscriber (see the [module documentation](super) for the fields).

use std::fmt::Write as _;
use std::panic::{catch_unwind, AssertUnwindSafe};

use tracing::Level;

use super::{LogRecord, REEMIT_TARGET};
use crate::abi::{self, BytesRef, HostLogger};

/// The callbacks the loader gives every plugin.
pub fn host_logger() -> HostLogger {
    HostLogger {
        enabled: host_enabled,
        log: host_log,
    }
}

fn level_of(code: u32) -> Level {
    match code {
        abi::level::ERROR => Level::ERROR,
        abi::level::WARN => Level::WARN,
        abi::level::INFO => Level::INFO,
        abi::level::DEBUG => Level::DEBUG,
        _ => Level::TRACE,
    }
}

extern "C" fn host_enabled(level: u32) -> u8 {
    // `enabled!` needs a constant level; one arm per level.
    let enabled = catch_unwind(|| match level_of(level) {
        Level::ERROR => tracing::enabled!(target: REEMIT_TARGET, Level::ERROR),
        Level::WARN => tracing::enabled!(target: REEMIT_TARGET, Level::WARN),
        Level::INFO => tracing::enabled!(target: REEMIT_TARGET, Level::INFO),
        Level::DEBUG => tracing::enabled!(target: REEMIT_TARGET, Level::DEBUG),
        _ => tracing::enabled!(target: REEMIT_TARGET, Level::TRACE),
    });
    u8::from(enabled.unwrap_or(false))
}

extern "C" fn host_log(record: BytesRef) {
    // A panicking host subscriber must not unwind into the plugin.
    let _ = catch_unwind(AssertUnwindSafe(|| {
        let bytes = if record.ptr.is_null() || record.len == 0 {
            &[][..]
        } else {
            // SAFETY: the plugin lends `len` readable bytes for the duration of this call
            // (ABI contract of `HostLogger::log`).
            unsafe { std::slice::from_raw_parts(record.ptr, record.len) }
        };
        match serde_json::from_slice::<LogRecord>(bytes) {
            Ok(record) => reemit(record),
            Err(error) => tracing::warn!(
                target: REEMIT_TARGET,
                %error,
                "a plugin sent a log record that is not valid JSON"
            ),
        }
    }));
}

/// Emits `record` into the host's current subscriber.
pub fn reemit(mut record: LogRecord) {
    let container_id = take_known(&mut record, "container.id").map(|v| match v {
        serde_json::Value::String(s) => s,
        other => other.to_string(),
    });
    let pid = take_known(&mut record, "pid").and_then(|v| v.as_i64());
    let fields = format_fields(&record.fields);
    let spans = record
        .spans
        .iter()
        .map(|span| {
            if span.fields.is_empty() {
                span.name.clone()
            } else {
                format!("{}{{{}}}", span.name, format_fields(&span.fields))
            }
        })
        .collect::<Vec<_>>()
        .join(":");
    let container_id = container_id.as_deref();
    macro_rules! emit {
        ($level:expr) => {
            tracing::event!(
                target: REEMIT_TARGET,
                $level,
                plugin = %record.plugin,
                plugin.target = %record.target,
                container.id = container_id,
                pid = pid,
                fields = %fields,
                spans = %spans,
                "{}",
                record.message
            )
        };
    }
    match level_of(record.level) {
        Level::ERROR => emit!(Level::ERROR),
        Level::WARN => emit!(Level::WARN),
        Level::INFO => emit!(Level::INFO),
        Level::DEBUG => emit!(Level::DEBUG),
        _ => emit!(Level::TRACE),
    }
}

/// Removes `name` from the event's fields, or else finds it in the innermost span having it.
fn take_known(record: &mut LogRecord, name: &str) -> Option<serde_json::Value> {
    record.fields.remove(name).or_else(|| {
        record
            .spans
            .iter()
            .rev()
            .find_map(|span| span.fields.get(name).cloned())
    })
}

/// `a=1 b="text"`.
fn format_fields(fields: &std::collections::BTreeMap<String, serde_json::Value>) -> String {
    let mut out = String::new();
    for (name, value) in fields {
        if !out.is_empty() {
            out.push(' ');
        }
        let _ = write!(out, "{name}={value}");
    }
    out
}
