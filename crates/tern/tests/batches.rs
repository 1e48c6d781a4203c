//! Batch actions through aws-sdk-sqs: SendMessageBatch, DeleteMessageBatch and
//! ChangeMessageVisibilityBatch, all-successful and with per-entry failures reported in `Failed`
//! with `SenderFault`. Whole-request batch errors are in errors.rs.

mod common;

use std::collections::{HashMap, HashSet};

use aws_sdk_sqs::types::{
    BatchResultErrorEntry, ChangeMessageVisibilityBatchRequestEntry,
    DeleteMessageBatchRequestEntry, Message, SendMessageBatchRequestEntry,
};
use common::*;

fn entry(id: &str, body: &str) -> SendMessageBatchRequestEntry {
    SendMessageBatchRequestEntry::builder()
        .id(id)
        .message_body(body)
        .build()
        .unwrap()
}

fn assert_sender_fault(failed: &[BatchResultErrorEntry], id: &str, code: &str) {
    let entry = failed
        .iter()
        .find(|entry| entry.id() == id)
        .unwrap_or_else(|| panic!("no Failed entry {id} in {failed:?}"));
    assert_eq!(entry.code(), code, "{entry:?}");
    assert!(entry.sender_fault(), "SenderFault must be true: {entry:?}");
    assert!(
        entry.message().is_some_and(|message| !message.is_empty()),
        "{entry:?}"
    );
}

#[tokio::test]
async fn send_message_batch_reports_every_entry_with_digests() {
    let server = TestServer::start();
    let client = server.client();
    let url = create_queue(&client, "batch-send", &[]).await;

    let attributes = HashMap::from([
        ("kind".to_owned(), string_attribute("String", "batch")),
        ("n".to_owned(), string_attribute("Number", "7")),
        (
            "raw".to_owned(),
            binary_attribute("Binary", b"\x00\xffbytes"),
        ),
    ]);
    let mut entries: Vec<SendMessageBatchRequestEntry> = (0..9)
        .map(|index| entry(&format!("plain-{index}"), &format!("body {index}")))
        .collect();
    entries.push(
        SendMessageBatchRequestEntry::builder()
            .id("with_attributes")
            .message_body("attributed")
            .set_message_attributes(Some(attributes.clone()))
            .build()
            .unwrap(),
    );
    let output = client
        .send_message_batch()
        .queue_url(&url)
        .set_entries(Some(entries))
        .send()
        .await
        .unwrap();

    assert!(output.failed().is_empty(), "{:?}", output.failed());
    assert_eq!(output.successful().len(), 10);
    let mut message_ids = HashSet::new();
    for success in output.successful() {
        assert!(
            message_ids.insert(success.message_id().to_owned()),
            "MessageIds must be distinct"
        );
        if success.id() == "with_attributes" {
            assert_eq!(success.md5_of_message_body(), md5_hex(b"attributed"));
            assert_eq!(
                success.md5_of_message_attributes(),
                Some(md5_of_attributes(&attributes).as_str())
            );
        } else {
            let index = success.id().strip_prefix("plain-").expect("known entry id");
            assert_eq!(
                success.md5_of_message_body(),
                md5_hex(format!("body {index}").as_bytes())
            );
            assert_eq!(success.md5_of_message_attributes(), None);
        }
    }
    assert_eq!(counters(&client, &url).await, (10, 0, 0));

    let mut received: Vec<Message> = Vec::new();
    for _ in 0..10 {
        received.extend(receive(&client, &url, 10, Some(60)).await);
        if received.len() >= 10 {
            break;
        }
    }
    let received_ids: HashSet<String> = received
        .iter()
        .filter_map(|m| m.message_id().map(str::to_owned))
        .collect();
    assert_eq!(received_ids, message_ids);
    let attributed = received
        .iter()
        .find(|m| m.body() == Some("attributed"))
        .expect("attributed message");
    assert_eq!(attributed.message_attributes(), Some(&attributes));
}

#[tokio::test]
async fn send_message_batch_with_a_bad_entry_sends_the_others() {
    let server = TestServer::start();
    let client = server.client();
    let url = create_queue(&client, "batch-partial", &[]).await;
    let entries = vec![
        entry("good-1", "fine"),
        entry("bad", "control \u{1} character"),
        entry("good-2", "also fine"),
    ];
    let output = client
        .send_message_batch()
        .queue_url(&url)
        .set_entries(Some(entries))
        .send()
        .await
        .unwrap();

    let succeeded: HashSet<&str> = output.successful().iter().map(|s| s.id()).collect();
    assert_eq!(succeeded, HashSet::from(["good-1", "good-2"]));
    assert_eq!(output.failed().len(), 1, "{:?}", output.failed());
    assert_sender_fault(output.failed(), "bad", "InvalidMessageContents");

    let bodies: HashSet<String> = receive(&client, &url, 10, None)
        .await
        .iter()
        .filter_map(|m| m.body().map(str::to_owned))
        .collect();
    assert_eq!(
        bodies,
        HashSet::from(["fine".to_owned(), "also fine".to_owned()])
    );
}

