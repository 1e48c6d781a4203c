//! RabbitMQ: quorum queues, persistent messages with publisher confirms, manual acks.
//!
//! - The queue `<run name>` is declared durable with `x-queue-type: quorum` and deleted at the
//!   end of the run. A quorum queue confirms a publish once the Raft log entry is written and
//!   fsynced (on a single node: on this node's disk).
//! - A producer's channel is in confirm mode; it publishes `--batch` persistent messages
//!   (`delivery_mode` 2) to the default exchange, then awaits every confirm (a window of
//!   `--batch`; 1 means publish-and-wait).
//! - Each consumer has its own connection and channel with a prefetch of `PREFETCH`; a receive
//!   hands over what has been delivered (up to 10, waiting for the first at most `--wait-time`),
//!   and acknowledges them with one `basic.ack` (`multiple`) after they are recorded.
//! - FIFO runs: one quorum queue per consumer (a partition), every message group pinned to one
//!   partition (`groups`), so a group is delivered in order to one consumer.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use futures_util::{FutureExt, StreamExt};
use lapin::message::Delivery;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, BasicQosOptions,
    ConfirmSelectOptions, QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties, PublisherConfirm};

use crate::payload::{self, Stamp};
use crate::peers::{Consumer, PREFETCH, Producer, RECEIVE_MAX, Sent, Target};
use crate::run::{Run, log_error};

/// How long a confirm, or a connection, may take.
const TIMEOUT: Duration = Duration::from_secs(30);

/// AMQP's persistent delivery mode.
const PERSISTENT: u8 = 2;

pub struct RabbitmqTarget {
    run: Arc<Run>,
    queues: Vec<String>,
    connection: Connection,
    channel: Channel,
}

async fn open(url: &str) -> Result<(Connection, Channel)> {
    let connect = Connection::connect(url, ConnectionProperties::default());
    let connection = tokio::time::timeout(TIMEOUT, connect)
        .await
        .context("connecting to RabbitMQ timed out")?
        .context("connecting to RabbitMQ")?;
    let channel = connection.create_channel().await?;
    Ok((connection, channel))
}

impl RabbitmqTarget {
    pub async fn prepare(run: Arc<Run>, partitions: u32) -> Result<RabbitmqTarget> {
        let (connection, channel) = open(&run.settings.endpoint).await?;
        let queues: Vec<String> = if run.settings.fifo {
            (0..partitions)
                .map(|partition| format!("{}-{partition}", run.name))
                .collect()
        } else {
            vec![run.name.clone()]
        };
        let mut arguments = FieldTable::default();
        arguments.insert(
            ShortString::from("x-queue-type"),
            AMQPValue::LongString("quorum".into()),
        );
        for queue in &queues {
            channel
                .queue_declare(
                    queue.as_str().into(),
                    QueueDeclareOptions {
                        durable: true,
                        ..QueueDeclareOptions::default()
                    },
                    arguments.clone(),
                )
                .await
                .with_context(|| format!("declaring quorum queue {queue}"))?;
        }
        Ok(RabbitmqTarget {
            run,
            queues,
            connection,
            channel,
        })
    }
}

impl Target for RabbitmqTarget {
    type Producer = RabbitmqProducer;
    type Consumer = RabbitmqConsumer;

    async fn producer(&self, index: u32) -> Result<RabbitmqProducer> {
        let (connection, channel) = open(&self.run.settings.endpoint).await?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .context("confirm.select")?;
        let blank = Stamp {
            run_id: 0,
            producer: 0,
            sequence: 0,
            sent_unix_ns: 0,
        };
        Ok(RabbitmqProducer {
            _connection: connection,
            channel,
            routing_keys: self
                .queues
                .iter()
                .map(|queue| queue.as_str().into())
                .collect(),
            body: payload::body(&blank, self.run.settings.size),
            confirms: Vec::with_capacity(self.run.settings.batch),
            run: self.run.clone(),
            index,
        })
    }

