//! Queue administration: create, look up, list, delete, attributes, tags and purge.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use tern_core::arn::QueueArn;
use tern_core::limits::*;
use tern_core::names::validate_queue_name;
use tern_core::policy;
use tern_core::queue_attributes::{self as attribute, QueueAttributes};
use tern_core::time::seconds_to_millis;
use tern_core::{ErrorCode, SqsError};
use tern_store::{CreateQueueOutcome, NewQueue, QueueRecord};

use crate::catalogue::QueueEntry;
use crate::{Broker, store_error};

/// SQS allows one purge per queue per minute.
const PURGE_INTERVAL_SECONDS: u64 = 60;
/// After a DeleteQueue, SQS refuses the same name for a minute.
const RECREATE_INTERVAL_SECONDS: u64 = 60;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuePage {
    pub names: Vec<String>,
    pub next_token: Option<String>,
}

fn validate_tags(tags: &BTreeMap<String, String>) -> Result<(), SqsError> {
    for (key, value) in tags {
        if key.is_empty() || key.chars().count() > TAG_KEY_LENGTH_MAX {
            return Err(SqsError::new(
                ErrorCode::InvalidParameterValue,
                format!(
                    "Tag keys must be between 1 and {TAG_KEY_LENGTH_MAX} characters in length."
                ),
            ));
        }
        if value.chars().count() > TAG_VALUE_LENGTH_MAX {
            return Err(SqsError::new(
                ErrorCode::InvalidParameterValue,
                format!("Tag values may not exceed {TAG_VALUE_LENGTH_MAX} characters in length."),
            ));
        }
    }
    Ok(())
}

fn too_many_tags(name: &str) -> SqsError {
    SqsError::new(
        ErrorCode::InvalidParameterValue,
        format!(
            "Too many tags added for queue {name}. A queue can have at most {QUEUE_TAGS_MAX} tags."
        ),
    )
}

/// One page of sorted `names`: a token (the last name returned) only when `max_results` was
/// given and more remain, as SQS pages ListQueues and ListDeadLetterSourceQueues.
fn page_of(
    mut names: Vec<String>,
    max_results: Option<u32>,
    next_token: Option<&str>,
) -> Result<QueuePage, SqsError> {
    if let Some(max) = max_results
        && !(1..=LIST_QUEUES_RESULTS_MAX as u32).contains(&max)
    {
        return Err(SqsError::invalid_parameter(
            "MaxResults",
            max,
            "MaxResults must be an integer between 1 and 1000.",
        ));
    }
    if let Some(token) = next_token {
        let after = URL_SAFE_NO_PAD
            .decode(token)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .ok_or_else(|| {
                SqsError::new(ErrorCode::InvalidParameterValue, "Invalid NextToken value.")
            })?;
        names.retain(|name| *name > after);
    }
    let limit = max_results.map_or(LIST_QUEUES_RESULTS_MAX, |max| max as usize);
    let more = names.len() > limit;
    names.truncate(limit);
    let next_token = match (more, max_results, names.last()) {
        (true, Some(_), Some(last)) => Some(URL_SAFE_NO_PAD.encode(last)),
        _ => None,
    };
    Ok(QueuePage { names, next_token })
}

impl Broker {
    pub(crate) fn entry(&self, name: &str) -> Result<Arc<QueueEntry>, SqsError> {
        self.catalogue
            .get(name)
            .ok_or_else(SqsError::queue_does_not_exist)
    }

    pub fn queue(&self, name: &str) -> Result<Arc<QueueRecord>, SqsError> {
        Ok(self.entry(name)?.record())
    }

