//! Tern's outbound HTTP(S) client, shared by everything that calls out of Tern: SNS deliveries to
//! `http`/`https` subscriptions, and Step Functions' `http:invoke` and mapped Lambda functions.
//!
//! One [`Client`] speaks HTTP/1.1 over plain TCP or rustls (ring provider), trusting the public
//! web PKI (`webpki-roots`) plus the extra certificates the operator names
//! (`tern serve --extra-ca-file`, read with [`read_pem_certificates`]). Every call is bounded by
//! the caller's timeout, and what went wrong before a status came back is a [`SendError`] that
//! says which part failed (connecting, the TLS handshake, the exchange, the clock) with the
//! underlying causes spelled out.
//!
//! **Architecture invariant:** knows no protocol: no SNS headers or signatures, no Step Functions
//! errors. Callers build the [`http::Request`] and read the reply in their own terms.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use rustls_pki_types::CertificateDer;

/// Bound on opening a TCP connection, whatever the call's own timeout (a connection still being
/// opened when its call gave up finishes, or fails, within this).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// Why the client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("cannot read {path}: {source}")]
    File {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {detail}")]
    Pem { path: PathBuf, detail: String },
    #[error("cannot trust an extra certificate: {0}")]
    Certificate(String),
    #[error("cannot set up TLS: {0}")]
    Tls(String),
}

/// Why a call failed before a complete response came back. `authority` is `host:port`, without
/// any credentials the URL carried.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    #[error("unsupported URL {0:?}: only http:// and https:// URLs are called")]
    UnsupportedScheme(String),
    #[error("cannot connect to {authority}: {detail}")]
    Connect { authority: String, detail: String },
    /// The TLS handshake failed: an untrusted or mismatched certificate, no common protocol, …
    #[error("the TLS handshake with {authority} failed: {detail}")]
    Tls { authority: String, detail: String },
    #[error("no response from {authority} within {} seconds", .after.as_secs_f64())]
    Timeout { authority: String, after: Duration },
    /// The connection was made but the exchange failed (closed early, not HTTP, …).
    #[error("the exchange with {authority} failed: {detail}")]
    Exchange { authority: String, detail: String },
    #[error("the response from {authority} is larger than {limit} bytes")]
    BodyTooLarge { authority: String, limit: usize },
}

/// Every certificate in a PEM file; at least one.
pub fn read_pem_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, SetupError> {
    use rustls_pki_types::pem::PemObject;
    let text = std::fs::read(path).map_err(|source| SetupError::File {
        path: path.to_owned(),
        source,
    })?;
    let pem_error = |detail: String| SetupError::Pem {
        path: path.to_owned(),
        detail,
    };
    let certificates = CertificateDer::pem_slice_iter(&text)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| pem_error(error.to_string()))?;
    if certificates.is_empty() {
        return Err(pem_error("no PEM certificate in the file".to_owned()));
    }
    Ok(certificates)
}

/// The outbound client. Cloning is cheap and clones share one connection pool.
#[derive(Clone)]
pub struct Client {
    inner: hyper_util::client::legacy::Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("Client").finish_non_exhaustive()
    }
}