    async fn consumer(&self, index: u32, wait_time_s: u32) -> Result<RabbitmqConsumer> {
        let (connection, channel) = open(&self.run.settings.endpoint).await?;
        channel
            .basic_qos(PREFETCH, BasicQosOptions::default())
            .await
            .context("basic.qos")?;
        let queue = &self.queues[index as usize % self.queues.len()];
        let deliveries = channel
            .basic_consume(
                queue.as_str().into(),
                format!("loadgen-{index}").into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await
            .context("basic.consume")?;
        Ok(RabbitmqConsumer {
            _connection: connection,
            _channel: channel,
            deliveries,
            wait: Duration::from_secs(u64::from(wait_time_s.max(1))),
            last: None,
            count: 0,
        })
    }

    fn queue(&self) -> &str {
        &self.run.name
    }

    /// Deletes the queues: RabbitMQ keeps them (on disk) otherwise.
    async fn finish(&self) {
        for queue in &self.queues {
            if let Err(error) = self
                .channel
                .queue_delete(queue.as_str().into(), QueueDeleteOptions::default())
                .await
            {
                log_error(format_args!("deleting queue {queue}: {error}"));
            }
        }
        let _ = self.connection.close(200, "done".into()).await;
    }
}

pub struct RabbitmqProducer {
    _connection: Connection,
    channel: Channel,
    /// One queue, or one per partition (FIFO).
    routing_keys: Vec<ShortString>,
    body: Vec<u8>,
    confirms: Vec<(usize, PublisherConfirm)>,
    run: Arc<Run>,
    index: u32,
}

impl Producer for RabbitmqProducer {
    async fn send(&mut self, first: Stamp, entries: usize) -> Sent {
        let mut sent = Sent::default();
        self.confirms.clear();
        for entry in 0..entries {
            let stamp = Stamp {
                sequence: first.sequence + entry as u64,
                ..first
            };
            payload::encode_header(&stamp, &mut self.body);
            let routing_key = match self.run.groups {
                Some(groups) => {
                    let group = groups.of(self.index, stamp.sequence);
                    let partitions = self.routing_keys.len() as u32;
                    &self.routing_keys[groups.partition(group, partitions) as usize]
                }
                None => &self.routing_keys[0],
            };
            let published = self
                .channel
                .basic_publish(
                    ShortString::from(""),
                    routing_key.clone(),
                    BasicPublishOptions::default(),
                    &self.body,
                    BasicProperties::default().with_delivery_mode(PERSISTENT),
                )
                .await;
            match published {
                Ok(confirm) => self.confirms.push((entry, confirm)),
                Err(error) => {
                    log_error(format_args!("basic.publish: {error}"));
                    sent.failed += 1;
                }
            }
        }
        for (entry, confirm) in self.confirms.drain(..) {
            match tokio::time::timeout(TIMEOUT, confirm).await {
                Ok(Ok(confirmation)) if confirmation.is_ack() => sent.acked |= 1 << entry,
                Ok(Ok(_)) => {
                    log_error("publish nacked");
                    sent.failed += 1;
                }
                Ok(Err(error)) => {
                    log_error(format_args!("publisher confirm: {error}"));
                    sent.failed += 1;
                }
                Err(_) => {
                    log_error("publisher confirm timed out");
                    sent.failed += 1;
                }
            }
        }
        sent
    }
}

pub struct RabbitmqConsumer {
    _connection: Connection,
    _channel: Channel,
    deliveries: lapin::Consumer,
    wait: Duration,
    /// The last delivery of the last receive: acking it with `multiple` acks them all.
    last: Option<Delivery>,
    count: u64,
}

impl RabbitmqConsumer {
    fn take(
        &mut self,
        next: Option<lapin::Result<Delivery>>,
        stamps: &mut Vec<Option<Stamp>>,
    ) -> Result<()> {
        match next {
            Some(Ok(delivery)) => {
                stamps.push(payload::decode_header(&delivery.data));
                self.last = Some(delivery);
                self.count += 1;
                Ok(())
            }
            Some(Err(error)) => anyhow::bail!("RabbitMQ delivery: {error}"),
            None => anyhow::bail!("RabbitMQ: the consumer was cancelled"),
        }
    }
}

impl Consumer for RabbitmqConsumer {
    async fn receive(&mut self, stamps: &mut Vec<Option<Stamp>>) -> Result<()> {
        let Ok(next) = tokio::time::timeout(self.wait, self.deliveries.next()).await else {
            return Ok(()); // nothing within the poll time
        };
        self.take(next, stamps)?;
        while self.count < RECEIVE_MAX as u64 {
            match self.deliveries.next().now_or_never() {
                Some(next) => self.take(next, stamps)?,
                None => break,
            }
        }
        Ok(())
    }

    async fn ack(&mut self) -> u64 {
        let count = std::mem::take(&mut self.count);
        let Some(last) = self.last.take() else {
            return 0;
        };
        match last.acker.ack(BasicAckOptions { multiple: true }).await {
            Ok(_) => 0,
            Err(error) => {
                log_error(format_args!("basic.ack: {error}"));
                count
            }
        }
    }
}
