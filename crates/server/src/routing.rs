//! Request → protocol front end → response.
//!
//! SNS and SQS share the port. A request signed for service `sns` (its SigV4 credential scope)
//! goes to the SNS front end; so does an unsigned Query request whose `Action` is an SNS action.
//! Everything else is SQS, as before.

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
/// times (`\u0001`); allow for that and no more. Form encoding inflates less (`%XX`, three
/// times at most), so the same bound covers Query requests.
const REQUEST_BODY_BYTES_MAX: usize = 6 * MESSAGE_SIZE_BYTES_MAX as usize + 64 * 1024;

pub struct AppState {
    broker: Arc<Broker>,
    engine: Arc<tern_sfn::Engine>,
    config: ServerConfig,
    local_address: SocketAddr,
}

impl AppState {
    pub fn new(
        broker: Arc<Broker>,
        engine: Arc<tern_sfn::Engine>,
        config: ServerConfig,
        local_address: SocketAddr,
    ) -> Arc<Self> {
        Arc::new(Self {
            broker,
            engine,
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

/// Which front end a request is for. `X-Amz-Target` means AWS JSON 1.0; otherwise a GET, or a
/// POST with a form body or an `Action` in its query string, is the Query protocol. Anything else
/// is answered as JSON, the protocol today's SDKs speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Protocol {
    Json,
    Query,
}

fn protocol_of(method: &Method, uri: &Uri, headers: &HeaderMap) -> Protocol {
    if headers.contains_key("x-amz-target") {
        return Protocol::Json;
    }
    let action_in_url = uri
        .query()
        .is_some_and(|query| query.split('&').any(|pair| pair.starts_with("Action=")));
    if *method == Method::GET
        || (*method == Method::POST && (is_form_encoded(headers) || action_in_url))
    {
        Protocol::Query
    } else {
        Protocol::Json
    }
}

async fn handle(
    State(state): State<Arc<AppState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if method == Method::GET
        && let Some(certificate) = state.broker.sns_signing_certificate(uri.path())
    {
        return (
            [(header::CONTENT_TYPE, "application/x-pem-file")],
            certificate,
        )
            .into_response();
    }
    if let Some(target) =
        header_text(&headers, "x-amz-target").filter(|target| tern_api_sfn::is_sfn_target(target))
    {
        return handle_sfn(&state, &headers, target, body).await;
    }
    let protocol = protocol_of(&method, &uri, &headers);
    let signed_for_sns = header_text(&headers, header::AUTHORIZATION)
        .and_then(sigv4::credential_scope)
        .is_some_and(|scope| scope.service == tern_api_sns::SIGNING_SERVICE);
    if signed_for_sns {
        return handle_sns(&state, &method, &uri, &headers, body).await;
    }
    let refuse = |error: SqsError| {
        into_response(match protocol {
            Protocol::Json => tern_api_sqs::error_response(&error),
            Protocol::Query => tern_api_sqs::query_error_response(&error),
        })
    };
    if protocol == Protocol::Json && method != Method::POST {
        return refuse(SqsError::new(
            ErrorCode::UnknownOperation,
            format!("{method} requests are not supported; SQS requests are POSTed."),
        ));
    }
    let body: Bytes = match axum::body::to_bytes(body, REQUEST_BODY_BYTES_MAX).await {
        Ok(body) => body,
        Err(_) => {
            return refuse(SqsError::new(
                ErrorCode::RequestTooLarge,
                format!("The request body exceeds {REQUEST_BODY_BYTES_MAX} bytes."),
            ));
        }
    };
    let context = request_context(&state, &uri, &headers);
    let wire = match protocol {
        Protocol::Json => {
            let target = header_text(&headers, "x-amz-target");
            tern_api_sqs::handle_json(&state.broker, &context, target, &body).await
        }
        Protocol::Query => {
            let form_body = form_body(&method, &headers, &body);
            // Unsigned requests (and clients that sign for another service) reach SNS by action.
            if action_of(uri.query(), form_body)
                .is_some_and(|action| tern_api_sns::is_sns_action(&action))
            {
                let context = topics_context(&state, &headers);
                tern_api_sns::handle_query(&state.broker, &context, uri.query(), form_body).await
            } else {
                tern_api_sqs::handle_query(&state.broker, &context, uri.query(), form_body).await
            }
        }
    };
    into_response(wire)
}

/// A GET's parameters are all in its URL; only a form-encoded POST has them in the body.
fn form_body<'a>(method: &Method, headers: &HeaderMap, body: &'a [u8]) -> &'a [u8] {
    if *method == Method::POST && is_form_encoded(headers) {
        body
    } else {
        &[]
    }
}

/// The `Action` parameter of a Query request, from the URL or the form.
fn action_of(query_string: Option<&str>, form_body: &[u8]) -> Option<String> {
    let from_url = query_string.map(str::as_bytes).unwrap_or_default();
    form_urlencoded::parse(from_url)
        .chain(form_urlencoded::parse(form_body))
        .find(|(name, _)| name == "Action")
        .map(|(_, value)| value.into_owned())
}

/// A request signed for `sns`: SNS speaks only the Query protocol.
async fn handle_sns(
    state: &AppState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Body,
) -> Response {
    let body: Bytes = match axum::body::to_bytes(body, REQUEST_BODY_BYTES_MAX).await {
        Ok(body) => body,
        Err(_) => {
            return into_response(tern_api_sns::error_response(
                &tern_broker::topics::SnsError::invalid_parameter(format!(
                    "Request Reason: the request body exceeds {REQUEST_BODY_BYTES_MAX} bytes"
                )),
            ));
        }
    };
    let context = topics_context(state, headers);
    let form_body = form_body(method, headers, &body);
    into_response(tern_api_sns::handle_query(&state.broker, &context, uri.query(), form_body).await)
}

/// `X-Amz-Target: AWSStepFunctions.*` (AWS JSON 1.0), whatever the host: SDKs send
/// StartSyncExecution to a `sync-` host prefix, which reaches us as any other request.
async fn handle_sfn(state: &AppState, headers: &HeaderMap, target: &str, body: Body) -> Response {
    let Ok(body) = axum::body::to_bytes(body, REQUEST_BODY_BYTES_MAX).await else {
        return into_response(tern_api_sfn::error_response(
            &tern_aws_wire::new_request_id(),
            &tern_sfn::SfnError::validation(format!(
                "The request body exceeds {REQUEST_BODY_BYTES_MAX} bytes."
            )),
        ));
    };
    let scope = header_text(headers, header::AUTHORIZATION).and_then(sigv4::credential_scope);
    let context = tern_api_sfn::RequestContext {
        region: scope.map_or_else(|| state.config.default_region.clone(), |scope| scope.region),
    };
    into_response(tern_api_sfn::handle_json(&state.engine, &context, Some(target), &body).await)
}

fn topics_context(state: &AppState, headers: &HeaderMap) -> tern_broker::topics::TopicsContext {
    let scope = header_text(headers, header::AUTHORIZATION).and_then(sigv4::credential_scope);
    tern_broker::topics::TopicsContext {
        region: scope.map_or_else(|| state.config.default_region.clone(), |scope| scope.region),
        host: header_text(headers, header::HOST)
            .map(str::to_owned)
            .unwrap_or_else(|| state.local_address.to_string()),
        // Tern verifies no signatures yet; a signed request is one that carries a signature.
        authenticated: headers.contains_key(header::AUTHORIZATION),
    }
}

fn request_context(state: &AppState, uri: &Uri, headers: &HeaderMap) -> RequestContext {
    let scope = header_text(headers, header::AUTHORIZATION).and_then(sigv4::credential_scope);
    let host = header_text(headers, header::HOST)
        .map(str::to_owned)
        .unwrap_or_else(|| state.local_address.to_string());
    RequestContext {
        host,
        account_id: state.config.account_id.clone(),
        region: scope.as_ref().map_or_else(
            || state.config.default_region.clone(),
            |scope| scope.region.clone(),
        ),
        access_key_id: scope.map(|scope| scope.access_key_id),
        path: uri.path().to_owned(),
    }
}

fn is_form_encoded(headers: &HeaderMap) -> bool {
    const FORM: &str = "application/x-www-form-urlencoded";
    header_text(headers, header::CONTENT_TYPE).is_some_and(|content_type| {
        content_type
            .get(..FORM.len())
            .is_some_and(|prefix| prefix.eq_ignore_ascii_case(FORM))
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    fn protocol(method: Method, uri: &str, headers: &[(&'static str, &'static str)]) -> Protocol {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.insert(*name, HeaderValue::from_static(value));
        }
        protocol_of(&method, &uri.parse().unwrap(), &map)
    }

    #[test]
    fn the_action_is_found_in_the_url_or_the_form() {
        assert_eq!(
            action_of(Some("Version=1&Action=Publish"), b""),
            Some("Publish".to_owned())
        );
        assert_eq!(
            action_of(None, b"TopicArn=x&Action=CreateTopic"),
            Some("CreateTopic".to_owned())
        );
        assert_eq!(action_of(None, b"QueueName=q"), None);
        assert!(tern_api_sns::is_sns_action("Subscribe"));
        assert!(!tern_api_sns::is_sns_action("CreateQueue"));
        assert!(
            !tern_api_sns::is_sns_action("AddPermission"),
            "shared names stay with SQS unless signed for sns"
        );
    }

    #[test]
    fn target_means_json_and_forms_or_gets_mean_query() {
        const FORM: (&str, &str) = (
            "content-type",
            "Application/X-WWW-Form-Urlencoded; charset=utf-8",
        );
        const TARGET: (&str, &str) = ("x-amz-target", "AmazonSQS.ListQueues");
        assert_eq!(protocol(Method::POST, "/", &[TARGET, FORM]), Protocol::Json);
        assert_eq!(protocol(Method::POST, "/", &[FORM]), Protocol::Query);
        assert_eq!(
            protocol(Method::GET, "/?Action=ListQueues", &[]),
            Protocol::Query
        );
        assert_eq!(
            protocol(Method::GET, "/000000000000/q", &[]),
            Protocol::Query
        );
        assert_eq!(
            protocol(Method::POST, "/?Version=1&Action=ListQueues", &[]),
            Protocol::Query
        );
        assert_eq!(protocol(Method::POST, "/?NoAction=x", &[]), Protocol::Json);
        assert_eq!(protocol(Method::POST, "/", &[]), Protocol::Json);
        assert_eq!(protocol(Method::PUT, "/", &[FORM]), Protocol::Json);
    }
}
