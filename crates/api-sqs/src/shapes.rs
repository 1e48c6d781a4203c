//! JSON shapes shared by several actions.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
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

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BatchFailure {
    pub id: String,
    pub sender_fault: bool,
    pub code: &'static str,
    pub message: String,
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

/// The `{}` reply of actions that return nothing.
#[derive(Serialize)]
pub struct Empty {}

/// The reply of DeleteMessageBatch and ChangeMessageVisibilityBatch: successes carry only ids.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct IdOnlyBatchOutput {
    pub successful: Vec<IdOnly>,
    pub failed: Vec<BatchFailure>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct IdOnly {
    pub id: String,
}

impl IdOnlyBatchOutput {
    pub fn from_results(results: BatchResults<()>) -> Self {
        let (successful, failed) = split_batch(results, |id, ()| IdOnly { id });
        Self { successful, failed }
    }
}
