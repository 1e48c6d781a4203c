//! The match values inside a key's array: exact values and the operator objects
//! (`prefix`, `suffix`, `equals-ignore-case`, `anything-but`, `numeric`, `exists`, `cidr`), and
//! how one of them matches one scalar taken from a message.

use serde_json::{Map, Value};

use crate::cidr::Cidr;
use crate::error::PolicyError;
use crate::numeric::{NumericCondition, numbers_equal};

/// Field names that are operators; an `$or` branch using one is not an `$or` (AWS guide,
/// "OR operator"). `wildcard` is listed because EventBridge reserves it; SNS does not accept it.
pub const RESERVED_KEYWORDS: &[&str] = &[
    "prefix",
    "suffix",
    "equals-ignore-case",
    "anything-but",
    "numeric",
    "exists",
    "cidr",
    "wildcard",
];

/// An exact value in a policy.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    String(String),
    Number(f64),
    Bool(bool),
    Null,
}

/// One value taken from a message: an attribute value, a String.Array element or a body leaf.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scalar<'a> {
    String(&'a str),
    Number(f64),
    Bool(bool),
    Null,
}

/// What `anything-but` excludes.
#[derive(Debug, Clone, PartialEq)]
pub enum Excluded {
    Values(Vec<Literal>),
    Prefix(String),
    Suffix(String),
    EqualsIgnoreCase(Vec<String>),
}

/// One element of a key's array of match values.
#[derive(Debug, Clone, PartialEq)]
pub enum Pattern {
    Exact(Literal),
    Prefix(String),
    Suffix(String),
    EqualsIgnoreCase(String),
    AnythingBut(Excluded),
    Numeric(NumericCondition),
    Exists(bool),
    Cidr(Cidr),
}

impl Pattern {
    pub fn parse(value: &Value) -> Result<Self, PolicyError> {
        match value {
            Value::Object(operator) => parse_operator(operator),
            Value::Array(_) => Err(PolicyError::BadMatchValue),
            scalar => literal(scalar).map(Pattern::Exact),
        }
    }

    /// Whether this pattern accepts `value`. `exists` is decided per key, not per value, so it
    /// accepts no value here.
    pub fn matches(&self, value: Scalar<'_>) -> bool {
        match self {
            Pattern::Exact(literal) => literal_matches(literal, value),
            Pattern::Prefix(prefix) => {
                as_str(value).is_some_and(|text| text.starts_with(prefix.as_str()))
            }
            Pattern::Suffix(suffix) => {
                as_str(value).is_some_and(|text| text.ends_with(suffix.as_str()))
            }
            Pattern::EqualsIgnoreCase(expected) => {
                as_str(value).is_some_and(|text| equal_ignoring_case(text, expected))
            }
            Pattern::AnythingBut(excluded) => !excluded.contains(value) && value != Scalar::Null,
            Pattern::Numeric(condition) => match value {
                Scalar::Number(number) => condition.matches(number),
                _ => false,
            },
            Pattern::Exists(_) => false,
            Pattern::Cidr(block) => as_str(value).is_some_and(|text| block.contains(text)),
        }
    }
}

impl Excluded {
    /// Whether `value` is one of the excluded values.
    pub fn contains(&self, value: Scalar<'_>) -> bool {
        match self {
            Excluded::Values(literals) => literals
                .iter()
                .any(|literal| literal_matches(literal, value)),
            Excluded::Prefix(prefix) => {
                as_str(value).is_some_and(|text| text.starts_with(prefix.as_str()))
            }
            Excluded::Suffix(suffix) => {
                as_str(value).is_some_and(|text| text.ends_with(suffix.as_str()))
            }
            Excluded::EqualsIgnoreCase(words) => as_str(value)
                .is_some_and(|text| words.iter().any(|word| equal_ignoring_case(text, word))),
        }
    }
}

fn parse_operator(operator: &Map<String, Value>) -> Result<Pattern, PolicyError> {
    let mut entries = operator.iter();
    let (Some((name, operand)), None) = (entries.next(), entries.next()) else {
        return Err(PolicyError::OneKeyPerMatch);
    };
    match name.as_str() {
        "prefix" => string_operand(name, operand).map(Pattern::Prefix),
        "suffix" => string_operand(name, operand).map(Pattern::Suffix),
        "equals-ignore-case" => string_operand(name, operand).map(Pattern::EqualsIgnoreCase),
        "anything-but" => parse_anything_but(operand).map(Pattern::AnythingBut),
        "numeric" => NumericCondition::parse(operand).map(Pattern::Numeric),
        "exists" => operand
            .as_bool()
            .map(Pattern::Exists)
            .ok_or(PolicyError::ExistsNotBoolean),
        // AWS answers a non-string `cidr` with the `prefix` wording.
        "cidr" => Cidr::parse(&string_operand("prefix", operand)?).map(Pattern::Cidr),
        other => Err(PolicyError::UnrecognizedMatchType(other.to_string())),
    }
}

