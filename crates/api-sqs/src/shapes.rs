//! Shapes shared by several actions: their JSON form, their Query description and their XML.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use tern_aws_wire::query::{Member, Shape, XmlResult};
use tern_aws_wire::xml::XmlWriter;
use tern_broker::BatchResults;
use tern_core::message::{MessageAttributeValue, MessageAttributes};
use tern_core::{ErrorCode, SqsError};

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct MessageAttributeShape {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub string_value: Option<String>,
    /// Base64, as the JSON protocol encodes blobs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub binary_value: Option<String>,
    #[serde(default, skip_serializing)]
    pub string_list_values: Option<Vec<String>>,
    #[serde(default, skip_serializing)]
    pub binary_list_values: Option<Vec<String>>,
}

/// The value of a message attribute or message system attribute in the Query protocol.
const MESSAGE_ATTRIBUTE_VALUE: Shape = Shape::Map {
    key: "Name",
    value: "Value",
    value_shape: &Shape::Structure(&[
        Member::new("BinaryValue", "BinaryValue", Shape::Blob),
        Member::new(
            "StringListValue",
            "StringListValues",
            Shape::List(&Shape::String),
        ),
        Member::new(
            "BinaryListValue",
            "BinaryListValues",
            Shape::List(&Shape::Blob),
        ),
    ]),
};

/// `MessageAttribute.N.Name` and `MessageAttribute.N.Value.{DataType,StringValue,BinaryValue}`.
pub const MESSAGE_ATTRIBUTES: Member = Member::new(
    "MessageAttribute",
    "MessageAttributes",
    MESSAGE_ATTRIBUTE_VALUE,
);

/// `MessageSystemAttribute.N.…` on SendMessage (only `AWSTraceHeader` may be set).
pub const MESSAGE_SYSTEM_ATTRIBUTES: Member = Member::new(
    "MessageSystemAttribute",
    "MessageSystemAttributes",
    MESSAGE_ATTRIBUTE_VALUE,
);

/// `Attribute.N.Name` and `Attribute.N.Value` (CreateQueue, SetQueueAttributes).
pub const QUEUE_ATTRIBUTES: Member = Member::new(
    "Attribute",
    "Attributes",
    Shape::Map {
        key: "Name",
        value: "Value",
        value_shape: &Shape::String,
    },
);

/// A flattened list of strings: `AttributeName.1`, `AttributeName.2`, … for `AttributeNames`.
pub const fn string_list(query: &'static str, json: &'static str) -> Member {
    Member::new(query, json, Shape::List(&Shape::String))
}

/// `Tag.N.Key` and `Tag.N.Value`; CreateQueue calls the member `tags`, TagQueue `Tags`.
pub const fn tags(json: &'static str) -> Member {
    Member::new(
        "Tag",
        json,
        Shape::Map {
            key: "Key",
            value: "Value",
            value_shape: &Shape::String,
        },
    )
}

pub fn decode_attributes(
    shapes: Option<BTreeMap<String, MessageAttributeShape>>,
) -> Result<MessageAttributes, SqsError> {
    let mut attributes = MessageAttributes::new();
    for (name, shape) in shapes.unwrap_or_default() {
        let data_type = shape.data_type.ok_or_else(|| {
            SqsError::new(
                ErrorCode::InvalidParameterValue,
                format!(
                    "The message attribute '{name}' must contain non-empty message attribute type."
                ),
            )
        })?;
        if shape
            .string_list_values
            .is_some_and(|list| !list.is_empty())
            || shape
                .binary_list_values
                .is_some_and(|list| !list.is_empty())
        {
            return Err(SqsError::new(
                ErrorCode::InvalidParameterValue,
                format!(
                    "Message attribute list values in '{name}' are not supported (reserved by AWS for future use)."
                ),
            ));
        }
        let binary_value = shape
            .binary_value
            .map(|encoded| {
                STANDARD.decode(encoded).map_err(|_| {
                    SqsError::new(
                        ErrorCode::Serialization,
                        format!(
                            "The BinaryValue of message attribute '{name}' is not valid base64."
                        ),
                    )
                })
            })
            .transpose()?;
        attributes.insert(
            name,
            MessageAttributeValue {
                data_type,
                string_value: shape.string_value,
                binary_value,
            },
        );
    }
    Ok(attributes)
}

pub fn encode_attributes(
    attributes: &MessageAttributes,
) -> BTreeMap<String, MessageAttributeShape> {
    attributes
        .iter()
        .map(|(name, value)| {
            let shape = MessageAttributeShape {
                data_type: Some(value.data_type.clone()),
                string_value: value.string_value.clone(),
                binary_value: value
                    .binary_value
                    .as_ref()
                    .map(|bytes| STANDARD.encode(bytes)),
                string_list_values: None,
                binary_list_values: None,
            };
            (name.clone(), shape)
        })
        .collect()
}

/// `<{element}><{key}>…</{key}><Value>…</Value></{element}>` per entry: how Query writes the
/// string maps (`Attribute` with `Name`, `Tag` with `Key`).
pub fn write_string_map<'a>(
    xml: &mut XmlWriter,
    element: &str,
    key: &str,
    entries: impl IntoIterator<Item = (&'a str, &'a str)>,
) {
    for (name, value) in entries {
        xml.element(element, |xml| {
            xml.text_element(key, name);
            xml.text_element("Value", value);
        });
    }
}

