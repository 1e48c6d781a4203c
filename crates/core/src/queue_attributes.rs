//! Queue attributes: which exist, which may be set, their ranges, their defaults, and their
//! canonical spelling (so "030" and "30" compare equal when CreateQueue checks idempotency).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{ErrorCode, SqsError};
use crate::limits::*;
use crate::redrive::{RedriveAllowPolicy, RedrivePolicy};

pub const DELAY_SECONDS: &str = "DelaySeconds";
pub const MAXIMUM_MESSAGE_SIZE: &str = "MaximumMessageSize";
pub const MESSAGE_RETENTION_PERIOD: &str = "MessageRetentionPeriod";
pub const RECEIVE_MESSAGE_WAIT_TIME_SECONDS: &str = "ReceiveMessageWaitTimeSeconds";
pub const VISIBILITY_TIMEOUT: &str = "VisibilityTimeout";
pub const POLICY: &str = "Policy";
pub const KMS_MASTER_KEY_ID: &str = "KmsMasterKeyId";
pub const KMS_DATA_KEY_REUSE_PERIOD_SECONDS: &str = "KmsDataKeyReusePeriodSeconds";
pub const SQS_MANAGED_SSE_ENABLED: &str = "SqsManagedSseEnabled";
pub const REDRIVE_POLICY: &str = "RedrivePolicy";
pub const REDRIVE_ALLOW_POLICY: &str = "RedriveAllowPolicy";
pub const FIFO_QUEUE: &str = "FifoQueue";
pub const CONTENT_BASED_DEDUPLICATION: &str = "ContentBasedDeduplication";
pub const DEDUPLICATION_SCOPE: &str = "DeduplicationScope";
pub const FIFO_THROUGHPUT_LIMIT: &str = "FifoThroughputLimit";

pub const APPROXIMATE_NUMBER_OF_MESSAGES: &str = "ApproximateNumberOfMessages";
pub const APPROXIMATE_NUMBER_OF_MESSAGES_NOT_VISIBLE: &str =
    "ApproximateNumberOfMessagesNotVisible";
pub const APPROXIMATE_NUMBER_OF_MESSAGES_DELAYED: &str = "ApproximateNumberOfMessagesDelayed";
pub const CREATED_TIMESTAMP: &str = "CreatedTimestamp";
pub const LAST_MODIFIED_TIMESTAMP: &str = "LastModifiedTimestamp";
pub const QUEUE_ARN: &str = "QueueArn";

/// Computed by the service, never set by a caller.
pub const READ_ONLY: &[&str] = &[
    APPROXIMATE_NUMBER_OF_MESSAGES,
    APPROXIMATE_NUMBER_OF_MESSAGES_NOT_VISIBLE,
    APPROXIMATE_NUMBER_OF_MESSAGES_DELAYED,
    CREATED_TIMESTAMP,
    LAST_MODIFIED_TIMESTAMP,
    QUEUE_ARN,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueType {
    Standard,
    Fifo,
}

enum Kind {
    Seconds { min: u64, max: u64 },
    Bytes { min: u64, max: u64 },
    Boolean,
    Text { length_bytes_max: usize },
    Choice(&'static [&'static str]),
    RedrivePolicy,
    RedriveAllowPolicy,
}

/// Which queues an attribute exists on.
#[derive(PartialEq, Eq)]
enum Scope {
    Every,
    FifoOnly,
    /// Chosen at creation (`FifoQueue`), never changed.
    CreationOnly,
}

struct Definition {
    name: &'static str,
    kind: Kind,
    scope: Scope,
    default: Option<&'static str>,
}

