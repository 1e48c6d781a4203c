//! Messages through aws-sdk-sqs: SendMessage, ReceiveMessage and DeleteMessage; body and
//! attribute digests computed here the way AWS computes them; message attribute types and
//! filters; system attributes; the 1 MiB size limit; MaxNumberOfMessages.

mod common;

use std::collections::{HashMap, HashSet};

use aws_sdk_sqs::types::{MessageAttributeValue, MessageSystemAttributeName};
use common::*;

#[tokio::test]
async fn send_receive_delete_round_trip() {
    let server = TestServer::start();
    let client = server.client();
    let url = create_queue(&client, "round-trip", &[]).await;
    assert!(
        receive(&client, &url, 10, None).await.is_empty(),
        "a new queue is empty"
    );

    let body = "hello, tern";
    let sent = client
        .send_message()
        .queue_url(&url)
        .message_body(body)
        .send()
        .await
        .unwrap();
    let message_id = sent.message_id().expect("MessageId").to_owned();
    assert!(!message_id.is_empty());
    assert_eq!(
        sent.md5_of_message_body(),
        Some(md5_hex(body.as_bytes()).as_str())
    );
    assert_eq!(
        sent.md5_of_message_attributes(),
        None,
        "no attributes, no attribute digest"
    );
    assert_eq!(counters(&client, &url).await, (1, 0, 0));

    let messages = receive(&client, &url, 10, None).await;
    assert_eq!(messages.len(), 1, "{messages:?}");
    let message = &messages[0];
    assert_eq!(message.message_id(), Some(message_id.as_str()));
    assert_eq!(message.body(), Some(body));
    assert_eq!(
        message.md5_of_body(),
        Some(md5_hex(body.as_bytes()).as_str())
    );
    let receipt = message.receipt_handle().expect("ReceiptHandle");
    assert!(!receipt.is_empty());
    assert!(message.message_attributes().is_none_or(HashMap::is_empty));
    assert_eq!(message.md5_of_message_attributes(), None);
    assert_eq!(counters(&client, &url).await, (0, 1, 0));

    client
        .delete_message()
        .queue_url(&url)
        .receipt_handle(receipt)
        .send()
        .await
        .unwrap();
    assert_eq!(counters(&client, &url).await, (0, 0, 0));
    assert!(
        receive(&client, &url, 10, Some(0)).await.is_empty(),
        "deleted means gone"
    );

    // Deleting again with the same (now stale) handle is not an error in AWS.
    client
        .delete_message()
        .queue_url(&url)
        .receipt_handle(receipt)
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn unicode_body_round_trips_with_utf8_digest() {
    let server = TestServer::start();
    let client = server.client();
    let url = create_queue(&client, "unicode", &[]).await;
    // Tab, newline, carriage return, BMP text, a character past the BMP and the last allowed
    // code points of each allowed range.
    let body = "tab\there\nline\r\nпривет 世界 🦀 \u{D7FF}\u{E000}\u{FFFD}\u{10FFFF}";
    let sent = client
        .send_message()
        .queue_url(&url)
        .message_body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(
        sent.md5_of_message_body(),
        Some(md5_hex(body.as_bytes()).as_str())
    );
    let messages = receive(&client, &url, 1, None).await;
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].body(), Some(body));
    assert_eq!(
        messages[0].md5_of_body(),
        Some(md5_hex(body.as_bytes()).as_str())
    );
}

fn sample_attributes() -> HashMap<String, MessageAttributeValue> {
    HashMap::from([
        ("Hello".to_owned(), string_attribute("String", "There")),
        ("Help.Me".to_owned(), string_attribute("String", "Me")),
        ("General".to_owned(), string_attribute("String", "Kenobi")),
        ("count".to_owned(), string_attribute("Number", "42")),
        (
            "ratio".to_owned(),
            string_attribute("Number.float", "-1.5e3"),
        ),
        (
            "trace".to_owned(),
            string_attribute("String.custom", "ünïcödé ✓"),
        ),
        (
            "blob".to_owned(),
            binary_attribute("Binary", &[0, 1, 2, 254, 255]),
        ),
        (
            "picture".to_owned(),
            binary_attribute("Binary.gif", b"GIF89a\x00\x01"),
        ),
    ])
}

