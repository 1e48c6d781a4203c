//! Executions: start (asynchronous, synchronous for EXPRESS, idempotent by name), stop,
//! describe, list, history and redrive.

use std::sync::Arc;

use serde_json::Value;
use tern_asl::definition::Definition;
use tern_asl::interpreter::{self, Event, Execution, ExecutionInfo};
use tern_core::time::Millis;
use tern_store::processes::{
    ExecutionQuery, ExecutionRecord, ExecutionStatus, HistoryQuery, HistoryRecord, StartOutcome,
};

use crate::arn::{self, ArnKind};
use crate::errors::{SfnError, SfnErrorCode, store_error};
use crate::runner::{DeliverError, NOTHING_PENDING, Runner};
use crate::{Engine, lock};

/// Bound on executions running at once; past it `StartExecution` is refused.
pub const RUNNING_EXECUTIONS_MAX: usize = 1_000_000;
/// AWS's limit on an execution's input and a task's output.
pub const PAYLOAD_BYTES_MAX: usize = 256 * 1024;
pub const ERROR_CHARACTERS_MAX: usize = 256;
pub const CAUSE_CHARACTERS_MAX: usize = 32_768;
/// `maxResults` when a list request gives none (or 0), and its ceiling.
pub const PAGE_SIZE_DEFAULT: u32 = 100;
pub const PAGE_SIZE_MAX: u32 = 1000;
/// An EXPRESS execution runs at most five minutes, as in AWS (scaled like every delay).
const EXPRESS_DURATION_MAX_MS: i64 = 5 * 60 * 1000;
/// The timer id of that limit; the interpreter's own ids count up from 1 and never reach it.
const EXPRESS_LIMIT_TIMER: u64 = u64::MAX;
/// Redrive is allowed this long after an execution stopped, as in AWS (14 days).
const REDRIVE_WINDOW_MS: Millis = 14 * 24 * 3600 * 1000;
const REDRIVES_MAX: u32 = 1000;

