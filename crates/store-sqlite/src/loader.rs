//! The message index's load, a chunk at a time, so that a restart with a large backlog serves
//! after the first chunk instead of after a scan of the whole `messages` table.
//!
//! Rows are read in primary-key (`seq`) order, and a seq is global, grows with every send and
//! stays with a message when it moves between queues. So while every row up to the cursor is
//! loaded, each queue's loaded messages are exactly its messages up to the cursor: its oldest,
//! and for a FIFO group a true prefix (see [`Index::fifo_horizon`]). Receives serve from that;
//! operations that name one message fault its row in ([`fault_in`]); operations that need a
//! queue's every message finish the load first ([`finish`]).
//!
//! The writer thread runs the chunks between batches (`crate::writer`), when the table holds
//! committed state only and the index mirrors it exactly.

use std::time::{Duration, Instant};

use rusqlite::{Connection, params};

use crate::index::{Index, PendingLoad, ROW_COLUMNS};
use crate::operations::{as_i64, as_u64};

/// How much of the index's load runs where. Small stores (every test's) load whole at open.
#[derive(Debug, Clone, Copy)]
pub struct LoadBudget {
    /// Rows loaded before the store opens (or before the batch after a failed job goes on).
    pub first_rows: usize,
    /// Rows per chunk while no job waits, and the time after which such a chunk stops early: a
    /// job arriving meanwhile waits for at most one chunk.
    pub idle_rows: usize,
    pub idle_time: Duration,
    /// The same after each commit while jobs keep coming, so that the load still progresses
    /// under a sustained load without holding up the next batch for long.
    pub busy_rows: usize,
    pub busy_time: Duration,
}

impl Default for LoadBudget {
    fn default() -> Self {
        Self {
            first_rows: 100_000,
            idle_rows: 100_000,
            idle_time: Duration::from_millis(5),
            busy_rows: 10_000,
            busy_time: Duration::from_millis(1),
        }
    }
}

/// Whether jobs are waiting for the writer, which sets the size of the next chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pace {
    Idle,
    Busy,
}

impl LoadBudget {
    fn chunk(&self, pace: Pace) -> (usize, Duration) {
        match pace {
            Pace::Idle => (self.idle_rows, self.idle_time),
            Pace::Busy => (self.busy_rows, self.busy_time),
        }
    }
}

/// Rows between two looks at the clock: reading the time per row would cost more than the row.
const ROWS_PER_CLOCK_CHECK: usize = 256;

/// A fresh index: every queue, and the messages of the first chunk; the rest up to the table's
/// highest seq now is pending. Messages sent from here on get higher seqs and are indexed as
/// they are sent.
pub fn start(connection: &Connection, budget: &LoadBudget) -> rusqlite::Result<Index> {
    let mut index = Index::default();
    let mut queues = connection.prepare_cached("SELECT id FROM queues")?;
    for id in queues.query_map([], |row| row.get::<_, i64>(0))? {
        index.add_queue(as_u64(id?));
    }
    let end: Option<i64> = connection
        .prepare_cached("SELECT max(seq) FROM messages")?
        .query_row([], |row| row.get(0))?;
    index.set_pending(end.map(|end| PendingLoad {
        through: 0,
        end: as_u64(end),
    }));
    load_rows(connection, &mut index, budget.first_rows, None)?;
    if let Some(pending) = index.pending() {
        tracing::info!(
            loaded_through = pending.through,
            end = pending.end,
            "serving while the rest of the message index loads"
        );
    }
    Ok(index)
}

/// Loads the next chunk for `pace`; a no-op once the load is complete.
pub fn load_chunk(
    connection: &Connection,
    index: &mut Index,
    budget: &LoadBudget,
    pace: Pace,
) -> rusqlite::Result<()> {
    let (rows, time) = budget.chunk(pace);
    load_rows(connection, index, rows, Some(time))
}

/// Loads every row left.
pub fn finish(connection: &Connection, index: &mut Index) -> rusqlite::Result<()> {
    load_rows(connection, index, usize::MAX, None)
}

