//! The in-memory index of every queue's messages: which message is visible when, how often it
//! was received, which FIFO group it belongs to. The writer thread owns it beside the
//! connection, so receives, deletes and counts choose their rows here and touch SQLite only by
//! primary key; the `messages` table needs no secondary index at all.
//!
//! The index is derived state, rebuilt from the `messages` table at open and after any job or
//! commit failed (a rolled-back savepoint does not roll back memory). The rebuild is lazy
//! ([`crate::loader`]): while it runs, the index holds every message up to a cursor in `seq`
//! order, messages sent since, and single rows faulted in by operations that name them
//! ([`PendingLoad`]). It holds no bodies, so its size follows the number of messages, not their
//! bytes: about 100 bytes per message (see `docs/decisions/0004-in-memory-message-index.md`).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::{BuildHasherDefault, Hasher};
use std::ops::Bound;
use std::sync::Arc;

#[cfg(test)]
use rusqlite::Connection;
use rusqlite::Row;
use tern_core::time::Millis;

/// Groups one receive may look at, at most. In memory a probe costs well under a microsecond,
/// but a queue may have millions of groups; the rotation continues on the next receive.
pub const GROUPS_PROBED_MAX: usize = 1_024;

/// What the index keeps of one message.
#[derive(Debug, Clone)]
pub struct Entry {
    pub visible_at: Millis,
    pub sent_at: Millis,
    /// Shared with the queue's group map, so a group's name is stored once.
    pub group: Option<Arc<str>>,
    pub receive_count: u32,
}

/// Message sequence numbers are unique and well spread already; SipHash would be most of the
/// cost of a lookup. A multiplication spreads them over the table's high bits.
#[derive(Default)]
pub struct SeqHasher(u64);

impl Hasher for SeqHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(*byte)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = value.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

type SeqMap<V> = HashMap<u64, V, BuildHasherDefault<SeqHasher>>;

/// Where a walk over a queue's message groups stopped.
pub struct GroupWalk {
    pub last_group: Option<String>,
    /// False when the probe budget ran out before every group had been looked at.
    pub complete: bool,
}

#[derive(Default)]
pub struct QueueIndex {
    messages: SeqMap<Entry>,
    /// Every message by (visible at, seq): the visible ones first, oldest first.
    by_visibility: BTreeSet<(Millis, u64)>,
    /// Each group's messages in sequence order; a group disappears with its last message.
    groups: BTreeMap<Arc<str>, BTreeSet<u64>>,
    /// No message is older than this (a lower bound, exact after an [`QueueIndex::expired`]
    /// scan), so a retention sweep that has nothing to do costs nothing.
    oldest_sent_at: Millis,
}

impl QueueIndex {
    pub fn len(&self) -> usize {
        self.messages.len()
    }

    pub fn get(&self, seq: u64) -> Option<&Entry> {
        self.messages.get(&seq)
    }

    pub fn insert(&mut self, seq: u64, visible_at: Millis, sent_at: Millis, group: Option<&str>) {
        self.insert_entry(
            seq,
            Entry {
                visible_at,
                sent_at,
                group: None,
                receive_count: 0,
            },
            group,
        );
    }

    fn insert_entry(&mut self, seq: u64, mut entry: Entry, group: Option<&str>) {
        if let Some(name) = group {
            let key = match self.groups.get_key_value(name) {
                Some((key, _)) => key.clone(),
                None => Arc::from(name),
            };
            self.groups.entry(key.clone()).or_default().insert(seq);
            entry.group = Some(key);
        }
        if self.messages.is_empty() || entry.sent_at < self.oldest_sent_at {
            self.oldest_sent_at = entry.sent_at;
        }
        self.by_visibility.insert((entry.visible_at, seq));
        if let Some(previous) = self.messages.insert(seq, entry) {
            // A seq is never inserted twice; if it were, the old position must not linger.
            self.by_visibility.remove(&(previous.visible_at, seq));
        }
    }

