//! Fair queues through aws-sdk-sqs: on a standard queue, MessageGroupId is a tenant key, and a
//! tenant's backlog does not hold back a quiet tenant's messages.

mod common;

use aws_sdk_sqs::types::{MessageSystemAttributeName, SendMessageBatchRequestEntry};
use common::*;

#[tokio::test]
async fn a_quiet_tenant_is_served_ahead_of_a_noisy_backlog() {
    let server = TestServer::start();
    let client = server.client();
    let url = create_queue(&client, "tenants", &[]).await;
    for batch in 0..20 {
        let mut request = client.send_message_batch().queue_url(&url);
        for index in 0..10 {
            request = request.entries(
                SendMessageBatchRequestEntry::builder()
                    .id(format!("e{index}"))
                    .message_body(format!("noisy-{batch}-{index}"))
                    .message_group_id("noisy-tenant")
                    .build()
                    .unwrap(),
            );
        }
        assert_eq!(request.send().await.unwrap().successful().len(), 10);
    }
    client
        .send_message()
        .queue_url(&url)
        .message_body("quiet-1")
        .message_group_id("quiet-tenant")
        .send()
        .await
        .unwrap();

    // 200 older messages of one tenant are waiting; the quiet tenant's one still arrives in the
    // first receive instead of the twenty-first.
    let first = receive(&client, &url, 10, None).await;
    assert_eq!(first.len(), 10);
    let quiet = first
        .iter()
        .find(|message| message.body() == Some("quiet-1"))
        .expect("the quiet tenant's message is in the first receive");
    assert_eq!(
        quiet
            .attributes()
            .and_then(|attributes| attributes.get(&MessageSystemAttributeName::MessageGroupId))
            .map(String::as_str),
        Some("quiet-tenant")
    );
    let noisy_count = first
        .iter()
        .filter(|message| {
            message
                .body()
                .is_some_and(|body| body.starts_with("noisy-"))
        })
        .count();
    assert_eq!(
        noisy_count, 9,
        "the rest of the receive still drains the backlog"
    );
}
