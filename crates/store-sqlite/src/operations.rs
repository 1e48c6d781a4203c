//! The SQL behind each store operation. Every function runs inside the writer's transaction, so
//! a read followed by a write here is atomic with respect to every other request. Sending and
//! receiving, the hot path, live in [`crate::delivery`].

use std::collections::BTreeMap;

use rusqlite::{Connection, OptionalExtension, Row, params};
use tern_core::limits::VISIBILITY_TIMEOUT_SECONDS_MAX;
use tern_core::queue_attributes::QueueAttributes;
use tern_core::receipt::Receipt;
use tern_core::time::{Millis, seconds_to_millis};
use tern_store::*;

pub(crate) fn to_sql_error(error: serde_json::Error) -> rusqlite::Error {
    rusqlite::Error::ToSqlConversionFailure(Box::new(error))
}

pub(crate) fn from_json<T: serde::de::DeserializeOwned>(
    column: usize,
    text: &str,
) -> rusqlite::Result<T> {
    serde_json::from_str(text).map_err(|error| {
        rusqlite::Error::FromSqlConversionFailure(
            column,
            rusqlite::types::Type::Text,
            Box::new(error),
        )
    })
}

// SQLite integers are signed 64-bit; Tern's ids and times are unsigned and far below i64::MAX.
pub(crate) fn as_u64(value: i64) -> u64 {
    value.max(0) as u64
}

pub(crate) fn as_i64(value: u64) -> i64 {
    value.min(i64::MAX as u64) as i64
}

const QUEUE_COLUMNS: &str = "id, name, attributes, tags, created_at, last_modified_at";

fn queue_from_row(row: &Row<'_>) -> rusqlite::Result<QueueRecord> {
    let attributes: String = row.get(2)?;
    let tags: String = row.get(3)?;
    Ok(QueueRecord {
        id: as_u64(row.get(0)?),
        name: row.get(1)?,
        attributes: QueueAttributes::from_stored(from_json::<BTreeMap<String, String>>(
            2,
            &attributes,
        )?),
        tags: from_json(3, &tags)?,
        created_at: as_u64(row.get(4)?),
        last_modified_at: as_u64(row.get(5)?),
    })
}

pub fn load_queues(connection: &Connection) -> rusqlite::Result<Vec<QueueRecord>> {
    let mut statement =
        connection.prepare_cached(&format!("SELECT {QUEUE_COLUMNS} FROM queues ORDER BY name"))?;
    let rows = statement.query_map([], queue_from_row)?;
    rows.collect()
}

pub fn create_queue(
    connection: &Connection,
    queue: &NewQueue,
) -> rusqlite::Result<CreateQueueOutcome> {
    let existing = connection
        .prepare_cached(&format!(
            "SELECT {QUEUE_COLUMNS} FROM queues WHERE name = ?1"
        ))?
        .query_row([&queue.name], queue_from_row)
        .optional()?;
    if let Some(existing) = existing {
        return Ok(CreateQueueOutcome::AlreadyExists(existing));
    }
    let attributes = serde_json::to_string(queue.attributes.as_map()).map_err(to_sql_error)?;
    let tags = serde_json::to_string(&queue.tags).map_err(to_sql_error)?;
    connection
        .prepare_cached(
            "INSERT INTO queues (name, attributes, tags, created_at, last_modified_at)
             VALUES (?1, ?2, ?3, ?4, ?4)",
        )?
        .execute(params![queue.name, attributes, tags, as_i64(queue.now)])?;
    Ok(CreateQueueOutcome::Created(QueueRecord {
        id: as_u64(connection.last_insert_rowid()),
        name: queue.name.clone(),
        attributes: queue.attributes.clone(),
        tags: queue.tags.clone(),
        created_at: queue.now,
        last_modified_at: queue.now,
    }))
}

pub fn update_queue(connection: &Connection, queue: &QueueRecord) -> rusqlite::Result<()> {
    let attributes = serde_json::to_string(queue.attributes.as_map()).map_err(to_sql_error)?;
    let tags = serde_json::to_string(&queue.tags).map_err(to_sql_error)?;
    connection
        .prepare_cached(
            "UPDATE queues SET attributes = ?2, tags = ?3, last_modified_at = ?4 WHERE id = ?1",
        )?
        .execute(params![
            as_i64(queue.id),
            attributes,
            tags,
            as_i64(queue.last_modified_at)
        ])?;
    Ok(())
}

pub fn delete_queue(connection: &Connection, queue_id: u64) -> rusqlite::Result<bool> {
    let deleted = connection
        .prepare_cached("DELETE FROM queues WHERE id = ?1")?
        .execute([as_i64(queue_id)])?;
    for statement in [
        "DELETE FROM messages WHERE queue_id = ?1",
        "DELETE FROM deduplication WHERE queue_id = ?1",
        "DELETE FROM receive_attempts WHERE queue_id = ?1",
    ] {
        connection
            .prepare_cached(statement)?
            .execute([as_i64(queue_id)])?;
    }
    Ok(deleted > 0)
}

/// `None` if the queue no longer exists: a send racing a DeleteQueue must not leave orphans.
struct ReceiptState {
    token: u64,
    visible_at: Millis,
    last_received_at: Option<Millis>,
}

