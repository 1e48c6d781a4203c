use super::*;
use serde_json::json;

fn read(path: &str, input: Value) -> Result<Value, PathError> {
    Path::parse(path)
        .expect("parses")
        .read(&input, &Value::Null)
}

#[test]
fn reference_paths_read_single_nodes() {
    let input = json!({"a": {"b": [10, 20, 30]}, "x y": 1});
    assert_eq!(read("$", input.clone()), Ok(input.clone()));
    assert_eq!(read("$.a.b[1]", input.clone()), Ok(json!(20)));
    assert_eq!(read("$.a.b[-1]", input.clone()), Ok(json!(30)));
    assert_eq!(read("$['x y']", input.clone()), Ok(json!(1)));
    assert_eq!(read("$.a.['b'][0]", input.clone()), Ok(json!(10)));
    assert_eq!(
        read("$.missing", input),
        Err(PathError::NotFound("$['missing']".into()))
    );
}

#[test]
fn indefinite_paths_return_arrays_like_jayway() {
    let input = json!({"items": [{"p": 5, "n": "a"}, {"p": 15, "n": "b"}, {"n": "c"}]});
    assert_eq!(
        read("$.items[*].n", input.clone()),
        Ok(json!(["a", "b", "c"]))
    );
    assert_eq!(
        read("$.items[?(@.p < 10)].n", input.clone()),
        Ok(json!(["a"]))
    );
    assert_eq!(
        read("$.items[?(@.p)].n", input.clone()),
        Ok(json!(["a", "b"]))
    );
    assert_eq!(
        read("$.items[?(@.n == 'c' || @.p > 10)].n", input.clone()),
        Ok(json!(["b", "c"]))
    );
    assert_eq!(read("$.items[0:2].n", input.clone()), Ok(json!(["a", "b"])));
    assert_eq!(read("$.items[0,2].n", input.clone()), Ok(json!(["a", "c"])));
    assert_eq!(read("$..n", input.clone()), Ok(json!(["a", "b", "c"])));
    assert_eq!(read("$.items[?(@.p > 100)]", input), Ok(json!([])));
}

#[test]
fn context_paths_read_the_context_object() {
    let path = Path::parse("$$.Execution.Id").expect("parses");
    assert!(path.is_context());
    assert_eq!(
        path.read(&json!({}), &json!({"Execution": {"Id": "e"}})),
        Ok(json!("e"))
    );
}

#[test]
fn syntax_errors_are_reported_not_panicked() {
    for bad in [
        "",
        "a.b",
        "$.",
        "$[",
        "$[?(@.a ==)]",
        "$.a[1",
        "$['x",
        "$[?(",
        "$..",
        "$[1:2:",
    ] {
        assert!(Path::parse(bad).is_err(), "{bad} should not parse");
    }
}

#[test]
fn result_path_writes_create_intermediate_objects() {
    let mut doc = json!({"a": 1});
    Path::parse("$.b.c")
        .expect("parses")
        .write(&mut doc, json!(2))
        .expect("writes");
    assert_eq!(doc, json!({"a": 1, "b": {"c": 2}}));
    let mut doc = json!({"a": 1});
    Path::parse("$")
        .expect("parses")
        .write(&mut doc, json!("x"))
        .expect("writes");
    assert_eq!(doc, json!("x"));
    let mut doc = json!({"a": 1});
    assert!(
        Path::parse("$.a.b")
            .expect("parses")
            .write(&mut doc, json!(2))
            .is_err()
    );
    let mut doc = json!("text");
    assert!(
        Path::parse("$.a")
            .expect("parses")
            .write(&mut doc, json!(2))
            .is_err()
    );
    let mut doc = json!({"l": [1, 2]});
    Path::parse("$.l[1]")
        .expect("parses")
        .write(&mut doc, json!(9))
        .expect("writes");
    assert_eq!(doc, json!({"l": [1, 9]}));
}
