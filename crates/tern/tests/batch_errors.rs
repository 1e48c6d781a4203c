//! Whole-request batch errors through aws-sdk-sqs: EmptyBatchRequest,
//! TooManyEntriesInBatchRequest, BatchEntryIdsNotDistinct, InvalidBatchEntryId and
//! BatchRequestTooLong, for each batch action, asserting what the client sees and that no entry of
//! a rejected batch took effect. Per-entry failures are in batches.rs.

mod common;

use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::{
    ChangeMessageVisibilityBatchRequestEntry, DeleteMessageBatchRequestEntry,
    SendMessageBatchRequestEntry,
};
use common::*;

async fn assert_empty(client: &Client, url: &str) {
    assert_eq!(
        counters(client, url).await,
        (0, 0, 0),
        "a failed request left messages behind"
    );
}

fn batch_entry(id: &str, body: &str) -> SendMessageBatchRequestEntry {
    SendMessageBatchRequestEntry::builder()
        .id(id)
        .message_body(body)
        .build()
        .unwrap()
}

#[tokio::test]
async fn empty_batches_are_empty_batch_request() {
    let server = TestServer::start();
    let client = server.client();
    let url = create_queue(&client, "empty-batches", &[]).await;

    let sent = failure(
        client
            .send_message_batch()
            .queue_url(&url)
            .set_entries(Some(vec![]))
            .send()
            .await,
    );
    sent.assert_is(EMPTY_BATCH_REQUEST);
    assert!(sent.error.is_empty_batch_request(), "{:?}", sent.error);
    failure(
        client
            .delete_message_batch()
            .queue_url(&url)
            .set_entries(Some(vec![]))
            .send()
            .await,
    )
    .assert_is(EMPTY_BATCH_REQUEST);
    failure(
        client
            .change_message_visibility_batch()
            .queue_url(&url)
            .set_entries(Some(vec![]))
            .send()
            .await,
    )
    .assert_is(EMPTY_BATCH_REQUEST);
    assert_empty(&client, &url).await;
}

#[tokio::test]
async fn more_than_ten_entries_is_too_many_entries_in_batch_request() {
    let server = TestServer::start();
    let client = server.client();
    let url = create_queue(&client, "big-batches", &[]).await;

    let entries: Vec<_> = (0..11)
        .map(|index| batch_entry(&format!("e{index}"), "x"))
        .collect();
    let sent = failure(
        client
            .send_message_batch()
            .queue_url(&url)
            .set_entries(Some(entries))
            .send()
            .await,
    );
    sent.assert_is(TOO_MANY_ENTRIES_IN_BATCH_REQUEST);
    assert!(
        sent.error.is_too_many_entries_in_batch_request(),
        "{:?}",
        sent.error
    );
    assert_empty(&client, &url).await;

    send(&client, &url, "kept").await;
    let message = receive(&client, &url, 1, Some(60))
        .await
        .pop()
        .expect("delivered");
    let handle = message.receipt_handle().unwrap();
    // One real handle, the rest distinct strings: only the entry count is wrong.
    let handle_of = |index: usize| {
        if index == 0 {
            handle.to_owned()
        } else {
            format!("handle-{index}")
        }
    };
    let deletes: Vec<_> = (0..11)
        .map(|index| {
            DeleteMessageBatchRequestEntry::builder()
                .id(format!("d{index}"))
                .receipt_handle(handle_of(index))
                .build()
                .unwrap()
        })
        .collect();
    failure(
        client
            .delete_message_batch()
            .queue_url(&url)
            .set_entries(Some(deletes))
            .send()
            .await,
    )
    .assert_is(TOO_MANY_ENTRIES_IN_BATCH_REQUEST);
    let changes: Vec<_> = (0..11)
        .map(|index| {
            ChangeMessageVisibilityBatchRequestEntry::builder()
                .id(format!("c{index}"))
                .receipt_handle(handle_of(index))
                .visibility_timeout(0)
                .build()
                .unwrap()
        })
        .collect();
    failure(
        client
            .change_message_visibility_batch()
            .queue_url(&url)
            .set_entries(Some(changes))
            .send()
            .await,
    )
    .assert_is(TOO_MANY_ENTRIES_IN_BATCH_REQUEST);
    assert_eq!(
        counters(&client, &url).await,
        (0, 1, 0),
        "a rejected batch touched the message"
    );
}

