//! StartExecution, StartSyncExecution, StopExecution, DescribeExecution, ListExecutions,
//! GetExecutionHistory, RedriveExecution.

use serde::Deserialize;
use serde_json::{Map, Value, json};
use tern_asl::history::HistoryEvent;
use tern_sfn::{
    Engine, ExecutionDescription, ExecutionRecord, ExecutionStatus, HistoryRequest, ListExecutions,
    SfnError, StartExecution,
};

use crate::ApiResult;
use crate::shapes::{epoch, required};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StartInput {
    state_machine_arn: Option<String>,
    name: Option<String>,
    input: Option<String>,
}

fn start_request(input: StartInput) -> Result<StartExecution, SfnError> {
    Ok(StartExecution {
        state_machine_arn: required("stateMachineArn", input.state_machine_arn)?,
        name: input.name,
        input: input.input,
    })
}

pub async fn start(engine: &Engine, input: StartInput) -> ApiResult {
    let started = engine.start_execution(start_request(input)?).await?;
    Ok(json!({
        "executionArn": started.execution_arn,
        "startDate": epoch(started.start_date),
    }))
}

pub async fn start_sync(engine: &Engine, input: StartInput) -> ApiResult {
    let record = engine.start_sync_execution(start_request(input)?).await?;
    let mut out = outcome(&record);
    out.insert("billingDetails".into(), json!({
        "billedMemoryUsedInMB": 64,
        "billedDurationInMilliseconds": record.stopped_at.unwrap_or(record.started_at).saturating_sub(record.started_at).max(100),
    }));
    Ok(Value::Object(out))
}

/// The members DescribeExecution, StartSyncExecution and ListExecutions all show.
fn summary(record: &ExecutionRecord) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("executionArn".into(), json!(record.arn));
    out.insert("stateMachineArn".into(), json!(record.state_machine_arn));
    out.insert("name".into(), json!(record.name));
    out.insert("status".into(), json!(record.status.as_str()));
    out.insert("startDate".into(), epoch(record.started_at));
    if let Some(stopped) = record.stopped_at {
        out.insert("stopDate".into(), epoch(stopped));
    }
    out
}

/// The members DescribeExecution and StartSyncExecution share.
fn outcome(record: &ExecutionRecord) -> Map<String, Value> {
    let mut out = summary(record);
    out.insert("input".into(), json!(record.input));
    out.insert("inputDetails".into(), json!({"included": true}));
    if let Some(output) = &record.output {
        out.insert("output".into(), json!(output));
        out.insert("outputDetails".into(), json!({"included": true}));
    }
    if let Some(error) = &record.error {
        out.insert("error".into(), json!(error));
    }
    if let Some(cause) = &record.cause {
        out.insert("cause".into(), json!(cause));
    }
    out
}

