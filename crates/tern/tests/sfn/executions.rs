//! Executions: idempotent starts, listing with filters and pages, history in both orders, stop,
//! redrive, DescribeStateMachineForExecution, and EXPRESS machines run synchronously.

use aws_sdk_sfn::types::{
    ExecutionStatus, HistoryEventType, StateMachineType, SyncExecutionStatus,
};
use serde_json::json;

use super::*;
use crate::common::TestServer;

/// A machine that waits for an approval (an activity, so it stays RUNNING until the test
/// answers) and then shapes its output from the input, the result and the context.
fn approval_machine(activity: &str) -> Value {
    json!({
        "StartAt": "Approve",
        "States": {
            "Approve": {"Type": "Task", "Resource": activity, "ResultPath": "$.approval", "Next": "Shape"},
            "Shape": {"Type": "Pass", "Parameters": {
                "amount.$": "$.amount",
                "approved.$": "$.approval.approved",
                "execution.$": "$$.Execution.Name",
                "doubled.$": "States.MathAdd($.amount, $.amount)"
            }, "End": true}
        }
    })
}

#[tokio::test]
async fn executions_start_once_list_in_pages_and_keep_their_history() {
    let server = TestServer::start();
    let client = sfn_client(&server);
    let activity = create_activity(&client, "approve").await;
    let machine = create_machine(&client, "loans", &approval_machine(&activity)).await;
    let input = json!({"amount": 21});
    let arn = start(&client, &machine, "first", &input).await;
    assert_eq!(
        arn,
        "arn:aws:states:us-east-1:000000000000:execution:loans:first"
    );
    assert_eq!(
        start(&client, &machine, "first", &input).await,
        arn,
        "same name and input"
    );
    sfn_failure(
        client
            .start_execution()
            .state_machine_arn(&machine)
            .name("first")
            .input("{\"amount\": 1}")
            .send()
            .await,
    )
    .assert_is("ExecutionAlreadyExists");
    let running = describe(&client, &arn).await;
    assert_eq!(running.status, ExecutionStatus::Running);
    assert_eq!(running.input(), Some(input.to_string().as_str()));
    assert!(running.stop_date.is_none());

    answer_task(&client, &activity, Ok("{\"approved\": true}")).await;
    let done = wait_for_end(&client, &arn).await;
    assert_eq!(
        output_of(&done),
        json!({"amount": 21, "approved": true, "execution": "first", "doubled": 42})
    );
    assert!(done.stop_date.is_some());
    sfn_failure(
        client
            .start_execution()
            .state_machine_arn(&machine)
            .name("first")
            .input(input.to_string())
            .send()
            .await,
    )
    .assert_is("ExecutionAlreadyExists");

    for index in 0..4 {
        start(&client, &machine, &format!("more-{index}"), &input).await;
    }
    let mut listed = Vec::new();
    let mut token = None;
    loop {
        let page = client
            .list_executions()
            .state_machine_arn(&machine)
            .max_results(2)
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        listed.extend(page.executions.iter().map(|e| e.name.clone()));
        token = page.next_token;
        if token.is_none() {
            break;
        }
    }
    assert_eq!(
        listed,
        ["more-3", "more-2", "more-1", "more-0", "first"],
        "newest first"
    );
    let succeeded = client
        .list_executions()
        .state_machine_arn(&machine)
        .status_filter(ExecutionStatus::Succeeded)
        .send()
        .await
        .unwrap();
    assert!(succeeded.executions.iter().any(|e| e.name == "first"));
    assert!(
        succeeded
            .executions
            .iter()
            .all(|e| e.status == ExecutionStatus::Succeeded)
    );

    let events = history(&client, &arn).await;
    assert_well_formed(&events);
    assert_eq!(
        event_types(&events),
        [
            "ExecutionStarted",
            "TaskStateEntered",
            "ActivityScheduled",
            "ActivityStarted",
            "ActivitySucceeded",
            "TaskStateExited",
            "PassStateEntered",
            "PassStateExited",
            "ExecutionSucceeded"
        ]
    );
    let started = events[0].execution_started_event_details.as_ref().unwrap();
    assert_eq!(started.input(), Some(input.to_string().as_str()));
    assert_eq!(started.role_arn(), Some(ROLE));
    let newest = client
        .get_execution_history()
        .execution_arn(&arn)
        .reverse_order(true)
        .max_results(2)
        .include_execution_data(false)
        .send()
        .await
        .unwrap();
    assert_eq!(newest.events.len(), 2);
    assert_eq!(
        newest.events[0].r#type,
        HistoryEventType::ExecutionSucceeded
    );
    assert!(newest.next_token.is_some());
    let details = newest.events[0].execution_succeeded_event_details.as_ref();
    assert_eq!(
        details.and_then(|d| d.output()),
        None,
        "includeExecutionData: false"
    );
    let rest = client
        .get_execution_history()
        .execution_arn(&arn)
        .reverse_order(true)
        .set_next_token(newest.next_token)
        .send()
        .await
        .unwrap();
    assert_eq!(rest.events.len(), 7);
    assert_eq!(rest.events.last().unwrap().id, 1);

    let for_execution = client
        .describe_state_machine_for_execution()
        .execution_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(for_execution.state_machine_arn, machine);
    assert_eq!(for_execution.name, "loans");
    assert_eq!(
        serde_json::from_str::<Value>(&for_execution.definition).unwrap(),
        approval_machine(&activity)
    );
    sfn_failure(
        client
            .describe_execution()
            .execution_arn("arn:aws:states:us-east-1:000000000000:execution:loans:nope")
            .send()
            .await,
    )
    .assert_is("ExecutionDoesNotExist");
}

