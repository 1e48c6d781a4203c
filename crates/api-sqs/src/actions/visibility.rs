//! ChangeMessageVisibility and ChangeMessageVisibilityBatch.

use serde::Deserialize;
use tern_aws_wire::query::{Member, Shape};
use tern_broker::{Broker, VisibilityRequest};
use tern_core::SqsError;

use crate::codec::Input;
use crate::shapes::{Empty, IdOnlyBatchOutput, non_negative};
use crate::{RequestContext, required};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ChangeMessageVisibilityInput {
    queue_url: Option<String>,
    receipt_handle: Option<String>,
    visibility_timeout: Option<i64>,
}

impl Input for ChangeMessageVisibilityInput {
    const QUERY_MEMBERS: &'static [Member] = &[Member::integer("VisibilityTimeout")];
}

fn visibility_request(
    handle: Option<String>,
    timeout: Option<i64>,
) -> Result<VisibilityRequest, SqsError> {
    Ok(VisibilityRequest {
        receipt_handle: required(handle, "ReceiptHandle")?,
        visibility_timeout_seconds: required(
            non_negative("VisibilityTimeout", timeout)?,
            "VisibilityTimeout",
        )?,
    })
}

pub(crate) async fn change_message_visibility(
    broker: &Broker,
    context: &RequestContext,
    input: ChangeMessageVisibilityInput,
) -> Result<Empty, SqsError> {
    let name = context.queue_name(input.queue_url.as_deref())?;
    let request = visibility_request(input.receipt_handle, input.visibility_timeout)?;
    broker.change_message_visibility(&name, request).await?;
    Ok(Empty {})
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ChangeMessageVisibilityBatchInput {
    queue_url: Option<String>,
    entries: Option<Vec<ChangeMessageVisibilityBatchEntry>>,
}

impl Input for ChangeMessageVisibilityBatchInput {
    const QUERY_MEMBERS: &'static [Member] = &[Member::new(
        "ChangeMessageVisibilityBatchRequestEntry",
        "Entries",
        Shape::List(&Shape::Structure(&[Member::integer("VisibilityTimeout")])),
    )];
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ChangeMessageVisibilityBatchEntry {
    id: Option<String>,
    receipt_handle: Option<String>,
    visibility_timeout: Option<i64>,
}

pub(crate) async fn change_message_visibility_batch(
    broker: &Broker,
    context: &RequestContext,
    input: ChangeMessageVisibilityBatchInput,
) -> Result<IdOnlyBatchOutput, SqsError> {
    let name = context.queue_name(input.queue_url.as_deref())?;
    let entries = required(input.entries, "Entries")?
        .into_iter()
        .map(|entry| {
            let id = required(entry.id, "Id")?;
            Ok((
                id,
                visibility_request(entry.receipt_handle, entry.visibility_timeout)?,
            ))
        })
        .collect::<Result<Vec<_>, SqsError>>()?;
    let results = broker
        .change_message_visibility_batch(&name, entries)
        .await?;
    Ok(IdOnlyBatchOutput::from_results(
        results,
        "ChangeMessageVisibilityBatchResultEntry",
    ))
}
