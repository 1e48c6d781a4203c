//! The behaviour every [`Store`] backend must show, written once. A backend's test calls
//! [`run_all`] with a fresh, empty store. Each check uses its own queue, so checks do not
//! interfere and the order they run in does not matter. Topic checks live in `topics`.

use std::collections::BTreeMap;

use tern_core::queue_attributes::QueueAttributes;
use tern_core::receipt::Receipt;
use tern_core::time::Millis;

use crate::*;

pub mod processes;
mod topics;

const T0: Millis = 1_700_000_000_000;

pub async fn run_all(store: &dyn Store) {
    create_is_first_writer_wins(store).await;
    queue_metadata_round_trips(store).await;
    send_receive_delete(store).await;
    hidden_messages_are_not_received_twice(store).await;
    stale_receipts_do_not_delete(store).await;
    a_delete_batch_settles_each_receipt_on_its_own(store).await;
    visibility_changes(store).await;
    delayed_messages_wait(store).await;
    counts_split_visible_in_flight_and_delayed(store).await;
    purge_and_expire(store).await;
    deleted_queue_ids_are_not_reused(store).await;
    receive_respects_the_limit_and_order(store).await;
    fifo_groups_stay_in_order_and_block_while_in_flight(store).await;
    duplicates_within_the_window_are_dropped(store).await;
    over_received_messages_move_to_the_dead_letter_queue(store).await;
    retried_receive_attempts_return_the_same_receives(store).await;
    dead_letters_move_back_to_their_source_or_elsewhere(store).await;
    fair_queues_serve_quiet_tenants_past_a_noisy_backlog(store).await;
    fifo_walks_many_groups_in_rotation(store).await;
    topics::topics_round_trip_and_deletion_takes_subscriptions(store).await;
    topics::subscriptions_are_deleted_one_by_one(store).await;
    topics::publish_fans_out_to_every_queue_and_skips_gone_ones(store).await;
    topics::publish_deduplicates_like_send(store).await;
    topics::topic_deduplication_returns_the_original_within_its_window(store).await;
    topics::subscription_state_and_outbox_are_stored_together(store).await;
    topics::http_deliveries_are_retried_and_dead_lettered(store).await;
    topics::http_deliveries_take_turns_by_subscription(store).await;
}

fn grouped(body: &str, group: &str, sent_at: Millis) -> NewMessage {
    NewMessage {
        group_id: Some(group.to_owned()),
        ..message(body, sent_at, sent_at)
    }
}

fn fifo_at(now: Millis, max_messages: u32, hide_millis: Millis) -> ReceiveRequest {
    ReceiveRequest {
        order: DeliveryOrder::FifoByGroup { after_group: None },
        ..receive_at(now, max_messages, hide_millis)
    }
}

fn bodies(messages: &[ReceivedMessage]) -> Vec<&str> {
    messages
        .iter()
        .map(|message| message.body.as_str())
        .collect()
}

async fn fifo_groups_stay_in_order_and_block_while_in_flight(store: &dyn Store) {
    let queue = queue(store, "conformance-fifo").await;
    let batch = vec![
        grouped("a1", "a", T0),
        grouped("b1", "b", T0),
        grouped("a2", "a", T0),
        grouped("a3", "a", T0),
    ];
    store.send(queue.id, batch).await.unwrap();
    let first = take(store, queue.id, fifo_at(T0, 2, 1_000)).await;
    assert_eq!(
        bodies(&first),
        ["a1", "a2"],
        "a group's messages come together, in order"
    );
    assert_eq!(first[0].group_id.as_deref(), Some("a"));
    let second = take(store, queue.id, fifo_at(T0, 10, 1_000)).await;
    assert_eq!(
        bodies(&second),
        ["b1"],
        "a3 waits behind a1 and a2, which are in flight"
    );
    let blocked = take(store, queue.id, fifo_at(T0, 10, 1_000)).await;
    assert!(
        blocked.is_empty(),
        "every group is blocked: {:?}",
        bodies(&blocked)
    );
    store
        .delete_messages(queue.id, vec![first[0].receipt])
        .await
        .unwrap();
    let still = take(store, queue.id, fifo_at(T0, 10, 1_000)).await;
    assert!(still.is_empty(), "a3 stays behind a2: {:?}", bodies(&still));
    // When the hidden messages come back, each group resumes in order where it stopped.
    let again = take(store, queue.id, fifo_at(T0 + 1_000, 10, 1_000)).await;
    let mut by_group: Vec<(&str, &str)> = again
        .iter()
        .map(|message| {
            (
                message.group_id.as_deref().unwrap_or(""),
                message.body.as_str(),
            )
        })
        .collect();
    by_group.sort_by_key(|(group, _)| *group);
    assert_eq!(by_group, [("a", "a2"), ("a", "a3"), ("b", "b1")]);
}

