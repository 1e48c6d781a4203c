//! The typed model of a state machine, produced by [`crate::parse`] from validated JSON.
//!
//! Every field the interpreter reads is already checked and parsed here (paths, templates,
//! choice rules, retriers), so running a state never re-parses definition text and a definition
//! that loads cannot fail for a structural reason at run time.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::choice::ChoiceRule;
use crate::path::Path;
use crate::payload::{Expr, Template};
use crate::retry::{Catcher, Retrier};

/// A whole state machine definition.
#[derive(Debug, Clone, PartialEq)]
pub struct Definition {
    pub comment: Option<String>,
    /// The execution's own time limit (`TimeoutSeconds` at the top level).
    pub timeout_seconds: Option<u64>,
    pub root: States,
}

/// A `StartAt` plus `States` container: the top level, a Parallel branch or a Map processor.
#[derive(Debug, Clone, PartialEq)]
pub struct States {
    pub start_at: String,
    pub states: BTreeMap<String, State>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct State {
    pub name: String,
    /// `None` is an explicit `null` (the effective input is `{}`); absent means `$`.
    pub input_path: Option<Path>,
    pub output_path: Option<Path>,
    pub transition: Transition,
    pub kind: Kind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transition {
    Next(String),
    End,
    /// Choice, Succeed and Fail states decide for themselves.
    Own,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    Pass {
        result: Option<Value>,
        parameters: Option<Template>,
        result_path: Option<Path>,
    },
    Task(Box<Task>),
    Choice {
        choices: Vec<ChoiceRule>,
        default: Option<String>,
    },
    Wait(WaitFor),
    Succeed,
    Fail {
        error: Option<Text>,
        cause: Option<Text>,
    },
    Parallel(Box<Parallel>),
    Map(Box<MapState>),
}

impl Kind {
    /// The state type as written in `Type` and used in history event names.
    pub fn type_name(&self) -> &'static str {
        match self {
            Kind::Pass { .. } => "Pass",
            Kind::Task(_) => "Task",
            Kind::Choice { .. } => "Choice",
            Kind::Wait(_) => "Wait",
            Kind::Succeed => "Succeed",
            Kind::Fail { .. } => "Fail",
            Kind::Parallel(_) => "Parallel",
            Kind::Map(_) => "Map",
        }
    }

    /// Retry and Catch of the states that have them.
    pub fn handling(&self) -> Option<&Handling> {
        match self {
            Kind::Task(task) => Some(&task.handling),
            Kind::Parallel(parallel) => Some(&parallel.handling),
            Kind::Map(map) => Some(&map.handling),
            _ => None,
        }
    }
}

/// The data-flow and error-handling fields Task, Parallel and Map share.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Handling {
    /// `Parameters`, or for Map `ItemSelector` (applied per item).
    pub parameters: Option<Template>,
    pub result_selector: Option<Template>,
    /// `None` is an explicit `null`: the result is discarded.
    pub result_path: Option<Path>,
    pub retry: Vec<Retrier>,
    pub catch: Vec<Catcher>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    pub resource: String,
    pub handling: Handling,
    pub timeout: Option<Seconds>,
    pub heartbeat: Option<Seconds>,
}

/// A number of seconds given literally or by a reference path into the effective input.
#[derive(Debug, Clone, PartialEq)]
pub enum Seconds {
    Fixed(u64),
    Path(Path),
}

#[derive(Debug, Clone, PartialEq)]
pub enum WaitFor {
    Seconds(u64),
    /// Nanoseconds since the epoch, already parsed.
    Timestamp(i128),
    SecondsPath(Path),
    TimestampPath(Path),
}

/// A Fail state's `Error`/`Cause` or their `…Path` forms.
#[derive(Debug, Clone, PartialEq)]
pub enum Text {
    Literal(String),
    Expr(Expr),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Parallel {
    pub branches: Vec<States>,
    pub handling: Handling,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MapState {
    pub processor: States,
    pub items_path: Option<Path>,
    pub handling: Handling,
    /// `0` means no limit.
    pub max_concurrency: Count,
    pub tolerated_failure_count: Option<Count>,
    pub tolerated_failure_percentage: Option<Percentage>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Count {
    Fixed(u64),
    Path(Path),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Percentage {
    Fixed(f64),
    Path(Path),
}

impl Definition {
    /// Finds the container a scope path names (see [`ScopeStep`]).
    pub fn scope(&self, steps: &[ScopeStep]) -> Option<&States> {
        let mut states = &self.root;
        for step in steps {
            let state = states.states.get(&step.state)?;
            states = match (&state.kind, step.branch) {
                (Kind::Parallel(parallel), Some(index)) => parallel.branches.get(index)?,
                (Kind::Map(map), None) => &map.processor,
                _ => return None,
            };
        }
        Some(states)
    }
}

/// One step from a container into a nested one: a Parallel state's branch, or (with
/// `branch: None`) a Map state's processor.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ScopeStep {
    pub state: String,
    pub branch: Option<usize>,
}
