//! AddPermission and RemovePermission.

use serde::Deserialize;
use tern_broker::Broker;
use tern_core::SqsError;

use crate::shapes::Empty;
use crate::{RequestContext, encode, parse_input, required};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AddPermissionInput {
    queue_url: Option<String>,
    label: Option<String>,
    #[serde(rename = "AWSAccountIds")]
    aws_account_ids: Option<Vec<String>>,
    actions: Option<Vec<String>>,
}

pub async fn add_permission(
    broker: &Broker,
    context: &RequestContext,
    body: &[u8],
) -> Result<Vec<u8>, SqsError> {
    let input: AddPermissionInput = parse_input(body)?;
    let name = context.queue_name(input.queue_url.as_deref())?;
    let label = required(input.label, "Label")?;
    let account_ids = required(input.aws_account_ids, "AWSAccountIds")?;
    let actions = required(input.actions, "Actions")?;
    broker
        .add_permission(
            &name,
            &label,
            &account_ids,
            &actions,
            &context.queue_arn(&name),
        )
        .await?;
    encode(&Empty {})
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RemovePermissionInput {
    queue_url: Option<String>,
    label: Option<String>,
}

pub async fn remove_permission(
    broker: &Broker,
    context: &RequestContext,
    body: &[u8],
) -> Result<Vec<u8>, SqsError> {
    let input: RemovePermissionInput = parse_input(body)?;
    let name = context.queue_name(input.queue_url.as_deref())?;
    let label = required(input.label, "Label")?;
    broker.remove_permission(&name, &label).await?;
    encode(&Empty {})
}
