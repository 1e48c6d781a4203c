//! The end-to-end harness: a real `tern` process per test, an `aws-sdk-sqs` client pointed at it,
//! a raw HTTP/1.1 caller for requests the SDK refuses to build, and the AWS digest and error
//! tables the tests assert against.
//!
//! Every server is spawned on `127.0.0.1:0` with a fresh data directory and is killed when its
//! `TestServer` is dropped, so a failing test never leaves a process behind. Every wait here is
//! bounded (see the `*_TIMEOUT` constants).

#![allow(dead_code)] // Each test binary uses a different part of the harness.

mod raw;
#[allow(unused_imports)] // Only some test binaries speak raw HTTP.
pub use raw::{RawResponse, raw_call, raw_post};

use std::collections::HashMap;
use std::fmt::Debug;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_sdk_sqs::Client;
use aws_sdk_sqs::config::timeout::TimeoutConfig;
use aws_sdk_sqs::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_sqs::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sqs::types::{MessageAttributeValue, QueueAttributeName};
use md5::{Digest, Md5};
use tempfile::TempDir;

/// How long a server may take to print its `listening on` line.
pub const STARTUP_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a server may take to exit after SIGTERM.
pub const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);
/// Upper bound on one SDK call, long polls (20 s at most) included.
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(40);
/// Upper bound on one raw HTTP exchange.
pub const RAW_TIMEOUT: Duration = Duration::from_secs(30);

pub const DEFAULT_ACCOUNT_ID: &str = "000000000000";
pub const DEFAULT_REGION: &str = "us-east-1";
pub const ACCESS_KEY_ID: &str = "AKIDTERNTEST";

const LISTENING_PREFIX: &str = "listening on http://";

/// A running `tern serve` child process with its own data directory.
pub struct TestServer {
    child: Option<Child>,
    data_dir: TempDir,
    log_dir: TempDir,
    address: SocketAddr,
    account_id: String,
    extra_args: Vec<String>,
}

impl TestServer {
    /// Starts a server on an ephemeral port with a fresh data directory and the default account.
    pub fn start() -> Self {
        Self::start_with_args(&[])
    }

    /// Starts a server with `--account-id ACCOUNT_ID`.
    pub fn start_with_account(account_id: &str) -> Self {
        let mut server = Self::start_with_args(&["--account-id", account_id]);
        server.account_id = account_id.to_owned();
        server
    }

    pub fn start_with_args(extra_args: &[&str]) -> Self {
        let data_dir = tempfile::Builder::new()
            .prefix("tern-e2e-data-")
            .tempdir()
            .unwrap();
        let log_dir = tempfile::Builder::new()
            .prefix("tern-e2e-log-")
            .tempdir()
            .unwrap();
        let extra_args: Vec<String> = extra_args.iter().map(|arg| (*arg).to_owned()).collect();
        let (child, address) = spawn(
            data_dir.path(),
            "127.0.0.1:0",
            &extra_args,
            &log_path(&log_dir),
        );
        TestServer {
            child: Some(child),
            data_dir,
            log_dir,
            address,
            account_id: DEFAULT_ACCOUNT_ID.to_owned(),
            extra_args,
        }
    }

    pub fn port(&self) -> u16 {
        self.address.port()
    }

    pub fn account_id(&self) -> &str {
        &self.account_id
    }

    pub fn data_dir(&self) -> &Path {
        self.data_dir.path()
    }

    /// `http://127.0.0.1:PORT`, with no trailing slash.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The URL AWS would give queue `name` on this server.
    pub fn queue_url(&self, name: &str) -> String {
        format!("{}/{}/{}", self.endpoint(), self.account_id, name)
    }

    /// The ARN AWS would give queue `name` in `us-east-1`.
    pub fn queue_arn(&self, name: &str) -> String {
        format!("arn:aws:sqs:{DEFAULT_REGION}:{}:{name}", self.account_id)
    }

    /// An SDK client for this server in `us-east-1`.
    pub fn client(&self) -> Client {
        client_for(&self.endpoint(), DEFAULT_REGION)
    }

    /// An SDK client for this server that signs for `region`.
    pub fn client_in_region(&self, region: &str) -> Client {
        client_for(&self.endpoint(), region)
    }

    /// What the server wrote on stderr so far (all runs on this data directory).
    pub fn log(&self) -> String {
        std::fs::read_to_string(log_path(&self.log_dir)).unwrap_or_default()
    }

