//! Data flow between states: payload templates (`Parameters`, `ItemSelector`, `ResultSelector`)
//! and the `InputPath` → `Parameters` → result → `ResultSelector` → `ResultPath` → `OutputPath`
//! pipeline's path steps.

use serde_json::{Map, Value};

use crate::errors::Failure;
use crate::intrinsic::{self, Call};
use crate::path::{Path, PathError};
use crate::random::Rng;

/// The dynamic part of a `.$` field: a path or an intrinsic call.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Path(Path),
    Call(Call),
}

impl Expr {
    /// Parses the string value of a `.$` field (or of `ErrorPath`/`CausePath`).
    pub fn parse(text: &str) -> Result<Expr, String> {
        if intrinsic::looks_like_call(text) {
            Call::parse(text).map(Expr::Call).map_err(|e| e.to_string())
        } else {
            Path::parse(text).map(Expr::Path).map_err(|e| e.to_string())
        }
    }

    pub fn evaluate(
        &self,
        input: &Value,
        context: &Value,
        rng: &mut Rng,
    ) -> Result<Value, TemplateError> {
        match self {
            Expr::Path(path) => path
                .read(input, context)
                .map_err(|error| TemplateError::Path {
                    path: path.as_str().to_string(),
                    error,
                }),
            Expr::Call(call) => call
                .evaluate(input, context, rng)
                .map_err(TemplateError::Intrinsic),
        }
    }
}

/// Why a payload template could not be filled.
#[derive(Debug, Clone, PartialEq)]
pub enum TemplateError {
    /// A `.$` path found nothing; `field` is the key as written (`"foo.$"`).
    Path { path: String, error: PathError },
    /// An intrinsic function failed (`States.IntrinsicFailure`).
    Intrinsic(Failure),
}

/// A parsed payload template: static JSON with `.$` fields resolved against the input.
#[derive(Debug, Clone, PartialEq)]
pub enum Template {
    Static(Value),
    Object(Vec<(String, Template)>),
    Array(Vec<Template>),
    Expr { field: String, expr: Expr },
}

impl Template {
    /// Parses a template. On error returns the JSON-pointer suffix of the offending field and
    /// the reason.
    pub fn parse(value: &Value) -> Result<Template, (String, String)> {
        Self::parse_at(value, 0)
    }

    fn parse_at(value: &Value, depth: usize) -> Result<Template, (String, String)> {
        // serde_json already bounds nesting at 128 when parsing text; this guards values built
        // in memory.
        if depth > 128 {
            return Err((String::new(), "the template nests too deeply".into()));
        }
        match value {
            Value::Object(map) => {
                if !contains_dynamic(value) {
                    return Ok(Template::Static(value.clone()));
                }
                let mut fields = Vec::with_capacity(map.len());
                for (key, field) in map {
                    let pointer = format!("/{}", escape_pointer(key));
                    if let Some(name) = key.strip_suffix(".$") {
                        let Some(text) = field.as_str() else {
                            return Err((
                                pointer,
                                format!("The value for the field '{key}' must be a STRING"),
                            ));
                        };
                        let expr = Expr::parse(text).map_err(|_| {
                            (
                                pointer.clone(),
                                format!(
                                    "The value for the field '{key}' must be a valid JSONPath or a valid intrinsic function call"
                                ),
                            )
                        })?;
                        fields.push((
                            name.to_string(),
                            Template::Expr {
                                field: key.clone(),
                                expr,
                            },
                        ));
                    } else {
                        let inner = Self::parse_at(field, depth + 1)
                            .map_err(|(p, m)| (format!("{pointer}{p}"), m))?;
                        fields.push((key.clone(), inner));
                    }
                }
                Ok(Template::Object(fields))
            }
            Value::Array(items) if contains_dynamic(value) => {
                let mut parsed = Vec::with_capacity(items.len());
                for (index, item) in items.iter().enumerate() {
                    parsed.push(
                        Self::parse_at(item, depth + 1)
                            .map_err(|(p, m)| (format!("/{index}{p}"), m))?,
                    );
                }
                Ok(Template::Array(parsed))
            }
            other => Ok(Template::Static(other.clone())),
        }
    }

