//! Entering, running and leaving one state; task answers; Retry and Catch.

use serde_json::{Value, json};

use super::{Effect, Phase, Run, StepError, TaskRequest, TaskWait, seconds_to_ms};
use crate::choice;
use crate::definition::{Kind, Seconds, State, Text, Transition, WaitFor};
use crate::errors::{self, Failure};
use crate::history::ResourceKind;
use crate::payload::{self, Template, TemplateError};

impl Run<'_> {
    /// Writes `…StateEntered` and runs the state's body.
    pub(super) fn enter(&mut self, id: u64) {
        let Some(state) = self.state_of(id).cloned() else {
            // Only a definition that changed under a persisted execution can get here.
            let failure = self.runtime(id, "The state is not in the definition.");
            self.complete_thread(id, Err(failure));
            return;
        };
        let input = self
            .thread(id)
            .map(|t| t.raw_input.to_string())
            .unwrap_or_default();
        let event_type = format!("{}StateEntered", state.kind.type_name());
        let entered = self.emit(
            Some(id),
            &event_type,
            Some(json!({"name": state.name, "input": input})),
        );
        let now = self.now_ms;
        if let Some(thread) = self.execution.threads.get_mut(&id) {
            thread.entered_event_id = entered;
            thread.entered_ms = now;
            thread.retries = vec![0; state.kind.handling().map_or(0, |h| h.retry.len())];
        }
        self.execute(id);
    }

    /// Runs the body of the current state (again, after a retry).
    pub(super) fn execute(&mut self, id: u64) {
        let (Some(state), Some(thread)) = (self.state_of(id).cloned(), self.thread(id)) else {
            return;
        };
        let raw = thread.raw_input.clone();
        if let Kind::Fail { error, cause } = &state.kind {
            let context = self.context(id, None);
            let mut text = |t: &Option<Text>| match t {
                None => String::new(),
                Some(Text::Literal(s)) => s.clone(),
                Some(Text::Expr(expr)) => {
                    match expr.evaluate(&raw, &context, &mut self.execution.rng) {
                        Ok(Value::String(s)) => s,
                        Ok(other) => other.to_string(),
                        Err(_) => String::new(),
                    }
                }
            };
            let failure = Failure::new(text(error), text(cause));
            self.complete_thread(id, Err(failure));
            return;
        }
        let context = self.context(id, None);
        let effective = match payload::select(state.input_path.as_ref(), &raw, &context) {
            Ok(value) => value,
            Err(_) => {
                let path = state
                    .input_path
                    .as_ref()
                    .map(|p| p.to_string())
                    .unwrap_or_default();
                let detail = format!(
                    "Invalid path '{path}' : No results for path: {path} in the field 'InputPath'"
                );
                let failure = self.runtime(id, &detail);
                self.fail_state(id, &state, failure);
                return;
            }
        };
        match &state.kind {
            Kind::Pass {
                result,
                parameters,
                result_path,
            } => {
                let produced = match (result, parameters) {
                    (Some(result), _) => Ok(result.clone()),
                    (None, Some(template)) => self.fill(id, template, &effective, &context),
                    (None, None) => Ok(effective.clone()),
                };
                let output = produced.and_then(|r| {
                    payload::place_result(result_path.as_ref(), &raw, r)
                        .map_err(|e| Failure::new(errors::RESULT_PATH_MATCH_FAILURE, e.to_string()))
                });
                match output {
                    Ok(output) => self.output(id, &state, output, None),
                    Err(failure) => self.fail_state(id, &state, failure),
                }
            }
            Kind::Choice { choices, default } => {
                let mut chosen = None;
                for rule in choices {
                    match choice::evaluate(&rule.condition, &effective, &context) {
                        Ok(true) => {
                            chosen = Some(rule.next.clone());
                            break;
                        }
                        Ok(false) => {}
                        Err(failure) => {
                            let failure = self.runtime(id, &failure.cause);
                            self.fail_state(id, &state, failure);
                            return;
                        }
                    }
                }
                match chosen.or_else(|| default.clone()) {
                    Some(next) => self.output(id, &state, effective, Some(next)),
                    None => {
                        let failure = Failure::new(
                            errors::NO_CHOICE_MATCHED,
                            "No Choice rule matched and there is no Default.",
                        );
                        self.fail_state(id, &state, failure);
                    }
                }
            }
            Kind::Wait(wait) => match self.wait_until(wait, &effective) {
                Ok(at_ms) => {
                    let output =
                        match payload::select(state.output_path.as_ref(), &effective, &context) {
                            Ok(output) => output,
                            Err(error) => {
                                let failure =
                                    self.runtime(id, &format!("{error} in the field 'OutputPath'"));
                                self.fail_state(id, &state, failure);
                                return;
                            }
                        };
                    let timer_id = self.next_id();
                    self.execution.timers.insert(timer_id, Some(id));
                    self.effects.push(Effect::ScheduleTimer { timer_id, at_ms });
                    self.set_phase(id, Phase::Wait { timer_id, output });
                }
                Err(detail) => {
                    let failure = self.runtime(id, &detail);
                    self.fail_state(id, &state, failure);
                }
            },
            Kind::Succeed => self.output(id, &state, effective, None),
            Kind::Fail { .. } => {}
            Kind::Task(task) => self.schedule_task(id, &state, task, effective),
            Kind::Parallel(parallel) => {
                self.start_parallel(id, &state, parallel, effective, &context)
            }
            Kind::Map(map) => self.start_map(id, &state, map, effective, &context),
        }
    }

    fn wait_until(&self, wait: &WaitFor, effective: &Value) -> Result<i64, String> {
        let context = Value::Null;
        match wait {
            WaitFor::Seconds(seconds) => Ok(self.now_ms.saturating_add(seconds_to_ms(*seconds))),
            WaitFor::Timestamp(ns) => Ok(i64::try_from(ns / 1_000_000).unwrap_or(i64::MAX)),
            WaitFor::SecondsPath(path) => {
                match path.read(effective, &context).ok().and_then(|v| v.as_u64()) {
                    Some(seconds) => Ok(self.now_ms.saturating_add(seconds_to_ms(seconds))),
                    None => Err(format!(
                        "The SecondsPath parameter does not reference a valid non-negative integer: {path}"
                    )),
                }
            }
            WaitFor::TimestampPath(path) => {
                let text = path
                    .read(effective, &context)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string));
                match text.as_deref().and_then(choice::parse_timestamp) {
                    Some(ns) => Ok(i64::try_from(ns / 1_000_000).unwrap_or(i64::MAX)),
                    None => Err(format!(
                        "The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: {path}"
                    )),
                }
            }
        }
    }

    /// Fills a payload template, turning its errors into the failures AWS reports.
    pub(super) fn fill(
        &mut self,
        id: u64,
        template: &Template,
        input: &Value,
        context: &Value,
    ) -> Result<Value, Failure> {
        match template.evaluate(input, context, &mut self.execution.rng) {
            Ok(value) => Ok(value),
            Err((field, TemplateError::Path { path, .. })) => Err(self.runtime(
                id,
                &format!("The JSONPath '{path}' specified for the field '{field}' could not be found in the input '{input}'"),
            )),
            Err((_, TemplateError::Intrinsic(failure))) => Err(failure),
        }
    }

    fn schedule_task(
        &mut self,
        id: u64,
        state: &State,
        task: &crate::definition::Task,
        effective: Value,
    ) {
        let token = format!(
            "{}-{}",
            self.execution.rng.uuid_v4(),
            self.execution.next_id
        );
        let context = self.context(id, Some(&token));
        let parameters = match &task.handling.parameters {
            Some(template) => self.fill(id, template, &effective, &context),
            None => Ok(effective.clone()),
        };
        let seconds = |s: &Option<Seconds>, field: &str| match s {
            None => Ok(None),
            Some(Seconds::Fixed(n)) => Ok(Some(*n)),
            Some(Seconds::Path(path)) => match path
                .read(&effective, &context)
                .ok()
                .and_then(|v| v.as_u64())
                .filter(|n| *n > 0)
            {
                Some(n) => Ok(Some(n)),
                None => Err(format!(
                    "The {field}Path parameter does not reference a valid positive integer: {path}"
                )),
            },
        };
        let timing = seconds(&task.timeout, "TimeoutSeconds")
            .and_then(|t| Ok((t, seconds(&task.heartbeat, "HeartbeatSeconds")?)));
        let (parameters, (timeout_seconds, heartbeat_seconds)) = match (parameters, timing) {
            (Ok(p), Ok(t)) => (p, t),
            (Err(failure), _) => return self.fail_state(id, state, failure),
            (_, Err(detail)) => {
                let failure = self.runtime(id, &detail);
                return self.fail_state(id, state, failure);
            }
        };
        let task_id = self.next_id();
        let kind = ResourceKind::of(&task.resource);
        let mut details = kind.base_details(&task.resource);
        if let ResourceKind::Service { .. } = kind {
            details.insert(
                "region".into(),
                json!(region_of(&self.execution.info.state_machine_arn)),
            );
            details.insert("parameters".into(), json!(parameters.to_string()));
        } else {
            details.insert("input".into(), json!(parameters.to_string()));
        }
        if let Some(t) = timeout_seconds {
            details.insert("timeoutInSeconds".into(), json!(t));
        }
        if let Some(h) = heartbeat_seconds {
            details.insert("heartbeatInSeconds".into(), json!(h));
        }
        self.emit(
            Some(id),
            &format!("{}Scheduled", kind.prefix()),
            Some(serde_json::Value::Object(details)),
        );
        self.execution.tasks.insert(task_id, id);
        self.effects.push(Effect::StartTask(TaskRequest {
            task_id,
            resource: task.resource.clone(),
            parameters,
            timeout_seconds,
            heartbeat_seconds,
            task_token: token.clone(),
        }));
        let timeout_timer = timeout_seconds.map(|t| self.arm(id, t));
        let heartbeat_timer = heartbeat_seconds.map(|h| self.arm(id, h));
        self.set_phase(
            id,
            Phase::Task(TaskWait {
                task_id,
                token,
                timeout_timer,
                heartbeat_timer,
                heartbeat_seconds,
            }),
        );
    }

    fn arm(&mut self, id: u64, seconds: u64) -> u64 {
        let timer_id = self.next_id();
        self.execution.timers.insert(timer_id, Some(id));
        self.effects.push(Effect::ScheduleTimer {
            timer_id,
            at_ms: self.now_ms.saturating_add(seconds_to_ms(seconds)),
        });
        timer_id
    }

    pub(super) fn set_phase(&mut self, id: u64, phase: Phase) {
        if let Some(thread) = self.execution.threads.get_mut(&id) {
            thread.phase = phase;
        }
    }

    fn pending(&self, task_id: u64) -> Result<(u64, State, TaskWait), StepError> {
        let id = *self
            .execution
            .tasks
            .get(&task_id)
            .ok_or(StepError::UnknownTask(task_id))?;
        let state = self
            .state_of(id)
            .cloned()
            .ok_or(StepError::UnknownTask(task_id))?;
        match self.thread(id).map(|t| &t.phase) {
            Some(Phase::Task(wait)) if wait.task_id == task_id => Ok((id, state, wait.clone())),
            _ => Err(StepError::UnknownTask(task_id)),
        }
    }

    fn task_event(&mut self, id: u64, state: &State, suffix: &str, extra: &[(&str, Value)]) {
        let Kind::Task(task) = &state.kind else {
            return;
        };
        let kind = ResourceKind::of(&task.resource);
        let mut details = kind.base_details(&task.resource);
        for (key, value) in extra {
            details.insert((*key).to_string(), value.clone());
        }
        self.emit(
            Some(id),
            &format!("{}{suffix}", kind.prefix()),
            Some(Value::Object(details)),
        );
    }

    /// Forgets a settled task and its timers.
    fn settle(&mut self, wait: &TaskWait) {
        self.execution.tasks.remove(&wait.task_id);
        for timer in [wait.timeout_timer, wait.heartbeat_timer]
            .into_iter()
            .flatten()
        {
            self.execution.timers.remove(&timer);
        }
    }

    pub(super) fn task_started(
        &mut self,
        task_id: u64,
        worker_name: Option<String>,
    ) -> Result<(), StepError> {
        let (id, state, _) = self.pending(task_id)?;
        let extra: Vec<(&str, Value)> = worker_name
            .map(|name| ("workerName", json!(name)))
            .into_iter()
            .collect();
        self.task_event(id, &state, "Started", &extra);
        Ok(())
    }

    /// `TaskSubmitted` exists for service integrations only; activities and Lambda functions
    /// have no such event, so for them this records nothing.
    pub(super) fn task_submitted(&mut self, task_id: u64, output: Value) -> Result<(), StepError> {
        let (id, state, _) = self.pending(task_id)?;
        let is_service = matches!(&state.kind, Kind::Task(task)
            if matches!(ResourceKind::of(&task.resource), ResourceKind::Service { .. }));
        if is_service {
            let output = json!(output.to_string());
            let details = [
                ("output", output),
                ("outputDetails", json!({"truncated": false})),
            ];
            self.task_event(id, &state, "Submitted", &details);
        }
        Ok(())
    }

    pub(super) fn task_heartbeat(&mut self, task_id: u64) -> Result<(), StepError> {
        let (id, _, mut wait) = self.pending(task_id)?;
        if let (Some(old), Some(seconds)) = (wait.heartbeat_timer, wait.heartbeat_seconds) {
            self.execution.timers.remove(&old);
            wait.heartbeat_timer = Some(self.arm(id, seconds));
            self.set_phase(id, Phase::Task(wait));
        }
        Ok(())
    }

    pub(super) fn task_succeeded(&mut self, task_id: u64, output: Value) -> Result<(), StepError> {
        let (id, state, wait) = self.pending(task_id)?;
        self.settle(&wait);
        self.task_event(
            id,
            &state,
            "Succeeded",
            &[("output", json!(output.to_string()))],
        );
        self.handle_result(id, &state, output);
        Ok(())
    }

    pub(super) fn task_failed(&mut self, task_id: u64, failure: Failure) -> Result<(), StepError> {
        let (id, state, wait) = self.pending(task_id)?;
        self.settle(&wait);
        self.task_event(
            id,
            &state,
            "Failed",
            &[
                ("error", json!(failure.error)),
                ("cause", json!(failure.cause)),
            ],
        );
        self.fail_state(id, &state, failure);
        Ok(())
    }

    pub(super) fn task_timed_out(&mut self, id: u64, wait: TaskWait, failure: Failure) {
        let Some(state) = self.state_of(id).cloned() else {
            return;
        };
        self.settle(&wait);
        self.effects.push(Effect::CancelTask {
            task_id: wait.task_id,
        });
        self.task_event(
            id,
            &state,
            "TimedOut",
            &[
                ("error", json!(failure.error)),
                ("cause", json!(failure.cause)),
            ],
        );
        self.fail_state(id, &state, failure);
    }

    /// A result (task output, branch or item results): `ResultSelector`, `ResultPath`,
    /// `OutputPath`, then leave the state.
    pub(super) fn handle_result(&mut self, id: u64, state: &State, result: Value) {
        let Some(handling) = state.kind.handling() else {
            return;
        };
        let Some(raw) = self.thread(id).map(|t| t.raw_input.clone()) else {
            return;
        };
        let context = self.context(id, None);
        let selected = match &handling.result_selector {
            Some(template) => self.fill(id, template, &result, &context),
            None => Ok(result),
        };
        let placed = selected.and_then(|r| {
            payload::place_result(handling.result_path.as_ref(), &raw, r)
                .map_err(|e| Failure::new(errors::RESULT_PATH_MATCH_FAILURE, e.to_string()))
        });
        match placed {
            Ok(output) => self.output(id, state, output, None),
            Err(failure) => self.fail_state(id, state, failure),
        }
    }

    /// Applies `OutputPath` and leaves the state.
    fn output(&mut self, id: u64, state: &State, value: Value, choice_next: Option<String>) {
        let context = self.context(id, None);
        match payload::select(state.output_path.as_ref(), &value, &context) {
            Ok(output) => self.finish_state(id, output, choice_next),
            Err(error) => {
                let failure = self.runtime(id, &format!("{error} in the field 'OutputPath'"));
                self.fail_state(id, state, failure);
            }
        }
    }

    /// Writes `…StateExited` and follows the transition.
    pub(super) fn finish_state(&mut self, id: u64, output: Value, choice_next: Option<String>) {
        let Some(state) = self.state_of(id).cloned() else {
            return;
        };
        let event_type = format!("{}StateExited", state.kind.type_name());
        self.emit(
            Some(id),
            &event_type,
            Some(json!({"name": state.name, "output": output.to_string()})),
        );
        let next = match (&state.transition, choice_next) {
            (_, Some(next)) => next,
            (Transition::Next(next), None) => next.clone(),
            (Transition::End | Transition::Own, None) => {
                return self.complete_thread(id, Ok(output));
            }
        };
        self.go_to(id, next, output);
    }

    fn go_to(&mut self, id: u64, next: String, input: Value) {
        if let Some(thread) = self.execution.threads.get_mut(&id) {
            thread.state = next;
            thread.raw_input = input;
            thread.phase = Phase::Enter;
            self.ready.push_back(id);
        }
    }

    /// A state failed: retry, catch, or fail the thread.
    pub(super) fn fail_state(&mut self, id: u64, state: &State, failure: Failure) {
        let handling = match state.kind.handling() {
            Some(handling) if !failure.is_terminal() => handling,
            _ => return self.complete_thread(id, Err(failure)),
        };
        if let Some(index) = handling
            .retry
            .iter()
            .position(|r| r.matches(&failure.error))
        {
            let done = self
                .thread(id)
                .and_then(|t| t.retries.get(index).copied())
                .unwrap_or(0);
            let draw = self.execution.rng.next_u64();
            if let Some(delay_ms) = handling.retry[index].delay_ms(done, draw) {
                if let Some(slot) = self
                    .execution
                    .threads
                    .get_mut(&id)
                    .and_then(|t| t.retries.get_mut(index))
                {
                    *slot += 1;
                }
                let timer_id = self.next_id();
                self.execution.timers.insert(timer_id, Some(id));
                let at_ms = self
                    .now_ms
                    .saturating_add(i64::try_from(delay_ms).unwrap_or(i64::MAX));
                self.effects.push(Effect::ScheduleTimer { timer_id, at_ms });
                self.set_phase(id, Phase::Retry { timer_id });
                return;
            }
        }
        if let Some(catcher) = handling.catch.iter().find(|c| c.matches(&failure.error)) {
            let raw = self
                .thread(id)
                .map(|t| t.raw_input.clone())
                .unwrap_or(Value::Null);
            match payload::place_result(
                catcher.result_path.as_ref(),
                &raw,
                failure.to_error_output(),
            ) {
                Ok(output) => {
                    let event_type = format!("{}StateExited", state.kind.type_name());
                    self.emit(
                        Some(id),
                        &event_type,
                        Some(json!({"name": state.name, "output": output.to_string()})),
                    );
                    self.go_to(id, catcher.next.clone(), output);
                }
                Err(error) => self.complete_thread(
                    id,
                    Err(Failure::new(
                        errors::RESULT_PATH_MATCH_FAILURE,
                        error.to_string(),
                    )),
                ),
            }
            return;
        }
        self.complete_thread(id, Err(failure));
    }
}

/// `arn:aws:states:us-east-1:…` → `us-east-1`.
fn region_of(arn: &str) -> String {
    arn.split(':').nth(3).unwrap_or_default().to_string()
}
