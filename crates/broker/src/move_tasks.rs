//! Message move tasks: StartMessageMoveTask, ListMessageMoveTasks, CancelMessageMoveTask.
//!
//! A task drains a dead-letter queue back to each message's source queue (or to one chosen
//! queue) at an optional rate, in small store steps so that it never holds the writer long.
//! Every step is durable; the task's own bookkeeping (status, counters) lives in memory and does
//! not survive a restart — the messages it moved do.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use tern_core::arn::QueueArn;
use tern_core::time::Millis;
use tern_core::{ErrorCode, SqsError};

use crate::{Broker, store_error};

pub const MESSAGES_PER_SECOND_MAX: u32 = 500;
/// Messages one step moves when no rate is set.
const STEP_MESSAGES_MAX: u32 = 100;
/// Finished tasks remembered per source queue, newest first.
const HISTORY_PER_SOURCE_MAX: usize = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MoveTaskState {
    Running,
    Completed,
    Cancelling,
    Cancelled,
    Failed,
}

impl MoveTaskState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "RUNNING",
            Self::Completed => "COMPLETED",
            Self::Cancelling => "CANCELLING",
            Self::Cancelled => "CANCELLED",
            Self::Failed => "FAILED",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MoveTaskReport {
    /// Present only while the task is running, as in SQS.
    pub task_handle: Option<String>,
    pub status: MoveTaskState,
    pub source_arn: String,
    pub destination_arn: Option<String>,
    pub max_messages_per_second: Option<u32>,
    pub messages_moved: u64,
    pub messages_to_move: u64,
    pub failure_reason: Option<String>,
    pub started_at: Millis,
}

pub(crate) struct MoveTask {
    handle: String,
    source_arn: String,
    destination_arn: Option<String>,
    max_messages_per_second: Option<u32>,
    messages_to_move: u64,
    started_at: Millis,
    moved: AtomicU64,
    cancel_requested: AtomicBool,
    finished: Mutex<Option<(MoveTaskState, Option<String>)>>,
}

impl MoveTask {
    fn state(&self) -> (MoveTaskState, Option<String>) {
        let finished = self
            .finished
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match &*finished {
            Some(outcome) => outcome.clone(),
            None if self.cancel_requested.load(Ordering::SeqCst) => {
                (MoveTaskState::Cancelling, None)
            }
            None => (MoveTaskState::Running, None),
        }
    }

    fn finish(&self, state: MoveTaskState, reason: Option<String>) {
        let mut finished = self
            .finished
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *finished = Some((state, reason));
    }

    fn report(&self) -> MoveTaskReport {
        let (status, failure_reason) = self.state();
        MoveTaskReport {
            task_handle: (status == MoveTaskState::Running).then(|| self.handle.clone()),
            status,
            source_arn: self.source_arn.clone(),
            destination_arn: self.destination_arn.clone(),
            max_messages_per_second: self.max_messages_per_second,
            messages_moved: self.moved.load(Ordering::SeqCst),
            messages_to_move: self.messages_to_move,
            failure_reason,
            started_at: self.started_at,
        }
    }
}

/// Tasks by source queue name, newest first.
#[derive(Default)]
pub(crate) struct MoveTasks {
    by_source: Mutex<BTreeMap<String, Vec<Arc<MoveTask>>>>,
}

impl MoveTasks {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Vec<Arc<MoveTask>>>> {
        self.by_source
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn not_found(parameter: &str) -> SqsError {
    SqsError::new(
        ErrorCode::ResourceNotFound,
        format!("The resource that you specified for the {parameter} parameter doesn't exist."),
    )
}

impl Broker {
    fn queue_by_arn(&self, arn: &str, parameter: &str) -> Result<QueueArn, SqsError> {
        QueueArn::parse(arn)
            .filter(|parsed| parsed.account_id == self.account_id)
            .filter(|parsed| self.catalogue.get(&parsed.queue_name).is_some())
            .ok_or_else(|| not_found(parameter))
    }

