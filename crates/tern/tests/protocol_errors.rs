//! Errors the SDK cannot provoke, over raw HTTP/1.1: missing required members (MissingParameter),
//! unknown `X-Amz-Target` (UnknownOperationException), malformed JSON and wrong member types
//! (SerializationException), the JSON error shape itself, and a stream of garbage that must never
//! crash the server. Each asserts status, `__type` (and `x-amzn-query-error` where SQS defines
//! one) and that nothing changed.

mod common;

use aws_sdk_sqs::Client;
use common::*;

async fn queue_names(client: &Client) -> Vec<String> {
    let mut names: Vec<String> = client
        .list_queues()
        .send()
        .await
        .unwrap()
        .queue_urls()
        .iter()
        .map(|url| url.rsplit('/').next().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

async fn assert_empty(client: &Client, url: &str) {
    assert_eq!(
        counters(client, url).await,
        (0, 0, 0),
        "a failed request left messages behind"
    );
}

fn assert_protocol_error(response: &RawResponse, type_suffix: &str) {
    let type_name = response.type_name();
    assert_eq!(
        response.status, 400,
        "{type_suffix}: {} {:?} {}",
        response.status, response.headers, response.body
    );
    assert!(
        type_name == type_suffix || type_name.ends_with(&format!("#{type_suffix}")),
        "__type {type_name:?} is not {type_suffix}: {}",
        response.body
    );
}

#[tokio::test]
async fn missing_required_members_are_missing_parameter() {
    let server = TestServer::start();
    let client = server.client();
    let url = create_queue(&client, "present", &[]).await;

    raw_call(&server, "CreateQueue", "{}")
        .await
        .assert_is(MISSING_PARAMETER);
    let no_body = serde_json::json!({ "QueueUrl": url }).to_string();
    raw_call(&server, "SendMessage", &no_body)
        .await
        .assert_is(MISSING_PARAMETER);
    let no_handle = serde_json::json!({ "QueueUrl": url }).to_string();
    raw_call(&server, "DeleteMessage", &no_handle)
        .await
        .assert_is(MISSING_PARAMETER);

    assert_eq!(queue_names(&client).await, ["present"]);
    assert_empty(&client, &url).await;
}

#[tokio::test]
async fn unknown_targets_are_unknown_operation() {
    let server = TestServer::start();
    let client = server.client();
    let response = raw_call(&server, "LaunchRockets", "{}").await;
    assert_protocol_error(&response, "UnknownOperationException");
    let lowercase = raw_call(&server, "listQueues", "{}").await;
    assert_protocol_error(&lowercase, "UnknownOperationException");
    assert!(queue_names(&client).await.is_empty());
}

#[tokio::test]
async fn malformed_json_and_wrong_types_are_serialization_errors() {
    let server = TestServer::start();
    let client = server.client();
    let url = create_queue(&client, "typed", &[]).await;

    assert_protocol_error(
        &raw_call(&server, "CreateQueue", "{not json").await,
        "SerializationException",
    );
    assert_protocol_error(
        &raw_call(&server, "CreateQueue", "[]").await,
        "SerializationException",
    );
    assert_protocol_error(
        &raw_call(&server, "CreateQueue", r#"{"QueueName": 5}"#).await,
        "SerializationException",
    );
    let wrong_number =
        serde_json::json!({ "QueueUrl": url, "MaxNumberOfMessages": "ten" }).to_string();
    assert_protocol_error(
        &raw_call(&server, "ReceiveMessage", &wrong_number).await,
        "SerializationException",
    );
    let wrong_attributes =
        serde_json::json!({ "QueueName": "never", "Attributes": ["DelaySeconds"] }).to_string();
    assert_protocol_error(
        &raw_call(&server, "CreateQueue", &wrong_attributes).await,
        "SerializationException",
    );
    let wrong_body =
        serde_json::json!({ "QueueUrl": url, "MessageBody": {"nested": true} }).to_string();
    assert_protocol_error(
        &raw_call(&server, "SendMessage", &wrong_body).await,
        "SerializationException",
    );

    assert_eq!(queue_names(&client).await, ["typed"]);
    assert_empty(&client, &url).await;
}

#[tokio::test]
async fn raw_error_responses_have_the_json_protocol_shape() {
    let server = TestServer::start();
    let body = serde_json::json!({ "QueueName": "nowhere" }).to_string();
    let response = raw_call(&server, "GetQueueUrl", &body).await;
    response.assert_is(QUEUE_DOES_NOT_EXIST);
    assert_eq!(response.type_name(), "com.amazonaws.sqs#QueueDoesNotExist");
    assert_eq!(
        response.header("x-amzn-query-error"),
        Some("AWS.SimpleQueueService.NonExistentQueue;Sender")
    );
    let content_type = response.header("content-type").unwrap_or_default();
    assert!(
        content_type.starts_with("application/x-amz-json-1.0"),
        "content-type {content_type:?}"
    );
    assert!(
        response
            .header("x-amzn-requestid")
            .is_some_and(|id| !id.is_empty()),
        "{:?}",
        response.headers
    );

    // A success over the same raw path, to show the raw caller is sound.
    let created = raw_call(&server, "CreateQueue", r#"{"QueueName":"raw"}"#).await;
    assert_eq!(created.status, 200, "{}", created.body);
    assert_eq!(
        created.json()["QueueUrl"],
        serde_json::json!(server.queue_url("raw"))
    );
}

#[tokio::test]
async fn the_server_survives_a_stream_of_bad_requests() {
    let server = TestServer::start();
    let client = server.client();
    let bodies = [
        "",
        "null",
        "{",
        "\u{0}",
        "{\"QueueName\": null}",
        "{\"QueueName\": [1,2]}",
        "1e999999",
    ];
    for body in bodies {
        for action in [
            "CreateQueue",
            "SendMessage",
            "ReceiveMessage",
            "DeleteMessageBatch",
        ] {
            let response = raw_call(&server, action, body).await;
            assert!(
                (400..500).contains(&response.status),
                "{action} with {body:?} must be a client error, got {} {}",
                response.status,
                response.body
            );
        }
    }
    // Still serving.
    create_queue(&client, "alive", &[]).await;
}
