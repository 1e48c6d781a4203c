//! FIFO queues through aws-sdk-sqs: creation rules, group order, blocking while in flight,
//! deduplication (explicit and content-based, surviving a restart), sequence numbers, receive
//! attempts, and the FIFO-specific errors.

mod common;

use aws_sdk_sqs::types::{
    MessageSystemAttributeName, QueueAttributeName, SendMessageBatchRequestEntry,
};
use common::*;

async fn fifo_queue(
    client: &aws_sdk_sqs::Client,
    name: &str,
    extra: &[(QueueAttributeName, &str)],
) -> String {
    let mut attributes = vec![(QueueAttributeName::FifoQueue, "true")];
    attributes.extend_from_slice(extra);
    create_queue(client, name, &attributes).await
}

async fn send_fifo(
    client: &aws_sdk_sqs::Client,
    url: &str,
    body: &str,
    group: &str,
    dedup: &str,
) -> (String, String) {
    let output = client
        .send_message()
        .queue_url(url)
        .message_body(body)
        .message_group_id(group)
        .message_deduplication_id(dedup)
        .send()
        .await
        .unwrap_or_else(|error| panic!("SendMessage {body}: {error:?}"));
    (
        output.message_id().expect("MessageId").to_owned(),
        output
            .sequence_number()
            .expect("FIFO sends return SequenceNumber")
            .to_owned(),
    )
}

fn bodies(messages: &[aws_sdk_sqs::types::Message]) -> Vec<&str> {
    messages
        .iter()
        .filter_map(|message| message.body())
        .collect()
}

#[tokio::test]
async fn fifo_queue_attributes_and_naming_rules() {
    let server = TestServer::start();
    let client = server.client();
    let url = fifo_queue(&client, "orders.fifo", &[]).await;
    let attributes = queue_attributes(&client, &url).await;
    assert_eq!(
        attributes.get("FifoQueue").map(String::as_str),
        Some("true")
    );
    assert_eq!(
        attributes
            .get("ContentBasedDeduplication")
            .map(String::as_str),
        Some("false")
    );
    assert_eq!(
        attributes.get("DeduplicationScope").map(String::as_str),
        Some("queue")
    );
    assert_eq!(
        attributes.get("FifoThroughputLimit").map(String::as_str),
        Some("perQueue")
    );

    let unsuffixed = client
        .create_queue()
        .queue_name("orders")
        .attributes(QueueAttributeName::FifoQueue, "true")
        .send()
        .await;
    failure(unsuffixed).assert_is(INVALID_PARAMETER_VALUE);
    let without_attribute = client.create_queue().queue_name("plain.fifo").send().await;
    failure(without_attribute).assert_is(INVALID_PARAMETER_VALUE);
    let fifo_only_on_standard = client
        .create_queue()
        .queue_name("plain")
        .attributes(QueueAttributeName::ContentBasedDeduplication, "true")
        .send()
        .await;
    failure(fifo_only_on_standard).assert_is(INVALID_ATTRIBUTE_NAME);
    let cannot_unset = client
        .set_queue_attributes()
        .queue_url(&url)
        .attributes(QueueAttributeName::FifoQueue, "false")
        .send()
        .await;
    failure(cannot_unset).assert_is(INVALID_ATTRIBUTE_NAME);
    let high_throughput_needs_group_scope = client
        .set_queue_attributes()
        .queue_url(&url)
        .attributes(QueueAttributeName::FifoThroughputLimit, "perMessageGroupId")
        .send()
        .await;
    failure(high_throughput_needs_group_scope).assert_is(INVALID_ATTRIBUTE_VALUE);
    client
        .set_queue_attributes()
        .queue_url(&url)
        .attributes(QueueAttributeName::FifoThroughputLimit, "perMessageGroupId")
        .attributes(QueueAttributeName::DeduplicationScope, "messageGroup")
        .send()
        .await
        .expect("high-throughput mode");
}

