//! The targets a run can drive, behind one small interface: a `Target` is prepared once (queue,
//! stream or quorum queues created), hands out producers and consumers (each on its own
//! connection), and cleans up at the end. The workloads (`send`, `e2e`) are written once against
//! these traits, so every target is measured and counted the same way.
//!
//! - `sqs`: any SQS endpoint over AWS JSON 1.0 (Tern, moto, the null server), SigV4-signed.
//! - `nats`: NATS JetStream: a file-stored work-queue stream, acked publishes, a durable pull
//!   consumer with explicit acks.
//! - `rabbitmq`: RabbitMQ: a quorum queue, persistent messages with publisher confirms, manual
//!   acks with a prefetch.
//!
//! What "acknowledged" means differs (see `docs/benchmarks.md`), but each target uses the
//! strongest ordinary acknowledgement its protocol has.

use std::future::Future;

use anyhow::Result;

use crate::payload::Stamp;

pub mod nats;
pub mod rabbitmq;
pub mod sqs;

/// Receives of more than this many messages are split (SQS's batch limit; what other targets
/// hand over per receive).
pub const RECEIVE_MAX: usize = 10;

/// Messages a NATS or RabbitMQ consumer may hold unacknowledged ahead of its receives.
pub const PREFETCH: u16 = 100;

/// What became of one send of `entries` messages.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sent {
    /// Bit `i` is set if entry `i` was acknowledged.
    pub acked: u16,
    /// Entries that failed (refused, or part of a request that failed as a whole).
    pub failed: u64,
}

impl Sent {
    pub fn all_failed(entries: usize) -> Sent {
        Sent {
            acked: 0,
            failed: entries as u64,
        }
    }
}

pub trait Target: Send + Sync + 'static {
    type Producer: Producer;
    type Consumer: Consumer;

    /// Producer `index`, on its own connection.
    fn producer(&self, index: u32) -> impl Future<Output = Result<Self::Producer>> + Send;

    /// Consumer `index`, on its own connection, polling for up to `wait_time_s` per receive.
    fn consumer(
        &self,
        index: u32,
        wait_time_s: u32,
    ) -> impl Future<Output = Result<Self::Consumer>> + Send;

    /// The queue or stream the run uses.
    fn queue(&self) -> &str;

    /// Deletes what the run created (if asked to, or always for peers whose storage outlives
    /// the run); failures are logged, not fatal.
    fn finish(&self) -> impl Future<Output = ()> + Send;
}

pub trait Producer: Send + 'static {
    /// Sends `entries` (1..=10) messages stamped `first`, `first.sequence + 1`, … and waits for
    /// their acknowledgements. Failures are logged here and counted in the result.
    fn send(&mut self, first: Stamp, entries: usize) -> impl Future<Output = Sent> + Send;
}

pub trait Consumer: Send + 'static {
    /// One receive: waits up to the poll time for messages and appends the stamps of those that
    /// arrived (`None` for a body without a header). An error is a failed receive.
    fn receive(
        &mut self,
        stamps: &mut Vec<Option<Stamp>>,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Acknowledges (deletes) what the last receive returned; how many acknowledgements failed,
    /// of this one or of an earlier one still in flight when it was sent.
    fn ack(&mut self) -> impl Future<Output = u64> + Send;

    /// Waits for acknowledgements still in flight; how many of them failed.
    fn settle(&mut self) -> impl Future<Output = u64> + Send {
        std::future::ready(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sent_masks() {
        assert_eq!(
            Sent::all_failed(3),
            Sent {
                acked: 0,
                failed: 3
            }
        );
    }
}
