//! `loadgen`: drives any SQS-compatible endpoint over AWS JSON 1.0 and prints one JSON line of
//! results on stdout (errors go to stderr, a bounded number of them).
//!
//! ```text
//! loadgen send --endpoint http://127.0.0.1:9324 --connections 16 --batch 10 --size 100 --duration 10
//! loadgen e2e  --endpoint http://127.0.0.1:9324 --producers 4 --consumers 4 --duration 10
//! ```
//!
//! A tour of the modules:
//!
//! - `config`: options, their limits (everything is bounded), validated settings.
//! - `run`: what a run shares (endpoint, run id, queue); queue setup and teardown; the error log.
//! - `client`: one explicit HTTP/1.1 keep-alive connection per task, no pool.
//! - `sign`: `X-Amz-Date` and `Authorization`; the signature is NOT yet real SigV4.
//! - `wire`: request bodies prebuilt or appended in place; replies parsed into borrowing structs.
//! - `payload`: the fixed-width sequence header (run, producer, sequence, send time) in each body.
//! - `send`: producers and the `send` mode.
//! - `e2e`: consumers and the `e2e` mode (latency, lost, duplicates, out of order).
//! - `stats`: bitsets, the shared receive tracker, latency histograms, the report.
//!
//! Loadgen connects only to the endpoint it is given, and every run ends by itself: sending is
//! limited in time and count, the drain in time, every request by a timeout.

mod client;
mod config;
mod e2e;
mod payload;
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

use crate::config::{Cli, Mode, Settings};
use crate::e2e::E2eOptions;
use crate::run::Run;
use crate::stats::Report;

fn main() -> ExitCode {
    match run_cli(Cli::parse()) {
        Ok(report) => {
            println!("{report}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("loadgen: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs the command line's plan; the report as its JSON line.
fn run_cli(cli: Cli) -> Result<String> {
    let (settings, mode) = match cli.mode {
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
    };
    let runtime = runtime(settings.threads)?;
    let report = runtime.block_on(execute(settings, mode))?;
    Ok(serde_json::to_string(&report)?)
}

enum Plan {
    Send { connections: usize },
    E2e(E2eOptions),
}

async fn execute(settings: Settings, plan: Plan) -> Result<Report> {
    let run = Arc::new(Run::prepare(settings).await?);
    let report = match plan {
        Plan::Send { connections } => send::run_send(run.clone(), connections).await,
        Plan::E2e(options) => e2e::run_e2e(run.clone(), options).await,
    };
    run.finish().await;
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
