//! `states:startExecution`: nested executions, request-response, `.waitForTaskToken`, `.sync`
//! (the child's description with its output as a string) and `.sync:2` (output as JSON).
//!
//! A `.sync` child is started with its parent's task token recorded on it, and with a name
//! derived from that token when the parameters give none: starting it again after a restart is
//! then the idempotent `StartExecution` of the same execution, never a second child.

use serde_json::{Map, Value, json};
use tern_asl::errors::Failure;
use tern_asl::interpreter::{Event, TaskRequest};
use tern_store::processes::{ExecutionRecord, ExecutionStatus};

use super::{Outcome, Pattern, text_of};
use crate::arn::{self, SfnArn};
use crate::errors::{SfnError, SfnErrorCode};
use crate::executions::StartExecution;
use crate::runner::DeliverError;
use crate::{Engine, TaskRef};

fn sdk_failure(error: &SfnError) -> Failure {
    Failure::new(
        format!("StepFunctions.{:?}Exception", error.code),
        error.message.clone(),
    )
}

fn request(parameters: &Value, token: &str, sync: bool) -> Result<StartExecution, Failure> {
    let machine = parameters
        .get("StateMachineArn")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            Failure::new(
                "States.Runtime",
                "The field 'StateMachineArn' is required by states:startExecution.",
            )
        })?;
    let input = parameters.get("Input").map(text_of);
    let name = parameters
        .get("Name")
        .map(text_of)
        .or_else(|| sync.then(|| token.to_owned()));
    Ok(StartExecution {
        state_machine_arn: machine.to_owned(),
        name,
        input,
    })
}

/// The ARN a `.sync` child has (STANDARD machines; EXPRESS ARNs carry a random id).
pub(crate) fn child_arn(parameters: &Value, token: &str) -> Option<String> {
    let request = request(parameters, token, true).ok()?;
    let machine = SfnArn::parse(&request.state_machine_arn)?;
    Some(arn::execution_of(&machine, &request.name?))
}

/// The parent's event for a child that stopped.
pub(crate) fn child_outcome(task: &TaskRef, pattern: Pattern, child: &ExecutionRecord) -> Event {
    let description = describe(child, pattern);
    if child.status == ExecutionStatus::Succeeded {
        Event::TaskSucceeded {
            task_id: task.task_id,
            output: description,
        }
    } else {
        Event::TaskFailed {
            task_id: task.task_id,
            error: "States.TaskFailed".to_owned(),
            cause: description.to_string(),
        }
    }
}

/// `DescribeExecution` as the optimized integration returns it (PascalCase, epoch ms).
fn describe(child: &ExecutionRecord, pattern: Pattern) -> Value {
    let as_json = pattern == Pattern::Sync2;
    let payload = |text: &str| {
        if as_json {
            serde_json::from_str(text).unwrap_or_else(|_| json!(text))
        } else {
            json!(text)
        }
    };
    let mut out = Map::new();
    out.insert("ExecutionArn".into(), json!(child.arn));
    out.insert("StateMachineArn".into(), json!(child.state_machine_arn));
    out.insert("Name".into(), json!(child.name));
    out.insert("Status".into(), json!(child.status.as_str()));
    out.insert("StartDate".into(), json!(child.started_at));
    if let Some(stopped) = child.stopped_at {
        out.insert("StopDate".into(), json!(stopped));
    }
    out.insert("Input".into(), payload(&child.input));
    out.insert("InputDetails".into(), json!({"Included": true}));
    if let Some(output) = &child.output {
        out.insert("Output".into(), payload(output));
        out.insert("OutputDetails".into(), json!({"Included": true}));
    }
    if let Some(error) = &child.error {
        out.insert("Error".into(), json!(error));
    }
    if let Some(cause) = &child.cause {
        out.insert("Cause".into(), json!(cause));
    }
    out.insert("RedriveCount".into(), json!(child.redrive_count));
    Value::Object(out)
}

