//! SNS helpers for the topics tests: failures as (status, code, message), subscribing, and
//! reading SNS notifications out of SQS queues. The client itself is `common::sns_client`.

use std::fmt::Debug;
use std::time::{Duration, Instant};

use aws_sdk_sns::error::{ProvideErrorMetadata, SdkError};

use crate::common::TestServer;
use endpoint::{Endpoint, Received};

mod deletions;
pub mod endpoint;
mod http;
mod https;
mod signing;

/// What the client saw for a failed SNS call.
#[derive(Debug)]
pub struct SnsFailure {
    pub status: u16,
    pub code: String,
    pub message: String,
}

pub fn sns_failure<O: Debug, E: ProvideErrorMetadata + Debug>(
    result: Result<O, SdkError<E, aws_sdk_sns::config::http::HttpResponse>>,
) -> SnsFailure {
    match result {
        Ok(output) => panic!("expected an SNS error, the call succeeded: {output:?}"),
        Err(SdkError::ServiceError(context)) => {
            let status = context.raw().status().as_u16();
            let error = context.into_err();
            SnsFailure {
                status,
                code: error.code().unwrap_or_default().to_owned(),
                message: error.message().unwrap_or_default().to_owned(),
            }
        }
        Err(other) => panic!("expected an SNS service error, got {other:?}"),
    }
}

pub async fn create_topic(client: &aws_sdk_sns::Client, name: &str, fifo: bool) -> String {
    let mut request = client.create_topic().name(name);
    if fifo {
        request = request.attributes("FifoTopic", "true");
    }
    request
        .send()
        .await
        .unwrap_or_else(|error| panic!("CreateTopic {name}: {error:?}"))
        .topic_arn()
        .expect("CreateTopic returns TopicArn")
        .to_owned()
}

pub async fn subscribe_queue(
    client: &aws_sdk_sns::Client,
    topic_arn: &str,
    queue_arn: &str,
    attributes: &[(&str, &str)],
) -> String {
    let mut request = client
        .subscribe()
        .topic_arn(topic_arn)
        .protocol("sqs")
        .endpoint(queue_arn)
        .return_subscription_arn(true);
    for (name, value) in attributes {
        request = request.attributes(*name, *value);
    }
    request
        .send()
        .await
        .unwrap_or_else(|error| panic!("Subscribe {queue_arn}: {error:?}"))
        .subscription_arn()
        .expect("Subscribe returns SubscriptionArn")
        .to_owned()
}

/// Receives until `count` messages are in hand or `limit` passes (each hidden for 5 minutes).
pub async fn drain(
    client: &aws_sdk_sqs::Client,
    queue_url: &str,
    count: usize,
    limit: Duration,
) -> Vec<aws_sdk_sqs::types::Message> {
    let deadline = Instant::now() + limit;
    let mut messages = Vec::new();
    while messages.len() < count && Instant::now() < deadline {
        let output = client
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .visibility_timeout(300)
            .wait_time_seconds(1)
            .message_attribute_names("All")
            .send()
            .await
            .unwrap_or_else(|error| panic!("ReceiveMessage: {error:?}"));
        messages.extend(output.messages().iter().cloned());
    }
    messages
}

/// The SNS envelope in an SQS message body.
pub fn envelope(message: &aws_sdk_sqs::types::Message) -> serde_json::Value {
    let body = message.body().unwrap_or_default();
    serde_json::from_str(body).unwrap_or_else(|error| panic!("not an envelope ({error}): {body}"))
}

