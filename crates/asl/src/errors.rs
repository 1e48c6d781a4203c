//! Runtime errors: the `States.*` error names, the [`Failure`] value every state produces when
//! something goes wrong, and how an error name is matched by `ErrorEquals`.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

pub const ALL: &str = "States.ALL";
pub const TASK_FAILED: &str = "States.TaskFailed";
pub const TIMEOUT: &str = "States.Timeout";
pub const HEARTBEAT_TIMEOUT: &str = "States.HeartbeatTimeout";
pub const RUNTIME: &str = "States.Runtime";
pub const DATA_LIMIT_EXCEEDED: &str = "States.DataLimitExceeded";
pub const RESULT_PATH_MATCH_FAILURE: &str = "States.ResultPathMatchFailure";
pub const PARAMETER_PATH_FAILURE: &str = "States.ParameterPathFailure";
pub const BRANCH_FAILED: &str = "States.BranchFailed";
pub const NO_CHOICE_MATCHED: &str = "States.NoChoiceMatched";
pub const INTRINSIC_FAILURE: &str = "States.IntrinsicFailure";
pub const EXCEED_TOLERATED_FAILURE_THRESHOLD: &str = "States.ExceedToleratedFailureThreshold";
pub const ITEM_READER_FAILED: &str = "States.ItemReaderFailed";
pub const RESULT_WRITER_FAILED: &str = "States.ResultWriterFailed";
pub const PERMISSIONS: &str = "States.Permissions";
pub const QUERY_EVALUATION_ERROR: &str = "States.QueryEvaluationError";

/// Every predefined error name, for validation of `ErrorEquals` entries that start with `States.`.
pub const PREDEFINED: &[&str] = &[
    ALL,
    TASK_FAILED,
    TIMEOUT,
    HEARTBEAT_TIMEOUT,
    RUNTIME,
    DATA_LIMIT_EXCEEDED,
    RESULT_PATH_MATCH_FAILURE,
    PARAMETER_PATH_FAILURE,
    BRANCH_FAILED,
    NO_CHOICE_MATCHED,
    INTRINSIC_FAILURE,
    EXCEED_TOLERATED_FAILURE_THRESHOLD,
    ITEM_READER_FAILED,
    RESULT_WRITER_FAILED,
    PERMISSIONS,
    QUERY_EVALUATION_ERROR,
];

/// `States.Http.Socket`: an `http:invoke` call could not reach its endpoint.
pub const HTTP_SOCKET: &str = "States.Http.Socket";
/// `States.Http.StatusCode.NNN`: an `http:invoke` call got a non-2xx status.
pub const HTTP_STATUS_CODE_PREFIX: &str = "States.Http.StatusCode.";

/// Whether `name` is an error Step Functions itself can raise, so `ErrorEquals` may name it.
pub fn is_predefined(name: &str) -> bool {
    let http_status = name
        .strip_prefix(HTTP_STATUS_CODE_PREFIX)
        .is_some_and(|code| code.len() == 3 && code.bytes().all(|b| b.is_ascii_digit()));
    PREDEFINED.contains(&name) || name == HTTP_SOCKET || http_status
}

/// An error raised while running a state: the error name and a human-readable cause, exactly
/// the pair that reaches `Catch` as `{"Error": …, "Cause": …}` and `ExecutionFailed`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{error}: {cause}")]
pub struct Failure {
    pub error: String,
    pub cause: String,
}

impl Failure {
    pub fn new(error: impl Into<String>, cause: impl Into<String>) -> Failure {
        Failure {
            error: error.into(),
            cause: cause.into(),
        }
    }

    /// The error output a catcher places at its `ResultPath`.
    pub fn to_error_output(&self) -> Value {
        json!({"Error": self.error, "Cause": self.cause})
    }

    /// Errors no Retry or Catch can handle: the execution fails at once.
    pub fn is_terminal(&self) -> bool {
        self.error == RUNTIME || self.error == DATA_LIMIT_EXCEEDED
    }
}

/// Does one `ErrorEquals` entry match `error`?
///
/// `States.ALL` matches every error except the terminal ones; `States.TaskFailed` matches every
/// error except `States.Timeout` (as the AWS error-handling guide describes), so a retrier on
/// `TaskFailed` does not retry timeouts.
pub fn matches(pattern: &str, error: &str) -> bool {
    let terminal = error == RUNTIME || error == DATA_LIMIT_EXCEEDED;
    match pattern {
        ALL => !terminal,
        TASK_FAILED => !terminal && error != TIMEOUT && error != HEARTBEAT_TIMEOUT,
        _ => pattern == error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_follow_the_aws_rules() {
        assert!(matches(ALL, "MyError"));
        assert!(matches(ALL, TIMEOUT));
        assert!(!matches(ALL, RUNTIME));
        assert!(!matches(ALL, DATA_LIMIT_EXCEEDED));
        assert!(matches(TASK_FAILED, "Lambda.Unknown"));
        assert!(!matches(TASK_FAILED, TIMEOUT));
        assert!(matches(TIMEOUT, TIMEOUT));
        assert!(!matches("A", "B"));
    }

    #[test]
    fn http_errors_are_predefined() {
        assert!(is_predefined("States.Http.StatusCode.404"));
        assert!(is_predefined(HTTP_SOCKET));
        assert!(is_predefined(TIMEOUT));
        assert!(!is_predefined("States.Http.StatusCode.4x4"));
        assert!(!is_predefined("States.Nope"));
    }

    #[test]
    fn error_output_shape() {
        let failure = Failure::new("E", "C");
        assert_eq!(
            failure.to_error_output(),
            json!({"Error": "E", "Cause": "C"})
        );
        assert!(Failure::new(RUNTIME, "x").is_terminal());
    }
}
