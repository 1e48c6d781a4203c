//! Conformance checks for topics, subscriptions and fan-out publish.

use std::collections::BTreeMap;

use tern_core::time::Millis;

use super::{T0, message, queue, receive_at, take};
use crate::*;

async fn topic(store: &dyn Store, name: &str) -> TopicRecord {
    let outcome = store
        .create_topic(NewTopic {
            name: name.to_owned(),
            attributes: BTreeMap::from([("DisplayName".to_owned(), name.to_owned())]),
            tags: BTreeMap::new(),
            now: T0,
        })
        .await
        .expect("create topic");
    match outcome {
        CreateTopicOutcome::Created(record) => record,
        CreateTopicOutcome::AlreadyExists(record) => panic!("{} already existed", record.name),
    }
}

fn subscription(id: &str, topic_id: u64, endpoint: &str) -> SubscriptionRecord {
    SubscriptionRecord {
        id: id.to_owned(),
        topic_id,
        protocol: "sqs".to_owned(),
        endpoint: endpoint.to_owned(),
        attributes: BTreeMap::from([("RawMessageDelivery".to_owned(), "false".to_owned())]),
        created_at: T0,
        pending_confirmation: false,
        confirmation_was_authenticated: true,
        token: None,
    }
}

fn http_delivery(
    subscription_id: &str,
    topic_id: u64,
    body: &str,
    due_at: Millis,
) -> NewHttpDelivery {
    NewHttpDelivery {
        subscription_id: subscription_id.to_owned(),
        topic_id,
        endpoint: "http://127.0.0.1:9/".to_owned(),
        message_type: "Notification".to_owned(),
        headers: BTreeMap::from([(
            "x-amz-sns-message-type".to_owned(),
            "Notification".to_owned(),
        )]),
        body: body.to_owned(),
        due_at,
        created_at: T0,
    }
}

/// Up to `limit` due deliveries, any number of them from one subscription.
fn due(now: Millis, limit: u32) -> DueHttpDeliveries {
    DueHttpDeliveries {
        now,
        subscriptions_max: 1_000,
        limit,
        share: limit,
        ..Default::default()
    }
}

/// The bodies of a page's deliveries, in the order the page holds them.
fn bodies(page: &HttpDeliveryPage) -> Vec<&str> {
    page.deliveries
        .iter()
        .map(|row| row.delivery.body.as_str())
        .collect()
}

fn entry(deliveries: Vec<Delivery>) -> PublishEntry {
    PublishEntry {
        deliveries,
        ..Default::default()
    }
}

fn published(outcome: &PublishEntryOutcome) -> &[DeliveryOutcome] {
    match outcome {
        PublishEntryOutcome::Published(outcomes) => outcomes,
        PublishEntryOutcome::Duplicate { .. } => panic!("not a duplicate: {outcome:?}"),
    }
}

pub(super) async fn topics_round_trip_and_deletion_takes_subscriptions(store: &dyn Store) {
    let created = topic(store, "conformance-topic").await;
    let again = store
        .create_topic(NewTopic {
            name: "conformance-topic".to_owned(),
            attributes: BTreeMap::new(),
            tags: BTreeMap::new(),
            now: T0 + 1,
        })
        .await
        .unwrap();
    assert_eq!(again, CreateTopicOutcome::AlreadyExists(created.clone()));
    let mut changed = created.clone();
    changed.tags.insert("team".to_owned(), "core".to_owned());
    changed
        .attributes
        .insert("DisplayName".to_owned(), "renamed".to_owned());
    assert!(store.update_topic(changed.clone()).await.unwrap());
    let loaded = store.load_topics().await.unwrap();
    assert!(loaded.contains(&changed), "{loaded:?}");

    let first = subscription("conformance-sub-1", created.id, "arn:aws:sqs:r:1:a");
    assert_eq!(
        store
            .create_subscription(first.clone(), vec![])
            .await
            .unwrap(),
        CreateSubscriptionOutcome::Created(first.clone())
    );
    let same_endpoint = subscription("conformance-sub-2", created.id, "arn:aws:sqs:r:1:a");
    assert_eq!(
        store
            .create_subscription(same_endpoint, vec![])
            .await
            .unwrap(),
        CreateSubscriptionOutcome::AlreadyExists(first.clone()),
        "one subscription per topic, protocol and endpoint"
    );
    let mut raw = first.clone();
    raw.attributes
        .insert("RawMessageDelivery".to_owned(), "true".to_owned());
    assert!(
        store
            .update_subscription(raw.clone(), vec![])
            .await
            .unwrap()
    );
    assert!(store.load_subscriptions().await.unwrap().contains(&raw));

    assert!(store.delete_topic(created.id).await.unwrap());
    assert!(
        !store.delete_topic(created.id).await.unwrap(),
        "already gone"
    );
    let left = store.load_subscriptions().await.unwrap();
    assert!(
        left.iter().all(|row| row.topic_id != created.id),
        "a deleted topic's subscriptions go with it: {left:?}"
    );
    assert_eq!(
        store
            .create_subscription(subscription("conformance-sub-3", created.id, "x"), vec![])
            .await
            .unwrap(),
        CreateSubscriptionOutcome::TopicNotFound
    );
    assert!(!store.update_topic(changed).await.unwrap());
    let recreated = topic(store, "conformance-topic").await;
    assert_ne!(recreated.id, created.id, "topic ids are never reused");
}

