//! The AWS Query protocol: `Action=…&Version=…` form parameters in, XML out.
//!
//! - [`Params`]: the flat list of form parameters of one request (query string and form body).
//! - [`decode`]: flat parameters → a `serde_json::Value` in the JSON protocol's shape, driven by a
//!   service's description of which members are lists, maps, structures or non-string scalars.
//!   Services keep one set of input types and deserialize them from either protocol.
//! - [`success`] and [`failure`]: the `<XResponse>` envelope and the `<ErrorResponse>` document.
//!
//! Errors that only the Query framing can raise (a missing `Action`, a malformed parameter name)
//! are [`QueryError`]s carrying the AWS common-error codes; service errors arrive as [`WireError`]s.

mod decode;

pub use decode::{Member, Shape, decode};

use crate::xml::XmlWriter;
use crate::{WireError, WireResponse};

/// Query replies are XML; AWS labels them `text/xml`.
pub const CONTENT_TYPE: &str = "text/xml";

/// More parameters than this in one request is not a request any SDK sends: the largest SQS
/// request (a 10-entry batch with 10 attributes each) has a few hundred.
pub const PARAMETERS_MAX: usize = 10_000;

/// An error of the Query framing itself, with the AWS common-error code it is reported as.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("The request must contain the parameter Action.")]
    MissingAction,
    #[error("The request must contain the parameter {0}.")]
    MissingParameter(String),
    #[error("Value {value} for parameter {name} is invalid. Reason: {reason}")]
    InvalidParameterValue {
        name: String,
        value: String,
        reason: &'static str,
    },
    /// A parameter name that does not fit the action's shape (`Attribute.x.Name`), a repeated
    /// parameter, or more parameters than [`PARAMETERS_MAX`].
    #[error("{0}")]
    MalformedQueryString(String),
}

impl QueryError {
    /// The code AWS lists for this error among its common Query errors.
    pub fn code(&self) -> &'static str {
        match self {
            QueryError::MissingAction => "MissingAction",
            QueryError::MissingParameter(_) => "MissingParameter",
            QueryError::InvalidParameterValue { .. } => "InvalidParameterValue",
            QueryError::MalformedQueryString(_) => "MalformedQueryString",
        }
    }

    /// AWS documents `MalformedQueryString` as a 404; the rest are 400s.
    pub fn http_status(&self) -> u16 {
        match self {
            QueryError::MalformedQueryString(_) => 404,
            _ => 400,
        }
    }

    /// These codes exist only in the Query protocol, so the JSON `__type` repeats the code.
    pub fn to_wire(&self) -> WireError {
        WireError {
            json_type: self.code(),
            query_code: self.code(),
            status: self.http_status(),
            sender_fault: true,
            message: self.to_string(),
        }
    }

    pub(crate) fn invalid_value(name: &str, value: &str, reason: &'static str) -> Self {
        QueryError::InvalidParameterValue {
            name: name.to_owned(),
            value: abbreviate(value),
            reason,
        }
    }
}

/// Error messages echo a bad value, but never a megabyte of it.
fn abbreviate(value: &str) -> String {
    const ECHO_CHARACTERS_MAX: usize = 64;
    match value.char_indices().nth(ECHO_CHARACTERS_MAX) {
        Some((cut, _)) => format!("{}...", &value[..cut]),
        None => value.to_owned(),
    }
}

/// The form parameters of one request, in the order they arrived.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    /// Parameters from the URL's query string (GET, and any POST that puts some there) followed by
    /// those of a form-encoded body. Percent-decoding is lenient, as AWS's is: an invalid escape
    /// stays as written and invalid UTF-8 becomes U+FFFD.
    pub fn parse(query_string: Option<&str>, form_body: &[u8]) -> Result<Self, QueryError> {
        let from_url = query_string.map(str::as_bytes).unwrap_or_default();
        let mut pairs = Vec::new();
        for (name, value) in
            form_urlencoded::parse(from_url).chain(form_urlencoded::parse(form_body))
        {
            if pairs.len() == PARAMETERS_MAX {
                return Err(QueryError::MalformedQueryString(format!(
                    "The request has more than {PARAMETERS_MAX} parameters."
                )));
            }
            pairs.push((name.into_owned(), value.into_owned()));
        }
        Ok(Self { pairs })
    }

    pub fn from_pairs<N: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (N, V)>,
    ) -> Self {
        Self {
            pairs: pairs
                .into_iter()
                .map(|(name, value)| (name.into(), value.into()))
                .collect(),
        }
    }

    /// The first value of parameter `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// The `Action` parameter; a missing or empty one is `MissingAction`.
    pub fn action(&self) -> Result<&str, QueryError> {
        self.get("Action")
            .filter(|action| !action.is_empty())
            .ok_or(QueryError::MissingAction)
    }

    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
    }
}

