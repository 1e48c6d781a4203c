//! The queue and topics services: the rules of the SQS and SNS APIs applied to a durable [`Store`], with everything
//! that needs a runtime — long-poll waiters, wake-ups, retention sweeps.
//!
//! - [`Broker`]: the entry point; owns the in-memory queue catalogue.
//! - `catalogue`: queue lookups by name without a store round trip.
//! - `queues`: create, delete, list, attributes, tags, purge.
//! - `send`: validation, FIFO groups and deduplication.
//! - `receive`: long polling, FIFO order, dead-letter moves, receive-attempt retries.
//! - `settle`: delete and change visibility.
//! - `move_tasks`: redriving dead-letter queues back to their sources.
//! - `sweeper`: removes messages past their retention period.
//! - [`topics`]: the SNS topics service — topics, subscriptions, filter policies, and publish as
//!   one fan-out commit into the subscribed queues.
//!
//! Architecture invariant: no HTTP, no wire formats. Requests arrive as typed values and errors
//! leave as [`SqsError`]; the protocol crates turn those into bytes. Time comes from the injected
//! [`Clock`], so the rules can be tested without sleeping.

mod catalogue;
mod move_tasks;
mod queues;
mod receive;
mod send;
mod settle;
mod sweeper;
pub mod topics;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

pub use move_tasks::{MoveTaskReport, MoveTaskState};
pub use queues::QueuePage;
pub use receive::{DeliveredMessage, ReceiveOptions};
pub use send::{SendOutcome, SendRequest};
pub use settle::{BatchResults, VisibilityRequest};
pub use tern_core::SqsError;
use tern_core::time::Clock;
use tern_store::{Store, StoreError};

use catalogue::Catalogue;

pub struct Broker {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    catalogue: Catalogue,
    shutting_down: AtomicBool,
    /// The account queue ARNs name; ARNs of other accounts never resolve here.
    account_id: String,
    move_tasks: move_tasks::MoveTasks,
    /// For background work the broker starts on request (move tasks): it must not keep the
    /// broker alive by itself.
    myself: std::sync::Weak<Broker>,
    /// Names deleted within the last minute, which SQS will not let be re-created yet.
    recently_deleted: std::sync::Mutex<std::collections::HashMap<String, tern_core::time::Millis>>,
    /// SNS topics and subscriptions; publishing fans out into this broker's queues.
    topics: topics::Topics,
}

impl Broker {
    /// Loads the queue catalogue from the store and starts the background retention sweeper.
    pub async fn start(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        account_id: &str,
    ) -> Result<Arc<Self>, SqsError> {
        let queues = store.load_queues().await.map_err(store_error)?;
        let topics = store.load_topics().await.map_err(store_error)?;
        let subscriptions = store.load_subscriptions().await.map_err(store_error)?;
        let broker = Arc::new_cyclic(|myself| Self {
            store,
            clock,
            catalogue: Catalogue::new(queues),
            shutting_down: AtomicBool::new(false),
            account_id: account_id.to_owned(),
            move_tasks: Default::default(),
            myself: myself.clone(),
            recently_deleted: Default::default(),
            topics: topics::Topics::new(topics, subscriptions),
        });
        sweeper::spawn(Arc::downgrade(&broker));
        Ok(broker)
    }

    fn now(&self) -> tern_core::time::Millis {
        self.clock.now_millis()
    }
}

fn store_error(error: StoreError) -> SqsError {
    match error {
        StoreError::QueueNotFound { .. } => SqsError::queue_does_not_exist(),
        StoreError::Closed => SqsError::new(
            tern_core::ErrorCode::ServiceUnavailable,
            "The service is shutting down.",
        ),
        StoreError::Engine(source) => {
            tracing::error!(error = %source, "storage failure");
            SqsError::internal("storage failure")
        }
    }
}

#[cfg(test)]
mod tests;
