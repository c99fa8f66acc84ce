//! Plugin side: a subscriber that forwards every enabled event to the host.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::OnceLock;

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::prelude::*;
use tracing_subscriber::registry::LookupSpan;

use super::{LogRecord, SpanRecord};
use crate::abi::{self, BytesRef, HostLogger};

/// The host's callbacks, once installed. Set once; the plugin's globals live as long as the
/// process (libraries are never unloaded).
static HOST: OnceLock<HostLogger> = OnceLock::new();

/// The backend name, put in every record.
static PLUGIN_NAME: OnceLock<&'static str> = OnceLock::new();

/// Installs the host's logger and, the first time, this plugin's global subscriber. If the
/// backend had already installed a global subscriber of its own, that one stays and events
/// are not forwarded.
pub(crate) fn install(plugin_name: &'static str, logger: HostLogger) {
    if HOST.set(logger).is_ok() {
        let _ = PLUGIN_NAME.set(plugin_name);
        let subscriber = tracing_subscriber::registry().with(Forward);
        let _ = tracing::subscriber::set_global_default(subscriber);
    }
}

/// The wire code of a level.
pub(crate) fn level_code(level: &Level) -> u32 {
    match *level {
        Level::ERROR => abi::level::ERROR,
        Level::WARN => abi::level::WARN,
        Level::INFO => abi::level::INFO,
        Level::DEBUG => abi::level::DEBUG,
        Level::TRACE => abi::level::TRACE,
    }
}

/// The layer that serialises events and hands them to the host.
struct Forward;

/// The fields of a span, kept in the span's extensions.
struct SpanFields(BTreeMap<String, serde_json::Value>);

impl<S> Layer<S> for Forward
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn register_callsite(
        &self,
        _metadata: &'static Metadata<'static>,
    ) -> tracing::subscriber::Interest {
        // The host's filter may change at any time (scoped subscribers): ask every time.
        tracing::subscriber::Interest::sometimes()
    }

    fn enabled(&self, metadata: &Metadata<'_>, _ctx: Context<'_, S>) -> bool {
        HOST.get()
            .is_some_and(|host| (host.enabled)(level_code(metadata.level())) != 0)
    }

    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut visitor = FieldsVisitor::default();
        attrs.record(&mut visitor);
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(SpanFields(visitor.fields));
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            let mut visitor = FieldsVisitor::default();
            values.record(&mut visitor);
            let mut extensions = span.extensions_mut();
            match extensions.get_mut::<SpanFields>() {
                Some(fields) => fields.0.extend(visitor.fields),
                None => extensions.insert(SpanFields(visitor.fields)),
            }
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let Some(host) = HOST.get() else { return };
        let mut visitor = FieldsVisitor::default();
        event.record(&mut visitor);
        let spans = ctx
            .event_scope(event)
            .map(|scope| {
                scope
                    .from_root()
                    .map(|span| SpanRecord {
                        name: span.name().to_string(),
                        fields: span
                            .extensions()
                            .get::<SpanFields>()
                            .map(|f| f.0.clone())
                            .unwrap_or_default(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let record = LogRecord {
            plugin: PLUGIN_NAME.get().copied().unwrap_or_default().to_string(),
            level: level_code(event.metadata().level()),
            target: event.metadata().target().to_string(),
            message: visitor.message.unwrap_or_default(),
            fields: visitor.fields,
            spans,
        };
        if let Ok(json) = serde_json::to_vec(&record) {
            (host.log)(BytesRef::new(&json));
        }
    }
}

/// Collects fields: numbers and booleans as JSON values, the rest as strings.
#[derive(Default)]
struct FieldsVisitor {
    message: Option<String>,
    fields: BTreeMap<String, serde_json::Value>,
}

impl FieldsVisitor {
    fn put(&mut self, field: &Field, value: serde_json::Value) {
        self.fields.insert(field.name().to_string(), value);
    }
}

impl Visit for FieldsVisitor {
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, value.into());
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, value.into());
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, value.into());
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, value.into());
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message = Some(value.to_string());
        } else {
            self.put(field, value.into());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let text = format!("{value:?}");
        if field.name() == "message" {
            self.message = Some(text);
        } else {
            self.put(field, text.into());
        }
    }
}
