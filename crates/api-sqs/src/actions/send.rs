//! SendMessage and SendMessageBatch.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tern_broker::{Broker, SendOutcome, SendRequest};
use tern_core::SqsError;

use crate::shapes::{
    BatchFailure, MessageAttributeShape, decode_attributes, non_negative, split_batch,
};
use crate::{RequestContext, encode, parse_input, required};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SendMessageInput {
    queue_url: Option<String>,
    #[serde(flatten)]
    message: MessageFields,
}

/// What SendMessage and each SendMessageBatch entry say about one message.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct MessageFields {
    message_body: Option<String>,
    delay_seconds: Option<i64>,
    message_attributes: Option<BTreeMap<String, MessageAttributeShape>>,
    message_group_id: Option<String>,
    message_deduplication_id: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct SendMessageOutput {
    message_id: String,
    #[serde(rename = "MD5OfMessageBody")]
    md5_of_message_body: String,
    #[serde(
        rename = "MD5OfMessageAttributes",
        skip_serializing_if = "Option::is_none"
    )]
    md5_of_message_attributes: Option<String>,
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
            sequence_number: outcome.sequence_number,
        }
    }
}

fn send_request(fields: MessageFields) -> Result<SendRequest, SqsError> {
    Ok(SendRequest {
        body: required(fields.message_body, "MessageBody")?,
        attributes: decode_attributes(fields.message_attributes)?,
        delay_seconds: non_negative("DelaySeconds", fields.delay_seconds)?,
        message_group_id: fields.message_group_id,
        message_deduplication_id: fields.message_deduplication_id,
    })
}

pub async fn send_message(
    broker: &Broker,
    context: &RequestContext,
    body: &[u8],
) -> Result<Vec<u8>, SqsError> {
    let input: SendMessageInput = parse_input(body)?;
    let name = context.queue_name(input.queue_url.as_deref())?;
    let request = send_request(input.message)?;
    let outcome = broker
        .send_message(&name, request, context.sender_id())
        .await?;
    encode(&SendMessageOutput::from(outcome))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SendMessageBatchInput {
    queue_url: Option<String>,
    entries: Option<Vec<SendMessageBatchEntry>>,
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
struct SendMessageBatchOutput {
    successful: Vec<SendMessageBatchSuccess>,
    failed: Vec<BatchFailure>,
}

pub async fn send_message_batch(
    broker: &Broker,
    context: &RequestContext,
    body: &[u8],
) -> Result<Vec<u8>, SqsError> {
    let input: SendMessageBatchInput = parse_input(body)?;
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
    encode(&SendMessageBatchOutput { successful, failed })
}