pub(super) async fn subscriptions_are_deleted_one_by_one(store: &dyn Store) {
    let created = topic(store, "conformance-unsubscribe").await;
    for (id, endpoint) in [("conformance-u-1", "a"), ("conformance-u-2", "b")] {
        store
            .create_subscription(subscription(id, created.id, endpoint), vec![])
            .await
            .unwrap();
    }
    assert!(
        store
            .delete_subscription("conformance-u-1".to_owned(), vec![])
            .await
            .unwrap()
    );
    assert!(
        !store
            .delete_subscription("conformance-u-1".to_owned(), vec![])
            .await
            .unwrap()
    );
    let ids: Vec<String> = store
        .load_subscriptions()
        .await
        .unwrap()
        .into_iter()
        .filter(|row| row.topic_id == created.id)
        .map(|row| row.id)
        .collect();
    assert_eq!(ids, ["conformance-u-2"]);
    let deleted_count = |topics: Vec<TopicRecord>| {
        topics
            .into_iter()
            .find(|row| row.id == created.id)
            .and_then(|row| row.attributes.get("SubscriptionsDeleted").cloned())
    };
    assert_eq!(
        deleted_count(store.load_topics().await.unwrap()).as_deref(),
        Some("1"),
        "each deletion is counted with the topic, once"
    );
    store
        .delete_subscription("conformance-u-2".to_owned(), vec![])
        .await
        .unwrap();
    assert_eq!(
        deleted_count(store.load_topics().await.unwrap()).as_deref(),
        Some("2")
    );
}

pub(super) async fn publish_fans_out_to_every_queue_and_skips_gone_ones(store: &dyn Store) {
    let first = queue(store, "conformance-fanout-a").await;
    let second = queue(store, "conformance-fanout-b").await;
    let gone = queue(store, "conformance-fanout-gone").await;
    store.delete_queue(gone.id).await.unwrap();
    let deliveries = [first.id, gone.id, second.id]
        .into_iter()
        .map(|queue_id| Delivery {
            queue_id,
            message: message("announced", T0, T0),
        })
        .collect();
    let outcomes = store.publish(vec![entry(deliveries)]).await.unwrap();
    let outcomes = published(&outcomes[0]);
    assert_eq!(outcomes.len(), 3);
    assert!(matches!(&outcomes[0], DeliveryOutcome::Sent(sent) if !sent.duplicate));
    assert_eq!(outcomes[1], DeliveryOutcome::QueueGone);
    assert!(matches!(&outcomes[2], DeliveryOutcome::Sent(_)));
    for queue_id in [first.id, second.id] {
        let received = take(store, queue_id, receive_at(T0, 10, 1_000)).await;
        assert_eq!(received.len(), 1, "queue {queue_id} got its copy");
        assert_eq!(received[0].body, "announced");
    }
}

