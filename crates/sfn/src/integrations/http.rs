//! `http:invoke` and Lambda functions mapped to HTTP endpoints.
//!
//! `http:invoke` maps AWS's request (`ApiEndpoint`, `Method`, `Headers`, `QueryParameters`,
//! `RequestBody`) onto an HTTP/1.1 call (`http://` or `https://`, through the shared outbound
//! client of `tern-outbound`) and the response onto `StatusCode`, `StatusText`, `Headers` and
//! `ResponseBody`; a non-2xx status fails the task with `States.Http.StatusCode.NNN`, and an
//! endpoint that cannot be reached, refuses the TLS handshake or does not answer fails it with
//! `States.Http.Socket`. A Lambda function is whatever endpoint the configuration maps
//! its name to: Tern POSTs the payload, and the JSON reply is the function's result (a non-2xx
//! reply or an `X-Amz-Function-Error` header is a function error, named by the reply's
//! `errorType` as Lambda does).

use std::time::Duration;

use bytes::Bytes;
use serde_json::{Map, Value, json};
use tern_asl::errors::Failure;

use super::text_of;
use crate::Engine;
use crate::executions::PAYLOAD_BYTES_MAX;

/// Bound on one outbound call; AWS's `http:invoke` gives up after 60 seconds too.
const CALL_TIMEOUT: Duration = Duration::from_secs(60);
const METHODS: &[&str] = &["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"];

/// The engine's side of the shared outbound client: a call with AWS's time limit and Step
/// Functions' payload limit on the reply.
pub(crate) struct HttpClient {
    client: tern_outbound::Client,
}

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Bytes,
}

#[derive(Debug)]
enum CallError {
    BadRequest(String),
    Transport(tern_outbound::SendError),
}

impl HttpClient {
    pub fn new(client: tern_outbound::Client) -> HttpClient {
        HttpClient { client }
    }

    async fn call(
        &self,
        method: &str,
        uri: &str,
        headers: &[(String, String)],
        body: Bytes,
    ) -> Result<Reply, CallError> {
        let mut builder = http::Request::builder().method(method).uri(uri);
        for (name, value) in headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let request = builder
            .body(body)
            .map_err(|error| CallError::BadRequest(error.to_string()))?;
        let response = self
            .client
            .fetch(request, CALL_TIMEOUT, PAYLOAD_BYTES_MAX)
            .await
            .map_err(|error| match error {
                tern_outbound::SendError::InvalidRequest(detail) => CallError::BadRequest(detail),
                other => CallError::Transport(other),
            })?;
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_owned(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect();
        Ok(Reply {
            status: response.status().as_u16(),
            headers,
            body: response.into_body(),
        })
    }
}

fn runtime(cause: impl Into<String>) -> Failure {
    Failure::new("States.Runtime", cause)
}

/// JSON if it parses, the text otherwise.
fn body_value(body: &[u8]) -> Value {
    if body.is_empty() {
        return Value::Null;
    }
    serde_json::from_slice(body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()))
}

fn query_string(parameters: &Value) -> String {
    let Some(map) = parameters.as_object() else {
        return String::new();
    };
    let mut out = String::new();
    for (key, value) in map {
        let values = match value {
            Value::Array(items) => items.iter().map(text_of).collect(),
            other => vec![text_of(other)],
        };
        for value in values {
            if !out.is_empty() {
                out.push('&');
            }
            out.push_str(&percent_encode(key));
            out.push('=');
            out.push_str(&percent_encode(&value));
        }
    }
    out
}

fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// `Transform.RequestBodyEncoding: URL_ENCODED`: an object as a form, nested keys in brackets,
/// arrays as `ArrayFormat` says (`INDICES` `a[0]=x`, `REPEAT` `a=x&a=y`, `COMMAS` `a=x,y`,
/// `BRACKETS` `a[]=x`).
fn url_encode(value: &Value, array_format: &str) -> String {
    fn walk(prefix: &str, value: &Value, format: &str, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                for (key, inner) in map {
                    let name = if prefix.is_empty() {
                        key.clone()
                    } else {
                        format!("{prefix}[{key}]")
                    };
                    walk(&name, inner, format, out);
                }
            }
            Value::Array(items) if format == "COMMAS" => {
                let joined: Vec<String> = items.iter().map(text_of).collect();
                out.push(format!(
                    "{}={}",
                    percent_encode(prefix),
                    percent_encode(&joined.join(","))
                ));
            }
            Value::Array(items) => {
                for (index, item) in items.iter().enumerate() {
                    let name = match format {
                        "REPEAT" => prefix.to_owned(),
                        "BRACKETS" => format!("{prefix}[]"),
                        _ => format!("{prefix}[{index}]"),
                    };
                    walk(&name, item, format, out);
                }
            }
            other => out.push(format!(
                "{}={}",
                percent_encode(prefix),
                percent_encode(&text_of(other))
            )),
        }
    }
    let mut out = Vec::new();
    walk("", value, array_format, &mut out);
    out.join("&")
}

/// The function name in a Lambda ARN, a partial ARN (`ACCOUNT:function:NAME`) or
/// `NAME[:QUALIFIER]`.
fn function_name(reference: &str) -> &str {
    match reference.split_once("function:") {
        Some((_, rest)) => rest.split(':').next().unwrap_or(rest),
        None => reference.split(':').next().unwrap_or(reference),
    }
}

impl Engine {
    pub(crate) async fn http_invoke(&self, parameters: &Value) -> Result<Value, Failure> {
        let endpoint = parameters
            .get("ApiEndpoint")
            .and_then(Value::as_str)
            .ok_or_else(|| runtime("The field 'ApiEndpoint' is required by http:invoke."))?;
        let method = parameters
            .get("Method")
            .and_then(Value::as_str)
            .map(str::to_ascii_uppercase)
            .filter(|m| METHODS.contains(&m.as_str()))
            .ok_or_else(|| {
                runtime("The field 'Method' must be one of GET, POST, PUT, DELETE, PATCH, OPTIONS, HEAD.")
            })?;
        if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
            return Err(Failure::new(
                "States.Http.Socket",
                format!(
                    "Tern's http:invoke calls http:// and https:// endpoints only: '{endpoint}'"
                ),
            ));
        }
        let mut uri = endpoint.to_owned();
        if let Some(query) = parameters.get("QueryParameters") {
            let query = query_string(query);
            if !query.is_empty() {
                uri.push(if uri.contains('?') { '&' } else { '?' });
                uri.push_str(&query);
            }
        }
        let mut headers: Vec<(String, String)> = parameters
            .get("Headers")
            .and_then(Value::as_object)
            .map(|map| map.iter().map(|(k, v)| (k.clone(), text_of(v))).collect())
            .unwrap_or_default();
        let url_encoded = parameters
            .pointer("/Transform/RequestBodyEncoding")
            .and_then(Value::as_str)
            == Some("URL_ENCODED");
        let body = match parameters.get("RequestBody") {
            None => Bytes::new(),
            Some(value) if url_encoded => {
                let format = parameters
                    .pointer("/Transform/RequestEncodingOptions/ArrayFormat")
                    .and_then(Value::as_str)
                    .unwrap_or("INDICES");
                headers.push((
                    "content-type".into(),
                    "application/x-www-form-urlencoded".into(),
                ));
                Bytes::from(url_encode(value, format))
            }
            Some(Value::String(text)) => Bytes::from(text.clone()),
            Some(other) => {
                if !headers
                    .iter()
                    .any(|(name, _)| name.eq_ignore_ascii_case("content-type"))
                {
                    headers.push(("content-type".into(), "application/json".into()));
                }
                Bytes::from(other.to_string())
            }
        };
        let reply = self
            .http
            .call(&method, &uri, &headers, body)
            .await
            .map_err(|error| match error {
                CallError::BadRequest(detail) => runtime(format!("Invalid HTTP request: {detail}")),
                CallError::Transport(error) => {
                    Failure::new("States.Http.Socket", error.to_string())
                }
            })?;
        let mut reply_headers = Map::new();
        for (name, value) in &reply.headers {
            let entry = reply_headers
                .entry(name.clone())
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(values) = entry {
                values.push(json!(value));
            }
        }
        let status_text = http::StatusCode::from_u16(reply.status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or_default();
        let result = json!({
            "Headers": reply_headers,
            "ResponseBody": body_value(&reply.body),
            "StatusCode": reply.status,
            "StatusText": status_text,
        });
        if !(200..300).contains(&reply.status) {
            return Err(Failure::new(
                format!("States.Http.StatusCode.{}", reply.status),
                result.to_string(),
            ));
        }
        Ok(result)
    }

