//! `http` subscriptions end to end: the confirmation handshake, notifications with AWS's headers
//! and signed bodies, raw delivery, retries with back-off and the subscription's dead-letter
//! queue, and pending deliveries that survive `kill -9`.

use std::time::Duration;

use aws_sdk_sqs::types::QueueAttributeName;

use super::endpoint::{Endpoint, Received, http_get};
use super::*;
use crate::common::*;

fn message_types(received: &[Received]) -> Vec<String> {
    received
        .iter()
        .map(|request| request.header("x-amz-sns-message-type").to_owned())
        .collect()
}

#[tokio::test]
async fn http_subscriptions_confirm_then_receive_notifications_with_aws_headers() {
    let server = TestServer::start();
    let client = sns_client(&server);
    let endpoint = Endpoint::start().await;
    let topic_arn = create_topic(&client, "web-hooks", false).await;
    let confirmation =
        &subscribe_endpoint(&client, &endpoint, &topic_arn, ("http", "/hook"), &[]).await;
    assert_eq!(
        (confirmation.method.as_str(), confirmation.path.as_str()),
        ("POST", "/hook")
    );
    assert_eq!(
        confirmation.header("x-amz-sns-message-type"),
        "SubscriptionConfirmation"
    );
    assert_eq!(confirmation.header("x-amz-sns-topic-arn"), topic_arn);
    assert_eq!(
        confirmation.header("content-type"),
        "text/plain; charset=UTF-8"
    );
    assert_eq!(
        confirmation.header("user-agent"),
        "Amazon Simple Notification Service Agent"
    );
    let body = confirmation.json();
    assert_eq!(
        confirmation.header("x-amz-sns-message-id"),
        body["MessageId"]
    );
    for field in [
        "MessageId",
        "Token",
        "TopicArn",
        "Message",
        "SubscribeURL",
        "Timestamp",
        "SignatureVersion",
        "Signature",
        "SigningCertURL",
    ] {
        assert!(body[field].is_string(), "{field} in {body}");
    }
    assert_eq!(body["TopicArn"], topic_arn.as_str());
    assert_eq!(body["SignatureVersion"], "1");
    let subscribe_url = body["SubscribeURL"].as_str().unwrap();
    assert!(subscribe_url.starts_with(&format!(
        "{}/?Action=ConfirmSubscription&TopicArn={topic_arn}&Token=",
        server.endpoint()
    )));

    let listed = client
        .list_subscriptions_by_topic()
        .topic_arn(&topic_arn)
        .send()
        .await
        .unwrap();
    assert_eq!(
        listed.subscriptions()[0].subscription_arn(),
        Some("PendingConfirmation")
    );
    let attributes = topic_attributes(&client, &topic_arn).await;
    assert_eq!(attributes["SubscriptionsPending"], "1");
    assert_eq!(attributes["SubscriptionsConfirmed"], "0");

    let published = publish_text(&client, &topic_arn, "before confirming").await;
    assert!(published.message_id().is_some());

    let bad = sns_failure(
        client
            .confirm_subscription()
            .topic_arn(&topic_arn)
            .token("not-the-token")
            .send()
            .await,
    );
    assert_eq!(
        (bad.status, bad.code.as_str(), bad.message.as_str()),
        (400, "InvalidParameter", "Invalid parameter: Token")
    );
    let missing = sns_failure(
        client
            .confirm_subscription()
            .topic_arn("arn:aws:sns:us-east-1:000000000000:no-such-topic")
            .token(body["Token"].as_str().unwrap())
            .send()
            .await,
    );
    assert_eq!((missing.status, missing.code.as_str()), (404, "NotFound"));

    // The endpoint confirms the way real ones do: by visiting the SubscribeURL, unsigned.
    let (status, reply) = http_get(subscribe_url).await;
    assert_eq!(status, 200, "{reply}");
    let subscription_arn = format!("{topic_arn}:");
    assert!(
        reply.contains(&format!("<SubscriptionArn>{subscription_arn}")),
        "{reply}"
    );
    let (again, _) = http_get(subscribe_url).await;
    assert_eq!(again, 200, "confirming twice answers the same");
    let listed = client
        .list_subscriptions_by_topic()
        .topic_arn(&topic_arn)
        .send()
        .await
        .unwrap();
    let arn = listed.subscriptions()[0]
        .subscription_arn()
        .unwrap()
        .to_owned();
    assert!(arn.starts_with(&subscription_arn), "{arn}");
    let subscription = subscription_attributes(&client, &arn).await;
    assert_eq!(subscription["PendingConfirmation"], "false");
    assert_eq!(subscription["ConfirmationWasAuthenticated"], "false");
    assert!(subscription["EffectiveDeliveryPolicy"].contains("\"numRetries\":3"));

    client
        .publish()
        .topic_arn(&topic_arn)
        .subject("Greetings")
        .message("hello endpoint")
        .message_attributes("colour", sns_attribute("String", "blue"))
        .send()
        .await
        .unwrap();
    let received = endpoint.wait_for(2, ARRIVAL_LIMIT).await;
    assert_eq!(
        message_types(&received),
        ["SubscriptionConfirmation", "Notification"],
        "nothing published before confirming is delivered"
    );
    let notification = &received[1];
    assert_eq!(notification.header("x-amz-sns-subscription-arn"), arn);
    assert_eq!(notification.header("x-amz-sns-topic-arn"), topic_arn);
    assert_eq!(
        notification.header("content-type"),
        "text/plain; charset=UTF-8"
    );
    assert_eq!(notification.header("x-amz-sns-rawdelivery"), "");
    let body = notification.json();
    assert_eq!(body["Type"], "Notification");
    assert_eq!(body["Message"], "hello endpoint");
    assert_eq!(body["Subject"], "Greetings");
    assert_eq!(
        body["MessageAttributes"]["colour"],
        serde_json::json!({"Type": "String", "Value": "blue"})
    );
    assert_eq!(
        notification.header("x-amz-sns-message-id"),
        body["MessageId"]
    );
    assert_eq!(
        body["UnsubscribeURL"],
        format!(
            "{}/?Action=Unsubscribe&SubscriptionArn={arn}",
            server.endpoint()
        )
    );
    let keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert!(
        keys.contains(&"Signature") && keys.contains(&"SigningCertURL"),
        "{keys:?}"
    );

    client
        .set_subscription_attributes()
        .subscription_arn(&arn)
        .attribute_name("RawMessageDelivery")
        .attribute_value("true")
        .send()
        .await
        .unwrap();
    publish_text(&client, &topic_arn, "raw body").await;
    let received = endpoint.wait_for(3, ARRIVAL_LIMIT).await;
    assert_eq!(received[2].body, "raw body");
    assert_eq!(received[2].header("x-amz-sns-rawdelivery"), "true");
    assert_eq!(received[2].header("x-amz-sns-message-type"), "Notification");

    client
        .unsubscribe()
        .subscription_arn(&arn)
        .send()
        .await
        .unwrap();
    let received = endpoint.wait_for(4, ARRIVAL_LIMIT).await;
    assert_eq!(
        received[3].header("x-amz-sns-message-type"),
        "UnsubscribeConfirmation"
    );
    let farewell = received[3].json();
    assert_eq!(farewell["Type"], "UnsubscribeConfirmation");
    assert!(farewell["Message"].as_str().unwrap().contains(&arn));
    assert!(farewell["Token"].is_string() && farewell["SubscribeURL"].is_string());
    publish_text(&client, &topic_arn, "after unsubscribing").await;
    assert_eq!(
        topic_attribute(&client, &topic_arn, "SubscriptionsConfirmed").await,
        "0"
    );
    assert_eq!(
        endpoint.wait_for(5, Duration::from_secs(2)).await.len(),
        4,
        "nothing after the farewell"
    );
}

