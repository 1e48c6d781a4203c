//! The single writer thread and its group-commit loop.
//!
//! Requests become jobs on a bounded channel. The thread takes whatever jobs are waiting (up to
//! [`BATCH_JOBS_MAX`]), runs each inside its own savepoint of one transaction, commits once, and
//! only then answers every job in the batch. While it sits in the commit's fsync, new jobs queue
//! up and form the next batch, so the batch size grows with load by itself.

use std::thread::JoinHandle;

use rusqlite::Connection;
use tern_store::{StoreError, StoreResult};
use tokio::sync::{mpsc, oneshot};

/// Jobs folded into one commit at most. Bounds the latency a large batch adds to its first job.
const BATCH_JOBS_MAX: usize = 512;
/// Jobs waiting for the writer at most; senders wait (asynchronously) beyond it.
const QUEUE_JOBS_MAX: usize = 8_192;

/// Called once the batch's transaction has committed (or failed to), to answer one job.
type Completion = Box<dyn FnOnce(Result<(), String>) + Send>;
type Job = Box<dyn FnOnce(&Connection) -> Completion + Send>;

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
    pub fn start(connection: Connection) -> std::io::Result<Self> {
        let (sender, receiver) = mpsc::channel(QUEUE_JOBS_MAX);
        let thread = std::thread::Builder::new()
            .name("tern-store-writer".to_owned())
            .spawn(move || run_loop(connection, receiver))?;
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
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move |connection| {
            let outcome = in_savepoint(connection, operation);
            Box::new(move |committed: Result<(), String>| {
                let result = match committed {
                    Ok(()) => outcome.map_err(StoreError::engine),
                    Err(reason) => Err(StoreError::engine(CommitFailed(reason))),
                };
                // The caller may have gone away (client disconnected); the write stands anyway.
                let _ = reply.send(result);
            })
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

fn in_savepoint<R>(
    connection: &Connection,
    operation: impl FnOnce(&Connection) -> rusqlite::Result<R>,
) -> rusqlite::Result<R> {
    connection.execute_batch("SAVEPOINT job")?;
    match operation(connection) {
        Ok(value) => {
            connection.execute_batch("RELEASE job")?;
            Ok(value)
        }
        Err(error) => {
            connection.execute_batch("ROLLBACK TO job; RELEASE job")?;
            Err(error)
        }
    }
}

fn run_loop(connection: Connection, mut receiver: mpsc::Receiver<Command>) {
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
        commit_batch(&connection, jobs);
        if let Some(done) = close_request {
            drop(connection);
            let _ = done.send(());
            return;
        }
    }
}

fn commit_batch(connection: &Connection, jobs: Vec<Job>) {
    if jobs.is_empty() {
        return;
    }
    let began = connection.execute_batch("BEGIN IMMEDIATE");
    let completions: Vec<Completion> = jobs.into_iter().map(|job| job(connection)).collect();
    let committed = began
        .and_then(|()| connection.execute_batch("COMMIT"))
        .map_err(|error| {
            tracing::error!(%error, "group commit failed");
            // Leave no transaction open for the next batch.
            let _ = connection.execute_batch("ROLLBACK");
            error.to_string()
        });
    tracing::trace!(jobs = completions.len(), "group commit");
    for completion in completions {
        completion(committed.clone());
    }
}
