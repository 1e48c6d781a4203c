//! Publish and PublishBatch: a message is validated once, matched against every subscription's
//! filter policy, shaped for each subscribed queue (the SNS JSON envelope, or the raw body with
//! its attributes) and then stored in every queue in **one** commit, so an acknowledged publish
//! is in every matching queue even if the process dies right after the reply.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;
use tern_core::arn::QueueArn;
use tern_core::fifo;
use tern_core::message::{MessageAttributeValue, MessageAttributes};
use tern_sns_filter::{MessageAttribute, MessageAttributes as FilterAttributes};
use tern_store::{Delivery, DeliveryOutcome, TopicRecord};

use super::admin::{content_based_deduplication, is_fifo};
use super::catalogue::{Filter, SubscriptionEntry};
use super::{SnsError, SnsErrorCode, TopicsContext, store_error, subscription_arn, topic_arn};
use crate::Broker;
use crate::catalogue::QueueEntry;
use crate::send::SendRequest;

/// Message plus attributes, as SNS counts them.
pub const MESSAGE_BYTES_MAX: usize = 262_144;
pub const SUBJECT_CHARACTERS_MAX: usize = 100;
pub const BATCH_ENTRIES_MAX: usize = 10;
const BATCH_ENTRY_ID_CHARACTERS_MAX: usize = 80;
const FIFO_ID_CHARACTERS_MAX: usize = 128;
/// The `SenderId` SQS reports for messages SNS delivered.
const SNS_SENDER_ID: &str = "AIDAIT2UOQQY3AUEKVGXU";

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
    /// The text queues get: `message`, or its `sqs`/`default` entry with `MessageStructure=json`.
    message: String,
    subject: Option<String>,
    attributes: BTreeMap<String, SnsMessageAttribute>,
    filter_attributes: FilterAttributes,
    group_id: Option<String>,
    deduplication_id: Option<String>,
    sequence_number: Option<String>,
}

/// The notification SNS puts in an SQS message. Field order is AWS's.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Envelope<'a> {
    r#type: &'static str,
    message_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    sequence_number: Option<&'a str>,
    topic_arn: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    subject: Option<&'a str>,
    message: &'a str,
    timestamp: &'a str,
    signature_version: &'static str,
    // `Signature` is left out until Tern signs notifications (issue 5, item 6): a fake one
    // would fail every validator, an absent one fails only those that check.
    #[serde(rename = "SigningCertURL")]
    signing_cert_url: String,
    #[serde(rename = "UnsubscribeURL")]
    unsubscribe_url: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    message_attributes: BTreeMap<&'a str, EnvelopeAttribute<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct EnvelopeAttribute<'a> {
    r#type: &'a str,
    value: String,
}

fn invalid_value(message: String) -> SnsError {
    SnsError::new(SnsErrorCode::InvalidParameterValue, message)
}

fn validate_attributes(
    attributes: &BTreeMap<String, SnsMessageAttribute>,
) -> Result<usize, SnsError> {
    let mut bytes = 0;
    for (name, attribute) in attributes {
        let data_type = attribute.data_type.as_str();
        let base = data_type.split('.').next().unwrap_or_default();
        if name.is_empty() || data_type.is_empty() {
            return Err(invalid_value(format!(
                "The message attribute '{name}' must contain a name and a data type."
            )));
        }
        match base {
            "String" | "Number" => {
                let value = attribute.string_value.as_deref().unwrap_or_default();
                if value.is_empty() {
                    return Err(invalid_value(format!(
                        "The message attribute '{name}' must contain non-empty message attribute value for message attribute type '{base}'."
                    )));
                }
                if base == "Number" && tern_sns_filter::numeric::parse_number(value).is_none() {
                    return Err(invalid_value(format!(
                        "An error occurred while processing the message attribute '{name}': Could not cast message attribute '{name}' value to number."
                    )));
                }
                if data_type == "String.Array"
                    && !matches!(serde_json::from_str(value), Ok(serde_json::Value::Array(_)))
                {
                    return Err(invalid_value(format!(
                        "The message attribute '{name}' with type 'String.Array' has an invalid value: it must be a JSON array."
                    )));
                }
                bytes += value.len();
            }
            "Binary" => match &attribute.binary_value {
                Some(value) if !value.is_empty() => bytes += value.len(),
                _ => {
                    return Err(invalid_value(format!(
                        "The message attribute '{name}' must contain non-empty message attribute value for message attribute type 'Binary'."
                    )));
                }
            },
            _ => {
                return Err(invalid_value(format!(
                    "The message attribute '{name}' has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String."
                )));
            }
        }
        bytes += name.len() + data_type.len();
    }
    Ok(bytes)
}