#[tokio::test]
async fn repeated_entry_ids_are_batch_entry_ids_not_distinct() {
    let server = TestServer::start();
    let client = server.client();
    let url = create_queue(&client, "twins", &[]).await;

    let entries = vec![
        batch_entry("same", "one"),
        batch_entry("other", "two"),
        batch_entry("same", "three"),
    ];
    let sent = failure(
        client
            .send_message_batch()
            .queue_url(&url)
            .set_entries(Some(entries))
            .send()
            .await,
    );
    sent.assert_is(BATCH_ENTRY_IDS_NOT_DISTINCT);
    assert!(
        sent.error.is_batch_entry_ids_not_distinct(),
        "{:?}",
        sent.error
    );
    assert_empty(&client, &url).await;

    send(&client, &url, "kept").await;
    let message = receive(&client, &url, 1, Some(60))
        .await
        .pop()
        .expect("delivered");
    let handle = message.receipt_handle().unwrap();
    let deletes = vec![
        DeleteMessageBatchRequestEntry::builder()
            .id("same")
            .receipt_handle(handle)
            .build()
            .unwrap(),
        DeleteMessageBatchRequestEntry::builder()
            .id("same")
            .receipt_handle(handle)
            .build()
            .unwrap(),
    ];
    failure(
        client
            .delete_message_batch()
            .queue_url(&url)
            .set_entries(Some(deletes))
            .send()
            .await,
    )
    .assert_is(BATCH_ENTRY_IDS_NOT_DISTINCT);
    assert_eq!(
        counters(&client, &url).await,
        (0, 1, 0),
        "a rejected batch deleted the message"
    );
}

#[tokio::test]
async fn malformed_entry_ids_are_invalid_batch_entry_id() {
    let server = TestServer::start();
    let client = server.client();
    let url = create_queue(&client, "ids", &[]).await;
    for id in ["bad id", "colon:id", "dot.id", &"i".repeat(81)] {
        let entries = vec![batch_entry("fine", "x"), batch_entry(id, "y")];
        let sent = failure(
            client
                .send_message_batch()
                .queue_url(&url)
                .set_entries(Some(entries))
                .send()
                .await,
        );
        sent.assert_is(INVALID_BATCH_ENTRY_ID);
        assert!(
            sent.error.is_invalid_batch_entry_id(),
            "{id:?}: {:?}",
            sent.error
        );
    }
    let deletes = vec![
        DeleteMessageBatchRequestEntry::builder()
            .id("bad id")
            .receipt_handle("x")
            .build()
            .unwrap(),
    ];
    failure(
        client
            .delete_message_batch()
            .queue_url(&url)
            .set_entries(Some(deletes))
            .send()
            .await,
    )
    .assert_is(INVALID_BATCH_ENTRY_ID);
    assert_empty(&client, &url).await;
}

#[tokio::test]
async fn batches_over_the_size_limit_are_batch_request_too_long() {
    let server = TestServer::start();
    let client = server.client();
    let url = create_queue(&client, "heavy", &[]).await;
    // Each entry fits on its own; together they pass 1 MiB.
    let body = "b".repeat(600 * 1024);
    let entries = vec![batch_entry("one", &body), batch_entry("two", &body)];
    let sent = failure(
        client
            .send_message_batch()
            .queue_url(&url)
            .set_entries(Some(entries))
            .send()
            .await,
    );
    sent.assert_is(BATCH_REQUEST_TOO_LONG);
    assert!(sent.error.is_batch_request_too_long(), "{:?}", sent.error);
    assert_empty(&client, &url).await;
}
