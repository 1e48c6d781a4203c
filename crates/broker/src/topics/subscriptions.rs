//! Subscribe, Unsubscribe, ListSubscriptions(ByTopic), Get/SetSubscriptionAttributes.
//!
//! `sqs` subscriptions are confirmed the moment they are made. `http`/`https` ones wait for
//! their endpoint to confirm (see `confirmations`): Subscribe stores the subscription and its
//! `SubscriptionConfirmation` in one commit and answers "pending confirmation".

use std::collections::BTreeMap;
use std::sync::Arc;

use tern_core::arn::QueueArn;
use tern_sns_filter::{FilterPolicy, PolicyCall, Scope};
use tern_store::{CreateSubscriptionOutcome, SubscriptionRecord, TopicRecord};

use tern_sns_sign::MessageType;

use super::admin::{FIFO_SUFFIX, decode_token, encode_token, is_fifo};
use super::catalogue::SubscriptionEntry;
use super::confirmations::{is_http, new_token};
use super::{SnsError, SnsErrorCode, TopicsContext, store_error, subscription_arn, topic_arn};
use crate::Broker;

/// Tern's bound on subscriptions per topic: a publish fans out to all of them in one commit.
pub const SUBSCRIPTIONS_PER_TOPIC_MAX: usize = 10_000;
/// AWS's default quota of filter policies per topic.
pub const FILTER_POLICIES_PER_TOPIC_MAX: usize = 200;
pub const LIST_SUBSCRIPTIONS_PAGE_MAX: usize = 100;

/// What Subscribe answers for a subscription that waits for its endpoint's confirmation.
pub const PENDING_CONFIRMATION_ARN: &str = "pending confirmation";
/// How ListSubscriptions shows such a subscription's ARN.
const LISTED_PENDING_ARN: &str = "PendingConfirmation";

