//! Data-driven interpreter tests: every `tests/fixtures/*.json` runs through one [`check`].
//!
//! A fixture holds a `definition`, an `input`, scripted `tasks` answers (taken in the order
//! tasks are started: `{"output": …}`, `{"error": …, "cause": …}` or `{"timeout": true}` to let
//! the task's timers fire) and an `expect`ation: `{"output": …}`, `{"error": …, "cause": …}`
//! (cause optional) or `{"validation": ["CODE: message at /location", …]}`. Optional `events`
//! lists the expected history event types in order; optional `parameters` the parameters each
//! task receives.
//!
//! The driver plays the engine: it keeps pending tasks and timers, answers tasks from the
//! script, and advances a fake clock to the earliest timer when nothing else can happen.

use std::path::Path;

use serde_json::{Value, json};
use tern_asl::interpreter::{self, Effect, Event, ExecutionInfo, Status, TaskRequest};
use tern_asl::parse::parse_value;

/// Bound on driver iterations, so a fixture that loops forever fails instead of hanging.
const DRIVER_STEPS_MAX: usize = 10_000;

#[test]
fn fixtures() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .expect("fixtures dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    paths.sort();
    let mut failures = Vec::new();
    for path in &paths {
        let text = std::fs::read_to_string(path).expect("readable");
        let fixture: Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        if let Err(message) = check(&fixture) {
            failures.push(format!("{}: {message}", path.display()));
        }
    }
    assert!(
        paths.len() >= 20,
        "expected at least 20 fixtures, found {}",
        paths.len()
    );
    assert!(
        failures.is_empty(),
        "{} fixture(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

struct Outcome {
    result: Result<Value, (String, String)>,
    events: Vec<String>,
    parameters: Vec<Value>,
}

fn check(fixture: &Value) -> Result<(), String> {
    let expect = &fixture["expect"];
    let definition = match parse_value(&fixture["definition"]) {
        Ok(definition) => definition,
        Err(error) => {
            let got: Vec<String> = error.diagnostics.iter().map(ToString::to_string).collect();
            return match expect.get("validation") {
                Some(wanted) if *wanted == json!(got) => Ok(()),
                _ => Err(format!("definition rejected: {got:?}")),
            };
        }
    };
    if let Some(wanted) = expect.get("validation") {
        return Err(format!("definition accepted, expected {wanted}"));
    }
    let outcome = run(&definition, fixture)?;
    match (&outcome.result, expect.get("output"), expect.get("error")) {
        (Ok(output), Some(wanted), _) if output == wanted => {}
        (Err((error, cause)), None, Some(wanted)) if wanted == error => {
            if let Some(wanted_cause) = expect.get("cause")
                && wanted_cause != cause
            {
                return Err(format!("cause {cause:?}, expected {wanted_cause}"));
            }
        }
        (result, _, _) => return Err(format!("got {result:?}, expected {expect}")),
    }
    if let Some(wanted) = fixture.get("events")
        && *wanted != json!(outcome.events)
    {
        return Err(format!("events {:?}, expected {wanted}", outcome.events));
    }
    if let Some(wanted) = fixture.get("parameters")
        && *wanted != json!(outcome.parameters)
    {
        return Err(format!(
            "parameters {:?}, expected {wanted}",
            outcome.parameters
        ));
    }
    Ok(())
}

fn run(definition: &tern_asl::definition::Definition, fixture: &Value) -> Result<Outcome, String> {
    let info = ExecutionInfo {
        execution_arn: "arn:aws:states:us-east-1:123456789012:execution:Machine:run-1".into(),
        name: "run-1".into(),
        state_machine_arn: "arn:aws:states:us-east-1:123456789012:stateMachine:Machine".into(),
        state_machine_name: "Machine".into(),
        role_arn: "arn:aws:iam::123456789012:role/StepFunctions".into(),
        input: fixture["input"].clone(),
        start_ms: 1_700_000_000_000,
    };
    let mut now_ms = info.start_ms;
    let (mut execution, effects) = interpreter::start(definition, info, 42, now_ms);
    let mut answers = fixture["tasks"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter();
    let mut pending: Vec<TaskRequest> = Vec::new();
    let mut timers: Vec<(i64, u64)> = Vec::new();
    let mut outcome = Outcome {
        result: Err(("<none>".into(), String::new())),
        events: Vec::new(),
        parameters: Vec::new(),
    };
    let apply = |effects: Vec<Effect>,
                 pending: &mut Vec<TaskRequest>,
                 timers: &mut Vec<(i64, u64)>,
                 outcome: &mut Outcome| {
        for effect in effects {
            match effect {
                Effect::History(event) => outcome.events.push(event.event_type),
                Effect::StartTask(task) => {
                    outcome.parameters.push(task.parameters.clone());
                    pending.push(task);
                }
                Effect::CancelTask { task_id } => pending.retain(|t| t.task_id != task_id),
                Effect::ScheduleTimer { timer_id, at_ms } => timers.push((at_ms, timer_id)),
                Effect::Succeeded { output } => outcome.result = Ok(output),
                Effect::Failed { error, cause, .. } => outcome.result = Err((error, cause)),
            }
        }
    };
    apply(effects, &mut pending, &mut timers, &mut outcome);
    for _ in 0..DRIVER_STEPS_MAX {
        if execution.status != Status::Running {
            return Ok(outcome);
        }
        let event = if !pending.is_empty() {
            let task = pending.remove(0);
            let answer = answers
                .next()
                .ok_or_else(|| format!("no scripted answer for task {}", task.resource))?;
            let started = interpreter::step(
                definition,
                &mut execution,
                Event::TaskStarted {
                    task_id: task.task_id,
                    worker_name: None,
                },
                now_ms,
            )
            .map_err(|e| e.to_string())?;
            apply(started, &mut pending, &mut timers, &mut outcome);
            if answer.get("timeout").is_some() {
                // Leave the task unanswered; its timers will fire below.
                continue;
            } else if let Some(output) = answer.get("output") {
                Event::TaskSucceeded {
                    task_id: task.task_id,
                    output: output.clone(),
                }
            } else {
                let text = |key: &str| {
                    answer
                        .get(key)
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string()
                };
                Event::TaskFailed {
                    task_id: task.task_id,
                    error: text("error"),
                    cause: text("cause"),
                }
            }
        } else if !timers.is_empty() {
            timers.sort();
            let (at_ms, timer_id) = timers.remove(0);
            now_ms = now_ms.max(at_ms);
            Event::TimerFired { timer_id }
        } else {
            return Err("the execution is stuck: no task, no timer".into());
        };
        let effects = interpreter::step(definition, &mut execution, event, now_ms)
            .map_err(|e| e.to_string())?;
        apply(effects, &mut pending, &mut timers, &mut outcome);
    }
    Err("the execution did not finish".into())
}
