//! Raw HTTP/1.1 over a TcpStream, for requests the SDK will not send (bad JSON, wrong types,
//! unknown targets, missing members).

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{ACCESS_KEY_ID, AwsError, DEFAULT_REGION, RAW_TIMEOUT, TestServer};

pub struct RawResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|error| panic!("response body is not JSON ({error}): {}", self.body))
    }

    pub fn type_name(&self) -> String {
        self.json()
            .get("__type")
            .and_then(|value| value.as_str())
            .unwrap_or_default()
            .to_owned()
    }

    /// Asserts status, `__type` and `x-amzn-query-error` for an SQS catalogue error.
    pub fn assert_is(&self, expected: AwsError) {
        let context = format!(
            "expected {expected:?}; got status {} headers {:?} body {}",
            self.status, self.headers, self.body
        );
        assert_eq!(self.status, expected.status, "HTTP status: {context}");
        assert!(
            expected.accepts_type(&self.type_name()),
            "__type: {context}"
        );
        assert_eq!(
            self.header("x-amzn-query-error"),
            Some(expected.query_header().as_str()),
            "x-amzn-query-error: {context}"
        );
        let message = self
            .json()
            .get("message")
            .and_then(|v| v.as_str())
            .map(str::to_owned);
        assert!(
            message.is_some_and(|m| !m.is_empty()),
            "error body has a message: {context}"
        );
    }
}

/// POSTs an AWS JSON 1.0 request for `AmazonSQS.{action}` with the given body text.
pub async fn raw_call(server: &TestServer, action: &str, body: &str) -> RawResponse {
    let target = format!("AmazonSQS.{action}");
    raw_post(
        server,
        &[
            ("X-Amz-Target", target.as_str()),
            ("Content-Type", "application/x-amz-json-1.0"),
        ],
        body.as_bytes(),
    )
    .await
}

/// POSTs `/` with the given headers (plus Host, a SigV4-shaped Authorization naming the `sqs`
/// service, Content-Length and `Connection: close`) and reads the whole response.
pub async fn raw_post(server: &TestServer, headers: &[(&str, &str)], body: &[u8]) -> RawResponse {
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(server.address)
            .await
            .expect("connect");
        let mut request = format!(
            "POST / HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n\
             X-Amz-Date: 20250101T000000Z\r\n\
             Authorization: AWS4-HMAC-SHA256 Credential={ACCESS_KEY_ID}/20250101/{DEFAULT_REGION}/sqs/aws4_request, \
             SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature={}\r\n",
            server.address,
            body.len(),
            "0".repeat(64)
        );
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        stream
            .write_all(request.as_bytes())
            .await
            .expect("write request head");
        stream.write_all(body).await.expect("write request body");
        let mut response = Vec::new();
        stream
            .read_to_end(&mut response)
            .await
            .expect("read response");
        parse_response(&response)
    };
    tokio::time::timeout(RAW_TIMEOUT, exchange)
        .await
        .expect("raw HTTP exchange timed out")
}

fn parse_response(bytes: &[u8]) -> RawResponse {
    let split = bytes
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .unwrap_or_else(|| {
            panic!(
                "no header end in response: {:?}",
                String::from_utf8_lossy(bytes)
            )
        });
    let head = String::from_utf8_lossy(&bytes[..split]).into_owned();
    let mut body = bytes[split + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status: u16 = status_line
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_owned(), value.trim().to_owned()))
        .collect();
    let chunked = headers.iter().any(|(name, value)| {
        name.eq_ignore_ascii_case("transfer-encoding") && value.eq_ignore_ascii_case("chunked")
    });
    if chunked {
        body = dechunk(&body);
    }
    RawResponse {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

fn dechunk(mut input: &[u8]) -> Vec<u8> {
    let mut output = Vec::new();
    while let Some(line_end) = input.windows(2).position(|window| window == b"\r\n") {
        let size_text = String::from_utf8_lossy(&input[..line_end]);
        let size_text = size_text.split(';').next().unwrap_or("").trim();
        let Ok(size) = usize::from_str_radix(size_text, 16) else {
            break;
        };
        if size == 0 {
            break;
        }
        let start = line_end + 2;
        let end = (start + size).min(input.len());
        output.extend_from_slice(&input[start..end]);
        input = &input[(end + 2).min(input.len())..];
    }
    output
}
