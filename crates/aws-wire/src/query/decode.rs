//! Flat Query parameters → a JSON value in the JSON protocol's shape.
//!
//! `Attribute.1.Name=A&Attribute.1.Value=1&AttributeName.1=All&QueueName=q` becomes
//! `{"Attributes": {"A": "1"}, "AttributeNames": ["All"], "QueueName": "q"}` given a description
//! saying `Attribute` is a map named `Attributes` in JSON and `AttributeName` a list named
//! `AttributeNames`. A service deserializes its one set of input types from that value, so both
//! protocols meet the same types.
//!
//! The description lists only what a plain name cannot tell: lists, maps, structures, renamed
//! members and scalars that are not strings. Any other parameter without a dot passes through as
//! a string under its own name, so a new string member needs no Query change. Parameters with
//! dots that the description does not name are ignored, as the JSON protocol ignores unknown
//! members. `Action` and `Version` are framing and are left out.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value};

use super::{Params, QueryError};

/// The deepest real SQS name is
/// `SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.StringListValue.1` (7 segments);
/// bounding the depth bounds the recursion below.
const NAME_SEGMENTS_MAX: usize = 10;

/// How one member is written in Query parameters.
#[derive(Debug, Clone, Copy)]
pub enum Shape {
    String,
    /// Must parse as an `i64`; becomes a JSON number.
    Integer,
    /// `true` or `false`; becomes a JSON boolean.
    Boolean,
    /// Base64, checked here and kept as the base64 string the JSON protocol uses for blobs.
    Blob,
    /// A flattened list: `Name.1`, `Name.2`, … (a lone `Name=value` is a list of one).
    List(&'static Shape),
    /// A flattened map: `Name.N.{key}` and `Name.N.{value}`, e.g. `Attribute.1.Name` and
    /// `Attribute.1.Value`.
    Map {
        key: &'static str,
        value: &'static str,
        value_shape: &'static Shape,
    },
    Structure(&'static [Member]),
}

/// A member whose Query name or shape the decoder must be told.
#[derive(Debug, Clone, Copy)]
pub struct Member {
    /// The name in Query parameters, e.g. `Attribute`.
    pub query: &'static str,
    /// The name in the JSON shape, e.g. `Attributes`.
    pub json: &'static str,
    pub shape: Shape,
}

impl Member {
    pub const fn new(query: &'static str, json: &'static str, shape: Shape) -> Self {
        Self { query, json, shape }
    }

    /// An integer scalar with the same name in both protocols.
    pub const fn integer(name: &'static str) -> Self {
        Self::new(name, name, Shape::Integer)
    }
}

/// Decodes `params` against the top-level `members` into a JSON object.
pub fn decode(params: &Params, members: &[Member]) -> Result<Value, QueryError> {
    let mut root = Node::default();
    for (name, value) in params.pairs() {
        if name == "Action" || name == "Version" {
            continue;
        }
        root.insert(name, value)?;
    }
    structure(&root, members, "").map(Value::Object)
}

/// Parameter names split at their dots, as a tree.
#[derive(Debug, Default)]
struct Node<'a> {
    value: Option<&'a str>,
    children: BTreeMap<&'a str, Node<'a>>,
}

impl<'a> Node<'a> {
    fn insert(&mut self, name: &'a str, value: &'a str) -> Result<(), QueryError> {
        let segments: Vec<&str> = name.split('.').collect();
        if segments.len() > NAME_SEGMENTS_MAX || segments.iter().any(|segment| segment.is_empty()) {
            return Err(malformed(format!(
                "The parameter name {name} is not valid."
            )));
        }
        let mut node = self;
        for segment in segments {
            node = node.children.entry(segment).or_default();
        }
        if node.value.replace(value).is_some() {
            return Err(malformed(format!(
                "The parameter {name} is given more than once."
            )));
        }
        Ok(())
    }
}

fn malformed(message: String) -> QueryError {
    QueryError::MalformedQueryString(message)
}

fn join(path: &str, segment: &str) -> String {
    if path.is_empty() {
        segment.to_owned()
    } else {
        format!("{path}.{segment}")
    }
}

fn value(node: &Node<'_>, shape: &Shape, path: &str) -> Result<Value, QueryError> {
    match shape {
        Shape::String | Shape::Integer | Shape::Boolean | Shape::Blob => scalar(node, shape, path),
        Shape::List(item) => list(node, item, path),
        Shape::Map {
            key,
            value,
            value_shape,
        } => map(node, key, value, value_shape, path),
        Shape::Structure(members) => {
            if node.value.is_some() {
                return Err(malformed(format!(
                    "The parameter {path} takes sub-parameters, not a value."
                )));
            }
            structure(node, members, path).map(Value::Object)
        }
    }
}

fn structure(
    node: &Node<'_>,
    members: &[Member],
    path: &str,
) -> Result<Map<String, Value>, QueryError> {
    let mut object = Map::new();
    for (name, child) in &node.children {
        let child_path = join(path, name);
        // botocore names an empty list by its member name (`Entries=`), not its flattened
        // element name (`SendMessageBatchRequestEntry.N`); accept both spellings.
        let member = members
            .iter()
            .find(|member| member.query == *name)
            .or_else(|| {
                members.iter().find(|member| {
                    member.json == *name
                        && matches!(member.shape, Shape::List(_))
                        && child.value == Some("")
                })
            });
        match member {
            Some(member) => {
                object.insert(
                    member.json.to_owned(),
                    value(child, &member.shape, &child_path)?,
                );
            }
            None => {
                if let (Some(text), true) = (child.value, child.children.is_empty()) {
                    object.insert((*name).to_owned(), Value::String(text.to_owned()));
                }
            }
        }
    }
    Ok(object)
}

/// The text of a node that must be a plain `name=value` parameter.
fn leaf<'a>(node: &Node<'a>, path: &str) -> Result<&'a str, QueryError> {
    match (node.value, node.children.is_empty()) {
        (Some(text), true) => Ok(text),
        _ => Err(malformed(format!(
            "The parameter {path} takes a value, not sub-parameters."
        ))),
    }
}