pub(super) async fn publish_deduplicates_like_send(store: &dyn Store) {
    let fifo = queue(store, "conformance-fanout-dedup").await;
    let deduplicated = |body: &str| Delivery {
        queue_id: fifo.id,
        message: NewMessage {
            group_id: Some("g".to_owned()),
            deduplication: Some(Deduplication {
                scope: String::new(),
                id: "same".to_owned(),
                window_ends_at: T0 + 300_000,
            }),
            ..message(body, T0, T0)
        },
    };
    let first = store
        .publish(vec![entry(vec![deduplicated("one")])])
        .await
        .unwrap();
    let second = store
        .publish(vec![entry(vec![deduplicated("two")])])
        .await
        .unwrap();
    let (DeliveryOutcome::Sent(first), DeliveryOutcome::Sent(second)) =
        (&published(&first[0])[0], &published(&second[0])[0])
    else {
        panic!("both deliveries reach the queue: {first:?} {second:?}");
    };
    assert!(second.duplicate);
    assert_eq!(second.seq, first.seq);
    let received = take(store, fifo.id, receive_at(T0, 10, 1_000)).await;
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].body, "one");
}

pub(super) async fn topic_deduplication_returns_the_original_within_its_window(store: &dyn Store) {
    let created = topic(store, "conformance-topic-dedup").await;
    let target = queue(store, "conformance-topic-dedup-queue").await;
    let publication = |message_id: &str, sequence: &str, now: Millis| PublishEntry {
        deduplication: Some(TopicDeduplication {
            topic_id: created.id,
            scope: String::new(),
            id: "order-1".to_owned(),
            message_id: message_id.to_owned(),
            sequence_number: sequence.to_owned(),
            now,
            window_ends_at: now + 300_000,
        }),
        deliveries: vec![Delivery {
            queue_id: target.id,
            message: message(message_id, now, now),
        }],
        http_deliveries: vec![http_delivery(
            "conformance-dedup-sub",
            created.id,
            message_id,
            now,
        )],
    };
    let outcomes = store
        .publish(vec![
            publication("m-1", "10", T0),
            publication("m-2", "11", T0),
        ])
        .await
        .unwrap();
    assert!(matches!(&outcomes[0], PublishEntryOutcome::Published(sent) if sent.len() == 1));
    assert_eq!(
        outcomes[1],
        PublishEntryOutcome::Duplicate {
            message_id: "m-1".to_owned(),
            sequence_number: "10".to_owned()
        },
        "a duplicate in the same batch is caught too"
    );
    let later = store
        .publish(vec![publication("m-3", "12", T0 + 299_999)])
        .await
        .unwrap();
    assert!(
        matches!(&later[0], PublishEntryOutcome::Duplicate { message_id, .. } if message_id == "m-1")
    );
    let received = take(store, target.id, receive_at(T0, 10, 1_000)).await;
    assert_eq!(received.len(), 1, "duplicates reach no queue");
    let pending = store
        .due_http_deliveries(due(T0 + 300_000, 10))
        .await
        .unwrap();
    assert_eq!(pending.deliveries.len(), 1, "nor any endpoint");
    let after_window = store
        .publish(vec![publication("m-4", "13", T0 + 300_000)])
        .await
        .unwrap();
    assert!(matches!(
        &after_window[0],
        PublishEntryOutcome::Published(_)
    ));
    assert!(store.delete_topic(created.id).await.unwrap());
    let pending = store
        .due_http_deliveries(due(T0 + 300_000, 10))
        .await
        .unwrap();
    assert!(
        pending.deliveries.is_empty(),
        "a deleted topic's deliveries go with it"
    );
}

