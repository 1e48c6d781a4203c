//! Self-signed X.509 certificates: the one subscribers fetch from `SigningCertURL`, and the one
//! Tern's HTTPS listener presents.

use std::net::IpAddr;
use std::str::FromStr;
use std::time::Duration;

use rsa::PrivateKey;
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::{EncodePrivateKey, LineEnding};
use rsa::sha2::{Digest, Sha256};
use x509_cert::Certificate;
use x509_cert::builder::profile::BuilderProfile;
use x509_cert::builder::{Builder, CertificateBuilder};
use x509_cert::der::asn1::{Ia5String, OctetString};
use x509_cert::der::{Encode, EncodePem};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{
    BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages, SubjectAltName,
};
use x509_cert::ext::{Extension, ToExtension};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::{SubjectPublicKeyInfo, SubjectPublicKeyInfoRef};
use x509_cert::time::{Time, Validity};

use crate::SignError;

/// `id-kp-serverAuth`.
const SERVER_AUTH: x509_cert::der::oid::ObjectIdentifier =
    x509_cert::der::oid::ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.1");

fn certificate_error(error: impl std::fmt::Display) -> SignError {
    SignError::Certificate(error.to_string())
}

#[derive(Debug, Clone)]
pub(crate) enum Usage {
    /// Signs SNS messages: digital signatures only.
    MessageSigning,
    /// A TLS server certificate for these names.
    TlsServer {
        dns_names: Vec<String>,
        addresses: Vec<IpAddr>,
    },
}

/// A self-issued end-entity certificate: the subject is its own issuer, and it is no CA, so TLS
/// clients accept it as a trust anchor for itself and nothing else.
struct SelfIssued {
    subject: Name,
    usage: Usage,
}

impl BuilderProfile for SelfIssued {
    fn get_issuer(&self, subject: &Name) -> Name {
        subject.clone()
    }

    fn get_subject(&self) -> Name {
        self.subject.clone()
    }

    fn build_extensions(
        &self,
        _spk: SubjectPublicKeyInfoRef<'_>,
        _issuer_spk: SubjectPublicKeyInfoRef<'_>,
        tbs: &x509_cert::TbsCertificate,
    ) -> x509_cert::builder::Result<Vec<Extension>> {
        let subject = tbs.subject();
        let mut extensions = vec![
            BasicConstraints {
                ca: false,
                path_len_constraint: None,
            }
            .to_extension(subject, &[])?,
        ];
        match &self.usage {
            Usage::MessageSigning => {
                extensions
                    .push(KeyUsage(KeyUsages::DigitalSignature.into()).to_extension(subject, &[])?);
            }
            Usage::TlsServer {
                dns_names,
                addresses,
            } => {
                extensions.push(
                    KeyUsage(KeyUsages::DigitalSignature | KeyUsages::KeyEncipherment)
                        .to_extension(subject, &[])?,
                );
                extensions.push(ExtendedKeyUsage(vec![SERVER_AUTH]).to_extension(subject, &[])?);
                let mut names = Vec::new();
                for name in dns_names {
                    names.push(GeneralName::DnsName(Ia5String::new(name)?));
                }
                for address in addresses {
                    let octets = match address {
                        IpAddr::V4(v4) => v4.octets().to_vec(),
                        IpAddr::V6(v6) => v6.octets().to_vec(),
                    };
                    names.push(GeneralName::IpAddress(OctetString::new(octets)?));
                }
                extensions.push(SubjectAltName(names).to_extension(subject, &[])?);
            }
        }
        Ok(extensions)
    }
}

