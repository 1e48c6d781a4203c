//! `sqs:sendMessage` and `sns:publish` through the broker's public send and publish, with the
//! parameter and result shapes of the AWS optimized integrations.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};
use tern_asl::errors::Failure;
use tern_broker::SendRequest;
use tern_broker::topics::{PublishRequest, SnsMessageAttribute, TopicsContext};
use tern_core::message::{MessageAttributeValue, MessageAttributes};

use super::text_of;
use crate::Engine;

/// The `SenderId` messages sent by the process manager carry.
const SENDER_ID: &str = "AROATERNSTATESSERVICE:tern-states";

fn missing(field: &str, integration: &str) -> Failure {
    Failure::new(
        "States.Runtime",
        format!("The field '{field}' is required by {integration}."),
    )
}

fn optional_text(parameters: &Value, field: &str) -> Option<String> {
    parameters.get(field).map(text_of)
}

/// `{"Name": {"DataType": "String", "StringValue": "…"}}` → (data type, string value) pairs.
fn attributes(parameters: &Value) -> Result<BTreeMap<String, (String, String)>, Failure> {
    let Some(given) = parameters.get("MessageAttributes") else {
        return Ok(BTreeMap::new());
    };
    let Some(map) = given.as_object() else {
        return Err(Failure::new(
            "States.Runtime",
            "The field 'MessageAttributes' must be an object.",
        ));
    };
    let mut out = BTreeMap::new();
    for (name, value) in map {
        let data_type = value.get("DataType").map(text_of).unwrap_or_default();
        let string_value = value.get("StringValue").map(text_of).unwrap_or_default();
        out.insert(name.clone(), (data_type, string_value));
    }
    Ok(out)
}

/// `SQS.QueueDoesNotExistException`-style error names, from the broker's error code.
fn service_error(service: &str, json_type: &str, message: &str) -> Failure {
    let short = json_type.rsplit('#').next().unwrap_or(json_type);
    let name = if short.ends_with("Exception") {
        short.to_owned()
    } else {
        format!("{short}Exception")
    };
    Failure::new(format!("{service}.{name}"), message)
}

impl Engine {
    pub(crate) async fn sqs_send_message(&self, parameters: &Value) -> Result<Value, Failure> {
        let queue_url = parameters
            .get("QueueUrl")
            .and_then(Value::as_str)
            .ok_or_else(|| missing("QueueUrl", "sqs:sendMessage"))?;
        let body = parameters
            .get("MessageBody")
            .map(text_of)
            .ok_or_else(|| missing("MessageBody", "sqs:sendMessage"))?;
        // Queue URLs and ARNs both end with the queue's name.
        let queue = queue_url
            .trim_end_matches('/')
            .rsplit(['/', ':'])
            .next()
            .unwrap_or_default();
        let mut message_attributes = MessageAttributes::new();
        for (name, (data_type, value)) in attributes(parameters)? {
            message_attributes.insert(
                name,
                MessageAttributeValue {
                    data_type,
                    string_value: Some(value),
                    binary_value: None,
                },
            );
        }
        let request = SendRequest {
            body,
            attributes: message_attributes,
            delay_seconds: parameters.get("DelaySeconds").and_then(Value::as_u64),
            message_group_id: optional_text(parameters, "MessageGroupId"),
            message_deduplication_id: optional_text(parameters, "MessageDeduplicationId"),
            system_attributes: MessageAttributes::new(),
        };
        let sent = self
            .broker
            .send_message(queue, request, SENDER_ID)
            .await
            .map_err(|error| service_error("SQS", error.code.json_type(), &error.message))?;
        let mut result = Map::new();
        result.insert("MessageId".into(), json!(sent.message_id));
        result.insert("MD5OfMessageBody".into(), json!(sent.md5_of_body));
        if let Some(md5) = sent.md5_of_attributes {
            result.insert("MD5OfMessageAttributes".into(), json!(md5));
        }
        if let Some(sequence) = sent.sequence_number {
            result.insert("SequenceNumber".into(), json!(sequence));
        }
        Ok(Value::Object(result))
    }

    pub(crate) async fn sns_publish(&self, parameters: &Value) -> Result<Value, Failure> {
        let topic_arn = parameters
            .get("TopicArn")
            .or_else(|| parameters.get("TargetArn"))
            .and_then(Value::as_str)
            .ok_or_else(|| missing("TopicArn", "sns:publish"))?;
        let message = parameters
            .get("Message")
            .map(text_of)
            .ok_or_else(|| missing("Message", "sns:publish"))?;
        let mut message_attributes = BTreeMap::new();
        for (name, (data_type, value)) in attributes(parameters)? {
            message_attributes.insert(
                name,
                SnsMessageAttribute {
                    data_type,
                    string_value: Some(value),
                    binary_value: None,
                },
            );
        }
        let request = PublishRequest {
            message,
            subject: optional_text(parameters, "Subject"),
            message_structure: optional_text(parameters, "MessageStructure"),
            attributes: message_attributes,
            message_group_id: optional_text(parameters, "MessageGroupId"),
            message_deduplication_id: optional_text(parameters, "MessageDeduplicationId"),
        };
        let context = TopicsContext {
            region: topic_arn.split(':').nth(3).unwrap_or_default().to_owned(),
            host: "localhost".to_owned(),
            // The process manager publishes on behalf of a state machine Tern itself runs.
            authenticated: true,
        };
        let published = self
            .broker
            .publish(&context, topic_arn, request)
            .await
            .map_err(|error| {
                let code = format!("{:?}", error.code);
                service_error("SNS", &code, &error.message)
            })?;
        let mut result = Map::new();
        result.insert("MessageId".into(), json!(published.message_id));
        if let Some(sequence) = published.sequence_number {
            result.insert("SequenceNumber".into(), json!(sequence));
        }
        Ok(Value::Object(result))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_error_names_follow_the_sdk_exceptions() {
        let failure = service_error(
            "SQS",
            "com.amazonaws.sqs#QueueDoesNotExist",
            "The specified queue does not exist.",
        );
        assert_eq!(failure.error, "SQS.QueueDoesNotExistException");
        assert_eq!(
            service_error("SNS", "NotFound", "x").error,
            "SNS.NotFoundException"
        );
    }

    #[test]
    fn attributes_take_data_type_and_string_value() {
        let parsed = attributes(&json!({"MessageAttributes": {
            "bank": {"DataType": "String", "StringValue": "A"},
            "n": {"DataType": "Number", "StringValue": 3}
        }}))
        .unwrap();
        assert_eq!(parsed["bank"], ("String".into(), "A".into()));
        assert_eq!(parsed["n"], ("Number".into(), "3".into()));
    }
}