    /// Clean restart: SIGTERM, wait for a successful exit, start again on the same data directory
    /// and the same port.
    pub fn restart(&mut self) {
        let status = self.terminate();
        assert!(
            status.success(),
            "tern did not exit cleanly after SIGTERM: {status:?}\n--- server log ---\n{}",
            self.log()
        );
        let listen = self.address.to_string();
        let (child, address) = spawn(
            self.data_dir.path(),
            &listen,
            &self.extra_args,
            &log_path(&self.log_dir),
        );
        self.child = Some(child);
        self.address = address;
    }

    /// Crash restart: a real SIGKILL, then start again on the same data directory. The new
    /// process gets a new ephemeral port, so clients built before this call stop working.
    pub fn kill9(&mut self) {
        let mut child = self.child.take().expect("server is running");
        signal(&child, libc::SIGKILL);
        let status = wait_with_timeout(&mut child, SHUTDOWN_TIMEOUT).expect("SIGKILL is final");
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&status),
            Some(libc::SIGKILL),
            "tern was not killed by SIGKILL: {status:?}"
        );
        let (child, address) = spawn(
            self.data_dir.path(),
            "127.0.0.1:0",
            &self.extra_args,
            &log_path(&self.log_dir),
        );
        self.child = Some(child);
        self.address = address;
    }

    /// Sends SIGTERM and waits (bounded) for the process to exit.
    pub fn terminate(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("server is running");
        signal(&child, libc::SIGTERM);
        match wait_with_timeout(&mut child, SHUTDOWN_TIMEOUT) {
            Some(status) => status,
            None => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "tern did not exit within {SHUTDOWN_TIMEOUT:?} of SIGTERM\n--- server log ---\n{}",
                    self.log()
                );
            }
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::thread::panicking() {
            let log = self.log();
            let tail: String = tail_lines(&log, 60);
            eprintln!("--- tern server log (last lines) ---\n{tail}");
        }
    }
}

fn tail_lines(text: &str, count: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(count);
    lines[start..].join("\n")
}

fn log_path(log_dir: &TempDir) -> PathBuf {
    log_dir.path().join("server.log")
}

fn signal(child: &Child, signal: libc::c_int) {
    let pid = libc::pid_t::try_from(child.id()).expect("pid fits pid_t");
    // SAFETY: kill(2) with a pid we spawned and still own (not yet reaped).
    let result = unsafe { libc::kill(pid, signal) };
    assert_eq!(
        result,
        0,
        "kill({pid}, {signal}) failed: {}",
        std::io::Error::last_os_error()
    );
}

fn wait_with_timeout(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return Some(status);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Spawns `tern serve` and waits (bounded) for its `listening on` line.
fn spawn(data_dir: &Path, listen: &str, extra_args: &[String], log: &Path) -> (Child, SocketAddr) {
    let stderr: File = OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tern"))
        .arg("serve")
        .arg("--listen")
        .arg(listen)
        .arg("--data-dir")
        .arg(data_dir)
        .args(extra_args)
        .env("RUST_BACKTRACE", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(stderr))
        .spawn()
        .expect("spawn the tern binary");
    let stdout = child.stdout.take().expect("piped stdout");
    let (sender, receiver) = mpsc::channel::<String>();
    // The reader keeps draining stdout after the first line so the server never blocks on a
    // full pipe; it ends at EOF, when the process exits.
    std::thread::spawn(move || {
        let mut sender = Some(sender);
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if line.starts_with(LISTENING_PREFIX)
                && let Some(sender) = sender.take()
            {
                let _ = sender.send(line);
            }
        }
    });
    match receiver.recv_timeout(STARTUP_TIMEOUT) {
        Ok(line) => {
            let address = line[LISTENING_PREFIX.len()..].trim().trim_end_matches('/');
            let address: SocketAddr = address
                .parse()
                .unwrap_or_else(|error| panic!("bad listening line {line:?}: {error}"));
            assert!(
                address.ip().is_loopback(),
                "server must listen on loopback: {line}"
            );
            assert_ne!(
                address.port(),
                0,
                "server must print the port it bound: {line}"
            );
            (child, address)
        }
        Err(_) => {
            let _ = child.kill();
            let status = child.wait();
            let log = std::fs::read_to_string(log).unwrap_or_default();
            panic!(
                "tern printed no `{LISTENING_PREFIX}…` line within {STARTUP_TIMEOUT:?} \
                 (exit: {status:?})\n--- server log ---\n{}",
                tail_lines(&log, 60)
            );
        }
    }
}

