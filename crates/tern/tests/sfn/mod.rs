//! Step Functions helpers: an `aws-sdk-sfn` client for a test server (with the `sync-` host
//! prefix of StartSyncExecution routed to it), its failures as (status, code, message),
//! waiting for an execution's end, reading whole histories, and a small HTTP stub that plays
//! Lambda functions and `http:invoke` targets.
//!
//! Every wait here is bounded by [`EXECUTION_TIMEOUT`].

pub mod admin;
pub mod callbacks;
pub mod durability;
pub mod errors;
pub mod executions;
pub mod https;
pub mod integrations;
pub mod loan_broker;
pub mod stub;

use std::fmt::Debug;
use std::future::Future;
use std::time::{Duration, Instant};

use aws_sdk_sfn::config::interceptors::BeforeTransmitInterceptorContextMut;
use aws_sdk_sfn::config::{BehaviorVersion, ConfigBag, Intercept, Region, RuntimeComponents};
use aws_sdk_sfn::error::{BoxError, ProvideErrorMetadata, SdkError};
use aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput;
use aws_sdk_sfn::types::{ExecutionStatus, HistoryEvent, HistoryEventType, StateMachineType};
use serde_json::Value;

use crate::common::{DEFAULT_REGION, TestServer, test_credentials, test_timeouts};

pub const ROLE: &str = "arn:aws:iam::000000000000:role/StepFunctions";
/// Upper bound on one execution reaching the state a test waits for.
pub const EXECUTION_TIMEOUT: Duration = Duration::from_secs(30);
/// GetActivityTask waits up to 60 s; the client must wait longer.
const SFN_OPERATION_TIMEOUT: Duration = Duration::from_secs(75);
/// Most tests run with delays scaled down by this (`--time-scale`).
pub const FAST: &str = "0.01";

/// SDKs send StartSyncExecution to `sync-HOST`. A user whose endpoint is `http://localhost:PORT`
/// makes `sync-localhost` resolve to the same address (an `/etc/hosts` line, or a DNS resolver
/// in the HTTP client). This interceptor does what such a resolver does: the request keeps its
/// `Host: sync-localhost:PORT` and signature, and connects to the address `localhost` has.
#[derive(Debug)]
struct ResolveSyncPrefix;

impl Intercept for ResolveSyncPrefix {
    fn name(&self) -> &'static str {
        "ResolveSyncPrefix"
    }

    fn modify_before_transmit(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request_mut();
        let uri = request.uri().to_owned();
        let Some(rest) = uri.strip_prefix("http://sync-localhost") else {
            return Ok(());
        };
        let authority = format!(
            "sync-localhost{}",
            rest.split('/').next().unwrap_or_default()
        );
        request.headers_mut().insert("host", authority);
        request.set_uri(format!("http://127.0.0.1{rest}"))?;
        Ok(())
    }
}

/// A client for `server` whose endpoint is `http://localhost:PORT`, as a user's would be.
pub fn sfn_client(server: &TestServer) -> aws_sdk_sfn::Client {
    let config = aws_sdk_sfn::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(DEFAULT_REGION))
        .credentials_provider(test_credentials())
        .endpoint_url(format!("http://localhost:{}", server.port()))
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .interceptor(ResolveSyncPrefix)
        .timeout_config(test_timeouts(SFN_OPERATION_TIMEOUT))
        .build();
    aws_sdk_sfn::Client::from_conf(config)
}

/// What the client saw for a failed call.
#[derive(Debug)]
pub struct SfnFailure {
    pub status: u16,
    pub code: String,
    pub message: String,
    pub body: String,
}

impl SfnFailure {
    pub fn assert_is(&self, code: &str) {
        assert_eq!(
            (self.status, self.code.as_str()),
            (400, code),
            "unexpected error: {self:?}"
        );
        assert!(!self.message.is_empty(), "no message: {self:?}");
        let body: Value = serde_json::from_str(&self.body).expect("JSON error body");
        assert_eq!(
            body["__type"].as_str().and_then(|t| t.rsplit('#').next()),
            Some(code),
            "__type: {self:?}"
        );
    }
}

pub fn sfn_failure<O: Debug, E: ProvideErrorMetadata + Debug>(
    result: Result<O, SdkError<E, aws_sdk_sfn::config::http::HttpResponse>>,
) -> SfnFailure {
    match result {
        Ok(output) => panic!("expected a Step Functions error, the call succeeded: {output:?}"),
        Err(SdkError::ServiceError(context)) => {
            let status = context.raw().status().as_u16();
            let body = context
                .raw()
                .body()
                .bytes()
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_default();
            let error = context.into_err();
            SfnFailure {
                status,
                code: error.code().unwrap_or_default().to_owned(),
                message: error.message().unwrap_or_default().to_owned(),
                body,
            }
        }
        Err(other) => panic!("expected a service error, got {other:?}"),
    }
}

pub async fn create_machine(
    client: &aws_sdk_sfn::Client,
    name: &str,
    definition: &Value,
) -> String {
    create_typed(client, name, definition, StateMachineType::Standard).await
}

pub async fn create_typed(
    client: &aws_sdk_sfn::Client,
    name: &str,
    definition: &Value,
    machine_type: StateMachineType,
) -> String {
    client
        .create_state_machine()
        .name(name)
        .definition(definition.to_string())
        .role_arn(ROLE)
        .r#type(machine_type)
        .send()
        .await
        .unwrap_or_else(|error| panic!("CreateStateMachine {name}: {error:?}"))
        .state_machine_arn
}

