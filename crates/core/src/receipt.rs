//! Receipt handles. A handle names one *receive* of one message: the queue (whose id is never
//! reused, so a re-created queue rejects old handles), the message, and a random token that the
//! store replaces on every receive, which is what makes a handle stale once the message has been
//! received again.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::error::{ErrorCode, SqsError};

const FORMAT_VERSION: u8 = 1;
const ENCODED_LENGTH_BYTES: usize = 1 + 8 + 8 + 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Receipt {
    pub queue_id: u64,
    pub message_seq: u64,
    pub token: u64,
}

impl Receipt {
    pub fn encode(&self) -> String {
        let mut bytes = Vec::with_capacity(ENCODED_LENGTH_BYTES);
        bytes.push(FORMAT_VERSION);
        bytes.extend_from_slice(&self.queue_id.to_be_bytes());
        bytes.extend_from_slice(&self.message_seq.to_be_bytes());
        bytes.extend_from_slice(&self.token.to_be_bytes());
        URL_SAFE_NO_PAD.encode(bytes)
    }

    pub fn decode(handle: &str) -> Result<Self, SqsError> {
        let invalid = || {
            SqsError::new(
                ErrorCode::ReceiptHandleIsInvalid,
                format!("The input receipt handle \"{handle}\" is not a valid receipt handle."),
            )
        };
        let bytes = URL_SAFE_NO_PAD.decode(handle).map_err(|_| invalid())?;
        if bytes.len() != ENCODED_LENGTH_BYTES || bytes[0] != FORMAT_VERSION {
            return Err(invalid());
        }
        let word = |offset: usize| {
            let mut buffer = [0u8; 8];
            buffer.copy_from_slice(&bytes[offset..offset + 8]);
            u64::from_be_bytes(buffer)
        };
        Ok(Self {
            queue_id: word(1),
            message_seq: word(9),
            token: word(17),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let receipt = Receipt {
            queue_id: 7,
            message_seq: u64::MAX - 3,
            token: 0xdead_beef_cafe_f00d,
        };
        assert_eq!(Receipt::decode(&receipt.encode()), Ok(receipt));
    }

    #[test]
    fn rejects_garbage_with_the_aws_code() {
        for handle in ["", "not-a-handle", "AQ", "!!!!", &"A".repeat(200)] {
            let error = Receipt::decode(handle).expect_err(handle);
            assert_eq!(error.code, ErrorCode::ReceiptHandleIsInvalid);
        }
    }
}
