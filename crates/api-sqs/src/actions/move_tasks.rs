//! StartMessageMoveTask, ListMessageMoveTasks, CancelMessageMoveTask.

use serde::{Deserialize, Serialize};
use tern_aws_wire::query::{Member, XmlResult};
use tern_aws_wire::xml::XmlWriter;
use tern_broker::{Broker, MoveTaskReport};
use tern_core::SqsError;

use crate::codec::Input;
use crate::required;
use crate::shapes::non_negative;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct StartMessageMoveTaskInput {
    source_arn: Option<String>,
    destination_arn: Option<String>,
    max_number_of_messages_per_second: Option<i64>,
}

impl Input for StartMessageMoveTaskInput {
    const QUERY_MEMBERS: &'static [Member] = &[Member::integer("MaxNumberOfMessagesPerSecond")];
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct TaskHandleOutput {
    task_handle: String,
}

impl XmlResult for TaskHandleOutput {
    fn write_result(&self, xml: &mut XmlWriter) {
        xml.text_element("TaskHandle", &self.task_handle);
    }
}

fn rate(value: Option<i64>) -> Result<Option<u32>, SqsError> {
    Ok(non_negative("MaxNumberOfMessagesPerSecond", value)?
        .map(|rate| u32::try_from(rate).unwrap_or(u32::MAX)))
}

pub(crate) async fn start_message_move_task(
    broker: &Broker,
    input: StartMessageMoveTaskInput,
) -> Result<TaskHandleOutput, SqsError> {
    let source_arn = required(input.source_arn, "SourceArn")?;
    let task_handle = broker
        .start_message_move_task(
            &source_arn,
            input.destination_arn.as_deref(),
            rate(input.max_number_of_messages_per_second)?,
        )
        .await?;
    Ok(TaskHandleOutput { task_handle })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ListMessageMoveTasksInput {
    source_arn: Option<String>,
    max_results: Option<i64>,
}

impl Input for ListMessageMoveTasksInput {
    const QUERY_MEMBERS: &'static [Member] = &[Member::integer("MaxResults")];
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ListMessageMoveTasksOutput {
    results: Vec<MoveTaskShape>,
}

impl XmlResult for ListMessageMoveTasksOutput {
    /// `<ListMessageMoveTasksResultEntry>` per task, members in the API model's order.
    fn write_result(&self, xml: &mut XmlWriter) {
        for task in &self.results {
            xml.element("ListMessageMoveTasksResultEntry", |xml| {
                xml.optional_element("TaskHandle", task.task_handle.as_deref());
                xml.text_element("Status", task.status);
                xml.text_element("SourceArn", &task.source_arn);
                xml.optional_element("DestinationArn", task.destination_arn.as_deref());
                if let Some(rate) = task.max_number_of_messages_per_second {
                    xml.text_element("MaxNumberOfMessagesPerSecond", &rate.to_string());
                }
                xml.text_element(
                    "ApproximateNumberOfMessagesMoved",
                    &task.approximate_number_of_messages_moved.to_string(),
                );
                xml.text_element(
                    "ApproximateNumberOfMessagesToMove",
                    &task.approximate_number_of_messages_to_move.to_string(),
                );
                xml.optional_element("FailureReason", task.failure_reason.as_deref());
                xml.text_element("StartedTimestamp", &task.started_timestamp.to_string());
            });
        }
    }
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

pub(crate) fn list_message_move_tasks(
    broker: &Broker,
    input: ListMessageMoveTasksInput,
) -> Result<ListMessageMoveTasksOutput, SqsError> {
    let source_arn = required(input.source_arn, "SourceArn")?;
    let max_results = non_negative("MaxResults", input.max_results)?
        .map(|max| u32::try_from(max).unwrap_or(u32::MAX));
    let reports = broker.list_message_move_tasks(&source_arn, max_results)?;
    Ok(ListMessageMoveTasksOutput {
        results: reports.into_iter().map(MoveTaskShape::from).collect(),
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct CancelMessageMoveTaskInput {
    task_handle: Option<String>,
}

impl Input for CancelMessageMoveTaskInput {}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct CancelMessageMoveTaskOutput {
    approximate_number_of_messages_moved: u64,
}

impl XmlResult for CancelMessageMoveTaskOutput {
    fn write_result(&self, xml: &mut XmlWriter) {
        xml.text_element(
            "ApproximateNumberOfMessagesMoved",
            &self.approximate_number_of_messages_moved.to_string(),
        );
    }
}

pub(crate) fn cancel_message_move_task(
    broker: &Broker,
    input: CancelMessageMoveTaskInput,
) -> Result<CancelMessageMoveTaskOutput, SqsError> {
    let task_handle = required(input.task_handle, "TaskHandle")?;
    let moved = broker.cancel_message_move_task(&task_handle)?;
    Ok(CancelMessageMoveTaskOutput {
        approximate_number_of_messages_moved: moved,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::result_xml;

    #[test]
    fn move_task_replies() {
        assert_eq!(
            result_xml(&TaskHandleOutput {
                task_handle: "t".into()
            }),
            "<TaskHandle>t</TaskHandle>"
        );
        assert_eq!(
            result_xml(&CancelMessageMoveTaskOutput {
                approximate_number_of_messages_moved: 3
            }),
            "<ApproximateNumberOfMessagesMoved>3</ApproximateNumberOfMessagesMoved>"
        );
        let task = MoveTaskShape {
            task_handle: None,
            status: "COMPLETED",
            source_arn: "arn:s".into(),
            destination_arn: None,
            max_number_of_messages_per_second: Some(5),
            approximate_number_of_messages_moved: 2,
            approximate_number_of_messages_to_move: 2,
            failure_reason: None,
            started_timestamp: 1,
        };
        assert_eq!(
            result_xml(&ListMessageMoveTasksOutput {
                results: vec![task]
            }),
            "<ListMessageMoveTasksResultEntry><Status>COMPLETED</Status><SourceArn>arn:s</SourceArn>\
             <MaxNumberOfMessagesPerSecond>5</MaxNumberOfMessagesPerSecond>\
             <ApproximateNumberOfMessagesMoved>2</ApproximateNumberOfMessagesMoved>\
             <ApproximateNumberOfMessagesToMove>2</ApproximateNumberOfMessagesToMove>\
             <StartedTimestamp>1</StartedTimestamp></ListMessageMoveTasksResultEntry>"
        );
    }
}
