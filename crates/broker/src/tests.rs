//! Broker rules with an injected clock: visibility, delays and retention are checked by moving
//! time, not by sleeping. Long-poll wake-ups use real (short) waits bounded by timeouts.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tern_core::ErrorCode;
use tern_core::time::ManualClock;
use tern_store_sqlite::SqliteStore;

use crate::*;

const T0: u64 = 1_800_000_000_000;

struct Fixture {
    broker: Arc<Broker>,
    clock: ManualClock,
    _directory: tempfile::TempDir,
}

async fn fixture() -> Fixture {
    let directory = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(directory.path()).unwrap());
    let clock = ManualClock::starting_at(T0);
    let broker = Broker::start(store, Arc::new(clock.clone())).await.unwrap();
    Fixture {
        broker,
        clock,
        _directory: directory,
    }
}

fn attributes(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect()
}

fn text(body: &str) -> SendRequest {
    SendRequest {
        body: body.to_owned(),
        attributes: Default::default(),
        delay_seconds: None,
    }
}

async fn receive(broker: &Broker, queue: &str) -> Vec<DeliveredMessage> {
    let options = ReceiveOptions {
        max_messages: Some(10),
        ..Default::default()
    };
    broker.receive_messages(queue, options).await.unwrap()
}

#[tokio::test]
async fn visibility_timeout_hides_then_redelivers_with_a_new_receipt() {
    let Fixture { broker, clock, .. } = fixture().await;
    broker
        .create_queue(
            "q",
            attributes(&[("VisibilityTimeout", "30")]),
            BTreeMap::new(),
        )
        .await
        .unwrap();
    broker
        .send_message("q", text("hello"), "sender")
        .await
        .unwrap();

    let first = receive(&broker, "q").await;
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].receive_count, 1);
    clock.advance_seconds(29);
    assert!(
        receive(&broker, "q").await.is_empty(),
        "visible before its timeout"
    );
    clock.advance_seconds(1);
    let second = receive(&broker, "q").await;
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].receive_count, 2);
    assert_eq!(second[0].first_received_at, T0);
    assert_ne!(second[0].receipt, first[0].receipt);

    // The superseded receipt no longer deletes; the current one does.
    broker
        .delete_message("q", &first[0].receipt.encode())
        .await
        .unwrap();
    clock.advance_seconds(30);
    let third = receive(&broker, "q").await;
    assert_eq!(third.len(), 1, "a stale receipt must not delete");
    broker
        .delete_message("q", &third[0].receipt.encode())
        .await
        .unwrap();
    clock.advance_seconds(30);
    assert!(receive(&broker, "q").await.is_empty());
}

#[tokio::test]
async fn queue_and_message_delays() {
    let Fixture { broker, clock, .. } = fixture().await;
    broker
        .create_queue(
            "delayed",
            attributes(&[("DelaySeconds", "10")]),
            BTreeMap::new(),
        )
        .await
        .unwrap();
    broker
        .send_message("delayed", text("queue-delay"), "s")
        .await
        .unwrap();
    let explicit = SendRequest {
        delay_seconds: Some(0),
        ..text("no-delay")
    };
    broker.send_message("delayed", explicit, "s").await.unwrap();
    let now = receive(&broker, "delayed").await;
    assert_eq!(now.len(), 1);
    assert_eq!(now[0].body, "no-delay");
    clock.advance_seconds(10);
    let later = receive(&broker, "delayed").await;
    assert_eq!(later.len(), 1);
    assert_eq!(later[0].body, "queue-delay");

    let too_long = SendRequest {
        delay_seconds: Some(901),
        ..text("x")
    };
    let error = broker
        .send_message("delayed", too_long, "s")
        .await
        .unwrap_err();
    assert_eq!(error.code, ErrorCode::InvalidParameterValue);
}

