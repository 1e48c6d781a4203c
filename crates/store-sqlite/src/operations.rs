//! The SQL behind each store operation. Every function runs inside the writer's transaction, so
//! a read followed by a write here is atomic with respect to every other request. Sending and
//! receiving, the hot path, live in [`crate::delivery`]. Messages are found through the
//! in-memory [`crate::index`] and touched by primary key; counts come from the index alone.

use std::collections::BTreeMap;

use rusqlite::{Connection, OptionalExtension, Row, params};
use tern_core::limits::VISIBILITY_TIMEOUT_SECONDS_MAX;
use tern_core::queue_attributes::QueueAttributes;
use tern_core::receipt::Receipt;
use tern_core::time::{Millis, seconds_to_millis};
use tern_store::*;

use crate::index::QueueIndex;
use crate::writer::Db;

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

/// `(?1, ?2), (?3, ?4)` for `rows` rows of `columns` numbered parameters.
pub(crate) fn placeholder_rows(rows: usize, columns: usize) -> String {
    (0..rows)
        .map(|row| {
            let numbers: Vec<String> = (1..=columns)
                .map(|column| format!("?{}", row * columns + column))
                .collect();
            format!("({})", numbers.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
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

pub fn create_queue(db: &Db, queue: &NewQueue) -> rusqlite::Result<CreateQueueOutcome> {
    let connection: &Connection = db;
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
    let id = as_u64(connection.last_insert_rowid());
    db.index().add_queue(id);
    Ok(CreateQueueOutcome::Created(QueueRecord {
        id,
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

pub fn delete_queue(db: &Db, queue_id: u64) -> rusqlite::Result<bool> {
    if db.index().contains_queue(queue_id) {
        // The rows the load has not reached would stay behind: skipped by every later load, but
        // on disk for good.
        db.ensure_loaded()?;
    }
    let deleted = db
        .prepare_cached("DELETE FROM queues WHERE id = ?1")?
        .execute([as_i64(queue_id)])?;
    if let Some(messages) = db.index().remove_queue(queue_id) {
        delete_rows(db, queue_id, &messages, messages.seqs())?;
    }
    for statement in [
        "DELETE FROM deduplication WHERE queue_id = ?1",
        "DELETE FROM receive_attempts WHERE queue_id = ?1",
    ] {
        db.prepare_cached(statement)?.execute([as_i64(queue_id)])?;
    }
    Ok(deleted > 0)
}

/// Deletes many rows of one queue: one range scan over the primary key when the queue's
/// messages lie close together (a backlog usually does), one lookup each otherwise.
fn delete_rows(
    db: &Db,
    queue_id: u64,
    queue: &QueueIndex,
    seqs: impl Iterator<Item = u64>,
) -> rusqlite::Result<()> {
    let Some((low, high)) = queue.seq_range() else {
        return Ok(());
    };
    let span = high - low + 1;
    if span <= 4 * queue.len() as u64 {
        db.prepare_cached("DELETE FROM messages WHERE seq BETWEEN ?1 AND ?2 AND queue_id = ?3")?
            .execute(params![as_i64(low), as_i64(high), as_i64(queue_id)])?;
    } else {
        let mut delete = db.prepare_cached("DELETE FROM messages WHERE seq = ?1")?;
        for seq in seqs {
            delete.execute([as_i64(seq)])?;
        }
    }
    Ok(())
}

/// The receipt as the row knows it: its current token and when it was last received.
struct ReceiptState {
    token: u64,
    last_received_at: Option<Millis>,
}

fn receipt_state(db: &Db, seq: u64) -> rusqlite::Result<Option<ReceiptState>> {
    db.prepare_cached("SELECT receipt_token, last_received_at FROM messages WHERE seq = ?1")?
        .query_row([as_i64(seq)], |row| {
            Ok(ReceiptState {
                token: row.get::<_, i64>(0)? as u64,
                last_received_at: row.get::<_, Option<i64>>(1)?.map(as_u64),
            })
        })
        .optional()
}

/// Whether the index holds this receipt's message in this queue, and its receive count.
/// Faults the message in first if the index's load has not reached it.
fn indexed_receive_count(
    db: &Db,
    queue_id: u64,
    receipt: &Receipt,
) -> rusqlite::Result<Option<u32>> {
    if receipt.queue_id != queue_id {
        return Ok(None);
    }
    db.fault_in(queue_id, receipt.message_seq)?;
    let index = db.index();
    let entry = index
        .queue(queue_id)
        .and_then(|queue| queue.get(receipt.message_seq));
    Ok(entry.map(|entry| entry.receive_count))
}

/// Receipts one `DELETE` statement checks at most (a `DeleteMessageBatch` has up to 10).
const RECEIPTS_PER_DELETE_MAX: usize = 10;

pub fn delete_messages(
    db: &Db,
    queue_id: u64,
    receipts: &[Receipt],
) -> rusqlite::Result<Vec<DeleteOutcome>> {
    let mut outcomes = Vec::with_capacity(receipts.len());
    for chunk in receipts.chunks(RECEIPTS_PER_DELETE_MAX) {
        let repeats_a_message = chunk.iter().enumerate().any(|(position, receipt)| {
            chunk[..position]
                .iter()
                .any(|earlier| earlier.message_seq == receipt.message_seq)
        });
        if repeats_a_message {
            // One `CASE` arm per message: receipts of one message go one statement each.
            for receipt in chunk {
                delete_chunk(db, queue_id, std::slice::from_ref(receipt), &mut outcomes)?;
            }
        } else {
            delete_chunk(db, queue_id, chunk, &mut outcomes)?;
        }
    }
    Ok(outcomes)
}

/// One statement deletes every receipt of `receipts` that is its message's latest:
/// `WHERE seq IN (…) AND receipt_token = CASE seq WHEN … END`, by primary key.
fn delete_chunk(
    db: &Db,
    queue_id: u64,
    receipts: &[Receipt],
    outcomes: &mut Vec<DeleteOutcome>,
) -> rusqlite::Result<()> {
    static SQL: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    let by_count = SQL.get_or_init(|| {
        (1..=RECEIPTS_PER_DELETE_MAX)
            .map(|count| {
                let seqs: Vec<String> = (0..count).map(|i| format!("?{}", 2 * i + 1)).collect();
                let tokens: String = (0..count)
                    .map(|i| format!(" WHEN ?{} THEN ?{}", 2 * i + 1, 2 * i + 2))
                    .collect();
                format!(
                    "DELETE FROM messages
                     WHERE seq IN ({}) AND receipt_token = CASE seq{tokens} END
                     RETURNING seq",
                    seqs.join(", ")
                )
            })
            .collect()
    });
    let first_outcome = outcomes.len();
    // Only receipts of messages the index holds as received can delete anything.
    let mut candidates = Vec::with_capacity(receipts.len());
    for receipt in receipts {
        outcomes.push(match indexed_receive_count(db, queue_id, receipt)? {
            None => DeleteOutcome::Gone,
            // Never received (or moved since): no receipt can be current.
            Some(0) => DeleteOutcome::Stale,
            Some(_) => {
                candidates.push(receipt);
                DeleteOutcome::Stale
            }
        });
    }
    let Some(sql) = by_count.get(candidates.len().wrapping_sub(1)) else {
        return Ok(());
    };
    let mut statement = db.prepare_cached(sql)?;
    for (number, receipt) in candidates.iter().enumerate() {
        statement.raw_bind_parameter(2 * number + 1, as_i64(receipt.message_seq))?;
        // Stored as the same bits, read back the same way: i64 is only the SQL carrier.
        statement.raw_bind_parameter(2 * number + 2, receipt.token as i64)?;
    }
    let mut deleted = Vec::with_capacity(candidates.len());
    let mut rows = statement.raw_query();
    while let Some(row) = rows.next()? {
        deleted.push(as_u64(row.get(0)?));
    }
    let mut index = db.index();
    let queue = index.queue_mut(queue_id);
    if let Some(queue) = queue {
        for seq in &deleted {
            queue.remove(*seq);
        }
    }
    for (receipt, outcome) in receipts.iter().zip(&mut outcomes[first_outcome..]) {
        if deleted.contains(&receipt.message_seq) {
            *outcome = DeleteOutcome::Deleted;
        }
    }
    Ok(())
}

pub fn change_visibility(
    db: &Db,
    queue_id: u64,
    changes: &[VisibilityChange],
    now: Millis,
) -> rusqlite::Result<Vec<VisibilityOutcome>> {
    let limit = seconds_to_millis(VISIBILITY_TIMEOUT_SECONDS_MAX);
    let mut outcomes = Vec::with_capacity(changes.len());
    for change in changes {
        let seq = change.receipt.message_seq;
        let visible_at = (indexed_receive_count(db, queue_id, &change.receipt)?.is_some())
            .then(|| {
                db.index()
                    .queue(queue_id)?
                    .get(seq)
                    .map(|entry| entry.visible_at)
            })
            .flatten();
        let state = match visible_at {
            Some(visible_at) => receipt_state(db, seq)?.map(|state| (state, visible_at)),
            None => None,
        };
        let outcome = match state {
            Some((state, visible_at)) if state.token == change.receipt.token => {
                match state.last_received_at {
                    None => VisibilityOutcome::Invalid,
                    Some(_) if visible_at <= now => VisibilityOutcome::NotInFlight,
                    Some(received_at)
                        if change.hidden_until > received_at.saturating_add(limit) =>
                    {
                        VisibilityOutcome::BeyondLimit
                    }
                    Some(_) => {
                        db.prepare_cached("UPDATE messages SET visible_at = ?2 WHERE seq = ?1")?
                            .execute(params![as_i64(seq), as_i64(change.hidden_until)])?;
                        if let Some(queue) = db.index().queue_mut(queue_id) {
                            queue.set_visible_at(seq, change.hidden_until);
                        }
                        VisibilityOutcome::Changed
                    }
                }
            }
            _ => VisibilityOutcome::Invalid,
        };
        outcomes.push(outcome);
    }
    Ok(outcomes)
}

pub fn purge(db: &Db, queue_id: u64) -> rusqlite::Result<u64> {
    if db.index().contains_queue(queue_id) {
        // Every message, not only the loaded ones: purge is rare, and must not miss any.
        db.ensure_loaded()?;
    }
    let Some(messages) = db.index().queue_mut(queue_id).map(std::mem::take) else {
        return Ok(0);
    };
    delete_rows(db, queue_id, &messages, messages.seqs())?;
    Ok(messages.len() as u64)
}

/// Expires the loaded messages only. One the index's load has not reached yet is expired by a
/// later sweep: indexing it lowers the queue's oldest-sent bound, and receives skip it meanwhile
/// (they check `retained_since` themselves).
pub fn expire(db: &Db, queue_id: u64, retained_since: Millis) -> rusqlite::Result<u64> {
    let expired = match db.index().queue_mut(queue_id) {
        Some(queue) => queue.expired(retained_since),
        None => return Ok(0),
    };
    let mut delete = db.prepare_cached("DELETE FROM messages WHERE seq = ?1")?;
    for &seq in &expired {
        delete.execute([as_i64(seq)])?;
        if let Some(queue) = db.index().queue_mut(queue_id) {
            queue.remove(seq);
        }
    }
    Ok(expired.len() as u64)
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

/// From the index alone: while its load is under way the counts leave out the messages not
/// loaded yet. They are approximate by contract (`ApproximateNumberOfMessages…`), and a count
/// must not cost a scan of the backlog.
pub fn counts(db: &Db, queue_id: u64, now: Millis) -> QueueCounts {
    let index = db.index();
    let Some(queue) = index.queue(queue_id) else {
        return QueueCounts::default();
    };
    let (visible, in_flight, delayed) = queue.counts(now);
    QueueCounts {
        visible,
        in_flight,
        delayed,
    }
}

/// How long a long poll may sleep, at most, while the index is loading.
const LOADING_RECHECK_MILLIS: Millis = 200;

/// While the index loads, messages become receivable as they are loaded, and nothing notifies
/// the long polls waiting for them: they are told to look again soon.
pub fn next_visible_at(db: &Db, queue_id: u64, now: Millis) -> Option<Millis> {
    let index = db.index();
    let next = index.queue(queue_id)?.next_visible_at(now);
    if index.pending().is_none() {
        return next;
    }
    let recheck = now.saturating_add(LOADING_RECHECK_MILLIS);
    Some(next.map_or(recheck, |next| next.min(recheck)))
}
