//! Diagnostics and the whole-graph checks: transition targets, reachability, terminal states and
//! state names unique across the machine.
//!
//! Messages follow what AWS answers, e.g.
//! `MISSING_TRANSITION_TARGET: Missing 'Next' target: pass3 at /States/pass1/Next`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::definition::{Definition, Kind, States, Transition};
use crate::payload::escape_pointer;

/// Diagnostic codes of `ValidateStateMachineDefinition` that Tern produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Code {
    InvalidJsonDescription,
    MissingDescription,
    SchemaValidationFailed,
    InvalidResource,
    MissingEndState,
    DuplicateStateName,
    InvalidStateName,
    MissingTransitionTarget,
}

impl Code {
    pub fn as_str(self) -> &'static str {
        match self {
            Code::InvalidJsonDescription => "INVALID_JSON_DESCRIPTION",
            Code::MissingDescription => "MISSING_DESCRIPTION",
            Code::SchemaValidationFailed => "SCHEMA_VALIDATION_FAILED",
            Code::InvalidResource => "INVALID_RESOURCE",
            Code::MissingEndState => "MISSING_END_STATE",
            Code::DuplicateStateName => "DUPLICATE_STATE_NAME",
            Code::InvalidStateName => "INVALID_STATE_NAME",
            Code::MissingTransitionTarget => "MISSING_TRANSITION_TARGET",
        }
    }
}

/// One problem: the shape of a `ValidateStateMachineDefinitionDiagnostic` (severity ERROR).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostic {
    pub code: Code,
    pub message: String,
    /// A JSON pointer into the definition (`/States/Foo/Next`); empty for the root.
    pub location: String,
}

impl Diagnostic {
    pub fn error(
        code: Code,
        message: impl Into<String>,
        location: impl Into<String>,
    ) -> Diagnostic {
        Diagnostic {
            code,
            message: message.into(),
            location: location.into(),
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} at /{}",
            self.code.as_str(),
            self.message,
            self.location.trim_start_matches('/')
        )
    }
}

/// A definition that cannot be used, with every diagnostic found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct DefinitionError {
    pub diagnostics: Vec<Diagnostic>,
}

impl DefinitionError {
    pub fn new(diagnostics: Vec<Diagnostic>) -> DefinitionError {
        DefinitionError { diagnostics }
    }

    pub fn single(code: Code, message: &str, location: &str) -> DefinitionError {
        DefinitionError {
            diagnostics: vec![Diagnostic::error(code, message, location)],
        }
    }
}

/// The message of AWS's `InvalidDefinition` exception.
impl fmt::Display for DefinitionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.diagnostics.iter().map(ToString::to_string).collect();
        write!(
            f,
            "Invalid State Machine Definition: '{}'",
            parts.join(", ")
        )
    }
}

/// Graph checks on a definition whose fields all parsed.
pub fn graph(definition: &Definition, diagnostics: &mut Vec<Diagnostic>) {
    let mut seen = BTreeMap::new();
    container(&definition.root, "", &mut seen, diagnostics);
}

fn container(
    states: &States,
    location: &str,
    seen: &mut BTreeMap<String, String>,
    out: &mut Vec<Diagnostic>,
) {
    let states_location = format!("{location}/States");
    let at = |name: &str| format!("{states_location}/{}", escape_pointer(name));
    if !states.states.contains_key(&states.start_at) {
        out.push(Diagnostic::error(
            Code::MissingTransitionTarget,
            format!("Missing 'StartAt' target: {}", states.start_at),
            format!("{location}/StartAt"),
        ));
    }
    let mut terminal = false;
    for (name, state) in &states.states {
        if let Some(first) = seen.insert(name.clone(), at(name)) {
            out.push(Diagnostic::error(
                Code::DuplicateStateName,
                format!("Duplicate State name: {name} (also at {first})"),
                at(name),
            ));
        }
        let mut target = |next: &str, field: String| {
            if !states.states.contains_key(next) {
                out.push(Diagnostic::error(
                    Code::MissingTransitionTarget,
                    format!("Missing 'Next' target: {next}"),
                    format!("{}{field}", at(name)),
                ));
            }
        };
        match &state.transition {
            Transition::Next(next) => target(next, "/Next".into()),
            Transition::End => terminal = true,
            Transition::Own => {}
        }
        match &state.kind {
            Kind::Succeed | Kind::Fail { .. } => terminal = true,
            Kind::Choice { choices, default } => {
                for (index, rule) in choices.iter().enumerate() {
                    target(&rule.next, format!("/Choices/{index}/Next"));
                }
                if let Some(default) = default {
                    target(default, "/Default".into());
                }
            }
            _ => {}
        }
        if let Some(handling) = state.kind.handling() {
            for (index, catcher) in handling.catch.iter().enumerate() {
                target(&catcher.next, format!("/Catch/{index}/Next"));
            }
        }
        match &state.kind {
            Kind::Parallel(parallel) => {
                for (index, branch) in parallel.branches.iter().enumerate() {
                    container(branch, &format!("{}/Branches/{index}", at(name)), seen, out);
                }
            }
            Kind::Map(map) => container(
                &map.processor,
                &format!("{}/ItemProcessor", at(name)),
                seen,
                out,
            ),
            _ => {}
        }
    }
    if !terminal {
        out.push(Diagnostic::error(
            Code::MissingEndState,
            "Workflow has no terminal state",
            states_location.clone(),
        ));
    }
    let reached = reachable(states);
    for name in states.states.keys() {
        if !reached.contains(name.as_str()) {
            out.push(Diagnostic::error(
                Code::MissingTransitionTarget,
                format!("State \"{name}\" is not reachable."),
                at(name),
            ));
        }
    }
}

fn reachable(states: &States) -> BTreeSet<&str> {
    let mut seen = BTreeSet::new();
    let mut stack = vec![states.start_at.as_str()];
    while let Some(name) = stack.pop() {
        let Some(state) = states.states.get(name) else {
            continue;
        };
        if !seen.insert(name) {
            continue;
        }
        if let Transition::Next(next) = &state.transition {
            stack.push(next);
        }
        if let Kind::Choice { choices, default } = &state.kind {
            stack.extend(choices.iter().map(|rule| rule.next.as_str()));
            stack.extend(default.as_deref());
        }
        if let Some(handling) = state.kind.handling() {
            stack.extend(handling.catch.iter().map(|catcher| catcher.next.as_str()));
        }
    }
    seen
}