fn receipt_state(
    connection: &Connection,
    queue_id: u64,
    receipt: &Receipt,
) -> rusqlite::Result<Option<ReceiptState>> {
    if receipt.queue_id != queue_id {
        return Ok(None);
    }
    connection
        .prepare_cached(
            "SELECT receipt_token, visible_at, last_received_at FROM messages
             WHERE seq = ?1 AND queue_id = ?2",
        )?
        .query_row(
            params![as_i64(receipt.message_seq), as_i64(queue_id)],
            |row| {
                Ok(ReceiptState {
                    token: row.get::<_, i64>(0)? as u64,
                    visible_at: as_u64(row.get(1)?),
                    last_received_at: row.get::<_, Option<i64>>(2)?.map(as_u64),
                })
            },
        )
        .optional()
}

pub fn delete_messages(
    connection: &Connection,
    queue_id: u64,
    receipts: &[Receipt],
) -> rusqlite::Result<Vec<DeleteOutcome>> {
    let mut outcomes = Vec::with_capacity(receipts.len());
    for receipt in receipts {
        let outcome = match receipt_state(connection, queue_id, receipt)? {
            None => DeleteOutcome::Gone,
            Some(state) if state.last_received_at.is_none() || state.token != receipt.token => {
                DeleteOutcome::Stale
            }
            Some(_) => {
                connection
                    .prepare_cached("DELETE FROM messages WHERE seq = ?1")?
                    .execute([as_i64(receipt.message_seq)])?;
                DeleteOutcome::Deleted
            }
        };
        outcomes.push(outcome);
    }
    Ok(outcomes)
}

pub fn change_visibility(
    connection: &Connection,
    queue_id: u64,
    changes: &[VisibilityChange],
    now: Millis,
) -> rusqlite::Result<Vec<VisibilityOutcome>> {
    let limit = seconds_to_millis(VISIBILITY_TIMEOUT_SECONDS_MAX);
    let mut outcomes = Vec::with_capacity(changes.len());
    for change in changes {
        let state = receipt_state(connection, queue_id, &change.receipt)?;
        let outcome = match state {
            Some(state) if state.token == change.receipt.token => match state.last_received_at {
                None => VisibilityOutcome::Invalid,
                Some(_) if state.visible_at <= now => VisibilityOutcome::NotInFlight,
                Some(received_at) if change.hidden_until > received_at.saturating_add(limit) => {
                    VisibilityOutcome::BeyondLimit
                }
                Some(_) => {
                    connection
                        .prepare_cached("UPDATE messages SET visible_at = ?2 WHERE seq = ?1")?
                        .execute(params![
                            as_i64(change.receipt.message_seq),
                            as_i64(change.hidden_until)
                        ])?;
                    VisibilityOutcome::Changed
                }
            },
            _ => VisibilityOutcome::Invalid,
        };
        outcomes.push(outcome);
    }
    Ok(outcomes)
}

pub fn purge(connection: &Connection, queue_id: u64) -> rusqlite::Result<u64> {
    let deleted = connection
        .prepare_cached("DELETE FROM messages WHERE queue_id = ?1")?
        .execute([as_i64(queue_id)])?;
    Ok(deleted as u64)
}

pub fn expire(
    connection: &Connection,
    queue_id: u64,
    retained_since: Millis,
) -> rusqlite::Result<u64> {
    let deleted = connection
        .prepare_cached("DELETE FROM messages WHERE queue_id = ?1 AND sent_at < ?2")?
        .execute(params![as_i64(queue_id), as_i64(retained_since)])?;
    Ok(deleted as u64)
}

pub fn expire_deduplication(connection: &Connection, now: Millis) -> rusqlite::Result<u64> {
    let mut forgotten = 0;
    for statement in [
        "DELETE FROM deduplication WHERE window_ends_at <= ?1",
        "DELETE FROM receive_attempts WHERE window_ends_at <= ?1",
    ] {
        forgotten += connection
            .prepare_cached(statement)?
            .execute([as_i64(now)])? as u64;
    }
    Ok(forgotten)
}

pub fn counts(
    connection: &Connection,
    queue_id: u64,
    now: Millis,
) -> rusqlite::Result<QueueCounts> {
    connection
        .prepare_cached(
            "SELECT
                 COALESCE(SUM(visible_at <= ?2), 0),
                 COALESCE(SUM(visible_at > ?2 AND receive_count > 0), 0),
                 COALESCE(SUM(visible_at > ?2 AND receive_count = 0), 0)
             FROM messages WHERE queue_id = ?1",
        )?
        .query_row(params![as_i64(queue_id), as_i64(now)], |row| {
            Ok(QueueCounts {
                visible: as_u64(row.get(0)?),
                in_flight: as_u64(row.get(1)?),
                delayed: as_u64(row.get(2)?),
            })
        })
}

pub fn next_visible_at(
    connection: &Connection,
    queue_id: u64,
    now: Millis,
) -> rusqlite::Result<Option<Millis>> {
    connection
        .prepare_cached(
            "SELECT MIN(visible_at) FROM messages WHERE queue_id = ?1 AND visible_at > ?2",
        )?
        .query_row(params![as_i64(queue_id), as_i64(now)], |row| {
            row.get::<_, Option<i64>>(0)
        })
        .map(|value| value.map(as_u64))
}
