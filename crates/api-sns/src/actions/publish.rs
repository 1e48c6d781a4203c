//! Publish and PublishBatch.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use tern_aws_wire::query::{Member, Shape, XmlResult};
use tern_aws_wire::xml::XmlWriter;
use tern_broker::Broker;
use tern_broker::topics::{
    PublishOutcome, PublishRequest, SnsError, SnsMessageAttribute, TopicsContext,
};

use super::required;
use crate::codec::{Entries, Input, MESSAGE_ATTRIBUTES, Members};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct AttributeValue {
    data_type: Option<String>,
    string_value: Option<String>,
    /// Base64, already checked by the Query decoder.
    binary_value: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct PublishInput {
    topic_arn: Option<String>,
    target_arn: Option<String>,
    phone_number: Option<String>,
    message: Option<String>,
    subject: Option<String>,
    message_structure: Option<String>,
    message_attributes: Option<Entries<AttributeValue>>,
    message_group_id: Option<String>,
    message_deduplication_id: Option<String>,
}

impl Input for PublishInput {
    const QUERY_MEMBERS: &'static [Member] = &[MESSAGE_ATTRIBUTES];
}

fn attributes(
    entries: Option<Entries<AttributeValue>>,
) -> Result<BTreeMap<String, SnsMessageAttribute>, SnsError> {
    Entries::into_map(entries)
        .into_iter()
        .map(|(name, value)| {
            let binary_value = match value.binary_value {
                Some(text) => Some(STANDARD.decode(text).map_err(|_| {
                    SnsError::invalid_parameter(format!(
                        "MessageAttributes Reason: {name}: BinaryValue is not base64"
                    ))
                })?),
                None => None,
            };
            let attribute = SnsMessageAttribute {
                data_type: value.data_type.unwrap_or_default(),
                string_value: value.string_value,
                binary_value,
            };
            Ok((name, attribute))
        })
        .collect()
}

pub(crate) struct PublishOutput(PublishOutcome);

impl XmlResult for PublishOutput {
    fn write_result(&self, xml: &mut XmlWriter) {
        xml.text_element("MessageId", &self.0.message_id);
        xml.optional_element("SequenceNumber", self.0.sequence_number.as_deref());
    }
}

pub(crate) async fn publish(
    broker: &Broker,
    context: &TopicsContext,
    input: PublishInput,
) -> Result<PublishOutput, SnsError> {
    if input.phone_number.is_some() {
        return Err(SnsError::invalid_parameter(
            "PhoneNumber Reason: Tern does not send SMS messages",
        ));
    }
    let topic_arn = match (input.topic_arn, input.target_arn) {
        (Some(topic), _) | (None, Some(topic)) => topic,
        (None, None) => {
            return Err(SnsError::invalid_parameter(
                "TopicArn or TargetArn Reason: no value for required parameter",
            ));
        }
    };
    let request = PublishRequest {
        message: required(input.message, "Message")?,
        subject: input.subject,
        message_structure: input.message_structure,
        attributes: attributes(input.message_attributes)?,
        message_group_id: input.message_group_id,
        message_deduplication_id: input.message_deduplication_id,
    };
    Ok(PublishOutput(
        broker.publish(context, &topic_arn, request).await?,
    ))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct BatchEntry {
    id: Option<String>,
    message: Option<String>,
    subject: Option<String>,
    message_structure: Option<String>,
    message_attributes: Option<Entries<AttributeValue>>,
    message_group_id: Option<String>,
    message_deduplication_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct PublishBatchInput {
    topic_arn: Option<String>,
    publish_batch_request_entries: Option<Members<BatchEntry>>,
}

const BATCH_ENTRY: Shape = Shape::Structure(&[MESSAGE_ATTRIBUTES]);

impl Input for PublishBatchInput {
    const QUERY_MEMBERS: &'static [Member] = &[Member::new(
        "PublishBatchRequestEntries",
        "PublishBatchRequestEntries",
        Shape::Structure(&[Member::new("member", "member", Shape::List(&BATCH_ENTRY))]),
    )];
}

pub(crate) struct PublishBatchOutput {
    results: Vec<(String, Result<PublishOutcome, SnsError>)>,
}

impl XmlResult for PublishBatchOutput {
    fn write_result(&self, xml: &mut XmlWriter) {
        xml.element("Successful", |xml| {
            for (id, result) in &self.results {
                if let Ok(outcome) = result {
                    xml.element("member", |xml| {
                        xml.text_element("Id", id);
                        xml.text_element("MessageId", &outcome.message_id);
                        xml.optional_element("SequenceNumber", outcome.sequence_number.as_deref());
                    });
                }
            }
        });
        xml.element("Failed", |xml| {
            for (id, result) in &self.results {
                if let Err(error) = result {
                    let (code, _, sender_fault) = crate::errors::catalogue(error.code);
                    xml.element("member", |xml| {
                        xml.text_element("Id", id);
                        xml.text_element("Code", code);
                        xml.text_element("Message", &error.message);
                        xml.text_element(
                            "SenderFault",
                            if sender_fault { "true" } else { "false" },
                        );
                    });
                }
            }
        });
    }
}

pub(crate) async fn publish_batch(
    broker: &Broker,
    context: &TopicsContext,
    input: PublishBatchInput,
) -> Result<PublishBatchOutput, SnsError> {
    let topic_arn = required(input.topic_arn, "TopicArn")?;
    let mut entries = Vec::new();
    // An entry that cannot even be read fails alone, like one that breaks a rule.
    let mut unreadable = Vec::new();
    for entry in Members::into_vec(input.publish_batch_request_entries) {
        let id = entry.id.unwrap_or_default();
        let request = attributes(entry.message_attributes).map(|attributes| PublishRequest {
            message: entry.message.unwrap_or_default(),
            subject: entry.subject,
            message_structure: entry.message_structure,
            attributes,
            message_group_id: entry.message_group_id,
            message_deduplication_id: entry.message_deduplication_id,
        });
        match request {
            Ok(request) => entries.push((id, request)),
            Err(error) => unreadable.push((id, Err(error))),
        }
    }
    let mut results = broker.publish_batch(context, &topic_arn, entries).await?;
    results.extend(unreadable);
    Ok(PublishBatchOutput { results })
}

#[cfg(test)]
mod tests {
    use tern_broker::topics::SnsErrorCode;

    use super::*;
    use crate::codec::result_xml;

    #[test]
    fn batch_results_split_into_successful_and_failed() {
        let output = PublishBatchOutput {
            results: vec![
                (
                    "a".into(),
                    Ok(PublishOutcome {
                        message_id: "m".into(),
                        sequence_number: None,
                    }),
                ),
                (
                    "b".into(),
                    Err(SnsError::new(
                        SnsErrorCode::InvalidParameter,
                        "Invalid parameter: Empty message",
                    )),
                ),
            ],
        };
        assert_eq!(
            result_xml(&output),
            "<Successful><member><Id>a</Id><MessageId>m</MessageId></member></Successful>\
             <Failed><member><Id>b</Id><Code>InvalidParameter</Code>\
             <Message>Invalid parameter: Empty message</Message><SenderFault>true</SenderFault></member></Failed>"
        );
    }
}