#[derive(Debug, Clone, Default)]
pub struct StartExecution {
    pub state_machine_arn: String,
    pub name: Option<String>,
    pub input: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartedExecution {
    pub execution_arn: String,
    pub start_date: Millis,
}

#[derive(Debug, Clone)]
pub struct ExecutionDescription {
    pub record: ExecutionRecord,
    pub redrivable: bool,
}

#[derive(Debug, Clone, Default)]
pub struct ListExecutions {
    pub state_machine_arn: String,
    pub status: Option<ExecutionStatus>,
    /// `redriveFilter`: `Some(true)` for REDRIVEN, `Some(false)` for NOT_REDRIVEN.
    pub redriven: Option<bool>,
    pub max_results: u32,
    pub next_token: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ExecutionPage {
    pub executions: Vec<ExecutionDescription>,
    pub next_token: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct HistoryRequest {
    pub execution_arn: String,
    pub max_results: u32,
    pub reverse: bool,
    pub next_token: Option<String>,
    pub include_data: bool,
}

#[derive(Debug, Clone)]
pub struct HistoryPage {
    pub events: Vec<HistoryRecord>,
    pub next_token: Option<String>,
}

pub(crate) fn page_size(max_results: u32) -> Result<u32, SfnError> {
    match max_results {
        0 => Ok(PAGE_SIZE_DEFAULT),
        n if n <= PAGE_SIZE_MAX => Ok(n),
        n => Err(SfnError::validation(format!(
            "1 validation error detected: Value '{n}' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to {PAGE_SIZE_MAX}"
        ))),
    }
}

pub(crate) fn invalid_token(token: &str) -> SfnError {
    SfnError::new(
        SfnErrorCode::InvalidToken,
        format!("Invalid Token: '{token}'"),
    )
}

/// A `nextToken` of ListExecutions or GetExecutionHistory, back to the position it names.
fn token_position(token: Option<&str>) -> Result<Option<u64>, SfnError> {
    token
        .map(|token| token.parse::<u64>().map_err(|_| invalid_token(token)))
        .transpose()
}

/// Cuts `items`, looked up `limit + 1` at a time so that the last says whether another page
/// follows, to `limit`; returns the next page's token, the position of the last item kept.
pub(crate) fn cut_page<T, P: ToString>(
    items: &mut Vec<T>,
    limit: usize,
    position: impl Fn(&T) -> P,
) -> Option<String> {
    let more = items.len() > limit;
    items.truncate(limit);
    more.then(|| items.last().map(|item| position(item).to_string()))
        .flatten()
}

/// Parses an execution input: JSON text of at most 256 KiB.
pub(crate) fn parse_input(input: Option<&str>) -> Result<(String, Value), SfnError> {
    let text = input.unwrap_or("{}");
    if text.len() > PAYLOAD_BYTES_MAX {
        return Err(SfnError::new(
            SfnErrorCode::InvalidExecutionInput,
            format!(
                "Invalid State Machine Execution Input: 'The input exceeds the maximum size of {PAYLOAD_BYTES_MAX} bytes.'"
            ),
        ));
    }
    let value: Value = serde_json::from_str(text).map_err(|error| {
        SfnError::new(
            SfnErrorCode::InvalidExecutionInput,
            format!("Invalid State Machine Execution Input: '{error}'"),
        )
    })?;
    Ok((text.to_owned(), value))
}

fn unavailable() -> SfnError {
    SfnError::new(
        SfnErrorCode::ServiceUnavailable,
        "The service is shutting down.",
    )
}

fn redrivable(record: &ExecutionRecord) -> bool {
    serde_json::from_str::<Execution>(&record.state).is_ok_and(|e| e.is_redrivable())
}

impl Engine {
    pub async fn start_execution(
        &self,
        request: StartExecution,
    ) -> Result<StartedExecution, SfnError> {
        let (runner, started) = self.start_inner(request, None, false).await?;
        drop(runner);
        Ok(started)
    }

    /// `StartSyncExecution`: runs an EXPRESS execution to its end and returns its record.
    pub async fn start_sync_execution(
        &self,
        request: StartExecution,
    ) -> Result<ExecutionRecord, SfnError> {
        let (runner, _) = self.start_inner(request, None, true).await?;
        let Some(runner) = runner else {
            return Err(SfnError::internal("the execution did not start"));
        };
        let mut finished = runner.finished.subscribe();
        // Shutdown must not wait for an execution that waits for a worker.
        let shutdown = self.shutdown.notified();
        tokio::pin!(shutdown);
        shutdown.as_mut().enable();
        if self.is_shutting_down() {
            return Err(unavailable());
        }
        let record = tokio::select! {
            record = finished.wait_for(Option::is_some) => record
                .map_err(|_| SfnError::internal("the execution was dropped"))?
                .clone(),
            _ = &mut shutdown => return Err(unavailable()),
        };
        record.ok_or_else(|| SfnError::internal("the execution did not finish"))
    }

    /// Starts an execution; `parent_token` names the `states:startExecution` task of a parent.
    pub(crate) async fn start_inner(
        &self,
        request: StartExecution,
        parent_token: Option<String>,
        sync: bool,
    ) -> Result<(Option<Arc<Runner>>, StartedExecution), SfnError> {
        let machine_arn = arn::expect(&request.state_machine_arn, ArnKind::StateMachine)?;
        let machine = lock(&self.machines)
            .get(&request.state_machine_arn)
            .cloned()
            .ok_or_else(|| SfnError::machine_not_found(&request.state_machine_arn))?;
        if machine.deleting {
            return Err(SfnError::new(
                SfnErrorCode::StateMachineDeleting,
                format!("State machine is being deleted: '{}'", machine.arn),
            ));
        }
        let express = machine.machine_type == "EXPRESS";
        if sync && !express {
            return Err(SfnError::new(
                SfnErrorCode::StateMachineTypeNotSupported,
                "This operation is not supported by this type of state machine",
            ));
        }
        let name = match request.name {
            Some(name) => {
                arn::validate_name(&name)?;
                name
            }
            None => uuid::Uuid::new_v4().to_string(),
        };
        let (input_text, input) = parse_input(request.input.as_deref())?;
        let definition = self.definition_of(&machine.arn, &machine.definition)?;
        let execution_arn = if express {
            arn::express_execution_of(&machine_arn, &name, &uuid::Uuid::new_v4().to_string())
        } else {
            arn::execution_of(&machine_arn, &name)
        };
        if let Some(existing) = self.runner(&execution_arn) {
            let record = existing.state.lock().await.record.clone();
            return idempotent(record, &input_text).map(|started| (None, started));
        }
        if lock(&self.running).len() >= RUNNING_EXECUTIONS_MAX {
            return Err(SfnError::new(
                SfnErrorCode::ExecutionLimitExceeded,
                format!(
                    "Execution Limit Exceeded: at most {RUNNING_EXECUTIONS_MAX} executions run at once"
                ),
            ));
        }
        let now = self.now();
        let info = ExecutionInfo {
            execution_arn: execution_arn.clone(),
            name: name.clone(),
            state_machine_arn: machine.arn.clone(),
            state_machine_name: machine.name.clone(),
            role_arn: machine.role_arn.clone(),
            input,
            start_ms: self.now_ms(),
        };
        let seed = uuid::Uuid::new_v4().as_u64_pair().0;
        let (execution, effects) = interpreter::start(&definition, info, seed, self.now_ms());
        let record = ExecutionRecord {
            arn: execution_arn.clone(),
            name,
            state_machine_arn: machine.arn.clone(),
            definition: machine.definition.clone(),
            revision_id: machine.revision_id.clone(),
            role_arn: machine.role_arn.clone(),
            status: ExecutionStatus::Running,
            input: input_text.clone(),
            output: None,
            error: None,
            cause: None,
            started_at: now,
            stopped_at: None,
            redrive_count: 0,
            redriven_at: None,
            state: String::new(),
            parent_token,
            seq: 0,
        };
        let runner = Runner::new(record, definition, execution, !express);
        let mut state = runner.state.lock().await;
        let plan = self.plan_first_step(&mut state, effects)?;
        if runner.durable {
            match self
                .store
                .start_execution(plan.commit.clone())
                .await
                .map_err(store_error)?
            {
                StartOutcome::Started(stored) => state.record.seq = stored.seq,
                StartOutcome::AlreadyExists(existing) => {
                    return idempotent(existing, &input_text).map(|started| (None, started));
                }
            }
        }
        lock(&self.running).insert(execution_arn.clone(), runner.clone());
        self.perform(&runner, &mut state, plan, &NOTHING_PENDING, &[]);
        if express && state.record.status == ExecutionStatus::Running {
            let now_ms = self.now_ms();
            let due = self.scaled_due(now_ms, now_ms.saturating_add(EXPRESS_DURATION_MAX_MS));
            let limit = self.arm_time_limit(&execution_arn, due);
            state.timers.insert(EXPRESS_LIMIT_TIMER, limit);
        }
        drop(state);
        Ok((
            Some(runner),
            StartedExecution {
                execution_arn,
                start_date: now,
            },
        ))
    }

    /// The parsed definition of a machine revision (parsed once, kept while the text is the
    /// same).
    pub(crate) fn definition_of(&self, arn: &str, text: &str) -> Result<Arc<Definition>, SfnError> {
        let mut cache = lock(&self.definitions);
        if let Some((cached_text, definition)) = cache.get(arn)
            && cached_text == text
        {
            return Ok(definition.clone());
        }
        let definition = Arc::new(
            tern_asl::parse::parse_str(text)
                .map_err(|error| crate::catalogue::invalid_definition(&error))?,
        );
        cache.insert(arn.to_owned(), (text.to_owned(), definition.clone()));
        Ok(definition)
    }

    pub async fn stop_execution(
        &self,
        execution_arn: &str,
        error: Option<String>,
        cause: Option<String>,
    ) -> Result<Millis, SfnError> {
        arn::expect(execution_arn, ArnKind::Execution)?;
        check_error_and_cause(error.as_deref(), cause.as_deref())?;
        match self
            .deliver(
                execution_arn,
                vec![Event::Stop { error, cause }],
                Vec::new(),
            )
            .await
        {
            Ok(()) | Err(DeliverError::NotRunning | DeliverError::Stale) => {}
            Err(DeliverError::Store(error)) => return Err(error),
        }
        let record = self.describe_execution(execution_arn).await?.record;
        Ok(record.stopped_at.unwrap_or_else(|| self.now()))
    }

    pub async fn describe_execution(
        &self,
        execution_arn: &str,
    ) -> Result<ExecutionDescription, SfnError> {
        arn::expect(execution_arn, ArnKind::Execution)?;
        if let Some(runner) = self.runner(execution_arn) {
            let record = runner.state.lock().await.record.clone();
            return Ok(ExecutionDescription {
                record,
                redrivable: false,
            });
        }
        let record = self
            .store
            .execution(execution_arn.to_owned())
            .await
            .map_err(store_error)?
            .ok_or_else(|| SfnError::execution_not_found(execution_arn))?;
        Ok(ExecutionDescription {
            redrivable: redrivable(&record),
            record,
        })
    }

    pub async fn list_executions(
        &self,
        request: ListExecutions,
    ) -> Result<ExecutionPage, SfnError> {
        arn::expect(&request.state_machine_arn, ArnKind::StateMachine)?;
        let limit = page_size(request.max_results)?;
        let machine_type = lock(&self.machines)
            .get(&request.state_machine_arn)
            .map(|m| m.machine_type.clone())
            .ok_or_else(|| SfnError::machine_not_found(&request.state_machine_arn))?;
        if machine_type == "EXPRESS" {
            return Err(SfnError::new(
                SfnErrorCode::StateMachineTypeNotSupported,
                "This operation is not supported by this type of state machine",
            ));
        }
        let before_seq = token_position(request.next_token.as_deref())?;
        let mut records = self
            .store
            .list_executions(ExecutionQuery {
                state_machine_arn: request.state_machine_arn.clone(),
                status: request.status,
                redriven: request.redriven,
                before_seq,
                limit: limit + 1,
            })
            .await
            .map_err(store_error)?;
        let next_token = cut_page(&mut records, limit as usize, |r| r.seq);
        let executions = records
            .into_iter()
            .map(|record| ExecutionDescription {
                redrivable: redrivable(&record),
                record,
            })
            .collect();
        Ok(ExecutionPage {
            executions,
            next_token,
        })
    }

    pub async fn execution_history(
        &self,
        request: HistoryRequest,
    ) -> Result<HistoryPage, SfnError> {
        let parsed = arn::expect(&request.execution_arn, ArnKind::Execution)?;
        if parsed.kind == ArnKind::ExpressExecution {
            return Err(SfnError::new(
                SfnErrorCode::InvalidArn,
                format!(
                    "Invalid Arn: 'Resource type not valid in this context: express' ({})",
                    request.execution_arn
                ),
            ));
        }
        let limit = page_size(request.max_results)?;
        let after_event_id = token_position(request.next_token.as_deref())?;
        if self.runner(&request.execution_arn).is_none()
            && self
                .store
                .execution(request.execution_arn.clone())
                .await
                .map_err(store_error)?
                .is_none()
        {
            return Err(SfnError::execution_not_found(&request.execution_arn));
        }
        let mut events = self
            .store
            .history(HistoryQuery {
                execution_arn: request.execution_arn.clone(),
                reverse: request.reverse,
                after_event_id,
                limit: limit + 1,
            })
            .await
            .map_err(store_error)?;
        let next_token = cut_page(&mut events, limit as usize, |e| e.event_id);
        if !request.include_data {
            for event in &mut events {
                event.details = event.details.take().map(|d| without_data(&d));
            }
        }
        Ok(HistoryPage { events, next_token })
    }

    pub async fn redrive_execution(&self, execution_arn: &str) -> Result<Millis, SfnError> {
        let parsed = arn::expect(execution_arn, ArnKind::Execution)?;
        let not_redrivable = |why: &str| {
            SfnError::new(
                SfnErrorCode::ExecutionNotRedrivable,
                format!("Execution is not redrivable: {why}"),
            )
        };
        if parsed.kind == ArnKind::ExpressExecution {
            return Err(not_redrivable(
                "executions of EXPRESS state machines cannot be redriven",
            ));
        }
        let _admin = self.admin_lock.lock().await;
        if self.runner(execution_arn).is_some() {
            return Err(not_redrivable("the execution is RUNNING"));
        }
        let mut record = self
            .store
            .execution(execution_arn.to_owned())
            .await
            .map_err(store_error)?
            .ok_or_else(|| SfnError::execution_not_found(execution_arn))?;
        if record.status == ExecutionStatus::Succeeded {
            return Err(not_redrivable("the execution SUCCEEDED"));
        }
        let now = self.now();
        if record
            .stopped_at
            .is_some_and(|stopped| now.saturating_sub(stopped) > REDRIVE_WINDOW_MS)
        {
            return Err(not_redrivable(
                "the execution stopped more than 14 days ago",
            ));
        }
        if record.redrive_count >= REDRIVES_MAX {
            return Err(not_redrivable("the execution was redriven 1000 times"));
        }
        if !lock(&self.machines).contains_key(&record.state_machine_arn) {
            return Err(not_redrivable("its state machine was deleted"));
        }
        let mut execution: Execution = serde_json::from_str(&record.state)
            .map_err(|_| not_redrivable("its state cannot be resumed"))?;
        let definition = self.definition_of(&record.state_machine_arn, &record.definition)?;
        let effects = interpreter::redrive(&definition, &mut execution, self.now_ms())
            .map_err(|error| not_redrivable(&error.to_string()))?;
        record.status = ExecutionStatus::Running;
        record.output = None;
        record.error = None;
        record.cause = None;
        record.stopped_at = None;
        record.redriven_at = Some(now);
        let runner = Runner::new(record, definition, execution, true);
        let mut state = runner.state.lock().await;
        let plan = self.plan_first_step(&mut state, effects)?;
        self.store
            .commit_step(plan.commit.clone())
            .await
            .map_err(store_error)?;
        lock(&self.running).insert(execution_arn.to_owned(), runner.clone());
        self.perform(&runner, &mut state, plan, &NOTHING_PENDING, &[]);
        Ok(now)
    }
}

/// `StartExecution` with the name of an execution that exists: the same call again (same input,
/// still running) returns the original answer; anything else is `ExecutionAlreadyExists`.
fn idempotent(existing: ExecutionRecord, input: &str) -> Result<StartedExecution, SfnError> {
    if existing.status == ExecutionStatus::Running && existing.input == input {
        return Ok(StartedExecution {
            execution_arn: existing.arn,
            start_date: existing.started_at,
        });
    }
    Err(SfnError::new(
        SfnErrorCode::ExecutionAlreadyExists,
        format!("Execution Already Exists: '{}'", existing.arn),
    ))
}

pub(crate) fn check_error_and_cause(
    error: Option<&str>,
    cause: Option<&str>,
) -> Result<(), SfnError> {
    let too_long = |field: &str, limit: usize, value: &str| {
        SfnError::validation(format!(
            "1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: Member must have length less than or equal to {limit}"
        ))
    };
    if let Some(error) = error.filter(|e| e.chars().count() > ERROR_CHARACTERS_MAX) {
        return Err(too_long("error", ERROR_CHARACTERS_MAX, error));
    }
    if let Some(cause) = cause.filter(|c| c.chars().count() > CAUSE_CHARACTERS_MAX) {
        return Err(too_long("cause", CAUSE_CHARACTERS_MAX, cause));
    }
    Ok(())
}

/// History details with `includeExecutionData: false`: inputs, outputs and parameters dropped.
fn without_data(details: &str) -> String {
    match serde_json::from_str::<Value>(details) {
        Ok(Value::Object(mut map)) => {
            for key in [
                "input",
                "output",
                "parameters",
                "inputDetails",
                "outputDetails",
            ] {
                map.remove(key);
            }
            Value::Object(map).to_string()
        }
        _ => details.to_owned(),
    }
}