/// The static credentials every test client (SQS, SNS, Step Functions) signs with.
pub fn test_credentials() -> Credentials {
    Credentials::new(
        ACCESS_KEY_ID,
        "tern-test-secret-key",
        None,
        None,
        "tern-e2e",
    )
}

/// A 5 s connect timeout and the given bound on a whole operation.
pub fn test_timeouts(operation: Duration) -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(5))
        .operation_timeout(operation)
        .build()
}

/// An SDK client for `endpoint` over plain HTTP, signing with static test credentials.
pub fn client_for(endpoint: &str, region: &str) -> Client {
    let config = aws_sdk_sqs::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_owned()))
        .credentials_provider(test_credentials())
        .endpoint_url(endpoint)
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .timeout_config(test_timeouts(OPERATION_TIMEOUT))
        .build();
    Client::from_conf(config)
}

/// An `aws-sdk-sns` client for `server`, set up as [`client_for`] sets up an SQS one.
pub fn sns_client(server: &TestServer) -> aws_sdk_sns::Client {
    let config = aws_sdk_sns::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(DEFAULT_REGION))
        .credentials_provider(test_credentials())
        .endpoint_url(server.endpoint())
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .timeout_config(test_timeouts(OPERATION_TIMEOUT))
        .build();
    aws_sdk_sns::Client::from_conf(config)
}

// ------------------------------------------------------------------------------------------------
// Small conveniences over the SDK.

/// Creates a queue with the given attributes and returns its URL.
pub async fn create_queue(
    client: &Client,
    name: &str,
    attributes: &[(QueueAttributeName, &str)],
) -> String {
    let mut request = client.create_queue().queue_name(name);
    for (key, value) in attributes {
        request = request.attributes(key.clone(), *value);
    }
    let output = request
        .send()
        .await
        .unwrap_or_else(|error| panic!("CreateQueue {name}: {error:?}"));
    output
        .queue_url()
        .expect("CreateQueue returns QueueUrl")
        .to_owned()
}

/// All attributes of a queue, keyed by their AWS names.
pub async fn queue_attributes(client: &Client, queue_url: &str) -> HashMap<String, String> {
    let output = client
        .get_queue_attributes()
        .queue_url(queue_url)
        .attribute_names(QueueAttributeName::All)
        .send()
        .await
        .unwrap_or_else(|error| panic!("GetQueueAttributes: {error:?}"));
    output
        .attributes()
        .map(|attributes| {
            attributes
                .iter()
                .map(|(key, value)| (key.as_str().to_owned(), value.clone()))
                .collect()
        })
        .unwrap_or_default()
}

/// The three `Approximate*` counters: (visible, not visible, delayed).
pub async fn counters(client: &Client, queue_url: &str) -> (u64, u64, u64) {
    let attributes = queue_attributes(client, queue_url).await;
    let read = |name: &str| -> u64 {
        attributes
            .get(name)
            .unwrap_or_else(|| panic!("GetQueueAttributes All lacks {name}: {attributes:?}"))
            .parse()
            .unwrap_or_else(|error| panic!("{name} is not a number: {error}"))
    };
    (
        read("ApproximateNumberOfMessages"),
        read("ApproximateNumberOfMessagesNotVisible"),
        read("ApproximateNumberOfMessagesDelayed"),
    )
}

/// Sends one message and returns its MessageId.
pub async fn send(client: &Client, queue_url: &str, body: &str) -> String {
    let output = client
        .send_message()
        .queue_url(queue_url)
        .message_body(body)
        .send()
        .await
        .unwrap_or_else(|error| panic!("SendMessage: {error:?}"));
    output
        .message_id()
        .expect("SendMessage returns MessageId")
        .to_owned()
}

/// One short receive (no long poll) of up to `max` messages with the given visibility timeout.
pub async fn receive(
    client: &Client,
    queue_url: &str,
    max: i32,
    visibility_timeout_s: Option<i32>,
) -> Vec<aws_sdk_sqs::types::Message> {
    let output = client
        .receive_message()
        .queue_url(queue_url)
        .max_number_of_messages(max)
        .set_visibility_timeout(visibility_timeout_s)
        .wait_time_seconds(0)
        .message_attribute_names("All")
        .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
        .send()
        .await
        .unwrap_or_else(|error| panic!("ReceiveMessage: {error:?}"));
    output.messages().to_vec()
}

