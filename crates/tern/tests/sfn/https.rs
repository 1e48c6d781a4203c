//! `http:invoke` and mapped Lambda functions over `https://`, against TLS endpoints with
//! certificates the test makes: the one Tern was told to trust (`--extra-ca-file`) is called like
//! any HTTP endpoint; one it was not told to trust fails the handshake, as AWS reports it
//! (`States.Http.Socket`, or `Lambda.ServiceException`) with a cause naming the certificate, and
//! never sees a request.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use tern_sns_sign::TlsIdentity;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;

use super::stub;
use super::*;
use crate::common::TestServer;

/// Bound on one exchange with the endpoint.
const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(20);

/// A key and a self-signed certificate for 127.0.0.1, valid for a day.
fn tls_identity() -> TlsIdentity {
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

#[derive(Default)]
struct Seen {
    /// (method, target, body) of each request.
    requests: Mutex<Vec<(String, String, String)>>,
    failed_handshakes: AtomicUsize,
}

/// An HTTPS endpoint on 127.0.0.1 (rustls through the server crate's acceptor) that plays a
/// Lambda function (`POST /score`: `{"score": 700 + len(name)}`) and an API
/// (`GET /quote?…`: `{"target": …}` with an `x-secure: yes` header).
struct TlsEndpoint {
    port: u16,
    seen: Arc<Seen>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TlsEndpoint {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TlsEndpoint {
    async fn start(identity: &TlsIdentity) -> TlsEndpoint {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let acceptor = tern_server::tls::acceptor(identity).expect("a TLS acceptor");
        let seen = Arc::new(Seen::default());
        let shared = Arc::clone(&seen);
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                let seen = Arc::clone(&shared);
                tokio::spawn(async move {
                    let exchange = async {
                        match acceptor.accept(stream).await {
                            Ok(tls) => {
                                let _ = exchange(tls, &seen).await;
                            }
                            Err(_) => {
                                seen.failed_handshakes.fetch_add(1, Ordering::SeqCst);
                            }
                        }
                    };
                    let _ = tokio::time::timeout(EXCHANGE_TIMEOUT, exchange).await;
                });
            }
        });
        TlsEndpoint { port, seen, task }
    }

    fn url(&self, path: &str) -> String {
        format!("https://127.0.0.1:{}{path}", self.port)
    }

    fn requests(&self) -> Vec<(String, String, String)> {
        self.seen.requests.lock().unwrap().clone()
    }

    fn failed_handshakes(&self) -> usize {
        self.seen.failed_handshakes.load(Ordering::SeqCst)
    }
}

async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    seen: &Seen,
) -> std::io::Result<()> {
    let Some(stub::Call {
        method,
        target,
        body,
    }) = stub::read_request(&mut stream).await?
    else {
        return Ok(());
    };
    let (status, extra, reply) = match (method.as_str(), target.split('?').next()) {
        ("POST", Some("/score")) => {
            let request: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
            let name = request["name"].as_str().unwrap_or_default();
            (200, "", json!({"score": 700 + name.len()}))
        }
        ("GET", Some("/quote")) => (200, "x-secure: yes\r\n", json!({"target": target})),
        _ => (404, "", json!({"message": "not here"})),
    };
    seen.requests
        .lock()
        .unwrap()
        .push((method, target.clone(), body));
    let text = reply.to_string();
    let response = format!(
        "HTTP/1.1 {status} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n{extra}connection: close\r\n\r\n{text}",
        if status == 200 { "OK" } else { "Not Found" },
        text.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}

#[tokio::test]
async fn http_invoke_and_lambda_functions_call_https_endpoints_trusted_through_extra_ca_file() {
    let trusted_identity = tls_identity();
    let trust = tempfile::tempdir().unwrap();
    let ca_file = trust.path().join("endpoint-ca.pem");
    std::fs::write(&ca_file, &trusted_identity.certificate_pem).unwrap();
    let trusted = TlsEndpoint::start(&trusted_identity).await;
    let untrusted = TlsEndpoint::start(&tls_identity()).await;
    let score = format!("score={}", trusted.url("/score"));
    let forged = format!("forged={}", untrusted.url("/score"));
    let server = TestServer::start_with_args(&[
        "--extra-ca-file",
        ca_file.to_str().unwrap(),
        "--lambda",
        &score,
        "--lambda",
        &forged,
    ]);
    let client = sfn_client(&server);
    let machine = create_machine(
        &client,
        "over-tls",
        &json!({
            "StartAt": "Score",
            "States": {
                "Score": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:000000000000:function:score",
                          "Parameters": {"name.$": "$.name"}, "ResultPath": "$.credit", "Next": "Quote"},
                "Quote": {"Type": "Task", "Resource": "arn:aws:states:::http:invoke",
                          "Parameters": {"ApiEndpoint": trusted.url("/quote"), "Method": "GET",
                                         "QueryParameters": {"bank.$": "$.name"}},
                          "ResultSelector": {"body.$": "$.ResponseBody", "status.$": "$.StatusCode",
                                             "header.$": "$.Headers['x-secure'][0]"},
                          "ResultPath": "$.quote", "Next": "Untrusted"},
                "Untrusted": {"Type": "Task", "Resource": "arn:aws:states:::http:invoke",
                              "Parameters": {"ApiEndpoint": untrusted.url("/quote"), "Method": "GET"},
                              "Catch": [{"ErrorEquals": ["States.Http.Socket"], "ResultPath": "$.untrusted", "Next": "Forged"}],
                              "End": true},
                "Forged": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:000000000000:function:forged",
                           "Catch": [{"ErrorEquals": ["Lambda.ServiceException"], "ResultPath": "$.forged", "Next": "Done"}],
                           "End": true},
                "Done": {"Type": "Succeed"}
            }
        }),
    )
    .await;
    let arn = start(&client, &machine, "over-tls", &json!({"name": "bank"})).await;
    let output = output_of(&wait_for_end(&client, &arn).await);

    assert_eq!(output["credit"], json!({"score": 704}), "{output}");
    assert_eq!(
        output["quote"],
        json!({"body": {"target": "/quote?bank=bank"}, "status": 200, "header": "yes"})
    );
    let requests = trusted.requests();
    assert_eq!(requests.len(), 2, "{requests:?}");
    assert_eq!(
        (requests[0].0.as_str(), requests[0].1.as_str()),
        ("POST", "/score")
    );
    assert_eq!(requests[0].2, r#"{"name":"bank"}"#);

    assert_eq!(output["untrusted"]["Error"], "States.Http.Socket");
    let cause = output["untrusted"]["Cause"].as_str().unwrap_or_default();
    assert!(
        cause.contains("TLS handshake") && cause.contains("certificate"),
        "the cause names the problem: {cause}"
    );
    assert_eq!(output["forged"]["Error"], "Lambda.ServiceException");
    let cause = output["forged"]["Cause"].as_str().unwrap_or_default();
    assert!(
        cause.contains("forged") && cause.contains("certificate"),
        "{cause}"
    );
    assert!(
        untrusted.requests().is_empty(),
        "nothing was sent to the untrusted endpoint"
    );
    assert!(
        untrusted.failed_handshakes() >= 2,
        "both calls were refused at the handshake"
    );
}
