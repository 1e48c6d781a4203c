//! Parsing a filter policy document into a [`FilterPolicy`], enforcing AWS's structural rules
//! and complexity limits (see [`crate::limits`]).

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use crate::error::PolicyError;
use crate::limits::{
    POLICY_COMBINATIONS_MAX, POLICY_KEYS_MAX, POLICY_NESTING_DEPTH_MAX, POLICY_SIZE_BYTES_MAX,
};
use crate::pattern::{Pattern, RESERVED_KEYWORDS};

/// What a subscription's policy is matched against (`FilterPolicyScope`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scope {
    /// The default: the message's `MessageAttributes`; policies may not nest.
    #[default]
    MessageAttributes,
    /// The message body, parsed as a JSON object; policies nest the way the body does.
    MessageBody,
}

impl Scope {
    /// The scope named by a `FilterPolicyScope` attribute value, if it is one.
    pub fn from_attribute(value: &str) -> Option<Self> {
        match value {
            "MessageAttributes" => Some(Self::MessageAttributes),
            "MessageBody" => Some(Self::MessageBody),
            _ => None,
        }
    }
}

/// A validated filter policy, ready to evaluate many messages.
#[derive(Debug, Clone, PartialEq)]
pub struct FilterPolicy {
    pub(crate) scope: Scope,
    pub(crate) root: Conjunction,
}

/// Keys that must all match, and `$or` groups of which one branch each must match.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Conjunction {
    pub(crate) keys: Vec<KeyRule>,
    pub(crate) alternatives: Vec<Vec<Conjunction>>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct KeyRule {
    pub(crate) name: String,
    pub(crate) rule: Rule,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Rule {
    /// A body policy's nested object: the key's value in the body must match it.
    Nested(Conjunction),
    /// The key matches if any pattern matches.
    Patterns(Vec<Pattern>),
}

impl FilterPolicy {
    /// Parses and validates `text` as a policy for `scope`, as SNS does on Subscribe and
    /// SetSubscriptionAttributes.
    pub fn parse(text: &str, scope: Scope) -> Result<Self, PolicyError> {
        if text.len() > POLICY_SIZE_BYTES_MAX {
            return Err(PolicyError::TooLarge);
        }
        let document: Value = serde_json::from_str(text)
            .map_err(|error| PolicyError::InvalidJson(error.to_string()))?;
        Self::from_value(&document, scope)
    }

    /// As [`FilterPolicy::parse`], for a document already parsed.
    pub fn from_value(document: &Value, scope: Scope) -> Result<Self, PolicyError> {
        let Value::Object(object) = document else {
            return Err(PolicyError::NotAnObject);
        };
        let root = parse_conjunction(object, scope, 1)?;
        let mut paths = BTreeSet::new();
        collect_leaf_paths(&root, &mut Vec::new(), &mut paths);
        if paths.len() > POLICY_KEYS_MAX {
            return Err(PolicyError::TooManyKeys);
        }
        if combinations(&root, 1) > POLICY_COMBINATIONS_MAX {
            return Err(PolicyError::TooComplex);
        }
        Ok(Self { scope, root })
    }

    pub fn scope(&self) -> Scope {
        self.scope
    }
}

fn parse_conjunction(
    object: &Map<String, Value>,
    scope: Scope,
    depth: usize,
) -> Result<Conjunction, PolicyError> {
    if depth > POLICY_NESTING_DEPTH_MAX {
        return Err(PolicyError::TooDeep);
    }
    let mut conjunction = Conjunction::default();
    for (name, value) in object {
        if let Some(branches) = or_branches(name, value) {
            let parsed = branches
                .iter()
                .map(|branch| parse_conjunction(branch, scope, depth + 1))
                .collect::<Result<Vec<_>, _>>()?;
            conjunction.alternatives.push(parsed);
            continue;
        }
        let rule = match value {
            Value::Array(items) if items.is_empty() => return Err(PolicyError::EmptyArray),
            Value::Array(items) => {
                Rule::Patterns(items.iter().map(Pattern::parse).collect::<Result<_, _>>()?)
            }
            Value::Object(_) if scope == Scope::MessageAttributes => {
                return Err(PolicyError::NestedAttributePolicy);
            }
            Value::Object(inner) => Rule::Nested(parse_conjunction(inner, scope, depth + 1)?),
            _ => return Err(PolicyError::NotObjectOrArray(name.clone())),
        };
        conjunction.keys.push(KeyRule {
            name: name.clone(),
            rule,
        });
    }
    Ok(conjunction)
}

/// `"$or"` is an operator only when it holds at least two objects none of which uses a reserved
/// keyword as a field name; otherwise it is an ordinary key (AWS guide, "OR operator").
fn or_branches<'a>(name: &str, value: &'a Value) -> Option<Vec<&'a Map<String, Value>>> {
    if name != "$or" {
        return None;
    }
    let items = value.as_array()?;
    if items.len() < 2 {
        return None;
    }
    let branches: Vec<_> = items.iter().map(Value::as_object).collect::<Option<_>>()?;
    let reserved = branches.iter().any(|branch| {
        branch
            .keys()
            .any(|key| RESERVED_KEYWORDS.contains(&key.as_str()))
    });
    (!reserved).then_some(branches)
}

