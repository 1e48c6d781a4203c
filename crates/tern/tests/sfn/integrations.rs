//! Task integrations: Lambda functions mapped to HTTP endpoints (both resource forms),
//! `http:invoke`, `sns:publish` and `sqs:sendMessage` request-response, nested executions with
//! `.sync` and `.sync:2`, and the AWS errors of a missing function or a failing endpoint.

use aws_sdk_sfn::types::{ExecutionStatus, HistoryEventType};
use serde_json::json;

use super::callbacks::receive_json;
use super::stub::Stub;
use super::*;
use crate::common::{TestServer, create_queue, sns_client};

#[tokio::test]
async fn lambda_functions_and_http_endpoints_are_called() {
    let stub = Stub::start().await;
    let score = format!("score={}", stub.url("/score"));
    let boom = format!("boom={}", stub.url("/boom"));
    let server = TestServer::start_with_args(&["--lambda", &score, "--lambda", &boom]);
    let client = sfn_client(&server);
    let machine = create_machine(
        &client,
        "calls",
        &json!({
            "StartAt": "Score",
            "States": {
                "Score": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:000000000000:function:score",
                          "Parameters": {"name.$": "$.name"}, "ResultPath": "$.credit", "Next": "Invoke"},
                "Invoke": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                           "Parameters": {"FunctionName": "score", "Payload": {"name": "ab"}},
                           "ResultSelector": {"score.$": "$.Payload.score", "status.$": "$.StatusCode"},
                           "ResultPath": "$.invoked", "Next": "Quote"},
                "Quote": {"Type": "Task", "Resource": "arn:aws:states:::http:invoke",
                          "Parameters": {"ApiEndpoint": stub.url("/quote"), "Method": "GET",
                                         "QueryParameters": {"bank.$": "$.name"}},
                          "ResultSelector": {"body.$": "$.ResponseBody", "status.$": "$.StatusCode",
                                             "header.$": "$.Headers['x-quote'][0]"},
                          "ResultPath": "$.quote", "Next": "Missing"},
                "Missing": {"Type": "Task", "Resource": "arn:aws:states:::http:invoke",
                            "Parameters": {"ApiEndpoint": stub.url("/nowhere"), "Method": "POST", "RequestBody": {"a": 1}},
                            "Catch": [{"ErrorEquals": ["States.Http.StatusCode.404"], "ResultPath": "$.missing", "Next": "Bureau"}],
                            "End": true},
                "Bureau": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:000000000000:function:boom",
                           "Catch": [{"ErrorEquals": ["CreditBureauDown"], "ResultPath": "$.bureau", "Next": "Unmapped"}],
                           "End": true},
                "Unmapped": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:000000000000:function:ghost",
                             "Catch": [{"ErrorEquals": ["Lambda.ResourceNotFoundException"], "ResultPath": "$.ghost", "Next": "Done"}],
                             "End": true},
                "Done": {"Type": "Succeed"}
            }
        }),
    )
    .await;
    let arn = start(&client, &machine, "calls", &json!({"name": "bank"})).await;
    let output = output_of(&wait_for_end(&client, &arn).await);
    assert_eq!(output["credit"], json!({"score": 704}));
    assert_eq!(output["invoked"], json!({"score": 702, "status": 200}));
    assert_eq!(
        output["quote"],
        json!({"body": {"bank": "bank", "rate": 3.4}, "status": 200, "header": "yes"})
    );
    assert_eq!(output["missing"]["Error"], "States.Http.StatusCode.404");
    let cause: Value = serde_json::from_str(output["missing"]["Cause"].as_str().unwrap()).unwrap();
    assert_eq!(cause["StatusCode"], 404);
    assert_eq!(output["bureau"]["Error"], "CreditBureauDown");
    assert_eq!(output["ghost"]["Error"], "Lambda.ResourceNotFoundException");
    assert!(
        output["ghost"]["Cause"]
            .as_str()
            .unwrap()
            .contains("function:ghost")
    );
    let posted = stub.calls_to("/nowhere");
    assert_eq!(posted.len(), 1);
    assert_eq!(posted[0].body, "{\"a\":1}");
    assert_eq!(stub.calls_to("/score").len(), 2);
    let types = event_types(&history(&client, &arn).await).join(",");
    assert!(
        types.contains("LambdaFunctionScheduled,LambdaFunctionStarted,LambdaFunctionSucceeded"),
        "{types}"
    );
}

