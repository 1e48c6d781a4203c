//! Queue management through aws-sdk-sqs: CreateQueue, GetQueueUrl, ListQueues (prefix and
//! pagination), DeleteQueue, GetQueueAttributes, SetQueueAttributes, PurgeQueue and the tag
//! actions, plus queue URLs and ARNs (account id, region).

mod common;

use std::collections::{HashMap, HashSet};

use aws_sdk_sqs::types::QueueAttributeName;
use common::*;

fn epoch_seconds(attributes: &HashMap<String, String>, name: &str) -> u64 {
    attributes
        .get(name)
        .unwrap_or_else(|| panic!("missing {name} in {attributes:?}"))
        .parse()
        .unwrap_or_else(|error| panic!("{name} is not epoch seconds: {error}"))
}

#[tokio::test]
async fn create_queue_returns_url_and_default_attributes() {
    let server = TestServer::start();
    let client = server.client();
    let before_s = (now_ms() / 1000) as u64;

    let url = create_queue(&client, "orders", &[]).await;
    assert_eq!(url, server.queue_url("orders"));

    let found = client
        .get_queue_url()
        .queue_name("orders")
        .send()
        .await
        .unwrap();
    assert_eq!(found.queue_url(), Some(url.as_str()));

    let attributes = queue_attributes(&client, &url).await;
    let expected = [
        ("QueueArn", server.queue_arn("orders")),
        ("VisibilityTimeout", "30".to_owned()),
        ("MaximumMessageSize", "1048576".to_owned()),
        ("MessageRetentionPeriod", "345600".to_owned()),
        ("DelaySeconds", "0".to_owned()),
        ("ReceiveMessageWaitTimeSeconds", "0".to_owned()),
        ("ApproximateNumberOfMessages", "0".to_owned()),
        ("ApproximateNumberOfMessagesNotVisible", "0".to_owned()),
        ("ApproximateNumberOfMessagesDelayed", "0".to_owned()),
    ];
    for (name, value) in expected {
        assert_eq!(
            attributes.get(name),
            Some(&value),
            "attribute {name} in {attributes:?}"
        );
    }
    let created_s = epoch_seconds(&attributes, "CreatedTimestamp");
    let modified_s = epoch_seconds(&attributes, "LastModifiedTimestamp");
    let after_s = (now_ms() / 1000) as u64;
    assert!(
        (before_s.saturating_sub(2)..=after_s + 2).contains(&created_s),
        "CreatedTimestamp {created_s} is epoch seconds near now ({before_s}..{after_s})"
    );
    assert!(
        modified_s >= created_s,
        "LastModifiedTimestamp {modified_s} < Created {created_s}"
    );
    assert!(
        !attributes.contains_key("FifoQueue"),
        "standard queues have no FifoQueue attribute"
    );
}

#[tokio::test]
async fn create_queue_with_attributes_and_identical_repeat_is_idempotent() {
    let server = TestServer::start();
    let client = server.client();
    let attributes = [
        (QueueAttributeName::VisibilityTimeout, "45"),
        (QueueAttributeName::DelaySeconds, "3"),
        (QueueAttributeName::MaximumMessageSize, "2048"),
        (QueueAttributeName::MessageRetentionPeriod, "120"),
        (QueueAttributeName::ReceiveMessageWaitTimeSeconds, "7"),
    ];
    let first = create_queue(&client, "configured", &attributes).await;
    let second = create_queue(&client, "configured", &attributes).await;
    assert_eq!(first, second, "identical CreateQueue returns the same URL");

    let read = queue_attributes(&client, &first).await;
    for (name, value) in &attributes {
        assert_eq!(
            read.get(name.as_str()).map(String::as_str),
            Some(*value),
            "{name:?}"
        );
    }
    let listed = client.list_queues().send().await.unwrap();
    assert_eq!(
        listed.queue_urls(),
        std::slice::from_ref(&first),
        "one queue, not two"
    );
}

#[tokio::test]
async fn get_queue_attributes_returns_only_requested_names() {
    let server = TestServer::start();
    let client = server.client();
    let url = create_queue(
        &client,
        "picky",
        &[(QueueAttributeName::VisibilityTimeout, "12")],
    )
    .await;

    let output = client
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::VisibilityTimeout)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap();
    let attributes = output.attributes().cloned().unwrap_or_default();
    let expected: HashMap<QueueAttributeName, String> = [
        (QueueAttributeName::VisibilityTimeout, "12".to_owned()),
        (QueueAttributeName::QueueArn, server.queue_arn("picky")),
    ]
    .into_iter()
    .collect();
    assert_eq!(attributes, expected);

    // No names at all: AWS returns no attributes.
    let output = client
        .get_queue_attributes()
        .queue_url(&url)
        .send()
        .await
        .unwrap();
    assert!(
        output.attributes().is_none_or(HashMap::is_empty),
        "{output:?}"
    );
}

