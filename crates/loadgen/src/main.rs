//! `loadgen`: drives any SQS-compatible endpoint over AWS JSON 1.0 and prints one JSON line of
//! results on stdout (errors go to stderr, a bounded number of them).
//!
//! ```text
//! loadgen send --endpoint http://127.0.0.1:9324 --connections 16 --batch 10 --size 100 --duration 10
//! loadgen e2e  --endpoint http://127.0.0.1:9324 --producers 4 --consumers 4 --duration 10
//! loadgen e2e  --endpoint nats://127.0.0.1:4222 --fifo --groups 64 --rate 5000
//! loadgen e2e  --endpoint amqp://guest:guest@127.0.0.1:5672/%2f
//! loadgen drain --endpoint http://127.0.0.1:9324 --queue backlog --messages 1000000
//! loadgen null-server --listen 127.0.0.1:0
//! ```
//!
//! A tour of the modules:
//!
//! - `config`: options, their limits (everything is bounded), validated settings.
//! - `run`: what a run shares (settings, run id, queue name, groups); the error log.
//! - `peers`: the targets behind one small trait: `sqs` (any SQS JSON endpoint), `nats`
//!   (JetStream), `rabbitmq` (a quorum queue).
//! - `client`: one explicit HTTP/1.1 keep-alive connection per task, no pool.
//! - `sign`: SigV4 (`X-Amz-Date` and `Authorization`), with the signing key cached per day.
//! - `groups`: how a FIFO run spreads messages over groups and groups over partitions.
//! - `null_server`: `loadgen null-server`, a do-nothing SQS endpoint: the harness's ceiling.
//! - `wire`: request bodies prebuilt or appended in place; replies parsed into borrowing structs.
//! - `payload`: the fixed-width sequence header (run, producer, sequence, send time) in each body.
//! - `send`: producers, the pacing schedule (`--rate`) and the `send` mode.
//! - `e2e`: consumers and the `e2e` mode (latency, lost, duplicates, out of order).
//! - `drain`: the `drain` mode: a backlog received and deleted, receive latency per window.
//! - `stats`: bitsets, the shared receive tracker, latency histograms, the report.
//!
//! Loadgen connects only to the endpoint it is given, and every run ends by itself: sending is
//! limited in time and count, the drain in time, every request by a timeout.

mod client;
mod config;
mod drain;
mod e2e;
mod groups;
mod null_server;
mod payload;
mod peers;
mod run;
mod send;
mod sign;
mod stats;
mod wire;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Parser;

use crate::config::{Cli, Kind, Mode, Settings};
use crate::e2e::E2eOptions;
use crate::peers::Target;
use crate::peers::nats::NatsTarget;
use crate::peers::rabbitmq::RabbitmqTarget;
use crate::peers::sqs::SqsTarget;
use crate::run::Run;
use crate::stats::Report;

fn main() -> ExitCode {
    match run_cli(Cli::parse()) {
        Ok(Some(report)) => {
            println!("{report}");
            ExitCode::SUCCESS
        }
        Ok(None) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("loadgen: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs the command line's plan; the report as its JSON line.
fn run_cli(cli: Cli) -> Result<Option<String>> {
    let started = std::time::Instant::now();
    let (settings, plan) = match cli.mode {
        Mode::Send {
            connections,
            common,
        } => (Settings::from_args(common)?, Plan::Send { connections }),
        Mode::E2e {
            producers,
            consumers,
            drain_s,
            wait_time_s,
            common,
        } => {
            let options = E2eOptions {
                producers,
                consumers,
                drain: Duration::from_secs(drain_s),
                wait_time_s,
            };
            options.check()?;
            (Settings::from_args(common)?, Plan::E2e(options))
        }
        Mode::Drain {
            consumers,
            wait_time_s,
            window_s,
            common,
        } => {
            let options = drain::DrainOptions {
                consumers,
                wait_time_s,
                window: Duration::from_secs(window_s),
            };
            options.check()?;
            let settings = Settings::from_args(common)?;
            anyhow::ensure!(
                settings.kind == Kind::Sqs,
                "drain speaks SQS only (an http:// endpoint)"
            );
            let runtime = runtime(settings.threads)?;
            let report = runtime.block_on(execute_drain(settings, options, started))?;
            return Ok(Some(serde_json::to_string(&report)?));
        }
        Mode::NullServer { listen, duration_s } => {
            null_server::check(duration_s)?;
            runtime(1)?.block_on(null_server::serve(&listen, Duration::from_secs(duration_s)))?;
            return Ok(None);
        }
    };
    let runtime = runtime(settings.threads)?;
    let report = runtime.block_on(execute(settings, plan))?;
    Ok(Some(serde_json::to_string(&report)?))
}

enum Plan {
    Send { connections: usize },
    E2e(E2eOptions),
}

impl Plan {
    fn producers(&self) -> usize {
        match self {
            Plan::Send { connections } => *connections,
            Plan::E2e(options) => options.producers,
        }
    }

    fn partitions(&self) -> usize {
        match self {
            Plan::Send { .. } => 1,
            Plan::E2e(options) => options.consumers,
        }
    }
}

async fn execute(settings: Settings, plan: Plan) -> Result<Report> {
    let kind = settings.kind;
    let run = Arc::new(Run::new(settings, plan.producers())?);
    // FIFO runs on NATS and RabbitMQ get one partition per consumer (see `groups`).
    let partitions = if run.settings.fifo {
        u32::try_from(plan.partitions())?
    } else {
        1
    };
    match kind {
        Kind::Sqs => drive(SqsTarget::prepare(run.clone()).await?, run, plan).await,
        Kind::Nats => {
            drive(
                NatsTarget::prepare(run.clone(), partitions).await?,
                run,
                plan,
            )
            .await
        }
        Kind::Rabbitmq => {
            drive(
                RabbitmqTarget::prepare(run.clone(), partitions).await?,
                run,
                plan,
            )
            .await
        }
    }
}

/// Prepares the SQS target, retrying while the endpoint does not answer yet (a server that is
/// still starting), within the run's time limit.
async fn execute_drain(
    settings: Settings,
    options: drain::DrainOptions,
    started: std::time::Instant,
) -> Result<drain::DrainReport> {
    let run = Arc::new(Run::new(settings, 0)?);
    let deadline = started + run.settings.time_limit;
    let target = loop {
        match SqsTarget::prepare(run.clone()).await {
            Ok(target) => break target,
            // Not up yet: try again shortly, without a line per attempt.
            Err(_) if std::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(error) => return Err(error),
        }
    };
    let report = drain::run_drain(&target, run, options, started).await;
    target.finish().await;
    report
}

async fn drive<T: Target>(target: T, run: Arc<Run>, plan: Plan) -> Result<Report> {
    let report = match plan {
        Plan::Send { connections } => send::run_send(&target, run, connections).await,
        Plan::E2e(options) => e2e::run_e2e(&target, run, options).await,
    };
    target.finish().await;
    report
}

/// One thread runs everything on a current-thread runtime (no cross-thread wake-ups); more get
/// a multi-thread runtime.
fn runtime(threads: usize) -> Result<tokio::runtime::Runtime> {
    let mut builder = if threads == 1 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        builder.worker_threads(threads);
        builder
    };
    builder.enable_all().build().context("starting the runtime")
}
