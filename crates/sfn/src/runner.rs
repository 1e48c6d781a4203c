//! One actor per running execution.
//!
//! Events for an execution (task answers, timers, stop requests) are applied one at a time under
//! the execution's own async lock, so the interpreter never sees two at once, while different
//! executions run concurrently. For each event: step the interpreter, commit the step (new
//! state, history, timer and task changes) in one store call, and only then perform the effects.
//! If the commit fails, the in-memory state is rolled back to what is stored.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use serde_json::Value;
use tern_asl::definition::Definition;
use tern_asl::interpreter::{self, Effect, Event, Execution, Status, StepError, TaskRequest};
use tern_store::processes::{
    ExecutionRecord, ExecutionStatus, HistoryRecord, StepCommit, TaskRecord, TaskStatus,
    TimerRecord,
};
use tokio::sync::watch;
use tokio::task::AbortHandle;

use crate::errors::{SfnError, store_error};
use crate::{Engine, TaskRef, lock};

/// The timers and tasks pending before a new runner's first step: none.
pub(crate) const NOTHING_PENDING: (BTreeSet<u64>, BTreeSet<u64>) =
    (BTreeSet::new(), BTreeSet::new());

pub(crate) struct Runner {
    pub arn: String,
    pub machine_arn: String,
    /// STANDARD executions are stored; EXPRESS ones live in memory only, as in AWS.
    pub durable: bool,
    pub state: tokio::sync::Mutex<RunnerState>,
    /// The final record once the execution stops, for `StartSyncExecution` and `.sync` parents.
    pub finished: watch::Sender<Option<ExecutionRecord>>,
}

pub(crate) struct RunnerState {
    pub definition: Arc<Definition>,
    pub execution: Execution,
    pub record: ExecutionRecord,
    pub timers: HashMap<u64, AbortHandle>,
    tasks: HashMap<u64, PendingTask>,
}

struct PendingTask {
    token: String,
    /// The in-flight call of a request-response integration, to abort on cancellation.
    call: Option<AbortHandle>,
}

/// Why an event was not applied.
#[derive(Debug)]
pub(crate) enum DeliverError {
    /// The execution is not running (here).
    NotRunning,
    /// Every event named a task or timer the execution no longer waits for.
    Stale,
    Store(SfnError),
}

impl Runner {
    pub fn new(
        record: ExecutionRecord,
        definition: Arc<Definition>,
        execution: Execution,
        durable: bool,
    ) -> Arc<Runner> {
        Arc::new(Runner {
            arn: record.arn.clone(),
            machine_arn: record.state_machine_arn.clone(),
            durable,
            state: tokio::sync::Mutex::new(RunnerState {
                definition,
                execution,
                record,
                timers: HashMap::new(),
                tasks: HashMap::new(),
            }),
            finished: watch::channel(None).0,
        })
    }
}

pub(crate) fn status_of(status: Status) -> ExecutionStatus {
    match status {
        Status::Running => ExecutionStatus::Running,
        Status::Succeeded => ExecutionStatus::Succeeded,
        Status::Failed => ExecutionStatus::Failed,
        Status::TimedOut => ExecutionStatus::TimedOut,
        Status::Aborted => ExecutionStatus::Aborted,
    }
}

/// What a step changed, for the store and for performing afterwards.
pub(crate) struct StepPlan {
    pub commit: StepCommit,
    /// Timers to arm: (timer id, due epoch ms), already time-scaled.
    pub timers: Vec<(u64, i64)>,
    pub effects: Vec<Effect>,
}

impl Engine {
    /// Plans a new runner's first step: no timer or task was pending before it.
    pub(crate) fn plan_first_step(
        &self,
        state: &mut RunnerState,
        effects: Vec<Effect>,
    ) -> Result<StepPlan, SfnError> {
        self.plan(state, effects, NOTHING_PENDING, Vec::new(), self.now_ms())
    }

