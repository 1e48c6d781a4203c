//! StartMessageMoveTask, ListMessageMoveTasks, CancelMessageMoveTask.

use serde::{Deserialize, Serialize};
use tern_broker::{Broker, MoveTaskReport};
use tern_core::SqsError;

use crate::shapes::non_negative;
use crate::{encode, parse_input, required};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct StartMessageMoveTaskInput {
    source_arn: Option<String>,
    destination_arn: Option<String>,
    max_number_of_messages_per_second: Option<i64>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct TaskHandleOutput {
    task_handle: String,
}

fn rate(value: Option<i64>) -> Result<Option<u32>, SqsError> {
    Ok(non_negative("MaxNumberOfMessagesPerSecond", value)?
        .map(|rate| u32::try_from(rate).unwrap_or(u32::MAX)))
}

pub async fn start_message_move_task(broker: &Broker, body: &[u8]) -> Result<Vec<u8>, SqsError> {
    let input: StartMessageMoveTaskInput = parse_input(body)?;
    let source_arn = required(input.source_arn, "SourceArn")?;
    let task_handle = broker
        .start_message_move_task(
            &source_arn,
            input.destination_arn.as_deref(),
            rate(input.max_number_of_messages_per_second)?,
        )
        .await?;
    encode(&TaskHandleOutput { task_handle })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListMessageMoveTasksInput {
    source_arn: Option<String>,
    max_results: Option<i64>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ListMessageMoveTasksOutput {
    results: Vec<MoveTaskShape>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct MoveTaskShape {
    #[serde(skip_serializing_if = "Option::is_none")]
    task_handle: Option<String>,
    status: &'static str,
    source_arn: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    destination_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_number_of_messages_per_second: Option<u32>,
    approximate_number_of_messages_moved: u64,
    approximate_number_of_messages_to_move: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    failure_reason: Option<String>,
    started_timestamp: u64,
}

impl From<MoveTaskReport> for MoveTaskShape {
    fn from(report: MoveTaskReport) -> Self {
        Self {
            task_handle: report.task_handle,
            status: report.status.as_str(),
            source_arn: report.source_arn,
            destination_arn: report.destination_arn,
            max_number_of_messages_per_second: report.max_messages_per_second,
            approximate_number_of_messages_moved: report.messages_moved,
            approximate_number_of_messages_to_move: report.messages_to_move,
            failure_reason: report.failure_reason,
            started_timestamp: report.started_at,
        }
    }
}

pub fn list_message_move_tasks(broker: &Broker, body: &[u8]) -> Result<Vec<u8>, SqsError> {
    let input: ListMessageMoveTasksInput = parse_input(body)?;
    let source_arn = required(input.source_arn, "SourceArn")?;
    let max_results = non_negative("MaxResults", input.max_results)?
        .map(|max| u32::try_from(max).unwrap_or(u32::MAX));
    let reports = broker.list_message_move_tasks(&source_arn, max_results)?;
    encode(&ListMessageMoveTasksOutput {
        results: reports.into_iter().map(MoveTaskShape::from).collect(),
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CancelMessageMoveTaskInput {
    task_handle: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct CancelMessageMoveTaskOutput {
    approximate_number_of_messages_moved: u64,
}

pub fn cancel_message_move_task(broker: &Broker, body: &[u8]) -> Result<Vec<u8>, SqsError> {
    let input: CancelMessageMoveTaskInput = parse_input(body)?;
    let task_handle = required(input.task_handle, "TaskHandle")?;
    let moved = broker.cancel_message_move_task(&task_handle)?;
    encode(&CancelMessageMoveTaskOutput {
        approximate_number_of_messages_moved: moved,
    })
}
