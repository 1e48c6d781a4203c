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
const ACCOUNT: &str = "000000000000";

struct Fixture {
    broker: Arc<Broker>,
    clock: ManualClock,
    _directory: tempfile::TempDir,
}

async fn fixture() -> Fixture {
    let directory = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(directory.path()).unwrap());
    let clock = ManualClock::starting_at(T0);
    let broker = Broker::start(store, Arc::new(clock.clone()), ACCOUNT)
        .await
        .unwrap();
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
        ..Default::default()
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
    let Fixture { broker, clock, .. } = fixture().await;
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
    let too_soon = broker
        .create_queue("gone", BTreeMap::new(), BTreeMap::new())
        .await;
    assert_eq!(too_soon.unwrap_err().code, ErrorCode::QueueDeletedRecently);
    clock.advance_seconds(60);
    broker
        .create_queue("gone", BTreeMap::new(), BTreeMap::new())
        .await
        .unwrap();
}

fn fifo_message(body: &str, group: &str, deduplication_id: Option<&str>) -> SendRequest {
    SendRequest {
        message_group_id: Some(group.to_owned()),
        message_deduplication_id: deduplication_id.map(str::to_owned),
        ..text(body)
    }
}

async fn fifo_queue(broker: &Broker, name: &str, extra: &[(&str, &str)]) {
    let mut requested = attributes(&[("FifoQueue", "true")]);
    requested.extend(attributes(extra));
    broker
        .create_queue(name, requested, BTreeMap::new())
        .await
        .unwrap();
}

#[tokio::test]
async fn fifo_send_rules() {
    let Fixture { broker, .. } = fixture().await;
    fifo_queue(&broker, "rules.fifo", &[]).await;
    let missing_group = broker
        .send_message("rules.fifo", text("x"), "s")
        .await
        .unwrap_err();
    assert_eq!(missing_group.code, ErrorCode::MissingParameter);
    let missing_dedup = broker
        .send_message("rules.fifo", fifo_message("x", "g", None), "s")
        .await
        .unwrap_err();
    assert_eq!(missing_dedup.code, ErrorCode::InvalidParameterValue);
    let delayed = SendRequest {
        delay_seconds: Some(5),
        ..fifo_message("x", "g", Some("d"))
    };
    let error = broker
        .send_message("rules.fifo", delayed, "s")
        .await
        .unwrap_err();
    assert_eq!(error.code, ErrorCode::InvalidParameterValue);

    broker
        .create_queue("standard", BTreeMap::new(), BTreeMap::new())
        .await
        .unwrap();
    let error = broker
        .send_message("standard", fifo_message("x", "g", Some("d")), "s")
        .await
        .unwrap_err();
    assert_eq!(
        error.code,
        ErrorCode::InvalidParameterValue,
        "no dedup ids on standard queues"
    );
    let fair = SendRequest {
        message_group_id: Some("tenant-a".into()),
        ..text("fair")
    };
    broker.send_message("standard", fair, "s").await.unwrap();
}

#[tokio::test]
async fn fifo_deduplicates_within_five_minutes_and_reports_the_original() {
    let Fixture { broker, clock, .. } = fixture().await;
    fifo_queue(
        &broker,
        "dedup.fifo",
        &[("ContentBasedDeduplication", "true")],
    )
    .await;
    let first = broker
        .send_message("dedup.fifo", fifo_message("same body", "g", None), "s")
        .await
        .unwrap();
    let again = broker
        .send_message("dedup.fifo", fifo_message("same body", "g", None), "s")
        .await
        .unwrap();
    assert_eq!(again.message_id, first.message_id);
    assert_eq!(again.sequence_number, first.sequence_number);
    assert!(first.sequence_number.is_some());
    clock.advance_seconds(300);
    let later = broker
        .send_message("dedup.fifo", fifo_message("same body", "g", None), "s")
        .await
        .unwrap();
    assert_ne!(later.message_id, first.message_id);
    assert!(later.sequence_number > first.sequence_number);
    let received = receive(&broker, "dedup.fifo").await;
    assert_eq!(received.len(), 2, "one original, one sent after the window");
}

