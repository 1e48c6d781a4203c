//! Error shapes on the wire: what a client gets for requests the SDK would refuse to build
//! (missing members, malformed JSON, unknown operations), for bad ARNs and inputs, and for
//! deleting a machine whose executions still run.

use aws_sdk_sfn::types::{ExecutionStatus, StateMachineStatus};
use serde_json::json;

use super::*;
use crate::common::{RawResponse, TestServer, raw_post};

async fn call(server: &TestServer, action: &str, body: &str) -> RawResponse {
    let target = format!("AWSStepFunctions.{action}");
    raw_post(
        server,
        &[
            ("X-Amz-Target", target.as_str()),
            ("Content-Type", "application/x-amz-json-1.0"),
        ],
        body.as_bytes(),
    )
    .await
}

fn assert_error(response: &RawResponse, code: &str) {
    assert_eq!(response.status, 400, "{}", response.body);
    let body = response.json();
    assert_eq!(
        body["__type"].as_str().and_then(|t| t.rsplit('#').next()),
        Some(code),
        "{}",
        response.body
    );
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{}",
        response.body
    );
    assert_eq!(
        response.header("content-type"),
        Some("application/x-amz-json-1.0")
    );
}

#[tokio::test]
async fn malformed_requests_get_aws_errors_and_change_nothing() {
    let server = TestServer::start();
    assert_error(
        &call(&server, "CreateStateMachine", "{\"name\": \"x\"}").await,
        "ValidationException",
    );
    assert_error(
        &call(&server, "CreateStateMachine", "{not json").await,
        "SerializationException",
    );
    assert_error(
        &call(&server, "ListExecutions", "{\"maxResults\": \"ten\"}").await,
        "SerializationException",
    );
    assert_error(
        &call(&server, "FlyToTheMoon", "{}").await,
        "UnknownOperationException",
    );
    assert_error(
        &call(
            &server,
            "DescribeStateMachine",
            "{\"stateMachineArn\": \"arn:aws:states:us-east-1:000000000000:activity:a\"}",
        )
        .await,
        "InvalidArn",
    );
    assert_error(
        &call(
            &server,
            "DescribeExecution",
            "{\"executionArn\": \"nonsense\"}",
        )
        .await,
        "InvalidArn",
    );
    assert_error(
        &call(
            &server,
            "SendTaskSuccess",
            "{\"taskToken\": \"\", \"output\": \"{}\"}",
        )
        .await,
        "ValidationException",
    );
    assert_error(
        &call(&server, "ListStateMachines", "{\"maxResults\": 5000}").await,
        "ValidationException",
    );
    let listed = call(&server, "ListStateMachines", "{}").await;
    assert_eq!(listed.status, 200);
    assert_eq!(
        listed.json(),
        json!({"stateMachines": []}),
        "nothing was created"
    );
    let synced = raw_post(
        &server,
        &[
            ("X-Amz-Target", "AWSStepFunctions.StartSyncExecution"),
            ("Content-Type", "application/x-amz-json-1.0"),
        ],
        b"{\"stateMachineArn\": \"arn:aws:states:us-east-1:000000000000:stateMachine:none\"}",
    )
    .await;
    assert_error(&synced, "StateMachineDoesNotExist");
}

#[tokio::test]
async fn execution_inputs_names_and_deleting_machines() {
    let server = TestServer::start();
    let client = sfn_client(&server);
    let activity = create_activity(&client, "hold").await;
    let machine = create_machine(
        &client,
        "holder",
        &json!({"StartAt": "Hold", "States": {"Hold": {"Type": "Task", "Resource": activity, "End": true}}}),
    )
    .await;
    sfn_failure(
        client
            .start_execution()
            .state_machine_arn(&machine)
            .input("{oops")
            .send()
            .await,
    )
    .assert_is("InvalidExecutionInput");
    sfn_failure(
        client
            .start_execution()
            .state_machine_arn(&machine)
            .name("no spaces")
            .send()
            .await,
    )
    .assert_is("InvalidName");
    sfn_failure(
        client
            .start_execution()
            .state_machine_arn("arn:aws:states:us-east-1:000000000000:stateMachine:ghost")
            .send()
            .await,
    )
    .assert_is("StateMachineDoesNotExist");
    sfn_failure(
        client
            .start_execution()
            .state_machine_arn("ghost")
            .send()
            .await,
    )
    .assert_is("InvalidArn");
    sfn_failure(
        client
            .stop_execution()
            .execution_arn("arn:aws:states:us-east-1:000000000000:execution:holder:ghost")
            .send()
            .await,
    )
    .assert_is("ExecutionDoesNotExist");

    let arn = start(&client, &machine, "held", &json!({})).await;
    client
        .delete_state_machine()
        .state_machine_arn(&machine)
        .send()
        .await
        .unwrap();
    let described = client
        .describe_state_machine()
        .state_machine_arn(&machine)
        .send()
        .await
        .unwrap();
    assert_eq!(described.status, Some(StateMachineStatus::Deleting));
    sfn_failure(
        client
            .start_execution()
            .state_machine_arn(&machine)
            .send()
            .await,
    )
    .assert_is("StateMachineDeleting");
    sfn_failure(
        client
            .create_state_machine()
            .name("holder")
            .definition(described.definition.clone())
            .role_arn(ROLE)
            .send()
            .await,
    )
    .assert_is("StateMachineDeleting");
    answer_task(&client, &activity, Ok("{}")).await;
    assert_eq!(
        wait_for_end(&client, &arn).await.status,
        ExecutionStatus::Succeeded
    );
    let gone = poll_until(|| async {
        let result = client
            .describe_state_machine()
            .state_machine_arn(&machine)
            .send()
            .await;
        result.is_err().then_some(result)
    })
    .await
    .expect("the DELETING machine was never deleted");
    sfn_failure(gone).assert_is("StateMachineDoesNotExist");
    let done = describe(&client, &arn).await;
    assert_eq!(
        done.status,
        ExecutionStatus::Succeeded,
        "executions outlive their machine"
    );
}