const SETTABLE: &[Definition] = &[
    Definition {
        name: DELAY_SECONDS,
        kind: Kind::Seconds {
            min: 0,
            max: DELAY_SECONDS_MAX,
        },
        scope: Scope::Every,
        default: Some("0"),
    },
    Definition {
        name: MAXIMUM_MESSAGE_SIZE,
        kind: Kind::Bytes {
            min: MESSAGE_SIZE_BYTES_MIN,
            max: MESSAGE_SIZE_BYTES_MAX,
        },
        scope: Scope::Every,
        default: Some("1048576"),
    },
    Definition {
        name: MESSAGE_RETENTION_PERIOD,
        kind: Kind::Seconds {
            min: MESSAGE_RETENTION_SECONDS_MIN,
            max: MESSAGE_RETENTION_SECONDS_MAX,
        },
        scope: Scope::Every,
        default: Some("345600"),
    },
    Definition {
        name: RECEIVE_MESSAGE_WAIT_TIME_SECONDS,
        kind: Kind::Seconds {
            min: 0,
            max: WAIT_TIME_SECONDS_MAX,
        },
        scope: Scope::Every,
        default: Some("0"),
    },
    Definition {
        name: VISIBILITY_TIMEOUT,
        kind: Kind::Seconds {
            min: 0,
            max: VISIBILITY_TIMEOUT_SECONDS_MAX,
        },
        scope: Scope::Every,
        default: Some("30"),
    },
    Definition {
        name: POLICY,
        kind: Kind::Text {
            length_bytes_max: POLICY_LENGTH_BYTES_MAX,
        },
        scope: Scope::Every,
        default: None,
    },
    Definition {
        name: KMS_MASTER_KEY_ID,
        kind: Kind::Text {
            length_bytes_max: 2_048,
        },
        scope: Scope::Every,
        default: None,
    },
    Definition {
        name: KMS_DATA_KEY_REUSE_PERIOD_SECONDS,
        kind: Kind::Seconds {
            min: KMS_DATA_KEY_REUSE_SECONDS_MIN,
            max: KMS_DATA_KEY_REUSE_SECONDS_MAX,
        },
        scope: Scope::Every,
        default: None,
    },
    Definition {
        name: SQS_MANAGED_SSE_ENABLED,
        kind: Kind::Boolean,
        scope: Scope::Every,
        default: Some("true"),
    },
    Definition {
        name: REDRIVE_POLICY,
        kind: Kind::RedrivePolicy,
        scope: Scope::Every,
        default: None,
    },
    Definition {
        name: REDRIVE_ALLOW_POLICY,
        kind: Kind::RedriveAllowPolicy,
        scope: Scope::Every,
        default: None,
    },
    Definition {
        name: FIFO_QUEUE,
        kind: Kind::Boolean,
        scope: Scope::CreationOnly,
        default: None,
    },
    Definition {
        name: CONTENT_BASED_DEDUPLICATION,
        kind: Kind::Boolean,
        scope: Scope::FifoOnly,
        default: Some("false"),
    },
    Definition {
        name: DEDUPLICATION_SCOPE,
        kind: Kind::Choice(&["messageGroup", "queue"]),
        scope: Scope::FifoOnly,
        default: Some("queue"),
    },
    Definition {
        name: FIFO_THROUGHPUT_LIMIT,
        kind: Kind::Choice(&["perQueue", "perMessageGroupId"]),
        scope: Scope::FifoOnly,
        default: Some("perQueue"),
    },
];

fn definition(name: &str) -> Result<&'static Definition, SqsError> {
    if let Some(found) = SETTABLE.iter().find(|candidate| candidate.name == name) {
        return Ok(found);
    }
    Err(SqsError::new(
        ErrorCode::InvalidAttributeName,
        format!("Unknown Attribute {name}."),
    ))
}

/// Is `name` something GetQueueAttributes may ask for (besides `All`)?
pub fn is_known_attribute(name: &str) -> bool {
    READ_ONLY.contains(&name) || SETTABLE.iter().any(|definition| definition.name == name)
}

