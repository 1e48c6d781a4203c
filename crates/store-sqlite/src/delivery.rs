//! The hot path: sending (with FIFO deduplication) and receiving (in best-effort, fair or FIFO
//! group order, with dead-letter moves and receive-attempt retries), and message moves.
//!
//! The in-memory [`crate::index`] chooses which messages; SQLite is touched by primary key only:
//! one insert per sent message, one `UPDATE … RETURNING` per received one.

use rusqlite::{OptionalExtension, Row, params};
use tern_core::message::MessageAttributes;
use tern_core::receipt::Receipt;
use tern_store::*;

use crate::operations::{as_i64, as_u64, from_json, to_sql_error};
use crate::writer::Db;

/// Rounds of selection one receive may take when dead-letter moves thin out its candidates.
const RECEIVE_ROUNDS_MAX: usize = 10;

/// `None` if the queue no longer exists: a send racing a DeleteQueue must not leave orphans.
pub fn send(
    db: &Db,
    queue_id: u64,
    messages: &[NewMessage],
) -> rusqlite::Result<Option<Vec<SentMessage>>> {
    if !db.index().contains_queue(queue_id) {
        return Ok(None);
    }
    if messages
        .iter()
        .all(|message| message.deduplication.is_none())
    {
        return insert_all(db, queue_id, messages).map(Some);
    }
    let mut sent = Vec::with_capacity(messages.len());
    for message in messages {
        if let Some(deduplication) = &message.deduplication
            && let Some(original) = duplicate_of(db, queue_id, deduplication, message)?
        {
            sent.push(original);
            continue;
        }
        let seq = insert(db, queue_id, std::slice::from_ref(message))?;
        if let Some(deduplication) = &message.deduplication {
            db.prepare_cached(
                "INSERT OR REPLACE INTO deduplication
                     (queue_id, scope, deduplication_id, message_id, seq, window_ends_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                as_i64(queue_id),
                deduplication.scope,
                deduplication.id,
                message.message_id,
                as_i64(seq),
                as_i64(deduplication.window_ends_at),
            ])?;
        }
        sent.push(index_sent(db, queue_id, seq, message));
    }
    Ok(Some(sent))
}

/// Messages without deduplication ids: one multi-row insert per [`ROWS_PER_INSERT_MAX`].
fn insert_all(
    db: &Db,
    queue_id: u64,
    messages: &[NewMessage],
) -> rusqlite::Result<Vec<SentMessage>> {
    let mut sent = Vec::with_capacity(messages.len());
    for chunk in messages.chunks(ROWS_PER_INSERT_MAX) {
        let last = insert(db, queue_id, chunk)?;
        // One statement's rows take consecutive keys (AUTOINCREMENT, and this thread is the
        // only writer), in the order of its VALUES.
        let first = last + 1 - chunk.len() as u64;
        for (offset, message) in chunk.iter().enumerate() {
            sent.push(index_sent(db, queue_id, first + offset as u64, message));
        }
    }
    Ok(sent)
}

fn index_sent(db: &Db, queue_id: u64, seq: u64, message: &NewMessage) -> SentMessage {
    let mut index = db.index();
    index.note_sent(seq);
    if let Some(queue) = index.queue_mut(queue_id) {
        queue.insert(
            seq,
            message.visible_at,
            message.sent_at,
            message.group_id.as_deref(),
        );
    }
    SentMessage {
        seq,
        message_id: message.message_id.clone(),
        duplicate: false,
    }
}

fn duplicate_of(
    db: &Db,
    queue_id: u64,
    deduplication: &Deduplication,
    message: &NewMessage,
) -> rusqlite::Result<Option<SentMessage>> {
    db.prepare_cached(
        "SELECT message_id, seq FROM deduplication
         WHERE queue_id = ?1 AND scope = ?2 AND deduplication_id = ?3 AND window_ends_at > ?4",
    )?
    .query_row(
        params![
            as_i64(queue_id),
            deduplication.scope,
            deduplication.id,
            as_i64(message.sent_at)
        ],
        |row| {
            Ok(SentMessage {
                message_id: row.get(0)?,
                seq: as_u64(row.get(1)?),
                duplicate: true,
            })
        },
    )
    .optional()
}

