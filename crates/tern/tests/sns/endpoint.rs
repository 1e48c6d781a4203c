//! A subscriber's HTTP endpoint for the SNS tests: a small HTTP/1.1 server on 127.0.0.1 that
//! records every request and answers with scripted statuses (200 once the script runs out) —
//! over plain TCP, or over TLS with a certificate the test makes (rustls on ring, through the
//! server crate's own acceptor) — and a bare GET for following `SubscribeURL`s,
//! `UnsubscribeURL`s and `SigningCertURL`s.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tern_sns_sign::TlsIdentity;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// Upper bound on one request to or from the endpoint.
const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(20);
const BODY_BYTES_MAX: usize = 1 << 20;

#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub path: String,
    /// Lower-cased names.
    pub headers: HashMap<String, String>,
    pub body: String,
    pub at: Instant,
}

impl Received {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .map(String::as_str)
            .unwrap_or_default()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|error| panic!("not JSON ({error}): {}", self.body))
    }
}

#[derive(Default)]
struct Shared {
    received: Mutex<Vec<Received>>,
    script: Mutex<VecDeque<u16>>,
    arrivals: tokio::sync::Notify,
    /// Serve TLS with this identity (`None`: plain HTTP).
    tls: Mutex<Option<Arc<TlsIdentity>>>,
    /// TLS connections that ended before a request, e.g. the client refused the certificate.
    failed_handshakes: AtomicUsize,
}

pub struct Endpoint {
    address: SocketAddr,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

/// A key and a self-signed certificate for `localhost` and 127.0.0.1, valid for a day.
pub fn tls_identity() -> TlsIdentity {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    TlsIdentity::generate(
        &["localhost"],
        &[IpAddr::V4(Ipv4Addr::LOCALHOST)],
        now - 60,
        24 * 3_600,
    )
    .expect("generate a TLS certificate")
}

impl Endpoint {
    pub async fn start() -> Self {
        Self::start_on("127.0.0.1:0".parse().unwrap()).await
    }

    /// Listens on `address` (a port used before, to bring a stopped endpoint back).
    pub async fn start_on(address: SocketAddr) -> Self {
        let listener = TcpListener::bind(address).await.expect("bind the endpoint");
        let address = listener.local_addr().unwrap();
        let shared = Arc::new(Shared::default());
        let server = tokio::spawn(serve(listener, Arc::clone(&shared)));
        Self {
            address,
            shared,
            server,
        }
    }

    /// An `https` endpoint presenting `identity`'s certificate.
    pub async fn start_tls(identity: &TlsIdentity) -> Self {
        let endpoint = Self::start().await;
        endpoint.present(identity);
        endpoint
    }

    /// New connections get this certificate from now on.
    pub fn present(&self, identity: &TlsIdentity) {
        *self.shared.tls.lock().unwrap() = Some(Arc::new(identity.clone()));
    }

    pub fn url(&self, path: &str) -> String {
        let scheme = match *self.shared.tls.lock().unwrap() {
            Some(_) => "https",
            None => "http",
        };
        format!("{scheme}://{}{path}", self.address)
    }

    pub fn failed_handshakes(&self) -> usize {
        self.shared.failed_handshakes.load(Ordering::SeqCst)
    }

    /// Waits (bounded by `limit`) until `count` TLS handshakes have failed; returns how many.
    pub async fn wait_for_failed_handshakes(&self, count: usize, limit: Duration) -> usize {
        let deadline = Instant::now() + limit;
        loop {
            let arrived = self.shared.arrivals.notified();
            let failed = self.failed_handshakes();
            if failed >= count || Instant::now() >= deadline {
                return failed;
            }
            let _ = tokio::time::timeout(Duration::from_millis(200), arrived).await;
        }
    }

    /// The next requests get these statuses, in order; then 200s.
    pub fn answer(&self, statuses: &[u16]) {
        self.shared.script.lock().unwrap().extend(statuses);
    }

    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().unwrap().clone()
    }

    /// Waits (bounded by `limit`) until `count` requests have arrived; returns all so far.
    pub async fn wait_for(&self, count: usize, limit: Duration) -> Vec<Received> {
        let deadline = Instant::now() + limit;
        loop {
            let arrived = self.shared.arrivals.notified();
            let received = self.received();
            if received.len() >= count || Instant::now() >= deadline {
                return received;
            }
            let _ = tokio::time::timeout(Duration::from_millis(200), arrived).await;
        }
    }

    /// Stops listening: connections are refused from now on.
    pub fn stop(self) -> SocketAddr {
        self.server.abort();
        self.address
    }
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            let _ = tokio::time::timeout(EXCHANGE_TIMEOUT, connection(stream, &shared)).await;
        });
    }
}

async fn connection(stream: TcpStream, shared: &Shared) -> std::io::Result<()> {
    let identity = shared.tls.lock().unwrap().clone();
    let Some(identity) = identity else {
        return exchange(stream, shared).await;
    };
    let acceptor = tern_server::tls::acceptor(&identity).expect("a TLS acceptor");
    match acceptor.accept(stream).await {
        Ok(tls) => exchange(tls, shared).await,
        Err(error) => {
            shared.failed_handshakes.fetch_add(1, Ordering::SeqCst);
            shared.arrivals.notify_waiters();
            Err(error)
        }
    }
}

async fn exchange<S>(stream: S, shared: &Shared) -> std::io::Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).await?;
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let path = parts.next().unwrap_or_default().to_owned();
    let headers = read_headers(&mut reader).await?;
    let length: usize = headers
        .get("content-length")
        .and_then(|value| value.parse().ok())
        .unwrap_or(0)
        .min(BODY_BYTES_MAX);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).await?;
    let status = shared.script.lock().unwrap().pop_front().unwrap_or(200);
    shared.received.lock().unwrap().push(Received {
        method,
        path,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
        at: Instant::now(),
    });
    shared.arrivals.notify_waiters();
    let reply =
        format!("HTTP/1.1 {status} Scripted\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    reader.get_mut().write_all(reply.as_bytes()).await?;
    reader.get_mut().shutdown().await
}

async fn read_headers<S: AsyncRead + Unpin>(
    reader: &mut BufReader<S>,
) -> std::io::Result<HashMap<String, String>> {
    let mut headers = HashMap::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).await? == 0 {
            break;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
        }
    }
    Ok(headers)
}

/// A plain-HTTP GET of `url` (`http://127.0.0.1:PORT/…`): (status, body).
pub async fn http_get(url: &str) -> (u16, String) {
    let rest = url.strip_prefix("http://").expect("an http:// URL");
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let path = if path.is_empty() { "/" } else { path };
    let exchange = async {
        let mut stream = TcpStream::connect(authority).await.expect("connect");
        let request =
            format!("GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.expect("write");
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await.expect("read");
        let text = String::from_utf8_lossy(&response).into_owned();
        let status = text
            .split_whitespace()
            .nth(1)
            .and_then(|status| status.parse().ok())
            .unwrap_or(0);
        let body = text
            .split_once("\r\n\r\n")
            .map(|(_, body)| body.to_owned())
            .unwrap_or_default();
        (status, body)
    };
    tokio::time::timeout(EXCHANGE_TIMEOUT, exchange)
        .await
        .expect("GET within the time limit")
}