/// Loads up to `rows` rows after the cursor, stopping early once `time` has passed.
fn load_rows(
    connection: &Connection,
    index: &mut Index,
    rows: usize,
    time: Option<Duration>,
) -> rusqlite::Result<()> {
    let Some(PendingLoad { mut through, end }) = index.pending() else {
        return Ok(());
    };
    let began = Instant::now();
    let mut statement = connection.prepare_cached(&format!(
        "SELECT {ROW_COLUMNS} FROM messages WHERE seq > ?1 AND seq <= ?2 ORDER BY seq LIMIT ?3"
    ))?;
    let limit = i64::try_from(rows).unwrap_or(i64::MAX);
    let mut cursor = statement.query(params![as_i64(through), as_i64(end), limit])?;
    let mut read = 0;
    let mut out_of_time = false;
    while let Some(row) = cursor.next()? {
        through = index.insert_row(row)?;
        read += 1;
        if let Some(time) = time
            && read % ROWS_PER_CLOCK_CHECK == 0
            && began.elapsed() >= time
        {
            out_of_time = true;
            break;
        }
    }
    // Fewer rows than asked for, and not cut short: nothing is left up to `end`.
    if read < rows && !out_of_time {
        through = end;
    }
    index.set_pending(Some(PendingLoad { through, end }));
    Ok(())
}