/// The `Message` of each notification, in the order received.
pub fn notified(messages: &[aws_sdk_sqs::types::Message]) -> Vec<String> {
    messages
        .iter()
        .map(|message| {
            envelope(message)["Message"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

/// Upper bound on waiting for a POST Tern should make at once.
pub const ARRIVAL_LIMIT: Duration = Duration::from_secs(15);

/// A DeliveryPolicy of `count` retries, each a second after the attempt before.
pub fn quick_retries(count: u32) -> String {
    format!(
        r#"{{"healthyRetryPolicy":{{"numRetries":{count},"minDelayTarget":1,"maxDelayTarget":1}}}}"#
    )
}

/// A RedrivePolicy dead-lettering to the queue `queue_name` of `server`.
pub fn redrive_to(server: &TestServer, queue_name: &str) -> String {
    format!(
        r#"{{"deadLetterTargetArn":"{}"}}"#,
        server.queue_arn(queue_name)
    )
}

/// Subscribes `path` of `endpoint` over `protocol` (`http` or `https`) and returns the
/// `SubscriptionConfirmation` it is sent, unanswered.
pub async fn subscribe_endpoint(
    client: &aws_sdk_sns::Client,
    endpoint: &Endpoint,
    topic_arn: &str,
    (protocol, path): (&str, &str),
    attributes: &[(&str, &str)],
) -> Received {
    let before = endpoint.received().len();
    let mut request = client
        .subscribe()
        .topic_arn(topic_arn)
        .protocol(protocol)
        .endpoint(endpoint.url(path));
    for (name, value) in attributes {
        request = request.attributes(*name, *value);
    }
    let answer = request
        .send()
        .await
        .unwrap_or_else(|error| panic!("Subscribe {protocol}: {error:?}"));
    assert_eq!(answer.subscription_arn(), Some("pending confirmation"));
    let received = endpoint.wait_for(before + 1, ARRIVAL_LIMIT).await;
    let confirmation = received
        .get(before)
        .expect("a SubscriptionConfirmation arrives")
        .clone();
    assert_eq!(confirmation.json()["Type"], "SubscriptionConfirmation");
    confirmation
}

/// Answers a `SubscriptionConfirmation` with ConfirmSubscription; returns the subscription's ARN.
pub async fn confirm(
    client: &aws_sdk_sns::Client,
    topic_arn: &str,
    confirmation: &serde_json::Value,
) -> String {
    client
        .confirm_subscription()
        .topic_arn(topic_arn)
        .token(confirmation["Token"].as_str().expect("a Token"))
        .send()
        .await
        .expect("ConfirmSubscription")
        .subscription_arn()
        .expect("ConfirmSubscription returns SubscriptionArn")
        .to_owned()
}

/// Subscribes `/hook` of `endpoint` over HTTP and confirms it with the token it was sent.
pub async fn subscribe_http(
    client: &aws_sdk_sns::Client,
    endpoint: &Endpoint,
    topic_arn: &str,
    attributes: &[(&str, &str)],
) -> String {
    let confirmation =
        subscribe_endpoint(client, endpoint, topic_arn, ("http", "/hook"), attributes).await;
    confirm(client, topic_arn, &confirmation.json()).await
}

/// Every attribute GetTopicAttributes reports.
pub async fn topic_attributes(
    client: &aws_sdk_sns::Client,
    topic_arn: &str,
) -> std::collections::HashMap<String, String> {
    client
        .get_topic_attributes()
        .topic_arn(topic_arn)
        .send()
        .await
        .unwrap()
        .attributes
        .expect("GetTopicAttributes answers with attributes")
}

/// Every attribute GetSubscriptionAttributes reports.
pub async fn subscription_attributes(
    client: &aws_sdk_sns::Client,
    subscription_arn: &str,
) -> std::collections::HashMap<String, String> {
    client
        .get_subscription_attributes()
        .subscription_arn(subscription_arn)
        .send()
        .await
        .unwrap()
        .attributes
        .expect("GetSubscriptionAttributes answers with attributes")
}

pub async fn topic_attribute(client: &aws_sdk_sns::Client, topic_arn: &str, name: &str) -> String {
    topic_attributes(client, topic_arn)
        .await
        .remove(name)
        .unwrap_or_else(|| panic!("{name} is missing"))
}

/// Publishes `message` to the topic; the answer carries its MessageId.
pub async fn publish_text(
    client: &aws_sdk_sns::Client,
    topic_arn: &str,
    message: &str,
) -> aws_sdk_sns::operation::publish::PublishOutput {
    client
        .publish()
        .topic_arn(topic_arn)
        .message(message)
        .send()
        .await
        .unwrap_or_else(|error| panic!("Publish to {topic_arn}: {error:?}"))
}

/// The `ErrorMessage` attribute of a dead-lettered message: why its delivery failed.
pub fn dead_letter_reason(message: &aws_sdk_sqs::types::Message) -> String {
    message
        .message_attributes()
        .and_then(|attributes| attributes.get("ErrorMessage"))
        .and_then(|value| value.string_value())
        .unwrap_or_else(|| panic!("no ErrorMessage attribute: {message:?}"))
        .to_owned()
}

pub fn sns_attribute(data_type: &str, value: &str) -> aws_sdk_sns::types::MessageAttributeValue {
    aws_sdk_sns::types::MessageAttributeValue::builder()
        .data_type(data_type)
        .string_value(value)
        .build()
        .expect("DataType is set")
}
