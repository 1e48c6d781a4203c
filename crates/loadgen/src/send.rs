//! Producers, and the `send` mode built from them alone.
//!
//! A producer owns one connection and sends `SendMessageBatch` requests back to back until the
//! time limit passes or the run's message budget is spent. Its bodies come from one prebuilt
//! template whose sequence headers are rewritten in place, so a request costs one header stamp
//! per entry and one copy of the body.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use anyhow::Result;

use crate::client::{Connection, RETRY_PAUSE};
use crate::config::{CONNECTIONS_MAX, check_count};
use crate::payload::Stamp;
use crate::run::{Run, log_error, unix_now_ns};
use crate::stats::{Bitset, Counts, Report, rate};
use crate::wire::{Action, BatchReply, ErrorReply, SendBatchTemplate};

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

/// What a producer hands back: its counters and the sequence numbers the server acknowledged.
pub struct Produced {
    pub counts: Counts,
    pub acked: Bitset,
}

/// Sends until `deadline` or until `budget` is spent, as producer `producer` of `run`.
pub async fn produce(
    mut connection: Connection,
    run: Arc<Run>,
    producer: u32,
    budget: Arc<Budget>,
    deadline: Instant,
) -> Produced {
    let settings = &run.settings;
    let mut template = SendBatchTemplate::new(&run.queue_url, settings.batch, settings.size);
    let mut produced = Produced {
        counts: Counts::default(),
        acked: Bitset::default(),
    };
    let mut sequence = 0u64;
    while Instant::now() < deadline {
        let entries = budget.claim(settings.batch);
        if entries == 0 {
            break;
        }
        if entries != template.entries() {
            // Only the last, partial batch of a --messages run gets here.
            template = SendBatchTemplate::new(&run.queue_url, entries, settings.size);
        }
        let body = template.stamp(&Stamp {
            run_id: run.run_id,
            producer,
            sequence,
            sent_unix_ns: unix_now_ns(),
        });
        let result = connection.call(Action::SendMessageBatch, body).await;
        let ok = match result {
            Ok(reply) if reply.status.is_success() => {
                record_reply(&reply.body, sequence, entries, &mut produced)
            }
            Ok(reply) => {
                log_error(format_args!(
                    "SendMessageBatch: {} {}",
                    reply.status,
                    ErrorReply::describe(&reply.body)
                ));
                false
            }
            Err(error) => {
                log_error(format_args!("{error:#}"));
                false
            }
        };
        if !ok {
            produced.counts.send_errors += entries as u64;
            tokio::time::sleep(RETRY_PAUSE).await;
        }
        sequence += entries as u64;
    }
    produced
}

/// Counts a successful reply's entries; false if the reply could not be read at all.
fn record_reply(body: &[u8], first_sequence: u64, entries: usize, produced: &mut Produced) -> bool {
    let reply: BatchReply = match serde_json::from_slice(body) {
        Ok(reply) => reply,
        Err(error) => {
            log_error(format_args!("SendMessageBatch reply: {error}"));
            return false;
        }
    };
    for entry in &reply.successful {
        match entry.id.parse::<usize>() {
            Ok(index) if index < entries => {
                if produced.acked.insert(first_sequence + index as u64) {
                    produced.counts.sent += 1;
                }
            }
            _ => log_error(format_args!(
                "SendMessageBatch: unknown entry id {:?}",
                entry.id
            )),
        }
    }
    if let Some(failure) = reply.failed.first() {
        log_error(format_args!(
            "SendMessageBatch: {} of {entries} entries failed, e.g. {}: {}",
            reply.failed.len(),
            failure.id,
            failure.code
        ));
    }
    produced.counts.send_errors += reply.failed.len() as u64;
    true
}

/// `loadgen send`: `connections` producers, no consumers.
pub async fn run_send(run: Arc<Run>, connections: usize) -> Result<Report> {
    check_count("connections", connections, CONNECTIONS_MAX)?;
    let opened = run.connections(connections).await?;
    let budget = Arc::new(Budget::new(run.settings.messages));
    let start = Instant::now();
    let deadline = start + run.settings.time_limit;
    let tasks: Vec<_> = opened
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
    for task in tasks {
        counts += task.await?.counts;
    }
    let duration_s = start.elapsed().as_secs_f64();
    Ok(Report {
        mode: "send",
        endpoint: run.endpoint.url.clone(),
        queue: run.queue_name.clone(),
        connections,
        batch: run.settings.batch,
        size: run.settings.size,
        duration_s: round_ms(duration_s),
        sent: counts.sent,
        msgs_per_s: rate(counts.sent, duration_s),
        send_errors: counts.send_errors,
        ..Report::default()
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

    fn produced() -> Produced {
        Produced {
            counts: Counts::default(),
            acked: Bitset::default(),
        }
    }

    #[test]
    fn replies_acknowledge_only_successful_entries() {
        let mut produced = produced();
        let body = br#"{"Successful":[{"Id":"0"},{"Id":"2"},{"Id":"2"},{"Id":"9"}],
                        "Failed":[{"Id":"1","Code":"InternalError"}]}"#;
        assert!(record_reply(body, 100, 3, &mut produced));
        assert_eq!(produced.counts.sent, 2); // a repeated id counts once; "9" is out of range
        assert_eq!(produced.counts.send_errors, 1);
        assert!(produced.acked.contains(100) && produced.acked.contains(102));
        assert!(!produced.acked.contains(101));
    }

    #[test]
    fn unreadable_replies_are_failures() {
        let mut produced = produced();
        assert!(!record_reply(b"<xml/>", 0, 10, &mut produced));
        assert_eq!(produced.counts, Counts::default());
    }
}
