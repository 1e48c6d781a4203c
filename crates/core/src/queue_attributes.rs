//! Queue attributes: which exist, which may be set, their ranges, their defaults, and their
//! canonical spelling (so "030" and "30" compare equal when CreateQueue checks idempotency).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{ErrorCode, SqsError};
use crate::limits::*;

pub const DELAY_SECONDS: &str = "DelaySeconds";
pub const MAXIMUM_MESSAGE_SIZE: &str = "MaximumMessageSize";
pub const MESSAGE_RETENTION_PERIOD: &str = "MessageRetentionPeriod";
pub const RECEIVE_MESSAGE_WAIT_TIME_SECONDS: &str = "ReceiveMessageWaitTimeSeconds";
pub const VISIBILITY_TIMEOUT: &str = "VisibilityTimeout";
pub const POLICY: &str = "Policy";
pub const KMS_MASTER_KEY_ID: &str = "KmsMasterKeyId";
pub const KMS_DATA_KEY_REUSE_PERIOD_SECONDS: &str = "KmsDataKeyReusePeriodSeconds";
pub const SQS_MANAGED_SSE_ENABLED: &str = "SqsManagedSseEnabled";

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

/// Real SQS attributes whose behaviour Tern does not implement yet. They are refused rather than
/// stored and ignored, so nobody believes a dead-letter queue or FIFO ordering is in force.
pub const NOT_YET_SUPPORTED: &[&str] = &[
    "RedrivePolicy",
    "RedriveAllowPolicy",
    "FifoQueue",
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "FifoThroughputLimit",
];

enum Kind {
    Seconds { min: u64, max: u64 },
    Bytes { min: u64, max: u64 },
    Boolean,
    Text { length_bytes_max: usize },
}

struct Definition {
    name: &'static str,
    kind: Kind,
    default: Option<&'static str>,
}

const SETTABLE: &[Definition] = &[
    Definition {
        name: DELAY_SECONDS,
        kind: Kind::Seconds {
            min: 0,
            max: DELAY_SECONDS_MAX,
        },
        default: Some("0"),
    },
    Definition {
        name: MAXIMUM_MESSAGE_SIZE,
        kind: Kind::Bytes {
            min: MESSAGE_SIZE_BYTES_MIN,
            max: MESSAGE_SIZE_BYTES_MAX,
        },
        default: Some("1048576"),
    },
    Definition {
        name: MESSAGE_RETENTION_PERIOD,
        kind: Kind::Seconds {
            min: MESSAGE_RETENTION_SECONDS_MIN,
            max: MESSAGE_RETENTION_SECONDS_MAX,
        },
        default: Some("345600"),
    },
    Definition {
        name: RECEIVE_MESSAGE_WAIT_TIME_SECONDS,
        kind: Kind::Seconds {
            min: 0,
            max: WAIT_TIME_SECONDS_MAX,
        },
        default: Some("0"),
    },
    Definition {
        name: VISIBILITY_TIMEOUT,
        kind: Kind::Seconds {
            min: 0,
            max: VISIBILITY_TIMEOUT_SECONDS_MAX,
        },
        default: Some("30"),
    },
    Definition {
        name: POLICY,
        kind: Kind::Text {
            length_bytes_max: POLICY_LENGTH_BYTES_MAX,
        },
        default: None,
    },
    Definition {
        name: KMS_MASTER_KEY_ID,
        kind: Kind::Text {
            length_bytes_max: 2_048,
        },
        default: None,
    },
    Definition {
        name: KMS_DATA_KEY_REUSE_PERIOD_SECONDS,
        kind: Kind::Seconds {
            min: KMS_DATA_KEY_REUSE_SECONDS_MIN,
            max: KMS_DATA_KEY_REUSE_SECONDS_MAX,
        },
        default: None,
    },
    Definition {
        name: SQS_MANAGED_SSE_ENABLED,
        kind: Kind::Boolean,
        default: Some("true"),
    },
];

fn definition(name: &str) -> Result<&'static Definition, SqsError> {
    if let Some(found) = SETTABLE.iter().find(|candidate| candidate.name == name) {
        return Ok(found);
    }
    if NOT_YET_SUPPORTED.contains(&name) {
        return Err(SqsError::new(
            ErrorCode::UnsupportedOperation,
            format!("The attribute {name} is not supported by Tern yet."),
        ));
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
        Kind::Text { length_bytes_max } if value.len() <= length_bytes_max => Ok(value.to_owned()),
        Kind::Text { .. } => Err(invalid()),
    }
}

/// The settable attributes of one queue, canonicalised, defaults included.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueAttributes(BTreeMap<String, String>);

impl Default for QueueAttributes {
    fn default() -> Self {
        let values = SETTABLE
            .iter()
            .filter_map(|definition| {
                Some((definition.name.to_owned(), definition.default?.to_owned()))
            })
            .collect();
        Self(values)
    }
}

impl QueueAttributes {
    pub fn from_stored(values: BTreeMap<String, String>) -> Self {
        Self(values)
    }

    pub fn as_map(&self) -> &BTreeMap<String, String> {
        &self.0
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// Validates every change before applying any, so a bad attribute changes nothing.
    /// An empty text value removes an optional attribute, as SQS does for `Policy`.
    pub fn apply(&mut self, changes: &BTreeMap<String, String>) -> Result<(), SqsError> {
        let validated = Self::canonicalise(changes)?;
        for (name, value) in validated {
            match value {
                Some(value) => self.0.insert(name, value),
                None => self.0.remove(&name),
            };
        }
        Ok(())
    }

    /// CreateQueue on an existing name succeeds only if every attribute the caller named has the
    /// value the queue already has.
    pub fn agrees_with(&self, requested: &BTreeMap<String, String>) -> Result<bool, SqsError> {
        let validated = Self::canonicalise(requested)?;
        Ok(validated
            .iter()
            .all(|(name, value)| self.0.get(name) == value.as_ref()))
    }

    fn canonicalise(
        changes: &BTreeMap<String, String>,
    ) -> Result<Vec<(String, Option<String>)>, SqsError> {
        changes
            .iter()
            .map(|(name, value)| {
                let definition = definition(name)?;
                let removes = matches!(definition.kind, Kind::Text { .. }) && value.is_empty();
                let canonical = if removes {
                    None
                } else {
                    Some(canonical_value(definition, value)?)
                };
                Ok((name.clone(), canonical))
            })
            .collect()
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
            ("RedrivePolicy", ErrorCode::UnsupportedOperation),
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
        attributes.apply(&changes(&[(POLICY, "{}")])).unwrap();
        assert_eq!(attributes.get(POLICY), Some("{}"));
        attributes.apply(&changes(&[(POLICY, "")])).unwrap();
        assert_eq!(attributes.get(POLICY), None);
    }
}