#[tokio::test]
async fn set_queue_attributes_round_trips_and_bumps_last_modified() {
    let server = TestServer::start();
    let client = server.client();
    let url = create_queue(&client, "mutable", &[]).await;
    let before = queue_attributes(&client, &url).await;

    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    client
        .set_queue_attributes()
        .queue_url(&url)
        .attributes(QueueAttributeName::VisibilityTimeout, "99")
        .attributes(QueueAttributeName::DelaySeconds, "900")
        .attributes(QueueAttributeName::MaximumMessageSize, "1024")
        .attributes(QueueAttributeName::MessageRetentionPeriod, "1209600")
        .attributes(QueueAttributeName::ReceiveMessageWaitTimeSeconds, "20")
        .send()
        .await
        .unwrap();

    let after = queue_attributes(&client, &url).await;
    for (name, value) in [
        ("VisibilityTimeout", "99"),
        ("DelaySeconds", "900"),
        ("MaximumMessageSize", "1024"),
        ("MessageRetentionPeriod", "1209600"),
        ("ReceiveMessageWaitTimeSeconds", "20"),
    ] {
        assert_eq!(
            after.get(name).map(String::as_str),
            Some(value),
            "{name} in {after:?}"
        );
    }
    assert_eq!(
        after.get("CreatedTimestamp"),
        before.get("CreatedTimestamp")
    );
    assert!(
        epoch_seconds(&after, "LastModifiedTimestamp")
            > epoch_seconds(&before, "LastModifiedTimestamp"),
        "LastModifiedTimestamp moves on SetQueueAttributes: {before:?} -> {after:?}"
    );
}

#[tokio::test]
async fn list_queues_filters_by_prefix() {
    let server = TestServer::start();
    let client = server.client();

    let empty = client.list_queues().send().await.unwrap();
    assert!(empty.queue_urls().is_empty(), "{empty:?}");

    let alpha_one = create_queue(&client, "alpha-1", &[]).await;
    let alpha_two = create_queue(&client, "alpha-2", &[]).await;
    let beta = create_queue(&client, "beta-1", &[]).await;

    let all: HashSet<String> = client
        .list_queues()
        .send()
        .await
        .unwrap()
        .queue_urls()
        .iter()
        .cloned()
        .collect();
    assert_eq!(
        all,
        HashSet::from([alpha_one.clone(), alpha_two.clone(), beta])
    );

    let alpha: HashSet<String> = client
        .list_queues()
        .queue_name_prefix("alpha")
        .send()
        .await
        .unwrap()
        .queue_urls()
        .iter()
        .cloned()
        .collect();
    assert_eq!(alpha, HashSet::from([alpha_one, alpha_two]));

    let none = client
        .list_queues()
        .queue_name_prefix("gamma")
        .send()
        .await
        .unwrap();
    assert!(none.queue_urls().is_empty(), "{none:?}");
}

#[tokio::test]
async fn list_queues_paginates_with_max_results_and_next_token() {
    let server = TestServer::start();
    let client = server.client();
    let mut expected = HashSet::new();
    for index in 0..7 {
        expected.insert(create_queue(&client, &format!("page-{index:02}"), &[]).await);
    }
    create_queue(&client, "unrelated", &[]).await;

    let mut seen: Vec<String> = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        pages += 1;
        assert!(pages <= 10, "pagination did not end: {seen:?}");
        let page = client
            .list_queues()
            .queue_name_prefix("page-")
            .max_results(3)
            .set_next_token(token.clone())
            .send()
            .await
            .unwrap();
        assert!(
            page.queue_urls().len() <= 3,
            "page larger than MaxResults: {page:?}"
        );
        seen.extend(page.queue_urls().iter().cloned());
        match page.next_token() {
            Some(next) => {
                assert!(
                    !next.is_empty(),
                    "an empty NextToken must be omitted instead"
                );
                token = Some(next.to_owned());
            }
            None => break,
        }
    }
    assert!(
        pages >= 3,
        "7 queues in pages of 3 take at least 3 pages, took {pages}"
    );
    let unique: HashSet<String> = seen.iter().cloned().collect();
    assert_eq!(
        unique.len(),
        seen.len(),
        "a queue was listed twice: {seen:?}"
    );
    assert_eq!(unique, expected);

    // MaxResults larger than the result: everything on one page, no token.
    let whole = client
        .list_queues()
        .queue_name_prefix("page-")
        .max_results(1000)
        .send()
        .await
        .unwrap();
    assert_eq!(whole.queue_urls().len(), 7);
    assert_eq!(whole.next_token(), None);
}

#[tokio::test]
async fn delete_queue_removes_only_that_queue() {
    let server = TestServer::start();
    let client = server.client();
    let doomed = create_queue(&client, "doomed", &[]).await;
    let kept = create_queue(&client, "kept", &[]).await;
    send(&client, &doomed, "gone with the queue").await;
    send(&client, &kept, "stays").await;

    client
        .delete_queue()
        .queue_url(&doomed)
        .send()
        .await
        .unwrap();

    let lookup = failure(client.get_queue_url().queue_name("doomed").send().await);
    lookup.assert_is(QUEUE_DOES_NOT_EXIST);
    assert!(lookup.error.is_queue_does_not_exist(), "{:?}", lookup.error);
    let listed = client.list_queues().send().await.unwrap();
    assert_eq!(listed.queue_urls(), std::slice::from_ref(&kept));
    assert_eq!(counters(&client, &kept).await, (1, 0, 0));
    let send_to_deleted = failure(
        client
            .send_message()
            .queue_url(&doomed)
            .message_body("x")
            .send()
            .await,
    );
    send_to_deleted.assert_is(QUEUE_DOES_NOT_EXIST);
}