/// Keys with match values count toward [`POLICY_KEYS_MAX`]; a key that only nests does not
/// (AWS guide, "Filter policy constraints"). A key repeated across `$or` branches counts once.
fn collect_leaf_paths<'a>(
    conjunction: &'a Conjunction,
    prefix: &mut Vec<&'a str>,
    paths: &mut BTreeSet<Vec<&'a str>>,
) {
    for key in &conjunction.keys {
        prefix.push(&key.name);
        match &key.rule {
            Rule::Nested(inner) => collect_leaf_paths(inner, prefix, paths),
            Rule::Patterns(_) => {
                paths.insert(prefix.clone());
            }
        }
        prefix.pop();
    }
    for branch in conjunction.alternatives.iter().flatten() {
        collect_leaf_paths(branch, prefix, paths);
    }
}

/// The number of combinations AWS counts: the product of each key's number of values, times
/// its nesting depth for body policies (the guide's worked example: 3 x 4 x 2 x 3 = 72), with
/// the branches of an `$or` adding up. Saturates rather than overflows.
fn combinations(conjunction: &Conjunction, depth: u64) -> u64 {
    let keys = conjunction.keys.iter().fold(1u64, |total, key| {
        let factor = match &key.rule {
            Rule::Nested(inner) => combinations(inner, depth + 1),
            Rule::Patterns(patterns) => (patterns.len() as u64).saturating_mul(depth),
        };
        total.saturating_mul(factor)
    });
    conjunction
        .alternatives
        .iter()
        .fold(keys, |total, branches| {
            let sum = branches.iter().fold(0u64, |sum, branch| {
                sum.saturating_add(combinations(branch, depth))
            });
            total.saturating_mul(sum)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str, scope: Scope) -> Result<FilterPolicy, PolicyError> {
        FilterPolicy::parse(text, scope)
    }

    #[test]
    fn guide_complexity_examples() {
        let flat = r#"{"key_a": ["1", "2", "3"], "key_b": ["1"], "key_c": ["1", "2"]}"#;
        let policy = parse(flat, Scope::MessageAttributes).unwrap();
        assert_eq!(combinations(&policy.root, 1), 6);
        let nested = r#"{"key_a": {"key_b": {"key_c": ["1", "2", "3", "4"]}},
                         "key_d": {"key_e": ["1", "2", "3"]}}"#;
        let policy = parse(nested, Scope::MessageBody).unwrap();
        assert_eq!(combinations(&policy.root, 1), 72);
    }

    #[test]
    fn or_with_reserved_keyword_is_an_ordinary_key() {
        let text = r#"{"$or": [{"numeric": 123}, {"prefix": "abc"}]}"#;
        // As an ordinary key its array holds operator objects, and `{"numeric": 123}` is not one.
        assert!(parse(text, Scope::MessageAttributes).is_err());
        let prefixes = r#"{"$or": [{"prefix": "abc"}, {"suffix": "xyz"}]}"#;
        assert!(parse(prefixes, Scope::MessageAttributes).is_ok());
    }

    #[test]
    fn nesting_is_bounded() {
        let deep = format!("{}[1]{}", r#"{"a":"#.repeat(40), "}".repeat(40));
        assert_eq!(parse(&deep, Scope::MessageBody), Err(PolicyError::TooDeep));
    }
}