    /// Fills the template from `input` and the context object.
    pub fn evaluate(
        &self,
        input: &Value,
        context: &Value,
        rng: &mut Rng,
    ) -> Result<Value, (String, TemplateError)> {
        match self {
            Template::Static(value) => Ok(value.clone()),
            Template::Expr { field, expr } => expr
                .evaluate(input, context, rng)
                .map_err(|e| (field.clone(), e)),
            Template::Object(fields) => {
                let mut out = Map::new();
                for (key, template) in fields {
                    out.insert(key.clone(), template.evaluate(input, context, rng)?);
                }
                Ok(Value::Object(out))
            }
            Template::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    out.push(item.evaluate(input, context, rng)?);
                }
                Ok(Value::Array(out))
            }
        }
    }
}

fn contains_dynamic(value: &Value) -> bool {
    match value {
        Value::Object(map) => map
            .iter()
            .any(|(k, v)| k.ends_with(".$") || contains_dynamic(v)),
        Value::Array(items) => items.iter().any(contains_dynamic),
        _ => false,
    }
}

/// RFC 6901 escaping for locations in diagnostics.
pub fn escape_pointer(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// `InputPath` / `OutputPath`: `None` stands for an explicit `null`, which yields `{}`.
pub fn select(path: Option<&Path>, input: &Value, context: &Value) -> Result<Value, PathError> {
    match path {
        None => Ok(Value::Object(Map::new())),
        Some(path) => path.read(input, context),
    }
}

/// `ResultPath`: `None` (explicit `null`) discards the result and passes the raw input on.
pub fn place_result(
    path: Option<&Path>,
    raw_input: &Value,
    result: Value,
) -> Result<Value, PathError> {
    match path {
        None => Ok(raw_input.clone()),
        Some(path) => {
            let mut output = raw_input.clone();
            path.write(&mut output, result)?;
            Ok(output)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fill(template: Value, input: Value, context: Value) -> Value {
        let template = Template::parse(&template).expect("parses");
        template
            .evaluate(&input, &context, &mut Rng::new(0))
            .expect("evaluates")
    }

    #[test]
    fn parameters_example_from_the_aws_guide() {
        // "Parameters" section of the input/output processing guide.
        let template = json!({
            "comment": "Example for Parameters.",
            "product": {
                "details": {"color.$": "$.product.details.color", "size.$": "$.product.details.size"},
                "availability.$": "$.product.availability"
            }
        });
        let input = json!({
            "comment": "Example for Parameters.",
            "product": {
                "details": {"color": "blue", "size": "small", "material": "cotton"},
                "availability": "in stock",
                "sku": "2317",
                "cost": "$23"
            }
        });
        assert_eq!(
            fill(template, input, json!({})),
            json!({
                "comment": "Example for Parameters.",
                "product": {"details": {"color": "blue", "size": "small"}, "availability": "in stock"}
            })
        );
    }

    #[test]
    fn context_and_intrinsics_in_templates() {
        let out = fill(
            json!({"name.$": "$$.Execution.Name", "list": [{"v.$": "States.Array($.a)"}], "n": 1}),
            json!({"a": 5}),
            json!({"Execution": {"Name": "run-1"}}),
        );
        assert_eq!(out, json!({"name": "run-1", "list": [{"v": [5]}], "n": 1}));
    }

    #[test]
    fn bad_templates_point_at_the_field() {
        let err = Template::parse(&json!({"a": {"b.$": "not a path"}})).expect_err("fails");
        assert_eq!(err.0, "/a/b.$");
        let err = Template::parse(&json!({"x.$": 3})).expect_err("fails");
        assert_eq!(err.1, "The value for the field 'x.$' must be a STRING");
    }

    #[test]
    fn missing_path_names_the_field() {
        let template = Template::parse(&json!({"x.$": "$.missing"})).expect("parses");
        let (field, error) = template
            .evaluate(&json!({}), &json!({}), &mut Rng::new(0))
            .expect_err("fails");
        assert_eq!(field, "x.$");
        assert!(matches!(error, TemplateError::Path { .. }));
    }

    #[test]
    fn result_path_examples_from_the_aws_guide() {
        let input = json!({"comment": "This is a test of the input and output of a Task state.", "details": "Default example", "who": "AWS Step Functions"});
        let result = json!("Hello, AWS Step Functions!");
        let out = place_result(
            Some(&Path::parse("$.taskresult").expect("parses")),
            &input,
            result.clone(),
        )
        .expect("ok");
        assert_eq!(out["taskresult"], result);
        assert_eq!(out["who"], json!("AWS Step Functions"));
        assert_eq!(
            place_result(None, &input, result.clone()).expect("ok"),
            input
        );
        assert_eq!(
            place_result(
                Some(&Path::parse("$").expect("parses")),
                &input,
                result.clone()
            )
            .expect("ok"),
            result
        );
    }
}
