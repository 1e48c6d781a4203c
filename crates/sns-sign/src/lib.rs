//! Signing SNS messages the way AWS does, so that any standard validator (the AWS SDKs'
//! `MessageValidator`s, the npm `sns-validator`) accepts Tern's notifications.
//!
//! - [`SigningIdentity`]: an RSA key pair and the self-signed X.509 certificate that subscribers
//!   fetch from `SigningCertURL`; generated once, kept as PEM by the caller.
//! - [`TlsIdentity`]: a self-signed certificate for `localhost`/`127.0.0.1`, for Tern's own HTTPS
//!   listener (`SigningCertURL` must be `https:` for validators to fetch it).
//! - [`string_to_sign`]: AWS's canonical text of a message (its field order per message type).
//! - [`verify`]: checks a signature against a PEM certificate, as a subscriber would.
//!
//! `SignatureVersion` 1 is SHA1withRSA, 2 is SHA256withRSA, both PKCS#1 v1.5, base64-encoded.
//!
//! Architecture invariant: pure. No I/O, no clock (times are arguments), no knowledge of topics or
//! delivery; the caller persists the PEM text and decides what to sign.

mod certificate;

pub use certificate::TlsIdentity;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use rsa::sha2::Sha256;
use rsa::signature::{SignatureEncoding, Signer, Verifier};
use rsa::{PrivateKey, PublicKey};
use sha1_for_rsa::Sha1;
use x509_cert::Certificate;
use x509_cert::der::{DecodePem, Encode};
use x509_cert::spki::DecodePublicKey;

/// RSA modulus size of generated keys, as AWS's signing certificates use.
pub const KEY_BITS: usize = 2048;

#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error("cannot generate an RSA key: {0}")]
    KeyGeneration(String),
    #[error("cannot read the private key: {0}")]
    PrivateKey(String),
    #[error("cannot build or read the certificate: {0}")]
    Certificate(String),
    #[error("the certificate's key is not the private key's")]
    KeyMismatch,
    #[error("the signature is not valid base64")]
    SignatureEncoding,
    #[error("the signature does not match the message")]
    BadSignature,
}

/// `SignatureVersion`: which digest the RSA signature is over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureVersion {
    /// SHA1withRSA, AWS's default.
    V1,
    /// SHA256withRSA, a topic's `SignatureVersion=2`.
    V2,
}

impl SignatureVersion {
    pub fn from_attribute(value: &str) -> Option<Self> {
        match value {
            "1" => Some(Self::V1),
            "2" => Some(Self::V2),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::V1 => "1",
            Self::V2 => "2",
        }
    }
}

/// The message types SNS signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageType {
    Notification,
    SubscriptionConfirmation,
    UnsubscribeConfirmation,
}

impl MessageType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Notification => "Notification",
            Self::SubscriptionConfirmation => "SubscriptionConfirmation",
            Self::UnsubscribeConfirmation => "UnsubscribeConfirmation",
        }
    }
}

/// The fields of a message that its signature covers.
#[derive(Debug, Clone, Copy)]
pub struct SignedFields<'a> {
    pub message_type: MessageType,
    pub message: &'a str,
    pub message_id: &'a str,
    /// Notifications only, and only when the publisher gave one.
    pub subject: Option<&'a str>,
    /// Confirmations only.
    pub subscribe_url: Option<&'a str>,
    /// Confirmations only.
    pub token: Option<&'a str>,
    pub timestamp: &'a str,
    pub topic_arn: &'a str,
}

/// AWS's string to sign: `Name\nvalue\n` for each field, in this order. A notification covers
/// Message, MessageId, Subject (if any), Timestamp, TopicArn, Type; a subscription or unsubscribe
/// confirmation covers Message, MessageId, SubscribeURL, Timestamp, Token, TopicArn, Type.
pub fn string_to_sign(fields: &SignedFields<'_>) -> String {
    let mut pairs: Vec<(&str, &str)> = vec![
        ("Message", fields.message),
        ("MessageId", fields.message_id),
    ];
    match fields.message_type {
        MessageType::Notification => {
            if let Some(subject) = fields.subject {
                pairs.push(("Subject", subject));
            }
            pairs.push(("Timestamp", fields.timestamp));
        }
        MessageType::SubscriptionConfirmation | MessageType::UnsubscribeConfirmation => {
            pairs.push(("SubscribeURL", fields.subscribe_url.unwrap_or_default()));
            pairs.push(("Timestamp", fields.timestamp));
            pairs.push(("Token", fields.token.unwrap_or_default()));
        }
    }
    pairs.push(("TopicArn", fields.topic_arn));
    pairs.push(("Type", fields.message_type.as_str()));
    let mut text = String::new();
    for (name, value) in pairs {
        text.push_str(name);
        text.push('\n');
        text.push_str(value);
        text.push('\n');
    }
    text
}