    /// Turns a step's effects into the commit that records them, updating `state.record`.
    pub(crate) fn plan(
        &self,
        state: &mut RunnerState,
        effects: Vec<Effect>,
        before: (BTreeSet<u64>, BTreeSet<u64>),
        tasks_started: Vec<u64>,
        now_ms: i64,
    ) -> Result<StepPlan, SfnError> {
        let arn = state.record.arn.clone();
        let now = u64::try_from(now_ms).unwrap_or_default();
        let mut history = Vec::new();
        let mut timers = Vec::new();
        let mut tasks_added = Vec::new();
        for effect in &effects {
            match effect {
                Effect::History(event) => history.push(HistoryRecord {
                    event_id: event.id,
                    previous_event_id: event.previous_event_id,
                    timestamp: u64::try_from(event.timestamp_ms).unwrap_or_default(),
                    event_type: event.event_type.clone(),
                    details: event.details.as_ref().map(Value::to_string),
                }),
                Effect::ScheduleTimer { timer_id, at_ms } => {
                    timers.push((*timer_id, self.scaled_due(now_ms, *at_ms)));
                }
                Effect::StartTask(task) => tasks_added.push(TaskRecord {
                    token: task.task_token.clone(),
                    execution_arn: arn.clone(),
                    task_id: task.task_id,
                    resource: task.resource.clone(),
                    parameters: task.parameters.to_string(),
                    status: TaskStatus::Scheduled,
                    timeout_seconds: task.timeout_seconds,
                    heartbeat_seconds: task.heartbeat_seconds,
                    created_at: now,
                }),
                Effect::Succeeded { output } => {
                    state.record.output = Some(output.to_string());
                    state.record.stopped_at = Some(now);
                }
                Effect::Failed { error, cause, .. } => {
                    state.record.error = Some(error.clone());
                    state.record.cause = Some(cause.clone());
                    state.record.stopped_at = Some(now);
                }
                Effect::CancelTask { .. } => {}
            }
        }
        state.record.status = status_of(state.execution.status);
        state.record.redrive_count = state.execution.redrive_count();
        state.record.state = serde_json::to_string(&state.execution).map_err(SfnError::internal)?;
        let live_timers: BTreeSet<u64> = state.execution.live_timers().collect();
        let live_tasks: BTreeSet<u64> = state.execution.live_tasks().collect();
        // A step can start and cancel the same task (or arm and drop a timer): a Parallel
        // branch fails while another has just scheduled its task. Such work never existed.
        timers.retain(|(timer_id, _)| live_timers.contains(timer_id));
        tasks_added.retain(|task| live_tasks.contains(&task.task_id));
        let commit = StepCommit {
            execution: state.record.clone(),
            history,
            timers_added: timers
                .iter()
                .map(|(timer_id, due)| TimerRecord {
                    execution_arn: arn.clone(),
                    timer_id: *timer_id,
                    due_at: u64::try_from(*due).unwrap_or_default(),
                })
                .collect(),
            timers_removed: before.0.difference(&live_timers).copied().collect(),
            tasks_added,
            tasks_removed: before.1.difference(&live_tasks).copied().collect(),
            tasks_started: tasks_started
                .into_iter()
                .filter(|id| live_tasks.contains(id))
                .collect(),
        };
        Ok(StepPlan {
            commit,
            timers,
            effects,
        })
    }

    /// Applies `events` to a running execution in one step commit, then performs the effects.
    /// `tasks_started` are tasks whose hand-over this step records.
    pub(crate) async fn deliver(
        &self,
        execution_arn: &str,
        events: Vec<Event>,
        tasks_started: Vec<u64>,
    ) -> Result<(), DeliverError> {
        let runner = self.runner(execution_arn).ok_or(DeliverError::NotRunning)?;
        let mut state = runner.state.lock().await;
        if state.record.status != ExecutionStatus::Running {
            return Err(DeliverError::NotRunning);
        }
        let saved = (state.execution.clone(), state.record.clone());
        let before = live_sets(&state.execution);
        let now_ms = self.now_ms();
        let definition = state.definition.clone();
        let fired: Vec<u64> = events
            .iter()
            .filter_map(|event| match event {
                Event::TimerFired { timer_id } => Some(*timer_id),
                _ => None,
            })
            .collect();
        let mut effects = Vec::new();
        let mut applied = 0;
        for event in events {
            match interpreter::step(&definition, &mut state.execution, event, now_ms) {
                Ok(more) => {
                    effects.extend(more);
                    applied += 1;
                }
                Err(StepError::UnknownTask(_)) => {}
                Err(StepError::NotRunning) => break,
            }
        }
        if applied == 0 {
            return Err(DeliverError::Stale);
        }
        // A fired timer the interpreter found stale changes nothing worth a commit.
        if effects.is_empty() && state.execution == saved.0 {
            if let Some(timer_id) = fired.first() {
                state.timers.remove(timer_id);
            }
            return Err(DeliverError::Stale);
        }
        let plan = match self.plan(&mut state, effects, before.clone(), tasks_started, now_ms) {
            Ok(plan) => plan,
            Err(error) => {
                (state.execution, state.record) = saved;
                return Err(DeliverError::Store(error));
            }
        };
        if runner.durable
            && let Err(error) = self.store.commit_step(plan.commit.clone()).await
        {
            (state.execution, state.record) = saved;
            return Err(DeliverError::Store(store_error(error)));
        }
        self.perform(&runner, &mut state, plan, &before, &fired);
        Ok(())
    }

