use std::collections::BTreeMap;

use tern_core::message::MessageAttributes;
use tern_core::queue_attributes::QueueAttributes;
use tern_core::receipt::Receipt;
use tern_core::time::Millis;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueRecord {
    pub id: u64,
    pub name: String,
    pub attributes: QueueAttributes,
    pub tags: BTreeMap<String, String>,
    pub created_at: Millis,
    pub last_modified_at: Millis,
}

#[derive(Debug, Clone)]
pub struct NewQueue {
    pub name: String,
    pub attributes: QueueAttributes,
    pub tags: BTreeMap<String, String>,
    pub now: Millis,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreateQueueOutcome {
    Created(QueueRecord),
    AlreadyExists(QueueRecord),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMessage {
    pub message_id: String,
    pub body: String,
    pub attributes: MessageAttributes,
    pub md5_of_body: String,
    pub md5_of_attributes: Option<String>,
    pub sender_id: String,
    pub sent_at: Millis,
    /// `sent_at` plus any delay.
    pub visible_at: Millis,
    /// FIFO message group, or a fair queue's tenant key on a standard queue.
    pub group_id: Option<String>,
    /// FIFO only: drop this message if its id was seen within the window.
    pub deduplication: Option<Deduplication>,
    /// The `AWSTraceHeader` message system attribute (X-Ray), kept and returned verbatim.
    pub trace_header: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deduplication {
    /// Empty for queue-wide deduplication, the group id for per-group deduplication.
    pub scope: String,
    pub id: String,
    /// Until when a later message with the same id is a duplicate.
    pub window_ends_at: Millis,
}

/// What a send stored, or (for a duplicate) what the original send stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentMessage {
    pub seq: u64,
    pub message_id: String,
    pub duplicate: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum DeliveryOrder {
    /// Oldest visible first, no further promise (standard queues).
    #[default]
    BestEffort,
    /// Standard queues with message groups as tenant keys: one message from each of up to
    /// `max_messages` groups in rotation after `after_group`, then oldest first. A tenant's
    /// backlog then delays other tenants by one message each, not by its whole length.
    FairByGroup { after_group: Option<String> },
    /// FIFO: a group is delivered in sequence order and is blocked while any earlier message of
    /// it is hidden (in flight or delayed). Groups are visited in rotation after `after_group`.
    FifoByGroup { after_group: Option<String> },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeadLetterTarget {
    pub queue_id: u64,
    /// A message already received this many times moves instead of being delivered again.
    pub max_receive_count: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiveAttempt {
    pub id: String,
    pub window_ends_at: Millis,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReceiveRequest {
    pub max_messages: u32,
    pub now: Millis,
    pub hidden_until: Millis,
    /// Messages sent before this are past retention and are never delivered.
    pub retained_since: Millis,
    pub order: DeliveryOrder,
    pub dead_letter: Option<DeadLetterTarget>,
    /// FIFO `ReceiveRequestAttemptId`: a retry within the window gets the same receives back.
    pub attempt: Option<ReceiveAttempt>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReceiveOutcome {
    pub messages: Vec<ReceivedMessage>,
    /// With group orders: where the next receive's rotation continues.
    pub last_group: Option<String>,
    /// The store stopped probing groups before looking at all of them (a cost bound); an empty
    /// result then does not mean nothing is receivable, so a long poll should look again.
    pub groups_left_unprobed: bool,
    /// Messages moved to the dead-letter target instead of being delivered.
    pub moved_to_dead_letter: u64,
    /// When nothing was delivered: the earliest moment after `now` at which a hidden message
    /// becomes visible (or the store wants a long poll to look again), so the long poll can
    /// sleep until then rather than ask. Arrivals are not in it: they wake long polls themselves.
    pub next_visible_at: Option<Millis>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMessage {
    pub receipt: Receipt,
    pub message_id: String,
    pub body: String,
    pub attributes: MessageAttributes,
    pub md5_of_body: String,
    pub md5_of_attributes: Option<String>,
    pub sender_id: String,
    pub sent_at: Millis,
    pub first_received_at: Millis,
    pub receive_count: u32,
    pub group_id: Option<String>,
    pub deduplication_id: Option<String>,
    pub trace_header: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteOutcome {
    Deleted,
    /// The message was received again since this receipt was issued; it stays.
    Stale,
    /// No such message (already deleted, expired or purged).
    Gone,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VisibilityChange {
    pub receipt: Receipt,
    pub hidden_until: Millis,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VisibilityOutcome {
    Changed,
    /// The receipt is current but its visibility timeout has already run out.
    NotInFlight,
    /// The receipt is not the message's latest, or the message is gone.
    Invalid,
    /// The new timeout would hide the message more than 12 hours past its latest receive.
    BeyondLimit,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueCounts {
    pub visible: u64,
    pub in_flight: u64,
    pub delayed: u64,
}

/// An SNS topic. Attributes are kept as the wire's name → value pairs; the topics service owns
/// their meaning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicRecord {
    pub id: u64,
    pub name: String,
    pub attributes: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
    pub created_at: Millis,
}

#[derive(Debug, Clone)]
pub struct NewTopic {
    pub name: String,
    pub attributes: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
    pub now: Millis,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreateTopicOutcome {
    Created(TopicRecord),
    AlreadyExists(TopicRecord),
}

/// A subscription of an endpoint to a topic. `id` is the UUID that ends its ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionRecord {
    pub id: String,
    pub topic_id: u64,
    pub protocol: String,
    pub endpoint: String,
    pub attributes: BTreeMap<String, String>,
    pub created_at: Millis,
    /// An `http`/`https` endpoint that has not confirmed yet gets nothing but confirmations.
    pub pending_confirmation: bool,
    /// `ConfirmationWasAuthenticated`: unsubscribing then needs a signed request.
    pub confirmation_was_authenticated: bool,
    /// The token a ConfirmSubscription must present; kept after confirming so that confirming
    /// twice answers the same, until it expires.
    pub token: Option<ConfirmationToken>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfirmationToken {
    pub value: String,
    pub expires_at: Millis,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreateSubscriptionOutcome {
    Created(SubscriptionRecord),
    /// The topic already has a subscription of this protocol and endpoint.
    AlreadyExists(SubscriptionRecord),
    TopicNotFound,
}

/// One message of a fan-out publish, bound for one queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub queue_id: u64,
    pub message: NewMessage,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// Stored, or (FIFO) recognised as a duplicate of what the queue already holds.
    Sent(SentMessage),
    /// The queue was deleted since the subscription was made; nothing was stored for it.
    QueueGone,
}

/// An HTTP POST to make on a subscription's behalf (a notification or a confirmation), stored in
/// the commit that caused it and deleted once the endpoint took it: pending deliveries survive a
/// crash and resume at start-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewHttpDelivery {
    pub subscription_id: String,
    pub topic_id: u64,
    pub endpoint: String,
    /// `x-amz-sns-message-type`: `Notification`, `SubscriptionConfirmation`, …
    pub message_type: String,
    pub headers: BTreeMap<String, String>,
    pub body: String,
    /// The first attempt is not made before this.
    pub due_at: Millis,
    pub created_at: Millis,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpDeliveryRecord {
    pub id: u64,
    pub delivery: NewHttpDelivery,
    /// Attempts already made (and failed).
    pub attempts: u32,
}

/// Which due HTTP deliveries to hand out. Subscriptions take turns (in id order, starting after
/// `after_subscription` and wrapping around), each giving at most its share, earliest due first:
/// one subscription's backlog — an endpoint that stopped answering, say — cannot crowd out the
/// others, and no call reads more than `subscriptions_max` subscriptions or `limit` deliveries.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DueHttpDeliveries {
    pub now: Millis,
    /// Where the previous turn stopped ([`HttpDeliveryPage::last_visited`]).
    pub after_subscription: Option<String>,
    /// Subscriptions visited at most (one with nothing due counts too).
    pub subscriptions_max: u32,
    /// Deliveries returned at most, in all.
    pub limit: u32,
    /// Deliveries returned at most per subscription, unless `shares` names it.
    pub share: u32,
    /// Subscriptions whose share differs (busy, failing or throttled; 0 skips one).
    pub shares: BTreeMap<String, u32>,
    /// Deliveries being attempted now: never returned.
    pub skip: Vec<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HttpDeliveryPage {
    /// Due deliveries, subscription by subscription, each one's earliest first.
    pub deliveries: Vec<HttpDeliveryRecord>,
    /// When the earliest delivery not yet due falls due.
    pub next_due_at: Option<Millis>,
    /// The last subscription visited: the next turn starts after it.
    pub last_visited: Option<String>,
    /// Every subscription with pending deliveries was visited. `false` when the visit budget or
    /// the limit ended the turn first: more may be due now.
    pub round_complete: bool,
}

/// What became of one HTTP delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpSettlement {
    /// The endpoint took it: forget it.
    Delivered,
    /// Try again at `due_at`, `attempts` having been made.
    Retry { attempts: u32, due_at: Millis },
    /// Retries are exhausted: forget it, and (in the same commit) put this message in the
    /// subscription's dead-letter queue if it has one.
    DeadLetter(Option<Box<Delivery>>),
}

/// A FIFO topic's deduplication: a publish with an id seen within the window is not delivered
/// again, and its caller gets the original's message id and sequence number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicDeduplication {
    pub topic_id: u64,
    /// Empty for topic-wide deduplication, the message group for per-group deduplication.
    pub scope: String,
    pub id: String,
    pub message_id: String,
    pub sequence_number: String,
    pub now: Millis,
    pub window_ends_at: Millis,
}

/// One published message: its deduplication (FIFO topics) and everything it fans out to.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PublishEntry {
    pub deduplication: Option<TopicDeduplication>,
    pub deliveries: Vec<Delivery>,
    pub http_deliveries: Vec<NewHttpDelivery>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublishEntryOutcome {
    /// Stored; one outcome per queue delivery, in order.
    Published(Vec<DeliveryOutcome>),
    /// A duplicate within the topic's window: nothing was stored.
    Duplicate {
        message_id: String,
        sequence_number: String,
    },
}