fn validate_fifo_id(parameter: &str, value: &str) -> Result<(), SnsError> {
    let well_formed = !value.is_empty()
        && value.len() <= FIFO_ID_CHARACTERS_MAX
        && value.bytes().all(|byte| byte.is_ascii_graphic());
    if well_formed {
        Ok(())
    } else {
        Err(SnsError::invalid_parameter(format!(
            "{parameter} Reason: {parameter} can only include alphanumeric and punctuation characters. 1 to 128 in length."
        )))
    }
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
fn iso_timestamp(millis: u64) -> String {
    i64::try_from(millis)
        .ok()
        .and_then(|millis| jiff::Timestamp::from_millisecond(millis).ok())
        .map(|timestamp| timestamp.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_default()
}

impl Broker {
    fn prepare_publication(
        &self,
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
        Ok(Publication {
            message_id: uuid::Uuid::new_v4().to_string(),
            timestamp: iso_timestamp(now),
            message,
            subject: request.subject,
            filter_attributes: filter_attributes(&request.attributes),
            attributes: request.attributes,
            group_id: request.message_group_id,
            deduplication_id,
            sequence_number,
        })
    }

    fn envelope(
        &self,
        context: &TopicsContext,
        topic: &TopicRecord,
        subscription: &SubscriptionEntry,
        publication: &Publication,
    ) -> String {
        let unsubscribe_arn = subscription_arn(
            context,
            &self.account_id,
            &topic.name,
            &subscription.record.id,
        );
        let envelope = Envelope {
            r#type: "Notification",
            message_id: &publication.message_id,
            sequence_number: publication.sequence_number.as_deref(),
            topic_arn: &topic_arn(context, &self.account_id, &topic.name),
            subject: publication.subject.as_deref(),
            message: &publication.message,
            timestamp: &publication.timestamp,
            signature_version: "1",
            signing_cert_url: format!("http://{}/SimpleNotificationService-tern.pem", context.host),
            unsubscribe_url: format!(
                "http://{}/?Action=Unsubscribe&SubscriptionArn={unsubscribe_arn}",
                context.host
            ),
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
        };
        // Serializing a struct of strings into a String cannot fail.
        serde_json::to_string(&envelope).unwrap_or_default()
    }

    /// The deliveries one publication makes: one per matching `sqs` subscription whose queue
    /// exists and accepts the message (a queue whose own rules refuse it, e.g. a smaller
    /// `MaximumMessageSize`, is skipped, as SNS would fail that delivery).
    fn deliveries(
        &self,
        context: &TopicsContext,
        topic: &TopicRecord,
        subscriptions: &[Arc<SubscriptionEntry>],
        publication: &Publication,
        queues: &mut Vec<Arc<QueueEntry>>,
    ) -> Vec<Delivery> {
        let mut deliveries = Vec::new();
        for subscription in subscriptions {
            let matches = match &subscription.filter {
                Filter::Everything => true,
                Filter::Policy(policy) => {
                    policy.matches(&publication.filter_attributes, &publication.message)
                }
                Filter::Nothing => false,
            };
            if !matches || subscription.record.protocol != "sqs" {
                continue;
            }
            let Some(queue) = QueueArn::parse(&subscription.record.endpoint)
                .and_then(|arn| self.entry(&arn.queue_name).ok())
            else {
                continue;
            };
            let record = queue.record();
            let raw = subscription
                .record
                .attributes
                .get("RawMessageDelivery")
                .map(String::as_str)
                == Some("true");
            let (body, attributes) = if raw {
                (
                    publication.message.clone(),
                    queue_attributes(&publication.attributes),
                )
            } else {
                (
                    self.envelope(context, topic, subscription, publication),
                    MessageAttributes::new(),
                )
            };
            let fifo_queue = record.attributes.is_fifo();
            let request = SendRequest {
                body,
                attributes,
                message_group_id: publication.group_id.clone(),
                message_deduplication_id: publication
                    .deduplication_id
                    .clone()
                    .filter(|_| fifo_queue),
                ..Default::default()
            };
            match crate::send::prepare(&record, request, SNS_SENDER_ID, self.now()) {
                Ok((message, _)) => {
                    deliveries.push(Delivery {
                        queue_id: record.id,
                        message,
                    });
                    queues.push(queue);
                }
                Err(error) => {
                    tracing::warn!(queue = %record.name, %error, "the queue refused a notification");
                }
            }
        }
        deliveries
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
        let mut deliveries = Vec::new();
        let mut queues = Vec::new();
        for (id, request) in entries {
            let result = self
                .prepare_publication(&topic, request)
                .map(|publication| {
                    deliveries.extend(self.deliveries(
                        context,
                        &topic,
                        &subscriptions,
                        &publication,
                        &mut queues,
                    ));
                    PublishOutcome {
                        message_id: publication.message_id,
                        sequence_number: publication.sequence_number,
                    }
                });
            results.push((id, result));
        }
        if !deliveries.is_empty() {
            let outcomes = self.store.publish(deliveries).await.map_err(store_error)?;
            let gone = outcomes
                .iter()
                .filter(|outcome| **outcome == DeliveryOutcome::QueueGone)
                .count();
            if gone > 0 {
                tracing::debug!(gone, "subscribed queues deleted while publishing");
            }
            for queue in queues {
                queue.arrivals.notify_waiters();
            }
        }
        Ok(results)
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

fn validate_batch(entries: &[(String, PublishRequest)]) -> Result<(), SnsError> {
    if entries.is_empty() {
        return Err(SnsError::new(
            SnsErrorCode::EmptyBatchRequest,
            "The batch request doesn't contain any entries.",
        ));
    }
    if entries.len() > BATCH_ENTRIES_MAX {
        return Err(SnsError::new(
            SnsErrorCode::TooManyEntriesInBatchRequest,
            format!(
                "The batch request contains more entries than permissible ({BATCH_ENTRIES_MAX})."
            ),
        ));
    }
    let mut seen = std::collections::BTreeSet::new();
    for (id, _) in entries {
        let valid = !id.is_empty()
            && id.len() <= BATCH_ENTRY_ID_CHARACTERS_MAX
            && id
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_');
        if !valid {
            return Err(SnsError::new(
                SnsErrorCode::InvalidBatchEntryId,
                "The Id of a batch entry in a batch request doesn't abide by the specification.",
            ));
        }
        if !seen.insert(id.as_str()) {
            return Err(SnsError::new(
                SnsErrorCode::BatchEntryIdsNotDistinct,
                "Two or more batch entries in the request have the same Id.",
            ));
        }
    }
    let total: usize = entries
        .iter()
        .map(|(_, request)| request.message.len())
        .sum();
    if total > MESSAGE_BYTES_MAX {
        return Err(SnsError::new(
            SnsErrorCode::BatchRequestTooLong,
            "The length of all the messages put together is more than the limit.",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