/// Milliseconds since the Unix epoch, as SQS timestamps are.
pub fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis()
}

// ------------------------------------------------------------------------------------------------
// Digests, computed the way AWS computes them (the Rust SDK does not check them).

pub fn md5_hex(bytes: &[u8]) -> String {
    let digest = Md5::digest(bytes);
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// MD5OfMessageAttributes: attributes sorted by name; for each, length-prefixed (4-byte big
/// endian) name, length-prefixed data type, one transport byte (1 string, 2 binary) and the
/// length-prefixed value.
pub fn md5_of_attributes(attributes: &HashMap<String, MessageAttributeValue>) -> String {
    let mut names: Vec<&String> = attributes.keys().collect();
    names.sort();
    let mut buffer = Vec::new();
    let push = |bytes: &[u8], buffer: &mut Vec<u8>| {
        buffer.extend_from_slice(&u32::try_from(bytes.len()).unwrap().to_be_bytes());
        buffer.extend_from_slice(bytes);
    };
    for name in names {
        let value = &attributes[name];
        push(name.as_bytes(), &mut buffer);
        push(value.data_type().as_bytes(), &mut buffer);
        if let Some(binary) = value.binary_value() {
            buffer.push(2);
            push(binary.as_ref(), &mut buffer);
        } else {
            buffer.push(1);
            push(
                value.string_value().unwrap_or_default().as_bytes(),
                &mut buffer,
            );
        }
    }
    md5_hex(&buffer)
}

pub fn string_attribute(data_type: &str, value: &str) -> MessageAttributeValue {
    MessageAttributeValue::builder()
        .data_type(data_type)
        .string_value(value)
        .build()
        .unwrap()
}

pub fn binary_attribute(data_type: &str, value: &[u8]) -> MessageAttributeValue {
    MessageAttributeValue::builder()
        .data_type(data_type)
        .binary_value(aws_sdk_sqs::primitives::Blob::new(value.to_vec()))
        .build()
        .unwrap()
}

// ------------------------------------------------------------------------------------------------
// AWS errors: what the client must see.

/// One entry of the SQS error catalogue as seen on the AWS JSON 1.0 wire.
#[derive(Clone, Copy, Debug)]
pub struct AwsError {
    /// Accepted `__type` shape names (after `com.amazonaws.sqs#`). Modelled errors have exactly
    /// one; for the errors absent from the Smithy model (InvalidParameterValue, MissingParameter)
    /// both the query code and the `…Exception` spelling AWS uses are accepted.
    pub shapes: &'static [&'static str],
    /// The code in `x-amzn-query-error: CODE;Sender`, which is also what the SDK reports as
    /// `code()` and matches its typed variants on.
    pub query_code: &'static str,
    pub status: u16,
}

pub const QUEUE_DOES_NOT_EXIST: AwsError = AwsError {
    shapes: &["QueueDoesNotExist"],
    query_code: "AWS.SimpleQueueService.NonExistentQueue",
    status: 400,
};
pub const QUEUE_NAME_EXISTS: AwsError = AwsError {
    shapes: &["QueueNameExists"],
    query_code: "QueueAlreadyExists",
    status: 400,
};
pub const INVALID_PARAMETER_VALUE: AwsError = AwsError {
    shapes: &["InvalidParameterValue", "InvalidParameterValueException"],
    query_code: "InvalidParameterValue",
    status: 400,
};
pub const MISSING_PARAMETER: AwsError = AwsError {
    shapes: &["MissingParameter", "MissingRequiredParameterException"],
    query_code: "MissingParameter",
    status: 400,
};
pub const INVALID_ATTRIBUTE_NAME: AwsError = AwsError {
    shapes: &["InvalidAttributeName"],
    query_code: "InvalidAttributeName",
    status: 400,
};
pub const INVALID_ATTRIBUTE_VALUE: AwsError = AwsError {
    shapes: &["InvalidAttributeValue"],
    query_code: "InvalidAttributeValue",
    status: 400,
};
pub const INVALID_MESSAGE_CONTENTS: AwsError = AwsError {
    shapes: &["InvalidMessageContents"],
    query_code: "InvalidMessageContents",
    status: 400,
};
/// 404, not 400: the SQS Smithy model gives ReceiptHandleIsInvalid `httpError(404)` and
/// `awsQueryError(httpResponseCode: 404)`.
pub const RECEIPT_HANDLE_IS_INVALID: AwsError = AwsError {
    shapes: &["ReceiptHandleIsInvalid"],
    query_code: "ReceiptHandleIsInvalid",
    status: 404,
};
pub const MESSAGE_NOT_INFLIGHT: AwsError = AwsError {
    shapes: &["MessageNotInflight"],
    query_code: "AWS.SimpleQueueService.MessageNotInflight",
    status: 400,
};
pub const EMPTY_BATCH_REQUEST: AwsError = AwsError {
    shapes: &["EmptyBatchRequest"],
    query_code: "AWS.SimpleQueueService.EmptyBatchRequest",
    status: 400,
};
pub const TOO_MANY_ENTRIES_IN_BATCH_REQUEST: AwsError = AwsError {
    shapes: &["TooManyEntriesInBatchRequest"],
    query_code: "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
    status: 400,
};
pub const BATCH_ENTRY_IDS_NOT_DISTINCT: AwsError = AwsError {
    shapes: &["BatchEntryIdsNotDistinct"],
    query_code: "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
    status: 400,
};
pub const INVALID_BATCH_ENTRY_ID: AwsError = AwsError {
    shapes: &["InvalidBatchEntryId"],
    query_code: "AWS.SimpleQueueService.InvalidBatchEntryId",
    status: 400,
};
pub const BATCH_REQUEST_TOO_LONG: AwsError = AwsError {
    shapes: &["BatchRequestTooLong"],
    query_code: "AWS.SimpleQueueService.BatchRequestTooLong",
    status: 400,
};

