//! Command-line options, their limits, and the validated settings a run uses.
//!
//! Everything a run does is bounded: how long producers send, how many messages they may send,
//! how many connections and tasks exist, how long the drain waits. The limits are named constants
//! (units last) and out-of-range options are refused, not clamped, so a report never describes
//! a run other than the one asked for.

use std::time::Duration;

use anyhow::{Result, ensure};
use clap::{Args, Parser, Subcommand};

use crate::payload::HEADER_LEN;
use crate::sign::Credentials;
use crate::wire::BATCH_ENTRIES_MAX;

pub const CONNECTIONS_MAX: usize = 1024;
pub const PRODUCERS_MAX: usize = 256;
pub const CONSUMERS_MAX: usize = 256;
pub const THREADS_MAX: usize = 64;
/// SQS's largest message.
pub const SIZE_MAX: usize = 1024 * 1024;
pub const DURATION_S_MAX: u64 = 3600;
/// The time limit when `--messages` is given without `--duration`.
pub const DURATION_S_WITH_MESSAGES: u64 = 300;
pub const DURATION_S_DEFAULT: u64 = 10;
/// Most messages one run may send; also bounds the bitsets that track them (12.5 MB each way).
pub const MESSAGES_MAX: u64 = 100_000_000;
pub const DRAIN_S_MAX: u64 = 300;
/// SQS's longest long poll.
pub const WAIT_TIME_S_MAX: u32 = 20;
pub const GROUPS_DEFAULT: u32 = 64;
pub const GROUPS_MAX: u32 = 100_000;
/// Paced runs: from one message a second to a million.
pub const RATE_MIN: f64 = 1.0;
pub const RATE_MAX: f64 = 1_000_000.0;

#[derive(Parser, Debug)]
#[command(
    name = "loadgen",
    version,
    about = "Drive an SQS-compatible endpoint (AWS JSON 1.0) and print one JSON line of results"
)]
pub struct Cli {
    #[command(subcommand)]
    pub mode: Mode,
}

#[derive(Subcommand, Debug)]
pub enum Mode {
    /// Send throughput: each connection sends SendMessageBatch back to back.
    Send {
        /// HTTP/1.1 connections, one sending task each.
        #[arg(long, default_value_t = 4)]
        connections: usize,
        #[command(flatten)]
        common: CommonArgs,
    },
    /// End to end: producers send while consumers long-poll, check and delete.
    E2e {
        /// Sending tasks, one connection each.
        #[arg(long, default_value_t = 4)]
        producers: usize,
        /// Receiving (and deleting) tasks, one connection each.
        #[arg(long, default_value_t = 4)]
        consumers: usize,
        /// Seconds to keep receiving after the producers stop before counting what is missing
        /// as lost (the drain ends earlier once everything acknowledged has arrived).
        #[arg(long = "drain", default_value_t = 10)]
        drain_s: u64,
        /// WaitTimeSeconds of each ReceiveMessage.
        #[arg(long = "wait-time", default_value_t = 1)]
        wait_time_s: u32,
        #[command(flatten)]
        common: CommonArgs,
    },
    /// Drain an existing backlog (SQS): consumers receive and delete until `--messages` have
    /// arrived, reporting receive latency window by window and the time to the first receive
    /// (connection attempts are retried, so it can start together with a restarting server).
    Drain {
        /// Receiving (and deleting) tasks, one connection each.
        #[arg(long, default_value_t = 4)]
        consumers: usize,
        /// WaitTimeSeconds of each ReceiveMessage.
        #[arg(long = "wait-time", default_value_t = 1)]
        wait_time_s: u32,
        /// Seconds per latency window in the report.
        #[arg(long = "window", default_value_t = 10)]
        window_s: u64,
        #[command(flatten)]
        common: CommonArgs,
    },
    /// A do-nothing SQS endpoint for measuring the harness itself: answers every
    /// SendMessageBatch with one success entry per request entry, stores nothing.
    NullServer {
        /// Where to listen; port 0 picks a free one (printed as `listening on http://ADDR`).
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: String,
        /// Seconds to serve before exiting by itself.
        #[arg(long = "duration", default_value_t = 3600)]
        duration_s: u64,
    },
}

