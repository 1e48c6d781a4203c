//! Step-API behaviour that fixtures cannot show: resuming from serialised state, stale timers,
//! unknown tasks.

use serde_json::{Value, json};

use super::*;
use crate::parse::parse_value;

fn info(input: Value) -> ExecutionInfo {
    ExecutionInfo {
        execution_arn: "arn:aws:states:us-east-1:123456789012:execution:m:e".into(),
        name: "e".into(),
        state_machine_arn: "arn:aws:states:us-east-1:123456789012:stateMachine:m".into(),
        state_machine_name: "m".into(),
        role_arn: "arn:aws:iam::123456789012:role/r".into(),
        input,
        start_ms: 1_700_000_000_000,
    }
}

fn task_of(effects: &[Effect]) -> Option<TaskRequest> {
    effects.iter().find_map(|e| match e {
        Effect::StartTask(task) => Some(task.clone()),
        _ => None,
    })
}

#[test]
fn resumes_from_serialised_state() {
    let definition = parse_value(&json!({
        "StartAt": "T",
        "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"token.$": "$$.Task.Token", "v.$": "$.v"}, "End": true}}
    }))
    .expect("valid");
    let (execution, effects) = start(&definition, info(json!({"v": 1})), 9, 0);
    let task = task_of(&effects).expect("a task");
    assert_eq!(task.parameters["token"], json!(task.task_token));
    assert_eq!(
        execution.task_for_token(&task.task_token),
        Some(task.task_id)
    );
    let saved = serde_json::to_string(&execution).expect("serialises");
    let mut restored: Execution = serde_json::from_str(&saved).expect("deserialises");
    let effects = step(
        &definition,
        &mut restored,
        Event::TaskSucceeded {
            task_id: task.task_id,
            output: json!(7),
        },
        10,
    )
    .expect("steps");
    assert!(effects.contains(&Effect::Succeeded { output: json!(7) }));
    assert_eq!(restored.status, Status::Succeeded);
    assert_eq!(
        step(
            &definition,
            &mut restored,
            Event::TimerFired { timer_id: 1 },
            11
        ),
        Err(StepError::NotRunning)
    );
}

#[test]
fn unknown_tasks_and_stale_timers() {
    let definition = parse_value(&json!({
        "StartAt": "T",
        "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "HeartbeatSeconds": 5, "TimeoutSeconds": 60, "End": true}}
    }))
    .expect("valid");
    let (mut execution, effects) = start(&definition, info(json!({})), 1, 0);
    let task = task_of(&effects).expect("a task");
    assert_eq!(
        step(
            &definition,
            &mut execution,
            Event::TaskSucceeded {
                task_id: 999,
                output: json!(1)
            },
            1
        ),
        Err(StepError::UnknownTask(999))
    );
    let first_heartbeat_timer = effects
        .iter()
        .filter_map(|e| match e {
            Effect::ScheduleTimer {
                timer_id,
                at_ms: 5000,
            } => Some(*timer_id),
            _ => None,
        })
        .next()
        .expect("heartbeat timer");
    let renewed = step(
        &definition,
        &mut execution,
        Event::TaskHeartbeat {
            task_id: task.task_id,
        },
        4000,
    )
    .expect("heartbeat");
    assert!(
        renewed
            .iter()
            .any(|e| matches!(e, Effect::ScheduleTimer { at_ms: 9000, .. }))
    );
    // The first heartbeat timer is stale now: firing it changes nothing.
    assert_eq!(
        step(
            &definition,
            &mut execution,
            Event::TimerFired {
                timer_id: first_heartbeat_timer
            },
            5000
        ),
        Ok(vec![])
    );
    assert_eq!(execution.status, Status::Running);
}

#[test]
fn stop_aborts_and_cancels() {
    let definition = parse_value(&json!({
        "StartAt": "T",
        "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": true}}
    }))
    .expect("valid");
    let (mut execution, effects) = start(&definition, info(json!({})), 1, 0);
    let task = task_of(&effects).expect("a task");
    let effects = step(
        &definition,
        &mut execution,
        Event::Stop {
            error: Some("E".into()),
            cause: None,
        },
        5,
    )
    .expect("stops");
    assert!(effects.contains(&Effect::CancelTask {
        task_id: task.task_id
    }));
    assert_eq!(execution.status, Status::Aborted);
}

