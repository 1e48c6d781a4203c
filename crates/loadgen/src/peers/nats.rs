//! NATS JetStream: a file-stored work-queue stream, acked publishes, durable pull consumers
//! with explicit acks.
//!
//! - The stream `<run name>` takes subjects `<run name>.>` and is deleted at the end of the run.
//! - A producer publishes `--batch` messages, then awaits every one's `PublishAck` (a window of
//!   `--batch`; 1 means publish-and-wait). JetStream acknowledges once the message is stored —
//!   in the file store's buffers, not necessarily fsynced (the server's `sync_interval`).
//! - Consumers share one durable pull consumer (`AckPolicy::Explicit`), each over its own
//!   connection, pulling up to `PREFETCH` messages ahead; a receive hands over what is ready (up
//!   to 10, waiting for the first at most `--wait-time`), and each message is acked after it is
//!   recorded.
//! - FIFO runs: one subject and one durable consumer per consumer task (a partition); every
//!   message group is pinned to one partition (`groups`), so a group is delivered in order to
//!   one consumer — JetStream has no per-group locking across consumers.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use async_nats::Subject;
use async_nats::jetstream::consumer::pull::{Config as PullConfig, Stream as PullStream};
use async_nats::jetstream::consumer::{AckPolicy, PullConsumer};
use async_nats::jetstream::stream::{Config as StreamConfig, RetentionPolicy, StorageType};
use async_nats::jetstream::{self, Context as JetStream, Message};
use bytes::Bytes;
use futures_util::{FutureExt, StreamExt};

use crate::payload::{self, Stamp};
use crate::peers::{Consumer, PREFETCH, Producer, RECEIVE_MAX, Sent, Target};
use crate::run::{Run, log_error};

/// How long a publish may wait for its ack, and setup calls for their replies.
const TIMEOUT: Duration = Duration::from_secs(30);

/// Unacknowledged messages a durable consumer allows in total.
const MAX_ACK_PENDING: i64 = 20_000;

pub struct NatsTarget {
    run: Arc<Run>,
    stream: String,
    partitions: u32,
    jetstream: JetStream,
}

async fn connect(url: &str) -> Result<JetStream> {
    let client = async_nats::ConnectOptions::new()
        .connection_timeout(Duration::from_secs(5))
        .request_timeout(Some(TIMEOUT))
        .connect(url)
        .await
        .with_context(|| format!("connecting to NATS at {url}"))?;
    Ok(jetstream::new(client))
}

fn consumer_name(partition: u32) -> String {
    format!("loadgen-{partition}")
}

impl NatsTarget {
    pub async fn prepare(run: Arc<Run>, partitions: u32) -> Result<NatsTarget> {
        let jetstream = connect(&run.settings.endpoint).await?;
        let stream = run.name.replace('.', "-");
        let created = jetstream
            .create_stream(StreamConfig {
                name: stream.clone(),
                subjects: vec![format!("{stream}.>")],
                retention: RetentionPolicy::WorkQueue,
                storage: StorageType::File,
                ..StreamConfig::default()
            })
            .await
            .with_context(|| format!("creating stream {stream}"))?;
        for partition in 0..partitions {
            let filter_subject = if run.settings.fifo {
                format!("{stream}.{partition}")
            } else {
                String::new()
            };
            created
                .create_consumer(PullConfig {
                    durable_name: Some(consumer_name(partition)),
                    ack_policy: AckPolicy::Explicit,
                    filter_subject,
                    max_ack_pending: MAX_ACK_PENDING,
                    ..PullConfig::default()
                })
                .await
                .with_context(|| format!("creating consumer {}", consumer_name(partition)))?;
        }
        Ok(NatsTarget {
            run,
            stream,
            partitions,
            jetstream,
        })
    }
}

impl Target for NatsTarget {
    type Producer = NatsProducer;
    type Consumer = NatsConsumer;

    async fn producer(&self, index: u32) -> Result<NatsProducer> {
        let subjects = if self.run.settings.fifo {
            (0..self.partitions)
                .map(|partition| Subject::from(format!("{}.{partition}", self.stream)))
                .collect()
        } else {
            vec![Subject::from(format!("{}.m", self.stream))]
        };
        let blank = Stamp {
            run_id: 0,
            producer: 0,
            sequence: 0,
            sent_unix_ns: 0,
        };
        Ok(NatsProducer {
            jetstream: connect(&self.run.settings.endpoint).await?,
            subjects,
            body: payload::body(&blank, self.run.settings.size),
            acks: Vec::with_capacity(self.run.settings.batch),
            run: self.run.clone(),
            index,
            partitions: self.partitions,
        })
    }

