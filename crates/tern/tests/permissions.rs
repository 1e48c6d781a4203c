//! AddPermission, RemovePermission and the Policy attribute through aws-sdk-sqs: validated,
//! stored and returned (enforcement arrives with authentication).

mod common;

use aws_sdk_sqs::types::QueueAttributeName;
use common::*;

const OVER_LIMIT: AwsError = AwsError {
    shapes: &["OverLimit"],
    query_code: "OverLimit",
    status: 403,
};

async fn policy(client: &aws_sdk_sqs::Client, url: &str) -> Option<serde_json::Value> {
    queue_attributes(client, url)
        .await
        .get("Policy")
        .map(|text| serde_json::from_str(text).expect("Policy is JSON"))
}

#[tokio::test]
async fn permissions_are_written_into_the_policy_and_removed_again() {
    let server = TestServer::start();
    let client = server.client();
    let url = create_queue(&client, "shared", &[]).await;
    client
        .add_permission()
        .queue_url(&url)
        .label("partners")
        .aws_account_ids("111122223333")
        .actions("SendMessage")
        .actions("GetQueueUrl")
        .send()
        .await
        .unwrap();
    let document = policy(&client, &url)
        .await
        .expect("a policy after AddPermission");
    let statement = &document["Statement"][0];
    assert_eq!(statement["Sid"], "partners");
    assert_eq!(statement["Effect"], "Allow");
    assert_eq!(statement["Resource"], server.queue_arn("shared"));
    assert_eq!(
        statement["Principal"]["AWS"][0],
        "arn:aws:iam::111122223333:root"
    );
    assert_eq!(
        statement["Action"],
        serde_json::json!(["SQS:SendMessage", "SQS:GetQueueUrl"])
    );

    let again = client
        .add_permission()
        .queue_url(&url)
        .label("partners")
        .aws_account_ids("111122223333")
        .actions("ReceiveMessage")
        .send()
        .await;
    failure(again).assert_is(INVALID_PARAMETER_VALUE);
    let forbidden_action = client
        .add_permission()
        .queue_url(&url)
        .label("admins")
        .aws_account_ids("111122223333")
        .actions("DeleteQueue")
        .send()
        .await;
    failure(forbidden_action).assert_is(INVALID_PARAMETER_VALUE);

    client
        .remove_permission()
        .queue_url(&url)
        .label("partners")
        .send()
        .await
        .unwrap();
    assert_eq!(
        policy(&client, &url).await,
        None,
        "the last statement removed the policy"
    );
    let unknown = client
        .remove_permission()
        .queue_url(&url)
        .label("partners")
        .send()
        .await;
    failure(unknown).assert_is(INVALID_PARAMETER_VALUE);
}

#[tokio::test]
async fn policy_attribute_is_validated_and_limits_statements() {
    let server = TestServer::start();
    let client = server.client();
    let url = create_queue(&client, "guarded", &[]).await;
    let document = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"all","Effect":"Allow","Principal":"*","Action":"SQS:*","Resource":"{}"}}]}}"#,
        server.queue_arn("guarded")
    );
    client
        .set_queue_attributes()
        .queue_url(&url)
        .attributes(QueueAttributeName::Policy, &document)
        .send()
        .await
        .unwrap();
    assert_eq!(
        queue_attributes(&client, &url).await.get("Policy"),
        Some(&document)
    );
    for bad in ["not json", r#"{"Statement":[{"Effect":"Perhaps"}]}"#] {
        let refused = client
            .set_queue_attributes()
            .queue_url(&url)
            .attributes(QueueAttributeName::Policy, bad)
            .send()
            .await;
        failure(refused).assert_is(INVALID_ATTRIBUTE_VALUE);
    }
    assert_eq!(
        queue_attributes(&client, &url).await.get("Policy"),
        Some(&document),
        "unchanged"
    );

    for index in 1..20 {
        client
            .add_permission()
            .queue_url(&url)
            .label(format!("grant{index}"))
            .aws_account_ids("111122223333")
            .actions("ReceiveMessage")
            .send()
            .await
            .unwrap_or_else(|error| panic!("grant {index}: {error:?}"));
    }
    let one_too_many = client
        .add_permission()
        .queue_url(&url)
        .label("grant20")
        .aws_account_ids("111122223333")
        .actions("ReceiveMessage")
        .send()
        .await;
    failure(one_too_many).assert_is(OVER_LIMIT);
}