    pub fn remove(&mut self, seq: u64) -> Option<Entry> {
        let entry = self.messages.remove(&seq)?;
        self.by_visibility.remove(&(entry.visible_at, seq));
        if let Some(group) = &entry.group
            && let Some(members) = self.groups.get_mut(group)
        {
            members.remove(&seq);
            if members.is_empty() {
                self.groups.remove(group);
            }
        }
        Some(entry)
    }

    pub fn set_visible_at(&mut self, seq: u64, visible_at: Millis) {
        if let Some(entry) = self.messages.get_mut(&seq) {
            self.by_visibility.remove(&(entry.visible_at, seq));
            entry.visible_at = visible_at;
            self.by_visibility.insert((visible_at, seq));
        }
    }

    pub fn record_receive(&mut self, seq: u64, hidden_until: Millis) {
        self.set_visible_at(seq, hidden_until);
        if let Some(entry) = self.messages.get_mut(&seq) {
            entry.receive_count = entry.receive_count.saturating_add(1);
        }
    }

    fn is_receivable(&self, seq: u64, now: Millis, retained_since: Millis) -> bool {
        self.messages
            .get(&seq)
            .is_some_and(|entry| entry.visible_at <= now && entry.sent_at >= retained_since)
    }

    /// Up to `limit` visible, retained messages below seq `below`, by visibility time then age,
    /// skipping `taken`.
    pub fn oldest_visible(
        &self,
        now: Millis,
        retained_since: Millis,
        limit: usize,
        below: u64,
        taken: &[u64],
    ) -> Vec<u64> {
        self.by_visibility
            .range(..=(now, u64::MAX))
            .map(|&(_, seq)| seq)
            .filter(|&seq| seq < below && !taken.contains(&seq))
            .filter(|seq| {
                self.messages
                    .get(seq)
                    .is_some_and(|entry| entry.sent_at >= retained_since)
            })
            .take(limit)
            .collect()
    }

    /// Visits groups in name order after `after`, wrapping around once, until `visit` says stop
    /// or the probe budget runs out.
    fn walk_groups(
        &self,
        after: Option<&str>,
        mut visit: impl FnMut(&BTreeSet<u64>) -> bool,
    ) -> GroupWalk {
        let (first, second) = match after {
            Some(after) => (
                self.groups
                    .range::<str, _>((Bound::Excluded(after), Bound::Unbounded)),
                Some(
                    self.groups
                        .range::<str, _>((Bound::Unbounded, Bound::Included(after))),
                ),
            ),
            None => (self.groups.range::<str, _>(..), None),
        };
        let mut rotation = first.chain(second.into_iter().flatten());
        let mut last_group = None;
        for (name, members) in rotation.by_ref().take(GROUPS_PROBED_MAX) {
            last_group = Some(name.to_string());
            if !visit(members) {
                return GroupWalk {
                    last_group,
                    complete: true,
                };
            }
        }
        GroupWalk {
            last_group,
            complete: rotation.next().is_none(),
        }
    }

    /// FIFO: from each group in rotation, the run of visible messages from its head (its oldest
    /// retained message). A group whose head is hidden — in flight or delayed — is blocked,
    /// which is what keeps a group in order while one of its messages is being processed.
    /// A run also ends before the first message above `horizon` ([`Index::fifo_horizon`]):
    /// while the index is loading, a group may have older messages not loaded yet.
    pub fn fifo_runs(
        &self,
        now: Millis,
        retained_since: Millis,
        limit: usize,
        after: Option<&str>,
        horizon: u64,
    ) -> (Vec<u64>, GroupWalk) {
        let mut picked = Vec::new();
        let walk = self.walk_groups(after, |members| {
            for &seq in members {
                if seq > horizon {
                    break;
                }
                let Some(entry) = self.messages.get(&seq) else {
                    continue;
                };
                if entry.sent_at < retained_since {
                    continue;
                }
                if entry.visible_at > now || picked.len() >= limit {
                    break;
                }
                picked.push(seq);
            }
            picked.len() < limit
        });
        (picked, walk)
    }