    /// Invokes a Lambda function through its configured endpoint. `wrapped`: the
    /// `lambda:invoke` integration's result shape, rather than the bare function result.
    pub(crate) async fn lambda_invoke(
        &self,
        reference: &str,
        region: &str,
        payload: Value,
        wrapped: bool,
    ) -> Result<Value, Failure> {
        let name = function_name(reference);
        let function_arn = format!(
            "arn:aws:lambda:{region}:{}:function:{name}",
            self.config.account_id
        );
        let Some(endpoint) = self.config.lambda_endpoints.get(name) else {
            return Err(Failure::new(
                "Lambda.ResourceNotFoundException",
                format!(
                    "Function not found: {function_arn} (Service: AWSLambda; Status Code: 404; Error Code: ResourceNotFoundException; Request ID: {})",
                    uuid::Uuid::new_v4()
                ),
            ));
        };
        let payload = if payload.is_null() {
            json!({})
        } else {
            payload
        };
        let headers = vec![("content-type".to_owned(), "application/json".to_owned())];
        let reply = self
            .http
            .call("POST", endpoint, &headers, Bytes::from(payload.to_string()))
            .await
            .map_err(|error| {
                let detail = match error {
                    CallError::BadRequest(detail) => detail,
                    CallError::Transport(error) => error.to_string(),
                };
                Failure::new(
                    "Lambda.ServiceException",
                    format!("The function {name} could not be reached at {endpoint}: {detail}"),
                )
            })?;
        let function_error = reply
            .headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case("x-amz-function-error"));
        let body = body_value(&reply.body);
        if function_error || !(200..300).contains(&reply.status) {
            let error_type = body.get("errorType").and_then(Value::as_str);
            return Err(match error_type {
                Some(error_type) => Failure::new(error_type, text_of(&body)),
                None => Failure::new(
                    "Lambda.Unknown",
                    "The cause could not be determined because Lambda did not return an error type.",
                ),
            });
        }
        if !wrapped {
            return Ok(body);
        }
        Ok(json!({
            "ExecutedVersion": "$LATEST",
            "Payload": body,
            "SdkHttpMetadata": {"HttpStatusCode": 200},
            "SdkResponseMetadata": {"RequestId": uuid::Uuid::new_v4().to_string()},
            "StatusCode": 200,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_names_from_every_reference_form() {
        assert_eq!(
            function_name("arn:aws:lambda:us-east-1:000000000000:function:score:$LATEST"),
            "score"
        );
        assert_eq!(function_name("000000000000:function:score"), "score");
        assert_eq!(function_name("score:prod"), "score");
        assert_eq!(function_name("score"), "score");
    }

    #[test]
    fn request_bodies_url_encode_like_aws() {
        let body = json!({"name": "a b", "tags": ["x", "y"], "address": {"city": "Oslo"}});
        assert_eq!(
            url_encode(&body, "INDICES"),
            "address%5Bcity%5D=Oslo&name=a%20b&tags%5B0%5D=x&tags%5B1%5D=y"
        );
        assert_eq!(url_encode(&json!({"t": ["x", "y"]}), "REPEAT"), "t=x&t=y");
        assert_eq!(url_encode(&json!({"t": ["x", "y"]}), "COMMAS"), "t=x%2Cy");
        assert_eq!(url_encode(&json!({"t": ["x"]}), "BRACKETS"), "t%5B%5D=x");
    }

    #[test]
    fn query_parameters_are_encoded() {
        assert_eq!(
            query_string(&json!({"a": "x y", "b": [1, "&"]})),
            "a=x%20y&b=1&b=%26"
        );
        assert_eq!(body_value(b"{\"a\":1}"), json!({"a": 1}));
        assert_eq!(body_value(b"plain"), json!("plain"));
    }
}