/// Rows one `INSERT` carries at most: a `SendMessageBatch` (10 entries) is one statement.
const ROWS_PER_INSERT_MAX: usize = 10;
const INSERT_COLUMNS: usize = 12;

/// Inserts `messages` (at most [`ROWS_PER_INSERT_MAX`]) with one statement; returns the last
/// row's seq.
fn insert(db: &Db, queue_id: u64, messages: &[NewMessage]) -> rusqlite::Result<u64> {
    static SQL: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    let by_rows = SQL.get_or_init(|| {
        (1..=ROWS_PER_INSERT_MAX)
            .map(|rows| {
                format!(
                    "INSERT INTO messages (queue_id, message_id, body, attributes, md5_of_body,
                         md5_of_attributes, sender_id, sent_at, visible_at, group_id,
                         deduplication_id, trace_header)
                     VALUES {}",
                    crate::operations::placeholder_rows(rows, INSERT_COLUMNS)
                )
            })
            .collect()
    });
    let Some(sql) = by_rows.get(messages.len().wrapping_sub(1)) else {
        return Err(rusqlite::Error::InvalidParameterCount(
            messages.len(),
            ROWS_PER_INSERT_MAX,
        ));
    };
    let mut statement = db.prepare_cached(sql)?;
    for (row, message) in messages.iter().enumerate() {
        let attributes = if message.attributes.is_empty() {
            None
        } else {
            Some(serde_json::to_string(&message.attributes).map_err(to_sql_error)?)
        };
        let first = row * INSERT_COLUMNS + 1;
        statement.raw_bind_parameter(first, as_i64(queue_id))?;
        statement.raw_bind_parameter(first + 1, &message.message_id)?;
        statement.raw_bind_parameter(first + 2, &message.body)?;
        statement.raw_bind_parameter(first + 3, attributes)?;
        statement.raw_bind_parameter(first + 4, &message.md5_of_body)?;
        statement.raw_bind_parameter(first + 5, &message.md5_of_attributes)?;
        statement.raw_bind_parameter(first + 6, &message.sender_id)?;
        statement.raw_bind_parameter(first + 7, as_i64(message.sent_at))?;
        statement.raw_bind_parameter(first + 8, as_i64(message.visible_at))?;
        statement.raw_bind_parameter(first + 9, &message.group_id)?;
        let deduplication_id = message
            .deduplication
            .as_ref()
            .map(|deduplication| &deduplication.id);
        statement.raw_bind_parameter(first + 10, deduplication_id)?;
        statement.raw_bind_parameter(first + 11, &message.trace_header)?;
    }
    statement.raw_execute()?;
    Ok(as_u64(db.last_insert_rowid()))
}

/// What a receive returns of a row, after it has been counted (`RETURNING` gives the new values).
const RECEIVED_COLUMN_COUNT: usize = 12;
const RECEIVED_COLUMNS: &str = "message_id, body, attributes, md5_of_body, md5_of_attributes,
    sender_id, sent_at, receive_count, first_received_at, group_id, deduplication_id,
    trace_header";

fn received_from_row(row: &Row<'_>, receipt: Receipt) -> rusqlite::Result<ReceivedMessage> {
    let attributes: Option<String> = row.get(2)?;
    let attributes: MessageAttributes = match attributes {
        Some(text) => from_json(2, &text)?,
        None => MessageAttributes::new(),
    };
    Ok(ReceivedMessage {
        receipt,
        message_id: row.get(0)?,
        body: row.get(1)?,
        attributes,
        md5_of_body: row.get(3)?,
        md5_of_attributes: row.get(4)?,
        sender_id: row.get(5)?,
        sent_at: as_u64(row.get(6)?),
        receive_count: u32::try_from(row.get::<_, i64>(7)?).unwrap_or(u32::MAX),
        first_received_at: as_u64(row.get::<_, Option<i64>>(8)?.unwrap_or_default()),
        group_id: row.get(9)?,
        deduplication_id: row.get(10)?,
        trace_header: row.get(11)?,
    })
}

/// A message chosen for this receive, with its receive count before it.
struct Candidate {
    seq: u64,
    receive_count_before: u32,
}