    /// Fair queues: the oldest receivable message below seq `below` of each of up to `limit`
    /// groups, in rotation.
    pub fn fair_heads(
        &self,
        now: Millis,
        retained_since: Millis,
        limit: usize,
        below: u64,
        after: Option<&str>,
    ) -> (Vec<u64>, GroupWalk) {
        let mut picked = Vec::new();
        let walk = self.walk_groups(after, |members| {
            let head = members
                .range(..below)
                .copied()
                .find(|&seq| self.is_receivable(seq, now, retained_since));
            picked.extend(head);
            picked.len() < limit
        });
        (picked, walk)
    }

    pub fn next_visible_at(&self, now: Millis) -> Option<Millis> {
        self.by_visibility
            .range((now.saturating_add(1), 0)..)
            .next()
            .map(|&(visible_at, _)| visible_at)
    }

    /// (visible, in flight, delayed) at `now`. Costs the number of hidden messages, which a
    /// backlog keeps small, not the number of visible ones.
    pub fn counts(&self, now: Millis) -> (u64, u64, u64) {
        let (mut in_flight, mut delayed) = (0, 0);
        for (_, seq) in self.by_visibility.range((now.saturating_add(1), 0)..) {
            match self.messages.get(seq) {
                Some(entry) if entry.receive_count > 0 => in_flight += 1,
                _ => delayed += 1,
            }
        }
        let visible = self.messages.len() as u64 - in_flight - delayed;
        (visible, in_flight, delayed)
    }

    /// Messages sent before `retained_since`. Scans the queue only when the oldest message may
    /// be that old, and leaves the bound exact for the next sweep.
    pub fn expired(&mut self, retained_since: Millis) -> Vec<u64> {
        if self.messages.is_empty() || self.oldest_sent_at >= retained_since {
            return Vec::new();
        }
        let mut expired = Vec::new();
        let mut oldest_kept = Millis::MAX;
        for (&seq, entry) in &self.messages {
            if entry.sent_at < retained_since {
                expired.push(seq);
            } else {
                oldest_kept = oldest_kept.min(entry.sent_at);
            }
        }
        self.oldest_sent_at = oldest_kept;
        expired
    }

    /// Every message, oldest first by visibility (the order message moves take them in).
    pub fn visible_in_order(&self, now: Millis) -> impl Iterator<Item = u64> + '_ {
        self.by_visibility
            .range(..=(now, u64::MAX))
            .map(|&(_, seq)| seq)
    }

    /// The lowest and highest seq held, so that bulk deletes can be one range scan.
    pub fn seq_range(&self) -> Option<(u64, u64)> {
        let low = self.messages.keys().min()?;
        let high = self.messages.keys().max()?;
        Some((*low, *high))
    }

    pub fn seqs(&self) -> impl Iterator<Item = u64> + '_ {
        self.messages.keys().copied()
    }
}

/// The part of the `messages` table a lazy load has not read yet: the rows with `through < seq
/// <= end`. Rows above `end` were sent after the load began and were indexed as they came.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PendingLoad {
    pub through: u64,
    pub end: u64,
}

/// The index columns of a `messages` row, in the order [`Index::insert_row`] reads them.
pub const ROW_COLUMNS: &str = "seq, queue_id, visible_at, sent_at, receive_count, group_id";

/// Every queue's index. A queue is present exactly while it exists in the `queues` table, so
/// sends check a queue's existence here without a query.
#[derive(Default)]
pub struct Index {
    queues: HashMap<u64, QueueIndex>,
    /// `None` once every row is loaded.
    pending: Option<PendingLoad>,
    /// The first seq sent in the batch being run: it and every later seq are not on stable
    /// storage until the batch's fsync, so receives skip them ([`crate::wal`]).
    unsynced_from: Option<u64>,
}

