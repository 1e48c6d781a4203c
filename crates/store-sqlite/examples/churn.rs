//! Durable queue churn through the `Store` trait: each message is sent, received and deleted, and
//! every one of those is a durable (fsync'd, group-committed) write. Reports messages per second
//! and write amplification (bytes the process wrote to disk ÷ message payload bytes).
//!
//! `cargo run --release -p tern-store-sqlite --example churn -- [WORKERS] [MESSAGES_PER_WORKER] [BATCH]`

use std::sync::Arc;
use std::time::Instant;

use tern_store::*;
use tern_store_sqlite::SqliteStore;

const BODY_BYTES: usize = 512;

fn disk_bytes_written() -> u64 {
    std::fs::read_to_string("/proc/self/io")
        .ok()
        .and_then(|io| {
            io.lines()
                .find_map(|line| line.strip_prefix("write_bytes: ")?.trim().parse().ok())
        })
        .unwrap_or(0)
}

#[tokio::main]
async fn main() {
    let arguments: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|argument| argument.parse().ok())
        .collect();
    let workers = arguments.first().copied().unwrap_or(32);
    let per_worker = arguments.get(1).copied().unwrap_or(2_000);
    let batch = arguments.get(2).copied().unwrap_or(1).max(1);

    let directory = tempfile::tempdir().expect("temporary directory");
    let store = Arc::new(SqliteStore::open(directory.path()).expect("open store"));
    let CreateQueueOutcome::Created(queue) = store
        .create_queue(NewQueue {
            name: "churn".into(),
            attributes: Default::default(),
            tags: Default::default(),
            now: 0,
        })
        .await
        .expect("create queue")
    else {
        panic!("fresh store already had the queue");
    };

    let written_before = disk_bytes_written();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..workers {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let body = "x".repeat(BODY_BYTES);
            let mut done = 0;
            while done < per_worker {
                let messages = (0..batch)
                    .map(|index| NewMessage {
                        message_id: format!("{worker}-{done}-{index}"),
                        body: body.clone(),
                        attributes: Default::default(),
                        md5_of_body: String::new(),
                        md5_of_attributes: None,
                        sender_id: "bench".into(),
                        sent_at: 0,
                        visible_at: 0,
                        group_id: None,
                        deduplication: None,
                        trace_header: None,
                    })
                    .collect();
                store.send(queue.id, messages).await.expect("send");
                let request = ReceiveRequest {
                    max_messages: batch as u32,
                    now: 1,
                    hidden_until: u64::MAX / 2,
                    retained_since: 0,
                    ..Default::default()
                };
                let received = store
                    .receive(queue.id, request)
                    .await
                    .expect("receive")
                    .messages;
                let receipts = received.iter().map(|message| message.receipt).collect();
                store
                    .delete_messages(queue.id, receipts)
                    .await
                    .expect("delete");
                done += batch;
            }
        }));
    }
    for task in tasks {
        task.await.expect("worker");
    }
    let elapsed = started.elapsed().as_secs_f64();
    store.close().await;
    let messages = workers * per_worker;
    let written = disk_bytes_written().saturating_sub(written_before);
    println!(
        "{{\"engine\":\"sqlite-wal-full\",\"workers\":{workers},\"batch\":{batch},\"messages\":{messages},\"seconds\":{elapsed:.2},\"messages_per_second\":{:.0},\"write_amplification\":{:.1}}}",
        messages as f64 / elapsed,
        written as f64 / (messages as f64 * BODY_BYTES as f64),
    );
}
