//! The SQS Query protocol end to end: form-encoded POSTs and GETs (at `/` and at a queue's path)
//! against a real `tern`, XML replies read the way an XML parser reads them. Every action is
//! exercised; digests are checked against our own MD5s; receipt handles cross between the Query
//! and JSON protocols (one store); batch partial failures and XML errors are checked for exact
//! `Code`, `Type` and HTTP status.

mod common;
#[path = "common/query.rs"]
mod query;

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::*;
use query::*;

#[tokio::test]
async fn queue_lifecycle_attributes_and_tags() {
    let server = TestServer::start();
    let url = create(
        &server,
        "orders",
        &[
            ("Attribute.1.Name", "VisibilityTimeout"),
            ("Attribute.1.Value", "45"),
            ("Attribute.2.Name", "DelaySeconds"),
            ("Attribute.2.Value", "0"),
            ("Tag.1.Key", "team"),
            ("Tag.1.Value", "billing"),
        ],
    )
    .await;
    // CreateQueue is idempotent with the same attributes.
    create(
        &server,
        "orders",
        &[
            ("Attribute.1.Name", "VisibilityTimeout"),
            ("Attribute.1.Value", "45"),
        ],
    )
    .await;
    create(&server, "other", &[]).await;

    let got = query_get(
        &server,
        "/",
        &[("Action", "GetQueueUrl"), ("QueueName", "orders")],
    )
    .await;
    assert_eq!(got.result("GetQueueUrl").text_of("QueueUrl"), url);
    assert_eq!(queue_urls(&server, "ord").await, vec![url.clone()]);
    assert_eq!(queue_urls(&server, "").await.len(), 2);
    let page = query_post(
        &server,
        "/",
        &[("Action", "ListQueues"), ("MaxResults", "1")],
    )
    .await;
    let page = page.result("ListQueues");
    assert_eq!(page.all("QueueUrl").len(), 1);
    assert!(!page.text_of("NextToken").is_empty());

    let values = attributes(&server, &url).await;
    assert_eq!(values["VisibilityTimeout"], "45");
    assert_eq!(values["QueueArn"], server.queue_arn("orders"));
    assert_eq!(values["ApproximateNumberOfMessages"], "0");
    let some = query_post(
        &server,
        "/",
        &[
            ("Action", "GetQueueAttributes"),
            ("QueueUrl", &url),
            ("AttributeName.1", "DelaySeconds"),
            ("AttributeName.2", "VisibilityTimeout"),
        ],
    )
    .await;
    assert_eq!(
        some.result("GetQueueAttributes").pairs("Attribute", "Name"),
        vec![
            ("DelaySeconds".to_owned(), "0".to_owned()),
            ("VisibilityTimeout".to_owned(), "45".to_owned())
        ]
    );

    let set = query_post(
        &server,
        "/",
        &[
            ("Action", "SetQueueAttributes"),
            ("QueueUrl", &url),
            ("Attribute.1.Name", "MaximumMessageSize"),
            ("Attribute.1.Value", "2048"),
            ("Attribute.2.Name", "VisibilityTimeout"),
            ("Attribute.2.Value", "5"),
        ],
    )
    .await;
    let result = set.result("SetQueueAttributes");
    assert!(
        result.name.is_empty(),
        "no SetQueueAttributesResult element"
    );
    let values = attributes(&server, &url).await;
    assert_eq!(values["MaximumMessageSize"], "2048");
    assert_eq!(values["VisibilityTimeout"], "5");

    query_post(
        &server,
        "/",
        &[
            ("Action", "TagQueue"),
            ("QueueUrl", &url),
            ("Tag.1.Key", "env"),
            ("Tag.1.Value", "prod"),
            ("Tag.2.Key", "owner"),
            ("Tag.2.Value", "a&b <c>"),
        ],
    )
    .await
    .result("TagQueue");
    query_post(
        &server,
        "/",
        &[
            ("Action", "UntagQueue"),
            ("QueueUrl", &url),
            ("TagKey.1", "env"),
        ],
    )
    .await
    .result("UntagQueue");
    let tags = query_get(
        &server,
        "/",
        &[("Action", "ListQueueTags"), ("QueueUrl", &url)],
    )
    .await;
    assert_eq!(
        tags.result("ListQueueTags").pairs("Tag", "Key"),
        vec![
            ("owner".to_owned(), "a&b <c>".to_owned()),
            ("team".to_owned(), "billing".to_owned())
        ]
    );

    query_post(
        &server,
        "/",
        &[("Action", "DeleteQueue"), ("QueueUrl", &url)],
    )
    .await
    .result("DeleteQueue");
    query_post(
        &server,
        "/",
        &[("Action", "GetQueueUrl"), ("QueueName", "orders")],
    )
    .await
    .assert_sender(400, "AWS.SimpleQueueService.NonExistentQueue");
}

