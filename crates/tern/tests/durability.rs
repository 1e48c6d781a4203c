//! Durability: state survives a clean restart (SIGTERM) and a crash (SIGKILL). The crash test
//! kills the server in the middle of concurrent sends and deletes and then checks, against what
//! the clients saw acknowledged, that nothing acknowledged was lost and nothing acknowledged as
//! deleted came back.

mod common;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::{
    DeleteMessageBatchRequestEntry, Message, MessageAttributeValue, MessageSystemAttributeName,
    QueueAttributeName, SendMessageBatchRequestEntry,
};
use common::*;

async fn tags(client: &Client, url: &str) -> HashMap<String, String> {
    client
        .list_queue_tags()
        .queue_url(url)
        .send()
        .await
        .unwrap()
        .tags()
        .cloned()
        .unwrap_or_default()
}

async fn queue_names(client: &Client) -> HashSet<String> {
    client
        .list_queues()
        .send()
        .await
        .unwrap()
        .queue_urls()
        .iter()
        .map(|url| url.rsplit('/').next().unwrap().to_owned())
        .collect()
}

/// Receives until `count` messages are in hand or `limit` passes, hiding each for 5 minutes.
async fn receive_until(client: &Client, url: &str, count: usize, limit: Duration) -> Vec<Message> {
    let deadline = Instant::now() + limit;
    let mut messages: Vec<Message> = Vec::new();
    while messages.len() < count && Instant::now() < deadline {
        let output = client
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .visibility_timeout(300)
            .wait_time_seconds(1)
            .message_attribute_names("All")
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await
            .unwrap();
        messages.extend(output.messages().iter().cloned());
    }
    messages
}

fn system_attribute(message: &Message, name: MessageSystemAttributeName) -> String {
    message
        .attributes()
        .and_then(|attributes| attributes.get(&name))
        .cloned()
        .unwrap_or_default()
}

