//! The Loan Broker as a state machine: a credit bureau (a Lambda function mapped to HTTP, with a
//! Retry over its first failure), a Choice on the score, a Parallel that asks every bank through
//! an SQS queue (a Map of `.waitForTaskToken` tasks answered by a worker loop) while an
//! underwriter activity approves, and a result shaped from both.

use std::collections::BTreeSet;

use aws_sdk_sfn::types::ExecutionStatus;
use serde_json::json;

use super::callbacks::receive_json;
use super::stub::Stub;
use super::*;
use crate::common::{TestServer, create_queue};

fn rate_of(bank: &str) -> f64 {
    match bank {
        "PremiumBank" => 3.1,
        "UniversalBank" => 4.2,
        _ => 5.5,
    }
}

fn loan_broker(queue_url: &str, underwriter: &str) -> Value {
    json!({
        "Comment": "Loan Broker: score, ask the banks, collect the quotes, pick the best",
        "StartAt": "CreditBureau",
        "TimeoutSeconds": 3600,
        "States": {
            "CreditBureau": {
                "Type": "Task",
                "Resource": "arn:aws:lambda:us-east-1:000000000000:function:bureau",
                "Parameters": {"name.$": "$.customer"},
                "Retry": [{"ErrorEquals": ["Flaky"], "IntervalSeconds": 1, "MaxAttempts": 2, "BackoffRate": 2.0}],
                "ResultPath": "$.credit",
                "Next": "Creditworthy?"
            },
            "Creditworthy?": {
                "Type": "Choice",
                "Choices": [{"And": [
                    {"Variable": "$.credit.ok", "IsPresent": true},
                    {"Variable": "$.amount", "NumericLessThanEquals": 500000}
                ], "Next": "GetQuotes"}],
                "Default": "Rejected"
            },
            "Rejected": {"Type": "Fail", "Error": "LoanRejected", "CausePath": "States.Format('No loan for {}', $.customer)"},
            "GetQuotes": {
                "Type": "Parallel",
                "Branches": [
                    {"StartAt": "AskBanks", "States": {"AskBanks": {
                        "Type": "Map",
                        "ItemsPath": "$.banks",
                        "MaxConcurrency": 2,
                        "ItemSelector": {"bank.$": "$$.Map.Item.Value", "amount.$": "$.amount", "index.$": "$$.Map.Item.Index"},
                        "ItemProcessor": {"StartAt": "AskBank", "States": {"AskBank": {
                            "Type": "Task",
                            "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                            "Parameters": {"QueueUrl": queue_url, "MessageBody": {
                                "token.$": "$$.Task.Token", "bank.$": "$.bank", "amount.$": "$.amount"}},
                            "TimeoutSeconds": 600,
                            "End": true
                        }}},
                        "End": true
                    }}},
                    {"StartAt": "Underwrite", "States": {"Underwrite": {
                        "Type": "Task", "Resource": underwriter,
                        "Parameters": {"customer.$": "$.customer", "amount.$": "$.amount"},
                        "End": true
                    }}}
                ],
                "ResultSelector": {"quotes.$": "$[0]", "approval.$": "$[1]"},
                "ResultPath": "$.results",
                "Next": "Best"
            },
            "Best": {
                "Type": "Pass",
                "Parameters": {
                    "customer.$": "$.customer",
                    "approved.$": "$.results.approval.approved",
                    "offers.$": "States.ArrayLength($.results.quotes)",
                    "best.$": "$.results.quotes[?(@.rate < 3.5)]"
                },
                "End": true
            }
        }
    })
}

#[tokio::test]
async fn the_loan_broker_scores_asks_every_bank_and_picks_the_best() {
    let stub = Stub::start().await;
    let bureau = format!("bureau={}", stub.url("/flaky"));
    let server = TestServer::start_with_args(&["--time-scale", FAST, "--lambda", &bureau]);
    let client = sfn_client(&server);
    let sqs = server.client();
    let queue_url = create_queue(&sqs, "loan-requests", &[]).await;
    let underwriter = create_activity(&client, "underwriter").await;
    let machine = create_machine(
        &client,
        "loan-broker",
        &loan_broker(&queue_url, &underwriter),
    )
    .await;
    let banks = ["PremiumBank", "UniversalBank", "PawnShop"];
    let arn = start(
        &client,
        &machine,
        "loan-1",
        &json!({"customer": "ada", "amount": 250000, "banks": banks}),
    )
    .await;

    // The banks: one worker loop reading requests from the queue, answering by token.
    let bank_worker = {
        let (client, sqs, queue_url) = (client.clone(), sqs.clone(), queue_url.clone());
        tokio::spawn(async move {
            let mut asked = BTreeSet::new();
            while asked.len() < 3 {
                let (request, receipt) = receive_json(&sqs, &queue_url).await;
                let bank = request["bank"].as_str().unwrap().to_owned();
                assert_eq!(request["amount"], 250000);
                succeed_task(
                    &client,
                    request["token"].as_str().unwrap(),
                    &json!({"bank": bank, "rate": rate_of(&bank)}).to_string(),
                )
                .await;
                sqs.delete_message()
                    .queue_url(&queue_url)
                    .receipt_handle(receipt)
                    .send()
                    .await
                    .unwrap();
                asked.insert(bank);
            }
            asked
        })
    };
    // The underwriter: one activity task.
    let task = client
        .get_activity_task()
        .activity_arn(&underwriter)
        .worker_name("underwriter")
        .send()
        .await
        .unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(task.input().unwrap()).unwrap(),
        json!({"customer": "ada", "amount": 250000})
    );
    succeed_task(&client, &task.task_token.unwrap(), "{\"approved\": true}").await;
    let asked = tokio::time::timeout(EXECUTION_TIMEOUT, bank_worker)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(asked.len(), 3);

    let done = wait_for_end(&client, &arn).await;
    assert_eq!(
        output_of(&done),
        json!({"customer": "ada", "approved": true, "offers": 3, "best": [{"bank": "PremiumBank", "rate": 3.1}]})
    );
    assert_eq!(stub.calls_to("/flaky").len(), 2, "one failure, one retry");
    let events = history(&client, &arn).await;
    assert_well_formed(&events);
    let count = |t: &str| event_types(&events).iter().filter(|e| **e == t).count();
    assert_eq!(count("LambdaFunctionFailed"), 1);
    assert_eq!(count("LambdaFunctionSucceeded"), 1);
    assert_eq!(count("MapIterationStarted"), 3);
    assert_eq!(count("MapIterationSucceeded"), 3);
    assert_eq!(count("TaskScheduled"), 3);
    assert_eq!(count("ActivitySucceeded"), 1);
    assert_eq!(count("ParallelStateSucceeded"), 1);

    let rejected = start(
        &client,
        &machine,
        "loan-2",
        &json!({"customer": "bob", "amount": 9000000, "banks": banks}),
    )
    .await;
    let done = wait_for_end(&client, &rejected).await;
    assert_eq!(done.status, ExecutionStatus::Failed);
    assert_eq!(done.error(), Some("LoanRejected"));
    assert_eq!(done.cause(), Some("No loan for bob"));
}
