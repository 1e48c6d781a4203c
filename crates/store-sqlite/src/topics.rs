//! The SQL behind topics, subscriptions, fan-out publish and pending HTTP deliveries. Like every
//! operation it runs inside the writer's transaction, so a publish's inserts into many queues and
//! its HTTP deliveries commit together.

use std::collections::BTreeMap;

use rusqlite::{Connection, OptionalExtension, Row, params};
use tern_store::*;

use crate::delivery;

use crate::operations::{as_i64, as_u64, from_json, to_sql_error};

const TOPIC_COLUMNS: &str = "id, name, attributes, tags, created_at";
const SUBSCRIPTION_COLUMNS: &str = "id, topic_id, protocol, endpoint, attributes, created_at,
    pending_confirmation, confirmation_was_authenticated, token, token_expires_at";

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
        pending_confirmation: row.get(6)?,
        confirmation_was_authenticated: row.get(7)?,
        token: match row.get::<_, Option<String>>(8)? {
            Some(value) => Some(ConfirmationToken {
                value,
                expires_at: as_u64(row.get::<_, Option<i64>>(9)?.unwrap_or_default()),
            }),
            None => None,
        },
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
    for statement in [
        "DELETE FROM subscriptions WHERE topic_id = ?1",
        "DELETE FROM http_deliveries WHERE topic_id = ?1",
        "DELETE FROM topic_deduplication WHERE topic_id = ?1",
    ] {
        connection
            .prepare_cached(statement)?
            .execute([as_i64(topic_id)])?;
    }
    let deleted = connection
        .prepare_cached("DELETE FROM topics WHERE id = ?1")?
        .execute([as_i64(topic_id)])?;
    Ok(deleted > 0)
}

/// The `token` and `token_expires_at` columns of a subscription: both NULL without a token.
fn token_columns(subscription: &SubscriptionRecord) -> (Option<&str>, Option<i64>) {
    match &subscription.token {
        Some(token) => (Some(token.value.as_str()), Some(as_i64(token.expires_at))),
        None => (None, None),
    }
}

pub fn create_subscription(
    connection: &Connection,
    subscription: &SubscriptionRecord,
    outbox: &[NewHttpDelivery],
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
    let (token_value, token_expires_at) = token_columns(subscription);
    connection
        .prepare_cached(
            "INSERT INTO subscriptions (id, topic_id, protocol, endpoint, attributes, created_at,
                 pending_confirmation, confirmation_was_authenticated, token, token_expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )?
        .execute(params![
            subscription.id,
            as_i64(subscription.topic_id),
            subscription.protocol,
            subscription.endpoint,
            json(&subscription.attributes)?,
            as_i64(subscription.created_at),
            subscription.pending_confirmation,
            subscription.confirmation_was_authenticated,
            token_value,
            token_expires_at,
        ])?;
    insert_http_deliveries(connection, outbox)?;
    Ok(CreateSubscriptionOutcome::Created(subscription.clone()))
}

pub fn update_subscription(
    connection: &Connection,
    subscription: &SubscriptionRecord,
    outbox: &[NewHttpDelivery],
) -> rusqlite::Result<bool> {
    let (token_value, token_expires_at) = token_columns(subscription);
    let changed = connection
        .prepare_cached(
            "UPDATE subscriptions SET attributes = ?2, pending_confirmation = ?3,
                 confirmation_was_authenticated = ?4, token = ?5, token_expires_at = ?6
             WHERE id = ?1",
        )?
        .execute(params![
            subscription.id,
            json(&subscription.attributes)?,
            subscription.pending_confirmation,
            subscription.confirmation_was_authenticated,
            token_value,
            token_expires_at,
        ])?;
    if changed == 0 {
        return Ok(false);
    }
    insert_http_deliveries(connection, outbox)?;
    Ok(true)
}

pub fn delete_subscription(
    connection: &Connection,
    subscription_id: &str,
    outbox: &[NewHttpDelivery],
) -> rusqlite::Result<bool> {
    let topic_id: Option<i64> = connection
        .prepare_cached("DELETE FROM subscriptions WHERE id = ?1 RETURNING topic_id")?
        .query_row([subscription_id], |row| row.get(0))
        .optional()?;
    let Some(topic_id) = topic_id else {
        return Ok(false);
    };
    connection
        .prepare_cached("DELETE FROM http_deliveries WHERE subscription_id = ?1")?
        .execute([subscription_id])?;
    count_deleted_subscription(connection, topic_id)?;
    insert_http_deliveries(connection, outbox)?;
    Ok(true)
}