impl Engine {
    pub(super) async fn start_child(
        &self,
        parent_arn: &str,
        pattern: Pattern,
        task: &TaskRequest,
    ) -> Outcome {
        let sync = matches!(pattern, Pattern::Sync | Pattern::Sync2);
        let request = match request(&task.parameters, &task.task_token, sync) {
            Ok(request) => request,
            Err(failure) => return Outcome::Done(Err(failure)),
        };
        if !sync {
            return match self.start_inner(request, None, false).await {
                Ok((_, started)) => {
                    let response = json!({
                        "ExecutionArn": started.execution_arn,
                        "StartDate": started.start_date,
                    });
                    if pattern == Pattern::WaitForTaskToken {
                        Outcome::HandedOver(response)
                    } else {
                        Outcome::Done(Ok(response))
                    }
                }
                Err(error) => Outcome::Done(Err(sdk_failure(&error))),
            };
        }
        // Record the hand-over first, so a child that stops at once finds its parent waiting.
        let started = Event::TaskStarted {
            task_id: task.task_id,
            worker_name: None,
        };
        match self
            .deliver(parent_arn, vec![started], vec![task.task_id])
            .await
        {
            Ok(()) => {}
            Err(DeliverError::NotRunning | DeliverError::Stale) => return Outcome::Reported,
            Err(DeliverError::Store(error)) => {
                tracing::error!(%parent_arn, %error, "a nested start was not recorded; it is retried at the next start");
                return Outcome::Reported;
            }
        }
        self.launch_child(parent_arn, pattern, task).await
    }

    /// After a restart: a `.sync` parent task was started before the crash. Its child may
    /// still run (it answers when it stops), have stopped (answer now), or never have started.
    pub(crate) async fn resume_child(
        &self,
        parent_arn: &str,
        pattern: Pattern,
        task: &TaskRequest,
    ) {
        let child = match child_arn(&task.parameters, &task.task_token) {
            Some(arn) => self.describe_execution(&arn).await.ok(),
            None => None,
        };
        match child {
            Some(child) if child.record.status == ExecutionStatus::Running => {}
            Some(child) => {
                let task_ref = TaskRef {
                    execution_arn: parent_arn.to_owned(),
                    task_id: task.task_id,
                    parameters: task.parameters.clone(),
                    resource: task.resource.clone(),
                };
                let event = child_outcome(&task_ref, pattern, &child.record);
                self.deliver_logged(parent_arn, vec![event], Vec::new())
                    .await;
            }
            None => {
                self.launch_child(parent_arn, pattern, task).await;
            }
        }
    }

    /// Starts (or, after a restart, finds) a `.sync` child whose parent task is started.
    pub(crate) async fn launch_child(
        &self,
        parent_arn: &str,
        pattern: Pattern,
        task: &TaskRequest,
    ) -> Outcome {
        let request = match request(&task.parameters, &task.task_token, true) {
            Ok(request) => request,
            Err(failure) => {
                self.deliver_logged(parent_arn, vec![failed(task.task_id, failure)], Vec::new())
                    .await;
                return Outcome::Reported;
            }
        };
        let child_arn = child_arn(&task.parameters, &task.task_token);
        let result = self
            .start_inner(request, Some(task.task_token.clone()), false)
            .await;
        let event = match result {
            // Unless the child already stopped and answered, this records the start.
            Ok((_, started)) => Event::TaskSubmitted {
                task_id: task.task_id,
                output: json!({
                    "ExecutionArn": started.execution_arn,
                    "StartDate": started.start_date,
                }),
            },
            // Started before a restart and already stopped: answer from its record.
            Err(error) if error.code == SfnErrorCode::ExecutionAlreadyExists => {
                let record = match child_arn {
                    Some(arn) => self.describe_execution(&arn).await.map(|d| d.record),
                    None => Err(error.clone()),
                };
                match record {
                    Ok(record) if record.status != ExecutionStatus::Running => {
                        let task_ref = TaskRef {
                            execution_arn: parent_arn.to_owned(),
                            task_id: task.task_id,
                            parameters: task.parameters.clone(),
                            resource: task.resource.clone(),
                        };
                        child_outcome(&task_ref, pattern, &record)
                    }
                    Ok(_) => return Outcome::Reported,
                    Err(_) => failed(task.task_id, sdk_failure(&error)),
                }
            }
            Err(error) => failed(task.task_id, sdk_failure(&error)),
        };
        self.deliver_logged(parent_arn, vec![event], Vec::new())
            .await;
        Outcome::Reported
    }
}

fn failed(task_id: u64, failure: Failure) -> Event {
    Event::TaskFailed {
        task_id,
        error: failure.error,
        cause: failure.cause,
    }
}
