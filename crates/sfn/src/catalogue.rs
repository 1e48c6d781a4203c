//! State machines and activities: create, update, delete, describe, list, tags, and definition
//! validation. The catalogue lives in memory (requests never ask the store which machine an ARN
//! names) and every change is stored before it is visible.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use serde_json::{Value, json};
use tern_asl::validate::Diagnostic;
use tern_store::processes::{ActivityRecord, CreateOutcome, StateMachineRecord};
use tokio::sync::Notify;

use crate::arn::{self, ArnKind, SfnArn};
use crate::errors::{SfnError, SfnErrorCode, store_error};
use crate::executions::{cut_page, invalid_token, page_size};
use crate::{ActivityEntry, Engine, lock};

/// AWS allows 50 tags per resource.
pub const TAGS_MAX: usize = 50;
const TAG_KEY_CHARACTERS_MAX: usize = 128;
const TAG_VALUE_CHARACTERS_MAX: usize = 256;
/// AWS's limit on a definition's size.
pub const DEFINITION_BYTES_MAX: usize = 1024 * 1024;
const LOGGING_LEVELS: &[&str] = &["ALL", "ERROR", "FATAL", "OFF"];

#[derive(Debug, Clone, Default)]
pub struct CreateStateMachine {
    pub name: String,
    pub definition: String,
    pub role_arn: String,
    pub machine_type: Option<String>,
    pub logging: Option<Value>,
    pub tracing: Option<Value>,
    pub tags: Vec<(String, String)>,
    pub region: String,
}

#[derive(Debug, Clone, Default)]
pub struct MachineUpdate {
    pub arn: String,
    pub definition: Option<String>,
    pub role_arn: Option<String>,
    pub logging: Option<Value>,
    pub tracing: Option<Value>,
}

