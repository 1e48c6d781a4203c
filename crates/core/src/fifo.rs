//! FIFO queue rules: message group and deduplication ids, content-based deduplication, the
//! deduplication interval and sequence numbers.

use sha2::{Digest, Sha256};

use crate::error::SqsError;
use crate::time::{Millis, seconds_to_millis};

pub const DEDUPLICATION_INTERVAL_SECONDS: u64 = 300;
/// `ReceiveRequestAttemptId` retries within this interval get the same messages back.
pub const RECEIVE_ATTEMPT_INTERVAL_SECONDS: u64 = 300;
pub const ID_LENGTH_MAX: usize = 128;

pub fn deduplication_window_end(now: Millis) -> Millis {
    now.saturating_add(seconds_to_millis(DEDUPLICATION_INTERVAL_SECONDS))
}

/// Group ids, deduplication ids and receive-attempt ids share one alphabet: up to 128
/// alphanumeric or ASCII punctuation characters.
pub fn validate_id(parameter: &str, value: &str) -> Result<(), SqsError> {
    let well_formed = !value.is_empty()
        && value.len() <= ID_LENGTH_MAX
        && value
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte.is_ascii_punctuation());
    if well_formed {
        Ok(())
    } else {
        Err(SqsError::invalid_parameter(
            parameter,
            value,
            &format!(
                "{parameter} can only include alphanumeric and punctuation characters. 1 to 128 in length."
            ),
        ))
    }
}

/// The deduplication id SQS derives when `ContentBasedDeduplication` is on: SHA-256 of the body.
pub fn content_deduplication_id(body: &str) -> String {
    hex::encode(Sha256::digest(body.as_bytes()))
}

/// FIFO sequence numbers are large, increasing and non-consecutive decimal strings; Tern derives
/// them from the store's message sequence so they also survive restarts.
pub fn sequence_number(message_seq: u64) -> String {
    format!("{:020}", u128::from(message_seq) * 10_000 + 1_000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    #[test]
    fn ids_allow_alphanumerics_and_punctuation_only() {
        assert!(validate_id("MessageGroupId", "tenant-1/orders:eu").is_ok());
        assert!(validate_id("MessageGroupId", &"x".repeat(128)).is_ok());
        for bad in ["", "has space", "ümlaut", &"x".repeat(129)] {
            let error = validate_id("MessageGroupId", bad).unwrap_err();
            assert_eq!(error.code, ErrorCode::InvalidParameterValue, "{bad}");
        }
    }

    #[test]
    fn content_id_is_sha256_hex() {
        assert_eq!(
            content_deduplication_id("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn sequence_numbers_increase_and_look_like_sqs_ones() {
        let first = sequence_number(1);
        let second = sequence_number(2);
        assert_eq!(first.len(), 20);
        assert!(first < second);
    }
}
