//! The single writer thread and its group-commit loop.
//!
//! Requests become jobs on a bounded channel. The thread takes whatever jobs are waiting (up to
//! [`BATCH_JOBS_MAX`]), runs each inside its own savepoint of one transaction, commits once
//! (writing the WAL), answers the receives, fsyncs the WAL ([`crate::wal`]) and only then answers
//! every other job in the batch. While it sits in the fsync, new jobs queue up and form the next
//! batch, so the batch size grows with load by itself.
//!
//! The thread also owns the in-memory message [`Index`]: queue jobs get both through [`Db`].
//! Memory has no savepoints, so when a job fails (its savepoint rolled back) or a commit fails,
//! the index is rebuilt from the database before the next batch.
//!
//! The index loads lazily ([`crate::loader`]): the first chunk before the store opens (or before
//! the next batch, after a rebuild), the rest between batches. While rows are left, the loop
//! looks for jobs without blocking and loads a chunk when none is waiting, and a smaller one
//! after each commit, so that a steady stream of jobs does not stop the load either.

use std::cell::{RefCell, RefMut};
use std::ops::Deref;
use std::thread::JoinHandle;

use rusqlite::Connection;
use tern_store::{StoreError, StoreResult};
use tokio::sync::mpsc::error::TryRecvError;
use tokio::sync::{mpsc, oneshot};

use crate::index::Index;
use crate::loader::{self, LoadBudget, Pace};
use crate::wal::{self, Wal};

/// The writer thread's state: the connection, and the index of every queue's messages that
/// mirrors the `messages` table.
pub struct Db {
    connection: Connection,
    index: RefCell<Index>,
    budget: LoadBudget,
}

impl Db {
    #[cfg(test)]
    pub fn open(connection: Connection) -> rusqlite::Result<Self> {
        Self::open_with(connection, LoadBudget::default())
    }

    pub fn open_with(connection: Connection, budget: LoadBudget) -> rusqlite::Result<Self> {
        // Every statement of the hot path, with the multi-row variants of inserts and deletes,
        // stays prepared; rusqlite's default of 16 made the writer re-parse statements.
        connection.set_prepared_statement_cache_capacity(STATEMENT_CACHE_CAPACITY);
        let index = loader::start(&connection, &budget)?;
        Ok(Self {
            connection,
            index: RefCell::new(index),
            budget,
        })
    }

    /// Borrow it for one step at a time: a job never holds it across another call that needs it.
    pub fn index(&self) -> RefMut<'_, Index> {
        self.index.borrow_mut()
    }

    /// Makes sure the index holds message `seq` if it exists, even if the load has not reached
    /// it; for operations that name a message (by receipt).
    pub fn fault_in(&self, queue_id: u64, seq: u64) -> rusqlite::Result<()> {
        loader::fault_in(&self.connection, &mut self.index(), queue_id, seq)
    }

    /// Finishes the index's load now; for the rare operations that need every message of a
    /// queue (purge, queue deletion, message moves).
    pub fn ensure_loaded(&self) -> rusqlite::Result<()> {
        let mut index = self.index();
        if index.pending().is_some() {
            tracing::info!("loading the rest of the message index at once");
            loader::finish(&self.connection, &mut index)?;
        }
        Ok(())
    }

    pub fn is_loading(&self) -> bool {
        self.index.borrow().pending().is_some()
    }

    /// One chunk of the load; only between batches, when the table holds committed state.
    pub fn load_chunk(&self, pace: Pace) -> rusqlite::Result<()> {
        let mut index = self.index();
        loader::load_chunk(&self.connection, &mut index, &self.budget, pace)?;
        if index.pending().is_none() {
            tracing::info!("message index loaded");
        }
        Ok(())
    }

    pub(crate) fn rebuild_index(&self) {
        match loader::start(&self.connection, &self.budget) {
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

/// Called once the batch has committed and is as durable as the job asked (or failed), to answer
/// one job.
type Completion = Box<dyn FnOnce(Result<(), String>) + Send>;
/// Runs the job in its savepoint.
type Job = Box<dyn FnOnce(&Db) -> Ran + Send>;

/// What running a job left: the answer to send once the batch commits.
struct Ran {
    completion: Completion,
    succeeded: bool,
    answer: Answer,
}

/// When a committed job is answered.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// Once the WAL is fsync'd: the change survives power loss. Every write a client would call
    /// acknowledged.
    Synced,
    /// Once the commit has written the WAL, before its fsync: the change survives the process
    /// (`kill -9`) but not a power loss. Only for a receive's lease, which at-least-once delivery
    /// lets a crash undo; a receive never returns a message sent in its own batch, so what it
    /// hands out is itself on stable storage (decision 0007).
    Written,
}

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
        let wal = match db.path() {
            Some(path) if !path.is_empty() => Wal::of_database(std::path::Path::new(path)),
            _ => return Err(std::io::Error::other("the store needs a database file")),
        };
        // From here on a commit only writes the WAL; the loop fsyncs it before answering writes.
        db.pragma_update(None, "synchronous", "NORMAL")
            .map_err(std::io::Error::other)?;
        let (sender, receiver) = mpsc::channel(QUEUE_JOBS_MAX);
        let thread = std::thread::Builder::new()
            .name("tern-store-writer".to_owned())
            .spawn(move || run_loop(db, wal, receiver))?;
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
        self.run_answered(Answer::Synced, operation).await
    }

    /// Like [`Writer::run_indexed`], answered as `answer` says.
    pub async fn run_answered<R, F>(&self, answer_when: Answer, operation: F) -> StoreResult<R>
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
            Ran {
                completion,
                succeeded,
                answer: answer_when,
            }
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

