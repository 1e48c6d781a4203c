//! Dead-letter queue policies: `RedrivePolicy` on a source queue and `RedriveAllowPolicy` on a
//! dead-letter queue, parsed from the JSON strings SQS stores them as.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::arn::QueueArn;
use crate::error::{ErrorCode, SqsError};

pub const MAX_RECEIVE_COUNT_MAX: u32 = 1_000;
pub const SOURCE_QUEUE_ARNS_MAX: usize = 10;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RedrivePolicy {
    pub dead_letter_target_arn: String,
    pub max_receive_count: u32,
}

fn invalid(attribute: &str, reason: &str) -> SqsError {
    SqsError::new(
        ErrorCode::InvalidAttributeValue,
        format!("Invalid value for the parameter {attribute}. Reason: {reason}"),
    )
}

impl RedrivePolicy {
    /// Accepts `maxReceiveCount` as a number or a numeric string, as SQS does.
    pub fn parse(text: &str) -> Result<Self, SqsError> {
        let invalid = |reason: &str| invalid("RedrivePolicy", reason);
        let value: Value = serde_json::from_str(text)
            .map_err(|_| invalid("Redrive policy is not a valid JSON map."))?;
        let object = value
            .as_object()
            .ok_or_else(|| invalid("Redrive policy is not a valid JSON map."))?;
        if let Some(unknown) = object
            .keys()
            .find(|key| *key != "deadLetterTargetArn" && *key != "maxReceiveCount")
        {
            return Err(invalid(&format!(
                "Unknown key {unknown} in redrive policy."
            )));
        }
        let target = object
            .get("deadLetterTargetArn")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                invalid("Redrive policy does not contain mandatory attribute: deadLetterTargetArn.")
            })?;
        if QueueArn::parse(target).is_none() {
            return Err(invalid("Invalid value for deadLetterTargetArn."));
        }
        let count = match object.get("maxReceiveCount") {
            Some(Value::Number(number)) => number.as_u64(),
            Some(Value::String(text)) => text.trim().parse::<u64>().ok(),
            None => {
                return Err(invalid(
                    "Redrive policy does not contain mandatory attribute: maxReceiveCount.",
                ));
            }
            Some(_) => None,
        };
        let max_receive_count = count
            .filter(|count| (1..=u64::from(MAX_RECEIVE_COUNT_MAX)).contains(count))
            .ok_or_else(|| {
                invalid("Value for maxReceiveCount must be an integer from 1 to 1000.")
            })?;
        Ok(Self {
            dead_letter_target_arn: target.to_owned(),
            max_receive_count: max_receive_count as u32,
        })
    }

    pub fn target(&self) -> Option<QueueArn> {
        QueueArn::parse(&self.dead_letter_target_arn)
    }

    /// The canonical JSON SQS returns from GetQueueAttributes.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RedrivePermission {
    AllowAll,
    DenyAll,
    ByQueue,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RedriveAllowPolicy {
    pub redrive_permission: RedrivePermission,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub source_queue_arns: Vec<String>,
}

impl Default for RedriveAllowPolicy {
    fn default() -> Self {
        Self {
            redrive_permission: RedrivePermission::AllowAll,
            source_queue_arns: Vec::new(),
        }
    }
}

