//! Conformance checks for topics, subscriptions and fan-out publish.

use std::collections::BTreeMap;

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
        store.create_subscription(first.clone()).await.unwrap(),
        CreateSubscriptionOutcome::Created(first.clone())
    );
    let same_endpoint = subscription("conformance-sub-2", created.id, "arn:aws:sqs:r:1:a");
    assert_eq!(
        store.create_subscription(same_endpoint).await.unwrap(),
        CreateSubscriptionOutcome::AlreadyExists(first.clone()),
        "one subscription per topic, protocol and endpoint"
    );
    let mut raw = first.clone();
    raw.attributes
        .insert("RawMessageDelivery".to_owned(), "true".to_owned());
    assert!(store.update_subscription(raw.clone()).await.unwrap());
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
            .create_subscription(subscription("conformance-sub-3", created.id, "x"))
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
            .create_subscription(subscription(id, created.id, endpoint))
            .await
            .unwrap();
    }
    assert!(
        store
            .delete_subscription("conformance-u-1".to_owned())
            .await
            .unwrap()
    );
    assert!(
        !store
            .delete_subscription("conformance-u-1".to_owned())
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
    let outcomes = store.publish(deliveries).await.unwrap();
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
    let first = store.publish(vec![deduplicated("one")]).await.unwrap();
    let second = store.publish(vec![deduplicated("two")]).await.unwrap();
    let (DeliveryOutcome::Sent(first), DeliveryOutcome::Sent(second)) = (&first[0], &second[0])
    else {
        panic!("both deliveries reach the queue: {first:?} {second:?}");
    };
    assert!(second.duplicate);
    assert_eq!(second.seq, first.seq);
    let received = take(store, fifo.id, receive_at(T0, 10, 1_000)).await;
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].body, "one");
}
