//! AddPermission and RemovePermission.

use serde::Deserialize;
use tern_aws_wire::query::Member;
use tern_broker::Broker;
use tern_core::SqsError;

use crate::codec::Input;
use crate::shapes::{Empty, string_list};
use crate::{RequestContext, required};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct AddPermissionInput {
    queue_url: Option<String>,
    label: Option<String>,
    #[serde(rename = "AWSAccountIds")]
    aws_account_ids: Option<Vec<String>>,
    actions: Option<Vec<String>>,
}

impl Input for AddPermissionInput {
    const QUERY_MEMBERS: &'static [Member] = &[
        string_list("AWSAccountId", "AWSAccountIds"),
        string_list("ActionName", "Actions"),
    ];
}

pub(crate) async fn add_permission(
    broker: &Broker,
    context: &RequestContext,
    input: AddPermissionInput,
) -> Result<Empty, SqsError> {
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
    Ok(Empty {})
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct RemovePermissionInput {
    queue_url: Option<String>,
    label: Option<String>,
}

impl Input for RemovePermissionInput {}

pub(crate) async fn remove_permission(
    broker: &Broker,
    context: &RequestContext,
    input: RemovePermissionInput,
) -> Result<Empty, SqsError> {
    let name = context.queue_name(input.queue_url.as_deref())?;
    let label = required(input.label, "Label")?;
    broker.remove_permission(&name, &label).await?;
    Ok(Empty {})
}
