//! The process manager's storage contract: state machines, activities, executions with their
//! history, timers and pending tasks, in the engine's terms.
//!
//! The unit of durability is one interpreter step: [`ProcessStore::commit_step`] writes the
//! execution's new state, the history events the step produced and the timer and task changes
//! in **one** commit, so a crash can never leave history without the state that produced it, or
//! a timer without the wait that armed it.
//!
//! Payloads (definitions, inputs, outputs, history details, the serialised interpreter state)
//! are opaque JSON text here: the store neither parses nor validates them.

use std::collections::BTreeMap;

use tern_core::time::Millis;

use crate::StoreFuture;

/// A state machine as created and last updated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateMachineRecord {
    pub arn: String,
    pub name: String,
    pub definition: String,
    /// `STANDARD` or `EXPRESS`.
    pub machine_type: String,
    pub role_arn: String,
    /// `LoggingConfiguration` as JSON text.
    pub logging: String,
    /// `TracingConfiguration` as JSON text.
    pub tracing: String,
    pub description: String,
    pub tags: BTreeMap<String, String>,
    pub created_at: Millis,
    pub updated_at: Option<Millis>,
    /// Changes on every definition or configuration update.
    pub revision_id: String,
    /// `DeleteStateMachine` was called while executions were still running.
    pub deleting: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityRecord {
    pub arn: String,
    pub name: String,
    pub tags: BTreeMap<String, String>,
    pub created_at: Millis,
}

/// An execution's status as `DescribeExecution` spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExecutionStatus {
    Running,
    Succeeded,
    Failed,
    TimedOut,
    Aborted,
}

impl ExecutionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ExecutionStatus::Running => "RUNNING",
            ExecutionStatus::Succeeded => "SUCCEEDED",
            ExecutionStatus::Failed => "FAILED",
            ExecutionStatus::TimedOut => "TIMED_OUT",
            ExecutionStatus::Aborted => "ABORTED",
        }
    }

    pub fn parse(text: &str) -> Option<ExecutionStatus> {
        Some(match text {
            "RUNNING" => ExecutionStatus::Running,
            "SUCCEEDED" => ExecutionStatus::Succeeded,
            "FAILED" => ExecutionStatus::Failed,
            "TIMED_OUT" => ExecutionStatus::TimedOut,
            "ABORTED" => ExecutionStatus::Aborted,
            _ => return None,
        })
    }
}

/// One execution of a STANDARD state machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutionRecord {
    pub arn: String,
    pub name: String,
    pub state_machine_arn: String,
    /// The definition the execution runs, fixed at its start (updates do not reach it).
    pub definition: String,
    /// The state machine's revision when the execution started.
    pub revision_id: String,
    pub role_arn: String,
    pub status: ExecutionStatus,
    pub input: String,
    pub output: Option<String>,
    pub error: Option<String>,
    pub cause: Option<String>,
    pub started_at: Millis,
    pub stopped_at: Option<Millis>,
    pub redrive_count: u32,
    pub redriven_at: Option<Millis>,
    /// The serialised interpreter state.
    pub state: String,
    /// The task token of a parent execution's `states:startExecution` task, if any.
    pub parent_token: Option<String>,
    /// Insertion order, assigned by the store; newest executions list first.
    pub seq: u64,
}

/// One history event, append-only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryRecord {
    pub event_id: u64,
    pub previous_event_id: u64,
    pub timestamp: Millis,
    pub event_type: String,
    /// The event's details object as JSON text.
    pub details: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimerRecord {
    pub execution_arn: String,
    pub timer_id: u64,
    pub due_at: Millis,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskStatus {
    /// Recorded, not yet handed to its integration (or, for an activity, to a worker).
    Scheduled,
    /// Handed over: a worker or callback now owns it, so a restart must not hand it out again.
    Started,
}

/// A task the engine waits for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskRecord {
    pub token: String,
    pub execution_arn: String,
    pub task_id: u64,
    pub resource: String,
    /// The task's effective parameters as JSON text.
    pub parameters: String,
    pub status: TaskStatus,
    pub timeout_seconds: Option<u64>,
    pub heartbeat_seconds: Option<u64>,
    pub created_at: Millis,
}