#[tokio::test]
async fn send_receive_delete_with_digests_and_awkward_bodies() {
    let server = TestServer::start();
    let url = create(&server, "digests", &[]).await;
    // A carriage return must survive XML (AWS writes it as &#xD;), and markup must be escaped.
    let body = "line one\r\nline two\r <tag attr=\"x\"> & 'quotes' — ünïcödé 🚀";
    let binary = [0u8, 1, 2, 254, 255];
    let encoded = STANDARD.encode(binary);
    let sent = query_post(
        &server,
        "/",
        &[
            ("Action", "SendMessage"),
            ("QueueUrl", &url),
            ("MessageBody", body),
            ("MessageAttribute.1.Name", "color"),
            ("MessageAttribute.1.Value.DataType", "String"),
            ("MessageAttribute.1.Value.StringValue", "red & <blue>"),
            ("MessageAttribute.2.Name", "count"),
            ("MessageAttribute.2.Value.DataType", "Number"),
            ("MessageAttribute.2.Value.StringValue", "42"),
            ("MessageAttribute.3.Name", "raw"),
            ("MessageAttribute.3.Value.DataType", "Binary"),
            ("MessageAttribute.3.Value.BinaryValue", &encoded),
        ],
    )
    .await;
    let sent = sent.result("SendMessage");
    let expected_attributes = md5_of_attributes(&HashMap::from([
        (
            "color".to_owned(),
            string_attribute("String", "red & <blue>"),
        ),
        ("count".to_owned(), string_attribute("Number", "42")),
        ("raw".to_owned(), binary_attribute("Binary", &binary)),
    ]));
    assert_eq!(sent.text_of("MD5OfMessageBody"), md5_hex(body.as_bytes()));
    assert_eq!(sent.text_of("MD5OfMessageAttributes"), expected_attributes);
    let message_id = sent.text_of("MessageId").to_owned();

    let messages = receive_all(&server, &url).await;
    assert_eq!(messages.len(), 1);
    let message = &messages[0];
    assert_eq!(message.text_of("MessageId"), message_id);
    assert_eq!(message.text_of("Body"), body);
    assert_eq!(message.text_of("MD5OfBody"), md5_hex(body.as_bytes()));
    assert_eq!(
        message.text_of("MD5OfMessageAttributes"),
        expected_attributes
    );
    let system: HashMap<String, String> = message.pairs("Attribute", "Name").into_iter().collect();
    assert_eq!(system["ApproximateReceiveCount"], "1");
    assert_eq!(system["SenderId"], ACCESS_KEY_ID);
    assert!(system["SentTimestamp"].parse::<u128>().unwrap() <= now_ms());
    let attributes: HashMap<&str, &Element> = message
        .all("MessageAttribute")
        .into_iter()
        .map(|attribute| (attribute.text_of("Name"), attribute.child("Value")))
        .collect();
    assert_eq!(attributes.len(), 3);
    assert_eq!(attributes["color"].text_of("StringValue"), "red & <blue>");
    assert_eq!(attributes["color"].text_of("DataType"), "String");
    assert_eq!(attributes["count"].text_of("DataType"), "Number");
    assert_eq!(attributes["raw"].text_of("BinaryValue"), encoded);
    assert!(attributes["raw"].find("StringValue").is_none());

    // Only the named message attribute, with a digest over just that one.
    query_post(
        &server,
        "/",
        &[
            ("Action", "ChangeMessageVisibility"),
            ("QueueUrl", &url),
            ("ReceiptHandle", message.text_of("ReceiptHandle")),
            ("VisibilityTimeout", "0"),
        ],
    )
    .await
    .result("ChangeMessageVisibility");
    let again = query_post(
        &server,
        "/",
        &[
            ("Action", "ReceiveMessage"),
            ("QueueUrl", &url),
            ("MessageAttributeName.1", "count"),
            ("MessageSystemAttributeName.1", "ApproximateReceiveCount"),
        ],
    )
    .await;
    let again = again.result("ReceiveMessage");
    let message = again.child("Message");
    assert_eq!(
        message.pairs("Attribute", "Name"),
        vec![("ApproximateReceiveCount".to_owned(), "2".to_owned())]
    );
    assert_eq!(message.all("MessageAttribute").len(), 1);
    assert_eq!(
        message.text_of("MD5OfMessageAttributes"),
        md5_of_attributes(&HashMap::from([(
            "count".to_owned(),
            string_attribute("Number", "42")
        )]))
    );

    query_post(
        &server,
        "/",
        &[
            ("Action", "DeleteMessage"),
            ("QueueUrl", &url),
            ("ReceiptHandle", message.text_of("ReceiptHandle")),
        ],
    )
    .await
    .result("DeleteMessage");
    assert_eq!(counters(&server.client(), &url).await, (0, 0, 0));
    // An empty receive has an empty result element, not a missing one.
    let empty = query_get(
        &server,
        "/",
        &[("Action", "ReceiveMessage"), ("QueueUrl", &url)],
    )
    .await;
    assert!(empty.result("ReceiveMessage").children.is_empty());
    assert!(
        empty.body.contains("<ReceiveMessageResult"),
        "{}",
        empty.body
    );
}