fn canonical_value(definition: &Definition, value: &str) -> Result<String, SqsError> {
    let invalid = || {
        SqsError::new(
            ErrorCode::InvalidAttributeValue,
            format!("Invalid value for the parameter {}.", definition.name),
        )
    };
    match definition.kind {
        Kind::Seconds { min, max } | Kind::Bytes { min, max } => {
            let trimmed = value.trim();
            let is_decimal = !trimmed.is_empty() && trimmed.bytes().all(|b| b.is_ascii_digit());
            let number: u64 = if is_decimal {
                trimmed.parse().map_err(|_| invalid())?
            } else {
                return Err(invalid());
            };
            if (min..=max).contains(&number) {
                Ok(number.to_string())
            } else {
                Err(invalid())
            }
        }
        Kind::Boolean => match value.to_ascii_lowercase().as_str() {
            "true" => Ok("true".to_owned()),
            "false" => Ok("false".to_owned()),
            _ => Err(invalid()),
        },
        Kind::Text { length_bytes_max } if value.len() <= length_bytes_max => {
            if definition.name == POLICY {
                crate::policy::validate_policy(value)?;
            }
            Ok(value.to_owned())
        }
        Kind::Text { .. } => Err(invalid()),
        Kind::Choice(choices) => choices
            .iter()
            .find(|choice| **choice == value)
            .map(|choice| (*choice).to_owned())
            .ok_or_else(invalid),
        Kind::RedrivePolicy => Ok(RedrivePolicy::parse(value)?.to_json()),
        Kind::RedriveAllowPolicy => Ok(RedriveAllowPolicy::parse(value)?.to_json()),
    }
}

/// The settable attributes of one queue, canonicalised, defaults included.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueAttributes(BTreeMap<String, String>);

impl Default for QueueAttributes {
    /// A standard queue's defaults.
    fn default() -> Self {
        Self::defaults(QueueType::Standard)
    }
}

fn fifo_name_mismatch() -> SqsError {
    SqsError::new(
        ErrorCode::InvalidParameterValue,
        "The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix and be 1 to 80 in length.",
    )
}

impl QueueAttributes {
    pub fn from_stored(values: BTreeMap<String, String>) -> Self {
        Self(values)
    }

    fn defaults(queue_type: QueueType) -> Self {
        let fifo = queue_type == QueueType::Fifo;
        let mut values: BTreeMap<String, String> = SETTABLE
            .iter()
            .filter(|definition| definition.scope == Scope::Every || fifo)
            .filter_map(|definition| {
                Some((definition.name.to_owned(), definition.default?.to_owned()))
            })
            .collect();
        if fifo {
            values.insert(FIFO_QUEUE.to_owned(), "true".to_owned());
        }
        Self(values)
    }

    /// A new queue's attributes: its type comes from `FifoQueue`, which must agree with the
    /// name's `.fifo` suffix; then the type's defaults, then what was asked for.
    pub fn for_new_queue(
        name: &str,
        requested: &BTreeMap<String, String>,
    ) -> Result<Self, SqsError> {
        let fifo = match requested.get(FIFO_QUEUE) {
            None => false,
            Some(value) => {
                let definition = definition(FIFO_QUEUE)?;
                canonical_value(definition, value)? == "true"
            }
        };
        if crate::names::is_fifo_name(name) != fifo {
            return Err(fifo_name_mismatch());
        }
        let queue_type = if fifo {
            QueueType::Fifo
        } else {
            QueueType::Standard
        };
        let mut attributes = Self::defaults(queue_type);
        attributes.apply_changes(requested, true)?;
        Ok(attributes)
    }

