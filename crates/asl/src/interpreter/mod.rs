//! The step API: a pure state machine over an explicit, serialisable [`Execution`].
//!
//! The engine calls [`start`] once, then [`step`] with each [`Event`] it observes (a task's
//! answer, a timer firing, a stop request), persists the returned execution state together with
//! the [`Effect`]s, and performs the effects (start a task, arm a timer, store history). Nothing
//! here reads a clock, draws entropy or does I/O: time comes in as `now_ms` and randomness from
//! the seeded generator inside the state, so a restart that reloads the persisted state and
//! replays nothing resumes exactly where it stopped.
//!
//! Parallel branches and Map iterations are *threads* inside the same execution (one history,
//! as in AWS), so the engine never coordinates sub-executions: it only sees tasks and timers,
//! each named by an id unique within the execution.

mod fanout;
mod states;

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::definition::{Definition, ScopeStep, State};
use crate::errors::{self, Failure};
use crate::history::HistoryEvent;
use crate::random::Rng;

/// AWS caps an execution's history at 25,000 events; past it the execution fails.
pub const HISTORY_EVENTS_MAX: u64 = 25_000;

/// Who and what is being run; fixed for the execution's life.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutionInfo {
    pub execution_arn: String,
    pub name: String,
    pub state_machine_arn: String,
    pub state_machine_name: String,
    pub role_arn: String,
    pub input: Value,
    pub start_ms: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Status {
    Running,
    Succeeded,
    Failed,
    TimedOut,
    Aborted,
}

/// Everything the engine must persist between steps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Execution {
    pub info: ExecutionInfo,
    pub status: Status,
    rng: Rng,
    last_event_id: u64,
    next_id: u64,
    threads: BTreeMap<u64, Thread>,
    /// Task id → thread waiting for it.
    tasks: BTreeMap<u64, u64>,
    /// Timer id → thread it wakes (`None`: the execution's own `TimeoutSeconds`).
    timers: BTreeMap<u64, Option<u64>>,
    /// How many times `RedriveExecution` has restarted this execution.
    #[serde(default)]
    redrive_count: u32,
    /// Where a redrive resumes: the top-level state that was running when the execution stopped
    /// unsuccessfully, and the input it had entered with.
    #[serde(default)]
    redrive_point: Option<RedrivePoint>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct RedrivePoint {
    state: String,
    input: Value,
    /// The state's Parallel or Map progress, when it stopped inside one.
    #[serde(default)]
    fanout: Option<fanout::Fanout>,
}

/// A path of control through one `States` container.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Thread {
    scope: Vec<ScopeStep>,
    /// Parent thread and the branch or item index this thread fills.
    parent: Option<(u64, usize)>,
    map_item: Option<(usize, Value)>,
    state: String,
    raw_input: Value,
    entered_ms: i64,
    entered_event_id: u64,
    last_event_id: u64,
    /// Retries done per retrier of the current state.
    retries: Vec<u32>,
    phase: Phase,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Phase {
    Enter,
    Task(TaskWait),
    Wait { timer_id: u64, output: Value },
    Retry { timer_id: u64 },
    Fanout(fanout::Fanout),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct TaskWait {
    task_id: u64,
    token: String,
    timeout_timer: Option<u64>,
    heartbeat_timer: Option<u64>,
    heartbeat_seconds: Option<u64>,
}

/// What the engine reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Event {
    /// The worker or integration has begun (`TaskStarted` / `ActivityStarted`).
    TaskStarted {
        task_id: u64,
        /// The `workerName` an activity worker gave `GetActivityTask`.
        #[serde(default)]
        worker_name: Option<String>,
    },
    /// A callback or `.sync` integration made its call and now waits (`TaskSubmitted`, with the
    /// call's response as `output`).
    TaskSubmitted {
        task_id: u64,
        output: Value,
    },
    TaskHeartbeat {
        task_id: u64,
    },
    TaskSucceeded {
        task_id: u64,
        output: Value,
    },
    TaskFailed {
        task_id: u64,
        error: String,
        cause: String,
    },
    TimerFired {
        timer_id: u64,
    },
    /// `StopExecution`.
    Stop {
        error: Option<String>,
        cause: Option<String>,
    },
    /// A limit outside the definition ran out (an EXPRESS execution's five minutes): the
    /// execution times out as with its own `TimeoutSeconds`.
    TimeLimit,
}

