//! Settling received messages: delete and change visibility, plus the helpers the send and
//! receive paths share.

use tern_core::batch::validate_entry_ids;
use tern_core::limits::*;
use tern_core::receipt::Receipt;
use tern_core::time::seconds_to_millis;
use tern_core::{ErrorCode, SqsError};
use tern_store::{DeleteOutcome, QueueRecord, VisibilityChange, VisibilityOutcome};

use crate::{Broker, store_error};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisibilityRequest {
    pub receipt_handle: String,
    pub visibility_timeout_seconds: u64,
}

/// Per-entry results of a batch call, in request order, keyed by the caller's entry id.
pub type BatchResults<T> = Vec<(String, Result<T, SqsError>)>;

pub(crate) fn check_range(name: &str, value: u64, max: u64) -> Result<(), SqsError> {
    if value > max {
        return Err(SqsError::invalid_parameter(
            name,
            value,
            &format!("{name} must be >= 0 and <= {max}."),
        ));
    }
    Ok(())
}

pub(crate) fn decode_receipt(record: &QueueRecord, handle: &str) -> Result<Receipt, SqsError> {
    let receipt = Receipt::decode(handle)?;
    if receipt.queue_id != record.id {
        return Err(SqsError::new(
            ErrorCode::ReceiptHandleIsInvalid,
            format!("The input receipt handle \"{handle}\" is not a valid receipt handle."),
        ));
    }
    Ok(receipt)
}

impl Broker {
    /// Succeeds for a stale or already-deleted receipt without deleting anything, as SQS does.
    pub async fn delete_message(&self, queue: &str, receipt_handle: &str) -> Result<(), SqsError> {
        let record = self.queue(queue)?;
        let receipt = decode_receipt(&record, receipt_handle)?;
        let outcomes = self
            .store
            .delete_messages(record.id, vec![receipt])
            .await
            .map_err(store_error)?;
        log_stale_deletes(&outcomes);
        Ok(())
    }

    pub async fn delete_message_batch(
        &self,
        queue: &str,
        entries: Vec<(String, String)>,
    ) -> Result<BatchResults<()>, SqsError> {
        let record = self.queue(queue)?;
        validate_entry_ids(entries.iter().map(|(id, _)| id.as_str()))?;
        let mut results: BatchResults<()> = Vec::with_capacity(entries.len());
        let mut receipts = Vec::new();
        for (id, handle) in entries {
            match decode_receipt(&record, &handle) {
                Ok(receipt) => {
                    receipts.push(receipt);
                    results.push((id, Ok(())));
                }
                Err(error) => results.push((id, Err(error))),
            }
        }
        if !receipts.is_empty() {
            let outcomes = self
                .store
                .delete_messages(record.id, receipts)
                .await
                .map_err(store_error)?;
            log_stale_deletes(&outcomes);
        }
        Ok(results)
    }

    pub async fn change_message_visibility(
        &self,
        queue: &str,
        request: VisibilityRequest,
    ) -> Result<(), SqsError> {
        let results = self
            .change_visibility(queue, vec![(String::new(), request)])
            .await?;
        results
            .into_iter()
            .next()
            .map_or(Ok(()), |(_, result)| result)
    }

    pub async fn change_message_visibility_batch(
        &self,
        queue: &str,
        entries: Vec<(String, VisibilityRequest)>,
    ) -> Result<BatchResults<()>, SqsError> {
        self.queue(queue)?;
        validate_entry_ids(entries.iter().map(|(id, _)| id.as_str()))?;
        self.change_visibility(queue, entries).await
    }

    async fn change_visibility(
        &self,
        queue: &str,
        entries: Vec<(String, VisibilityRequest)>,
    ) -> Result<BatchResults<()>, SqsError> {
        let entry = self.entry(queue)?;
        let record = entry.record();
        let now = self.now();
        let mut results: BatchResults<()> = Vec::with_capacity(entries.len());
        // (index into results, the request) for each entry that reaches the store.
        let mut submitted = Vec::new();
        let mut changes = Vec::new();
        for (id, request) in entries {
            let checked = check_range(
                "VisibilityTimeout",
                request.visibility_timeout_seconds,
                VISIBILITY_TIMEOUT_SECONDS_MAX,
            )
            .and_then(|()| decode_receipt(&record, &request.receipt_handle));
            match checked {
                Ok(receipt) => {
                    let hidden_for = seconds_to_millis(request.visibility_timeout_seconds);
                    changes.push(VisibilityChange {
                        receipt,
                        hidden_until: now.saturating_add(hidden_for),
                    });
                    submitted.push((results.len(), request));
                    results.push((id, Ok(())));
                }
                Err(error) => results.push((id, Err(error))),
            }
        }
        if changes.is_empty() {
            return Ok(results);
        }
        let outcomes = self
            .store
            .change_visibility(record.id, changes, now)
            .await
            .map_err(store_error)?;
        let mut released = false;
        for ((index, request), outcome) in submitted.into_iter().zip(outcomes) {
            results[index].1 = visibility_result(outcome, &request);
            released |= outcome == VisibilityOutcome::Changed;
        }
        if released {
            // A timeout of 0 makes the message receivable now.
            entry.arrivals.notify_waiters();
        }
        Ok(results)
    }

    pub(crate) fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Ends every long poll now (with whatever it has), so a graceful shutdown is not held up
    /// for up to 20 seconds.
    pub fn begin_shutdown(&self) {
        self.shutting_down
            .store(true, std::sync::atomic::Ordering::SeqCst);
        for entry in self.catalogue.entries() {
            entry.arrivals.notify_waiters();
        }
    }
}

fn visibility_result(
    outcome: VisibilityOutcome,
    request: &VisibilityRequest,
) -> Result<(), SqsError> {
    match outcome {
        VisibilityOutcome::Changed => Ok(()),
        // SQS answers OK and changes nothing when the receipt's visibility has already run out.
        VisibilityOutcome::NotInFlight => Ok(()),
        VisibilityOutcome::Invalid => Err(SqsError::invalid_parameter(
            "ReceiptHandle",
            &request.receipt_handle,
            "Message does not exist or is not available for visibility timeout change.",
        )),
        VisibilityOutcome::BeyondLimit => Err(SqsError::invalid_parameter(
            "VisibilityTimeout",
            request.visibility_timeout_seconds,
            "Total VisibilityTimeout for the message is beyond the limit [43200 seconds]",
        )),
    }
}

fn log_stale_deletes(outcomes: &[DeleteOutcome]) {
    let stale = outcomes
        .iter()
        .filter(|outcome| **outcome == DeleteOutcome::Stale)
        .count();
    if stale > 0 {
        tracing::debug!(
            stale,
            "delete with a superseded receipt handle left the message in place"
        );
    }
}
