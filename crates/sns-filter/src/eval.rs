//! Evaluating a [`FilterPolicy`] against a message's attributes or its JSON body.
//!
//! A policy matches when every key matches and, for every `$or`, at least one branch matches.
//! A key matches when any of its patterns matches any of the key's values in the message;
//! `{"exists": b}` matches when the key's presence is `b`, so `[{"exists": false}]` accepts a
//! message without the key and `["a", {"exists": false}]` accepts "a" or absence.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::numeric::parse_number;
use crate::pattern::{Pattern, Scalar};
use crate::policy::{Conjunction, FilterPolicy, Rule, Scope};

/// *Tern*: how deep arrays inside arrays are followed in a message body. serde_json already
/// stops parsing at 128 levels; this guards bodies built in memory.
const BODY_ARRAY_DEPTH_MAX: usize = 128;

/// One SNS message attribute, by its `DataType`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageAttribute {
    /// `String` and custom `String.*` types other than `String.Array`.
    String(String),
    /// `Number` and custom `Number.*` types: the value's text, compared numerically.
    Number(String),
    /// `String.Array`: a JSON array whose elements are matched one by one.
    StringArray(String),
    /// `Binary`: SNS ignores these when filtering, as if absent.
    Binary,
}

impl MessageAttribute {
    /// The attribute for a wire `DataType` and `StringValue`.
    pub fn new(data_type: &str, value: impl Into<String>) -> Self {
        let base = data_type.split('.').next().unwrap_or_default();
        match (base, data_type) {
            (_, "String.Array") => Self::StringArray(value.into()),
            ("String", _) => Self::String(value.into()),
            ("Number", _) => Self::Number(value.into()),
            _ => Self::Binary,
        }
    }
}

/// Attribute name to attribute.
pub type MessageAttributes = BTreeMap<String, MessageAttribute>;

impl FilterPolicy {
    /// Matches by the policy's scope: `attributes` for `MessageAttributes`, `body` for
    /// `MessageBody`.
    pub fn matches(&self, attributes: &MessageAttributes, body: &str) -> bool {
        match self.scope {
            Scope::MessageAttributes => self.matches_attributes(attributes),
            Scope::MessageBody => self.matches_body(body),
        }
    }

    pub fn matches_attributes(&self, attributes: &MessageAttributes) -> bool {
        attributes_match(&self.root, attributes)
    }

    /// A body that is not a JSON object matches no policy except the empty one.
    pub fn matches_body(&self, body: &str) -> bool {
        match serde_json::from_str::<Value>(body) {
            Ok(value) => self.matches_body_value(&value),
            Err(_) => is_empty(&self.root),
        }
    }

    pub fn matches_body_value(&self, body: &Value) -> bool {
        match body {
            Value::Object(object) => body_matches(&self.root, &[object]),
            _ => is_empty(&self.root),
        }
    }
}

fn is_empty(conjunction: &Conjunction) -> bool {
    conjunction.keys.is_empty() && conjunction.alternatives.is_empty()
}

fn attributes_match(conjunction: &Conjunction, attributes: &MessageAttributes) -> bool {
    let keys = conjunction.keys.iter().all(|key| match &key.rule {
        Rule::Patterns(patterns) => attribute_matches(patterns, attributes.get(&key.name)),
        // Parsing refuses nested attribute policies; a nested rule can match nothing here.
        Rule::Nested(_) => false,
    });
    keys && conjunction.alternatives.iter().all(|branches| {
        branches
            .iter()
            .any(|branch| attributes_match(branch, attributes))
    })
}

fn attribute_matches(patterns: &[Pattern], attribute: Option<&MessageAttribute>) -> bool {
    let array: Vec<Value>;
    let (present, values, is_array) = match attribute {
        None | Some(MessageAttribute::Binary) => (false, Vec::new(), false),
        Some(MessageAttribute::String(text)) => (true, vec![Scalar::String(text)], false),
        Some(MessageAttribute::Number(text)) => (
            true,
            parse_number(text).map(Scalar::Number).into_iter().collect(),
            false,
        ),
        Some(MessageAttribute::StringArray(text)) => {
            // A String.Array that is not a JSON array has no values to match; it is present.
            array = match serde_json::from_str(text) {
                Ok(Value::Array(items)) => items,
                _ => Vec::new(),
            };
            (true, array.iter().filter_map(scalar).collect(), true)
        }
    };
    patterns.iter().any(|pattern| match pattern {
        Pattern::Exists(expected) => present == *expected,
        // The guide: for String.Array, anything-but matches if none of the elements is listed.
        Pattern::AnythingBut(_) if is_array => {
            !values.is_empty() && values.iter().all(|value| pattern.matches(*value))
        }
        _ => values.iter().any(|value| pattern.matches(*value)),
    })
}

