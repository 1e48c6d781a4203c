use serde_json::{Value, json};

use super::*;

fn diagnostics(definition: Value) -> Vec<String> {
    match parse_value(&definition) {
        Ok(_) => Vec::new(),
        Err(error) => error.diagnostics.iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn hello_world_parses() {
    let definition = json!({
        "Comment": "A Hello World example of the Amazon States Language using a Pass state",
        "StartAt": "HelloWorld",
        "States": {"HelloWorld": {"Type": "Pass", "Result": "Hello World!", "End": true}}
    });
    assert_eq!(diagnostics(definition), Vec::<String>::new());
}

#[test]
fn aws_reported_transition_messages() {
    // The two diagnostics AWS returns for this machine (quoted in a public bug report).
    let definition = json!({
        "StartAt": "pass1",
        "States": {
            "pass1": {"Type": "Pass", "Next": "pass3"},
            "pass2": {"Type": "Pass", "End": true}
        }
    });
    assert_eq!(
        diagnostics(definition),
        vec![
            "MISSING_TRANSITION_TARGET: Missing 'Next' target: pass3 at /States/pass1/Next",
            "MISSING_TRANSITION_TARGET: State \"pass2\" is not reachable. at /States/pass2",
        ]
    );
}

#[test]
fn field_not_supported_by_state_type() {
    let definition = json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 1, "ResultPath": null, "End": true}}});
    assert_eq!(
        diagnostics(definition),
        vec!["SCHEMA_VALIDATION_FAILED: Field 'ResultPath' is not supported at /States/W"]
    );
    for (state_type, field) in [
        ("Pass", "TimeoutSeconds"),
        ("Choice", "Retry"),
        ("Succeed", "Catch"),
        ("Fail", "InputPath"),
    ] {
        let mut state = json!({"Type": state_type, field: 1});
        if state_type == "Pass" {
            state["End"] = json!(true);
        }
        if state_type == "Choice" {
            state["Choices"] = json!([{"Variable": "$.a", "IsNull": true, "Next": "S"}]);
        }
        let found =
            diagnostics(json!({"StartAt": "X", "States": {"X": state, "S": {"Type": "Succeed"}}}));
        assert!(
            found
                .iter()
                .any(|d| d.contains(&format!("Field '{field}' is not supported at /States/X"))),
            "{state_type}: {found:?}"
        );
    }
}

#[test]
fn missing_end_and_next() {
    let found =
        diagnostics(json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "A"}}}));
    assert_eq!(
        found,
        vec!["MISSING_END_STATE: Workflow has no terminal state at /States"]
    );
    let found = diagnostics(
        json!({"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke"}}}),
    );
    assert!(
        found.contains(
            &"SCHEMA_VALIDATION_FAILED: One of these fields is required: [Next, End] at /States/A"
                .to_string()
        ),
        "{found:?}"
    );
}

#[test]
fn nested_locations_and_duplicates() {
    let definition = json!({
        "StartAt": "P",
        "States": {
            "P": {"Type": "Parallel", "End": true, "Branches": [
                {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Nowhere"}, "B": {"Type": "Succeed"}}},
                {"StartAt": "P", "States": {"P": {"Type": "Succeed"}}}
            ]}
        }
    });
    let found = diagnostics(definition);
    assert!(found.contains(&"MISSING_TRANSITION_TARGET: Missing 'Next' target: Nowhere at /States/P/Branches/0/States/A/Next".to_string()), "{found:?}");
    assert!(
        found
            .iter()
            .any(|d| d.starts_with("DUPLICATE_STATE_NAME: Duplicate State name: P")),
        "{found:?}"
    );
}

#[test]
fn retry_and_catch_shapes() {
    let task = |extra: Value| {
        let mut state =
            json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": true});
        if let (Some(s), Some(e)) = (state.as_object_mut(), extra.as_object()) {
            s.extend(e.clone());
        }
        diagnostics(json!({"StartAt": "T", "States": {"T": state, "F": {"Type": "Fail"}}}))
            .into_iter()
            .filter(|d| !d.contains("not reachable"))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        task(json!({"Retry": [{"ErrorEquals": ["States.ALL"], "BackoffRate": 0.5}]})),
        vec![
            "SCHEMA_VALIDATION_FAILED: The value for the field 'BackoffRate' must be a number not less than 1.0 at /States/T/Retry/0/BackoffRate"
        ]
    );
    assert_eq!(
        task(json!({"Retry": [{"ErrorEquals": ["States.ALL"]}, {"ErrorEquals": ["X"]}]})).len(),
        1
    );
    assert_eq!(
        task(json!({"Catch": [{"ErrorEquals": ["States.ALL"]}]})),
        vec!["SCHEMA_VALIDATION_FAILED: These fields are required: [Next] at /States/T/Catch/0"]
    );
    assert_eq!(
        task(json!({"Catch": [{"ErrorEquals": ["States.ALL"], "Next": "F"}]})),
        Vec::<String>::new()
    );
    assert_eq!(task(json!({"Retry": [{"ErrorEquals": []}]})).len(), 1);
    assert_eq!(
        task(json!({"Retry": [{"ErrorEquals": ["States.Bogus"]}]})).len(),
        1
    );
    assert_eq!(
        task(json!({"TimeoutSeconds": 5, "HeartbeatSeconds": 5})).len(),
        1
    );
    assert_eq!(
        task(json!({"TimeoutSeconds": 5, "TimeoutSecondsPath": "$.t"})).len(),
        1
    );
    assert_eq!(task(json!({"ResultPath": "$.a[*]"})).len(), 1);
    assert_eq!(
        task(json!({"Parameters": {"a.$": "States.Nope()"}})),
        vec![
            "SCHEMA_VALIDATION_FAILED: The value for the field 'a.$' must be a valid JSONPath or a valid intrinsic function call at /States/T/Parameters/a.$"
        ]
    );
}

#[test]
fn text_level_errors() {
    let err = parse_str("").expect_err("empty");
    assert_eq!(err.diagnostics[0].code, Code::MissingDescription);
    let err = parse_str("{").expect_err("bad json");
    assert_eq!(err.diagnostics[0].code, Code::InvalidJsonDescription);
    let err = parse_str(r#"{"States": {}}"#).expect_err("bad");
    assert!(err.to_string().starts_with("Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: These fields are required: [StartAt] at /"), "{err}");
}