/// A unit of work to start. `task_id` names it in later events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskRequest {
    pub task_id: u64,
    pub resource: String,
    pub parameters: Value,
    pub timeout_seconds: Option<u64>,
    pub heartbeat_seconds: Option<u64>,
    /// The value of `$$.Task.Token` for this attempt (callbacks and activities use it).
    pub task_token: String,
}

/// What the engine must do, in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Effect {
    History(HistoryEvent),
    StartTask(TaskRequest),
    /// A task is no longer wanted (timed out, its branch failed, the execution stopped).
    CancelTask {
        task_id: u64,
    },
    /// Deliver `TimerFired { timer_id }` at `at_ms` (or at once if that is past).
    ScheduleTimer {
        timer_id: u64,
        at_ms: i64,
    },
    Succeeded {
        output: Value,
    },
    /// The execution ended without success: `status` says how.
    Failed {
        status: Status,
        error: String,
        cause: String,
    },
}

/// Why an event could not be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StepError {
    #[error("the execution is no longer running")]
    NotRunning,
    #[error("no task {0} is pending in this execution")]
    UnknownTask(u64),
}

/// Why `RedriveExecution` cannot restart an execution.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RedriveError {
    #[error("the execution is still running")]
    Running,
    #[error("the execution succeeded")]
    Succeeded,
    #[error("the execution did not stop in a state it can resume from")]
    NoRedrivePoint,
}

/// Starts an execution: `ExecutionStarted`, then runs until every thread waits.
pub fn start(
    definition: &Definition,
    info: ExecutionInfo,
    seed: u64,
    now_ms: i64,
) -> (Execution, Vec<Effect>) {
    let input = info.input.clone();
    let mut execution = Execution {
        info,
        status: Status::Running,
        rng: Rng::new(seed),
        last_event_id: 0,
        next_id: 1,
        threads: BTreeMap::new(),
        tasks: BTreeMap::new(),
        timers: BTreeMap::new(),
        redrive_count: 0,
        redrive_point: None,
    };
    let mut run = Run {
        definition,
        execution: &mut execution,
        now_ms,
        effects: Vec::new(),
        ready: VecDeque::new(),
    };
    let details = json!({
        "input": input.to_string(),
        "inputDetails": {"truncated": false},
        "roleArn": run.execution.info.role_arn,
    });
    let started = run.emit(None, "ExecutionStarted", Some(details));
    run.start_root(definition.root.start_at.clone(), input, started, None);
    let effects = std::mem::take(&mut run.effects);
    (execution, effects)
}

/// `RedriveExecution`: restarts an execution that failed, timed out or was aborted, from the
/// top-level state it stopped in, with the input that state entered with. History goes on
/// (`ExecutionRedriven`). In a top-level Parallel or Map, branches and iterations that
/// succeeded keep their results and the others resume at the state they stopped in; a Parallel
/// or Map nested inside a branch is re-run as a whole.
pub fn redrive(
    definition: &Definition,
    execution: &mut Execution,
    now_ms: i64,
) -> Result<Vec<Effect>, RedriveError> {
    match execution.status {
        Status::Running => return Err(RedriveError::Running),
        Status::Succeeded => return Err(RedriveError::Succeeded),
        Status::Failed | Status::TimedOut | Status::Aborted => {}
    }
    let point = execution
        .redrive_point
        .clone()
        .filter(|point| definition.root.states.contains_key(&point.state))
        .ok_or(RedriveError::NoRedrivePoint)?;
    execution.status = Status::Running;
    execution.redrive_count += 1;
    let mut run = Run {
        definition,
        execution,
        now_ms,
        effects: Vec::new(),
        ready: VecDeque::new(),
    };
    let details = json!({"redriveCount": run.execution.redrive_count});
    let redriven = run.emit(None, "ExecutionRedriven", Some(details));
    run.start_root(point.state, point.input, redriven, point.fanout);
    Ok(run.effects)
}

