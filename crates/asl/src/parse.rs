//! JSON → [`Definition`], collecting every problem as a [`Diagnostic`] located by a JSON pointer
//! (`/States/Foo/Next`), in the codes and wording of AWS's `ValidateStateMachineDefinition`.
//!
//! Parsing goes on after a problem so that one call reports them all, as AWS does.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::choice;
use crate::definition::*;
use crate::payload::{Expr, escape_pointer};
use crate::retry::{Catcher, Jitter, Retrier};
use crate::validate::{self, Code, DefinitionError, Diagnostic};

/// AWS's limit on the length of a state name.
pub const STATE_NAME_CHARS_MAX: usize = 80;
/// Largest `IntervalSeconds`, `MaxAttempts` and `TimeoutSeconds` AWS's schema accepts.
const SCHEMA_INTEGER_MAX: u64 = 99_999_999;
/// `MaxDelaySeconds` must stay under one year (31,622,400 s).
const MAX_DELAY_SECONDS_MAX: u64 = 31_622_400;
/// Parallel branches and Map processors nest; this bounds recursion on hostile input.
const NESTING_DEPTH_MAX: usize = 32;

/// Parses and validates definition text.
pub fn parse_str(text: &str) -> Result<Definition, DefinitionError> {
    if text.trim().is_empty() {
        return Err(DefinitionError::single(
            Code::MissingDescription,
            "The definition is empty",
            "",
        ));
    }
    let value: Value = serde_json::from_str(text).map_err(|error| {
        DefinitionError::single(
            Code::InvalidJsonDescription,
            &format!("Invalid JSON: {error}"),
            "",
        )
    })?;
    parse_value(&value)
}

/// Parses and validates an already decoded definition.
pub fn parse_value(value: &Value) -> Result<Definition, DefinitionError> {
    let mut p = Parser {
        diagnostics: Vec::new(),
    };
    let definition = p.definition(value);
    // Graph checks run only on a schema-clean definition: a state dropped for a bad field would
    // otherwise also be reported as a missing target.
    if let Some(definition) = &definition
        && p.diagnostics.is_empty()
    {
        validate::graph(definition, &mut p.diagnostics);
    }
    match definition {
        Some(definition) if p.diagnostics.is_empty() => Ok(definition),
        _ => Err(DefinitionError::new(p.diagnostics)),
    }
}

mod fields;

struct Parser {
    diagnostics: Vec<Diagnostic>,
}

const COMMON: &[&str] = &["Type", "Comment", "QueryLanguage"];
const FLOW: &[&str] = &["Next", "End", "InputPath", "OutputPath"];

fn allowed_fields(type_name: &str) -> Option<Vec<&'static str>> {
    let specific: &[&str] = match type_name {
        "Pass" => &[
            "Next",
            "End",
            "InputPath",
            "OutputPath",
            "ResultPath",
            "Parameters",
            "Result",
        ],
        "Task" => &[
            "Resource",
            "Parameters",
            "ResultSelector",
            "ResultPath",
            "Retry",
            "Catch",
            "TimeoutSeconds",
            "TimeoutSecondsPath",
            "HeartbeatSeconds",
            "HeartbeatSecondsPath",
            "Credentials",
        ],
        "Choice" => &["InputPath", "OutputPath", "Choices", "Default"],
        "Wait" => &["Seconds", "Timestamp", "SecondsPath", "TimestampPath"],
        "Succeed" => &["InputPath", "OutputPath"],
        "Fail" => &["Error", "Cause", "ErrorPath", "CausePath"],
        "Parallel" => &[
            "Branches",
            "Parameters",
            "ResultSelector",
            "ResultPath",
            "Retry",
            "Catch",
        ],
        "Map" => &[
            "ItemProcessor",
            "Iterator",
            "ItemsPath",
            "ItemSelector",
            "Parameters",
            "ResultSelector",
            "ResultPath",
            "MaxConcurrency",
            "MaxConcurrencyPath",
            "ToleratedFailureCount",
            "ToleratedFailureCountPath",
            "ToleratedFailurePercentage",
            "ToleratedFailurePercentagePath",
            "Retry",
            "Catch",
            "Label",
        ],
        _ => return None,
    };
    let mut fields: Vec<&str> = COMMON.iter().chain(specific).copied().collect();
    if matches!(type_name, "Task" | "Wait" | "Parallel" | "Map") {
        fields.extend(FLOW);
    }
    Some(fields)
}

