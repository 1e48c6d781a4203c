//! What a Task state's `Resource` does.
//!
//! - `arn:aws:states:::sqs:sendMessage` and `sns:publish` go through the broker's own send and
//!   publish, so a message to a queue is stored like any SendMessage (`messaging`).
//! - Activity ARNs queue the task for `GetActivityTask` workers.
//! - `arn:aws:states:::http:invoke` calls an HTTP endpoint; Lambda function ARNs and
//!   `arn:aws:states:::lambda:invoke` POST the payload to the endpoint configured for the
//!   function (`http`).
//! - `arn:aws:states:::states:startExecution` starts a nested execution (`nested`).
//!
//! Each integration runs in the request-response pattern, or with `.waitForTaskToken` (the call
//! is made, then the task waits for `SendTaskSuccess`/`Failure` with its token), or for nested
//! executions `.sync` / `.sync:2` (the task waits for the child's end).

pub(crate) mod http;
mod messaging;
mod nested;

use serde_json::Value;
use tern_asl::errors::Failure;
use tern_asl::interpreter::{Event, TaskRequest};
use tern_store::processes::ExecutionRecord;
use tokio::task::AbortHandle;

use crate::runner::DeliverError;
use crate::{Engine, TaskRef};

const STATES_PREFIX: &str = "arn:aws:states:::";

/// How a task waits for its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pattern {
    RequestResponse,
    WaitForTaskToken,
    Sync,
    /// `.sync:2`: the child's output as JSON rather than a string.
    Sync2,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Integration {
    Activity(String),
    SqsSendMessage,
    SnsPublish,
    HttpInvoke,
    /// A Lambda function ARN as the resource: the parameters are the payload.
    LambdaFunction(String),
    /// `lambda:invoke` with `FunctionName` and `Payload`.
    LambdaInvoke,
    StartExecution,
    Unsupported,
}

pub(crate) fn classify(resource: &str) -> (Integration, Pattern) {
    if let Some(rest) = resource.strip_prefix(STATES_PREFIX) {
        let (base, pattern) = if let Some(base) = rest.strip_suffix(".waitForTaskToken") {
            (base, Pattern::WaitForTaskToken)
        } else if let Some(base) = rest.strip_suffix(".sync:2") {
            (base, Pattern::Sync2)
        } else if let Some(base) = rest.strip_suffix(".sync") {
            (base, Pattern::Sync)
        } else {
            (rest, Pattern::RequestResponse)
        };
        let integration = match base {
            "sqs:sendMessage" => Integration::SqsSendMessage,
            "sns:publish" => Integration::SnsPublish,
            "http:invoke" => Integration::HttpInvoke,
            "lambda:invoke" => Integration::LambdaInvoke,
            "states:startExecution" => Integration::StartExecution,
            _ => Integration::Unsupported,
        };
        let sync_allowed = integration == Integration::StartExecution;
        if matches!(pattern, Pattern::Sync | Pattern::Sync2) && !sync_allowed {
            return (Integration::Unsupported, pattern);
        }
        return (integration, pattern);
    }
    let parts: Vec<&str> = resource.split(':').collect();
    match parts.as_slice() {
        ["arn", _, "states", _, _, "activity", _] => (
            Integration::Activity(resource.to_owned()),
            Pattern::WaitForTaskToken,
        ),
        ["arn", _, "lambda", _, _, "function", name, ..] => (
            Integration::LambdaFunction((*name).to_owned()),
            Pattern::RequestResponse,
        ),
        _ => (Integration::Unsupported, Pattern::RequestResponse),
    }
}

/// What an integration call came to.
pub(crate) enum Outcome {
    /// Request-response: the task's result or failure.
    Done(Result<Value, Failure>),
    /// The work was handed over with this response (`TaskSubmitted`); the answer comes by
    /// callback.
    HandedOver(Value),
    /// The integration reported to the execution itself (nested `.sync` starts).
    Reported,
}

impl Engine {
    /// Hands a task to its integration. Returns the in-flight call, to abort on cancellation.
    pub(crate) fn dispatch(
        &self,
        execution_arn: &str,
        record: &ExecutionRecord,
        task: TaskRequest,
    ) -> Option<AbortHandle> {
        let (integration, pattern) = classify(&task.resource);
        if let Integration::Activity(activity_arn) = &integration {
            if !self.enqueue_activity_task(activity_arn, &task.task_token) {
                let failure = Failure::new(
                    "States.Runtime",
                    format!("Activity Does Not Exist: '{activity_arn}'"),
                );
                self.spawn_answer(execution_arn, task.task_id, Err(failure));
            }
            return None;
        }
        let engine = self.myself.upgrade()?;
        let arn = execution_arn.to_owned();
        let region = crate::arn::SfnArn::parse(&record.state_machine_arn)
            .map(|a| a.region.to_owned())
            .unwrap_or_default();
        let handle = tokio::spawn(async move {
            let task_id = task.task_id;
            let outcome = engine
                .call(&arn, &region, &integration, pattern, &task)
                .await;
            let (events, started) = match outcome {
                Outcome::Reported => return,
                Outcome::HandedOver(output) => (
                    vec![
                        Event::TaskStarted {
                            task_id,
                            worker_name: None,
                        },
                        Event::TaskSubmitted { task_id, output },
                    ],
                    vec![task_id],
                ),
                Outcome::Done(result) => (started_then(task_id, result), Vec::new()),
            };
            engine.deliver_logged(&arn, events, started).await;
        });
        Some(handle.abort_handle())
    }