pub(crate) fn self_signed(
    key: &PrivateKey,
    common_name: &str,
    usage: Usage,
    now_unix_seconds: u64,
    valid_for_seconds: u64,
) -> Result<Certificate, SignError> {
    let subject = Name::from_str(&format!("CN={common_name},O=Tern")).map_err(certificate_error)?;
    let public_key = key.to_public_key();
    let spki = SubjectPublicKeyInfo::from_key(&public_key).map_err(certificate_error)?;
    // A stable serial derived from the key: unique per key, positive, at most 20 octets.
    let digest = Sha256::digest(spki.to_der().map_err(certificate_error)?);
    let mut serial = [0u8; 16];
    serial.copy_from_slice(&digest[..16]);
    serial[0] &= 0x7f;
    serial[0] |= 0x01;
    let serial = SerialNumber::new(&serial).map_err(certificate_error)?;
    // Backdated by a minute so a client whose clock is a little behind still accepts it.
    let not_before = Duration::from_secs(now_unix_seconds.saturating_sub(60));
    let not_after = Duration::from_secs(now_unix_seconds.saturating_add(valid_for_seconds));
    let validity = Validity::new(
        Time::try_from(std::time::UNIX_EPOCH + not_before).map_err(certificate_error)?,
        Time::try_from(std::time::UNIX_EPOCH + not_after).map_err(certificate_error)?,
    );
    let profile = SelfIssued { subject, usage };
    let builder =
        CertificateBuilder::new(profile, serial, validity, spki).map_err(certificate_error)?;
    let signer = SigningKey::<Sha256>::new(key.clone());
    builder.build(&signer).map_err(certificate_error)
}

pub(crate) fn to_pem(certificate: &Certificate) -> Result<String, SignError> {
    certificate
        .to_pem(LineEnding::LF)
        .map_err(certificate_error)
}

/// A key and self-signed certificate for an HTTPS listener, in the forms rustls and clients
/// want: DER for the server, PEM for the data directory (clients trust the certificate file).
#[derive(Clone)]
pub struct TlsIdentity {
    pub certificate_pem: String,
    pub certificate_der: Vec<u8>,
    pub private_key_pem: String,
    /// PKCS#8.
    pub private_key_der: Vec<u8>,
}

impl std::fmt::Debug for TlsIdentity {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("TlsIdentity")
            .finish_non_exhaustive()
    }
}

impl TlsIdentity {
    /// A fresh key and a certificate naming `dns_names` and `addresses`.
    pub fn generate(
        dns_names: &[&str],
        addresses: &[IpAddr],
        now_unix_seconds: u64,
        valid_for_seconds: u64,
    ) -> Result<Self, SignError> {
        let key = crate::generate_key()?;
        let certificate = self_signed(
            &key,
            dns_names.first().copied().unwrap_or("tern"),
            Usage::TlsServer {
                dns_names: dns_names.iter().map(|name| (*name).to_owned()).collect(),
                addresses: addresses.to_vec(),
            },
            now_unix_seconds,
            valid_for_seconds,
        )?;
        Self::from_parts(&key, &certificate)
    }

    /// Reads back the PEM pair this type wrote.
    pub fn from_pem(private_key_pem: &str, certificate_pem: &str) -> Result<Self, SignError> {
        use rsa::pkcs8::DecodePrivateKey;
        use x509_cert::der::DecodePem;
        let key = PrivateKey::from_pkcs8_pem(private_key_pem)
            .map_err(|error| SignError::PrivateKey(error.to_string()))?;
        let certificate =
            Certificate::from_pem(certificate_pem.as_bytes()).map_err(certificate_error)?;
        if crate::public_key(&certificate)? != key.to_public_key() {
            return Err(SignError::KeyMismatch);
        }
        Self::from_parts(&key, &certificate)
    }

    fn from_parts(key: &PrivateKey, certificate: &Certificate) -> Result<Self, SignError> {
        let private_key_der = key
            .to_pkcs8_der()
            .map_err(|error| SignError::PrivateKey(error.to_string()))?;
        Ok(Self {
            certificate_pem: to_pem(certificate)?,
            certificate_der: certificate.to_der().map_err(certificate_error)?,
            private_key_pem: private_key_der
                .to_pem("PRIVATE KEY", LineEnding::LF)
                .map_err(|error| SignError::PrivateKey(error.to_string()))?
                .to_string(),
            private_key_der: private_key_der.as_bytes().to_vec(),
        })
    }
}
