//! Message move tasks through aws-sdk-sqs: redrive from a dead-letter queue back to each
//! message's source or to a chosen queue, progress reports, rate limits and cancellation.

mod common;

use std::time::Duration;

use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::QueueAttributeName;
use common::*;

const RESOURCE_NOT_FOUND: AwsError = AwsError {
    shapes: &["ResourceNotFoundException"],
    query_code: "ResourceNotFoundException",
    status: 404,
};

/// A source queue whose messages dead-letter after one receive, with `count` messages already
/// moved into its dead-letter queue. Returns (source URL, DLQ URL).
async fn dead_lettered(
    server: &TestServer,
    client: &Client,
    source: &str,
    count: usize,
) -> (String, String) {
    let dlq_name = format!("{source}-dlq");
    let dlq = create_queue(client, &dlq_name, &[]).await;
    let policy = format!(
        r#"{{"deadLetterTargetArn":"{}","maxReceiveCount":1}}"#,
        server.queue_arn(&dlq_name)
    );
    let url = create_queue(
        client,
        source,
        &[(QueueAttributeName::RedrivePolicy, &policy)],
    )
    .await;
    for index in 0..count {
        send(client, &url, &format!("m{index}")).await;
    }
    let mut delivered = 0;
    while delivered < count {
        delivered += receive(client, &url, 10, Some(0)).await.len();
    }
    assert!(
        receive(client, &url, 10, Some(0)).await.is_empty(),
        "all moved to the DLQ"
    );
    (url, dlq)
}

async fn wait_for_status(
    client: &Client,
    source_arn: &str,
    wanted: &str,
) -> aws_sdk_sqs::types::ListMessageMoveTasksResultEntry {
    for _ in 0..100 {
        let listed = client
            .list_message_move_tasks()
            .source_arn(source_arn)
            .send()
            .await
            .unwrap();
        if let Some(latest) = listed.results().first()
            && latest.status() == Some(wanted)
        {
            return latest.clone();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the move task never reached {wanted}");
}

#[tokio::test]
async fn redrive_back_to_the_source_reports_progress() {
    let server = TestServer::start();
    let client = server.client();
    let (source, _dlq) = dead_lettered(&server, &client, "orders", 3).await;
    let dlq_arn = server.queue_arn("orders-dlq");
    let started = client
        .start_message_move_task()
        .source_arn(&dlq_arn)
        .send()
        .await
        .unwrap();
    assert!(
        started
            .task_handle()
            .is_some_and(|handle| !handle.is_empty())
    );
    let done = wait_for_status(&client, &dlq_arn, "COMPLETED").await;
    assert_eq!(done.approximate_number_of_messages_moved(), 3);
    assert_eq!(done.approximate_number_of_messages_to_move(), Some(3));
    assert_eq!(done.source_arn(), Some(dlq_arn.as_str()));
    assert!(
        done.task_handle().is_none(),
        "finished tasks have no handle"
    );
    let mut back = receive(&client, &source, 10, None).await;
    back.sort_by(|a, b| a.body().cmp(&b.body()));
    let bodies: Vec<_> = back.iter().filter_map(|message| message.body()).collect();
    assert_eq!(bodies, ["m0", "m1", "m2"]);
}

#[tokio::test]
async fn redrive_to_a_chosen_queue_and_cancel_a_slow_task() {
    let server = TestServer::start();
    let client = server.client();
    dead_lettered(&server, &client, "billing", 4).await;
    let dlq_arn = server.queue_arn("billing-dlq");
    let elsewhere = create_queue(&client, "elsewhere", &[]).await;
    let started = client
        .start_message_move_task()
        .source_arn(&dlq_arn)
        .destination_arn(server.queue_arn("elsewhere"))
        .max_number_of_messages_per_second(1)
        .send()
        .await
        .unwrap();
    let handle = started.task_handle().unwrap().to_owned();
    let running = wait_for_status(&client, &dlq_arn, "RUNNING").await;
    assert_eq!(running.task_handle(), Some(handle.as_str()));
    assert_eq!(running.max_number_of_messages_per_second(), Some(1));
    let second = client
        .start_message_move_task()
        .source_arn(&dlq_arn)
        .send()
        .await;
    failure(second).assert_is(INVALID_PARAMETER_VALUE);

    let cancelled = client
        .cancel_message_move_task()
        .task_handle(&handle)
        .send()
        .await
        .unwrap();
    assert!(
        cancelled.approximate_number_of_messages_moved() < 4,
        "1 message a second cannot be done yet"
    );
    let final_state = wait_for_status(&client, &dlq_arn, "CANCELLED").await;
    let moved = final_state.approximate_number_of_messages_moved();
    let arrived = receive(&client, &elsewhere, 10, None).await.len() as i64;
    assert_eq!(arrived, moved, "what the task reports is what arrived");
    let left = receive(&client, &server.queue_url("billing-dlq"), 10, None)
        .await
        .len() as i64;
    assert_eq!(left + moved, 4, "nothing lost, nothing doubled");
}

#[tokio::test]
async fn move_task_errors() {
    let server = TestServer::start();
    let client = server.client();
    let missing = client
        .start_message_move_task()
        .source_arn(server.queue_arn("nowhere"))
        .send()
        .await;
    failure(missing).assert_is(RESOURCE_NOT_FOUND);
    create_queue(&client, "not-a-dlq", &[]).await;
    let not_dlq = client
        .start_message_move_task()
        .source_arn(server.queue_arn("not-a-dlq"))
        .send()
        .await;
    failure(not_dlq).assert_is(INVALID_PARAMETER_VALUE);
    dead_lettered(&server, &client, "rates", 1).await;
    let too_fast = client
        .start_message_move_task()
        .source_arn(server.queue_arn("rates-dlq"))
        .max_number_of_messages_per_second(501)
        .send()
        .await;
    failure(too_fast).assert_is(INVALID_PARAMETER_VALUE);
    let unknown = client
        .cancel_message_move_task()
        .task_handle("bogus")
        .send()
        .await;
    failure(unknown).assert_is(RESOURCE_NOT_FOUND);
    let none_yet = client
        .list_message_move_tasks()
        .source_arn(server.queue_arn("rates-dlq"))
        .send()
        .await
        .unwrap();
    assert!(none_yet.results().is_empty());
}
