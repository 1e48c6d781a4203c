//! Reading an action's input from Query parameters and writing its XML reply.
//!
//! As in api-sqs (decision 0002), the form is decoded by `tern_aws_wire::query::decode` into a
//! JSON value and deserialized into the action's input type. SNS's Query shapes are not
//! flattened: a map is `Attributes.entry.N.key`/`.value` and a list `Tags.member.N`, so the
//! descriptions here wrap them in an `entry` or `member` structure ([`Entries`], [`Members`]).

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use tern_aws_wire::query::{self, Member, Params, Shape, XmlResult};
use tern_aws_wire::xml::XmlWriter;
use tern_broker::topics::SnsError;

use crate::errors::RequestError;

/// The `xmlns` of every SNS reply.
pub const XML_NAMESPACE: &str = "http://sns.amazonaws.com/doc/2010-03-31/";

pub(crate) trait Input: DeserializeOwned {
    /// Lists, maps, structures and non-string scalars; plain strings pass through by name.
    const QUERY_MEMBERS: &'static [Member] = &[];
}

pub(crate) fn input<I: Input>(params: &Params) -> Result<I, RequestError> {
    let params = without_empty_lists(params, I::QUERY_MEMBERS);
    let value = query::decode(&params, I::QUERY_MEMBERS)?;
    serde_json::from_value(value).map_err(|error| {
        SnsError::invalid_parameter(format!("the request could not be read: {error}")).into()
    })
}

/// botocore writes an empty list as a bare `Name=` (`Tags=`, `TagKeys=`,
/// `PublishBatchRequestEntries=`). Here a list is a `member`-wrapping structure, which would read
/// that value as a fault ("takes sub-parameters"), so the parameter is dropped: an empty list is
/// an absent one.
fn without_empty_lists<'a>(params: &'a Params, members: &[Member]) -> Cow<'a, Params> {
    let is_empty_wrapper = |(name, value): &(&str, &str)| {
        value.is_empty()
            && members
                .iter()
                .any(|member| member.query == *name && matches!(member.shape, Shape::Structure(_)))
    };
    if !params.pairs().any(|pair| is_empty_wrapper(&pair)) {
        return Cow::Borrowed(params);
    }
    Cow::Owned(Params::from_pairs(
        params.pairs().filter(|pair| !is_empty_wrapper(pair)),
    ))
}

pub(crate) fn reply(action: &str, request_id: &str, output: &impl XmlResult) -> Vec<u8> {
    query::success_body(request_id, XML_NAMESPACE, action, output)
}

/// `Name.entry.N.{key,value}` with string values, as a JSON object of the map.
#[derive(Debug, Deserialize, Default)]
pub(crate) struct Entries<T> {
    #[serde(default = "Option::default")]
    pub entry: Option<BTreeMap<String, T>>,
}

impl<T> Entries<T> {
    pub(crate) fn into_map(wrapper: Option<Self>) -> BTreeMap<String, T> {
        wrapper
            .and_then(|wrapper| wrapper.entry)
            .unwrap_or_default()
    }
}

/// `Name.member.N` as a JSON array.
#[derive(Debug, Deserialize, Default)]
pub(crate) struct Members<T> {
    #[serde(default = "Option::default")]
    pub member: Option<Vec<T>>,
}

impl<T> Members<T> {
    pub(crate) fn into_vec(wrapper: Option<Self>) -> Vec<T> {
        wrapper
            .and_then(|wrapper| wrapper.member)
            .unwrap_or_default()
    }
}

const STRING_MAP: Shape = Shape::Map {
    key: "key",
    value: "value",
    value_shape: &Shape::String,
};

const STRING_MAP_ENTRIES: &[Member] = &[Member::new("entry", "entry", STRING_MAP)];
const STRING_MEMBERS: &[Member] = &[Member::new("member", "member", Shape::List(&Shape::String))];
const TAG_MEMBERS: &[Member] = &[Member::new(
    "member",
    "member",
    Shape::List(&Shape::Structure(&[])),
)];

/// `Attributes.entry.N.key` / `.value`.
pub(crate) const fn string_map(name: &'static str) -> Member {
    Member::new(name, name, Shape::Structure(STRING_MAP_ENTRIES))
}

/// `Name.member.N` of strings.
pub(crate) const fn string_members(name: &'static str) -> Member {
    Member::new(name, name, Shape::Structure(STRING_MEMBERS))
}

/// `Tags.member.N.Key` / `.Value`.
pub(crate) const fn tag_members(name: &'static str) -> Member {
    Member::new(name, name, Shape::Structure(TAG_MEMBERS))
}

const MESSAGE_ATTRIBUTE_VALUE: Shape =
    Shape::Structure(&[Member::new("BinaryValue", "BinaryValue", Shape::Blob)]);

/// `MessageAttributes.entry.N.Name` / `.Value.DataType|StringValue|BinaryValue`.
pub(crate) const MESSAGE_ATTRIBUTES: Member = Member::new(
    "MessageAttributes",
    "MessageAttributes",
    Shape::Structure(&[Member::new(
        "entry",
        "entry",
        Shape::Map {
            key: "Name",
            value: "Value",
            value_shape: &MESSAGE_ATTRIBUTE_VALUE,
        },
    )]),
);

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Tag {
    pub key: Option<String>,
    pub value: Option<String>,
}

/// `<Name><entry><key>…</key><value>…</value></entry>…</Name>`.
pub(crate) fn write_entries(xml: &mut XmlWriter, name: &str, map: &BTreeMap<String, String>) {
    xml.element(name, |xml| {
        for (key, value) in map {
            xml.element("entry", |xml| {
                xml.text_element("key", key);
                xml.text_element("value", value);
            });
        }
    });
}

/// An action without output: SNS replies with the envelope and metadata only.
pub(crate) struct Empty;

impl XmlResult for Empty {
    fn write_result(&self, _: &mut XmlWriter) {}

    fn has_result(&self) -> bool {
        false
    }
}

/// An action whose output shape has no members but a result wrapper (TagResource,
/// UntagResource): SNS replies with an empty `<XResult/>`, and botocore's Query parser looks for it.
pub(crate) struct EmptyResult;

impl XmlResult for EmptyResult {
    fn write_result(&self, _: &mut XmlWriter) {}
}

/// The children a reply writes inside its `<XResult>`, for exact comparisons in tests.
#[cfg(test)]
pub(crate) fn result_xml(output: &impl XmlResult) -> String {
    let mut xml = XmlWriter::new();
    output.write_result(&mut xml);
    let text = String::from_utf8(xml.into_bytes()).expect("XML is UTF-8");
    text.trim_start_matches(r#"<?xml version="1.0"?>"#)
        .to_owned()
}
