//! The Step Functions front end: turns an `AWSStepFunctions.*` request (AWS JSON 1.0) into a
//! typed call on the process manager's [`Engine`] and its result into the reply an SDK expects:
//! camelCase members, timestamps as epoch seconds, errors as `{"__type", "message"}` with AWS's
//! status codes.
//!
//! - `actions`: one module per family of actions (state machines, executions, activities
//!   and callbacks, tags), each a typed input and a function that answers it.
//! - `errors`: the error catalogue (code → wire name, HTTP status).
//! - `shapes`: small shapes several actions share (tags, timestamps, required members).
//!
//! Architecture invariant: no storage types, no HTTP framework and no Step Functions rule here;
//! the rules are the engine's.

mod actions;
mod errors;
mod shapes;

use serde::de::DeserializeOwned;
use serde_json::Value;
use tern_aws_wire::{WireResponse, json};
use tern_sfn::{Engine, SfnError};

pub use errors::error_response;

/// `X-Amz-Target` prefix of every Step Functions request.
pub const TARGET_PREFIX: &str = "AWSStepFunctions";
/// The SigV4 service name Step Functions requests are signed for.
pub const SIGNING_SERVICE: &str = "states";

/// What a request carries besides its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestContext {
    /// The region of the request's SigV4 scope (or the server's default): new ARNs name it.
    pub region: String,
}

/// Whether an `X-Amz-Target` value is a Step Functions one.
pub fn is_sfn_target(target: &str) -> bool {
    json::operation_from_target(target, TARGET_PREFIX).is_some()
}

pub(crate) enum ApiError {
    Sfn(SfnError),
    Serialization(String),
    UnknownOperation(String),
}

impl From<SfnError> for ApiError {
    fn from(error: SfnError) -> ApiError {
        ApiError::Sfn(error)
    }
}

pub(crate) type ApiResult = Result<Value, ApiError>;

fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let body: &[u8] = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        body
    };
    serde_json::from_slice(body).map_err(|error| ApiError::Serialization(error.to_string()))
}

/// Handles one JSON 1.0 request. `target` is the `X-Amz-Target` header.
pub async fn handle_json(
    engine: &Engine,
    context: &RequestContext,
    target: Option<&str>,
    body: &[u8],
) -> WireResponse {
    let request_id = tern_aws_wire::new_request_id();
    let operation = target
        .and_then(|target| json::operation_from_target(target, TARGET_PREFIX))
        .unwrap_or_default();
    let result = run(engine, context, operation, body).await;
    match result {
        Ok(value) => {
            let value = without_nulls(value);
            json::success(&request_id, serde_json::to_vec(&value).unwrap_or_default())
        }
        Err(ApiError::Sfn(error)) => error_response(&request_id, &error),
        Err(ApiError::Serialization(detail)) => errors::respond(
            &request_id,
            errors::SERIALIZATION,
            400,
            &format!("Unable to read the request body: {detail}"),
        ),
        Err(ApiError::UnknownOperation(operation)) => errors::respond(
            &request_id,
            errors::UNKNOWN_OPERATION,
            400,
            &format!("Unknown operation: '{operation}'"),
        ),
    }
}

/// Absent members are left out rather than sent as `null`, as AWS's replies do.
fn without_nulls(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, without_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(without_nulls).collect()),
        other => other,
    }
}

async fn run(engine: &Engine, context: &RequestContext, operation: &str, body: &[u8]) -> ApiResult {
    use actions::{activities, executions, machines, tags};
    match operation {
        "CreateStateMachine" => machines::create(engine, context, parse(body)?).await,
        "UpdateStateMachine" => machines::update(engine, parse(body)?).await,
        "DeleteStateMachine" => machines::delete(engine, parse(body)?).await,
        "DescribeStateMachine" => machines::describe(engine, parse(body)?),
        "ListStateMachines" => machines::list(engine, context, parse(body)?),
        "ValidateStateMachineDefinition" => machines::validate(engine, parse(body)?),
        "DescribeStateMachineForExecution" => {
            machines::describe_for_execution(engine, parse(body)?).await
        }
        "StartExecution" => executions::start(engine, parse(body)?).await,
        "StartSyncExecution" => executions::start_sync(engine, parse(body)?).await,
        "StopExecution" => executions::stop(engine, parse(body)?).await,
        "DescribeExecution" => executions::describe(engine, parse(body)?).await,
        "ListExecutions" => executions::list(engine, parse(body)?).await,
        "GetExecutionHistory" => executions::history(engine, parse(body)?).await,
        "RedriveExecution" => executions::redrive(engine, parse(body)?).await,
        "SendTaskSuccess" => activities::send_task_success(engine, parse(body)?).await,
        "SendTaskFailure" => activities::send_task_failure(engine, parse(body)?).await,
        "SendTaskHeartbeat" => activities::send_task_heartbeat(engine, parse(body)?).await,
        "CreateActivity" => activities::create(engine, context, parse(body)?).await,
        "DeleteActivity" => activities::delete(engine, parse(body)?).await,
        "DescribeActivity" => activities::describe(engine, parse(body)?),
        "ListActivities" => activities::list(engine, context, parse(body)?),
        "GetActivityTask" => activities::get_activity_task(engine, parse(body)?).await,
        "TagResource" => tags::tag(engine, parse(body)?).await,
        "UntagResource" => tags::untag(engine, parse(body)?).await,
        "ListTagsForResource" => tags::list(engine, parse(body)?),
        other => Err(ApiError::UnknownOperation(other.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn absent_members_are_left_out_at_every_depth() {
        let value = json!({"a": null, "b": {"c": null, "d": 1}, "e": [{"f": null}]});
        assert_eq!(without_nulls(value), json!({"b": {"d": 1}, "e": [{}]}));
    }

    #[test]
    fn an_empty_body_is_an_empty_input_and_bad_json_a_serialization_error() {
        #[derive(serde::Deserialize)]
        struct Input {
            name: Option<String>,
        }
        let empty: Input = parse(b"  ").ok().expect("empty body");
        assert_eq!(empty.name, None);
        assert!(matches!(
            parse::<Input>(b"{\"name\": 5}"),
            Err(ApiError::Serialization(_))
        ));
    }

    #[test]
    fn only_step_functions_targets_are_ours() {
        assert!(is_sfn_target("AWSStepFunctions.StartExecution"));
        assert!(!is_sfn_target("AmazonSQS.SendMessage"));
        assert!(!is_sfn_target("AWSStepFunctions."));
    }
}