#[tokio::test]
async fn fifo_delivers_groups_in_order_one_batch_at_a_time() {
    let Fixture { broker, clock, .. } = fifo_fixture_with(&[("VisibilityTimeout", "10")]).await;
    for (body, group) in [("a1", "a"), ("b1", "b"), ("a2", "a")] {
        let request = fifo_message(body, group, Some(body));
        broker
            .send_message("order.fifo", request, "s")
            .await
            .unwrap();
    }
    let first = receive(&broker, "order.fifo").await;
    let bodies: Vec<_> = first.iter().map(|message| message.body.as_str()).collect();
    assert_eq!(
        bodies,
        ["a1", "a2", "b1"],
        "a group's messages come together, in order"
    );
    assert!(
        receive(&broker, "order.fifo").await.is_empty(),
        "groups in flight are blocked"
    );
    clock.advance_seconds(10);
    let again = receive(&broker, "order.fifo").await;
    assert_eq!(
        again.len(),
        3,
        "visibility expiry unblocks, in the same order"
    );
    assert_eq!(again[0].body, "a1");
}

async fn fifo_fixture_with(extra: &[(&str, &str)]) -> Fixture {
    let fixture = fixture().await;
    fifo_queue(&fixture.broker, "order.fifo", extra).await;
    fixture
}

#[tokio::test]
async fn redrive_moves_over_received_messages_and_lists_sources() {
    let Fixture { broker, clock, .. } = fixture().await;
    broker
        .create_queue("dlq", BTreeMap::new(), BTreeMap::new())
        .await
        .unwrap();
    let policy =
        r#"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:dlq","maxReceiveCount":2}"#;
    broker
        .create_queue(
            "work",
            attributes(&[("RedrivePolicy", policy), ("VisibilityTimeout", "1")]),
            BTreeMap::new(),
        )
        .await
        .unwrap();
    broker
        .send_message("work", text("poison"), "s")
        .await
        .unwrap();
    for _ in 0..2 {
        assert_eq!(receive(&broker, "work").await.len(), 1);
        clock.advance_seconds(1);
    }
    assert!(
        receive(&broker, "work").await.is_empty(),
        "the third receive moves it"
    );
    let dead = receive(&broker, "dlq").await;
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].body, "poison");
    assert_eq!(dead[0].sent_at, T0, "original timestamp kept");
    let sources = broker.dead_letter_source_queues("dlq", None, None).unwrap();
    assert_eq!(sources.names, ["work"]);
}

#[tokio::test]
async fn redrive_policies_are_checked_against_their_target() {
    let Fixture { broker, .. } = fixture().await;
    let policy = |target: &str| {
        format!(
            r#"{{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:{target}","maxReceiveCount":3}}"#
        )
    };
    let create = |name: &'static str, requested: BTreeMap<String, String>| {
        let broker = broker.clone();
        async move { broker.create_queue(name, requested, BTreeMap::new()).await }
    };
    let missing = create("a", attributes(&[("RedrivePolicy", &policy("nowhere"))])).await;
    assert_eq!(missing.unwrap_err().code, ErrorCode::InvalidParameterValue);

    create(
        "closed",
        attributes(&[("RedriveAllowPolicy", r#"{"redrivePermission":"denyAll"}"#)]),
    )
    .await
    .unwrap();
    let denied = create("b", attributes(&[("RedrivePolicy", &policy("closed"))])).await;
    assert_eq!(denied.unwrap_err().code, ErrorCode::InvalidParameterValue);

    fifo_queue(&broker, "f.fifo", &[]).await;
    let mixed = create("c", attributes(&[("RedrivePolicy", &policy("f.fifo"))])).await;
    assert_eq!(mixed.unwrap_err().code, ErrorCode::InvalidParameterValue);

    create("open", BTreeMap::new()).await.unwrap();
    create("d", attributes(&[("RedrivePolicy", &policy("open"))]))
        .await
        .unwrap();
}