    /// Creates a queue, or returns the existing one if every attribute named agrees with it.
    pub async fn create_queue(
        &self,
        name: &str,
        requested: BTreeMap<String, String>,
        tags: BTreeMap<String, String>,
    ) -> Result<Arc<QueueRecord>, SqsError> {
        validate_queue_name(name)?;
        let attributes = QueueAttributes::for_new_queue(name, &requested)?;
        self.check_redrive(name, &attributes)?;
        validate_tags(&tags)?;
        if tags.len() > QUEUE_TAGS_MAX {
            return Err(too_many_tags(name));
        }
        if let Some(existing) = self.catalogue.get(name) {
            return Self::existing_if_identical(existing.record(), &requested);
        }
        self.check_not_deleted_recently(name)?;
        let outcome = self
            .store
            .create_queue(NewQueue {
                name: name.to_owned(),
                attributes,
                tags,
                now: self.now(),
            })
            .await
            .map_err(store_error)?;
        match outcome {
            CreateQueueOutcome::Created(record) => Ok(self.catalogue.insert(record).record()),
            // Another request created it between our look-up and the store's.
            CreateQueueOutcome::AlreadyExists(record) => {
                let entry = self.catalogue.insert(record);
                Self::existing_if_identical(entry.record(), &requested)
            }
        }
    }

    fn existing_if_identical(
        existing: Arc<QueueRecord>,
        requested: &BTreeMap<String, String>,
    ) -> Result<Arc<QueueRecord>, SqsError> {
        if existing.attributes.agrees_with(requested)? {
            Ok(existing)
        } else {
            Err(SqsError::new(
                ErrorCode::QueueNameExists,
                "A queue already exists with the same name and a different value for attribute(s).",
            ))
        }
    }

    pub fn list_queues(
        &self,
        prefix: Option<&str>,
        max_results: Option<u32>,
        next_token: Option<&str>,
    ) -> Result<QueuePage, SqsError> {
        let names = self.catalogue.names(prefix.unwrap_or(""));
        page_of(names, max_results, next_token)
    }

    fn remember_deletion(&self, name: &str) {
        let now = self.now();
        let interval = seconds_to_millis(RECREATE_INTERVAL_SECONDS);
        let mut deleted = self
            .recently_deleted
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        deleted.retain(|_, deleted_at| now < deleted_at.saturating_add(interval));
        deleted.insert(name.to_owned(), now);
    }

    fn check_not_deleted_recently(&self, name: &str) -> Result<(), SqsError> {
        let deleted = self
            .recently_deleted
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let interval = seconds_to_millis(RECREATE_INTERVAL_SECONDS);
        match deleted.get(name) {
            Some(deleted_at) if self.now() < deleted_at.saturating_add(interval) => {
                Err(SqsError::new(
                    ErrorCode::QueueDeletedRecently,
                    format!(
                        "You must wait 60 seconds after deleting a queue before you can create another with the same name: {name}"
                    ),
                ))
            }
            _ => Ok(()),
        }
    }

    /// A `RedrivePolicy` must name an existing queue of the same type, in this account, other
    /// than the source itself, whose `RedriveAllowPolicy` lets this source use it.
    fn check_redrive(&self, source: &str, attributes: &QueueAttributes) -> Result<(), SqsError> {
        let Some(policy) = attributes.redrive_policy() else {
            return Ok(());
        };
        let invalid = |reason: &str| {
            SqsError::invalid_parameter(attribute::REDRIVE_POLICY, policy.to_json(), reason)
        };
        let target = policy
            .target()
            .filter(|target| target.account_id == self.account_id)
            .and_then(|target| self.catalogue.get(&target.queue_name))
            .map(|entry| entry.record())
            .ok_or_else(|| invalid("Dead letter target does not exist."))?;
        if target.name == source {
            return Err(invalid("A queue cannot be its own dead-letter queue."));
        }
        if target.attributes.is_fifo() != attributes.is_fifo() {
            return Err(invalid(
                "The dead-letter queue of a FIFO queue must also be a FIFO queue, and that of a standard queue a standard queue.",
            ));
        }
        if !target.attributes.redrive_allow_policy().allows(source) {
            return Err(invalid(
                "The dead-letter queue's RedriveAllowPolicy does not allow this queue as a source.",
            ));
        }
        Ok(())
    }

