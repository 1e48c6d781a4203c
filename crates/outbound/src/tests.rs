//! The client against endpoints on 127.0.0.1: plain HTTP, TLS with a certificate made here
//! (trusted through the extra roots, or not), one that never answers, one that answers too
//! much, and nothing listening at all.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use rustls_pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tern_sns_sign::TlsIdentity;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;

use super::*;

const LIMIT: Duration = Duration::from_secs(10);

fn identity() -> TlsIdentity {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    TlsIdentity::generate(
        &["localhost"],
        &[IpAddr::V4(Ipv4Addr::LOCALHOST)],
        now - 60,
        3_600,
    )
    .unwrap()
}

fn trusting(identity: &TlsIdentity) -> Client {
    Client::new(vec![CertificateDer::from(identity.certificate_der.clone())]).unwrap()
}

/// What the endpoint does with each connection.
#[derive(Clone, Copy)]
enum Behaviour {
    /// Answers `200` with a JSON body echoing the request line and an `x-seen` header.
    Answer,
    /// Reads the request and never answers.
    Silent,
    /// Answers with a 1 MiB body.
    Flood,
}

/// An endpoint on 127.0.0.1, over TLS with `tls`'s certificate if given.
async fn endpoint(tls: Option<&TlsIdentity>, behaviour: Behaviour) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let acceptor = tls.map(|identity| {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(identity.private_key_der.clone()));
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![CertificateDer::from(identity.certificate_der.clone())],
                key,
            )
            .unwrap();
        tokio_rustls::TlsAcceptor::from(Arc::new(config))
    });
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                match acceptor {
                    Some(acceptor) => {
                        if let Ok(stream) = acceptor.accept(stream).await {
                            let _ = exchange(stream, behaviour).await;
                        }
                    }
                    None => {
                        let _ = exchange(stream, behaviour).await;
                    }
                }
            });
        }
    });
    address
}

async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    behaviour: Behaviour,
) -> std::io::Result<()> {
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        if stream.read(&mut byte).await? == 0 {
            return Ok(());
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let request_line = head.lines().next().unwrap_or_default().to_owned();
    let body = match behaviour {
        Behaviour::Silent => {
            tokio::time::sleep(LIMIT * 2).await;
            return Ok(());
        }
        Behaviour::Answer => format!("{{\"request\":\"{request_line}\"}}"),
        Behaviour::Flood => "x".repeat(1 << 20),
    };
    let reply = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nx-seen: yes\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(reply.as_bytes()).await?;
    stream.shutdown().await
}

fn get(url: &str) -> http::Request<Bytes> {
    http::Request::get(url).body(Bytes::new()).unwrap()
}

#[tokio::test]
async fn plain_http_is_fetched_with_status_headers_and_body() {
    let address = endpoint(None, Behaviour::Answer).await;
    let client = Client::new(Vec::new()).unwrap();
    let response = client
        .fetch(get(&format!("http://{address}/quote?x=1")), LIMIT, 1024)
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-seen"], "yes");
    assert_eq!(
        response.body().as_ref(),
        br#"{"request":"GET /quote?x=1 HTTP/1.1"}"#
    );
    let head = client
        .send(get(&format!("http://{address}/")), LIMIT)
        .await
        .unwrap();
    assert_eq!(head.status, 200, "send returns the head only");
}

#[tokio::test]
async fn https_endpoints_are_trusted_through_the_extra_roots() {
    let identity = identity();
    let address = endpoint(Some(&identity), Behaviour::Answer).await;
    let response = trusting(&identity)
        .fetch(get(&format!("https://{address}/secure")), LIMIT, 1024)
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.body().as_ref(),
        br#"{"request":"GET /secure HTTP/1.1"}"#
    );
}

#[tokio::test]
async fn an_untrusted_certificate_fails_the_handshake_and_says_so() {
    let address = endpoint(Some(&identity()), Behaviour::Answer).await;
    for client in [Client::new(Vec::new()).unwrap(), trusting(&identity())] {
        let error = client
            .fetch(get(&format!("https://{address}/")), LIMIT, 1024)
            .await
            .unwrap_err();
        let SendError::Tls { authority, detail } = &error else {
            panic!("expected a TLS error, got {error:?}");
        };
        assert_eq!(authority, &address.to_string());
        assert!(detail.contains("certificate"), "{detail}");
        assert!(
            error
                .to_string()
                .starts_with(&format!("the TLS handshake with {address} failed: ")),
            "{error}"
        );
    }
}

