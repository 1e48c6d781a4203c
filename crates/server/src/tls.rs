//! Tern's HTTPS listener: the same router as the plain listener behind rustls (ring). SNS needs
//! it because validators fetch `SigningCertURL` only over `https:`.
//!
//! The certificate is Tern's own, self-signed for `localhost`, `127.0.0.1` and `::1`, made on
//! first start and kept in the data directory (`tls-certificate.pem`): a client trusts it by
//! adding that file to its trust store (e.g. `NODE_EXTRA_CA_CERTS`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tern_sns_sign::TlsIdentity;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use crate::sns::{IdentityError, unix_seconds, write_private};

pub const TLS_CERTIFICATE_FILE: &str = "tls-certificate.pem";
const TLS_KEY_FILE: &str = "tls-key.pem";
const CERTIFICATE_VALIDITY_SECONDS: u64 = 10 * 365 * 24 * 3_600;
/// A client that has not finished its handshake by then is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Finished handshakes waiting for the server to take them.
const ACCEPTED_BACKLOG_MAX: usize = 256;

/// Tern's TLS key and certificate: read from the data directory, or made and written there.
pub fn load_or_create_tls_identity(data_directory: &Path) -> Result<TlsIdentity, IdentityError> {
    let key_path = data_directory.join(TLS_KEY_FILE);
    let certificate_path = data_directory.join(TLS_CERTIFICATE_FILE);
    if let (Ok(key), Ok(certificate)) = (
        std::fs::read_to_string(&key_path),
        std::fs::read_to_string(&certificate_path),
    ) {
        match TlsIdentity::from_pem(&key, &certificate) {
            Ok(identity) => return Ok(identity),
            Err(error) => {
                tracing::warn!(%error, "the stored TLS key is unreadable; making a new one")
            }
        }
    }
    let identity = TlsIdentity::generate(
        &["localhost"],
        &[
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(Ipv6Addr::LOCALHOST),
        ],
        unix_seconds(),
        CERTIFICATE_VALIDITY_SECONDS,
    )?;
    write_private(&key_path, &identity.private_key_pem)?;
    write_private(&certificate_path, &identity.certificate_pem)?;
    tracing::info!(path = %certificate_path.display(), "generated Tern's TLS certificate");
    Ok(identity)
}

pub fn acceptor(identity: &TlsIdentity) -> Result<TlsAcceptor, IdentityError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(identity.private_key_der.clone()));
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| IdentityError::Tls(error.to_string()))?
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(identity.certificate_der.clone())],
            key,
        )
        .map_err(|error| IdentityError::Tls(error.to_string()))?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// An [`axum::serve::Listener`] of finished TLS handshakes. Handshakes run in their own tasks,
/// so one slow client never holds up the others.
pub struct TlsListener {
    accepted: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local_address: SocketAddr,
}

impl TlsListener {
    pub fn new(listener: TcpListener, acceptor: TlsAcceptor) -> std::io::Result<Self> {
        let local_address = listener.local_addr()?;
        let (sender, accepted) = mpsc::channel(ACCEPTED_BACKLOG_MAX);
        tokio::spawn(accept_loop(listener, acceptor, sender));
        Ok(Self {
            accepted,
            local_address,
        })
    }
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    sender: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>,
) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                tracing::debug!(%error, "TLS listener accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        if sender.is_closed() {
            return;
        }
        let _ = stream.set_nodelay(true);
        let acceptor = acceptor.clone();
        let sender = sender.clone();
        tokio::spawn(async move {
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                Ok(Ok(tls)) => {
                    let _ = sender.send((tls, peer)).await;
                }
                Ok(Err(error)) => tracing::debug!(%peer, %error, "TLS handshake failed"),
                Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
            }
        });
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.accepted.recv().await {
            Some(accepted) => accepted,
            // The accept loop only ends with the runtime; until then, nothing more arrives.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local_address)
    }
}