fn redrive_members(out: &mut Map<String, Value>, description: &ExecutionDescription) {
    let record = &description.record;
    out.insert("redriveCount".into(), json!(record.redrive_count));
    if let Some(redriven) = record.redriven_at {
        out.insert("redriveDate".into(), epoch(redriven));
    }
    let (status, reason) = match record.status {
        ExecutionStatus::Running => (
            "NOT_REDRIVABLE",
            "Execution is RUNNING and cannot be redriven",
        ),
        ExecutionStatus::Succeeded => (
            "NOT_REDRIVABLE",
            "Execution is SUCCEEDED and cannot be redriven",
        ),
        _ if description.redrivable => ("REDRIVABLE", ""),
        _ => ("NOT_REDRIVABLE", "Execution cannot be redriven"),
    };
    out.insert("redriveStatus".into(), json!(status));
    if !reason.is_empty() {
        out.insert("redriveStatusReason".into(), json!(reason));
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StopInput {
    execution_arn: Option<String>,
    error: Option<String>,
    cause: Option<String>,
}

pub async fn stop(engine: &Engine, input: StopInput) -> ApiResult {
    let arn = required("executionArn", input.execution_arn)?;
    let stopped = engine
        .stop_execution(&arn, input.error, input.cause)
        .await?;
    Ok(json!({"stopDate": epoch(stopped)}))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionInput {
    execution_arn: Option<String>,
}

pub async fn describe(engine: &Engine, input: ExecutionInput) -> ApiResult {
    let arn = required("executionArn", input.execution_arn)?;
    let description = engine.describe_execution(&arn).await?;
    let mut out = outcome(&description.record);
    redrive_members(&mut out, &description);
    Ok(Value::Object(out))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListInput {
    state_machine_arn: Option<String>,
    status_filter: Option<String>,
    redrive_filter: Option<String>,
    max_results: Option<u32>,
    next_token: Option<String>,
}

pub async fn list(engine: &Engine, input: ListInput) -> ApiResult {
    let status = match input.status_filter.as_deref() {
        None => None,
        Some(text) => Some(ExecutionStatus::parse(text).ok_or_else(|| {
            SfnError::validation(format!(
                "1 validation error detected: Value '{text}' at 'statusFilter' failed to satisfy constraint: Member must satisfy enum value set: [SUCCEEDED, TIMED_OUT, PENDING_REDRIVE, ABORTED, FAILED, RUNNING]"
            ))
        })?),
    };
    let redriven = match input.redrive_filter.as_deref() {
        None => None,
        Some("REDRIVEN") => Some(true),
        Some("NOT_REDRIVEN") => Some(false),
        Some(other) => {
            return Err(SfnError::validation(format!(
                "1 validation error detected: Value '{other}' at 'redriveFilter' failed to satisfy constraint: Member must satisfy enum value set: [REDRIVEN, NOT_REDRIVEN]"
            ))
            .into());
        }
    };
    let page = engine
        .list_executions(ListExecutions {
            state_machine_arn: required("stateMachineArn", input.state_machine_arn)?,
            status,
            redriven,
            max_results: input.max_results.unwrap_or(0),
            next_token: input.next_token,
        })
        .await?;
    let executions: Vec<Value> = page
        .executions
        .iter()
        .map(|description| {
            let record = &description.record;
            let mut out = summary(record);
            out.insert("redriveCount".into(), json!(record.redrive_count));
            if let Some(redriven) = record.redriven_at {
                out.insert("redriveDate".into(), epoch(redriven));
            }
            Value::Object(out)
        })
        .collect();
    Ok(json!({"executions": executions, "nextToken": page.next_token}))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryInput {
    execution_arn: Option<String>,
    max_results: Option<u32>,
    reverse_order: Option<bool>,
    next_token: Option<String>,
    include_execution_data: Option<bool>,
}

pub async fn history(engine: &Engine, input: HistoryInput) -> ApiResult {
    let page = engine
        .execution_history(HistoryRequest {
            execution_arn: required("executionArn", input.execution_arn)?,
            max_results: input.max_results.unwrap_or(0),
            reverse: input.reverse_order.unwrap_or(false),
            next_token: input.next_token,
            include_data: input.include_execution_data.unwrap_or(true),
        })
        .await?;
    let events: Vec<Value> = page
        .events
        .into_iter()
        .map(|record| {
            HistoryEvent {
                id: record.event_id,
                previous_event_id: record.previous_event_id,
                timestamp_ms: i64::try_from(record.timestamp).unwrap_or(i64::MAX),
                event_type: record.event_type,
                details: record.details.and_then(|d| serde_json::from_str(&d).ok()),
            }
            .to_aws_json()
        })
        .collect();
    Ok(json!({"events": events, "nextToken": page.next_token}))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RedriveInput {
    execution_arn: Option<String>,
}

pub async fn redrive(engine: &Engine, input: RedriveInput) -> ApiResult {
    let arn = required("executionArn", input.execution_arn)?;
    let redriven = engine.redrive_execution(&arn).await?;
    Ok(json!({"redriveDate": epoch(redriven)}))
}