fn deduplicated(body: &str, id: &str, sent_at: Millis) -> NewMessage {
    NewMessage {
        deduplication: Some(Deduplication {
            scope: String::new(),
            id: id.to_owned(),
            window_ends_at: sent_at + 300_000,
        }),
        ..grouped(body, "g", sent_at)
    }
}

async fn duplicates_within_the_window_are_dropped(store: &dyn Store) {
    let queue = queue(store, "conformance-dedup").await;
    let sent = store
        .send(
            queue.id,
            vec![
                deduplicated("one", "d1", T0),
                deduplicated("same", "d1", T0),
            ],
        )
        .await
        .unwrap();
    assert!(!sent[0].duplicate);
    assert!(sent[1].duplicate, "same id in one batch is a duplicate");
    assert_eq!(sent[1].message_id, sent[0].message_id);
    assert_eq!(sent[1].seq, sent[0].seq);
    let later = store
        .send(queue.id, vec![deduplicated("later", "d1", T0 + 299_999)])
        .await
        .unwrap();
    assert!(later[0].duplicate);
    assert_eq!(store.expire_deduplication(T0 + 300_000).await.unwrap(), 1);
    let after = store
        .send(queue.id, vec![deduplicated("after", "d1", T0 + 300_000)])
        .await
        .unwrap();
    assert!(!after[0].duplicate, "the window is over");
    let all = take(store, queue.id, fifo_at(T0 + 300_000, 10, 1)).await;
    assert_eq!(
        bodies(&all),
        ["one", "after"],
        "duplicates must never be stored"
    );
}

async fn over_received_messages_move_to_the_dead_letter_queue(store: &dyn Store) {
    let source = queue(store, "conformance-redrive-source").await;
    let dead_letter = queue(store, "conformance-redrive-dlq").await;
    store
        .send(source.id, vec![message("poison", T0, T0)])
        .await
        .unwrap();
    let target = DeadLetterTarget {
        queue_id: dead_letter.id,
        max_receive_count: 2,
    };
    let with_redrive = |now| ReceiveRequest {
        dead_letter: Some(target),
        ..receive_at(now, 10, 10)
    };
    assert_eq!(take(store, source.id, with_redrive(T0)).await.len(), 1);
    assert_eq!(take(store, source.id, with_redrive(T0 + 10)).await.len(), 1);
    let third = store
        .receive(source.id, with_redrive(T0 + 20))
        .await
        .unwrap();
    assert!(
        third.messages.is_empty(),
        "a third receive must not deliver"
    );
    assert_eq!(third.moved_to_dead_letter, 1);
    let moved = take(store, dead_letter.id, receive_at(T0 + 20, 10, 10)).await;
    assert_eq!(bodies(&moved), ["poison"]);
    assert_eq!(moved[0].message_id, "id-poison", "the message keeps its id");
    assert_eq!(moved[0].sent_at, T0, "and its original sent time");
    assert_eq!(
        moved[0].receive_count, 1,
        "it starts over in the dead-letter queue"
    );
}