#[tokio::test]
async fn messages_go_out_through_sqs_and_sns() {
    let server = TestServer::start();
    let client = sfn_client(&server);
    let sqs = server.client();
    let sns = sns_client(&server);
    let queue_url = create_queue(&sqs, "notifications", &[]).await;
    let topic = sns
        .create_topic()
        .name("quotes")
        .send()
        .await
        .unwrap()
        .topic_arn
        .unwrap();
    sns.subscribe()
        .topic_arn(&topic)
        .protocol("sqs")
        .endpoint(server.queue_arn("notifications"))
        .attributes("RawMessageDelivery", "true")
        .send()
        .await
        .unwrap();
    let machine = create_machine(
        &client,
        "announce",
        &json!({
            "StartAt": "Send",
            "States": {
                "Send": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage",
                         "Parameters": {"QueueUrl": queue_url, "MessageBody.$": "$.text"},
                         "ResultPath": "$.sent", "Next": "Publish"},
                "Publish": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish",
                            "Parameters": {"TopicArn": topic, "Message": {"quote.$": "$.text"}},
                            "ResultPath": "$.published", "Next": "NoQueue"},
                "NoQueue": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage",
                            "Parameters": {"QueueUrl": server.queue_url("absent"), "MessageBody": "x"},
                            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.absent", "Next": "Done"}],
                            "End": true},
                "Done": {"Type": "Succeed"}
            }
        }),
    )
    .await;
    let arn = start(&client, &machine, "announce", &json!({"text": "hello"})).await;
    let output = output_of(&wait_for_end(&client, &arn).await);
    assert!(output["sent"]["MessageId"].is_string(), "{output}");
    assert_eq!(
        output["sent"]["MD5OfMessageBody"],
        crate::common::md5_hex(b"hello")
    );
    assert!(output["published"]["MessageId"].is_string(), "{output}");
    assert_eq!(output["absent"]["Error"], "SQS.QueueDoesNotExistException");
    let (first, _) = receive_json(&sqs, &queue_url).await;
    let (second, _) = receive_json(&sqs, &queue_url).await;
    let mut bodies = [first, second];
    bodies.sort_by_key(|b| b.to_string());
    assert_eq!(bodies, [json!("hello"), json!({"quote": "hello"})]);
}

