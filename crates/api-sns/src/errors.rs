//! The SNS error catalogue: each [`SnsErrorCode`] as SNS puts it on the wire (code, HTTP status,
//! sender or receiver fault), from the SNS service model.

use tern_aws_wire::WireError;
use tern_aws_wire::query::QueryError;
use tern_broker::topics::{SnsError, SnsErrorCode};

/// (Query code, HTTP status, sender fault) of each error.
pub fn catalogue(code: SnsErrorCode) -> (&'static str, u16, bool) {
    use SnsErrorCode::*;
    match code {
        InvalidParameter => ("InvalidParameter", 400, true),
        // The model names the shape InvalidParameterValueException but its code is this.
        InvalidParameterValue => ("ParameterValueInvalid", 400, true),
        NotFound => ("NotFound", 404, true),
        ResourceNotFound => ("ResourceNotFound", 404, true),
        AuthorizationError => ("AuthorizationError", 403, true),
        TopicLimitExceeded => ("TopicLimitExceeded", 403, true),
        SubscriptionLimitExceeded => ("SubscriptionLimitExceeded", 403, true),
        FilterPolicyLimitExceeded => ("FilterPolicyLimitExceeded", 403, true),
        TagLimitExceeded => ("TagLimitExceeded", 400, true),
        TagPolicy => ("TagPolicy", 400, true),
        EmptyBatchRequest => ("EmptyBatchRequest", 400, true),
        TooManyEntriesInBatchRequest => ("TooManyEntriesInBatchRequest", 400, true),
        BatchEntryIdsNotDistinct => ("BatchEntryIdsNotDistinct", 400, true),
        InvalidBatchEntryId => ("InvalidBatchEntryId", 400, true),
        BatchRequestTooLong => ("BatchRequestTooLong", 400, true),
        InternalError => ("InternalError", 500, false),
        ServiceUnavailable => ("ServiceUnavailable", 503, false),
    }
}

pub fn wire_error(error: &SnsError) -> WireError {
    let (code, status, sender_fault) = catalogue(error.code);
    WireError {
        // SNS speaks only Query; the JSON type is never rendered.
        json_type: code,
        query_code: code,
        status,
        sender_fault,
        message: error.message.clone(),
    }
}

/// Why a request failed: an SNS error, or a fault in the Query framing itself.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RequestError {
    #[error(transparent)]
    Sns(#[from] SnsError),
    #[error(transparent)]
    Query(#[from] QueryError),
}

impl RequestError {
    pub(crate) fn wire_error(&self) -> WireError {
        match self {
            RequestError::Sns(error) => wire_error(error),
            RequestError::Query(error) => error.to_wire(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_statuses_follow_the_model() {
        assert_eq!(catalogue(SnsErrorCode::NotFound), ("NotFound", 404, true));
        assert_eq!(
            catalogue(SnsErrorCode::InvalidParameterValue),
            ("ParameterValueInvalid", 400, true)
        );
        assert_eq!(
            catalogue(SnsErrorCode::AuthorizationError),
            ("AuthorizationError", 403, true)
        );
        let internal = wire_error(&SnsError::internal("boom"));
        assert_eq!((internal.status, internal.sender_fault), (500, false));
    }
}