/// `SubscriptionsDeleted` lives among the topic's attributes (a decimal string, as every
/// attribute), so it is loaded, returned and deleted with the topic and needs no column of its own.
fn count_deleted_subscription(connection: &Connection, topic_id: i64) -> rusqlite::Result<()> {
    connection
        .prepare_cached(
            "UPDATE topics SET attributes = json_set(attributes, '$.SubscriptionsDeleted',
                 CAST(CAST(COALESCE(json_extract(attributes, '$.SubscriptionsDeleted'), '0')
                     AS INTEGER) + 1 AS TEXT))
             WHERE id = ?1",
        )?
        .execute([topic_id])?;
    Ok(())
}

/// Each entry is checked against its topic's deduplication window first; a fresh one goes
/// through the same insert path as SendMessage for every queue (queue check, FIFO
/// deduplication) and leaves its HTTP deliveries behind. All of it shares the caller's savepoint
/// and so the batch's one commit.
pub fn publish(
    connection: &crate::writer::Db,
    entries: &[PublishEntry],
) -> rusqlite::Result<Vec<PublishEntryOutcome>> {
    let mut outcomes = Vec::with_capacity(entries.len());
    for entry in entries {
        if let Some(deduplication) = &entry.deduplication {
            if let Some(original) = topic_duplicate_of(connection, deduplication)? {
                outcomes.push(original);
                continue;
            }
            remember_deduplication(connection, deduplication)?;
        }
        let mut sent_outcomes = Vec::with_capacity(entry.deliveries.len());
        for delivery in &entry.deliveries {
            sent_outcomes.push(send_one(connection, delivery)?);
        }
        insert_http_deliveries(connection, &entry.http_deliveries)?;
        outcomes.push(PublishEntryOutcome::Published(sent_outcomes));
    }
    Ok(outcomes)
}

fn send_one(
    connection: &crate::writer::Db,
    delivery: &Delivery,
) -> rusqlite::Result<DeliveryOutcome> {
    let sent = delivery::send(
        connection,
        delivery.queue_id,
        std::slice::from_ref(&delivery.message),
    )?;
    Ok(match sent.and_then(|sent| sent.into_iter().next()) {
        Some(sent) => DeliveryOutcome::Sent(sent),
        None => DeliveryOutcome::QueueGone,
    })
}

fn topic_duplicate_of(
    connection: &Connection,
    deduplication: &TopicDeduplication,
) -> rusqlite::Result<Option<PublishEntryOutcome>> {
    connection
        .prepare_cached(
            "SELECT message_id, sequence_number FROM topic_deduplication
             WHERE topic_id = ?1 AND scope = ?2 AND deduplication_id = ?3 AND window_ends_at > ?4",
        )?
        .query_row(
            params![
                as_i64(deduplication.topic_id),
                deduplication.scope,
                deduplication.id,
                as_i64(deduplication.now)
            ],
            |row| {
                Ok(PublishEntryOutcome::Duplicate {
                    message_id: row.get(0)?,
                    sequence_number: row.get(1)?,
                })
            },
        )
        .optional()
}