    async fn call(
        &self,
        execution_arn: &str,
        region: &str,
        integration: &Integration,
        pattern: Pattern,
        task: &TaskRequest,
    ) -> Outcome {
        let parameters = &task.parameters;
        let result = match integration {
            Integration::SqsSendMessage => self.sqs_send_message(parameters).await,
            Integration::SnsPublish => self.sns_publish(parameters).await,
            Integration::HttpInvoke => self.http_invoke(parameters).await,
            Integration::LambdaFunction(name) => {
                self.lambda_invoke(name, region, parameters.clone(), false)
                    .await
            }
            Integration::LambdaInvoke => {
                match parameters.get("FunctionName").and_then(Value::as_str) {
                    Some(name) => {
                        let payload = parameters.get("Payload").cloned().unwrap_or(Value::Null);
                        self.lambda_invoke(name, region, payload, true).await
                    }
                    None => Err(Failure::new(
                        "States.Runtime",
                        "The field 'FunctionName' is required by lambda:invoke.",
                    )),
                }
            }
            Integration::StartExecution => {
                return self.start_child(execution_arn, pattern, task).await;
            }
            Integration::Activity(_) | Integration::Unsupported => Err(Failure::new(
                "States.Runtime",
                format!("Tern does not support the resource '{}'.", task.resource),
            )),
        };
        match (result, pattern) {
            (Ok(response), Pattern::WaitForTaskToken) => Outcome::HandedOver(response),
            (result, _) => Outcome::Done(result),
        }
    }

    fn spawn_answer(&self, execution_arn: &str, task_id: u64, result: Result<Value, Failure>) {
        let Some(engine) = self.myself.upgrade() else {
            return;
        };
        let arn = execution_arn.to_owned();
        tokio::spawn(async move {
            engine
                .deliver_logged(&arn, started_then(task_id, result), Vec::new())
                .await;
        });
    }

    pub(crate) async fn deliver_logged(&self, arn: &str, events: Vec<Event>, started: Vec<u64>) {
        match self.deliver(arn, events, started).await {
            Ok(()) | Err(DeliverError::NotRunning | DeliverError::Stale) => {}
            Err(DeliverError::Store(error)) if self.is_shutting_down() => {
                tracing::debug!(%arn, %error, "a task's result came in during shutdown; it runs again at the next start");
            }
            Err(DeliverError::Store(error)) => {
                tracing::error!(%arn, %error, "a task's result was not stored; the task runs again at the next start");
            }
        }
    }

    /// A `.sync` child stopped: answer its parent's task.
    pub(crate) fn spawn_parent_notice(&self, token: String, child: ExecutionRecord) {
        let Some(engine) = self.myself.upgrade() else {
            return;
        };
        tokio::spawn(async move {
            let task = crate::lock(&engine.tokens).get(&token).cloned();
            let Some(task) = task else {
                return;
            };
            let (_, pattern) = classify(&task.resource);
            let event = nested::child_outcome(&task, pattern, &child);
            engine
                .deliver_logged(&task.execution_arn, vec![event], Vec::new())
                .await;
        });
    }

    /// The parent's `.sync` task was cancelled: stop the child too, as AWS does.
    pub(crate) fn cancel_child(&self, task: &TaskRef, token: &str) {
        let (integration, pattern) = classify(&task.resource);
        if integration != Integration::StartExecution
            || !matches!(pattern, Pattern::Sync | Pattern::Sync2)
        {
            return;
        }
        let Some(child_arn) = nested::child_arn(&task.parameters, token) else {
            return;
        };
        let Some(engine) = self.myself.upgrade() else {
            return;
        };
        tokio::spawn(async move {
            let cause = "The parent execution's task was cancelled.".to_owned();
            if let Err(error) = engine
                .stop_execution(&child_arn, Some("States.Aborted".to_owned()), Some(cause))
                .await
            {
                tracing::debug!(%child_arn, %error, "could not stop a child execution");
            }
        });
    }
}

/// A request-response result as the interpreter sees it: started, then done.
fn started_then(task_id: u64, result: Result<Value, Failure>) -> Vec<Event> {
    let started = Event::TaskStarted {
        task_id,
        worker_name: None,
    };
    let done = match result {
        Ok(output) => Event::TaskSucceeded { task_id, output },
        Err(failure) => Event::TaskFailed {
            task_id,
            error: failure.error,
            cause: failure.cause,
        },
    };
    vec![started, done]
}

/// A string parameter, or any other JSON value as its text (how AWS treats `MessageBody`).
pub(crate) fn text_of(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_are_classified() {
        assert_eq!(
            classify("arn:aws:states:::sqs:sendMessage.waitForTaskToken"),
            (Integration::SqsSendMessage, Pattern::WaitForTaskToken)
        );
        assert_eq!(
            classify("arn:aws:states:::states:startExecution.sync:2"),
            (Integration::StartExecution, Pattern::Sync2)
        );
        assert_eq!(
            classify("arn:aws:states:::sqs:sendMessage.sync").0,
            Integration::Unsupported
        );
        assert_eq!(
            classify("arn:aws:lambda:us-east-1:000000000000:function:score:$LATEST"),
            (
                Integration::LambdaFunction("score".into()),
                Pattern::RequestResponse
            )
        );
        assert_eq!(
            classify("arn:aws:states:us-east-1:000000000000:activity:bank").1,
            Pattern::WaitForTaskToken
        );
        assert_eq!(
            classify("arn:aws:states:::dynamodb:putItem").0,
            Integration::Unsupported
        );
    }
}
