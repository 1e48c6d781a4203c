//! The embedded default store: one SQLite database in WAL mode under the data directory, owned
//! by a single writer thread that fsyncs the WAL after every batch ([`wal`]).
//!
//! Why one writer: SQLite serialises writers anyway, and a single owner lets every request that
//! arrives while a commit is being fsync'd join the *next* commit. That is group commit: one
//! fsync acknowledges a whole batch of independent requests, so durability costs latency, not
//! throughput. See `docs/decisions/0001-embedded-store.md` for the measurements.
//!
//! - [`writer`]: the thread, its job queue and the batch/commit loop.
//! - [`wal`]: the fsync of the write-ahead log after each commit, and the poisoned state an
//!   fsync failure leaves.
//! - [`schema`]: tables, indexes and pragmas.
//! - [`index`]: the in-memory index of every queue's messages, rebuilt at open, through which
//!   the hot path finds its rows (SQLite is touched by primary key only).
//! - [`loader`]: that rebuild, a chunk at a time: the store serves after the first chunk and
//!   the writer loads the rest between batches.
//! - [`delivery`]: the hot path, send and receive.
//! - [`operations`]: the SQL behind the other queue methods of [`tern_store::Store`].
//! - [`topics`]: topics, subscriptions and the one-commit fan-out of a publish.
//! - [`processes`]: the process manager's state machines, executions, history, timers and
//!   tasks; one interpreter step is one job, so it commits whole.
//!
//! Invariant: no reply is sent for a job until the transaction containing it has committed; a
//! failed job is rolled back to its own savepoint and does not take its batch-mates with it.

mod delivery;
mod index;
mod loader;
mod operations;
mod processes;
mod schema;
#[cfg(test)]
mod test_support;
mod topics;
mod wal;
mod writer;

use std::fs::File;
use std::path::{Path, PathBuf};

use tern_core::receipt::Receipt;
use tern_core::time::Millis;
use tern_store::processes as processes_api;
use tern_store::*;

pub use loader::LoadBudget;
use writer::{Db, Writer};