/// Records the id for its window, and forgets this topic's ids whose window has passed: a FIFO
/// topic's table stays as small as five minutes of its traffic.
fn remember_deduplication(
    connection: &Connection,
    deduplication: &TopicDeduplication,
) -> rusqlite::Result<()> {
    connection
        .prepare_cached(
            "DELETE FROM topic_deduplication WHERE topic_id = ?1 AND window_ends_at <= ?2",
        )?
        .execute(params![
            as_i64(deduplication.topic_id),
            as_i64(deduplication.now)
        ])?;
    connection
        .prepare_cached(
            "INSERT OR REPLACE INTO topic_deduplication
                 (topic_id, scope, deduplication_id, message_id, sequence_number, window_ends_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![
            as_i64(deduplication.topic_id),
            deduplication.scope,
            deduplication.id,
            deduplication.message_id,
            deduplication.sequence_number,
            as_i64(deduplication.window_ends_at),
        ])?;
    Ok(())
}

fn insert_http_deliveries(
    connection: &Connection,
    deliveries: &[NewHttpDelivery],
) -> rusqlite::Result<()> {
    if deliveries.is_empty() {
        return Ok(());
    }
    let mut statement = connection.prepare_cached(
        "INSERT INTO http_deliveries (subscription_id, topic_id, endpoint, message_type, headers,
             body, due_at, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    for delivery in deliveries {
        statement.execute(params![
            delivery.subscription_id,
            as_i64(delivery.topic_id),
            delivery.endpoint,
            delivery.message_type,
            json(&delivery.headers)?,
            delivery.body,
            as_i64(delivery.due_at),
            as_i64(delivery.created_at),
        ])?;
    }
    Ok(())
}

fn http_delivery_from_row(row: &Row<'_>) -> rusqlite::Result<HttpDeliveryRecord> {
    let headers: String = row.get(5)?;
    Ok(HttpDeliveryRecord {
        id: as_u64(row.get(0)?),
        delivery: NewHttpDelivery {
            subscription_id: row.get(1)?,
            topic_id: as_u64(row.get(2)?),
            endpoint: row.get(3)?,
            message_type: row.get(4)?,
            headers: from_json(5, &headers)?,
            body: row.get(6)?,
            due_at: as_u64(row.get(8)?),
            created_at: as_u64(row.get(9)?),
        },
        attempts: u32::try_from(row.get::<_, i64>(7)?).unwrap_or(u32::MAX),
    })
}

/// One turn of the subscriptions with pending deliveries (see [`DueHttpDeliveries`]). Each step
/// is an index seek — the next subscription id, then that subscription's earliest due rows — so a
/// turn costs the same whether one endpoint has ten pending deliveries or a million.
pub fn due_http_deliveries(
    connection: &Connection,
    request: &DueHttpDeliveries,
) -> rusqlite::Result<HttpDeliveryPage> {
    let skip = serde_json::to_string(&request.skip).map_err(to_sql_error)?;
    let limit = usize::try_from(request.limit).unwrap_or(usize::MAX);
    let mut first =
        connection.prepare_cached("SELECT MIN(subscription_id) FROM http_deliveries")?;
    let mut next = connection.prepare_cached(
        "SELECT MIN(subscription_id) FROM http_deliveries WHERE subscription_id > ?1",
    )?;
    let mut due = connection.prepare_cached(
        "SELECT id, subscription_id, topic_id, endpoint, message_type, headers, body, attempts,
             due_at, created_at
         FROM http_deliveries
         WHERE subscription_id = ?1 AND due_at <= ?2
             AND id NOT IN (SELECT value FROM json_each(?3))
         ORDER BY due_at, id LIMIT ?4",
    )?;
    let start = request.after_subscription.as_deref();
    let mut page = HttpDeliveryPage::default();
    let mut cursor: Option<String> = start.map(str::to_owned);
    let mut wrapped = start.is_none();
    let mut visited = 0u32;
    loop {
        if visited >= request.subscriptions_max || page.deliveries.len() >= limit {
            break;
        }
        let found: Option<String> = match &cursor {
            Some(after) => next.query_row([after], |row| row.get(0))?,
            None => first.query_row([], |row| row.get(0))?,
        };
        let subscription = match found {
            // Past the starting point again: every subscription had its turn.
            Some(id) if wrapped && start.is_some_and(|start| id.as_str() > start) => {
                page.round_complete = true;
                break;
            }
            Some(id) => id,
            None if !wrapped => {
                wrapped = true;
                cursor = None;
                continue;
            }
            None => {
                page.round_complete = true;
                break;
            }
        };
        visited += 1;
        let share = request
            .shares
            .get(&subscription)
            .copied()
            .unwrap_or(request.share)
            .min(u32::try_from(limit - page.deliveries.len()).unwrap_or(u32::MAX));
        if share > 0 {
            let rows = due.query_map(
                params![subscription, as_i64(request.now), skip, share],
                http_delivery_from_row,
            )?;
            for row in rows {
                page.deliveries.push(row?);
            }
        }
        page.last_visited = Some(subscription.clone());
        cursor = Some(subscription);
    }
    let next_due_at: Option<i64> = connection
        .prepare_cached("SELECT MIN(due_at) FROM http_deliveries WHERE due_at > ?1")?
        .query_row([as_i64(request.now)], |row| row.get(0))?;
    page.next_due_at = next_due_at.map(as_u64);
    Ok(page)
}

pub fn settle_http_delivery(
    connection: &crate::writer::Db,
    delivery_id: u64,
    settlement: &HttpSettlement,
) -> rusqlite::Result<bool> {
    let changed = match settlement {
        HttpSettlement::Retry { attempts, due_at } => connection
            .prepare_cached("UPDATE http_deliveries SET attempts = ?2, due_at = ?3 WHERE id = ?1")?
            .execute(params![as_i64(delivery_id), attempts, as_i64(*due_at)])?,
        HttpSettlement::Delivered | HttpSettlement::DeadLetter(_) => connection
            .prepare_cached("DELETE FROM http_deliveries WHERE id = ?1")?
            .execute([as_i64(delivery_id)])?,
    };
    if changed == 0 {
        return Ok(false);
    }
    if let HttpSettlement::DeadLetter(Some(delivery)) = settlement
        && send_one(connection, delivery)? == DeliveryOutcome::QueueGone
    {
        tracing::warn!(
            queue_id = delivery.queue_id,
            "the dead-letter queue is gone; the message is dropped"
        );
    }
    Ok(true)
}