    pub async fn start_message_move_task(
        &self,
        source_arn: &str,
        destination_arn: Option<&str>,
        max_messages_per_second: Option<u32>,
    ) -> Result<String, SqsError> {
        let source = self.queue_by_arn(source_arn, "SourceArn")?;
        let destination = destination_arn
            .map(|arn| self.queue_by_arn(arn, "DestinationArn"))
            .transpose()?;
        if let Some(rate) = max_messages_per_second
            && !(1..=MESSAGES_PER_SECOND_MAX).contains(&rate)
        {
            return Err(SqsError::invalid_parameter(
                "MaxNumberOfMessagesPerSecond",
                rate,
                "MaxNumberOfMessagesPerSecond must be between 1 and 500.",
            ));
        }
        if self
            .dead_letter_source_queues(&source.queue_name, None, None)?
            .names
            .is_empty()
        {
            return Err(SqsError::invalid_parameter(
                "SourceArn",
                source_arn,
                "Source queue must be configured as a Dead Letter Queue.",
            ));
        }
        let source_record = self.queue(&source.queue_name)?;
        let destination_id = match &destination {
            Some(destination) => Some(self.queue(&destination.queue_name)?.id),
            None => None,
        };
        let now = self.now();
        let counts = self
            .store
            .counts(source_record.id, now)
            .await
            .map_err(store_error)?;
        let task = Arc::new(MoveTask {
            handle: URL_SAFE_NO_PAD.encode(format!("{source_arn}|{}", uuid::Uuid::new_v4())),
            source_arn: source_arn.to_owned(),
            destination_arn: destination_arn.map(str::to_owned),
            max_messages_per_second,
            messages_to_move: counts.visible,
            started_at: now,
            moved: AtomicU64::new(0),
            cancel_requested: AtomicBool::new(false),
            finished: Mutex::new(None),
        });
        {
            let mut tasks = self.move_tasks.lock();
            let history = tasks.entry(source.queue_name.clone()).or_default();
            let active = |task: &Arc<MoveTask>| {
                matches!(
                    task.state().0,
                    MoveTaskState::Running | MoveTaskState::Cancelling
                )
            };
            if history.iter().any(active) {
                return Err(SqsError::invalid_parameter(
                    "SourceArn",
                    source_arn,
                    "There is already a message move task running for this queue.",
                ));
            }
            history.insert(0, Arc::clone(&task));
            history.truncate(HISTORY_PER_SOURCE_MAX);
        }
        let handle = task.handle.clone();
        tokio::spawn(drive(
            self.myself.clone(),
            task,
            source_record.id,
            destination_id,
        ));
        Ok(handle)
    }

    pub fn list_message_move_tasks(
        &self,
        source_arn: &str,
        max_results: Option<u32>,
    ) -> Result<Vec<MoveTaskReport>, SqsError> {
        let source = self.queue_by_arn(source_arn, "SourceArn")?;
        let limit = max_results.unwrap_or(1);
        if !(1..=10).contains(&limit) {
            return Err(SqsError::invalid_parameter(
                "MaxResults",
                limit,
                "MaxResults must be between 1 and 10.",
            ));
        }
        let tasks = self.move_tasks.lock();
        Ok(tasks
            .get(&source.queue_name)
            .map(|history| {
                history
                    .iter()
                    .take(limit as usize)
                    .map(|task| task.report())
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Asks a running task to stop after its current step; returns what it has moved so far.
    pub fn cancel_message_move_task(&self, task_handle: &str) -> Result<u64, SqsError> {
        let tasks = self.move_tasks.lock();
        let task = tasks
            .values()
            .flatten()
            .find(|task| task.handle == task_handle)
            .ok_or_else(|| not_found("TaskHandle"))?;
        if task.state().0 != MoveTaskState::Running {
            return Err(SqsError::invalid_parameter(
                "TaskHandle",
                task_handle,
                "Only a running task can be cancelled.",
            ));
        }
        task.cancel_requested.store(true, Ordering::SeqCst);
        Ok(task.moved.load(Ordering::SeqCst))
    }
}

async fn drive(
    broker: Weak<Broker>,
    task: Arc<MoveTask>,
    source_id: u64,
    destination_id: Option<u64>,
) {
    let step = task
        .max_messages_per_second
        .map_or(STEP_MESSAGES_MAX, |rate| rate.min(STEP_MESSAGES_MAX));
    loop {
        let Some(broker) = broker.upgrade() else {
            return;
        };
        if task.cancel_requested.load(Ordering::SeqCst) || broker.is_shutting_down() {
            task.finish(MoveTaskState::Cancelled, None);
            return;
        }
        let moved = match broker
            .store
            .move_messages(source_id, destination_id, step, broker.now())
            .await
        {
            Ok(moved) => moved,
            Err(error) => {
                task.finish(MoveTaskState::Failed, Some(error.to_string()));
                return;
            }
        };
        task.moved.fetch_add(moved, Ordering::SeqCst);
        if moved > 0 {
            // Destinations may have long polls waiting.
            for entry in broker.catalogue.entries() {
                entry.arrivals.notify_waiters();
            }
        }
        if moved < u64::from(step) {
            task.finish(MoveTaskState::Completed, None);
            return;
        }
        drop(broker);
        if let Some(rate) = task.max_messages_per_second {
            tokio::time::sleep(Duration::from_secs_f64(f64::from(step) / f64::from(rate))).await;
        } else {
            tokio::task::yield_now().await;
        }
    }
}
