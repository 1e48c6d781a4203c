//! Shapes several actions share.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Value, json};
use tern_sfn::SfnError;

/// `{"key": …, "value": …}`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Tag {
    pub key: Option<String>,
    pub value: Option<String>,
}

pub(crate) fn tag_pairs(tags: Option<Vec<Tag>>) -> Result<Vec<(String, String)>, SfnError> {
    tags.unwrap_or_default()
        .into_iter()
        .map(|tag| {
            let key = tag.key.ok_or_else(|| null_member("tags.member.key"))?;
            Ok((key, tag.value.unwrap_or_default()))
        })
        .collect()
}

pub(crate) fn tag_list(tags: &BTreeMap<String, String>) -> Value {
    Value::Array(
        tags.iter()
            .map(|(key, value)| json!({"key": key, "value": value}))
            .collect(),
    )
}

/// The paging members of ListActivities and ListStateMachines.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PageInput {
    pub max_results: Option<u32>,
    pub next_token: Option<String>,
}

/// Timestamps travel as epoch seconds with a fraction.
pub(crate) fn epoch(ms: u64) -> Value {
    json!(ms as f64 / 1000.0)
}

pub(crate) fn null_member(member: &str) -> SfnError {
    SfnError::validation(format!(
        "1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null"
    ))
}

/// A member the action cannot do without.
pub(crate) fn required<T>(member: &str, value: Option<T>) -> Result<T, SfnError> {
    value.ok_or_else(|| null_member(member))
}

/// JSON text stored by the engine, back to a JSON value for a reply.
pub(crate) fn json_text(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::Null)
}
