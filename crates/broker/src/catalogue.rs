//! The in-memory map of queues by name. Every request resolves its queue here, not in the store.
//!
//! Lock order: the catalogue's map lock is never held across an `.await`; a queue's
//! `metadata_lock` (async) may be held across store calls and is taken before the map lock.

use std::collections::BTreeMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, RwLock};

use tern_store::QueueRecord;
use tokio::sync::{Mutex, Notify};

pub struct QueueEntry {
    record: RwLock<Arc<QueueRecord>>,
    /// Woken whenever messages may have become receivable, so long polls return at once.
    pub arrivals: Notify,
    /// Serialises read-modify-write of the queue's attributes and tags.
    pub metadata_lock: Mutex<()>,
    /// When the last PurgeQueue ran (0: never since start-up); SQS allows one a minute.
    pub last_purge_at: AtomicU64,
    /// The message group the last receive stopped at (FIFO and fair queues); the next receive
    /// continues the rotation after it.
    pub group_cursor: std::sync::Mutex<Option<String>>,
}

impl QueueEntry {
    fn new(record: QueueRecord) -> Self {
        Self {
            record: RwLock::new(Arc::new(record)),
            arrivals: Notify::new(),
            metadata_lock: Mutex::new(()),
            last_purge_at: AtomicU64::new(0),
            group_cursor: std::sync::Mutex::new(None),
        }
    }

    pub fn record(&self) -> Arc<QueueRecord> {
        match self.record.read() {
            Ok(record) => Arc::clone(&record),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    pub fn replace(&self, record: QueueRecord) {
        let mut slot = match self.record.write() {
            Ok(slot) => slot,
            Err(poisoned) => poisoned.into_inner(),
        };
        *slot = Arc::new(record);
    }
}

pub struct Catalogue {
    queues: RwLock<BTreeMap<String, Arc<QueueEntry>>>,
}

impl Catalogue {
    pub fn new(records: Vec<QueueRecord>) -> Self {
        let queues = records
            .into_iter()
            .map(|record| (record.name.clone(), Arc::new(QueueEntry::new(record))))
            .collect();
        Self {
            queues: RwLock::new(queues),
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, Arc<QueueEntry>>> {
        self.queues
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<String, Arc<QueueEntry>>> {
        self.queues
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn get(&self, name: &str) -> Option<Arc<QueueEntry>> {
        self.read().get(name).cloned()
    }

    /// Adds the record unless a queue of that name is already listed; returns the listed entry.
    pub fn insert(&self, record: QueueRecord) -> Arc<QueueEntry> {
        let mut queues = self.write();
        Arc::clone(
            queues
                .entry(record.name.clone())
                .or_insert_with(|| Arc::new(QueueEntry::new(record))),
        )
    }

    /// Removes the entry only if it is still the same queue (same id).
    pub fn remove(&self, name: &str, queue_id: u64) {
        let mut queues = self.write();
        if queues
            .get(name)
            .is_some_and(|entry| entry.record().id == queue_id)
        {
            queues.remove(name);
        }
    }

    /// Names in order, filtered by prefix.
    pub fn names(&self, prefix: &str) -> Vec<String> {
        let queues = self.read();
        queues
            .range(prefix.to_owned()..)
            .map(|(name, _)| name)
            .take_while(|name| name.starts_with(prefix))
            .cloned()
            .collect()
    }

    pub fn entries(&self) -> Vec<Arc<QueueEntry>> {
        self.read().values().cloned().collect()
    }
}
