//! `{"numeric": [...]}`: one comparison (`=`, `<`, `<=`, `>`, `>=`) or a range
//! (`[">" | ">=", low, "<" | "<=", high]`), and numeric equality for exact number values.
//!
//! Numbers are compared at five decimal digits, as AWS documents: `5` equals `5.0` and
//! `0.000001` equals `0`.

use serde_json::Value;

use crate::error::PolicyError;
use crate::limits::NUMERIC_DECIMAL_DIGITS;

/// One side of a numeric condition.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Bound {
    Equal(f64),
    Less(f64),
    LessOrEqual(f64),
    Greater(f64),
    GreaterOrEqual(f64),
}

/// A parsed `numeric` condition: one bound, or a lower and an upper bound.
#[derive(Debug, Clone, PartialEq)]
pub struct NumericCondition {
    bounds: Vec<Bound>,
}

impl NumericCondition {
    pub fn parse(value: &Value) -> Result<Self, PolicyError> {
        let Value::Array(items) = value else {
            return Err(PolicyError::NumericValueNotNumber("numeric".into()));
        };
        let mut rest = items.iter();
        let Some(first) = rest.next() else {
            return Err(PolicyError::NumericInvalidMember("]".into()));
        };
        let lower = parse_bound(first, rest.next(), BoundPosition::First)?;
        let Some(second) = rest.next() else {
            return Ok(Self {
                bounds: vec![lower],
            });
        };
        // Only a lower bound may open a range.
        if !matches!(lower, Bound::Greater(_) | Bound::GreaterOrEqual(_)) {
            return Err(PolicyError::NumericTooManyElements);
        }
        let upper = parse_bound(second, rest.next(), BoundPosition::Second)?;
        if scaled(bound_value(upper)) <= scaled(bound_value(lower)) {
            return Err(PolicyError::NumericBottomNotBelowTop);
        }
        if rest.next().is_some() {
            return Err(PolicyError::NumericTooManyTerms);
        }
        Ok(Self {
            bounds: vec![lower, upper],
        })
    }

    pub fn matches(&self, number: f64) -> bool {
        let number = scaled(number);
        self.bounds.iter().all(|bound| match *bound {
            Bound::Equal(operand) => number == scaled(operand),
            Bound::Less(operand) => number < scaled(operand),
            Bound::LessOrEqual(operand) => number <= scaled(operand),
            Bound::Greater(operand) => number > scaled(operand),
            Bound::GreaterOrEqual(operand) => number >= scaled(operand),
        })
    }
}

#[derive(Clone, Copy, PartialEq)]
enum BoundPosition {
    First,
    Second,
}

fn parse_bound(
    operator: &Value,
    operand: Option<&Value>,
    position: BoundPosition,
) -> Result<Bound, PolicyError> {
    let Value::String(operator) = operator else {
        let shown = operator.to_string();
        return Err(match position {
            BoundPosition::First => PolicyError::NumericInvalidMember(shown),
            BoundPosition::Second => PolicyError::NumericBadRangeValue(shown),
        });
    };
    let allowed: &[&str] = match position {
        BoundPosition::First => &["=", "<", "<=", ">", ">="],
        BoundPosition::Second => &["<", "<="],
    };
    if !allowed.contains(&operator.as_str()) {
        return Err(match position {
            BoundPosition::First => PolicyError::NumericUnrecognizedOperator(operator.clone()),
            BoundPosition::Second => PolicyError::NumericBadRangeOperator(operator.clone()),
        });
    }
    // AWS names `=` "equals" in this message.
    let name = if operator == "=" {
        "equals"
    } else {
        operator.as_str()
    };
    let number = operand
        .and_then(Value::as_f64)
        .ok_or_else(|| PolicyError::NumericValueNotNumber(name.to_string()))?;
    Ok(match operator.as_str() {
        "=" => Bound::Equal(number),
        "<" => Bound::Less(number),
        "<=" => Bound::LessOrEqual(number),
        ">" => Bound::Greater(number),
        _ => Bound::GreaterOrEqual(number),
    })
}

fn bound_value(bound: Bound) -> f64 {
    match bound {
        Bound::Equal(v)
        | Bound::Less(v)
        | Bound::LessOrEqual(v)
        | Bound::Greater(v)
        | Bound::GreaterOrEqual(v) => v,
    }
}

/// The number as AWS compares it: rounded to five decimal digits.
pub fn scaled(number: f64) -> f64 {
    (number * 10f64.powi(NUMERIC_DECIMAL_DIGITS)).round()
}

/// Equality of two numbers at AWS's precision.
pub fn numbers_equal(left: f64, right: f64) -> bool {
    scaled(left) == scaled(right)
}

/// A message attribute's or String.Array element's text as a number, if it is one. Rust's
/// parser also takes `inf` and `NaN`; those are not numbers to SNS.
pub fn parse_number(text: &str) -> Option<f64> {
    let number: f64 = text.trim().parse().ok()?;
    number.is_finite().then_some(number)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn condition(value: Value) -> Result<NumericCondition, PolicyError> {
        NumericCondition::parse(&value)
    }

    #[test]
    fn range_is_inclusive_only_where_asked() {
        let range = condition(json!([">", 0, "<=", 150])).unwrap();
        assert!(!range.matches(0.0));
        assert!(range.matches(0.00001));
        assert!(range.matches(150.0));
        assert!(!range.matches(150.00001));
    }

    #[test]
    fn five_decimal_digits_of_accuracy() {
        assert!(numbers_equal(5.0, 5.000001));
        assert!(!numbers_equal(5.0, 5.00001));
        assert!(condition(json!(["=", 301.5])).unwrap().matches(3.015e2));
    }

    #[test]
    fn malformed_conditions_are_named_like_aws() {
        assert_eq!(
            condition(json!([])),
            Err(PolicyError::NumericInvalidMember("]".into()))
        );
        assert_eq!(
            condition(json!(["!=", 1])),
            Err(PolicyError::NumericUnrecognizedOperator("!=".into()))
        );
        assert_eq!(
            condition(json!(["=", "a"])),
            Err(PolicyError::NumericValueNotNumber("equals".into()))
        );
        assert_eq!(
            condition(json!(["<", 1, ">", 0])),
            Err(PolicyError::NumericTooManyElements)
        );
        assert_eq!(
            condition(json!([">", 1, ">", 2])),
            Err(PolicyError::NumericBadRangeOperator(">".into()))
        );
        assert_eq!(
            condition(json!([">", 5, "<", 5])),
            Err(PolicyError::NumericBottomNotBelowTop)
        );
        assert_eq!(
            condition(json!([">", 0, "<", 5, "<", 6])),
            Err(PolicyError::NumericTooManyTerms)
        );
    }

    #[test]
    fn text_that_rust_parses_but_sns_does_not() {
        assert_eq!(parse_number("NaN"), None);
        assert_eq!(parse_number("inf"), None);
        assert_eq!(parse_number("3.015e2"), Some(301.5));
    }
}