fn parse_anything_but(operand: &Value) -> Result<Excluded, PolicyError> {
    match operand {
        Value::Array(items) if items.is_empty() => Err(PolicyError::EmptyArray),
        Value::Array(items) => items
            .iter()
            .map(literal)
            .collect::<Result<_, _>>()
            .map(Excluded::Values),
        Value::Object(inner) => {
            let mut entries = inner.iter();
            let (Some((name, value)), None) = (entries.next(), entries.next()) else {
                return Err(PolicyError::OneKeyPerMatch);
            };
            match name.as_str() {
                "prefix" => string_operand(name, value).map(Excluded::Prefix),
                "suffix" => string_operand(name, value).map(Excluded::Suffix),
                "equals-ignore-case" => match value {
                    Value::Array(words) if words.is_empty() => Err(PolicyError::EmptyArray),
                    Value::Array(words) => words
                        .iter()
                        .map(|word| string_operand(name, word))
                        .collect::<Result<_, _>>()
                        .map(Excluded::EqualsIgnoreCase),
                    word => string_operand(name, word)
                        .map(|word| Excluded::EqualsIgnoreCase(vec![word])),
                },
                other => Err(PolicyError::UnsupportedAnythingBut(other.to_string())),
            }
        }
        scalar => literal(scalar).map(|value| Excluded::Values(vec![value])),
    }
}

fn string_operand(operator: &str, operand: &Value) -> Result<String, PolicyError> {
    operand
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| PolicyError::PatternMustBeString(operator.to_string()))
}

fn literal(value: &Value) -> Result<Literal, PolicyError> {
    match value {
        Value::String(text) => Ok(Literal::String(text.clone())),
        Value::Number(number) => number
            .as_f64()
            .map(Literal::Number)
            .ok_or(PolicyError::BadMatchValue),
        Value::Bool(flag) => Ok(Literal::Bool(*flag)),
        Value::Null => Ok(Literal::Null),
        Value::Array(_) | Value::Object(_) => Err(PolicyError::BadMatchValue),
    }
}

fn literal_matches(literal: &Literal, value: Scalar<'_>) -> bool {
    match (literal, value) {
        (Literal::String(expected), Scalar::String(actual)) => expected == actual,
        (Literal::Number(expected), Scalar::Number(actual)) => numbers_equal(*expected, actual),
        (Literal::Bool(expected), Scalar::Bool(actual)) => *expected == actual,
        (Literal::Null, Scalar::Null) => true,
        _ => false,
    }
}

fn as_str(value: Scalar<'_>) -> Option<&str> {
    match value {
        Scalar::String(text) => Some(text),
        _ => None,
    }
}

fn equal_ignoring_case(left: &str, right: &str) -> bool {
    left.to_lowercase() == right.to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pattern(value: Value) -> Pattern {
        Pattern::parse(&value).expect("valid pattern")
    }

    #[test]
    fn string_operators() {
        assert!(pattern(json!({"prefix": "bas"})).matches(Scalar::String("basketball")));
        assert!(!pattern(json!({"prefix": "bas"})).matches(Scalar::String("rugby")));
        assert!(pattern(json!({"suffix": "ball"})).matches(Scalar::String("baseball")));
        assert!(pattern(json!({"equals-ignore-case": "RuGbY"})).matches(Scalar::String("rugby")));
        assert!(!pattern(json!({"prefix": "1"})).matches(Scalar::Number(10.0)));
    }

    #[test]
    fn anything_but_forms() {
        let list = pattern(json!({"anything-but": ["rugby", "tennis"]}));
        assert!(list.matches(Scalar::String("baseball")));
        assert!(!list.matches(Scalar::String("rugby")));
        let number = pattern(json!({"anything-but": 100}));
        assert!(!number.matches(Scalar::Number(100.0)));
        assert!(number.matches(Scalar::Number(100.1)));
        let prefix = pattern(json!({"anything-but": {"prefix": "order-"}}));
        assert!(prefix.matches(Scalar::String("order_number")));
        assert!(!prefix.matches(Scalar::String("order-cancelled")));
        let words = pattern(json!({"anything-but": {"equals-ignore-case": ["A", "b"]}}));
        assert!(!words.matches(Scalar::String("B")));
        assert!(words.matches(Scalar::String("c")));
    }

    #[test]
    fn malformed_operators() {
        let error = |value: Value| Pattern::parse(&value).unwrap_err();
        assert_eq!(
            error(json!({"prefix": 1})),
            PolicyError::PatternMustBeString("prefix".into())
        );
        assert_eq!(error(json!({"a": 1, "b": 2})), PolicyError::OneKeyPerMatch);
        assert_eq!(
            error(json!({"wildcard": "a*"})),
            PolicyError::UnrecognizedMatchType("wildcard".into())
        );
        assert_eq!(
            error(json!({"exists": "yes"})),
            PolicyError::ExistsNotBoolean
        );
        assert_eq!(error(json!([["a"]])), PolicyError::BadMatchValue);
        assert_eq!(
            error(json!({"anything-but": {"numeric": [">", 1]}})),
            PolicyError::UnsupportedAnythingBut("numeric".into())
        );
        assert_eq!(
            error(json!({"cidr": 10})),
            PolicyError::PatternMustBeString("prefix".into())
        );
    }
}