#[tokio::test]
async fn tags_can_be_set_at_creation_added_replaced_and_removed() {
    let server = TestServer::start();
    let client = server.client();
    let output = client
        .create_queue()
        .queue_name("tagged")
        .tags("team", "payments")
        .tags("env", "test")
        .send()
        .await
        .unwrap();
    let url = output.queue_url().unwrap().to_owned();

    let tags = |pairs: &[(&str, &str)]| -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
            .collect()
    };
    let listed = client
        .list_queue_tags()
        .queue_url(&url)
        .send()
        .await
        .unwrap();
    assert_eq!(
        listed.tags().cloned().unwrap_or_default(),
        tags(&[("team", "payments"), ("env", "test")])
    );

    client
        .tag_queue()
        .queue_url(&url)
        .tags("env", "prod")
        .tags("cost-center", "42")
        .send()
        .await
        .unwrap();
    let listed = client
        .list_queue_tags()
        .queue_url(&url)
        .send()
        .await
        .unwrap();
    assert_eq!(
        listed.tags().cloned().unwrap_or_default(),
        tags(&[("team", "payments"), ("env", "prod"), ("cost-center", "42")])
    );

    client
        .untag_queue()
        .queue_url(&url)
        .tag_keys("team")
        .tag_keys("not-there")
        .send()
        .await
        .unwrap();
    let listed = client
        .list_queue_tags()
        .queue_url(&url)
        .send()
        .await
        .unwrap();
    assert_eq!(
        listed.tags().cloned().unwrap_or_default(),
        tags(&[("env", "prod"), ("cost-center", "42")])
    );

    let untagged = create_queue(&client, "untagged", &[]).await;
    let listed = client
        .list_queue_tags()
        .queue_url(&untagged)
        .send()
        .await
        .unwrap();
    assert!(listed.tags().is_none_or(HashMap::is_empty), "{listed:?}");
}

#[tokio::test]
async fn account_id_flag_shapes_urls_and_arns() {
    let server = TestServer::start_with_account("123456789012");
    let client = server.client();
    let url = create_queue(&client, "accounted", &[]).await;
    assert_eq!(url, format!("{}/123456789012/accounted", server.endpoint()));
    let attributes = queue_attributes(&client, &url).await;
    assert_eq!(
        attributes.get("QueueArn").map(String::as_str),
        Some("arn:aws:sqs:us-east-1:123456789012:accounted")
    );
}

#[tokio::test]
async fn arn_region_comes_from_the_credential_scope() {
    let server = TestServer::start();
    let client = server.client_in_region("eu-west-1");
    let url = create_queue(&client, "european", &[]).await;
    let attributes = queue_attributes(&client, &url).await;
    assert_eq!(
        attributes.get("QueueArn").map(String::as_str),
        Some("arn:aws:sqs:eu-west-1:000000000000:european")
    );
}

#[tokio::test]
async fn queue_url_is_resolved_by_account_and_name_not_host() {
    let server = TestServer::start();
    let client = server.client();
    create_queue(&client, "hosts", &[]).await;
    // The same queue, spelled with `localhost` as a client behind another name would see it.
    let other_spelling = format!(
        "http://localhost:{}/{}/hosts",
        server.port(),
        server.account_id()
    );
    send(&client, &other_spelling, "via localhost").await;
    let messages = receive(&client, &server.queue_url("hosts"), 10, None).await;
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].body(), Some("via localhost"));
}

#[tokio::test]
async fn purge_queue_removes_visible_in_flight_and_delayed_messages() {
    let server = TestServer::start();
    let client = server.client();
    let url = create_queue(&client, "purgeable", &[]).await;
    let other = create_queue(&client, "bystander", &[]).await;
    for index in 0..3 {
        send(&client, &url, &format!("visible {index}")).await;
    }
    client
        .send_message()
        .queue_url(&url)
        .message_body("delayed")
        .delay_seconds(60)
        .send()
        .await
        .unwrap();
    send(&client, &other, "untouched").await;
    let in_flight = receive(&client, &url, 1, Some(60)).await;
    assert_eq!(in_flight.len(), 1);
    assert_eq!(counters(&client, &url).await, (2, 1, 1));

    client.purge_queue().queue_url(&url).send().await.unwrap();

    assert_eq!(counters(&client, &url).await, (0, 0, 0));
    assert!(receive(&client, &url, 10, None).await.is_empty());
    assert_eq!(
        counters(&client, &other).await,
        (1, 0, 0),
        "PurgeQueue touches one queue only"
    );
    // The queue itself survives a purge and takes new messages.
    send(&client, &url, "after purge").await;
    let messages = receive(&client, &url, 10, None).await;
    assert_eq!(
        messages.iter().filter_map(|m| m.body()).collect::<Vec<_>>(),
        ["after purge"]
    );
}