/// What a reply writes inside its `<XResult>` element. Each service implements it for its
/// output types, next to their JSON serialization.
pub trait XmlResult {
    fn write_result(&self, xml: &mut XmlWriter);

    /// Actions without output (DeleteQueue, TagQueue, …) reply with no `<XResult>` at all.
    fn has_result(&self) -> bool {
        true
    }
}

/// The body of a successful reply:
/// `<XResponse xmlns=…><XResult>…</XResult><ResponseMetadata><RequestId>…</RequestId>…`.
/// `action` must be one the service recognised, as it becomes an element name.
pub fn success_body(
    request_id: &str,
    namespace: &str,
    action: &str,
    output: &(impl XmlResult + ?Sized),
) -> Vec<u8> {
    let mut xml = XmlWriter::new();
    let response = format!("{action}Response");
    xml.start_with_namespace(&response, namespace);
    if output.has_result() {
        xml.element(&format!("{action}Result"), |xml| output.write_result(xml));
    }
    xml.element("ResponseMetadata", |xml| {
        xml.text_element("RequestId", request_id);
    });
    xml.end(&response);
    xml.into_bytes()
}

/// A Query request that names its action, as both front ends need before dispatching.
pub struct ActionRequest {
    pub params: Params,
    pub action: String,
}

impl ActionRequest {
    /// Parses the request's parameters and `Action`, or answers with the `ErrorResponse` (in
    /// `namespace`) that a malformed request or a missing action gets.
    pub fn parse(
        query_string: Option<&str>,
        form_body: &[u8],
        request_id: &str,
        namespace: &str,
    ) -> Result<Self, WireResponse> {
        let refuse = |error: QueryError| failure(request_id, namespace, &error.to_wire());
        let params = Params::parse(query_string, form_body).map_err(refuse)?;
        let action = params.action().map_err(refuse)?.to_owned();
        Ok(Self { params, action })
    }
}

/// A 200 reply carrying a body from [`success_body`].
pub fn success(request_id: &str, body: Vec<u8>) -> WireResponse {
    WireResponse {
        status: 200,
        headers: headers(request_id),
        body,
    }
}

/// `<ErrorResponse xmlns=…><Error><Type>Sender|Receiver</Type><Code>…</Code><Message>…</Message>
/// <Detail/></Error><RequestId>…</RequestId></ErrorResponse>` with the error's HTTP status.
pub fn failure(request_id: &str, namespace: &str, error: &WireError) -> WireResponse {
    let mut xml = XmlWriter::new();
    xml.start_with_namespace("ErrorResponse", namespace);
    xml.element("Error", |xml| {
        let fault = if error.sender_fault {
            "Sender"
        } else {
            "Receiver"
        };
        xml.text_element("Type", fault);
        xml.text_element("Code", error.query_code);
        xml.text_element("Message", &error.message);
        xml.empty_element("Detail");
    });
    xml.text_element("RequestId", request_id);
    xml.end("ErrorResponse");
    WireResponse {
        status: error.status,
        headers: headers(request_id),
        body: xml.into_bytes(),
    }
}

