//! The hot path: sending (with FIFO deduplication) and receiving (in best-effort or FIFO group
//! order, with dead-letter moves and receive-attempt retries).

use rusqlite::{Connection, OptionalExtension, Row, params};
use tern_core::message::MessageAttributes;
use tern_core::receipt::Receipt;
use tern_store::*;

use crate::operations::{as_i64, as_u64, from_json, to_sql_error};

/// Rounds of selection one receive may take when dead-letter moves thin out its candidates.
const RECEIVE_ROUNDS_MAX: usize = 10;

/// `None` if the queue no longer exists: a send racing a DeleteQueue must not leave orphans.
pub fn send(
    connection: &Connection,
    queue_id: u64,
    messages: &[NewMessage],
) -> rusqlite::Result<Option<Vec<SentMessage>>> {
    let exists = connection
        .prepare_cached("SELECT 1 FROM queues WHERE id = ?1")?
        .exists([as_i64(queue_id)])?;
    if !exists {
        return Ok(None);
    }
    let mut sent = Vec::with_capacity(messages.len());
    for message in messages {
        if let Some(deduplication) = &message.deduplication
            && let Some(original) = duplicate_of(connection, queue_id, deduplication, message)?
        {
            sent.push(original);
            continue;
        }
        let seq = insert(connection, queue_id, message)?;
        if let Some(deduplication) = &message.deduplication {
            connection
                .prepare_cached(
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
        sent.push(SentMessage {
            seq,
            message_id: message.message_id.clone(),
            duplicate: false,
        });
    }
    Ok(Some(sent))
}

fn duplicate_of(
    connection: &Connection,
    queue_id: u64,
    deduplication: &Deduplication,
    message: &NewMessage,
) -> rusqlite::Result<Option<SentMessage>> {
    connection
        .prepare_cached(
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

fn insert(connection: &Connection, queue_id: u64, message: &NewMessage) -> rusqlite::Result<u64> {
    let attributes = if message.attributes.is_empty() {
        None
    } else {
        Some(serde_json::to_string(&message.attributes).map_err(to_sql_error)?)
    };
    connection
        .prepare_cached(
            "INSERT INTO messages (queue_id, message_id, body, attributes, md5_of_body,
                 md5_of_attributes, sender_id, sent_at, visible_at, group_id, deduplication_id,
                 trace_header)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        )?
        .execute(params![
            as_i64(queue_id),
            message.message_id,
            message.body,
            attributes,
            message.md5_of_body,
            message.md5_of_attributes,
            message.sender_id,
            as_i64(message.sent_at),
            as_i64(message.visible_at),
            message.group_id,
            message
                .deduplication
                .as_ref()
                .map(|deduplication| &deduplication.id),
            message.trace_header,
        ])?;
    Ok(as_u64(connection.last_insert_rowid()))
}

/// How many columns `MESSAGE_COLUMNS` names; a query may select more after them.
const MESSAGE_COLUMN_COUNT: usize = 13;

const MESSAGE_COLUMNS: &str = "seq, message_id, body, attributes, md5_of_body, md5_of_attributes,
    sender_id, sent_at, receive_count, first_received_at, group_id, deduplication_id, trace_header";

/// A candidate row, before this receive has been counted.
struct Candidate {
    message: ReceivedMessage,
    receive_count_before: u32,
}

fn candidate_from_row(row: &Row<'_>, queue_id: u64, now: u64) -> rusqlite::Result<Candidate> {
    let attributes: Option<String> = row.get(3)?;
    let attributes: MessageAttributes = match attributes {
        Some(text) => from_json(3, &text)?,
        None => MessageAttributes::new(),
    };
    let receive_count_before = u32::try_from(row.get::<_, i64>(8)?).unwrap_or(u32::MAX);
    let first_received_at: Option<i64> = row.get(9)?;
    Ok(Candidate {
        receive_count_before,
        message: ReceivedMessage {
            receipt: Receipt {
                queue_id,
                message_seq: as_u64(row.get(0)?),
                token: rand::random(),
            },
            message_id: row.get(1)?,
            body: row.get(2)?,
            attributes,
            md5_of_body: row.get(4)?,
            md5_of_attributes: row.get(5)?,
            sender_id: row.get(6)?,
            sent_at: as_u64(row.get(7)?),
            receive_count: receive_count_before.saturating_add(1),
            first_received_at: first_received_at.map_or(now, as_u64),
            group_id: row.get(10)?,
            deduplication_id: row.get(11)?,
            trace_header: row.get(12)?,
        },
    })
}

fn candidates(
    connection: &Connection,
    queue_id: u64,
    request: &ReceiveRequest,
    limit: u32,
    progress: &mut GroupProgress,
) -> rusqlite::Result<Vec<Candidate>> {
    match &request.order {
        DeliveryOrder::FifoByGroup { after_group } => {
            let after = progress.last_group.clone().or_else(|| after_group.clone());
            let (picked, walk) = fifo_runs(connection, queue_id, request, limit, after.as_deref())?;
            progress.record(walk);
            Ok(picked)
        }
        DeliveryOrder::FairByGroup { after_group } => {
            let after = progress.last_group.clone().or_else(|| after_group.clone());
            let (mut picked, walk) =
                fair_heads(connection, queue_id, request, limit, after.as_deref())?;
            progress.record(walk);
            let wanted = limit.saturating_sub(picked.len() as u32);
            if wanted > 0 {
                let taken: Vec<u64> = picked
                    .iter()
                    .map(|candidate| candidate.message.receipt.message_seq)
                    .collect();
                let oldest = oldest_visible(connection, queue_id, request, limit)?;
                picked.extend(
                    oldest
                        .into_iter()
                        .filter(|candidate| !taken.contains(&candidate.message.receipt.message_seq))
                        .take(wanted as usize),
                );
            }
            Ok(picked)
        }
        DeliveryOrder::BestEffort => oldest_visible(connection, queue_id, request, limit),
    }
}

/// Groups probed per receive at most, so that many groups with nothing receivable cannot make
/// one receive expensive; the rotation continues where it stopped on the next receive.
const GROUPS_PROBED_MAX: u32 = 200;

/// Where a walk over a queue's message groups stopped.
struct GroupWalk {
    last_group: Option<String>,
    /// False when the probe budget ran out before every group had been looked at.
    complete: bool,
}

/// Visits the queue's message groups in name order after `after`, wrapping around once, until
/// `visit` says stop or the probe budget runs out. Walks distinct groups through the group
/// index (a loose index scan), so its cost follows the number of groups, not the backlog.
fn walk_groups(
    connection: &Connection,
    queue_id: u64,
    after: Option<&str>,
    mut visit: impl FnMut(&str) -> rusqlite::Result<bool>,
) -> rusqlite::Result<GroupWalk> {
    let mut next_group = connection.prepare_cached(
        "SELECT MIN(group_id) FROM messages
         WHERE queue_id = ?1 AND group_id IS NOT NULL AND group_id > ?2",
    )?;
    let start = after.unwrap_or("").to_owned();
    let mut cursor = start.clone();
    let mut wrapped = after.is_none();
    let mut last_group = None;
    for _ in 0..GROUPS_PROBED_MAX {
        let group: Option<String> =
            next_group.query_row(params![as_i64(queue_id), cursor], |row| row.get(0))?;
        let group = match group {
            Some(group) if wrapped && group > start && !start.is_empty() => break,
            Some(group) => group,
            None if wrapped => break,
            None => {
                wrapped = true;
                cursor = String::new();
                continue;
            }
        };
        let go_on = visit(&group)?;
        last_group = Some(group.clone());
        cursor = group;
        if !go_on {
            return Ok(GroupWalk {
                last_group,
                complete: true,
            });
        }
    }
    let complete = {
        // Out of budget: complete only if no group is left unvisited in this rotation.
        let remaining: Option<String> =
            next_group.query_row(params![as_i64(queue_id), cursor], |row| row.get(0))?;
        match remaining {
            Some(group) => wrapped && !start.is_empty() && group > start,
            None => wrapped,
        }
    };
    Ok(GroupWalk {
        last_group,
        complete,
    })
}

/// Fair queues: the oldest visible message of each of up to `limit` groups, in rotation.
fn fair_heads(
    connection: &Connection,
    queue_id: u64,
    request: &ReceiveRequest,
    limit: u32,
    after: Option<&str>,
) -> rusqlite::Result<(Vec<Candidate>, GroupWalk)> {
    let head_sql = format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages
         WHERE queue_id = ?1 AND group_id IS NOT NULL AND group_id = ?2
           AND visible_at <= ?3 AND sent_at >= ?4
         ORDER BY seq LIMIT 1"
    );
    let mut head = connection.prepare_cached(&head_sql)?;
    let mut picked = Vec::new();
    let walk = walk_groups(connection, queue_id, after, |group| {
        let found = head
            .query_row(
                params![
                    as_i64(queue_id),
                    group,
                    as_i64(request.now),
                    as_i64(request.retained_since)
                ],
                |row| candidate_from_row(row, queue_id, request.now),
            )
            .optional()?;
        picked.extend(found);
        Ok((picked.len() as u32) < limit)
    })?;
    Ok((picked, walk))
}

/// FIFO: from each group in rotation, the run of messages from its head (its oldest retained
/// message) that are visible. A group whose head is hidden — in flight or delayed — is blocked,
/// which is what keeps a group in order while one of its messages is being processed.
fn fifo_runs(
    connection: &Connection,
    queue_id: u64,
    request: &ReceiveRequest,
    limit: u32,
    after: Option<&str>,
) -> rusqlite::Result<(Vec<Candidate>, GroupWalk)> {
    let run_sql = format!(
        "SELECT {MESSAGE_COLUMNS}, visible_at FROM messages
         WHERE queue_id = ?1 AND group_id IS NOT NULL AND group_id = ?2 AND sent_at >= ?3
         ORDER BY seq LIMIT ?4"
    );
    let mut run = connection.prepare_cached(&run_sql)?;
    let mut picked: Vec<Candidate> = Vec::new();
    let walk = walk_groups(connection, queue_id, after, |group| {
        let wanted = limit.saturating_sub(picked.len() as u32);
        let mut rows = run.query(params![
            as_i64(queue_id),
            group,
            as_i64(request.retained_since),
            wanted
        ])?;
        while let Some(row) = rows.next()? {
            let visible_at = as_u64(row.get(MESSAGE_COLUMN_COUNT)?);
            if visible_at > request.now {
                break;
            }
            picked.push(candidate_from_row(row, queue_id, request.now)?);
        }
        Ok((picked.len() as u32) < limit)
    })?;
    Ok((picked, walk))
}

fn oldest_visible(
    connection: &Connection,
    queue_id: u64,
    request: &ReceiveRequest,
    limit: u32,
) -> rusqlite::Result<Vec<Candidate>> {
    let sql = format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages
         WHERE queue_id = ?1 AND visible_at <= ?2 AND sent_at >= ?3
         ORDER BY visible_at, seq LIMIT ?4"
    );
    let now = request.now;
    let mut statement = connection.prepare_cached(&sql)?;
    let rows = statement.query_map(
        params![
            as_i64(queue_id),
            as_i64(now),
            as_i64(request.retained_since),
            limit
        ],
        |row| candidate_from_row(row, queue_id, now),
    )?;
    rows.collect()
}

/// What the group walks of one receive have covered.
#[derive(Default)]
struct GroupProgress {
    last_group: Option<String>,
    complete: bool,
}

impl GroupProgress {
    fn record(&mut self, walk: GroupWalk) {
        if walk.last_group.is_some() {
            self.last_group = walk.last_group;
        }
        self.complete = walk.complete;
    }
}

pub fn receive(
    connection: &Connection,
    queue_id: u64,
    request: &ReceiveRequest,
) -> rusqlite::Result<ReceiveOutcome> {
    if let Some(attempt) = &request.attempt
        && let Some(retried) = retry_attempt(connection, queue_id, request, attempt)?
    {
        return Ok(retried);
    }
    let mut outcome = ReceiveOutcome::default();
    let mut progress = GroupProgress {
        complete: true,
        ..GroupProgress::default()
    };
    for _ in 0..RECEIVE_ROUNDS_MAX {
        let wanted = request
            .max_messages
            .saturating_sub(outcome.messages.len() as u32);
        if wanted == 0 {
            break;
        }
        let found = candidates(connection, queue_id, request, wanted, &mut progress)?;
        if found.is_empty() {
            break;
        }
        let mut moved_this_round = 0;
        for candidate in found {
            match request.dead_letter {
                Some(target) if candidate.receive_count_before >= target.max_receive_count => {
                    move_to_dead_letter(
                        connection,
                        queue_id,
                        &candidate.message,
                        target,
                        request.now,
                    )?;
                    moved_this_round += 1;
                }
                _ => {
                    mark_received(connection, &candidate.message, request)?;
                    outcome.messages.push(candidate.message);
                }
            }
        }
        outcome.moved_to_dead_letter += moved_this_round;
        if moved_this_round == 0 {
            break;
        }
    }
    outcome.last_group = progress.last_group;
    outcome.groups_left_unprobed = !progress.complete;
    if let Some(attempt) = &request.attempt {
        record_attempt(connection, queue_id, attempt, &outcome.messages)?;
    }
    Ok(outcome)
}

fn mark_received(
    connection: &Connection,
    message: &ReceivedMessage,
    request: &ReceiveRequest,
) -> rusqlite::Result<()> {
    connection
        .prepare_cached(
            "UPDATE messages
             SET visible_at = ?2, receive_count = receive_count + 1,
                 first_received_at = COALESCE(first_received_at, ?3), last_received_at = ?3,
                 receipt_token = ?4
             WHERE seq = ?1",
        )?
        .execute(params![
            as_i64(message.receipt.message_seq),
            as_i64(request.hidden_until),
            as_i64(request.now),
            // Stored as the same bits, read back the same way: i64 is only the SQL carrier.
            message.receipt.token as i64,
        ])?;
    Ok(())
}

/// The message keeps its id, body, attributes and original sent time; it starts over as never
/// received in the dead-letter queue and remembers where it came from.
fn move_to_dead_letter(
    connection: &Connection,
    queue_id: u64,
    message: &ReceivedMessage,
    target: DeadLetterTarget,
    now: u64,
) -> rusqlite::Result<()> {
    connection
        .prepare_cached(
            "UPDATE messages
             SET queue_id = ?2, visible_at = ?3, receive_count = 0, first_received_at = NULL,
                 last_received_at = NULL, receipt_token = 0,
                 source_queue_id = COALESCE(source_queue_id, ?4)
             WHERE seq = ?1",
        )?
        .execute(params![
            as_i64(message.receipt.message_seq),
            as_i64(target.queue_id),
            as_i64(now),
            as_i64(queue_id),
        ])?;
    Ok(())
}

fn record_attempt(
    connection: &Connection,
    queue_id: u64,
    attempt: &ReceiveAttempt,
    messages: &[ReceivedMessage],
) -> rusqlite::Result<()> {
    let receipts: Vec<(u64, u64)> = messages
        .iter()
        .map(|message| (message.receipt.message_seq, message.receipt.token))
        .collect();
    let receipts = serde_json::to_string(&receipts).map_err(to_sql_error)?;
    connection
        .prepare_cached(
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
    connection: &Connection,
    queue_id: u64,
    request: &ReceiveRequest,
    attempt: &ReceiveAttempt,
) -> rusqlite::Result<Option<ReceiveOutcome>> {
    let recorded: Option<String> = connection
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
    let sql = format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages WHERE seq = ?1 AND queue_id = ?2 AND receipt_token = ?3"
    );
    for (seq, token) in receipts {
        let found = connection
            .prepare_cached(&sql)?
            .query_row(
                params![as_i64(seq), as_i64(queue_id), token as i64],
                |row| candidate_from_row(row, queue_id, request.now),
            )
            .optional()?;
        if let Some(mut candidate) = found {
            candidate.message.receipt.token = token;
            // Same receive, not a new one: the count stays where the first try left it.
            candidate.message.receive_count = candidate.receive_count_before;
            connection
                .prepare_cached("UPDATE messages SET visible_at = ?2 WHERE seq = ?1")?
                .execute(params![as_i64(seq), as_i64(request.hidden_until)])?;
            messages.push(candidate.message);
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

/// Redrive out of a queue (a message move task's step).
pub fn move_messages(
    connection: &Connection,
    queue_id: u64,
    destination: Option<u64>,
    max_messages: u32,
    now: u64,
) -> rusqlite::Result<u64> {
    // Without an explicit destination a message goes back where it was dead-lettered from, and
    // only if that queue still exists.
    let moved = connection
        .prepare_cached(
            "UPDATE messages
             SET queue_id = COALESCE(?2, source_queue_id), visible_at = ?3, receive_count = 0,
                 first_received_at = NULL, last_received_at = NULL, receipt_token = 0,
                 source_queue_id = CASE WHEN ?2 IS NULL THEN NULL ELSE source_queue_id END
             WHERE seq IN (
                 SELECT seq FROM messages AS m
                 WHERE m.queue_id = ?1 AND m.visible_at <= ?3
                   AND EXISTS (SELECT 1 FROM queues
                               WHERE queues.id = COALESCE(?2, m.source_queue_id))
                 ORDER BY m.visible_at, m.seq
                 LIMIT ?4)",
        )?
        .execute(params![
            as_i64(queue_id),
            destination.map(as_i64),
            as_i64(now),
            max_messages
        ])?;
    Ok(moved as u64)
}