impl Client {
    /// A client trusting the web PKI and `extra_roots`.
    pub fn new(extra_roots: Vec<CertificateDer<'static>>) -> Result<Client, SetupError> {
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        for certificate in extra_roots {
            roots
                .add(certificate)
                .map_err(|error| SetupError::Certificate(error.to_string()))?;
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|error| SetupError::Tls(error.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(CONNECT_TIMEOUT));
        http.set_nodelay(true);
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        Ok(Client {
            inner: hyper_util::client::legacy::Client::builder(TokioExecutor::new())
                .build(connector),
        })
    }

    /// A client trusting the web PKI and, if a file is named, the certificates in it.
    pub fn with_extra_ca_file(path: Option<&Path>) -> Result<Client, SetupError> {
        let extra_roots = match path {
            Some(path) => read_pem_certificates(path)?,
            None => Vec::new(),
        };
        Client::new(extra_roots)
    }

    /// Sends `request` and returns the response head once it arrives within `timeout`. The body
    /// is not read.
    pub async fn send(
        &self,
        request: http::Request<Bytes>,
        timeout: Duration,
    ) -> Result<http::response::Parts, SendError> {
        let authority = checked_authority(request.uri())?;
        let call = async {
            let response = self.request(request, &authority).await?;
            Ok(response.into_parts().0)
        };
        tokio::time::timeout(timeout, call)
            .await
            .map_err(|_| SendError::Timeout {
                authority: authority.clone(),
                after: timeout,
            })?
    }

    /// Sends `request` and reads the whole response, of at most `body_limit` bytes, all within
    /// `timeout`.
    pub async fn fetch(
        &self,
        request: http::Request<Bytes>,
        timeout: Duration,
        body_limit: usize,
    ) -> Result<http::Response<Bytes>, SendError> {
        let authority = checked_authority(request.uri())?;
        let call = async {
            let response = self.request(request, &authority).await?;
            let (head, body) = response.into_parts();
            let body = Limited::new(body, body_limit)
                .collect()
                .await
                .map_err(|error| {
                    if error.is::<http_body_util::LengthLimitError>() {
                        SendError::BodyTooLarge {
                            authority: authority.clone(),
                            limit: body_limit,
                        }
                    } else {
                        SendError::Exchange {
                            authority: authority.clone(),
                            detail: chain(error.as_ref()),
                        }
                    }
                })?
                .to_bytes();
            Ok(http::Response::from_parts(head, body))
        };
        tokio::time::timeout(timeout, call)
            .await
            .map_err(|_| SendError::Timeout {
                authority: authority.clone(),
                after: timeout,
            })?
    }

    async fn request(
        &self,
        request: http::Request<Bytes>,
        authority: &str,
    ) -> Result<http::Response<hyper::body::Incoming>, SendError> {
        self.inner
            .request(request.map(Full::new))
            .await
            .map_err(|error| classify(&error, authority))
    }
}

/// `host:port` of an `http`/`https` URI, for messages (never the userinfo).
fn checked_authority(uri: &http::Uri) -> Result<String, SendError> {
    let default_port = match uri.scheme_str() {
        Some("http") => 80,
        Some("https") => 443,
        _ => return Err(SendError::UnsupportedScheme(uri.to_string())),
    };
    let host = uri
        .host()
        .filter(|host| !host.is_empty())
        .ok_or_else(|| SendError::InvalidRequest(format!("no host in {uri}")))?;
    Ok(format!("{host}:{}", uri.port_u16().unwrap_or(default_port)))
}

/// Which part of a call failed, from hyper's error and its causes.
fn classify(error: &hyper_util::client::legacy::Error, authority: &str) -> SendError {
    let authority = authority.to_owned();
    // hyper's own message ("client error (Connect)") says nothing; its causes do.
    let detail = match std::error::Error::source(error) {
        Some(source) => chain(source),
        None => error.to_string(),
    };
    if let Some(tls) = tls_cause(error) {
        return SendError::Tls {
            authority,
            detail: tls.to_string(),
        };
    }
    if error.is_connect() {
        SendError::Connect { authority, detail }
    } else {
        SendError::Exchange { authority, detail }
    }
}

/// The rustls error among an error's causes, if any. tokio-rustls reports a failed handshake as
/// an `io::Error` wrapping the rustls error (which hyper-rustls wraps in another), and
/// `io::Error::source` skips over what it wraps: look inside.
fn tls_cause<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    let mut next = Some(error);
    while let Some(current) = next {
        if let Some(tls) = current.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        next = match current
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref)
        {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => current.source(),
        };
    }
    None
}

/// An error and its causes, each said once.
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

#[cfg(test)]
mod tests;
