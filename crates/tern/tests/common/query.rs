//! A Query-protocol client for the end-to-end tests: form-encoded POSTs and GETs over raw
//! HTTP/1.1, and the XML replies read into a small element tree the way an XML parser hands them
//! to an SDK (entities resolved, line ends normalised).
//!
//! Included with `#[path]` by the test binaries that speak Query, so the shared harness in
//! `mod.rs` needs no change.

use std::collections::HashMap;
use std::net::SocketAddr;

use quick_xml::Reader;
use quick_xml::XmlVersion;
use quick_xml::events::Event;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::{ACCESS_KEY_ID, DEFAULT_REGION, RAW_TIMEOUT, TestServer};

// ------------------------------------------------------------------------------------------------
// Replies.

pub const NAMESPACE: &str = "http://queue.amazonaws.com/doc/2012-11-05/";

/// One XML element: its name, `xmlns` if any, text and child elements.
#[derive(Debug, Clone, Default)]
pub struct Element {
    pub name: String,
    pub namespace: Option<String>,
    pub text: String,
    pub children: Vec<Element>,
}

impl Element {
    pub fn find(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|child| child.name == name)
    }

    pub fn child(&self, name: &str) -> &Element {
        self.find(name)
            .unwrap_or_else(|| panic!("<{}> has no <{name}>: {self:#?}", self.name))
    }

    pub fn all(&self, name: &str) -> Vec<&Element> {
        self.children
            .iter()
            .filter(|child| child.name == name)
            .collect()
    }

    /// The text of child `name`.
    pub fn text_of(&self, name: &str) -> &str {
        &self.child(name).text
    }

    /// A flattened `<element><key/><Value/></element>` map, as pairs in document order.
    pub fn pairs(&self, element: &str, key: &str) -> Vec<(String, String)> {
        self.all(element)
            .into_iter()
            .map(|entry| {
                (
                    entry.text_of(key).to_owned(),
                    entry.text_of("Value").to_owned(),
                )
            })
            .collect()
    }
}

/// Parses a whole document into its root element.
pub fn parse_xml(text: &str) -> Element {
    let mut reader = Reader::from_str(text);
    let mut stack: Vec<Element> = vec![Element::default()];
    loop {
        let event = reader
            .read_event()
            .unwrap_or_else(|error| panic!("malformed XML ({error}): {text}"));
        let is_empty = matches!(event, Event::Empty(_));
        match event {
            Event::Start(start) | Event::Empty(start) => {
                let name = start.name().as_ref().to_owned();
                let namespace = start
                    .attributes()
                    .map(|attribute| attribute.expect("attribute"))
                    .find(|attribute| attribute.key.as_ref() == "xmlns")
                    .map(|attribute| {
                        attribute
                            .normalized_value(XmlVersion::Implicit1_0)
                            .unwrap()
                            .into_owned()
                    });
                let element = Element {
                    name,
                    namespace,
                    ..Element::default()
                };
                if is_empty {
                    stack.last_mut().unwrap().children.push(element);
                } else {
                    stack.push(element);
                }
            }
            Event::End(_) => {
                let element = stack.pop().expect("balanced");
                stack.last_mut().expect("a parent").children.push(element);
            }
            Event::Text(content) => {
                stack
                    .last_mut()
                    .unwrap()
                    .text
                    .push_str(&content.xml10_content());
            }
            Event::GeneralRef(reference) => {
                let resolved = match reference.resolve_char_ref().expect("character reference") {
                    Some(character) => character,
                    None => match &*reference {
                        "amp" => '&',
                        "lt" => '<',
                        "gt" => '>',
                        "quot" => '"',
                        "apos" => '\'',
                        other => panic!("unknown entity &{other}; in {text}"),
                    },
                };
                stack.last_mut().unwrap().text.push(resolved);
            }
            Event::CData(data) => stack.last_mut().unwrap().text.push_str(&data),
            Event::Eof => break,
            _ => {}
        }
    }
    assert_eq!(stack.len(), 1, "unbalanced XML: {text}");
    let mut document = stack.pop().unwrap();
    assert_eq!(document.children.len(), 1, "one root element: {text}");
    document.children.pop().unwrap()
}

/// One HTTP exchange's outcome.
#[derive(Debug)]
pub struct HttpReply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl HttpReply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    pub fn xml(&self) -> Element {
        parse_xml(&self.body)
    }

    /// Asserts a 200 `<{action}Response>` in the SQS namespace whose `RequestId` matches the
    /// `x-amzn-requestid` header, and returns its `<{action}Result>` (an empty element for
    /// actions without output).
    pub fn result(&self, action: &str) -> Element {
        assert_eq!(self.status, 200, "{action}: {}", self.body);
        assert_eq!(self.header("content-type"), Some("text/xml"), "{action}");
        let root = self.xml();
        assert_eq!(root.name, format!("{action}Response"), "{}", self.body);
        assert_eq!(root.namespace.as_deref(), Some(NAMESPACE));
        let request_id = root.child("ResponseMetadata").text_of("RequestId");
        assert!(!request_id.is_empty());
        assert_eq!(self.header("x-amzn-requestid"), Some(request_id));
        root.find(&format!("{action}Result"))
            .cloned()
            .unwrap_or_default()
    }

    /// Asserts an `<ErrorResponse>` with this status, `Type` and `Code`; returns the message.
    pub fn assert_error(&self, status: u16, fault: &str, code: &str) -> String {
        let context = format!("status {} body {}", self.status, self.body);
        assert_eq!(self.status, status, "{code}: {context}");
        assert_eq!(self.header("content-type"), Some("text/xml"), "{context}");
        let root = self.xml();
        assert_eq!(root.name, "ErrorResponse", "{context}");
        assert_eq!(root.namespace.as_deref(), Some(NAMESPACE), "{context}");
        let error = root.child("Error");
        assert_eq!(error.text_of("Type"), fault, "{context}");
        assert_eq!(error.text_of("Code"), code, "{context}");
        assert!(error.find("Detail").is_some(), "{context}");
        assert!(!root.text_of("RequestId").is_empty(), "{context}");
        let message = error.text_of("Message").to_owned();
        assert!(!message.is_empty(), "{context}");
        message
    }

    /// A Sender fault with the given status and code.
    pub fn assert_sender(&self, status: u16, code: &str) -> String {
        self.assert_error(status, "Sender", code)
    }
}

