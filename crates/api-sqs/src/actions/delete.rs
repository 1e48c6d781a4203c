//! DeleteMessage and DeleteMessageBatch.

use serde::Deserialize;
use tern_aws_wire::query::{Member, Shape};
use tern_broker::Broker;
use tern_core::SqsError;

use crate::codec::Input;
use crate::shapes::{Empty, IdOnlyBatchOutput};
use crate::{RequestContext, required};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct DeleteMessageInput {
    queue_url: Option<String>,
    receipt_handle: Option<String>,
}

impl Input for DeleteMessageInput {}

pub(crate) async fn delete_message(
    broker: &Broker,
    context: &RequestContext,
    input: DeleteMessageInput,
) -> Result<Empty, SqsError> {
    let name = context.queue_name(input.queue_url.as_deref())?;
    let handle = required(input.receipt_handle, "ReceiptHandle")?;
    broker.delete_message(&name, &handle).await?;
    Ok(Empty {})
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct DeleteMessageBatchInput {
    queue_url: Option<String>,
    entries: Option<Vec<DeleteMessageBatchEntry>>,
}

impl Input for DeleteMessageBatchInput {
    const QUERY_MEMBERS: &'static [Member] = &[Member::new(
        "DeleteMessageBatchRequestEntry",
        "Entries",
        Shape::List(&Shape::Structure(&[])),
    )];
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DeleteMessageBatchEntry {
    id: Option<String>,
    receipt_handle: Option<String>,
}

pub(crate) async fn delete_message_batch(
    broker: &Broker,
    context: &RequestContext,
    input: DeleteMessageBatchInput,
) -> Result<IdOnlyBatchOutput, SqsError> {
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
    Ok(IdOnlyBatchOutput::from_results(
        results,
        "DeleteMessageBatchResultEntry",
    ))
}
