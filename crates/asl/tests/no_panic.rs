//! Fuzz-style checks: random definitions, inputs, paths and intrinsic calls never panic, and a
//! definition that validates can always be run to a stop without panicking.

use serde_json::{Map, Value, json};
use tern_asl::interpreter::{self, Effect, Event, ExecutionInfo, Status};
use tern_asl::intrinsic::Call;
use tern_asl::parse::parse_value;
use tern_asl::path::Path;
use tern_asl::random::Rng;

const CASES: u64 = 3000;

fn pick<'a>(rng: &mut Rng, items: &[&'a str]) -> &'a str {
    items[rng.below(items.len() as u64) as usize]
}

fn random_value(rng: &mut Rng, depth: u32) -> Value {
    match rng.below(if depth > 2 { 5 } else { 8 }) {
        0 => Value::Null,
        1 => json!(rng.below(2) == 0),
        2 => json!(rng.below(20) as i64 - 5),
        3 => json!(pick(
            rng,
            &[
                "$",
                "$.a",
                "$.b[0]",
                "$$.Map.Item.Value",
                "x",
                "2016-03-14T01:59:00Z",
                "States.Array($.a)",
                "log-*"
            ]
        )),
        4 => json!(1.5),
        5 => Value::Array(
            (0..rng.below(4))
                .map(|_| random_value(rng, depth + 1))
                .collect(),
        ),
        _ => {
            let mut map = Map::new();
            for _ in 0..rng.below(4) {
                let key = pick(rng, &["a", "b", "c.$", "Error", "Cause", "x.$"]).to_string();
                map.insert(key, random_value(rng, depth + 1));
            }
            Value::Object(map)
        }
    }
}

fn random_path(rng: &mut Rng) -> String {
    let pieces = [
        "$",
        "$$",
        ".a",
        ".b",
        "[0]",
        "[-1]",
        "[*]",
        "..a",
        "[?(@.a > 1)]",
        "['x y']",
        "[1:3]",
        "[",
        "]",
        "(",
        "'",
        ".",
        "@",
        "==",
        " ",
    ];
    (0..rng.below(6)).map(|_| pick(rng, &pieces)).collect()
}

fn random_call(rng: &mut Rng, depth: u32) -> String {
    let names = [
        "States.Format",
        "States.Array",
        "States.ArrayRange",
        "States.MathAdd",
        "States.Hash",
        "States.StringSplit",
        "States.JsonMerge",
        "States.UUID",
        "States.MathRandom",
        "States.ArrayPartition",
        "States.Base64Decode",
        "States.StringToJson",
    ];
    let mut out = format!("{}(", pick(rng, &names));
    for i in 0..rng.below(4) {
        if i > 0 {
            out.push_str(", ");
        }
        match rng.below(6) {
            0 if depth < 3 => out.push_str(&random_call(rng, depth + 1)),
            1 => out.push_str(&random_path(rng)),
            2 => out.push_str(pick(rng, &["'{} {}'", "'\\{'", "'SHA-1'", "'a,b'", "'"])),
            3 => out.push_str(pick(rng, &["1", "-3", "2.5", "1e400", "true", "null"])),
            _ => out.push_str("$.a"),
        }
    }
    if rng.below(8) != 0 {
        out.push(')');
    }
    out
}