impl RedriveAllowPolicy {
    pub fn parse(text: &str) -> Result<Self, SqsError> {
        let invalid = |reason: &str| invalid("RedriveAllowPolicy", reason);
        let value: Value = serde_json::from_str(text)
            .map_err(|_| invalid("Redrive allow policy is not a valid JSON map."))?;
        let object = value
            .as_object()
            .ok_or_else(|| invalid("Redrive allow policy is not a valid JSON map."))?;
        let permission = object
            .get("redrivePermission")
            .cloned()
            .and_then(|permission| serde_json::from_value::<RedrivePermission>(permission).ok())
            .ok_or_else(|| {
                invalid("redrivePermission must be one of allowAll, denyAll, byQueue.")
            })?;
        let arns: Vec<String> = match object.get("sourceQueueArns") {
            None => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| item.as_str().map(str::to_owned))
                .collect::<Option<_>>()
                .ok_or_else(|| invalid("sourceQueueArns must be a list of queue ARNs."))?,
            Some(_) => return Err(invalid("sourceQueueArns must be a list of queue ARNs.")),
        };
        match permission {
            RedrivePermission::ByQueue if arns.is_empty() || arns.len() > SOURCE_QUEUE_ARNS_MAX => {
                return Err(invalid(
                    "byQueue requires between 1 and 10 sourceQueueArns.",
                ));
            }
            RedrivePermission::AllowAll | RedrivePermission::DenyAll if !arns.is_empty() => {
                return Err(invalid("sourceQueueArns is only allowed with byQueue."));
            }
            _ => {}
        }
        if arns.iter().any(|arn| QueueArn::parse(arn).is_none()) {
            return Err(invalid("sourceQueueArns must be a list of queue ARNs."));
        }
        Ok(Self {
            redrive_permission: permission,
            source_queue_arns: arns,
        })
    }

    /// Whether a queue named `source_name` (in this account) may use this queue as its DLQ.
    pub fn allows(&self, source_name: &str) -> bool {
        match self.redrive_permission {
            RedrivePermission::AllowAll => true,
            RedrivePermission::DenyAll => false,
            RedrivePermission::ByQueue => self
                .source_queue_arns
                .iter()
                .filter_map(|arn| QueueArn::parse(arn))
                .any(|arn| arn.queue_name == source_name),
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DLQ: &str = "arn:aws:sqs:us-east-1:000000000000:dlq";

    #[test]
    fn redrive_policy_accepts_numbers_and_numeric_strings() {
        let text = format!(r#"{{"deadLetterTargetArn":"{DLQ}","maxReceiveCount":"5"}}"#);
        let policy = RedrivePolicy::parse(&text).unwrap();
        assert_eq!(policy.max_receive_count, 5);
        assert_eq!(
            policy.to_json(),
            format!(r#"{{"deadLetterTargetArn":"{DLQ}","maxReceiveCount":5}}"#)
        );
        assert_eq!(policy.target().unwrap().queue_name, "dlq");
    }

    #[test]
    fn redrive_policy_rejections() {
        for text in [
            "not json".to_owned(),
            "[]".to_owned(),
            r#"{"maxReceiveCount":5}"#.to_owned(),
            format!(r#"{{"deadLetterTargetArn":"{DLQ}"}}"#),
            format!(r#"{{"deadLetterTargetArn":"{DLQ}","maxReceiveCount":0}}"#),
            format!(r#"{{"deadLetterTargetArn":"{DLQ}","maxReceiveCount":1001}}"#),
            format!(r#"{{"deadLetterTargetArn":"{DLQ}","maxReceiveCount":true}}"#),
            r#"{"deadLetterTargetArn":"dlq","maxReceiveCount":5}"#.to_owned(),
            format!(r#"{{"deadLetterTargetArn":"{DLQ}","maxReceiveCount":5,"x":1}}"#),
        ] {
            let error = RedrivePolicy::parse(&text).expect_err(&text);
            assert_eq!(error.code, ErrorCode::InvalidAttributeValue, "{text}");
        }
    }

    #[test]
    fn allow_policy_forms() {
        assert!(
            RedriveAllowPolicy::parse(r#"{"redrivePermission":"allowAll"}"#)
                .unwrap()
                .allows("any")
        );
        assert!(
            !RedriveAllowPolicy::parse(r#"{"redrivePermission":"denyAll"}"#)
                .unwrap()
                .allows("any")
        );
        let by_queue = r#"{"redrivePermission":"byQueue","sourceQueueArns":["arn:aws:sqs:us-east-1:000000000000:src"]}"#;
        let policy = RedriveAllowPolicy::parse(by_queue).unwrap();
        assert!(policy.allows("src"));
        assert!(!policy.allows("other"));
        for bad in [
            r#"{"redrivePermission":"byQueue"}"#,
            r#"{"redrivePermission":"sometimes"}"#,
            r#"{"redrivePermission":"allowAll","sourceQueueArns":["arn:aws:sqs:us-east-1:000000000000:src"]}"#,
            r#"{"redrivePermission":"byQueue","sourceQueueArns":["src"]}"#,
        ] {
            assert!(RedriveAllowPolicy::parse(bad).is_err(), "{bad}");
        }
    }
}