#[test]
fn redrive_resumes_at_the_failed_state_with_its_input() {
    let definition = parse_value(&json!({
        "StartAt": "P",
        "States": {
            "P": {"Type": "Pass", "Result": {"n": 1}, "Next": "T"},
            "T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": true}
        }
    }))
    .expect("valid");
    let (mut execution, effects) = start(&definition, info(json!({})), 3, 0);
    assert_eq!(
        redrive(&definition, &mut execution, 1),
        Err(RedriveError::Running)
    );
    let task = task_of(&effects).expect("a task");
    step(
        &definition,
        &mut execution,
        Event::TaskFailed {
            task_id: task.task_id,
            error: "Boom".into(),
            cause: "c".into(),
        },
        2,
    )
    .expect("fails");
    assert_eq!(execution.status, Status::Failed);
    assert!(execution.is_redrivable());
    let last = execution.last_event_id();
    let effects = redrive(&definition, &mut execution, 3).expect("redrives");
    assert_eq!(execution.status, Status::Running);
    assert_eq!(execution.redrive_count(), 1);
    let events: Vec<&str> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::History(event) => Some(event.event_type.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(
        events,
        ["ExecutionRedriven", "TaskStateEntered", "TaskScheduled"]
    );
    let again = task_of(&effects).expect("the task runs again");
    assert_eq!(again.parameters, json!({"n": 1}));
    assert!(execution.last_event_id() > last);
    step(
        &definition,
        &mut execution,
        Event::TaskSucceeded {
            task_id: again.task_id,
            output: json!("ok"),
        },
        4,
    )
    .expect("succeeds");
    assert_eq!(execution.status, Status::Succeeded);
    assert_eq!(
        redrive(&definition, &mut execution, 5),
        Err(RedriveError::Succeeded)
    );
}

#[test]
fn activity_started_names_its_worker() {
    let definition = parse_value(&json!({
        "StartAt": "A",
        "States": {"A": {"Type": "Task", "Resource": "arn:aws:states:us-east-1:123456789012:activity:work", "End": true}}
    }))
    .expect("valid");
    let (mut execution, effects) = start(&definition, info(json!({})), 3, 0);
    let task = task_of(&effects).expect("a task");
    let effects = step(
        &definition,
        &mut execution,
        Event::TaskStarted {
            task_id: task.task_id,
            worker_name: Some("w1".into()),
        },
        1,
    )
    .expect("starts");
    let Some(Effect::History(event)) = effects.first() else {
        panic!("no event: {effects:?}");
    };
    assert_eq!(event.event_type, "ActivityStarted");
    assert_eq!(event.details.as_ref().unwrap()["workerName"], "w1");
    assert_eq!(execution.live_tasks().collect::<Vec<_>>(), [task.task_id]);
}

#[test]
fn submitted_is_recorded_for_service_integrations_only() {
    let definition = parse_value(&json!({
        "StartAt": "T",
        "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken", "End": true}}
    }))
    .expect("valid");
    let (mut execution, effects) = start(&definition, info(json!({})), 3, 0);
    let task = task_of(&effects).expect("a task");
    let effects = step(
        &definition,
        &mut execution,
        Event::TaskSubmitted {
            task_id: task.task_id,
            output: json!({"MessageId": "m-1"}),
        },
        1,
    )
    .expect("submitted");
    let Some(Effect::History(event)) = effects.first() else {
        panic!("no event: {effects:?}");
    };
    assert_eq!(event.event_type, "TaskSubmitted");
    let details = event.details.as_ref().unwrap();
    assert_eq!(details["output"], "{\"MessageId\":\"m-1\"}");
    assert_eq!(details["resourceType"], "sqs");

    let activity = parse_value(&json!({
        "StartAt": "A",
        "States": {"A": {"Type": "Task", "Resource": "arn:aws:states:us-east-1:123456789012:activity:a", "End": true}}
    }))
    .expect("valid");
    let (mut execution, effects) = start(&activity, info(json!({})), 3, 0);
    let task = task_of(&effects).expect("a task");
    let effects = step(
        &activity,
        &mut execution,
        Event::TaskSubmitted {
            task_id: task.task_id,
            output: json!(null),
        },
        1,
    )
    .expect("accepted");
    assert!(effects.is_empty(), "{effects:?}");
}

fn tasks_of(effects: &[Effect]) -> Vec<TaskRequest> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::StartTask(task) => Some(task.clone()),
            _ => None,
        })
        .collect()
}

fn answer(
    definition: &Definition,
    execution: &mut Execution,
    task: &TaskRequest,
    result: Result<Value, &str>,
) -> Vec<Effect> {
    let event = match result {
        Ok(output) => Event::TaskSucceeded {
            task_id: task.task_id,
            output,
        },
        Err(error) => Event::TaskFailed {
            task_id: task.task_id,
            error: error.into(),
            cause: String::new(),
        },
    };
    step(definition, execution, event, 5).expect("answered")
}

