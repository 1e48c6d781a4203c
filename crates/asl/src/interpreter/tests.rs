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
