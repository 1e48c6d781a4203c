//! AWS wire framing that every Tern front end shares and that knows nothing about queues,
//! topics or state machines.
//!
//! - [`json`]: the AWS JSON 1.0 protocol: `X-Amz-Target` parsing, replies, and errors with
//!   `__type` and the `x-amzn-query-error` header that query-compatible SDKs read.
//! - [`query`]: the AWS Query protocol: form parameters decoded into the JSON protocol's shape
//!   (so a service keeps one set of input types), the `<XResponse>` envelope and the XML
//!   `<ErrorResponse>`.
//! - [`xml`]: the small XML writer Query replies are built with (the only user of `quick-xml`).
//! - [`sigv4`]: reading the credential scope of a SigV4 `Authorization` header, which names
//!   the service and region a request is for. (Signature verification arrives with auth.)
//!
//! Architecture invariant: no HTTP framework types appear here. Front ends hand in header
//! values and body bytes and get back a [`WireResponse`] to put on whatever server they run.

pub mod json;
pub mod query;
pub mod sigv4;
pub mod xml;

/// A reply ready to send: status, extra headers, body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireResponse {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

/// What a protocol needs to know about an error to render it; services fill it from their own
/// catalogues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireError {
    /// The fully qualified JSON `__type`, e.g. `com.amazonaws.sqs#QueueDoesNotExist`.
    pub json_type: &'static str,
    /// The Query protocol's code, e.g. `AWS.SimpleQueueService.NonExistentQueue`.
    pub query_code: &'static str,
    pub status: u16,
    pub sender_fault: bool,
    pub message: String,
}

pub fn new_request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}