#[tokio::test]
async fn stop_aborts_and_redrive_resumes_from_the_failed_state() {
    let server = TestServer::start();
    let client = sfn_client(&server);
    let activity = create_activity(&client, "approve").await;
    let machine = create_machine(
        &client,
        "approvals",
        &json!({
            "StartAt": "Prepare",
            "States": {
                "Prepare": {"Type": "Pass", "Result": {"step": "prepared"}, "ResultPath": "$.prepare", "Next": "Approve"},
                "Approve": {"Type": "Task", "Resource": activity, "End": true}
            }
        }),
    )
    .await;
    let stopped = start(&client, &machine, "to-stop", &json!({"n": 1})).await;
    wait_for_event(&client, &stopped, HistoryEventType::ActivityScheduled).await;
    client
        .stop_execution()
        .execution_arn(&stopped)
        .error("Operator")
        .cause("not needed")
        .send()
        .await
        .unwrap();
    let described = wait_for_end(&client, &stopped).await;
    assert_eq!(described.status, ExecutionStatus::Aborted);
    assert_eq!(described.error(), Some("Operator"));
    assert_eq!(described.cause(), Some("not needed"));
    let events = history(&client, &stopped).await;
    assert_eq!(
        events.last().unwrap().r#type,
        HistoryEventType::ExecutionAborted
    );

    let failing = start(&client, &machine, "to-redrive", &json!({"n": 2})).await;
    let (token, _) = take_task(&client, &activity).await;
    client
        .send_task_failure()
        .task_token(&token)
        .error("Rejected")
        .cause("first try")
        .send()
        .await
        .unwrap();
    let failed = wait_for_end(&client, &failing).await;
    assert_eq!(failed.status, ExecutionStatus::Failed);
    assert_eq!(failed.error(), Some("Rejected"));
    assert_eq!(
        failed.redrive_status.as_ref().map(|s| s.as_str()),
        Some("REDRIVABLE")
    );

    client
        .redrive_execution()
        .execution_arn(&failing)
        .send()
        .await
        .unwrap();
    let input = answer_task(&client, &activity, Ok("{\"approved\":true}")).await;
    assert_eq!(
        serde_json::from_str::<Value>(&input).unwrap(),
        json!({"n": 2, "prepare": {"step": "prepared"}}),
        "the failed state's own input"
    );
    let redriven = wait_for_end(&client, &failing).await;
    assert_eq!(output_of(&redriven), json!({"approved": true}));
    assert_eq!(redriven.redrive_count, Some(1));
    let listed = client
        .list_executions()
        .state_machine_arn(&machine)
        .redrive_filter(aws_sdk_sfn::types::ExecutionRedriveFilter::Redriven)
        .send()
        .await
        .unwrap();
    let names: Vec<&str> = listed.executions.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["to-redrive"]);
    let events = history(&client, &failing).await;
    assert_well_formed(&events);
    let types = event_types(&events);
    let redrive_at = types
        .iter()
        .position(|t| *t == "ExecutionRedriven")
        .expect("ExecutionRedriven");
    assert_eq!(types[redrive_at - 1], "ExecutionFailed");
    assert_eq!(
        &types[redrive_at + 1..redrive_at + 3],
        ["TaskStateEntered", "ActivityScheduled"]
    );
    sfn_failure(
        client
            .redrive_execution()
            .execution_arn(&failing)
            .send()
            .await,
    )
    .assert_is("ExecutionNotRedrivable");
}

