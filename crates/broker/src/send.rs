//! Sending: validation, FIFO group and deduplication rules, one durable write per request.

use tern_core::batch::validate_entry_ids;
use tern_core::fifo;
use tern_core::limits::*;
use tern_core::message::{self, MessageAttributes};
use tern_core::time::{Millis, seconds_to_millis};
use tern_core::{ErrorCode, SqsError};
use tern_store::{Deduplication, NewMessage, QueueRecord, SentMessage};

use crate::settle::{BatchResults, check_range};
use crate::{Broker, store_error};

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SendRequest {
    pub body: String,
    pub attributes: MessageAttributes,
    pub delay_seconds: Option<u64>,
    /// Required on FIFO queues; a tenant key on standard (fair) queues.
    pub message_group_id: Option<String>,
    /// FIFO only.
    pub message_deduplication_id: Option<String>,
    /// `MessageSystemAttributes`: only `AWSTraceHeader` may be set.
    pub system_attributes: MessageAttributes,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendOutcome {
    pub message_id: String,
    pub md5_of_body: String,
    pub md5_of_attributes: Option<String>,
    /// FIFO only.
    pub sequence_number: Option<String>,
    pub md5_of_system_attributes: Option<String>,
}

fn not_for_this_queue_type(parameter: &str, value: impl std::fmt::Display) -> SqsError {
    SqsError::invalid_parameter(
        parameter,
        value,
        "The request include parameter that is not valid for this queue type.",
    )
}

/// Checks one message against the queue's rules and builds what the store needs.
pub(crate) fn prepare(
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
    let trace_header = message::trace_header_from(&request.system_attributes)?;
    let fifo = record.attributes.is_fifo();
    if let Some(group) = &request.message_group_id {
        fifo::validate_id("MessageGroupId", group)?;
    }
    let deduplication = if fifo {
        fifo_deduplication(record, &request, now)?
    } else {
        if let Some(id) = &request.message_deduplication_id {
            return Err(not_for_this_queue_type("MessageDeduplicationId", id));
        }
        None
    };
    let delay_seconds = match request.delay_seconds {
        // FIFO queues delay per queue only.
        Some(delay) if fifo => return Err(not_for_this_queue_type("DelaySeconds", delay)),
        Some(delay) => delay,
        None => record.attributes.delay_seconds(),
    };
    check_range("DelaySeconds", delay_seconds, DELAY_SECONDS_MAX)?;
    let md5_of_body = message::md5_hex(request.body.as_bytes());
    let md5_of_attributes = message::md5_of_attributes(&request.attributes);
    // A v4 UUID from the thread's RNG: `Uuid::new_v4` asks the kernel (one `getrandom` system
    // call) for every message, which showed in profiles of batched sends.
    let message_id = uuid::Builder::from_random_bytes(rand::random())
        .into_uuid()
        .to_string();
    let outcome = SendOutcome {
        message_id: message_id.clone(),
        md5_of_body: md5_of_body.clone(),
        md5_of_attributes: md5_of_attributes.clone(),
        sequence_number: None,
        md5_of_system_attributes: message::md5_of_attributes(&request.system_attributes),
    };
    let new_message = NewMessage {
        message_id,
        body: request.body,
        attributes: request.attributes,
        md5_of_body,
        md5_of_attributes,
        sender_id: sender_id.to_owned(),
        sent_at: now,
        visible_at: now.saturating_add(seconds_to_millis(delay_seconds)),
        group_id: request.message_group_id,
        deduplication,
        trace_header,
    };
    Ok((new_message, outcome))
}

fn fifo_deduplication(
    record: &QueueRecord,
    request: &SendRequest,
    now: Millis,
) -> Result<Option<Deduplication>, SqsError> {
    let Some(group) = &request.message_group_id else {
        return Err(SqsError::missing_parameter("MessageGroupId"));
    };
    let id = match &request.message_deduplication_id {
        Some(id) => {
            fifo::validate_id("MessageDeduplicationId", id)?;
            id.clone()
        }
        None if record.attributes.content_based_deduplication() => {
            fifo::content_deduplication_id(&request.body)
        }
        None => {
            return Err(SqsError::new(
                ErrorCode::InvalidParameterValue,
                "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly",
            ));
        }
    };
    let scope = if record.attributes.deduplicates_per_message_group() {
        group.clone()
    } else {
        String::new()
    };
    Ok(Some(Deduplication {
        scope,
        id,
        window_ends_at: fifo::deduplication_window_end(now),
    }))
}

/// A duplicate reports the original's message id and sequence number, as SQS does.
fn settle_outcome(mut outcome: SendOutcome, sent: &SentMessage, fifo: bool) -> SendOutcome {
    outcome.message_id.clone_from(&sent.message_id);
    if fifo {
        outcome.sequence_number = Some(fifo::sequence_number(sent.seq));
    }
    outcome
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
        let sent = self
            .store
            .send(record.id, vec![new_message])
            .await
            .map_err(store_error)?;
        entry.arrivals.notify_waiters();
        let sent = sent
            .first()
            .ok_or_else(|| SqsError::internal("the store acknowledged no message"))?;
        Ok(settle_outcome(outcome, sent, record.attributes.is_fifo()))
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
        let mut results: BatchResults<SendOutcome> = Vec::with_capacity(entries.len());
        let mut accepted = Vec::new();
        // (index into results) of each accepted entry, in the order given to the store.
        let mut accepted_at = Vec::new();
        for (id, request) in entries {
            match prepare(&record, request, sender_id, now) {
                Ok((new_message, outcome)) => {
                    accepted.push(new_message);
                    accepted_at.push(results.len());
                    results.push((id, Ok(outcome)));
                }
                Err(error) => results.push((id, Err(error))),
            }
        }
        if accepted.is_empty() {
            return Ok(results);
        }
        let sent = self
            .store
            .send(record.id, accepted)
            .await
            .map_err(store_error)?;
        entry.arrivals.notify_waiters();
        let fifo = record.attributes.is_fifo();
        for (index, sent) in accepted_at.into_iter().zip(&sent) {
            let slot = &mut results[index].1;
            if let Ok(outcome) = slot {
                *slot = Ok(settle_outcome(outcome.clone(), sent, fifo));
            }
        }
        Ok(results)
    }
}
