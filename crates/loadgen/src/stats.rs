//! What a run counts, and how counts from many tasks add up.
//!
//! Producers each keep a `Bitset` of the sequence numbers the server acknowledged. Consumers
//! share one `Tracker` (behind a mutex taken once per received batch, never across an await)
//! holding, per producer, the sequence numbers received so far. At the end:
//!
//! - **received**: distinct messages of this run that were received;
//! - **duplicates**: receipts of a message already received (redeliveries, or the same message
//!   handed to two consumers);
//! - **out of order**: first receipts of a message whose producer already had a *later* sequence
//!   number received, in the order the consumers reported them. A standard queue promises no
//!   order, and with several consumers the reporting order races, so this is a measure, not an
//!   error. In a FIFO run the comparison is within the message's group (see `groups`), where
//!   order is promised: there it is a fault;
//! - **lost**: acknowledged by a send but not received when the drain period ended;
//! - **foreign**: bodies without this run's header (leftovers on a reused queue).

use std::time::Instant;

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::groups::Groups;
use crate::payload::Stamp;
use crate::run::Run;

/// A growable set of sequence numbers, one bit each.
#[derive(Clone, Debug, Default)]
pub struct Bitset {
    words: Vec<u64>,
}

impl Bitset {
    /// Adds `index`; returns whether it was new.
    pub fn insert(&mut self, index: u64) -> bool {
        let word = usize::try_from(index / 64).expect("sequence numbers are bounded");
        if word >= self.words.len() {
            self.words.resize(word + 1, 0);
        }
        let bit = 1u64 << (index % 64);
        let was_new = self.words[word] & bit == 0;
        self.words[word] |= bit;
        was_new
    }

    #[cfg(test)]
    pub fn contains(&self, index: u64) -> bool {
        let word = (index / 64) as usize;
        self.words
            .get(word)
            .is_some_and(|word| word & (1u64 << (index % 64)) != 0)
    }

    pub fn count(&self) -> u64 {
        self.words
            .iter()
            .map(|word| u64::from(word.count_ones()))
            .sum()
    }

    /// How many members of `self` are not in `other`.
    pub fn count_missing_from(&self, other: &Bitset) -> u64 {
        self.words
            .iter()
            .enumerate()
            .map(|(index, word)| {
                let theirs = other.words.get(index).copied().unwrap_or(0);
                u64::from((word & !theirs).count_ones())
            })
            .sum()
    }
}

/// What became of one received message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Receipt {
    First,
    FirstOutOfOrder,
    Duplicate,
    Foreign,
}

#[derive(Default)]
struct ProducerSeen {
    received: Bitset,
    highest: Option<u64>,
}

/// Everything consumers have received, shared between them.
pub struct Tracker {
    run_id: u32,
    producers: Vec<ProducerSeen>,
    /// FIFO runs: the groups, and the highest sequence received in each.
    groups: Option<(Groups, Vec<Option<u64>>)>,
    pub distinct: u64,
    pub duplicates: u64,
    pub out_of_order: u64,
    pub foreign: u64,
    /// When the last new message arrived: the end of the receive-rate window.
    pub last_first_receipt: Option<Instant>,
}

impl Tracker {
    pub fn new(run_id: u32, producers: usize, groups: Option<Groups>) -> Self {
        Tracker {
            run_id,
            producers: (0..producers).map(|_| ProducerSeen::default()).collect(),
            groups: groups.map(|groups| (groups, vec![None; groups.total() as usize])),
            distinct: 0,
            duplicates: 0,
            out_of_order: 0,
            foreign: 0,
            last_first_receipt: None,
        }
    }