#[tokio::test]
async fn receipt_handles_cross_protocols() {
    let server = TestServer::start();
    let client = server.client();
    let url = create(&server, "shared", &[]).await;

    // JSON send, Query receive, JSON delete.
    let id = send(&client, &url, "from json").await;
    let messages = receive_all(&server, &url).await;
    assert_eq!(messages[0].text_of("MessageId"), id);
    client
        .delete_message()
        .queue_url(&url)
        .receipt_handle(messages[0].text_of("ReceiptHandle"))
        .send()
        .await
        .expect("a Query receipt handle works over JSON");

    // Query send, JSON receive, Query delete.
    let sent = query_post(
        &server,
        "/",
        &[
            ("Action", "SendMessage"),
            ("QueueUrl", &url),
            ("MessageBody", "from query"),
        ],
    )
    .await;
    let id = sent.result("SendMessage").text_of("MessageId").to_owned();
    let received = receive(&client, &url, 1, Some(0)).await;
    assert_eq!(received[0].message_id(), Some(id.as_str()));
    assert_eq!(received[0].body(), Some("from query"));
    query_post(
        &server,
        "/",
        &[
            ("Action", "DeleteMessage"),
            ("QueueUrl", &url),
            ("ReceiptHandle", received[0].receipt_handle().unwrap()),
        ],
    )
    .await
    .result("DeleteMessage");
    assert_eq!(counters(&client, &url).await, (0, 0, 0));
}