impl Parser {
    fn error(&mut self, code: Code, message: impl Into<String>, location: impl Into<String>) {
        self.diagnostics
            .push(Diagnostic::error(code, message, location));
    }

    fn schema(&mut self, message: impl Into<String>, location: impl Into<String>) {
        self.error(Code::SchemaValidationFailed, message, location);
    }

    fn definition(&mut self, value: &Value) -> Option<Definition> {
        let Some(map) = value.as_object() else {
            self.schema("The definition must be a JSON object", "");
            return None;
        };
        for key in map.keys() {
            if !matches!(
                key.as_str(),
                "Comment" | "StartAt" | "States" | "TimeoutSeconds" | "Version" | "QueryLanguage"
            ) {
                self.schema(format!("Field '{key}' is not supported"), "");
            }
        }
        self.query_language(map, "");
        let comment = self.string(map, "Comment", "");
        let timeout_seconds = self.integer(map, "TimeoutSeconds", "", 1, SCHEMA_INTEGER_MAX);
        let root = self.states(map, "", 0)?;
        Some(Definition {
            comment,
            timeout_seconds,
            root,
        })
    }

    fn query_language(&mut self, map: &Map<String, Value>, location: &str) {
        match map.get("QueryLanguage") {
            None => {}
            Some(Value::String(language)) if language == "JSONPath" => {}
            Some(Value::String(language)) if language == "JSONata" => {
                self.schema(
                    "The JSONata query language is not supported yet; use JSONPath",
                    format!("{location}/QueryLanguage"),
                );
            }
            Some(_) => self.schema(
                "The value for the field 'QueryLanguage' must be JSONPath or JSONata",
                format!("{location}/QueryLanguage"),
            ),
        }
    }

    /// A `StartAt` + `States` container at `location`.
    fn states(&mut self, map: &Map<String, Value>, location: &str, depth: usize) -> Option<States> {
        if depth > NESTING_DEPTH_MAX {
            self.schema("States nest too deeply", location);
            return None;
        }
        let start_at = self.required_string(map, "StartAt", location);
        let states_location = format!("{location}/States");
        let states = match map.get("States") {
            Some(Value::Object(states)) if !states.is_empty() => states,
            Some(Value::Object(_)) => {
                self.schema(
                    "The field 'States' must contain at least one state",
                    states_location,
                );
                return None;
            }
            Some(_) => {
                self.schema(
                    "The value for the field 'States' must be an OBJECT",
                    states_location,
                );
                return None;
            }
            None => {
                self.schema("These fields are required: [States]", location);
                return None;
            }
        };
        let mut parsed = BTreeMap::new();
        for (name, state) in states {
            let state_location = format!("{states_location}/{}", escape_pointer(name));
            if name.is_empty() || name.chars().count() > STATE_NAME_CHARS_MAX {
                self.error(
                    Code::InvalidStateName,
                    format!("State names must be 1 to {STATE_NAME_CHARS_MAX} characters long"),
                    state_location.clone(),
                );
            }
            if let Some(state) = self.state(name, state, &state_location, depth) {
                parsed.insert(name.clone(), state);
            }
        }
        Some(States {
            start_at: start_at?,
            states: parsed,
        })
    }