async fn retried_receive_attempts_return_the_same_receives(store: &dyn Store) {
    let queue = queue(store, "conformance-attempts").await;
    store
        .send(
            queue.id,
            vec![grouped("x1", "x", T0), grouped("x2", "x", T0)],
        )
        .await
        .unwrap();
    let attempt = |now| ReceiveRequest {
        attempt: Some(ReceiveAttempt {
            id: "attempt-1".to_owned(),
            window_ends_at: T0 + 300_000,
        }),
        ..fifo_at(now, 10, 1_000)
    };
    let first = take(store, queue.id, attempt(T0)).await;
    let retry = take(store, queue.id, attempt(T0 + 500)).await;
    assert_eq!(bodies(&retry), bodies(&first));
    assert_eq!(retry[0].receipt, first[0].receipt, "same receipt handles");
    assert_eq!(retry[0].receive_count, 1, "a retry is not another receive");
    // The retry restarted the visibility timeout.
    assert!(
        take(store, queue.id, fifo_at(T0 + 1_200, 10, 1))
            .await
            .is_empty()
    );
}

async fn queue(store: &dyn Store, name: &str) -> QueueRecord {
    let outcome = store
        .create_queue(NewQueue {
            name: name.to_owned(),
            attributes: QueueAttributes::default(),
            tags: BTreeMap::new(),
            now: T0,
        })
        .await
        .expect("create queue");
    match outcome {
        CreateQueueOutcome::Created(record) => record,
        CreateQueueOutcome::AlreadyExists(record) => panic!("{} already existed", record.name),
    }
}

fn message(body: &str, sent_at: Millis, visible_at: Millis) -> NewMessage {
    NewMessage {
        message_id: format!("id-{body}"),
        body: body.to_owned(),
        attributes: Default::default(),
        md5_of_body: tern_core::message::md5_hex(body.as_bytes()),
        md5_of_attributes: None,
        sender_id: "sender".to_owned(),
        sent_at,
        visible_at,
        group_id: None,
        deduplication: None,
        trace_header: None,
    }
}

fn traced(body: &str) -> NewMessage {
    NewMessage {
        trace_header: Some("Root=1-5759e988-bd862e3fe1be46a994272793".to_owned()),
        ..message(body, T0, T0)
    }
}

async fn take(store: &dyn Store, queue_id: u64, request: ReceiveRequest) -> Vec<ReceivedMessage> {
    store
        .receive(queue_id, request)
        .await
        .expect("receive")
        .messages
}

fn receive_at(now: Millis, max_messages: u32, hide_millis: Millis) -> ReceiveRequest {
    ReceiveRequest {
        max_messages,
        now,
        hidden_until: now + hide_millis,
        retained_since: 0,
        ..Default::default()
    }
}

async fn create_is_first_writer_wins(store: &dyn Store) {
    let first = queue(store, "conformance-create").await;
    let again = store
        .create_queue(NewQueue {
            name: "conformance-create".to_owned(),
            attributes: QueueAttributes::default(),
            tags: BTreeMap::new(),
            now: T0 + 5,
        })
        .await
        .unwrap();
    assert_eq!(again, CreateQueueOutcome::AlreadyExists(first.clone()));
    let loaded = store.load_queues().await.unwrap();
    assert!(loaded.contains(&first));
}

async fn queue_metadata_round_trips(store: &dyn Store) {
    let mut record = queue(store, "conformance-metadata").await;
    let mut changes = BTreeMap::new();
    changes.insert("VisibilityTimeout".to_owned(), "77".to_owned());
    record.attributes.apply(&changes).unwrap();
    record.tags.insert("team".to_owned(), "payments".to_owned());
    record.last_modified_at = T0 + 1_000;
    store.update_queue(record.clone()).await.unwrap();
    let loaded = store.load_queues().await.unwrap();
    assert!(loaded.contains(&record), "updated record not loaded back");
}

