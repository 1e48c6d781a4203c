//! Producers, the pacing schedule, and the `send` mode built from producers alone.
//!
//! A producer sends batches back to back until the time limit passes or the run's message budget
//! is spent. With `--rate` it is paced instead, open loop: batch `k` of producer `p` is due at a
//! fixed time after the start (see `Schedule`), whatever the replies did. A producer that is
//! behind its schedule sends at once, and its messages carry the *scheduled* time, so a server
//! that stalls is charged for the whole delay (no coordinated omission).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Result;

use crate::client::RETRY_PAUSE;
use crate::config::{CONNECTIONS_MAX, check_count};
use crate::payload::Stamp;
use crate::peers::{Producer, Target};
use crate::run::{Run, unix_now_ns};
use crate::stats::{Bitset, Counts, Report, rate};

/// The run's remaining message allowance, shared by its producers.
pub struct Budget {
    left: AtomicU64,
}

impl Budget {
    pub fn new(messages: u64) -> Self {
        Budget {
            left: AtomicU64::new(messages),
        }
    }

    /// Takes up to `wanted` messages from the budget; 0 once it is spent.
    pub fn claim(&self, wanted: usize) -> usize {
        let wanted = wanted as u64;
        match self
            .left
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                (left > 0).then(|| left - left.min(wanted))
            }) {
            Ok(left) => left.min(wanted) as usize,
            Err(_) => 0,
        }
    }
}

/// When a paced producer's batches are due: `rate` messages per second in total, spread evenly
/// over `producers` producers sending `batch` messages at a time, their turns interleaved.
#[derive(Clone, Copy, Debug)]
pub struct Schedule {
    first_ns: f64,
    interval_ns: f64,
}

impl Schedule {
    pub fn new(rate: f64, batch: usize, producers: usize, producer: usize) -> Schedule {
        let batch_gap_ns = batch as f64 * 1e9 / rate; // between two batches of the whole run
        Schedule {
            first_ns: producer as f64 * batch_gap_ns,
            interval_ns: producers as f64 * batch_gap_ns,
        }
    }

    /// When batch `index` is due, after the run's start.
    pub fn due(&self, index: u64) -> Duration {
        Duration::from_nanos((self.first_ns + index as f64 * self.interval_ns).round() as u64)
    }
}

/// The moment a run's sending starts, on both clocks (paced messages carry scheduled times).
#[derive(Clone, Copy)]
pub struct Start {
    pub at: Instant,
    pub unix_ns: u64,
}

impl Start {
    pub fn now() -> Start {
        Start {
            at: Instant::now(),
            unix_ns: unix_now_ns(),
        }
    }
}

/// What a producer hands back: its counters, the sequence numbers the target acknowledged, and
/// (paced) how far behind its schedule it fell at worst.
pub struct Produced {
    pub counts: Counts,
    pub acked: Bitset,
    pub behind: Duration,
}

/// Sends until `deadline` or until `budget` is spent, as producer `index` of `run`.
pub async fn produce<P: Producer>(
    mut producer: P,
    run: Arc<Run>,
    index: u32,
    budget: Arc<Budget>,
    start: Start,
    deadline: Instant,
    schedule: Option<Schedule>,
) -> Produced {
    let batch = run.settings.batch;
    let mut produced = Produced {
        counts: Counts::default(),
        acked: Bitset::default(),
        behind: Duration::ZERO,
    };
    let mut sequence = 0u64;
    let mut batch_index = 0u64;
    loop {
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        let sent_unix_ns = match &schedule {
            Some(schedule) => {
                let due = schedule.due(batch_index);
                let due_at = start.at + due;
                if due_at >= deadline {
                    break;
                }
                if due_at > now {
                    tokio::time::sleep_until(due_at.into()).await;
                } else {
                    produced.behind = produced.behind.max(now - due_at);
                }
                start.unix_ns + due.as_nanos() as u64
            }
            None => unix_now_ns(),
        };
        let entries = budget.claim(batch);
        if entries == 0 {
            break;
        }
        let first = Stamp {
            run_id: run.run_id,
            producer: index,
            sequence,
            sent_unix_ns,
        };
        let sent = producer.send(first, entries).await;
        for entry in 0..entries {
            if sent.acked & (1 << entry) != 0 && produced.acked.insert(sequence + entry as u64) {
                produced.counts.sent += 1;
            }
        }
        produced.counts.send_errors += sent.failed;
        if sent.acked == 0 && sent.failed > 0 {
            tokio::time::sleep(RETRY_PAUSE).await;
        }
        sequence += entries as u64;
        batch_index += 1;
    }
    produced
}