/// Everything one interpreter step changed, committed together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepCommit {
    /// The execution after the step (status, output, state, …); replaces the stored row.
    pub execution: ExecutionRecord,
    pub history: Vec<HistoryRecord>,
    pub timers_added: Vec<TimerRecord>,
    pub timers_removed: Vec<u64>,
    pub tasks_added: Vec<TaskRecord>,
    /// Task ids of this execution that are settled or cancelled.
    pub tasks_removed: Vec<u64>,
    /// Task ids of this execution that were handed over.
    pub tasks_started: Vec<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreateOutcome<T> {
    Created(T),
    AlreadyExists(T),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartOutcome {
    Started(ExecutionRecord),
    /// An execution with this ARN exists already; nothing was written.
    AlreadyExists(ExecutionRecord),
}

/// Which executions to list, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExecutionQuery {
    pub state_machine_arn: String,
    pub status: Option<ExecutionStatus>,
    /// `Some(true)`: only executions redriven at least once; `Some(false)`: only the others.
    pub redriven: Option<bool>,
    /// Only executions older than this `seq` (the page cursor).
    pub before_seq: Option<u64>,
    pub limit: u32,
}

/// Which slice of an execution's history to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryQuery {
    pub execution_arn: String,
    pub reverse: bool,
    /// Events strictly after (or, reversed, before) this id.
    pub after_event_id: Option<u64>,
    pub limit: u32,
}

/// Everything the engine reloads at start-up to resume running executions.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RunningProcesses {
    pub executions: Vec<ExecutionRecord>,
    pub timers: Vec<TimerRecord>,
    pub tasks: Vec<TaskRecord>,
}

/// A durable home for the process manager.
///
/// Same contract as [`crate::Store`]: an `Ok` for a change means it is on stable storage, and
/// each method is one atomic commit.
pub trait ProcessStore: Send + Sync + 'static {
    fn load_state_machines(&self) -> StoreFuture<'_, Vec<StateMachineRecord>>;

    /// Creates the machine, or returns the existing record if its ARN is taken.
    fn create_state_machine(
        &self,
        machine: StateMachineRecord,
    ) -> StoreFuture<'_, CreateOutcome<StateMachineRecord>>;

    /// Replaces the machine's record. `false` if it is gone.
    fn update_state_machine(&self, machine: StateMachineRecord) -> StoreFuture<'_, bool>;

    /// `false` if it was already gone. Its executions stay (AWS keeps them after deletion).
    fn delete_state_machine(&self, arn: String) -> StoreFuture<'_, bool>;

    fn load_activities(&self) -> StoreFuture<'_, Vec<ActivityRecord>>;

    /// Creates the activity, or returns the existing record if its ARN is taken.
    fn create_activity(
        &self,
        activity: ActivityRecord,
    ) -> StoreFuture<'_, CreateOutcome<ActivityRecord>>;

    /// Replaces the activity's tags. `false` if it is gone.
    fn update_activity(&self, activity: ActivityRecord) -> StoreFuture<'_, bool>;

    fn delete_activity(&self, arn: String) -> StoreFuture<'_, bool>;

    /// Inserts a new execution with its first step, unless its ARN exists (then returns that
    /// one and writes nothing). The stored record's `seq` is assigned here.
    fn start_execution(&self, first_step: StepCommit) -> StoreFuture<'_, StartOutcome>;

    /// Applies one step of an existing execution. History ids must continue the stored ones.
    fn commit_step(&self, step: StepCommit) -> StoreFuture<'_, ()>;

    fn execution(&self, arn: String) -> StoreFuture<'_, Option<ExecutionRecord>>;

    fn list_executions(&self, query: ExecutionQuery) -> StoreFuture<'_, Vec<ExecutionRecord>>;

    fn history(&self, query: HistoryQuery) -> StoreFuture<'_, Vec<HistoryRecord>>;

    /// Running executions with their timers and pending tasks, for start-up.
    fn load_running(&self) -> StoreFuture<'_, RunningProcesses>;
}
