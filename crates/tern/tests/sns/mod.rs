//! SNS helpers for the topics tests: an `aws-sdk-sns` client for a test server, its failures as
//! (status, code, message), and reading SNS notifications out of SQS queues.

use std::fmt::Debug;
use std::time::{Duration, Instant};

use aws_sdk_sns::config::timeout::TimeoutConfig;
use aws_sdk_sns::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_sns::error::{ProvideErrorMetadata, SdkError};

use crate::common::{ACCESS_KEY_ID, DEFAULT_REGION, OPERATION_TIMEOUT, TestServer};

mod deletions;
pub mod endpoint;
mod http;
mod https;
mod signing;

pub fn sns_client(server: &TestServer) -> aws_sdk_sns::Client {
    let config = aws_sdk_sns::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(DEFAULT_REGION))
        .credentials_provider(Credentials::new(
            ACCESS_KEY_ID,
            "tern-test-secret-key",
            None,
            None,
            "tern-e2e",
        ))
        .endpoint_url(server.endpoint())
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5))
                .operation_timeout(OPERATION_TIMEOUT)
                .build(),
        )
        .build();
    aws_sdk_sns::Client::from_conf(config)
}

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

pub fn sns_attribute(data_type: &str, value: &str) -> aws_sdk_sns::types::MessageAttributeValue {
    aws_sdk_sns::types::MessageAttributeValue::builder()
        .data_type(data_type)
        .string_value(value)
        .build()
        .expect("DataType is set")
}
