//! Publishing task events to containerd, one at a time so that their order is the order in
//! which the shim decided them (TaskCreate, TaskStart, TaskExecAdded, TaskExecStarted,
//! TaskExit, TaskDelete, TaskPaused, TaskResumed).

use std::sync::Mutex;

use containerd_shim::protos::protobuf::MessageDyn;
use containerd_shim::publisher::RemotePublisher;
use containerd_shim::Context;

/// The event publisher of one shim.
pub struct Events {
    publisher: Mutex<RemotePublisher>,
    namespace: String,
}

impl Events {
    /// Publishes through `publisher` into containerd namespace `namespace`.
    pub fn new(publisher: RemotePublisher, namespace: &str) -> Events {
        Events {
            publisher: Mutex::new(publisher),
            namespace: namespace.to_string(),
        }
    }

    /// Sends one event and returns once containerd accepted it. A failure is logged: the
    /// task's own result does not depend on it (containerd also polls `State` and `Wait`).
    pub fn publish(&self, topic: &str, event: Box<dyn MessageDyn>) {
        let publisher = self.publisher.lock().unwrap_or_else(|p| p.into_inner());
        if let Err(e) = publisher.publish(Context::default(), topic, &self.namespace, event) {
            tracing::warn!(topic, error = %e, "cannot publish event");
        } else {
            tracing::debug!(topic, "event published");
        }
    }
}