#[tokio::test]
async fn message_attributes_round_trip_with_aws_digests() {
    let server = TestServer::start();
    let client = server.client();
    let url = create_queue(&client, "attributes", &[]).await;
    let attributes = sample_attributes();
    let expected_digest = md5_of_attributes(&attributes);

    let sent = client
        .send_message()
        .queue_url(&url)
        .message_body("msg")
        .set_message_attributes(Some(attributes.clone()))
        .send()
        .await
        .unwrap();
    assert_eq!(sent.md5_of_message_body(), Some(md5_hex(b"msg").as_str()));
    assert_eq!(
        sent.md5_of_message_attributes(),
        Some(expected_digest.as_str())
    );

    let messages = receive(&client, &url, 1, None).await;
    assert_eq!(messages.len(), 1);
    let message = &messages[0];
    assert_eq!(message.message_attributes(), Some(&attributes));
    assert_eq!(
        message.md5_of_message_attributes(),
        Some(expected_digest.as_str())
    );
}

#[tokio::test]
async fn known_aws_attribute_digest_matches() {
    // Digest values recorded against real SQS (three String attributes, body "msg").
    let attributes = HashMap::from([
        ("Hello".to_owned(), string_attribute("String", "There")),
        ("Help.Me".to_owned(), string_attribute("String", "Me")),
        ("General".to_owned(), string_attribute("String", "Kenobi")),
    ]);
    assert_eq!(
        md5_of_attributes(&attributes),
        "4c360f3fdafd970e05fae2f149d997f5"
    );
    assert_eq!(md5_hex(b"msg"), "6e2baaf3b97dbeef01c0043275f9a0e7");

    let server = TestServer::start();
    let client = server.client();
    let url = create_queue(&client, "recorded", &[]).await;
    let sent = client
        .send_message()
        .queue_url(&url)
        .message_body("msg")
        .set_message_attributes(Some(attributes))
        .send()
        .await
        .unwrap();
    assert_eq!(
        sent.md5_of_message_attributes(),
        Some("4c360f3fdafd970e05fae2f149d997f5")
    );
    assert_eq!(
        sent.md5_of_message_body(),
        Some("6e2baaf3b97dbeef01c0043275f9a0e7")
    );
}

#[tokio::test]
async fn message_attribute_names_filter_what_is_returned_and_digested() {
    let server = TestServer::start();
    let client = server.client();
    let url = create_queue(&client, "filters", &[]).await;
    let attributes = sample_attributes();
    client
        .send_message()
        .queue_url(&url)
        .message_body("msg")
        .set_message_attributes(Some(attributes.clone()))
        .send()
        .await
        .unwrap();

    let cases: [(&[&str], &[&str]); 5] = [
        (&[], &[]),
        (&["Hello", "General"], &["Hello", "General"]),
        (&["Hello", "Missing"], &["Hello"]),
        (&["Help.*"], &["Help.Me"]),
        (
            &[".*"],
            &[
                "Hello", "Help.Me", "General", "count", "ratio", "trace", "blob", "picture",
            ],
        ),
    ];
    for (requested, expected_names) in cases {
        let output = client
            .receive_message()
            .queue_url(&url)
            .visibility_timeout(0)
            .set_message_attribute_names(Some(requested.iter().map(|n| (*n).to_owned()).collect()))
            .send()
            .await
            .unwrap();
        assert_eq!(
            output.messages().len(),
            1,
            "request {requested:?}: {output:?}"
        );
        let message = &output.messages()[0];
        let expected: HashMap<String, MessageAttributeValue> = expected_names
            .iter()
            .map(|name| ((*name).to_owned(), attributes[*name].clone()))
            .collect();
        if expected.is_empty() {
            assert!(
                message.message_attributes().is_none_or(HashMap::is_empty),
                "{requested:?}"
            );
            assert_eq!(message.md5_of_message_attributes(), None, "{requested:?}");
        } else {
            assert_eq!(
                message.message_attributes(),
                Some(&expected),
                "{requested:?}"
            );
            assert_eq!(
                message.md5_of_message_attributes(),
                Some(md5_of_attributes(&expected).as_str()),
                "the digest covers the returned attributes only ({requested:?})"
            );
        }
    }
}