pub(super) async fn subscription_state_and_outbox_are_stored_together(store: &dyn Store) {
    let created = topic(store, "conformance-http-topic").await;
    let mut pending = SubscriptionRecord {
        protocol: "http".to_owned(),
        endpoint: "http://127.0.0.1:9/hook".to_owned(),
        pending_confirmation: true,
        confirmation_was_authenticated: false,
        token: Some(ConfirmationToken {
            value: "token-1".to_owned(),
            expires_at: T0 + 1_000,
        }),
        ..subscription("conformance-http-sub", created.id, "unused")
    };
    pending.endpoint = "http://127.0.0.1:9/hook".to_owned();
    let confirmation = http_delivery("conformance-http-sub", created.id, "confirm", T0);
    assert_eq!(
        store
            .create_subscription(pending.clone(), vec![confirmation.clone()])
            .await
            .unwrap(),
        CreateSubscriptionOutcome::Created(pending.clone())
    );
    let again = store
        .create_subscription(
            SubscriptionRecord {
                id: "conformance-http-sub-2".to_owned(),
                ..pending.clone()
            },
            vec![http_delivery(
                "conformance-http-sub-2",
                created.id,
                "not stored",
                T0,
            )],
        )
        .await
        .unwrap();
    assert_eq!(
        again,
        CreateSubscriptionOutcome::AlreadyExists(pending.clone())
    );
    assert!(store.load_subscriptions().await.unwrap().contains(&pending));
    let page = store.due_http_deliveries(due(T0, 10)).await.unwrap();
    assert_eq!(
        bodies(&page),
        ["confirm"],
        "only the created subscription's outbox is stored"
    );
    assert_eq!(page.deliveries[0].delivery, confirmation);
    assert_eq!(page.deliveries[0].attempts, 0);

    let confirmed = SubscriptionRecord {
        pending_confirmation: false,
        confirmation_was_authenticated: true,
        ..pending.clone()
    };
    let notification = http_delivery("conformance-http-sub", created.id, "later", T0 + 50);
    assert!(
        store
            .update_subscription(confirmed.clone(), vec![notification])
            .await
            .unwrap()
    );
    assert!(
        store
            .load_subscriptions()
            .await
            .unwrap()
            .contains(&confirmed)
    );
    let page = store.due_http_deliveries(due(T0, 10)).await.unwrap();
    assert_eq!(page.deliveries.len(), 1);
    assert_eq!(
        page.next_due_at,
        Some(T0 + 50),
        "the next delivery falls due later"
    );

    let farewell = NewHttpDelivery {
        subscription_id: "conformance-http-sub".to_owned(),
        ..http_delivery("conformance-http-sub", created.id, "farewell", T0 + 10)
    };
    assert!(
        store
            .delete_subscription("conformance-http-sub".to_owned(), vec![farewell])
            .await
            .unwrap()
    );
    let page = store.due_http_deliveries(due(T0 + 100, 10)).await.unwrap();
    assert_eq!(
        bodies(&page),
        ["farewell"],
        "unsubscribing drops pending deliveries but keeps the farewell"
    );
    assert!(
        !store
            .update_subscription(confirmed, vec![http_delivery("gone", created.id, "x", T0)])
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .due_http_deliveries(due(T0 + 100, 10))
            .await
            .unwrap()
            .deliveries
            .len(),
        1
    );
    let id = page.deliveries[0].id;
    assert!(
        store
            .settle_http_delivery(id, HttpSettlement::Delivered)
            .await
            .unwrap()
    );
    assert!(
        !store
            .settle_http_delivery(id, HttpSettlement::Delivered)
            .await
            .unwrap()
    );
    store.delete_topic(created.id).await.unwrap();
}

pub(super) async fn http_deliveries_are_retried_and_dead_lettered(store: &dyn Store) {
    let created = topic(store, "conformance-retry-topic").await;
    let dead_letters = queue(store, "conformance-retry-dlq").await;
    let publication = PublishEntry {
        http_deliveries: vec![
            http_delivery("conformance-retry-sub", created.id, "first", T0),
            http_delivery("conformance-retry-sub", created.id, "second", T0 + 1),
        ],
        ..Default::default()
    };
    store.publish(vec![publication]).await.unwrap();
    let page = store.due_http_deliveries(due(T0 + 1, 1)).await.unwrap();
    assert_eq!(page.deliveries.len(), 1, "the limit holds");
    assert_eq!(page.deliveries[0].delivery.body, "first", "earliest first");
    let first = page.deliveries[0].id;
    let retry = HttpSettlement::Retry {
        attempts: 1,
        due_at: T0 + 20_000,
    };
    assert!(store.settle_http_delivery(first, retry).await.unwrap());
    let page = store.due_http_deliveries(due(T0 + 1, 10)).await.unwrap();
    assert_eq!(page.deliveries.len(), 1);
    assert_eq!(page.deliveries[0].delivery.body, "second");
    assert_eq!(page.next_due_at, Some(T0 + 20_000));
    let page = store
        .due_http_deliveries(due(T0 + 20_000, 10))
        .await
        .unwrap();
    let retried = page.deliveries.iter().find(|row| row.id == first).unwrap();
    assert_eq!(retried.attempts, 1);
    let dead = HttpSettlement::DeadLetter(Some(Box::new(Delivery {
        queue_id: dead_letters.id,
        message: message("undeliverable", T0, T0),
    })));
    assert!(
        store
            .settle_http_delivery(first, dead.clone())
            .await
            .unwrap()
    );
    assert!(
        !store.settle_http_delivery(first, dead).await.unwrap(),
        "settled once; the second dead-letter stores nothing"
    );
    let received = take(store, dead_letters.id, receive_at(T0 + 1, 10, 1_000)).await;
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].body, "undeliverable");
    store.delete_topic(created.id).await.unwrap();
}

