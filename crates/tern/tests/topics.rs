//! SNS topics end to end through `aws-sdk-sns`, with deliveries checked on the SQS side through
//! `aws-sdk-sqs`: every action, fan-out in the envelope and raw, filter policies, FIFO topics,
//! PublishBatch, errors, routing of unsigned Query requests, and `kill -9` right after publishing.

mod common;
mod sns;

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use aws_sdk_sns::types::{PublishBatchRequestEntry, Tag};
use aws_sdk_sqs::types::QueueAttributeName;
use common::*;
use sns::*;

const RECEIVE_LIMIT: Duration = Duration::from_secs(10);

#[tokio::test]
async fn topics_are_created_listed_configured_tagged_and_deleted() {
    let server = TestServer::start();
    let client = sns_client(&server);
    let arn = create_topic(&client, "orders", false).await;
    assert_eq!(arn, "arn:aws:sns:us-east-1:000000000000:orders");
    assert_eq!(
        create_topic(&client, "orders", false).await,
        arn,
        "idempotent"
    );
    let conflict = sns_failure(
        client
            .create_topic()
            .name("orders")
            .attributes("DisplayName", "other")
            .send()
            .await,
    );
    assert_eq!(
        (conflict.status, conflict.code.as_str()),
        (400, "InvalidParameter")
    );
    assert_eq!(
        conflict.message,
        "Invalid parameter: Attributes Reason: Topic already exists with different attributes"
    );

    client
        .set_topic_attributes()
        .topic_arn(&arn)
        .attribute_name("DisplayName")
        .attribute_value("Orders")
        .send()
        .await
        .unwrap();
    let attributes = topic_attributes(&client, &arn).await;
    assert_eq!(attributes["DisplayName"], "Orders");
    assert_eq!(attributes["TopicArn"], arn);
    assert_eq!(attributes["Owner"], "000000000000");
    assert_eq!(attributes["SubscriptionsConfirmed"], "0");
    assert!(attributes["Policy"].contains("__default_statement_ID"));

    client
        .tag_resource()
        .resource_arn(&arn)
        .tags(Tag::builder().key("team").value("core").build().unwrap())
        .tags(Tag::builder().key("env").value("test").build().unwrap())
        .send()
        .await
        .unwrap();
    client
        .untag_resource()
        .resource_arn(&arn)
        .tag_keys("env")
        .send()
        .await
        .unwrap();
    let tags = client
        .list_tags_for_resource()
        .resource_arn(&arn)
        .send()
        .await
        .unwrap();
    let tags: Vec<(&str, &str)> = tags
        .tags()
        .iter()
        .map(|tag| (tag.key(), tag.value()))
        .collect();
    assert_eq!(tags, [("team", "core")]);

    client.delete_topic().topic_arn(&arn).send().await.unwrap();
    client.delete_topic().topic_arn(&arn).send().await.unwrap();
    let gone = sns_failure(client.get_topic_attributes().topic_arn(&arn).send().await);
    assert_eq!((gone.status, gone.code.as_str()), (404, "NotFound"));
    assert_eq!(gone.message, "Topic does not exist");
    let untaggable = sns_failure(
        client
            .list_tags_for_resource()
            .resource_arn(&arn)
            .send()
            .await,
    );
    assert_eq!(untaggable.code, "ResourceNotFound");
}

#[tokio::test]
async fn list_topics_pages_by_one_hundred() {
    let server = TestServer::start();
    let client = sns_client(&server);
    let mut expected = BTreeSet::new();
    for index in 0..105 {
        expected.insert(create_topic(&client, &format!("topic-{index:03}"), false).await);
    }
    let first = client.list_topics().send().await.unwrap();
    assert_eq!(first.topics().len(), 100);
    let token = first.next_token().expect("a second page").to_owned();
    let second = client.list_topics().next_token(token).send().await.unwrap();
    assert_eq!(second.topics().len(), 5);
    assert_eq!(second.next_token(), None);
    let listed: BTreeSet<String> = first
        .topics()
        .iter()
        .chain(second.topics())
        .filter_map(|topic| topic.topic_arn().map(str::to_owned))
        .collect();
    assert_eq!(listed, expected);
    let bad = sns_failure(client.list_topics().next_token("zz").send().await);
    assert_eq!(bad.code, "InvalidParameter");
}