#[derive(Debug, Clone)]
pub struct MachinePage {
    pub machines: Vec<StateMachineRecord>,
    pub next_token: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ActivityPage {
    pub activities: Vec<ActivityRecord>,
    pub next_token: Option<String>,
}

/// `ValidateStateMachineDefinition`'s answer: no diagnostics means OK.
#[derive(Debug, Clone)]
pub struct ValidationOutcome {
    pub diagnostics: Vec<Diagnostic>,
}

/// The diagnostics' own text is AWS's message: `Invalid State Machine Definition: '…'`.
pub(crate) fn invalid_definition(error: &tern_asl::validate::DefinitionError) -> SfnError {
    SfnError::new(SfnErrorCode::InvalidDefinition, error.to_string())
}

fn check_definition_size(definition: &str) -> Result<(), SfnError> {
    if definition.len() > DEFINITION_BYTES_MAX {
        return Err(SfnError::new(
            SfnErrorCode::InvalidDefinition,
            format!(
                "Invalid State Machine Definition: 'The definition exceeds {DEFINITION_BYTES_MAX} bytes.'"
            ),
        ));
    }
    Ok(())
}

fn check_role(role_arn: &str) -> Result<(), SfnError> {
    let parts: Vec<&str> = role_arn.split(':').collect();
    if parts.len() < 6 || parts[0] != "arn" || parts[2] != "iam" {
        return Err(SfnError::new(
            SfnErrorCode::InvalidArn,
            format!("Invalid Role Arn: '{role_arn}'"),
        ));
    }
    Ok(())
}

fn machine_type(requested: Option<&str>) -> Result<String, SfnError> {
    match requested.unwrap_or("STANDARD") {
        kind @ ("STANDARD" | "EXPRESS") => Ok(kind.to_owned()),
        other => Err(SfnError::validation(format!(
            "1 validation error detected: Value '{other}' at 'type' failed to satisfy constraint: Member must satisfy enum value set: [STANDARD, EXPRESS]"
        ))),
    }
}

/// `LoggingConfiguration` with AWS's defaults; a level other than OFF needs a destination.
fn logging(requested: Option<&Value>) -> Result<String, SfnError> {
    let mut config = json!({"level": "OFF", "includeExecutionData": false});
    if let Some(Value::Object(given)) = requested {
        for (key, value) in given {
            config[key] = value.clone();
        }
    }
    let level = config["level"].as_str().unwrap_or_default();
    if !LOGGING_LEVELS.contains(&level) {
        return Err(SfnError::new(
            SfnErrorCode::InvalidLoggingConfiguration,
            format!(
                "Invalid Logging Configuration: the level '{level}' is not one of ALL, ERROR, FATAL, OFF."
            ),
        ));
    }
    let has_destination = config["destinations"]
        .as_array()
        .is_some_and(|d| !d.is_empty());
    if level != "OFF" && !has_destination {
        return Err(SfnError::new(
            SfnErrorCode::InvalidLoggingConfiguration,
            "Invalid Logging Configuration: Must specify exactly one Log Destination.",
        ));
    }
    Ok(config.to_string())
}

fn tracing_config(requested: Option<&Value>) -> Result<String, SfnError> {
    match requested {
        None => Ok(json!({"enabled": false}).to_string()),
        Some(value) if value.get("enabled").is_none_or(Value::is_boolean) => Ok(
            json!({"enabled": value.get("enabled").and_then(Value::as_bool).unwrap_or(false)})
                .to_string(),
        ),
        Some(_) => Err(SfnError::new(
            SfnErrorCode::InvalidTracingConfiguration,
            "Invalid Tracing Configuration: 'enabled' must be a boolean.",
        )),
    }
}

fn too_many_tags(resource: &str) -> SfnError {
    SfnError::new(
        SfnErrorCode::TooManyTags,
        format!("Too many tags: a resource has at most {TAGS_MAX} tags ('{resource}')"),
    )
}

/// Adds tags to a set, with AWS's limits.
fn merge_tags(
    tags: &mut BTreeMap<String, String>,
    added: &[(String, String)],
    resource: &str,
) -> Result<(), SfnError> {
    for (key, value) in added {
        let key_length = key.chars().count();
        if key_length == 0 || key_length > TAG_KEY_CHARACTERS_MAX {
            return Err(SfnError::validation(format!(
                "1 validation error detected: Value '{key}' at 'tags.member.key' failed to satisfy constraint: Member must have length between 1 and {TAG_KEY_CHARACTERS_MAX}"
            )));
        }
        if value.chars().count() > TAG_VALUE_CHARACTERS_MAX {
            return Err(SfnError::validation(format!(
                "1 validation error detected: Value '{value}' at 'tags.member.value' failed to satisfy constraint: Member must have length less than or equal to {TAG_VALUE_CHARACTERS_MAX}"
            )));
        }
        tags.insert(key.clone(), value.clone());
    }
    if tags.len() > TAGS_MAX {
        return Err(too_many_tags(resource));
    }
    Ok(())
}

/// One page of a map keyed by ARN, in the request's region, after the ARN in `next_token`.
fn page<T: Clone>(
    items: &BTreeMap<String, T>,
    region: &str,
    max_results: u32,
    next_token: Option<&str>,
) -> Result<(Vec<T>, Option<String>), SfnError> {
    let limit = page_size(max_results)? as usize;
    if let Some(token) = next_token
        && SfnArn::parse(token).is_none()
    {
        return Err(invalid_token(token));
    }
    let mut selected: Vec<(&String, &T)> = items
        .iter()
        .filter(|(arn, _)| next_token.is_none_or(|token| arn.as_str() > token))
        .filter(|(arn, _)| SfnArn::parse(arn).is_some_and(|a| a.region == region))
        .take(limit + 1)
        .collect();
    let next = cut_page(&mut selected, limit, |(arn, _)| *arn);
    Ok((selected.into_iter().map(|(_, t)| t.clone()).collect(), next))
}

impl Engine {
    pub fn validate_definition(&self, definition: &str) -> ValidationOutcome {
        match tern_asl::parse::parse_str(definition) {
            Ok(_) => ValidationOutcome {
                diagnostics: Vec::new(),
            },
            Err(error) => ValidationOutcome {
                diagnostics: error.diagnostics,
            },
        }
    }