#[tokio::test]
async fn retention_expiry_hides_and_sweeps_old_messages() {
    let Fixture { broker, clock, .. } = fixture().await;
    broker
        .create_queue(
            "short",
            attributes(&[("MessageRetentionPeriod", "60")]),
            BTreeMap::new(),
        )
        .await
        .unwrap();
    broker
        .send_message("short", text("old"), "s")
        .await
        .unwrap();
    clock.advance_seconds(61);
    broker
        .send_message("short", text("new"), "s")
        .await
        .unwrap();
    let counts_before = broker
        .queue_attributes("short", &["ApproximateNumberOfMessages".into()], "arn")
        .await
        .unwrap();
    assert_eq!(
        counts_before[0].1, "2",
        "expired messages linger until swept"
    );
    broker.sweep_once().await;
    let counts_after = broker
        .queue_attributes("short", &["ApproximateNumberOfMessages".into()], "arn")
        .await
        .unwrap();
    assert_eq!(counts_after[0].1, "1");
    let received = receive(&broker, "short").await;
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].body, "new");
}

#[tokio::test]
async fn create_queue_is_idempotent_only_for_identical_attributes() {
    let Fixture { broker, .. } = fixture().await;
    let first = broker
        .create_queue(
            "same",
            attributes(&[("VisibilityTimeout", "60")]),
            BTreeMap::new(),
        )
        .await
        .unwrap();
    let again = broker
        .create_queue(
            "same",
            attributes(&[("VisibilityTimeout", "60")]),
            BTreeMap::new(),
        )
        .await
        .unwrap();
    assert_eq!(first.id, again.id);
    let error = broker
        .create_queue(
            "same",
            attributes(&[("VisibilityTimeout", "61")]),
            BTreeMap::new(),
        )
        .await
        .unwrap_err();
    assert_eq!(error.code, ErrorCode::QueueNameExists);
}

#[tokio::test]
async fn list_queues_pages_with_tokens_only_when_asked() {
    let Fixture { broker, .. } = fixture().await;
    for name in ["a1", "a2", "a3", "b1"] {
        broker
            .create_queue(name, BTreeMap::new(), BTreeMap::new())
            .await
            .unwrap();
    }
    let all = broker.list_queues(None, None, None).unwrap();
    assert_eq!(all.names, ["a1", "a2", "a3", "b1"]);
    assert_eq!(all.next_token, None);
    let page = broker.list_queues(Some("a"), Some(2), None).unwrap();
    assert_eq!(page.names, ["a1", "a2"]);
    let token = page.next_token.expect("a second page exists");
    let rest = broker
        .list_queues(Some("a"), Some(2), Some(&token))
        .unwrap();
    assert_eq!(rest.names, ["a3"]);
    assert_eq!(rest.next_token, None);
    let error = broker.list_queues(None, Some(0), None).unwrap_err();
    assert_eq!(error.code, ErrorCode::InvalidParameterValue);
    let error = broker.list_queues(None, None, Some("%%%")).unwrap_err();
    assert_eq!(error.code, ErrorCode::InvalidParameterValue);
}

#[tokio::test]
async fn purge_is_limited_to_once_a_minute() {
    let Fixture { broker, clock, .. } = fixture().await;
    broker
        .create_queue("p", BTreeMap::new(), BTreeMap::new())
        .await
        .unwrap();
    broker.send_message("p", text("x"), "s").await.unwrap();
    broker.purge_queue("p").await.unwrap();
    assert!(receive(&broker, "p").await.is_empty());
    let error = broker.purge_queue("p").await.unwrap_err();
    assert_eq!(error.code, ErrorCode::PurgeQueueInProgress);
    clock.advance_seconds(60);
    broker.purge_queue("p").await.unwrap();
}

