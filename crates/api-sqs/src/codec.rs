//! The two wire codecs every action is served through.
//!
//! An action is a typed operation: `fn(broker, context, Input) -> Result<Output, SqsError>`. The
//! [`Codec`] of a request turns its bytes into the `Input` and the `Output` back into bytes:
//!
//! - JSON 1.0: `serde_json` straight into the input type and out of the output type.
//! - Query: the form parameters are decoded (by `tern_aws_wire::query::decode`) into the JSON
//!   value the JSON protocol would have carried, then deserialized into the *same* input type;
//!   the output renders itself as XML through [`XmlResult`], implemented next to its `Serialize`.
//!
//! So no SQS behaviour can differ between the protocols: only parsing and rendering do.

use serde::Serialize;
use serde::de::DeserializeOwned;
use tern_aws_wire::WireError;
use tern_aws_wire::query::{self, Member, Params, QueryError, XmlResult};
use tern_core::{ErrorCode, SqsError};

/// The `xmlns` of every SQS Query reply.
pub const XML_NAMESPACE: &str = "http://queue.amazonaws.com/doc/2012-11-05/";

/// An action's input type.
pub(crate) trait Input: DeserializeOwned {
    /// What the Query decoder must be told about this input: lists, maps, nested structures,
    /// members whose Query name differs from the JSON one, and non-string scalars. Plain string
    /// members need no entry; they pass through by name.
    const QUERY_MEMBERS: &'static [Member] = &[];
}

/// Why a request failed: an SQS error from the catalogue, or a fault in the Query framing that
/// has no JSON counterpart (`MalformedQueryString`, `MissingAction`).
#[derive(Debug, thiserror::Error)]
pub(crate) enum RequestError {
    #[error(transparent)]
    Sqs(#[from] SqsError),
    #[error(transparent)]
    Query(#[from] QueryError),
}

impl RequestError {
    pub(crate) fn wire_error(&self) -> WireError {
        match self {
            RequestError::Sqs(error) => crate::wire_error(error),
            RequestError::Query(error) => error.to_wire(),
        }
    }
}

/// How one request is read and its reply written.
pub(crate) enum Codec<'a> {
    Json {
        body: &'a [u8],
    },
    Query {
        params: &'a Params,
        /// Already matched against the known actions by the dispatcher, so safe as an element name.
        action: &'a str,
        request_id: &'a str,
    },
}

impl Codec<'_> {
    pub(crate) fn input<I: Input>(&self) -> Result<I, RequestError> {
        match self {
            Codec::Json { body } => Ok(parse_json(body)?),
            Codec::Query { params, .. } => {
                let value = query::decode(params, I::QUERY_MEMBERS)?;
                // The decoder produced the JSON shape, so a failure here is a value of the wrong
                // kind for its member; Query reports those as invalid parameter values.
                serde_json::from_value(value).map_err(|error| {
                    SqsError::new(
                        ErrorCode::InvalidParameterValue,
                        format!("The request could not be read: {error}"),
                    )
                    .into()
                })
            }
        }
    }

    pub(crate) fn reply<O: Serialize + XmlResult>(
        &self,
        output: &O,
    ) -> Result<Vec<u8>, RequestError> {
        match self {
            Codec::Json { .. } => Ok(serde_json::to_vec(output).map_err(SqsError::internal)?),
            Codec::Query {
                action, request_id, ..
            } => Ok(query::success_body(
                request_id,
                XML_NAMESPACE,
                action,
                output,
            )),
        }
    }
}

/// Parses a JSON request body. An empty body is an empty object.
fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, SqsError> {
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

/// The children a reply writes inside its `<XResult>`, as text, for exact comparisons in tests.
#[cfg(test)]
pub(crate) fn result_xml(output: &impl XmlResult) -> String {
    let mut xml = tern_aws_wire::xml::XmlWriter::new();
    output.write_result(&mut xml);
    let text = String::from_utf8(xml.into_bytes()).expect("XML is UTF-8");
    text.trim_start_matches(r#"<?xml version="1.0"?>"#)
        .to_owned()
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "PascalCase")]
    struct Probe {
        queue_url: Option<String>,
        delay_seconds: Option<i64>,
        names: Option<Vec<String>>,
    }

    impl Input for Probe {
        const QUERY_MEMBERS: &'static [Member] = &[
            Member::integer("DelaySeconds"),
            crate::shapes::string_list("Name", "Names"),
        ];
    }

    fn query_input(form: &str) -> Result<Probe, RequestError> {
        let params = Params::parse(None, form.as_bytes()).unwrap();
        Codec::Query {
            params: &params,
            action: "Probe",
            request_id: "r",
        }
        .input()
    }

    #[test]
    fn both_codecs_reach_the_same_input() {
        let from_json: Probe = Codec::Json {
            body: br#"{"QueueUrl":"u","DelaySeconds":5,"Names":["a","b"]}"#,
        }
        .input()
        .unwrap();
        let from_query =
            query_input("Action=Probe&QueueUrl=u&DelaySeconds=5&Name.2=b&Name.1=a").unwrap();
        assert_eq!(from_json, from_query);
        let empty: Probe = Codec::Json { body: b"  " }.input().unwrap();
        assert_eq!(empty, query_input("Action=Probe").unwrap());
    }

    #[test]
    fn query_faults_keep_their_codes() {
        let error = query_input("DelaySeconds=soon").unwrap_err().wire_error();
        assert_eq!(
            (error.query_code, error.status),
            ("InvalidParameterValue", 400)
        );
        let error = query_input("Name.first=a").unwrap_err().wire_error();
        assert_eq!(
            (error.query_code, error.status),
            ("MalformedQueryString", 404)
        );
        let error = Codec::Json { body: b"{" }
            .input::<Probe>()
            .unwrap_err()
            .wire_error();
        assert_eq!(error.query_code, "SerializationException");
    }

    #[test]
    fn replies_are_json_or_a_query_envelope() {
        let output = crate::shapes::Empty {};
        assert_eq!(Codec::Json { body: b"" }.reply(&output).unwrap(), b"{}");
        let params = Params::default();
        let body = Codec::Query {
            params: &params,
            action: "PurgeQueue",
            request_id: "req",
        }
        .reply(&output)
        .unwrap();
        let text = String::from_utf8(body).unwrap();
        assert!(
            text.contains(
                r#"<PurgeQueueResponse xmlns="http://queue.amazonaws.com/doc/2012-11-05/">"#
            ),
            "{text}"
        );
        assert!(!text.contains("PurgeQueueResult"), "{text}");
    }
}
