//! Publish and PublishBatch: a message is validated once, matched against every subscription's
//! filter policy, shaped for each subscriber (the signed SNS JSON envelope, or the raw body with
//! its attributes) and then stored in **one** commit — in every subscribed queue, and as a
//! pending POST for every confirmed HTTP/S endpoint — so an acknowledged publish reaches every
//! matching subscriber even if the process dies right after the reply. The POSTs themselves
//! happen later (`http`), never on the publisher's time.
//!
//! FIFO topics deduplicate in the topic's own window (durable, in the same commit): a duplicate
//! publish answers the original's `MessageId` and `SequenceNumber` and delivers nothing.

use std::collections::BTreeMap;
use std::sync::Arc;

use tern_core::arn::QueueArn;
use tern_core::fifo;
use tern_core::message::{MessageAttributeValue, MessageAttributes};
use tern_sns_filter::{MessageAttribute, MessageAttributes as FilterAttributes};
use tern_sns_sign::{MessageType, SignatureVersion, SignedFields};
use tern_store::{
    Delivery, DeliveryOutcome, NewHttpDelivery, PublishEntry, PublishEntryOutcome,
    TopicDeduplication, TopicRecord,
};

use super::admin::{content_based_deduplication, is_fifo};
use super::catalogue::{Filter, SubscriptionEntry};
use super::confirmations::is_http;
use super::outbound::{self, Envelope, EnvelopeAttribute};
use super::publish_checks::{validate_attributes, validate_batch, validate_fifo_id};
use super::{SnsError, TopicsContext, store_error, subscription_arn, topic_arn};
use crate::Broker;
use crate::catalogue::QueueEntry;
use crate::send::SendRequest;

