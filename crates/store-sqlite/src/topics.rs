//! The SQL behind topics, subscriptions and fan-out publish. Like every operation it runs inside
//! the writer's transaction, so a publish's inserts into many queues commit together.

use std::collections::BTreeMap;

use rusqlite::{Connection, OptionalExtension, Row, params};
use tern_store::*;

use crate::delivery;
use crate::operations::{as_i64, as_u64, from_json, to_sql_error};

const TOPIC_COLUMNS: &str = "id, name, attributes, tags, created_at";
const SUBSCRIPTION_COLUMNS: &str = "id, topic_id, protocol, endpoint, attributes, created_at";

fn topic_from_row(row: &Row<'_>) -> rusqlite::Result<TopicRecord> {
    let attributes: String = row.get(2)?;
    let tags: String = row.get(3)?;
    Ok(TopicRecord {
        id: as_u64(row.get(0)?),
        name: row.get(1)?,
        attributes: from_json(2, &attributes)?,
        tags: from_json(3, &tags)?,
        created_at: as_u64(row.get(4)?),
    })
}

fn subscription_from_row(row: &Row<'_>) -> rusqlite::Result<SubscriptionRecord> {
    let attributes: String = row.get(4)?;
    Ok(SubscriptionRecord {
        id: row.get(0)?,
        topic_id: as_u64(row.get(1)?),
        protocol: row.get(2)?,
        endpoint: row.get(3)?,
        attributes: from_json(4, &attributes)?,
        created_at: as_u64(row.get(5)?),
    })
}

fn json(map: &BTreeMap<String, String>) -> rusqlite::Result<String> {
    serde_json::to_string(map).map_err(to_sql_error)
}

pub fn load_topics(connection: &Connection) -> rusqlite::Result<Vec<TopicRecord>> {
    let mut statement =
        connection.prepare_cached(&format!("SELECT {TOPIC_COLUMNS} FROM topics ORDER BY name"))?;
    let rows = statement.query_map([], topic_from_row)?;
    rows.collect()
}

pub fn load_subscriptions(connection: &Connection) -> rusqlite::Result<Vec<SubscriptionRecord>> {
    let mut statement = connection.prepare_cached(&format!(
        "SELECT {SUBSCRIPTION_COLUMNS} FROM subscriptions ORDER BY created_at, id"
    ))?;
    let rows = statement.query_map([], subscription_from_row)?;
    rows.collect()
}

pub fn create_topic(
    connection: &Connection,
    topic: &NewTopic,
) -> rusqlite::Result<CreateTopicOutcome> {
    let existing = connection
        .prepare_cached(&format!(
            "SELECT {TOPIC_COLUMNS} FROM topics WHERE name = ?1"
        ))?
        .query_row([&topic.name], topic_from_row)
        .optional()?;
    if let Some(existing) = existing {
        return Ok(CreateTopicOutcome::AlreadyExists(existing));
    }
    connection
        .prepare_cached(
            "INSERT INTO topics (name, attributes, tags, created_at) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![
            topic.name,
            json(&topic.attributes)?,
            json(&topic.tags)?,
            as_i64(topic.now)
        ])?;
    Ok(CreateTopicOutcome::Created(TopicRecord {
        id: as_u64(connection.last_insert_rowid()),
        name: topic.name.clone(),
        attributes: topic.attributes.clone(),
        tags: topic.tags.clone(),
        created_at: topic.now,
    }))
}

pub fn update_topic(connection: &Connection, topic: &TopicRecord) -> rusqlite::Result<bool> {
    let changed = connection
        .prepare_cached("UPDATE topics SET attributes = ?2, tags = ?3 WHERE id = ?1")?
        .execute(params![
            as_i64(topic.id),
            json(&topic.attributes)?,
            json(&topic.tags)?
        ])?;
    Ok(changed > 0)
}

pub fn delete_topic(connection: &Connection, topic_id: u64) -> rusqlite::Result<bool> {
    connection
        .prepare_cached("DELETE FROM subscriptions WHERE topic_id = ?1")?
        .execute([as_i64(topic_id)])?;
    let deleted = connection
        .prepare_cached("DELETE FROM topics WHERE id = ?1")?
        .execute([as_i64(topic_id)])?;
    Ok(deleted > 0)
}

pub fn create_subscription(
    connection: &Connection,
    subscription: &SubscriptionRecord,
) -> rusqlite::Result<CreateSubscriptionOutcome> {
    let topic_exists = connection
        .prepare_cached("SELECT 1 FROM topics WHERE id = ?1")?
        .exists([as_i64(subscription.topic_id)])?;
    if !topic_exists {
        return Ok(CreateSubscriptionOutcome::TopicNotFound);
    }
    let existing = connection
        .prepare_cached(&format!(
            "SELECT {SUBSCRIPTION_COLUMNS} FROM subscriptions
             WHERE topic_id = ?1 AND protocol = ?2 AND endpoint = ?3"
        ))?
        .query_row(
            params![
                as_i64(subscription.topic_id),
                subscription.protocol,
                subscription.endpoint
            ],
            subscription_from_row,
        )
        .optional()?;
    if let Some(existing) = existing {
        return Ok(CreateSubscriptionOutcome::AlreadyExists(existing));
    }
    connection
        .prepare_cached(
            "INSERT INTO subscriptions (id, topic_id, protocol, endpoint, attributes, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![
            subscription.id,
            as_i64(subscription.topic_id),
            subscription.protocol,
            subscription.endpoint,
            json(&subscription.attributes)?,
            as_i64(subscription.created_at)
        ])?;
    Ok(CreateSubscriptionOutcome::Created(subscription.clone()))
}

pub fn update_subscription(
    connection: &Connection,
    subscription: &SubscriptionRecord,
) -> rusqlite::Result<bool> {
    let changed = connection
        .prepare_cached("UPDATE subscriptions SET attributes = ?2 WHERE id = ?1")?
        .execute(params![subscription.id, json(&subscription.attributes)?])?;
    Ok(changed > 0)
}

pub fn delete_subscription(
    connection: &Connection,
    subscription_id: &str,
) -> rusqlite::Result<bool> {
    let deleted = connection
        .prepare_cached("DELETE FROM subscriptions WHERE id = ?1")?
        .execute([subscription_id])?;
    Ok(deleted > 0)
}

/// Each delivery goes through the same insert path as SendMessage (queue check, FIFO
/// deduplication); all of them share the caller's savepoint and so the batch's one commit.
pub fn publish(
    connection: &Connection,
    deliveries: &[Delivery],
) -> rusqlite::Result<Vec<DeliveryOutcome>> {
    let mut outcomes = Vec::with_capacity(deliveries.len());
    for delivery in deliveries {
        let sent = delivery::send(
            connection,
            delivery.queue_id,
            std::slice::from_ref(&delivery.message),
        )?;
        outcomes.push(match sent.and_then(|sent| sent.into_iter().next()) {
            Some(sent) => DeliveryOutcome::Sent(sent),
            None => DeliveryOutcome::QueueGone,
        });
    }
    Ok(outcomes)
}
