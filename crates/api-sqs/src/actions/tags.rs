//! TagQueue, UntagQueue, ListQueueTags.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tern_broker::Broker;
use tern_core::SqsError;

use crate::shapes::Empty;
use crate::{RequestContext, encode, parse_input, required};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TagQueueInput {
    queue_url: Option<String>,
    tags: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct UntagQueueInput {
    queue_url: Option<String>,
    tag_keys: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListQueueTagsInput {
    queue_url: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ListQueueTagsOutput {
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    tags: BTreeMap<String, String>,
}

pub async fn tag_queue(
    broker: &Broker,
    context: &RequestContext,
    body: &[u8],
) -> Result<Vec<u8>, SqsError> {
    let input: TagQueueInput = parse_input(body)?;
    let name = context.queue_name(input.queue_url.as_deref())?;
    broker
        .tag_queue(&name, required(input.tags, "Tags")?)
        .await?;
    encode(&Empty {})
}

pub async fn untag_queue(
    broker: &Broker,
    context: &RequestContext,
    body: &[u8],
) -> Result<Vec<u8>, SqsError> {
    let input: UntagQueueInput = parse_input(body)?;
    let name = context.queue_name(input.queue_url.as_deref())?;
    broker
        .untag_queue(&name, required(input.tag_keys, "TagKeys")?)
        .await?;
    encode(&Empty {})
}

pub fn list_queue_tags(
    broker: &Broker,
    context: &RequestContext,
    body: &[u8],
) -> Result<Vec<u8>, SqsError> {
    let input: ListQueueTagsInput = parse_input(body)?;
    let name = context.queue_name(input.queue_url.as_deref())?;
    encode(&ListQueueTagsOutput {
        tags: broker.queue_tags(&name)?,
    })
}