    /// Queues whose `RedrivePolicy` names `name` as their dead-letter queue.
    pub fn dead_letter_source_queues(
        &self,
        name: &str,
        max_results: Option<u32>,
        next_token: Option<&str>,
    ) -> Result<QueuePage, SqsError> {
        self.queue(name)?;
        let sources: Vec<String> = self
            .catalogue
            .entries()
            .into_iter()
            .map(|entry| entry.record())
            .filter(|record| {
                record
                    .attributes
                    .redrive_policy()
                    .and_then(|policy| policy.target())
                    .is_some_and(|target: QueueArn| {
                        target.queue_name == name && target.account_id == self.account_id
                    })
            })
            .map(|record| record.name.clone())
            .collect();
        page_of(sources, max_results, next_token)
    }

    pub async fn delete_queue(&self, name: &str) -> Result<(), SqsError> {
        let entry = self.entry(name)?;
        let _metadata = entry.metadata_lock.lock().await;
        let queue_id = entry.record().id;
        self.store
            .delete_queue(queue_id)
            .await
            .map_err(store_error)?;
        self.catalogue.remove(name, queue_id);
        self.remember_deletion(name);
        // Long polls on a deleted queue end now rather than at their timeout.
        entry.arrivals.notify_waiters();
        Ok(())
    }

    /// `requested` may hold `All`; an unknown name is an error, as in SQS.
    pub async fn queue_attributes(
        &self,
        name: &str,
        requested: &[String],
        queue_arn: &str,
    ) -> Result<Vec<(String, String)>, SqsError> {
        let record = self.queue(name)?;
        let all = requested.iter().any(|name| name == "All");
        if let Some(unknown) = requested
            .iter()
            .find(|name| *name != "All" && !attribute::is_known_attribute(name))
        {
            return Err(SqsError::new(
                ErrorCode::InvalidAttributeName,
                format!("Unknown Attribute {unknown}."),
            ));
        }
        let wanted = |attribute: &str| all || requested.iter().any(|name| name == attribute);
        let mut values = Vec::new();
        let counters = [
            attribute::APPROXIMATE_NUMBER_OF_MESSAGES,
            attribute::APPROXIMATE_NUMBER_OF_MESSAGES_NOT_VISIBLE,
            attribute::APPROXIMATE_NUMBER_OF_MESSAGES_DELAYED,
        ];
        if counters.iter().any(|counter| wanted(counter)) {
            let counts = self
                .store
                .counts(record.id, self.now())
                .await
                .map_err(store_error)?;
            for (counter, value) in
                counters
                    .iter()
                    .zip([counts.visible, counts.in_flight, counts.delayed])
            {
                if wanted(counter) {
                    values.push((counter.to_string(), value.to_string()));
                }
            }
        }
        let seconds = |millis: u64| (millis / 1_000).to_string();
        let computed = [
            (attribute::CREATED_TIMESTAMP, seconds(record.created_at)),
            (
                attribute::LAST_MODIFIED_TIMESTAMP,
                seconds(record.last_modified_at),
            ),
            (attribute::QUEUE_ARN, queue_arn.to_owned()),
        ];
        for (name, value) in computed {
            if wanted(name) {
                values.push((name.to_owned(), value));
            }
        }
        for (name, value) in record.attributes.as_map() {
            if wanted(name) {
                values.push((name.clone(), value.clone()));
            }
        }
        Ok(values)
    }

    pub async fn set_queue_attributes(
        &self,
        name: &str,
        changes: BTreeMap<String, String>,
    ) -> Result<(), SqsError> {
        let now = self.now();
        self.update_record(name, |record| {
            record.attributes.apply(&changes)?;
            self.check_redrive(name, &record.attributes)?;
            record.last_modified_at = now;
            Ok(())
        })
        .await?;
        // A shorter delay or wait may let waiting receivers proceed sooner.
        self.entry(name)?.arrivals.notify_waiters();
        Ok(())
    }