#[tokio::test]
async fn subscriptions_are_made_listed_configured_and_removed() {
    let server = TestServer::start();
    let client = sns_client(&server);
    let sqs = server.client();
    let topic = create_topic(&client, "events", false).await;
    create_queue(&sqs, "events-a", &[]).await;
    create_queue(&sqs, "events-b", &[]).await;
    let first = subscribe_queue(&client, &topic, &server.queue_arn("events-a"), &[]).await;
    assert!(first.starts_with(&format!("{topic}:")), "{first}");
    let again = subscribe_queue(&client, &topic, &server.queue_arn("events-a"), &[]).await;
    assert_eq!(
        again, first,
        "subscribing twice returns the same subscription"
    );
    let second = subscribe_queue(
        &client,
        &topic,
        &server.queue_arn("events-b"),
        &[("RawMessageDelivery", "true")],
    )
    .await;

    let all = client.list_subscriptions().send().await.unwrap();
    let by_topic = client
        .list_subscriptions_by_topic()
        .topic_arn(&topic)
        .send()
        .await
        .unwrap();
    for page in [all.subscriptions(), by_topic.subscriptions()] {
        let arns: BTreeSet<&str> = page.iter().filter_map(|s| s.subscription_arn()).collect();
        assert_eq!(arns, BTreeSet::from([first.as_str(), second.as_str()]));
        assert!(
            page.iter()
                .all(|s| s.protocol() == Some("sqs") && s.topic_arn() == Some(&topic))
        );
    }

    client
        .set_subscription_attributes()
        .subscription_arn(&first)
        .attribute_name("FilterPolicy")
        .attribute_value(r#"{"colour": ["red"]}"#)
        .send()
        .await
        .unwrap();
    let attributes = subscription_attributes(&client, &first).await;
    assert_eq!(attributes["Endpoint"], server.queue_arn("events-a"));
    assert_eq!(attributes["PendingConfirmation"], "false");
    assert_eq!(attributes["RawMessageDelivery"], "false");
    assert_eq!(attributes["FilterPolicy"], r#"{"colour": ["red"]}"#);
    assert_eq!(attributes["FilterPolicyScope"], "MessageAttributes");
    assert_eq!(
        topic_attributes(&client, &topic).await["SubscriptionsConfirmed"],
        "2"
    );

    client
        .unsubscribe()
        .subscription_arn(&first)
        .send()
        .await
        .unwrap();
    let gone = sns_failure(
        client
            .get_subscription_attributes()
            .subscription_arn(&first)
            .send()
            .await,
    );
    assert_eq!((gone.status, gone.code.as_str()), (404, "NotFound"));
    let left = client
        .list_subscriptions_by_topic()
        .topic_arn(&topic)
        .send()
        .await
        .unwrap();
    assert_eq!(left.subscriptions().len(), 1);
}

#[tokio::test]
async fn bad_subscriptions_are_refused_with_aws_errors() {
    let server = TestServer::start();
    let client = sns_client(&server);
    let topic = create_topic(&client, "refusals", false).await;
    let fifo_topic = create_topic(&client, "refusals.fifo", true).await;
    let email = sns_failure(
        client
            .subscribe()
            .topic_arn(&topic)
            .protocol("email")
            .endpoint("someone@example.com")
            .send()
            .await,
    );
    assert_eq!(
        (email.status, email.code.as_str()),
        (400, "InvalidParameter")
    );
    assert!(
        email
            .message
            .contains("does not support email subscriptions yet"),
        "{email:?}"
    );
    let policy = sns_failure(
        client
            .subscribe()
            .topic_arn(&topic)
            .protocol("sqs")
            .endpoint(server.queue_arn("q"))
            .attributes("FilterPolicy", r#"{"colour": "red"}"#)
            .send()
            .await,
    );
    assert_eq!(policy.code, "InvalidParameter");
    assert_eq!(
        policy.message,
        "Invalid parameter: Attributes Reason: FilterPolicy: \"colour\" must be an object or an array"
    );
    let standard_queue = sns_failure(
        client
            .subscribe()
            .topic_arn(&fifo_topic)
            .protocol("sqs")
            .endpoint(server.queue_arn("plain"))
            .send()
            .await,
    );
    assert_eq!(standard_queue.code, "InvalidParameter");
    let missing = sns_failure(
        client
            .subscribe()
            .topic_arn(format!("{topic}-missing"))
            .protocol("sqs")
            .endpoint(server.queue_arn("q"))
            .send()
            .await,
    );
    assert_eq!((missing.status, missing.code.as_str()), (404, "NotFound"));
    let malformed = sns_failure(
        client
            .publish()
            .topic_arn("orders")
            .message("m")
            .send()
            .await,
    );
    assert_eq!(
        (malformed.status, malformed.code.as_str()),
        (400, "InvalidParameter")
    );
    let empty = sns_failure(client.publish().topic_arn(&topic).message("").send().await);
    assert_eq!(empty.message, "Invalid parameter: Empty message");
    let bad_number = sns_failure(
        client
            .publish()
            .topic_arn(&topic)
            .message("m")
            .message_attributes("n", sns_attribute("Number", "seven"))
            .send()
            .await,
    );
    assert_eq!(bad_number.code, "ParameterValueInvalid");
}

#[tokio::test]
async fn publish_fans_out_in_the_envelope_and_raw() {
    let server = TestServer::start();
    let client = sns_client(&server);
    let sqs = server.client();
    let topic = create_topic(&client, "news", false).await;
    let mut urls = Vec::new();
    for name in ["news-a", "news-b", "news-raw"] {
        urls.push(create_queue(&sqs, name, &[]).await);
    }
    let enveloped = subscribe_queue(&client, &topic, &server.queue_arn("news-a"), &[]).await;
    subscribe_queue(&client, &topic, &server.queue_arn("news-b"), &[]).await;
    subscribe_queue(
        &client,
        &topic,
        &server.queue_arn("news-raw"),
        &[("RawMessageDelivery", "true")],
    )
    .await;
    let published = client
        .publish()
        .topic_arn(&topic)
        .subject("Headline")
        .message("hello\r\nworld")
        .message_attributes("colour", sns_attribute("String", "red"))
        .message_attributes("size", sns_attribute("Number", "7"))
        .send()
        .await
        .unwrap();
    let message_id = published.message_id().expect("MessageId").to_owned();

    for url in &urls[..2] {
        let messages = drain(&sqs, url, 1, RECEIVE_LIMIT).await;
        assert_eq!(messages.len(), 1, "{url}");
        let envelope = envelope(&messages[0]);
        assert_eq!(envelope["Type"], "Notification");
        assert_eq!(envelope["MessageId"], message_id.as_str());
        assert_eq!(envelope["TopicArn"], topic.as_str());
        assert_eq!(envelope["Subject"], "Headline");
        assert_eq!(envelope["Message"], "hello\r\nworld");
        assert_eq!(envelope["SignatureVersion"], "1");
        assert!(
            envelope["Signature"].as_str().is_some(),
            "signed (sns::signing verifies it)"
        );
        assert!(envelope["SigningCertURL"].as_str().is_some());
        let timestamp = envelope["Timestamp"].as_str().unwrap_or_default();
        assert_eq!(
            timestamp.len(),
            "2026-01-01T00:00:00.000Z".len(),
            "{timestamp}"
        );
        assert!(
            timestamp.ends_with('Z') && timestamp.as_bytes()[19] == b'.',
            "{timestamp}"
        );
        assert_eq!(
            envelope["MessageAttributes"]["colour"],
            serde_json::json!({"Type": "String", "Value": "red"})
        );
        assert_eq!(
            envelope["MessageAttributes"]["size"],
            serde_json::json!({"Type": "Number", "Value": "7"})
        );
        assert!(
            messages[0]
                .message_attributes()
                .is_none_or(HashMap::is_empty)
        );
    }
    let raw = drain(&sqs, &urls[2], 1, RECEIVE_LIMIT).await;
    assert_eq!(raw.len(), 1);
    assert_eq!(raw[0].body(), Some("hello\r\nworld"));
    let attributes = raw[0].message_attributes().cloned().unwrap_or_default();
    assert_eq!(attributes["colour"].string_value(), Some("red"));
    assert_eq!(attributes["size"].data_type(), "Number");
    assert!(enveloped.contains(":news:"), "{enveloped}");
}

#[tokio::test]
async fn filter_policies_choose_the_subscribers() {
    let server = TestServer::start();
    let client = sns_client(&server);
    let sqs = server.client();
    let topic = create_topic(&client, "filtered", false).await;
    let red = create_queue(&sqs, "red", &[]).await;
    let big = create_queue(&sqs, "big-orders", &[]).await;
    subscribe_queue(
        &client,
        &topic,
        &server.queue_arn("red"),
        &[(
            "FilterPolicy",
            r#"{"colour": ["red"], "size": [{"numeric": [">", 5]}]}"#,
        )],
    )
    .await;
    subscribe_queue(
        &client,
        &topic,
        &server.queue_arn("big-orders"),
        &[
            (
                "FilterPolicy",
                r#"{"order": {"total": [{"numeric": [">=", 100]}]}}"#,
            ),
            ("FilterPolicyScope", "MessageBody"),
        ],
    )
    .await;
    let publish = |body: &'static str, colour: &'static str, size: &'static str| {
        client
            .publish()
            .topic_arn(&topic)
            .message(body)
            .message_attributes("colour", sns_attribute("String", colour))
            .message_attributes("size", sns_attribute("Number", size))
            .send()
    };
    publish(r#"{"order": {"total": 150}}"#, "red", "9")
        .await
        .unwrap();
    publish(r#"{"order": {"total": 10}}"#, "red", "2")
        .await
        .unwrap();
    publish(r#"{"order": {"total": 100}}"#, "blue", "9")
        .await
        .unwrap();
    publish("not json", "red", "6").await.unwrap();

    let to_red = notified(&drain(&sqs, &red, 2, RECEIVE_LIMIT).await);
    let mut to_red = to_red;
    to_red.sort();
    assert_eq!(to_red, ["not json", r#"{"order": {"total": 150}}"#]);
    let mut to_big = notified(&drain(&sqs, &big, 2, RECEIVE_LIMIT).await);
    to_big.sort();
    assert_eq!(
        to_big,
        [
            r#"{"order": {"total": 100}}"#,
            r#"{"order": {"total": 150}}"#
        ]
    );

    let subscription = client
        .list_subscriptions_by_topic()
        .topic_arn(&topic)
        .send()
        .await
        .unwrap()
        .subscriptions()[0]
        .subscription_arn()
        .unwrap()
        .to_owned();
    let rejected = sns_failure(
        client
            .set_subscription_attributes()
            .subscription_arn(subscription)
            .attribute_name("FilterPolicy")
            .attribute_value(r#"{"a": [{"prefix": 5}]}"#)
            .send()
            .await,
    );
    assert_eq!(
        (rejected.status, rejected.code.as_str()),
        (400, "InvalidParameter")
    );
    assert_eq!(
        rejected.message,
        "Invalid parameter: FilterPolicy: prefix match pattern must be a string"
    );
}

#[tokio::test]
async fn fifo_topics_keep_group_order_and_deduplicate() {
    let server = TestServer::start();
    let client = sns_client(&server);
    let sqs = server.client();
    let topic = client
        .create_topic()
        .name("ledger.fifo")
        .attributes("FifoTopic", "true")
        .attributes("ContentBasedDeduplication", "true")
        .send()
        .await
        .unwrap()
        .topic_arn()
        .unwrap()
        .to_owned();
    let fifo = [(QueueAttributeName::FifoQueue, "true")];
    let first = create_queue(&sqs, "ledger-a.fifo", &fifo).await;
    let second = create_queue(&sqs, "ledger-b.fifo", &fifo).await;
    for name in ["ledger-a.fifo", "ledger-b.fifo"] {
        subscribe_queue(&client, &topic, &server.queue_arn(name), &[]).await;
    }
    let mut sequence_numbers = Vec::new();
    for index in 0..5 {
        let output = client
            .publish()
            .topic_arn(&topic)
            .message(format!("entry-{index}"))
            .message_group_id("account-1")
            .send()
            .await
            .unwrap();
        sequence_numbers.push(
            output
                .sequence_number()
                .expect("FIFO SequenceNumber")
                .to_owned(),
        );
    }
    // The same body again within five minutes: content-based deduplication drops it.
    client
        .publish()
        .topic_arn(&topic)
        .message("entry-0")
        .message_group_id("account-1")
        .send()
        .await
        .unwrap();
    client
        .publish()
        .topic_arn(&topic)
        .message("explicit")
        .message_group_id("account-1")
        .message_deduplication_id("d-1")
        .send()
        .await
        .unwrap();
    let mut sorted = sequence_numbers.clone();
    sorted.sort();
    assert_eq!(sorted, sequence_numbers, "sequence numbers increase");

    let expected = [
        "entry-0", "entry-1", "entry-2", "entry-3", "entry-4", "explicit",
    ];
    for url in [&first, &second] {
        let mut received = Vec::new();
        // A receive returns as much of the group as is ready, in order; deleting what came
        // releases the rest. At most one round per message.
        for _ in 0..expected.len() {
            if received.len() == expected.len() {
                break;
            }
            let batch = drain(&sqs, url, 1, RECEIVE_LIMIT).await;
            for message in &batch {
                sqs.delete_message()
                    .queue_url(url)
                    .receipt_handle(message.receipt_handle().unwrap_or_default())
                    .send()
                    .await
                    .unwrap();
            }
            received.extend(notified(&batch));
        }
        assert_eq!(received, expected, "{url}");
        assert!(
            drain(&sqs, url, 1, Duration::from_secs(1)).await.is_empty(),
            "no duplicate"
        );
    }

    let no_group = sns_failure(client.publish().topic_arn(&topic).message("m").send().await);
    assert_eq!(
        no_group.message,
        "Invalid parameter: The MessageGroupId parameter is required for FIFO topics"
    );
}

#[tokio::test]
async fn publish_batch_stores_the_valid_entries_and_reports_the_rest() {
    let server = TestServer::start();
    let client = sns_client(&server);
    let sqs = server.client();
    let topic = create_topic(&client, "batched", false).await;
    let url = create_queue(&sqs, "batched-q", &[]).await;
    subscribe_queue(&client, &topic, &server.queue_arn("batched-q"), &[]).await;
    let entry = |id: &str, message: &str| {
        PublishBatchRequestEntry::builder()
            .id(id)
            .message(message)
            .build()
            .unwrap()
    };
    let output = client
        .publish_batch()
        .topic_arn(&topic)
        .publish_batch_request_entries(entry("one", "first"))
        .publish_batch_request_entries(entry("empty", ""))
        .publish_batch_request_entries(entry("two", "second"))
        .send()
        .await
        .unwrap();
    let successful: BTreeSet<&str> = output.successful().iter().filter_map(|s| s.id()).collect();
    assert_eq!(successful, BTreeSet::from(["one", "two"]));
    let failed = output.failed();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].id(), "empty");
    assert_eq!(failed[0].code(), "InvalidParameter");
    assert!(failed[0].sender_fault());
    let mut bodies = notified(&drain(&sqs, &url, 2, RECEIVE_LIMIT).await);
    bodies.sort();
    assert_eq!(bodies, ["first", "second"]);

    let eleven = (0..11)
        .map(|index| entry(&format!("e{index}"), "m"))
        .collect();
    let too_many = sns_failure(
        client
            .publish_batch()
            .topic_arn(&topic)
            .set_publish_batch_request_entries(Some(eleven))
            .send()
            .await,
    );
    assert_eq!(too_many.code, "TooManyEntriesInBatchRequest");
}

#[tokio::test]
async fn unsigned_query_requests_with_an_sns_action_reach_sns() {
    let server = TestServer::start();
    let response = raw_post(
        &server,
        &[("content-type", "application/x-www-form-urlencoded")],
        b"Action=CreateTopic&Name=unsigned&Version=2010-03-31",
    )
    .await;
    assert_eq!(response.status, 200, "{}", response.body);
    assert!(
        response
            .body
            .contains(r#"<CreateTopicResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/">"#),
        "{}",
        response.body
    );
    let missing = raw_post(
        &server,
        &[("content-type", "application/x-www-form-urlencoded")],
        b"Action=GetTopicAttributes&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A000000000000%3Anone",
    )
    .await;
    assert_eq!(missing.status, 404);
    assert!(
        missing.body.contains("<Code>NotFound</Code>"),
        "{}",
        missing.body
    );
    // SQS is unaffected.
    let queues = raw_post(
        &server,
        &[("content-type", "application/x-www-form-urlencoded")],
        b"Action=ListQueues",
    )
    .await;
    assert!(
        queues.body.contains("ListQueuesResponse"),
        "{}",
        queues.body
    );
}

#[tokio::test]
async fn kill9_right_after_publishing_loses_no_acknowledged_message() {
    let mut server = TestServer::start();
    let client = sns_client(&server);
    let sqs = server.client();
    let topic = create_topic(&client, "durable", false).await;
    let names = ["durable-a", "durable-b", "durable-c"];
    for name in names {
        create_queue(&sqs, name, &[]).await;
        subscribe_queue(&client, &topic, &server.queue_arn(name), &[]).await;
    }
    let mut tasks = Vec::new();
    for worker in 0..4 {
        let client = client.clone();
        let topic = topic.clone();
        tasks.push(tokio::spawn(async move {
            let mut acknowledged = Vec::new();
            for index in 0..15 {
                let output = client
                    .publish()
                    .topic_arn(&topic)
                    .message(format!("w{worker}-{index}"))
                    .send()
                    .await
                    .unwrap_or_else(|error| panic!("Publish: {error:?}"));
                acknowledged.push(output.message_id().unwrap_or_default().to_owned());
            }
            acknowledged
        }));
    }
    let mut acknowledged = BTreeSet::new();
    for task in tasks {
        acknowledged.extend(task.await.expect("publisher task"));
    }
    server.kill9();
    let sqs = server.client();
    for name in names {
        let url = server.queue_url(name);
        let messages = drain(&sqs, &url, acknowledged.len(), Duration::from_secs(20)).await;
        let delivered: BTreeSet<String> = messages
            .iter()
            .map(|message| {
                envelope(message)["MessageId"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect();
        assert_eq!(
            delivered, acknowledged,
            "{name} has every acknowledged publish"
        );
    }
    // Topics and subscriptions survived too.
    let client = sns_client(&server);
    let subscriptions = client
        .list_subscriptions_by_topic()
        .topic_arn(&topic)
        .send()
        .await
        .unwrap();
    assert_eq!(subscriptions.subscriptions().len(), names.len());
}