async fn send_receive_delete(store: &dyn Store) {
    let queue = queue(store, "conformance-basic").await;
    let seqs = store
        .send(queue.id, vec![traced("a"), message("b", T0, T0)])
        .await
        .unwrap();
    assert_eq!(seqs.len(), 2);
    assert!(seqs[0].seq < seqs[1].seq, "sequence numbers must grow");
    assert!(seqs.iter().all(|sent| !sent.duplicate));

    let received = take(store, queue.id, receive_at(T0, 10, 30_000)).await;
    assert_eq!(received.len(), 2);
    let first = &received[0];
    assert_eq!(first.body, "a");
    assert_eq!(first.message_id, "id-a");
    assert_eq!(first.receive_count, 1);
    assert_eq!(first.first_received_at, T0);
    assert_eq!(first.sent_at, T0);
    assert_eq!(first.receipt.queue_id, queue.id);
    assert_eq!(
        first.trace_header.as_deref(),
        Some("Root=1-5759e988-bd862e3fe1be46a994272793")
    );
    assert_eq!(received[1].trace_header, None);

    let receipts = received.iter().map(|message| message.receipt).collect();
    let outcomes = store.delete_messages(queue.id, receipts).await.unwrap();
    assert_eq!(
        outcomes,
        vec![DeleteOutcome::Deleted, DeleteOutcome::Deleted]
    );
    let again = store
        .delete_messages(queue.id, vec![first.receipt])
        .await
        .unwrap();
    assert_eq!(again, vec![DeleteOutcome::Gone]);
    let after = take(store, queue.id, receive_at(T0 + 60_000, 10, 1)).await;
    assert!(after.is_empty(), "deleted messages came back");
}

async fn hidden_messages_are_not_received_twice(store: &dyn Store) {
    let queue = queue(store, "conformance-hidden").await;
    store
        .send(queue.id, vec![message("x", T0, T0)])
        .await
        .unwrap();
    let first = take(store, queue.id, receive_at(T0, 10, 1_000)).await;
    assert_eq!(first.len(), 1);
    let during = take(store, queue.id, receive_at(T0 + 999, 10, 1_000)).await;
    assert!(during.is_empty(), "a hidden message was delivered");
    let after = take(store, queue.id, receive_at(T0 + 1_000, 10, 1_000)).await;
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].receive_count, 2);
    assert_eq!(
        after[0].first_received_at, T0,
        "first receive time must not move"
    );
    assert_ne!(
        after[0].receipt, first[0].receipt,
        "each receive gets a new receipt"
    );
}

async fn stale_receipts_do_not_delete(store: &dyn Store) {
    let queue = queue(store, "conformance-stale").await;
    store
        .send(queue.id, vec![message("s", T0, T0)])
        .await
        .unwrap();
    let first = take(store, queue.id, receive_at(T0, 1, 10)).await;
    let second = take(store, queue.id, receive_at(T0 + 10, 1, 10)).await;
    let outcome = store
        .delete_messages(queue.id, vec![first[0].receipt])
        .await
        .unwrap();
    assert_eq!(outcome, vec![DeleteOutcome::Stale]);
    let outcome = store
        .delete_messages(queue.id, vec![second[0].receipt])
        .await
        .unwrap();
    assert_eq!(outcome, vec![DeleteOutcome::Deleted]);
    let foreign = Receipt {
        queue_id: queue.id + 1_000,
        ..second[0].receipt
    };
    let outcome = store
        .delete_messages(queue.id, vec![foreign])
        .await
        .unwrap();
    assert_eq!(outcome, vec![DeleteOutcome::Gone]);
}