    pub async fn create_state_machine(
        &self,
        request: CreateStateMachine,
    ) -> Result<StateMachineRecord, SfnError> {
        arn::validate_name(&request.name)?;
        check_definition_size(&request.definition)?;
        tern_asl::parse::parse_str(&request.definition).map_err(|e| invalid_definition(&e))?;
        check_role(&request.role_arn)?;
        let machine_type = machine_type(request.machine_type.as_deref())?;
        let logging = logging(request.logging.as_ref())?;
        let tracing = tracing_config(request.tracing.as_ref())?;
        let arn = arn::state_machine(&request.region, &self.config.account_id, &request.name);
        let mut tags = BTreeMap::new();
        merge_tags(&mut tags, &request.tags, &arn)?;
        let record = StateMachineRecord {
            arn: arn.clone(),
            name: request.name,
            definition: request.definition,
            machine_type,
            role_arn: request.role_arn,
            logging,
            tracing,
            description: String::new(),
            tags,
            created_at: self.now(),
            updated_at: None,
            revision_id: uuid::Uuid::new_v4().to_string(),
            deleting: false,
        };
        let _admin = self.admin_lock.lock().await;
        let requested = record.clone();
        let outcome = self
            .store
            .create_state_machine(record)
            .await
            .map_err(store_error)?;
        let record = match outcome {
            CreateOutcome::Created(record) => record,
            // The same request again is idempotent; a different definition or configuration
            // under the same name is a conflict (role and tags differences are ignored, as AWS
            // documents).
            CreateOutcome::AlreadyExists(existing) if existing.deleting => {
                return Err(SfnError::new(
                    SfnErrorCode::StateMachineDeleting,
                    format!("State machine is being deleted: '{arn}'"),
                ));
            }
            CreateOutcome::AlreadyExists(existing) => {
                let same = !existing.deleting
                    && existing.definition == requested.definition
                    && existing.machine_type == requested.machine_type
                    && existing.logging == requested.logging
                    && existing.tracing == requested.tracing;
                if same {
                    return Ok(existing);
                }
                return Err(SfnError::new(
                    SfnErrorCode::StateMachineAlreadyExists,
                    format!("State Machine Already Exists: '{arn}'"),
                ));
            }
        };
        lock(&self.machines).insert(arn, record.clone());
        Ok(record)
    }

    pub fn describe_state_machine(&self, arn: &str) -> Result<StateMachineRecord, SfnError> {
        arn::expect(arn, ArnKind::StateMachine)?;
        lock(&self.machines)
            .get(arn)
            .cloned()
            .ok_or_else(|| SfnError::machine_not_found(arn))
    }

    pub async fn update_state_machine(
        &self,
        update: MachineUpdate,
    ) -> Result<StateMachineRecord, SfnError> {
        arn::expect(&update.arn, ArnKind::StateMachine)?;
        if update.definition.is_none()
            && update.role_arn.is_none()
            && update.logging.is_none()
            && update.tracing.is_none()
        {
            return Err(SfnError::new(
                SfnErrorCode::MissingRequiredParameter,
                "Either the definition, the role ARN, the LoggingConfiguration, or the TracingConfiguration must be specified",
            ));
        }
        if let Some(definition) = &update.definition {
            check_definition_size(definition)?;
            tern_asl::parse::parse_str(definition).map_err(|e| invalid_definition(&e))?;
        }
        if let Some(role) = &update.role_arn {
            check_role(role)?;
        }
        let _admin = self.admin_lock.lock().await;
        let mut record = self.describe_state_machine(&update.arn)?;
        if record.deleting {
            return Err(SfnError::new(
                SfnErrorCode::StateMachineDeleting,
                format!("State machine is being deleted: '{}'", record.arn),
            ));
        }
        if let Some(definition) = update.definition {
            record.definition = definition;
        }
        if let Some(role) = update.role_arn {
            record.role_arn = role;
        }
        if let Some(logging_update) = update.logging {
            record.logging = logging(Some(&logging_update))?;
        }
        if let Some(tracing_update) = update.tracing {
            record.tracing = tracing_config(Some(&tracing_update))?;
        }
        record.updated_at = Some(self.now());
        record.revision_id = uuid::Uuid::new_v4().to_string();
        self.store_machine(record.clone()).await?;
        Ok(record)
    }

    async fn store_machine(&self, record: StateMachineRecord) -> Result<(), SfnError> {
        let stored = self
            .store
            .update_state_machine(record.clone())
            .await
            .map_err(store_error)?;
        if !stored {
            lock(&self.machines).remove(&record.arn);
            return Err(SfnError::machine_not_found(&record.arn));
        }
        lock(&self.machines).insert(record.arn.clone(), record);
        Ok(())
    }

    /// Deletes at once when nothing runs; otherwise marks the machine DELETING, and the last
    /// of its executions to stop deletes it.
    pub async fn delete_state_machine(&self, arn: &str) -> Result<(), SfnError> {
        arn::expect(arn, ArnKind::StateMachine)?;
        let _admin = self.admin_lock.lock().await;
        let Some(mut record) = lock(&self.machines).get(arn).cloned() else {
            return Ok(());
        };
        if self.runs_executions_of(arn) {
            record.deleting = true;
            return self.store_machine(record).await;
        }
        self.store
            .delete_state_machine(arn.to_owned())
            .await
            .map_err(store_error)?;
        lock(&self.machines).remove(arn);
        Ok(())
    }

