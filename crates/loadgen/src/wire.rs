//! The SQS actions loadgen speaks, over AWS JSON 1.0: request bodies and the parts of the replies
//! it reads.
//!
//! The hot path builds no JSON DOM. A producer's `SendMessageBatch` body is written once and then
//! only its fixed-width sequence headers are rewritten in place; the `ReceiveMessage` body never
//! changes; a `DeleteMessageBatch` body is appended into a reused buffer. Replies are parsed into
//! structs that borrow from the reply bytes and name only the fields loadgen needs (serde skips
//! the rest).

use std::borrow::Cow;

use bytes::Bytes;
use hyper::header::HeaderValue;
use serde::{Deserialize, Serialize};

use crate::payload::{self, HEADER_LEN, Stamp};

/// The operations loadgen calls; each maps to its `X-Amz-Target` value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    CreateQueue,
    PurgeQueue,
    DeleteQueue,
    SendMessageBatch,
    ReceiveMessage,
    DeleteMessageBatch,
}

impl Action {
    pub fn target(self) -> HeaderValue {
        HeaderValue::from_static(self.target_str())
    }

    pub fn target_str(self) -> &'static str {
        match self {
            Action::CreateQueue => "AmazonSQS.CreateQueue",
            Action::PurgeQueue => "AmazonSQS.PurgeQueue",
            Action::DeleteQueue => "AmazonSQS.DeleteQueue",
            Action::SendMessageBatch => "AmazonSQS.SendMessageBatch",
            Action::ReceiveMessage => "AmazonSQS.ReceiveMessage",
            Action::DeleteMessageBatch => "AmazonSQS.DeleteMessageBatch",
        }
    }
}

/// Most entries a batch action accepts (SQS's limit, and the width of the single-digit ids).
pub const BATCH_ENTRIES_MAX: usize = 10;

/// A `SendMessageBatch` body built once per producer and re-stamped for every request.
pub struct SendBatchTemplate {
    json: Vec<u8>,
    /// Where each entry's `MessageBody` (and so its header) starts in `json`.
    header_offsets: Vec<usize>,
    /// FIFO batches: where each entry's `MessageGroupId` and `MessageDeduplicationId` values
    /// start (both fixed-width, rewritten in place).
    fifo_offsets: Vec<(usize, usize)>,
}

/// `MessageGroupId` values: `g` and 8 hex digits.
const GROUP_ID_LEN: usize = 9;
/// `MessageDeduplicationId` values: the header's run, producer and sequence fields.
const DEDUPLICATION_ID_LEN: usize = 8 + 1 + 8 + 1 + 16;

impl SendBatchTemplate {
    /// A batch of `entries` messages of `body_size` bytes each, ids `"0"`, `"1"`, …; with
    /// `fifo`, each entry also carries a group id and a deduplication id.
    pub fn new(queue_url: &str, entries: usize, body_size: usize, fifo: bool) -> Self {
        assert!((1..=BATCH_ENTRIES_MAX).contains(&entries));
        assert!(body_size >= HEADER_LEN);
        let blank = Stamp {
            run_id: 0,
            producer: 0,
            sequence: 0,
            sent_unix_ns: 0,
        };
        let body = payload::body(&blank, body_size);
        let mut json = Vec::with_capacity(64 + queue_url.len() + entries * (120 + body_size));
        json.extend_from_slice(b"{\"QueueUrl\":");
        write_json_string(&mut json, queue_url);
        json.extend_from_slice(b",\"Entries\":[");
        let mut header_offsets = Vec::with_capacity(entries);
        let mut fifo_offsets = Vec::new();
        for index in 0..entries {
            if index > 0 {
                json.push(b',');
            }
            json.extend_from_slice(format!("{{\"Id\":\"{index}\",").as_bytes());
            if fifo {
                json.extend_from_slice(b"\"MessageGroupId\":\"");
                let group = json.len();
                json.extend_from_slice(&[b'0'; GROUP_ID_LEN]);
                json.extend_from_slice(b"\",\"MessageDeduplicationId\":\"");
                let deduplication = json.len();
                json.extend_from_slice(&[b'0'; DEDUPLICATION_ID_LEN]);
                json.extend_from_slice(b"\",");
                fifo_offsets.push((group, deduplication));
            }
            json.extend_from_slice(b"\"MessageBody\":\"");
            header_offsets.push(json.len());
            json.extend_from_slice(&body); // hex digits, dots and padding: nothing to escape
            json.extend_from_slice(b"\"}");
        }
        json.extend_from_slice(b"]}");
        SendBatchTemplate {
            json,
            header_offsets,
            fifo_offsets,
        }
    }

