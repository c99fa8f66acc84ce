//! Publishing task events to containerd, one at a time so that their order is the order in
//! which the shim decided them (TaskCreate, TaskStart, TaskExecAdded, TaskExecStarted,
//! TaskExit, TaskDelete, TaskPaused, TaskResumed).
//!
//! Each event goes over a connection of its own, closed once containerd has accepted it. A
//! shim publishes a handful of events in its container's life, and the ttrpc client of
//! `containerd-shim` wakes every 10 ms for as long as its connection is open (its receiver
//! polls with a 10 ms timeout): a connection kept open for the container's whole life costs an
//! idle shim a hundred wake-ups a second. A fresh connection per event also survives a
//! restart of containerd between two events.

use std::sync::Mutex;

use containerd_shim::protos::protobuf::MessageDyn;
use containerd_shim::publisher::RemotePublisher;
use containerd_shim::Context;

/// The event publisher of one shim.
pub struct Events {
    /// containerd's ttrpc address; the lock also keeps the events in order.
    address: Mutex<String>,
    namespace: String,
}

impl Events {
    /// Publishes to containerd's ttrpc endpoint at `address` into containerd namespace
    /// `namespace`.
    pub fn new(address: &str, namespace: &str) -> Events {
        Events {
            address: Mutex::new(address.to_string()),
            namespace: namespace.to_string(),
        }
    }

    /// Sends one event and returns once containerd accepted it (or refused it); events sent
    /// from several threads reach containerd in the order of their calls. A failure is
    /// logged: the task's own result does not depend on it (containerd also polls `State` and
    /// `Wait`).
    pub fn publish(&self, topic: &str, event: Box<dyn MessageDyn>) {
        let address = self.address.lock().unwrap_or_else(|p| p.into_inner());
        let published = RemotePublisher::new(address.as_str()).and_then(|publisher| {
            publisher.publish(Context::default(), topic, &self.namespace, event)
        });
        match published {
            Ok(()) => tracing::debug!(topic, "event published"),
            Err(e) => tracing::warn!(topic, address = %address, error = %e, "cannot publish event"),
        }
    }
}
