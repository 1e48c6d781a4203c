//! Receiving: long polling, FIFO group order, dead-letter moves and receive-attempt retries.

use std::sync::Arc;
use std::time::Duration;

use tern_core::SqsError;
use tern_core::fifo;
use tern_core::limits::*;
use tern_core::time::seconds_to_millis;
pub use tern_store::ReceivedMessage as DeliveredMessage;
use tern_store::{DeadLetterTarget, DeliveryOrder, QueueRecord, ReceiveAttempt, ReceiveRequest};

use crate::catalogue::QueueEntry;
use crate::settle::check_range;
use crate::{Broker, store_error};

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReceiveOptions {
    pub max_messages: Option<u32>,
    pub visibility_timeout_seconds: Option<u64>,
    pub wait_time_seconds: Option<u64>,
    /// FIFO `ReceiveRequestAttemptId`; ignored on standard queues, as in SQS.
    pub receive_request_attempt_id: Option<String>,
}

fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Immediate re-looks one receive may make when the store stopped at its group-probe budget;
/// past this, the receive waits like any other (a wake-up or its timer starts it again).
const RESCANS_MAX: u32 = 20;

impl Broker {
    /// Returns as soon as at least one message is receivable, or when the wait time runs out.
    pub async fn receive_messages(
        &self,
        queue: &str,
        options: ReceiveOptions,
    ) -> Result<Vec<DeliveredMessage>, SqsError> {
        let entry = self.entry(queue)?;
        let max_messages = options.max_messages.unwrap_or(1);
        if !(1..=RECEIVE_MESSAGES_MAX).contains(&max_messages) {
            return Err(SqsError::invalid_parameter(
                "MaxNumberOfMessages",
                max_messages,
                "Must be between 1 and 10, if provided.",
            ));
        }
        if let Some(visibility) = options.visibility_timeout_seconds {
            check_range(
                "VisibilityTimeout",
                visibility,
                VISIBILITY_TIMEOUT_SECONDS_MAX,
            )?;
        }
        if let Some(wait) = options.wait_time_seconds {
            check_range("WaitTimeSeconds", wait, WAIT_TIME_SECONDS_MAX)?;
        }
        if let Some(attempt) = &options.receive_request_attempt_id {
            fifo::validate_id("ReceiveRequestAttemptId", attempt)?;
        }
        let wait_seconds = options
            .wait_time_seconds
            .unwrap_or_else(|| entry.record().attributes.receive_wait_time_seconds());
        let deadline = tokio::time::Instant::now() + Duration::from_secs(wait_seconds);
        let mut rescans = 0;
        loop {
            // Register for wake-ups before looking, so an arrival between the look and the wait
            // is not missed.
            let arrivals = entry.arrivals.notified();
            tokio::pin!(arrivals);
            arrivals.as_mut().enable();

            let record = self.current_record(queue, &entry)?;
            let now = self.now();
            let visibility_seconds = options
                .visibility_timeout_seconds
                .unwrap_or_else(|| record.attributes.visibility_timeout_seconds());
            let fifo = record.attributes.is_fifo();
            let dead_letter = self.dead_letter_target(&record);
            let request = ReceiveRequest {
                max_messages,
                now,
                hidden_until: now.saturating_add(seconds_to_millis(visibility_seconds)),
                retained_since: now.saturating_sub(seconds_to_millis(
                    record.attributes.message_retention_seconds(),
                )),
                order: {
                    let after_group = lock(&entry.group_cursor).clone();
                    if fifo {
                        DeliveryOrder::FifoByGroup { after_group }
                    } else {
                        DeliveryOrder::FairByGroup { after_group }
                    }
                },
                dead_letter: dead_letter.as_ref().map(|(target, _)| *target),
                attempt: options
                    .receive_request_attempt_id
                    .clone()
                    .filter(|_| fifo)
                    .map(|id| ReceiveAttempt {
                        id,
                        window_ends_at: now.saturating_add(seconds_to_millis(
                            fifo::RECEIVE_ATTEMPT_INTERVAL_SECONDS,
                        )),
                    }),
            };
            let outcome = self
                .store
                .receive(record.id, request)
                .await
                .map_err(store_error)?;
            if outcome.moved_to_dead_letter > 0
                && let Some((_, dead_letter_entry)) = &dead_letter
            {
                dead_letter_entry.arrivals.notify_waiters();
            }
            if outcome.last_group.is_some() {
                *lock(&entry.group_cursor) = outcome.last_group;
            }
            let look_again = outcome.groups_left_unprobed;
            let next_visible = outcome.next_visible_at;
            let messages = outcome.messages;
            let remaining = deadline.saturating_duration_since(tokio::time::Instant::now());
            if !messages.is_empty() || remaining.is_zero() || self.is_shutting_down() {
                return Ok(messages);
            }
            if look_again && rescans < RESCANS_MAX {
                // The store stopped at its probe budget; the rotation has moved on, so look at
                // the next groups now rather than wait.
                rescans += 1;
                continue;
            }
            let nap = next_visible
                .map(|at| Duration::from_millis(at.saturating_sub(self.now())))
                .map_or(remaining, |until_visible| until_visible.min(remaining));
            tokio::select! {
                () = &mut arrivals => {}
                () = tokio::time::sleep(nap) => {}
            }
        }
    }

    /// Where over-received messages of this queue go, if its `RedrivePolicy` names a queue that
    /// exists. A policy whose target was deleted is dormant, not an error, as in SQS.
    fn dead_letter_target(
        &self,
        record: &QueueRecord,
    ) -> Option<(DeadLetterTarget, Arc<QueueEntry>)> {
        let policy = record.attributes.redrive_policy()?;
        let target = policy.target()?;
        if target.account_id != self.account_id {
            return None;
        }
        let entry = self.catalogue.get(&target.queue_name)?;
        let dead_letter = DeadLetterTarget {
            queue_id: entry.record().id,
            max_receive_count: policy.max_receive_count,
        };
        Some((dead_letter, entry))
    }

    /// The queue's latest record, or an error if it was deleted while a request waited on it.
    fn current_record(
        &self,
        queue: &str,
        entry: &Arc<QueueEntry>,
    ) -> Result<Arc<QueueRecord>, SqsError> {
        match self.catalogue.get(queue) {
            Some(current) if Arc::ptr_eq(&current, entry) => Ok(entry.record()),
            _ => Err(SqsError::queue_does_not_exist()),
        }
    }
}
