//! The Step Functions error catalogue: each [`SfnErrorCode`] with its wire `__type` and HTTP
//! status, as data.

use tern_aws_wire::WireResponse;
use tern_aws_wire::json::CONTENT_TYPE;
use tern_sfn::{SfnError, SfnErrorCode};

/// The namespace AWS Step Functions puts before error names in `__type`.
const TYPE_NAMESPACE: &str = "com.amazonaws.swf.service.v2.model";

/// (code, wire name, HTTP status).
const CATALOGUE: &[(SfnErrorCode, &str, u16)] = &[
    (
        SfnErrorCode::ActivityDoesNotExist,
        "ActivityDoesNotExist",
        400,
    ),
    (
        SfnErrorCode::ActivityLimitExceeded,
        "ActivityLimitExceeded",
        400,
    ),
    (
        SfnErrorCode::ExecutionAlreadyExists,
        "ExecutionAlreadyExists",
        400,
    ),
    (
        SfnErrorCode::ExecutionDoesNotExist,
        "ExecutionDoesNotExist",
        400,
    ),
    (
        SfnErrorCode::ExecutionLimitExceeded,
        "ExecutionLimitExceeded",
        400,
    ),
    (
        SfnErrorCode::ExecutionNotRedrivable,
        "ExecutionNotRedrivable",
        400,
    ),
    (SfnErrorCode::InvalidArn, "InvalidArn", 400),
    (SfnErrorCode::InvalidDefinition, "InvalidDefinition", 400),
    (
        SfnErrorCode::InvalidExecutionInput,
        "InvalidExecutionInput",
        400,
    ),
    (
        SfnErrorCode::InvalidLoggingConfiguration,
        "InvalidLoggingConfiguration",
        400,
    ),
    (SfnErrorCode::InvalidName, "InvalidName", 400),
    (SfnErrorCode::InvalidOutput, "InvalidOutput", 400),
    (SfnErrorCode::InvalidToken, "InvalidToken", 400),
    (
        SfnErrorCode::InvalidTracingConfiguration,
        "InvalidTracingConfiguration",
        400,
    ),
    (
        SfnErrorCode::MissingRequiredParameter,
        "MissingRequiredParameter",
        400,
    ),
    (SfnErrorCode::ResourceNotFound, "ResourceNotFound", 400),
    (
        SfnErrorCode::StateMachineAlreadyExists,
        "StateMachineAlreadyExists",
        400,
    ),
    (
        SfnErrorCode::StateMachineDeleting,
        "StateMachineDeleting",
        400,
    ),
    (
        SfnErrorCode::StateMachineDoesNotExist,
        "StateMachineDoesNotExist",
        400,
    ),
    (
        SfnErrorCode::StateMachineLimitExceeded,
        "StateMachineLimitExceeded",
        400,
    ),
    (
        SfnErrorCode::StateMachineTypeNotSupported,
        "StateMachineTypeNotSupported",
        400,
    ),
    (SfnErrorCode::TaskDoesNotExist, "TaskDoesNotExist", 400),
    (SfnErrorCode::TaskTimedOut, "TaskTimedOut", 400),
    (SfnErrorCode::TooManyTags, "TooManyTags", 400),
    (
        SfnErrorCode::ValidationException,
        "ValidationException",
        400,
    ),
    (SfnErrorCode::InternalError, "InternalFailure", 500),
    (SfnErrorCode::ServiceUnavailable, "ServiceUnavailable", 503),
];

/// Errors of the protocol itself rather than of an action.
pub(crate) const UNKNOWN_OPERATION: &str = "UnknownOperationException";
pub(crate) const SERIALIZATION: &str = "SerializationException";

fn wire_name(code: SfnErrorCode) -> (&'static str, u16) {
    CATALOGUE
        .iter()
        .find(|(known, _, _)| *known == code)
        .map(|(_, name, status)| (*name, *status))
        .unwrap_or(("InternalFailure", 500))
}

pub(crate) fn respond(request_id: &str, name: &str, status: u16, message: &str) -> WireResponse {
    let body = serde_json::json!({
        "__type": format!("{TYPE_NAMESPACE}#{name}"),
        "message": message,
    });
    WireResponse {
        status,
        headers: vec![
            ("content-type", CONTENT_TYPE.to_owned()),
            ("x-amzn-requestid", request_id.to_owned()),
        ],
        body: serde_json::to_vec(&body).unwrap_or_default(),
    }
}

pub fn error_response(request_id: &str, error: &SfnError) -> WireResponse {
    let (name, status) = wire_name(error.code);
    respond(request_id, name, status, &error.message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_in_the_catalogue_once() {
        for (code, name, _) in CATALOGUE {
            assert_eq!(
                CATALOGUE.iter().filter(|(c, _, _)| c == code).count(),
                1,
                "{name}"
            );
        }
        let response = error_response(
            "r",
            &SfnError::new(SfnErrorCode::ExecutionDoesNotExist, "gone"),
        );
        assert_eq!(response.status, 400);
        let body: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
        assert_eq!(
            body["__type"],
            "com.amazonaws.swf.service.v2.model#ExecutionDoesNotExist"
        );
        assert_eq!(body["message"], "gone");
    }
}
