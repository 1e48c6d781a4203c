//! Any SQS endpoint over AWS JSON 1.0: Tern, moto, the null server.
//!
//! Producers send `SendMessageBatch` (a FIFO queue's entries carry `MessageGroupId` and
//! `MessageDeduplicationId`); consumers long-poll `ReceiveMessage` (`MaxNumberOfMessages` 10) and
//! delete what they got with `DeleteMessageBatch`. A queue's group is locked while one of its
//! messages is in flight, and a consumer records what it received before deleting it, so the
//! order the tracker sees is the order the queue handed messages out.

use std::collections::VecDeque;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use bytes::Bytes;

use crate::client::{Connection, Endpoint};
use crate::payload::{self, Stamp};
use crate::peers::{Consumer, Producer, RECEIVE_MAX, Sent, Target};
use crate::run::{Run, log_error};
use crate::wire::{
    self, Action, BatchReply, CreateQueueReply, DeleteBatchWriter, ErrorReply, ReceiveReply,
    SendBatchTemplate,
};

pub struct SqsTarget {
    run: Arc<Run>,
    endpoint: Arc<Endpoint>,
    queue_name: String,
    queue_url: Arc<str>,
}

impl SqsTarget {
    /// Resolves the endpoint and creates the queue (CreateQueue returns the URL of an existing
    /// queue of that name), purging it if asked.
    pub async fn prepare(run: Arc<Run>) -> Result<SqsTarget> {
        let settings = &run.settings;
        let endpoint =
            Arc::new(Endpoint::resolve(&settings.endpoint, settings.credentials.clone()).await?);
        let mut queue_name = run.name.clone();
        if settings.fifo && !queue_name.ends_with(".fifo") {
            queue_name.push_str(".fifo");
        }
        let mut connection = Connection::open(endpoint.clone())
            .await
            .with_context(|| format!("cannot reach {}", endpoint.url))?;
        let reply = connection
            .call(
                Action::CreateQueue,
                wire::create_queue_body(&queue_name, settings.fifo),
            )
            .await?;
        if !reply.status.is_success() {
            bail!(
                "CreateQueue {queue_name}: {} {}",
                reply.status,
                ErrorReply::describe(&reply.body)
            );
        }
        let created: CreateQueueReply =
            serde_json::from_slice(&reply.body).context("CreateQueue reply has no QueueUrl")?;
        if settings.purge {
            let reply = connection
                .call(Action::PurgeQueue, wire::queue_url_body(&created.queue_url))
                .await?;
            if !reply.status.is_success() {
                // AWS allows one purge a minute; a refused purge should not stop the run.
                log_error(format_args!(
                    "PurgeQueue: {} {}",
                    reply.status,
                    ErrorReply::describe(&reply.body)
                ));
            }
        }
        Ok(SqsTarget {
            run,
            endpoint,
            queue_name,
            queue_url: created.queue_url.into(),
        })
    }
}

impl Target for SqsTarget {
    type Producer = SqsProducer;
    type Consumer = SqsConsumer;

    async fn producer(&self, index: u32) -> Result<SqsProducer> {
        let settings = &self.run.settings;
        Ok(SqsProducer {
            connection: Connection::open(self.endpoint.clone()).await?,
            template: SendBatchTemplate::new(
                &self.queue_url,
                settings.batch,
                settings.size,
                settings.fifo,
            ),
            run: self.run.clone(),
            queue_url: self.queue_url.clone(),
            index,
        })
    }

    async fn consumer(&self, _index: u32, wait_time_s: u32) -> Result<SqsConsumer> {
        let mut delete_lanes = VecDeque::new();
        for _ in 0..self.run.settings.delete_lanes().unwrap_or(0) {
            let connection = Connection::open(self.endpoint.clone()).await?;
            delete_lanes.push_back(DeleteLane::Idle(Box::new(connection)));
        }
        Ok(SqsConsumer {
            connection: Connection::open(self.endpoint.clone()).await?,
            receive: wire::receive_body(&self.queue_url, wait_time_s),
            deletes: DeleteBatchWriter::new(&self.queue_url),
            handles: Vec::with_capacity(RECEIVE_MAX),
            delete_lanes,
        })
    }