#[tokio::test]
async fn requests_at_the_queue_path_and_by_get() {
    let server = TestServer::start();
    let url = create(&server, "pathy", &[]).await;
    let path = path_of(&url);
    query_post(
        &server,
        &path,
        &[
            ("Action", "SendMessage"),
            ("MessageBody", "posted to the path"),
        ],
    )
    .await
    .result("SendMessage");
    query_get(
        &server,
        &path,
        &[
            ("Action", "SendMessage"),
            ("MessageBody", "sent by GET"),
            ("DelaySeconds", "0"),
        ],
    )
    .await
    .result("SendMessage");
    let received = query_get(
        &server,
        &path,
        &[("Action", "ReceiveMessage"), ("MaxNumberOfMessages", "10")],
    )
    .await;
    let mut bodies: Vec<String> = received
        .result("ReceiveMessage")
        .all("Message")
        .into_iter()
        .map(|message| message.text_of("Body").to_owned())
        .collect();
    bodies.sort();
    assert_eq!(bodies, ["posted to the path", "sent by GET"]);
    query_post(&server, &path, &[("Action", "PurgeQueue")])
        .await
        .result("PurgeQueue");
    assert_eq!(counters(&server.client(), &url).await, (0, 0, 0));
    query_post(&server, &path, &[("Action", "DeleteQueue")])
        .await
        .result("DeleteQueue");
    assert!(queue_urls(&server, "").await.is_empty());
}

#[tokio::test]
async fn batches_report_partial_failures() {
    let server = TestServer::start();
    let url = create(&server, "batches", &[]).await;
    let sent = query_post(
        &server,
        "/",
        &[
            ("Action", "SendMessageBatch"),
            ("QueueUrl", &url),
            ("SendMessageBatchRequestEntry.1.Id", "first"),
            ("SendMessageBatchRequestEntry.1.MessageBody", "one"),
            (
                "SendMessageBatchRequestEntry.1.MessageAttribute.1.Name",
                "n",
            ),
            (
                "SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.DataType",
                "Number",
            ),
            (
                "SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.StringValue",
                "7",
            ),
            ("SendMessageBatchRequestEntry.2.Id", "bad"),
            (
                "SendMessageBatchRequestEntry.2.MessageBody",
                "nul \u{0} inside",
            ),
            ("SendMessageBatchRequestEntry.3.Id", "third"),
            ("SendMessageBatchRequestEntry.3.MessageBody", "three"),
            ("SendMessageBatchRequestEntry.3.DelaySeconds", "0"),
        ],
    )
    .await;
    let result = sent.result("SendMessageBatch");
    let successes = result.all("SendMessageBatchResultEntry");
    let ids: Vec<&str> = successes.iter().map(|entry| entry.text_of("Id")).collect();
    assert_eq!(ids, ["first", "third"]);
    assert_eq!(successes[0].text_of("MD5OfMessageBody"), md5_hex(b"one"));
    assert_eq!(
        successes[0].text_of("MD5OfMessageAttributes"),
        md5_of_attributes(&HashMap::from([(
            "n".to_owned(),
            string_attribute("Number", "7")
        )]))
    );
    assert!(successes[1].find("MD5OfMessageAttributes").is_none());
    let failures = result.all("BatchResultErrorEntry");
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0].text_of("Id"), "bad");
    assert_eq!(failures[0].text_of("Code"), "InvalidMessageContents");
    assert_eq!(failures[0].text_of("SenderFault"), "true");

    let messages = receive_all(&server, &url).await;
    assert_eq!(messages.len(), 2);
    let handle = |index: usize| messages[index].text_of("ReceiptHandle");
    let changed = query_post(
        &server,
        "/",
        &[
            ("Action", "ChangeMessageVisibilityBatch"),
            ("QueueUrl", &url),
            ("ChangeMessageVisibilityBatchRequestEntry.1.Id", "c1"),
            (
                "ChangeMessageVisibilityBatchRequestEntry.1.ReceiptHandle",
                handle(0),
            ),
            (
                "ChangeMessageVisibilityBatchRequestEntry.1.VisibilityTimeout",
                "120",
            ),
            ("ChangeMessageVisibilityBatchRequestEntry.2.Id", "c2"),
            (
                "ChangeMessageVisibilityBatchRequestEntry.2.ReceiptHandle",
                "garbage",
            ),
            (
                "ChangeMessageVisibilityBatchRequestEntry.2.VisibilityTimeout",
                "120",
            ),
        ],
    )
    .await;
    let changed = changed.result("ChangeMessageVisibilityBatch");
    let ok = changed.all("ChangeMessageVisibilityBatchResultEntry");
    assert_eq!(ok.len(), 1);
    assert_eq!(ok[0].text_of("Id"), "c1");
    let failed = changed.child("BatchResultErrorEntry");
    assert_eq!(failed.text_of("Id"), "c2");
    assert_eq!(failed.text_of("Code"), "ReceiptHandleIsInvalid");

    let deleted = query_post(
        &server,
        "/",
        &[
            ("Action", "DeleteMessageBatch"),
            ("QueueUrl", &url),
            ("DeleteMessageBatchRequestEntry.1.Id", "d1"),
            ("DeleteMessageBatchRequestEntry.1.ReceiptHandle", handle(0)),
            ("DeleteMessageBatchRequestEntry.2.Id", "d2"),
            ("DeleteMessageBatchRequestEntry.2.ReceiptHandle", handle(1)),
            ("DeleteMessageBatchRequestEntry.3.Id", "d3"),
            ("DeleteMessageBatchRequestEntry.3.ReceiptHandle", "garbage"),
        ],
    )
    .await;
    let deleted = deleted.result("DeleteMessageBatch");
    let ok: Vec<&str> = deleted
        .all("DeleteMessageBatchResultEntry")
        .into_iter()
        .map(|entry| entry.text_of("Id"))
        .collect();
    assert_eq!(ok, ["d1", "d2"]);
    let failed = deleted.child("BatchResultErrorEntry");
    assert_eq!(failed.text_of("Id"), "d3");
    assert_eq!(failed.text_of("Code"), "ReceiptHandleIsInvalid");
    assert_eq!(failed.text_of("SenderFault"), "true");
    assert_eq!(counters(&server.client(), &url).await, (0, 0, 0));

    // Whole-batch errors are XML errors.
    query_post(
        &server,
        "/",
        &[
            ("Action", "DeleteMessageBatch"),
            ("QueueUrl", &url),
            ("DeleteMessageBatchRequestEntry.1.Id", "same"),
            ("DeleteMessageBatchRequestEntry.1.ReceiptHandle", "h"),
            ("DeleteMessageBatchRequestEntry.2.Id", "same"),
            ("DeleteMessageBatchRequestEntry.2.ReceiptHandle", "h"),
        ],
    )
    .await
    .assert_sender(400, "AWS.SimpleQueueService.BatchEntryIdsNotDistinct");
    query_post(
        &server,
        "/",
        &[("Action", "SendMessageBatch"), ("QueueUrl", &url)],
    )
    .await
    .assert_sender(400, "MissingParameter");
}