    /// Records the receipt of a message stamped `stamp` (`None`: no header could be read).
    pub fn record(&mut self, stamp: Option<Stamp>, now: Instant) -> Receipt {
        let Some(stamp) = stamp.filter(|stamp| stamp.run_id == self.run_id) else {
            self.foreign += 1;
            return Receipt::Foreign;
        };
        let Some(seen) = self.producers.get_mut(stamp.producer as usize) else {
            self.foreign += 1;
            return Receipt::Foreign;
        };
        if !seen.received.insert(stamp.sequence) {
            self.duplicates += 1;
            return Receipt::Duplicate;
        }
        self.distinct += 1;
        self.last_first_receipt = Some(now);
        let highest = match &mut self.groups {
            Some((groups, highest)) => {
                &mut highest[groups.of(stamp.producer, stamp.sequence) as usize]
            }
            None => &mut seen.highest,
        };
        match *highest {
            Some(highest) if stamp.sequence < highest => {
                self.out_of_order += 1;
                Receipt::FirstOutOfOrder
            }
            _ => {
                *highest = Some(stamp.sequence);
                Receipt::First
            }
        }
    }

    /// Acknowledged messages not received yet; `acked[p]` is producer `p`'s acknowledged set.
    pub fn lost(&self, acked: &[Bitset]) -> u64 {
        acked
            .iter()
            .zip(&self.producers)
            .map(|(acked, seen)| acked.count_missing_from(&seen.received))
            .sum()
    }
}

/// Send→receive latency in microseconds; values beyond the bound are clamped to it.
pub struct Latency {
    histogram: Histogram<u64>,
}

/// Largest latency recorded without clamping: one hour, in microseconds.
const LATENCY_US_MAX: u64 = 3_600_000_000;

impl Latency {
    pub fn new() -> Self {
        Latency {
            histogram: Histogram::new_with_bounds(1, LATENCY_US_MAX, 3)
                .expect("constant bounds are valid"),
        }
    }

    /// Records one message sent at `sent_unix_ns` and received at `received_unix_ns`.
    pub fn record(&mut self, sent_unix_ns: u64, received_unix_ns: u64) {
        let latency_us = received_unix_ns.saturating_sub(sent_unix_ns) / 1_000;
        self.histogram
            .saturating_record(latency_us.clamp(1, LATENCY_US_MAX));
    }

    pub fn add(&mut self, other: &Latency) {
        self.histogram
            .add(&other.histogram)
            .expect("histograms with the same bounds add");
    }