#[tokio::test]
async fn change_visibility_rules() {
    let Fixture { broker, clock, .. } = fixture().await;
    broker
        .create_queue("v", BTreeMap::new(), BTreeMap::new())
        .await
        .unwrap();
    broker.send_message("v", text("x"), "s").await.unwrap();
    let received = receive(&broker, "v").await;
    let handle = received[0].receipt.encode();
    let change = |seconds| VisibilityRequest {
        receipt_handle: handle.clone(),
        visibility_timeout_seconds: seconds,
    };
    broker
        .change_message_visibility("v", change(0))
        .await
        .unwrap();
    assert_eq!(
        receive(&broker, "v").await.len(),
        1,
        "timeout 0 releases at once"
    );
    let error = broker
        .change_message_visibility("v", change(10))
        .await
        .unwrap_err();
    assert_eq!(
        error.code,
        ErrorCode::InvalidParameterValue,
        "stale receipt"
    );
    let error = broker
        .change_message_visibility("v", change(43_201))
        .await
        .unwrap_err();
    assert_eq!(error.code, ErrorCode::InvalidParameterValue);
    let garbage = VisibilityRequest {
        receipt_handle: "garbage".into(),
        visibility_timeout_seconds: 5,
    };
    let error = broker
        .change_message_visibility("v", garbage)
        .await
        .unwrap_err();
    assert_eq!(error.code, ErrorCode::ReceiptHandleIsInvalid);
    clock.advance_seconds(1);
}

#[tokio::test]
async fn batch_entries_fail_alone() {
    let Fixture { broker, .. } = fixture().await;
    broker
        .create_queue("b", BTreeMap::new(), BTreeMap::new())
        .await
        .unwrap();
    let entries = vec![
        ("ok".to_owned(), text("fine")),
        ("bad".to_owned(), text("bell\u{7}")),
    ];
    let results = broker.send_message_batch("b", entries, "s").await.unwrap();
    assert!(results[0].1.is_ok());
    assert_eq!(
        results[1].1.as_ref().unwrap_err().code,
        ErrorCode::InvalidMessageContents
    );
    assert_eq!(
        receive(&broker, "b").await.len(),
        1,
        "the valid entry was stored"
    );
    let duplicate = vec![("x".to_owned(), text("1")), ("x".to_owned(), text("2"))];
    let error = broker
        .send_message_batch("b", duplicate, "s")
        .await
        .unwrap_err();
    assert_eq!(error.code, ErrorCode::BatchEntryIdsNotDistinct);
}

#[tokio::test]
async fn long_poll_returns_as_soon_as_a_message_arrives() {
    let Fixture { broker, .. } = fixture().await;
    broker
        .create_queue("lp", BTreeMap::new(), BTreeMap::new())
        .await
        .unwrap();
    let poller = {
        let broker = broker.clone();
        tokio::spawn(async move {
            let options = ReceiveOptions {
                wait_time_seconds: Some(20),
                ..Default::default()
            };
            broker.receive_messages("lp", options).await
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!poller.is_finished(), "an empty queue must hold the poll");
    broker.send_message("lp", text("wake"), "s").await.unwrap();
    // Bounded so a missed wake-up fails the test instead of hanging it; 20 s is the poll's own
    // wait, so returning within 10 s can only mean the arrival woke it.
    let received = tokio::time::timeout(Duration::from_secs(10), poller)
        .await
        .expect("the poll was not woken by the arrival")
        .unwrap()
        .unwrap();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].body, "wake");
}

#[tokio::test]
async fn shutdown_ends_long_polls() {
    let Fixture { broker, .. } = fixture().await;
    broker
        .create_queue("sd", BTreeMap::new(), BTreeMap::new())
        .await
        .unwrap();
    let poller = {
        let broker = broker.clone();
        tokio::spawn(async move {
            let options = ReceiveOptions {
                wait_time_seconds: Some(20),
                ..Default::default()
            };
            broker.receive_messages("sd", options).await
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    broker.begin_shutdown();
    let received = tokio::time::timeout(Duration::from_secs(10), poller)
        .await
        .expect("shutdown did not end the poll")
        .unwrap()
        .unwrap();
    assert!(received.is_empty());
}

#[tokio::test]
async fn deleted_queues_are_gone_everywhere() {
    let Fixture { broker, .. } = fixture().await;
    broker
        .create_queue("gone", BTreeMap::new(), BTreeMap::new())
        .await
        .unwrap();
    broker.delete_queue("gone").await.unwrap();
    for error in [
        broker
            .send_message("gone", text("x"), "s")
            .await
            .unwrap_err(),
        broker.delete_queue("gone").await.unwrap_err(),
        broker.queue("gone").unwrap_err(),
    ] {
        assert_eq!(error.code, ErrorCode::QueueDoesNotExist);
    }
}
