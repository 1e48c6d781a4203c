//! `tern`: the command-line entry point. Parses flags, sets up logging, starts the server and
//! turns SIGINT/SIGTERM into a graceful shutdown.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use tern_server::{Server, ServerConfig, StepFunctionsConfig};

#[derive(Parser)]
#[command(
    name = "tern",
    version,
    about = "A durable, fast, SQS-compatible message broker"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the SQS API (AWS JSON 1.0 and Query protocols) over HTTP, storing messages durably.
    Serve(ServeArgs),
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Address and port to listen on; port 0 picks a free port (the real one is printed).
    #[arg(long, env = "TERN_LISTEN", default_value = "127.0.0.1:9324")]
    listen: SocketAddr,
    /// Directory for the embedded store; created if missing. One server per directory.
    #[arg(long, env = "TERN_DATA_DIR", default_value = "./tern-data")]
    data_dir: PathBuf,
    /// Account id used in queue URLs and ARNs.
    #[arg(long, env = "TERN_ACCOUNT_ID", default_value = "000000000000")]
    account_id: String,
    /// Region used in ARNs when a request is not SigV4-signed (signed requests use their own).
    #[arg(long, env = "TERN_REGION", default_value = "us-east-1")]
    region: String,
    /// Also serve HTTPS here, with Tern's self-signed certificate (written to the data directory
    /// as tls-certificate.pem); port 0 picks a free port.
    #[arg(long, env = "TERN_TLS_LISTEN")]
    tls_listen: Option<SocketAddr>,
    /// Tern's base URL as SNS subscribers reach it (SigningCertURL, SubscribeURL,
    /// UnsubscribeURL); defaults to the HTTPS listener, else the HTTP one.
    #[arg(long, env = "TERN_PUBLIC_URL")]
    public_url: Option<String>,
    /// PEM file of extra certificates to trust when calling https:// endpoints (SNS
    /// subscriptions, Step Functions' http:invoke and mapped Lambda functions).
    #[arg(long, env = "TERN_EXTRA_CA_FILE")]
    extra_ca_file: Option<PathBuf>,
    /// Multiplies every Step Functions delay (Wait, Retry intervals, task timeouts and
    /// heartbeats, execution timeouts): 0.01 runs a one-hour Wait in 36 seconds. For tests.
    #[arg(long, env = "TERN_TIME_SCALE", default_value_t = 1.0)]
    time_scale: f64,
    /// Maps a Lambda function to an HTTP(S) endpoint, as NAME=URL (repeatable; the environment
    /// variable takes a comma-separated list). Tasks invoking the function POST their payload
    /// there and take the JSON reply as its result.
    #[arg(
        long = "lambda",
        env = "TERN_LAMBDA_ENDPOINTS",
        value_delimiter = ',',
        value_name = "NAME=URL"
    )]
    lambda: Vec<String>,
}

/// mimalloc instead of glibc's malloc: the writer thread allocates what the tokio workers free,
/// and glibc's arenas made that cross-thread traffic ~15 % of the workers' time; measured in
/// docs/decisions/0004-in-memory-message-index.md ("Allocator").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Serve(args) => serve(args).await,
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let account_id_valid =
        args.account_id.len() == 12 && args.account_id.bytes().all(|b| b.is_ascii_digit());
    anyhow::ensure!(
        account_id_valid,
        "--account-id must be 12 digits, got {:?}",
        args.account_id
    );
    let config = ServerConfig {
        listen: args.listen,
        data_directory: args.data_dir.clone(),
        account_id: args.account_id,
        default_region: args.region,
        tls_listen: args.tls_listen,
        public_url: args.public_url,
        extra_ca_file: args.extra_ca_file,
        step_functions: step_functions(args.time_scale, &args.lambda)?,
    };
    let server = Server::bind(config).await.with_context(|| {
        format!(
            "cannot start Tern on data directory {}",
            args.data_dir.display()
        )
    })?;
    let address = server.local_address();
    // Scripts and tests wait for this exact line to learn the port.
    let mut stdout = std::io::stdout();
    writeln!(stdout, "listening on http://{address}")?;
    if let Some(tls_address) = server.tls_address() {
        writeln!(stdout, "listening on https://{tls_address}")?;
    }
    stdout.flush()?;
    tracing::info!(%address, data_dir = %args.data_dir.display(), "Tern is serving");
    server.serve(shutdown_signal()).await?;
    Ok(())
}

fn step_functions(time_scale: f64, lambda: &[String]) -> anyhow::Result<StepFunctionsConfig> {
    anyhow::ensure!(
        time_scale.is_finite() && time_scale > 0.0,
        "--time-scale must be a positive number, got {time_scale}"
    );
    let mut lambda_endpoints = std::collections::BTreeMap::new();
    for mapping in lambda {
        let (name, url) = mapping
            .split_once('=')
            .filter(|(name, url)| {
                !name.is_empty() && (url.starts_with("http://") || url.starts_with("https://"))
            })
            .with_context(|| {
                format!("--lambda takes NAME=http(s)://HOST:PORT/PATH, got {mapping:?}")
            })?;
        lambda_endpoints.insert(name.to_owned(), url.to_owned());
    }
    Ok(StepFunctionsConfig {
        time_scale,
        lambda_endpoints,
    })
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = interrupt => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM; only SIGINT will stop Tern");
                let _ = interrupt.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}
