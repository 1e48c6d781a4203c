//! The Amazon States Language (JSONPath query language) as a pure library: Tern's Step
//! Functions interpreter core. No I/O, no async runtime, no clock and no entropy of its own; the
//! process manager's engine drives it and persists what it returns.
//!
//! A tour, in the order data flows:
//!
//! - [`parse`] turns definition JSON into a typed [`definition::Definition`], reporting every
//!   problem as a [`validate::Diagnostic`] with AWS's codes (`SCHEMA_VALIDATION_FAILED`,
//!   `MISSING_TRANSITION_TARGET`, …) and a JSON-pointer location (`/States/Foo/Next`).
//! - [`validate`] holds the diagnostics and the whole-graph checks (targets, reachability,
//!   terminal states, unique names).
//! - [`path`] is our JSONPath: reference paths, `$$` context paths, filters, and `ResultPath`
//!   writes; it follows Jayway's definite/indefinite results, as Step Functions does.
//! - [`payload`] fills payload templates (`Parameters`, `ItemSelector`, `ResultSelector`) and
//!   applies `InputPath`/`ResultPath`/`OutputPath`.
//! - [`intrinsic`] parses and runs every `States.*` intrinsic function.
//! - [`choice`] parses and evaluates Choice rules.
//! - [`errors`] names the `States.*` errors and how `ErrorEquals` matches; [`retry`] holds the
//!   Retry/Catch shapes and the retry delay as a pure function.
//! - [`history`] shapes history events like `GetExecutionHistory`.
//! - [`interpreter`] is the step API: `start`, then `step(definition, &mut execution, event,
//!   now_ms) -> effects`, over a serde-serialisable execution state.
//! - [`random`] is the seeded generator kept inside that state, so replays are deterministic.
//!
//! Architecture invariant: this crate knows nothing of HTTP, storage, async runtimes or
//! wall-clock time. Any input, however malformed, yields an error value, never a panic.

pub mod choice;
pub mod definition;
pub mod errors;
pub mod history;
pub mod interpreter;
pub mod intrinsic;
pub mod parse;
pub mod path;
pub mod payload;
pub mod random;
pub mod retry;
pub mod validate;
