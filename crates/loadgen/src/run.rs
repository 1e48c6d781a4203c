//! Before and after a run: create (or find) the queue, optionally purge it, optionally delete it.
//! Also the bounded error log every task reports to.

use std::fmt::Display;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};

use crate::client::{Connection, Endpoint};
use crate::config::Settings;
use crate::wire::{self, Action, CreateQueueReply, ErrorReply};

/// What every task of a run shares.
pub struct Run {
    pub settings: Settings,
    pub endpoint: Arc<Endpoint>,
    /// Stamped into every body, so leftovers of other runs are told apart.
    pub run_id: u32,
    pub queue_name: String,
    pub queue_url: Arc<str>,
}

impl Run {
    /// Resolves the endpoint and creates the queue (CreateQueue returns the URL of an existing
    /// queue of that name), purging it if asked.
    pub async fn prepare(settings: Settings) -> Result<Run> {
        let endpoint =
            Arc::new(Endpoint::resolve(&settings.endpoint, settings.credentials.clone()).await?);
        let run_id = uuid::Uuid::new_v4().as_u128() as u32;
        let queue_name = match &settings.queue {
            Some(name) => name.clone(),
            None => format!("loadgen-{run_id:08x}"),
        };
        let mut connection = Connection::open(endpoint.clone())
            .await
            .with_context(|| format!("cannot reach {}", endpoint.url))?;
        let reply = connection
            .call(Action::CreateQueue, wire::queue_name_body(&queue_name))
            .await?;
        if !reply.status.is_success() {
            bail!(
                "CreateQueue {queue_name}: {} {}",
                reply.status,
                ErrorReply::describe(&reply.body)
            );
        }
        let created: CreateQueueReply =
            serde_json::from_slice(&reply.body).context("CreateQueue reply has no QueueUrl")?;
        if settings.purge {
            let reply = connection
                .call(Action::PurgeQueue, wire::queue_url_body(&created.queue_url))
                .await?;
            if !reply.status.is_success() {
                // AWS allows one purge a minute; a refused purge should not stop the run.
                log_error(format_args!(
                    "PurgeQueue: {} {}",
                    reply.status,
                    ErrorReply::describe(&reply.body)
                ));
            }
        }
        Ok(Run {
            settings,
            endpoint,
            run_id,
            queue_name,
            queue_url: created.queue_url.into(),
        })
    }

    /// Deletes the queue if asked to; failures are logged, not fatal (the figures are in).
    pub async fn finish(&self) {
        if !self.settings.delete_queue {
            return;
        }
        let result = async {
            let mut connection = Connection::open(self.endpoint.clone()).await?;
            let reply = connection
                .call(Action::DeleteQueue, wire::queue_url_body(&self.queue_url))
                .await?;
            if !reply.status.is_success() {
                bail!("{} {}", reply.status, ErrorReply::describe(&reply.body));
            }
            Ok(())
        };
        if let Err(error) = result.await {
            log_error(format_args!("DeleteQueue {}: {error:#}", self.queue_name));
        }
    }

    /// Opens `count` connections up front, so connecting is not part of the measured time.
    pub async fn connections(&self, count: usize) -> Result<Vec<Connection>> {
        let mut connections = Vec::with_capacity(count);
        for _ in 0..count {
            connections.push(Connection::open(self.endpoint.clone()).await?);
        }
        Ok(connections)
    }
}

/// Most errors written to stderr per run; the rest are only counted.
const ERRORS_LOGGED_MAX: u64 = 20;

static ERRORS_LOGGED: AtomicU64 = AtomicU64::new(0);

/// Writes an error to stderr, up to `ERRORS_LOGGED_MAX` per run (stdout is kept for the report).
pub fn log_error(error: impl Display) {
    let logged = ERRORS_LOGGED.fetch_add(1, Ordering::Relaxed);
    if logged < ERRORS_LOGGED_MAX {
        eprintln!("loadgen: {error}");
    } else if logged == ERRORS_LOGGED_MAX {
        eprintln!("loadgen: further errors are counted, not shown");
    }
}

/// Wall-clock time as unix nanoseconds (what the sequence header carries).
pub fn unix_now_ns() -> u64 {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO);
    u64::try_from(since_epoch.as_nanos()).unwrap_or(u64::MAX)
}
