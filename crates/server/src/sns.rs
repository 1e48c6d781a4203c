//! SNS's ties to the outside world: the signing identity kept in the data directory (so the
//! certificate URL is stable across restarts), and the HTTP(S) client that POSTs notifications to
//! subscribed endpoints.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use rustls_pki_types::CertificateDer;
use sha2::{Digest, Sha256};
use tern_broker::topics::{HttpPoster, OutboundRequest, PostError, PostFuture};
use tern_sns_sign::SigningIdentity;

const SIGNING_KEY_FILE: &str = "sns-signing-key.pem";
const SIGNING_CERTIFICATE_FILE: &str = "sns-signing-certificate.pem";
/// AWS rotates its signing certificates; Tern's lasts ten years and lives with the data.
const CERTIFICATE_VALIDITY_SECONDS: u64 = 10 * 365 * 24 * 3_600;
/// AWS gives an endpoint 15 seconds per attempt.
pub const POST_TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("cannot read or write {path}: {source}")]
    File {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Sign(#[from] tern_sns_sign::SignError),
    #[error("cannot set up the HTTPS client: {0}")]
    Tls(String),
}

fn file_error(path: &Path) -> impl FnOnce(std::io::Error) -> IdentityError + '_ {
    move |source| IdentityError::File {
        path: path.to_owned(),
        source,
    }
}

pub(crate) fn unix_seconds() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

/// Writes `text` to `path` readable by its owner only (keys), atomically enough for a file
/// written once: a crash mid-write leaves a file that fails to parse, and a fresh pair is made.
pub(crate) fn write_private(path: &Path, text: &str) -> Result<(), IdentityError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(file_error(path))?;
    std::io::Write::write_all(&mut file, text.as_bytes()).map_err(file_error(path))?;
    file.sync_all().map_err(file_error(path))
}

/// The key pair SNS messages are signed with: read from the data directory, or generated and
/// written there on first start.
pub fn load_or_create_signing_identity(
    data_directory: &Path,
) -> Result<SigningIdentity, IdentityError> {
    let key_path = data_directory.join(SIGNING_KEY_FILE);
    let certificate_path = data_directory.join(SIGNING_CERTIFICATE_FILE);
    if key_path.exists() && certificate_path.exists() {
        let key = std::fs::read_to_string(&key_path).map_err(file_error(&key_path))?;
        let certificate =
            std::fs::read_to_string(&certificate_path).map_err(file_error(&certificate_path))?;
        match SigningIdentity::from_pem(&key, &certificate) {
            Ok(identity) => return Ok(identity),
            Err(error) => {
                tracing::warn!(%error, "the stored SNS signing key is unreadable; making a new one");
            }
        }
    }
    let identity = SigningIdentity::generate(
        "sns.tern.local",
        unix_seconds(),
        CERTIFICATE_VALIDITY_SECONDS,
    )?;
    write_private(&key_path, identity.private_key_pem())?;
    write_private(&certificate_path, identity.certificate_pem())?;
    tracing::info!(path = %certificate_path.display(), "generated the SNS signing certificate");
    Ok(identity)
}

/// `/SimpleNotificationService-<hash>.pem`: named after the certificate, as AWS's are, so a new
/// key gets a new URL and validators' caches never mix them up.
pub fn certificate_path(identity: &SigningIdentity) -> String {
    let digest = Sha256::digest(identity.certificate_pem().as_bytes());
    let name: String = digest[..16]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    format!("/SimpleNotificationService-{name}.pem")
}

/// The outbound client: HTTP/1.1 over plain TCP or rustls (ring), trusting the public web PKI
/// and any extra certificates given (a local HTTPS endpoint's CA).
pub struct HyperPoster {
    client: Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl HyperPoster {
    pub fn new(extra_roots: Vec<CertificateDer<'static>>) -> Result<Self, IdentityError> {
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        for certificate in extra_roots {
            roots
                .add(certificate)
                .map_err(|error| IdentityError::Tls(error.to_string()))?;
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|error| IdentityError::Tls(error.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(POST_TIMEOUT));
        http.set_nodelay(true);
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        Ok(Self {
            client: Client::builder(TokioExecutor::new()).build(connector),
        })
    }

    async fn send(
        &self,
        url: &str,
        headers: &BTreeMap<String, String>,
        body: &str,
    ) -> Result<u16, PostError> {
        let (url, basic_auth) = split_credentials(url);
        let mut request = hyper::Request::post(url.as_str());
        for (name, value) in headers {
            request = request.header(name.as_str(), value.as_str());
        }
        if let Some(credentials) = basic_auth {
            let encoded = base64::engine::general_purpose::STANDARD.encode(credentials);
            request = request.header("authorization", format!("Basic {encoded}"));
        }
        let request = request
            .body(Full::new(Bytes::from(body.to_owned())))
            .map_err(|error| PostError(format!("invalid request: {error}")))?;
        let response = tokio::time::timeout(POST_TIMEOUT, self.client.request(request))
            .await
            .map_err(|_| PostError("the endpoint did not answer within 15 seconds".to_owned()))?
            .map_err(|error| PostError(format!("cannot reach the endpoint: {}", chain(&error))))?;
        // The body is not read: only the status counts, and dropping it frees the connection.
        Ok(response.status().as_u16())
    }
}

impl HttpPoster for HyperPoster {
    fn post<'a>(&'a self, request: OutboundRequest<'a>) -> PostFuture<'a> {
        Box::pin(self.send(request.url, request.headers, request.body))
    }
}

/// An error and its causes: hyper's own message ("client error (Connect)") says nothing of a
/// refused connection or an untrusted certificate; the sources do, and the dead-letter queue's
/// `ErrorMessage` should.
fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// `https://user:password@host/path` → the URL without credentials and `user:password`, which
/// AWS sends as HTTP Basic authentication.
fn split_credentials(url: &str) -> (String, Option<String>) {
    let Some((scheme, rest)) = url.split_once("://") else {
        return (url.to_owned(), None);
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((credentials, host)) => (
            format!("{scheme}://{host}{path}"),
            Some(percent_decode(credentials)),
        ),
        None => (url.to_owned(), None),
    }
}

fn percent_decode(text: &str) -> String {
    form_urlencoded::parse(format!("x={}", text.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_read_with_their_causes() {
        #[derive(Debug, thiserror::Error)]
        #[error("client error (Connect)")]
        struct Outer(#[source] std::io::Error);
        let error = Outer(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "invalid peer certificate: UnknownIssuer",
        ));
        assert_eq!(
            chain(&error),
            "client error (Connect): invalid peer certificate: UnknownIssuer"
        );
    }

    #[test]
    fn credentials_in_urls_become_basic_authentication() {
        assert_eq!(
            split_credentials("https://user:p%40ss@example.com:8443/hook?x=1"),
            (
                "https://example.com:8443/hook?x=1".to_owned(),
                Some("user:p@ss".to_owned())
            )
        );
        assert_eq!(
            split_credentials("http://127.0.0.1:9/a@b"),
            ("http://127.0.0.1:9/a@b".to_owned(), None)
        );
    }

    #[test]
    fn the_signing_identity_is_made_once_per_data_directory() {
        let directory = tempfile::tempdir().unwrap();
        let first = load_or_create_signing_identity(directory.path()).unwrap();
        let again = load_or_create_signing_identity(directory.path()).unwrap();
        assert_eq!(first.certificate_pem(), again.certificate_pem());
        assert_eq!(certificate_path(&first), certificate_path(&again));
        assert!(certificate_path(&first).starts_with("/SimpleNotificationService-"));
    }
}
