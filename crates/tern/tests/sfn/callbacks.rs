//! Callbacks: `.waitForTaskToken` through an SQS queue answered by a worker with
//! SendTaskSuccess/Failure/Heartbeat, heartbeat and task timeouts, and activity workers whose
//! GetActivityTask long poll wakes when a task arrives.

use std::time::Duration;

use aws_sdk_sfn::types::{ExecutionStatus, HistoryEventType};
use serde_json::json;

use super::*;
use crate::common::{TestServer, create_queue};

/// Receives one message (long poll, bounded) and returns its body as JSON.
pub async fn receive_json(sqs: &aws_sdk_sqs::Client, queue_url: &str) -> (Value, String) {
    let deadline = Instant::now() + EXECUTION_TIMEOUT;
    loop {
        let received = sqs
            .receive_message()
            .queue_url(queue_url)
            .wait_time_seconds(2)
            .send()
            .await
            .unwrap();
        if let Some(message) = received.messages().first() {
            let body = message.body().unwrap_or_default();
            let value = serde_json::from_str(body).unwrap_or_else(|_| json!(body));
            return (
                value,
                message.receipt_handle().unwrap_or_default().to_owned(),
            );
        }
        assert!(Instant::now() < deadline, "no message on {queue_url}");
    }
}

fn callback_machine(queue_url: &str, heartbeat_seconds: u64) -> Value {
    json!({
        "StartAt": "AskBank",
        "States": {
            "AskBank": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                "Parameters": {
                    "QueueUrl": queue_url,
                    "MessageBody": {"token.$": "$$.Task.Token", "amount.$": "$.amount"}
                },
                "HeartbeatSeconds": heartbeat_seconds,
                "Catch": [{"ErrorEquals": ["States.HeartbeatTimeout"], "ResultPath": "$.failure", "Next": "NoAnswer"},
                          {"ErrorEquals": ["Bank.Declined"], "ResultPath": "$.failure", "Next": "Declined"}],
                "ResultPath": "$.quote",
                "End": true
            },
            "NoAnswer": {"Type": "Pass", "Result": "timed out", "ResultPath": "$.outcome", "End": true},
            "Declined": {"Type": "Pass", "Result": "declined", "ResultPath": "$.outcome", "End": true}
        }
    })
}

#[tokio::test]
async fn task_tokens_travel_through_sqs_and_come_back_by_callback() {
    let server = TestServer::start_with_args(&["--time-scale", FAST]);
    let client = sfn_client(&server);
    let sqs = server.client();
    let queue_url = create_queue(&sqs, "bank-requests", &[]).await;
    // Heartbeats of 6000 s (a minute, scaled) leave the worker all the time it needs; the
    // `silent` machine's 100 s (one second, scaled) lapse for want of one.
    let machine = create_machine(&client, "callbacks", &callback_machine(&queue_url, 6000)).await;
    let impatient = create_machine(&client, "impatient", &callback_machine(&queue_url, 100)).await;

    let answered = start(&client, &machine, "answered", &json!({"amount": 100})).await;
    let (body, _) = receive_json(&sqs, &queue_url).await;
    assert_eq!(body["amount"], 100);
    let token = body["token"].as_str().expect("the task token").to_owned();
    client
        .send_task_heartbeat()
        .task_token(&token)
        .send()
        .await
        .unwrap();
    sfn_failure(
        client
            .send_task_success()
            .task_token(&token)
            .output("not json")
            .send()
            .await,
    )
    .assert_is("InvalidOutput");
    succeed_task(&client, &token, "{\"rate\": 4.2}").await;
    let done = wait_for_end(&client, &answered).await;
    assert_eq!(
        output_of(&done),
        json!({"amount": 100, "quote": {"rate": 4.2}})
    );
    let types = event_types(&history(&client, &answered).await).join(",");
    assert!(
        types.contains("TaskScheduled,TaskStarted,TaskSubmitted,TaskSucceeded"),
        "{types}"
    );
    sfn_failure(
        client
            .send_task_success()
            .task_token(&token)
            .output("{}")
            .send()
            .await,
    )
    .assert_is("TaskTimedOut");
    sfn_failure(
        client
            .send_task_heartbeat()
            .task_token("not-a-token")
            .send()
            .await,
    )
    .assert_is("InvalidToken");

    let declined = start(&client, &machine, "declined", &json!({"amount": 200})).await;
    let (body, _) = receive_json(&sqs, &queue_url).await;
    client
        .send_task_failure()
        .task_token(body["token"].as_str().unwrap())
        .error("Bank.Declined")
        .cause("too risky")
        .send()
        .await
        .unwrap();
    let done = wait_for_end(&client, &declined).await;
    let output = output_of(&done);
    assert_eq!(output["outcome"], "declined");
    assert_eq!(
        output["failure"],
        json!({"Error": "Bank.Declined", "Cause": "too risky"})
    );

    let silent = start(&client, &impatient, "silent", &json!({"amount": 300})).await;
    receive_json(&sqs, &queue_url).await;
    let done = wait_for_end(&client, &silent).await;
    let output = output_of(&done);
    assert_eq!(output["outcome"], "timed out");
    assert_eq!(output["failure"]["Error"], "States.HeartbeatTimeout");
    let types = event_types(&history(&client, &silent).await).join(",");
    assert!(types.contains("TaskTimedOut"), "{types}");
}

