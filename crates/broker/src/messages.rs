//! The message lifecycle: send, receive (with long polling), delete and change visibility.

use std::sync::Arc;
use std::time::Duration;

use tern_core::batch::validate_entry_ids;
use tern_core::limits::*;
use tern_core::message::{self, MessageAttributes};
use tern_core::receipt::Receipt;
use tern_core::time::{Millis, seconds_to_millis};
use tern_core::{ErrorCode, SqsError};
pub use tern_store::ReceivedMessage as DeliveredMessage;
use tern_store::{
    DeleteOutcome, NewMessage, QueueRecord, ReceiveRequest, VisibilityChange, VisibilityOutcome,
};

use crate::catalogue::QueueEntry;
use crate::{Broker, store_error};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendRequest {
    pub body: String,
    pub attributes: MessageAttributes,
    pub delay_seconds: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendOutcome {
    pub message_id: String,
    pub md5_of_body: String,
    pub md5_of_attributes: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReceiveOptions {
    pub max_messages: Option<u32>,
    pub visibility_timeout_seconds: Option<u64>,
    pub wait_time_seconds: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisibilityRequest {
    pub receipt_handle: String,
    pub visibility_timeout_seconds: u64,
}

/// Per-entry results of a batch call, in request order, keyed by the caller's entry id.
pub type BatchResults<T> = Vec<(String, Result<T, SqsError>)>;

fn check_range(name: &str, value: u64, max: u64) -> Result<(), SqsError> {
    if value > max {
        return Err(SqsError::invalid_parameter(
            name,
            value,
            &format!("{name} must be >= 0 and <= {max}."),
        ));
    }
    Ok(())
}

fn prepare(
    record: &QueueRecord,
    request: SendRequest,
    sender_id: &str,
    now: Millis,
) -> Result<(NewMessage, SendOutcome), SqsError> {
    message::validate_body(&request.body)?;
    message::validate_attributes(&request.attributes)?;
    message::validate_size(
        &request.body,
        &request.attributes,
        record.attributes.maximum_message_size_bytes(),
    )?;
    let delay_seconds = request
        .delay_seconds
        .unwrap_or_else(|| record.attributes.delay_seconds());
    check_range("DelaySeconds", delay_seconds, DELAY_SECONDS_MAX)?;
    let outcome = SendOutcome {
        message_id: uuid::Uuid::new_v4().to_string(),
        md5_of_body: message::md5_hex(request.body.as_bytes()),
        md5_of_attributes: message::md5_of_attributes(&request.attributes),
    };
    let new_message = NewMessage {
        message_id: outcome.message_id.clone(),
        body: request.body,
        attributes: request.attributes,
        md5_of_body: outcome.md5_of_body.clone(),
        md5_of_attributes: outcome.md5_of_attributes.clone(),
        sender_id: sender_id.to_owned(),
        sent_at: now,
        visible_at: now.saturating_add(seconds_to_millis(delay_seconds)),
    };
    Ok((new_message, outcome))
}

fn decode_receipt(record: &QueueRecord, handle: &str) -> Result<Receipt, SqsError> {
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
    pub async fn send_message(
        &self,
        queue: &str,
        request: SendRequest,
        sender_id: &str,
    ) -> Result<SendOutcome, SqsError> {
        let entry = self.entry(queue)?;
        let record = entry.record();
        let (new_message, outcome) = prepare(&record, request, sender_id, self.now())?;
        self.store
            .send(record.id, vec![new_message])
            .await
            .map_err(store_error)?;
        entry.arrivals.notify_waiters();
        Ok(outcome)
    }

    /// Valid entries are stored together in one durable write; invalid ones fail on their own.
    pub async fn send_message_batch(
        &self,
        queue: &str,
        entries: Vec<(String, SendRequest)>,
        sender_id: &str,
    ) -> Result<BatchResults<SendOutcome>, SqsError> {
        let entry = self.entry(queue)?;
        let record = entry.record();
        validate_entry_ids(entries.iter().map(|(id, _)| id.as_str()))?;
        let total_bytes: u64 = entries
            .iter()
            .map(|(_, request)| message::message_size_bytes(&request.body, &request.attributes))
            .sum();
        if total_bytes > BATCH_PAYLOAD_BYTES_MAX {
            return Err(SqsError::new(
                ErrorCode::BatchRequestTooLong,
                format!(
                    "Batch requested message too long. Size: {total_bytes}. The total size of all messages in a batch must not exceed {BATCH_PAYLOAD_BYTES_MAX} bytes."
                ),
            ));
        }
        let now = self.now();
        let mut results = Vec::with_capacity(entries.len());
        let mut accepted = Vec::new();
        for (id, request) in entries {
            match prepare(&record, request, sender_id, now) {
                Ok((new_message, outcome)) => {
                    accepted.push(new_message);
                    results.push((id, Ok(outcome)));
                }
                Err(error) => results.push((id, Err(error))),
            }
        }
        if !accepted.is_empty() {
            self.store
                .send(record.id, accepted)
                .await
                .map_err(store_error)?;
            entry.arrivals.notify_waiters();
        }
        Ok(results)
    }

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
        let wait_seconds = options
            .wait_time_seconds
            .unwrap_or_else(|| entry.record().attributes.receive_wait_time_seconds());
        let deadline = tokio::time::Instant::now() + Duration::from_secs(wait_seconds);
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
            let request = ReceiveRequest {
                max_messages,
                now,
                hidden_until: now.saturating_add(seconds_to_millis(visibility_seconds)),
                retained_since: now.saturating_sub(seconds_to_millis(
                    record.attributes.message_retention_seconds(),
                )),
            };
            let messages = self
                .store
                .receive(record.id, request)
                .await
                .map_err(store_error)?;
            let remaining = deadline.saturating_duration_since(tokio::time::Instant::now());
            if !messages.is_empty() || remaining.is_zero() || self.is_shutting_down() {
                return Ok(messages);
            }
            let next_visible = self
                .store
                .next_visible_at(record.id, now)
                .await
                .map_err(store_error)?;
            let nap = next_visible
                .map(|at| Duration::from_millis(at.saturating_sub(self.now())))
                .map_or(remaining, |until_visible| until_visible.min(remaining));
            tokio::select! {
                () = &mut arrivals => {}
                () = tokio::time::sleep(nap) => {}
            }
        }
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