pub fn form(params: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish()
}

/// POSTs `Version=2012-11-05` plus `params` form-encoded to `path` (`/` or a queue's path).
pub async fn query_post(server: &TestServer, path: &str, params: &[(&str, &str)]) -> HttpReply {
    let mut all = vec![("Version", "2012-11-05")];
    all.extend_from_slice(params);
    let body = form(&all);
    http(
        server,
        "POST",
        path,
        &[(
            "Content-Type",
            "application/x-www-form-urlencoded; charset=utf-8",
        )],
        body.as_bytes(),
    )
    .await
}

/// GETs `path?Version=2012-11-05&params…`.
pub async fn query_get(server: &TestServer, path: &str, params: &[(&str, &str)]) -> HttpReply {
    let mut all = vec![("Version", "2012-11-05")];
    all.extend_from_slice(params);
    http(server, "GET", &format!("{path}?{}", form(&all)), &[], b"").await
}

/// One raw HTTP/1.1 exchange (with a SigV4-shaped Authorization naming `sqs`, so the region and
/// sender are what the SDK tests see) over a fresh connection, bounded by `RAW_TIMEOUT`.
pub async fn http(
    server: &TestServer,
    method: &str,
    path_and_query: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> HttpReply {
    let address: SocketAddr = ([127, 0, 0, 1], server.port()).into();
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(address)
            .await
            .expect("connect");
        let mut request = format!(
            "{method} {path_and_query} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\
             Content-Length: {}\r\nX-Amz-Date: 20250101T000000Z\r\n\
             Authorization: AWS4-HMAC-SHA256 Credential={ACCESS_KEY_ID}/20250101/{DEFAULT_REGION}/sqs/aws4_request, \
             SignedHeaders=content-type;host;x-amz-date, Signature={}\r\n",
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
            .expect("write head");
        stream.write_all(body).await.expect("write body");
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await.expect("read");
        parse_http(&response)
    };
    tokio::time::timeout(RAW_TIMEOUT, exchange)
        .await
        .expect("HTTP exchange timed out")
}

/// Tern's replies carry a Content-Length (axum sends buffered bodies whole), so no chunking here.
fn parse_http(bytes: &[u8]) -> HttpReply {
    let split = bytes
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no header end: {:?}", String::from_utf8_lossy(bytes)));
    let head = String::from_utf8_lossy(&bytes[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_owned(), value.trim().to_owned()))
        .collect();
    HttpReply {
        status,
        headers,
        body: String::from_utf8(bytes[split + 4..].to_vec()).expect("UTF-8 body"),
    }
}

// ------------------------------------------------------------------------------------------------
// Calls the tests repeat.

/// The path of a queue URL, for requests posted to the queue itself.
pub fn path_of(url: &str) -> String {
    let without_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    without_scheme[without_scheme.find('/').unwrap()..].to_owned()
}

/// CreateQueue over Query; asserts and returns the queue URL.
pub async fn create(server: &TestServer, name: &str, extra: &[(&str, &str)]) -> String {
    let mut params = vec![("Action", "CreateQueue"), ("QueueName", name)];
    params.extend_from_slice(extra);
    let reply = query_post(server, "/", &params).await;
    let url = reply.result("CreateQueue").text_of("QueueUrl").to_owned();
    assert_eq!(url, server.queue_url(name));
    url
}

/// GetQueueAttributes `All` over Query.
pub async fn attributes(server: &TestServer, url: &str) -> HashMap<String, String> {
    let reply = query_post(
        server,
        "/",
        &[
            ("Action", "GetQueueAttributes"),
            ("QueueUrl", url),
            ("AttributeName.1", "All"),
        ],
    )
    .await;
    reply
        .result("GetQueueAttributes")
        .pairs("Attribute", "Name")
        .into_iter()
        .collect()
}

/// ListQueues over a GET.
pub async fn queue_urls(server: &TestServer, prefix: &str) -> Vec<String> {
    let reply = query_get(
        server,
        "/",
        &[("Action", "ListQueues"), ("QueueNamePrefix", prefix)],
    )
    .await;
    reply
        .result("ListQueues")
        .all("QueueUrl")
        .into_iter()
        .map(|url| url.text.clone())
        .collect()
}

/// ReceiveMessage over Query: up to 10 messages with all attributes, no waiting.
pub async fn receive_all(server: &TestServer, url: &str) -> Vec<Element> {
    let reply = query_post(
        server,
        "/",
        &[
            ("Action", "ReceiveMessage"),
            ("QueueUrl", url),
            ("MaxNumberOfMessages", "10"),
            ("AttributeName.1", "All"),
            ("MessageAttributeName.1", "All"),
            ("WaitTimeSeconds", "0"),
        ],
    )
    .await;
    reply
        .result("ReceiveMessage")
        .all("Message")
        .into_iter()
        .cloned()
        .collect()
}