#[test]
fn redrive_reruns_only_the_unsuccessful_branches_from_where_they_stopped() {
    let task = |next: serde_json::Value| {
        let mut state = json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke"});
        state
            .as_object_mut()
            .unwrap()
            .extend(next.as_object().unwrap().clone());
        state
    };
    let definition = parse_value(&json!({
        "StartAt": "Both",
        "States": {"Both": {"Type": "Parallel", "End": true, "Branches": [
            {"StartAt": "A", "States": {"A": task(json!({"End": true}))}},
            {"StartAt": "B1", "States": {
                "B1": {"Type": "Pass", "Result": "b1", "Next": "B2"},
                "B2": task(json!({"End": true}))}}
        ]}}
    }))
    .expect("valid");
    let (mut execution, effects) = start(&definition, info(json!({"n": 1})), 3, 0);
    let started = tasks_of(&effects);
    assert_eq!(started.len(), 2);
    let (a, b2) = (&started[0], &started[1]);
    assert_eq!(b2.parameters, json!("b1"), "B2 entered with B1's output");
    answer(&definition, &mut execution, a, Ok(json!("a done")));
    answer(&definition, &mut execution, b2, Err("Boom"));
    assert_eq!(execution.status, Status::Failed);

    let effects = redrive(&definition, &mut execution, 6).expect("redrives");
    let again = tasks_of(&effects);
    assert_eq!(again.len(), 1, "branch A succeeded and is not run again");
    assert_eq!(
        again[0].parameters,
        json!("b1"),
        "B2 resumes with its own input"
    );
    let entered: Vec<&str> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::History(event) => Some(event.event_type.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(
        entered,
        ["ExecutionRedriven", "TaskStateEntered", "TaskScheduled"]
    );
    let effects = answer(&definition, &mut execution, &again[0], Ok(json!("b done")));
    assert!(effects.contains(&Effect::Succeeded {
        output: json!(["a done", "b done"])
    }));
}

#[test]
fn redrive_after_a_stop_resumes_every_running_branch() {
    let definition = parse_value(&json!({
        "StartAt": "Both",
        "States": {"Both": {"Type": "Parallel", "End": true, "Branches": [
            {"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": true}}},
            {"StartAt": "B", "States": {"B": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": true}}}
        ]}}
    }))
    .expect("valid");
    let (mut execution, effects) = start(&definition, info(json!({})), 3, 0);
    let started = tasks_of(&effects);
    answer(&definition, &mut execution, &started[0], Ok(json!(1)));
    step(
        &definition,
        &mut execution,
        Event::Stop {
            error: None,
            cause: None,
        },
        6,
    )
    .expect("stops");
    assert_eq!(execution.status, Status::Aborted);
    let effects = redrive(&definition, &mut execution, 7).expect("redrives");
    let again = tasks_of(&effects);
    assert_eq!(again.len(), 1, "only B was still running");
    let effects = answer(&definition, &mut execution, &again[0], Ok(json!(2)));
    assert!(effects.contains(&Effect::Succeeded {
        output: json!([1, 2])
    }));
}

#[test]
fn redrive_reruns_failed_map_iterations_only() {
    let definition = parse_value(&json!({
        "StartAt": "Each",
        "States": {"Each": {"Type": "Map", "ItemsPath": "$.items", "End": true,
            "ItemProcessor": {"StartAt": "T", "States": {"T": {
                "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": true}}}}}
    }))
    .expect("valid");
    let (mut execution, effects) = start(&definition, info(json!({"items": [1, 2, 3]})), 3, 0);
    let started = tasks_of(&effects);
    assert_eq!(started.len(), 3);
    answer(&definition, &mut execution, &started[0], Ok(json!("one")));
    answer(&definition, &mut execution, &started[1], Err("Boom"));
    assert_eq!(execution.status, Status::Failed);
    let effects = redrive(&definition, &mut execution, 7).expect("redrives");
    let again = tasks_of(&effects);
    let inputs: Vec<&Value> = again.iter().map(|t| &t.parameters).collect();
    assert_eq!(
        inputs,
        [&json!(2), &json!(3)],
        "the failed and the aborted item"
    );
    answer(&definition, &mut execution, &again[0], Ok(json!("two")));
    let effects = answer(&definition, &mut execution, &again[1], Ok(json!("three")));
    assert!(effects.contains(&Effect::Succeeded {
        output: json!(["one", "two", "three"])
    }));
}
