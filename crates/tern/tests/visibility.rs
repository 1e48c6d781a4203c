//! Time-dependent behaviour through aws-sdk-sqs: visibility timeouts (queue default, per receive,
//! ChangeMessageVisibility), re-delivery with a new receipt handle and a higher receive count,
//! stale receipt handles, long polling (WaitTimeSeconds and ReceiveMessageWaitTimeSeconds),
//! per-queue and per-message delays, and retention expiry.
//!
//! Timing assertions are logical, never about speed: "not before the delay", "before the wait
//! ran out", with wide margins.

mod common;

use std::time::{Duration, Instant};

use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::{Message, MessageSystemAttributeName, QueueAttributeName};
use common::*;

fn receive_count(message: &Message) -> u32 {
    message
        .attributes()
        .and_then(|attributes| attributes.get(&MessageSystemAttributeName::ApproximateReceiveCount))
        .expect("ApproximateReceiveCount requested")
        .parse()
        .unwrap()
}

/// Polls (short receives) until a message comes back or `limit` passes.
async fn receive_within(
    client: &Client,
    url: &str,
    visibility_timeout_s: i32,
    limit: Duration,
) -> Option<Message> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Some(message) = receive(client, url, 1, Some(visibility_timeout_s))
            .await
            .into_iter()
            .next()
        {
            return Some(message);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}

