//! Parallel and Map: child threads, their results, concurrency limits and tolerated failures.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{Phase, Run, Thread};
use crate::definition::{Count, Kind, MapState, Parallel, Percentage, ScopeStep, State};
use crate::errors::{self, Failure};

/// Bound on items one inline Map runs; AWS documents 40 concurrent iterations for inline Map
/// and bounds the payload at 256 KiB, so a larger item list is almost certainly an error.
const MAP_ITEMS_MAX: usize = 10_000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct Fanout {
    is_map: bool,
    /// The input each child starts with (one per branch or per item).
    inputs: Vec<Value>,
    /// The running child thread of each slot.
    children: Vec<Option<u64>>,
    results: Vec<Option<Value>>,
    next_slot: usize,
    /// `0` means no limit.
    max_concurrency: usize,
    failures: u64,
    tolerated_count: Option<u64>,
    tolerated_percentage: Option<f64>,
    started_event_id: u64,
    /// Per slot, where an unsuccessful child stopped (state and the input it entered with), so
    /// a redrive resumes it there; slots with a result are not run again.
    #[serde(default)]
    resume: Vec<Option<(String, Value)>>,
}

impl Fanout {
    /// Records where each running child is, for a redrive after an outside stop.
    pub(super) fn resume_running(&mut self, threads: &std::collections::BTreeMap<u64, Thread>) {
        self.resume.resize(self.inputs.len(), None);
        for (slot, child) in self.children.iter().enumerate() {
            let Some(thread) = child.and_then(|id| threads.get(&id)) else {
                continue;
            };
            if let Some(entry) = self.resume.get_mut(slot) {
                *entry = Some((thread.state.clone(), thread.raw_input.clone()));
            }
        }
    }
}