    fn runs_executions_of(&self, machine_arn: &str) -> bool {
        lock(&self.running)
            .values()
            .any(|runner| runner.machine_arn == machine_arn)
    }

    /// Called when an execution stops: a DELETING machine with nothing left running goes.
    pub(crate) fn forget_deleted_machine(&self, machine_arn: &str) {
        let deleting = lock(&self.machines)
            .get(machine_arn)
            .is_some_and(|m| m.deleting);
        if !deleting {
            return;
        }
        let engine = self.myself.clone();
        let arn = machine_arn.to_owned();
        tokio::spawn(async move {
            let Some(engine) = engine.upgrade() else {
                return;
            };
            let _admin = engine.admin_lock.lock().await;
            if engine.runs_executions_of(&arn) {
                return;
            }
            match engine.store.delete_state_machine(arn.clone()).await {
                Ok(_) => {
                    lock(&engine.machines).remove(&arn);
                }
                Err(error) => {
                    tracing::error!(%arn, %error, "cannot delete a DELETING state machine")
                }
            }
        });
    }

    pub fn list_state_machines(
        &self,
        region: &str,
        max_results: u32,
        next_token: Option<&str>,
    ) -> Result<MachinePage, SfnError> {
        let machines = lock(&self.machines);
        let (machines, next_token) = page(&machines, region, max_results, next_token)?;
        Ok(MachinePage {
            machines,
            next_token,
        })
    }

    pub async fn create_activity(
        &self,
        name: &str,
        tags: &[(String, String)],
        region: &str,
    ) -> Result<ActivityRecord, SfnError> {
        arn::validate_name(name)?;
        let arn = arn::activity(region, &self.config.account_id, name);
        let mut tag_map = BTreeMap::new();
        merge_tags(&mut tag_map, tags, &arn)?;
        let record = ActivityRecord {
            arn: arn.clone(),
            name: name.to_owned(),
            tags: tag_map,
            created_at: self.now(),
        };
        let _admin = self.admin_lock.lock().await;
        let record = match self
            .store
            .create_activity(record)
            .await
            .map_err(store_error)?
        {
            CreateOutcome::Created(record) | CreateOutcome::AlreadyExists(record) => record,
        };
        lock(&self.activities)
            .entry(arn)
            .or_insert_with(|| ActivityEntry {
                record: record.clone(),
                queue: VecDeque::new(),
                arrivals: Arc::new(Notify::new()),
            });
        Ok(record)
    }

    pub async fn delete_activity(&self, arn: &str) -> Result<(), SfnError> {
        arn::expect(arn, ArnKind::Activity)?;
        let _admin = self.admin_lock.lock().await;
        self.store
            .delete_activity(arn.to_owned())
            .await
            .map_err(store_error)?;
        if let Some(entry) = lock(&self.activities).remove(arn) {
            entry.arrivals.notify_waiters();
        }
        Ok(())
    }

    pub fn describe_activity(&self, arn: &str) -> Result<ActivityRecord, SfnError> {
        arn::expect(arn, ArnKind::Activity)?;
        lock(&self.activities)
            .get(arn)
            .map(|entry| entry.record.clone())
            .ok_or_else(|| SfnError::activity_not_found(arn))
    }

    pub fn list_activities(
        &self,
        region: &str,
        max_results: u32,
        next_token: Option<&str>,
    ) -> Result<ActivityPage, SfnError> {
        let records: BTreeMap<String, ActivityRecord> = lock(&self.activities)
            .iter()
            .map(|(arn, entry)| (arn.clone(), entry.record.clone()))
            .collect();
        let (activities, next_token) = page(&records, region, max_results, next_token)?;
        Ok(ActivityPage {
            activities,
            next_token,
        })
    }

    pub fn list_tags(&self, resource_arn: &str) -> Result<BTreeMap<String, String>, SfnError> {
        self.resource_kind(resource_arn)?;
        if let Some(machine) = lock(&self.machines).get(resource_arn) {
            return Ok(machine.tags.clone());
        }
        if let Some(entry) = lock(&self.activities).get(resource_arn) {
            return Ok(entry.record.tags.clone());
        }
        Err(resource_not_found(resource_arn))
    }