pub async fn create_activity(client: &aws_sdk_sfn::Client, name: &str) -> String {
    client
        .create_activity()
        .name(name)
        .send()
        .await
        .unwrap_or_else(|error| panic!("CreateActivity {name}: {error:?}"))
        .activity_arn
}

/// Takes the next task of `activity` (one long poll) and returns its token and input.
pub async fn take_task(client: &aws_sdk_sfn::Client, activity: &str) -> (String, String) {
    let task = client
        .get_activity_task()
        .activity_arn(activity)
        .send()
        .await
        .unwrap_or_else(|error| panic!("GetActivityTask {activity}: {error:?}"));
    let token = task
        .task_token
        .unwrap_or_else(|| panic!("no task for {activity}"));
    (token, task.input.unwrap_or_default())
}

pub async fn succeed_task(client: &aws_sdk_sfn::Client, token: &str, output: &str) {
    client
        .send_task_success()
        .task_token(token)
        .output(output)
        .send()
        .await
        .unwrap_or_else(|error| panic!("SendTaskSuccess: {error:?}"));
}

/// A worker's turn: takes the next task of `activity`, ends it with `Ok(output)` or
/// `Err(error)`, and returns the task's input.
pub async fn answer_task(
    client: &aws_sdk_sfn::Client,
    activity: &str,
    outcome: Result<&str, &str>,
) -> String {
    let (token, input) = take_task(client, activity).await;
    match outcome {
        Ok(output) => succeed_task(client, &token, output).await,
        Err(error) => {
            client
                .send_task_failure()
                .task_token(&token)
                .error(error)
                .send()
                .await
                .unwrap_or_else(|error| panic!("SendTaskFailure: {error:?}"));
        }
    }
    input
}

pub async fn start(
    client: &aws_sdk_sfn::Client,
    machine: &str,
    name: &str,
    input: &Value,
) -> String {
    client
        .start_execution()
        .state_machine_arn(machine)
        .name(name)
        .input(input.to_string())
        .send()
        .await
        .unwrap_or_else(|error| panic!("StartExecution {name}: {error:?}"))
        .execution_arn
}

/// How often the waits below look again.
const POLL_INTERVAL: Duration = Duration::from_millis(25);

/// Calls `look` until it returns `Some`, or [`EXECUTION_TIMEOUT`] passes (`None`); the caller
/// says what it waited for, with what it saw last.
pub async fn poll_until<T, F, Fut>(mut look: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + EXECUTION_TIMEOUT;
    loop {
        if let Some(found) = look().await {
            return Some(found);
        }
        if Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

pub async fn describe(client: &aws_sdk_sfn::Client, arn: &str) -> DescribeExecutionOutput {
    client
        .describe_execution()
        .execution_arn(arn)
        .send()
        .await
        .unwrap_or_else(|error| panic!("DescribeExecution {arn}: {error:?}"))
}

/// Polls DescribeExecution until the execution leaves RUNNING (bounded).
pub async fn wait_for_end(client: &aws_sdk_sfn::Client, arn: &str) -> DescribeExecutionOutput {
    let ended = poll_until(|| async {
        let described = describe(client, arn).await;
        (described.status != ExecutionStatus::Running).then_some(described)
    })
    .await;
    match ended {
        Some(described) => described,
        None => panic!(
            "{arn} still RUNNING after {EXECUTION_TIMEOUT:?}: {:?}",
            history(client, arn).await
        ),
    }
}

/// Polls the history until an event of `event_type` appears (bounded).
pub async fn wait_for_event(client: &aws_sdk_sfn::Client, arn: &str, event_type: HistoryEventType) {
    let seen = poll_until(|| async {
        let events = history(client, arn).await;
        events.iter().any(|e| e.r#type == event_type).then_some(())
    })
    .await;
    if seen.is_none() {
        panic!(
            "no {event_type:?} in {arn} after {EXECUTION_TIMEOUT:?}: {:?}",
            history(client, arn).await
        );
    }
}

/// The whole history, oldest first, read page by page.
pub async fn history(client: &aws_sdk_sfn::Client, arn: &str) -> Vec<HistoryEvent> {
    let mut events = Vec::new();
    let mut token = None;
    loop {
        let page = client
            .get_execution_history()
            .execution_arn(arn)
            .max_results(100)
            .set_next_token(token)
            .send()
            .await
            .unwrap_or_else(|error| panic!("GetExecutionHistory {arn}: {error:?}"));
        events.extend(page.events);
        token = page.next_token;
        if token.is_none() {
            return events;
        }
    }
}

pub fn event_types(events: &[HistoryEvent]) -> Vec<&str> {
    events.iter().map(|e| e.r#type.as_str()).collect()
}

/// Ids run 1, 2, 3, … with no gap or repeat, and each event chains to an earlier one.
pub fn assert_well_formed(events: &[HistoryEvent]) {
    for (index, event) in events.iter().enumerate() {
        assert_eq!(event.id, index as i64 + 1, "ids: {:?}", event_types(events));
        assert!(
            event.previous_event_id < event.id,
            "previousEventId of {event:?}"
        );
    }
}

/// The output of a SUCCEEDED execution, as JSON.
pub fn output_of(described: &DescribeExecutionOutput) -> Value {
    assert_eq!(
        described.status,
        ExecutionStatus::Succeeded,
        "not SUCCEEDED: {described:?}"
    );
    serde_json::from_str(described.output().expect("output")).expect("JSON output")
}
