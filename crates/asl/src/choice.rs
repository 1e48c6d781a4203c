//! Choice rules: parsing (with the location of a bad field) and evaluation.
//!
//! String ordering follows Java's `String.compareTo` (UTF-16 code units), which the AWS guide
//! names as the reference; timestamps are RFC 3339 with an uppercase `T`, parsed by `jiff`.

use std::cmp::Ordering;

use serde_json::{Map, Value};

use crate::errors::{self, Failure};
use crate::path::Path;

/// A top-level rule: a condition and the state to go to when it holds.
#[derive(Debug, Clone, PartialEq)]
pub struct ChoiceRule {
    pub condition: Condition,
    pub next: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    And(Vec<Condition>),
    Or(Vec<Condition>),
    Not(Box<Condition>),
    Compare {
        variable: Path,
        operator: Operator,
        operand: Operand,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Value(Value),
    Path(Path),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    String,
    Numeric,
    Boolean,
    Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    Compare(Kind, Ordering, bool /* or equal */),
    StringMatches,
    IsPresent,
    IsNull,
    IsString,
    IsNumeric,
    IsBoolean,
    IsTimestamp,
}

const RULE_DEPTH_MAX: usize = 32;

/// Maps an operator field name (without a `Path` suffix) to its operator.
fn operator(name: &str) -> Option<Operator> {
    use Ordering::*;
    let (kind, rest) = if let Some(rest) = name.strip_prefix("String") {
        (Kind::String, rest)
    } else if let Some(rest) = name.strip_prefix("Numeric") {
        (Kind::Numeric, rest)
    } else if let Some(rest) = name.strip_prefix("Boolean") {
        (Kind::Boolean, rest)
    } else if let Some(rest) = name.strip_prefix("Timestamp") {
        (Kind::Timestamp, rest)
    } else {
        return match name {
            "IsPresent" => Some(Operator::IsPresent),
            "IsNull" => Some(Operator::IsNull),
            "IsString" => Some(Operator::IsString),
            "IsNumeric" => Some(Operator::IsNumeric),
            "IsBoolean" => Some(Operator::IsBoolean),
            "IsTimestamp" => Some(Operator::IsTimestamp),
            _ => None,
        };
    };
    let compare = |ordering, or_equal| Some(Operator::Compare(kind, ordering, or_equal));
    match (kind, rest) {
        (_, "Equals") => compare(Equal, true),
        (Kind::Boolean, _) => None,
        (Kind::String, "Matches") => Some(Operator::StringMatches),
        (_, "LessThan") => compare(Less, false),
        (_, "LessThanEquals") => compare(Less, true),
        (_, "GreaterThan") => compare(Greater, false),
        (_, "GreaterThanEquals") => compare(Greater, true),
        _ => None,
    }
}

/// Parses one top-level rule. Errors carry a location suffix (`/Choices/0/…`-relative) and text.
pub fn parse_rule(value: &Value) -> Result<ChoiceRule, (String, String)> {
    let Some(map) = value.as_object() else {
        return Err((String::new(), "A choice rule must be an object".into()));
    };
    let next = match map.get("Next") {
        Some(Value::String(next)) => next.clone(),
        Some(_) => {
            return Err((
                "/Next".into(),
                "The value for the field 'Next' must be a STRING".into(),
            ));
        }
        None => return Err((String::new(), "These fields are required: [Next]".into())),
    };
    Ok(ChoiceRule {
        condition: parse_condition(map, 0, true)?,
        next,
    })
}

fn parse_condition(
    map: &Map<String, Value>,
    depth: usize,
    top: bool,
) -> Result<Condition, (String, String)> {
    if depth > RULE_DEPTH_MAX {
        return Err((String::new(), "Choice rules nest too deeply".into()));
    }
    if !top && map.contains_key("Next") {
        return Err((
            "/Next".into(),
            "Field 'Next' is not supported in a nested choice rule".into(),
        ));
    }
    for key in map.keys() {
        let allowed = matches!(key.as_str(), "Variable" | "Comment" | "And" | "Or" | "Not")
            || (top && key == "Next")
            || operator(key.strip_suffix("Path").unwrap_or(key)).is_some();
        if !allowed {
            return Err((String::new(), format!("Field '{key}' is not supported")));
        }
    }
    for (key, is_and) in [("And", true), ("Or", false)] {
        if let Some(value) = map.get(key) {
            let Some(items) = value.as_array().filter(|items| !items.is_empty()) else {
                return Err((
                    format!("/{key}"),
                    format!("The field '{key}' must be a non-empty array"),
                ));
            };
            let mut rules = Vec::with_capacity(items.len());
            for (index, item) in items.iter().enumerate() {
                let Some(inner) = item.as_object() else {
                    return Err((
                        format!("/{key}/{index}"),
                        "A choice rule must be an object".into(),
                    ));
                };
                rules.push(
                    parse_condition(inner, depth + 1, false)
                        .map_err(|(p, m)| (format!("/{key}/{index}{p}"), m))?,
                );
            }
            return Ok(if is_and {
                Condition::And(rules)
            } else {
                Condition::Or(rules)
            });
        }
    }
    if let Some(value) = map.get("Not") {
        let Some(inner) = value.as_object() else {
            return Err(("/Not".into(), "The field 'Not' must be an object".into()));
        };
        let inner =
            parse_condition(inner, depth + 1, false).map_err(|(p, m)| (format!("/Not{p}"), m))?;
        return Ok(Condition::Not(Box::new(inner)));
    }
    parse_comparison(map)
}

fn parse_comparison(map: &Map<String, Value>) -> Result<Condition, (String, String)> {
    let variable = match map.get("Variable") {
        Some(Value::String(text)) => Path::parse(text).map_err(|_| {
            (
                "/Variable".to_string(),
                format!("The value for the field 'Variable' must be a valid JSONPath: {text}"),
            )
        })?,
        Some(_) => {
            return Err((
                "/Variable".into(),
                "The value for the field 'Variable' must be a STRING".into(),
            ));
        }
        None => {
            return Err((
                String::new(),
                "These fields are required: [Variable]".into(),
            ));
        }
    };
    let mut found = None;
    for (key, value) in map {
        let (name, is_path) = match key.strip_suffix("Path") {
            Some(name) if operator(name).is_some() => (name, true),
            _ => (key.as_str(), false),
        };
        let Some(op) = operator(name) else { continue };
        if found.is_some() {
            return Err((
                String::new(),
                "A choice rule must have exactly one comparison operator".into(),
            ));
        }
        let location = format!("/{key}");
        let operand = if is_path {
            if matches!(
                op,
                Operator::IsPresent
                    | Operator::IsNull
                    | Operator::IsString
                    | Operator::IsNumeric
                    | Operator::IsBoolean
                    | Operator::IsTimestamp
            ) {
                return Err((String::new(), format!("Field '{key}' is not supported")));
            }
            let text = value.as_str().ok_or_else(|| {
                (
                    location.clone(),
                    format!("The value for the field '{key}' must be a STRING"),
                )
            })?;
            Operand::Path(Path::parse(text).map_err(|_| {
                (
                    location.clone(),
                    format!("The value for the field '{key}' must be a valid JSONPath"),
                )
            })?)
        } else {
            check_literal(op, value)
                .map_err(|message| (location.clone(), message.replace("{key}", key)))?;
            Operand::Value(value.clone())
        };
        found = Some((op, operand));
    }
    let Some((operator, operand)) = found else {
        return Err((
            String::new(),
            "A choice rule must have a comparison operator".into(),
        ));
    };
    Ok(Condition::Compare {
        variable,
        operator,
        operand,
    })
}

fn check_literal(op: Operator, value: &Value) -> Result<(), String> {
    let ok = match op {
        Operator::Compare(Kind::String, ..) | Operator::StringMatches => value.is_string(),
        Operator::Compare(Kind::Numeric, ..) => value.is_number(),
        Operator::Compare(Kind::Boolean, ..) => value.is_boolean(),
        Operator::Compare(Kind::Timestamp, ..) => {
            value.as_str().is_some_and(|t| parse_timestamp(t).is_some())
        }
        _ => value.is_boolean(),
    };
    if ok {
        return Ok(());
    }
    let kind = match op {
        Operator::Compare(Kind::String, ..) | Operator::StringMatches => "STRING",
        Operator::Compare(Kind::Numeric, ..) => "NUMBER",
        Operator::Compare(Kind::Timestamp, ..) => "TIMESTAMP",
        _ => "BOOLEAN",
    };
    Err(format!(
        "The value for the field '{{key}}' must be a {kind}"
    ))
}

/// Parses an RFC 3339 timestamp as Step Functions accepts it (uppercase `T`, `Z` or offset),
/// returning nanoseconds since the epoch.
pub fn parse_timestamp(text: &str) -> Option<i128> {
    if text.len() < 20 || text.as_bytes().get(10) != Some(&b'T') || text.contains(['t', 'z', ' ']) {
        return None;
    }
    text.parse::<jiff::Timestamp>()
        .ok()
        .map(|t| t.as_nanosecond())
}

/// Evaluates a condition against the state's effective input.
pub fn evaluate(condition: &Condition, input: &Value, context: &Value) -> Result<bool, Failure> {
    match condition {
        Condition::And(rules) => {
            for rule in rules {
                if !evaluate(rule, input, context)? {
                    return Ok(false);
                }
            }
            Ok(true)
        }
        Condition::Or(rules) => {
            for rule in rules {
                if evaluate(rule, input, context)? {
                    return Ok(true);
                }
            }
            Ok(false)
        }
        Condition::Not(inner) => Ok(!evaluate(inner, input, context)?),
        Condition::Compare {
            variable,
            operator,
            operand,
        } => compare(variable, *operator, operand, input, context),
    }
}

fn invalid_path(path: &Path) -> Failure {
    Failure::new(
        errors::RUNTIME,
        format!(
            "Invalid path '{path}': The choice state's condition path references an invalid value."
        ),
    )
}

fn compare(
    variable: &Path,
    op: Operator,
    operand: &Operand,
    input: &Value,
    context: &Value,
) -> Result<bool, Failure> {
    let expected = |value: &Value| value.as_bool().unwrap_or(false);
    let wanted = match operand {
        Operand::Value(value) => value.clone(),
        Operand::Path(path) => path.read(input, context).map_err(|_| invalid_path(path))?,
    };
    if op == Operator::IsPresent {
        return Ok(variable.exists(input, context) == expected(&wanted));
    }
    let actual = variable
        .read(input, context)
        .map_err(|_| invalid_path(variable))?;
    Ok(match op {
        // Answered above, before the variable is read.
        Operator::IsPresent => false,
        Operator::IsNull => actual.is_null() == expected(&wanted),
        Operator::IsString => actual.is_string() == expected(&wanted),
        Operator::IsNumeric => actual.is_number() == expected(&wanted),
        Operator::IsBoolean => actual.is_boolean() == expected(&wanted),
        Operator::IsTimestamp => {
            actual
                .as_str()
                .is_some_and(|t| parse_timestamp(t).is_some())
                == expected(&wanted)
        }
        Operator::StringMatches => match (actual.as_str(), wanted.as_str()) {
            (Some(text), Some(pattern)) => string_matches(text, pattern),
            _ => false,
        },
        Operator::Compare(kind, ordering, or_equal) => match order(kind, &actual, &wanted) {
            Some(found) => found == ordering || (or_equal && found == Ordering::Equal),
            // A value of the wrong type simply does not match, as the guide says.
            None => false,
        },
    })
}

fn order(kind: Kind, actual: &Value, wanted: &Value) -> Option<Ordering> {
    match kind {
        Kind::String => Some(
            actual
                .as_str()?
                .encode_utf16()
                .cmp(wanted.as_str()?.encode_utf16()),
        ),
        Kind::Numeric => actual.as_f64()?.partial_cmp(&wanted.as_f64()?),
        Kind::Boolean => (actual.as_bool()? == wanted.as_bool()?)
            .then_some(Ordering::Equal)
            .or(Some(Ordering::Less)),
        Kind::Timestamp => {
            Some(parse_timestamp(actual.as_str()?)?.cmp(&parse_timestamp(wanted.as_str()?)?))
        }
    }
}

/// `StringMatches`: `*` matches any run of characters; `\*` and `\\` are a literal star and
/// backslash. Iterative with single backtracking point, so it is linear-ish and cannot blow up.
pub fn string_matches(text: &str, pattern: &str) -> bool {
    #[derive(PartialEq)]
    enum Token {
        Char(char),
        Star,
    }
    let mut tokens = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => tokens.push(Token::Char(chars.next().unwrap_or('\\'))),
            '*' => tokens.push(Token::Star),
            other => tokens.push(Token::Char(other)),
        }
    }
    let text: Vec<char> = text.chars().collect();
    let (mut t, mut p) = (0usize, 0usize);
    let mut backtrack: Option<(usize, usize)> = None;
    while t < text.len() {
        match tokens.get(p) {
            Some(Token::Star) => {
                backtrack = Some((p, t));
                p += 1;
            }
            Some(Token::Char(c)) if *c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match backtrack {
                Some((star, matched)) => {
                    p = star + 1;
                    t = matched + 1;
                    backtrack = Some((star, matched + 1));
                }
                None => return false,
            },
        }
    }
    tokens[p..].iter().all(|token| *token == Token::Star)
}

#[cfg(test)]
mod tests;