pub const DATABASE_FILE_NAME: &str = "tern.sqlite3";
const LOCK_FILE_NAME: &str = "LOCK";

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("cannot create or open the data directory {path}: {source}")]
    DataDirectory {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the data directory {path} is in use by another Tern process")]
    Locked { path: PathBuf },
    #[error("cannot open the database: {0}")]
    Database(#[from] rusqlite::Error),
    #[error("cannot start the writer thread: {0}")]
    Thread(std::io::Error),
}

pub struct SqliteStore {
    writer: Writer,
    // Held for the store's lifetime: the OS releases the lock when the process dies, even by
    // `kill -9`, so a crashed server never blocks its own restart.
    _lock: File,
}

impl SqliteStore {
    /// Opens (creating if needed) the store under `data_directory`.
    pub fn open(data_directory: &Path) -> Result<Self, OpenError> {
        Self::open_with(data_directory, LoadBudget::default())
    }

    /// Like [`SqliteStore::open`], with the message index loaded in chunks of `budget`.
    pub fn open_with(data_directory: &Path, budget: LoadBudget) -> Result<Self, OpenError> {
        let directory_error = |source| OpenError::DataDirectory {
            path: data_directory.to_owned(),
            source,
        };
        std::fs::create_dir_all(data_directory).map_err(directory_error)?;
        let lock = File::create(data_directory.join(LOCK_FILE_NAME)).map_err(directory_error)?;
        lock.try_lock().map_err(|_| OpenError::Locked {
            path: data_directory.to_owned(),
        })?;
        let connection = schema::open(&data_directory.join(DATABASE_FILE_NAME))?;
        let writer =
            Writer::start(Db::open_with(connection, budget)?).map_err(OpenError::Thread)?;
        Ok(Self {
            writer,
            _lock: lock,
        })
    }

    /// Finishes every queued job, commits, and stops the writer thread.
    pub async fn close(&self) {
        self.writer.close().await;
    }
}

impl Store for SqliteStore {
    fn load_queues(&self) -> StoreFuture<'_, Vec<QueueRecord>> {
        Box::pin(self.writer.run(operations::load_queues))
    }

    fn create_queue(&self, queue: NewQueue) -> StoreFuture<'_, CreateQueueOutcome> {
        Box::pin(
            self.writer
                .run_indexed(move |connection| operations::create_queue(connection, &queue)),
        )
    }

    fn update_queue(&self, queue: QueueRecord) -> StoreFuture<'_, ()> {
        Box::pin(
            self.writer
                .run(move |connection| operations::update_queue(connection, &queue)),
        )
    }

    fn delete_queue(&self, queue_id: u64) -> StoreFuture<'_, bool> {
        Box::pin(
            self.writer
                .run_indexed(move |connection| operations::delete_queue(connection, queue_id)),
        )
    }

    fn send(&self, queue_id: u64, messages: Vec<NewMessage>) -> StoreFuture<'_, Vec<SentMessage>> {
        Box::pin(async move {
            self.writer
                .run_indexed(move |connection| delivery::send(connection, queue_id, &messages))
                .await?
                .ok_or(StoreError::QueueNotFound { queue_id })
        })
    }

    fn receive(&self, queue_id: u64, request: ReceiveRequest) -> StoreFuture<'_, ReceiveOutcome> {
        Box::pin(
            self.writer
                .run_answered(writer::Answer::Written, move |connection| {
                    delivery::receive(connection, queue_id, &request)
                }),
        )
    }

    fn expire_deduplication(&self, now: Millis) -> StoreFuture<'_, u64> {
        Box::pin(
            self.writer
                .run(move |connection| operations::expire_deduplication(connection, now)),
        )
    }

    fn delete_messages(
        &self,
        queue_id: u64,
        receipts: Vec<Receipt>,
    ) -> StoreFuture<'_, Vec<DeleteOutcome>> {
        Box::pin(self.writer.run_indexed(move |connection| {
            operations::delete_messages(connection, queue_id, &receipts)
        }))
    }

    fn change_visibility(
        &self,
        queue_id: u64,
        changes: Vec<VisibilityChange>,
        now: Millis,
    ) -> StoreFuture<'_, Vec<VisibilityOutcome>> {
        Box::pin(self.writer.run_indexed(move |connection| {
            operations::change_visibility(connection, queue_id, &changes, now)
        }))
    }

    fn move_messages(
        &self,
        queue_id: u64,
        destination: Option<u64>,
        max_messages: u32,
        now: Millis,
    ) -> StoreFuture<'_, u64> {
        Box::pin(self.writer.run_indexed(move |connection| {
            delivery::move_messages(connection, queue_id, destination, max_messages, now)
        }))
    }

    fn purge(&self, queue_id: u64) -> StoreFuture<'_, u64> {
        Box::pin(
            self.writer
                .run_indexed(move |connection| operations::purge(connection, queue_id)),
        )
    }

    fn expire(&self, queue_id: u64, retained_since: Millis) -> StoreFuture<'_, u64> {
        Box::pin(self.writer.run_indexed(move |connection| {
            operations::expire(connection, queue_id, retained_since)
        }))
    }

    fn counts(&self, queue_id: u64, now: Millis) -> StoreFuture<'_, QueueCounts> {
        Box::pin(
            self.writer
                .run_indexed(move |db| Ok(operations::counts(db, queue_id, now))),
        )
    }

    fn load_topics(&self) -> StoreFuture<'_, Vec<TopicRecord>> {
        Box::pin(self.writer.run(topics::load_topics))
    }

    fn load_subscriptions(&self) -> StoreFuture<'_, Vec<SubscriptionRecord>> {
        Box::pin(self.writer.run(topics::load_subscriptions))
    }

    fn create_topic(&self, topic: NewTopic) -> StoreFuture<'_, CreateTopicOutcome> {
        Box::pin(
            self.writer
                .run(move |connection| topics::create_topic(connection, &topic)),
        )
    }

    fn update_topic(&self, topic: TopicRecord) -> StoreFuture<'_, bool> {
        Box::pin(
            self.writer
                .run(move |connection| topics::update_topic(connection, &topic)),
        )
    }

    fn delete_topic(&self, topic_id: u64) -> StoreFuture<'_, bool> {
        Box::pin(
            self.writer
                .run(move |connection| topics::delete_topic(connection, topic_id)),
        )
    }

    fn create_subscription(
        &self,
        subscription: SubscriptionRecord,
        outbox: Vec<NewHttpDelivery>,
    ) -> StoreFuture<'_, CreateSubscriptionOutcome> {
        Box::pin(
            self.writer.run(move |connection| {
                topics::create_subscription(connection, &subscription, &outbox)
            }),
        )
    }

    fn update_subscription(
        &self,
        subscription: SubscriptionRecord,
        outbox: Vec<NewHttpDelivery>,
    ) -> StoreFuture<'_, bool> {
        Box::pin(
            self.writer.run(move |connection| {
                topics::update_subscription(connection, &subscription, &outbox)
            }),
        )
    }

    fn delete_subscription(
        &self,
        subscription_id: String,
        outbox: Vec<NewHttpDelivery>,
    ) -> StoreFuture<'_, bool> {
        Box::pin(self.writer.run(move |connection| {
            topics::delete_subscription(connection, &subscription_id, &outbox)
        }))
    }

    fn publish(&self, entries: Vec<PublishEntry>) -> StoreFuture<'_, Vec<PublishEntryOutcome>> {
        Box::pin(
            self.writer
                .run_indexed(move |connection| topics::publish(connection, &entries)),
        )
    }

    fn due_http_deliveries(&self, request: DueHttpDeliveries) -> StoreFuture<'_, HttpDeliveryPage> {
        Box::pin(
            self.writer
                .run(move |connection| topics::due_http_deliveries(connection, &request)),
        )
    }

    fn settle_http_delivery(
        &self,
        delivery_id: u64,
        settlement: HttpSettlement,
    ) -> StoreFuture<'_, bool> {
        // Indexed: a dead-letter settlement sends into a queue.
        Box::pin(self.writer.run_indexed(move |connection| {
            topics::settle_http_delivery(connection, delivery_id, &settlement)
        }))
    }
}

