//! The SNS front end: turns an SNS request (the Query protocol: a form in, XML out) into a typed
//! call on the broker's topics service and the result back into the reply an SDK expects.
//!
//! - `actions`: one module per family of SNS actions, each a typed operation with its input's
//!   Query description and its output's XML.
//! - `codec`: decoding a form into an input (SNS maps and lists are `entry`/`member`-wrapped) and
//!   the `<XResponse>` envelope.
//! - `errors`: the SNS error catalogue — code, HTTP status, fault — for every `SnsErrorCode`.
//!
//! Architecture invariant: no storage types, no HTTP framework, no SNS rule. The server hands in
//! the query string and body; this crate hands back a [`WireResponse`].

mod actions;
mod codec;
mod errors;

pub use actions::ACTIONS;
pub use codec::XML_NAMESPACE;
pub use errors::{catalogue, wire_error};
use tern_aws_wire::WireResponse;
use tern_aws_wire::query::{self, ActionRequest};
use tern_broker::Broker;
use tern_broker::topics::TopicsContext;

/// The SigV4 service name SNS requests are signed for.
pub const SIGNING_SERVICE: &str = "sns";

/// Whether `action` is one this front end serves (for routing unsigned Query requests).
pub fn is_sns_action(action: &str) -> bool {
    ACTIONS.contains(&action)
}

/// Handles one SNS request: `query_string` is the URL's, `form_body` a form-encoded POST body
/// (empty for GET).
pub async fn handle_query(
    broker: &Broker,
    context: &TopicsContext,
    query_string: Option<&str>,
    form_body: &[u8],
) -> WireResponse {
    let request_id = tern_aws_wire::new_request_id();
    let request = match ActionRequest::parse(query_string, form_body, &request_id, XML_NAMESPACE) {
        Ok(request) => request,
        Err(reply) => return reply,
    };
    let action = request.action.as_str();
    match actions::dispatch(broker, context, &request.params, action, &request_id).await {
        Ok(body) => query::success(&request_id, body),
        Err(error) => {
            tracing::debug!(action, %error, "SNS request failed");
            query::failure(&request_id, XML_NAMESPACE, &error.wire_error())
        }
    }
}

/// An error raised before any action ran (e.g. an oversized body), as an SNS `ErrorResponse`.
pub fn error_response(error: &tern_broker::topics::SnsError) -> WireResponse {
    query::failure(
        &tern_aws_wire::new_request_id(),
        XML_NAMESPACE,
        &wire_error(error),
    )
}
