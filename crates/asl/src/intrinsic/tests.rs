//! Each function with the example from the AWS developer guide ("Intrinsic functions for
//! JSONPath states") or the ASL specification's Appendix B, so the expected values are AWS's.

use serde_json::{Value, json};

use super::*;

fn check(call: &str, input: Value, expected: Value) {
    let parsed = Call::parse(call).unwrap_or_else(|e| panic!("{call}: {e}"));
    let got = parsed.evaluate(&input, &json!({}), &mut Rng::new(1));
    assert_eq!(got, Ok(expected), "{call}");
}

fn check_fails(call: &str, input: Value) -> String {
    let parsed = Call::parse(call).unwrap_or_else(|e| panic!("{call}: {e}"));
    match parsed.evaluate(&input, &json!({}), &mut Rng::new(1)) {
        Err(failure) => {
            assert_eq!(failure.error, "States.IntrinsicFailure");
            failure.cause
        }
        Ok(value) => panic!("{call} should fail, got {value}"),
    }
}

#[test]
fn format_aws_examples() {
    let input = json!({"name": "Arnav", "template": "Hello, my name is {}."});
    check(
        "States.Format('Hello, my name is {}.', $.name)",
        input.clone(),
        json!("Hello, my name is Arnav."),
    );
    check(
        "States.Format($.template, $.name)",
        input,
        json!("Hello, my name is Arnav."),
    );
    // The specification's Payload Template example.
    check(
        "States.Format('Your name is {}, we are in the year {}', $.name, 2020)",
        json!({"name": "Foo", "zebra": "stripe"}),
        json!("Your name is Foo, we are in the year 2020"),
    );
}

