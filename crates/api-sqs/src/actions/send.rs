//! SendMessage and SendMessageBatch.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tern_aws_wire::query::{Member, Shape, XmlResult};
use tern_aws_wire::xml::XmlWriter;
use tern_broker::{Broker, SendOutcome, SendRequest};
use tern_core::SqsError;

use crate::codec::Input;
use crate::shapes::{
    BatchFailure, MESSAGE_ATTRIBUTES, MESSAGE_SYSTEM_ATTRIBUTES, MessageAttributeShape,
    decode_attributes, non_negative, split_batch, write_failures,
};
use crate::{RequestContext, required};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct SendMessageInput {
    queue_url: Option<String>,
    #[serde(flatten)]
    message: MessageFields,
}

/// The Query members of one message, in SendMessage and in each SendMessageBatch entry.
const MESSAGE_MEMBERS: &[Member] = &[
    Member::integer("DelaySeconds"),
    MESSAGE_ATTRIBUTES,
    MESSAGE_SYSTEM_ATTRIBUTES,
];

impl Input for SendMessageInput {
    const QUERY_MEMBERS: &'static [Member] = MESSAGE_MEMBERS;
}

/// What SendMessage and each SendMessageBatch entry say about one message.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct MessageFields {
    message_body: Option<String>,
    delay_seconds: Option<i64>,
    message_attributes: Option<BTreeMap<String, MessageAttributeShape>>,
    message_system_attributes: Option<BTreeMap<String, MessageAttributeShape>>,
    message_group_id: Option<String>,
    message_deduplication_id: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct SendMessageOutput {
    message_id: String,
    #[serde(rename = "MD5OfMessageBody")]
    md5_of_message_body: String,
    #[serde(
        rename = "MD5OfMessageAttributes",
        skip_serializing_if = "Option::is_none"
    )]
    md5_of_message_attributes: Option<String>,
    #[serde(
        rename = "MD5OfMessageSystemAttributes",
        skip_serializing_if = "Option::is_none"
    )]
    md5_of_message_system_attributes: Option<String>,
    /// FIFO queues only.
    #[serde(skip_serializing_if = "Option::is_none")]
    sequence_number: Option<String>,
}

impl From<SendOutcome> for SendMessageOutput {
    fn from(outcome: SendOutcome) -> Self {
        Self {
            message_id: outcome.message_id,
            md5_of_message_body: outcome.md5_of_body,
            md5_of_message_attributes: outcome.md5_of_attributes,
            md5_of_message_system_attributes: outcome.md5_of_system_attributes,
            sequence_number: outcome.sequence_number,
        }
    }
}

impl XmlResult for SendMessageOutput {
    /// In the order of AWS's own replies (and of the API model).
    fn write_result(&self, xml: &mut XmlWriter) {
        xml.text_element("MD5OfMessageBody", &self.md5_of_message_body);
        xml.optional_element(
            "MD5OfMessageAttributes",
            self.md5_of_message_attributes.as_deref(),
        );
        xml.optional_element(
            "MD5OfMessageSystemAttributes",
            self.md5_of_message_system_attributes.as_deref(),
        );
        xml.text_element("MessageId", &self.message_id);
        xml.optional_element("SequenceNumber", self.sequence_number.as_deref());
    }
}

fn send_request(fields: MessageFields) -> Result<SendRequest, SqsError> {
    Ok(SendRequest {
        body: required(fields.message_body, "MessageBody")?,
        attributes: decode_attributes(fields.message_attributes)?,
        delay_seconds: non_negative("DelaySeconds", fields.delay_seconds)?,
        message_group_id: fields.message_group_id,
        message_deduplication_id: fields.message_deduplication_id,
        system_attributes: decode_attributes(fields.message_system_attributes)?,
    })
}

