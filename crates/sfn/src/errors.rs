//! The Step Functions errors this service raises. The front end maps each code to its wire
//! `__type` and HTTP status; here an error only says what went wrong, in AWS's words.

/// Every error code of the Step Functions API that Tern produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SfnErrorCode {
    ActivityDoesNotExist,
    ActivityLimitExceeded,
    ExecutionAlreadyExists,
    ExecutionDoesNotExist,
    ExecutionLimitExceeded,
    ExecutionNotRedrivable,
    InvalidArn,
    InvalidDefinition,
    InvalidExecutionInput,
    InvalidLoggingConfiguration,
    InvalidName,
    InvalidOutput,
    InvalidToken,
    InvalidTracingConfiguration,
    MissingRequiredParameter,
    ResourceNotFound,
    StateMachineAlreadyExists,
    StateMachineDeleting,
    StateMachineDoesNotExist,
    StateMachineLimitExceeded,
    StateMachineTypeNotSupported,
    TaskDoesNotExist,
    TaskTimedOut,
    TooManyTags,
    ValidationException,
    /// Tern's fault: storage failed.
    InternalError,
    ServiceUnavailable,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code:?}: {message}")]
pub struct SfnError {
    pub code: SfnErrorCode,
    pub message: String,
}

impl SfnError {
    pub fn new(code: SfnErrorCode, message: impl Into<String>) -> SfnError {
        SfnError {
            code,
            message: message.into(),
        }
    }

    pub fn validation(message: impl Into<String>) -> SfnError {
        SfnError::new(SfnErrorCode::ValidationException, message)
    }

    pub fn invalid_arn(arn: &str) -> SfnError {
        SfnError::new(SfnErrorCode::InvalidArn, format!("Invalid Arn: '{arn}'"))
    }

    pub fn machine_not_found(arn: &str) -> SfnError {
        SfnError::new(
            SfnErrorCode::StateMachineDoesNotExist,
            format!("State Machine Does Not Exist: '{arn}'"),
        )
    }

    pub fn execution_not_found(arn: &str) -> SfnError {
        SfnError::new(
            SfnErrorCode::ExecutionDoesNotExist,
            format!("Execution Does Not Exist: '{arn}'"),
        )
    }

    pub fn activity_not_found(arn: &str) -> SfnError {
        SfnError::new(
            SfnErrorCode::ActivityDoesNotExist,
            format!("Activity Does Not Exist: '{arn}'"),
        )
    }

    pub fn internal(detail: impl std::fmt::Display) -> SfnError {
        SfnError::new(SfnErrorCode::InternalError, detail.to_string())
    }
}

pub(crate) fn store_error(error: tern_store::StoreError) -> SfnError {
    match error {
        tern_store::StoreError::Closed => SfnError::new(
            SfnErrorCode::ServiceUnavailable,
            "The service is shutting down.",
        ),
        other => {
            tracing::error!(error = %other, "process store failure");
            SfnError::internal("storage failure")
        }
    }
}
