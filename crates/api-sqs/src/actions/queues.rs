//! CreateQueue, GetQueueUrl, ListQueues, DeleteQueue, Get/SetQueueAttributes, PurgeQueue.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tern_broker::Broker;
use tern_core::SqsError;

use crate::shapes::Empty;
use crate::{RequestContext, encode, parse_input, required};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CreateQueueInput {
    queue_name: Option<String>,
    attributes: Option<BTreeMap<String, String>>,
    #[serde(rename = "tags")]
    tags: Option<BTreeMap<String, String>>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct QueueUrlOutput {
    queue_url: String,
}

pub async fn create_queue(
    broker: &Broker,
    context: &RequestContext,
    body: &[u8],
) -> Result<Vec<u8>, SqsError> {
    let input: CreateQueueInput = parse_input(body)?;
    let name = required(input.queue_name, "QueueName")?;
    let record = broker
        .create_queue(
            &name,
            input.attributes.unwrap_or_default(),
            input.tags.unwrap_or_default(),
        )
        .await?;
    encode(&QueueUrlOutput {
        queue_url: context.queue_url(&record.name),
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GetQueueUrlInput {
    queue_name: Option<String>,
    #[serde(rename = "QueueOwnerAWSAccountId")]
    queue_owner_aws_account_id: Option<String>,
}

pub fn get_queue_url(
    broker: &Broker,
    context: &RequestContext,
    body: &[u8],
) -> Result<Vec<u8>, SqsError> {
    let input: GetQueueUrlInput = parse_input(body)?;
    let name = required(input.queue_name, "QueueName")?;
    if input
        .queue_owner_aws_account_id
        .is_some_and(|owner| owner != context.account_id)
    {
        return Err(SqsError::queue_does_not_exist());
    }
    let record = broker.queue(&name)?;
    encode(&QueueUrlOutput {
        queue_url: context.queue_url(&record.name),
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListQueuesInput {
    queue_name_prefix: Option<String>,
    next_token: Option<String>,
    max_results: Option<i64>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ListQueuesOutput {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    queue_urls: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

pub fn list_queues(
    broker: &Broker,
    context: &RequestContext,
    body: &[u8],
) -> Result<Vec<u8>, SqsError> {
    let input: ListQueuesInput = parse_input(body)?;
    let max_results = max_results(input.max_results)?;
    let page = broker.list_queues(
        input.queue_name_prefix.as_deref(),
        max_results,
        input.next_token.as_deref(),
    )?;
    encode(&ListQueuesOutput {
        queue_urls: page
            .names
            .iter()
            .map(|name| context.queue_url(name))
            .collect(),
        next_token: page.next_token,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct QueueUrlInput {
    queue_url: Option<String>,
}

pub async fn delete_queue(
    broker: &Broker,
    context: &RequestContext,
    body: &[u8],
) -> Result<Vec<u8>, SqsError> {
    let input: QueueUrlInput = parse_input(body)?;
    let name = context.queue_name(input.queue_url.as_deref())?;
    broker.delete_queue(&name).await?;
    encode(&Empty {})
}

pub async fn purge_queue(
    broker: &Broker,
    context: &RequestContext,
    body: &[u8],
) -> Result<Vec<u8>, SqsError> {
    let input: QueueUrlInput = parse_input(body)?;
    let name = context.queue_name(input.queue_url.as_deref())?;
    broker.purge_queue(&name).await?;
    encode(&Empty {})
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GetQueueAttributesInput {
    queue_url: Option<String>,
    attribute_names: Option<Vec<String>>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct AttributesOutput {
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    attributes: BTreeMap<String, String>,
}

pub async fn get_queue_attributes(
    broker: &Broker,
    context: &RequestContext,
    body: &[u8],
) -> Result<Vec<u8>, SqsError> {
    let input: GetQueueAttributesInput = parse_input(body)?;
    let name = context.queue_name(input.queue_url.as_deref())?;
    let requested = input.attribute_names.unwrap_or_default();
    let values = broker
        .queue_attributes(&name, &requested, &context.queue_arn(&name))
        .await?;
    encode(&AttributesOutput {
        attributes: values.into_iter().collect(),
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SetQueueAttributesInput {
    queue_url: Option<String>,
    attributes: Option<BTreeMap<String, String>>,
}

pub async fn set_queue_attributes(
    broker: &Broker,
    context: &RequestContext,
    body: &[u8],
) -> Result<Vec<u8>, SqsError> {
    let input: SetQueueAttributesInput = parse_input(body)?;
    let name = context.queue_name(input.queue_url.as_deref())?;
    let attributes = required(input.attributes, "Attributes")?;
    broker.set_queue_attributes(&name, attributes).await?;
    encode(&Empty {})
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListDeadLetterSourceQueuesInput {
    queue_url: Option<String>,
    next_token: Option<String>,
    max_results: Option<i64>,
}

/// SQS spells this member in camel case, unlike every other.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ListDeadLetterSourceQueuesOutput {
    #[serde(rename = "queueUrls")]
    queue_urls: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

pub fn list_dead_letter_source_queues(
    broker: &Broker,
    context: &RequestContext,
    body: &[u8],
) -> Result<Vec<u8>, SqsError> {
    let input: ListDeadLetterSourceQueuesInput = parse_input(body)?;
    let name = context.queue_name(input.queue_url.as_deref())?;
    let max_results = max_results(input.max_results)?;
    let page = broker.dead_letter_source_queues(&name, max_results, input.next_token.as_deref())?;
    encode(&ListDeadLetterSourceQueuesOutput {
        queue_urls: page
            .names
            .iter()
            .map(|name| context.queue_url(name))
            .collect(),
        next_token: page.next_token,
    })
}

fn max_results(value: Option<i64>) -> Result<Option<u32>, SqsError> {
    value
        .map(|max| {
            u32::try_from(max).map_err(|_| {
                SqsError::invalid_parameter(
                    "MaxResults",
                    max,
                    "MaxResults must be an integer between 1 and 1000.",
                )
            })
        })
        .transpose()
}