    fn queue(&self) -> &str {
        &self.queue_name
    }

    /// Deletes the queue if asked to (`--delete-queue`).
    async fn finish(&self) {
        if !self.run.settings.delete_queue {
            return;
        }
        let result = async {
            let mut connection = Connection::open(self.endpoint.clone()).await?;
            let reply = connection
                .call(Action::DeleteQueue, wire::queue_url_body(&self.queue_url))
                .await?;
            if !reply.status.is_success() {
                bail!("{} {}", reply.status, ErrorReply::describe(&reply.body));
            }
            Ok(())
        };
        if let Err(error) = result.await {
            log_error(format_args!("DeleteQueue {}: {error:#}", self.queue_name));
        }
    }
}

pub struct SqsProducer {
    connection: Connection,
    template: SendBatchTemplate,
    run: Arc<Run>,
    queue_url: Arc<str>,
    index: u32,
}

impl Producer for SqsProducer {
    async fn send(&mut self, first: Stamp, entries: usize) -> Sent {
        if entries != self.template.entries() {
            // Only the last, partial batch of a --messages run gets here.
            let settings = &self.run.settings;
            self.template =
                SendBatchTemplate::new(&self.queue_url, entries, settings.size, settings.fifo);
        }
        let (run, index) = (&self.run, self.index);
        let body = self
            .template
            .stamp(&first, |sequence| run.group_of(index, sequence));
        match self.connection.call(Action::SendMessageBatch, body).await {
            Ok(reply) if reply.status.is_success() => {
                read_send_reply(&reply.body, entries).unwrap_or(Sent::all_failed(entries))
            }
            Ok(reply) => {
                log_error(format_args!(
                    "SendMessageBatch: {} {}",
                    reply.status,
                    ErrorReply::describe(&reply.body)
                ));
                Sent::all_failed(entries)
            }
            Err(error) => {
                log_error(format_args!("{error:#}"));
                Sent::all_failed(entries)
            }
        }
    }
}

/// A successful `SendMessageBatch` reply's entries; `None` if it could not be read at all.
fn read_send_reply(body: &[u8], entries: usize) -> Option<Sent> {
    let reply: BatchReply = match serde_json::from_slice(body) {
        Ok(reply) => reply,
        Err(error) => {
            log_error(format_args!("SendMessageBatch reply: {error}"));
            return None;
        }
    };
    let mut sent = Sent::default();
    for entry in &reply.successful {
        match entry.id.parse::<usize>() {
            Ok(index) if index < entries => sent.acked |= 1 << index,
            _ => log_error(format_args!(
                "SendMessageBatch: unknown entry id {:?}",
                entry.id
            )),
        }
    }
    if let Some(failure) = reply.failed.first() {
        log_error(format_args!(
            "SendMessageBatch: {} of {entries} entries failed, e.g. {}: {}",
            reply.failed.len(),
            failure.id,
            failure.code
        ));
    }
    sent.failed = reply.failed.len() as u64;
    Some(sent)
}

pub struct SqsConsumer {
    connection: Connection,
    receive: Bytes,
    deletes: DeleteBatchWriter,
    /// Receipt handles of the last receive, to delete.
    handles: Vec<String>,
    /// Where deletes go unless `--await-deletes`: connections of their own, used in turn, so the
    /// next receive waits for a delete's reply only when `--deletes-in-flight` are out. Empty
    /// when deletes go inline.
    delete_lanes: VecDeque<DeleteLane>,
}

/// The delete in flight on a consumer's second connection, or that connection while idle.
enum DeleteLane {
    Idle(Box<Connection>),
    Busy(tokio::task::JoinHandle<(Box<Connection>, u64)>),
}

impl DeleteLane {
    /// Waits for the delete in flight, if any: the idle connection and how many entries failed.
    async fn settle(self) -> Result<(Box<Connection>, u64)> {
        match self {
            DeleteLane::Idle(connection) => Ok((connection, 0)),
            DeleteLane::Busy(task) => task.await.context("delete task"),
        }
    }
}

