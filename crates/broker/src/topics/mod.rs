//! The topics service: SNS topics and subscriptions over the same durable store as the queues,
//! and publishing as one fan-out commit into every subscribed queue.
//!
//! - `catalogue`: topics and subscriptions in memory (publish never asks the store who is
//!   subscribed), and the lock that serialises their changes.
//! - `admin`: create, delete, list, attributes and tags of topics.
//! - `subscriptions`: subscribe, unsubscribe, list, subscription attributes, filter policies.
//! - `confirmations`: the HTTP/S handshake — SubscriptionConfirmation, ConfirmSubscription,
//!   UnsubscribeConfirmation.
//! - `publish`: Publish and PublishBatch: validation, filter policies, the JSON envelope or raw
//!   delivery, FIFO groups and the topic's deduplication window, one store commit.
//! - `outbound`: the signed JSON bodies and AWS's headers, and the [`HttpPoster`] seam to the
//!   HTTP client (which lives in the server crate).
//! - `http`: the delivery loop that POSTs pending HTTP deliveries, retries them per
//!   `delivery_policy` and dead-letters what cannot be delivered.
//! - `scheduler`: how the loop shares its POST slots: per-subscription shares, failing
//!   endpoints, `maxReceivesPerSecond`, subscriptions taking turns.
//! - `delivery_policy`: `DeliveryPolicy` validation, retry schedules with jitter, and which
//!   answers are retried.
//!
//! Errors are [`SnsError`]s: a code from [`SnsErrorCode`] and AWS's message. The wire codes and
//! HTTP statuses are the front end's catalogue; here an error only says what went wrong.

mod admin;
mod catalogue;
mod confirmations;
pub mod delivery_policy;
mod http;
mod outbound;
mod publish;
mod publish_checks;
mod scheduler;
mod subscriptions;

pub use admin::{TopicPage, TopicSettings};
pub use catalogue::Topics;
pub use confirmations::TOKEN_LIFETIME_MILLIS;
pub use http::DELIVERY_DRAIN_TIMEOUT;
pub use outbound::{
    DEFAULT_CONTENT_TYPE, DeliveryConfig, HttpPoster, OutboundRequest, PostError, PostFuture,
    USER_AGENT,
};
pub use publish::{PublishOutcome, PublishRequest, SnsMessageAttribute};
pub use scheduler::{
    DELIVERY_WORKERS_MAX, FAILING_SUBSCRIPTION_IN_FLIGHT_MAX, SUBSCRIPTION_IN_FLIGHT_MAX,
};
pub use subscriptions::{PENDING_CONFIRMATION_ARN, SubscriptionPage, SubscriptionSummary};

use tern_core::arn::ResourceArn;
use tern_store::StoreError;

/// Every SNS error this service raises. The front end maps each to its wire code and status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnsErrorCode {
    InvalidParameter,
    InvalidParameterValue,
    NotFound,
    ResourceNotFound,
    AuthorizationError,
    TopicLimitExceeded,
    SubscriptionLimitExceeded,
    FilterPolicyLimitExceeded,
    TagLimitExceeded,
    TagPolicy,
    EmptyBatchRequest,
    TooManyEntriesInBatchRequest,
    BatchEntryIdsNotDistinct,
    InvalidBatchEntryId,
    BatchRequestTooLong,
    InternalError,
    ServiceUnavailable,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code:?}: {message}")]
pub struct SnsError {
    pub code: SnsErrorCode,
    pub message: String,
}

impl SnsError {
    pub fn new(code: SnsErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// `InvalidParameter` with AWS's `Invalid parameter: …` prefix.
    pub fn invalid_parameter(detail: impl std::fmt::Display) -> Self {
        Self::new(
            SnsErrorCode::InvalidParameter,
            format!("Invalid parameter: {detail}"),
        )
    }

    pub fn topic_not_found() -> Self {
        Self::new(SnsErrorCode::NotFound, "Topic does not exist")
    }

    pub fn subscription_not_found() -> Self {
        Self::new(SnsErrorCode::NotFound, "Subscription does not exist")
    }

    pub fn internal(detail: impl std::fmt::Display) -> Self {
        Self::new(SnsErrorCode::InternalError, detail.to_string())
    }
}

pub(crate) fn store_error(error: StoreError) -> SnsError {
    match error {
        StoreError::QueueNotFound { .. } => SnsError::internal("a queue vanished mid-request"),
        StoreError::Closed => SnsError::new(
            SnsErrorCode::ServiceUnavailable,
            "The service is shutting down.",
        ),
        StoreError::Engine(source) => {
            tracing::error!(error = %source, "storage failure");
            SnsError::internal("storage failure")
        }
    }
}

/// What a topics request carries besides its input: the region its ARNs name, the
/// `host:port` the client reached us at (for URLs in notifications when no public URL is
/// configured) and whether the request was SigV4-signed (`AuthenticateOnUnsubscribe`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicsContext {
    pub region: String,
    pub host: String,
    pub authenticated: bool,
}

/// `arn:aws:sns:REGION:ACCOUNT:NAME`; `None` unless every part is present.
pub(crate) struct TopicArn<'a> {
    pub account_id: &'a str,
    pub name: &'a str,
}

impl<'a> TopicArn<'a> {
    pub(crate) fn parse(text: &'a str) -> Option<Self> {
        let arn = ResourceArn::parse(text).filter(|arn| arn.service == "sns")?;
        Some(Self {
            account_id: arn.account_id,
            name: arn.name,
        })
    }
}

pub(crate) fn topic_arn(context: &TopicsContext, account_id: &str, name: &str) -> String {
    format!("arn:aws:sns:{}:{account_id}:{name}", context.region)
}

pub(crate) fn subscription_arn(
    context: &TopicsContext,
    account_id: &str,
    topic: &str,
    id: &str,
) -> String {
    format!("{}:{id}", topic_arn(context, account_id, topic))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_arns_parse_only_when_whole() {
        let arn = TopicArn::parse("arn:aws:sns:us-east-1:000000000000:news.fifo").unwrap();
        assert_eq!((arn.account_id, arn.name), ("000000000000", "news.fifo"));
        assert!(TopicArn::parse("arn:aws:sqs:us-east-1:000000000000:q").is_none());
        assert!(TopicArn::parse("arn:aws:sns:us-east-1:000000000000").is_none());
        assert!(TopicArn::parse("arn:aws:sns:us-east-1:000000000000:t:sub").is_none());
        assert!(TopicArn::parse("news").is_none());
    }
}