/// Message plus attributes, as SNS counts them.
pub const MESSAGE_BYTES_MAX: usize = 262_144;
pub const SUBJECT_CHARACTERS_MAX: usize = 100;
pub const BATCH_ENTRIES_MAX: usize = 10;
/// A FIFO topic's deduplication interval.
const DEDUPLICATION_WINDOW_MILLIS: u64 = 5 * 60 * 1_000;
/// The `SenderId` SQS reports for messages SNS delivered.
pub(crate) const SNS_SENDER_ID: &str = "AIDAIT2UOQQY3AUEKVGXU";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnsMessageAttribute {
    pub data_type: String,
    pub string_value: Option<String>,
    pub binary_value: Option<Vec<u8>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PublishRequest {
    pub message: String,
    pub subject: Option<String>,
    /// `json`: `message` is a JSON object of per-protocol messages with a `default`.
    pub message_structure: Option<String>,
    pub attributes: BTreeMap<String, SnsMessageAttribute>,
    pub message_group_id: Option<String>,
    pub message_deduplication_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishOutcome {
    pub message_id: String,
    /// FIFO topics only.
    pub sequence_number: Option<String>,
}

/// One validated message, ready to be shaped for each subscription.
struct Publication {
    message_id: String,
    timestamp: String,
    topic_arn: String,
    /// The text queues get: `message`, or its `sqs`/`default` entry with `MessageStructure=json`.
    message: String,
    /// With `MessageStructure=json`: the per-protocol messages.
    structure: Option<serde_json::Value>,
    /// The signature over the queue message, made once and shared by every queue.
    signature: std::sync::OnceLock<Option<String>>,
    subject: Option<String>,
    attributes: BTreeMap<String, SnsMessageAttribute>,
    filter_attributes: FilterAttributes,
    group_id: Option<String>,
    deduplication_id: Option<String>,
    sequence_number: Option<String>,
    /// FIFO topics: the topic's own deduplication record.
    deduplication: Option<TopicDeduplication>,
}

impl Publication {
    /// The message an endpoint of `protocol` gets: with `MessageStructure=json` its own entry or
    /// the `default`.
    fn message_for(&self, protocol: &str) -> String {
        let Some(structure) = &self.structure else {
            return self.message.clone();
        };
        let pick = |key: &str| structure.get(key).and_then(|value| value.as_str());
        pick(protocol)
            .or(pick("default"))
            .unwrap_or_default()
            .to_owned()
    }
}

/// The per-protocol messages of `MessageStructure=json`, checked for a `default`.
fn message_structure(request: &PublishRequest) -> Result<Option<serde_json::Value>, SnsError> {
    if request.message_structure.is_none() {
        return Ok(None);
    }
    message_for_queues(request)?;
    Ok(serde_json::from_str(&request.message).ok())
}

/// The message queues receive: with `MessageStructure=json`, the `sqs` entry or the `default`.
fn message_for_queues(request: &PublishRequest) -> Result<String, SnsError> {
    match request.message_structure.as_deref() {
        None => Ok(request.message.clone()),
        Some("json") => {
            let structure: serde_json::Value =
                serde_json::from_str(&request.message).map_err(|_| {
                    SnsError::invalid_parameter(
                        "Message Structure - JSON message body failed to parse",
                    )
                })?;
            let pick = |key: &str| structure.get(key).and_then(|value| value.as_str());
            if pick("default").is_none() {
                return Err(SnsError::invalid_parameter(
                    "Message Structure - No default entry in JSON message body",
                ));
            }
            Ok(pick("sqs")
                .or(pick("default"))
                .unwrap_or_default()
                .to_owned())
        }
        Some(_) => Err(SnsError::invalid_parameter("MessageStructure")),
    }
}

fn filter_attributes(attributes: &BTreeMap<String, SnsMessageAttribute>) -> FilterAttributes {
    attributes
        .iter()
        .map(|(name, attribute)| {
            let value = attribute.string_value.clone().unwrap_or_default();
            (
                name.clone(),
                MessageAttribute::new(&attribute.data_type, value),
            )
        })
        .collect()
}

/// ISO 8601 in UTC with milliseconds, as SNS writes `Timestamp`.
pub(crate) fn iso_timestamp(millis: u64) -> String {
    i64::try_from(millis)
        .ok()
        .and_then(|millis| jiff::Timestamp::from_millisecond(millis).ok())
        .map(|timestamp| timestamp.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_default()
}

impl Broker {
    fn prepare_publication(
        &self,
        context: &TopicsContext,
        topic: &TopicRecord,
        request: PublishRequest,
    ) -> Result<Publication, SnsError> {
        if request.message.is_empty() {
            return Err(SnsError::invalid_parameter("Empty message"));
        }
        let attribute_bytes = validate_attributes(&request.attributes)?;
        if request.message.len() + attribute_bytes > MESSAGE_BYTES_MAX {
            return Err(SnsError::invalid_parameter("Message too long"));
        }
        if let Some(subject) = &request.subject {
            let valid = !subject.is_empty()
                && subject.chars().count() <= SUBJECT_CHARACTERS_MAX
                && !subject.chars().any(char::is_control);
            if !valid {
                return Err(SnsError::invalid_parameter("Subject"));
            }
        }
        let message = message_for_queues(&request)?;
        let structure = message_structure(&request)?;
        let fifo = is_fifo(topic);
        let now = self.now();
        let (deduplication_id, sequence_number) = if fifo {
            let group = request.message_group_id.as_deref().ok_or_else(|| {
                SnsError::invalid_parameter(
                    "The MessageGroupId parameter is required for FIFO topics",
                )
            })?;
            validate_fifo_id("MessageGroupId", group)?;
            let deduplication_id = match &request.message_deduplication_id {
                Some(id) => {
                    validate_fifo_id("MessageDeduplicationId", id)?;
                    id.clone()
                }
                None if content_based_deduplication(topic) => {
                    fifo::content_deduplication_id(&request.message)
                }
                None => {
                    return Err(SnsError::invalid_parameter(
                        "The topic should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly",
                    ));
                }
            };
            let sequence = fifo::sequence_number(self.topics.next_sequence(now));
            (Some(deduplication_id), Some(sequence))
        } else {
            if request.message_deduplication_id.is_some() {
                return Err(SnsError::invalid_parameter(
                    "MessageDeduplicationId Reason: The request includes MessageDeduplicationId parameter that is not valid for this topic type",
                ));
            }
            if let Some(group) = &request.message_group_id {
                validate_fifo_id("MessageGroupId", group)?;
            }
            (None, None)
        };
        let message_id = uuid::Uuid::new_v4().to_string();
        let deduplication = match (&deduplication_id, &sequence_number) {
            (Some(id), Some(sequence)) => Some(TopicDeduplication {
                topic_id: topic.id,
                scope: deduplication_scope(topic, request.message_group_id.as_deref()),
                id: id.clone(),
                message_id: message_id.clone(),
                sequence_number: sequence.clone(),
                now,
                window_ends_at: now.saturating_add(DEDUPLICATION_WINDOW_MILLIS),
            }),
            _ => None,
        };
        Ok(Publication {
            message_id,
            timestamp: iso_timestamp(now),
            topic_arn: topic_arn(context, &self.account_id, &topic.name),
            message,
            structure,
            signature: std::sync::OnceLock::new(),
            deduplication,
            subject: request.subject,
            filter_attributes: filter_attributes(&request.attributes),
            attributes: request.attributes,
            group_id: request.message_group_id,
            deduplication_id,
            sequence_number,
        })
    }

    /// The signed JSON notification for one subscription. The signature covers only fields
    /// every subscriber of a protocol shares, so queues share one.
    fn envelope(
        &self,
        context: &TopicsContext,
        topic: &TopicRecord,
        subscription: &SubscriptionEntry,
        publication: &Publication,
        message: &str,
    ) -> String {
        let unsubscribe_arn = subscription_arn(
            context,
            &self.account_id,
            &topic.name,
            &subscription.record.id,
        );
        let version = outbound::signature_version(&topic.attributes);
        let sign = || self.sign_notification(version, publication, message);
        let signature = if message == publication.message {
            publication.signature.get_or_init(sign).clone()
        } else {
            sign()
        };
        Envelope {
            r#type: MessageType::Notification.as_str(),
            message_id: &publication.message_id,
            sequence_number: publication.sequence_number.as_deref(),
            token: None,
            topic_arn: &publication.topic_arn,
            subject: publication.subject.as_deref(),
            message,
            subscribe_url: None,
            timestamp: &publication.timestamp,
            signature_version: version.as_str(),
            signature,
            signing_cert_url: self.signing_cert_url(context),
            unsubscribe_url: Some(outbound::unsubscribe_url(
                &self.public_url(context),
                &unsubscribe_arn,
            )),
            message_attributes: publication
                .attributes
                .iter()
                .map(|(name, attribute)| {
                    let value = match &attribute.binary_value {
                        Some(bytes) => {
                            use base64::Engine;
                            base64::engine::general_purpose::STANDARD.encode(bytes)
                        }
                        None => attribute.string_value.clone().unwrap_or_default(),
                    };
                    (
                        name.as_str(),
                        EnvelopeAttribute {
                            r#type: &attribute.data_type,
                            value,
                        },
                    )
                })
                .collect(),
        }
        .to_json()
    }

    fn sign_notification(
        &self,
        version: SignatureVersion,
        publication: &Publication,
        message: &str,
    ) -> Option<String> {
        outbound::signature(
            self.signing_identity(),
            version,
            &SignedFields {
                message_type: MessageType::Notification,
                message,
                message_id: &publication.message_id,
                subject: publication.subject.as_deref(),
                subscribe_url: None,
                token: None,
                timestamp: &publication.timestamp,
                topic_arn: &publication.topic_arn,
            },
        )
    }

    /// Everything one publication fans out to: a queue message per matching `sqs` subscription
    /// whose queue exists and accepts it, a pending POST per matching confirmed HTTP/S one. A
    /// queue that is gone or refuses the message (e.g. a smaller `MaximumMessageSize`) fails that
    /// delivery, so the message goes to the subscription's dead-letter queue if it has one.
    fn fan_out(
        &self,
        context: &TopicsContext,
        topic: &TopicRecord,
        subscriptions: &[Arc<SubscriptionEntry>],
        publication: &Publication,
        queues: &mut Vec<Arc<QueueEntry>>,
    ) -> (Vec<Delivery>, Vec<NewHttpDelivery>) {
        let mut deliveries = Vec::new();
        let mut posts = Vec::new();
        for subscription in subscriptions {
            let matches = match &subscription.filter {
                Filter::Everything => true,
                Filter::Policy(policy) => {
                    policy.matches(&publication.filter_attributes, &publication.message)
                }
                Filter::Nothing => false,
            };
            if !matches || subscription.record.pending_confirmation {
                continue;
            }
            if is_http(&subscription.record.protocol) {
                posts.push(self.http_notification(context, topic, subscription, publication));
                continue;
            }
            if subscription.record.protocol != "sqs" {
                continue;
            }
            let (body, attributes) = self.queue_body(context, topic, subscription, publication);
            let target = QueueArn::parse(&subscription.record.endpoint)
                .and_then(|arn| self.entry(&arn.queue_name).ok());
            let refused = match target {
                Some(queue) => {
                    match self.queue_delivery(&queue, publication, body.clone(), attributes.clone())
                    {
                        Ok(delivery) => {
                            deliveries.push(delivery);
                            queues.push(queue);
                            continue;
                        }
                        Err(error) => error.message,
                    }
                }
                None => "the subscribed queue does not exist".to_owned(),
            };
            tracing::warn!(subscription = %subscription.record.id, reason = %refused, "an SQS delivery failed");
            if let Some((queue, delivery)) = self.dead_letter_delivery(
                &subscription.record,
                publication,
                body,
                attributes,
                &refused,
            ) {
                deliveries.push(delivery);
                queues.push(queue);
            }
        }
        (deliveries, posts)
    }

    fn dead_letter_delivery(
        &self,
        subscription: &tern_store::SubscriptionRecord,
        publication: &Publication,
        body: String,
        attributes: MessageAttributes,
        reason: &str,
    ) -> Option<(Arc<QueueEntry>, Delivery)> {
        self.dead_letter_message(
            subscription,
            body,
            attributes,
            publication.group_id.clone(),
            publication.deduplication_id.clone(),
            reason,
        )
    }

    fn queue_body(
        &self,
        context: &TopicsContext,
        topic: &TopicRecord,
        subscription: &SubscriptionEntry,
        publication: &Publication,
    ) -> (String, MessageAttributes) {
        if is_raw(subscription) {
            (
                publication.message.clone(),
                queue_attributes(&publication.attributes),
            )
        } else {
            (
                self.envelope(
                    context,
                    topic,
                    subscription,
                    publication,
                    &publication.message,
                ),
                MessageAttributes::new(),
            )
        }
    }

    /// A message for `queue` under SendMessage's own rules.
    fn queue_delivery(
        &self,
        queue: &QueueEntry,
        publication: &Publication,
        body: String,
        attributes: MessageAttributes,
    ) -> Result<Delivery, tern_core::SqsError> {
        let record = queue.record();
        let fifo_queue = record.attributes.is_fifo();
        let request = SendRequest {
            body,
            attributes,
            message_group_id: publication.group_id.clone(),
            message_deduplication_id: publication.deduplication_id.clone().filter(|_| fifo_queue),
            ..Default::default()
        };
        let (message, _) = crate::send::prepare(&record, request, SNS_SENDER_ID, self.now())?;
        Ok(Delivery {
            queue_id: record.id,
            message,
        })
    }

    fn http_notification(
        &self,
        context: &TopicsContext,
        topic: &TopicRecord,
        subscription: &SubscriptionEntry,
        publication: &Publication,
    ) -> NewHttpDelivery {
        let record = &subscription.record;
        let message = publication.message_for(&record.protocol);
        let raw = is_raw(subscription);
        let body = if raw {
            message
        } else {
            self.envelope(context, topic, subscription, publication, &message)
        };
        let policy = self.delivery_policy_of(topic, record);
        let arn = subscription_arn(context, &self.account_id, &topic.name, &record.id);
        let now = self.now();
        NewHttpDelivery {
            subscription_id: record.id.clone(),
            topic_id: topic.id,
            endpoint: record.endpoint.clone(),
            message_type: MessageType::Notification.as_str().to_owned(),
            headers: outbound::headers(
                MessageType::Notification,
                &publication.message_id,
                &publication.topic_arn,
                Some(&arn),
                raw,
                policy.content_type.as_deref(),
            ),
            body,
            due_at: now,
            created_at: now,
        }
    }

    pub async fn publish(
        &self,
        context: &TopicsContext,
        topic_arn_text: &str,
        request: PublishRequest,
    ) -> Result<PublishOutcome, SnsError> {
        let results = self
            .publish_many(
                context,
                topic_arn_text,
                vec![(String::new(), request)],
                "TopicArn",
            )
            .await?;
        results
            .into_iter()
            .next()
            .map(|(_, result)| result)
            .unwrap_or_else(|| Err(SnsError::internal("nothing was published")))
    }

    /// Entries fail one by one; the valid ones are stored together in one commit.
    pub async fn publish_batch(
        &self,
        context: &TopicsContext,
        topic_arn_text: &str,
        entries: Vec<(String, PublishRequest)>,
    ) -> Result<Vec<(String, Result<PublishOutcome, SnsError>)>, SnsError> {
        validate_batch(&entries)?;
        self.publish_many(context, topic_arn_text, entries, "TopicArn")
            .await
    }

    async fn publish_many(
        &self,
        context: &TopicsContext,
        topic_arn_text: &str,
        entries: Vec<(String, PublishRequest)>,
        parameter: &str,
    ) -> Result<Vec<(String, Result<PublishOutcome, SnsError>)>, SnsError> {
        let topic = self.resolve_topic(topic_arn_text, parameter)?;
        let subscriptions = self.topics.subscriptions_of(topic.id);
        let mut results = Vec::with_capacity(entries.len());
        let mut stored = Vec::new();
        let mut queues = Vec::new();
        for (id, request) in entries {
            match self.prepare_publication(context, &topic, request) {
                Ok(publication) => {
                    let (deliveries, http_deliveries) =
                        self.fan_out(context, &topic, &subscriptions, &publication, &mut queues);
                    stored.push((
                        results.len(),
                        PublishEntry {
                            deduplication: publication.deduplication.clone(),
                            deliveries,
                            http_deliveries,
                        },
                    ));
                    results.push((
                        id,
                        Ok(PublishOutcome {
                            message_id: publication.message_id,
                            sequence_number: publication.sequence_number,
                        }),
                    ));
                }
                Err(error) => results.push((id, Err(error))),
            }
        }
        let needs_commit = stored.iter().any(|(_, entry)| {
            entry.deduplication.is_some()
                || !entry.deliveries.is_empty()
                || !entry.http_deliveries.is_empty()
        });
        if !needs_commit {
            return Ok(results);
        }
        let (positions, entries): (Vec<usize>, Vec<PublishEntry>) = stored.into_iter().unzip();
        let posts = entries
            .iter()
            .any(|entry| !entry.http_deliveries.is_empty());
        let outcomes = self.store.publish(entries).await.map_err(store_error)?;
        for (position, outcome) in positions.into_iter().zip(outcomes) {
            match outcome {
                PublishEntryOutcome::Duplicate {
                    message_id,
                    sequence_number,
                } => {
                    results[position].1 = Ok(PublishOutcome {
                        message_id,
                        sequence_number: Some(sequence_number),
                    });
                }
                PublishEntryOutcome::Published(sent) => {
                    let gone = sent
                        .iter()
                        .filter(|outcome| **outcome == DeliveryOutcome::QueueGone)
                        .count();
                    if gone > 0 {
                        tracing::debug!(gone, "subscribed queues deleted while publishing");
                    }
                }
            }
        }
        for queue in queues {
            queue.arrivals.notify_waiters();
        }
        if posts {
            self.topics.delivery_wake.notify_one();
        }
        Ok(results)
    }
}

fn is_raw(subscription: &SubscriptionEntry) -> bool {
    subscription
        .record
        .attributes
        .get("RawMessageDelivery")
        .map(String::as_str)
        == Some("true")
}

/// FIFO topics deduplicate topic-wide unless `FifoThroughputScope=MessageGroup`.
fn deduplication_scope(topic: &TopicRecord, group: Option<&str>) -> String {
    match topic
        .attributes
        .get("FifoThroughputScope")
        .map(String::as_str)
    {
        Some("MessageGroup") => group.unwrap_or_default().to_owned(),
        _ => String::new(),
    }
}

/// Raw delivery carries the attributes over as SQS message attributes.
fn queue_attributes(attributes: &BTreeMap<String, SnsMessageAttribute>) -> MessageAttributes {
    attributes
        .iter()
        .map(|(name, attribute)| {
            (
                name.clone(),
                MessageAttributeValue {
                    data_type: attribute.data_type.clone(),
                    string_value: attribute.string_value.clone(),
                    binary_value: attribute.binary_value.clone(),
                },
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topics::SnsErrorCode;

    fn attribute(data_type: &str, value: &str) -> SnsMessageAttribute {
        SnsMessageAttribute {
            data_type: data_type.to_owned(),
            string_value: Some(value.to_owned()),
            binary_value: None,
        }
    }

    #[test]
    fn timestamps_are_iso_8601_with_milliseconds() {
        assert_eq!(iso_timestamp(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
        assert_eq!(iso_timestamp(0), "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn message_structure_json_picks_sqs_then_default() {
        let request = |message: &str| PublishRequest {
            message: message.to_owned(),
            message_structure: Some("json".to_owned()),
            ..Default::default()
        };
        assert_eq!(
            message_for_queues(&request(r#"{"default":"d","sqs":"s"}"#)).unwrap(),
            "s"
        );
        assert_eq!(
            message_for_queues(&request(r#"{"default":"d"}"#)).unwrap(),
            "d"
        );
        assert!(message_for_queues(&request(r#"{"sqs":"s"}"#)).is_err());
        assert!(message_for_queues(&request("nope")).is_err());
    }

    #[test]
    fn attributes_are_checked_by_type() {
        let ok = BTreeMap::from([
            ("a".to_owned(), attribute("String", "x")),
            ("n".to_owned(), attribute("Number", "1.5")),
            ("l".to_owned(), attribute("String.Array", r#"["x", 1]"#)),
        ]);
        assert!(validate_attributes(&ok).is_ok());
        for bad in [
            attribute("Number", "one"),
            attribute("String", ""),
            attribute("String.Array", "x"),
            attribute("Date", "x"),
        ] {
            let attributes = BTreeMap::from([("k".to_owned(), bad)]);
            let error = validate_attributes(&attributes).unwrap_err();
            assert_eq!(error.code, SnsErrorCode::InvalidParameterValue);
        }
    }

    #[test]
    fn batches_are_bounded_and_ids_distinct() {
        let entry = |id: &str| (id.to_owned(), PublishRequest::default());
        assert_eq!(
            validate_batch(&[]).unwrap_err().code,
            SnsErrorCode::EmptyBatchRequest
        );
        let eleven: Vec<_> = (0..11).map(|index| entry(&index.to_string())).collect();
        assert_eq!(
            validate_batch(&eleven).unwrap_err().code,
            SnsErrorCode::TooManyEntriesInBatchRequest
        );
        assert_eq!(
            validate_batch(&[entry("a"), entry("a")]).unwrap_err().code,
            SnsErrorCode::BatchEntryIdsNotDistinct
        );
        assert_eq!(
            validate_batch(&[entry("a b")]).unwrap_err().code,
            SnsErrorCode::InvalidBatchEntryId
        );
    }
}