impl Index {
    /// Reads every live queue and every message's index columns in one pass: the reference the
    /// lazy load ([`crate::loader`]) is checked against.
    #[cfg(test)]
    pub fn load(connection: &Connection) -> rusqlite::Result<Self> {
        let mut index = Self::default();
        let mut queues = connection.prepare("SELECT id FROM queues")?;
        for id in queues.query_map([], |row| row.get::<_, i64>(0))? {
            index.add_queue(as_u64(id?));
        }
        let mut messages = connection.prepare(&format!("SELECT {ROW_COLUMNS} FROM messages"))?;
        let mut rows = messages.query([])?;
        while let Some(row) = rows.next()? {
            index.insert_row(row)?;
        }
        Ok(index)
    }

    /// Indexes a row read with [`ROW_COLUMNS`] and returns its seq. Skips a row whose queue is
    /// gone (its rows are unreachable: queue ids are never reused) and a row already indexed,
    /// since an entry faulted in or changed since the load began is the newer one.
    pub fn insert_row(&mut self, row: &Row<'_>) -> rusqlite::Result<u64> {
        let seq = as_u64(row.get(0)?);
        let queue_id = as_u64(row.get(1)?);
        let Some(queue) = self.queues.get_mut(&queue_id) else {
            return Ok(seq);
        };
        if queue.messages.contains_key(&seq) {
            return Ok(seq);
        }
        let group = row.get_ref(5)?.as_str_or_null()?;
        let entry = Entry {
            visible_at: as_u64(row.get(2)?),
            sent_at: as_u64(row.get(3)?),
            group: None,
            receive_count: u32::try_from(row.get::<_, i64>(4)?).unwrap_or(u32::MAX),
        };
        queue.insert_entry(seq, entry, group);
        Ok(seq)
    }

    pub fn pending(&self) -> Option<PendingLoad> {
        self.pending
    }

    /// A new batch begins: every message sent before it is on stable storage.
    pub fn begin_batch(&mut self) {
        self.unsynced_from = None;
    }

    /// Records a seq this batch sent (seqs only grow, so the first is the lowest).
    pub fn note_sent(&mut self, seq: u64) {
        self.unsynced_from.get_or_insert(seq);
    }

    /// Receives may hand out messages below this seq: the ones sent before this batch.
    pub fn receivable_below(&self) -> u64 {
        self.unsynced_from.unwrap_or(u64::MAX)
    }

    pub fn set_pending(&mut self, pending: Option<PendingLoad>) {
        self.pending = pending.filter(|pending| pending.through < pending.end);
    }

    /// Whether `seq` lies in the range the load has not read yet: the index cannot say whether
    /// such a message exists without asking the table.
    pub fn is_unloaded(&self, seq: u64) -> bool {
        self.pending
            .is_some_and(|pending| pending.through < seq && seq <= pending.end)
    }

    /// The highest seq a FIFO group may be served up to. A group's messages up to the load's
    /// cursor are all indexed (a seq is never reused, and a moved message keeps its own), so its
    /// indexed run up to there is its true head; above it, an older message of the group may
    /// still be unloaded, so messages sent or faulted in since wait for the load to finish. Nor
    /// past what this batch sent ([`Index::receivable_below`]).
    pub fn fifo_horizon(&self) -> u64 {
        let loaded = self.pending.map_or(u64::MAX, |pending| pending.through);
        loaded.min(self.receivable_below().saturating_sub(1))
    }

    pub fn add_queue(&mut self, queue_id: u64) {
        self.queues.entry(queue_id).or_default();
    }

    pub fn remove_queue(&mut self, queue_id: u64) -> Option<QueueIndex> {
        self.queues.remove(&queue_id)
    }

    pub fn contains_queue(&self, queue_id: u64) -> bool {
        self.queues.contains_key(&queue_id)
    }

    pub fn queue(&self, queue_id: u64) -> Option<&QueueIndex> {
        self.queues.get(&queue_id)
    }

    pub fn queue_mut(&mut self, queue_id: u64) -> Option<&mut QueueIndex> {
        self.queues.get_mut(&queue_id)
    }

