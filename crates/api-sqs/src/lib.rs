//! The SQS front end: turns an SQS request in the AWS JSON 1.0 or the Query protocol into a typed
//! call on the [`Broker`] and the result back into the reply or error an SDK expects.
//!
//! - [`context`]: who is asking and how they reached us (host for queue URLs, region, account).
//! - [`actions`]: one module per family of SQS actions, each a typed operation with its input and
//!   output types, the Query description of its input and the XML rendering of its output.
//! - `codec`: the JSON and Query codecs that read every input and write every output, so both
//!   protocols share one set of operations.
//! - `shapes`: the shapes shared by several actions (message attributes, batch failures).
//!
//! Architecture invariant: no storage types and no HTTP framework here. The server crate hands in
//! header values and body bytes; this crate hands back a [`WireResponse`].

pub mod actions;
mod codec;
pub mod context;
mod shapes;

pub use codec::XML_NAMESPACE;
pub use context::RequestContext;
use tern_aws_wire::query::{self, ActionRequest};
use tern_aws_wire::{WireError, WireResponse, json};
use tern_broker::Broker;
use tern_core::{ErrorCode, SqsError};

use crate::codec::Codec;

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

/// [`error_response`] for a request that came in the Query protocol.
pub fn query_error_response(error: &SqsError) -> WireResponse {
    query::failure(
        &tern_aws_wire::new_request_id(),
        XML_NAMESPACE,
        &wire_error(error),
    )
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
    let codec = Codec::Json { body };
    match actions::dispatch(broker, context, operation, &codec).await {
        Ok(reply) => json::success(&request_id, reply),
        Err(error) => {
            tracing::debug!(operation, %error, "request failed");
            json::failure(&request_id, &error.wire_error())
        }
    }
}

/// Handles one Query-protocol request: `query_string` is the URL's (GET parameters, or any a POST
/// carries there) and `form_body` a form-encoded POST body (empty for GET).
pub async fn handle_query(
    broker: &Broker,
    context: &RequestContext,
    query_string: Option<&str>,
    form_body: &[u8],
) -> WireResponse {
    let request_id = tern_aws_wire::new_request_id();
    let request = match ActionRequest::parse(query_string, form_body, &request_id, XML_NAMESPACE) {
        Ok(request) => request,
        Err(reply) => return reply,
    };
    let action = request.action.as_str();
    let codec = Codec::Query {
        params: &request.params,
        action,
        request_id: &request_id,
    };
    match actions::dispatch(broker, context, action, &codec).await {
        Ok(body) => query::success(&request_id, body),
        Err(error) => {
            tracing::debug!(action, %error, "query request failed");
            query::failure(&request_id, XML_NAMESPACE, &error.wire_error())
        }
    }
}

pub(crate) fn required<T>(value: Option<T>, name: &str) -> Result<T, SqsError> {
    value.ok_or_else(|| SqsError::missing_parameter(name))
}
