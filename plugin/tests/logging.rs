//! A plugin's `tracing` events reach the host's subscriber, with their level and fields.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::prelude::*;

#[derive(Debug, Clone)]
struct Captured {
    level: Level,
    target: String,
    fields: BTreeMap<String, String>,
}

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<Captured>>>);

struct FieldText<'a>(&'a mut BTreeMap<String, String>);

impl Visit for FieldText<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_string(), value.to_string());
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().to_string(), value.to_string());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0
            .insert(field.name().to_string(), format!("{value:?}"));
    }
}

impl<S: Subscriber> Layer<S> for Capture {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let mut fields = BTreeMap::new();
        event.record(&mut FieldText(&mut fields));
        self.0.lock().unwrap().push(Captured {
            level: *event.metadata().level(),
            target: event.metadata().target().to_string(),
            fields,
        });
    }
}

#[test]
fn plugin_events_reach_the_host_subscriber_with_their_fields() {
    let plugin = common::full();
    let capture = Capture::default();
    let subscriber = tracing_subscriber::registry().with(capture.clone());
    tracing::subscriber::with_default(subscriber, || {
        let runtime = plugin.open(&serde_json::json!({})).unwrap();
        runtime
            .extension(
                "log",
                &serde_json::json!({ "message": "hello from inside", "answer": 42 }),
            )
            .unwrap();
    });
    let events = capture.0.lock().unwrap().clone();
    let event = events
        .iter()
        .find(|e| e.fields.get("message").map(String::as_str) == Some("hello from inside"))
        .unwrap_or_else(|| panic!("the plugin's event was not seen; got {events:#?}"));
    assert_eq!(event.level, Level::WARN);
    assert_eq!(event.target, plugin::logging::REEMIT_TARGET);
    assert_eq!(event.fields["plugin"], "full");
    assert_eq!(event.fields["plugin.target"], "test_plugin_full");
    assert_eq!(event.fields["container.id"], "c-log");
    assert_eq!(event.fields["pid"], "4242");
    assert_eq!(event.fields["fields"], "answer=42");
    assert_eq!(event.fields["spans"], "outer{request=\"r-1\"}:inner");
}

#[test]
fn the_host_filter_decides_which_levels_arrive() {
    let plugin = common::full();
    let capture = Capture::default();
    let subscriber = tracing_subscriber::registry().with(
        capture
            .clone()
            .with_filter(tracing_subscriber::filter::LevelFilter::WARN),
    );
    tracing::subscriber::with_default(subscriber, || {
        let runtime = plugin.open(&serde_json::json!({})).unwrap();
        let c = runtime
            .create_container(
                "sb",
                "filtered",
                std::path::Path::new("/b"),
                runtime_api::StdioSet::none(),
            )
            .unwrap();
        c.start().unwrap();
        runtime
            .extension(
                "log",
                &serde_json::json!({ "message": "kept", "answer": 1 }),
            )
            .unwrap();
    });
    let events = capture.0.lock().unwrap().clone();
    let messages: Vec<_> = events
        .iter()
        .filter_map(|e| e.fields.get("message").cloned())
        .collect();
    assert!(messages.contains(&"kept".to_string()), "{events:#?}");
    assert!(
        !messages.contains(&"started".to_string()),
        "INFO passed a WARN filter: {events:#?}"
    );
    assert!(events.iter().all(|e| e.level <= Level::WARN), "{events:#?}");
}

#[test]
fn lifecycle_events_carry_the_container_id() {
    let plugin = common::full();
    let capture = Capture::default();
    let subscriber = tracing_subscriber::registry().with(capture.clone());
    tracing::subscriber::with_default(subscriber, || {
        let runtime = plugin.open(&serde_json::json!({})).unwrap();
        let c = runtime
            .create_container(
                "sb",
                "logged",
                std::path::Path::new("/b"),
                runtime_api::StdioSet::none(),
            )
            .unwrap();
        c.start().unwrap();
    });
    let events = capture.0.lock().unwrap().clone();
    let started = events
        .iter()
        .find(|e| e.fields.get("message").map(String::as_str) == Some("started"))
        .unwrap_or_else(|| panic!("no 'started' event; got {events:#?}"));
    assert_eq!(started.level, Level::INFO);
    assert_eq!(started.fields["container.id"], "logged");
    assert_eq!(started.fields["pid"], "1000");
}