#[derive(Args, Debug)]
pub struct CommonArgs {
    /// The only address loadgen connects to (http:// only).
    /// `http://HOST:PORT` for an SQS endpoint (AWS JSON 1.0), `nats://HOST:PORT` for NATS
    /// JetStream, `amqp://USER:PASS@HOST:PORT/%2f` for RabbitMQ (a quorum queue).
    #[arg(long, default_value = "http://127.0.0.1:9324")]
    pub endpoint: String,
    /// A name for the target, copied into the report's `label` (e.g. `tern`, `moto`).
    #[arg(long)]
    pub label: Option<String>,
    /// Queue to use (created if missing); default: a fresh `loadgen-<run id>`.
    #[arg(long)]
    pub queue: Option<String>,
    /// PurgeQueue before the run.
    #[arg(long)]
    pub purge: bool,
    /// DeleteQueue after the run.
    #[arg(long)]
    pub delete_queue: bool,
    /// SQS consumers wait for each DeleteMessageBatch reply before polling again. By default a
    /// consumer keeps its deletes in flight (on connections of their own) while it polls, as NATS
    /// and RabbitMQ consumers do with their acks, which neither protocol confirms.
    #[arg(long, conflicts_with = "deletes_in_flight")]
    pub await_deletes: bool,
    /// DeleteMessageBatch calls an SQS consumer keeps in flight at most, each on its own
    /// connection, before it waits for the oldest (AWS's buffered SQS client allows 5 outbound
    /// batches by default).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=16))]
    pub deletes_in_flight: u32,
    /// Messages per SendMessageBatch (SQS); publishes in flight before awaiting their acks or
    /// confirms (NATS, RabbitMQ).
    #[arg(long, default_value_t = 10)]
    pub batch: usize,
    /// A FIFO queue (SQS: `NAME.fifo` with MessageGroupId and MessageDeduplicationId; NATS and
    /// RabbitMQ: one stream subject or quorum queue per consumer, groups spread over them), and
    /// out-of-order receipts within a group counted as faults.
    #[arg(long)]
    pub fifo: bool,
    /// Message groups (with --fifo): each producer owns groups p, p + P, p + 2P, … and sends to
    /// them round robin. At least --producers (or --connections).
    #[arg(long, default_value_t = GROUPS_DEFAULT)]
    pub groups: u32,
    /// Paced, open-loop sending: this many messages per second in total, on a fixed schedule
    /// whatever the replies; latency counts from the scheduled time. 0: as fast as possible.
    #[arg(long, default_value_t = 0.0)]
    pub rate: f64,
    /// Bytes per message body (at least the 52-byte sequence header).
    #[arg(long, default_value_t = 100)]
    pub size: usize,
    /// Seconds to send for [default: 10, or 300 with --messages].
    #[arg(long = "duration")]
    pub duration_s: Option<u64>,
    /// Stop after sending this many messages in total (acknowledged or not).
    #[arg(long)]
    pub messages: Option<u64>,
    /// Runtime worker threads for loadgen itself (the server wants the other cores).
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Access key id named in the Authorization header's credential scope.
    #[arg(long, default_value = "test")]
    pub access_key_id: String,
    /// Secret access key requests are signed with (SigV4).
    #[arg(long, default_value = "test")]
    pub secret_access_key: String,
    /// Region named in the Authorization header's credential scope.
    #[arg(long, default_value = "us-east-1")]
    pub region: String,
}