/// Starts `count` producers of `target` (connections opened first, so connecting is not part of
/// the measured time); when they started, and their tasks.
pub async fn start_producers<T: Target>(
    target: &T,
    run: &Arc<Run>,
    count: usize,
) -> Result<(Start, Vec<tokio::task::JoinHandle<Produced>>)> {
    let mut producers = Vec::with_capacity(count);
    for index in 0..count {
        producers.push(target.producer(index as u32).await?);
    }
    let start = Start::now();
    let budget = Arc::new(Budget::new(run.settings.messages));
    let deadline = start.at + run.settings.time_limit;
    let tasks = producers
        .into_iter()
        .enumerate()
        .map(|(index, producer)| {
            let schedule = run
                .settings
                .rate
                .map(|rate| Schedule::new(rate, run.settings.batch, count, index));
            tokio::spawn(produce(
                producer,
                run.clone(),
                index as u32,
                budget.clone(),
                start,
                deadline,
                schedule,
            ))
        })
        .collect();
    Ok((start, tasks))
}

/// `loadgen send`: `connections` producers, no consumers.
pub async fn run_send<T: Target>(target: &T, run: Arc<Run>, connections: usize) -> Result<Report> {
    check_count("connections", connections, CONNECTIONS_MAX)?;
    let (start, tasks) = start_producers(target, &run, connections).await?;
    let mut counts = Counts::default();
    let mut behind = Duration::ZERO;
    for task in tasks {
        let produced = task.await?;
        counts += produced.counts;
        behind = behind.max(produced.behind);
    }
    let duration_s = start.at.elapsed().as_secs_f64();
    Ok(Report {
        mode: "send",
        connections,
        duration_s: round_ms(duration_s),
        sent: counts.sent,
        msgs_per_s: rate(counts.sent, duration_s),
        send_errors: counts.send_errors,
        behind_ms: run
            .settings
            .rate
            .map(|_| round_ms(behind.as_secs_f64() * 1000.0)),
        ..Report::for_run(&run, target.queue())
    })
}

/// Seconds rounded to the millisecond, for the report.
pub fn round_ms(seconds: f64) -> f64 {
    (seconds * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_hands_out_exactly_what_it_has() {
        let budget = Budget::new(25);
        assert_eq!(budget.claim(10), 10);
        assert_eq!(budget.claim(10), 10);
        assert_eq!(budget.claim(10), 5);
        assert_eq!(budget.claim(10), 0);
        assert_eq!(budget.claim(1), 0);
    }

    #[test]
    fn schedules_interleave_producers_evenly() {
        // 1000 msg/s in batches of 10 by 4 producers: a batch every 10 ms, each producer's
        // every 40 ms, producer p first at p × 10 ms.
        let schedules: Vec<Schedule> = (0..4).map(|p| Schedule::new(1000.0, 10, 4, p)).collect();
        assert_eq!(schedules[0].due(0), Duration::ZERO);
        assert_eq!(schedules[3].due(0), Duration::from_millis(30));
        assert_eq!(schedules[1].due(2), Duration::from_millis(90));
        let mut due: Vec<Duration> = schedules
            .iter()
            .flat_map(|schedule| (0..25).map(|index| schedule.due(index)))
            .collect();
        due.sort();
        // The run's batches are 10 ms apart: 100 batches, 1000 messages in the first second.
        for (index, at) in due.iter().enumerate() {
            assert_eq!(*at, Duration::from_millis(10 * index as u64));
        }
    }

    #[test]
    fn fractional_rates_keep_their_average() {
        let schedule = Schedule::new(3.0, 1, 1, 0); // one every 333.3 ms
        assert_eq!(schedule.due(3), Duration::from_secs(1));
        let schedule = Schedule::new(7.0, 1, 2, 1);
        assert_eq!(schedule.due(0).as_nanos(), 142_857_143);
        assert_eq!(schedule.due(7).as_nanos(), 2_142_857_143);
    }
}
