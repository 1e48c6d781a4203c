//! The SQS error catalogue as data, in the spirit of nats-server's `errors.json`: each code knows
//! its JSON `__type`, its Query-protocol code (also sent in `x-amzn-query-error`), its HTTP status
//! and whether the sender is at fault. Protocol crates render these; nothing else decides them.

use std::fmt;

macro_rules! error_catalogue {
    ($( $variant:ident => ($json_type:literal, $query_code:literal, $status:literal, $sender_fault:literal) ),* $(,)?) => {
        /// Every error Tern's SQS surface can return.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode { $( $variant ),* }

        impl ErrorCode {
            pub const ALL: &'static [ErrorCode] = &[ $( ErrorCode::$variant ),* ];

            /// The JSON protocol's `__type`, fully qualified as AWS sends it.
            pub fn json_type(self) -> &'static str {
                match self { $( ErrorCode::$variant => $json_type ),* }
            }

            /// The Query protocol's `Code`, also the first half of `x-amzn-query-error`.
            pub fn query_code(self) -> &'static str {
                match self { $( ErrorCode::$variant => $query_code ),* }
            }

            pub fn http_status(self) -> u16 {
                match self { $( ErrorCode::$variant => $status ),* }
            }

            /// `Sender` errors are the caller's to fix; `Receiver` errors are ours.
            pub fn is_sender_fault(self) -> bool {
                match self { $( ErrorCode::$variant => $sender_fault ),* }
            }
        }
    };
}

error_catalogue! {
    QueueDoesNotExist => ("com.amazonaws.sqs#QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue", 400, true),
    QueueNameExists => ("com.amazonaws.sqs#QueueNameExists", "QueueAlreadyExists", 400, true),
    QueueDeletedRecently => ("com.amazonaws.sqs#QueueDeletedRecently", "AWS.SimpleQueueService.QueueDeletedRecently", 400, true),
    MessageNotInflight => ("com.amazonaws.sqs#MessageNotInflight", "AWS.SimpleQueueService.MessageNotInflight", 400, true),
    ReceiptHandleIsInvalid => ("com.amazonaws.sqs#ReceiptHandleIsInvalid", "ReceiptHandleIsInvalid", 404, true),
    InvalidIdFormat => ("com.amazonaws.sqs#InvalidIdFormat", "InvalidIdFormat", 400, true),
    BatchEntryIdsNotDistinct => ("com.amazonaws.sqs#BatchEntryIdsNotDistinct", "AWS.SimpleQueueService.BatchEntryIdsNotDistinct", 400, true),
    BatchRequestTooLong => ("com.amazonaws.sqs#BatchRequestTooLong", "AWS.SimpleQueueService.BatchRequestTooLong", 400, true),
    EmptyBatchRequest => ("com.amazonaws.sqs#EmptyBatchRequest", "AWS.SimpleQueueService.EmptyBatchRequest", 400, true),
    InvalidBatchEntryId => ("com.amazonaws.sqs#InvalidBatchEntryId", "AWS.SimpleQueueService.InvalidBatchEntryId", 400, true),
    TooManyEntriesInBatchRequest => ("com.amazonaws.sqs#TooManyEntriesInBatchRequest", "AWS.SimpleQueueService.TooManyEntriesInBatchRequest", 400, true),
    InvalidAttributeName => ("com.amazonaws.sqs#InvalidAttributeName", "InvalidAttributeName", 400, true),
    InvalidAttributeValue => ("com.amazonaws.sqs#InvalidAttributeValue", "InvalidAttributeValue", 400, true),
    InvalidMessageContents => ("com.amazonaws.sqs#InvalidMessageContents", "InvalidMessageContents", 400, true),
    OverLimit => ("com.amazonaws.sqs#OverLimit", "OverLimit", 403, true),
    PurgeQueueInProgress => ("com.amazonaws.sqs#PurgeQueueInProgress", "AWS.SimpleQueueService.PurgeQueueInProgress", 403, true),
    UnsupportedOperation => ("com.amazonaws.sqs#UnsupportedOperation", "AWS.SimpleQueueService.UnsupportedOperation", 400, true),
    InvalidAddress => ("com.amazonaws.sqs#InvalidAddress", "InvalidAddress", 404, true),
    InvalidSecurity => ("com.amazonaws.sqs#InvalidSecurity", "InvalidSecurity", 403, true),
    RequestThrottled => ("com.amazonaws.sqs#RequestThrottled", "RequestThrottled", 403, true),
    ResourceNotFound => ("com.amazonaws.sqs#ResourceNotFoundException", "ResourceNotFoundException", 404, true),
    InvalidParameterValue => ("com.amazonaws.sqs#InvalidParameterValue", "InvalidParameterValue", 400, true),
    MissingParameter => ("com.amazonaws.sqs#MissingParameter", "MissingParameter", 400, true),
    UnknownOperation => ("com.amazon.coral.service#UnknownOperationException", "InvalidAction", 400, true),
    Serialization => ("com.amazon.coral.service#SerializationException", "SerializationException", 400, true),
    RequestTooLarge => ("com.amazonaws.sqs#RequestEntityTooLarge", "RequestEntityTooLarge", 413, true),
    InternalError => ("com.amazonaws.sqs#InternalError", "InternalError", 500, false),
    ServiceUnavailable => ("com.amazonaws.sqs#ServiceUnavailable", "ServiceUnavailable", 503, false),
}

/// An SQS error: a catalogue code plus the human-readable message AWS would send with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code:?}: {message}")]
pub struct SqsError {
    pub code: ErrorCode,
    pub message: String,
}

impl SqsError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    pub fn queue_does_not_exist() -> Self {
        Self::new(
            ErrorCode::QueueDoesNotExist,
            "The specified queue does not exist.",
        )
    }

    pub fn missing_parameter(name: &str) -> Self {
        Self::new(
            ErrorCode::MissingParameter,
            format!("The request must contain the parameter {name}."),
        )
    }

    /// AWS phrases most range and format violations this way.
    pub fn invalid_parameter(name: &str, value: impl fmt::Display, reason: &str) -> Self {
        Self::new(
            ErrorCode::InvalidParameterValue,
            format!("Value {value} for parameter {name} is invalid. Reason: {reason}"),
        )
    }

    pub fn internal(detail: impl fmt::Display) -> Self {
        Self::new(
            ErrorCode::InternalError,
            format!("We encountered an internal error. Please try again. ({detail})"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn catalogue_entries_are_distinct_and_well_formed() {
        let mut json_types = HashSet::new();
        for code in ErrorCode::ALL {
            assert!(
                json_types.insert(code.json_type()),
                "{code:?} repeats a type"
            );
            assert!(code.json_type().contains('#'), "{code:?} lacks a namespace");
            assert!((400..600).contains(&code.http_status()));
            assert_eq!(code.is_sender_fault(), code.http_status() < 500);
        }
    }

    #[test]
    fn query_codes_match_what_sdks_expect() {
        assert_eq!(
            ErrorCode::QueueDoesNotExist.query_code(),
            "AWS.SimpleQueueService.NonExistentQueue"
        );
        assert_eq!(
            ErrorCode::QueueNameExists.query_code(),
            "QueueAlreadyExists"
        );
        assert_eq!(ErrorCode::ReceiptHandleIsInvalid.http_status(), 404);
    }
}
