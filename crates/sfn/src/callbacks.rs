//! Callbacks: `SendTaskSuccess`, `SendTaskFailure`, `SendTaskHeartbeat` (by task token), and
//! `GetActivityTask`, the activity workers' long poll.
//!
//! A poller registers on the activity's `Notify` *before* it looks at the queue, so a task that
//! arrives between the look and the wait is never missed. Handing a task to a worker is a step
//! (`ActivityStarted`) committed before the reply, so a restart never hands it out again.

use std::time::Duration;

use serde_json::Value;
use tern_asl::interpreter::Event;

use crate::errors::{SfnError, SfnErrorCode};
use crate::executions::{PAYLOAD_BYTES_MAX, check_error_and_cause};
use crate::runner::DeliverError;
use crate::{Engine, TaskRef, lock};

/// AWS's limit on a task token's length.
pub const TOKEN_CHARACTERS_MAX: usize = 1024;
/// `GetActivityTask` waits up to 60 seconds, as in AWS.
pub const ACTIVITY_POLL_MAX: Duration = Duration::from_secs(60);
const WORKER_NAME_CHARACTERS_MAX: usize = 80;

/// A task handed to an activity worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityTask {
    pub task_token: String,
    pub input: String,
}

fn task_gone() -> SfnError {
    SfnError::new(
        SfnErrorCode::TaskTimedOut,
        "Task Timed Out: 'Provided task does not exist anymore'",
    )
}

impl Engine {
    /// The pending task a token names, with AWS's errors for malformed and stale tokens.
    fn task_of(&self, token: &str) -> Result<TaskRef, SfnError> {
        let length = token.chars().count();
        if length == 0 || length > TOKEN_CHARACTERS_MAX {
            return Err(SfnError::validation(format!(
                "1 validation error detected: Value at 'taskToken' failed to satisfy constraint: Member must have length between 1 and {TOKEN_CHARACTERS_MAX}"
            )));
        }
        if let Some(task) = lock(&self.tokens).get(token) {
            return Ok(task.clone());
        }
        // Tokens Tern issues are `UUID-N`; anything else was never a token.
        let ours = token
            .rsplit_once('-')
            .is_some_and(|(uuid, n)| uuid.len() == 36 && n.bytes().all(|b| b.is_ascii_digit()));
        if ours {
            Err(task_gone())
        } else {
            Err(SfnError::new(SfnErrorCode::InvalidToken, "Invalid token"))
        }
    }

    async fn answer(&self, task: TaskRef, event: Event) -> Result<(), SfnError> {
        match self
            .deliver(&task.execution_arn, vec![event], Vec::new())
            .await
        {
            Ok(()) => Ok(()),
            Err(DeliverError::NotRunning | DeliverError::Stale) => Err(task_gone()),
            Err(DeliverError::Store(error)) => Err(error),
        }
    }

    pub async fn send_task_success(&self, token: &str, output: &str) -> Result<(), SfnError> {
        let task = self.task_of(token)?;
        if output.len() > PAYLOAD_BYTES_MAX {
            return Err(SfnError::validation(format!(
                "1 validation error detected: Value at 'output' failed to satisfy constraint: Member must have length less than or equal to {PAYLOAD_BYTES_MAX}"
            )));
        }
        let output: Value = serde_json::from_str(output).map_err(|error| {
            SfnError::new(
                SfnErrorCode::InvalidOutput,
                format!("Invalid Output: '{error}'"),
            )
        })?;
        let event = Event::TaskSucceeded {
            task_id: task.task_id,
            output,
        };
        self.answer(task, event).await
    }

    pub async fn send_task_failure(
        &self,
        token: &str,
        error: Option<String>,
        cause: Option<String>,
    ) -> Result<(), SfnError> {
        check_error_and_cause(error.as_deref(), cause.as_deref())?;
        let task = self.task_of(token)?;
        let event = Event::TaskFailed {
            task_id: task.task_id,
            error: error.unwrap_or_default(),
            cause: cause.unwrap_or_default(),
        };
        self.answer(task, event).await
    }