/// Applies one event and runs until every thread waits again.
pub fn step(
    definition: &Definition,
    execution: &mut Execution,
    event: Event,
    now_ms: i64,
) -> Result<Vec<Effect>, StepError> {
    if execution.status != Status::Running {
        return Err(StepError::NotRunning);
    }
    let mut run = Run {
        definition,
        execution,
        now_ms,
        effects: Vec::new(),
        ready: VecDeque::new(),
    };
    match event {
        Event::TaskStarted {
            task_id,
            worker_name,
        } => run.task_started(task_id, worker_name)?,
        Event::TaskSubmitted { task_id, output } => run.task_submitted(task_id, output)?,
        Event::TaskHeartbeat { task_id } => run.task_heartbeat(task_id)?,
        Event::TaskSucceeded { task_id, output } => run.task_succeeded(task_id, output)?,
        Event::TaskFailed {
            task_id,
            error,
            cause,
        } => run.task_failed(task_id, Failure::new(error, cause))?,
        Event::TimerFired { timer_id } => run.timer_fired(timer_id),
        Event::TimeLimit => run.time_out(),
        Event::Stop { error, cause } => {
            let details = json!({"error": error, "cause": cause});
            run.end_execution(
                Status::Aborted,
                "ExecutionAborted",
                details,
                Failure::new(error.unwrap_or_default(), cause.unwrap_or_default()),
            );
        }
    }
    run.drain();
    Ok(run.effects)
}

impl Execution {
    /// The pending task a token belongs to, for `SendTaskSuccess`/`Failure`/`Heartbeat`.
    pub fn task_for_token(&self, token: &str) -> Option<u64> {
        self.threads
            .values()
            .find_map(|thread| match &thread.phase {
                Phase::Task(wait) if wait.token == token => Some(wait.task_id),
                _ => None,
            })
    }

    /// The id of the last history event written.
    pub fn last_event_id(&self) -> u64 {
        self.last_event_id
    }

    /// Timers the execution still waits for; any other timer id is stale.
    pub fn live_timers(&self) -> impl Iterator<Item = u64> + '_ {
        self.timers.keys().copied()
    }

    /// Tasks the execution still waits for.
    pub fn live_tasks(&self) -> impl Iterator<Item = u64> + '_ {
        self.tasks.keys().copied()
    }

    pub fn redrive_count(&self) -> u32 {
        self.redrive_count
    }

    /// Whether [`redrive`] can restart this execution.
    pub fn is_redrivable(&self) -> bool {
        matches!(
            self.status,
            Status::Failed | Status::TimedOut | Status::Aborted
        ) && self.redrive_point.is_some()
    }
}

fn seconds_to_ms(seconds: u64) -> i64 {
    i64::try_from(seconds.saturating_mul(1000)).unwrap_or(i64::MAX)
}

/// Timestamps in the context object: RFC 3339, UTC, milliseconds.
fn rfc3339(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_default()
}

/// One step's working set.
struct Run<'a> {
    definition: &'a Definition,
    execution: &'a mut Execution,
    now_ms: i64,
    effects: Vec<Effect>,
    ready: VecDeque<u64>,
}

