//! ReceiveMessage.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tern_aws_wire::query::{Member, XmlResult};
use tern_aws_wire::xml::XmlWriter;
use tern_broker::{Broker, DeliveredMessage, ReceiveOptions};
use tern_core::SqsError;
use tern_core::fifo;
use tern_core::message::{md5_of_attributes, select_attributes};

use crate::RequestContext;
use crate::codec::Input;
use crate::shapes::{
    MessageAttributeShape, encode_attributes, non_negative, string_list, write_message_attributes,
    write_string_map,
};

const SYSTEM_ATTRIBUTES: [&str; 8] = [
    "AWSTraceHeader",
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
pub(crate) struct ReceiveMessageInput {
    queue_url: Option<String>,
    attribute_names: Option<Vec<String>>,
    message_system_attribute_names: Option<Vec<String>>,
    message_attribute_names: Option<Vec<String>>,
    max_number_of_messages: Option<i64>,
    visibility_timeout: Option<i64>,
    wait_time_seconds: Option<i64>,
    receive_request_attempt_id: Option<String>,
}

impl Input for ReceiveMessageInput {
    const QUERY_MEMBERS: &'static [Member] = &[
        string_list("AttributeName", "AttributeNames"),
        string_list("MessageSystemAttributeName", "MessageSystemAttributeNames"),
        string_list("MessageAttributeName", "MessageAttributeNames"),
        Member::integer("MaxNumberOfMessages"),
        Member::integer("VisibilityTimeout"),
        Member::integer("WaitTimeSeconds"),
    ];
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ReceiveMessageOutput {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    messages: Vec<MessageShape>,
}

impl XmlResult for ReceiveMessageOutput {
    /// `<Message>` per message (a flattened list), members in the API model's order.
    fn write_result(&self, xml: &mut XmlWriter) {
        for message in &self.messages {
            xml.element("Message", |xml| {
                xml.text_element("MessageId", &message.message_id);
                xml.text_element("ReceiptHandle", &message.receipt_handle);
                xml.text_element("MD5OfBody", &message.md5_of_body);
                xml.text_element("Body", &message.body);
                write_string_map(
                    xml,
                    "Attribute",
                    "Name",
                    message
                        .attributes
                        .iter()
                        .map(|(name, value)| (*name, value.as_str())),
                );
                xml.optional_element(
                    "MD5OfMessageAttributes",
                    message.md5_of_message_attributes.as_deref(),
                );
                write_message_attributes(xml, &message.message_attributes);
            });
        }
    }
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
                "AWSTraceHeader" => message.trace_header.clone()?,
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

pub(crate) async fn receive_message(
    broker: &Broker,
    context: &RequestContext,
    input: ReceiveMessageInput,
) -> Result<ReceiveMessageOutput, SqsError> {
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
    Ok(ReceiveMessageOutput {
        messages: messages
            .into_iter()
            .map(|message| render(message, &system_requested, &attributes_requested))
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::result_xml;

    #[test]
    fn messages_are_flattened_with_attributes_and_message_attributes() {
        let string = MessageAttributeShape {
            data_type: Some("String".into()),
            string_value: Some("red".into()),
            binary_value: None,
            string_list_values: None,
            binary_list_values: None,
        };
        let binary = MessageAttributeShape {
            data_type: Some("Binary".into()),
            string_value: None,
            binary_value: Some("AAE=".into()),
            string_list_values: None,
            binary_list_values: None,
        };
        let output = ReceiveMessageOutput {
            messages: vec![
                MessageShape {
                    message_id: "m1".into(),
                    receipt_handle: "h1".into(),
                    md5_of_body: "d1".into(),
                    body: "a < b & \r\n".into(),
                    attributes: BTreeMap::from([("SenderId", "s".to_owned())]),
                    md5_of_message_attributes: Some("d2".into()),
                    message_attributes: BTreeMap::from([
                        ("color".to_owned(), string),
                        ("raw".to_owned(), binary),
                    ]),
                },
                MessageShape {
                    message_id: "m2".into(),
                    receipt_handle: "h2".into(),
                    md5_of_body: "d3".into(),
                    body: "plain".into(),
                    attributes: BTreeMap::new(),
                    md5_of_message_attributes: None,
                    message_attributes: BTreeMap::new(),
                },
            ],
        };
        assert_eq!(
            result_xml(&output),
            "<Message><MessageId>m1</MessageId><ReceiptHandle>h1</ReceiptHandle>\
             <MD5OfBody>d1</MD5OfBody><Body>a &lt; b &amp; &#xD;\n</Body>\
             <Attribute><Name>SenderId</Name><Value>s</Value></Attribute>\
             <MD5OfMessageAttributes>d2</MD5OfMessageAttributes>\
             <MessageAttribute><Name>color</Name><Value><StringValue>red</StringValue>\
             <DataType>String</DataType></Value></MessageAttribute>\
             <MessageAttribute><Name>raw</Name><Value><BinaryValue>AAE=</BinaryValue>\
             <DataType>Binary</DataType></Value></MessageAttribute></Message>\
             <Message><MessageId>m2</MessageId><ReceiptHandle>h2</ReceiptHandle>\
             <MD5OfBody>d3</MD5OfBody><Body>plain</Body></Message>"
        );
        assert_eq!(
            result_xml(&ReceiveMessageOutput {
                messages: Vec::new()
            }),
            ""
        );
    }
}