/// Chooses up to `limit` messages from the index in the request's order. While the index is
/// still loading, messages not loaded yet are not receivable: the load goes in `seq` order, so
/// what a queue has loaded are its oldest messages.
fn candidates(
    db: &Db,
    queue_id: u64,
    request: &ReceiveRequest,
    limit: usize,
    progress: &mut GroupProgress,
) -> Vec<Candidate> {
    let index = db.index();
    let Some(queue) = index.queue(queue_id) else {
        return Vec::new();
    };
    let (now, retained_since) = (request.now, request.retained_since);
    // Messages this batch sent are not on stable storage before its fsync, and a receive may be
    // answered before it (decision 0007).
    let below = index.receivable_below();
    let seqs = match &request.order {
        DeliveryOrder::FifoByGroup { after_group } => {
            let after = progress.last_group.clone().or_else(|| after_group.clone());
            let horizon = index.fifo_horizon();
            let (picked, walk) =
                queue.fifo_runs(now, retained_since, limit, after.as_deref(), horizon);
            progress.record(walk);
            picked
        }
        DeliveryOrder::FairByGroup { after_group } => {
            let after = progress.last_group.clone().or_else(|| after_group.clone());
            let (mut picked, walk) =
                queue.fair_heads(now, retained_since, limit, below, after.as_deref());
            progress.record(walk);
            let wanted = limit.saturating_sub(picked.len());
            if wanted > 0 {
                let oldest = queue.oldest_visible(now, retained_since, wanted, below, &picked);
                picked.extend(oldest);
            }
            picked
        }
        DeliveryOrder::BestEffort => queue.oldest_visible(now, retained_since, limit, below, &[]),
    };
    seqs.into_iter()
        .filter_map(|seq| {
            let entry = queue.get(seq)?;
            Some(Candidate {
                seq,
                receive_count_before: entry.receive_count,
            })
        })
        .collect()
}

/// What the group walks of one receive have covered.
#[derive(Default)]
struct GroupProgress {
    last_group: Option<String>,
    complete: bool,
}

impl GroupProgress {
    fn record(&mut self, walk: crate::index::GroupWalk) {
        if walk.last_group.is_some() {
            self.last_group = walk.last_group;
        }
        self.complete = walk.complete;
    }
}

pub fn receive(
    db: &Db,
    queue_id: u64,
    request: &ReceiveRequest,
) -> rusqlite::Result<ReceiveOutcome> {
    if let Some(attempt) = &request.attempt
        && let Some(retried) = retry_attempt(db, queue_id, request, attempt)?
    {
        return Ok(retried);
    }
    // A dead-letter queue deleted since the broker looked is dormant, as a policy naming a
    // missing queue is: the message is delivered rather than moved nowhere.
    let dead_letter = request
        .dead_letter
        .filter(|target| db.index().contains_queue(target.queue_id));
    let mut outcome = ReceiveOutcome::default();
    let mut progress = GroupProgress {
        complete: true,
        ..GroupProgress::default()
    };
    for _ in 0..RECEIVE_ROUNDS_MAX {
        let wanted = (request.max_messages as usize).saturating_sub(outcome.messages.len());
        if wanted == 0 {
            break;
        }
        let found = candidates(db, queue_id, request, wanted, &mut progress);
        if found.is_empty() {
            break;
        }
        let mut moved_this_round = 0;
        let mut delivered = Vec::with_capacity(found.len());
        for candidate in found {
            match dead_letter {
                Some(target) if candidate.receive_count_before >= target.max_receive_count => {
                    move_to_dead_letter(db, queue_id, candidate.seq, target, request.now)?;
                    moved_this_round += 1;
                }
                _ => delivered.push(candidate.seq),
            }
        }
        mark_received(db, queue_id, &delivered, request, &mut outcome.messages)?;
        outcome.moved_to_dead_letter += moved_this_round;
        if moved_this_round == 0 {
            break;
        }
    }
    outcome.last_group = progress.last_group;
    outcome.groups_left_unprobed = !progress.complete;
    if outcome.messages.is_empty() {
        // In this job, not a second one: an empty long poll would otherwise wait a whole batch
        // (and its fsync) more before it sleeps.
        outcome.next_visible_at = crate::operations::next_visible_at(db, queue_id, request.now);
    }
    if let Some(attempt) = &request.attempt {
        record_attempt(db, queue_id, attempt, &outcome.messages)?;
    }
    Ok(outcome)
}

/// Messages one receive statement updates at most (a receive asks for up to 10).
const RECEIVES_PER_UPDATE_MAX: usize = 10;