#[tokio::test]
async fn clean_restart_keeps_queues_attributes_tags_and_messages() {
    let mut server = TestServer::start();
    let client = server.client();
    let url = client
        .create_queue()
        .queue_name("durable")
        .attributes(QueueAttributeName::VisibilityTimeout, "7")
        .attributes(QueueAttributeName::MessageRetentionPeriod, "3600")
        .attributes(QueueAttributeName::MaximumMessageSize, "4096")
        .tags("team", "storage")
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_owned();
    client
        .set_queue_attributes()
        .queue_url(&url)
        .attributes(QueueAttributeName::DelaySeconds, "0")
        .send()
        .await
        .unwrap();
    client
        .tag_queue()
        .queue_url(&url)
        .tags("tier", "gold")
        .send()
        .await
        .unwrap();
    let doomed = create_queue(&client, "doomed", &[]).await;
    client
        .delete_queue()
        .queue_url(&doomed)
        .send()
        .await
        .unwrap();

    let attributes: HashMap<String, MessageAttributeValue> = HashMap::from([
        ("text".to_owned(), string_attribute("String", "kept")),
        ("bytes".to_owned(), binary_attribute("Binary", &[9, 8, 7])),
    ]);
    let mut sent: HashMap<String, String> = HashMap::new(); // body -> message id
    for index in 0..6 {
        let body = format!("message {index}");
        let output = client
            .send_message()
            .queue_url(&url)
            .message_body(&body)
            .set_message_attributes(Some(attributes.clone()))
            .send()
            .await
            .unwrap();
        sent.insert(body, output.message_id().unwrap().to_owned());
    }
    // Delete two, leave one received (in flight for 1 s), leave the rest untouched.
    let mut received = Vec::new();
    for _ in 0..10 {
        let wanted = 3 - received.len() as i32;
        received.extend(receive(&client, &url, wanted, Some(300)).await);
        if received.len() == 3 {
            break;
        }
    }
    assert_eq!(received.len(), 3);
    let mut deleted = HashSet::new();
    for message in &received[..2] {
        client
            .delete_message()
            .queue_url(&url)
            .receipt_handle(message.receipt_handle().unwrap())
            .send()
            .await
            .unwrap();
        deleted.insert(message.body().unwrap().to_owned());
    }
    client
        .change_message_visibility()
        .queue_url(&url)
        .receipt_handle(received[2].receipt_handle().unwrap())
        .visibility_timeout(1)
        .send()
        .await
        .unwrap();
    let received_once = received[2].body().unwrap().to_owned();
    let attributes_before = queue_attributes(&client, &url).await;
    let sent_timestamps: HashMap<String, String> = received
        .iter()
        .map(|m| {
            (
                m.body().unwrap().to_owned(),
                system_attribute(m, MessageSystemAttributeName::SentTimestamp),
            )
        })
        .collect();

    server.restart();
    let client = server.client();
    tokio::time::sleep(Duration::from_millis(1200)).await; // the in-flight lease lapses

    assert_eq!(
        queue_names(&client).await,
        HashSet::from(["durable".to_owned()])
    );
    let url_after = client
        .get_queue_url()
        .queue_name("durable")
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_owned();
    assert_eq!(url_after, url);
    let mut attributes_after = queue_attributes(&client, &url).await;
    let mut attributes_before = attributes_before;
    for counter in [
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
    ] {
        attributes_before.remove(counter);
        attributes_after.remove(counter);
    }
    assert_eq!(
        attributes_after, attributes_before,
        "queue attributes changed across a restart"
    );
    assert_eq!(
        tags(&client, &url).await,
        HashMap::from([
            ("team".to_owned(), "storage".to_owned()),
            ("tier".to_owned(), "gold".to_owned())
        ])
    );

    let remaining = receive_until(&client, &url, 4, Duration::from_secs(10)).await;
    let bodies: HashSet<String> = remaining
        .iter()
        .map(|m| m.body().unwrap().to_owned())
        .collect();
    let expected: HashSet<String> = sent
        .keys()
        .filter(|body| !deleted.contains(*body))
        .cloned()
        .collect();
    assert_eq!(bodies, expected, "deleted: {deleted:?}");
    for message in &remaining {
        let body = message.body().unwrap();
        assert_eq!(
            message.message_id(),
            Some(sent[body].as_str()),
            "MessageId changed for {body}"
        );
        assert_eq!(
            message.md5_of_body(),
            Some(md5_hex(body.as_bytes()).as_str())
        );
        assert_eq!(
            message.message_attributes(),
            Some(&attributes),
            "attributes of {body}"
        );
        assert_eq!(
            message.md5_of_message_attributes(),
            Some(md5_of_attributes(&attributes).as_str())
        );
        let count = system_attribute(message, MessageSystemAttributeName::ApproximateReceiveCount);
        let expected_count = if body == received_once { "2" } else { "1" };
        assert_eq!(
            count, expected_count,
            "ApproximateReceiveCount of {body} across a restart"
        );
        if let Some(timestamp) = sent_timestamps.get(body) {
            assert_eq!(
                &system_attribute(message, MessageSystemAttributeName::SentTimestamp),
                timestamp
            );
        }
    }
    assert!(
        receive(&client, &url, 10, None).await.is_empty(),
        "a deleted message came back"
    );
}

