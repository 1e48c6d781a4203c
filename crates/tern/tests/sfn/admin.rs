//! State machines, activities and tags: create, describe, update, list, delete, validate.

use aws_sdk_sfn::types::{
    LogLevel, LoggingConfiguration, StateMachineStatus, StateMachineType, Tag,
    ValidateStateMachineDefinitionResultCode,
};
use serde_json::json;

use super::*;
use crate::common::TestServer;

fn pass_machine(result: &str) -> Value {
    json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": result, "End": true}}})
}

#[tokio::test]
async fn state_machines_are_created_described_updated_listed_and_deleted() {
    let server = TestServer::start();
    let client = sfn_client(&server);
    let definition = pass_machine("v1");
    let created = client
        .create_state_machine()
        .name("orders")
        .definition(definition.to_string())
        .role_arn(ROLE)
        .tags(Tag::builder().key("team").value("loans").build())
        .send()
        .await
        .unwrap();
    let arn = created.state_machine_arn.clone();
    assert_eq!(
        arn,
        "arn:aws:states:us-east-1:000000000000:stateMachine:orders"
    );
    let again = client
        .create_state_machine()
        .name("orders")
        .definition(definition.to_string())
        .role_arn(ROLE)
        .send()
        .await
        .unwrap();
    assert_eq!(
        again.state_machine_arn, arn,
        "the same request is idempotent"
    );
    assert_eq!(again.creation_date, created.creation_date);
    sfn_failure(
        client
            .create_state_machine()
            .name("orders")
            .definition(pass_machine("other").to_string())
            .role_arn(ROLE)
            .send()
            .await,
    )
    .assert_is("StateMachineAlreadyExists");

    let described = client
        .describe_state_machine()
        .state_machine_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(described.name, "orders");
    assert_eq!(described.status, Some(StateMachineStatus::Active));
    assert_eq!(described.r#type, StateMachineType::Standard);
    assert_eq!(described.role_arn, ROLE);
    assert_eq!(
        serde_json::from_str::<Value>(&described.definition).unwrap(),
        definition
    );
    assert_eq!(
        described
            .logging_configuration
            .as_ref()
            .and_then(|l| l.level.clone()),
        Some(LogLevel::Off)
    );
    assert_eq!(
        described.tracing_configuration.as_ref().map(|t| t.enabled),
        Some(false)
    );
    let first_revision = described.revision_id.clone().expect("revisionId");

    let updated = client
        .update_state_machine()
        .state_machine_arn(&arn)
        .definition(pass_machine("v2").to_string())
        .send()
        .await
        .unwrap();
    assert_ne!(
        updated.revision_id.as_deref(),
        Some(first_revision.as_str())
    );
    let described = client
        .describe_state_machine()
        .state_machine_arn(&arn)
        .send()
        .await
        .unwrap();
    assert!(described.definition.contains("v2"));
    sfn_failure(
        client
            .update_state_machine()
            .state_machine_arn(&arn)
            .send()
            .await,
    )
    .assert_is("MissingRequiredParameter");
    sfn_failure(
        client
            .update_state_machine()
            .state_machine_arn(&arn)
            .logging_configuration(LoggingConfiguration::builder().level(LogLevel::All).build())
            .send()
            .await,
    )
    .assert_is("InvalidLoggingConfiguration");

    for name in ["b-second", "c-third"] {
        create_typed(
            &client,
            name,
            &pass_machine(name),
            StateMachineType::Express,
        )
        .await;
    }
    let mut names = Vec::new();
    let mut token = None;
    loop {
        let page = client
            .list_state_machines()
            .max_results(2)
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        assert!(page.state_machines.len() <= 2);
        names.extend(
            page.state_machines
                .iter()
                .map(|m| (m.name.clone(), m.r#type.clone())),
        );
        token = page.next_token;
        if token.is_none() {
            break;
        }
    }
    names.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        names,
        [
            ("b-second".to_owned(), StateMachineType::Express),
            ("c-third".to_owned(), StateMachineType::Express),
            ("orders".to_owned(), StateMachineType::Standard),
        ]
    );
    sfn_failure(
        client
            .list_state_machines()
            .next_token("garbage")
            .send()
            .await,
    )
    .assert_is("InvalidToken");

    client
        .delete_state_machine()
        .state_machine_arn(&arn)
        .send()
        .await
        .unwrap();
    sfn_failure(
        client
            .describe_state_machine()
            .state_machine_arn(&arn)
            .send()
            .await,
    )
    .assert_is("StateMachineDoesNotExist");
    client
        .delete_state_machine()
        .state_machine_arn(&arn)
        .send()
        .await
        .expect("deleting a deleted machine succeeds");
}

#[tokio::test]
async fn definitions_are_validated_with_aws_diagnostics() {
    let server = TestServer::start();
    let client = sfn_client(&server);
    let broken = json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Nowhere"}}});
    let failure = sfn_failure(
        client
            .create_state_machine()
            .name("broken")
            .definition(broken.to_string())
            .role_arn(ROLE)
            .send()
            .await,
    );
    failure.assert_is("InvalidDefinition");
    assert!(
        failure.message.contains("MISSING_TRANSITION_TARGET")
            && failure.message.contains("/States/A/Next"),
        "{failure:?}"
    );
    sfn_failure(
        client
            .create_state_machine()
            .name("not-json")
            .definition("{")
            .role_arn(ROLE)
            .send()
            .await,
    )
    .assert_is("InvalidDefinition");

    let validated = client
        .validate_state_machine_definition()
        .definition(broken.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(
        validated.result,
        ValidateStateMachineDefinitionResultCode::Fail
    );
    let diagnostic = &validated.diagnostics[0];
    assert_eq!(diagnostic.code, "MISSING_TRANSITION_TARGET");
    assert_eq!(diagnostic.location.as_deref(), Some("/States/A/Next"));
    let fine = client
        .validate_state_machine_definition()
        .definition(pass_machine("ok").to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(fine.result, ValidateStateMachineDefinitionResultCode::Ok);
    assert!(fine.diagnostics.is_empty());

    sfn_failure(
        client
            .create_state_machine()
            .name("bad name")
            .definition(pass_machine("x").to_string())
            .role_arn(ROLE)
            .send()
            .await,
    )
    .assert_is("InvalidName");
    sfn_failure(
        client
            .create_state_machine()
            .name("bad-role")
            .definition(pass_machine("x").to_string())
            .role_arn("not-an-arn")
            .send()
            .await,
    )
    .assert_is("InvalidArn");
    let mut too_many = client
        .create_state_machine()
        .name("tagged")
        .definition(pass_machine("x").to_string())
        .role_arn(ROLE);
    for index in 0..51 {
        too_many = too_many.tags(Tag::builder().key(format!("k{index}")).value("v").build());
    }
    sfn_failure(too_many.send().await).assert_is("TooManyTags");
}

#[tokio::test]
async fn activities_and_tags() {
    let server = TestServer::start();
    let client = sfn_client(&server);
    let activity = client
        .create_activity()
        .name("credit-check")
        .tags(Tag::builder().key("owner").value("bureau").build())
        .send()
        .await
        .unwrap();
    let arn = activity.activity_arn.clone();
    assert_eq!(
        arn,
        "arn:aws:states:us-east-1:000000000000:activity:credit-check"
    );
    let again = client
        .create_activity()
        .name("credit-check")
        .send()
        .await
        .unwrap();
    assert_eq!(again.activity_arn, arn, "CreateActivity is idempotent");
    let described = client
        .describe_activity()
        .activity_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(described.name, "credit-check");
    let listed = client.list_activities().send().await.unwrap();
    assert_eq!(listed.activities.len(), 1);
    assert_eq!(listed.activities[0].activity_arn, arn);

    let machine = create_machine(&client, "tagged", &pass_machine("x")).await;
    for resource in [&arn, &machine] {
        client
            .tag_resource()
            .resource_arn(resource)
            .tags(Tag::builder().key("env").value("test").build())
            .tags(Tag::builder().key("drop").value("me").build())
            .send()
            .await
            .unwrap();
        client
            .untag_resource()
            .resource_arn(resource)
            .tag_keys("drop")
            .send()
            .await
            .unwrap();
        let tags = client
            .list_tags_for_resource()
            .resource_arn(resource)
            .send()
            .await
            .unwrap()
            .tags
            .unwrap_or_default();
        let mut pairs: Vec<(String, String)> = tags
            .iter()
            .map(|t| (t.key.clone().unwrap(), t.value.clone().unwrap()))
            .collect();
        pairs.sort();
        let expected: Vec<(String, String)> = if resource == &arn {
            vec![
                ("env".into(), "test".into()),
                ("owner".into(), "bureau".into()),
            ]
        } else {
            vec![("env".into(), "test".into())]
        };
        assert_eq!(pairs, expected, "{resource}");
    }
    let mut many = client.tag_resource().resource_arn(&machine);
    for index in 0..50 {
        many = many.tags(Tag::builder().key(format!("k{index}")).value("v").build());
    }
    sfn_failure(many.send().await).assert_is("TooManyTags");
    let missing = "arn:aws:states:us-east-1:000000000000:stateMachine:missing";
    sfn_failure(
        client
            .list_tags_for_resource()
            .resource_arn(missing)
            .send()
            .await,
    )
    .assert_is("ResourceNotFound");
    sfn_failure(
        client
            .tag_resource()
            .resource_arn("nonsense")
            .tags(Tag::builder().key("a").value("b").build())
            .send()
            .await,
    )
    .assert_is("InvalidArn");

    client
        .delete_activity()
        .activity_arn(&arn)
        .send()
        .await
        .unwrap();
    sfn_failure(client.describe_activity().activity_arn(&arn).send().await)
        .assert_is("ActivityDoesNotExist");
    sfn_failure(client.get_activity_task().activity_arn(&arn).send().await)
        .assert_is("ActivityDoesNotExist");
}