#[tokio::test]
async fn bad_http_subscriptions_and_delivery_policies_get_aws_errors() {
    let server = TestServer::start();
    let client = sns_client(&server);
    let topic_arn = create_topic(&client, "strict", false).await;
    let mismatch = sns_failure(
        client
            .subscribe()
            .topic_arn(&topic_arn)
            .protocol("https")
            .endpoint("http://127.0.0.1:9/x")
            .send()
            .await,
    );
    assert_eq!(
        (
            mismatch.status,
            mismatch.code.as_str(),
            mismatch.message.as_str()
        ),
        (
            400,
            "InvalidParameter",
            "Invalid parameter: Endpoint must match the specified protocol"
        )
    );
    let no_host = sns_failure(
        client
            .subscribe()
            .topic_arn(&topic_arn)
            .protocol("http")
            .endpoint("http:///x")
            .send()
            .await,
    );
    assert_eq!(no_host.code, "InvalidParameter");
    let policy = sns_failure(
        client
            .subscribe()
            .topic_arn(&topic_arn)
            .protocol("http")
            .endpoint("http://127.0.0.1:9/x")
            .attributes(
                "DeliveryPolicy",
                r#"{"healthyRetryPolicy":{"minDelayTarget":30,"maxDelayTarget":10}}"#,
            )
            .send()
            .await,
    );
    assert_eq!(policy.code, "InvalidParameter");
    assert_eq!(
        policy.message,
        "Invalid parameter: Attributes Reason: DeliveryPolicy: healthyRetryPolicy.minDelayTarget must be less than or equal to maxDelayTarget"
    );
    let topic_policy = sns_failure(
        client
            .set_topic_attributes()
            .topic_arn(&topic_arn)
            .attribute_name("DeliveryPolicy")
            .attribute_value(
                r#"{"http":{"defaultHealthyRetryPolicy":{"backoffFunction":"cubic"}}}"#,
            )
            .send()
            .await,
    );
    assert_eq!(topic_policy.code, "InvalidParameter");
    assert!(
        topic_policy.message.contains("backoffFunction"),
        "{}",
        topic_policy.message
    );
    let fifo_arn = create_topic(&client, "strict.fifo", true).await;
    let fifo = sns_failure(
        client
            .subscribe()
            .topic_arn(&fifo_arn)
            .protocol("http")
            .endpoint("http://127.0.0.1:9/x")
            .send()
            .await,
    );
    assert_eq!(fifo.code, "InvalidParameter");
    let listed = client.list_subscriptions().send().await.unwrap();
    assert!(
        listed.subscriptions().is_empty(),
        "nothing was subscribed by a refused call"
    );
}