    fn state(&mut self, name: &str, value: &Value, location: &str, depth: usize) -> Option<State> {
        let Some(map) = value.as_object() else {
            self.schema("A state must be a JSON object", location);
            return None;
        };
        let type_name = self.required_string(map, "Type", location)?;
        let Some(allowed) = allowed_fields(&type_name) else {
            self.schema(
                format!("The value for the field 'Type' is not valid: {type_name}"),
                format!("{location}/Type"),
            );
            return None;
        };
        let mut unsupported = false;
        for key in map.keys() {
            if !allowed.contains(&key.as_str()) {
                self.schema(format!("Field '{key}' is not supported"), location);
                unsupported = true;
            }
        }
        self.query_language(map, location);
        let input_path = self.path_or_null(map, "InputPath", location, false);
        let output_path = self.path_or_null(map, "OutputPath", location, false);
        let transition = self.transition(map, &type_name, location);
        let kind = match type_name.as_str() {
            "Pass" => Kind::Pass {
                result: map.get("Result").cloned(),
                parameters: self.template(map, "Parameters", location),
                result_path: self.path_or_null(map, "ResultPath", location, true),
            },
            "Task" => Kind::Task(Box::new(self.task(map, location)?)),
            "Choice" => self.choice(map, location)?,
            "Wait" => Kind::Wait(self.wait(map, location)?),
            "Succeed" => Kind::Succeed,
            "Fail" => Kind::Fail {
                error: self.text(map, "Error", "ErrorPath", location),
                cause: self.text(map, "Cause", "CausePath", location),
            },
            "Parallel" => Kind::Parallel(Box::new(self.parallel(map, location, depth)?)),
            _ => Kind::Map(Box::new(self.map(map, location, depth)?)),
        };
        if unsupported {
            return None;
        }
        Some(State {
            name: name.to_string(),
            input_path,
            output_path,
            transition,
            kind,
        })
    }

    fn transition(
        &mut self,
        map: &Map<String, Value>,
        type_name: &str,
        location: &str,
    ) -> Transition {
        if matches!(type_name, "Choice" | "Succeed" | "Fail") {
            return Transition::Own;
        }
        let next = self.string(map, "Next", location);
        let end = match map.get("End") {
            None => false,
            Some(Value::Bool(end)) => *end,
            Some(_) => {
                self.schema(
                    "The value for the field 'End' must be a BOOLEAN",
                    format!("{location}/End"),
                );
                false
            }
        };
        match (next, end) {
            (Some(next), false) => Transition::Next(next),
            (None, true) => Transition::End,
            (Some(_), true) => {
                self.schema(
                    "Only one of these fields may be specified: [Next, End]",
                    location,
                );
                Transition::End
            }
            (None, false) => {
                self.schema("One of these fields is required: [Next, End]", location);
                Transition::End
            }
        }
    }

    fn task(&mut self, map: &Map<String, Value>, location: &str) -> Option<Task> {
        let resource = self.required_string(map, "Resource", location);
        if let Some(resource) = &resource
            && (!resource.starts_with("arn:") || resource.split(':').count() < 6)
        {
            self.error(
                Code::InvalidResource,
                format!("Value is not a valid resource ARN: {resource}"),
                format!("{location}/Resource"),
            );
        }
        let timeout = self.seconds(map, "TimeoutSeconds", location);
        let heartbeat = self.seconds(map, "HeartbeatSeconds", location);
        if let (Some(Seconds::Fixed(timeout)), Some(Seconds::Fixed(heartbeat))) =
            (&timeout, &heartbeat)
            && heartbeat >= timeout
        {
            self.schema(
                "The field 'HeartbeatSeconds' must be smaller than the field 'TimeoutSeconds'",
                format!("{location}/HeartbeatSeconds"),
            );
        }
        let handling = self.handling(map, location, "Parameters");
        Some(Task {
            resource: resource?,
            handling,
            timeout,
            heartbeat,
        })
    }

    fn seconds(
        &mut self,
        map: &Map<String, Value>,
        field: &str,
        location: &str,
    ) -> Option<Seconds> {
        let path_field = format!("{field}Path");
        if map.contains_key(field) && map.contains_key(&path_field) {
            self.schema(
                format!("Only one of these fields may be specified: [{field}, {path_field}]"),
                location,
            );
        }
        if let Some(seconds) = self.integer(map, field, location, 1, SCHEMA_INTEGER_MAX) {
            return Some(Seconds::Fixed(seconds));
        }
        self.reference_path(map, &path_field, location)
            .map(Seconds::Path)
    }

    fn handling(
        &mut self,
        map: &Map<String, Value>,
        location: &str,
        parameters_field: &str,
    ) -> Handling {
        Handling {
            parameters: self.template(map, parameters_field, location),
            result_selector: self.template(map, "ResultSelector", location),
            result_path: self.path_or_null(map, "ResultPath", location, true),
            retry: self.retriers(map, location),
            catch: self.catchers(map, location),
        }
    }