impl Run<'_> {
    /// Arms the execution's `TimeoutSeconds` and runs a root thread from `state` (with a
    /// redriven Parallel or Map, from its saved progress).
    fn start_root(
        &mut self,
        state: String,
        input: Value,
        previous_event_id: u64,
        fanout: Option<fanout::Fanout>,
    ) {
        if let Some(timeout_seconds) = self.definition.timeout_seconds {
            let timer_id = self.next_id();
            self.execution.timers.insert(timer_id, None);
            self.effects.push(Effect::ScheduleTimer {
                timer_id,
                at_ms: self.now_ms.saturating_add(seconds_to_ms(timeout_seconds)),
            });
        }
        let root = Thread {
            scope: Vec::new(),
            parent: None,
            map_item: None,
            state,
            raw_input: input,
            entered_ms: self.now_ms,
            entered_event_id: previous_event_id,
            last_event_id: previous_event_id,
            retries: Vec::new(),
            phase: Phase::Enter,
        };
        let id = self.next_id();
        self.execution.threads.insert(id, root);
        match fanout {
            Some(fanout) => self.resume_fanout(id, fanout),
            None => self.ready.push_back(id),
        }
        self.drain();
    }

    fn next_id(&mut self) -> u64 {
        let id = self.execution.next_id;
        self.execution.next_id += 1;
        id
    }

    /// Appends a history event chained to the thread's previous event.
    fn emit(&mut self, thread: Option<u64>, event_type: &str, details: Option<Value>) -> u64 {
        let id = self.execution.last_event_id + 1;
        let previous = match thread.and_then(|t| self.execution.threads.get(&t)) {
            Some(thread) => thread.last_event_id,
            None => self.execution.last_event_id,
        };
        self.execution.last_event_id = id;
        if let Some(thread) = thread.and_then(|t| self.execution.threads.get_mut(&t)) {
            thread.last_event_id = id;
        }
        let event = HistoryEvent {
            id,
            previous_event_id: previous,
            timestamp_ms: self.now_ms,
            event_type: event_type.to_string(),
            details,
        };
        self.effects.push(Effect::History(event));
        id
    }

    fn thread(&self, id: u64) -> Option<&Thread> {
        self.execution.threads.get(&id)
    }

    fn state_of(&self, id: u64) -> Option<&State> {
        let thread = self.thread(id)?;
        self.definition
            .scope(&thread.scope)?
            .states
            .get(&thread.state)
    }

    /// Runs ready threads until all wait, or the execution ends.
    fn drain(&mut self) {
        while let Some(id) = self.ready.pop_front() {
            if self.execution.status != Status::Running {
                return;
            }
            if self.execution.last_event_id >= HISTORY_EVENTS_MAX {
                let failure = Failure::new(
                    errors::RUNTIME,
                    format!(
                        "The execution reached the maximum number of history events ({HISTORY_EVENTS_MAX})."
                    ),
                );
                let details = json!({"error": failure.error, "cause": failure.cause});
                self.end_execution(Status::Failed, "ExecutionFailed", details, failure);
                return;
            }
            if self.thread(id).is_some_and(|t| t.phase == Phase::Enter) {
                self.enter(id);
            }
        }
    }

    /// The context object (`$$`) as the thread's current state sees it.
    fn context(&self, id: u64, token: Option<&str>) -> Value {
        let info = &self.execution.info;
        let mut context = json!({
            "Execution": {
                "Id": info.execution_arn,
                "Input": info.input,
                "Name": info.name,
                "RoleArn": info.role_arn,
                "StartTime": rfc3339(info.start_ms),
                "RedriveCount": self.execution.redrive_count,
            },
            "StateMachine": {"Id": info.state_machine_arn, "Name": info.state_machine_name},
        });
        if let Some(thread) = self.thread(id) {
            let retry_count: u32 = thread.retries.iter().sum();
            context["State"] = json!({"Name": thread.state, "EnteredTime": rfc3339(thread.entered_ms), "RetryCount": retry_count});
            if let Some((index, value)) = &thread.map_item {
                context["Map"] = json!({"Item": {"Index": index, "Value": value}});
            }
        }
        if let Some(token) = token {
            context["Task"] = json!({"Token": token});
        }
        context
    }

    /// `States.Runtime` with AWS's cause prefix naming the state and its entered event.
    fn runtime(&self, id: u64, detail: &str) -> Failure {
        let (name, entered) = self
            .thread(id)
            .map(|t| (t.state.clone(), t.entered_event_id))
            .unwrap_or_default();
        Failure::new(
            errors::RUNTIME,
            format!(
                "An error occurred while executing the state '{name}' (entered at the event id #{entered}). {detail}"
            ),
        )
    }

    /// A thread ended: the root ends the execution, a child reports to its Parallel or Map.
    fn complete_thread(&mut self, id: u64, result: Result<Value, Failure>) {
        let Some(thread) = self.execution.threads.remove(&id) else {
            return;
        };
        if thread.parent.is_none() && result.is_err() {
            self.execution.redrive_point = Some(RedrivePoint {
                state: thread.state.clone(),
                input: thread.raw_input.clone(),
                fanout: match &thread.phase {
                    Phase::Fanout(fanout) => Some(fanout.clone()),
                    _ => None,
                },
            });
        }
        let stopped_at = (thread.state.clone(), thread.raw_input.clone());
        match thread.parent {
            // The root is the last thread standing, so the execution-level event chains to it.
            None => match result {
                Ok(output) => {
                    let details = json!({"output": output.to_string(), "outputDetails": {"truncated": false}});
                    self.emit(None, "ExecutionSucceeded", Some(details));
                    self.execution.status = Status::Succeeded;
                    self.cancel_all();
                    self.effects.push(Effect::Succeeded { output });
                }
                Err(failure) => {
                    let details = json!({"error": failure.error, "cause": failure.cause});
                    self.end_execution(Status::Failed, "ExecutionFailed", details, failure);
                }
            },
            Some((parent, slot)) => {
                self.child_done(parent, slot, thread.last_event_id, result, stopped_at)
            }
        }
    }

    /// Ends the execution unsuccessfully, cancelling every pending task.
    fn end_execution(
        &mut self,
        status: Status,
        event_type: &str,
        details: Value,
        failure: Failure,
    ) {
        if let Some(point) = self.stopped_root() {
            self.execution.redrive_point = Some(point);
        }
        self.cancel_all();
        self.emit(None, event_type, Some(details));
        self.execution.status = status;
        self.effects.push(Effect::Failed {
            status,
            error: failure.error,
            cause: failure.cause,
        });
    }

    /// Where a redrive resumes an execution stopped from outside (StopExecution, its timeout):
    /// the root's state, and in a Parallel or Map each running child's state.
    fn stopped_root(&self) -> Option<RedrivePoint> {
        let root = self
            .execution
            .threads
            .values()
            .find(|t| t.parent.is_none())?;
        let fanout = match &root.phase {
            Phase::Fanout(fanout) => {
                let mut fanout = fanout.clone();
                fanout.resume_running(&self.execution.threads);
                Some(fanout)
            }
            _ => None,
        };
        Some(RedrivePoint {
            state: root.state.clone(),
            input: root.raw_input.clone(),
            fanout,
        })
    }

    fn cancel_all(&mut self) {
        for task_id in std::mem::take(&mut self.execution.tasks).into_keys() {
            self.effects.push(Effect::CancelTask { task_id });
        }
        self.execution.timers.clear();
        self.execution.threads.clear();
        self.ready.clear();
    }

    fn time_out(&mut self) {
        let failure = Failure::new(
            errors::TIMEOUT,
            "The execution exceeded its TimeoutSeconds.",
        );
        let details = json!({"error": failure.error, "cause": failure.cause});
        self.end_execution(Status::TimedOut, "ExecutionTimedOut", details, failure);
    }

    fn timer_fired(&mut self, timer_id: u64) {
        // A timer whose wait was already settled (a heartbeat renewed, a task answered) is stale.
        let Some(owner) = self.execution.timers.remove(&timer_id) else {
            return;
        };
        let Some(id) = owner else {
            return self.time_out();
        };
        let Some(thread) = self.thread(id) else {
            return;
        };
        match thread.phase.clone() {
            Phase::Task(wait) if wait.timeout_timer == Some(timer_id) => {
                self.task_timed_out(id, wait, Failure::new(errors::TIMEOUT, "Task timed out."));
            }
            Phase::Task(wait) if wait.heartbeat_timer == Some(timer_id) => {
                self.task_timed_out(
                    id,
                    wait,
                    Failure::new(errors::HEARTBEAT_TIMEOUT, "Task heartbeat timed out."),
                );
            }
            Phase::Wait {
                timer_id: expected,
                output,
            } if expected == timer_id => self.finish_state(id, output, None),
            Phase::Retry { timer_id: expected } if expected == timer_id => self.execute(id),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests;