#[tokio::test]
async fn acknowledged_queue_changes_survive_kill_9() {
    let mut server = TestServer::start();
    let client = server.client();
    let url = create_queue(
        &client,
        "metadata",
        &[(QueueAttributeName::VisibilityTimeout, "11")],
    )
    .await;
    client
        .set_queue_attributes()
        .queue_url(&url)
        .attributes(QueueAttributeName::DelaySeconds, "1")
        .attributes(QueueAttributeName::ReceiveMessageWaitTimeSeconds, "2")
        .send()
        .await
        .unwrap();
    client
        .tag_queue()
        .queue_url(&url)
        .tags("owner", "ops")
        .send()
        .await
        .unwrap();
    let gone = create_queue(&client, "gone", &[]).await;
    client.delete_queue().queue_url(&gone).send().await.unwrap();
    let purged = create_queue(&client, "purged", &[]).await;
    send(&client, &purged, "purged away").await;
    client
        .purge_queue()
        .queue_url(&purged)
        .send()
        .await
        .unwrap();

    server.kill9();
    let client = server.client();

    assert_eq!(
        queue_names(&client).await,
        HashSet::from(["metadata".to_owned(), "purged".to_owned()])
    );
    let url = client
        .get_queue_url()
        .queue_name("metadata")
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_owned();
    assert_eq!(
        url,
        server.queue_url("metadata"),
        "the URL names the new port"
    );
    let attributes = queue_attributes(&client, &url).await;
    for (name, value) in [
        ("VisibilityTimeout", "11"),
        ("DelaySeconds", "1"),
        ("ReceiveMessageWaitTimeSeconds", "2"),
    ] {
        assert_eq!(
            attributes.get(name).map(String::as_str),
            Some(value),
            "{name} after kill -9"
        );
    }
    assert_eq!(
        tags(&client, &url).await,
        HashMap::from([("owner".to_owned(), "ops".to_owned())])
    );
    let purged = server.queue_url("purged");
    assert_eq!(
        counters(&client, &purged).await,
        (0, 0, 0),
        "a purged message came back"
    );
}

/// A receive is answered once its lease is written, before the fsync (decision 0007): killing
/// the process does not undo it, so the messages stay in flight, counted once, and the receipts
/// handed out before the crash still delete them.
#[tokio::test]
async fn a_receive_survives_kill_9() {
    let mut server = TestServer::start();
    let client = server.client();
    let url = create_queue(&client, "leases", &[]).await;
    for body in ["one", "two", "three"] {
        send(&client, &url, body).await;
    }
    let received = receive(&client, &url, 10, Some(300)).await;
    assert_eq!(received.len(), 3);

    server.kill9();
    let client = server.client();

    assert_eq!(counters(&client, &url).await, (0, 3, 0), "still in flight");
    assert!(receive(&client, &url, 10, None).await.is_empty());
    for message in &received {
        client
            .delete_message()
            .queue_url(&url)
            .receipt_handle(message.receipt_handle().unwrap_or_default())
            .send()
            .await
            .unwrap_or_else(|error| panic!("DeleteMessage after kill -9: {error:?}"));
    }
    assert_eq!(
        counters(&client, &url).await,
        (0, 0, 0),
        "deleted by receipts from before the crash"
    );
}

/// What the load's clients saw acknowledged. A body is a message's identity.
#[derive(Default)]
struct Ledger {
    send_attempted: HashSet<String>,
    send_acknowledged: HashMap<String, String>, // body -> MessageId
    delete_attempted: HashSet<String>,
    delete_acknowledged: HashSet<String>,
}

const SENDERS: usize = 3;
const SENDS_PER_TASK_MAX: usize = 3000;
const LOAD_TIME_MAX: Duration = Duration::from_secs(4);
const DELETER_VISIBILITY_TIMEOUT_S: i32 = 6;

async fn single_sender(
    client: Client,
    url: String,
    task: usize,
    ledger: Arc<Mutex<Ledger>>,
    stop: Arc<AtomicBool>,
) {
    for index in 0..SENDS_PER_TASK_MAX {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let body = format!("single-{task}-{index}");
        ledger.lock().unwrap().send_attempted.insert(body.clone());
        match client
            .send_message()
            .queue_url(&url)
            .message_body(&body)
            .send()
            .await
        {
            Ok(output) => {
                let id = output.message_id().unwrap_or_default().to_owned();
                ledger.lock().unwrap().send_acknowledged.insert(body, id);
            }
            Err(_) => return, // the server is gone
        }
    }
}