#[tokio::test]
async fn system_attributes_are_returned_on_request() {
    let server = TestServer::start();
    let client = server.client();
    let url = create_queue(&client, "system", &[]).await;
    let before_ms = now_ms();
    send(&client, &url, "timestamped").await;
    let after_send_ms = now_ms();

    let messages = receive(&client, &url, 1, Some(0)).await;
    assert_eq!(messages.len(), 1);
    let system = messages[0].attributes().cloned().unwrap_or_default();
    let number = |name: MessageSystemAttributeName| -> u128 {
        system
            .get(&name)
            .unwrap_or_else(|| panic!("missing {name:?} in {system:?}"))
            .parse()
            .unwrap_or_else(|error| panic!("{name:?} is not a number: {error}"))
    };
    let sent_ms = number(MessageSystemAttributeName::SentTimestamp);
    assert!(
        (before_ms.saturating_sub(1000)..=after_send_ms + 1000).contains(&sent_ms),
        "SentTimestamp {sent_ms} is epoch milliseconds within the send ({before_ms}..{after_send_ms})"
    );
    let first_receive_ms = number(MessageSystemAttributeName::ApproximateFirstReceiveTimestamp);
    assert!(
        first_receive_ms >= sent_ms,
        "first receive {first_receive_ms} before send {sent_ms}"
    );
    assert!(first_receive_ms <= now_ms() + 1000);
    assert_eq!(
        number(MessageSystemAttributeName::ApproximateReceiveCount),
        1
    );
    let sender = system
        .get(&MessageSystemAttributeName::SenderId)
        .expect("SenderId");
    assert!(!sender.is_empty());

    // A second receive keeps the first-receive time and counts up.
    let messages = receive(&client, &url, 1, Some(0)).await;
    assert_eq!(messages.len(), 1);
    let system = messages[0].attributes().cloned().unwrap_or_default();
    assert_eq!(
        system.get(&MessageSystemAttributeName::ApproximateFirstReceiveTimestamp),
        Some(&first_receive_ms.to_string())
    );
    assert_eq!(
        system
            .get(&MessageSystemAttributeName::ApproximateReceiveCount)
            .map(String::as_str),
        Some("2")
    );

    // Only what was asked for.
    let output = client
        .receive_message()
        .queue_url(&url)
        .visibility_timeout(0)
        .message_system_attribute_names(MessageSystemAttributeName::SenderId)
        .send()
        .await
        .unwrap();
    let attributes = output.messages()[0]
        .attributes()
        .cloned()
        .unwrap_or_default();
    let names: HashSet<MessageSystemAttributeName> = attributes.keys().cloned().collect();
    assert_eq!(names, HashSet::from([MessageSystemAttributeName::SenderId]));

    // Nothing asked for: no system attributes.
    let output = client
        .receive_message()
        .queue_url(&url)
        .visibility_timeout(0)
        .send()
        .await
        .unwrap();
    assert!(
        output.messages()[0]
            .attributes()
            .is_none_or(HashMap::is_empty),
        "{output:?}"
    );
}

