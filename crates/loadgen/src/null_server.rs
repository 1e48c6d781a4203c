//! `loadgen null-server`: a do-nothing SQS endpoint, the ceiling reference for the harness.
//!
//! It answers `SendMessageBatch` with a canned success entry per request entry (the entries are
//! counted, not parsed), `CreateQueue` with a queue URL, `ReceiveMessage` with no messages after
//! a second (so a consumer pointed at it idles rather than spins) and everything else with `{}`.
//! It stores nothing and checks no signature. One thread, HTTP/1.1 keep-alive, loopback only, and
//! it exits by itself after `--duration` seconds.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use crate::config::DURATION_S_MAX;
use crate::wire::BATCH_ENTRIES_MAX;

/// Longest a request body may be (ten 1 MiB messages and their JSON).
const BODY_MAX: usize = 11 * 1024 * 1024;

pub fn check(duration_s: u64) -> Result<()> {
    ensure!(
        (1..=DURATION_S_MAX).contains(&duration_s),
        "--duration must be 1..={DURATION_S_MAX} s"
    );
    Ok(())
}

pub async fn serve(listen: &str, duration: Duration) -> Result<()> {
    let address: SocketAddr = listen
        .parse()
        .with_context(|| format!("--listen {listen:?} is not ADDR:PORT"))?;
    ensure!(
        address.ip().is_loopback(),
        "--listen must be a loopback address"
    );
    let listener = TcpListener::bind(address)
        .await
        .with_context(|| format!("binding {address}"))?;
    let local = listener.local_addr()?;
    println!("listening on http://{local}");
    let replies = std::rc::Rc::new(Replies::new(local));
    let accept = async {
        loop {
            let (stream, _) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(error) => {
                    eprintln!("loadgen null-server: accept: {error}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            let replies = replies.clone();
            tokio::task::spawn_local(async move {
                let service = service_fn(move |request| {
                    let replies = replies.clone();
                    async move { Ok::<_, Infallible>(replies.answer(request).await) }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    };
    let local_set = tokio::task::LocalSet::new();
    let _ = local_set
        .run_until(tokio::time::timeout(duration, accept))
        .await;
    Ok(())
}

struct Replies {
    base_url: String,
    /// `send[n]`: the reply to a `SendMessageBatch` of `n` entries.
    send: Vec<Bytes>,
}

impl Replies {
    fn new(local: SocketAddr) -> Replies {
        let send = (0..=BATCH_ENTRIES_MAX)
            .map(|entries| Bytes::from(send_reply(entries)))
            .collect();
        Replies {
            base_url: format!("http://{local}/000000000000/"),
            send,
        }
    }

    async fn answer(&self, request: Request<Incoming>) -> Response<Full<Bytes>> {
        let target = request
            .headers()
            .get("x-amz-target")
            .and_then(|value| value.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let body = match http_body_util::Limited::new(request.into_body(), BODY_MAX)
            .collect()
            .await
        {
            Ok(body) => body.to_bytes(),
            Err(_) => return reply(400, Bytes::from_static(b"{}")),
        };
        let action = target.strip_prefix("AmazonSQS.").unwrap_or("");
        match action {
            "SendMessageBatch" => {
                let entries = count_entries(&body).min(BATCH_ENTRIES_MAX);
                reply(200, self.send[entries].clone())
            }
            "CreateQueue" => {
                let name = serde_json::from_slice::<serde_json::Value>(&body)
                    .ok()
                    .and_then(|value| value["QueueName"].as_str().map(str::to_owned))
                    .unwrap_or_else(|| "null".to_owned());
                let json = serde_json::json!({ "QueueUrl": format!("{}{name}", self.base_url) });
                reply(200, Bytes::from(json.to_string()))
            }
            "ReceiveMessage" => {
                tokio::time::sleep(Duration::from_secs(1)).await;
                reply(200, Bytes::from_static(b"{}"))
            }
            _ => reply(200, Bytes::from_static(b"{}")),
        }
    }
}

fn reply(status: u16, body: Bytes) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = hyper::StatusCode::from_u16(status).expect("a valid status");
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/x-amz-json-1.0"),
    );
    response
}

/// Entries of a `SendMessageBatch` body: its `{"Id":` keys (loadgen's bodies hold no such text).
fn count_entries(body: &[u8]) -> usize {
    const KEY: &[u8] = b"{\"Id\":";
    body.windows(KEY.len())
        .filter(|window| *window == KEY)
        .count()
}

/// A `SendMessageBatch` success reply with ids `"0"`…: fixed message ids and MD5s (of nothing).
fn send_reply(entries: usize) -> String {
    let mut json = String::from("{\"Successful\":[");
    for index in 0..entries {
        if index > 0 {
            json.push(',');
        }
        json.push_str(&format!(
            "{{\"Id\":\"{index}\",\"MessageId\":\"00000000-0000-4000-8000-00000000000{index}\",\
             \"MD5OfMessageBody\":\"d41d8cd98f00b204e9800998ecf8427e\"}}"
        ));
    }
    json.push_str("],\"Failed\":[]}");
    json
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::Stamp;
    use crate::wire::{BatchReply, SendBatchTemplate};

    #[test]
    fn replies_have_one_success_per_entry() {
        for entries in [1, 10] {
            let mut template = SendBatchTemplate::new("u", entries, 4096, true);
            let first = Stamp {
                run_id: 1,
                producer: 2,
                sequence: 3,
                sent_unix_ns: 4,
            };
            let body = template.stamp(&first, |_| 5);
            assert_eq!(count_entries(&body), entries);
            let reply = send_reply(entries);
            let reply: BatchReply = serde_json::from_str(&reply).unwrap();
            assert_eq!(reply.successful.len(), entries);
            assert_eq!(reply.successful[entries - 1].id, (entries - 1).to_string());
        }
    }
}