async fn a_delete_batch_settles_each_receipt_on_its_own(store: &dyn Store) {
    let queue = queue(store, "conformance-delete-batch").await;
    // `d` is delayed, so it is never received here.
    let batch = vec![
        message("a", T0, T0),
        message("b", T0, T0),
        message("c", T0, T0),
        message("d", T0, T0 + 5_000),
    ];
    let sent = store.send(queue.id, batch).await.unwrap();
    let first = take(store, queue.id, receive_at(T0, 3, 10)).await;
    assert_eq!(bodies(&first), ["a", "b", "c"]);
    for (received, sent) in first.iter().zip(&sent) {
        assert_eq!(
            received.receipt.message_seq, sent.seq,
            "receipts name the sent seq"
        );
    }
    // `a` again once its visibility ended: its first receipt is stale now, the second current.
    let again = take(store, queue.id, receive_at(T0 + 10, 1, 1_000)).await;
    assert_eq!(bodies(&again), ["a"]);
    let never_received = Receipt {
        queue_id: queue.id,
        message_seq: sent[3].seq,
        token: 7,
    };
    let foreign = Receipt {
        queue_id: queue.id + 1_000,
        ..first[2].receipt
    };
    let receipts = vec![
        first[0].receipt,
        again[0].receipt,
        first[1].receipt,
        never_received,
        foreign,
    ];
    let outcomes = store.delete_messages(queue.id, receipts).await.unwrap();
    assert_eq!(
        outcomes,
        [
            DeleteOutcome::Stale,
            DeleteOutcome::Deleted,
            DeleteOutcome::Deleted,
            DeleteOutcome::Stale,
            DeleteOutcome::Gone,
        ]
    );
    let left = take(store, queue.id, receive_at(T0 + 6_000, 10, 1_000)).await;
    let mut left = bodies(&left);
    left.sort_unstable();
    assert_eq!(left, ["c", "d"], "only the current receipts deleted");
}

async fn visibility_changes(store: &dyn Store) {
    let queue = queue(store, "conformance-visibility").await;
    store
        .send(queue.id, vec![message("v", T0, T0)])
        .await
        .unwrap();
    let received = take(store, queue.id, receive_at(T0, 1, 1_000)).await;
    let receipt = received[0].receipt;

    let change = |hidden_until| {
        vec![VisibilityChange {
            receipt,
            hidden_until,
        }]
    };
    let outcome = store
        .change_visibility(queue.id, change(T0 + 500), T0 + 100)
        .await
        .unwrap();
    assert_eq!(outcome, vec![VisibilityOutcome::Changed]);
    let early = take(store, queue.id, receive_at(T0 + 400, 1, 1)).await;
    assert!(early.is_empty());
    let twelve_hours_later = T0 + 43_200_000 + 1;
    let outcome = store
        .change_visibility(queue.id, change(twelve_hours_later), T0 + 100)
        .await
        .unwrap();
    assert_eq!(outcome, vec![VisibilityOutcome::BeyondLimit]);
    let outcome = store
        .change_visibility(queue.id, change(T0 + 900), T0 + 600)
        .await
        .unwrap();
    assert_eq!(outcome, vec![VisibilityOutcome::NotInFlight]);

    // Visibility 0 makes it receivable at once.
    let again = take(store, queue.id, receive_at(T0 + 600, 1, 1_000)).await;
    let outcome = store
        .change_visibility(queue.id, change(T0 + 700), T0 + 700)
        .await
        .unwrap();
    assert_eq!(
        outcome,
        vec![VisibilityOutcome::Invalid],
        "old receipt must be stale"
    );
    let fresh = vec![VisibilityChange {
        receipt: again[0].receipt,
        hidden_until: T0 + 700,
    }];
    let outcome = store
        .change_visibility(queue.id, fresh, T0 + 700)
        .await
        .unwrap();
    assert_eq!(outcome, vec![VisibilityOutcome::Changed]);
    let visible = take(store, queue.id, receive_at(T0 + 700, 1, 1_000)).await;
    assert_eq!(visible.len(), 1);
}

async fn delayed_messages_wait(store: &dyn Store) {
    let queue = queue(store, "conformance-delay").await;
    store
        .send(queue.id, vec![message("d", T0, T0 + 5_000)])
        .await
        .unwrap();
    let early = store.receive(queue.id, receive_at(T0, 1, 1)).await.unwrap();
    assert!(early.messages.is_empty());
    assert_eq!(early.next_visible_at, Some(T0 + 5_000));
    assert_eq!(
        take(store, queue.id, receive_at(T0 + 5_000, 1, 1))
            .await
            .len(),
        1
    );
}