#[tokio::test]
async fn dead_letter_sources_permissions_and_move_tasks() {
    let server = TestServer::start();
    let dlq = create(&server, "jobs-dlq", &[]).await;
    let policy = format!(
        r#"{{"deadLetterTargetArn":"{}","maxReceiveCount":1}}"#,
        server.queue_arn("jobs-dlq")
    );
    let source = create(
        &server,
        "jobs",
        &[
            ("Attribute.1.Name", "RedrivePolicy"),
            ("Attribute.1.Value", &policy),
        ],
    )
    .await;
    let sources = query_post(
        &server,
        "/",
        &[("Action", "ListDeadLetterSourceQueues"), ("QueueUrl", &dlq)],
    )
    .await;
    let sources = sources.result("ListDeadLetterSourceQueues");
    assert_eq!(sources.text_of("QueueUrl"), source);

    query_post(
        &server,
        "/",
        &[
            ("Action", "AddPermission"),
            ("QueueUrl", &source),
            ("Label", "partners"),
            ("AWSAccountId.1", "111122223333"),
            ("ActionName.1", "SendMessage"),
            ("ActionName.2", "GetQueueUrl"),
        ],
    )
    .await
    .result("AddPermission");
    let document: serde_json::Value =
        serde_json::from_str(&attributes(&server, &source).await["Policy"]).unwrap();
    assert_eq!(document["Statement"][0]["Sid"], "partners");
    assert_eq!(
        document["Statement"][0]["Action"],
        serde_json::json!(["SQS:SendMessage", "SQS:GetQueueUrl"])
    );
    query_post(
        &server,
        "/",
        &[
            ("Action", "RemovePermission"),
            ("QueueUrl", &source),
            ("Label", "partners"),
        ],
    )
    .await
    .result("RemovePermission");

    let dlq_arn = server.queue_arn("jobs-dlq");
    let started = query_post(
        &server,
        "/",
        &[
            ("Action", "StartMessageMoveTask"),
            ("SourceArn", &dlq_arn),
            ("MaxNumberOfMessagesPerSecond", "10"),
        ],
    )
    .await;
    assert!(
        !started
            .result("StartMessageMoveTask")
            .text_of("TaskHandle")
            .is_empty()
    );
    let listed = query_post(
        &server,
        "/",
        &[("Action", "ListMessageMoveTasks"), ("SourceArn", &dlq_arn)],
    )
    .await;
    let listed = listed.result("ListMessageMoveTasks");
    let entry = listed.child("ListMessageMoveTasksResultEntry");
    assert_eq!(entry.text_of("SourceArn"), dlq_arn);
    assert!(!entry.text_of("Status").is_empty());
    assert!(entry.text_of("StartedTimestamp").parse::<u64>().is_ok());
    query_post(
        &server,
        "/",
        &[
            ("Action", "CancelMessageMoveTask"),
            ("TaskHandle", "no-such-task"),
        ],
    )
    .await
    .assert_sender(404, "ResourceNotFoundException");
}