    pub fn as_map(&self) -> &BTreeMap<String, String> {
        &self.0
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    pub fn queue_type(&self) -> QueueType {
        if self.get(FIFO_QUEUE) == Some("true") {
            QueueType::Fifo
        } else {
            QueueType::Standard
        }
    }

    pub fn is_fifo(&self) -> bool {
        self.queue_type() == QueueType::Fifo
    }

    /// Validates every change before applying any, so a bad attribute changes nothing.
    /// An empty value removes an optional attribute (`Policy`, `RedrivePolicy`, ...).
    pub fn apply(&mut self, changes: &BTreeMap<String, String>) -> Result<(), SqsError> {
        self.apply_changes(changes, false)
    }

    fn apply_changes(
        &mut self,
        changes: &BTreeMap<String, String>,
        creating: bool,
    ) -> Result<(), SqsError> {
        let validated = self.canonicalise(changes, creating)?;
        let mut next = self.clone();
        for (name, value) in validated {
            match value {
                Some(value) => next.0.insert(name, value),
                None => next.0.remove(&name),
            };
        }
        next.check_consistency()?;
        *self = next;
        Ok(())
    }

    /// High-throughput FIFO: a per-group throughput limit only works with per-group
    /// deduplication.
    fn check_consistency(&self) -> Result<(), SqsError> {
        if self.get(FIFO_THROUGHPUT_LIMIT) == Some("perMessageGroupId")
            && self.get(DEDUPLICATION_SCOPE) != Some("messageGroup")
        {
            return Err(SqsError::new(
                ErrorCode::InvalidAttributeValue,
                "Invalid value for the parameter FifoThroughputLimit. Reason: perMessageGroupId is only allowed with DeduplicationScope messageGroup.",
            ));
        }
        Ok(())
    }

    /// CreateQueue on an existing name succeeds only if every attribute the caller named has the
    /// value the queue already has.
    pub fn agrees_with(&self, requested: &BTreeMap<String, String>) -> Result<bool, SqsError> {
        let validated = self.canonicalise(requested, true)?;
        Ok(validated.iter().all(|(name, value)| {
            let existing = self.0.get(name);
            // `FifoQueue=false` canonicalises to "absent", which is how a standard queue stores it.
            existing == value.as_ref()
        }))
    }

    fn canonicalise(
        &self,
        changes: &BTreeMap<String, String>,
        creating: bool,
    ) -> Result<Vec<(String, Option<String>)>, SqsError> {
        let queue_type = self.queue_type();
        changes
            .iter()
            .map(|(name, value)| {
                let definition = definition(name)?;
                let unknown_here = match definition.scope {
                    Scope::Every => false,
                    Scope::FifoOnly => queue_type == QueueType::Standard,
                    Scope::CreationOnly => !creating,
                };
                if unknown_here {
                    return Err(SqsError::new(
                        ErrorCode::InvalidAttributeName,
                        format!("Unknown Attribute {name}."),
                    ));
                }
                let removable = matches!(
                    definition.kind,
                    Kind::Text { .. } | Kind::RedrivePolicy | Kind::RedriveAllowPolicy
                );
                let canonical = if removable && value.is_empty() {
                    None
                } else {
                    Some(canonical_value(definition, value)?)
                };
                // A standard queue records no FifoQueue attribute at all.
                let canonical = canonical.filter(|value| !(name == FIFO_QUEUE && value == "false"));
                Ok((name.clone(), canonical))
            })
            .collect()
    }

    pub fn redrive_policy(&self) -> Option<RedrivePolicy> {
        self.get(REDRIVE_POLICY)
            .and_then(|text| RedrivePolicy::parse(text).ok())
    }

    pub fn redrive_allow_policy(&self) -> RedriveAllowPolicy {
        self.get(REDRIVE_ALLOW_POLICY)
            .and_then(|text| RedriveAllowPolicy::parse(text).ok())
            .unwrap_or_default()
    }

    pub fn content_based_deduplication(&self) -> bool {
        self.get(CONTENT_BASED_DEDUPLICATION) == Some("true")
    }

    /// Whether deduplication ids are scoped to their message group rather than the queue.
    pub fn deduplicates_per_message_group(&self) -> bool {
        self.get(DEDUPLICATION_SCOPE) == Some("messageGroup")
    }

    fn number(&self, name: &str) -> u64 {
        let fallback = || {
            definition(name)
                .ok()
                .and_then(|definition| definition.default)
                .and_then(|value| value.parse().ok())
                .unwrap_or(0)
        };
        self.get(name)
            .and_then(|value| value.parse().ok())
            .unwrap_or_else(fallback)
    }

    pub fn delay_seconds(&self) -> u64 {
        self.number(DELAY_SECONDS)
    }

    pub fn maximum_message_size_bytes(&self) -> u64 {
        self.number(MAXIMUM_MESSAGE_SIZE)
    }

    pub fn message_retention_seconds(&self) -> u64 {
        self.number(MESSAGE_RETENTION_PERIOD)
    }

    pub fn receive_wait_time_seconds(&self) -> u64 {
        self.number(RECEIVE_MESSAGE_WAIT_TIME_SECONDS)
    }

    pub fn visibility_timeout_seconds(&self) -> u64 {
        self.number(VISIBILITY_TIMEOUT)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn changes(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect()
    }

    #[test]
    fn defaults_follow_aws() {
        let attributes = QueueAttributes::default();
        assert_eq!(attributes.visibility_timeout_seconds(), 30);
        assert_eq!(attributes.message_retention_seconds(), 345_600);
        assert_eq!(attributes.maximum_message_size_bytes(), 1_048_576);
        assert_eq!(attributes.delay_seconds(), 0);
        assert_eq!(attributes.get(SQS_MANAGED_SSE_ENABLED), Some("true"));
        assert_eq!(attributes.get(POLICY), None);
    }

    #[test]
    fn apply_canonicalises_and_checks_every_range() {
        let mut attributes = QueueAttributes::default();
        attributes
            .apply(&changes(&[
                (VISIBILITY_TIMEOUT, "045"),
                (SQS_MANAGED_SSE_ENABLED, "FALSE"),
            ]))
            .unwrap();
        assert_eq!(attributes.get(VISIBILITY_TIMEOUT), Some("45"));
        assert_eq!(attributes.get(SQS_MANAGED_SSE_ENABLED), Some("false"));

        let out_of_range = [
            (DELAY_SECONDS, "901"),
            (MAXIMUM_MESSAGE_SIZE, "1023"),
            (MAXIMUM_MESSAGE_SIZE, "1048577"),
            (MESSAGE_RETENTION_PERIOD, "59"),
            (MESSAGE_RETENTION_PERIOD, "1209601"),
            (RECEIVE_MESSAGE_WAIT_TIME_SECONDS, "21"),
            (VISIBILITY_TIMEOUT, "43201"),
            (VISIBILITY_TIMEOUT, "-1"),
            (VISIBILITY_TIMEOUT, "ten"),
            (VISIBILITY_TIMEOUT, ""),
            (SQS_MANAGED_SSE_ENABLED, "yes"),
            (VISIBILITY_TIMEOUT, "99999999999999999999999"),
        ];
        for (name, value) in out_of_range {
            let error = attributes
                .apply(&changes(&[(name, value)]))
                .expect_err(value);
            assert_eq!(
                error.code,
                ErrorCode::InvalidAttributeValue,
                "{name}={value}"
            );
        }
    }

    #[test]
    fn a_bad_attribute_changes_nothing() {
        let mut attributes = QueueAttributes::default();
        let before = attributes.clone();
        let error = attributes
            .apply(&changes(&[
                (DELAY_SECONDS, "5"),
                (VISIBILITY_TIMEOUT, "99999"),
            ]))
            .unwrap_err();
        assert_eq!(error.code, ErrorCode::InvalidAttributeValue);
        assert_eq!(attributes, before);
    }

    #[test]
    fn unknown_read_only_and_unsupported_names_are_refused() {
        let mut attributes = QueueAttributes::default();
        for (name, code) in [
            ("Colour", ErrorCode::InvalidAttributeName),
            (QUEUE_ARN, ErrorCode::InvalidAttributeName),
            (FIFO_QUEUE, ErrorCode::InvalidAttributeName),
            (CONTENT_BASED_DEDUPLICATION, ErrorCode::InvalidAttributeName),
        ] {
            let error = attributes.apply(&changes(&[(name, "1")])).unwrap_err();
            assert_eq!(error.code, code, "{name}");
        }
    }

    #[test]
    fn agreement_compares_only_named_attributes_canonically() {
        let mut attributes = QueueAttributes::default();
        attributes
            .apply(&changes(&[(VISIBILITY_TIMEOUT, "60")]))
            .unwrap();
        assert!(attributes.agrees_with(&changes(&[])).unwrap());
        assert!(
            attributes
                .agrees_with(&changes(&[(VISIBILITY_TIMEOUT, "060")]))
                .unwrap()
        );
        assert!(
            !attributes
                .agrees_with(&changes(&[(VISIBILITY_TIMEOUT, "30")]))
                .unwrap()
        );
    }

    #[test]
    fn empty_policy_removes_it() {
        let mut attributes = QueueAttributes::default();
        let policy = r#"{"Statement":[{"Effect":"Allow"}]}"#;
        attributes.apply(&changes(&[(POLICY, policy)])).unwrap();
        assert_eq!(attributes.get(POLICY), Some(policy));
        attributes.apply(&changes(&[(POLICY, "")])).unwrap();
        assert_eq!(attributes.get(POLICY), None);
    }

    #[test]
    fn fifo_queues_get_fifo_defaults_and_must_be_named_so() {
        let fifo =
            QueueAttributes::for_new_queue("jobs.fifo", &changes(&[(FIFO_QUEUE, "true")])).unwrap();
        assert!(fifo.is_fifo());
        assert_eq!(fifo.get(CONTENT_BASED_DEDUPLICATION), Some("false"));
        assert_eq!(fifo.get(DEDUPLICATION_SCOPE), Some("queue"));
        assert_eq!(fifo.get(FIFO_THROUGHPUT_LIMIT), Some("perQueue"));
        let standard =
            QueueAttributes::for_new_queue("jobs", &changes(&[(FIFO_QUEUE, "false")])).unwrap();
        assert!(!standard.is_fifo());
        assert_eq!(standard.get(FIFO_QUEUE), None);
        assert_eq!(standard.get(CONTENT_BASED_DEDUPLICATION), None);
        for (name, requested) in [("jobs", "true"), ("jobs.fifo", "false")] {
            let error = QueueAttributes::for_new_queue(name, &changes(&[(FIFO_QUEUE, requested)]))
                .unwrap_err();
            assert_eq!(error.code, ErrorCode::InvalidParameterValue, "{name}");
        }
        let error = QueueAttributes::for_new_queue("jobs.fifo", &changes(&[])).unwrap_err();
        assert_eq!(error.code, ErrorCode::InvalidParameterValue);
    }

    #[test]
    fn fifo_only_attributes_are_unknown_on_standard_queues() {
        let error = QueueAttributes::for_new_queue(
            "plain",
            &changes(&[(CONTENT_BASED_DEDUPLICATION, "true")]),
        )
        .unwrap_err();
        assert_eq!(error.code, ErrorCode::InvalidAttributeName);
    }

    #[test]
    fn high_throughput_needs_per_group_deduplication() {
        let mut fifo =
            QueueAttributes::for_new_queue("h.fifo", &changes(&[(FIFO_QUEUE, "true")])).unwrap();
        let error = fifo
            .apply(&changes(&[(FIFO_THROUGHPUT_LIMIT, "perMessageGroupId")]))
            .unwrap_err();
        assert_eq!(error.code, ErrorCode::InvalidAttributeValue);
        fifo.apply(&changes(&[
            (FIFO_THROUGHPUT_LIMIT, "perMessageGroupId"),
            (DEDUPLICATION_SCOPE, "messageGroup"),
        ]))
        .unwrap();
        assert!(fifo.deduplicates_per_message_group());
        let error = fifo
            .apply(&changes(&[(DEDUPLICATION_SCOPE, "everywhere")]))
            .unwrap_err();
        assert_eq!(error.code, ErrorCode::InvalidAttributeValue);
    }

    #[test]
    fn redrive_policies_are_canonicalised_and_removable() {
        let mut attributes = QueueAttributes::default();
        let policy = r#"{"maxReceiveCount":"3","deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:dlq"}"#;
        attributes
            .apply(&changes(&[(REDRIVE_POLICY, policy)]))
            .unwrap();
        assert_eq!(attributes.redrive_policy().unwrap().max_receive_count, 3);
        assert_eq!(
            attributes.get(REDRIVE_POLICY),
            Some(
                r#"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:dlq","maxReceiveCount":3}"#
            )
        );
        attributes.apply(&changes(&[(REDRIVE_POLICY, "")])).unwrap();
        assert_eq!(attributes.redrive_policy(), None);
        assert!(attributes.redrive_allow_policy().allows("anyone"));
    }
}
