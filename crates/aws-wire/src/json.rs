//! The AWS JSON 1.0 protocol.

use serde::Serialize;

use crate::{WireError, WireResponse};

pub const CONTENT_TYPE: &str = "application/x-amz-json-1.0";

/// `AmazonSQS.SendMessage` with prefix `AmazonSQS` gives `SendMessage`.
pub fn operation_from_target<'a>(target: &'a str, service_prefix: &str) -> Option<&'a str> {
    let (prefix, operation) = target.split_once('.')?;
    (prefix == service_prefix && !operation.is_empty()).then_some(operation)
}

/// A 200 reply carrying an already-encoded JSON body.
pub fn success(request_id: &str, body: Vec<u8>) -> WireResponse {
    WireResponse {
        status: 200,
        headers: vec![
            ("content-type", CONTENT_TYPE.to_owned()),
            ("x-amzn-requestid", request_id.to_owned()),
        ],
        body,
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    #[serde(rename = "__type")]
    error_type: &'a str,
    message: &'a str,
}

/// `__type` and `message` in the body; `x-amzn-query-error: CODE;Sender|Receiver` in a header,
/// which is how query-compatible SDKs recover the Query protocol's error code.
pub fn failure(request_id: &str, error: &WireError) -> WireResponse {
    let body = ErrorBody {
        error_type: error.json_type,
        message: &error.message,
    };
    let fault = if error.sender_fault {
        "Sender"
    } else {
        "Receiver"
    };
    WireResponse {
        status: error.status,
        headers: vec![
            ("content-type", CONTENT_TYPE.to_owned()),
            ("x-amzn-requestid", request_id.to_owned()),
            (
                "x-amzn-query-error",
                format!("{};{fault}", error.query_code),
            ),
        ],
        body: serde_json::to_vec(&body).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_must_name_the_service() {
        assert_eq!(
            operation_from_target("AmazonSQS.SendMessage", "AmazonSQS"),
            Some("SendMessage")
        );
        assert_eq!(
            operation_from_target("AmazonSNS.Publish", "AmazonSQS"),
            None
        );
        assert_eq!(operation_from_target("AmazonSQS.", "AmazonSQS"), None);
        assert_eq!(operation_from_target("garbage", "AmazonSQS"), None);
    }

    #[test]
    fn failure_has_type_message_and_query_header() {
        let response = failure(
            "req-1",
            &WireError {
                json_type: "com.amazonaws.sqs#QueueDoesNotExist",
                query_code: "AWS.SimpleQueueService.NonExistentQueue",
                status: 400,
                sender_fault: true,
                message: "The specified queue does not exist.".into(),
            },
        );
        assert_eq!(response.status, 400);
        let body: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
        assert_eq!(body["__type"], "com.amazonaws.sqs#QueueDoesNotExist");
        assert_eq!(body["message"], "The specified queue does not exist.");
        assert!(response.headers.contains(&(
            "x-amzn-query-error",
            "AWS.SimpleQueueService.NonExistentQueue;Sender".to_owned()
        )));
    }
}
