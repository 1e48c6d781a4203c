//! `https` subscriptions end to end, against a TLS endpoint with a certificate the test makes:
//! trusted through `--extra-ca-file`, the handshake, confirmation and notifications go through
//! over TLS; a certificate Tern was not told to trust fails every attempt, which is retried and
//! then dead-lettered (or, for a confirmation, dropped) — never taken as delivered.

use std::time::Duration;

use super::endpoint::{Endpoint, tls_identity};
use super::*;
use crate::common::*;

#[tokio::test]
async fn https_endpoints_trusted_through_extra_ca_file_get_notifications_over_tls() {
    let trusted = tls_identity();
    let trust = tempfile::tempdir().unwrap();
    let ca_file = trust.path().join("endpoint-ca.pem");
    std::fs::write(&ca_file, &trusted.certificate_pem).unwrap();
    let server = TestServer::start_with_args(&["--extra-ca-file", ca_file.to_str().unwrap()]);
    let client = sns_client(&server);
    let sqs = server.client();
    let endpoint = Endpoint::start_tls(&trusted).await;
    let url = endpoint.url("/secure-hook");
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    let dead_letters = create_queue(&sqs, "tls-failures", &[]).await;
    let topic_arn = create_topic(&client, "over-tls", false).await;
    let redrive = redrive_to(&server, "tls-failures");
    let confirmation = subscribe_endpoint(
        &client,
        &endpoint,
        &topic_arn,
        ("https", "/secure-hook"),
        &[
            ("DeliveryPolicy", &quick_retries(1)),
            ("RedrivePolicy", &redrive),
        ],
    )
    .await;
    assert_eq!(
        endpoint.received().len(),
        1,
        "the SubscriptionConfirmation arrives over TLS"
    );
    assert_eq!(confirmation.path, "/secure-hook");
    confirm(&client, &topic_arn, &confirmation.json()).await;

    publish_text(&client, &topic_arn, "sealed").await;
    let received = endpoint.wait_for(2, ARRIVAL_LIMIT).await;
    assert_eq!(received.len(), 2, "the notification arrives over TLS");
    assert_eq!(received[1].header("x-amz-sns-message-type"), "Notification");
    assert_eq!(received[1].json()["Message"], "sealed");
    assert_eq!(endpoint.failed_handshakes(), 0);

    // The endpoint now shows a certificate nobody told Tern to trust.
    endpoint.present(&tls_identity());
    publish_text(&client, &topic_arn, "refused certificate").await;
    let moved = drain(&sqs, &dead_letters, 1, ARRIVAL_LIMIT).await;
    assert_eq!(moved.len(), 1, "dead-lettered once the retries are spent");
    assert_eq!(envelope(&moved[0])["Message"], "refused certificate");
    let reason = dead_letter_reason(&moved[0]);
    assert!(
        reason.to_ascii_lowercase().contains("certificate"),
        "the reason names the certificate: {reason}"
    );
    assert_eq!(
        endpoint.wait_for_failed_handshakes(2, ARRIVAL_LIMIT).await,
        2,
        "the first attempt and numRetries=1 retry, each refused at the handshake"
    );
    assert_eq!(
        endpoint.received().len(),
        2,
        "nothing was delivered to the untrusted endpoint"
    );
}

#[tokio::test]
async fn without_the_extra_ca_an_https_endpoint_is_not_trusted() {
    let server = TestServer::start();
    let client = sns_client(&server);
    let endpoint = Endpoint::start_tls(&tls_identity()).await;
    let topic_arn = create_topic(&client, "untrusted", false).await;
    client
        .subscribe()
        .topic_arn(&topic_arn)
        .protocol("https")
        .endpoint(endpoint.url("/hook"))
        .attributes("DeliveryPolicy", quick_retries(1))
        .send()
        .await
        .expect("Subscribe https");
    assert_eq!(
        endpoint.wait_for_failed_handshakes(2, ARRIVAL_LIMIT).await,
        2,
        "the confirmation is attempted and retried, and refused at the handshake each time"
    );
    let deadline = std::time::Instant::now() + ARRIVAL_LIMIT;
    while !server
        .log()
        .contains("an HTTP delivery failed and is dropped")
        && std::time::Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        server
            .log()
            .contains("an HTTP delivery failed and is dropped"),
        "the spent confirmation is logged, not taken as delivered"
    );
    assert!(endpoint.received().is_empty());
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
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        endpoint.failed_handshakes(),
        2,
        "no attempts beyond the policy's"
    );
}