    /// Moves a message's index entry to another queue, as never received and visible at
    /// `visible_at`. `false` (and nothing changes) if either queue or the message is missing.
    pub fn move_message(&mut self, seq: u64, from: u64, to: u64, visible_at: Millis) -> bool {
        if !self.queues.contains_key(&to) {
            return false;
        }
        let Some(entry) = self
            .queues
            .get_mut(&from)
            .and_then(|queue| queue.remove(seq))
        else {
            return false;
        };
        if let Some(target) = self.queues.get_mut(&to) {
            let group = entry.group.clone();
            let moved = Entry {
                visible_at,
                receive_count: 0,
                group: None,
                ..entry
            };
            target.insert_entry(seq, moved, group.as_deref());
        }
        true
    }
}

// SQLite integers are signed 64-bit; Tern's ids and times are unsigned and far below i64::MAX.
fn as_u64(value: i64) -> u64 {
    value.max(0) as u64
}

#[cfg(test)]
mod tests {
    use tern_store::{DeliveryOrder, ReceiveRequest};

    use super::*;
    use crate::test_support::message;

    fn queue_with(messages: &[(u64, Millis, Option<&str>)]) -> QueueIndex {
        let mut queue = QueueIndex::default();
        for &(seq, visible_at, group) in messages {
            queue.insert(seq, visible_at, 0, group);
        }
        queue
    }

    #[test]
    fn visible_messages_come_oldest_first_and_hidden_ones_wait() {
        let mut queue = queue_with(&[(1, 10, None), (2, 5, None), (3, 50, None)]);
        assert_eq!(queue.oldest_visible(10, 0, 10, u64::MAX, &[]), [2, 1]);
        queue.record_receive(2, 100);
        assert_eq!(queue.oldest_visible(10, 0, 10, u64::MAX, &[]), [1]);
        assert_eq!(queue.next_visible_at(10), Some(50));
        assert_eq!(queue.counts(10), (1, 1, 1));
        queue.remove(2);
        assert_eq!(queue.counts(200), (2, 0, 0));
    }

    #[test]
    fn a_fifo_group_is_blocked_while_its_head_is_hidden() {
        let mut queue = queue_with(&[(1, 0, Some("a")), (2, 0, Some("b")), (3, 0, Some("a"))]);
        let (picked, walk) = queue.fifo_runs(0, 0, 10, None, u64::MAX);
        assert_eq!(picked, [1, 3, 2]);
        assert!(walk.complete);
        queue.record_receive(1, 100);
        let (picked, walk) = queue.fifo_runs(0, 0, 10, Some("b"), u64::MAX);
        assert_eq!(picked, [2], "group a waits for its head");
        assert_eq!(walk.last_group.as_deref(), Some("b"));
        queue.remove(1);
        queue.remove(3);
        assert_eq!(queue.groups.len(), 1, "an empty group is forgotten");
    }

    #[test]
    fn the_rotation_starts_after_the_last_group_and_wraps() {
        let queue = queue_with(&[(1, 0, Some("a")), (2, 0, Some("b")), (3, 0, Some("c"))]);
        let (picked, _) = queue.fair_heads(0, 0, 2, u64::MAX, Some("b"));
        assert_eq!(picked, [3, 1]);
    }

    #[test]
    fn expiry_scans_only_when_something_may_have_expired() {
        let mut queue = QueueIndex::default();
        queue.insert(1, 0, 100, None);
        queue.insert(2, 0, 200, None);
        assert!(queue.expired(100).is_empty());
        assert_eq!(queue.expired(150), [1]);
        assert_eq!(queue.oldest_sent_at, 200);
    }