/// Counts the receive of each of `seqs`, hides them and gives each a fresh receipt: one
/// `UPDATE … WHERE seq IN (…) RETURNING` for up to ten, appended to `received` in `seqs` order.
fn mark_received(
    db: &Db,
    queue_id: u64,
    seqs: &[u64],
    request: &ReceiveRequest,
    received: &mut Vec<ReceivedMessage>,
) -> rusqlite::Result<()> {
    static SQL: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    let by_count = SQL.get_or_init(|| {
        (1..=RECEIVES_PER_UPDATE_MAX)
            .map(|count| {
                let seqs: Vec<String> = (4..4 + count).map(|number| format!("?{number}")).collect();
                format!(
                    "UPDATE messages
                     SET visible_at = ?1, receive_count = receive_count + 1,
                         first_received_at = COALESCE(first_received_at, ?2),
                         last_received_at = ?2, receipt_token = ?3 + seq
                     WHERE seq IN ({})
                     RETURNING {RECEIVED_COLUMNS}, seq",
                    seqs.join(", ")
                )
            })
            .collect()
    });
    for chunk in seqs.chunks(RECEIVES_PER_UPDATE_MAX) {
        let Some(sql) = by_count.get(chunk.len().wrapping_sub(1)) else {
            continue;
        };
        // A fresh base per receive: each receipt's token is base + seq, so it differs from every
        // earlier receipt of the message (with overwhelming probability) and needs no bind of
        // its own. Below 2^62, so the sum cannot overflow SQLite's signed integers.
        let token_base = rand::random::<u64>() >> 2;
        let mut statement = db.prepare_cached(sql)?;
        statement.raw_bind_parameter(1, as_i64(request.hidden_until))?;
        statement.raw_bind_parameter(2, as_i64(request.now))?;
        statement.raw_bind_parameter(3, as_i64(token_base))?;
        for (position, seq) in chunk.iter().enumerate() {
            statement.raw_bind_parameter(4 + position, as_i64(*seq))?;
        }
        let mut updated = Vec::with_capacity(chunk.len());
        let mut rows = statement.raw_query();
        while let Some(row) = rows.next()? {
            let seq = as_u64(row.get(RECEIVED_COLUMN_COUNT)?);
            let receipt = Receipt {
                queue_id,
                message_seq: seq,
                token: token_base + seq,
            };
            updated.push(received_from_row(row, receipt)?);
        }
        drop(rows);
        let mut index = db.index();
        let Some(queue) = index.queue_mut(queue_id) else {
            continue;
        };
        for &seq in chunk {
            match updated
                .iter()
                .position(|message| message.receipt.message_seq == seq)
            {
                Some(position) => {
                    queue.record_receive(seq, request.hidden_until);
                    received.push(updated.swap_remove(position));
                }
                // The index outlived its row; forget it rather than fail the receive.
                None => drop(queue.remove(seq)),
            }
        }
    }
    Ok(())
}

/// The message keeps its id, body, attributes and original sent time; it starts over as never
/// received in the dead-letter queue and remembers where it came from.
fn move_to_dead_letter(
    db: &Db,
    queue_id: u64,
    seq: u64,
    target: DeadLetterTarget,
    now: u64,
) -> rusqlite::Result<()> {
    db.prepare_cached(
        "UPDATE messages
         SET queue_id = ?2, visible_at = ?3, receive_count = 0, first_received_at = NULL,
             last_received_at = NULL, receipt_token = 0,
             source_queue_id = COALESCE(source_queue_id, ?4)
         WHERE seq = ?1",
    )?
    .execute(params![
        as_i64(seq),
        as_i64(target.queue_id),
        as_i64(now),
        as_i64(queue_id),
    ])?;
    db.index().move_message(seq, queue_id, target.queue_id, now);
    Ok(())
}

fn record_attempt(
    db: &Db,
    queue_id: u64,
    attempt: &ReceiveAttempt,
    messages: &[ReceivedMessage],
) -> rusqlite::Result<()> {
    let receipts: Vec<(u64, u64)> = messages
        .iter()
        .map(|message| (message.receipt.message_seq, message.receipt.token))
        .collect();
    let receipts = serde_json::to_string(&receipts).map_err(to_sql_error)?;
    db.prepare_cached(
        "INSERT OR REPLACE INTO receive_attempts (queue_id, attempt_id, receipts, window_ends_at)
         VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![
        as_i64(queue_id),
        attempt.id,
        receipts,
        as_i64(attempt.window_ends_at)
    ])?;
    Ok(())
}