/// Validated settings shared by both modes.
#[derive(Debug, Clone)]
pub struct Settings {
    pub endpoint: String,
    pub kind: Kind,
    pub label: Option<String>,
    pub fifo: bool,
    pub groups: u32,
    /// Messages per second in total; `None`: unpaced.
    pub rate: Option<f64>,
    pub queue: Option<String>,
    pub purge: bool,
    pub delete_queue: bool,
    pub await_deletes: bool,
    pub deletes_in_flight: usize,
    pub batch: usize,
    pub size: usize,
    pub time_limit: Duration,
    pub messages: u64,
    pub threads: usize,
    pub credentials: Credentials,
}

impl Settings {
    pub fn from_args(args: CommonArgs) -> Result<Settings> {
        ensure!(
            (1..=BATCH_ENTRIES_MAX).contains(&args.batch),
            "--batch must be 1..={BATCH_ENTRIES_MAX}"
        );
        ensure!(
            (HEADER_LEN..=SIZE_MAX).contains(&args.size),
            "--size must be {HEADER_LEN}..={SIZE_MAX} bytes (the body starts with a \
             {HEADER_LEN}-byte sequence header)"
        );
        ensure!(
            (1..=THREADS_MAX).contains(&args.threads),
            "--threads must be 1..={THREADS_MAX}"
        );
        let duration_s = match (args.duration_s, args.messages) {
            (Some(duration_s), _) => duration_s,
            (None, Some(_)) => DURATION_S_WITH_MESSAGES,
            (None, None) => DURATION_S_DEFAULT,
        };
        ensure!(
            (1..=DURATION_S_MAX).contains(&duration_s),
            "--duration must be 1..={DURATION_S_MAX} s"
        );
        let kind = Kind::of_endpoint(&args.endpoint)?;
        ensure!(
            (1..=GROUPS_MAX).contains(&args.groups),
            "--groups must be 1..={GROUPS_MAX}"
        );
        ensure!(
            args.rate == 0.0 || (RATE_MIN..=RATE_MAX).contains(&args.rate),
            "--rate must be 0 (unpaced) or {RATE_MIN}..={RATE_MAX} messages per second"
        );
        let messages = args.messages.unwrap_or(MESSAGES_MAX);
        ensure!(
            (1..=MESSAGES_MAX).contains(&messages),
            "--messages must be 1..={MESSAGES_MAX}"
        );
        Ok(Settings {
            endpoint: args.endpoint,
            kind,
            label: args.label,
            fifo: args.fifo,
            groups: args.groups,
            rate: (args.rate > 0.0).then_some(args.rate),
            queue: args.queue,
            purge: args.purge,
            delete_queue: args.delete_queue,
            await_deletes: args.await_deletes,
            deletes_in_flight: args.deletes_in_flight as usize,
            batch: args.batch,
            size: args.size,
            time_limit: Duration::from_secs(duration_s),
            messages,
            threads: args.threads,
            credentials: Credentials {
                access_key_id: args.access_key_id,
                secret_access_key: args.secret_access_key,
                region: args.region,
                service: "sqs".to_owned(),
            },
        })
    }
}

impl Settings {
    /// How many deletes an SQS consumer keeps in flight, each on a connection of its own;
    /// `None` when it awaits each delete, or for a peer whose acks are not confirmed.
    pub fn delete_lanes(&self) -> Option<usize> {
        (self.kind == Kind::Sqs && !self.await_deletes).then_some(self.deletes_in_flight)
    }

    pub fn connections_per_consumer(&self) -> usize {
        1 + self.delete_lanes().unwrap_or(0)
    }
}

/// Which protocol a run speaks, from the endpoint's scheme.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Sqs,
    Nats,
    Rabbitmq,
}

impl Kind {
    pub fn of_endpoint(endpoint: &str) -> Result<Kind> {
        let scheme = endpoint.split_once("://").map_or("", |(scheme, _)| scheme);
        Ok(match scheme {
            "http" => Kind::Sqs,
            "nats" => Kind::Nats,
            "amqp" => Kind::Rabbitmq,
            _ => anyhow::bail!(
                "endpoint {endpoint:?}: expected http:// (SQS), nats:// (NATS JetStream) or \
                 amqp:// (RabbitMQ)"
            ),
        })
    }

