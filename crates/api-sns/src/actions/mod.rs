//! One module per family of SNS actions. Each action is a typed operation — input in, output or
//! `SnsError` out — that calls the broker's topics service and decides no SNS rule of its own.

mod publish;
mod subscriptions;
mod topics;

use tern_aws_wire::query::Params;
use tern_broker::Broker;
use tern_broker::topics::{SnsError, TopicsContext};

use crate::codec::{input, reply};
use crate::errors::RequestError;

/// Every action this front end serves; the server routes a form with one of these to it.
pub const ACTIONS: &[&str] = &[
    "CreateTopic",
    "DeleteTopic",
    "ListTopics",
    "GetTopicAttributes",
    "SetTopicAttributes",
    "Subscribe",
    "ConfirmSubscription",
    "Unsubscribe",
    "ListSubscriptions",
    "ListSubscriptionsByTopic",
    "GetSubscriptionAttributes",
    "SetSubscriptionAttributes",
    "Publish",
    "PublishBatch",
    "TagResource",
    "UntagResource",
    "ListTagsForResource",
];

/// SNS reports a missing required member as an `InvalidParameter`.
pub(crate) fn required<T>(value: Option<T>, name: &str) -> Result<T, SnsError> {
    value.ok_or_else(|| {
        SnsError::invalid_parameter(format!("{name} Reason: no value for required parameter"))
    })
}

pub(crate) async fn dispatch(
    broker: &Broker,
    context: &TopicsContext,
    params: &Params,
    action: &str,
    request_id: &str,
) -> Result<Vec<u8>, RequestError> {
    // `serve!(input => call)`: decode the action's input, run the call, render its output.
    macro_rules! serve {
        ($input:ident => $call:expr) => {{
            let $input = input(params)?;
            Ok(reply(action, request_id, &$call?))
        }};
    }
    match action {
        "CreateTopic" => serve!(input => topics::create_topic(broker, context, input).await),
        "DeleteTopic" => serve!(input => topics::delete_topic(broker, input).await),
        "ListTopics" => serve!(input => topics::list_topics(broker, context, input)),
        "GetTopicAttributes" => {
            serve!(input => topics::get_topic_attributes(broker, context, input))
        }
        "SetTopicAttributes" => serve!(input => topics::set_topic_attributes(broker, input).await),
        "TagResource" => serve!(input => topics::tag_resource(broker, input).await),
        "UntagResource" => serve!(input => topics::untag_resource(broker, input).await),
        "ListTagsForResource" => serve!(input => topics::list_tags_for_resource(broker, input)),
        "Subscribe" => serve!(input => subscriptions::subscribe(broker, context, input).await),
        "ConfirmSubscription" => {
            serve!(input => subscriptions::confirm_subscription(broker, context, input).await)
        }
        "Unsubscribe" => serve!(input => subscriptions::unsubscribe(broker, context, input).await),
        "ListSubscriptions" => {
            serve!(input => subscriptions::list_subscriptions(broker, context, input))
        }
        "ListSubscriptionsByTopic" => {
            serve!(input => subscriptions::list_subscriptions_by_topic(broker, context, input))
        }
        "GetSubscriptionAttributes" => {
            serve!(input => subscriptions::get_subscription_attributes(broker, context, input))
        }
        "SetSubscriptionAttributes" => {
            serve!(input => subscriptions::set_subscription_attributes(broker, input).await)
        }
        "Publish" => serve!(input => publish::publish(broker, context, input).await),
        "PublishBatch" => serve!(input => publish::publish_batch(broker, context, input).await),
        other => Err(SnsError::invalid_parameter(format!(
            "Action Reason: {other} is not an action Tern's SNS endpoint supports"
        ))
        .into()),
    }
}

/// Each input's Query description decodes what botocore and the AWS SDKs send.
#[cfg(test)]
mod query_inputs {
    use serde_json::{Value, json};
    use tern_aws_wire::query::{self, Params};

    use super::*;
    use crate::codec::Input;

    fn check<I: Input>(form: &str, expected: Value) {
        let params = Params::parse(None, form.as_bytes()).unwrap();
        let decoded = query::decode(&params, I::QUERY_MEMBERS).unwrap();
        assert_eq!(decoded, expected, "{form}");
        if let Err(error) = input::<I>(&params) {
            panic!("{form}: {error}");
        }
    }

    #[test]
    fn maps_are_entries_and_lists_are_members() {
        check::<topics::CreateTopicInput>(
            "Action=CreateTopic&Name=t.fifo&Attributes.entry.1.key=FifoTopic\
             &Attributes.entry.1.value=true&Tags.member.1.Key=team&Tags.member.1.Value=core",
            json!({"Name": "t.fifo", "Attributes": {"entry": {"FifoTopic": "true"}},
                   "Tags": {"member": [{"Key": "team", "Value": "core"}]}}),
        );
        check::<topics::UntagResourceInput>(
            "ResourceArn=a&TagKeys.member.1=x&TagKeys.member.2=y",
            json!({"ResourceArn": "a", "TagKeys": {"member": ["x", "y"]}}),
        );
        check::<subscriptions::SubscribeInput>(
            "TopicArn=t&Protocol=sqs&Endpoint=e&ReturnSubscriptionArn=true\
             &Attributes.entry.1.key=RawMessageDelivery&Attributes.entry.1.value=true",
            json!({"TopicArn": "t", "Protocol": "sqs", "Endpoint": "e",
                   "ReturnSubscriptionArn": true,
                   "Attributes": {"entry": {"RawMessageDelivery": "true"}}}),
        );
    }

    /// botocore sends an empty list as `Name=`: read as no entries, not as a malformed query.
    #[test]
    fn empty_lists_are_bare_names() {
        fn reads<I: Input>(form: &str) {
            let params = Params::parse(None, form.as_bytes()).unwrap();
            if let Err(error) = input::<I>(&params) {
                panic!("{form}: {error}");
            }
        }
        reads::<topics::CreateTopicInput>("Name=t&Tags=");
        reads::<topics::TagResourceInput>("ResourceArn=a&Tags=");
        reads::<topics::UntagResourceInput>("ResourceArn=a&TagKeys=");
        reads::<publish::PublishBatchInput>("TopicArn=t&PublishBatchRequestEntries=");
    }

    #[test]
    fn message_attributes_in_publish_and_batch_entries() {
        check::<publish::PublishInput>(
            "TopicArn=t&Message=hi&MessageAttributes.entry.1.Name=colour\
             &MessageAttributes.entry.1.Value.DataType=String\
             &MessageAttributes.entry.1.Value.StringValue=red",
            json!({"TopicArn": "t", "Message": "hi", "MessageAttributes": {"entry": {
                "colour": {"DataType": "String", "StringValue": "red"}}}}),
        );
        check::<publish::PublishBatchInput>(
            "TopicArn=t&PublishBatchRequestEntries.member.1.Id=a\
             &PublishBatchRequestEntries.member.1.Message=one\
             &PublishBatchRequestEntries.member.1.MessageAttributes.entry.1.Name=n\
             &PublishBatchRequestEntries.member.1.MessageAttributes.entry.1.Value.DataType=Binary\
             &PublishBatchRequestEntries.member.1.MessageAttributes.entry.1.Value.BinaryValue=AAE=",
            json!({"TopicArn": "t", "PublishBatchRequestEntries": {"member": [
                {"Id": "a", "Message": "one", "MessageAttributes": {"entry": {
                    "n": {"DataType": "Binary", "BinaryValue": "AAE="}}}}]}}),
        );
    }
}