/// Protocols SNS has that Tern will deliver to in a later landing.
const PROTOCOLS_NOT_YET: &[&str] = &[
    "email",
    "email-json",
    "sms",
    "application",
    "lambda",
    "firehose",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionSummary {
    pub subscription_arn: String,
    pub owner: String,
    pub protocol: String,
    pub endpoint: String,
    pub topic_arn: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionPage {
    pub subscriptions: Vec<SubscriptionSummary>,
    pub next_token: Option<String>,
}

/// AWS words the same fault differently for Subscribe (inside `Attributes`) and for
/// SetSubscriptionAttributes.
fn attribute_error(call: PolicyCall, detail: &str) -> SnsError {
    match call {
        PolicyCall::Subscribe => {
            SnsError::invalid_parameter(format!("Attributes Reason: {detail}"))
        }
        PolicyCall::SetSubscriptionAttributes => SnsError::invalid_parameter(detail),
    }
}

/// AWS documents `FilterPolicy` set to `{}` as removing the policy, not as a policy that matches
/// everything (which would still count toward the topic's filter-policy quota).
fn is_empty_filter_policy(name: &str, value: &str) -> bool {
    name == "FilterPolicy"
        && serde_json::from_str::<serde_json::Value>(value)
            .is_ok_and(|policy| policy.as_object().is_some_and(|fields| fields.is_empty()))
}

/// Validates a subscription's complete attribute set (after a change) and drops empty values,
/// which mean "unset".
fn validate_attributes(
    attributes: &mut BTreeMap<String, String>,
    call: PolicyCall,
) -> Result<(), SnsError> {
    attributes.retain(|name, value| !value.is_empty() && !is_empty_filter_policy(name, value));
    for (name, value) in attributes.iter() {
        match name.as_str() {
            "RawMessageDelivery" if value != "true" && value != "false" => {
                return Err(attribute_error(
                    call,
                    &format!("RawMessageDelivery: Invalid value [{value}]. Must be true or false."),
                ));
            }
            "FilterPolicyScope" if Scope::from_attribute(value).is_none() => {
                return Err(attribute_error(
                    call,
                    &format!(
                        "FilterPolicyScope: Invalid value [{value}]. Please use either MessageBody or MessageAttributes"
                    ),
                ));
            }
            "RedrivePolicy" => validate_redrive_policy(value, call)?,
            "DeliveryPolicy" => {
                super::delivery_policy::parse_subscription_policy(value).map_err(|error| {
                    let detail = error
                        .message
                        .strip_prefix("Invalid parameter: ")
                        .unwrap_or(&error.message)
                        .to_owned();
                    attribute_error(call, &detail)
                })?;
            }
            "RawMessageDelivery" | "FilterPolicy" | "FilterPolicyScope" | "SubscriptionRoleArn" => {
            }
            _ => return Err(attribute_error(call, "Unknown attribute")),
        }
    }
    if let Some(policy) = attributes.get("FilterPolicy") {
        let scope = attributes
            .get("FilterPolicyScope")
            .and_then(|scope| Scope::from_attribute(scope))
            .unwrap_or(Scope::MessageAttributes);
        FilterPolicy::parse(policy, scope).map_err(|error| {
            SnsError::new(SnsErrorCode::InvalidParameter, error.aws_message(call))
        })?;
    }
    Ok(())
}

fn validate_redrive_policy(value: &str, call: PolicyCall) -> Result<(), SnsError> {
    let target = serde_json::from_str::<serde_json::Value>(value)
        .ok()
        .and_then(|policy| {
            policy
                .get("deadLetterTargetArn")
                .and_then(|arn| arn.as_str())
                .map(str::to_owned)
        });
    match target {
        Some(arn) if QueueArn::parse(&arn).is_some() => Ok(()),
        _ => Err(attribute_error(
            call,
            "RedrivePolicy: deadLetterTargetArn is missing or is not an SQS queue ARN",
        )),
    }
}

fn check_endpoint(
    protocol: &str,
    endpoint: Option<&str>,
    topic: &TopicRecord,
    account_id: &str,
) -> Result<String, SnsError> {
    if PROTOCOLS_NOT_YET.contains(&protocol) {
        return Err(SnsError::invalid_parameter(format!(
            "Protocol Reason: Tern does not support {protocol} subscriptions yet; only sqs, http and https subscriptions are supported"
        )));
    }
    if is_http(protocol) {
        return check_http_endpoint(protocol, endpoint, topic);
    }
    if protocol != "sqs" {
        return Err(SnsError::invalid_parameter(format!(
            "Amazon SNS does not support this protocol string: {protocol}"
        )));
    }
    let endpoint = endpoint.ok_or_else(|| SnsError::invalid_parameter("Endpoint"))?;
    let queue =
        QueueArn::parse(endpoint).ok_or_else(|| SnsError::invalid_parameter("SQS endpoint ARN"))?;
    if queue.account_id != account_id {
        return Err(SnsError::invalid_parameter(format!(
            "Endpoint Reason: Tern delivers only to its own queues, in account {account_id}"
        )));
    }
    let fifo_queue = queue.queue_name.ends_with(FIFO_SUFFIX);
    // The doubled "Invalid parameter:" is how SNS words these two, and clients match on it.
    match (is_fifo(topic), fifo_queue) {
        (true, false) => Err(SnsError::invalid_parameter(
            "Invalid parameter: Endpoint Reason: Please use FIFO SQS queue",
        )),
        (false, true) => Err(SnsError::invalid_parameter(
            "Invalid parameter: Endpoint Reason: FIFO SQS Queues can not be subscribed to standard SNS topics",
        )),
        _ => Ok(endpoint.to_owned()),
    }
}

/// An `http`/`https` endpoint: a URL of the protocol's scheme with a host. FIFO topics deliver
/// to SQS FIFO queues only.
fn check_http_endpoint(
    protocol: &str,
    endpoint: Option<&str>,
    topic: &TopicRecord,
) -> Result<String, SnsError> {
    let endpoint = endpoint.ok_or_else(|| SnsError::invalid_parameter("Endpoint"))?;
    let rest = endpoint
        .strip_prefix(protocol)
        .and_then(|rest| rest.strip_prefix("://"))
        .ok_or_else(|| SnsError::invalid_parameter("Endpoint must match the specified protocol"))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority.rsplit('@').next().unwrap_or_default();
    let well_formed = !host.is_empty()
        && !host.starts_with(':')
        && endpoint.len() <= ENDPOINT_CHARACTERS_MAX
        && !endpoint
            .chars()
            .any(|character| character.is_whitespace() || character.is_control());
    if !well_formed {
        return Err(SnsError::invalid_parameter(
            "Endpoint Reason: not a valid URL",
        ));
    }
    if is_fifo(topic) {
        return Err(SnsError::invalid_parameter(format!(
            "Endpoint Reason: FIFO topics deliver only to SQS FIFO queues, not to {protocol} endpoints"
        )));
    }
    Ok(endpoint.to_owned())
}

/// A URL longer than this is refused rather than stored and POSTed to.
const ENDPOINT_CHARACTERS_MAX: usize = 2_048;

impl Broker {
    fn summary(
        &self,
        context: &TopicsContext,
        entry: &SubscriptionEntry,
    ) -> Option<SubscriptionSummary> {
        let topic = self.topics.topic_name(entry.record.topic_id)?;
        let arn = if entry.record.pending_confirmation {
            LISTED_PENDING_ARN.to_owned()
        } else {
            subscription_arn(context, &self.account_id, &topic, &entry.record.id)
        };
        Some(SubscriptionSummary {
            subscription_arn: arn,
            owner: self.account_id.clone(),
            protocol: entry.record.protocol.clone(),
            endpoint: entry.record.endpoint.clone(),
            topic_arn: topic_arn(context, &self.account_id, &topic),
        })
    }

    /// The subscription an ARN (`TOPIC_ARN:ID`) names.
    fn resolve_subscription(&self, arn: &str) -> Result<Arc<SubscriptionEntry>, SnsError> {
        let (topic, id) = arn
            .rsplit_once(':')
            .filter(|(_, id)| !id.is_empty())
            .ok_or_else(|| SnsError::invalid_parameter("SubscriptionArn"))?;
        let topic = self
            .resolve_topic(topic, "SubscriptionArn")
            .map_err(|error| match error.code {
                SnsErrorCode::NotFound => SnsError::subscription_not_found(),
                _ => error,
            })?;
        self.topics
            .subscription(id)
            .filter(|entry| entry.record.topic_id == topic.id)
            .ok_or_else(SnsError::subscription_not_found)
    }

    /// Subscribes an endpoint; subscribing the same endpoint again returns the existing
    /// subscription if the attributes agree. An `http`/`https` subscription starts pending: its
    /// `SubscriptionConfirmation` is stored with it, and the answer is "pending confirmation"
    /// unless `return_subscription_arn`.
    pub async fn subscribe(
        &self,
        context: &TopicsContext,
        topic_arn_text: &str,
        protocol: &str,
        endpoint: Option<&str>,
        mut attributes: BTreeMap<String, String>,
        return_subscription_arn: bool,
    ) -> Result<String, SnsError> {
        let topic = self.resolve_topic(topic_arn_text, "TopicArn")?;
        let endpoint = check_endpoint(protocol, endpoint, &topic, &self.account_id)?;
        validate_attributes(&mut attributes, PolicyCall::Subscribe)?;
        let _guard = self.topics.admin_lock.lock().await;
        let existing = self.topics.subscriptions_of(topic.id);
        if let Some(same) = existing
            .iter()
            .find(|entry| entry.record.protocol == protocol && entry.record.endpoint == endpoint)
        {
            let arn = self.existing_subscription(context, &topic, same, &attributes)?;
            if same.record.pending_confirmation {
                self.resend_confirmation(context, &topic, same).await?;
                if !return_subscription_arn {
                    return Ok(PENDING_CONFIRMATION_ARN.to_owned());
                }
            }
            return Ok(arn);
        }
        if existing.len() >= SUBSCRIPTIONS_PER_TOPIC_MAX {
            return Err(SnsError::new(
                SnsErrorCode::SubscriptionLimitExceeded,
                "Subscription limit exceeded",
            ));
        }
        check_filter_policy_quota(&existing, &attributes, None)?;
        let now = self.now();
        let pending = is_http(protocol);
        let record = SubscriptionRecord {
            id: uuid::Uuid::new_v4().to_string(),
            topic_id: topic.id,
            protocol: protocol.to_owned(),
            endpoint,
            attributes,
            created_at: now,
            pending_confirmation: pending,
            confirmation_was_authenticated: !pending,
            token: pending.then(|| new_token(now)),
        };
        let outbox = match &record.token {
            Some(token) => vec![self.confirmation_delivery(
                context,
                &topic,
                &record,
                MessageType::SubscriptionConfirmation,
                &token.value,
            )],
            None => Vec::new(),
        };
        match self
            .store
            .create_subscription(record, outbox)
            .await
            .map_err(store_error)?
        {
            CreateSubscriptionOutcome::Created(record) => {
                let arn = subscription_arn(context, &self.account_id, &topic.name, &record.id);
                let pending = record.pending_confirmation;
                self.topics.put_subscription(record);
                if pending {
                    self.topics.delivery_wake.notify_one();
                    if !return_subscription_arn {
                        return Ok(PENDING_CONFIRMATION_ARN.to_owned());
                    }
                }
                Ok(arn)
            }
            CreateSubscriptionOutcome::AlreadyExists(record) => Ok(subscription_arn(
                context,
                &self.account_id,
                &topic.name,
                &record.id,
            )),
            CreateSubscriptionOutcome::TopicNotFound => Err(SnsError::topic_not_found()),
        }
    }

    fn existing_subscription(
        &self,
        context: &TopicsContext,
        topic: &TopicRecord,
        existing: &SubscriptionEntry,
        attributes: &BTreeMap<String, String>,
    ) -> Result<String, SnsError> {
        let differs = attributes
            .iter()
            .any(|(name, value)| existing.record.attributes.get(name) != Some(value));
        if differs {
            return Err(SnsError::invalid_parameter(
                "Attributes Reason: Subscription already exists with different attributes",
            ));
        }
        Ok(subscription_arn(
            context,
            &self.account_id,
            &topic.name,
            &existing.record.id,
        ))
    }

    /// Removes the subscription and its pending deliveries. A confirmed HTTP/S endpoint gets an
    /// `UnsubscribeConfirmation`; one confirmed with `AuthenticateOnUnsubscribe` can only be
    /// unsubscribed by a signed request.
    pub async fn unsubscribe(
        &self,
        context: &TopicsContext,
        subscription_arn_text: &str,
    ) -> Result<(), SnsError> {
        let _guard = self.topics.admin_lock.lock().await;
        let entry = self.resolve_subscription(subscription_arn_text)?;
        let record = &entry.record;
        let http = is_http(&record.protocol);
        if http && record.confirmation_was_authenticated && !context.authenticated {
            return Err(SnsError::new(
                SnsErrorCode::AuthorizationError,
                "This subscription was confirmed with AuthenticateOnUnsubscribe; unsubscribing requires an AWS signature",
            ));
        }
        let outbox = match self.topics.topic_by_id(record.topic_id) {
            Some(topic) if http && !record.pending_confirmation => {
                let token = new_token(self.now());
                vec![self.confirmation_delivery(
                    context,
                    &topic,
                    record,
                    MessageType::UnsubscribeConfirmation,
                    &token.value,
                )]
            }
            _ => Vec::new(),
        };
        let farewell = !outbox.is_empty();
        let deleted = self
            .store
            .delete_subscription(record.id.clone(), outbox)
            .await
            .map_err(store_error)?;
        self.topics.remove_subscription(&record.id);
        if deleted {
            self.topics.count_deleted_subscription(record.topic_id);
        }
        if farewell {
            self.topics.delivery_wake.notify_one();
        }
        Ok(())
    }

    /// All subscriptions (`topic_arn: None`) or one topic's, in pages of
    /// [`LIST_SUBSCRIPTIONS_PAGE_MAX`].
    pub fn list_subscriptions(
        &self,
        context: &TopicsContext,
        topic_arn_text: Option<&str>,
        next_token: Option<&str>,
    ) -> Result<SubscriptionPage, SnsError> {
        let topic_id = match topic_arn_text {
            Some(arn) => Some(self.resolve_topic(arn, "TopicArn")?.id),
            None => None,
        };
        let after = decode_token(next_token)?;
        let (page, more) =
            self.topics
                .subscriptions_after(topic_id, &after, LIST_SUBSCRIPTIONS_PAGE_MAX);
        let next_token = more
            .then(|| page.last().map(|entry| encode_token(&entry.record.id)))
            .flatten();
        Ok(SubscriptionPage {
            subscriptions: page
                .iter()
                .filter_map(|entry| self.summary(context, entry))
                .collect(),
            next_token,
        })
    }

    pub fn subscription_attributes(
        &self,
        context: &TopicsContext,
        subscription_arn_text: &str,
    ) -> Result<BTreeMap<String, String>, SnsError> {
        let entry = self.resolve_subscription(subscription_arn_text)?;
        let summary = self
            .summary(context, &entry)
            .ok_or_else(SnsError::subscription_not_found)?;
        let mut attributes = BTreeMap::from([
            ("SubscriptionArn".to_owned(), summary.subscription_arn),
            ("TopicArn".to_owned(), summary.topic_arn),
            ("Owner".to_owned(), summary.owner),
            ("Protocol".to_owned(), summary.protocol),
            ("Endpoint".to_owned(), summary.endpoint),
            (
                "ConfirmationWasAuthenticated".to_owned(),
                entry.record.confirmation_was_authenticated.to_string(),
            ),
            (
                "PendingConfirmation".to_owned(),
                entry.record.pending_confirmation.to_string(),
            ),
            ("RawMessageDelivery".to_owned(), "false".to_owned()),
            (
                "SubscriptionPrincipal".to_owned(),
                format!("arn:aws:iam::{}:user/tern", self.account_id),
            ),
        ]);
        if entry.record.attributes.contains_key("FilterPolicy") {
            attributes.insert(
                "FilterPolicyScope".to_owned(),
                "MessageAttributes".to_owned(),
            );
        }
        if is_http(&entry.record.protocol)
            && let Some(topic) = self.topics.topic_by_id(entry.record.topic_id)
        {
            let policy = self.delivery_policy_of(&topic, &entry.record);
            attributes.insert(
                "EffectiveDeliveryPolicy".to_owned(),
                super::delivery_policy::describe(&policy),
            );
        }
        attributes.extend(entry.record.attributes.clone());
        Ok(attributes)
    }

    /// Sets one attribute; an empty value removes it (e.g. an empty `FilterPolicy`).
    pub async fn set_subscription_attribute(
        &self,
        subscription_arn_text: &str,
        name: &str,
        value: &str,
    ) -> Result<(), SnsError> {
        let _guard = self.topics.admin_lock.lock().await;
        let entry = self.resolve_subscription(subscription_arn_text)?;
        let mut record = entry.record.clone();
        record.attributes.insert(name.to_owned(), value.to_owned());
        validate_attributes(
            &mut record.attributes,
            PolicyCall::SetSubscriptionAttributes,
        )?;
        let siblings = self.topics.subscriptions_of(record.topic_id);
        check_filter_policy_quota(&siblings, &record.attributes, Some(&record.id))?;
        if !self
            .store
            .update_subscription(record.clone(), Vec::new())
            .await
            .map_err(store_error)?
        {
            return Err(SnsError::subscription_not_found());
        }
        self.topics.put_subscription(record);
        Ok(())
    }
}

fn check_filter_policy_quota(
    siblings: &[Arc<SubscriptionEntry>],
    attributes: &BTreeMap<String, String>,
    myself: Option<&str>,
) -> Result<(), SnsError> {
    if !attributes.contains_key("FilterPolicy") {
        return Ok(());
    }
    let others = siblings
        .iter()
        .filter(|entry| Some(entry.record.id.as_str()) != myself)
        .filter(|entry| entry.record.attributes.contains_key("FilterPolicy"))
        .count();
    if others >= FILTER_POLICIES_PER_TOPIC_MAX {
        return Err(SnsError::new(
            SnsErrorCode::FilterPolicyLimitExceeded,
            "Filter policy limit exceeded",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attributes(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect()
    }

    #[test]
    fn filter_policies_are_validated_with_the_call_wording() {
        let mut bad = attributes(&[("FilterPolicy", r#"{"a": "b"}"#)]);
        let error = validate_attributes(&mut bad, PolicyCall::Subscribe).unwrap_err();
        assert_eq!(error.code, SnsErrorCode::InvalidParameter);
        assert_eq!(
            error.message,
            "Invalid parameter: Attributes Reason: FilterPolicy: \"a\" must be an object or an array"
        );
        let mut nested = attributes(&[
            ("FilterPolicy", r#"{"a": {"b": ["c"]}}"#),
            ("FilterPolicyScope", "MessageBody"),
        ]);
        assert!(validate_attributes(&mut nested, PolicyCall::Subscribe).is_ok());
        let mut scope = attributes(&[("FilterPolicyScope", "Body")]);
        assert!(validate_attributes(&mut scope, PolicyCall::SetSubscriptionAttributes).is_err());
    }

    #[test]
    fn empty_values_unset_and_unknown_names_fail() {
        let mut cleared = attributes(&[("FilterPolicy", ""), ("RawMessageDelivery", "true")]);
        validate_attributes(&mut cleared, PolicyCall::SetSubscriptionAttributes).unwrap();
        assert_eq!(cleared, attributes(&[("RawMessageDelivery", "true")]));
        let mut emptied = attributes(&[("FilterPolicy", " { } "), ("RawMessageDelivery", "true")]);
        validate_attributes(&mut emptied, PolicyCall::SetSubscriptionAttributes).unwrap();
        assert_eq!(emptied, attributes(&[("RawMessageDelivery", "true")]));
        let mut unknown = attributes(&[("Colour", "red")]);
        assert!(validate_attributes(&mut unknown, PolicyCall::Subscribe).is_err());
        let mut raw = attributes(&[("RawMessageDelivery", "yes")]);
        assert!(validate_attributes(&mut raw, PolicyCall::Subscribe).is_err());
    }
}