    /// A database with one queue, as the writer thread would hold it.
    fn db_with_queue() -> (tempfile::TempDir, crate::writer::Db, u64) {
        let directory = tempfile::tempdir().unwrap();
        let connection = crate::schema::open(&directory.path().join("index.sqlite3")).unwrap();
        let db = crate::writer::Db::open(connection).unwrap();
        let new_queue = tern_store::NewQueue {
            name: "q".to_owned(),
            attributes: Default::default(),
            tags: Default::default(),
            now: 1,
        };
        let Ok(tern_store::CreateQueueOutcome::Created(queue)) =
            crate::operations::create_queue(&db, &new_queue)
        else {
            panic!("queue not created");
        };
        (directory, db, queue.id)
    }

    #[test]
    fn a_receive_skips_what_its_own_batch_sent() {
        let (_directory, db, queue_id) = db_with_queue();
        crate::delivery::send(&db, queue_id, &[message("old", Some("g"), 10)]).unwrap();
        db.index().begin_batch();
        crate::delivery::send(&db, queue_id, &[message("new", Some("g"), 10)]).unwrap();
        let orders = [
            DeliveryOrder::BestEffort,
            DeliveryOrder::FairByGroup { after_group: None },
            DeliveryOrder::FifoByGroup { after_group: None },
        ];
        for order in orders {
            let request = ReceiveRequest {
                max_messages: 10,
                now: 20,
                hidden_until: 20,
                order,
                ..Default::default()
            };
            let received = crate::delivery::receive(&db, queue_id, &request).unwrap();
            let bodies: Vec<_> = received.messages.iter().map(|m| m.body.as_str()).collect();
            assert_eq!(bodies, ["old"], "{:?}", request.order);
        }
        db.index().begin_batch();
        let request = ReceiveRequest {
            max_messages: 10,
            now: 20,
            hidden_until: 30,
            ..Default::default()
        };
        let received = crate::delivery::receive(&db, queue_id, &request).unwrap();
        let mut bodies: Vec<_> = received.messages.iter().map(|m| m.body.as_str()).collect();
        bodies.sort_unstable();
        assert_eq!(bodies, ["new", "old"], "the next batch may hand it out");
    }

    #[test]
    fn loading_rebuilds_what_the_writes_left() {
        let (_directory, db, queue_id) = db_with_queue();
        let batch = [
            message("a1", Some("a"), 10),
            message("a2", Some("a"), 10),
            message("b1", Some("b"), 10),
        ];
        crate::delivery::send(&db, queue_id, &batch).unwrap();
        db.index().begin_batch();
        let request = ReceiveRequest {
            max_messages: 1,
            now: 20,
            hidden_until: 500,
            order: DeliveryOrder::FifoByGroup { after_group: None },
            ..Default::default()
        };
        let received = crate::delivery::receive(&db, queue_id, &request).unwrap();
        assert_eq!(received.messages.len(), 1);

        let loaded = Index::load(&db).unwrap();
        let live = db.index();
        let (Some(loaded), Some(live)) = (loaded.queue(queue_id), live.queue(queue_id)) else {
            panic!("queue missing from an index");
        };
        assert_eq!(loaded.counts(20), live.counts(20));
        assert_eq!(loaded.counts(20), (2, 1, 0));
        assert_eq!(loaded.next_visible_at(20), Some(500));
        assert_eq!(
            loaded.fifo_runs(20, 0, 10, None, u64::MAX).0,
            live.fifo_runs(20, 0, 10, None, u64::MAX).0,
            "group a stays blocked behind its received head"
        );
        assert_eq!(loaded.groups.len(), 2);
    }

    #[test]
    fn a_moved_message_starts_over_in_its_new_queue() {
        let mut index = Index::default();
        index.add_queue(1);
        index.add_queue(2);
        if let Some(queue) = index.queue_mut(1) {
            queue.insert(7, 0, 0, Some("g"));
            queue.record_receive(7, 50);
        }
        assert!(!index.move_message(7, 1, 3, 10), "no such target");
        assert!(index.move_message(7, 1, 2, 10));
        let moved = index.queue(2).and_then(|queue| queue.get(7)).cloned();
        assert_eq!(moved.map(|entry| entry.receive_count), Some(0));
        assert_eq!(index.queue(1).map(QueueIndex::len), Some(0));
    }
}
