//! A small HTTP/1.1 server on 127.0.0.1 that plays Lambda functions and `http:invoke` targets,
//! counting every call so tests can tell whether something ran once or twice.
//!
//! Routes:
//! - `POST /score`: a credit bureau, `{"score": 700 + len(name)}` for `{"name": …}`.
//! - `POST /flaky`: fails (500, `errorType: Flaky`) on its first call, then succeeds.
//! - `POST /boom`: always fails with `errorType: CreditBureauDown`.
//! - `POST /echo`: answers the request body.
//! - `POST /form`: answers `{"form": RAW_BODY}`.
//! - `GET /quote?bank=NAME`: `{"bank": NAME, "rate": …}` with a `x-quote: yes` header.
//! - anything else: 404.

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Bound on a request the stub reads.
const REQUEST_BYTES_MAX: usize = 1024 * 1024;

#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    pub target: String,
    pub body: String,
}

pub struct Stub {
    pub port: u16,
    calls: Arc<Mutex<Vec<Call>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Stub {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Stub {
    pub async fn start() -> Stub {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind stub");
        let port = listener.local_addr().expect("stub address").port();
        let calls = Arc::new(Mutex::new(Vec::new()));
        let recorded = calls.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let recorded = recorded.clone();
                tokio::spawn(async move {
                    let _ = serve(stream, recorded).await;
                });
            }
        });
        Stub { port, calls, task }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Calls whose target starts with `path`.
    pub fn calls_to(&self, path: &str) -> Vec<Call> {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|call| call.target.starts_with(path))
            .cloned()
            .collect()
    }
}

/// Reads one HTTP/1.1 request (head, then a `content-length` body, bounded); `None` when the
/// peer closed or sent more than the stub accepts.
pub async fn read_request<S: AsyncRead + Unpin>(stream: &mut S) -> std::io::Result<Option<Call>> {
    let mut buffer = Vec::new();
    let header_end = loop {
        let mut chunk = [0u8; 4096];
        let read = stream.read(&mut chunk).await?;
        if read == 0 {
            return Ok(None);
        }
        buffer.extend_from_slice(&chunk[..read]);
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
        if buffer.len() > REQUEST_BYTES_MAX {
            return Ok(None);
        }
    };
    let head = String::from_utf8_lossy(&buffer[..header_end]).into_owned();
    let mut lines = head.lines();
    let mut request_line = lines.next().unwrap_or_default().split(' ');
    let method = request_line.next().unwrap_or_default().to_owned();
    let target = request_line.next().unwrap_or_default().to_owned();
    let length: usize = lines
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.trim().parse().ok())
        .unwrap_or(0)
        .min(REQUEST_BYTES_MAX);
    let mut body = buffer[header_end..].to_vec();
    while body.len() < length {
        let mut chunk = vec![0u8; length - body.len()];
        let read = stream.read(&mut chunk).await?;
        if read == 0 {
            return Ok(None);
        }
        body.extend_from_slice(&chunk[..read]);
    }
    Ok(Some(Call {
        method,
        target,
        body: String::from_utf8_lossy(&body).into_owned(),
    }))
}

async fn serve(mut stream: TcpStream, calls: Arc<Mutex<Vec<Call>>>) -> std::io::Result<()> {
    loop {
        let Some(call) = read_request(&mut stream).await? else {
            return Ok(());
        };
        let earlier = {
            let mut calls = calls.lock().unwrap();
            let earlier = calls.iter().filter(|c| c.target == call.target).count();
            calls.push(call.clone());
            earlier
        };
        let (status, extra, reply) = answer(&call, earlier);
        let text = reply.to_string();
        let response = format!(
            "HTTP/1.1 {status} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n{extra}\r\n{text}",
            if status == 200 { "OK" } else { "Error" },
            text.len()
        );
        stream.write_all(response.as_bytes()).await?;
    }
}

fn answer(call: &Call, earlier: usize) -> (u16, String, Value) {
    let body: Value = serde_json::from_str(&call.body).unwrap_or(Value::Null);
    let path = call.target.split('?').next().unwrap_or_default();
    match (call.method.as_str(), path) {
        ("POST", "/score") => {
            let name = body["name"].as_str().unwrap_or_default();
            (200, String::new(), json!({"score": 700 + name.len()}))
        }
        ("POST", "/flaky") if earlier == 0 => (
            500,
            String::new(),
            json!({"errorType": "Flaky", "errorMessage": "try again"}),
        ),
        ("POST", "/flaky") => (
            200,
            String::new(),
            json!({"ok": true, "calls": earlier + 1}),
        ),
        ("POST", "/boom") => (
            500,
            String::new(),
            json!({"errorType": "CreditBureauDown", "errorMessage": "the bureau is closed"}),
        ),
        ("POST", "/echo") => (200, String::new(), body),
        ("POST", "/form") => (200, String::new(), json!({"form": call.body})),
        ("GET", "/quote") => {
            let bank = call
                .target
                .split_once("bank=")
                .map(|(_, bank)| bank.split('&').next().unwrap_or_default().to_owned())
                .unwrap_or_default();
            let rate = 3.0 + bank.len() as f64 / 10.0;
            (
                200,
                "x-quote: yes\r\n".to_owned(),
                json!({"bank": bank, "rate": rate}),
            )
        }
        _ => (404, String::new(), json!({"message": "not here"})),
    }
}