fn scalar(node: &Node<'_>, shape: &Shape, path: &str) -> Result<Value, QueryError> {
    let text = leaf(node, path)?;
    Ok(match shape {
        Shape::Integer => {
            Value::from(text.parse::<i64>().map_err(|_| {
                QueryError::invalid_value(path, text, "the value must be an integer.")
            })?)
        }
        Shape::Boolean => match text {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => {
                return Err(QueryError::invalid_value(
                    path,
                    text,
                    "the value must be true or false.",
                ));
            }
        },
        Shape::Blob => {
            STANDARD.decode(text).map_err(|_| {
                QueryError::invalid_value(path, text, "the value must be base64-encoded.")
            })?;
            Value::String(text.to_owned())
        }
        _ => Value::String(text.to_owned()),
    })
}

/// The `.1`, `.2`, … children of a list or map, in index order. Indices start at 1.
fn indexed<'n, 'a>(
    node: &'n Node<'a>,
    path: &str,
) -> Result<Vec<(String, &'n Node<'a>)>, QueryError> {
    let mut entries = Vec::with_capacity(node.children.len());
    for (index, child) in &node.children {
        let number = index
            .bytes()
            .all(|byte| byte.is_ascii_digit())
            .then(|| index.parse::<u32>().ok())
            .flatten()
            .filter(|number| *number >= 1)
            .ok_or_else(|| {
                malformed(format!(
                    "The parameter {} has no valid index (1, 2, …).",
                    join(path, index)
                ))
            })?;
        entries.push((number, join(path, index), child));
    }
    entries.sort_by_key(|(number, _, _)| *number);
    if entries.windows(2).any(|pair| pair[0].0 == pair[1].0) {
        return Err(malformed(format!("The parameter {path} repeats an index.")));
    }
    Ok(entries
        .into_iter()
        .map(|(_, path, child)| (path, child))
        .collect())
}

fn list(node: &Node<'_>, item: &Shape, path: &str) -> Result<Value, QueryError> {
    // Some older clients send `AttributeName=All` for a one-element list.
    let is_scalar_item = matches!(
        item,
        Shape::String | Shape::Integer | Shape::Boolean | Shape::Blob
    );
    match (node.value, node.children.is_empty()) {
        // botocore writes an empty list as `Name=`: no entries, not one empty entry.
        (Some(""), true) => return Ok(Value::Array(Vec::new())),
        (Some(_), true) if is_scalar_item => {
            return Ok(Value::Array(vec![scalar(node, item, path)?]));
        }
        (Some(_), _) => {
            return Err(malformed(format!(
                "The parameter {path} is a list: write {path}.1, {path}.2, …"
            )));
        }
        (None, _) => {}
    }
    indexed(node, path)?
        .into_iter()
        .map(|(entry_path, entry)| value(entry, item, &entry_path))
        .collect::<Result<Vec<_>, _>>()
        .map(Value::Array)
}