fn headers(request_id: &str) -> Vec<(&'static str, String)> {
    vec![
        ("content-type", CONTENT_TYPE.to_owned()),
        ("x-amzn-requestid", request_id.to_owned()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAMESPACE: &str = "http://queue.amazonaws.com/doc/2012-11-05/";

    #[test]
    fn parses_url_then_body_and_decodes_percent_escapes() {
        let params = Params::parse(
            Some("Action=SendMessage&Version=2012-11-05"),
            b"MessageBody=a+b%26c%0D%0A&QueueUrl=http%3A%2F%2Fh%2F1%2Fq&Bad=%zz",
        )
        .unwrap();
        assert_eq!(params.action(), Ok("SendMessage"));
        assert_eq!(params.get("MessageBody"), Some("a b&c\r\n"));
        assert_eq!(params.get("QueueUrl"), Some("http://h/1/q"));
        assert_eq!(params.get("Bad"), Some("%zz"));
        assert_eq!(params.pairs().count(), 5);
    }

    #[test]
    fn action_must_be_present_and_non_empty() {
        assert_eq!(
            Params::parse(None, b"Version=2012-11-05").unwrap().action(),
            Err(QueryError::MissingAction)
        );
        assert_eq!(
            Params::parse(None, b"Action=").unwrap().action(),
            Err(QueryError::MissingAction)
        );
    }

    #[test]
    fn parameter_count_is_bounded() {
        let body = "A=1&".repeat(PARAMETERS_MAX + 1);
        let error = Params::parse(None, body.as_bytes()).unwrap_err();
        assert_eq!(error.code(), "MalformedQueryString");
        assert!(Params::parse(None, "A=1&".repeat(PARAMETERS_MAX).as_bytes()).is_ok());
    }

    struct QueueUrl(&'static str);

    impl XmlResult for QueueUrl {
        fn write_result(&self, xml: &mut XmlWriter) {
            xml.text_element("QueueUrl", self.0);
        }
    }

    struct Nothing;

    impl XmlResult for Nothing {
        fn write_result(&self, _: &mut XmlWriter) {}

        fn has_result(&self) -> bool {
            false
        }
    }

    #[test]
    fn success_wraps_result_and_metadata() {
        let body = success_body("req-1", NAMESPACE, "GetQueueUrl", &QueueUrl("http://h/1/q"));
        assert_eq!(
            String::from_utf8(body).unwrap(),
            "<?xml version=\"1.0\"?><GetQueueUrlResponse xmlns=\"http://queue.amazonaws.com/doc/2012-11-05/\">\
             <GetQueueUrlResult><QueueUrl>http://h/1/q</QueueUrl></GetQueueUrlResult>\
             <ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata></GetQueueUrlResponse>"
        );
        let response = success("req-1", Vec::new());
        assert_eq!(response.status, 200);
        assert!(
            response
                .headers
                .contains(&("content-type", "text/xml".to_owned()))
        );
    }

    #[test]
    fn actions_without_output_have_no_result_element() {
        let body = success_body("req-2", NAMESPACE, "DeleteQueue", &Nothing);
        let text = String::from_utf8(body).unwrap();
        assert!(!text.contains("DeleteQueueResult"), "{text}");
        assert!(text.contains("<DeleteQueueResponse xmlns="), "{text}");
        assert!(
            text.ends_with("<ResponseMetadata><RequestId>req-2</RequestId></ResponseMetadata></DeleteQueueResponse>"),
            "{text}"
        );
    }

    #[test]
    fn failure_is_an_error_response() {
        let response = failure(
            "req-3",
            NAMESPACE,
            &WireError {
                json_type: "com.amazonaws.sqs#QueueDoesNotExist",
                query_code: "AWS.SimpleQueueService.NonExistentQueue",
                status: 400,
                sender_fault: true,
                message: "The specified queue does not exist.".into(),
            },
        );
        assert_eq!(response.status, 400);
        assert_eq!(
            String::from_utf8(response.body).unwrap(),
            "<?xml version=\"1.0\"?><ErrorResponse xmlns=\"http://queue.amazonaws.com/doc/2012-11-05/\">\
             <Error><Type>Sender</Type><Code>AWS.SimpleQueueService.NonExistentQueue</Code>\
             <Message>The specified queue does not exist.</Message><Detail/></Error>\
             <RequestId>req-3</RequestId></ErrorResponse>"
        );
        let receiver = failure(
            "req-4",
            NAMESPACE,
            &WireError {
                json_type: "t",
                query_code: "InternalError",
                status: 500,
                sender_fault: false,
                message: "m".into(),
            },
        );
        assert_eq!(receiver.status, 500);
        assert!(
            String::from_utf8(receiver.body)
                .unwrap()
                .contains("<Type>Receiver</Type>")
        );
    }

    #[test]
    fn framing_errors_carry_common_codes() {
        let malformed = QueryError::MalformedQueryString("x".into()).to_wire();
        assert_eq!(
            (malformed.query_code, malformed.status),
            ("MalformedQueryString", 404)
        );
        let missing = QueryError::MissingAction.to_wire();
        assert_eq!((missing.query_code, missing.status), ("MissingAction", 400));
        let long = "x".repeat(1000);
        let invalid = QueryError::invalid_value("DelaySeconds", &long, "not an integer");
        assert!(invalid.to_string().len() < 200, "{invalid}");
    }
}