#[tokio::test]
async fn groups_are_delivered_in_order_and_blocked_while_in_flight() {
    let server = TestServer::start();
    let client = server.client();
    let url = fifo_queue(
        &client,
        "jobs.fifo",
        &[(QueueAttributeName::VisibilityTimeout, "2")],
    )
    .await;
    let mut sequence_numbers = Vec::new();
    for (body, group) in [
        ("a1", "a"),
        ("b1", "b"),
        ("a2", "a"),
        ("a3", "a"),
        ("b2", "b"),
    ] {
        sequence_numbers.push(send_fifo(&client, &url, body, group, body).await.1);
    }
    let mut sorted = sequence_numbers.clone();
    sorted.sort();
    assert_eq!(
        sorted, sequence_numbers,
        "sequence numbers increase with send order"
    );

    let first = receive(&client, &url, 10, None).await;
    assert_eq!(
        per_group(&first),
        [
            ("a".to_owned(), vec!["a1", "a2", "a3"]),
            ("b".to_owned(), vec!["b1", "b2"])
        ],
        "every message, each group in order"
    );
    let group_of = |message: &aws_sdk_sqs::types::Message| {
        message
            .attributes()
            .and_then(|attributes| attributes.get(&MessageSystemAttributeName::MessageGroupId))
            .cloned()
    };
    let a1 = first
        .iter()
        .find(|message| message.body() == Some("a1"))
        .expect("a1 was received");
    assert_eq!(group_of(a1).as_deref(), Some("a"));
    let sequence_of_first = a1
        .attributes()
        .and_then(|attributes| attributes.get(&MessageSystemAttributeName::SequenceNumber))
        .cloned();
    assert_eq!(sequence_of_first.as_ref(), Some(&sequence_numbers[0]));
    assert!(
        receive(&client, &url, 10, None).await.is_empty(),
        "every group is in flight"
    );

    // Settle group a's head only: group a resumes at a2 once its other messages time out; b
    // stays in order behind b1.
    client
        .delete_message()
        .queue_url(&url)
        .receipt_handle(a1.receipt_handle().unwrap())
        .send()
        .await
        .unwrap();
    send_fifo(&client, &url, "a4", "a", "a4").await;
    assert!(
        receive(&client, &url, 10, None).await.is_empty(),
        "a2 and a3 are still in flight"
    );
    let mut again = Vec::new();
    for _ in 0..40 {
        again = receive(&client, &url, 10, None).await;
        if !again.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(
        per_group(&again),
        [
            ("a".to_owned(), vec!["a2", "a3", "a4"]),
            ("b".to_owned(), vec!["b1", "b2"])
        ],
        "each group resumes where it stopped, in order"
    );
}

/// Bodies by message group, each group's in the order received.
fn per_group(messages: &[aws_sdk_sqs::types::Message]) -> Vec<(String, Vec<&str>)> {
    let mut groups: Vec<(String, Vec<&str>)> = Vec::new();
    for message in messages {
        let group = message
            .attributes()
            .and_then(|attributes| attributes.get(&MessageSystemAttributeName::MessageGroupId))
            .cloned()
            .unwrap_or_default();
        let body = message.body().unwrap_or_default();
        match groups.iter_mut().find(|(name, _)| *name == group) {
            Some((_, bodies)) => bodies.push(body),
            None => groups.push((group, vec![body])),
        }
    }
    groups.sort_by(|left, right| left.0.cmp(&right.0));
    groups
}

#[tokio::test]
async fn deduplication_by_id_and_by_content_survives_a_restart() {
    let mut server = TestServer::start();
    let client = server.client();
    let url = fifo_queue(&client, "dedup.fifo", &[]).await;
    let (first_id, first_sequence) = send_fifo(&client, &url, "one", "g", "d-1").await;
    let (again_id, again_sequence) = send_fifo(&client, &url, "other body", "g", "d-1").await;
    assert_eq!(
        again_id, first_id,
        "a duplicate reports the original message"
    );
    assert_eq!(again_sequence, first_sequence);

    let content_url = fifo_queue(
        &client,
        "content.fifo",
        &[(QueueAttributeName::ContentBasedDeduplication, "true")],
    )
    .await;
    let by_content = |body: &'static str| {
        let client = client.clone();
        let content_url = content_url.clone();
        async move {
            client
                .send_message()
                .queue_url(content_url)
                .message_body(body)
                .message_group_id("g")
                .send()
                .await
                .expect("content-based send")
                .message_id()
                .unwrap()
                .to_owned()
        }
    };
    let content_first = by_content("same").await;
    assert_eq!(by_content("same").await, content_first);
    assert_ne!(by_content("different").await, content_first);

    server.restart();
    let client = server.client();
    let url = server.queue_url("dedup.fifo");
    let (after_restart_id, _) = send_fifo(&client, &url, "one", "g", "d-1").await;
    assert_eq!(
        after_restart_id, first_id,
        "the deduplication window survives a restart"
    );
    let received = receive(&client, &url, 10, None).await;
    assert_eq!(bodies(&received), ["one"]);
    let content = receive(&client, &server.queue_url("content.fifo"), 10, None).await;
    assert_eq!(bodies(&content), ["same", "different"]);
}

