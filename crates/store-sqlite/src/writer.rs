//! The single writer thread and its group-commit loop.
//!
//! Requests become jobs on a bounded channel. The thread takes whatever jobs are waiting (up to
//! [`BATCH_JOBS_MAX`]), runs each inside its own savepoint of one transaction, commits once, and
//! only then answers every job in the batch. While it sits in the commit's fsync, new jobs queue
//! up and form the next batch, so the batch size grows with load by itself.
//!
//! The thread also owns the in-memory message [`Index`]: queue jobs get both through [`Db`].
//! Memory has no savepoints, so when a job fails (its savepoint rolled back) or a commit fails,
//! the index is rebuilt from the database before the next batch.

use std::cell::{RefCell, RefMut};
use std::ops::Deref;
use std::thread::JoinHandle;

use rusqlite::Connection;
use tern_store::{StoreError, StoreResult};
use tokio::sync::{mpsc, oneshot};

use crate::index::Index;

/// The writer thread's state: the connection, and the index of every queue's messages that
/// mirrors the `messages` table.
pub struct Db {
    connection: Connection,
    index: RefCell<Index>,
}

impl Db {
    pub fn open(connection: Connection) -> rusqlite::Result<Self> {
        // Every statement of the hot path, with the multi-row variants of inserts and deletes,
        // stays prepared; rusqlite's default of 16 made the writer re-parse statements.
        connection.set_prepared_statement_cache_capacity(STATEMENT_CACHE_CAPACITY);
        let index = Index::load(&connection)?;
        Ok(Self {
            connection,
            index: RefCell::new(index),
        })
    }

    /// Borrow it for one step at a time: a job never holds it across another call that needs it.
    pub fn index(&self) -> RefMut<'_, Index> {
        self.index.borrow_mut()
    }

    fn rebuild_index(&self) {
        match Index::load(&self.connection) {
            Ok(index) => *self.index.borrow_mut() = index,
            Err(error) => tracing::error!(%error, "cannot rebuild the message index"),
        }
    }
}

impl Deref for Db {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        &self.connection
    }
}

/// Jobs folded into one commit at most. Bounds the latency a large batch adds to its first job.
const BATCH_JOBS_MAX: usize = 512;
/// Prepared statements kept by the writer's connection.
const STATEMENT_CACHE_CAPACITY: usize = 256;
/// Jobs waiting for the writer at most; senders wait (asynchronously) beyond it.
const QUEUE_JOBS_MAX: usize = 8_192;

/// Called once the batch's transaction has committed (or failed to), to answer one job.
type Completion = Box<dyn FnOnce(Result<(), String>) + Send>;
/// Runs the job in its savepoint; `false` in the second place if the job failed.
type Job = Box<dyn FnOnce(&Db) -> (Completion, bool) + Send>;

enum Command {
    Job(Job),
    Close(oneshot::Sender<()>),
}

#[derive(Debug, thiserror::Error)]
#[error("the transaction did not commit: {0}")]
struct CommitFailed(String);

pub struct Writer {
    sender: mpsc::Sender<Command>,
    thread: std::sync::Mutex<Option<JoinHandle<()>>>,
}

impl Writer {
    pub fn start(db: Db) -> std::io::Result<Self> {
        let (sender, receiver) = mpsc::channel(QUEUE_JOBS_MAX);
        let thread = std::thread::Builder::new()
            .name("tern-store-writer".to_owned())
            .spawn(move || run_loop(db, receiver))?;
        Ok(Self {
            sender,
            thread: std::sync::Mutex::new(Some(thread)),
        })
    }

    /// Runs `operation` in the next group commit; resolves once that commit is durable.
    pub async fn run<R, F>(&self, operation: F) -> StoreResult<R>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<R> + Send + 'static,
    {
        self.run_indexed(move |db: &Db| operation(db)).await
    }

    /// Like [`Writer::run`], for operations that read or change the message index.
    pub async fn run_indexed<R, F>(&self, operation: F) -> StoreResult<R>
    where
        R: Send + 'static,
        F: FnOnce(&Db) -> rusqlite::Result<R> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move |db| {
            let outcome = in_savepoint(db, operation);
            let succeeded = outcome.is_ok();
            let completion: Completion = Box::new(move |committed: Result<(), String>| {
                let result = match committed {
                    Ok(()) => outcome.map_err(StoreError::engine),
                    Err(reason) => Err(StoreError::engine(CommitFailed(reason))),
                };
                // The caller may have gone away (client disconnected); the write stands anyway.
                let _ = reply.send(result);
            });
            (completion, succeeded)
        });
        self.sender
            .send(Command::Job(job))
            .await
            .map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }

    pub async fn close(&self) {
        let (done, finished) = oneshot::channel();
        if self.sender.send(Command::Close(done)).await.is_ok() {
            let _ = finished.await;
        }
        let thread = self.thread.lock().ok().and_then(|mut thread| thread.take());
        if let Some(thread) = thread {
            // The loop has already returned; joining only reaps the thread.
            let _ = thread.join();
        }
    }
}

/// Runs a statement that takes no parameters from the statement cache: parsing `SAVEPOINT` and
/// `RELEASE` anew for every job was a measurable share of the writer's time.
fn execute_cached(connection: &Connection, sql: &str) -> rusqlite::Result<()> {
    connection.prepare_cached(sql)?.execute([])?;
    Ok(())
}

fn in_savepoint<R>(
    db: &Db,
    operation: impl FnOnce(&Db) -> rusqlite::Result<R>,
) -> rusqlite::Result<R> {
    execute_cached(db, "SAVEPOINT job")?;
    match operation(db) {
        Ok(value) => {
            execute_cached(db, "RELEASE job")?;
            Ok(value)
        }
        Err(error) => {
            execute_cached(db, "ROLLBACK TO job")?;
            execute_cached(db, "RELEASE job")?;
            Err(error)
        }
    }
}

fn run_loop(db: Db, mut receiver: mpsc::Receiver<Command>) {
    while let Some(first) = receiver.blocking_recv() {
        let mut jobs = Vec::new();
        let mut close_request = None;
        match first {
            Command::Job(job) => jobs.push(job),
            Command::Close(done) => close_request = Some(done),
        }
        while close_request.is_none() && jobs.len() < BATCH_JOBS_MAX {
            match receiver.try_recv() {
                Ok(Command::Job(job)) => jobs.push(job),
                Ok(Command::Close(done)) => close_request = Some(done),
                Err(_) => break,
            }
        }
        commit_batch(&db, jobs);
        if let Some(done) = close_request {
            drop(db);
            let _ = done.send(());
            return;
        }
    }
}

fn commit_batch(db: &Db, jobs: Vec<Job>) {
    if jobs.is_empty() {
        return;
    }
    let began = execute_cached(db, "BEGIN IMMEDIATE");
    let mut completions: Vec<Completion> = Vec::with_capacity(jobs.len());
    let mut all_succeeded = true;
    for job in jobs {
        let (completion, succeeded) = job(db);
        completions.push(completion);
        all_succeeded &= succeeded;
    }
    let committed = began
        .and_then(|()| execute_cached(db, "COMMIT"))
        .map_err(|error| {
            tracing::error!(%error, "group commit failed");
            // Leave no transaction open for the next batch.
            let _ = db.execute_batch("ROLLBACK");
            error.to_string()
        });
    if !all_succeeded || committed.is_err() {
        // Some change the index already shows was rolled back.
        db.rebuild_index();
    }
    tracing::trace!(jobs = completions.len(), "group commit");
    for completion in completions {
        completion(committed.clone());
    }
}