/// A retried attempt gets back the messages of its first try that are still held under the same
/// receipts, with their visibility timeout restarted; `None` means "receive afresh".
fn retry_attempt(
    db: &Db,
    queue_id: u64,
    request: &ReceiveRequest,
    attempt: &ReceiveAttempt,
) -> rusqlite::Result<Option<ReceiveOutcome>> {
    let recorded: Option<String> = db
        .prepare_cached(
            "SELECT receipts FROM receive_attempts
             WHERE queue_id = ?1 AND attempt_id = ?2 AND window_ends_at > ?3",
        )?
        .query_row(
            params![as_i64(queue_id), attempt.id, as_i64(request.now)],
            |row| row.get(0),
        )
        .optional()?;
    let Some(recorded) = recorded else {
        return Ok(None);
    };
    let receipts: Vec<(u64, u64)> = from_json(0, &recorded)?;
    let mut messages = Vec::with_capacity(receipts.len());
    // Same receive, not a new one: the count stays where the first try left it.
    let sql = format!(
        "UPDATE messages SET visible_at = ?4
         WHERE seq = ?1 AND queue_id = ?2 AND receipt_token = ?3
         RETURNING {RECEIVED_COLUMNS}"
    );
    for (seq, token) in receipts {
        let receipt = Receipt {
            queue_id,
            message_seq: seq,
            token,
        };
        let found = db
            .prepare_cached(&sql)?
            .query_row(
                params![
                    as_i64(seq),
                    as_i64(queue_id),
                    token as i64,
                    as_i64(request.hidden_until)
                ],
                |row| received_from_row(row, receipt),
            )
            .optional()?;
        if let Some(message) = found {
            // A row the load has not reached needs no entry: the load reads it as committed.
            if let Some(queue) = db.index().queue_mut(queue_id) {
                queue.set_visible_at(seq, request.hidden_until);
            }
            messages.push(message);
        }
    }
    if messages.is_empty() {
        return Ok(None);
    }
    Ok(Some(ReceiveOutcome {
        messages,
        ..Default::default()
    }))
}

/// Redrive out of a queue (a message move task's step): visible messages, oldest first.
pub fn move_messages(
    db: &Db,
    queue_id: u64,
    destination: Option<u64>,
    max_messages: u32,
    now: u64,
) -> rusqlite::Result<u64> {
    // Without an explicit destination a message goes back where it was dead-lettered from, and
    // only if that queue still exists.
    // Oldest first over the whole queue, and a task ends when a step moves nothing: a partial
    // index would end it early or move in the wrong order.
    db.ensure_loaded()?;
    let mut moves = Vec::new();
    {
        let index = db.index();
        let Some(queue) = index.queue(queue_id) else {
            return Ok(0);
        };
        let mut source_of =
            db.prepare_cached("SELECT source_queue_id FROM messages WHERE seq = ?1")?;
        for seq in queue.visible_in_order(now) {
            if moves.len() >= max_messages as usize {
                break;
            }
            let target = match destination {
                Some(destination) => Some(destination),
                None => source_of
                    .query_row([as_i64(seq)], |row| row.get::<_, Option<i64>>(0))
                    .optional()?
                    .flatten()
                    .map(as_u64),
            };
            if let Some(target) = target.filter(|target| index.contains_queue(*target)) {
                moves.push((seq, target));
            }
        }
    }
    let mut update = db.prepare_cached(
        "UPDATE messages
         SET queue_id = ?2, visible_at = ?3, receive_count = 0, first_received_at = NULL,
             last_received_at = NULL, receipt_token = 0,
             source_queue_id = CASE WHEN ?4 THEN NULL ELSE source_queue_id END
         WHERE seq = ?1",
    )?;
    for &(seq, target) in &moves {
        update.execute(params![
            as_i64(seq),
            as_i64(target),
            as_i64(now),
            destination.is_none()
        ])?;
        db.index().move_message(seq, queue_id, target, now);
    }
    Ok(moves.len() as u64)
}