    pub fn entries(&self) -> usize {
        self.header_offsets.len()
    }

    /// Stamps entry `i` with `first.sequence + i` (and, in a FIFO batch, the group `group_of`
    /// gives that sequence) and returns the request body.
    pub fn stamp(&mut self, first: &Stamp, group_of: impl Fn(u64) -> u32) -> Bytes {
        for (index, &offset) in self.header_offsets.iter().enumerate() {
            let stamp = Stamp {
                sequence: first.sequence + index as u64,
                ..*first
            };
            payload::encode_header(&stamp, &mut self.json[offset..]);
            if let Some(&(group, deduplication)) = self.fifo_offsets.get(index) {
                self.json[group] = b'g';
                payload::write_hex(
                    &mut self.json[group + 1..group + GROUP_ID_LEN],
                    u64::from(group_of(stamp.sequence)),
                );
                // The header's first three fields: unique per run, producer and sequence.
                self.json
                    .copy_within(offset..offset + DEDUPLICATION_ID_LEN, deduplication);
            }
        }
        Bytes::copy_from_slice(&self.json)
    }
}

/// The constant `ReceiveMessage` body a consumer sends on every poll.
pub fn receive_body(queue_url: &str, wait_time_s: u32) -> Bytes {
    let request = ReceiveRequest {
        queue_url,
        max_number_of_messages: BATCH_ENTRIES_MAX as u32,
        wait_time_s,
        message_system_attribute_names: &["SentTimestamp"],
    };
    Bytes::from(serde_json::to_vec(&request).expect("a struct of strings serializes"))
}

#[derive(Serialize)]
struct ReceiveRequest<'a> {
    #[serde(rename = "QueueUrl")]
    queue_url: &'a str,
    #[serde(rename = "MaxNumberOfMessages")]
    max_number_of_messages: u32,
    #[serde(rename = "WaitTimeSeconds")]
    wait_time_s: u32,
    #[serde(rename = "MessageSystemAttributeNames")]
    message_system_attribute_names: &'a [&'a str],
}

/// A `DeleteMessageBatch` body, appended into a buffer the consumer keeps.
pub struct DeleteBatchWriter {
    json: Vec<u8>,
    prefix_len: usize,
    entries: usize,
}

impl DeleteBatchWriter {
    pub fn new(queue_url: &str) -> Self {
        let mut json = Vec::with_capacity(4096);
        json.extend_from_slice(b"{\"QueueUrl\":");
        write_json_string(&mut json, queue_url);
        json.extend_from_slice(b",\"Entries\":[");
        let prefix_len = json.len();
        DeleteBatchWriter {
            json,
            prefix_len,
            entries: 0,
        }
    }

    /// Starts a new batch, keeping the buffer.
    pub fn clear(&mut self) {
        self.json.truncate(self.prefix_len);
        self.entries = 0;
    }

    pub fn push(&mut self, receipt_handle: &str) {
        assert!(self.entries < BATCH_ENTRIES_MAX);
        if self.entries > 0 {
            self.json.push(b',');
        }
        self.json.extend_from_slice(b"{\"Id\":\"");
        self.json.push(b'0' + self.entries as u8);
        self.json.extend_from_slice(b"\",\"ReceiptHandle\":");
        write_json_string(&mut self.json, receipt_handle);
        self.json.push(b'}');
        self.entries += 1;
    }

    pub fn body(&self) -> Bytes {
        let mut json = Vec::with_capacity(self.json.len() + 2);
        json.extend_from_slice(&self.json);
        json.extend_from_slice(b"]}");
        Bytes::from(json)
    }
}

/// `{"QueueName": name}`, for `CreateQueue`; a FIFO queue also gets `FifoQueue` (and explicit
/// deduplication ids, so `ContentBasedDeduplication` stays off).
pub fn create_queue_body(name: &str, fifo: bool) -> Bytes {
    let mut json = b"{\"QueueName\":".to_vec();
    write_json_string(&mut json, name);
    if fifo {
        json.extend_from_slice(b",\"Attributes\":{\"FifoQueue\":\"true\"}");
    }
    json.push(b'}');
    Bytes::from(json)
}