/// A subscription with a backlog gives at most its share per turn, the others get their turns,
/// and successive turns continue where the last one stopped.
pub(super) async fn http_deliveries_take_turns_by_subscription(store: &dyn Store) {
    let created = topic(store, "conformance-turns").await;
    let mut http_deliveries: Vec<NewHttpDelivery> = (0..50)
        .map(|index| http_delivery("conformance-turns-a", created.id, &format!("a{index}"), T0))
        .collect();
    http_deliveries.push(http_delivery(
        "conformance-turns-b",
        created.id,
        "b0",
        T0 + 5,
    ));
    http_deliveries.push(http_delivery(
        "conformance-turns-c",
        created.id,
        "c0",
        T0 + 9,
    ));
    http_deliveries.push(http_delivery(
        "conformance-turns-c",
        created.id,
        "c1",
        T0 + 7,
    ));
    http_deliveries.push(http_delivery(
        "conformance-turns-c",
        created.id,
        "late",
        T0 + 500,
    ));
    store
        .publish(vec![PublishEntry {
            http_deliveries,
            ..Default::default()
        }])
        .await
        .unwrap();
    let request = DueHttpDeliveries {
        now: T0 + 10,
        subscriptions_max: 10,
        limit: 10,
        share: 2,
        ..Default::default()
    };
    let page = store.due_http_deliveries(request.clone()).await.unwrap();
    assert_eq!(
        bodies(&page),
        ["a0", "a1", "b0", "c1", "c0"],
        "two at most from each, each one's earliest due first"
    );
    assert!(page.round_complete);
    assert_eq!(page.last_visited.as_deref(), Some("conformance-turns-c"));
    assert_eq!(page.next_due_at, Some(T0 + 500));

    let skip: Vec<u64> = page.deliveries.iter().map(|row| row.id).collect();
    let page = store
        .due_http_deliveries(DueHttpDeliveries {
            shares: BTreeMap::from([("conformance-turns-b".to_owned(), 0)]),
            share: 3,
            skip,
            ..request.clone()
        })
        .await
        .unwrap();
    assert_eq!(
        bodies(&page),
        ["a2", "a3", "a4"],
        "skipped deliveries are left out, a zero share passes a subscription by"
    );

    let page = store
        .due_http_deliveries(DueHttpDeliveries {
            subscriptions_max: 1,
            after_subscription: Some("conformance-turns-a".to_owned()),
            ..request.clone()
        })
        .await
        .unwrap();
    assert_eq!(
        bodies(&page),
        ["b0"],
        "the turn starts after the last one visited"
    );
    assert!(!page.round_complete, "the visit budget ended it");
    let page = store
        .due_http_deliveries(DueHttpDeliveries {
            after_subscription: page.last_visited.clone(),
            ..request.clone()
        })
        .await
        .unwrap();
    assert_eq!(
        bodies(&page),
        ["c1", "c0", "a0", "a1", "b0"],
        "wrapping around, every subscription once"
    );
    assert!(page.round_complete);
    let page = store
        .due_http_deliveries(DueHttpDeliveries {
            limit: 3,
            ..request
        })
        .await
        .unwrap();
    assert_eq!(bodies(&page), ["a0", "a1", "b0"], "the limit holds");
    assert!(!page.round_complete);
    store.delete_topic(created.id).await.unwrap();
}
