//! The process manager: Step Functions-compatible state machines whose executions are stored
//! like messages and survive restarts. It drives the pure interpreter in `tern-asl`, persists
//! each of its steps in one commit, and performs what the steps ask for (tasks, timers).
//!
//! A tour:
//!
//! - [`Engine`]: the entry point, owning the in-memory catalogue of state machines and
//!   activities and the set of running executions.
//! - `catalogue`: state machines, activities, tags, definition validation.
//! - `executions`: start (also synchronous and idempotent by name), stop, describe, list,
//!   history, redrive.
//! - `runner`: one actor per running execution: applies events through the interpreter one at a
//!   time, commits the step, then performs its effects.
//! - `callbacks`: `SendTaskSuccess`/`Failure`/`Heartbeat` and `GetActivityTask` long polls.
//! - `integrations`: what a Task state's resource does — SQS and SNS through the broker,
//!   activities, HTTP, Lambda functions mapped to HTTP endpoints, nested executions.
//! - `recovery`: reloads running executions at start-up, re-arms their timers and re-dispatches
//!   tasks that never reached their integration.
//! - [`arn`], [`errors`].
//!
//! Durability: an event's step is committed before any of its effects is performed, so a crash
//! loses at most effects that the restart performs again (a task recorded as scheduled but not
//! started is dispatched again: at-least-once). Task tokens are stored with their tasks and stay
//! valid across restarts.
//!
//! Time: every delay the interpreter asks for (Wait, Retry intervals, timeouts, heartbeats) is
//! multiplied by [`EngineConfig::time_scale`], so tests of long-running machines run fast.
//!
//! Architecture invariant: no HTTP server and no wire formats here (the HTTP *client* of the
//! `http:invoke` and Lambda integrations is an integration, not a front end); inputs are typed,
//! errors are [`SfnError`]s.

pub mod arn;
mod callbacks;
mod catalogue;
pub mod errors;
mod executions;
mod integrations;
mod recovery;
mod runner;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};

use serde_json::Value;
use tern_broker::Broker;
use tern_core::time::{Clock, Millis};
use tern_store::processes::{ActivityRecord, ProcessStore, StateMachineRecord};
use tokio::sync::Notify;

pub use callbacks::{ACTIVITY_POLL_MAX, ActivityTask};
pub use catalogue::{
    ActivityPage, CreateStateMachine, MachinePage, MachineUpdate, ValidationOutcome,
};
pub use errors::{SfnError, SfnErrorCode};
pub use executions::{
    ExecutionDescription, ExecutionPage, HistoryPage, HistoryRequest, ListExecutions,
    StartExecution, StartedExecution,
};
pub use tern_store::processes::{ExecutionRecord, ExecutionStatus, HistoryRecord};

use runner::Runner;

/// How the engine runs.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub account_id: String,
    /// Multiplies every delay: `0.01` turns a one-hour Wait into 36 seconds. Must be > 0.
    pub time_scale: f64,
    /// Lambda function name → HTTP(S) endpoint that receives its invocations as POSTs.
    pub lambda_endpoints: BTreeMap<String, String>,
    /// The client `http:invoke` and Lambda functions call out through (the server shares its
    /// own, which trusts `--extra-ca-file`); `None`: one trusting the public web PKI only.
    pub outbound: Option<tern_outbound::Client>,
}

impl Default for EngineConfig {
    fn default() -> EngineConfig {
        EngineConfig {
            account_id: "000000000000".to_owned(),
            time_scale: 1.0,
            lambda_endpoints: BTreeMap::new(),
            outbound: None,
        }
    }
}

/// A pending task a token names.
#[derive(Debug, Clone)]
struct TaskRef {
    execution_arn: String,
    task_id: u64,
    parameters: Value,
    resource: String,
}

struct ActivityEntry {
    record: ActivityRecord,
    /// Tokens of tasks waiting for a worker, oldest first. Cancelled ones are skipped lazily.
    queue: VecDeque<String>,
    arrivals: Arc<Notify>,
}