fn map(
    node: &Node<'_>,
    key: &str,
    value_name: &str,
    value_shape: &Shape,
    path: &str,
) -> Result<Value, QueryError> {
    if node.value.is_some() {
        return Err(malformed(format!(
            "The parameter {path} is a map: write {path}.1.{key} and {path}.1.{value_name}."
        )));
    }
    let mut object = Map::new();
    for (entry_path, entry) in indexed(node, path)? {
        if entry.value.is_some() {
            return Err(malformed(format!(
                "The parameter {entry_path} takes sub-parameters, not a value."
            )));
        }
        if let Some(other) = entry
            .children
            .keys()
            .find(|name| **name != key && **name != value_name)
        {
            return Err(malformed(format!(
                "The parameter {entry_path}.{other} is not valid: map entries have {key} and {value_name}."
            )));
        }
        let key_path = join(&entry_path, key);
        let key_node = entry
            .children
            .get(key)
            .ok_or_else(|| QueryError::MissingParameter(key_path.clone()))?;
        let name = leaf(key_node, &key_path)?;
        let value_path = join(&entry_path, value_name);
        let value_node = entry
            .children
            .get(value_name)
            .ok_or_else(|| QueryError::MissingParameter(value_path.clone()))?;
        object.insert(
            name.to_owned(),
            value(value_node, value_shape, &value_path)?,
        );
    }
    Ok(Value::Object(object))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const ATTRIBUTE_VALUE: Shape = Shape::Structure(&[
        Member::new("BinaryValue", "BinaryValue", Shape::Blob),
        Member::new(
            "StringListValue",
            "StringListValues",
            Shape::List(&Shape::String),
        ),
    ]);

    const MESSAGE_ATTRIBUTES: Member = Member::new(
        "MessageAttribute",
        "MessageAttributes",
        Shape::Map {
            key: "Name",
            value: "Value",
            value_shape: &ATTRIBUTE_VALUE,
        },
    );

    const MEMBERS: &[Member] = &[
        Member::new(
            "Attribute",
            "Attributes",
            Shape::Map {
                key: "Name",
                value: "Value",
                value_shape: &Shape::String,
            },
        ),
        Member::new(
            "Tag",
            "tags",
            Shape::Map {
                key: "Key",
                value: "Value",
                value_shape: &Shape::String,
            },
        ),
        Member::new(
            "AttributeName",
            "AttributeNames",
            Shape::List(&Shape::String),
        ),
        Member::integer("DelaySeconds"),
        Member::new("Flag", "Flag", Shape::Boolean),
        MESSAGE_ATTRIBUTES,
        Member::new(
            "Entry",
            "Entries",
            Shape::List(&Shape::Structure(&[
                Member::integer("DelaySeconds"),
                MESSAGE_ATTRIBUTES,
            ])),
        ),
    ];

    /// Decodes `query` (a form body) against `MEMBERS`.
    fn check(query: &str) -> Result<Value, QueryError> {
        decode(&Params::parse(None, query.as_bytes())?, MEMBERS)
    }

    fn code(query: &str) -> &'static str {
        check(query).expect_err(query).code()
    }

    #[test]
    fn scalars_pass_through_by_name_and_framing_is_dropped() {
        assert_eq!(
            check("Action=SendMessage&Version=2012-11-05&QueueUrl=u&MessageGroupId=g").unwrap(),
            json!({"QueueUrl": "u", "MessageGroupId": "g"})
        );
    }

    #[test]
    fn typed_scalars_are_converted_and_checked() {
        assert_eq!(
            check("DelaySeconds=-5&Flag=true").unwrap(),
            json!({"DelaySeconds": -5, "Flag": true})
        );
        assert_eq!(code("DelaySeconds=five"), "InvalidParameterValue");
        assert_eq!(
            code("DelaySeconds=99999999999999999999"),
            "InvalidParameterValue"
        );
        assert_eq!(code("Flag=yes"), "InvalidParameterValue");
        assert_eq!(code("DelaySeconds.1=5"), "MalformedQueryString");
    }

    #[test]
    fn maps_of_strings_with_either_key_name() {
        assert_eq!(
            check(
                "Attribute.2.Name=B&Attribute.2.Value=2&Attribute.1.Name=A&Attribute.1.Value=1\
                 &Tag.1.Key=team&Tag.1.Value=core"
            )
            .unwrap(),
            json!({"Attributes": {"A": "1", "B": "2"}, "tags": {"team": "core"}})
        );
    }

    #[test]
    fn empty_lists_are_empty_whichever_name_they_use() {
        let entries: &[Member] = &[Member::new(
            "SendMessageBatchRequestEntry",
            "Entries",
            Shape::List(&Shape::Structure(&[])),
        )];
        for query in ["Entries=", "SendMessageBatchRequestEntry="] {
            let params = Params::parse(None, query.as_bytes()).unwrap();
            assert_eq!(
                decode(&params, entries).unwrap(),
                json!({"Entries": []}),
                "{query}"
            );
        }
    }

    #[test]
    fn map_entries_need_both_halves() {
        let error = check("Attribute.1.Name=A").unwrap_err();
        assert_eq!(
            error,
            QueryError::MissingParameter("Attribute.1.Value".into())
        );
        let error = check("Tag.3.Value=v").unwrap_err();
        assert_eq!(error, QueryError::MissingParameter("Tag.3.Key".into()));
        assert_eq!(
            code("Attribute.1.Name=A&Attribute.1.Value=1&Attribute.1.Other=x"),
            "MalformedQueryString"
        );
        assert_eq!(code("Attribute.1=A"), "MalformedQueryString");
        assert_eq!(code("Attribute=A"), "MalformedQueryString");
    }

    #[test]
    fn lists_are_ordered_by_numeric_index() {
        assert_eq!(
            check("AttributeName.10=J&AttributeName.2=B&AttributeName.1=A").unwrap(),
            json!({"AttributeNames": ["A", "B", "J"]})
        );
        assert_eq!(
            check("AttributeName=All").unwrap(),
            json!({"AttributeNames": ["All"]})
        );
    }

    #[test]
    fn indices_must_be_positive_decimal_and_distinct() {
        for query in [
            "AttributeName.x=A",
            "AttributeName.0=A",
            "AttributeName.-1=A",
            "AttributeName.+1=A",
            "AttributeName.99999999999=A",
            "AttributeName.1=A&AttributeName.01=B",
            "Attribute.one.Name=A&Attribute.one.Value=1",
        ] {
            assert_eq!(code(query), "MalformedQueryString", "{query}");
        }
    }

    #[test]
    fn nested_message_attributes_and_batch_entries() {
        let decoded = check(
            "MessageAttribute.1.Name=color&MessageAttribute.1.Value.DataType=String\
             &MessageAttribute.1.Value.StringValue=red\
             &MessageAttribute.2.Name=raw&MessageAttribute.2.Value.DataType=Binary\
             &MessageAttribute.2.Value.BinaryValue=AAEC\
             &MessageAttribute.2.Value.StringListValue.1=x\
             &Entry.2.Id=b&Entry.2.DelaySeconds=3&Entry.1.Id=a&Entry.1.MessageGroupId=g\
             &Entry.1.MessageAttribute.1.Name=n&Entry.1.MessageAttribute.1.Value.DataType=Number\
             &Entry.1.MessageAttribute.1.Value.StringValue=1",
        )
        .unwrap();
        assert_eq!(
            decoded,
            json!({
                "MessageAttributes": {
                    "color": {"DataType": "String", "StringValue": "red"},
                    "raw": {"DataType": "Binary", "BinaryValue": "AAEC", "StringListValues": ["x"]},
                },
                "Entries": [
                    {"Id": "a", "MessageGroupId": "g", "MessageAttributes": {
                        "n": {"DataType": "Number", "StringValue": "1"}}},
                    {"Id": "b", "DelaySeconds": 3},
                ],
            })
        );
    }

    #[test]
    fn blobs_must_be_base64() {
        let error = check(
            "MessageAttribute.1.Name=raw&MessageAttribute.1.Value.DataType=Binary\
             &MessageAttribute.1.Value.BinaryValue=not*base64",
        )
        .unwrap_err();
        assert_eq!(error.code(), "InvalidParameterValue");
        assert!(
            error
                .to_string()
                .contains("MessageAttribute.1.Value.BinaryValue"),
            "{error}"
        );
        assert_eq!(code("Entry.1=x"), "MalformedQueryString");
    }

    #[test]
    fn unknown_nested_parameters_are_ignored() {
        assert_eq!(
            check("QueueUrl=u&MessageSystemAttribute.1.Name=AWSTraceHeader&Unknown.1=x").unwrap(),
            json!({"QueueUrl": "u"})
        );
    }

    #[test]
    fn names_are_well_formed_and_not_repeated() {
        for query in [
            "QueueUrl=a&QueueUrl=b",
            "Attribute..Name=A",
            "QueueUrl.=a",
            ".QueueUrl=a",
            "A.1.2.3.4.5.6.7.8.9.10=x",
        ] {
            assert_eq!(code(query), "MalformedQueryString", "{query}");
        }
    }
}
