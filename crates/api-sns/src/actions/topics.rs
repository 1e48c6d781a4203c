//! CreateTopic, DeleteTopic, ListTopics, Get/SetTopicAttributes, TagResource, UntagResource,
//! ListTagsForResource.

use std::collections::BTreeMap;

use serde::Deserialize;
use tern_aws_wire::query::{Member, XmlResult};
use tern_aws_wire::xml::XmlWriter;
use tern_broker::Broker;
use tern_broker::topics::{SnsError, TopicSettings, TopicsContext};

use super::required;
use crate::codec::{
    Empty, EmptyResult, Entries, Input, Members, Tag, string_map, string_members, tag_members,
    write_entries,
};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct CreateTopicInput {
    name: Option<String>,
    attributes: Option<Entries<String>>,
    tags: Option<Members<Tag>>,
}

impl Input for CreateTopicInput {
    const QUERY_MEMBERS: &'static [Member] = &[string_map("Attributes"), tag_members("Tags")];
}

pub(crate) struct TopicArnOutput(String);

impl XmlResult for TopicArnOutput {
    fn write_result(&self, xml: &mut XmlWriter) {
        xml.text_element("TopicArn", &self.0);
    }
}

fn tags(members: Option<Members<Tag>>) -> Result<BTreeMap<String, String>, SnsError> {
    Members::into_vec(members)
        .into_iter()
        .map(|tag| match tag.key {
            Some(key) => Ok((key, tag.value.unwrap_or_default())),
            None => Err(SnsError::invalid_parameter("Tags Reason: a tag has no Key")),
        })
        .collect()
}

pub(crate) async fn create_topic(
    broker: &Broker,
    context: &TopicsContext,
    input: CreateTopicInput,
) -> Result<TopicArnOutput, SnsError> {
    let name = required(input.name, "Name")?;
    let settings = TopicSettings {
        attributes: Entries::into_map(input.attributes),
        tags: tags(input.tags)?,
    };
    Ok(TopicArnOutput(
        broker.create_topic(context, &name, settings).await?,
    ))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct TopicArnInput {
    topic_arn: Option<String>,
}

impl Input for TopicArnInput {}

pub(crate) async fn delete_topic(broker: &Broker, input: TopicArnInput) -> Result<Empty, SnsError> {
    broker
        .delete_topic(&required(input.topic_arn, "TopicArn")?)
        .await?;
    Ok(Empty)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct NextTokenInput {
    pub(crate) next_token: Option<String>,
}

impl Input for NextTokenInput {}

pub(crate) struct ListTopicsOutput {
    topic_arns: Vec<String>,
    next_token: Option<String>,
}

impl XmlResult for ListTopicsOutput {
    fn write_result(&self, xml: &mut XmlWriter) {
        xml.element("Topics", |xml| {
            for arn in &self.topic_arns {
                xml.element("member", |xml| xml.text_element("TopicArn", arn));
            }
        });
        xml.optional_element("NextToken", self.next_token.as_deref());
    }
}

pub(crate) fn list_topics(
    broker: &Broker,
    context: &TopicsContext,
    input: NextTokenInput,
) -> Result<ListTopicsOutput, SnsError> {
    let page = broker.list_topics(context, input.next_token.as_deref())?;
    Ok(ListTopicsOutput {
        topic_arns: page.topic_arns,
        next_token: page.next_token,
    })
}

pub(crate) struct AttributesOutput(pub(crate) BTreeMap<String, String>);

impl XmlResult for AttributesOutput {
    fn write_result(&self, xml: &mut XmlWriter) {
        write_entries(xml, "Attributes", &self.0);
    }
}

pub(crate) fn get_topic_attributes(
    broker: &Broker,
    context: &TopicsContext,
    input: TopicArnInput,
) -> Result<AttributesOutput, SnsError> {
    let arn = required(input.topic_arn, "TopicArn")?;
    Ok(AttributesOutput(broker.topic_attributes(context, &arn)?))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct SetTopicAttributesInput {
    topic_arn: Option<String>,
    attribute_name: Option<String>,
    attribute_value: Option<String>,
}

impl Input for SetTopicAttributesInput {}

pub(crate) async fn set_topic_attributes(
    broker: &Broker,
    input: SetTopicAttributesInput,
) -> Result<Empty, SnsError> {
    let arn = required(input.topic_arn, "TopicArn")?;
    let name = required(input.attribute_name, "AttributeName")?;
    broker
        .set_topic_attribute(&arn, &name, input.attribute_value.as_deref().unwrap_or(""))
        .await?;
    Ok(Empty)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct TagResourceInput {
    resource_arn: Option<String>,
    tags: Option<Members<Tag>>,
}

impl Input for TagResourceInput {
    const QUERY_MEMBERS: &'static [Member] = &[tag_members("Tags")];
}

pub(crate) async fn tag_resource(
    broker: &Broker,
    input: TagResourceInput,
) -> Result<EmptyResult, SnsError> {
    let arn = required(input.resource_arn, "ResourceArn")?;
    broker.tag_resource(&arn, tags(input.tags)?).await?;
    Ok(EmptyResult)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct UntagResourceInput {
    resource_arn: Option<String>,
    tag_keys: Option<Members<String>>,
}

impl Input for UntagResourceInput {
    const QUERY_MEMBERS: &'static [Member] = &[string_members("TagKeys")];
}

pub(crate) async fn untag_resource(
    broker: &Broker,
    input: UntagResourceInput,
) -> Result<EmptyResult, SnsError> {
    let arn = required(input.resource_arn, "ResourceArn")?;
    broker
        .untag_resource(&arn, &Members::into_vec(input.tag_keys))
        .await?;
    Ok(EmptyResult)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ListTagsForResourceInput {
    resource_arn: Option<String>,
}

impl Input for ListTagsForResourceInput {}

pub(crate) struct TagsOutput(BTreeMap<String, String>);

impl XmlResult for TagsOutput {
    fn write_result(&self, xml: &mut XmlWriter) {
        xml.element("Tags", |xml| {
            for (key, value) in &self.0 {
                xml.element("member", |xml| {
                    xml.text_element("Key", key);
                    xml.text_element("Value", value);
                });
            }
        });
    }
}

pub(crate) fn list_tags_for_resource(
    broker: &Broker,
    input: ListTagsForResourceInput,
) -> Result<TagsOutput, SnsError> {
    let arn = required(input.resource_arn, "ResourceArn")?;
    Ok(TagsOutput(broker.list_tags_for_resource(&arn)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::result_xml;

    #[test]
    fn lists_and_maps_use_member_and_entry() {
        let topics = ListTopicsOutput {
            topic_arns: vec!["arn:aws:sns:r:1:a".into()],
            next_token: Some("t".into()),
        };
        assert_eq!(
            result_xml(&topics),
            "<Topics><member><TopicArn>arn:aws:sns:r:1:a</TopicArn></member></Topics><NextToken>t</NextToken>"
        );
        let attributes = AttributesOutput(BTreeMap::from([("A".into(), "1".into())]));
        assert_eq!(
            result_xml(&attributes),
            "<Attributes><entry><key>A</key><value>1</value></entry></Attributes>"
        );
        let tags = TagsOutput(BTreeMap::from([("k".into(), "v".into())]));
        assert_eq!(
            result_xml(&tags),
            "<Tags><member><Key>k</Key><Value>v</Value></member></Tags>"
        );
    }
}