    /// The report's `peer` field.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Sqs => "sqs",
            Kind::Nats => "nats-jetstream",
            Kind::Rabbitmq => "rabbitmq-quorum",
        }
    }
}

/// Checks a count option against `1..=max`.
pub fn check_count(name: &str, value: usize, max: usize) -> Result<()> {
    ensure!((1..=max).contains(&value), "--{name} must be 1..={max}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Result<Settings> {
        let cli = Cli::try_parse_from(line.split_whitespace())?;
        let (Mode::Send { common, .. } | Mode::E2e { common, .. }) = cli.mode else {
            anyhow::bail!("not a load mode");
        };
        Settings::from_args(common)
    }

    #[test]
    fn defaults_match_the_documented_ones() {
        let settings = parse("loadgen send").unwrap();
        assert_eq!(settings.endpoint, "http://127.0.0.1:9324");
        assert_eq!((settings.batch, settings.size), (10, 100));
        assert_eq!(settings.time_limit, Duration::from_secs(10));
        assert_eq!(settings.messages, MESSAGES_MAX);
        assert_eq!(settings.threads, 1);
        assert_eq!(settings.kind, Kind::Sqs);
        assert_eq!(settings.rate, None);
        assert!(!settings.fifo);
        assert_eq!(settings.deletes_in_flight, 2);
        assert_eq!(settings.connections_per_consumer(), 3);
    }

    #[test]
    fn awaited_deletes_need_no_connection_of_their_own() {
        let settings = parse("loadgen e2e --await-deletes").unwrap();
        assert_eq!(settings.connections_per_consumer(), 1);
        let settings = parse("loadgen e2e --deletes-in-flight 5").unwrap();
        assert_eq!(settings.connections_per_consumer(), 6);
        assert!(parse("loadgen e2e --await-deletes --deletes-in-flight 3").is_err());
    }

    #[test]
    fn the_endpoint_scheme_picks_the_protocol() {
        let kind = |line: &str| parse(line).unwrap().kind;
        assert_eq!(
            kind("loadgen send --endpoint nats://127.0.0.1:4222"),
            Kind::Nats
        );
        assert_eq!(
            kind("loadgen send --endpoint amqp://guest:guest@127.0.0.1:5672/%2f"),
            Kind::Rabbitmq
        );
    }

    #[test]
    fn messages_alone_get_the_longer_time_limit() {
        let settings = parse("loadgen e2e --messages 1000").unwrap();
        assert_eq!(settings.messages, 1000);
        assert_eq!(
            settings.time_limit,
            Duration::from_secs(DURATION_S_WITH_MESSAGES)
        );
        let settings = parse("loadgen e2e --messages 1000 --duration 2").unwrap();
        assert_eq!(settings.time_limit, Duration::from_secs(2));
    }

    #[test]
    fn out_of_range_options_are_refused() {
        for line in [
            "loadgen send --batch 0",
            "loadgen send --batch 11",
            "loadgen send --size 51",
            "loadgen send --size 1048577",
            "loadgen send --duration 0",
            "loadgen send --duration 3601",
            "loadgen send --messages 0",
            "loadgen send --messages 100000001",
            "loadgen send --threads 0",
            "loadgen send --groups 0",
            "loadgen e2e --deletes-in-flight 0",
            "loadgen e2e --deletes-in-flight 17",
            "loadgen send --rate 0.5",
            "loadgen send --rate 2000000",
            "loadgen send --endpoint https://127.0.0.1:9324",
            "loadgen send --endpoint redis://127.0.0.1:6379",
        ] {
            assert!(parse(line).is_err(), "{line} was accepted");
        }
        assert!(parse("loadgen send --size 52 --batch 1").is_ok());
        assert!(parse("loadgen e2e --fifo --groups 1000 --rate 5000").is_ok());
    }
}
