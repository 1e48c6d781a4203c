//! CreateTopic, DeleteTopic, ListTopics, Get/SetTopicAttributes and the tag actions.

use std::collections::BTreeMap;
use std::sync::Arc;

use tern_store::{CreateTopicOutcome, NewTopic, TopicRecord};

use super::catalogue::SUBSCRIPTIONS_DELETED;
use super::{SnsError, SnsErrorCode, TopicArn, TopicsContext, store_error, topic_arn};
use crate::Broker;

/// AWS's default quota of topics per account.
pub const TOPICS_MAX: usize = 100_000;
/// ListTopics pages.
pub const LIST_TOPICS_PAGE_MAX: usize = 100;
pub const TAGS_PER_RESOURCE_MAX: usize = 50;
const TAG_KEY_CHARACTERS_MAX: usize = 128;
const TAG_VALUE_CHARACTERS_MAX: usize = 256;
const TOPIC_NAME_CHARACTERS_MAX: usize = 256;
const DISPLAY_NAME_CHARACTERS_MAX: usize = 100;

pub const FIFO_SUFFIX: &str = ".fifo";

/// Attributes a topic may be given; the rest of GetTopicAttributes' answer is derived.
const SETTABLE_ATTRIBUTES: &[&str] = &[
    "DisplayName",
    "Policy",
    "DeliveryPolicy",
    "KmsMasterKeyId",
    "SignatureVersion",
    "TracingConfig",
    "ContentBasedDeduplication",
    "ArchivePolicy",
    "FifoThroughputScope",
];

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TopicSettings {
    pub attributes: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicPage {
    pub topic_arns: Vec<String>,
    pub next_token: Option<String>,
}

pub(crate) fn is_fifo(topic: &TopicRecord) -> bool {
    topic.attributes.get("FifoTopic").map(String::as_str) == Some("true")
}

pub(crate) fn content_based_deduplication(topic: &TopicRecord) -> bool {
    topic
        .attributes
        .get("ContentBasedDeduplication")
        .map(String::as_str)
        == Some("true")
}

fn validate_name(name: &str, fifo: bool) -> Result<(), SnsError> {
    let stem = name.strip_suffix(FIFO_SUFFIX).unwrap_or(name);
    let well_formed = !stem.is_empty()
        && name.chars().count() <= TOPIC_NAME_CHARACTERS_MAX
        && stem
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_');
    if fifo && !name.ends_with(FIFO_SUFFIX) {
        return Err(SnsError::invalid_parameter(
            "Fifo Topic names must end with .fifo and must be made up of only uppercase and lowercase ASCII letters, numbers, underscores, and hyphens, and must be between 1 and 256 characters long.",
        ));
    }
    if !well_formed || (!fifo && name.ends_with(FIFO_SUFFIX)) {
        return Err(SnsError::invalid_parameter("Topic Name"));
    }
    Ok(())
}

fn boolean(name: &str, value: &str) -> Result<(), SnsError> {
    match value {
        "true" | "false" => Ok(()),
        _ => Err(SnsError::invalid_parameter(format!(
            "Attributes Reason: {name}: Invalid value [{value}]. Must be true or false."
        ))),
    }
}

/// Checks one settable attribute's value. `fifo` is the topic's type.
fn validate_attribute(name: &str, value: &str, fifo: bool) -> Result<(), SnsError> {
    match name {
        "DisplayName" if value.chars().count() > DISPLAY_NAME_CHARACTERS_MAX => {
            Err(SnsError::invalid_parameter("DisplayName"))
        }
        "ContentBasedDeduplication" => {
            boolean(name, value)?;
            if !fifo {
                return Err(SnsError::invalid_parameter(
                    "ContentBasedDeduplication Reason: Content based deduplication can only be set for FIFO topics",
                ));
            }
            Ok(())
        }
        "SignatureVersion" if value != "1" && value != "2" => {
            Err(SnsError::invalid_parameter("SignatureVersion"))
        }
        "TracingConfig" if value != "PassThrough" && value != "Active" => {
            Err(SnsError::invalid_parameter("TracingConfig"))
        }
        "DeliveryPolicy" if !value.is_empty() => {
            super::delivery_policy::parse_topic_policy(value).map(|_| ())
        }
        "Policy" | "ArchivePolicy" if !value.is_empty() => {
            match serde_json::from_str::<serde_json::Value>(value) {
                Ok(serde_json::Value::Object(_)) => Ok(()),
                _ => Err(SnsError::invalid_parameter(format!(
                    "{name}: the value must be a JSON object"
                ))),
            }
        }
        _ if SETTABLE_ATTRIBUTES.contains(&name) => Ok(()),
        _ => Err(SnsError::invalid_parameter("AttributeName")),
    }
}

fn validate_tags(tags: &BTreeMap<String, String>) -> Result<(), SnsError> {
    if tags.len() > TAGS_PER_RESOURCE_MAX {
        return Err(SnsError::new(
            SnsErrorCode::TagLimitExceeded,
            "Could not complete request: tag quota of per resource exceeded",
        ));
    }
    for (key, value) in tags {
        let key_length = key.chars().count();
        if key_length == 0 || key_length > TAG_KEY_CHARACTERS_MAX {
            return Err(SnsError::invalid_parameter(
                "Tags Reason: Tag keys must be between 1 and 128 characters long",
            ));
        }
        if value.chars().count() > TAG_VALUE_CHARACTERS_MAX {
            return Err(SnsError::invalid_parameter(
                "Tags Reason: Tag values may be at most 256 characters long",
            ));
        }
        if key.starts_with("aws:") {
            return Err(SnsError::new(
                SnsErrorCode::TagPolicy,
                "Tag keys may not start with the reserved prefix aws:",
            ));
        }
    }
    Ok(())
}

/// The value GetTopicAttributes would report for `name`, for comparing a repeated CreateTopic.
fn effective(topic: &TopicRecord, name: &str) -> String {
    topic.attributes.get(name).cloned().unwrap_or_else(|| {
        match name {
            "FifoTopic" | "ContentBasedDeduplication" => "false",
            _ => "",
        }
        .to_owned()
    })
}

impl Broker {
    /// The topic an ARN names; `InvalidParameter` for a malformed ARN, `NotFound` for a topic
    /// that does not exist (or lives in another account).
    pub(crate) fn resolve_topic(
        &self,
        arn: &str,
        parameter: &str,
    ) -> Result<Arc<TopicRecord>, SnsError> {
        let parsed = TopicArn::parse(arn).ok_or_else(|| SnsError::invalid_parameter(parameter))?;
        if parsed.account_id != self.account_id {
            return Err(SnsError::topic_not_found());
        }
        self.topics
            .topic(parsed.name)
            .ok_or_else(SnsError::topic_not_found)
    }

    /// Creates the topic, or returns the existing one's ARN when the name is taken and every
    /// given attribute and tag matches.
    pub async fn create_topic(
        &self,
        context: &TopicsContext,
        name: &str,
        settings: TopicSettings,
    ) -> Result<String, SnsError> {
        let mut attributes = settings.attributes;
        let fifo = match attributes.remove("FifoTopic") {
            Some(value) => {
                boolean("FifoTopic", &value)?;
                value == "true"
            }
            None => false,
        };
        validate_name(name, fifo)?;
        for (attribute, value) in &attributes {
            validate_attribute(attribute, value, fifo)?;
        }
        validate_tags(&settings.tags)?;
        if fifo {
            attributes.insert("FifoTopic".to_owned(), "true".to_owned());
        }
        let _guard = self.topics.admin_lock.lock().await;
        if let Some(existing) = self.topics.topic(name) {
            return self.existing_topic(context, &existing, &attributes, &settings.tags);
        }
        if self.topics.topic_count() >= TOPICS_MAX {
            return Err(SnsError::new(
                SnsErrorCode::TopicLimitExceeded,
                "Topic limit exceeded",
            ));
        }
        let outcome = self
            .store
            .create_topic(NewTopic {
                name: name.to_owned(),
                attributes: attributes.clone(),
                tags: settings.tags.clone(),
                now: self.now(),
            })
            .await
            .map_err(store_error)?;
        match outcome {
            CreateTopicOutcome::Created(record) => {
                self.topics.put_topic(record);
                Ok(topic_arn(context, &self.account_id, name))
            }
            CreateTopicOutcome::AlreadyExists(record) => {
                let existing = Arc::new(record);
                self.topics.put_topic((*existing).clone());
                self.existing_topic(context, &existing, &attributes, &settings.tags)
            }
        }
    }

    fn existing_topic(
        &self,
        context: &TopicsContext,
        existing: &TopicRecord,
        attributes: &BTreeMap<String, String>,
        tags: &BTreeMap<String, String>,
    ) -> Result<String, SnsError> {
        if attributes
            .iter()
            .any(|(name, value)| effective(existing, name) != *value)
        {
            return Err(SnsError::invalid_parameter(
                "Attributes Reason: Topic already exists with different attributes",
            ));
        }
        if tags
            .iter()
            .any(|(key, value)| existing.tags.get(key) != Some(value))
        {
            return Err(SnsError::invalid_parameter(
                "Tags Reason: Topic already exists with different tags",
            ));
        }
        Ok(topic_arn(context, &self.account_id, &existing.name))
    }

    /// Deleting a topic that does not exist succeeds, as in SNS; its subscriptions go with it.
    pub async fn delete_topic(&self, topic_arn: &str) -> Result<(), SnsError> {
        let topic = match self.resolve_topic(topic_arn, "TopicArn") {
            Ok(topic) => topic,
            Err(error) if error.code == SnsErrorCode::NotFound => return Ok(()),
            Err(error) => return Err(error),
        };
        let _guard = self.topics.admin_lock.lock().await;
        self.store
            .delete_topic(topic.id)
            .await
            .map_err(store_error)?;
        self.topics.remove_topic(&topic.name);
        Ok(())
    }

    /// Pages of [`LIST_TOPICS_PAGE_MAX`] in name order; the token is the last name listed.
    pub fn list_topics(
        &self,
        context: &TopicsContext,
        next_token: Option<&str>,
    ) -> Result<TopicPage, SnsError> {
        let after = decode_token(next_token)?;
        let (page, more) = self.topics.topics_after(&after, LIST_TOPICS_PAGE_MAX);
        let next_token = more
            .then(|| page.last().map(|topic| encode_token(&topic.name)))
            .flatten();
        Ok(TopicPage {
            topic_arns: page
                .iter()
                .map(|topic| topic_arn(context, &self.account_id, &topic.name))
                .collect(),
            next_token,
        })
    }

    pub fn topic_attributes(
        &self,
        context: &TopicsContext,
        topic_arn_text: &str,
    ) -> Result<BTreeMap<String, String>, SnsError> {
        let topic = self.resolve_topic(topic_arn_text, "TopicArn")?;
        let arn = topic_arn(context, &self.account_id, &topic.name);
        let subscriptions = self.topics.subscriptions_of(topic.id);
        let pending = subscriptions
            .iter()
            .filter(|entry| entry.record.pending_confirmation)
            .count();
        let confirmed = subscriptions.len() - pending;
        let mut attributes = BTreeMap::from([
            ("TopicArn".to_owned(), arn.clone()),
            ("Owner".to_owned(), self.account_id.clone()),
            ("DisplayName".to_owned(), String::new()),
            ("Policy".to_owned(), default_policy(&arn, &self.account_id)),
            (
                "EffectiveDeliveryPolicy".to_owned(),
                topic
                    .attributes
                    .get("DeliveryPolicy")
                    .filter(|policy| !policy.is_empty())
                    .cloned()
                    .unwrap_or_else(|| DEFAULT_DELIVERY_POLICY.to_owned()),
            ),
            ("SubscriptionsConfirmed".to_owned(), confirmed.to_string()),
            ("SubscriptionsPending".to_owned(), pending.to_string()),
            // Counted by the store among the topic's attributes once one is deleted; the
            // `extend` below puts the count in place of this zero.
            (SUBSCRIPTIONS_DELETED.to_owned(), "0".to_owned()),
        ]);
        if is_fifo(&topic) {
            attributes.insert("FifoTopic".to_owned(), "true".to_owned());
            attributes.insert(
                "ContentBasedDeduplication".to_owned(),
                content_based_deduplication(&topic).to_string(),
            );
        }
        attributes.extend(topic.attributes.clone());
        Ok(attributes)
    }

    pub async fn set_topic_attribute(
        &self,
        topic_arn: &str,
        name: &str,
        value: &str,
    ) -> Result<(), SnsError> {
        let _guard = self.topics.admin_lock.lock().await;
        let topic = self.resolve_topic(topic_arn, "TopicArn")?;
        validate_attribute(name, value, is_fifo(&topic))?;
        let mut changed = (*topic).clone();
        changed.attributes.insert(name.to_owned(), value.to_owned());
        self.save_topic(changed).await
    }

    async fn save_topic(&self, topic: TopicRecord) -> Result<(), SnsError> {
        if !self
            .store
            .update_topic(topic.clone())
            .await
            .map_err(store_error)?
        {
            return Err(SnsError::topic_not_found());
        }
        self.topics.put_topic(topic);
        Ok(())
    }

    /// Tags live on topics only; any other ARN is not a taggable resource here.
    fn tagged_topic(&self, resource_arn: &str) -> Result<Arc<TopicRecord>, SnsError> {
        self.resolve_topic(resource_arn, "ResourceArn")
            .map_err(|error| match error.code {
                SnsErrorCode::NotFound => {
                    SnsError::new(SnsErrorCode::ResourceNotFound, "Resource does not exist")
                }
                _ => error,
            })
    }

    pub async fn tag_resource(
        &self,
        resource_arn: &str,
        tags: BTreeMap<String, String>,
    ) -> Result<(), SnsError> {
        let _guard = self.topics.admin_lock.lock().await;
        let topic = self.tagged_topic(resource_arn)?;
        let mut changed = (*topic).clone();
        changed.tags.extend(tags);
        validate_tags(&changed.tags)?;
        self.save_topic(changed).await
    }

    pub async fn untag_resource(
        &self,
        resource_arn: &str,
        keys: &[String],
    ) -> Result<(), SnsError> {
        let _guard = self.topics.admin_lock.lock().await;
        let topic = self.tagged_topic(resource_arn)?;
        let mut changed = (*topic).clone();
        for key in keys {
            changed.tags.remove(key);
        }
        self.save_topic(changed).await
    }

    pub fn list_tags_for_resource(
        &self,
        resource_arn: &str,
    ) -> Result<BTreeMap<String, String>, SnsError> {
        Ok(self.tagged_topic(resource_arn)?.tags.clone())
    }
}

/// Tokens are opaque to clients; hex keeps any name safe in a URL and a form.
pub(crate) fn encode_token(after: &str) -> String {
    after.bytes().map(|byte| format!("{byte:02x}")).collect()
}

pub(crate) fn decode_token(token: Option<&str>) -> Result<String, SnsError> {
    let Some(token) = token.filter(|token| !token.is_empty()) else {
        return Ok(String::new());
    };
    let invalid = || SnsError::invalid_parameter("NextToken");
    if token.len() % 2 != 0 || !token.is_ascii() {
        return Err(invalid());
    }
    let bytes = (0..token.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(&token[at..at + 2], 16))
        .collect::<Result<Vec<u8>, _>>()
        .map_err(|_| invalid())?;
    String::from_utf8(bytes).map_err(|_| invalid())
}

const DEFAULT_DELIVERY_POLICY: &str = r#"{"http":{"defaultHealthyRetryPolicy":{"minDelayTarget":20,"maxDelayTarget":20,"numRetries":3,"numMaxDelayRetries":0,"numNoDelayRetries":0,"numMinDelayRetries":0,"backoffFunction":"linear"},"disableSubscriptionOverrides":false,"defaultRequestPolicy":{"headerContentType":"text/plain; charset=UTF-8"}}}"#;

fn default_policy(topic_arn: &str, account_id: &str) -> String {
    serde_json::json!({
        "Version": "2008-10-17",
        "Id": "__default_policy_ID",
        "Statement": [{
            "Sid": "__default_statement_ID",
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": ["SNS:GetTopicAttributes", "SNS:SetTopicAttributes", "SNS:AddPermission",
                       "SNS:RemovePermission", "SNS:DeleteTopic", "SNS:Subscribe",
                       "SNS:ListSubscriptionsByTopic", "SNS:Publish"],
            "Resource": topic_arn,
            "Condition": {"StringEquals": {"AWS:SourceOwner": account_id}},
        }],
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_topic_type() {
        assert!(validate_name("orders", false).is_ok());
        assert!(validate_name("orders.fifo", true).is_ok());
        assert!(validate_name("orders.fifo", false).is_err());
        assert!(validate_name("orders", true).is_err());
        assert!(validate_name("", false).is_err());
        assert!(validate_name("bad name", false).is_err());
        assert!(validate_name(&"a".repeat(257), false).is_err());
    }

    #[test]
    fn tokens_round_trip_and_reject_garbage() {
        assert_eq!(
            decode_token(Some(&encode_token("topic-9"))).unwrap(),
            "topic-9"
        );
        assert_eq!(decode_token(None).unwrap(), "");
        assert!(decode_token(Some("zz")).is_err());
        assert!(decode_token(Some("abc")).is_err());
        assert!(decode_token(Some("é1")).is_err());
    }

    #[test]
    fn attributes_are_checked_against_the_topic_type() {
        assert!(validate_attribute("ContentBasedDeduplication", "true", true).is_ok());
        assert!(validate_attribute("ContentBasedDeduplication", "true", false).is_err());
        assert!(validate_attribute("ContentBasedDeduplication", "maybe", true).is_err());
        assert!(validate_attribute("SignatureVersion", "3", false).is_err());
        assert!(validate_attribute("Policy", "not json", false).is_err());
        assert!(validate_attribute("Unknown", "x", false).is_err());
        assert!(validate_attribute("DisplayName", "News", false).is_ok());
    }
}