#[tokio::test]
async fn framing_errors_are_xml() {
    let server = TestServer::start();
    let message = query_post(&server, "/", &[("Action", "FlyToTheMoon")])
        .await
        .assert_sender(400, "InvalidAction");
    assert!(message.contains("FlyToTheMoon"), "{message}");
    query_post(&server, "/", &[])
        .await
        .assert_sender(400, "MissingAction");
    query_get(&server, "/", &[])
        .await
        .assert_sender(400, "MissingAction");
    http(&server, "GET", "/000000000000/nothing", &[], b"")
        .await
        .assert_sender(400, "MissingAction");
    let health = http(&server, "GET", "/health", &[], b"").await;
    assert_eq!((health.status, health.body.as_str()), (200, "ok"));

    // Map entries need both halves; indices are positive decimals; nothing is half-applied.
    query_post(
        &server,
        "/",
        &[
            ("Action", "CreateQueue"),
            ("QueueName", "half"),
            ("Attribute.1.Name", "DelaySeconds"),
        ],
    )
    .await
    .assert_sender(400, "MissingParameter");
    for bad in ["Attribute.x.Name", "Attribute.0.Name"] {
        let value_key = bad.replace("Name", "Value");
        query_post(
            &server,
            "/",
            &[
                ("Action", "CreateQueue"),
                ("QueueName", "half"),
                (bad, "DelaySeconds"),
                (&value_key, "1"),
            ],
        )
        .await
        .assert_sender(404, "MalformedQueryString");
    }
    query_post(
        &server,
        "/",
        &[
            ("Action", "CreateQueue"),
            ("QueueName", "a"),
            ("QueueName", "b"),
        ],
    )
    .await
    .assert_sender(404, "MalformedQueryString");
    assert!(queue_urls(&server, "").await.is_empty(), "nothing created");
    query_post(&server, "/", &[("Action", "CreateQueue")])
        .await
        .assert_sender(400, "MissingParameter");
}