    pub async fn tag_queue(
        &self,
        name: &str,
        tags: BTreeMap<String, String>,
    ) -> Result<(), SqsError> {
        validate_tags(&tags)?;
        self.update_tags(name, |existing| existing.extend(tags))
            .await
    }

    pub async fn untag_queue(&self, name: &str, keys: Vec<String>) -> Result<(), SqsError> {
        self.update_tags(name, |existing| {
            for key in &keys {
                existing.remove(key);
            }
        })
        .await
    }

    async fn update_tags(
        &self,
        name: &str,
        change: impl FnOnce(&mut BTreeMap<String, String>),
    ) -> Result<(), SqsError> {
        self.update_record(name, |record| {
            change(&mut record.tags);
            if record.tags.len() > QUEUE_TAGS_MAX {
                return Err(too_many_tags(name));
            }
            Ok(())
        })
        .await
    }

    /// AddPermission: a policy statement granting `actions` to `account_ids`.
    pub async fn add_permission(
        &self,
        name: &str,
        label: &str,
        account_ids: &[String],
        actions: &[String],
        queue_arn: &str,
    ) -> Result<(), SqsError> {
        self.update_policy(name, |existing| {
            policy::add_permission(existing, queue_arn, label, account_ids, actions).map(Some)
        })
        .await
    }

    pub async fn remove_permission(&self, name: &str, label: &str) -> Result<(), SqsError> {
        self.update_policy(name, |existing| policy::remove_permission(existing, label))
            .await
    }

    /// Rewrites the queue's `Policy` from its current value; `None` removes it.
    async fn update_policy(
        &self,
        name: &str,
        rewrite: impl FnOnce(Option<&str>) -> Result<Option<String>, SqsError>,
    ) -> Result<(), SqsError> {
        let now = self.now();
        self.update_record(name, |record| {
            // An empty value removes the attribute.
            let policy = rewrite(record.attributes.get(attribute::POLICY))?.unwrap_or_default();
            record
                .attributes
                .apply(&BTreeMap::from([(attribute::POLICY.to_owned(), policy)]))?;
            record.last_modified_at = now;
            Ok(())
        })
        .await
    }

    /// Read-modify-write of a queue's metadata under its lock; nothing is stored, and the
    /// catalogue keeps the old record, unless `change` succeeds.
    async fn update_record(
        &self,
        name: &str,
        change: impl FnOnce(&mut QueueRecord) -> Result<(), SqsError>,
    ) -> Result<(), SqsError> {
        let entry = self.entry(name)?;
        let _metadata = entry.metadata_lock.lock().await;
        let mut record = QueueRecord::clone(&entry.record());
        change(&mut record)?;
        self.store
            .update_queue(record.clone())
            .await
            .map_err(store_error)?;
        entry.replace(record);
        Ok(())
    }

    pub fn queue_tags(&self, name: &str) -> Result<BTreeMap<String, String>, SqsError> {
        Ok(self.queue(name)?.tags.clone())
    }

    pub async fn purge_queue(&self, name: &str) -> Result<(), SqsError> {
        let entry = self.entry(name)?;
        let now = self.now();
        let interval = seconds_to_millis(PURGE_INTERVAL_SECONDS);
        let previous = entry.last_purge_at.load(Ordering::SeqCst);
        let too_soon = previous != 0 && now < previous.saturating_add(interval);
        // compare_exchange so that of two concurrent purges exactly one proceeds.
        if too_soon
            || entry
                .last_purge_at
                .compare_exchange(previous, now, Ordering::SeqCst, Ordering::SeqCst)
                .is_err()
        {
            return Err(SqsError::new(
                ErrorCode::PurgeQueueInProgress,
                format!("Only one PurgeQueue operation on {name} is allowed every 60 seconds."),
            ));
        }
        self.store
            .purge(entry.record().id)
            .await
            .map_err(store_error)?;
        Ok(())
    }
}