pub struct Engine {
    store: Arc<dyn ProcessStore>,
    broker: Arc<Broker>,
    clock: Arc<dyn Clock>,
    config: EngineConfig,
    /// Serialises catalogue changes (held across store calls); taken before any map lock.
    admin_lock: tokio::sync::Mutex<()>,
    machines: Mutex<BTreeMap<String, StateMachineRecord>>,
    activities: Mutex<BTreeMap<String, ActivityEntry>>,
    /// Parsed definitions by machine ARN, with the text they were parsed from.
    definitions: Mutex<HashMap<String, (String, Arc<tern_asl::definition::Definition>)>>,
    /// Running executions by ARN (STANDARD and EXPRESS).
    running: Mutex<HashMap<String, Arc<Runner>>>,
    /// Task token → the pending task it belongs to.
    tokens: Mutex<HashMap<String, TaskRef>>,
    http: integrations::http::HttpClient,
    shutting_down: AtomicBool,
    shutdown: Notify,
    myself: Weak<Engine>,
}

impl Engine {
    /// Loads the catalogue and every running execution, then resumes them.
    pub async fn start(
        store: Arc<dyn ProcessStore>,
        broker: Arc<Broker>,
        clock: Arc<dyn Clock>,
        config: EngineConfig,
    ) -> Result<Arc<Engine>, SfnError> {
        let machines = store
            .load_state_machines()
            .await
            .map_err(errors::store_error)?;
        let activities = store.load_activities().await.map_err(errors::store_error)?;
        let outbound = match &config.outbound {
            Some(client) => client.clone(),
            None => tern_outbound::Client::new(Vec::new())
                .map_err(|error| SfnError::new(SfnErrorCode::InternalError, error.to_string()))?,
        };
        let engine = Arc::new_cyclic(|myself| Engine {
            store,
            broker,
            clock,
            config,
            admin_lock: tokio::sync::Mutex::new(()),
            machines: Mutex::new(
                machines
                    .into_iter()
                    .map(|record| (record.arn.clone(), record))
                    .collect(),
            ),
            activities: Mutex::new(
                activities
                    .into_iter()
                    .map(|record| {
                        let entry = ActivityEntry {
                            record: record.clone(),
                            queue: VecDeque::new(),
                            arrivals: Arc::new(Notify::new()),
                        };
                        (record.arn, entry)
                    })
                    .collect(),
            ),
            definitions: Mutex::new(HashMap::new()),
            running: Mutex::new(HashMap::new()),
            tokens: Mutex::new(HashMap::new()),
            http: integrations::http::HttpClient::new(outbound),
            shutting_down: AtomicBool::new(false),
            shutdown: Notify::new(),
            myself: myself.clone(),
        });
        recovery::resume(&engine).await?;
        Ok(engine)
    }

    /// Ends activity long polls and stops dispatching new work; executions stay stored and
    /// resume at the next start.
    pub fn begin_shutdown(&self) {
        self.shutting_down.store(true, Ordering::SeqCst);
        self.shutdown.notify_waiters();
        for entry in lock(&self.activities).values() {
            entry.arrivals.notify_waiters();
        }
    }

    fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::SeqCst)
    }

    fn now(&self) -> Millis {
        self.clock.now_millis()
    }

    fn now_ms(&self) -> i64 {
        i64::try_from(self.now()).unwrap_or(i64::MAX)
    }

    /// The moment a delay the interpreter asked for ends, after time scaling.
    fn scaled_due(&self, now_ms: i64, at_ms: i64) -> i64 {
        scaled_due(now_ms, at_ms, self.config.time_scale)
    }

    fn runner(&self, execution_arn: &str) -> Option<Arc<Runner>> {
        lock(&self.running).get(execution_arn).cloned()
    }
}

/// `now + (at - now) × scale`: a past moment stays "at once", a far one stays far (capped well
/// within `i64`).
fn scaled_due(now_ms: i64, at_ms: i64, time_scale: f64) -> i64 {
    let delay = at_ms.saturating_sub(now_ms).max(0) as f64 * time_scale;
    now_ms.saturating_add(delay.min(1e15) as i64)
}

/// A poisoned lock only means another thread panicked mid-update of plain maps; the data is
/// still usable, so requests go on rather than panic in turn.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests;
