//! The storage contract: what the broker asks of a durable store, in the broker's own terms
//! (send these messages, receive up to N visible ones, delete by receipt), not in rows or keys.
//!
//! - [`Store`]: the trait every backend implements. Every method that changes state resolves
//!   only once the change is on stable storage; that is the whole durability story of Tern. The
//!   one exception is a receive's lease, which at-least-once delivery lets a crash undo
//!   (decision 0007).
//! - Topics and subscriptions (SNS) are stored here too, and [`Store::publish`] fans one message
//!   out to many queues in one commit.
//! - [`processes`]: the process manager's contract ([`processes::ProcessStore`]): state
//!   machines, executions, history, timers and tasks, one interpreter step per commit.
//! - [`conformance`]: the shared behavioural suite. Each backend runs it from its own tests.
//!
//! Architecture invariant: this crate depends on no storage engine, no async runtime and no HTTP
//! library. Backends depend on it, never the other way round.

pub mod conformance;
pub mod processes;
mod types;

pub use types::*;

use std::future::Future;
use std::pin::Pin;

use tern_core::receipt::Receipt;
use tern_core::time::Millis;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("queue {queue_id} does not exist in the store")]
    QueueNotFound { queue_id: u64 },
    #[error("the store has been closed")]
    Closed,
    #[error("storage engine failure: {0}")]
    Engine(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl StoreError {
    pub fn engine(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Engine(Box::new(error))
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Boxed so that `Store` stays object-safe; one allocation per call is noise next to a commit.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = StoreResult<T>> + Send + 'a>>;

/// A durable home for queues and their messages.
///
/// Contract shared by all methods:
/// - A returned `Ok` for a state change means the change survives a crash of the process and of
///   the machine (fsync or the engine's equivalent). Except [`Store::receive`]'s: see there.
/// - Operations on one queue are linearizable: a receive never returns a message whose delete
///   was already acknowledged, and two receives never both get the same receive of a message.
/// - Queue ids are never reused, so receipts of a deleted queue never match a new one.
pub trait Store: Send + Sync + 'static {
    /// Every queue, for the broker's in-memory catalogue at start-up.
    fn load_queues(&self) -> StoreFuture<'_, Vec<QueueRecord>>;

    /// Creates the queue, or returns the existing record if the name is taken (the caller decides
    /// whether that is idempotent success or a conflict).
    fn create_queue(&self, queue: NewQueue) -> StoreFuture<'_, CreateQueueOutcome>;

    /// Replaces a queue's attributes and tags, and its last-modified time.
    fn update_queue(&self, queue: QueueRecord) -> StoreFuture<'_, ()>;

    /// Deletes the queue and all its messages. `false` if it was already gone.
    fn delete_queue(&self, queue_id: u64) -> StoreFuture<'_, bool>;

    /// Appends messages, in the order given, skipping (and reporting) FIFO duplicates whose
    /// deduplication id is still within its window.
    fn send(&self, queue_id: u64, messages: Vec<NewMessage>) -> StoreFuture<'_, Vec<SentMessage>>;

    /// Takes up to `max_messages` messages that are visible at `now` (in the requested order),
    /// hides each until `hidden_until`, counts the receive and gives each a fresh receipt.
    /// Messages past the dead-letter target's receive count move there instead.
    ///
    /// The lease (hidden until, receive count, receipt) need only survive a crash of the
    /// process: a backend may answer before it is on stable storage, so that a machine crash
    /// makes the messages visible again early, which at-least-once delivery allows. It must
    /// never return a message whose send is not on stable storage (decision 0007).
    fn receive(&self, queue_id: u64, request: ReceiveRequest) -> StoreFuture<'_, ReceiveOutcome>;

    /// Deletes each message whose receipt is its latest one.
    fn delete_messages(
        &self,
        queue_id: u64,
        receipts: Vec<Receipt>,
    ) -> StoreFuture<'_, Vec<DeleteOutcome>>;

    fn change_visibility(
        &self,
        queue_id: u64,
        changes: Vec<VisibilityChange>,
        now: Millis,
    ) -> StoreFuture<'_, Vec<VisibilityOutcome>>;

    /// Moves up to `max_messages` visible messages out of a queue, oldest first: each to
    /// `destination`, or when that is `None`, back to the queue it was dead-lettered from
    /// (messages with no such queue stay). Moved messages start over as never received.
    /// Returns how many moved.
    fn move_messages(
        &self,
        queue_id: u64,
        destination: Option<u64>,
        max_messages: u32,
        now: Millis,
    ) -> StoreFuture<'_, u64>;

    /// Deletes every message in the queue; returns how many.
    fn purge(&self, queue_id: u64) -> StoreFuture<'_, u64>;

    /// Deletes messages sent before `retained_since`; returns how many.
    fn expire(&self, queue_id: u64, retained_since: Millis) -> StoreFuture<'_, u64>;

    /// Forgets FIFO deduplication ids and receive attempts whose window ended by `now`.
    fn expire_deduplication(&self, now: Millis) -> StoreFuture<'_, u64>;

    fn counts(&self, queue_id: u64, now: Millis) -> StoreFuture<'_, QueueCounts>;

    /// Every topic, for the topics service's in-memory catalogue at start-up.
    fn load_topics(&self) -> StoreFuture<'_, Vec<TopicRecord>>;

    /// Every subscription of every topic.
    fn load_subscriptions(&self) -> StoreFuture<'_, Vec<SubscriptionRecord>>;

    /// Creates the topic, or returns the existing record if the name is taken.
    fn create_topic(&self, topic: NewTopic) -> StoreFuture<'_, CreateTopicOutcome>;

    /// Replaces a topic's attributes and tags. `false` if the topic is gone.
    fn update_topic(&self, topic: TopicRecord) -> StoreFuture<'_, bool>;

    /// Deletes the topic and all its subscriptions. `false` if it was already gone.
    fn delete_topic(&self, topic_id: u64) -> StoreFuture<'_, bool>;

    /// Adds the subscription unless the topic already has one with the same protocol and
    /// endpoint (then returns that one), or the topic is gone. `outbox` (its confirmation
    /// request) is stored in the same commit, only if the subscription was created.
    fn create_subscription(
        &self,
        subscription: SubscriptionRecord,
        outbox: Vec<NewHttpDelivery>,
    ) -> StoreFuture<'_, CreateSubscriptionOutcome>;

    /// Replaces a subscription's attributes and confirmation state, storing `outbox` in the same
    /// commit. `false` (and nothing stored) if it is gone.
    fn update_subscription(
        &self,
        subscription: SubscriptionRecord,
        outbox: Vec<NewHttpDelivery>,
    ) -> StoreFuture<'_, bool>;

    /// Deletes the subscription and its pending HTTP deliveries, counts it in its topic's
    /// `SubscriptionsDeleted` attribute, then stores `outbox` (its unsubscribe confirmation), all
    /// in one commit. `false` if it was already gone.
    fn delete_subscription(
        &self,
        subscription_id: String,
        outbox: Vec<NewHttpDelivery>,
    ) -> StoreFuture<'_, bool>;

    /// Fan-out: for each entry, unless its deduplication id is still within the topic's window,
    /// stores every queue delivery (each exactly as [`Store::send`] would, FIFO deduplication
    /// included) and every HTTP delivery; all entries in **one** durable commit, so a publish
    /// that returned is in every target or (on a crash before the reply) in none. A delivery
    /// whose queue is gone is skipped, not an error.
    fn publish(&self, entries: Vec<PublishEntry>) -> StoreFuture<'_, Vec<PublishEntryOutcome>>;

    /// One turn over the subscriptions with HTTP deliveries due at `request.now`, as
    /// [`DueHttpDeliveries`] describes, and when the next delivery falls due.
    fn due_http_deliveries(&self, request: DueHttpDeliveries) -> StoreFuture<'_, HttpDeliveryPage>;

    /// Records an attempt's outcome. `false` if the delivery is gone (its subscription or topic
    /// was deleted meanwhile); a dead-letter message is then not stored either.
    fn settle_http_delivery(
        &self,
        delivery_id: u64,
        settlement: HttpSettlement,
    ) -> StoreFuture<'_, bool>;
}