fn scalar(value: &Value) -> Option<Scalar<'_>> {
    match value {
        Value::String(text) => Some(Scalar::String(text)),
        Value::Number(number) => number.as_f64().map(Scalar::Number),
        Value::Bool(flag) => Some(Scalar::Bool(*flag)),
        Value::Null => Some(Scalar::Null),
        Value::Array(_) | Value::Object(_) => None,
    }
}

/// `nodes` are the body objects the policy level applies to: one at the top, several where the
/// body holds an array of objects. A key's values are gathered across all of them.
fn body_matches(conjunction: &Conjunction, nodes: &[&Map<String, Value>]) -> bool {
    let keys = conjunction.keys.iter().all(|key| {
        let mut objects = Vec::new();
        let mut leaves = Vec::new();
        for node in nodes {
            if let Some(value) = node.get(&key.name) {
                gather(value, &mut objects, &mut leaves, 0);
            }
        }
        match &key.rule {
            Rule::Nested(inner) => body_matches(inner, &objects),
            Rule::Patterns(patterns) => patterns.iter().any(|pattern| match pattern {
                Pattern::Exists(expected) => leaves.is_empty() != *expected,
                _ => leaves.iter().any(|leaf| pattern.matches(*leaf)),
            }),
        }
    });
    keys && conjunction
        .alternatives
        .iter()
        .all(|branches| branches.iter().any(|branch| body_matches(branch, nodes)))
}

/// Splits a body value into the objects below it and its scalar leaves, looking through arrays
/// (a body array matches if any element matches).
fn gather<'a>(
    value: &'a Value,
    objects: &mut Vec<&'a Map<String, Value>>,
    leaves: &mut Vec<Scalar<'a>>,
    depth: usize,
) {
    match value {
        Value::Object(object) => objects.push(object),
        Value::Array(items) if depth < BODY_ARRAY_DEPTH_MAX => {
            for item in items {
                gather(item, objects, leaves, depth + 1);
            }
        }
        Value::Array(_) => {}
        scalar_value => leaves.extend(scalar(scalar_value)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attributes(entries: &[(&str, &str, &str)]) -> MessageAttributes {
        entries
            .iter()
            .map(|(name, data_type, value)| {
                (name.to_string(), MessageAttribute::new(data_type, *value))
            })
            .collect()
    }

    #[test]
    fn data_types_map_to_attribute_kinds() {
        assert_eq!(
            MessageAttribute::new("String.Array", "[]"),
            MessageAttribute::StringArray("[]".into())
        );
        assert_eq!(
            MessageAttribute::new("String.custom", "a"),
            MessageAttribute::String("a".into())
        );
        assert_eq!(
            MessageAttribute::new("Number.float", "1"),
            MessageAttribute::Number("1".into())
        );
        assert_eq!(
            MessageAttribute::new("Binary", "AA=="),
            MessageAttribute::Binary
        );
    }

    #[test]
    fn binary_attributes_count_as_absent() {
        let policy =
            FilterPolicy::parse(r#"{"blob": [{"exists": false}]}"#, Scope::MessageAttributes)
                .unwrap();
        assert!(policy.matches_attributes(&attributes(&[("blob", "Binary", "AA==")])));
        let exact = FilterPolicy::parse(r#"{"blob": ["AA=="]}"#, Scope::MessageAttributes).unwrap();
        assert!(!exact.matches_attributes(&attributes(&[("blob", "Binary", "AA==")])));
    }

    #[test]
    fn body_arrays_of_objects_are_searched() {
        let policy =
            FilterPolicy::parse(r#"{"items": {"sku": ["a"]}}"#, Scope::MessageBody).unwrap();
        assert!(policy.matches_body(r#"{"items": [{"sku": "b"}, {"sku": "a"}]}"#));
        assert!(!policy.matches_body(r#"{"items": [{"sku": "b"}]}"#));
        assert!(!policy.matches_body("not json"));
    }

    #[test]
    fn empty_policy_matches_everything() {
        let policy = FilterPolicy::parse("{}", Scope::MessageBody).unwrap();
        assert!(policy.matches_body("plain text"));
        assert!(policy.matches(&MessageAttributes::new(), "[]"));
    }
}
