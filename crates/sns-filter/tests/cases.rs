//! The data-driven table: every case in `cases.json` runs through [`check`]. Cases whose
//! `source` starts with `aws-docs:` take policy, message and answer from the SNS developer
//! guide page named; `tern` cases pin behaviour the guide leaves open.

use serde_json::Value;
use tern_sns_filter::{FilterPolicy, MessageAttribute, MessageAttributes, PolicyCall, Scope};

fn check(case: &Value) {
    let name = case["name"].as_str().unwrap_or("?");
    let scope = case["scope"]
        .as_str()
        .and_then(Scope::from_attribute)
        .expect("scope");
    let text = case["policy"].to_string();
    let parsed = FilterPolicy::parse(&text, scope);
    if let Some(expected) = case.get("invalid") {
        let error = parsed.expect_err(name);
        let message = error.aws_message(PolicyCall::SetSubscriptionAttributes);
        let reason = expected.as_str().expect("invalid message");
        assert!(
            message.ends_with(reason),
            "{name}: got {message:?}, expected …{reason:?}"
        );
        assert!(
            message.starts_with("Invalid parameter: "),
            "{name}: {message}"
        );
        return;
    }
    let policy = parsed.unwrap_or_else(|error| panic!("{name}: rejected: {error}"));
    for message in case["messages"].as_array().expect("messages") {
        let expected = message["match"].as_bool().expect("match");
        let attributes = attributes(&message["attributes"]);
        let body = match (&message["body"], &message["body_text"]) {
            (Value::Null, Value::String(text)) => text.clone(),
            (body, _) => body.to_string(),
        };
        assert_eq!(
            policy.matches(&attributes, &body),
            expected,
            "{name}: {message}"
        );
    }
}

fn attributes(value: &Value) -> MessageAttributes {
    let Some(object) = value.as_object() else {
        return MessageAttributes::new();
    };
    object
        .iter()
        .map(|(name, attribute)| {
            let data_type = attribute["Type"].as_str().unwrap_or("String");
            let text = attribute["Value"].as_str().unwrap_or_default();
            (name.clone(), MessageAttribute::new(data_type, text))
        })
        .collect()
}

#[test]
fn table() {
    let cases: Value = serde_json::from_str(include_str!("cases.json")).expect("cases.json");
    let cases = cases["cases"].as_array().expect("cases");
    assert!(cases.len() >= 70);
    for case in cases {
        check(case);
    }
}

#[test]
fn subscribe_wording() {
    let error = FilterPolicy::parse(r#"{"a": []}"#, Scope::MessageAttributes).unwrap_err();
    assert_eq!(
        error.aws_message(PolicyCall::Subscribe),
        "Invalid parameter: Attributes Reason: FilterPolicy: Empty arrays are not allowed"
    );
}

#[test]
fn oversized_and_malformed_documents() {
    let big = format!(
        r#"{{"a": ["{}"]}}"#,
        "x".repeat(tern_sns_filter::limits::POLICY_SIZE_BYTES_MAX)
    );
    assert!(FilterPolicy::parse(&big, Scope::MessageBody).is_err());
    assert!(FilterPolicy::parse("{", Scope::MessageBody).is_err());
    assert!(FilterPolicy::parse("[1]", Scope::MessageBody).is_err());
}

/// A small deterministic generator, so the crate needs no `rand` dependency.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }
}

const WORDS: &[&str] = &[
    "$or",
    "prefix",
    "suffix",
    "equals-ignore-case",
    "anything-but",
    "numeric",
    "exists",
    "cidr",
    "wildcard",
    "a",
    "b",
    "=",
    "<",
    "<=",
    ">",
    ">=",
    "10.0.0.0/8",
    "::/0",
    "x/y",
    "",
];

fn random_value(rng: &mut XorShift, depth: u32) -> Value {
    let pick = if depth > 4 {
        rng.below(5)
    } else {
        rng.below(7)
    };
    match pick {
        0 => Value::Null,
        1 => Value::Bool(rng.below(2) == 0),
        2 => serde_json::json!((rng.below(2000) as f64 - 1000.0) / 7.0),
        3 | 4 => Value::String(WORDS[rng.below(WORDS.len() as u64) as usize].to_string()),
        5 => Value::Array(
            (0..rng.below(4))
                .map(|_| random_value(rng, depth + 1))
                .collect(),
        ),
        _ => Value::Object(
            (0..rng.below(4))
                .map(|_| {
                    let key = WORDS[rng.below(WORDS.len() as u64) as usize].to_string();
                    (key, random_value(rng, depth + 1))
                })
                .collect(),
        ),
    }
}

#[test]
fn arbitrary_json_never_panics() {
    let mut rng = XorShift(0x5eed_f00d_1234_5678);
    let mut accepted = 0;
    for _ in 0..20_000 {
        let policy = random_value(&mut rng, 0);
        let body = random_value(&mut rng, 0);
        let mut attributes = MessageAttributes::new();
        for data_type in ["String", "Number", "String.Array", "Binary"] {
            let key = WORDS[rng.below(WORDS.len() as u64) as usize].to_string();
            let value = random_value(&mut rng, 3).to_string();
            attributes.insert(key, MessageAttribute::new(data_type, value));
        }
        for scope in [Scope::MessageAttributes, Scope::MessageBody] {
            if let Ok(parsed) = FilterPolicy::parse(&policy.to_string(), scope) {
                accepted += 1;
                let _ = parsed.matches(&attributes, &body.to_string());
                let _ = parsed.matches_body_value(&body);
            }
        }
    }
    // The generator must reach the evaluator, not only the validator.
    assert!(accepted > 100, "only {accepted} random policies were valid");
}
