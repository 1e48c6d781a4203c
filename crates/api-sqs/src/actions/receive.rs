//! ReceiveMessage.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tern_broker::{Broker, DeliveredMessage, ReceiveOptions};
use tern_core::SqsError;
use tern_core::fifo;
use tern_core::message::{md5_of_attributes, select_attributes};

use crate::shapes::{MessageAttributeShape, encode_attributes, non_negative};
use crate::{RequestContext, encode, parse_input};

const SYSTEM_ATTRIBUTES: [&str; 7] = [
    "SenderId",
    "SentTimestamp",
    "ApproximateReceiveCount",
    "ApproximateFirstReceiveTimestamp",
    "MessageGroupId",
    "MessageDeduplicationId",
    "SequenceNumber",
];

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ReceiveMessageInput {
    queue_url: Option<String>,
    attribute_names: Option<Vec<String>>,
    message_system_attribute_names: Option<Vec<String>>,
    message_attribute_names: Option<Vec<String>>,
    max_number_of_messages: Option<i64>,
    visibility_timeout: Option<i64>,
    wait_time_seconds: Option<i64>,
    receive_request_attempt_id: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ReceiveMessageOutput {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    messages: Vec<MessageShape>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct MessageShape {
    message_id: String,
    receipt_handle: String,
    #[serde(rename = "MD5OfBody")]
    md5_of_body: String,
    body: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    attributes: BTreeMap<&'static str, String>,
    #[serde(
        rename = "MD5OfMessageAttributes",
        skip_serializing_if = "Option::is_none"
    )]
    md5_of_message_attributes: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    message_attributes: BTreeMap<String, MessageAttributeShape>,
}

fn system_attributes(
    message: &DeliveredMessage,
    requested: &[String],
) -> BTreeMap<&'static str, String> {
    let all = requested.iter().any(|name| name == "All");
    SYSTEM_ATTRIBUTES
        .into_iter()
        .filter(|name| all || requested.iter().any(|requested| requested == name))
        .filter_map(|name| {
            let value = match name {
                "SenderId" => message.sender_id.clone(),
                "SentTimestamp" => message.sent_at.to_string(),
                "ApproximateReceiveCount" => message.receive_count.to_string(),
                "ApproximateFirstReceiveTimestamp" => message.first_received_at.to_string(),
                "MessageGroupId" => message.group_id.clone()?,
                "MessageDeduplicationId" => message.deduplication_id.clone()?,
                // Only FIFO messages carry a deduplication id, and only they have sequence numbers.
                _ => {
                    message.deduplication_id.as_ref()?;
                    fifo::sequence_number(message.receipt.message_seq)
                }
            };
            Some((name, value))
        })
        .collect()
}

fn render(
    message: DeliveredMessage,
    system_requested: &[String],
    attributes_requested: &[String],
) -> MessageShape {
    let selected = select_attributes(&message.attributes, attributes_requested);
    // The digest covers exactly the attributes returned, as SDKs verify it against them.
    let md5_of_message_attributes = if selected.len() == message.attributes.len() {
        message.md5_of_attributes.clone()
    } else {
        md5_of_attributes(&selected)
    };
    MessageShape {
        attributes: system_attributes(&message, system_requested),
        message_attributes: encode_attributes(&selected),
        md5_of_message_attributes,
        receipt_handle: message.receipt.encode(),
        message_id: message.message_id,
        md5_of_body: message.md5_of_body,
        body: message.body,
    }
}

pub async fn receive_message(
    broker: &Broker,
    context: &RequestContext,
    body: &[u8],
) -> Result<Vec<u8>, SqsError> {
    let input: ReceiveMessageInput = parse_input(body)?;
    let name = context.queue_name(input.queue_url.as_deref())?;
    let max_messages = non_negative("MaxNumberOfMessages", input.max_number_of_messages)?
        .map(|max| u32::try_from(max).unwrap_or(u32::MAX));
    let options = ReceiveOptions {
        max_messages,
        visibility_timeout_seconds: non_negative("VisibilityTimeout", input.visibility_timeout)?,
        wait_time_seconds: non_negative("WaitTimeSeconds", input.wait_time_seconds)?,
        receive_request_attempt_id: input.receive_request_attempt_id,
    };
    let messages = broker.receive_messages(&name, options).await?;
    // `AttributeNames` is the deprecated spelling of `MessageSystemAttributeNames`; honour both.
    let system_requested: Vec<String> = input
        .attribute_names
        .into_iter()
        .flatten()
        .chain(input.message_system_attribute_names.into_iter().flatten())
        .collect();
    let attributes_requested = input.message_attribute_names.unwrap_or_default();
    encode(&ReceiveMessageOutput {
        messages: messages
            .into_iter()
            .map(|message| render(message, &system_requested, &attributes_requested))
            .collect(),
    })
}
