//! History events in the shape of `GetExecutionHistory`: AWS's event type names, ids and
//! `previousEventId` chaining, and the per-type `…EventDetails` object.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// One event. `event_type` is AWS's `HistoryEventType` value (`TaskStateEntered`, …).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEvent {
    pub id: u64,
    pub previous_event_id: u64,
    pub timestamp_ms: i64,
    pub event_type: String,
    /// The content of the event's details field, if the type has one.
    pub details: Option<Value>,
}

impl HistoryEvent {
    /// The name of the details member in AWS's `HistoryEvent` shape.
    pub fn details_field(&self) -> String {
        let t = self.event_type.as_str();
        if t.ends_with("StateEntered") {
            return "stateEnteredEventDetails".into();
        }
        if t.ends_with("StateExited") {
            return "stateExitedEventDetails".into();
        }
        let mut chars = t.chars();
        let first = chars
            .next()
            .map(|c| c.to_ascii_lowercase())
            .unwrap_or_default();
        format!("{first}{}EventDetails", chars.as_str())
    }

    /// The event as `GetExecutionHistory` returns it (timestamp in epoch seconds).
    pub fn to_aws_json(&self) -> Value {
        let mut out = Map::new();
        out.insert("timestamp".into(), json!(self.timestamp_ms as f64 / 1000.0));
        out.insert("type".into(), json!(self.event_type));
        out.insert("id".into(), json!(self.id));
        out.insert("previousEventId".into(), json!(self.previous_event_id));
        if let Some(details) = &self.details {
            out.insert(self.details_field(), details.clone());
        }
        Value::Object(out)
    }
}

/// How a Task state's resource shows in history: Lambda function ARNs and activities have
/// their own event families; service integrations use `Task…` events with a resource type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResourceKind {
    LambdaFunction,
    Activity,
    /// `arn:aws:states:::sqs:sendMessage.waitForTaskToken` → type `sqs`, resource
    /// `sendMessage.waitForTaskToken`.
    Service {
        resource_type: String,
        resource: String,
    },
}

impl ResourceKind {
    pub fn of(arn: &str) -> ResourceKind {
        let parts: Vec<&str> = arn.splitn(7, ':').collect();
        match parts.as_slice() {
            [_, _, "lambda", _, _, "function", ..] => ResourceKind::LambdaFunction,
            [_, _, "states", _, _, "activity", ..] => ResourceKind::Activity,
            [_, _, "states", "", "", service, action] => ResourceKind::Service {
                resource_type: service.to_string(),
                resource: action.to_string(),
            },
            _ => ResourceKind::Service {
                resource_type: parts.get(2).unwrap_or(&"").to_string(),
                resource: arn.to_string(),
            },
        }
    }

    /// The event-type prefix: `LambdaFunction`, `Activity` or `Task`.
    pub fn prefix(&self) -> &'static str {
        match self {
            ResourceKind::LambdaFunction => "LambdaFunction",
            ResourceKind::Activity => "Activity",
            ResourceKind::Service { .. } => "Task",
        }
    }

    /// Details common to every event of a service-integration task.
    pub fn base_details(&self, arn: &str) -> Map<String, Value> {
        let mut details = Map::new();
        match self {
            ResourceKind::Service {
                resource_type,
                resource,
            } => {
                details.insert("resourceType".into(), json!(resource_type));
                details.insert("resource".into(), json!(resource));
            }
            ResourceKind::LambdaFunction | ResourceKind::Activity => {
                details.insert("resource".into(), json!(arn));
            }
        }
        details
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn details_field_names_follow_aws() {
        let event = |t: &str| HistoryEvent {
            id: 1,
            previous_event_id: 0,
            timestamp_ms: 0,
            event_type: t.into(),
            details: None,
        };
        assert_eq!(
            event("TaskStateEntered").details_field(),
            "stateEnteredEventDetails"
        );
        assert_eq!(
            event("MapStateExited").details_field(),
            "stateExitedEventDetails"
        );
        assert_eq!(
            event("ExecutionStarted").details_field(),
            "executionStartedEventDetails"
        );
        assert_eq!(
            event("MapIterationStarted").details_field(),
            "mapIterationStartedEventDetails"
        );
        assert_eq!(
            event("LambdaFunctionScheduled").details_field(),
            "lambdaFunctionScheduledEventDetails"
        );
    }

    #[test]
    fn resource_kinds() {
        assert_eq!(
            ResourceKind::of("arn:aws:lambda:us-east-1:123456789012:function:Foo"),
            ResourceKind::LambdaFunction
        );
        assert_eq!(
            ResourceKind::of("arn:aws:states:us-east-1:123456789012:activity:A"),
            ResourceKind::Activity
        );
        assert_eq!(
            ResourceKind::of("arn:aws:states:::sqs:sendMessage.waitForTaskToken"),
            ResourceKind::Service {
                resource_type: "sqs".into(),
                resource: "sendMessage.waitForTaskToken".into()
            }
        );
    }
}