    /// Performs a committed step's effects: arm timers, dispatch and cancel tasks, finish.
    pub(crate) fn perform(
        &self,
        runner: &Arc<Runner>,
        state: &mut RunnerState,
        plan: StepPlan,
        before: &(BTreeSet<u64>, BTreeSet<u64>),
        fired: &[u64],
    ) {
        let live = live_sets(&state.execution);
        for timer_id in before.0.difference(&live.0) {
            if let Some(handle) = state.timers.remove(timer_id)
                && !fired.contains(timer_id)
            {
                handle.abort();
            }
        }
        for task_id in before.1.difference(&live.1) {
            if let Some(task) = state.tasks.remove(task_id) {
                lock(&self.tokens).remove(&task.token);
            }
        }
        for (timer_id, due) in plan.timers {
            let handle = self.arm_timer(&runner.arn, timer_id, due);
            state.timers.insert(timer_id, handle);
        }
        for effect in plan.effects {
            match effect {
                Effect::StartTask(task) if live.1.contains(&task.task_id) => {
                    self.start_task(runner, state, task, false)
                }
                Effect::StartTask(_) => {}
                Effect::CancelTask { task_id } => self.cancel_task(state, task_id),
                Effect::Succeeded { .. } | Effect::Failed { .. } => self.finish(runner, state),
                Effect::History(_) | Effect::ScheduleTimer { .. } => {}
            }
        }
    }

    /// Registers a task's token and hands the task to its integration (unless `started`: a
    /// recovered task that a worker or callback already owns).
    pub(crate) fn start_task(
        &self,
        runner: &Arc<Runner>,
        state: &mut RunnerState,
        task: TaskRequest,
        started: bool,
    ) {
        lock(&self.tokens).insert(
            task.task_token.clone(),
            TaskRef {
                execution_arn: runner.arn.clone(),
                task_id: task.task_id,
                parameters: task.parameters.clone(),
                resource: task.resource.clone(),
            },
        );
        let call = if started || self.is_shutting_down() {
            None
        } else {
            self.dispatch(&runner.arn, &state.record, task.clone())
        };
        state.tasks.insert(
            task.task_id,
            PendingTask {
                token: task.task_token,
                call,
            },
        );
    }

    fn cancel_task(&self, state: &mut RunnerState, task_id: u64) {
        let Some(task) = state.tasks.remove(&task_id) else {
            return;
        };
        if let Some(call) = task.call {
            call.abort();
        }
        let removed = lock(&self.tokens).remove(&task.token);
        if let Some(task_ref) = removed {
            self.cancel_child(&task_ref, &task.token);
        }
    }

    pub(crate) fn arm_timer(&self, execution_arn: &str, timer_id: u64, due_ms: i64) -> AbortHandle {
        self.arm(execution_arn, Event::TimerFired { timer_id }, due_ms)
    }

    /// An EXPRESS execution's five-minute limit.
    pub(crate) fn arm_time_limit(&self, execution_arn: &str, due_ms: i64) -> AbortHandle {
        self.arm(execution_arn, Event::TimeLimit, due_ms)
    }

    fn arm(&self, execution_arn: &str, event: Event, due_ms: i64) -> AbortHandle {
        let engine = self.myself.clone();
        let arn = execution_arn.to_owned();
        let delay_ms = u64::try_from(due_ms.saturating_sub(self.now_ms())).unwrap_or(0);
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(delay_ms)).await;
            let Some(engine) = engine.upgrade() else {
                return;
            };
            match engine.deliver(&arn, vec![event], Vec::new()).await {
                Ok(()) | Err(DeliverError::Stale | DeliverError::NotRunning) => {}
                // The store closes at shutdown; the timer is still stored and fires after restart.
                Err(DeliverError::Store(error)) if engine.is_shutting_down() => {
                    tracing::debug!(%arn, %error, "a timer fired during shutdown");
                }
                Err(DeliverError::Store(error)) => {
                    tracing::error!(%arn, %error, "a timer's step was not stored; it fires again at the next start");
                }
            }
        })
        .abort_handle()
    }

    /// The execution stopped: forget what it waited for and tell whoever waits for it.
    fn finish(&self, runner: &Arc<Runner>, state: &mut RunnerState) {
        for (_, handle) in state.timers.drain() {
            handle.abort();
        }
        let tasks: Vec<PendingTask> = state.tasks.drain().map(|(_, task)| task).collect();
        for task in tasks {
            if let Some(call) = task.call {
                call.abort();
            }
            let removed = lock(&self.tokens).remove(&task.token);
            if let Some(task_ref) = removed {
                self.cancel_child(&task_ref, &task.token);
            }
        }
        lock(&self.running).remove(&runner.arn);
        let record = state.record.clone();
        runner.finished.send_replace(Some(record.clone()));
        if let Some(token) = record.parent_token.clone() {
            self.spawn_parent_notice(token, record.clone());
        }
        self.forget_deleted_machine(&record.state_machine_arn);
    }
}

pub(crate) fn live_sets(execution: &Execution) -> (BTreeSet<u64>, BTreeSet<u64>) {
    (
        execution.live_timers().collect(),
        execution.live_tasks().collect(),
    )
}
