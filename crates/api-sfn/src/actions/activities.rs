//! CreateActivity, DeleteActivity, DescribeActivity, ListActivities, GetActivityTask, and the
//! task-token callbacks SendTaskSuccess, SendTaskFailure, SendTaskHeartbeat.

use serde::Deserialize;
use serde_json::{Value, json};
use tern_sfn::Engine;

use crate::shapes::{PageInput, Tag, epoch, required, tag_pairs};
use crate::{ApiResult, RequestContext};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateInput {
    name: Option<String>,
    tags: Option<Vec<Tag>>,
}

pub async fn create(engine: &Engine, context: &RequestContext, input: CreateInput) -> ApiResult {
    let name = required("name", input.name)?;
    let record = engine
        .create_activity(&name, &tag_pairs(input.tags)?, &context.region)
        .await?;
    Ok(json!({"activityArn": record.arn, "creationDate": epoch(record.created_at)}))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActivityInput {
    activity_arn: Option<String>,
}

pub async fn delete(engine: &Engine, input: ActivityInput) -> ApiResult {
    engine
        .delete_activity(&required("activityArn", input.activity_arn)?)
        .await?;
    Ok(json!({}))
}

pub fn describe(engine: &Engine, input: ActivityInput) -> ApiResult {
    let record = engine.describe_activity(&required("activityArn", input.activity_arn)?)?;
    Ok(summary(&record.arn, &record.name, record.created_at))
}

/// An activity as DescribeActivity and ListActivities show it.
fn summary(arn: &str, name: &str, created_at: u64) -> Value {
    json!({
        "activityArn": arn,
        "name": name,
        "creationDate": epoch(created_at),
    })
}

pub fn list(engine: &Engine, context: &RequestContext, input: PageInput) -> ApiResult {
    let page = engine.list_activities(
        &context.region,
        input.max_results.unwrap_or(0),
        input.next_token.as_deref(),
    )?;
    let activities: Vec<Value> = page
        .activities
        .iter()
        .map(|a| summary(&a.arn, &a.name, a.created_at))
        .collect();
    Ok(json!({"activities": activities, "nextToken": page.next_token}))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetTaskInput {
    activity_arn: Option<String>,
    worker_name: Option<String>,
}

pub async fn get_activity_task(engine: &Engine, input: GetTaskInput) -> ApiResult {
    let arn = required("activityArn", input.activity_arn)?;
    let task = engine
        .get_activity_task(&arn, input.worker_name, tern_sfn::ACTIVITY_POLL_MAX)
        .await?;
    Ok(match task {
        Some(task) => json!({"taskToken": task.task_token, "input": task.input}),
        None => json!({}),
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SuccessInput {
    task_token: Option<String>,
    output: Option<String>,
}

pub async fn send_task_success(engine: &Engine, input: SuccessInput) -> ApiResult {
    let token = required("taskToken", input.task_token)?;
    let output = required("output", input.output)?;
    engine.send_task_success(&token, &output).await?;
    Ok(json!({}))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FailureInput {
    task_token: Option<String>,
    error: Option<String>,
    cause: Option<String>,
}

pub async fn send_task_failure(engine: &Engine, input: FailureInput) -> ApiResult {
    let token = required("taskToken", input.task_token)?;
    engine
        .send_task_failure(&token, input.error, input.cause)
        .await?;
    Ok(json!({}))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HeartbeatInput {
    task_token: Option<String>,
}

pub async fn send_task_heartbeat(engine: &Engine, input: HeartbeatInput) -> ApiResult {
    let token = required("taskToken", input.task_token)?;
    engine.send_task_heartbeat(&token).await?;
    Ok(json!({}))
}