/// The key SNS messages are signed with and the certificate that proves it.
#[derive(Clone)]
pub struct SigningIdentity {
    v1: SigningKey<Sha1>,
    v2: SigningKey<Sha256>,
    private_key_pem: String,
    certificate_pem: String,
}

impl std::fmt::Debug for SigningIdentity {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("SigningIdentity")
            .finish_non_exhaustive()
    }
}

impl SigningIdentity {
    /// A fresh [`KEY_BITS`]-bit key and a self-signed certificate for it, valid from `now` (Unix
    /// seconds) for `valid_for_seconds`.
    pub fn generate(
        common_name: &str,
        now_unix_seconds: u64,
        valid_for_seconds: u64,
    ) -> Result<Self, SignError> {
        let key = generate_key()?;
        let certificate = certificate::self_signed(
            &key,
            common_name,
            certificate::Usage::MessageSigning,
            now_unix_seconds,
            valid_for_seconds,
        )?;
        Self::from_parts(key, certificate)
    }

    /// Reads back what [`Self::private_key_pem`] and [`Self::certificate_pem`] wrote.
    pub fn from_pem(private_key_pem: &str, certificate_pem: &str) -> Result<Self, SignError> {
        let key = PrivateKey::from_pkcs8_pem(private_key_pem)
            .map_err(|error| SignError::PrivateKey(error.to_string()))?;
        let certificate = Certificate::from_pem(certificate_pem.as_bytes())
            .map_err(|error| SignError::Certificate(error.to_string()))?;
        if public_key(&certificate)? != key.to_public_key() {
            return Err(SignError::KeyMismatch);
        }
        Self::from_parts(key, certificate)
    }

    fn from_parts(key: PrivateKey, certificate: Certificate) -> Result<Self, SignError> {
        let private_key_pem = key
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|error| SignError::PrivateKey(error.to_string()))?
            .to_string();
        let certificate_pem = certificate::to_pem(&certificate)?;
        Ok(Self {
            v1: SigningKey::new(key.clone()),
            v2: SigningKey::new(key),
            private_key_pem,
            certificate_pem,
        })
    }

    /// PKCS#8 PEM; secret, for the data directory only.
    pub fn private_key_pem(&self) -> &str {
        &self.private_key_pem
    }

    /// What `SigningCertURL` serves.
    pub fn certificate_pem(&self) -> &str {
        &self.certificate_pem
    }

    /// The base64 signature of `fields` (see [`string_to_sign`]).
    pub fn sign(&self, version: SignatureVersion, fields: &SignedFields<'_>) -> String {
        self.sign_text(version, &string_to_sign(fields))
    }

    pub fn sign_text(&self, version: SignatureVersion, text: &str) -> String {
        let signature: Box<[u8]> = match version {
            SignatureVersion::V1 => self.v1.sign(text.as_bytes()).to_bytes(),
            SignatureVersion::V2 => self.v2.sign(text.as_bytes()).to_bytes(),
        };
        BASE64.encode(signature)
    }
}

fn generate_key() -> Result<PrivateKey, SignError> {
    PrivateKey::new(&mut getrandom_for_rsa::SysRng, KEY_BITS)
        .map_err(|error| SignError::KeyGeneration(error.to_string()))
}

fn public_key(certificate: &Certificate) -> Result<PublicKey, SignError> {
    let spki = certificate
        .tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .map_err(|error| SignError::Certificate(error.to_string()))?;
    PublicKey::from_public_key_der(&spki).map_err(|error| SignError::Certificate(error.to_string()))
}

/// Checks `signature` (base64) over `text` with the key in `certificate_pem`, as a subscriber's
/// validator does.
pub fn verify(
    certificate_pem: &str,
    version: SignatureVersion,
    text: &str,
    signature: &str,
) -> Result<(), SignError> {
    let certificate = Certificate::from_pem(certificate_pem.as_bytes())
        .map_err(|error| SignError::Certificate(error.to_string()))?;
    let key = public_key(&certificate)?;
    let bytes = BASE64
        .decode(signature)
        .map_err(|_| SignError::SignatureEncoding)?;
    let signature = Signature::try_from(bytes.as_slice()).map_err(|_| SignError::BadSignature)?;
    let verified = match version {
        SignatureVersion::V1 => VerifyingKey::<Sha1>::new(key).verify(text.as_bytes(), &signature),
        SignatureVersion::V2 => {
            VerifyingKey::<Sha256>::new(key).verify(text.as_bytes(), &signature)
        }
    };
    verified.map_err(|_| SignError::BadSignature)
}

#[cfg(test)]
mod tests;