/// Indexes the message `seq` now if the load has not reached it, so that an operation naming it
/// (by receipt) finds it. It goes into the queue its row is in, as the load would put it; the
/// load skips it later, so what the operation changes in it stands.
pub fn fault_in(
    connection: &Connection,
    index: &mut Index,
    queue_id: u64,
    seq: u64,
) -> rusqlite::Result<()> {
    // The range check first: once loaded, this is all a delete or visibility change pays.
    if !index.is_unloaded(seq)
        || index
            .queue(queue_id)
            .is_some_and(|queue| queue.get(seq).is_some())
    {
        return Ok(());
    }
    let mut statement = connection.prepare_cached(&format!(
        "SELECT {ROW_COLUMNS} FROM messages WHERE seq = ?1"
    ))?;
    let mut rows = statement.query([as_i64(seq)])?;
    if let Some(row) = rows.next()? {
        index.insert_row(row)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use tern_core::receipt::Receipt;
    use tern_core::time::Millis;
    use tern_store::*;

    use super::*;
    use crate::test_support::message;
    use crate::writer::Db;
    use crate::{delivery, operations, schema};

    /// First chunk of two rows, then chunks of two (idle) or one (busy), never cut short.
    const TINY: LoadBudget = LoadBudget {
        first_rows: 2,
        idle_rows: 2,
        idle_time: Duration::from_secs(60),
        busy_rows: 1,
        busy_time: Duration::from_secs(60),
    };

    fn open(path: &Path, budget: LoadBudget) -> Db {
        Db::open_with(schema::open(path).unwrap(), budget).unwrap()
    }

    fn new_queue(db: &Db, name: &str) -> u64 {
        let queue = NewQueue {
            name: name.to_owned(),
            attributes: Default::default(),
            tags: Default::default(),
            now: 1,
        };
        match operations::create_queue(db, &queue).unwrap() {
            CreateQueueOutcome::Created(queue) => queue.id,
            CreateQueueOutcome::AlreadyExists(_) => panic!("queue {name} existed"),
        }
    }

    /// Sends one message per call, so seqs follow `bodies`' order.
    fn send(db: &Db, queue_id: u64, bodies: &[(&str, Option<&str>)]) {
        for (body, group) in bodies {
            let sent = delivery::send(db, queue_id, &[message(body, *group, 10)]).unwrap();
            assert!(sent.is_some(), "queue {queue_id} missing");
        }
    }

    fn standard(max_messages: u32, now: Millis) -> ReceiveRequest {
        ReceiveRequest {
            max_messages,
            now,
            hidden_until: now + 1_000,
            order: DeliveryOrder::BestEffort,
            ..Default::default()
        }
    }

    fn fifo(max_messages: u32, now: Millis) -> ReceiveRequest {
        ReceiveRequest {
            order: DeliveryOrder::FifoByGroup { after_group: None },
            ..standard(max_messages, now)
        }
    }

    /// A receive in a batch of its own, as the writer would run it after the sends before it.
    fn receive(db: &Db, queue_id: u64, request: &ReceiveRequest) -> Vec<ReceivedMessage> {
        db.index().begin_batch();
        delivery::receive(db, queue_id, request).unwrap().messages
    }

    fn bodies(messages: &[ReceivedMessage]) -> Vec<&str> {
        messages
            .iter()
            .map(|message| message.body.as_str())
            .collect()
    }

    fn finish_in_chunks(db: &Db) {
        for _ in 0..10_000 {
            if !db.is_loading() {
                return;
            }
            db.load_chunk(Pace::Idle).unwrap();
        }
        panic!("the load did not finish");
    }

    fn rows_in(db: &Db, queue_id: u64) -> i64 {
        db.query_row(
            "SELECT count(*) FROM messages WHERE queue_id = ?1",
            [as_i64(queue_id)],
            |row| row.get(0),
        )
        .unwrap()
    }

    /// The index as comparable values: per queue, its counts and every entry.
    type Snapshot = Vec<(
        u64,
        (u64, u64, u64),
        Vec<(u64, Millis, Millis, u32, Option<String>)>,
    )>;

    fn snapshot(index: &Index, queue_ids: &[u64], now: Millis) -> Snapshot {
        queue_ids
            .iter()
            .filter_map(|&queue_id| {
                let queue = index.queue(queue_id)?;
                let mut entries: Vec<_> = queue
                    .seqs()
                    .filter_map(|seq| {
                        let entry = queue.get(seq)?;
                        let group = entry.group.as_deref().map(str::to_owned);
                        Some((
                            seq,
                            entry.visible_at,
                            entry.sent_at,
                            entry.receive_count,
                            group,
                        ))
                    })
                    .collect();
                entries.sort();
                Some((queue_id, queue.counts(now), entries))
            })
            .collect()
    }

    #[test]
    fn a_small_store_is_loaded_whole_at_open() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("db.sqlite3");
        let queue_id = {
            let db = open(&path, LoadBudget::default());
            let queue_id = new_queue(&db, "q");
            send(&db, queue_id, &[("m0", None), ("m1", None)]);
            queue_id
        };
        let db = open(&path, LoadBudget::default());
        assert!(!db.is_loading());
        assert_eq!(db.index().queue(queue_id).map(|queue| queue.len()), Some(2));
        let empty = open(&directory.path().join("empty.sqlite3"), TINY);
        assert!(!empty.is_loading(), "an empty table has nothing to load");
    }

    #[test]
    fn receives_serve_the_loaded_oldest_and_every_message_arrives_once() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("db.sqlite3");
        let names: Vec<String> = (0..9).map(|number| format!("m{number}")).collect();
        let queue_id = {
            let db = open(&path, LoadBudget::default());
            let queue_id = new_queue(&db, "q");
            let batch: Vec<(&str, Option<&str>)> =
                names.iter().map(|name| (name.as_str(), None)).collect();
            send(&db, queue_id, &batch);
            queue_id
        };
        let db = open(&path, TINY);
        assert!(db.is_loading());
        let counts = operations::counts(&db, queue_id, 20);
        assert_eq!(counts.visible, 2, "counts leave out what is not loaded yet");
        assert_eq!(
            operations::next_visible_at(&db, queue_id, 20),
            Some(220),
            "long polls look again while the load brings messages in"
        );
        assert_eq!(
            bodies(&receive(&db, queue_id, &standard(10, 20))),
            ["m0", "m1"]
        );
        let mut received = vec!["m0".to_owned(), "m1".to_owned()];
        while db.is_loading() {
            db.load_chunk(Pace::Idle).unwrap();
            let batch = receive(&db, queue_id, &standard(10, 20));
            received.extend(batch.into_iter().map(|message| message.body));
        }
        received.extend(
            receive(&db, queue_id, &standard(10, 20))
                .into_iter()
                .map(|message| message.body),
        );
        assert_eq!(received, names, "oldest first, each exactly once");
        assert!(receive(&db, queue_id, &standard(10, 20)).is_empty());
        assert_eq!(operations::next_visible_at(&db, queue_id, 20), Some(1_020));
    }

    #[test]
    fn fifo_groups_keep_their_order_and_an_in_flight_head_blocks_its_group() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("db.sqlite3");
        let queue_id = {
            let db = open(&path, LoadBudget::default());
            let queue_id = new_queue(&db, "q.fifo");
            send(
                &db,
                queue_id,
                &[
                    ("a1", Some("a")),
                    ("b1", Some("b")),
                    ("a2", Some("a")),
                    ("b2", Some("b")),
                    ("a3", Some("a")),
                    ("c1", Some("c")),
                ],
            );
            // a1 in flight across the restart.
            assert_eq!(bodies(&receive(&db, queue_id, &fifo(1, 20))), ["a1"]);
            queue_id
        };
        let db = open(
            &path,
            LoadBudget {
                first_rows: 3,
                ..TINY
            },
        );
        assert!(db.is_loading());
        // Loaded: a1 (in flight), b1, a2. Group a waits for a1; b2 and c1 are not loaded.
        let first = receive(&db, queue_id, &fifo(10, 30));
        assert_eq!(bodies(&first), ["b1"]);
        // Sent while loading: its group may have older messages not loaded yet.
        send(&db, queue_id, &[("b3", Some("b")), ("d1", Some("d"))]);
        assert!(receive(&db, queue_id, &fifo(10, 30)).is_empty());
        let deleted = operations::delete_messages(&db, queue_id, &[first[0].receipt]).unwrap();
        assert_eq!(deleted, [DeleteOutcome::Deleted]);
        assert!(
            receive(&db, queue_id, &fifo(10, 30)).is_empty(),
            "b2 is not loaded: b3 must not overtake it"
        );
        finish_in_chunks(&db);
        let mut rest = bodies(&receive(&db, queue_id, &fifo(10, 30)))
            .into_iter()
            .map(str::to_owned)
            .collect::<Vec<_>>();
        rest.sort();
        assert_eq!(rest, ["b2", "b3", "c1", "d1"], "group a still waits for a1");
        // Once a1's timeout runs out, group a comes in order.
        assert_eq!(
            bodies(&receive(&db, queue_id, &fifo(10, 1_025))),
            ["a1", "a2", "a3"]
        );
    }

    #[test]
    fn a_message_not_loaded_yet_can_be_deleted_or_changed_by_receipt() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("db.sqlite3");
        let (queue_id, receipts) = {
            let db = open(&path, LoadBudget::default());
            let queue_id = new_queue(&db, "q");
            send(
                &db,
                queue_id,
                &[("m0", None), ("m1", None), ("m2", None), ("m3", None)],
            );
            let received = receive(&db, queue_id, &standard(10, 20));
            assert_eq!(bodies(&received), ["m0", "m1", "m2", "m3"]);
            let receipts: Vec<Receipt> = received.iter().map(|message| message.receipt).collect();
            (queue_id, receipts)
        };
        let db = open(&path, TINY);
        assert!(db.index().is_unloaded(receipts[3].message_seq));
        let deleted = operations::delete_messages(&db, queue_id, &[receipts[3]]).unwrap();
        assert_eq!(deleted, [DeleteOutcome::Deleted]);
        let change = VisibilityChange {
            receipt: receipts[2],
            hidden_until: 30,
        };
        let changed = operations::change_visibility(&db, queue_id, &[change], 30).unwrap();
        assert_eq!(changed, [VisibilityOutcome::Changed]);
        assert_eq!(
            bodies(&receive(&db, queue_id, &standard(10, 30))),
            ["m2"],
            "visible again although the load has not reached it"
        );
        let stale = operations::delete_messages(&db, queue_id, &[receipts[2]]).unwrap();
        assert_eq!(stale, [DeleteOutcome::Stale], "received again since");
        finish_in_chunks(&db);
        let index = db.index();
        let Some(queue) = index.queue(queue_id) else {
            panic!("queue missing");
        };
        assert!(
            queue.get(receipts[3].message_seq).is_none(),
            "not resurrected"
        );
        assert_eq!(
            queue
                .get(receipts[2].message_seq)
                .map(|entry| entry.receive_count),
            Some(2)
        );
        assert_eq!(queue.len(), 3);
        drop(index);
        assert_eq!(rows_in(&db, queue_id), 3);
    }

    #[test]
    fn purge_and_queue_deletion_take_the_messages_not_loaded_yet() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("db.sqlite3");
        let (purged, deleted) = {
            let db = open(&path, LoadBudget::default());
            let purged = new_queue(&db, "purged");
            let deleted = new_queue(&db, "deleted");
            for round in 0..5 {
                send(&db, purged, &[(&format!("p{round}"), None)]);
                send(&db, deleted, &[(&format!("d{round}"), None)]);
            }
            (purged, deleted)
        };
        let db = open(&path, TINY);
        assert!(db.is_loading());
        assert_eq!(operations::purge(&db, purged).unwrap(), 5);
        assert!(!db.is_loading(), "purge finished the load");
        assert_eq!(rows_in(&db, purged), 0);
        assert!(receive(&db, purged, &standard(10, 20)).is_empty());

        let db = open(&path, TINY);
        assert!(db.is_loading());
        assert!(operations::delete_queue(&db, deleted).unwrap());
        assert_eq!(rows_in(&db, deleted), 0);
    }

    #[test]
    fn a_message_sent_while_loading_comes_after_the_loaded_ones() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("db.sqlite3");
        let queue_id = {
            let db = open(&path, LoadBudget::default());
            let queue_id = new_queue(&db, "q");
            send(&db, queue_id, &[("m0", None), ("m1", None), ("m2", None)]);
            queue_id
        };
        let db = open(&path, TINY);
        send(&db, queue_id, &[("new", None)]);
        assert_eq!(
            bodies(&receive(&db, queue_id, &standard(10, 20))),
            ["m0", "m1", "new"]
        );
        finish_in_chunks(&db);
        assert_eq!(bodies(&receive(&db, queue_id, &standard(10, 20))), ["m2"]);
    }

    #[test]
    fn the_finished_load_equals_a_full_load() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("db.sqlite3");
        let (queues, receipts) = {
            let db = open(&path, LoadBudget::default());
            let plain = new_queue(&db, "plain");
            let grouped = new_queue(&db, "grouped.fifo");
            let gone = new_queue(&db, "gone");
            for round in 0..20 {
                let group = ["x", "y", "z"][round % 3];
                send(&db, plain, &[(&format!("p{round}"), None)]);
                send(&db, grouped, &[(&format!("g{round}"), Some(group))]);
            }
            receive(&db, plain, &standard(3, 20));
            let received = receive(&db, grouped, &fifo(4, 20));
            // Rows left behind by a deleted queue, as an older release could leave them.
            db.execute(
                "INSERT INTO messages (queue_id, message_id, body, md5_of_body, sender_id,
                     sent_at, visible_at) VALUES (?1, 'orphan', 'orphan', '', 's', 1, 1)",
                [as_i64(gone)],
            )
            .unwrap();
            db.execute("DELETE FROM queues WHERE id = ?1", [as_i64(gone)])
                .unwrap();
            let receipts: Vec<Receipt> = received.iter().map(|message| message.receipt).collect();
            ([plain, grouped, gone], receipts)
        };
        let db = open(&path, TINY);
        // Faulted in ahead of the load, changed, then passed over by it.
        let last = receipts.last().copied().unwrap();
        let change = VisibilityChange {
            receipt: last,
            hidden_until: 500,
        };
        let changed = operations::change_visibility(&db, queues[1], &[change], 30).unwrap();
        assert_eq!(changed, [VisibilityOutcome::Changed]);
        send(&db, queues[0], &[("late", None)]);
        let mut chunks = 0;
        while db.is_loading() {
            db.load_chunk(if chunks % 2 == 0 {
                Pace::Idle
            } else {
                Pace::Busy
            })
            .unwrap();
            chunks += 1;
        }
        assert!(chunks > 10, "the load went in chunks ({chunks})");
        let full = Index::load(&db).unwrap();
        assert_eq!(
            snapshot(&db.index(), &queues, 30),
            snapshot(&full, &queues, 30)
        );
        assert!(db.index().queue(queues[2]).is_none());
        assert_eq!(
            db.index()
                .queue(queues[1])
                .map(|queue| queue.fifo_runs(30, 0, 100, None, u64::MAX).0),
            full.queue(queues[1])
                .map(|queue| queue.fifo_runs(30, 0, 100, None, u64::MAX).0),
        );
    }

    #[test]
    fn a_rebuild_after_a_failed_job_is_lazy_too() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("db.sqlite3");
        let db = open(&path, TINY);
        let queue_id = new_queue(&db, "q");
        send(&db, queue_id, &[("m0", None), ("m1", None), ("m2", None)]);
        assert!(!db.is_loading());
        db.rebuild_index();
        assert!(db.is_loading());
        assert_eq!(db.index().queue(queue_id).map(|queue| queue.len()), Some(2));
        finish_in_chunks(&db);
        assert_eq!(
            bodies(&receive(&db, queue_id, &standard(10, 20))),
            ["m0", "m1", "m2"]
        );
    }

    #[test]
    fn retention_expires_messages_once_they_are_loaded() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("db.sqlite3");
        let queue_id = {
            let db = open(&path, LoadBudget::default());
            let queue_id = new_queue(&db, "q");
            send(&db, queue_id, &[("young0", None), ("young1", None)]);
            let old = message("old", None, 5);
            delivery::send(&db, queue_id, &[old]).unwrap();
            queue_id
        };
        let db = open(&path, TINY);
        assert_eq!(
            operations::expire(&db, queue_id, 8).unwrap(),
            0,
            "not loaded yet"
        );
        finish_in_chunks(&db);
        assert_eq!(operations::expire(&db, queue_id, 8).unwrap(), 1);
        assert_eq!(rows_in(&db, queue_id), 2);
    }
}