    pub async fn send_task_heartbeat(&self, token: &str) -> Result<(), SfnError> {
        let task = self.task_of(token)?;
        let event = Event::TaskHeartbeat {
            task_id: task.task_id,
        };
        match self
            .deliver(&task.execution_arn, vec![event], Vec::new())
            .await
        {
            Ok(()) => Ok(()),
            // A task without HeartbeatSeconds has no timer to renew; it is still alive.
            Err(DeliverError::Stale) if lock(&self.tokens).contains_key(token) => Ok(()),
            Err(DeliverError::NotRunning | DeliverError::Stale) => Err(task_gone()),
            Err(DeliverError::Store(error)) => Err(error),
        }
    }

    /// Waits up to `wait` for a task of the activity. `None`: nothing arrived in time (or the
    /// server is shutting down).
    pub async fn get_activity_task(
        &self,
        activity_arn: &str,
        worker_name: Option<String>,
        wait: Duration,
    ) -> Result<Option<ActivityTask>, SfnError> {
        crate::arn::expect(activity_arn, crate::arn::ArnKind::Activity)?;
        if worker_name
            .as_ref()
            .is_some_and(|name| name.chars().count() > WORKER_NAME_CHARACTERS_MAX)
        {
            return Err(SfnError::validation(format!(
                "1 validation error detected: Value at 'workerName' failed to satisfy constraint: Member must have length less than or equal to {WORKER_NAME_CHARACTERS_MAX}"
            )));
        }
        let deadline = tokio::time::Instant::now() + wait.min(ACTIVITY_POLL_MAX);
        loop {
            let arrivals = lock(&self.activities)
                .get(activity_arn)
                .map(|entry| entry.arrivals.clone())
                .ok_or_else(|| SfnError::activity_not_found(activity_arn))?;
            let notified = arrivals.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.is_shutting_down() {
                return Ok(None);
            }
            while let Some((token, task)) = self.next_activity_task(activity_arn) {
                let event = Event::TaskStarted {
                    task_id: task.task_id,
                    worker_name: worker_name.clone(),
                };
                match self
                    .deliver(&task.execution_arn, vec![event], vec![task.task_id])
                    .await
                {
                    Ok(()) => {
                        return Ok(Some(ActivityTask {
                            task_token: token,
                            input: task.parameters.to_string(),
                        }));
                    }
                    // Cancelled or its execution stopped meanwhile: look for the next one.
                    Err(DeliverError::NotRunning | DeliverError::Stale) => {}
                    Err(DeliverError::Store(error)) => {
                        if let Some(entry) = lock(&self.activities).get_mut(activity_arn) {
                            entry.queue.push_front(token);
                        }
                        return Err(error);
                    }
                }
            }
            tokio::select! {
                _ = &mut notified => {}
                _ = tokio::time::sleep_until(deadline) => return Ok(None),
            }
        }
    }

    /// Pops the oldest queued task that is still pending.
    fn next_activity_task(&self, activity_arn: &str) -> Option<(String, TaskRef)> {
        let mut activities = lock(&self.activities);
        let entry = activities.get_mut(activity_arn)?;
        let tokens = lock(&self.tokens);
        while let Some(token) = entry.queue.pop_front() {
            if let Some(task) = tokens.get(&token) {
                return Some((token, task.clone()));
            }
        }
        None
    }

    /// Queues an activity task for its workers. `false` if the activity does not exist.
    pub(crate) fn enqueue_activity_task(&self, activity_arn: &str, token: &str) -> bool {
        let mut activities = lock(&self.activities);
        let Some(entry) = activities.get_mut(activity_arn) else {
            return false;
        };
        entry.queue.push_back(token.to_owned());
        entry.arrivals.notify_one();
        true
    }
}