async fn batch_sender(
    client: Client,
    url: String,
    ledger: Arc<Mutex<Ledger>>,
    stop: Arc<AtomicBool>,
) {
    for batch in 0..SENDS_PER_TASK_MAX / 10 {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let bodies: Vec<String> = (0..10)
            .map(|index| format!("batch-{batch}-{index}"))
            .collect();
        ledger
            .lock()
            .unwrap()
            .send_attempted
            .extend(bodies.iter().cloned());
        let entries: Vec<SendMessageBatchRequestEntry> = bodies
            .iter()
            .enumerate()
            .map(|(index, body)| {
                SendMessageBatchRequestEntry::builder()
                    .id(format!("e{index}"))
                    .message_body(body)
                    .build()
                    .unwrap()
            })
            .collect();
        match client
            .send_message_batch()
            .queue_url(&url)
            .set_entries(Some(entries))
            .send()
            .await
        {
            Ok(output) => {
                let mut ledger = ledger.lock().unwrap();
                for success in output.successful() {
                    let index: usize = success.id()[1..].parse().unwrap();
                    ledger
                        .send_acknowledged
                        .insert(bodies[index].clone(), success.message_id().to_owned());
                }
            }
            Err(_) => return,
        }
    }
}

async fn deleter(
    client: Client,
    url: String,
    batched: bool,
    ledger: Arc<Mutex<Ledger>>,
    stop: Arc<AtomicBool>,
) {
    for _ in 0..SENDS_PER_TASK_MAX {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let received = client
            .receive_message()
            .queue_url(&url)
            .max_number_of_messages(10)
            .visibility_timeout(DELETER_VISIBILITY_TIMEOUT_S)
            .send()
            .await;
        let Ok(output) = received else { return };
        if output.messages().is_empty() {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        }
        let messages: Vec<(String, String)> = output
            .messages()
            .iter()
            .map(|m| {
                (
                    m.body().unwrap_or_default().to_owned(),
                    m.receipt_handle().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        ledger
            .lock()
            .unwrap()
            .delete_attempted
            .extend(messages.iter().map(|(body, _)| body.clone()));
        if batched {
            let entries: Vec<DeleteMessageBatchRequestEntry> = messages
                .iter()
                .enumerate()
                .map(|(index, (_, handle))| {
                    DeleteMessageBatchRequestEntry::builder()
                        .id(format!("d{index}"))
                        .receipt_handle(handle)
                        .build()
                        .unwrap()
                })
                .collect();
            match client
                .delete_message_batch()
                .queue_url(&url)
                .set_entries(Some(entries))
                .send()
                .await
            {
                Ok(output) => {
                    let mut ledger = ledger.lock().unwrap();
                    for success in output.successful() {
                        let index: usize = success.id()[1..].parse().unwrap();
                        ledger.delete_acknowledged.insert(messages[index].0.clone());
                    }
                }
                Err(_) => return,
            }
        } else {
            for (body, handle) in messages {
                match client
                    .delete_message()
                    .queue_url(&url)
                    .receipt_handle(handle)
                    .send()
                    .await
                {
                    Ok(_) => {
                        ledger.lock().unwrap().delete_acknowledged.insert(body);
                    }
                    Err(_) => return,
                }
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_under_concurrent_load_loses_nothing_acknowledged() {
    let mut server = TestServer::start();
    let client = server.client();
    let url = create_queue(&client, "load", &[]).await;
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let stop = Arc::new(AtomicBool::new(false));

    let mut tasks = Vec::new();
    for task in 0..SENDERS {
        tasks.push(tokio::spawn(single_sender(
            client.clone(),
            url.clone(),
            task,
            ledger.clone(),
            stop.clone(),
        )));
    }
    tasks.push(tokio::spawn(batch_sender(
        client.clone(),
        url.clone(),
        ledger.clone(),
        stop.clone(),
    )));
    tasks.push(tokio::spawn(deleter(
        client.clone(),
        url.clone(),
        false,
        ledger.clone(),
        stop.clone(),
    )));
    tasks.push(tokio::spawn(deleter(
        client.clone(),
        url.clone(),
        true,
        ledger.clone(),
        stop.clone(),
    )));

    // Let the load build up (bounded), then crash the server under it.
    let load_started = Instant::now();
    while load_started.elapsed() < LOAD_TIME_MAX {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let ledger = ledger.lock().unwrap();
        if ledger.send_acknowledged.len() >= 400 && ledger.delete_acknowledged.len() >= 100 {
            break;
        }
    }
    server.kill9();
    let restarted_at = Instant::now();
    stop.store(true, Ordering::SeqCst);
    for task in tasks {
        tokio::time::timeout(Duration::from_secs(60), task)
            .await
            .expect("load task ended")
            .unwrap();
    }

    // Drain everything, waiting out the deleters' leases.
    let client = server.client();
    let lookup = client.get_queue_url().queue_name("load").send().await;
    assert!(
        lookup.is_ok(),
        "the queue itself was lost in the crash: {lookup:?}"
    );
    let url = server.queue_url("load");
    let mut drained: HashMap<String, String> = HashMap::new(); // body -> MessageId
    let mut empty_in_a_row = 0;
    for _ in 0..200 {
        let output = client
            .receive_message()
            .queue_url(&url)
            .max_number_of_messages(10)
            .visibility_timeout(600)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        if output.messages().is_empty() {
            empty_in_a_row += 1;
            let leases_over = restarted_at.elapsed()
                > Duration::from_secs(DELETER_VISIBILITY_TIMEOUT_S as u64 + 1);
            if empty_in_a_row >= 3 && leases_over {
                break;
            }
            continue;
        }
        empty_in_a_row = 0;
        for message in output.messages() {
            drained.insert(
                message.body().unwrap_or_default().to_owned(),
                message.message_id().unwrap_or_default().to_owned(),
            );
        }
    }
    assert!(
        empty_in_a_row >= 3,
        "the queue did not drain within the loop bound"
    );

    let ledger = ledger.lock().unwrap();
    assert!(
        ledger.send_acknowledged.len() >= 20 && !ledger.delete_acknowledged.is_empty(),
        "too little load to mean anything: {} sends, {} deletes acknowledged",
        ledger.send_acknowledged.len(),
        ledger.delete_acknowledged.len()
    );
    let mut lost: Vec<&String> = ledger
        .send_acknowledged
        .keys()
        .filter(|body| !ledger.delete_attempted.contains(*body) && !drained.contains_key(*body))
        .collect();
    lost.sort();
    assert!(
        lost.is_empty(),
        "{} acknowledged, undeleted messages were lost (of {} acknowledged), e.g. {:?}",
        lost.len(),
        ledger.send_acknowledged.len(),
        &lost[..lost.len().min(10)]
    );
    let mut resurrected: Vec<&String> = ledger
        .delete_acknowledged
        .iter()
        .filter(|body| drained.contains_key(*body))
        .collect();
    resurrected.sort();
    assert!(
        resurrected.is_empty(),
        "{} messages acknowledged as deleted came back (of {}), e.g. {:?}",
        resurrected.len(),
        ledger.delete_acknowledged.len(),
        &resurrected[..resurrected.len().min(10)]
    );
    let phantoms: Vec<&String> = drained
        .keys()
        .filter(|body| !ledger.send_attempted.contains(*body))
        .collect();
    assert!(phantoms.is_empty(), "messages nobody sent: {phantoms:?}");
    for (body, id) in &drained {
        if let Some(acknowledged_id) = ledger.send_acknowledged.get(body) {
            assert_eq!(
                id, acknowledged_id,
                "MessageId of {body} changed across the crash"
            );
        }
    }
    eprintln!(
        "kill -9 load: {} sends attempted, {} acknowledged; {} deletes acknowledged; {} drained after restart",
        ledger.send_attempted.len(),
        ledger.send_acknowledged.len(),
        ledger.delete_acknowledged.len(),
        drained.len()
    );
}
