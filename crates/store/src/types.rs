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
