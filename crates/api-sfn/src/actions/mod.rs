//! One module per family of actions; each function takes its typed input and answers with the
//! reply's JSON.

pub(crate) mod activities;
pub(crate) mod executions;
pub(crate) mod machines;
pub(crate) mod tags;
