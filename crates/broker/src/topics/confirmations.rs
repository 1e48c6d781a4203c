//! The confirmation handshake of HTTP/S subscriptions: the `SubscriptionConfirmation` a new
//! subscription POSTs with its token, ConfirmSubscription (or a GET of the `SubscribeURL`) that
//! presents it, and the `UnsubscribeConfirmation` an unsubscribed endpoint gets.

use std::sync::Arc;

use rand::RngCore;
use tern_sns_sign::{MessageType, SignedFields};
use tern_store::{ConfirmationToken, NewHttpDelivery, SubscriptionRecord, TopicRecord};

use super::catalogue::SubscriptionEntry;
use super::outbound::{self, Envelope};
use super::{SnsError, TopicsContext, store_error, subscription_arn, topic_arn};
use crate::Broker;

/// AWS's confirmation tokens stay valid for three days.
pub const TOKEN_LIFETIME_MILLIS: u64 = 3 * 24 * 3_600 * 1_000;
/// Random bytes in a token (hex-encoded, so twice as many characters).
const TOKEN_BYTES: usize = 64;

pub(crate) fn new_token(now: u64) -> ConfirmationToken {
    let mut bytes = [0u8; TOKEN_BYTES];
    rand::rng().fill_bytes(&mut bytes);
    ConfirmationToken {
        value: bytes.iter().map(|byte| format!("{byte:02x}")).collect(),
        expires_at: now.saturating_add(TOKEN_LIFETIME_MILLIS),
    }
}

pub(crate) fn is_http(protocol: &str) -> bool {
    protocol == "http" || protocol == "https"
}

impl Broker {
    /// The signed `SubscriptionConfirmation` or `UnsubscribeConfirmation` for `record`, carrying
    /// `token`, as a delivery due now.
    pub(crate) fn confirmation_delivery(
        &self,
        context: &TopicsContext,
        topic: &TopicRecord,
        record: &SubscriptionRecord,
        message_type: MessageType,
        token: &str,
    ) -> NewHttpDelivery {
        let now = self.now();
        let topic_arn = topic_arn(context, &self.account_id, &topic.name);
        let subscription_arn = subscription_arn(context, &self.account_id, &topic.name, &record.id);
        let message_id = uuid::Uuid::new_v4().to_string();
        let timestamp = super::publish::iso_timestamp(now);
        let message = match message_type {
            MessageType::UnsubscribeConfirmation => format!(
                "You have chosen to deactivate subscription {subscription_arn}.\nTo cancel this operation and restore the subscription, visit the SubscribeURL included in this message."
            ),
            _ => format!(
                "You have chosen to subscribe to the topic {topic_arn}.\nTo confirm the subscription, visit the SubscribeURL included in this message."
            ),
        };
        let subscribe_url = outbound::subscribe_url(&self.public_url(context), &topic_arn, token);
        let version = outbound::signature_version(&topic.attributes);
        let signature = outbound::signature(
            self.signing_identity(),
            version,
            &SignedFields {
                message_type,
                message: &message,
                message_id: &message_id,
                subject: None,
                subscribe_url: Some(&subscribe_url),
                token: Some(token),
                timestamp: &timestamp,
                topic_arn: &topic_arn,
            },
        );
        let body = Envelope {
            r#type: message_type.as_str(),
            message_id: &message_id,
            sequence_number: None,
            token: Some(token),
            topic_arn: &topic_arn,
            subject: None,
            message: &message,
            subscribe_url: Some(&subscribe_url),
            timestamp: &timestamp,
            signature_version: version.as_str(),
            signature,
            signing_cert_url: self.signing_cert_url(context),
            unsubscribe_url: None,
            message_attributes: Default::default(),
        }
        .to_json();
        let policy = self.delivery_policy_of(topic, record);
        let arn_header = (message_type == MessageType::UnsubscribeConfirmation)
            .then_some(subscription_arn.as_str());
        NewHttpDelivery {
            subscription_id: record.id.clone(),
            topic_id: topic.id,
            endpoint: record.endpoint.clone(),
            message_type: message_type.as_str().to_owned(),
            headers: outbound::headers(
                message_type,
                &message_id,
                &topic_arn,
                arn_header,
                false,
                policy.content_type.as_deref(),
            ),
            body,
            due_at: now,
            created_at: now,
        }
    }

    /// A pending subscription subscribed again: AWS sends the confirmation again (with a fresh
    /// token if the old one expired).
    pub(crate) async fn resend_confirmation(
        &self,
        context: &TopicsContext,
        topic: &TopicRecord,
        entry: &SubscriptionEntry,
    ) -> Result<(), SnsError> {
        let now = self.now();
        let mut record = entry.record.clone();
        let token = match &record.token {
            Some(token) if token.expires_at > now => token.clone(),
            _ => new_token(now),
        };
        record.token = Some(token.clone());
        let outbox = vec![self.confirmation_delivery(
            context,
            topic,
            &record,
            MessageType::SubscriptionConfirmation,
            &token.value,
        )];
        if !self
            .store
            .update_subscription(record.clone(), outbox)
            .await
            .map_err(store_error)?
        {
            return Err(SnsError::subscription_not_found());
        }
        self.topics.put_subscription(record);
        self.topics.delivery_wake.notify_one();
        Ok(())
    }

    /// ConfirmSubscription: the token a `SubscriptionConfirmation` carried confirms its
    /// subscription. `AuthenticateOnUnsubscribe=true` on a signed request means unsubscribing
    /// will need a signed request too. Confirming again with the same token answers the same.
    pub async fn confirm_subscription(
        &self,
        context: &TopicsContext,
        topic_arn_text: &str,
        token: &str,
        authenticate_on_unsubscribe: Option<&str>,
    ) -> Result<String, SnsError> {
        let authenticate = match authenticate_on_unsubscribe {
            None => false,
            Some(value) if value.eq_ignore_ascii_case("true") => true,
            Some(value) if value.eq_ignore_ascii_case("false") => false,
            Some(_) => return Err(SnsError::invalid_parameter("AuthenticateOnUnsubscribe")),
        };
        let _guard = self.topics.admin_lock.lock().await;
        let topic = self.resolve_topic(topic_arn_text, "TopicArn")?;
        let now = self.now();
        let entry: Arc<SubscriptionEntry> = self
            .topics
            .subscription_by_token(topic.id, token)
            .filter(|entry| {
                entry
                    .record
                    .token
                    .as_ref()
                    .is_some_and(|stored| stored.expires_at > now)
            })
            .ok_or_else(|| SnsError::invalid_parameter("Token"))?;
        let arn = subscription_arn(context, &self.account_id, &topic.name, &entry.record.id);
        if !entry.record.pending_confirmation {
            return Ok(arn);
        }
        let mut record = entry.record.clone();
        record.pending_confirmation = false;
        record.confirmation_was_authenticated = authenticate && context.authenticated;
        if !self
            .store
            .update_subscription(record.clone(), Vec::new())
            .await
            .map_err(store_error)?
        {
            return Err(SnsError::invalid_parameter("Token"));
        }
        self.topics.put_subscription(record);
        Ok(arn)
    }
}
