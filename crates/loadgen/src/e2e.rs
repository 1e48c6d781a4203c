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

use crate::client::RETRY_PAUSE;
use crate::config::{CONSUMERS_MAX, DRAIN_S_MAX, PRODUCERS_MAX, WAIT_TIME_S_MAX, check_count};
use crate::payload::Stamp;
use crate::peers::{Consumer, RECEIVE_MAX, Target};
use crate::run::{Run, log_error, unix_now_ns};
use crate::send::{round_ms, start_producers};
use crate::stats::{Bitset, Counts, Latency, Receipt, Report, Tracker, rate};

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

/// Receives, records and acknowledges until `stop` is set.
pub async fn consume<C: Consumer>(
    mut consumer: C,
    tracker: Arc<Mutex<Tracker>>,
    stop: Arc<AtomicBool>,
) -> Consumed {
    let mut stamps: Vec<Option<Stamp>> = Vec::with_capacity(RECEIVE_MAX);
    let mut consumed = Consumed {
        counts: Counts::default(),
        latency: Latency::new(),
    };
    while !stop.load(Ordering::Relaxed) {
        stamps.clear();
        if let Err(error) = consumer.receive(&mut stamps).await {
            log_error(format_args!("{error:#}"));
            consumed.counts.receive_errors += 1;
            tokio::time::sleep(RETRY_PAUSE).await;
            continue;
        }
        if stamps.is_empty() {
            continue;
        }
        let received_unix_ns = unix_now_ns();
        // Recorded before they are acknowledged: a FIFO group stays locked until then, so the
        // tracker sees the order the target handed messages out in.
        record(
            &tracker,
            &stamps,
            Instant::now(),
            received_unix_ns,
            &mut consumed.latency,
        );
        consumed.counts.delete_errors += consumer.ack().await;
    }
    consumed.counts.delete_errors += consumer.settle().await;
    consumed
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

/// `loadgen e2e`.
pub async fn run_e2e<T: Target>(target: &T, run: Arc<Run>, options: E2eOptions) -> Result<Report> {
    options.check()?;
    let mut opened = Vec::with_capacity(options.consumers);
    for index in 0..options.consumers {
        opened.push(target.consumer(index as u32, options.wait_time_s).await?);
    }
    let tracker = Arc::new(Mutex::new(Tracker::new(
        run.run_id,
        options.producers,
        run.groups,
    )));
    let stop = Arc::new(AtomicBool::new(false));
    let consumers: Vec<_> = opened
        .into_iter()
        .map(|consumer| tokio::spawn(consume(consumer, tracker.clone(), stop.clone())))
        .collect();
    let (start, producers) = start_producers(target, &run, options.producers).await?;

    let mut counts = Counts::default();
    let mut acked = Vec::with_capacity(options.producers);
    let mut behind = Duration::ZERO;
    for producer in producers {
        let produced = producer.await?;
        counts += produced.counts;
        acked.push(produced.acked);
        behind = behind.max(produced.behind);
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
    let duration_s = (sending_ended - start.at).as_secs_f64();
    let receiving_s = tracker.last_first_receipt.map_or(0.0, |at| {
        at.saturating_duration_since(start.at).as_secs_f64()
    });
    let latency = latency.summary();
    Ok(Report {
        mode: "e2e",
        connections: options.producers
            + options.consumers * run.settings.connections_per_consumer(),
        producers: Some(options.producers),
        consumers: Some(options.consumers),
        duration_s: round_ms(duration_s),
        sent: counts.sent,
        msgs_per_s: rate(counts.sent, duration_s),
        send_errors: counts.send_errors,
        behind_ms: run
            .settings
            .rate
            .map(|_| round_ms(behind.as_secs_f64() * 1000.0)),
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
        ..Report::for_run(&run, target.queue())
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