#[tokio::test]
#[allow(deprecated)] // AttributeNames is the older spelling of MessageSystemAttributeNames.
async fn legacy_attribute_names_parameter_still_selects_system_attributes() {
    let server = TestServer::start();
    let client = server.client();
    let url = create_queue(&client, "legacy", &[]).await;
    send(&client, &url, "old client").await;
    let output = client
        .receive_message()
        .queue_url(&url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
        .send()
        .await
        .unwrap();
    assert_eq!(output.messages().len(), 1);
    let attributes = output.messages()[0]
        .attributes()
        .cloned()
        .unwrap_or_default();
    for name in [
        MessageSystemAttributeName::SentTimestamp,
        MessageSystemAttributeName::ApproximateReceiveCount,
        MessageSystemAttributeName::ApproximateFirstReceiveTimestamp,
        MessageSystemAttributeName::SenderId,
    ] {
        assert!(
            attributes.contains_key(&name),
            "missing {name:?} in {attributes:?}"
        );
    }
}

#[tokio::test]
async fn largest_allowed_message_is_accepted_intact() {
    let server = TestServer::start();
    let client = server.client();
    let url = create_queue(&client, "big", &[]).await;
    // 1 MiB exactly: the default MaximumMessageSize.
    let body: String = (0..1_048_576)
        .map(|index| char::from(b'a' + (index % 26) as u8))
        .collect();
    let sent = client
        .send_message()
        .queue_url(&url)
        .message_body(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(
        sent.md5_of_message_body(),
        Some(md5_hex(body.as_bytes()).as_str())
    );
    let messages = receive(&client, &url, 1, None).await;
    assert_eq!(messages.len(), 1);
    let received = messages[0].body().unwrap_or_default();
    assert_eq!(received.len(), body.len());
    assert!(received == body, "the 1 MiB body came back altered");

    // With a smaller queue maximum, a body of exactly that size still fits.
    let small = create_queue(
        &client,
        "small",
        &[(
            aws_sdk_sqs::types::QueueAttributeName::MaximumMessageSize,
            "1024",
        )],
    )
    .await;
    send(&client, &small, &"x".repeat(1024)).await;
}

#[tokio::test]
async fn receive_returns_at_most_max_number_of_messages_and_drains_all() {
    let server = TestServer::start();
    let client = server.client();
    let url = create_queue(&client, "many", &[]).await;
    let mut sent = HashSet::new();
    for index in 0..15 {
        sent.insert(send(&client, &url, &format!("message {index}")).await);
    }

    let single = receive(&client, &url, 1, Some(0)).await;
    assert_eq!(single.len(), 1, "MaxNumberOfMessages=1 returns one");
    let default = client
        .receive_message()
        .queue_url(&url)
        .visibility_timeout(0)
        .send()
        .await
        .unwrap();
    assert_eq!(
        default.messages().len(),
        1,
        "MaxNumberOfMessages defaults to 1"
    );

    let mut received = HashSet::new();
    for _ in 0..30 {
        let batch = receive(&client, &url, 10, Some(300)).await;
        assert!(
            batch.len() <= 10,
            "more than MaxNumberOfMessages: {}",
            batch.len()
        );
        for message in batch {
            let id = message.message_id().unwrap().to_owned();
            assert!(received.insert(id), "a hidden message was delivered twice");
        }
        if received.len() == sent.len() {
            break;
        }
    }
    assert_eq!(received, sent);
    assert!(receive(&client, &url, 10, None).await.is_empty());
    assert_eq!(counters(&client, &url).await, (0, 15, 0));
}

#[tokio::test]
async fn aws_trace_header_is_kept_digested_and_returned() {
    use aws_sdk_sqs::types::{
        MessageSystemAttributeName, MessageSystemAttributeNameForSends, MessageSystemAttributeValue,
    };
    let server = TestServer::start();
    let client = server.client();
    let url = create_queue(&client, "traced", &[]).await;
    let trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1";
    let sent = client
        .send_message()
        .queue_url(&url)
        .message_body("traced body")
        .message_system_attributes(
            MessageSystemAttributeNameForSends::AwsTraceHeader,
            MessageSystemAttributeValue::builder()
                .data_type("String")
                .string_value(trace)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let expected = md5_of_attributes(&HashMap::from([(
        "AWSTraceHeader".to_owned(),
        string_attribute("String", trace),
    )]));
    assert_eq!(
        sent.md5_of_message_system_attributes(),
        Some(expected.as_str())
    );

    let received = receive(&client, &url, 1, None).await;
    let attributes = received[0].attributes().expect("system attributes");
    assert_eq!(
        attributes
            .get(&MessageSystemAttributeName::AwsTraceHeader)
            .map(String::as_str),
        Some(trace)
    );

    let wrong_type = client
        .send_message()
        .queue_url(&url)
        .message_body("x")
        .message_system_attributes(
            MessageSystemAttributeNameForSends::AwsTraceHeader,
            MessageSystemAttributeValue::builder()
                .data_type("Number")
                .string_value("1")
                .build()
                .unwrap(),
        )
        .send()
        .await;
    failure(wrong_type).assert_is(INVALID_PARAMETER_VALUE);
}