#[tokio::test]
async fn express_machines_run_synchronously_through_the_sync_host() {
    let server = TestServer::start();
    let client = sfn_client(&server);
    let machine = create_typed(
        &client,
        "quote-now",
        &json!({
            "StartAt": "Check",
            "States": {
                "Check": {"Type": "Choice", "Choices": [
                    {"Variable": "$.amount", "NumericGreaterThan": 1000000, "Next": "TooMuch"}
                ], "Default": "Quote"},
                "Quote": {"Type": "Pass", "Parameters": {"rate.$": "States.MathAdd($.base, 1)"}, "End": true},
                "TooMuch": {"Type": "Fail", "Error": "Limit", "Cause": "amount over the limit"}
            }
        }),
        StateMachineType::Express,
    )
    .await;
    let ok = client
        .start_sync_execution()
        .state_machine_arn(&machine)
        .input("{\"amount\": 5, \"base\": 2}")
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status, SyncExecutionStatus::Succeeded);
    assert_eq!(
        serde_json::from_str::<Value>(ok.output().unwrap()).unwrap(),
        json!({"rate": 3})
    );
    assert!(
        ok.execution_arn.contains(":express:quote-now:"),
        "{}",
        ok.execution_arn
    );
    let refused = client
        .start_sync_execution()
        .state_machine_arn(&machine)
        .input("{\"amount\": 5000000, \"base\": 2}")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status, SyncExecutionStatus::Failed);
    assert_eq!(refused.error(), Some("Limit"));
    assert_eq!(refused.cause(), Some("amount over the limit"));

    sfn_failure(
        client
            .list_executions()
            .state_machine_arn(&machine)
            .send()
            .await,
    )
    .assert_is("StateMachineTypeNotSupported");
    let standard = create_machine(
        &client,
        "standard",
        &json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}),
    )
    .await;
    sfn_failure(
        client
            .start_sync_execution()
            .state_machine_arn(&standard)
            .send()
            .await,
    )
    .assert_is("StateMachineTypeNotSupported");
}

#[tokio::test]
async fn machine_and_task_timeouts_follow_the_time_scale() {
    let server = TestServer::start_with_args(&["--time-scale", FAST]);
    let client = sfn_client(&server);
    let activity = create_activity(&client, "slow").await;
    // 200 s and 100 s scaled by 0.01: the task times out after one second and is caught; the
    // machine's own limit then ends the second Wait.
    let machine = create_machine(
        &client,
        "deadlines",
        &json!({
            "StartAt": "Slow",
            "TimeoutSeconds": 200,
            "States": {
                "Slow": {"Type": "Task", "Resource": activity, "TimeoutSeconds": 100,
                         "Catch": [{"ErrorEquals": ["States.Timeout"], "ResultPath": "$.timeout", "Next": "Forever"}],
                         "End": true},
                "Forever": {"Type": "Wait", "Seconds": 100000, "End": true}
            }
        }),
    )
    .await;
    let arn = start(&client, &machine, "late", &json!({})).await;
    let done = wait_for_end(&client, &arn).await;
    assert_eq!(done.status, ExecutionStatus::TimedOut, "{done:?}");
    assert_eq!(done.error(), Some("States.Timeout"));
    let events = history(&client, &arn).await;
    assert_well_formed(&events);
    let types = event_types(&events);
    assert!(types.contains(&"ActivityTimedOut"), "{types:?}");
    assert_eq!(types.last(), Some(&"ExecutionTimedOut"));
    let redriven = describe(&client, &arn).await;
    assert_eq!(
        redriven.redrive_status.as_ref().map(|s| s.as_str()),
        Some("REDRIVABLE")
    );
}

#[tokio::test]
async fn redrive_runs_only_the_branches_that_did_not_succeed() {
    let server = TestServer::start();
    let client = sfn_client(&server);
    let left = create_activity(&client, "left").await;
    let right = create_activity(&client, "right").await;
    let machine = create_machine(
        &client,
        "branches",
        &json!({"StartAt": "Both", "States": {"Both": {"Type": "Parallel", "End": true, "Branches": [
            {"StartAt": "Left", "States": {"Left": {"Type": "Task", "Resource": left, "End": true}}},
            {"StartAt": "Prepare", "States": {
                "Prepare": {"Type": "Pass", "Result": {"prepared": true}, "Next": "Right"},
                "Right": {"Type": "Task", "Resource": right, "End": true}}}
        ]}}}),
    )
    .await;
    let arn = start(&client, &machine, "twice", &json!({})).await;
    answer_task(&client, &left, Ok("\"left done\"")).await;
    answer_task(&client, &right, Err("Flaky")).await;
    assert_eq!(
        wait_for_end(&client, &arn).await.status,
        ExecutionStatus::Failed
    );

    client
        .redrive_execution()
        .execution_arn(&arn)
        .send()
        .await
        .unwrap();
    let input = answer_task(&client, &right, Ok("\"right done\"")).await;
    assert_eq!(
        serde_json::from_str::<Value>(&input).unwrap(),
        json!({"prepared": true})
    );
    let done = wait_for_end(&client, &arn).await;
    assert_eq!(output_of(&done), json!(["left done", "right done"]));
    let events = history(&client, &arn).await;
    assert_well_formed(&events);
    let count = |t: &str| event_types(&events).iter().filter(|e| **e == t).count();
    assert_eq!(count("ActivityScheduled"), 3, "Left ran once, Right twice");
    assert_eq!(
        count("PassStateEntered"),
        1,
        "Right resumed where it stopped"
    );
}