/// `{"QueueUrl": url}`, for `PurgeQueue` and `DeleteQueue`.
pub fn queue_url_body(url: &str) -> Bytes {
    let mut json = b"{\"QueueUrl\":".to_vec();
    write_json_string(&mut json, url);
    json.push(b'}');
    Bytes::from(json)
}

fn write_json_string(out: &mut Vec<u8>, value: &str) {
    serde_json::to_writer(out, value).expect("writing to a Vec cannot fail");
}

#[derive(Deserialize)]
pub struct CreateQueueReply {
    #[serde(rename = "QueueUrl")]
    pub queue_url: String,
}

/// A `SendMessageBatch` or `DeleteMessageBatch` reply: which entries worked, which did not.
#[derive(Deserialize)]
pub struct BatchReply<'a> {
    #[serde(rename = "Successful", default, borrow)]
    pub successful: Vec<BatchEntryId<'a>>,
    #[serde(rename = "Failed", default, borrow)]
    pub failed: Vec<BatchFailure<'a>>,
}

#[derive(Deserialize)]
pub struct BatchEntryId<'a> {
    #[serde(rename = "Id", borrow)]
    pub id: Cow<'a, str>,
}

#[derive(Deserialize)]
pub struct BatchFailure<'a> {
    #[serde(rename = "Id", borrow)]
    pub id: Cow<'a, str>,
    #[serde(rename = "Code", default, borrow)]
    pub code: Cow<'a, str>,
}

#[derive(Deserialize)]
pub struct ReceiveReply<'a> {
    #[serde(rename = "Messages", default, borrow)]
    pub messages: Vec<ReceivedMessage<'a>>,
}

#[derive(Deserialize)]
pub struct ReceivedMessage<'a> {
    #[serde(rename = "Body", borrow)]
    pub body: Cow<'a, str>,
    #[serde(rename = "ReceiptHandle", borrow)]
    pub receipt_handle: Cow<'a, str>,
}

/// An AWS JSON 1.0 error reply (`__type` and `message`), for diagnostics.
#[derive(Deserialize, Default)]
pub struct ErrorReply {
    #[serde(rename = "__type", default)]
    pub error_type: String,
    #[serde(default, alias = "Message")]
    pub message: String,
}

impl ErrorReply {
    /// A one-line description of a failed reply's body, whatever its shape.
    pub fn describe(body: &[u8]) -> String {
        match serde_json::from_slice::<ErrorReply>(body) {
            Ok(reply) if !reply.error_type.is_empty() => {
                format!("{}: {}", reply.error_type, reply.message)
            }
            _ => String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize, Debug, PartialEq)]
    struct SendEntry {
        #[serde(rename = "Id")]
        id: String,
        #[serde(rename = "MessageBody")]
        message_body: String,
    }

    #[derive(Deserialize, Debug)]
    struct SendRequest {
        #[serde(rename = "QueueUrl")]
        queue_url: String,
        #[serde(rename = "Entries")]
        entries: Vec<SendEntry>,
    }

    #[test]
    fn send_template_is_valid_json_with_stamped_headers() {
        let url = "http://127.0.0.1:9324/000000000000/q\"uoted";
        let mut template = SendBatchTemplate::new(url, 3, 60, false);
        let first = Stamp {
            run_id: 1,
            producer: 2,
            sequence: 40,
            sent_unix_ns: 99,
        };
        let json = template.stamp(&first, |_| unreachable!("not FIFO"));
        let request: SendRequest = serde_json::from_slice(&json).unwrap();
        assert_eq!(request.queue_url, url);
        assert_eq!(request.entries.len(), 3);
        for (index, entry) in request.entries.iter().enumerate() {
            assert_eq!(entry.id, index.to_string());
            assert_eq!(entry.message_body.len(), 60);
            let stamp = payload::decode_header(entry.message_body.as_bytes()).unwrap();
            assert_eq!(stamp.sequence, 40 + index as u64);
            assert_eq!(
                (stamp.run_id, stamp.producer, stamp.sent_unix_ns),
                (1, 2, 99)
            );
        }
        // Re-stamping rewrites the same bytes: the body keeps its length.
        let again = template.stamp(
            &Stamp {
                sequence: 43,
                ..first
            },
            |_| 0,
        );
        assert_eq!(again.len(), json.len());
    }