#[tokio::test]
async fn failed_deliveries_are_retried_with_back_off_then_dead_lettered() {
    let server = TestServer::start();
    let client = sns_client(&server);
    let sqs = server.client();
    let endpoint = Endpoint::start().await;
    let dead_letters = create_queue(&sqs, "hook-failures", &[]).await;
    let topic_arn = create_topic(&client, "flaky", false).await;
    let policy = quick_retries(2);
    let redrive = redrive_to(&server, "hook-failures");
    let arn = subscribe_http(
        &client,
        &endpoint,
        &topic_arn,
        &[("DeliveryPolicy", &policy), ("RedrivePolicy", &redrive)],
    )
    .await;
    endpoint.answer(&[500, 503, 500]);
    publish_text(&client, &topic_arn, "never taken").await;
    let moved = drain(&sqs, &dead_letters, 1, Duration::from_secs(20)).await;
    assert_eq!(moved.len(), 1, "the message reaches the dead-letter queue");
    let attempts: Vec<Received> = endpoint.received().into_iter().skip(1).collect();
    assert_eq!(
        attempts.len(),
        3,
        "the first attempt and numRetries=2 retries"
    );
    for pair in attempts.windows(2) {
        assert!(
            pair[1].at.duration_since(pair[0].at) >= Duration::from_millis(800),
            "retries wait minDelayTarget, less a tenth at most for jitter"
        );
        assert_eq!(
            pair[0].body, pair[1].body,
            "every attempt POSTs the same signed message"
        );
    }
    let body = envelope(&moved[0]);
    assert_eq!(body["Message"], "never taken");
    assert_eq!(
        body["UnsubscribeURL"],
        format!(
            "{}/?Action=Unsubscribe&SubscriptionArn={arn}",
            server.endpoint()
        )
    );
    let attributes = moved[0].message_attributes().unwrap();
    assert_eq!(
        attributes["ErrorCode"].string_value(),
        Some("DeliveryFailed")
    );
    assert!(
        attributes["ErrorMessage"]
            .string_value()
            .unwrap()
            .contains("500")
    );

    // A delivery that succeeds on a retry is delivered once and not dead-lettered.
    endpoint.answer(&[500]);
    publish_text(&client, &topic_arn, "second time lucky").await;
    let received = endpoint.wait_for(6, ARRIVAL_LIMIT).await;
    assert_eq!(received.len(), 6);
    assert_eq!(received[5].json()["Message"], "second time lucky");
    assert!(
        drain(&sqs, &dead_letters, 1, Duration::from_secs(3))
            .await
            .is_empty()
    );

    // An sqs subscription whose queue is gone dead-letters at once.
    create_queue(&sqs, "short-lived", &[]).await;
    let queue_arn = server.queue_arn("short-lived");
    subscribe_queue(
        &client,
        &topic_arn,
        &queue_arn,
        &[("RedrivePolicy", &redrive)],
    )
    .await;
    sqs.delete_queue()
        .queue_url(server.queue_url("short-lived"))
        .send()
        .await
        .unwrap();
    endpoint.answer(&[200]);
    publish_text(&client, &topic_arn, "queue gone").await;
    let moved = drain(&sqs, &dead_letters, 1, Duration::from_secs(10)).await;
    assert_eq!(notified(&moved), ["queue gone"]);
}

