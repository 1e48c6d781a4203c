//! CreateStateMachine, UpdateStateMachine, DeleteStateMachine, DescribeStateMachine,
//! ListStateMachines, ValidateStateMachineDefinition, DescribeStateMachineForExecution.

use serde::Deserialize;
use serde_json::{Map, Value, json};
use tern_sfn::{CreateStateMachine, Engine, MachineUpdate};

use crate::shapes::{PageInput, Tag, epoch, json_text, required, tag_pairs};
use crate::{ApiResult, RequestContext};

/// ValidateStateMachineDefinition lists at most this many diagnostics by default, as AWS does.
const DIAGNOSTICS_DEFAULT: usize = 100;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateInput {
    name: Option<String>,
    definition: Option<String>,
    role_arn: Option<String>,
    #[serde(rename = "type")]
    machine_type: Option<String>,
    logging_configuration: Option<Value>,
    tracing_configuration: Option<Value>,
    tags: Option<Vec<Tag>>,
}

pub async fn create(engine: &Engine, context: &RequestContext, input: CreateInput) -> ApiResult {
    let request = CreateStateMachine {
        name: required("name", input.name)?,
        definition: required("definition", input.definition)?,
        role_arn: required("roleArn", input.role_arn)?,
        machine_type: input.machine_type,
        logging: input.logging_configuration,
        tracing: input.tracing_configuration,
        tags: tag_pairs(input.tags)?,
        region: context.region.clone(),
    };
    let record = engine.create_state_machine(request).await?;
    Ok(json!({
        "stateMachineArn": record.arn,
        "creationDate": epoch(record.created_at),
    }))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateInput {
    state_machine_arn: Option<String>,
    definition: Option<String>,
    role_arn: Option<String>,
    logging_configuration: Option<Value>,
    tracing_configuration: Option<Value>,
}

pub async fn update(engine: &Engine, input: UpdateInput) -> ApiResult {
    let record = engine
        .update_state_machine(MachineUpdate {
            arn: required("stateMachineArn", input.state_machine_arn)?,
            definition: input.definition,
            role_arn: input.role_arn,
            logging: input.logging_configuration,
            tracing: input.tracing_configuration,
        })
        .await?;
    Ok(json!({
        "updateDate": epoch(record.updated_at.unwrap_or(record.created_at)),
        "revisionId": record.revision_id,
    }))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MachineInput {
    state_machine_arn: Option<String>,
}

pub async fn delete(engine: &Engine, input: MachineInput) -> ApiResult {
    engine
        .delete_state_machine(&required("stateMachineArn", input.state_machine_arn)?)
        .await?;
    Ok(json!({}))
}

pub fn describe(engine: &Engine, input: MachineInput) -> ApiResult {
    let record =
        engine.describe_state_machine(&required("stateMachineArn", input.state_machine_arn)?)?;
    let mut out = Map::new();
    out.insert("stateMachineArn".into(), json!(record.arn));
    out.insert("name".into(), json!(record.name));
    out.insert(
        "status".into(),
        json!(if record.deleting {
            "DELETING"
        } else {
            "ACTIVE"
        }),
    );
    out.insert("definition".into(), json!(record.definition));
    out.insert("roleArn".into(), json!(record.role_arn));
    out.insert("type".into(), json!(record.machine_type));
    out.insert("creationDate".into(), epoch(record.created_at));
    out.insert("loggingConfiguration".into(), json_text(&record.logging));
    out.insert("tracingConfiguration".into(), json_text(&record.tracing));
    out.insert("revisionId".into(), json!(record.revision_id));
    if !record.description.is_empty() {
        out.insert("description".into(), json!(record.description));
    }
    Ok(Value::Object(out))
}

pub fn list(engine: &Engine, context: &RequestContext, input: PageInput) -> ApiResult {
    let page = engine.list_state_machines(
        &context.region,
        input.max_results.unwrap_or(0),
        input.next_token.as_deref(),
    )?;
    let machines: Vec<Value> = page
        .machines
        .iter()
        .map(|m| {
            json!({
                "stateMachineArn": m.arn,
                "name": m.name,
                "type": m.machine_type,
                "creationDate": epoch(m.created_at),
            })
        })
        .collect();
    Ok(json!({"stateMachines": machines, "nextToken": page.next_token}))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ValidateInput {
    definition: Option<String>,
    max_results: Option<usize>,
}

pub fn validate(engine: &Engine, input: ValidateInput) -> ApiResult {
    let definition = required("definition", input.definition)?;
    let outcome = engine.validate_definition(&definition);
    let limit = match input.max_results {
        None | Some(0) => DIAGNOSTICS_DEFAULT,
        Some(n) => n,
    };
    let diagnostics: Vec<Value> = outcome
        .diagnostics
        .iter()
        .take(limit)
        .map(|d| {
            json!({
                "severity": "ERROR",
                "code": d.code.as_str(),
                "message": d.message,
                "location": d.location,
            })
        })
        .collect();
    Ok(json!({
        "result": if outcome.diagnostics.is_empty() { "OK" } else { "FAIL" },
        "diagnostics": diagnostics,
        "truncated": outcome.diagnostics.len() > limit,
    }))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ForExecutionInput {
    execution_arn: Option<String>,
}

pub async fn describe_for_execution(engine: &Engine, input: ForExecutionInput) -> ApiResult {
    let arn = required("executionArn", input.execution_arn)?;
    let execution = engine.describe_execution(&arn).await?.record;
    let machine = engine
        .describe_state_machine(&execution.state_machine_arn)
        .ok();
    let name = tern_sfn::arn::SfnArn::parse(&execution.state_machine_arn)
        .map(|a| a.name.to_owned())
        .unwrap_or_default();
    let (logging, tracing, update_date) = match &machine {
        Some(m) => (
            json_text(&m.logging),
            json_text(&m.tracing),
            m.updated_at.unwrap_or(m.created_at),
        ),
        None => (
            json!({"level": "OFF", "includeExecutionData": false}),
            json!({"enabled": false}),
            execution.started_at,
        ),
    };
    Ok(json!({
        "stateMachineArn": execution.state_machine_arn,
        "name": name,
        "definition": execution.definition,
        "roleArn": execution.role_arn,
        "updateDate": epoch(update_date),
        "loggingConfiguration": logging,
        "tracingConfiguration": tracing,
        "revisionId": execution.revision_id,
    }))
}