#[tokio::test]
async fn activity_workers_long_poll_and_the_poll_wakes_on_arrival() {
    let server = TestServer::start();
    let client = sfn_client(&server);
    let activity = create_activity(&client, "underwrite").await;
    let machine = create_machine(
        &client,
        "underwriting",
        &json!({"StartAt": "Work", "States": {"Work": {
            "Type": "Task", "Resource": activity, "TimeoutSeconds": 600,
            "Parameters": {"customer.$": "$.customer"}, "End": true}}}),
    )
    .await;
    let poller = {
        let client = client.clone();
        let activity = activity.clone();
        tokio::spawn(async move {
            client
                .get_activity_task()
                .activity_arn(activity)
                .worker_name("underwriter-1")
                .send()
                .await
                .unwrap()
        })
    };
    // Let the poll reach the server before the task exists.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let arn = start(
        &client,
        &machine,
        "job",
        &json!({"customer": "ada", "noise": true}),
    )
    .await;
    let task = tokio::time::timeout(EXECUTION_TIMEOUT, poller)
        .await
        .expect("the long poll woke")
        .unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(task.input().unwrap()).unwrap(),
        json!({"customer": "ada"})
    );
    let token = task.task_token.unwrap();
    let events = history(&client, &arn).await;
    let started = events
        .iter()
        .find(|e| e.r#type == HistoryEventType::ActivityStarted)
        .expect("ActivityStarted");
    assert_eq!(
        started
            .activity_started_event_details
            .as_ref()
            .and_then(|d| d.worker_name()),
        Some("underwriter-1")
    );
    client
        .send_task_heartbeat()
        .task_token(&token)
        .send()
        .await
        .unwrap();
    succeed_task(&client, &token, "{\"approved\": true}").await;
    let done = wait_for_end(&client, &arn).await;
    assert_eq!(done.status, ExecutionStatus::Succeeded);
    let events = history(&client, &arn).await;
    assert_eq!(
        event_types(&events),
        [
            "ExecutionStarted",
            "TaskStateEntered",
            "ActivityScheduled",
            "ActivityStarted",
            "ActivitySucceeded",
            "TaskStateExited",
            "ExecutionSucceeded"
        ]
    );
}

#[tokio::test]
async fn shutdown_ends_an_empty_activity_poll() {
    let mut server = TestServer::start();
    let client = sfn_client(&server);
    let activity = create_activity(&client, "idle").await;
    let poller = tokio::spawn(async move {
        client
            .get_activity_task()
            .activity_arn(activity)
            .send()
            .await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let status = server.terminate();
    assert!(status.success(), "{status:?}");
    let answer = tokio::time::timeout(EXECUTION_TIMEOUT, poller)
        .await
        .expect("the poll ended with the server")
        .unwrap()
        .expect("an empty answer, not an error");
    assert!(answer.task_token.is_none(), "{answer:?}");
}
