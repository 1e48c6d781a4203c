//! `kill -9` in the middle of an execution: a Wait, a task token sent through SQS, an activity
//! task already handed to a worker, an activity task still queued and a Retry interval all
//! survive the crash; the execution completes after the restart, nothing that already happened
//! happens again, and the history has no duplicate events.

use aws_sdk_sfn::types::HistoryEventType;
use serde_json::json;

use super::callbacks::receive_json;
use super::stub::Stub;
use super::*;
use crate::common::{TestServer, counters, create_queue};

#[tokio::test]
async fn an_execution_survives_kill_9_with_every_kind_of_pending_work() {
    let stub = Stub::start().await;
    let flaky = format!("flaky={}", stub.url("/flaky"));
    let mut server = TestServer::start_with_args(&["--time-scale", FAST, "--lambda", &flaky]);
    let client = sfn_client(&server);
    let sqs = server.client();
    let queue_url = create_queue(&sqs, "callbacks", &[]).await;
    let handed = create_activity(&client, "handed").await;
    let queued = create_activity(&client, "queued").await;
    // 1000 s scaled by 0.01: ten seconds, far longer than reaching the crash takes.
    let machine = create_machine(
        &client,
        "survivor",
        &json!({"StartAt": "All", "States": {"All": {
            "Type": "Parallel",
            "End": true,
            "Branches": [
                {"StartAt": "Sleep", "States": {"Sleep": {"Type": "Wait", "Seconds": 1000, "Next": "Woke"},
                                                "Woke": {"Type": "Pass", "Result": "woke", "End": true}}},
                {"StartAt": "Callback", "States": {"Callback": {
                    "Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                    "Parameters": {"QueueUrl": queue_url, "MessageBody": {"token.$": "$$.Task.Token"}},
                    "End": true}}},
                {"StartAt": "Handed", "States": {"Handed": {"Type": "Task", "Resource": handed, "End": true}}},
                {"StartAt": "Queued", "States": {"Queued": {"Type": "Task", "Resource": queued, "End": true}}},
                {"StartAt": "Flaky", "States": {"Flaky": {
                    "Type": "Task", "Resource": "arn:aws:lambda:us-east-1:000000000000:function:flaky",
                    "Retry": [{"ErrorEquals": ["Flaky"], "IntervalSeconds": 1000, "MaxAttempts": 1}],
                    "End": true}}}
            ]
        }}}),
    )
    .await;
    let arn = start(&client, &machine, "crash", &json!({})).await;
    let (message, _) = receive_json(&sqs, &queue_url).await;
    let callback_token = message["token"].as_str().unwrap().to_owned();
    let (handed_token, _) = take_task(&client, &handed).await;
    // The hand-over of the callback message is recorded (TaskSubmitted) before the crash.
    wait_for_event(&client, &arn, HistoryEventType::TaskSubmitted).await;
    wait_for_event(&client, &arn, HistoryEventType::LambdaFunctionFailed).await;
    let before = history(&client, &arn).await;
    assert!(
        !event_types(&before).contains(&"WaitStateExited"),
        "the crash must come while the Wait still waits: {:?}",
        event_types(&before)
    );

    server.kill9();
    let client = sfn_client(&server);
    let sqs = server.client();
    client
        .send_task_success()
        .task_token(&callback_token)
        .output("\"called back\"")
        .send()
        .await
        .expect("the task token is still valid after the crash");
    client
        .send_task_success()
        .task_token(&handed_token)
        .output("\"handed\"")
        .send()
        .await
        .expect("the handed activity's token is still valid");
    // The queued activity task is still queued after the crash.
    answer_task(&client, &queued, Ok("\"queued\"")).await;

    let done = wait_for_end(&client, &arn).await;
    assert_eq!(
        output_of(&done),
        json!(["woke", "called back", "handed", "queued", {"ok": true, "calls": 2}])
    );
    let events = history(&client, &arn).await;
    assert_well_formed(&events);
    assert_eq!(
        &events[..before.len()],
        &before[..],
        "history before the crash is kept as it was"
    );
    let count = |t: &str| event_types(&events).iter().filter(|e| **e == t).count();
    assert_eq!(
        count("TaskScheduled"),
        1,
        "the callback message was not sent again"
    );
    assert_eq!(count("ActivityScheduled"), 2);
    assert_eq!(count("ActivityStarted"), 2);
    assert_eq!(count("WaitStateEntered"), 1);
    assert_eq!(
        count("LambdaFunctionScheduled"),
        2,
        "one failure, one retry"
    );
    assert_eq!(
        stub.calls_to("/flaky").len(),
        2,
        "the function ran once per attempt"
    );
    let (visible, in_flight, delayed) = counters(&sqs, &queue_url).await;
    assert_eq!(
        visible + in_flight + delayed,
        1,
        "one callback message, never re-sent"
    );
}
