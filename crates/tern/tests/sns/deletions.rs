//! `SubscriptionsDeleted`, which AWS documents as "the number of deleted subscriptions for the
//! topic": every Unsubscribe since the topic was created counts, in the commit that deletes the
//! subscription, so the count survives `kill -9`.

use super::*;
use crate::common::*;

#[tokio::test]
async fn subscriptions_deleted_counts_unsubscribes_durably() {
    let mut server = TestServer::start();
    let client = sns_client(&server);
    let sqs = server.client();
    let topic_arn = create_topic(&client, "churn", false).await;
    let other_arn = create_topic(&client, "steady", false).await;
    let mut subscriptions = Vec::new();
    for name in ["churn-a", "churn-b", "churn-c"] {
        create_queue(&sqs, name, &[]).await;
        subscriptions
            .push(subscribe_queue(&client, &topic_arn, &server.queue_arn(name), &[]).await);
    }
    subscribe_queue(&client, &other_arn, &server.queue_arn("churn-a"), &[]).await;
    assert_eq!(
        topic_attribute(&client, &topic_arn, "SubscriptionsDeleted").await,
        "0"
    );

    for arn in &subscriptions[..2] {
        client
            .unsubscribe()
            .subscription_arn(arn)
            .send()
            .await
            .unwrap();
    }
    assert_eq!(
        topic_attribute(&client, &topic_arn, "SubscriptionsDeleted").await,
        "2"
    );
    assert_eq!(
        topic_attribute(&client, &topic_arn, "SubscriptionsConfirmed").await,
        "1"
    );
    // Changing an attribute saves the topic's whole attribute set: the count must come along.
    client
        .set_topic_attributes()
        .topic_arn(&topic_arn)
        .attribute_name("DisplayName")
        .attribute_value("Churn")
        .send()
        .await
        .unwrap();
    let refused = sns_failure(
        client
            .set_topic_attributes()
            .topic_arn(&topic_arn)
            .attribute_name("SubscriptionsDeleted")
            .attribute_value("0")
            .send()
            .await,
    );
    assert_eq!(refused.code, "InvalidParameter", "it is read-only");

    server.kill9();
    let client = sns_client(&server);
    assert_eq!(
        topic_attribute(&client, &topic_arn, "SubscriptionsDeleted").await,
        "2",
        "the count is durable"
    );
    assert_eq!(
        topic_attribute(&client, &topic_arn, "DisplayName").await,
        "Churn"
    );
    assert_eq!(
        topic_attribute(&client, &other_arn, "SubscriptionsDeleted").await,
        "0",
        "counted per topic"
    );

    client
        .delete_topic()
        .topic_arn(&topic_arn)
        .send()
        .await
        .unwrap();
    let recreated = create_topic(&client, "churn", false).await;
    assert_eq!(
        topic_attribute(&client, &recreated, "SubscriptionsDeleted").await,
        "0",
        "a new topic of the same name starts again"
    );
}