#[tokio::test]
async fn receive_request_attempt_id_returns_the_same_batch() {
    let server = TestServer::start();
    let client = server.client();
    let url = fifo_queue(&client, "attempts.fifo", &[]).await;
    send_fifo(&client, &url, "x1", "x", "x1").await;
    send_fifo(&client, &url, "x2", "x", "x2").await;
    let attempt = || {
        client
            .receive_message()
            .queue_url(&url)
            .max_number_of_messages(10)
            .receive_request_attempt_id("attempt-42")
            .send()
    };
    let first = attempt().await.unwrap();
    let retry = attempt().await.unwrap();
    let handles =
        |output: &aws_sdk_sqs::operation::receive_message::ReceiveMessageOutput| -> Vec<String> {
            output
                .messages()
                .iter()
                .filter_map(|message| message.receipt_handle().map(str::to_owned))
                .collect()
        };
    assert_eq!(handles(&first).len(), 2);
    assert_eq!(
        handles(&retry),
        handles(&first),
        "a retried attempt gets the same receipts"
    );
    let other = client
        .receive_message()
        .queue_url(&url)
        .receive_request_attempt_id("attempt-43")
        .send()
        .await
        .unwrap();
    assert!(
        other.messages().is_empty(),
        "a new attempt sees the group in flight"
    );
}

#[tokio::test]
async fn fifo_send_errors() {
    let server = TestServer::start();
    let client = server.client();
    let url = fifo_queue(&client, "errors.fifo", &[]).await;
    let no_group = client
        .send_message()
        .queue_url(&url)
        .message_body("x")
        .message_deduplication_id("d")
        .send()
        .await;
    failure(no_group).assert_is(MISSING_PARAMETER);
    let no_dedup = client
        .send_message()
        .queue_url(&url)
        .message_body("x")
        .message_group_id("g")
        .send()
        .await;
    failure(no_dedup).assert_is(INVALID_PARAMETER_VALUE);
    let per_message_delay = client
        .send_message()
        .queue_url(&url)
        .message_body("x")
        .message_group_id("g")
        .message_deduplication_id("d")
        .delay_seconds(5)
        .send()
        .await;
    failure(per_message_delay).assert_is(INVALID_PARAMETER_VALUE);
    let bad_group = client
        .send_message()
        .queue_url(&url)
        .message_body("x")
        .message_group_id("has space")
        .message_deduplication_id("d")
        .send()
        .await;
    failure(bad_group).assert_is(INVALID_PARAMETER_VALUE);
    let batch = client
        .send_message_batch()
        .queue_url(&url)
        .entries(
            SendMessageBatchRequestEntry::builder()
                .id("ok")
                .message_body("fine")
                .message_group_id("g")
                .message_deduplication_id("ok")
                .build()
                .unwrap(),
        )
        .entries(
            SendMessageBatchRequestEntry::builder()
                .id("bad")
                .message_body("no group")
                .message_deduplication_id("bad")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("batch with one bad entry");
    assert_eq!(batch.successful().len(), 1);
    assert!(batch.successful()[0].sequence_number().is_some());
    assert_eq!(batch.failed().len(), 1);
    assert_eq!(batch.failed()[0].code(), "MissingParameter");
    assert!(
        receive(&client, &url, 10, None).await.len() == 1,
        "nothing else was stored"
    );

    let standard = create_queue(&client, "standard", &[]).await;
    let dedup_on_standard = client
        .send_message()
        .queue_url(&standard)
        .message_body("x")
        .message_deduplication_id("d")
        .send()
        .await;
    failure(dedup_on_standard).assert_is(INVALID_PARAMETER_VALUE);
}
