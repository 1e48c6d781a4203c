//! What SNS sends out of Tern: the signed JSON bodies of notifications and confirmations, the
//! headers AWS puts on its HTTP POSTs, and the seam to the HTTP client that carries them.
//!
//! The client itself ([`HttpPoster`]) lives with the HTTP framework in the server crate; the
//! broker only says what to POST where and learns the status code, so delivery rules are
//! tested here without sockets.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde::Serialize;
use tern_sns_sign::{MessageType, SignatureVersion, SignedFields, SigningIdentity};

/// The `User-Agent` AWS's HTTP/S deliveries carry.
pub const USER_AGENT: &str = "Amazon Simple Notification Service Agent";
pub const DEFAULT_CONTENT_TYPE: &str = "text/plain; charset=UTF-8";

/// One POST to make.
#[derive(Debug, Clone, Copy)]
pub struct OutboundRequest<'a> {
    pub url: &'a str,
    pub headers: &'a BTreeMap<String, String>,
    pub body: &'a str,
}

/// Why an attempt failed before an HTTP status came back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PostError(pub String);

pub type PostFuture<'a> = Pin<Box<dyn Future<Output = Result<u16, PostError>> + Send + 'a>>;

/// Makes one HTTP(S) POST, bounded in time (AWS waits 15 seconds), and returns the status.
pub trait HttpPoster: Send + Sync + 'static {
    fn post<'a>(&'a self, request: OutboundRequest<'a>) -> PostFuture<'a>;
}

/// Where and how SNS reaches the outside world; set once at start-up by the server.
pub struct DeliveryConfig {
    /// `scheme://host:port` of Tern as subscribers reach it, for `SigningCertURL`,
    /// `SubscribeURL` and `UnsubscribeURL`.
    pub public_url: String,
    /// The path the signing certificate is served at (`/SimpleNotificationService-….pem`).
    pub certificate_path: String,
    pub signing: Arc<SigningIdentity>,
    pub poster: Arc<dyn HttpPoster>,
}

impl std::fmt::Debug for DeliveryConfig {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("DeliveryConfig")
            .field("public_url", &self.public_url)
            .field("certificate_path", &self.certificate_path)
            .finish_non_exhaustive()
    }
}

/// The JSON SNS POSTs to HTTP/S endpoints and puts in SQS messages. Field order is AWS's.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Envelope<'a> {
    pub r#type: &'static str,
    pub message_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sequence_number: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<&'a str>,
    pub topic_arn: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<&'a str>,
    pub message: &'a str,
    #[serde(rename = "SubscribeURL", skip_serializing_if = "Option::is_none")]
    pub subscribe_url: Option<&'a str>,
    pub timestamp: &'a str,
    pub signature_version: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
    #[serde(rename = "SigningCertURL")]
    pub signing_cert_url: String,
    #[serde(rename = "UnsubscribeURL", skip_serializing_if = "Option::is_none")]
    pub unsubscribe_url: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub message_attributes: BTreeMap<&'a str, EnvelopeAttribute<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct EnvelopeAttribute<'a> {
    pub r#type: &'a str,
    pub value: String,
}

impl Envelope<'_> {
    pub(crate) fn to_json(&self) -> String {
        // Serialising a struct of strings into a String cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// The signature over a message's signed fields, when Tern has a key (always, once started by
/// the server; broker unit tests run without one).
pub(crate) fn signature(
    signing: Option<&SigningIdentity>,
    version: SignatureVersion,
    fields: &SignedFields<'_>,
) -> Option<String> {
    signing.map(|identity| identity.sign(version, fields))
}

/// A topic's `SignatureVersion` attribute; 1 unless it says 2.
pub(crate) fn signature_version(attributes: &BTreeMap<String, String>) -> SignatureVersion {
    attributes
        .get("SignatureVersion")
        .and_then(|value| SignatureVersion::from_attribute(value))
        .unwrap_or(SignatureVersion::V1)
}

/// The headers of a POST to an HTTP/S endpoint, as AWS sends them.
pub(crate) fn headers(
    message_type: MessageType,
    message_id: &str,
    topic_arn: &str,
    subscription_arn: Option<&str>,
    raw: bool,
    content_type: Option<&str>,
) -> BTreeMap<String, String> {
    let mut headers = BTreeMap::from([
        (
            "x-amz-sns-message-type".to_owned(),
            message_type.as_str().to_owned(),
        ),
        ("x-amz-sns-message-id".to_owned(), message_id.to_owned()),
        ("x-amz-sns-topic-arn".to_owned(), topic_arn.to_owned()),
        (
            "content-type".to_owned(),
            content_type.unwrap_or(DEFAULT_CONTENT_TYPE).to_owned(),
        ),
        ("user-agent".to_owned(), USER_AGENT.to_owned()),
    ]);
    if let Some(arn) = subscription_arn {
        headers.insert("x-amz-sns-subscription-arn".to_owned(), arn.to_owned());
    }
    if raw {
        headers.insert("x-amz-sns-rawdelivery".to_owned(), "true".to_owned());
    }
    headers
}

/// `…/?Action=ConfirmSubscription&TopicArn=…&Token=…`, the URL a confirmation asks the endpoint
/// to visit.
pub(crate) fn subscribe_url(public_url: &str, topic_arn: &str, token: &str) -> String {
    format!("{public_url}/?Action=ConfirmSubscription&TopicArn={topic_arn}&Token={token}")
}

pub(crate) fn unsubscribe_url(public_url: &str, subscription_arn: &str) -> String {
    format!("{public_url}/?Action=Unsubscribe&SubscriptionArn={subscription_arn}")
}

impl crate::Broker {
    fn delivery_config(&self) -> Option<&Arc<DeliveryConfig>> {
        self.topics.delivery.get()
    }

    /// Tern's base URL as subscribers see it: the configured one, else the address the client
    /// reached.
    pub(crate) fn public_url(&self, context: &super::TopicsContext) -> String {
        match self.delivery_config() {
            Some(config) => config.public_url.clone(),
            None => format!("http://{}", context.host),
        }
    }

    pub(crate) fn signing_cert_url(&self, context: &super::TopicsContext) -> String {
        match self.delivery_config() {
            Some(config) => format!("{}{}", config.public_url, config.certificate_path),
            None => format!("http://{}/SimpleNotificationService-tern.pem", context.host),
        }
    }

    pub(crate) fn signing_identity(&self) -> Option<&SigningIdentity> {
        self.delivery_config().map(|config| config.signing.as_ref())
    }
}

impl crate::Broker {
    /// The signing certificate's PEM if `path` is where it is served.
    pub fn sns_signing_certificate(&self, path: &str) -> Option<String> {
        let config = self.delivery_config()?;
        (path == config.certificate_path).then(|| config.signing.certificate_pem().to_owned())
    }
}
