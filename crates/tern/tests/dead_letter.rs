//! Dead-letter queues through aws-sdk-sqs: RedrivePolicy moves a message on the receive that
//! exceeds maxReceiveCount, keeping its id, body, attributes and SentTimestamp;
//! RedriveAllowPolicy is enforced; ListDeadLetterSourceQueues lists the sources.

mod common;

use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use common::*;

fn redrive_policy(server: &TestServer, target: &str, max_receive_count: u32) -> String {
    format!(
        r#"{{"deadLetterTargetArn":"{}","maxReceiveCount":{max_receive_count}}}"#,
        server.queue_arn(target)
    )
}

#[tokio::test]
async fn over_received_messages_move_to_the_dead_letter_queue() {
    let server = TestServer::start();
    let client = server.client();
    let dlq = create_queue(&client, "work-dlq", &[]).await;
    let policy = redrive_policy(&server, "work-dlq", 2);
    let work = create_queue(
        &client,
        "work",
        &[(QueueAttributeName::RedrivePolicy, &policy)],
    )
    .await;
    let attributes = queue_attributes(&client, &work).await;
    assert_eq!(
        attributes.get("RedrivePolicy"),
        Some(&policy),
        "stored in canonical form"
    );

    client
        .send_message()
        .queue_url(&work)
        .message_body("poison")
        .message_attributes("kind", string_attribute("String", "bad"))
        .send()
        .await
        .unwrap();
    for receive_number in 1..=2 {
        let received = receive(&client, &work, 1, Some(0)).await;
        assert_eq!(received.len(), 1, "receive {receive_number} delivers");
    }
    assert!(
        receive(&client, &work, 1, Some(0)).await.is_empty(),
        "the third receive moves it"
    );
    let dead = receive(&client, &dlq, 1, None).await;
    assert_eq!(dead.len(), 1);
    let message = &dead[0];
    assert_eq!(message.body(), Some("poison"));
    assert!(
        message
            .message_attributes()
            .is_some_and(|attributes| attributes.contains_key("kind"))
    );
    let system = message.attributes().unwrap();
    assert_eq!(
        system
            .get(&MessageSystemAttributeName::ApproximateReceiveCount)
            .map(String::as_str),
        Some("1")
    );
    assert!(system.contains_key(&MessageSystemAttributeName::SentTimestamp));

    let sources = client
        .list_dead_letter_source_queues()
        .queue_url(&dlq)
        .send()
        .await
        .unwrap();
    assert_eq!(sources.queue_urls(), std::slice::from_ref(&work));
    let none = client
        .list_dead_letter_source_queues()
        .queue_url(&work)
        .send()
        .await
        .unwrap();
    assert!(none.queue_urls().is_empty());
}

#[tokio::test]
async fn redrive_policies_are_validated() {
    let server = TestServer::start();
    let client = server.client();
    let set_policy = |name: &'static str, policy: String| {
        let client = client.clone();
        async move {
            client
                .create_queue()
                .queue_name(name)
                .attributes(QueueAttributeName::RedrivePolicy, policy)
                .send()
                .await
        }
    };
    failure(set_policy("a", redrive_policy(&server, "missing", 3)).await)
        .assert_is(INVALID_PARAMETER_VALUE);
    failure(set_policy("b", "{not json".to_owned()).await).assert_is(INVALID_ATTRIBUTE_VALUE);
    create_queue(&client, "open-dlq", &[]).await;
    failure(set_policy("c", redrive_policy(&server, "open-dlq", 1001)).await)
        .assert_is(INVALID_ATTRIBUTE_VALUE);

    create_queue(
        &client,
        "closed-dlq",
        &[(
            QueueAttributeName::RedriveAllowPolicy,
            r#"{"redrivePermission":"denyAll"}"#,
        )],
    )
    .await;
    failure(set_policy("d", redrive_policy(&server, "closed-dlq", 3)).await)
        .assert_is(INVALID_PARAMETER_VALUE);

    let by_queue = format!(
        r#"{{"redrivePermission":"byQueue","sourceQueueArns":["{}"]}}"#,
        server.queue_arn("allowed")
    );
    create_queue(
        &client,
        "picky-dlq",
        &[(QueueAttributeName::RedriveAllowPolicy, &by_queue)],
    )
    .await;
    set_policy("allowed", redrive_policy(&server, "picky-dlq", 3))
        .await
        .expect("listed source");
    failure(set_policy("stranger", redrive_policy(&server, "picky-dlq", 3)).await)
        .assert_is(INVALID_PARAMETER_VALUE);
    assert!(
        client
            .get_queue_url()
            .queue_name("stranger")
            .send()
            .await
            .is_err(),
        "a refused CreateQueue creates nothing"
    );

    // Removing the policy with an empty value.
    let allowed = server.queue_url("allowed");
    client
        .set_queue_attributes()
        .queue_url(&allowed)
        .attributes(QueueAttributeName::RedrivePolicy, "")
        .send()
        .await
        .unwrap();
    assert!(
        !queue_attributes(&client, &allowed)
            .await
            .contains_key("RedrivePolicy")
    );
}