#[test]
fn format_escapes_and_errors() {
    check(
        r"States.Format('\{\} {} it\'s \\', 1)",
        json!({}),
        json!(r"{} 1 it's \"),
    );
    check_fails("States.Format('{} {}', 1)", json!({}));
    check_fails("States.Format('{}', 1, 2)", json!({}));
    check_fails("States.Format('{}', $.o)", json!({"o": {"a": 1}}));
}

#[test]
fn json_string_conversions() {
    check(
        "States.StringToJson($.escapedJsonString)",
        json!({"escapedJsonString": "{\"foo\": \"bar\"}"}),
        json!({"foo": "bar"}),
    );
    check(
        "States.StringToJson($.someString)",
        json!({"someString": "{\"number\": 20}"}),
        json!({"number": 20}),
    );
    check(
        "States.JsonToString($.unescapedJson)",
        json!({"unescapedJson": {"foo": "bar"}}),
        json!("{\"foo\":\"bar\"}"),
    );
    check(
        "States.JsonToString($.someJson)",
        json!({"someJson": {"name": "Foo", "year": 2020}}),
        json!("{\"name\":\"Foo\",\"year\":2020}"),
    );
    check_fails("States.StringToJson($.s)", json!({"s": "{nope"}));
    check_fails("States.JsonToString('literal')", json!({}));
}

#[test]
fn array_functions_aws_examples() {
    check("States.Array($.Id)", json!({"Id": 123456}), json!([123456]));
    check(
        "States.Array('Foo', 2020, $.someJson, null)",
        json!({"someJson": {"random": "abcdefg"}}),
        json!(["Foo", 2020, {"random": "abcdefg"}, null]),
    );
    let nine = json!({"inputArray": [1, 2, 3, 4, 5, 6, 7, 8, 9], "lookingFor": 5, "index": 5});
    check(
        "States.ArrayPartition($.inputArray,4)",
        nine.clone(),
        json!([[1, 2, 3, 4], [5, 6, 7, 8], [9]]),
    );
    check(
        "States.ArrayContains($.inputArray, $.lookingFor)",
        nine.clone(),
        json!(true),
    );
    check(
        "States.ArrayRange(1, 9, 2)",
        json!({}),
        json!([1, 3, 5, 7, 9]),
    );
    check(
        "States.ArrayGetItem($.inputArray, $.index)",
        nine.clone(),
        json!(6),
    );
    check("States.ArrayLength($.inputArray)", nine, json!(9));
    check(
        "States.ArrayUnique($.inputArray)",
        json!({"inputArray": [1, 2, 3, 3, 3, 3, 3, 3, 4]}),
        json!([1, 2, 3, 4]),
    );
}

#[test]
fn array_function_edges() {
    check("States.ArrayRange(9, 1, -3)", json!({}), json!([9, 6, 3]));
    check("States.ArrayRange(1, 0, 1)", json!({}), json!([]));
    check_fails("States.ArrayRange(1, 9, 0)", json!({}));
    check_fails("States.ArrayRange(0, 1000, 1)", json!({}));
    check(
        "States.ArrayRange(0, 999, 1)",
        json!({}),
        json!((0..=999).collect::<Vec<_>>()),
    );
    check_fails("States.ArrayPartition($.a, 0)", json!({"a": [1]}));
    check_fails("States.ArrayGetItem($.a, 3)", json!({"a": [1]}));
    check_fails("States.ArrayLength($.a)", json!({"a": "x"}));
    check(
        "States.ArrayContains($.a, $.o)",
        json!({"a": [{"x": 1}], "o": {"x": 1}}),
        json!(true),
    );
}

#[test]
fn encoding_and_hash_aws_examples() {
    check(
        "States.Base64Encode($.input)",
        json!({"input": "Data to encode"}),
        json!("RGF0YSB0byBlbmNvZGU="),
    );
    check(
        "States.Base64Decode($.base64)",
        json!({"base64": "RGF0YSB0byBlbmNvZGU="}),
        json!("Data to encode"),
    );
    // The guide prints "Decoded data" for the input above, which is the decoding of
    // "RGVjb2RlZCBkYXRh" (the example's earlier revision); both pairs hold here.
    check(
        "States.Base64Decode($.base64)",
        json!({"base64": "RGVjb2RlZCBkYXRh"}),
        json!("Decoded data"),
    );
    // The guide prints the SHA-1 of "input data" with one digit dropped
    // ("…d7485e…"); the real digest is "…d74485e…".
    check(
        "States.Hash($.Data, $.Algorithm)",
        json!({"Data": "input data", "Algorithm": "SHA-1"}),
        json!("aaff4a450a104cd177d28d18d74485e8cae074b7"),
    );
    check(
        "States.Hash('abc', 'MD5')",
        json!({}),
        json!("900150983cd24fb0d6963f7d28e17f72"),
    );
    check(
        "States.Hash('abc', 'SHA-256')",
        json!({}),
        json!("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
    );
    check_fails("States.Hash('abc', 'SHA-3')", json!({}));
    check_fails("States.Base64Decode('***')", json!({}));
}

#[test]
fn json_merge_aws_example() {
    let input = json!({"json1": {"a": {"a1": 1, "a2": 2}, "b": 2}, "json2": {"a": {"a3": 1, "a4": 2}, "c": 3}});
    check(
        "States.JsonMerge($.json1, $.json2, false)",
        input.clone(),
        json!({"a": {"a3": 1, "a4": 2}, "b": 2, "c": 3}),
    );
    check(
        "States.JsonMerge($.json1, $.json2, true)",
        input,
        json!({"a": {"a1": 1, "a2": 2, "a3": 1, "a4": 2}, "b": 2, "c": 3}),
    );
}

#[test]
fn math_aws_examples() {
    check(
        "States.MathAdd($.value1, $.step)",
        json!({"value1": 111, "step": -1}),
        json!(110),
    );
    check("States.MathAdd(1.5, -1.5)", json!({}), json!(1));
    check_fails("States.MathAdd(2147483648, 1)", json!({}));
    let call = Call::parse("States.MathRandom($.start, $.end)").expect("parses");
    for seed in 0..50 {
        let value = call
            .evaluate(
                &json!({"start": 1, "end": 999}),
                &json!({}),
                &mut Rng::new(seed),
            )
            .expect("runs");
        let n = value.as_i64().expect("integer");
        assert!((1..999).contains(&n), "{n}");
    }
    let seeded = Call::parse("States.MathRandom(1, 999, 42)").expect("parses");
    let a = seeded.evaluate(&json!({}), &json!({}), &mut Rng::new(1));
    let b = seeded.evaluate(&json!({}), &json!({}), &mut Rng::new(2));
    assert_eq!(a, b, "the same seed gives the same number");
}

#[test]
fn string_split_aws_examples() {
    check(
        "States.StringSplit($.inputString, $.splitter)",
        json!({"inputString": "1,2,3,4,5", "splitter": ","}),
        json!(["1", "2", "3", "4", "5"]),
    );
    check(
        "States.StringSplit($.inputString, $.splitter)",
        json!({"inputString": "This.is+a,test=string", "splitter": ".+,="}),
        json!(["This", "is", "a", "test", "string"]),
    );
}

#[test]
fn uuid_and_nesting() {
    let call = Call::parse("States.UUID()").expect("parses");
    let value = call
        .evaluate(&json!({}), &json!({}), &mut Rng::new(3))
        .expect("runs");
    assert_eq!(value.as_str().map(str::len), Some(36));
    // The nine-deep example from the AWS guide, whose template has three placeholders for two
    // values (which would fail); with two placeholders it shows the nesting works.
    check(
        "States.Format('{}.{}', States.ArrayGetItem(States.StringSplit(States.ArrayGetItem(States.StringSplit($.ImageRecipe.Arn, '/'), 2), '.'), 0), States.ArrayGetItem(States.StringSplit(States.ArrayGetItem(States.StringSplit($.ImageRecipe.Arn, '/'), 2), '.'), 1))",
        json!({"ImageRecipe": {"Arn": "arn:aws:imagebuilder:us-east-1:123456789012:image-recipe/my-recipe/1.2.3"}}),
        json!("1.2"),
    );
}

#[test]
fn parser_rejects_malformed_calls() {
    for bad in [
        "States.Nope(1)",
        "States.Format('x'",
        "States.Format('x\\q')",
        "States.Array(1,)",
        "States.Array(1) trailing",
        "States.Array(tru)",
        "States.Array($.a[)",
        "States.Array(States.Array(States.Array(States.Array(States.Array(States.Array(States.Array(States.Array(States.Array(States.Array(States.Array())))))))))))",
    ] {
        assert!(Call::parse(bad).is_err(), "{bad} should not parse");
    }
    assert!(Call::parse("States.Array($.a[?(@.b == 'x, y')], 2)").is_ok());
    assert!(Call::parse(" States.Array( 1 , 'a' ) ").is_ok());
}

#[test]
fn path_failures_are_intrinsic_failures() {
    let cause = check_fails("States.ArrayLength($.missing)", json!({}));
    assert!(cause.contains("$.missing"), "{cause}");
}
