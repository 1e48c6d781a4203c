//! One explicit HTTP/1.1 keep-alive connection to the endpoint.
//!
//! Each producer and consumer task owns one `Connection`: a `TcpStream` driven by hyper's
//! low-level `client::conn::http1`, with no pool in between, so `--connections 16` means exactly
//! sixteen sockets. A broken or timed-out connection is dropped and reopened on the next call.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST, HeaderName, HeaderValue};
use hyper::{Method, Request, StatusCode, Uri};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::sign::{Credentials, Signer};
use crate::wire::Action;

/// Longest a request may take, reply body included. Long polls wait at most a second or two.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Longest a TCP connect may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Pause after a failed call before the caller tries again, so a dead server is not spun on.
pub const RETRY_PAUSE: Duration = Duration::from_millis(50);

const AWS_JSON_1_0: HeaderValue = HeaderValue::from_static("application/x-amz-json-1.0");
const X_AMZ_TARGET: HeaderName = HeaderName::from_static("x-amz-target");
const X_AMZ_DATE: HeaderName = HeaderName::from_static("x-amz-date");

/// Where requests go: the only address loadgen ever connects to.
#[derive(Debug)]
pub struct Endpoint {
    pub url: String,
    pub address: SocketAddr,
    pub host: HeaderValue,
    pub credentials: Credentials,
}

impl Endpoint {
    /// Parses an `http://host:port` URL and resolves its host once.
    pub async fn resolve(url: &str, credentials: Credentials) -> Result<Endpoint> {
        let uri: Uri = url
            .parse()
            .with_context(|| format!("endpoint {url:?} is not a URL"))?;
        if uri.scheme_str() != Some("http") {
            bail!("endpoint {url:?}: only http:// is supported");
        }
        if uri
            .path_and_query()
            .is_some_and(|path| path.as_str() != "/")
        {
            bail!("endpoint {url:?}: give scheme, host and port only");
        }
        let authority = uri.authority().context("endpoint has no host")?;
        let port = authority.port_u16().unwrap_or(80);
        let address = tokio::net::lookup_host((authority.host(), port))
            .await
            .with_context(|| format!("resolving {}", authority.host()))?
            .next()
            .with_context(|| format!("{} resolves to no address", authority.host()))?;
        Ok(Endpoint {
            url: url.trim_end_matches('/').to_owned(),
            address,
            host: HeaderValue::from_str(authority.as_str())?,
            credentials,
        })
    }
}

/// The status and full body of a reply.
pub struct Reply {
    pub status: StatusCode,
    pub body: Bytes,
}

pub struct Connection {
    endpoint: Arc<Endpoint>,
    sender: Option<SendRequest<Full<Bytes>>>,
    signer: Signer,
}

impl Connection {
    /// Opens the connection now, so a wrong endpoint fails before the run starts.
    pub async fn open(endpoint: Arc<Endpoint>) -> Result<Connection> {
        let host = endpoint.host.to_str().expect("the host came from a str");
        let signer = Signer::new(endpoint.credentials.clone(), host);
        let mut connection = Connection {
            endpoint,
            sender: None,
            signer,
        };
        connection.sender = Some(connection.connect().await?);
        Ok(connection)
    }

    /// POSTs `body` to `/` as `action`. Transport failures drop the connection (the next call
    /// reconnects); HTTP error statuses are returned as replies for the caller to count.
    pub async fn call(&mut self, action: Action, body: Bytes) -> Result<Reply> {
        let mut sender = match self.sender.take() {
            Some(sender) if !sender.is_closed() => sender,
            _ => self.connect().await?,
        };
        let request = self.request(action, body);
        let exchange = async {
            sender.ready().await?;
            let response = sender.send_request(request).await?;
            let status = response.status();
            let body = response.into_body().collect().await?.to_bytes();
            anyhow::Ok(Reply { status, body })
        };
        let reply = tokio::time::timeout(REQUEST_TIMEOUT, exchange)
            .await
            .with_context(|| format!("{action:?} timed out after {REQUEST_TIMEOUT:?}"))?
            .with_context(|| format!("{action:?} failed"))?;
        self.sender = Some(sender); // only a connection that finished its exchange is reused
        Ok(reply)
    }

    fn request(&mut self, action: Action, body: Bytes) -> Request<Full<Bytes>> {
        let (amz_date, authorization) = self.signer.headers(action.target_str(), &body);
        Request::builder()
            .method(Method::POST)
            .uri("/")
            .header(HOST, self.endpoint.host.clone())
            .header(CONTENT_TYPE, AWS_JSON_1_0)
            .header(X_AMZ_TARGET, action.target())
            .header(X_AMZ_DATE, amz_date)
            .header(AUTHORIZATION, authorization)
            .body(Full::new(body))
            .expect("method, path and headers are valid by construction")
    }

    async fn connect(&self) -> Result<SendRequest<Full<Bytes>>> {
        let address = self.endpoint.address;
        let stream = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(address))
            .await
            .with_context(|| format!("connecting to {address} timed out"))?
            .with_context(|| format!("connecting to {address}"))?;
        stream.set_nodelay(true)?;
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .context("HTTP/1.1 handshake")?;
        // The connection task ends when the sender is dropped or the server closes the socket.
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(sender)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn resolve(url: &str) -> Result<Endpoint> {
        Endpoint::resolve(url, Credentials::default()).await
    }

    #[tokio::test]
    async fn endpoints_are_plain_http_host_and_port() {
        let endpoint = resolve("http://127.0.0.1:9324/").await.unwrap();
        assert_eq!(endpoint.url, "http://127.0.0.1:9324");
        assert_eq!(endpoint.address, "127.0.0.1:9324".parse().unwrap());
        assert_eq!(endpoint.host, "127.0.0.1:9324");
        assert_eq!(
            resolve("http://127.0.0.1").await.unwrap().address.port(),
            80
        );
        for refused in [
            "https://127.0.0.1:9324",
            "127.0.0.1:9324",
            "http://127.0.0.1:9324/000000000000/queue",
            "not a url",
        ] {
            assert!(resolve(refused).await.is_err(), "{refused} was accepted");
        }
    }
}