#[tokio::test]
async fn nested_executions_run_to_their_end_for_sync_parents() {
    let server = TestServer::start();
    let client = sfn_client(&server);
    let child = create_machine(
        &client,
        "child",
        &json!({"StartAt": "Decide", "States": {
            "Decide": {"Type": "Choice", "Choices": [{"Variable": "$.fail", "BooleanEquals": true, "Next": "Boom"}], "Default": "Ok"},
            "Ok": {"Type": "Pass", "Parameters": {"doubled.$": "States.MathAdd($.n, $.n)"}, "End": true},
            "Boom": {"Type": "Fail", "Error": "ChildFailed", "Cause": "asked to"}
        }}),
    )
    .await;
    let parent = create_machine(
        &client,
        "parent",
        &json!({"StartAt": "Json", "States": {
            "Json": {"Type": "Task", "Resource": "arn:aws:states:::states:startExecution.sync:2",
                     "Parameters": {"StateMachineArn": child, "Input": {"n.$": "$.n", "fail": false}},
                     "ResultSelector": {"output.$": "$.Output", "status.$": "$.Status"},
                     "ResultPath": "$.json", "Next": "Text"},
            "Text": {"Type": "Task", "Resource": "arn:aws:states:::states:startExecution.sync",
                     "Parameters": {"StateMachineArn": child, "Input": {"n": 1, "fail": false}, "Name": "named-child"},
                     "ResultSelector": {"output.$": "$.Output"},
                     "ResultPath": "$.text", "Next": "Fire"},
            "Fire": {"Type": "Task", "Resource": "arn:aws:states:::states:startExecution",
                     "Parameters": {"StateMachineArn": child, "Input": {"n": 2, "fail": false}},
                     "ResultSelector": {"arn.$": "$.ExecutionArn"},
                     "ResultPath": "$.fired", "Next": "Failing"},
            "Failing": {"Type": "Task", "Resource": "arn:aws:states:::states:startExecution.sync:2",
                        "Parameters": {"StateMachineArn": child, "Input": {"n": 0, "fail": true}},
                        "Catch": [{"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.caught", "Next": "Done"}],
                        "End": true},
            "Done": {"Type": "Succeed"}
        }}),
    )
    .await;
    let arn = start(&client, &parent, "family", &json!({"n": 21})).await;
    let output = output_of(&wait_for_end(&client, &arn).await);
    assert_eq!(
        output["json"],
        json!({"output": {"doubled": 42}, "status": "SUCCEEDED"})
    );
    assert_eq!(output["text"], json!({"output": "{\"doubled\":2}"}));
    assert_eq!(output["caught"]["Error"], "States.TaskFailed");
    let cause: Value = serde_json::from_str(output["caught"]["Cause"].as_str().unwrap()).unwrap();
    assert_eq!(cause["Status"], "FAILED");
    assert_eq!(cause["Error"], "ChildFailed");
    let fired = output["fired"]["arn"].as_str().unwrap();
    assert_eq!(
        wait_for_end(&client, fired).await.status,
        ExecutionStatus::Succeeded
    );
    let named = "arn:aws:states:us-east-1:000000000000:execution:child:named-child";
    assert_eq!(
        output_of(&wait_for_end(&client, named).await),
        json!({"doubled": 2})
    );
    let children = client
        .list_executions()
        .state_machine_arn(&child)
        .send()
        .await
        .unwrap();
    assert_eq!(
        children.executions.len(),
        4,
        "one child per task, none twice"
    );
}

#[tokio::test]
async fn callbacks_work_for_any_integration_and_forms_are_url_encoded() {
    let stub = Stub::start().await;
    let echo = format!("notify={}", stub.url("/echo"));
    let server = TestServer::start_with_args(&["--lambda", &echo]);
    let client = sfn_client(&server);
    let machine = create_machine(
        &client,
        "callback-anything",
        &json!({"StartAt": "Form", "States": {
            "Form": {"Type": "Task", "Resource": "arn:aws:states:::http:invoke",
                     "Parameters": {"ApiEndpoint": stub.url("/form"), "Method": "POST",
                                    "RequestBody": {"customer.$": "$.customer", "banks": ["a", "b"]},
                                    "Transform": {"RequestBodyEncoding": "URL_ENCODED",
                                                  "RequestEncodingOptions": {"ArrayFormat": "REPEAT"}}},
                     "ResultSelector": {"form.$": "$.ResponseBody.form"},
                     "ResultPath": "$.posted", "Next": "Notify"},
            "Notify": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                       "Parameters": {"FunctionName": "notify", "Payload": {"token.$": "$$.Task.Token"}},
                       "ResultPath": "$.answer", "End": true}
        }}),
    )
    .await;
    let arn = start(
        &client,
        &machine,
        "any",
        &json!({"customer": "ada lovelace"}),
    )
    .await;
    wait_for_event(&client, &arn, HistoryEventType::TaskSubmitted).await;
    let calls = stub.calls_to("/echo");
    assert_eq!(calls.len(), 1);
    let payload: Value = serde_json::from_str(&calls[0].body).unwrap();
    succeed_task(
        &client,
        payload["token"].as_str().unwrap(),
        "{\"notified\": true}",
    )
    .await;
    let output = output_of(&wait_for_end(&client, &arn).await);
    assert_eq!(
        output["posted"]["form"],
        "banks=a&banks=b&customer=ada%20lovelace"
    );
    assert_eq!(output["answer"], json!({"notified": true}));
}