#[tokio::test]
async fn client_side_errors_are_dead_lettered_without_retries() {
    let server = TestServer::start();
    let client = sns_client(&server);
    let sqs = server.client();
    let endpoint = Endpoint::start().await;
    let dead_letters = create_queue(&sqs, "hook-refusals", &[]).await;
    let topic_arn = create_topic(&client, "refused", false).await;
    let policy = quick_retries(3);
    let redrive = redrive_to(&server, "hook-refusals");
    subscribe_http(
        &client,
        &endpoint,
        &topic_arn,
        &[("DeliveryPolicy", &policy), ("RedrivePolicy", &redrive)],
    )
    .await;
    endpoint.answer(&[404, 404, 404, 404]);
    publish_text(&client, &topic_arn, "not found").await;
    let moved = drain(&sqs, &dead_letters, 1, Duration::from_secs(10)).await;
    assert_eq!(
        moved.len(),
        1,
        "a 4xx goes to the dead-letter queue at once"
    );
    assert_eq!(envelope(&moved[0])["Message"], "not found");
    let reason = dead_letter_reason(&moved[0]);
    assert!(reason.contains("404"), "{reason}");
    // Three retries a second apart would all have come by now.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(
        message_types(&endpoint.received()),
        ["SubscriptionConfirmation", "Notification"],
        "one attempt, no retries"
    );
}

#[tokio::test]
async fn pending_http_deliveries_survive_kill9_and_resume() {
    let mut server = TestServer::start();
    let client = sns_client(&server);
    let endpoint = Endpoint::start().await;
    let topic_arn = create_topic(&client, "durable-hooks", false).await;
    let policy = quick_retries(30);
    subscribe_http(
        &client,
        &endpoint,
        &topic_arn,
        &[("DeliveryPolicy", &policy)],
    )
    .await;
    let address = endpoint.stop();
    let published = publish_text(&client, &topic_arn, "kept across a crash").await;
    server.kill9();
    let endpoint = Endpoint::start_on(address).await;
    let received = endpoint.wait_for(1, Duration::from_secs(20)).await;
    assert!(
        !received.is_empty(),
        "the pending delivery resumes after the restart"
    );
    let body = received[0].json();
    assert_eq!(body["Message"], "kept across a crash");
    assert_eq!(body["MessageId"].as_str(), published.message_id());
}

#[tokio::test]
async fn authenticated_confirmations_refuse_unsigned_unsubscribes() {
    let server = TestServer::start();
    let client = sns_client(&server);
    let endpoint = Endpoint::start().await;
    let topic_arn = create_topic(&client, "guarded", false).await;
    let confirmation = subscribe_endpoint(&client, &endpoint, &topic_arn, ("http", "/hook"), &[])
        .await
        .json();
    let arn = client
        .confirm_subscription()
        .topic_arn(&topic_arn)
        .token(confirmation["Token"].as_str().unwrap())
        .authenticate_on_unsubscribe("true")
        .send()
        .await
        .unwrap()
        .subscription_arn()
        .unwrap()
        .to_owned();
    assert_eq!(
        subscription_attributes(&client, &arn).await["ConfirmationWasAuthenticated"],
        "true"
    );
    let (status, reply) = http_get(&format!(
        "{}/?Action=Unsubscribe&SubscriptionArn={arn}",
        server.endpoint()
    ))
    .await;
    assert_eq!(status, 403, "{reply}");
    assert!(reply.contains("<Code>AuthorizationError</Code>"), "{reply}");
    client
        .unsubscribe()
        .subscription_arn(&arn)
        .send()
        .await
        .expect("a signed Unsubscribe works");
}

#[tokio::test]
async fn fifo_topic_duplicates_return_the_original_even_after_kill9() {
    let mut server = TestServer::start();
    let client = sns_client(&server);
    let sqs = server.client();
    let queue_url = create_queue(
        &sqs,
        "dedup.fifo",
        &[(QueueAttributeName::FifoQueue, "true")],
    )
    .await;
    let topic_arn = create_topic(&client, "dedup.fifo", true).await;
    subscribe_queue(&client, &topic_arn, &server.queue_arn("dedup.fifo"), &[]).await;
    let publish = |client: aws_sdk_sns::Client, body: &'static str| {
        let topic_arn = topic_arn.clone();
        async move {
            client
                .publish()
                .topic_arn(topic_arn)
                .message(body)
                .message_group_id("g")
                .message_deduplication_id("once")
                .send()
                .await
                .unwrap()
        }
    };
    let first = publish(client.clone(), "first").await;
    let again = publish(client.clone(), "again").await;
    assert_eq!(again.message_id(), first.message_id());
    assert_eq!(again.sequence_number(), first.sequence_number());
    server.kill9();
    let client = sns_client(&server);
    let after_crash = publish(client, "after the crash").await;
    assert_eq!(
        after_crash.message_id(),
        first.message_id(),
        "the window is the topic's and durable"
    );
    assert_eq!(after_crash.sequence_number(), first.sequence_number());
    let sqs = server.client();
    let delivered = drain(
        &sqs,
        &server.queue_url("dedup.fifo"),
        2,
        Duration::from_secs(3),
    )
    .await;
    assert_eq!(notified(&delivered), ["first"]);
    let _ = queue_url;
}
