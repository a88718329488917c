//! An event publisher that logs every event and keeps the most recent ones in memory.

use std::collections::VecDeque;
use std::sync::Mutex;

use async_trait::async_trait;

use customers_domain::events::EventEnvelope;
use customers_domain::ports::{EventPublisher, PublishError};

/// Logs events (target `customers::events`) and keeps the last `capacity` of them.
#[derive(Debug)]
pub struct RecordingPublisher {
    recent: Mutex<VecDeque<EventEnvelope>>,
    capacity: usize,
}

impl Default for RecordingPublisher {
    fn default() -> Self {
        Self::new(1_000)
    }
}

impl RecordingPublisher {
    /// Keeps at most `capacity` events.
    pub fn new(capacity: usize) -> Self {
        Self {
            recent: Mutex::new(VecDeque::new()),
            capacity,
        }
    }

    /// The recorded events, oldest first.
    pub fn recorded(&self) -> Vec<EventEnvelope> {
        self.recent
            .lock()
            .map(|r| r.iter().cloned().collect())
            .unwrap_or_default()
    }
}

#[async_trait]
impl EventPublisher for RecordingPublisher {
    async fn publish(&self, events: Vec<EventEnvelope>) -> Result<(), PublishError> {
        let mut recent = self
            .recent
            .lock()
            .map_err(|_| PublishError("publisher lock poisoned".into()))?;
        for event in events {
            tracing::info!(
                target: "customers::events",
                event_id = %event.event_id,
                event_type = event.event.type_name(),
                customer_id = %event.customer_id,
                "event"
            );
            if recent.len() >= self.capacity {
                recent.pop_front();
            }
            recent.push_back(event);
        }
        Ok(())
    }
}
