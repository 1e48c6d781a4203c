//! Operators with the examples of the AWS guide's Choice state page.

use serde_json::{Value, json};

use super::*;

fn rule(value: Value) -> ChoiceRule {
    parse_rule(&value).unwrap_or_else(|e| panic!("{value}: {e:?}"))
}

fn holds(condition: Value, input: Value) -> bool {
    let mut condition = condition;
    condition["Next"] = json!("X");
    evaluate(&rule(condition).condition, &input, &json!({})).expect("evaluates")
}

#[test]
fn guide_example_routes_22_to_value_in_twenties() {
    // The ChoiceStateX example: input {"type": "Private", "value": 22} goes to ValueInTwenties.
    let choices = [
        json!({"Not": {"Variable": "$.type", "StringEquals": "Private"}, "Next": "Public"}),
        json!({"Variable": "$.value", "NumericEquals": 0, "Next": "ValueIsZero"}),
        json!({"And": [
            {"Variable": "$.value", "NumericGreaterThanEquals": 20},
            {"Variable": "$.value", "NumericLessThan": 30}
        ], "Next": "ValueInTwenties"}),
    ];
    let input = json!({"type": "Private", "value": 22});
    let chosen = choices
        .iter()
        .map(|c| rule(c.clone()))
        .find(|r| evaluate(&r.condition, &input, &json!({})).expect("evaluates"))
        .map(|r| r.next);
    assert_eq!(chosen.as_deref(), Some("ValueInTwenties"));
}

#[test]
fn string_operators() {
    let foo = |v: &str| json!({"foo": v});
    assert!(holds(
        json!({"Variable": "$.foo", "StringEquals": "MyString"}),
        foo("MyString")
    ));
    assert!(holds(
        json!({"Variable": "$.foo", "StringGreaterThan": "MyStringABC"}),
        foo("MyStringABD")
    ));
    assert!(!holds(
        json!({"Variable": "$.foo", "StringGreaterThan": "MyStringABC"}),
        foo("MyStringABC")
    ));
    assert!(holds(
        json!({"Variable": "$.foo", "StringGreaterThanEquals": "b"}),
        foo("b")
    ));
    assert!(holds(
        json!({"Variable": "$.foo", "StringLessThan": "b"}),
        foo("a")
    ));
    assert!(holds(
        json!({"Variable": "$.foo", "StringLessThanEquals": "a"}),
        foo("a")
    ));
    assert!(holds(
        json!({"Variable": "$.foo", "StringEqualsPath": "$.bar"}),
        json!({"foo": "x", "bar": "x"})
    ));
    // Java compareTo orders by UTF-16 code units: U+FF61 sorts after U+1F600's high surrogate.
    assert!(holds(
        json!({"Variable": "$.foo", "StringGreaterThan": "\u{1F600}"}),
        foo("\u{FF61}")
    ));
    // Wrong type: no match, no error.
    assert!(!holds(
        json!({"Variable": "$.foo", "StringEquals": "1"}),
        json!({"foo": 1})
    ));
}

#[test]
fn string_matches_wildcards_and_escapes() {
    assert!(holds(
        json!({"Variable": "$.foo", "StringMatches": "log-*.txt"}),
        json!({"foo": "log-09122021.txt"})
    ));
    assert!(!holds(
        json!({"Variable": "$.foo", "StringMatches": "log-*.txt"}),
        json!({"foo": "log-1.csv"})
    ));
    assert!(string_matches("a*b", r"a\*b"));
    assert!(!string_matches("axb", r"a\*b"));
    assert!(string_matches(r"a\b", r"a\\b"));
    assert!(string_matches("", "*"));
    assert!(string_matches("abcabc", "*abc"));
    assert!(string_matches("abc", "a*b*c*"));
    assert!(!string_matches("abc", "a*d"));
}