impl tern_store::processes::ProcessStore for SqliteStore {
    fn load_state_machines(&self) -> StoreFuture<'_, Vec<processes_api::StateMachineRecord>> {
        Box::pin(self.writer.run(processes::load_state_machines))
    }

    fn create_state_machine(
        &self,
        machine: processes_api::StateMachineRecord,
    ) -> StoreFuture<'_, processes_api::CreateOutcome<processes_api::StateMachineRecord>> {
        Box::pin(
            self.writer
                .run(move |connection| processes::create_state_machine(connection, &machine)),
        )
    }

    fn update_state_machine(
        &self,
        machine: processes_api::StateMachineRecord,
    ) -> StoreFuture<'_, bool> {
        Box::pin(
            self.writer
                .run(move |connection| processes::update_state_machine(connection, &machine)),
        )
    }

    fn delete_state_machine(&self, arn: String) -> StoreFuture<'_, bool> {
        Box::pin(
            self.writer
                .run(move |connection| processes::delete_state_machine(connection, &arn)),
        )
    }

    fn load_activities(&self) -> StoreFuture<'_, Vec<processes_api::ActivityRecord>> {
        Box::pin(self.writer.run(processes::load_activities))
    }

    fn create_activity(
        &self,
        activity: processes_api::ActivityRecord,
    ) -> StoreFuture<'_, processes_api::CreateOutcome<processes_api::ActivityRecord>> {
        Box::pin(
            self.writer
                .run(move |connection| processes::create_activity(connection, &activity)),
        )
    }

    fn update_activity(&self, activity: processes_api::ActivityRecord) -> StoreFuture<'_, bool> {
        Box::pin(
            self.writer
                .run(move |connection| processes::update_activity(connection, &activity)),
        )
    }

    fn delete_activity(&self, arn: String) -> StoreFuture<'_, bool> {
        Box::pin(
            self.writer
                .run(move |connection| processes::delete_activity(connection, &arn)),
        )
    }

    fn start_execution(
        &self,
        first_step: processes_api::StepCommit,
    ) -> StoreFuture<'_, processes_api::StartOutcome> {
        Box::pin(
            self.writer
                .run(move |connection| processes::start_execution(connection, &first_step)),
        )
    }

    fn commit_step(&self, step: processes_api::StepCommit) -> StoreFuture<'_, ()> {
        Box::pin(
            self.writer
                .run(move |connection| processes::commit_step(connection, &step)),
        )
    }

    fn execution(&self, arn: String) -> StoreFuture<'_, Option<processes_api::ExecutionRecord>> {
        Box::pin(
            self.writer
                .run(move |connection| processes::execution(connection, &arn)),
        )
    }

    fn list_executions(
        &self,
        query: processes_api::ExecutionQuery,
    ) -> StoreFuture<'_, Vec<processes_api::ExecutionRecord>> {
        Box::pin(
            self.writer
                .run(move |connection| processes::list_executions(connection, &query)),
        )
    }

    fn history(
        &self,
        query: processes_api::HistoryQuery,
    ) -> StoreFuture<'_, Vec<processes_api::HistoryRecord>> {
        Box::pin(
            self.writer
                .run(move |connection| processes::history(connection, &query)),
        )
    }

    fn load_running(&self) -> StoreFuture<'_, processes_api::RunningProcesses> {
        Box::pin(self.writer.run(processes::load_running))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn passes_the_conformance_suite() {
        let directory = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(directory.path()).unwrap();
        tern_store::conformance::run_all(&store).await;
        store.close().await;
    }

    #[tokio::test]
    async fn passes_the_process_conformance_suite() {
        let directory = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(directory.path()).unwrap();
        tern_store::conformance::processes::run_all(&store).await;
        store.close().await;
    }

    #[tokio::test]
    async fn a_second_process_cannot_open_the_same_directory() {
        let directory = tempfile::tempdir().unwrap();
        let _first = SqliteStore::open(directory.path()).unwrap();
        let second = SqliteStore::open(directory.path());
        assert!(matches!(second, Err(OpenError::Locked { .. })));
    }

    /// An fsync that fails poisons the store: the write it covered is refused, and so is every
    /// later one, reads and receives included, until a restart.
    #[tokio::test]
    async fn a_failed_fsync_refuses_every_later_write() {
        let directory = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(directory.path()).unwrap();
        // SQLite keeps writing to the descriptor it holds; the writer opens the log for its own
        // fsync at the first batch, and cannot any more: how an fsync failure looks from here.
        let mut wal = directory.path().join(DATABASE_FILE_NAME).into_os_string();
        wal.push("-wal");
        std::fs::remove_file(&wal).unwrap();
        let created = store
            .create_queue(NewQueue {
                name: "q".into(),
                attributes: Default::default(),
                tags: Default::default(),
                now: 1,
            })
            .await
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert!(
            created.contains("cannot fsync the write-ahead log"),
            "{created}"
        );

        let message = crate::test_support::message("m", None, 1);
        let sent = store.send(1, vec![message]).await.unwrap_err().to_string();
        assert!(sent.contains(wal::POISONED), "{sent}");
        let request = ReceiveRequest {
            max_messages: 10,
            now: 2,
            hidden_until: 3,
            ..Default::default()
        };
        let received = store.receive(1, request).await.map(|_| ()).unwrap_err();
        assert!(received.to_string().contains(wal::POISONED), "{received}");
    }

    #[tokio::test]
    async fn data_survives_reopening() {
        let directory = tempfile::tempdir().unwrap();
        let queue_id = {
            let store = SqliteStore::open(directory.path()).unwrap();
            let outcome = store
                .create_queue(NewQueue {
                    name: "durable".into(),
                    attributes: Default::default(),
                    tags: [("k".to_owned(), "v".to_owned())].into(),
                    now: 1,
                })
                .await
                .unwrap();
            let CreateQueueOutcome::Created(queue) = outcome else {
                panic!("queue existed");
            };
            let message = NewMessage {
                message_id: "m".into(),
                body: "kept".into(),
                attributes: Default::default(),
                md5_of_body: String::new(),
                md5_of_attributes: None,
                sender_id: "s".into(),
                sent_at: 1,
                visible_at: 1,
                group_id: None,
                deduplication: None,
                trace_header: None,
            };
            store.send(queue.id, vec![message]).await.unwrap();
            store.close().await;
            queue.id
        };
        let store = SqliteStore::open(directory.path()).unwrap();
        let queues = store.load_queues().await.unwrap();
        assert_eq!(queues.len(), 1);
        assert_eq!(queues[0].tags.get("k").map(String::as_str), Some("v"));
        let request = ReceiveRequest {
            max_messages: 10,
            now: 2,
            hidden_until: 3,
            retained_since: 0,
            ..Default::default()
        };
        let received = store.receive(queue_id, request).await.unwrap().messages;
        assert_eq!(received.len(), 1);
        assert_eq!(received[0].body, "kept");
    }

    #[tokio::test]
    async fn the_writer_loads_a_backlog_in_the_background() {
        let directory = tempfile::tempdir().unwrap();
        let message = |number: usize| crate::test_support::message(&number.to_string(), None, 1);
        let queue_id = {
            let store = SqliteStore::open(directory.path()).unwrap();
            let Ok(CreateQueueOutcome::Created(queue)) = store
                .create_queue(NewQueue {
                    name: "backlog".into(),
                    attributes: Default::default(),
                    tags: Default::default(),
                    now: 1,
                })
                .await
            else {
                panic!("queue not created");
            };
            for first in (0..60).step_by(10) {
                let batch = (first..first + 10).map(message).collect();
                store.send(queue.id, batch).await.unwrap();
            }
            store.close().await;
            queue.id
        };
        let budget = LoadBudget {
            first_rows: 2,
            idle_rows: 3,
            busy_rows: 1,
            ..LoadBudget::default()
        };
        let store = SqliteStore::open_with(directory.path(), budget).unwrap();
        let mut received = Vec::new();
        for _ in 0..1_000 {
            let request = ReceiveRequest {
                max_messages: 10,
                now: 2,
                hidden_until: 10_000,
                ..Default::default()
            };
            let batch = store.receive(queue_id, request).await.unwrap().messages;
            received.extend(batch.into_iter().map(|message| message.body));
            if received.len() >= 60 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        received.sort_by_key(|body| body.parse::<usize>().unwrap_or(usize::MAX));
        let expected: Vec<String> = (0..60).map(|number| number.to_string()).collect();
        assert_eq!(received, expected, "every message, once");
        store.close().await;
    }

    #[tokio::test]
    async fn a_first_release_data_directory_is_migrated_in_place() {
        let directory = tempfile::tempdir().unwrap();
        {
            // The schema as the first release wrote it, before FIFO and dead-letter columns.
            let connection =
                rusqlite::Connection::open(directory.path().join(DATABASE_FILE_NAME)).unwrap();
            connection
                .execute_batch(
                    "CREATE TABLE queues (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE,
                         attributes TEXT NOT NULL, tags TEXT NOT NULL, created_at INTEGER NOT NULL,
                         last_modified_at INTEGER NOT NULL);
                     CREATE TABLE messages (seq INTEGER PRIMARY KEY AUTOINCREMENT, queue_id INTEGER NOT NULL,
                         message_id TEXT NOT NULL, body TEXT NOT NULL, attributes TEXT,
                         md5_of_body TEXT NOT NULL, md5_of_attributes TEXT, sender_id TEXT NOT NULL,
                         sent_at INTEGER NOT NULL, visible_at INTEGER NOT NULL,
                         receive_count INTEGER NOT NULL DEFAULT 0, first_received_at INTEGER,
                         last_received_at INTEGER, receipt_token INTEGER NOT NULL DEFAULT 0);
                     INSERT INTO queues VALUES (1, 'old', '{}', '{}', 1, 1);
                     INSERT INTO messages (queue_id, message_id, body, md5_of_body, sender_id, sent_at, visible_at)
                         VALUES (1, 'm-old', 'from v1', '', 's', 1, 1);",
                )
                .unwrap();
        }
        let store = SqliteStore::open(directory.path()).unwrap();
        let request = ReceiveRequest {
            max_messages: 10,
            now: 2,
            hidden_until: 3,
            ..Default::default()
        };
        let received = store.receive(1, request).await.unwrap().messages;
        assert_eq!(received.len(), 1);
        assert_eq!(received[0].body, "from v1");
        assert_eq!(received[0].group_id, None);
    }
}