#[tokio::test]
async fn plain_http_spoken_to_a_tls_endpoint_fails_the_exchange() {
    let identity = identity();
    let tls = endpoint(Some(&identity), Behaviour::Answer).await;
    let error = trusting(&identity)
        .fetch(get(&format!("http://{tls}/")), LIMIT, 1024)
        .await
        .unwrap_err();
    assert!(matches!(error, SendError::Exchange { .. }), "{error:?}");
}

#[tokio::test]
async fn unreachable_silent_and_oversized_endpoints_are_told_apart() {
    let closed = {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap()
    };
    let client = Client::new(Vec::new()).unwrap();
    let error = client
        .send(get(&format!("http://{closed}/")), LIMIT)
        .await
        .unwrap_err();
    let SendError::Connect { authority, detail } = &error else {
        panic!("expected a connection error, got {error:?}");
    };
    assert_eq!(authority, &closed.to_string());
    assert!(detail.to_ascii_lowercase().contains("refused"), "{detail}");

    let silent = endpoint(None, Behaviour::Silent).await;
    let error = client
        .send(
            get(&format!("http://{silent}/")),
            Duration::from_millis(300),
        )
        .await
        .unwrap_err();
    assert_eq!(
        error,
        SendError::Timeout {
            authority: silent.to_string(),
            after: Duration::from_millis(300)
        }
    );
    assert_eq!(
        error.to_string(),
        format!("no response from {silent} within 0.3 seconds")
    );

    let flood = endpoint(None, Behaviour::Flood).await;
    let error = client
        .fetch(get(&format!("http://{flood}/")), LIMIT, 1024)
        .await
        .unwrap_err();
    assert_eq!(
        error,
        SendError::BodyTooLarge {
            authority: flood.to_string(),
            limit: 1024
        }
    );
}

#[tokio::test]
async fn only_http_and_https_urls_are_called() {
    let client = Client::new(Vec::new()).unwrap();
    let error = client
        .send(get("ftp://127.0.0.1/file"), LIMIT)
        .await
        .unwrap_err();
    assert!(
        matches!(error, SendError::UnsupportedScheme(_)),
        "{error:?}"
    );
    let error = client.send(get("/relative"), LIMIT).await.unwrap_err();
    assert!(
        matches!(error, SendError::UnsupportedScheme(_)),
        "{error:?}"
    );
}

#[test]
fn extra_certificates_are_read_from_pem_files() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("ca.pem");
    let identity = identity();
    std::fs::write(
        &path,
        format!(
            "{}{}",
            identity.certificate_pem,
            self::identity().certificate_pem
        ),
    )
    .unwrap();
    let certificates = read_pem_certificates(&path).unwrap();
    assert_eq!(certificates.len(), 2);
    assert_eq!(
        certificates[0].as_ref(),
        identity.certificate_der.as_slice()
    );
    assert!(Client::with_extra_ca_file(Some(&path)).is_ok());
    assert!(Client::with_extra_ca_file(None).is_ok());

    std::fs::write(&path, "not a certificate\n").unwrap();
    let error = read_pem_certificates(&path).unwrap_err();
    assert!(
        error
            .to_string()
            .ends_with("no PEM certificate in the file"),
        "{error}"
    );
    let missing = directory.path().join("missing.pem");
    assert!(matches!(
        Client::with_extra_ca_file(Some(&missing)),
        Err(SetupError::File { .. })
    ));
}

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
    // As hyper-rustls reports it: tokio-rustls's io::Error in another.
    let wrapped = Outer(std::io::Error::other(std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
    )));
    assert_eq!(
        tls_cause(&wrapped).map(ToString::to_string),
        Some("invalid peer certificate: UnknownIssuer".to_owned())
    );
    assert!(tls_cause(&error).is_none());
}