fn run_loop(db: Db, mut wal: Wal, mut receiver: mpsc::Receiver<Command>) {
    // Set when a chunk failed: the loop then waits for jobs as usual and tries again after the
    // next batch, rather than retrying in a spin.
    let mut load_failed = false;
    loop {
        let first = if db.is_loading() && !load_failed {
            match receiver.try_recv() {
                Ok(command) => command,
                Err(TryRecvError::Empty) => {
                    load_failed = !load_chunk(&db, Pace::Idle);
                    continue;
                }
                Err(TryRecvError::Disconnected) => return,
            }
        } else {
            match receiver.blocking_recv() {
                Some(command) => command,
                None => return,
            }
        };
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
        commit_batch(&db, &mut wal, jobs);
        if let Some(done) = close_request {
            drop(db);
            let _ = done.send(());
            return;
        }
        load_failed = db.is_loading() && !load_chunk(&db, Pace::Busy);
    }
}

/// `false` if the chunk failed (logged).
fn load_chunk(db: &Db, pace: Pace) -> bool {
    match db.load_chunk(pace) {
        Ok(()) => true,
        Err(error) => {
            tracing::error!(%error, "cannot load the message index");
            false
        }
    }
}

/// Runs the jobs in one transaction and commits it, which writes the WAL without syncing it;
/// answers the receives, fsyncs the WAL, and answers the rest. A batch that did not commit
/// changed nothing and is answered at once.
fn commit_batch(db: &Db, wal: &mut Wal, jobs: Vec<Job>) {
    if jobs.is_empty() {
        return;
    }
    // Every message sent before this batch is on stable storage (a batch that sends ends with an
    // fsync); what this batch sends is not until its own.
    db.index().begin_batch();
    let began = execute_cached(db, "BEGIN IMMEDIATE");
    let mut synced: Vec<Completion> = Vec::with_capacity(jobs.len());
    let mut written: Vec<Completion> = Vec::new();
    let mut all_succeeded = true;
    for job in jobs {
        let ran = job(db);
        match ran.answer {
            Answer::Synced => synced.push(ran.completion),
            Answer::Written => written.push(ran.completion),
        }
        all_succeeded &= ran.succeeded;
    }
    let committed = match began {
        Ok(()) if wal.is_poisoned() => Err(wal::POISONED.to_owned()),
        Ok(()) => execute_cached(db, "COMMIT").map_err(|error| error.to_string()),
        Err(error) => Err(error.to_string()),
    };
    if let Err(reason) = &committed {
        tracing::error!(%reason, "group commit failed");
        // Leave no transaction open for the next batch.
        let _ = db.execute_batch("ROLLBACK");
    }
    if !all_succeeded || committed.is_err() {
        // Some change the index already shows was rolled back.
        db.rebuild_index();
    }
    tracing::trace!(jobs = synced.len() + written.len(), "group commit");
    if let Err(reason) = committed {
        for completion in written.into_iter().chain(synced) {
            completion(Err(reason.clone()));
        }
        return;
    }
    for completion in written {
        completion(Ok(()));
    }
    if synced.is_empty() {
        // Only receives: their leases may wait for the next batch's fsync.
        return;
    }
    let durable = wal.sync();
    for completion in synced {
        completion(durable.clone());
    }
}