    #[derive(Deserialize, Debug)]
    struct FifoEntry {
        #[serde(rename = "Id")]
        id: String,
        #[serde(rename = "MessageGroupId")]
        group: String,
        #[serde(rename = "MessageDeduplicationId")]
        deduplication: String,
        #[serde(rename = "MessageBody")]
        message_body: String,
    }

    #[derive(Deserialize, Debug)]
    struct FifoRequest {
        #[serde(rename = "Entries")]
        entries: Vec<FifoEntry>,
    }

    #[test]
    fn fifo_template_carries_groups_and_deduplication_ids() {
        let mut template = SendBatchTemplate::new("u", 2, 52, true);
        let first = Stamp {
            run_id: 0xab,
            producer: 3,
            sequence: 0x10,
            sent_unix_ns: 7,
        };
        let json = template.stamp(&first, |sequence| sequence as u32 * 2);
        let request: FifoRequest = serde_json::from_slice(&json).unwrap();
        assert_eq!(request.entries.len(), 2);
        assert_eq!(request.entries[1].id, "1");
        assert_eq!(request.entries[0].group, "g00000020");
        assert_eq!(request.entries[1].group, "g00000022");
        assert_eq!(
            request.entries[1].deduplication,
            "000000ab.00000003.0000000000000011"
        );
        assert!(
            request.entries[1]
                .message_body
                .starts_with("000000ab.00000003.0000000000000011.")
        );
        assert_eq!(
            &create_queue_body("q.fifo", true)[..],
            br#"{"QueueName":"q.fifo","Attributes":{"FifoQueue":"true"}}"#
        );
        assert_eq!(&create_queue_body("q", false)[..], br#"{"QueueName":"q"}"#);
    }

    #[test]
    fn delete_writer_escapes_handles_and_reuses_its_buffer() {
        let mut writer = DeleteBatchWriter::new("u");
        writer.push("a\"b");
        writer.push("c\\d");
        assert_eq!(
            &writer.body()[..],
            br#"{"QueueUrl":"u","Entries":[{"Id":"0","ReceiptHandle":"a\"b"},{"Id":"1","ReceiptHandle":"c\\d"}]}"#
        );
        writer.clear();
        writer.push("e");
        assert_eq!(
            &writer.body()[..],
            br#"{"QueueUrl":"u","Entries":[{"Id":"0","ReceiptHandle":"e"}]}"#
        );
    }

    #[test]
    fn receive_body_asks_for_sent_timestamp() {
        assert_eq!(
            &receive_body("u", 1)[..],
            br#"{"QueueUrl":"u","MaxNumberOfMessages":10,"WaitTimeSeconds":1,"MessageSystemAttributeNames":["SentTimestamp"]}"#
        );
    }

    #[test]
    fn replies_parse_only_what_is_needed() {
        let reply: BatchReply = serde_json::from_slice(
            br#"{"Successful":[{"Id":"0","MessageId":"m","MD5OfMessageBody":"x"}],
                 "Failed":[{"Id":"1","Code":"InternalError","SenderFault":false}]}"#,
        )
        .unwrap();
        assert_eq!(reply.successful.len(), 1);
        assert_eq!(reply.failed[0].id, "1");
        assert_eq!(reply.failed[0].code, "InternalError");

        let empty: BatchReply = serde_json::from_slice(b"{}").unwrap();
        assert!(empty.successful.is_empty() && empty.failed.is_empty());

        let received: ReceiveReply = serde_json::from_slice(
            br#"{"Messages":[{"MessageId":"m","ReceiptHandle":"r\/1","Body":"b",
                 "Attributes":{"SentTimestamp":"1"}}]}"#,
        )
        .unwrap();
        assert_eq!(received.messages[0].receipt_handle, "r/1");
        assert_eq!(received.messages[0].body, "b");
    }

    #[test]
    fn errors_are_described() {
        assert_eq!(
            ErrorReply::describe(
                br#"{"__type":"com.amazonaws.sqs#QueueDoesNotExist","message":"no"}"#
            ),
            "com.amazonaws.sqs#QueueDoesNotExist: no"
        );
        assert_eq!(ErrorReply::describe(b"oops"), "oops");
    }
}
