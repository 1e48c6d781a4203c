//! Signed messages end to end: every notification and confirmation Tern sends — into SQS queues
//! and to HTTP endpoints — carries a `Signature` that verifies against the certificate served at
//! its `SigningCertURL`, with AWS's string to sign, in SignatureVersion 1 and 2; a changed field
//! breaks it. (`tests/compat/js` checks the same with the npm `sns-validator`.)

use std::time::Duration;

use tern_sns_sign::{MessageType, SignatureVersion, SignedFields, string_to_sign, verify};

use super::endpoint::{Endpoint, http_get};
use super::*;
use crate::common::*;

fn text<'a>(body: &'a serde_json::Value, field: &str) -> Option<&'a str> {
    body.get(field).and_then(|value| value.as_str())
}

/// The string a validator signs for `body`, per its `Type`.
fn canonical(body: &serde_json::Value) -> String {
    let message_type = match text(body, "Type") {
        Some("Notification") => MessageType::Notification,
        Some("SubscriptionConfirmation") => MessageType::SubscriptionConfirmation,
        Some("UnsubscribeConfirmation") => MessageType::UnsubscribeConfirmation,
        other => panic!("unexpected Type {other:?}"),
    };
    string_to_sign(&SignedFields {
        message_type,
        message: text(body, "Message").unwrap(),
        message_id: text(body, "MessageId").unwrap(),
        subject: text(body, "Subject"),
        subscribe_url: text(body, "SubscribeURL"),
        token: text(body, "Token"),
        timestamp: text(body, "Timestamp").unwrap(),
        topic_arn: text(body, "TopicArn").unwrap(),
    })
}

/// Fetches the certificate the message names and checks its signature.
async fn assert_verifies(body: &serde_json::Value) -> String {
    let url = text(body, "SigningCertURL").expect("SigningCertURL");
    let (status, certificate) = http_get(url).await;
    assert_eq!(status, 200, "{url}: {certificate}");
    assert!(
        certificate.starts_with("-----BEGIN CERTIFICATE-----"),
        "{certificate}"
    );
    let version =
        SignatureVersion::from_attribute(text(body, "SignatureVersion").unwrap()).unwrap();
    let signature = text(body, "Signature").expect("Signature");
    verify(&certificate, version, &canonical(body), signature)
        .unwrap_or_else(|error| panic!("{error}: {body}"));
    let mut tampered = body.clone();
    tampered["Message"] =
        serde_json::Value::from(format!("{} (changed)", text(body, "Message").unwrap()));
    assert!(
        verify(&certificate, version, &canonical(&tampered), signature).is_err(),
        "a changed message must not verify"
    );
    certificate
}

#[tokio::test]
async fn every_message_is_signed_and_verifies_against_the_served_certificate() {
    let mut server = TestServer::start();
    let client = sns_client(&server);
    let sqs = server.client();
    let endpoint = Endpoint::start().await;
    let queue_url = create_queue(&sqs, "signed", &[]).await;
    let topic_arn = create_topic(&client, "signed", false).await;
    subscribe_queue(&client, &topic_arn, &server.queue_arn("signed"), &[]).await;
    let confirmation = subscribe_endpoint(&client, &endpoint, &topic_arn, ("http", "/"), &[])
        .await
        .json();
    let certificate = assert_verifies(&confirmation).await;
    let arn = confirm(&client, &topic_arn, &confirmation).await;

    client
        .publish()
        .topic_arn(&topic_arn)
        .subject("Signed")
        .message("v1 line one\nline two")
        .send()
        .await
        .unwrap();
    let queued = drain(&sqs, &queue_url, 1, Duration::from_secs(10)).await;
    let from_queue = envelope(&queued[0]);
    assert_eq!(from_queue["SignatureVersion"], "1");
    assert_verifies(&from_queue).await;
    let posted = endpoint.wait_for(2, ARRIVAL_LIMIT).await[1].json();
    assert_verifies(&posted).await;
    assert_eq!(
        posted["Signature"], from_queue["Signature"],
        "one signature per message, whoever gets it"
    );

    client
        .set_topic_attributes()
        .topic_arn(&topic_arn)
        .attribute_name("SignatureVersion")
        .attribute_value("2")
        .send()
        .await
        .unwrap();
    publish_text(&client, &topic_arn, "v2").await;
    let queued = drain(&sqs, &queue_url, 1, Duration::from_secs(10)).await;
    let v2 = envelope(&queued[0]);
    assert_eq!(v2["SignatureVersion"], "2");
    assert_verifies(&v2).await;
    let posted = endpoint.wait_for(3, ARRIVAL_LIMIT).await[2].json();
    assert_eq!(posted["SignatureVersion"], "2");
    assert_verifies(&posted).await;

    client
        .unsubscribe()
        .subscription_arn(&arn)
        .send()
        .await
        .unwrap();
    let farewell = endpoint.wait_for(4, ARRIVAL_LIMIT).await[3].json();
    assert_eq!(farewell["Type"], "UnsubscribeConfirmation");
    assert_verifies(&farewell).await;

    // The key lives in the data directory: after a crash the same certificate signs.
    server.kill9();
    let client = sns_client(&server);
    let sqs = server.client();
    publish_text(&client, &topic_arn, "after restart").await;
    let queued = drain(
        &sqs,
        &server.queue_url("signed"),
        1,
        Duration::from_secs(10),
    )
    .await;
    let restarted = envelope(&queued[0]);
    assert_eq!(assert_verifies(&restarted).await, certificate);
    let path = |body: &serde_json::Value| {
        text(body, "SigningCertURL")
            .unwrap()
            .rsplit('/')
            .next()
            .unwrap()
            .to_owned()
    };
    assert_eq!(
        path(&restarted),
        path(&from_queue),
        "the certificate's name is stable"
    );
}
