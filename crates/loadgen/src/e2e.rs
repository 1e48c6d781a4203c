//! Consumers, and the `e2e` mode: producers send while consumers receive, check and delete.
//!
//! The run has three phases: (1) producers send until the time limit or budget; (2) the drain:
//! consumers go on until every acknowledged message has been received or `--drain` seconds have
//! passed; (3) consumers are told to stop and finish their current poll (at most one
//! `WaitTimeSeconds` plus a delete). Whatever was acknowledged and not received by then is lost.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Result;
use bytes::Bytes;

use crate::client::{Connection, RETRY_PAUSE};
use crate::config::{CONSUMERS_MAX, DRAIN_S_MAX, PRODUCERS_MAX, WAIT_TIME_S_MAX, check_count};
use crate::payload::{self, Stamp};
use crate::run::{Run, log_error, unix_now_ns};
use crate::send::{Budget, produce, round_ms};
use crate::stats::{Bitset, Counts, Latency, Receipt, Report, Tracker, rate};
use crate::wire::{self, Action, BatchReply, DeleteBatchWriter, ErrorReply, ReceiveReply};

/// How often the drain checks whether everything has arrived.
const DRAIN_POLL: Duration = Duration::from_millis(10);

pub struct E2eOptions {
    pub producers: usize,
    pub consumers: usize,
    pub drain: Duration,
    pub wait_time_s: u32,
}

impl E2eOptions {
    pub fn check(&self) -> Result<()> {
        check_count("producers", self.producers, PRODUCERS_MAX)?;
        check_count("consumers", self.consumers, CONSUMERS_MAX)?;
        anyhow::ensure!(
            self.drain <= Duration::from_secs(DRAIN_S_MAX),
            "--drain must be at most {DRAIN_S_MAX} s"
        );
        anyhow::ensure!(
            self.wait_time_s <= WAIT_TIME_S_MAX,
            "--wait-time must be at most {WAIT_TIME_S_MAX} s"
        );
        Ok(())
    }
}

/// What a consumer hands back.
pub struct Consumed {
    pub counts: Counts,
    pub latency: Latency,
}

/// Receives, records and deletes until `stop` is set.
pub async fn consume(
    mut connection: Connection,
    run: Arc<Run>,
    wait_time_s: u32,
    tracker: Arc<Mutex<Tracker>>,
    stop: Arc<AtomicBool>,
) -> Consumed {
    let receive = wire::receive_body(&run.queue_url, wait_time_s);
    let mut deletes = DeleteBatchWriter::new(&run.queue_url);
    let mut stamps: Vec<Option<Stamp>> = Vec::with_capacity(wire::BATCH_ENTRIES_MAX);
    let mut consumed = Consumed {
        counts: Counts::default(),
        latency: Latency::new(),
    };
    while !stop.load(Ordering::Relaxed) {
        let Some(body) = receive_once(&mut connection, receive.clone()).await else {
            consumed.counts.receive_errors += 1;
            tokio::time::sleep(RETRY_PAUSE).await;
            continue;
        };
        let received_unix_ns = unix_now_ns();
        let received_at = Instant::now();
        let reply: ReceiveReply = match serde_json::from_slice(&body) {
            Ok(reply) => reply,
            Err(error) => {
                log_error(format_args!("ReceiveMessage reply: {error}"));
                consumed.counts.receive_errors += 1;
                continue;
            }
        };
        // A server that returns more than asked for still gets every message deleted.
        for chunk in reply.messages.chunks(wire::BATCH_ENTRIES_MAX) {
            stamps.clear();
            deletes.clear();
            for message in chunk {
                stamps.push(payload::decode_header(message.body.as_bytes()));
                deletes.push(&message.receipt_handle);
            }
            record(
                &tracker,
                &stamps,
                received_at,
                received_unix_ns,
                &mut consumed.latency,
            );
            let failed = delete(&mut connection, deletes.body(), chunk.len()).await;
            consumed.counts.delete_errors += failed;
        }
    }
    consumed
}

/// One `ReceiveMessage`; the reply body, or `None` (logged) if it failed.
async fn receive_once(connection: &mut Connection, body: Bytes) -> Option<Bytes> {
    match connection.call(Action::ReceiveMessage, body).await {
        Ok(reply) if reply.status.is_success() => Some(reply.body),
        Ok(reply) => {
            log_error(format_args!(
                "ReceiveMessage: {} {}",
                reply.status,
                ErrorReply::describe(&reply.body)
            ));
            None
        }
        Err(error) => {
            log_error(format_args!("{error:#}"));
            None
        }
    }
}

/// Records a received batch in the shared tracker (one lock per batch) and the first receipts'
/// latencies in the consumer's own histogram.
fn record(
    tracker: &Mutex<Tracker>,
    stamps: &[Option<Stamp>],
    received_at: Instant,
    received_unix_ns: u64,
    latency: &mut Latency,
) {
    let mut tracker = tracker
        .lock()
        .expect("no task panics while holding the tracker");
    for stamp in stamps {
        let receipt = tracker.record(*stamp, received_at);
        if let (Receipt::First | Receipt::FirstOutOfOrder, Some(stamp)) = (receipt, stamp) {
            latency.record(stamp.sent_unix_ns, received_unix_ns);
        }
    }
}