async fn counts_split_visible_in_flight_and_delayed(store: &dyn Store) {
    let queue = queue(store, "conformance-counts").await;
    let batch = vec![
        message("c1", T0, T0),
        message("c2", T0, T0),
        message("c3", T0, T0 + 9_000),
    ];
    store.send(queue.id, batch).await.unwrap();
    take(store, queue.id, receive_at(T0, 1, 1_000)).await;
    let counts = store.counts(queue.id, T0).await.unwrap();
    assert_eq!(
        counts,
        QueueCounts {
            visible: 1,
            in_flight: 1,
            delayed: 1
        }
    );
    let later = store.counts(queue.id, T0 + 10_000).await.unwrap();
    assert_eq!(
        later,
        QueueCounts {
            visible: 3,
            in_flight: 0,
            delayed: 0
        }
    );
}

async fn purge_and_expire(store: &dyn Store) {
    let queue = queue(store, "conformance-purge").await;
    let batch = vec![
        message("old", T0, T0),
        message("new", T0 + 10_000, T0 + 10_000),
    ];
    store.send(queue.id, batch).await.unwrap();
    let retained_since = T0 + 1;
    let hidden = ReceiveRequest {
        retained_since,
        ..receive_at(T0 + 10_000, 10, 1)
    };
    let received = take(store, queue.id, hidden).await;
    assert_eq!(received.len(), 1, "an expired message was delivered");
    assert_eq!(received[0].body, "new");
    assert_eq!(store.expire(queue.id, retained_since).await.unwrap(), 1);
    assert_eq!(store.purge(queue.id).await.unwrap(), 1);
    assert_eq!(
        store.counts(queue.id, T0 + 20_000).await.unwrap(),
        QueueCounts::default()
    );
}

async fn deleted_queue_ids_are_not_reused(store: &dyn Store) {
    let first = queue(store, "conformance-recreate").await;
    store
        .send(first.id, vec![message("gone", T0, T0)])
        .await
        .unwrap();
    assert!(store.delete_queue(first.id).await.unwrap());
    assert!(!store.delete_queue(first.id).await.unwrap());
    let second = queue(store, "conformance-recreate").await;
    assert_ne!(first.id, second.id);
    let received = take(store, second.id, receive_at(T0, 10, 1)).await;
    assert!(received.is_empty(), "messages survived their queue");
    assert!(
        !store
            .load_queues()
            .await
            .unwrap()
            .iter()
            .any(|queue| queue.id == first.id)
    );
    let orphan = store.send(first.id, vec![message("orphan", T0, T0)]).await;
    assert!(
        matches!(orphan, Err(StoreError::QueueNotFound { .. })),
        "a send to a deleted queue must fail, not leave orphans"
    );
}

async fn receive_respects_the_limit_and_order(store: &dyn Store) {
    let queue = queue(store, "conformance-order").await;
    let batch = (0..5)
        .map(|index| message(&format!("m{index}"), T0, T0))
        .collect();
    store.send(queue.id, batch).await.unwrap();
    let received = take(store, queue.id, receive_at(T0, 3, 1_000)).await;
    let bodies: Vec<_> = received
        .iter()
        .map(|message| message.body.as_str())
        .collect();
    assert_eq!(
        bodies,
        ["m0", "m1", "m2"],
        "oldest visible messages come first"
    );
    let rest = take(store, queue.id, receive_at(T0, 10, 1_000)).await;
    assert_eq!(rest.len(), 2);
}