    /// Adds `added` and removes `removed` tag keys of a state machine or activity.
    pub async fn change_tags(
        &self,
        resource_arn: &str,
        added: &[(String, String)],
        removed: &[String],
    ) -> Result<(), SfnError> {
        let kind = self.resource_kind(resource_arn)?;
        let _admin = self.admin_lock.lock().await;
        match kind {
            ArnKind::StateMachine => {
                let mut record = lock(&self.machines)
                    .get(resource_arn)
                    .cloned()
                    .ok_or_else(|| resource_not_found(resource_arn))?;
                merge_tags(&mut record.tags, added, resource_arn)?;
                for key in removed {
                    record.tags.remove(key);
                }
                self.store_machine(record).await
            }
            _ => {
                let mut record = self
                    .describe_activity(resource_arn)
                    .map_err(|_| resource_not_found(resource_arn))?;
                merge_tags(&mut record.tags, added, resource_arn)?;
                for key in removed {
                    record.tags.remove(key);
                }
                let stored = self
                    .store
                    .update_activity(record.clone())
                    .await
                    .map_err(store_error)?;
                if !stored {
                    return Err(resource_not_found(resource_arn));
                }
                if let Some(entry) = lock(&self.activities).get_mut(resource_arn) {
                    entry.record = record;
                }
                Ok(())
            }
        }
    }

    fn resource_kind(&self, resource_arn: &str) -> Result<ArnKind, SfnError> {
        match SfnArn::parse(resource_arn).map(|arn| arn.kind) {
            Some(kind @ (ArnKind::StateMachine | ArnKind::Activity)) => Ok(kind),
            Some(_) => Err(resource_not_found(resource_arn)),
            None => Err(SfnError::invalid_arn(resource_arn)),
        }
    }
}

fn resource_not_found(arn: &str) -> SfnError {
    SfnError::new(
        SfnErrorCode::ResourceNotFound,
        format!("Resource not found: '{arn}'"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logging_defaults_to_off_and_needs_a_destination_otherwise() {
        let default: Value = serde_json::from_str(&logging(None).unwrap()).unwrap();
        assert_eq!(
            default,
            json!({"level": "OFF", "includeExecutionData": false})
        );
        assert_eq!(
            logging(Some(&json!({"level": "ALL"}))).unwrap_err().code,
            SfnErrorCode::InvalidLoggingConfiguration
        );
        assert_eq!(
            logging(Some(&json!({"level": "LOUD"}))).unwrap_err().code,
            SfnErrorCode::InvalidLoggingConfiguration
        );
        let with_destination = json!({"level": "ERROR", "destinations": [
            {"cloudWatchLogsLogGroup": {"logGroupArn": "arn:aws:logs:us-east-1:0:log-group:g:*"}}]});
        assert!(logging(Some(&with_destination)).is_ok());
        assert_eq!(
            tracing_config(Some(&json!({"enabled": "yes"})))
                .unwrap_err()
                .code,
            SfnErrorCode::InvalidTracingConfiguration
        );
    }

    #[test]
    fn tags_are_bounded() {
        let mut tags = BTreeMap::new();
        let many: Vec<(String, String)> = (0..=TAGS_MAX)
            .map(|i| (format!("k{i}"), "v".into()))
            .collect();
        assert_eq!(
            merge_tags(&mut tags, &many, "arn").unwrap_err().code,
            SfnErrorCode::TooManyTags
        );
        let mut tags = BTreeMap::new();
        assert_eq!(
            merge_tags(&mut tags, &[(String::new(), "v".into())], "arn")
                .unwrap_err()
                .code,
            SfnErrorCode::ValidationException
        );
    }

    #[test]
    fn pages_follow_arn_order_within_the_region() {
        let items: BTreeMap<String, u32> = [
            ("arn:aws:states:us-east-1:0:stateMachine:a", 1),
            ("arn:aws:states:us-east-1:0:stateMachine:b", 2),
            ("arn:aws:states:eu-west-1:0:stateMachine:c", 3),
            ("arn:aws:states:us-east-1:0:stateMachine:d", 4),
        ]
        .into_iter()
        .map(|(arn, n)| (arn.to_owned(), n))
        .collect();
        let (first, token) = page(&items, "us-east-1", 2, None).unwrap();
        assert_eq!(first, [1, 2]);
        let (rest, none) = page(&items, "us-east-1", 2, token.as_deref()).unwrap();
        assert_eq!((rest, none), (vec![4], None));
        assert_eq!(
            page(&items, "us-east-1", 2, Some("junk")).unwrap_err().code,
            SfnErrorCode::InvalidToken
        );
    }
}