    fn choice(&mut self, map: &Map<String, Value>, location: &str) -> Option<Kind> {
        let default = self.string(map, "Default", location);
        let Some(items) = map
            .get("Choices")
            .and_then(Value::as_array)
            .filter(|items| !items.is_empty())
        else {
            self.schema(
                "The field 'Choices' must be a non-empty array",
                format!("{location}/Choices"),
            );
            return None;
        };
        let mut choices = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            match choice::parse_rule(item) {
                Ok(rule) => choices.push(rule),
                Err((suffix, message)) => {
                    self.schema(message, format!("{location}/Choices/{index}{suffix}"))
                }
            }
        }
        Some(Kind::Choice { choices, default })
    }

    fn wait(&mut self, map: &Map<String, Value>, location: &str) -> Option<WaitFor> {
        let given: Vec<&str> = ["Seconds", "Timestamp", "SecondsPath", "TimestampPath"]
            .into_iter()
            .filter(|f| map.contains_key(*f))
            .collect();
        if given.len() != 1 {
            self.schema("Exactly one of these fields is required: [Seconds, Timestamp, SecondsPath, TimestampPath]", location);
            return None;
        }
        match given[0] {
            "Seconds" => self
                .integer(map, "Seconds", location, 0, SCHEMA_INTEGER_MAX)
                .map(WaitFor::Seconds),
            "Timestamp" => {
                let text = self.string(map, "Timestamp", location)?;
                let parsed = choice::parse_timestamp(&text);
                if parsed.is_none() {
                    self.schema(
                        "The value for the field 'Timestamp' must be an RFC3339 timestamp",
                        format!("{location}/Timestamp"),
                    );
                }
                parsed.map(WaitFor::Timestamp)
            }
            "SecondsPath" => self
                .reference_path(map, "SecondsPath", location)
                .map(WaitFor::SecondsPath),
            _ => self
                .reference_path(map, "TimestampPath", location)
                .map(WaitFor::TimestampPath),
        }
    }

    fn text(
        &mut self,
        map: &Map<String, Value>,
        field: &str,
        path_field: &str,
        location: &str,
    ) -> Option<Text> {
        if map.contains_key(field) && map.contains_key(path_field) {
            self.schema(
                format!("Only one of these fields may be specified: [{field}, {path_field}]"),
                location,
            );
        }
        if let Some(text) = self.string(map, field, location) {
            return Some(Text::Literal(text));
        }
        let text = self.string(map, path_field, location)?;
        match Expr::parse(&text) {
            Ok(expr) => Some(Text::Expr(expr)),
            Err(_) => {
                self.schema(
                    format!("The value for the field '{path_field}' must be a valid JSONPath or a valid intrinsic function call"),
                    format!("{location}/{path_field}"),
                );
                None
            }
        }
    }

    fn parallel(
        &mut self,
        map: &Map<String, Value>,
        location: &str,
        depth: usize,
    ) -> Option<Parallel> {
        let Some(items) = map
            .get("Branches")
            .and_then(Value::as_array)
            .filter(|items| !items.is_empty())
        else {
            self.schema(
                "The field 'Branches' must be a non-empty array",
                format!("{location}/Branches"),
            );
            return None;
        };
        let mut branches = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            let branch_location = format!("{location}/Branches/{index}");
            let Some(branch) = item.as_object() else {
                self.schema("A branch must be a JSON object", branch_location);
                continue;
            };
            self.container_fields(branch, &branch_location, &[]);
            if let Some(states) = self.states(branch, &branch_location, depth + 1) {
                branches.push(states);
            }
        }
        let handling = self.handling(map, location, "Parameters");
        (branches.len() == items.len()).then_some(Parallel { branches, handling })
    }

    fn container_fields(&mut self, map: &Map<String, Value>, location: &str, extra: &[&str]) {
        for key in map.keys() {
            if !matches!(key.as_str(), "StartAt" | "States" | "Comment")
                && !extra.contains(&key.as_str())
            {
                self.schema(format!("Field '{key}' is not supported"), location);
            }
        }
    }

    fn map(&mut self, map: &Map<String, Value>, location: &str, depth: usize) -> Option<MapState> {
        let processor = match (map.get("ItemProcessor"), map.get("Iterator")) {
            (Some(_), Some(_)) => {
                self.schema(
                    "Only one of these fields may be specified: [ItemProcessor, Iterator]",
                    location,
                );
                return None;
            }
            (Some(Value::Object(p)), None) => {
                let at = format!("{location}/ItemProcessor");
                self.container_fields(p, &at, &["ProcessorConfig"]);
                if let Some(mode) = p
                    .get("ProcessorConfig")
                    .and_then(|c| c.get("Mode"))
                    .and_then(Value::as_str)
                    && mode != "INLINE"
                {
                    self.schema(
                        format!("Map mode '{mode}' is not supported yet; only INLINE"),
                        format!("{at}/ProcessorConfig/Mode"),
                    );
                }
                self.states(p, &at, depth + 1)
            }
            (None, Some(Value::Object(p))) => {
                let at = format!("{location}/Iterator");
                self.container_fields(p, &at, &[]);
                self.states(p, &at, depth + 1)
            }
            (None, None) => {
                self.schema("These fields are required: [ItemProcessor]", location);
                None
            }
            _ => {
                self.schema("The field 'ItemProcessor' must be an OBJECT", location);
                None
            }
        };
        if map.contains_key("ItemSelector") && map.contains_key("Parameters") {
            self.schema(
                "Only one of these fields may be specified: [ItemSelector, Parameters]",
                location,
            );
        }
        let selector_field = if map.contains_key("ItemSelector") {
            "ItemSelector"
        } else {
            "Parameters"
        };
        let handling = self.handling(map, location, selector_field);
        let items_path = self.path_or_null(map, "ItemsPath", location, true);
        let max_concurrency = self
            .count(map, "MaxConcurrency", location)
            .unwrap_or(Count::Fixed(0));
        let tolerated_failure_count = self.count(map, "ToleratedFailureCount", location);
        let tolerated_failure_percentage = match map.get("ToleratedFailurePercentage") {
            Some(value) => match value.as_f64().filter(|p| (0.0..=100.0).contains(p)) {
                Some(p) => Some(Percentage::Fixed(p)),
                None => {
                    self.schema(
                        "The value for the field 'ToleratedFailurePercentage' must be a number between 0 and 100",
                        format!("{location}/ToleratedFailurePercentage"),
                    );
                    None
                }
            },
            None => self
                .reference_path(map, "ToleratedFailurePercentagePath", location)
                .map(Percentage::Path),
        };
        Some(MapState {
            processor: processor?,
            items_path,
            handling,
            max_concurrency,
            tolerated_failure_count,
            tolerated_failure_percentage,
        })
    }

    fn count(&mut self, map: &Map<String, Value>, field: &str, location: &str) -> Option<Count> {
        let path_field = format!("{field}Path");
        if map.contains_key(field) && map.contains_key(&path_field) {
            self.schema(
                format!("Only one of these fields may be specified: [{field}, {path_field}]"),
                location,
            );
        }
        if let Some(n) = self.integer(map, field, location, 0, SCHEMA_INTEGER_MAX) {
            return Some(Count::Fixed(n));
        }
        self.reference_path(map, &path_field, location)
            .map(Count::Path)
    }

    fn retriers(&mut self, map: &Map<String, Value>, location: &str) -> Vec<Retrier> {
        let mut retriers = Vec::new();
        let Some(items) = self.array(map, "Retry", location) else {
            return retriers;
        };
        let count = items.len();
        for (index, item) in items.iter().enumerate() {
            let at = format!("{location}/Retry/{index}");
            let Some(fields) = item.as_object() else {
                self.schema("A retrier must be a JSON object", at);
                continue;
            };
            for key in fields.keys() {
                if !matches!(
                    key.as_str(),
                    "ErrorEquals"
                        | "IntervalSeconds"
                        | "MaxAttempts"
                        | "BackoffRate"
                        | "MaxDelaySeconds"
                        | "JitterStrategy"
                        | "Comment"
                ) {
                    self.schema(format!("Field '{key}' is not supported"), at.clone());
                }
            }
            let defaults = Retrier::default();
            let error_equals = self.error_equals(fields, &at, index + 1 == count);
            let backoff_rate = match fields.get("BackoffRate") {
                None => defaults.backoff_rate,
                Some(value) => match value.as_f64().filter(|rate| *rate >= 1.0) {
                    Some(rate) => rate,
                    None => {
                        self.schema("The value for the field 'BackoffRate' must be a number not less than 1.0", format!("{at}/BackoffRate"));
                        defaults.backoff_rate
                    }
                },
            };
            let jitter = match fields.get("JitterStrategy") {
                None => Jitter::None,
                Some(Value::String(s)) if s == "FULL" => Jitter::Full,
                Some(Value::String(s)) if s == "NONE" => Jitter::None,
                Some(_) => {
                    self.schema(
                        "The value for the field 'JitterStrategy' must be FULL or NONE",
                        format!("{at}/JitterStrategy"),
                    );
                    Jitter::None
                }
            };
            retriers.push(Retrier {
                error_equals,
                interval_seconds: self
                    .integer(fields, "IntervalSeconds", &at, 1, SCHEMA_INTEGER_MAX)
                    .unwrap_or(defaults.interval_seconds),
                max_attempts: self
                    .integer(fields, "MaxAttempts", &at, 0, SCHEMA_INTEGER_MAX)
                    .and_then(|n| u32::try_from(n).ok())
                    .unwrap_or(defaults.max_attempts),
                backoff_rate,
                max_delay_seconds: self.integer(
                    fields,
                    "MaxDelaySeconds",
                    &at,
                    1,
                    MAX_DELAY_SECONDS_MAX,
                ),
                jitter,
            });
        }
        retriers
    }

    fn catchers(&mut self, map: &Map<String, Value>, location: &str) -> Vec<Catcher> {
        let mut catchers = Vec::new();
        let Some(items) = self.array(map, "Catch", location) else {
            return catchers;
        };
        let count = items.len();
        for (index, item) in items.iter().enumerate() {
            let at = format!("{location}/Catch/{index}");
            let Some(fields) = item.as_object() else {
                self.schema("A catcher must be a JSON object", at);
                continue;
            };
            for key in fields.keys() {
                if !matches!(
                    key.as_str(),
                    "ErrorEquals" | "Next" | "ResultPath" | "Comment"
                ) {
                    self.schema(format!("Field '{key}' is not supported"), at.clone());
                }
            }
            let error_equals = self.error_equals(fields, &at, index + 1 == count);
            let result_path = self.path_or_null(fields, "ResultPath", &at, true);
            if let Some(next) = self.required_string(fields, "Next", &at) {
                catchers.push(Catcher {
                    error_equals,
                    next,
                    result_path,
                });
            }
        }
        catchers
    }

    fn error_equals(&mut self, fields: &Map<String, Value>, at: &str, last: bool) -> Vec<String> {
        let names: Vec<String> = match fields.get("ErrorEquals") {
            Some(Value::Array(items))
                if !items.is_empty() && items.iter().all(Value::is_string) =>
            {
                items
                    .iter()
                    .filter_map(|i| i.as_str().map(str::to_string))
                    .collect()
            }
            Some(_) => {
                self.schema(
                    "The field 'ErrorEquals' must be a non-empty array of strings",
                    format!("{at}/ErrorEquals"),
                );
                return Vec::new();
            }
            None => {
                self.schema("These fields are required: [ErrorEquals]", at);
                return Vec::new();
            }
        };
        if names.iter().any(|n| n == crate::errors::ALL) && (names.len() > 1 || !last) {
            self.schema(
                "States.ALL must appear alone in ErrorEquals and in the last retrier or catcher",
                format!("{at}/ErrorEquals"),
            );
        }
        for name in &names {
            if name.starts_with("States.") && !crate::errors::is_predefined(name) {
                self.schema(
                    format!("Unknown error name: {name}"),
                    format!("{at}/ErrorEquals"),
                );
            }
        }
        names
    }
}

#[cfg(test)]
mod tests;
