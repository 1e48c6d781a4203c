//! TagQueue, UntagQueue, ListQueueTags.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tern_aws_wire::query::{Member, XmlResult};
use tern_aws_wire::xml::XmlWriter;
use tern_broker::Broker;
use tern_core::SqsError;

use crate::codec::Input;
use crate::shapes::{Empty, string_list, tags, write_string_map};
use crate::{RequestContext, required};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct TagQueueInput {
    queue_url: Option<String>,
    tags: Option<BTreeMap<String, String>>,
}

impl Input for TagQueueInput {
    const QUERY_MEMBERS: &'static [Member] = &[tags("Tags")];
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct UntagQueueInput {
    queue_url: Option<String>,
    tag_keys: Option<Vec<String>>,
}

impl Input for UntagQueueInput {
    const QUERY_MEMBERS: &'static [Member] = &[string_list("TagKey", "TagKeys")];
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ListQueueTagsInput {
    queue_url: Option<String>,
}

impl Input for ListQueueTagsInput {}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ListQueueTagsOutput {
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    tags: BTreeMap<String, String>,
}

impl XmlResult for ListQueueTagsOutput {
    fn write_result(&self, xml: &mut XmlWriter) {
        write_string_map(
            xml,
            "Tag",
            "Key",
            self.tags
                .iter()
                .map(|(key, value)| (key.as_str(), value.as_str())),
        );
    }
}

pub(crate) async fn tag_queue(
    broker: &Broker,
    context: &RequestContext,
    input: TagQueueInput,
) -> Result<Empty, SqsError> {
    let name = context.queue_name(input.queue_url.as_deref())?;
    broker
        .tag_queue(&name, required(input.tags, "Tags")?)
        .await?;
    Ok(Empty {})
}

pub(crate) async fn untag_queue(
    broker: &Broker,
    context: &RequestContext,
    input: UntagQueueInput,
) -> Result<Empty, SqsError> {
    let name = context.queue_name(input.queue_url.as_deref())?;
    broker
        .untag_queue(&name, required(input.tag_keys, "TagKeys")?)
        .await?;
    Ok(Empty {})
}

pub(crate) fn list_queue_tags(
    broker: &Broker,
    context: &RequestContext,
    input: ListQueueTagsInput,
) -> Result<ListQueueTagsOutput, SqsError> {
    let name = context.queue_name(input.queue_url.as_deref())?;
    Ok(ListQueueTagsOutput {
        tags: broker.queue_tags(&name)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::result_xml;

    #[test]
    fn tags_are_key_value_pairs() {
        let output = ListQueueTagsOutput {
            tags: BTreeMap::from([
                ("env".to_owned(), "prod".to_owned()),
                ("team".to_owned(), String::new()),
            ]),
        };
        assert_eq!(
            result_xml(&output),
            "<Tag><Key>env</Key><Value>prod</Value></Tag><Tag><Key>team</Key><Value></Value></Tag>"
        );
    }
}