    async fn consumer(&self, index: u32, wait_time_s: u32) -> Result<NatsConsumer> {
        let jetstream = connect(&self.run.settings.endpoint).await?;
        let partition = index % self.partitions;
        let consumer: PullConsumer = jetstream
            .get_consumer_from_stream(consumer_name(partition), &self.stream)
            .await
            .context("binding the pull consumer")?;
        let messages = consumer
            .stream()
            .max_messages_per_batch(usize::from(PREFETCH))
            .messages()
            .await
            .context("starting to pull")?;
        Ok(NatsConsumer {
            messages,
            wait: Duration::from_secs(u64::from(wait_time_s.max(1))),
            pending: Vec::with_capacity(RECEIVE_MAX),
            _jetstream: jetstream,
        })
    }

    fn queue(&self) -> &str {
        &self.stream
    }

    /// Deletes the stream: JetStream keeps it (on disk) otherwise.
    async fn finish(&self) {
        if let Err(error) = self.jetstream.delete_stream(&self.stream).await {
            log_error(format_args!("deleting stream {}: {error}", self.stream));
        }
    }
}

pub struct NatsProducer {
    jetstream: JetStream,
    /// One subject, or one per partition (FIFO).
    subjects: Vec<Subject>,
    body: Vec<u8>,
    acks: Vec<jetstream::context::PublishAckFuture>,
    run: Arc<Run>,
    index: u32,
    partitions: u32,
}

impl Producer for NatsProducer {
    async fn send(&mut self, first: Stamp, entries: usize) -> Sent {
        let mut sent = Sent::default();
        self.acks.clear();
        let mut published = Vec::with_capacity(entries);
        for entry in 0..entries {
            let stamp = Stamp {
                sequence: first.sequence + entry as u64,
                ..first
            };
            payload::encode_header(&stamp, &mut self.body);
            let subject = match self.run.groups {
                Some(groups) => {
                    let group = groups.of(self.index, stamp.sequence);
                    &self.subjects[groups.partition(group, self.partitions) as usize]
                }
                None => &self.subjects[0],
            };
            let body = Bytes::copy_from_slice(&self.body);
            match self.jetstream.publish(subject.clone(), body).await {
                Ok(ack) => {
                    self.acks.push(ack);
                    published.push(entry);
                }
                Err(error) => {
                    log_error(format_args!("JetStream publish: {error}"));
                    sent.failed += 1;
                }
            }
        }
        for (ack, entry) in self.acks.drain(..).zip(published) {
            match tokio::time::timeout(TIMEOUT, ack).await {
                Ok(Ok(_)) => sent.acked |= 1 << entry,
                Ok(Err(error)) => {
                    log_error(format_args!("JetStream publish ack: {error}"));
                    sent.failed += 1;
                }
                Err(_) => {
                    log_error("JetStream publish ack timed out");
                    sent.failed += 1;
                }
            }
        }
        sent
    }
}

pub struct NatsConsumer {
    messages: PullStream,
    wait: Duration,
    pending: Vec<Message>,
    _jetstream: JetStream,
}

impl NatsConsumer {
    fn take(
        &mut self,
        next: Option<Result<Message, impl std::fmt::Display>>,
        stamps: &mut Vec<Option<Stamp>>,
    ) -> Result<bool> {
        match next {
            Some(Ok(message)) => {
                stamps.push(payload::decode_header(&message.payload));
                self.pending.push(message);
                Ok(true)
            }
            Some(Err(error)) => anyhow::bail!("JetStream pull: {error}"),
            None => anyhow::bail!("JetStream pull: the message stream ended"),
        }
    }
}

impl Consumer for NatsConsumer {
    async fn receive(&mut self, stamps: &mut Vec<Option<Stamp>>) -> Result<()> {
        let Ok(next) = tokio::time::timeout(self.wait, self.messages.next()).await else {
            return Ok(()); // nothing within the poll time
        };
        self.take(next, stamps)?;
        while self.pending.len() < RECEIVE_MAX {
            match self.messages.next().now_or_never() {
                Some(next) => {
                    self.take(next, stamps)?;
                }
                None => break,
            }
        }
        Ok(())
    }

    async fn ack(&mut self) -> u64 {
        let mut failed = 0;
        for message in self.pending.drain(..) {
            if let Err(error) = message.ack().await {
                log_error(format_args!("JetStream ack: {error}"));
                failed += 1;
            }
        }
        failed
    }
}