async fn dead_letters_move_back_to_their_source_or_elsewhere(store: &dyn Store) {
    let source = queue(store, "conformance-move-source").await;
    let dead_letter = queue(store, "conformance-move-dlq").await;
    let elsewhere = queue(store, "conformance-move-elsewhere").await;
    let target = DeadLetterTarget {
        queue_id: dead_letter.id,
        max_receive_count: 1,
    };
    let batch = vec![
        message("m1", T0, T0),
        message("m2", T0, T0),
        message("m3", T0, T0),
    ];
    store.send(source.id, batch).await.unwrap();
    take(store, source.id, receive_at(T0, 10, 0)).await;
    let moved = store
        .receive(
            source.id,
            ReceiveRequest {
                dead_letter: Some(target),
                ..receive_at(T0, 10, 0)
            },
        )
        .await
        .unwrap();
    assert_eq!(moved.moved_to_dead_letter, 3);
    store
        .send(dead_letter.id, vec![message("direct", T0, T0)])
        .await
        .unwrap();

    assert_eq!(
        store
            .move_messages(dead_letter.id, None, 2, T0)
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        store
            .move_messages(dead_letter.id, None, 10, T0)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .move_messages(dead_letter.id, None, 10, T0)
            .await
            .unwrap(),
        0,
        "a message sent straight to the DLQ has no source to go back to"
    );
    let back = take(store, source.id, receive_at(T0, 10, 1_000)).await;
    assert_eq!(bodies(&back), ["m1", "m2", "m3"]);
    assert_eq!(back[0].receive_count, 1, "moved messages start over");

    let moved = store
        .move_messages(dead_letter.id, Some(elsewhere.id), 10, T0)
        .await
        .unwrap();
    assert_eq!(moved, 1);
    assert_eq!(
        bodies(&take(store, elsewhere.id, receive_at(T0, 10, 1)).await),
        ["direct"]
    );
}

async fn fair_queues_serve_quiet_tenants_past_a_noisy_backlog(store: &dyn Store) {
    let queue = queue(store, "conformance-fair").await;
    let backlog = (0..50)
        .map(|index| grouped(&format!("noisy-{index}"), "noisy", T0))
        .collect();
    store.send(queue.id, backlog).await.unwrap();
    store
        .send(queue.id, vec![grouped("quiet-0", "quiet", T0 + 1)])
        .await
        .unwrap();
    store
        .send(queue.id, vec![message("plain", T0 + 2, T0 + 2)])
        .await
        .unwrap();
    let fair = |after_group: Option<String>, max_messages| ReceiveRequest {
        order: DeliveryOrder::FairByGroup { after_group },
        ..receive_at(T0 + 10, max_messages, 1_000)
    };
    let first = store.receive(queue.id, fair(None, 1)).await.unwrap();
    assert_eq!(bodies(&first.messages), ["noisy-0"]);
    assert_eq!(first.last_group.as_deref(), Some("noisy"));
    let second = store
        .receive(queue.id, fair(first.last_group, 1))
        .await
        .unwrap();
    assert_eq!(
        bodies(&second.messages),
        ["quiet-0"],
        "the quiet tenant is next, not 50th"
    );
    let third = store
        .receive(queue.id, fair(second.last_group, 3))
        .await
        .unwrap();
    assert_eq!(
        bodies(&third.messages),
        ["noisy-1", "noisy-2", "noisy-3"],
        "then oldest first"
    );
}

async fn fifo_walks_many_groups_in_rotation(store: &dyn Store) {
    let queue = queue(store, "conformance-many-groups").await;
    // 299 groups whose heads are delayed (blocked), and one receivable group at the end.
    let mut batch: Vec<NewMessage> = (0..299)
        .map(|index| NewMessage {
            visible_at: T0 + 1_000_000,
            ..grouped(&format!("blocked-{index}"), &format!("g{index:03}"), T0)
        })
        .collect();
    batch.push(grouped("ready", "g299", T0));
    store.send(queue.id, batch).await.unwrap();
    let mut after_group = None;
    let mut received = Vec::new();
    for _ in 0..10 {
        let request = ReceiveRequest {
            order: DeliveryOrder::FifoByGroup {
                after_group: after_group.clone(),
            },
            ..receive_at(T0, 10, 1_000)
        };
        let outcome = store.receive(queue.id, request).await.unwrap();
        after_group = outcome.last_group.clone();
        received = outcome.messages;
        if !received.is_empty() {
            break;
        }
        assert!(
            outcome.groups_left_unprobed,
            "an empty result must say whether groups were left unprobed"
        );
    }
    assert_eq!(
        bodies(&received),
        ["ready"],
        "the rotation reaches every group"
    );
}
