//! SNS's ties to the outside world: the signing identity kept in the data directory (so the
//! certificate URL is stable across restarts), and the [`HttpPoster`] that POSTs notifications to
//! subscribed endpoints through Tern's shared outbound client (`tern-outbound`).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
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
    #[error("cannot set up TLS: {0}")]
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

/// SNS's POSTs through the shared outbound client: AWS's 15 seconds per attempt, and the
/// `user:password@` of an endpoint URL sent as HTTP Basic authentication, as AWS does.
pub struct HyperPoster {
    client: tern_outbound::Client,
}

impl HyperPoster {
    pub fn new(client: tern_outbound::Client) -> Self {
        Self { client }
    }

    async fn send(
        &self,
        url: &str,
        headers: &BTreeMap<String, String>,
        body: &str,
    ) -> Result<u16, PostError> {
        let (url, basic_auth) = split_credentials(url);
        let mut request = http::Request::post(url.as_str());
        for (name, value) in headers {
            request = request.header(name.as_str(), value.as_str());
        }
        if let Some(credentials) = basic_auth {
            let encoded = base64::engine::general_purpose::STANDARD.encode(credentials);
            request = request.header("authorization", format!("Basic {encoded}"));
        }
        let request = request
            .body(Bytes::from(body.to_owned()))
            .map_err(|error| PostError(format!("invalid request: {error}")))?;
        // The body is not read: only the status counts.
        let head = self
            .client
            .send(request, POST_TIMEOUT)
            .await
            .map_err(|error| PostError(error.to_string()))?;
        Ok(head.status.as_u16())
    }
}

impl HttpPoster for HyperPoster {
    fn post<'a>(&'a self, request: OutboundRequest<'a>) -> PostFuture<'a> {
        Box::pin(self.send(request.url, request.headers, request.body))
    }
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