impl Consumer for SqsConsumer {
    async fn receive(&mut self, stamps: &mut Vec<Option<Stamp>>) -> Result<()> {
        let reply = self
            .connection
            .call(Action::ReceiveMessage, self.receive.clone())
            .await?;
        if !reply.status.is_success() {
            bail!(
                "ReceiveMessage: {} {}",
                reply.status,
                ErrorReply::describe(&reply.body)
            );
        }
        let reply: ReceiveReply =
            serde_json::from_slice(&reply.body).context("ReceiveMessage reply")?;
        for message in &reply.messages {
            stamps.push(payload::decode_header(message.body.as_bytes()));
            self.handles
                .push(message.receipt_handle.clone().into_owned());
        }
        Ok(())
    }

    async fn ack(&mut self) -> u64 {
        // A server that returns more than asked for still gets every message deleted.
        let batches: Vec<(Bytes, usize)> = self
            .handles
            .chunks(wire::BATCH_ENTRIES_MAX)
            .map(|chunk| {
                self.deletes.clear();
                for handle in chunk {
                    self.deletes.push(handle);
                }
                (self.deletes.body(), chunk.len())
            })
            .collect();
        self.handles.clear();
        // The lane used longest ago: busy only if every lane is.
        let settled = match self.delete_lanes.pop_front() {
            Some(lane) => lane.settle().await.map_err(|error| {
                // The lane's connection went down with its task: this delete goes inline and the
                // lane is dropped (once none is left, every delete does).
                log_error(format_args!("{error:#}"));
            }),
            None => Err(()),
        };
        let Ok((mut connection, failed_before)) = settled else {
            let mut failed = 0;
            for (body, entries) in batches {
                failed += delete(&mut self.connection, body, entries).await;
            }
            return failed;
        };
        self.delete_lanes
            .push_back(DeleteLane::Busy(tokio::spawn(async move {
                let mut failed = 0;
                for (body, entries) in batches {
                    failed += delete(&mut connection, body, entries).await;
                }
                (connection, failed)
            })));
        failed_before
    }

    async fn settle(&mut self) -> u64 {
        let mut failed = 0;
        for lane in std::mem::take(&mut self.delete_lanes) {
            match lane.settle().await {
                Ok((connection, lane_failed)) => {
                    self.delete_lanes.push_back(DeleteLane::Idle(connection));
                    failed += lane_failed;
                }
                // That lane's connection is gone; the others carry on.
                Err(error) => log_error(format_args!("{error:#}")),
            }
        }
        failed
    }
}

/// Deletes a batch; returns how many entries failed.
async fn delete(connection: &mut Connection, body: Bytes, entries: usize) -> u64 {
    let reply = match connection.call(Action::DeleteMessageBatch, body).await {
        Ok(reply) if reply.status.is_success() => reply,
        Ok(reply) => {
            log_error(format_args!(
                "DeleteMessageBatch: {} {}",
                reply.status,
                ErrorReply::describe(&reply.body)
            ));
            return entries as u64;
        }
        Err(error) => {
            log_error(format_args!("{error:#}"));
            return entries as u64;
        }
    };
    match serde_json::from_slice::<BatchReply>(&reply.body) {
        Ok(reply) => {
            if let Some(failure) = reply.failed.first() {
                log_error(format_args!(
                    "DeleteMessageBatch: {} entries failed, e.g. {}",
                    reply.failed.len(),
                    failure.code
                ));
            }
            reply.failed.len() as u64
        }
        Err(error) => {
            log_error(format_args!("DeleteMessageBatch reply: {error}"));
            entries as u64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_acknowledge_only_successful_entries() {
        let body = br#"{"Successful":[{"Id":"0"},{"Id":"2"},{"Id":"2"},{"Id":"9"}],
                        "Failed":[{"Id":"1","Code":"InternalError"}]}"#;
        let sent = read_send_reply(body, 3).unwrap();
        assert_eq!(sent.acked, 0b101); // a repeated id counts once; "9" is out of range
        assert_eq!(sent.failed, 1);
    }

    #[test]
    fn unreadable_replies_are_failures() {
        assert_eq!(read_send_reply(b"<xml/>", 10), None);
    }
}