/// Deletes a batch; returns how many entries failed.
async fn delete(connection: &mut Connection, body: Bytes, entries: usize) -> u64 {
    let reply = match connection.call(Action::DeleteMessageBatch, body).await {
        Ok(reply) if reply.status.is_success() => reply,
        Ok(reply) => {
            log_error(format_args!(
                "DeleteMessageBatch: {} {}",
                reply.status,
                ErrorReply::describe(&reply.body)
            ));
            return entries as u64;
        }
        Err(error) => {
            log_error(format_args!("{error:#}"));
            return entries as u64;
        }
    };
    match serde_json::from_slice::<BatchReply>(&reply.body) {
        Ok(reply) => {
            if let Some(failure) = reply.failed.first() {
                log_error(format_args!(
                    "DeleteMessageBatch: {} entries failed, e.g. {}",
                    reply.failed.len(),
                    failure.code
                ));
            }
            reply.failed.len() as u64
        }
        Err(error) => {
            log_error(format_args!("DeleteMessageBatch reply: {error}"));
            entries as u64
        }
    }
}

/// `loadgen e2e`.
pub async fn run_e2e(run: Arc<Run>, options: E2eOptions) -> Result<Report> {
    options.check()?;
    let producer_connections = run.connections(options.producers).await?;
    let consumer_connections = run.connections(options.consumers).await?;
    let tracker = Arc::new(Mutex::new(Tracker::new(run.run_id, options.producers)));
    let stop = Arc::new(AtomicBool::new(false));
    let budget = Arc::new(Budget::new(run.settings.messages));

    let start = Instant::now();
    let deadline = start + run.settings.time_limit;
    let consumers: Vec<_> = consumer_connections
        .into_iter()
        .map(|connection| {
            let consumer = consume(
                connection,
                run.clone(),
                options.wait_time_s,
                tracker.clone(),
                stop.clone(),
            );
            tokio::spawn(consumer)
        })
        .collect();
    let producers: Vec<_> = producer_connections
        .into_iter()
        .zip(0u32..)
        .map(|(connection, producer)| {
            tokio::spawn(produce(
                connection,
                run.clone(),
                producer,
                budget.clone(),
                deadline,
            ))
        })
        .collect();

    let mut counts = Counts::default();
    let mut acked = Vec::with_capacity(options.producers);
    for producer in producers {
        let produced = producer.await?;
        counts += produced.counts;
        acked.push(produced.acked);
    }
    let sending_ended = Instant::now();
    drain(&tracker, &acked, sending_ended + options.drain).await;
    let drain_s = sending_ended.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let mut latency = Latency::new();
    for consumer in consumers {
        let consumed = consumer.await?;
        counts += consumed.counts;
        latency.add(&consumed.latency);
    }

    let tracker = tracker.lock().expect("every consumer has ended");
    let duration_s = (sending_ended - start).as_secs_f64();
    let receiving_s = tracker
        .last_first_receipt
        .map_or(0.0, |at| at.saturating_duration_since(start).as_secs_f64());
    let latency = latency.summary();
    Ok(Report {
        mode: "e2e",
        endpoint: run.endpoint.url.clone(),
        queue: run.queue_name.clone(),
        connections: options.producers + options.consumers,
        producers: Some(options.producers),
        consumers: Some(options.consumers),
        batch: run.settings.batch,
        size: run.settings.size,
        duration_s: round_ms(duration_s),
        sent: counts.sent,
        msgs_per_s: rate(counts.sent, duration_s),
        send_errors: counts.send_errors,
        received: Some(tracker.distinct),
        received_per_s: Some(rate(tracker.distinct, receiving_s)),
        receive_errors: Some(counts.receive_errors),
        delete_errors: Some(counts.delete_errors),
        latency_p50_us: latency.map(|latency| latency.p50_us),
        latency_p99_us: latency.map(|latency| latency.p99_us),
        latency_p999_us: latency.map(|latency| latency.p999_us),
        latency_max_us: latency.map(|latency| latency.max_us),
        lost: Some(tracker.lost(&acked)),
        duplicates: Some(tracker.duplicates),
        out_of_order: Some(tracker.out_of_order),
        foreign: Some(tracker.foreign),
        drain_s: Some(round_ms(drain_s)),
    })
}

/// Waits until every acknowledged message has been received, or until `deadline`.
async fn drain(tracker: &Mutex<Tracker>, acked: &[Bitset], deadline: Instant) {
    let acked_total: u64 = acked.iter().map(Bitset::count).sum();
    loop {
        {
            let tracker = tracker
                .lock()
                .expect("no task panics while holding the tracker");
            // Receiving at least as many distinct messages as were acknowledged is necessary for
            // none to be missing; only then is the exact (costlier) check worth making.
            if tracker.distinct >= acked_total && tracker.lost(acked) == 0 {
                return;
            }
        }
        if Instant::now() >= deadline {
            return;
        }
        tokio::time::sleep(DRAIN_POLL).await;
    }
}