/// `<MessageAttribute><Name/><Value><StringValue/>|<BinaryValue/><DataType/></Value></MessageAttribute>`.
pub fn write_message_attributes(
    xml: &mut XmlWriter,
    attributes: &BTreeMap<String, MessageAttributeShape>,
) {
    for (name, value) in attributes {
        xml.element("MessageAttribute", |xml| {
            xml.text_element("Name", name);
            xml.element("Value", |xml| {
                xml.optional_element("StringValue", value.string_value.as_deref());
                xml.optional_element("BinaryValue", value.binary_value.as_deref());
                xml.optional_element("DataType", value.data_type.as_deref());
            });
        });
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BatchFailure {
    pub id: String,
    pub sender_fault: bool,
    pub code: &'static str,
    pub message: String,
}

/// `<BatchResultErrorEntry><Id/><SenderFault/><Code/><Message/></BatchResultErrorEntry>` each.
pub fn write_failures(xml: &mut XmlWriter, failures: &[BatchFailure]) {
    for failure in failures {
        xml.element("BatchResultErrorEntry", |xml| {
            xml.text_element("Id", &failure.id);
            xml.text_element(
                "SenderFault",
                if failure.sender_fault {
                    "true"
                } else {
                    "false"
                },
            );
            xml.text_element("Code", failure.code);
            xml.text_element("Message", &failure.message);
        });
    }
}

/// Splits batch results into the `Successful` and `Failed` lists every batch reply carries.
pub fn split_batch<T, S>(
    results: BatchResults<T>,
    mut success: impl FnMut(String, T) -> S,
) -> (Vec<S>, Vec<BatchFailure>) {
    let mut successful = Vec::new();
    let mut failed = Vec::new();
    for (id, result) in results {
        match result {
            Ok(value) => successful.push(success(id, value)),
            Err(error) => failed.push(BatchFailure {
                id,
                sender_fault: error.code.is_sender_fault(),
                code: error.code.query_code(),
                message: error.message,
            }),
        }
    }
    (successful, failed)
}

/// JSON integers arrive as i64; SQS ranges are non-negative, so a negative value is out of range.
pub fn non_negative(name: &str, value: Option<i64>) -> Result<Option<u64>, SqsError> {
    value
        .map(|value| {
            u64::try_from(value).map_err(|_| {
                SqsError::invalid_parameter(name, value, &format!("{name} must be non-negative."))
            })
        })
        .transpose()
}

/// The `{}` reply of actions that return nothing; in Query, a reply with no `<XResult>`.
#[derive(Serialize)]
pub struct Empty {}

impl XmlResult for Empty {
    fn write_result(&self, _: &mut XmlWriter) {}

    fn has_result(&self) -> bool {
        false
    }
}

/// The reply of DeleteMessageBatch and ChangeMessageVisibilityBatch: successes carry only ids.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct IdOnlyBatchOutput {
    pub successful: Vec<IdOnly>,
    pub failed: Vec<BatchFailure>,
    /// The Query element of one success, e.g. `DeleteMessageBatchResultEntry`.
    #[serde(skip)]
    pub entry_element: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct IdOnly {
    pub id: String,
}

impl IdOnlyBatchOutput {
    pub fn from_results(results: BatchResults<()>, entry_element: &'static str) -> Self {
        let (successful, failed) = split_batch(results, |id, ()| IdOnly { id });
        Self {
            successful,
            failed,
            entry_element,
        }
    }
}

impl XmlResult for IdOnlyBatchOutput {
    fn write_result(&self, xml: &mut XmlWriter) {
        for success in &self.successful {
            xml.element(self.entry_element, |xml| {
                xml.text_element("Id", &success.id)
            });
        }
        write_failures(xml, &self.failed);
    }
}

#[cfg(test)]
mod tests {
    use tern_core::ErrorCode;

    use super::*;
    use crate::codec::result_xml;

    #[test]
    fn id_only_batches_name_their_entries() {
        let results = vec![
            ("ok".to_owned(), Ok(())),
            (
                "gone".to_owned(),
                Err(SqsError::new(
                    ErrorCode::ReceiptHandleIsInvalid,
                    "bad handle",
                )),
            ),
        ];
        let output = IdOnlyBatchOutput::from_results(results, "DeleteMessageBatchResultEntry");
        assert_eq!(
            result_xml(&output),
            "<DeleteMessageBatchResultEntry><Id>ok</Id></DeleteMessageBatchResultEntry>\
             <BatchResultErrorEntry><Id>gone</Id><SenderFault>true</SenderFault>\
             <Code>ReceiptHandleIsInvalid</Code><Message>bad handle</Message>\
             </BatchResultErrorEntry>"
        );
        // The element name is Query-only: the JSON shape is unchanged.
        assert_eq!(
            serde_json::to_value(&output).unwrap(),
            serde_json::json!({
                "Successful": [{"Id": "ok"}],
                "Failed": [{"Id": "gone", "SenderFault": true,
                            "Code": "ReceiptHandleIsInvalid", "Message": "bad handle"}],
            })
        );
    }

    #[test]
    fn empty_replies_have_no_result() {
        assert!(!Empty {}.has_result());
        assert_eq!(result_xml(&Empty {}), "");
    }
}