#[test]
fn numeric_boolean_and_timestamp_operators() {
    let n = |v: Value| json!({"foo": v});
    assert!(holds(
        json!({"Variable": "$.foo", "NumericEquals": 1}),
        n(json!(1))
    ));
    assert!(holds(
        json!({"Variable": "$.foo", "NumericEquals": 1}),
        n(json!(1.0))
    ));
    assert!(holds(
        json!({"Variable": "$.foo", "NumericLessThan": 1.5}),
        n(json!(1))
    ));
    assert!(holds(
        json!({"Variable": "$.foo", "NumericGreaterThanPath": "$.b"}),
        json!({"foo": 3, "b": 2})
    ));
    assert!(holds(
        json!({"Variable": "$.foo", "NumericLessThanEquals": 3}),
        n(json!(3))
    ));
    assert!(holds(
        json!({"Variable": "$.foo", "NumericGreaterThanEquals": 3}),
        n(json!(3))
    ));
    assert!(holds(
        json!({"Variable": "$.foo", "BooleanEquals": true}),
        n(json!(true))
    ));
    assert!(!holds(
        json!({"Variable": "$.foo", "BooleanEquals": true}),
        n(json!(false))
    ));
    assert!(holds(
        json!({"Variable": "$.foo", "BooleanEqualsPath": "$.b"}),
        json!({"foo": false, "b": false})
    ));
    let ts = |v: &str| json!({"foo": v});
    assert!(holds(
        json!({"Variable": "$.foo", "TimestampEquals": "2001-01-01T12:00:00Z"}),
        ts("2001-01-01T12:00:00Z")
    ));
    assert!(holds(
        json!({"Variable": "$.foo", "TimestampEquals": "2001-01-01T12:00:00Z"}),
        ts("2001-01-01T13:00:00+01:00")
    ));
    assert!(holds(
        json!({"Variable": "$.foo", "TimestampLessThan": "2016-08-18T17:33:00Z"}),
        ts("2016-08-18T17:32:59.999Z")
    ));
    assert!(holds(
        json!({"Variable": "$.foo", "TimestampGreaterThan": "2016-08-18T17:33:00Z"}),
        ts("2016-08-19T00:00:00Z")
    ));
    assert!(holds(
        json!({"Variable": "$.foo", "TimestampLessThanEquals": "2016-08-18T17:33:00Z"}),
        ts("2016-08-18T17:33:00Z")
    ));
    assert!(holds(
        json!({"Variable": "$.foo", "TimestampGreaterThanEqualsPath": "$.b"}),
        json!({"foo": "2016-08-18T17:33:00Z", "b": "2016-08-18T17:33:00Z"})
    ));
    // Lowercase separators are not the RFC 3339 profile AWS accepts: no match.
    assert!(!holds(
        json!({"Variable": "$.foo", "TimestampEquals": "2001-01-01T12:00:00Z"}),
        ts("2001-01-01t12:00:00z")
    ));
}

#[test]
fn type_tests_and_presence() {
    assert!(holds(
        json!({"Variable": "$.possiblyNullValue", "IsNull": true}),
        json!({"possiblyNullValue": null})
    ));
    assert!(holds(
        json!({"Variable": "$.keyThatMightNotExist", "IsPresent": false}),
        json!({})
    ));
    // The guide's And example: StringEquals is only reached when the key is present.
    let guarded = json!({"And": [
        {"Variable": "$.keyThatMightNotExist", "IsPresent": true},
        {"Variable": "$.keyThatMightNotExist", "StringEquals": "foo"}
    ]});
    assert!(!holds(guarded.clone(), json!({})));
    assert!(holds(guarded, json!({"keyThatMightNotExist": "foo"})));
    assert!(holds(
        json!({"Variable": "$.v", "IsString": true}),
        json!({"v": "s"})
    ));
    assert!(holds(
        json!({"Variable": "$.v", "IsNumeric": false}),
        json!({"v": "s"})
    ));
    assert!(holds(
        json!({"Variable": "$.v", "IsBoolean": true}),
        json!({"v": false})
    ));
    assert!(holds(
        json!({"Variable": "$.v", "IsTimestamp": true}),
        json!({"v": "2016-08-18T17:33:00Z"})
    ));
    assert!(holds(
        json!({"Or": [{"Variable": "$.v", "IsNull": true}, {"Variable": "$.v", "IsString": true}]}),
        json!({"v": "s"})
    ));
}

#[test]
fn missing_variable_is_a_runtime_error() {
    let r = rule(json!({"Variable": "$.missing", "StringEquals": "x", "Next": "X"}));
    let failure = evaluate(&r.condition, &json!({}), &json!({})).expect_err("fails");
    assert_eq!(failure.error, "States.Runtime");
    assert_eq!(
        failure.cause,
        "Invalid path '$.missing': The choice state's condition path references an invalid value."
    );
}

#[test]
fn malformed_rules_point_at_the_field() {
    let err = |v: Value| parse_rule(&v).expect_err("fails");
    assert_eq!(
        err(json!({"Variable": "$.a", "StringEquals": 1, "Next": "X"})).0,
        "/StringEquals"
    );
    assert_eq!(
        err(json!({"Variable": "$.a", "NumericEquals": "1", "Next": "X"})).1,
        "The value for the field 'NumericEquals' must be a NUMBER"
    );
    assert_eq!(
        err(json!({"Variable": "$.a", "TimestampEquals": "yesterday", "Next": "X"})).0,
        "/TimestampEquals"
    );
    assert_eq!(
        err(json!({"Variable": "$.a", "StringEquals": "x"})).1,
        "These fields are required: [Next]"
    );
    assert_eq!(
        err(json!({"And": [{"Variable": "$.a", "IsNull": true, "Next": "Y"}], "Next": "X"})).0,
        "/And/0/Next"
    );
    assert_eq!(err(json!({"And": [], "Next": "X"})).0, "/And");
    assert!(
        err(json!({"Variable": "$.a", "StringEquals": "x", "NumericEquals": 1, "Next": "X"}))
            .1
            .contains("exactly one")
    );
    assert!(
        err(json!({"Variable": "$.a", "Next": "X"}))
            .1
            .contains("comparison operator")
    );
    assert_eq!(
        err(json!({"Variable": "$.a", "Bogus": 1, "Next": "X"})).1,
        "Field 'Bogus' is not supported"
    );
}