#[tokio::test]
async fn expired_visibility_redelivers_with_new_handle_and_count() {
    let server = TestServer::start();
    let client = server.client();
    let url = create_queue(&client, "redelivery", &[]).await;
    let message_id = send(&client, &url, "again and again").await;

    let first = receive(&client, &url, 1, Some(1))
        .await
        .pop()
        .expect("first delivery");
    assert_eq!(first.message_id(), Some(message_id.as_str()));
    assert_eq!(receive_count(&first), 1);
    assert!(
        receive(&client, &url, 10, None).await.is_empty(),
        "hidden while in flight"
    );
    assert_eq!(counters(&client, &url).await, (0, 1, 0));

    let second = receive_within(&client, &url, 30, Duration::from_secs(6))
        .await
        .expect("re-delivered after 1 s");
    assert_eq!(second.message_id(), Some(message_id.as_str()));
    assert_eq!(second.body(), Some("again and again"));
    assert_eq!(receive_count(&second), 2);
    assert_ne!(
        second.receipt_handle(),
        first.receipt_handle(),
        "every receive gets a new handle"
    );

    // AWS: deleting with the handle of an earlier receive succeeds but deletes nothing.
    client
        .delete_message()
        .queue_url(&url)
        .receipt_handle(first.receipt_handle().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(
        counters(&client, &url).await,
        (0, 1, 0),
        "the stale handle deleted the message"
    );
    client
        .change_message_visibility()
        .queue_url(&url)
        .receipt_handle(second.receipt_handle().unwrap())
        .visibility_timeout(0)
        .send()
        .await
        .unwrap();
    let third = receive(&client, &url, 1, Some(30))
        .await
        .pop()
        .expect("still there after the stale delete");
    assert_eq!(third.message_id(), Some(message_id.as_str()));
    assert_eq!(receive_count(&third), 3);

    client
        .delete_message()
        .queue_url(&url)
        .receipt_handle(third.receipt_handle().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(counters(&client, &url).await, (0, 0, 0));
}

#[tokio::test]
async fn queue_default_visibility_timeout_applies_when_receive_names_none() {
    let server = TestServer::start();
    let client = server.client();
    let url = create_queue(
        &client,
        "default-visibility",
        &[(QueueAttributeName::VisibilityTimeout, "1")],
    )
    .await;
    send(&client, &url, "short lease").await;

    let first = receive(&client, &url, 1, None)
        .await
        .pop()
        .expect("delivered");
    let received_at = Instant::now();
    assert!(
        receive(&client, &url, 1, None).await.is_empty(),
        "hidden by the queue's 1 s timeout"
    );
    let second = receive_within(&client, &url, 30, Duration::from_secs(6))
        .await
        .expect("visible again");
    assert!(
        received_at.elapsed() >= Duration::from_millis(900),
        "re-delivered before the timeout"
    );
    assert_eq!(second.message_id(), first.message_id());
    assert_eq!(receive_count(&second), 2);
}

#[tokio::test]
async fn visibility_timeout_zero_on_receive_leaves_message_visible() {
    let server = TestServer::start();
    let client = server.client();
    let url = create_queue(&client, "peek", &[]).await;
    send(&client, &url, "peeked").await;
    let first = receive(&client, &url, 1, Some(0))
        .await
        .pop()
        .expect("delivered");
    let second = receive(&client, &url, 1, Some(0))
        .await
        .pop()
        .expect("still visible");
    assert_eq!(first.message_id(), second.message_id());
    assert_ne!(first.receipt_handle(), second.receipt_handle());
}

#[tokio::test]
async fn change_message_visibility_extends_and_releases() {
    let server = TestServer::start();
    let client = server.client();
    let url = create_queue(&client, "lease", &[]).await;
    send(&client, &url, "leased").await;

    let message = receive(&client, &url, 1, Some(1))
        .await
        .pop()
        .expect("delivered");
    let handle = message.receipt_handle().unwrap();
    client
        .change_message_visibility()
        .queue_url(&url)
        .receipt_handle(handle)
        .visibility_timeout(30)
        .send()
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(2000)).await;
    assert!(
        receive(&client, &url, 1, None).await.is_empty(),
        "the extension was ignored"
    );
    assert_eq!(counters(&client, &url).await, (0, 1, 0));

    client
        .change_message_visibility()
        .queue_url(&url)
        .receipt_handle(handle)
        .visibility_timeout(0)
        .send()
        .await
        .unwrap();
    let again = receive(&client, &url, 1, None)
        .await
        .pop()
        .expect("visible right after release");
    assert_eq!(again.message_id(), message.message_id());
}

#[tokio::test]
async fn long_poll_returns_as_soon_as_a_message_is_sent() {
    let server = TestServer::start();
    let client = server.client();
    let url = create_queue(&client, "long-poll", &[]).await;

    let poller = {
        let (client, url) = (client.clone(), url.clone());
        tokio::spawn(async move {
            let started = Instant::now();
            let output = client
                .receive_message()
                .queue_url(url)
                .wait_time_seconds(10)
                .send()
                .await
                .unwrap();
            (output, started.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let message_id = send(&client, &url, "wake up").await;

    let (output, elapsed) = poller.await.unwrap();
    assert_eq!(
        output.messages().len(),
        1,
        "the long poll returned no message: {output:?}"
    );
    assert_eq!(output.messages()[0].message_id(), Some(message_id.as_str()));
    assert_eq!(output.messages()[0].body(), Some("wake up"));
    assert!(
        elapsed < Duration::from_secs(9),
        "returned only when the wait ran out ({elapsed:?})"
    );
}

#[tokio::test]
async fn queue_receive_wait_time_makes_receives_long_polls() {
    let server = TestServer::start();
    let client = server.client();
    let url = create_queue(
        &client,
        "queue-long-poll",
        &[(QueueAttributeName::ReceiveMessageWaitTimeSeconds, "10")],
    )
    .await;

    let poller = {
        let (client, url) = (client.clone(), url.clone());
        tokio::spawn(async move {
            let started = Instant::now();
            // No WaitTimeSeconds: the queue's ReceiveMessageWaitTimeSeconds applies.
            let output = client
                .receive_message()
                .queue_url(url)
                .send()
                .await
                .unwrap();
            (output, started.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    send(&client, &url, "queue default wait").await;
    let (output, elapsed) = poller.await.unwrap();
    assert_eq!(
        output.messages().len(),
        1,
        "the queue's wait time was not applied: {output:?}"
    );
    assert!(
        elapsed < Duration::from_secs(9),
        "returned only when the wait ran out ({elapsed:?})"
    );

    // WaitTimeSeconds=0 on the request overrides the queue: a short poll returns at once, empty.
    let started = Instant::now();
    let output = client
        .receive_message()
        .queue_url(&url)
        .wait_time_seconds(0)
        .send()
        .await
        .unwrap();
    assert!(output.messages().is_empty());
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "WaitTimeSeconds=0 still long-polled"
    );
}

#[tokio::test]
async fn empty_long_poll_waits_then_returns_nothing() {
    let server = TestServer::start();
    let client = server.client();
    let url = create_queue(&client, "quiet", &[]).await;
    let started = Instant::now();
    let output = client
        .receive_message()
        .queue_url(&url)
        .wait_time_seconds(2)
        .send()
        .await
        .unwrap();
    let elapsed = started.elapsed();
    assert!(output.messages().is_empty(), "{output:?}");
    assert!(
        elapsed >= Duration::from_millis(1800),
        "a 2 s long poll returned after {elapsed:?}"
    );
}

#[tokio::test]
async fn long_poll_wakes_when_a_hidden_message_becomes_visible_again() {
    let server = TestServer::start();
    let client = server.client();
    let url = create_queue(&client, "wake-on-expiry", &[]).await;
    send(&client, &url, "comes back").await;
    receive(&client, &url, 1, Some(1))
        .await
        .pop()
        .expect("delivered");

    let started = Instant::now();
    let output = client
        .receive_message()
        .queue_url(&url)
        .wait_time_seconds(10)
        .send()
        .await
        .unwrap();
    assert_eq!(
        output.messages().len(),
        1,
        "the long poll missed the re-visible message: {output:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(9),
        "woke only when the wait ran out"
    );
}

#[tokio::test]
async fn queue_delay_hides_new_messages_until_it_passes() {
    let server = TestServer::start();
    let client = server.client();
    let url = create_queue(
        &client,
        "queue-delay",
        &[(QueueAttributeName::DelaySeconds, "2")],
    )
    .await;
    let sent_at = Instant::now();
    send(&client, &url, "later").await;

    assert!(
        receive(&client, &url, 1, None).await.is_empty(),
        "delayed message delivered at once"
    );
    assert_eq!(counters(&client, &url).await, (0, 0, 1));
    let output = client
        .receive_message()
        .queue_url(&url)
        .wait_time_seconds(8)
        .send()
        .await
        .unwrap();
    assert_eq!(
        output.messages().len(),
        1,
        "never delivered after its delay: {output:?}"
    );
    assert!(
        sent_at.elapsed() >= Duration::from_millis(1800),
        "delivered before the 2 s delay"
    );
    assert_eq!(counters(&client, &url).await, (0, 1, 0));
}

#[tokio::test]
async fn message_delay_overrides_the_queue_delay() {
    let server = TestServer::start();
    let client = server.client();

    let plain = create_queue(&client, "message-delay", &[]).await;
    let sent_at = Instant::now();
    client
        .send_message()
        .queue_url(&plain)
        .message_body("in 2 s")
        .delay_seconds(2)
        .send()
        .await
        .unwrap();
    send(&client, &plain, "now").await;
    let now = receive(&client, &plain, 10, Some(60)).await;
    assert_eq!(
        now.iter().filter_map(Message::body).collect::<Vec<_>>(),
        ["now"]
    );
    assert_eq!(counters(&client, &plain).await, (0, 1, 1));
    let later = receive_within(&client, &plain, 60, Duration::from_secs(6))
        .await
        .expect("delivered after 2 s");
    assert_eq!(later.body(), Some("in 2 s"));
    assert!(
        sent_at.elapsed() >= Duration::from_millis(1800),
        "delivered before its delay"
    );

    // An explicit DelaySeconds=0 beats the queue's delay.
    let slow = create_queue(
        &client,
        "slow-queue",
        &[(QueueAttributeName::DelaySeconds, "60")],
    )
    .await;
    client
        .send_message()
        .queue_url(&slow)
        .message_body("express")
        .delay_seconds(0)
        .send()
        .await
        .unwrap();
    send(&client, &slow, "queue default").await;
    let delivered = receive(&client, &slow, 10, None).await;
    assert_eq!(
        delivered
            .iter()
            .filter_map(Message::body)
            .collect::<Vec<_>>(),
        ["express"]
    );
    assert_eq!(counters(&client, &slow).await, (0, 1, 1));
}

/// The one slow test: MessageRetentionPeriod has a 60 s minimum.
#[tokio::test]
async fn messages_expire_after_the_retention_period() {
    let server = TestServer::start();
    let client = server.client();
    let url = create_queue(
        &client,
        "short-lived",
        &[(QueueAttributeName::MessageRetentionPeriod, "60")],
    )
    .await;
    let sent_at = Instant::now();
    send(&client, &url, "expires").await;
    let kept = create_queue(&client, "long-lived", &[]).await;
    send(&client, &kept, "stays").await;
    assert_eq!(
        receive(&client, &url, 1, Some(0)).await.len(),
        1,
        "present before it expires"
    );

    tokio::time::sleep(Duration::from_secs(50)).await;
    assert_eq!(
        counters(&client, &url).await.0,
        1,
        "expired before its retention period"
    );

    let deadline = sent_at + Duration::from_secs(66);
    let mut gone = false;
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(500)).await;
        if sent_at.elapsed() > Duration::from_secs(61)
            && receive(&client, &url, 10, Some(0)).await.is_empty()
        {
            gone = true;
            break;
        }
    }
    assert!(
        gone,
        "a message outlived MessageRetentionPeriod=60 by more than 5 s"
    );
    assert_eq!(counters(&client, &url).await, (0, 0, 0));
    assert_eq!(
        counters(&client, &kept).await,
        (1, 0, 0),
        "another queue's message expired"
    );
}
