//! TagResource, UntagResource, ListTagsForResource (state machines and activities).

use serde::Deserialize;
use serde_json::json;
use tern_sfn::Engine;

use crate::ApiResult;
use crate::shapes::{Tag, required, tag_list, tag_pairs};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TagInput {
    resource_arn: Option<String>,
    tags: Option<Vec<Tag>>,
}

pub async fn tag(engine: &Engine, input: TagInput) -> ApiResult {
    let arn = required("resourceArn", input.resource_arn)?;
    let tags = tag_pairs(Some(required("tags", input.tags)?))?;
    engine.change_tags(&arn, &tags, &[]).await?;
    Ok(json!({}))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UntagInput {
    resource_arn: Option<String>,
    tag_keys: Option<Vec<String>>,
}

pub async fn untag(engine: &Engine, input: UntagInput) -> ApiResult {
    let arn = required("resourceArn", input.resource_arn)?;
    let keys = required("tagKeys", input.tag_keys)?;
    engine.change_tags(&arn, &[], &keys).await?;
    Ok(json!({}))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListInput {
    resource_arn: Option<String>,
}

pub fn list(engine: &Engine, input: ListInput) -> ApiResult {
    let tags = engine.list_tags(&required("resourceArn", input.resource_arn)?)?;
    Ok(json!({"tags": tag_list(&tags)}))
}
