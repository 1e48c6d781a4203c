//! CreateQueue, GetQueueUrl, ListQueues, DeleteQueue, Get/SetQueueAttributes, PurgeQueue,
//! ListDeadLetterSourceQueues.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tern_aws_wire::query::{Member, XmlResult};
use tern_aws_wire::xml::XmlWriter;
use tern_broker::Broker;
use tern_core::SqsError;

use crate::codec::Input;
use crate::shapes::{Empty, QUEUE_ATTRIBUTES, string_list, tags, write_string_map};
use crate::{RequestContext, required};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct CreateQueueInput {
    queue_name: Option<String>,
    attributes: Option<BTreeMap<String, String>>,
    #[serde(rename = "tags")]
    tags: Option<BTreeMap<String, String>>,
}

impl Input for CreateQueueInput {
    const QUERY_MEMBERS: &'static [Member] = &[QUEUE_ATTRIBUTES, tags("tags")];
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct QueueUrlOutput {
    queue_url: String,
}

impl XmlResult for QueueUrlOutput {
    fn write_result(&self, xml: &mut XmlWriter) {
        xml.text_element("QueueUrl", &self.queue_url);
    }
}

pub(crate) async fn create_queue(
    broker: &Broker,
    context: &RequestContext,
    input: CreateQueueInput,
) -> Result<QueueUrlOutput, SqsError> {
    let name = required(input.queue_name, "QueueName")?;
    let record = broker
        .create_queue(
            &name,
            input.attributes.unwrap_or_default(),
            input.tags.unwrap_or_default(),
        )
        .await?;
    Ok(QueueUrlOutput {
        queue_url: context.queue_url(&record.name),
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct GetQueueUrlInput {
    queue_name: Option<String>,
    #[serde(rename = "QueueOwnerAWSAccountId")]
    queue_owner_aws_account_id: Option<String>,
}

impl Input for GetQueueUrlInput {}

pub(crate) fn get_queue_url(
    broker: &Broker,
    context: &RequestContext,
    input: GetQueueUrlInput,
) -> Result<QueueUrlOutput, SqsError> {
    let name = required(input.queue_name, "QueueName")?;
    if input
        .queue_owner_aws_account_id
        .is_some_and(|owner| owner != context.account_id)
    {
        return Err(SqsError::queue_does_not_exist());
    }
    let record = broker.queue(&name)?;
    Ok(QueueUrlOutput {
        queue_url: context.queue_url(&record.name),
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ListQueuesInput {
    queue_name_prefix: Option<String>,
    next_token: Option<String>,
    max_results: Option<i64>,
}

impl Input for ListQueuesInput {
    const QUERY_MEMBERS: &'static [Member] = &[Member::integer("MaxResults")];
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ListQueuesOutput {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    queue_urls: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

impl XmlResult for ListQueuesOutput {
    fn write_result(&self, xml: &mut XmlWriter) {
        write_queue_urls(xml, &self.queue_urls, self.next_token.as_deref());
    }
}

/// `<QueueUrl>` per queue (a flattened list), then `<NextToken>` if there is another page.
fn write_queue_urls(xml: &mut XmlWriter, urls: &[String], next_token: Option<&str>) {
    for url in urls {
        xml.text_element("QueueUrl", url);
    }
    xml.optional_element("NextToken", next_token);
}

pub(crate) fn list_queues(
    broker: &Broker,
    context: &RequestContext,
    input: ListQueuesInput,
) -> Result<ListQueuesOutput, SqsError> {
    let max_results = max_results(input.max_results)?;
    let page = broker.list_queues(
        input.queue_name_prefix.as_deref(),
        max_results,
        input.next_token.as_deref(),
    )?;
    Ok(ListQueuesOutput {
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
pub(crate) struct QueueUrlInput {
    queue_url: Option<String>,
}

impl Input for QueueUrlInput {}

pub(crate) async fn delete_queue(
    broker: &Broker,
    context: &RequestContext,
    input: QueueUrlInput,
) -> Result<Empty, SqsError> {
    let name = context.queue_name(input.queue_url.as_deref())?;
    broker.delete_queue(&name).await?;
    Ok(Empty {})
}

pub(crate) async fn purge_queue(
    broker: &Broker,
    context: &RequestContext,
    input: QueueUrlInput,
) -> Result<Empty, SqsError> {
    let name = context.queue_name(input.queue_url.as_deref())?;
    broker.purge_queue(&name).await?;
    Ok(Empty {})
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct GetQueueAttributesInput {
    queue_url: Option<String>,
    attribute_names: Option<Vec<String>>,
}

impl Input for GetQueueAttributesInput {
    const QUERY_MEMBERS: &'static [Member] = &[string_list("AttributeName", "AttributeNames")];
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct AttributesOutput {
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    attributes: BTreeMap<String, String>,
}

impl XmlResult for AttributesOutput {
    fn write_result(&self, xml: &mut XmlWriter) {
        write_string_map(
            xml,
            "Attribute",
            "Name",
            self.attributes
                .iter()
                .map(|(name, value)| (name.as_str(), value.as_str())),
        );
    }
}

pub(crate) async fn get_queue_attributes(
    broker: &Broker,
    context: &RequestContext,
    input: GetQueueAttributesInput,
) -> Result<AttributesOutput, SqsError> {
    let name = context.queue_name(input.queue_url.as_deref())?;
    let requested = input.attribute_names.unwrap_or_default();
    let values = broker
        .queue_attributes(&name, &requested, &context.queue_arn(&name))
        .await?;
    Ok(AttributesOutput {
        attributes: values.into_iter().collect(),
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct SetQueueAttributesInput {
    queue_url: Option<String>,
    attributes: Option<BTreeMap<String, String>>,
}

impl Input for SetQueueAttributesInput {
    const QUERY_MEMBERS: &'static [Member] = &[QUEUE_ATTRIBUTES];
}

pub(crate) async fn set_queue_attributes(
    broker: &Broker,
    context: &RequestContext,
    input: SetQueueAttributesInput,
) -> Result<Empty, SqsError> {
    let name = context.queue_name(input.queue_url.as_deref())?;
    let attributes = required(input.attributes, "Attributes")?;
    broker.set_queue_attributes(&name, attributes).await?;
    Ok(Empty {})
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ListDeadLetterSourceQueuesInput {
    queue_url: Option<String>,
    next_token: Option<String>,
    max_results: Option<i64>,
}

impl Input for ListDeadLetterSourceQueuesInput {
    const QUERY_MEMBERS: &'static [Member] = &[Member::integer("MaxResults")];
}

/// SQS spells this member in camel case, unlike every other.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ListDeadLetterSourceQueuesOutput {
    #[serde(rename = "queueUrls")]
    queue_urls: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

impl XmlResult for ListDeadLetterSourceQueuesOutput {
    fn write_result(&self, xml: &mut XmlWriter) {
        write_queue_urls(xml, &self.queue_urls, self.next_token.as_deref());
    }
}

pub(crate) fn list_dead_letter_source_queues(
    broker: &Broker,
    context: &RequestContext,
    input: ListDeadLetterSourceQueuesInput,
) -> Result<ListDeadLetterSourceQueuesOutput, SqsError> {
    let name = context.queue_name(input.queue_url.as_deref())?;
    let max_results = max_results(input.max_results)?;
    let page = broker.dead_letter_source_queues(&name, max_results, input.next_token.as_deref())?;
    Ok(ListDeadLetterSourceQueuesOutput {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::result_xml;

    #[test]
    fn queue_url_replies() {
        assert_eq!(
            result_xml(&QueueUrlOutput {
                queue_url: "http://h/1/q".into()
            }),
            "<QueueUrl>http://h/1/q</QueueUrl>"
        );
        assert_eq!(
            result_xml(&ListQueuesOutput {
                queue_urls: vec!["http://h/1/a".into(), "http://h/1/b".into()],
                next_token: Some("t".into()),
            }),
            "<QueueUrl>http://h/1/a</QueueUrl><QueueUrl>http://h/1/b</QueueUrl>\
             <NextToken>t</NextToken>"
        );
        assert_eq!(
            result_xml(&ListQueuesOutput {
                queue_urls: Vec::new(),
                next_token: None,
            }),
            ""
        );
        assert_eq!(
            result_xml(&ListDeadLetterSourceQueuesOutput {
                queue_urls: vec!["http://h/1/src".into()],
                next_token: None,
            }),
            "<QueueUrl>http://h/1/src</QueueUrl>"
        );
    }

    #[test]
    fn attributes_are_name_value_pairs() {
        let output = AttributesOutput {
            attributes: BTreeMap::from([
                ("DelaySeconds".to_owned(), "0".to_owned()),
                ("Policy".to_owned(), r#"{"a":"<b>"}"#.to_owned()),
            ]),
        };
        assert_eq!(
            result_xml(&output),
            "<Attribute><Name>DelaySeconds</Name><Value>0</Value></Attribute>\
             <Attribute><Name>Policy</Name><Value>{\"a\":\"&lt;b&gt;\"}</Value></Attribute>"
        );
    }
}
