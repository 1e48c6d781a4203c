//! DeleteMessage and DeleteMessageBatch.

use serde::Deserialize;
use tern_broker::Broker;
use tern_core::SqsError;

use crate::shapes::{Empty, IdOnlyBatchOutput};
use crate::{RequestContext, encode, parse_input, required};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DeleteMessageInput {
    queue_url: Option<String>,
    receipt_handle: Option<String>,
}

pub async fn delete_message(
    broker: &Broker,
    context: &RequestContext,
    body: &[u8],
) -> Result<Vec<u8>, SqsError> {
    let input: DeleteMessageInput = parse_input(body)?;
    let name = context.queue_name(input.queue_url.as_deref())?;
    let handle = required(input.receipt_handle, "ReceiptHandle")?;
    broker.delete_message(&name, &handle).await?;
    encode(&Empty {})
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DeleteMessageBatchInput {
    queue_url: Option<String>,
    entries: Option<Vec<DeleteMessageBatchEntry>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DeleteMessageBatchEntry {
    id: Option<String>,
    receipt_handle: Option<String>,
}

pub async fn delete_message_batch(
    broker: &Broker,
    context: &RequestContext,
    body: &[u8],
) -> Result<Vec<u8>, SqsError> {
    let input: DeleteMessageBatchInput = parse_input(body)?;
    let name = context.queue_name(input.queue_url.as_deref())?;
    let entries = required(input.entries, "Entries")?
        .into_iter()
        .map(|entry| {
            Ok((
                required(entry.id, "Id")?,
                required(entry.receipt_handle, "ReceiptHandle")?,
            ))
        })
        .collect::<Result<Vec<_>, SqsError>>()?;
    let results = broker.delete_message_batch(&name, entries).await?;
    encode(&IdOnlyBatchOutput::from_results(results))
}