#[tokio::test]
async fn action_errors_carry_catalogue_codes() {
    let server = TestServer::start();
    let url = create(&server, "strict", &[]).await;
    let missing = server.queue_url("missing");
    query_post(
        &server,
        "/",
        &[
            ("Action", "SendMessage"),
            ("QueueUrl", &missing),
            ("MessageBody", "x"),
        ],
    )
    .await
    .assert_sender(400, "AWS.SimpleQueueService.NonExistentQueue");
    query_post(
        &server,
        "/",
        &[
            ("Action", "SendMessage"),
            ("QueueUrl", &url),
            ("MessageBody", "x"),
            ("DelaySeconds", "soon"),
        ],
    )
    .await
    .assert_sender(400, "InvalidParameterValue");
    query_post(
        &server,
        "/",
        &[
            ("Action", "SendMessage"),
            ("QueueUrl", &url),
            ("MessageBody", "x"),
            ("MessageAttribute.1.Name", "raw"),
            ("MessageAttribute.1.Value.DataType", "Binary"),
            ("MessageAttribute.1.Value.BinaryValue", "%%%not base64"),
        ],
    )
    .await
    .assert_sender(400, "InvalidParameterValue");
    query_post(
        &server,
        "/",
        &[
            ("Action", "SendMessage"),
            ("QueueUrl", &url),
            ("MessageBody", "bad \u{1}"),
        ],
    )
    .await
    .assert_sender(400, "InvalidMessageContents");
    query_post(
        &server,
        "/",
        &[("Action", "SendMessage"), ("QueueUrl", &url)],
    )
    .await
    .assert_sender(400, "MissingParameter");
    query_post(
        &server,
        "/",
        &[
            ("Action", "SetQueueAttributes"),
            ("QueueUrl", &url),
            ("Attribute.1.Name", "VisibilityTimeout"),
            ("Attribute.1.Value", "99999"),
        ],
    )
    .await
    .assert_sender(400, "InvalidAttributeValue");
    query_post(
        &server,
        "/",
        &[
            ("Action", "SetQueueAttributes"),
            ("QueueUrl", &url),
            ("Attribute.1.Name", "NoSuchAttribute"),
            ("Attribute.1.Value", "1"),
        ],
    )
    .await
    .assert_sender(400, "InvalidAttributeName");
    query_post(
        &server,
        "/",
        &[
            ("Action", "DeleteMessage"),
            ("QueueUrl", &url),
            ("ReceiptHandle", "not-a-handle"),
        ],
    )
    .await
    .assert_sender(404, "ReceiptHandleIsInvalid");
    query_post(
        &server,
        "/",
        &[("Action", "CreateQueue"), ("QueueName", "bad name!")],
    )
    .await
    .assert_sender(400, "InvalidParameterValue");
    query_post(
        &server,
        "/",
        &[
            ("Action", "CreateQueue"),
            ("QueueName", "strict"),
            ("Attribute.1.Name", "DelaySeconds"),
            ("Attribute.1.Value", "5"),
        ],
    )
    .await
    .assert_sender(400, "QueueAlreadyExists");
    assert_eq!(counters(&server.client(), &url).await, (0, 0, 0));
    assert_eq!(attributes(&server, &url).await["VisibilityTimeout"], "30");
}

#[tokio::test]
async fn oversized_query_bodies_are_refused_in_xml() {
    let server = TestServer::start();
    let body = format!(
        "Action=SendMessage&Version=2012-11-05&MessageBody={}",
        "a".repeat(7 * 1024 * 1024)
    );
    http(
        &server,
        "POST",
        "/",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        body.as_bytes(),
    )
    .await
    .assert_sender(413, "RequestEntityTooLarge");
}

#[tokio::test]
async fn json_requests_are_unchanged() {
    let server = TestServer::start();
    // X-Amz-Target wins over a form content type: this is a JSON request.
    let reply = http(
        &server,
        "POST",
        "/",
        &[
            ("X-Amz-Target", "AmazonSQS.ListQueues"),
            ("Content-Type", "application/x-amz-json-1.0"),
        ],
        b"{}",
    )
    .await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.header("content-type"),
        Some("application/x-amz-json-1.0")
    );
    // A POST with neither a target nor a form is still answered in JSON.
    let reply = http(&server, "POST", "/", &[], b"{}").await;
    assert_eq!(reply.status, 400);
    assert!(
        reply.body.contains("UnknownOperationException"),
        "{}",
        reply.body
    );
}