fn random_state(rng: &mut Rng, names: &[&str], depth: u32) -> Value {
    let state_type = pick(
        rng,
        &[
            "Pass", "Task", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map",
        ],
    );
    let mut state = json!({"Type": state_type});
    let next = pick(rng, names);
    if rng.below(3) == 0 {
        state["End"] = json!(true);
    } else {
        state["Next"] = json!(next);
    }
    let fields = [
        "InputPath",
        "OutputPath",
        "ResultPath",
        "Parameters",
        "ResultSelector",
        "Result",
        "Seconds",
        "SecondsPath",
        "Error",
        "CausePath",
        "ItemsPath",
        "MaxConcurrency",
        "ToleratedFailureCount",
        "TimeoutSeconds",
        "HeartbeatSeconds",
        "Default",
    ];
    for _ in 0..rng.below(3).saturating_sub(1) {
        let field = pick(rng, &fields);
        state[field] = random_value(rng, 1);
    }
    match state_type {
        "Task" => state["Resource"] = json!("arn:aws:states:::lambda:invoke"),
        "Choice" => {
            state["Choices"] = json!([{"Variable": random_path(rng), pick(rng, &["StringEquals", "NumericLessThan", "IsPresent", "BooleanEquals", "StringMatches"]): random_value(rng, 2), "Next": next}]);
        }
        "Wait" => state["Seconds"] = json!(rng.below(3)),
        "Parallel" | "Map" if depth < 2 => {
            let inner = random_machine(rng, depth + 1);
            if state_type == "Parallel" {
                state["Branches"] = json!([inner]);
            } else {
                state["ItemProcessor"] = inner;
            }
        }
        _ => {}
    }
    if rng.below(3) == 0 {
        state["Retry"] = json!([{"ErrorEquals": ["States.ALL"], "MaxAttempts": rng.below(3), "JitterStrategy": "FULL"}]);
        state["Catch"] =
            json!([{"ErrorEquals": ["States.ALL"], "Next": next, "ResultPath": "$.err"}]);
    }
    if rng.below(4) == 0 {
        state["Parameters"] = json!({"v.$": random_call(rng, 0)});
    }
    state
}

fn random_machine(rng: &mut Rng, depth: u32) -> Value {
    let names = ["A", "B", "C", "D"];
    let prefix = ["", "X", "Y"][depth as usize % 3];
    let mut states = Map::new();
    let owned: Vec<String> = names
        .iter()
        .map(|n| format!("{prefix}{n}{depth}"))
        .collect();
    let refs: Vec<&str> = owned.iter().map(String::as_str).collect();
    for name in refs.iter().take(1 + rng.below(4) as usize) {
        states.insert(name.to_string(), random_state(rng, &refs, depth));
    }
    json!({"StartAt": refs[0], "States": states})
}

#[test]
fn paths_and_calls_never_panic() {
    let mut rng = Rng::new(11);
    let doc = json!({"a": [1, {"a": 2}], "b": [0, 1], "x y": 3});
    for _ in 0..CASES {
        let text = random_path(&mut rng);
        if let Ok(path) = Path::parse(&text) {
            let _ = path.read(&doc, &doc);
            let mut target = doc.clone();
            let _ = path.write(&mut target, json!(1));
        }
        let call = random_call(&mut rng, 0);
        if let Ok(call) = Call::parse(&call) {
            let _ = call.evaluate(&doc, &doc, &mut rng);
        }
    }
}

#[test]
fn random_machines_validate_or_run_without_panicking() {
    let mut rng = Rng::new(5);
    let mut ran = 0;
    for case in 0..CASES {
        let machine = random_machine(&mut rng, 0);
        let Ok(definition) = parse_value(&machine) else {
            continue;
        };
        ran += 1;
        let info = ExecutionInfo {
            execution_arn: "arn:aws:states:us-east-1:1:execution:m:e".into(),
            name: "e".into(),
            state_machine_arn: "arn:aws:states:us-east-1:1:stateMachine:m".into(),
            state_machine_name: "m".into(),
            role_arn: "r".into(),
            input: random_value(&mut rng, 0),
            start_ms: 0,
        };
        let (mut execution, mut effects) = interpreter::start(&definition, info, case, 0);
        let mut redrives = 0;
        for now in 1..200 {
            // Stopped unsuccessfully: redrive (twice at most) and keep going.
            if execution.status != Status::Running {
                if redrives == 2 {
                    break;
                }
                redrives += 1;
                match interpreter::redrive(&definition, &mut execution, now) {
                    Ok(more) => effects = more,
                    Err(_) => break,
                }
                continue;
            }
            let event = effects.iter().find_map(|e| match e {
                Effect::StartTask(task) if rng.below(2) == 0 => Some(Event::TaskSucceeded {
                    task_id: task.task_id,
                    output: random_value(&mut rng, 0),
                }),
                Effect::StartTask(task) => Some(Event::TaskFailed {
                    task_id: task.task_id,
                    error: "E".into(),
                    cause: "c".into(),
                }),
                Effect::ScheduleTimer { timer_id, .. } => Some(Event::TimerFired {
                    timer_id: *timer_id,
                }),
                _ => None,
            });
            let Some(event) = event else { break };
            effects =
                interpreter::step(&definition, &mut execution, event, now).unwrap_or_default();
        }
    }
    assert!(ran > 30, "only {ran} random machines validated");
}