pub(crate) async fn send_message(
    broker: &Broker,
    context: &RequestContext,
    input: SendMessageInput,
) -> Result<SendMessageOutput, SqsError> {
    let name = context.queue_name(input.queue_url.as_deref())?;
    let request = send_request(input.message)?;
    let outcome = broker
        .send_message(&name, request, context.sender_id())
        .await?;
    Ok(SendMessageOutput::from(outcome))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct SendMessageBatchInput {
    queue_url: Option<String>,
    entries: Option<Vec<SendMessageBatchEntry>>,
}

impl Input for SendMessageBatchInput {
    const QUERY_MEMBERS: &'static [Member] = &[Member::new(
        "SendMessageBatchRequestEntry",
        "Entries",
        Shape::List(&Shape::Structure(MESSAGE_MEMBERS)),
    )];
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SendMessageBatchEntry {
    id: Option<String>,
    #[serde(flatten)]
    message: MessageFields,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct SendMessageBatchSuccess {
    id: String,
    #[serde(flatten)]
    sent: SendMessageOutput,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct SendMessageBatchOutput {
    successful: Vec<SendMessageBatchSuccess>,
    failed: Vec<BatchFailure>,
}

impl XmlResult for SendMessageBatchOutput {
    fn write_result(&self, xml: &mut XmlWriter) {
        for success in &self.successful {
            xml.element("SendMessageBatchResultEntry", |xml| {
                xml.text_element("Id", &success.id);
                success.sent.write_result(xml);
            });
        }
        write_failures(xml, &self.failed);
    }
}

pub(crate) async fn send_message_batch(
    broker: &Broker,
    context: &RequestContext,
    input: SendMessageBatchInput,
) -> Result<SendMessageBatchOutput, SqsError> {
    let name = context.queue_name(input.queue_url.as_deref())?;
    let entries = required(input.entries, "Entries")?;
    let mut ids = Vec::with_capacity(entries.len());
    for entry in &entries {
        ids.push(required(entry.id.clone(), "Id")?);
    }
    broker.queue(&name)?;
    tern_core::batch::validate_entry_ids(ids.iter().map(String::as_str))?;
    // A malformed entry fails alone, like any other per-entry problem.
    let mut requests = Vec::with_capacity(entries.len());
    let mut malformed = Vec::new();
    for (id, entry) in ids.into_iter().zip(entries) {
        match send_request(entry.message) {
            Ok(request) => requests.push((id, request)),
            Err(error) => malformed.push((id, error)),
        }
    }
    let mut results = if requests.is_empty() {
        Vec::new()
    } else {
        broker
            .send_message_batch(&name, requests, context.sender_id())
            .await?
    };
    results.extend(malformed.into_iter().map(|(id, error)| (id, Err(error))));
    let (successful, failed) = split_batch(results, |id, outcome: SendOutcome| {
        SendMessageBatchSuccess {
            id,
            sent: SendMessageOutput::from(outcome),
        }
    });
    Ok(SendMessageBatchOutput { successful, failed })
}

#[cfg(test)]
mod tests {
    use tern_core::ErrorCode;

    use super::*;
    use crate::codec::result_xml;

    fn sent(attributes: Option<&str>, sequence: Option<&str>) -> SendMessageOutput {
        SendMessageOutput {
            message_id: "id".into(),
            md5_of_message_body: "body-md5".into(),
            md5_of_message_attributes: attributes.map(str::to_owned),
            md5_of_message_system_attributes: None,
            sequence_number: sequence.map(str::to_owned),
        }
    }

    #[test]
    fn send_reply_lists_digests_then_id() {
        assert_eq!(
            result_xml(&sent(None, None)),
            "<MD5OfMessageBody>body-md5</MD5OfMessageBody><MessageId>id</MessageId>"
        );
        assert_eq!(
            result_xml(&sent(Some("attr-md5"), Some("18"))),
            "<MD5OfMessageBody>body-md5</MD5OfMessageBody>\
             <MD5OfMessageAttributes>attr-md5</MD5OfMessageAttributes>\
             <MessageId>id</MessageId><SequenceNumber>18</SequenceNumber>"
        );
    }

    #[test]
    fn batch_reply_has_result_and_error_entries() {
        let results = vec![
            ("a".to_owned(), Ok(())),
            (
                "b".to_owned(),
                Err(SqsError::new(
                    ErrorCode::InvalidMessageContents,
                    "bad <body>",
                )),
            ),
        ];
        let (successful, failed) = split_batch(results, |id, ()| SendMessageBatchSuccess {
            id,
            sent: sent(Some("attr-md5"), None),
        });
        assert_eq!(
            result_xml(&SendMessageBatchOutput { successful, failed }),
            "<SendMessageBatchResultEntry><Id>a</Id><MD5OfMessageBody>body-md5</MD5OfMessageBody>\
             <MD5OfMessageAttributes>attr-md5</MD5OfMessageAttributes><MessageId>id</MessageId>\
             </SendMessageBatchResultEntry>\
             <BatchResultErrorEntry><Id>b</Id><SenderFault>true</SenderFault>\
             <Code>InvalidMessageContents</Code><Message>bad &lt;body&gt;</Message>\
             </BatchResultErrorEntry>"
        );
    }
}