impl AwsError {
    pub fn query_header(&self) -> String {
        format!("{};Sender", self.query_code)
    }

    fn accepts_type(&self, type_name: &str) -> bool {
        self.shapes
            .iter()
            .any(|shape| type_name == format!("com.amazonaws.sqs#{shape}"))
    }
}

/// What the client received for a failed call, captured from the SDK's raw response.
pub struct Failure<E> {
    pub error: E,
    pub status: u16,
    pub query_error: Option<String>,
    pub body: String,
}

impl<E: ProvideErrorMetadata + Debug> Failure<E> {
    pub fn code(&self) -> &str {
        self.error.code().unwrap_or("")
    }

    pub fn message(&self) -> &str {
        self.error.message().unwrap_or("")
    }

    /// The `__type` member of the JSON error body.
    pub fn type_name(&self) -> String {
        serde_json::from_str::<serde_json::Value>(&self.body)
            .ok()
            .and_then(|body| {
                body.get("__type")
                    .and_then(|value| value.as_str())
                    .map(str::to_owned)
            })
            .unwrap_or_default()
    }

    /// Asserts the status, `__type`, `x-amzn-query-error` and the SDK's code.
    pub fn assert_is(&self, expected: AwsError) {
        let context = format!(
            "expected {expected:?}; got status {} query-error {:?} body {} error {:?}",
            self.status, self.query_error, self.body, self.error
        );
        assert_eq!(self.status, expected.status, "HTTP status: {context}");
        assert!(
            expected.accepts_type(&self.type_name()),
            "__type: {context}"
        );
        assert_eq!(
            self.query_error.as_deref(),
            Some(expected.query_header().as_str()),
            "x-amzn-query-error: {context}"
        );
        assert_eq!(
            self.code(),
            expected.query_code,
            "SDK error code: {context}"
        );
        assert!(
            !self.message().is_empty(),
            "an AWS error carries a message: {context}"
        );
    }
}

/// Unwraps a failed SDK call into what the client saw; panics if it succeeded or never reached
/// the server.
pub fn failure<O: Debug, E: ProvideErrorMetadata + Debug + std::error::Error + 'static>(
    result: Result<O, SdkError<E, aws_sdk_sqs::config::http::HttpResponse>>,
) -> Failure<E> {
    match result {
        Ok(output) => panic!("expected an AWS error, the call succeeded: {output:?}"),
        Err(SdkError::ServiceError(context)) => {
            let raw = context.raw();
            let status = raw.status().as_u16();
            let query_error = raw.headers().get("x-amzn-query-error").map(str::to_owned);
            let body = raw
                .body()
                .bytes()
                .map(|bytes| String::from_utf8_lossy(bytes).into_owned())
                .unwrap_or_default();
            Failure {
                error: context.into_err(),
                status,
                query_error,
                body,
            }
        }
        Err(other) => panic!("expected an AWS service error, got {other:?}"),
    }
}