impl Run<'_> {
    pub(super) fn start_parallel(
        &mut self,
        id: u64,
        state: &State,
        parallel: &Parallel,
        effective: Value,
        context: &Value,
    ) {
        let input = match &parallel.handling.parameters {
            Some(template) => match self.fill(id, template, &effective, context) {
                Ok(input) => input,
                Err(failure) => return self.fail_state(id, state, failure),
            },
            None => effective,
        };
        let started = self.emit(Some(id), "ParallelStateStarted", None);
        let count = parallel.branches.len();
        let fanout = Fanout {
            is_map: false,
            inputs: vec![input; count],
            children: vec![None; count],
            results: vec![None; count],
            next_slot: 0,
            max_concurrency: 0,
            failures: 0,
            tolerated_count: None,
            tolerated_percentage: None,
            started_event_id: started,
            resume: Vec::new(),
        };
        self.set_phase(id, Phase::Fanout(fanout));
        self.launch(id, state);
    }

    pub(super) fn start_map(
        &mut self,
        id: u64,
        state: &State,
        map: &MapState,
        effective: Value,
        context: &Value,
    ) {
        let items = match map.items_path.as_ref().map(|p| p.read(&effective, context)) {
            None => Ok(effective.clone()),
            Some(result) => result.map_err(|e| e.to_string()),
        };
        let items = match items {
            Ok(Value::Array(items)) if items.len() <= MAP_ITEMS_MAX => items,
            Ok(Value::Array(_)) => {
                let failure = self.runtime(
                    id,
                    &format!("The Map state has more than {MAP_ITEMS_MAX} items."),
                );
                return self.fail_state(id, state, failure);
            }
            _ => {
                let path = map
                    .items_path
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default();
                let failure = self.runtime(
                    id,
                    &format!("Invalid path '{path}': the ItemsPath must reference a JSON array."),
                );
                return self.fail_state(id, state, failure);
            }
        };
        let limits = (
            self.count(&map.max_concurrency, &effective),
            map.tolerated_failure_count
                .as_ref()
                .map(|c| self.count(c, &effective))
                .transpose(),
            map.tolerated_failure_percentage
                .as_ref()
                .map(|p| self.percentage(p, &effective))
                .transpose(),
        );
        let (max_concurrency, tolerated_count, tolerated_percentage) = match limits {
            (Ok(m), Ok(c), Ok(p)) => (m, c, p),
            (Err(detail), _, _) | (_, Err(detail), _) | (_, _, Err(detail)) => {
                let failure = self.runtime(id, &detail);
                return self.fail_state(id, state, failure);
            }
        };
        // Each item's input: ItemSelector with `$$.Map.Item` in scope, or the item itself.
        let mut inputs = Vec::with_capacity(items.len());
        for (index, item) in items.into_iter().enumerate() {
            let input = match &map.handling.parameters {
                None => item,
                Some(template) => {
                    let mut item_context = context.clone();
                    item_context["Map"] = json!({"Item": {"Index": index, "Value": item}});
                    match self.fill(id, template, &effective, &item_context) {
                        Ok(input) => input,
                        Err(failure) => return self.fail_state(id, state, failure),
                    }
                }
            };
            inputs.push(input);
        }
        let count = inputs.len();
        let started = self.emit(Some(id), "MapStateStarted", Some(json!({"length": count})));
        if count == 0 {
            self.emit(Some(id), "MapStateSucceeded", None);
            return self.handle_result(id, state, json!([]));
        }
        let fanout = Fanout {
            is_map: true,
            inputs,
            children: vec![None; count],
            results: vec![None; count],
            next_slot: 0,
            max_concurrency: usize::try_from(max_concurrency).unwrap_or(usize::MAX),
            failures: 0,
            tolerated_count,
            tolerated_percentage,
            started_event_id: started,
            resume: Vec::new(),
        };
        self.set_phase(id, Phase::Fanout(fanout));
        self.launch(id, state);
    }

    fn count(&self, count: &Count, effective: &Value) -> Result<u64, String> {
        match count {
            Count::Fixed(n) => Ok(*n),
            Count::Path(path) => path
                .read(effective, &Value::Null)
                .ok()
                .and_then(|v| v.as_u64())
                .ok_or_else(|| {
                    format!("The path {path} does not reference a non-negative integer.")
                }),
        }
    }

    fn percentage(&self, percentage: &Percentage, effective: &Value) -> Result<f64, String> {
        match percentage {
            Percentage::Fixed(p) => Ok(*p),
            Percentage::Path(path) => path
                .read(effective, &Value::Null)
                .ok()
                .and_then(|v| v.as_f64())
                .filter(|p| (0.0..=100.0).contains(p))
                .ok_or_else(|| {
                    format!("The path {path} does not reference a percentage between 0 and 100.")
                }),
        }
    }

    /// Starts children while the concurrency limit allows.
    pub(super) fn launch(&mut self, id: u64, state: &State) {
        loop {
            // Slots that already have a result (kept across a redrive) are done.
            if let Some(fanout) = self.fanout_mut(id) {
                while fanout
                    .results
                    .get(fanout.next_slot)
                    .is_some_and(Option::is_some)
                {
                    fanout.next_slot += 1;
                }
            }
            let Some(Thread {
                phase: Phase::Fanout(fanout),
                scope,
                map_item,
                ..
            }) = self.thread(id)
            else {
                return;
            };
            let running = fanout.children.iter().filter(|c| c.is_some()).count();
            if fanout.next_slot >= fanout.inputs.len()
                || (fanout.max_concurrency > 0 && running >= fanout.max_concurrency)
            {
                return;
            }
            let (slot, is_map, started) =
                (fanout.next_slot, fanout.is_map, fanout.started_event_id);
            let input = fanout.inputs[slot].clone();
            let resume = fanout.resume.get(slot).cloned().flatten();
            let mut scope = scope.clone();
            let inherited_item = map_item.clone();
            let (start_at, item) = match &state.kind {
                Kind::Parallel(parallel) => {
                    scope.push(ScopeStep {
                        state: state.name.clone(),
                        branch: Some(slot),
                    });
                    (
                        parallel.branches.get(slot).map(|b| b.start_at.clone()),
                        inherited_item,
                    )
                }
                Kind::Map(map) => {
                    scope.push(ScopeStep {
                        state: state.name.clone(),
                        branch: None,
                    });
                    (
                        Some(map.processor.start_at.clone()),
                        Some((slot, input.clone())),
                    )
                }
                _ => (None, None),
            };
            let Some(start_at) = start_at else { return };
            let (start_at, raw_input) = resume.unwrap_or((start_at, input));
            let child_id = self.next_id();
            let mut previous = started;
            if is_map {
                if let Some(thread) = self.execution.threads.get_mut(&id) {
                    thread.last_event_id = started;
                }
                previous = self.emit(
                    Some(id),
                    "MapIterationStarted",
                    Some(json!({"name": state.name, "index": slot})),
                );
            }
            let child = Thread {
                scope,
                parent: Some((id, slot)),
                map_item: item,
                state: start_at,
                raw_input,
                entered_ms: self.now_ms,
                entered_event_id: previous,
                last_event_id: previous,
                retries: Vec::new(),
                phase: Phase::Enter,
            };
            self.execution.threads.insert(child_id, child);
            self.ready.push_back(child_id);
            if let Some(Thread {
                phase: Phase::Fanout(fanout),
                ..
            }) = self.execution.threads.get_mut(&id)
            {
                fanout.children[slot] = Some(child_id);
                fanout.next_slot += 1;
            }
        }
    }

    /// A child thread finished; `stopped_at` is the state it ended in and that state's input.
    pub(super) fn child_done(
        &mut self,
        parent: u64,
        slot: usize,
        child_last_event: u64,
        result: Result<Value, Failure>,
        stopped_at: (String, Value),
    ) {
        if result.is_err() {
            self.remember_resume(parent, slot, stopped_at);
        }
        let Some(state) = self.state_of(parent).cloned() else {
            return;
        };
        let Some(Thread {
            phase: Phase::Fanout(fanout),
            ..
        }) = self.execution.threads.get_mut(&parent)
        else {
            return;
        };
        if let Some(child) = fanout.children.get_mut(slot) {
            *child = None;
        }
        let is_map = fanout.is_map;
        // Chain the parent's next event to the child's last one, as AWS's history reads.
        if let Some(thread) = self.execution.threads.get_mut(&parent) {
            thread.last_event_id = child_last_event;
        }
        let index_details = json!({"name": state.name, "index": slot});
        match result {
            Ok(output) => {
                if is_map {
                    self.emit(Some(parent), "MapIterationSucceeded", Some(index_details));
                }
                if let Some(entry) = self.fanout_mut(parent).and_then(|f| f.resume.get_mut(slot)) {
                    *entry = None;
                }
                self.store_result(parent, slot, output);
            }
            Err(failure) => {
                if !is_map {
                    self.abort_children(parent);
                    self.emit(Some(parent), "ParallelStateFailed", None);
                    return self.fail_state(parent, &state, failure);
                }
                self.emit(Some(parent), "MapIterationFailed", Some(index_details));
                let tolerated = match self.fanout_mut(parent) {
                    Some(fanout) => {
                        fanout.failures += 1;
                        tolerates(fanout)
                    }
                    None => false,
                };
                if !tolerated {
                    let configured = self.fanout_mut(parent).is_some_and(|f| {
                        f.tolerated_count.is_some() || f.tolerated_percentage.is_some()
                    });
                    self.abort_children(parent);
                    self.emit(Some(parent), "MapStateFailed", None);
                    let failure = if configured {
                        Failure::new(
                            errors::EXCEED_TOLERATED_FAILURE_THRESHOLD,
                            "The specified tolerated failure threshold was exceeded",
                        )
                    } else {
                        failure
                    };
                    return self.fail_state(parent, &state, failure);
                }
                self.store_result(parent, slot, failure.to_error_output());
            }
        }
        self.launch(parent, &state);
        self.finish_fanout_if_done(parent, &state);
    }

    fn remember_resume(&mut self, parent: u64, slot: usize, at: (String, Value)) {
        if let Some(fanout) = self.fanout_mut(parent) {
            if fanout.resume.len() < fanout.inputs.len() {
                fanout.resume.resize(fanout.inputs.len(), None);
            }
            if let Some(entry) = fanout.resume.get_mut(slot) {
                *entry = Some(at);
            }
        }
    }

    /// Redrive: the root thread re-enters its Parallel or Map with the results its successful
    /// children had; unsuccessful children resume where they stopped, the others start anew.
    pub(super) fn resume_fanout(&mut self, id: u64, mut fanout: Fanout) {
        let Some(state) = self.state_of(id).cloned() else {
            return;
        };
        let count = fanout.inputs.len();
        fanout.resume.resize(count, None);
        fanout.results.resize(count, None);
        for (result, resume) in fanout.results.iter_mut().zip(&fanout.resume) {
            if resume.is_some() {
                *result = None;
            }
        }
        fanout.children = vec![None; count];
        fanout.next_slot = 0;
        fanout.failures = 0;
        fanout.started_event_id = self.thread(id).map_or(0, |t| t.last_event_id);
        let retriers = state.kind.handling().map_or(0, |h| h.retry.len());
        if let Some(thread) = self.execution.threads.get_mut(&id) {
            thread.retries = vec![0; retriers];
        }
        self.set_phase(id, Phase::Fanout(fanout));
        self.launch(id, &state);
        self.finish_fanout_if_done(id, &state);
    }

    /// Leaves the Parallel or Map once every slot has its result.
    fn finish_fanout_if_done(&mut self, parent: u64, state: &State) {
        let Some(fanout) = self.fanout_mut(parent) else {
            return;
        };
        if !fanout.results.iter().all(Option::is_some) {
            return;
        }
        let is_map = fanout.is_map;
        let results: Vec<Value> = fanout.results.iter_mut().filter_map(Option::take).collect();
        self.emit(
            Some(parent),
            if is_map {
                "MapStateSucceeded"
            } else {
                "ParallelStateSucceeded"
            },
            None,
        );
        self.handle_result(parent, state, Value::Array(results));
    }

    fn fanout_mut(&mut self, id: u64) -> Option<&mut Fanout> {
        match self.execution.threads.get_mut(&id) {
            Some(Thread {
                phase: Phase::Fanout(fanout),
                ..
            }) => Some(fanout),
            _ => None,
        }
    }

    fn store_result(&mut self, parent: u64, slot: usize, value: Value) {
        if let Some(result) = self
            .fanout_mut(parent)
            .and_then(|f| f.results.get_mut(slot))
        {
            *result = Some(value);
        }
    }

    /// Removes every descendant of `id`, cancelling their tasks; Map iterations still running
    /// get `MapIterationAborted`.
    fn abort_children(&mut self, id: u64) {
        let Some(fanout) = self.fanout_mut(id) else {
            return;
        };
        let is_map = fanout.is_map;
        let children: Vec<(usize, u64)> = fanout
            .children
            .iter_mut()
            .enumerate()
            .filter_map(|(slot, c)| c.take().map(|c| (slot, c)))
            .collect();
        for (slot, child) in children {
            if let Some(thread) = self.thread(child) {
                let at = (thread.state.clone(), thread.raw_input.clone());
                self.remember_resume(id, slot, at);
            }
            self.abort_thread(child);
            if is_map {
                let name = self.thread(id).map(|t| t.state.clone()).unwrap_or_default();
                self.emit(
                    Some(id),
                    "MapIterationAborted",
                    Some(json!({"name": name, "index": slot})),
                );
            }
        }
    }

    fn abort_thread(&mut self, id: u64) {
        self.abort_children(id);
        let Some(thread) = self.execution.threads.remove(&id) else {
            return;
        };
        match thread.phase {
            Phase::Task(wait) => {
                self.execution.tasks.remove(&wait.task_id);
                self.effects.push(super::Effect::CancelTask {
                    task_id: wait.task_id,
                });
            }
            Phase::Fanout(_) => {
                let event_type = if matches!(
                    self.definition
                        .scope(&thread.scope)
                        .and_then(|s| s.states.get(&thread.state))
                        .map(|s| &s.kind),
                    Some(Kind::Map(_))
                ) {
                    "MapStateAborted"
                } else {
                    "ParallelStateAborted"
                };
                self.execution.threads.insert(id, thread);
                self.emit(Some(id), event_type, None);
                self.execution.threads.remove(&id);
            }
            _ => {}
        }
        self.execution.timers.retain(|_, owner| *owner != Some(id));
        self.ready.retain(|ready| *ready != id);
    }
}

fn tolerates(fanout: &Fanout) -> bool {
    let by_count = fanout
        .tolerated_count
        .is_some_and(|limit| fanout.failures <= limit);
    let total = fanout.inputs.len().max(1) as f64;
    let by_percentage = fanout
        .tolerated_percentage
        .is_some_and(|limit| fanout.failures as f64 * 100.0 / total <= limit);
    by_count || by_percentage
}
