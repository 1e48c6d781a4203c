//! The SQS front end: turns an SQS request in the AWS JSON 1.0 protocol into a typed call on the
//! [`Broker`] and the result back into the reply or error an SDK expects.
//!
//! - [`context`]: who is asking and how they reached us (host for queue URLs, region, account).
//! - [`actions`]: one module per family of SQS actions, each with its input and output shapes.
//! - `shapes`: the JSON shapes shared by several actions (message attributes, batch failures).
//!
//! Architecture invariant: no storage types and no HTTP framework here. The server crate hands in
//! header values and body bytes; this crate hands back a [`WireResponse`].

pub mod actions;
pub mod context;
mod shapes;

pub use context::RequestContext;
use serde::de::DeserializeOwned;
use tern_aws_wire::{WireError, WireResponse, json};
use tern_broker::Broker;
use tern_core::{ErrorCode, SqsError};

/// `X-Amz-Target` prefix of every SQS JSON request.
pub const TARGET_PREFIX: &str = "AmazonSQS";

pub fn wire_error(error: &SqsError) -> WireError {
    WireError {
        json_type: error.code.json_type(),
        query_code: error.code.query_code(),
        status: error.code.http_status(),
        sender_fault: error.code.is_sender_fault(),
        message: error.message.clone(),
    }
}

/// Renders an error that arose before any action ran (bad framing, oversized body).
pub fn error_response(error: &SqsError) -> WireResponse {
    json::failure(&tern_aws_wire::new_request_id(), &wire_error(error))
}

/// Handles one JSON 1.0 request. `target` is the `X-Amz-Target` header, if any.
pub async fn handle_json(
    broker: &Broker,
    context: &RequestContext,
    target: Option<&str>,
    body: &[u8],
) -> WireResponse {
    let request_id = tern_aws_wire::new_request_id();
    let Some(operation) =
        target.and_then(|target| json::operation_from_target(target, TARGET_PREFIX))
    else {
        let error = SqsError::new(
            ErrorCode::UnknownOperation,
            format!(
                "The operation {} is not recognised.",
                target.unwrap_or("(missing X-Amz-Target)")
            ),
        );
        return json::failure(&request_id, &wire_error(&error));
    };
    match actions::dispatch(broker, context, operation, body).await {
        Ok(reply) => json::success(&request_id, reply),
        Err(error) => {
            tracing::debug!(operation, code = ?error.code, message = %error.message, "request failed");
            json::failure(&request_id, &wire_error(&error))
        }
    }
}

/// Parses a JSON request body into an action's input. An empty body is an empty object.
pub(crate) fn parse_input<T: DeserializeOwned>(body: &[u8]) -> Result<T, SqsError> {
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}".as_slice()
    } else {
        body
    };
    serde_json::from_slice(body).map_err(|error| {
        SqsError::new(
            ErrorCode::Serialization,
            format!("The request could not be read: {error}"),
        )
    })
}

/// Encodes an action's output.
pub(crate) fn encode(output: &impl serde::Serialize) -> Result<Vec<u8>, SqsError> {
    serde_json::to_vec(output).map_err(SqsError::internal)
}

pub(crate) fn required<T>(value: Option<T>, name: &str) -> Result<T, SqsError> {
    value.ok_or_else(|| SqsError::missing_parameter(name))
}
