//! Request → protocol front end → response.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tern_api_sqs::RequestContext;
use tern_aws_wire::{WireResponse, sigv4};
use tern_broker::Broker;
use tern_core::limits::MESSAGE_SIZE_BYTES_MAX;
use tern_core::{ErrorCode, SqsError};

use crate::ServerConfig;

/// A JSON request holds at most a 1 MiB batch, but JSON escaping can inflate text up to six
/// times (`\u0001`); allow for that and no more.
const REQUEST_BODY_BYTES_MAX: usize = 6 * MESSAGE_SIZE_BYTES_MAX as usize + 64 * 1024;

pub struct AppState {
    broker: Arc<Broker>,
    config: ServerConfig,
    local_address: SocketAddr,
}

impl AppState {
    pub fn new(broker: Arc<Broker>, config: ServerConfig, local_address: SocketAddr) -> Arc<Self> {
        Arc::new(Self {
            broker,
            config,
            local_address,
        })
    }
}

pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/health", get(|| async { "ok" }))
        .fallback(handle)
        .with_state(state)
}

fn header_text(headers: &HeaderMap, name: impl header::AsHeaderName) -> Option<&str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

async fn handle(
    State(state): State<Arc<AppState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if method != Method::POST {
        let error = SqsError::new(
            ErrorCode::UnknownOperation,
            format!("{method} requests are not supported; SQS requests are POSTed."),
        );
        return into_response(tern_api_sqs::error_response(&error));
    }
    let body: Bytes = match axum::body::to_bytes(body, REQUEST_BODY_BYTES_MAX).await {
        Ok(body) => body,
        Err(_) => {
            let error = SqsError::new(
                ErrorCode::RequestTooLarge,
                format!("The request body exceeds {REQUEST_BODY_BYTES_MAX} bytes."),
            );
            return into_response(tern_api_sqs::error_response(&error));
        }
    };
    let scope = header_text(&headers, header::AUTHORIZATION).and_then(sigv4::credential_scope);
    let host = header_text(&headers, header::HOST)
        .map(str::to_owned)
        .unwrap_or_else(|| state.local_address.to_string());
    let context = RequestContext {
        host,
        account_id: state.config.account_id.clone(),
        region: scope.as_ref().map_or_else(
            || state.config.default_region.clone(),
            |scope| scope.region.clone(),
        ),
        access_key_id: scope.map(|scope| scope.access_key_id),
        path: uri.path().to_owned(),
    };
    let target = header_text(&headers, "x-amz-target");
    if target.is_none() && is_form_encoded(&headers) {
        let error = SqsError::new(
            ErrorCode::UnknownOperation,
            "The SQS Query protocol (form-encoded Action=...) is not supported by Tern yet; use the AWS JSON 1.0 protocol.",
        );
        return into_response(tern_api_sqs::error_response(&error));
    }
    let wire = tern_api_sqs::handle_json(&state.broker, &context, target, &body).await;
    into_response(wire)
}

fn is_form_encoded(headers: &HeaderMap) -> bool {
    header_text(headers, header::CONTENT_TYPE)
        .is_some_and(|content_type| content_type.starts_with("application/x-www-form-urlencoded"))
}

fn into_response(wire: WireResponse) -> Response {
    let status = StatusCode::from_u16(wire.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, wire.body).into_response();
    let headers = response.headers_mut();
    for (name, value) in wire.headers {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(HeaderName::from_static(name), value);
        }
    }
    response
}