    pub fn summary(&self) -> Option<LatencySummary> {
        if self.histogram.is_empty() {
            return None;
        }
        Some(LatencySummary {
            p50_us: self.histogram.value_at_quantile(0.50),
            p99_us: self.histogram.value_at_quantile(0.99),
            p999_us: self.histogram.value_at_quantile(0.999),
            max_us: self.histogram.max(),
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LatencySummary {
    pub p50_us: u64,
    pub p99_us: u64,
    pub p999_us: u64,
    pub max_us: u64,
}

/// Counters a producer or consumer task hands back when it ends.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Entries the server acknowledged (`Successful`).
    pub sent: u64,
    /// Entries that failed: listed in `Failed`, or part of a request that failed as a whole.
    pub send_errors: u64,
    pub receive_errors: u64,
    pub delete_errors: u64,
}

impl std::ops::AddAssign for Counts {
    fn add_assign(&mut self, other: Counts) {
        self.sent += other.sent;
        self.send_errors += other.send_errors;
        self.receive_errors += other.receive_errors;
        self.delete_errors += other.delete_errors;
    }
}

/// The one JSON line a run prints. Keys are the same for every mode; what a mode does not measure
/// is `null`.
#[derive(Serialize, Debug, Default)]
pub struct Report {
    pub mode: &'static str,
    /// The protocol: `sqs`, `nats-jetstream` or `rabbitmq-quorum`.
    pub peer: &'static str,
    /// `--label`, naming the target (e.g. `tern`, `moto`).
    pub label: Option<String>,
    pub endpoint: String,
    pub queue: String,
    pub fifo: bool,
    /// Message groups of a FIFO run.
    pub groups: Option<u32>,
    /// The paced rate asked for, messages per second (`None`: unpaced).
    pub rate: Option<f64>,
    /// Paced runs: how late the last send was against its schedule, ms (0 when on time).
    pub behind_ms: Option<f64>,
    pub connections: usize,
    pub producers: Option<usize>,
    pub consumers: Option<usize>,
    pub batch: usize,
    /// SQS consumers waited for each delete before polling again (`--await-deletes`).
    pub await_deletes: bool,
    /// SQS consumers' deletes in flight at most (none when they await each).
    pub deletes_in_flight: Option<usize>,
    pub size: usize,
    /// Seconds from the first send to the last producer's end.
    pub duration_s: f64,
    pub sent: u64,
    pub msgs_per_s: f64,
    pub send_errors: u64,
    pub received: Option<u64>,
    /// Distinct messages received per second, from the first send to the last first receipt.
    pub received_per_s: Option<f64>,
    pub receive_errors: Option<u64>,
    pub delete_errors: Option<u64>,
    pub latency_p50_us: Option<u64>,
    pub latency_p99_us: Option<u64>,
    pub latency_p999_us: Option<u64>,
    pub latency_max_us: Option<u64>,
    pub lost: Option<u64>,
    pub duplicates: Option<u64>,
    pub out_of_order: Option<u64>,
    pub foreign: Option<u64>,
    /// Seconds spent after the producers ended waiting for the last messages.
    pub drain_s: Option<f64>,
}

impl Report {
    /// The fields every report of `run` shares; the mode fills in the rest.
    pub fn for_run(run: &Run, queue: &str) -> Report {
        let settings = &run.settings;
        Report {
            peer: settings.kind.name(),
            label: settings.label.clone(),
            endpoint: without_password(&settings.endpoint),
            queue: queue.to_owned(),
            batch: settings.batch,
            await_deletes: settings.await_deletes,
            deletes_in_flight: settings.delete_lanes(),
            size: settings.size,
            fifo: settings.fifo,
            groups: run.groups.map(|groups| groups.total()),
            rate: settings.rate,
            ..Report::default()
        }
    }
}

/// `scheme://user:password@host…` without the password.
fn without_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rsplit_once('@') {
        Some((user_info, host)) => {
            let user = user_info.split(':').next().unwrap_or("");
            format!("{scheme}://{user}@{host}{}", &rest[authority_end..])
        }
        None => url.to_owned(),
    }
}

/// `count / seconds`, rounded to a tenth; 0 for an empty interval.
pub fn rate(count: u64, seconds: f64) -> f64 {
    if seconds <= 0.0 {
        return 0.0;
    }
    (count as f64 / seconds * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp(producer: u32, sequence: u64) -> Option<Stamp> {
        Some(Stamp {
            run_id: 9,
            producer,
            sequence,
            sent_unix_ns: 0,
        })
    }

    #[test]
    fn bitset_counts_and_differences() {
        let mut acked = Bitset::default();
        for index in [0, 1, 63, 64, 1000] {
            assert!(acked.insert(index));
        }
        assert!(!acked.insert(63));
        assert_eq!(acked.count(), 5);
        assert!(acked.contains(1000) && !acked.contains(999) && !acked.contains(1 << 40));

        let mut received = Bitset::default();
        received.insert(0);
        received.insert(64);
        received.insert(5); // received but never acknowledged: not a loss
        assert_eq!(acked.count_missing_from(&received), 3);
        assert_eq!(acked.count_missing_from(&Bitset::default()), 5);
        assert_eq!(Bitset::default().count_missing_from(&acked), 0);
    }

    #[test]
    fn tracker_classifies_receipts() {
        let now = Instant::now();
        let mut tracker = Tracker::new(9, 2, None);
        let receipts: Vec<Receipt> = [
            stamp(0, 0),
            stamp(0, 2),
            stamp(0, 1), // after 2: out of order
            stamp(0, 2), // again: duplicate
            stamp(1, 0), // another producer has its own order
            None,
            Some(Stamp {
                run_id: 8,
                ..stamp(0, 3).unwrap()
            }),
            stamp(7, 0), // no such producer
        ]
        .into_iter()
        .map(|stamp| tracker.record(stamp, now))
        .collect();
        assert_eq!(
            receipts,
            [
                Receipt::First,
                Receipt::First,
                Receipt::FirstOutOfOrder,
                Receipt::Duplicate,
                Receipt::First,
                Receipt::Foreign,
                Receipt::Foreign,
                Receipt::Foreign,
            ]
        );
        assert_eq!(
            (
                tracker.distinct,
                tracker.duplicates,
                tracker.out_of_order,
                tracker.foreign
            ),
            (4, 1, 1, 3)
        );
    }

    #[test]
    fn fifo_order_is_judged_within_each_group() {
        let now = Instant::now();
        // Producer 0 owns groups 0 and 2, producer 1 owns group 1: sequence s of producer 0 is
        // in group 0 if s is even, 2 if odd.
        let groups = Groups::new(2, 3).unwrap();
        let mut tracker = Tracker::new(9, 2, Some(groups));
        let receipts: Vec<Receipt> = [
            stamp(0, 1), // group 2
            stamp(0, 0), // group 0: earlier than 1, but another group: in order
            stamp(0, 4), // group 0
            stamp(0, 3), // group 2
            stamp(0, 2), // group 0, after 4: out of order within the group
            stamp(1, 5), // group 1
            stamp(1, 2), // group 1, after 5: out of order
            stamp(0, 4), // duplicate, not an order fault
        ]
        .into_iter()
        .map(|stamp| tracker.record(stamp, now))
        .collect();
        assert_eq!(
            receipts,
            [
                Receipt::First,
                Receipt::First,
                Receipt::First,
                Receipt::First,
                Receipt::FirstOutOfOrder,
                Receipt::First,
                Receipt::FirstOutOfOrder,
                Receipt::Duplicate,
            ]
        );
        assert_eq!((tracker.out_of_order, tracker.duplicates), (2, 1));
    }

    #[test]
    fn lost_is_acknowledged_minus_received() {
        let mut tracker = Tracker::new(9, 2, None);
        let mut acked = vec![Bitset::default(), Bitset::default()];
        for sequence in 0..10 {
            acked[0].insert(sequence);
            acked[1].insert(sequence);
        }
        for sequence in 0..10 {
            tracker.record(stamp(0, sequence), Instant::now());
        }
        for sequence in 3..10 {
            tracker.record(stamp(1, sequence), Instant::now());
        }
        assert_eq!(tracker.lost(&acked), 3);
    }

    #[test]
    fn latency_merges_and_summarises() {
        assert_eq!(Latency::new().summary(), None);
        let mut first = Latency::new();
        let mut second = Latency::new();
        for latency_us in 1..=500u64 {
            first.record(0, latency_us * 1_000);
        }
        for latency_us in 501..=1000u64 {
            second.record(1_000_000, 1_000_000 + latency_us * 1_000);
        }
        second.record(5, 0); // a clock step backwards counts as the least latency, not a panic
        first.add(&second);
        let summary = first.summary().unwrap();
        assert!((499..=501).contains(&summary.p50_us), "{summary:?}");
        assert!((989..=991).contains(&summary.p99_us), "{summary:?}");
        assert!((998..=1000).contains(&summary.p999_us), "{summary:?}");
        assert_eq!(summary.max_us, 1000);
    }

    #[test]
    fn counts_add_up() {
        let mut total = Counts::default();
        total += Counts {
            sent: 10,
            send_errors: 1,
            ..Counts::default()
        };
        total += Counts {
            sent: 5,
            receive_errors: 2,
            delete_errors: 3,
            ..Counts::default()
        };
        assert_eq!(
            total,
            Counts {
                sent: 15,
                send_errors: 1,
                receive_errors: 2,
                delete_errors: 3
            }
        );
    }

    #[test]
    fn rates_round_to_a_tenth() {
        assert_eq!(rate(1000, 3.0), 333.3);
        assert_eq!(rate(5, 0.0), 0.0);
    }

    #[test]
    fn passwords_stay_out_of_reports() {
        assert_eq!(
            without_password("amqp://guest:guest@127.0.0.1:5672/%2f"),
            "amqp://guest@127.0.0.1:5672/%2f"
        );
        assert_eq!(without_password("http://127.0.0.1:1"), "http://127.0.0.1:1");
    }

    #[test]
    fn report_keys_are_stable() {
        let line = serde_json::to_string(&Report::default()).unwrap();
        for key in [
            "\"latency_p999_us\":null",
            "\"lost\":null",
            "\"msgs_per_s\":0.0",
        ] {
            assert!(line.contains(key), "{line}");
        }
    }
}