#[tokio::test]
async fn send_message_batch_applies_per_entry_delay() {
    let server = TestServer::start();
    let client = server.client();
    let url = create_queue(&client, "batch-delay", &[]).await;
    let entries = vec![
        entry("now", "now"),
        SendMessageBatchRequestEntry::builder()
            .id("later")
            .message_body("later")
            .delay_seconds(60)
            .build()
            .unwrap(),
    ];
    let output = client
        .send_message_batch()
        .queue_url(&url)
        .set_entries(Some(entries))
        .send()
        .await
        .unwrap();
    assert_eq!(output.successful().len(), 2);
    assert_eq!(counters(&client, &url).await, (1, 0, 1));
    let bodies: Vec<String> = receive(&client, &url, 10, None)
        .await
        .iter()
        .filter_map(|m| m.body().map(str::to_owned))
        .collect();
    assert_eq!(bodies, ["now"]);
}

#[tokio::test]
async fn delete_message_batch_deletes_valid_entries_and_reports_bad_handles() {
    let server = TestServer::start();
    let client = server.client();
    let url = create_queue(&client, "batch-delete", &[]).await;
    for index in 0..3 {
        send(&client, &url, &format!("delete me {index}")).await;
    }
    let mut messages = Vec::new();
    for _ in 0..5 {
        messages.extend(receive(&client, &url, 10, Some(60)).await);
        if messages.len() == 3 {
            break;
        }
    }
    assert_eq!(messages.len(), 3);

    let entries = vec![
        DeleteMessageBatchRequestEntry::builder()
            .id("first")
            .receipt_handle(messages[0].receipt_handle().unwrap())
            .build()
            .unwrap(),
        DeleteMessageBatchRequestEntry::builder()
            .id("garbage")
            .receipt_handle("not-a-receipt-handle")
            .build()
            .unwrap(),
        DeleteMessageBatchRequestEntry::builder()
            .id("second")
            .receipt_handle(messages[1].receipt_handle().unwrap())
            .build()
            .unwrap(),
    ];
    let output = client
        .delete_message_batch()
        .queue_url(&url)
        .set_entries(Some(entries))
        .send()
        .await
        .unwrap();
    let succeeded: HashSet<&str> = output.successful().iter().map(|s| s.id()).collect();
    assert_eq!(succeeded, HashSet::from(["first", "second"]));
    assert_eq!(output.failed().len(), 1, "{:?}", output.failed());
    assert_sender_fault(output.failed(), "garbage", "ReceiptHandleIsInvalid");

    assert_eq!(
        counters(&client, &url).await,
        (0, 1, 0),
        "exactly the third message is left"
    );
    client
        .change_message_visibility()
        .queue_url(&url)
        .receipt_handle(messages[2].receipt_handle().unwrap())
        .visibility_timeout(0)
        .send()
        .await
        .unwrap();
    let left = receive(&client, &url, 10, None).await;
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].message_id(), messages[2].message_id());
}

#[tokio::test]
async fn change_message_visibility_batch_changes_valid_entries_and_reports_bad_handles() {
    let server = TestServer::start();
    let client = server.client();
    let url = create_queue(&client, "batch-visibility", &[]).await;
    send(&client, &url, "release me").await;
    send(&client, &url, "keep me hidden").await;
    let mut messages = Vec::new();
    for _ in 0..5 {
        messages.extend(receive(&client, &url, 10, Some(60)).await);
        if messages.len() == 2 {
            break;
        }
    }
    assert_eq!(messages.len(), 2);
    let release = messages
        .iter()
        .find(|m| m.body() == Some("release me"))
        .unwrap();
    let keep = messages
        .iter()
        .find(|m| m.body() == Some("keep me hidden"))
        .unwrap();

    let entries = vec![
        ChangeMessageVisibilityBatchRequestEntry::builder()
            .id("release")
            .receipt_handle(release.receipt_handle().unwrap())
            .visibility_timeout(0)
            .build()
            .unwrap(),
        ChangeMessageVisibilityBatchRequestEntry::builder()
            .id("keep")
            .receipt_handle(keep.receipt_handle().unwrap())
            .visibility_timeout(120)
            .build()
            .unwrap(),
        ChangeMessageVisibilityBatchRequestEntry::builder()
            .id("garbage")
            .receipt_handle("not-a-receipt-handle")
            .visibility_timeout(0)
            .build()
            .unwrap(),
    ];
    let output = client
        .change_message_visibility_batch()
        .queue_url(&url)
        .set_entries(Some(entries))
        .send()
        .await
        .unwrap();
    let succeeded: HashSet<&str> = output.successful().iter().map(|s| s.id()).collect();
    assert_eq!(succeeded, HashSet::from(["release", "keep"]));
    assert_eq!(output.failed().len(), 1, "{:?}", output.failed());
    assert_sender_fault(output.failed(), "garbage", "ReceiptHandleIsInvalid");

    let visible = receive(&client, &url, 10, Some(60)).await;
    assert_eq!(
        visible.iter().filter_map(Message::body).collect::<Vec<_>>(),
        ["release me"]
    );
    assert_eq!(counters(&client, &url).await, (0, 2, 0));
}
