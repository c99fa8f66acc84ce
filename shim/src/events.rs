//! Publishing task events to containerd, one at a time so that their order is the order in
//! which the shim decided them (TaskCreate, TaskStart, TaskExecAdded, TaskExecStarted,
//! TaskExit, TaskDelete, TaskPaused, TaskResumed).
//!
//! The connection to containerd is kept through a burst of events (create, start, execs) and
//! closed when the shim goes quiet ([`Events::disconnect`], an [idle](crate::idle) task): the
//! ttrpc client of `containerd-shim` wakes every 10 ms for as long as its connection is open
//! (its receiver polls with a 10 ms timeout), so a connection kept for the container's whole
//! life would cost an idle shim a hundred wake-ups a second. The next event connects again;
//! an event whose connection fails is sent once more over a fresh one (containerd restarted
//! since the last).

use std::sync::Mutex;

use containerd_shim::protos::protobuf::MessageDyn;
use containerd_shim::publisher::RemotePublisher;
use containerd_shim::Context;

/// The event publisher of one shim.
pub struct Events {
    /// containerd's ttrpc address.
    address: String,
    /// The open connection, if any; the lock also keeps the events in order.
    publisher: Mutex<Option<RemotePublisher>>,
    namespace: String,
}

impl Events {
    /// Publishes to containerd's ttrpc endpoint at `address` into containerd namespace
    /// `namespace`, starting with `publisher`'s connection if one is given.
    pub fn new(publisher: Option<RemotePublisher>, address: &str, namespace: &str) -> Events {
        Events {
            address: address.to_string(),
            publisher: Mutex::new(publisher),
            namespace: namespace.to_string(),
        }
    }

    /// Sends one event and returns once containerd accepted it (or refused it); events sent
    /// from several threads reach containerd in the order of their calls. A failure is
    /// logged: the task's own result does not depend on it (containerd also polls `State` and
    /// `Wait`).
    pub fn publish(&self, topic: &str, event: Box<dyn MessageDyn>) {
        let mut publisher = self.publisher.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(kept) = publisher.as_ref() {
            match kept.publish(
                Context::default(),
                topic,
                &self.namespace,
                event.clone_box(),
            ) {
                Ok(()) => {
                    tracing::debug!(topic, "event published");
                    return;
                }
                // Kept from an earlier burst: containerd may have restarted since.
                Err(e) => {
                    tracing::debug!(topic, error = %e, "kept event connection failed; reconnecting");
                    *publisher = None;
                }
            }
        }
        let fresh = RemotePublisher::new(&self.address).and_then(|p| {
            p.publish(Context::default(), topic, &self.namespace, event)?;
            Ok(p)
        });
        match fresh {
            Ok(p) => {
                *publisher = Some(p);
                tracing::debug!(topic, "event published");
            }
            Err(e) => {
                tracing::warn!(topic, address = %self.address, error = %e, "cannot publish event")
            }
        }
    }

    /// Closes the connection (the next event opens a new one).
    pub fn disconnect(&self) {
        let mut publisher = self.publisher.lock().unwrap_or_else(|p| p.into_inner());
        if publisher.take().is_some() {
            tracing::debug!("event connection closed while idle");
        }
    }
}
