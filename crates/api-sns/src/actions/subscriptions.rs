//! Subscribe, Unsubscribe, ListSubscriptions, ListSubscriptionsByTopic,
//! Get/SetSubscriptionAttributes.

use serde::Deserialize;
use tern_aws_wire::query::{Member, XmlResult};
use tern_aws_wire::xml::XmlWriter;
use tern_broker::Broker;
use tern_broker::topics::{SnsError, SubscriptionSummary, TopicsContext};

use super::required;
use super::topics::{AttributesOutput, NextTokenInput};
use crate::codec::{Empty, Entries, Input, string_map};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct SubscribeInput {
    topic_arn: Option<String>,
    protocol: Option<String>,
    endpoint: Option<String>,
    attributes: Option<Entries<String>>,
    /// An HTTP/S subscription's ARN even while it waits for confirmation.
    return_subscription_arn: Option<bool>,
}

impl Input for SubscribeInput {
    const QUERY_MEMBERS: &'static [Member] = &[
        string_map("Attributes"),
        Member::new(
            "ReturnSubscriptionArn",
            "ReturnSubscriptionArn",
            tern_aws_wire::query::Shape::Boolean,
        ),
    ];
}

pub(crate) struct SubscriptionArnOutput(String);

impl XmlResult for SubscriptionArnOutput {
    fn write_result(&self, xml: &mut XmlWriter) {
        xml.text_element("SubscriptionArn", &self.0);
    }
}

pub(crate) async fn subscribe(
    broker: &Broker,
    context: &TopicsContext,
    input: SubscribeInput,
) -> Result<SubscriptionArnOutput, SnsError> {
    let topic_arn = required(input.topic_arn, "TopicArn")?;
    let protocol = required(input.protocol, "Protocol")?;
    let arn = broker
        .subscribe(
            context,
            &topic_arn,
            &protocol,
            input.endpoint.as_deref(),
            Entries::into_map(input.attributes),
            input.return_subscription_arn.unwrap_or(false),
        )
        .await?;
    Ok(SubscriptionArnOutput(arn))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ConfirmSubscriptionInput {
    topic_arn: Option<String>,
    token: Option<String>,
    authenticate_on_unsubscribe: Option<String>,
}

impl Input for ConfirmSubscriptionInput {}

/// Also what a GET of a confirmation's `SubscribeURL` runs.
pub(crate) async fn confirm_subscription(
    broker: &Broker,
    context: &TopicsContext,
    input: ConfirmSubscriptionInput,
) -> Result<SubscriptionArnOutput, SnsError> {
    let topic_arn = required(input.topic_arn, "TopicArn")?;
    let token = required(input.token, "Token")?;
    let arn = broker
        .confirm_subscription(
            context,
            &topic_arn,
            &token,
            input.authenticate_on_unsubscribe.as_deref(),
        )
        .await?;
    Ok(SubscriptionArnOutput(arn))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct SubscriptionArnInput {
    subscription_arn: Option<String>,
}

impl Input for SubscriptionArnInput {}

pub(crate) async fn unsubscribe(
    broker: &Broker,
    context: &TopicsContext,
    input: SubscriptionArnInput,
) -> Result<Empty, SnsError> {
    broker
        .unsubscribe(
            context,
            &required(input.subscription_arn, "SubscriptionArn")?,
        )
        .await?;
    Ok(Empty)
}

pub(crate) struct SubscriptionsOutput {
    subscriptions: Vec<SubscriptionSummary>,
    next_token: Option<String>,
}

impl XmlResult for SubscriptionsOutput {
    fn write_result(&self, xml: &mut XmlWriter) {
        xml.element("Subscriptions", |xml| {
            for subscription in &self.subscriptions {
                xml.element("member", |xml| {
                    xml.text_element("TopicArn", &subscription.topic_arn);
                    xml.text_element("Protocol", &subscription.protocol);
                    xml.text_element("SubscriptionArn", &subscription.subscription_arn);
                    xml.text_element("Owner", &subscription.owner);
                    xml.text_element("Endpoint", &subscription.endpoint);
                });
            }
        });
        xml.optional_element("NextToken", self.next_token.as_deref());
    }
}

pub(crate) fn list_subscriptions(
    broker: &Broker,
    context: &TopicsContext,
    input: NextTokenInput,
) -> Result<SubscriptionsOutput, SnsError> {
    let page = broker.list_subscriptions(context, None, input.next_token.as_deref())?;
    Ok(SubscriptionsOutput {
        subscriptions: page.subscriptions,
        next_token: page.next_token,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ListSubscriptionsByTopicInput {
    topic_arn: Option<String>,
    next_token: Option<String>,
}

impl Input for ListSubscriptionsByTopicInput {}

pub(crate) fn list_subscriptions_by_topic(
    broker: &Broker,
    context: &TopicsContext,
    input: ListSubscriptionsByTopicInput,
) -> Result<SubscriptionsOutput, SnsError> {
    let topic_arn = required(input.topic_arn, "TopicArn")?;
    let page = broker.list_subscriptions(context, Some(&topic_arn), input.next_token.as_deref())?;
    Ok(SubscriptionsOutput {
        subscriptions: page.subscriptions,
        next_token: page.next_token,
    })
}

pub(crate) fn get_subscription_attributes(
    broker: &Broker,
    context: &TopicsContext,
    input: SubscriptionArnInput,
) -> Result<AttributesOutput, SnsError> {
    let arn = required(input.subscription_arn, "SubscriptionArn")?;
    Ok(AttributesOutput(
        broker.subscription_attributes(context, &arn)?,
    ))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct SetSubscriptionAttributesInput {
    subscription_arn: Option<String>,
    attribute_name: Option<String>,
    attribute_value: Option<String>,
}

impl Input for SetSubscriptionAttributesInput {}

pub(crate) async fn set_subscription_attributes(
    broker: &Broker,
    input: SetSubscriptionAttributesInput,
) -> Result<Empty, SnsError> {
    let arn = required(input.subscription_arn, "SubscriptionArn")?;
    let name = required(input.attribute_name, "AttributeName")?;
    broker
        .set_subscription_attribute(&arn, &name, input.attribute_value.as_deref().unwrap_or(""))
        .await?;
    Ok(Empty)
}
