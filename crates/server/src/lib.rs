//! The HTTP server: the only crate that knows the HTTP framework (axum on hyper).
//!
//! It opens the store, starts the broker, binds the port and routes each request to the front
//! end for its protocol. Shutdown is graceful: stop accepting, end long polls, let in-flight
//! requests finish, then close the store so its last commit is durable.
//!
//! - [`config`]: the settings the binary passes in.
//! - `routing`: request → protocol front end → response.
//! - [`sns`]: the SNS signing identity in the data directory and the poster SNS deliveries go
//!   through.
//! - [`tls`]: the optional HTTPS listener and Tern's own TLS certificate.
//!
//! Architecture invariant: no SQS rule lives here; this crate only moves bytes between hyper and
//! the protocol crates, and wires the layers together.

pub mod config;
mod routing;
pub mod sns;
pub mod tls;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::serve::ListenerExt;
use tern_broker::Broker;
use tern_core::time::SystemClock;
use tern_store_sqlite::SqliteStore;
use tokio::net::TcpListener;

pub use config::{ServerConfig, StepFunctionsConfig};

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Store(#[from] tern_store_sqlite::OpenError),
    #[error("cannot load the queue catalogue: {0}")]
    Catalogue(tern_core::SqsError),
    #[error("cannot listen on {address}: {source}")]
    Bind {
        address: SocketAddr,
        source: std::io::Error,
    },
    #[error("the server failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("cannot resume the process manager: {0}")]
    ProcessManager(tern_sfn::SfnError),
    #[error("cannot set up SNS signing or TLS: {0}")]
    Identity(#[from] sns::IdentityError),
    #[error("cannot set up the outbound HTTP(S) client: {0}")]
    Outbound(#[from] tern_outbound::SetupError),
    #[error("--public-url must be an http:// or https:// URL without a path, got {0:?}")]
    PublicUrl(String),
}

/// A bound, ready server. Binding and serving are separate so the caller can announce the real
/// address (port 0 picks one) before the first request arrives.
pub struct Server {
    listener: TcpListener,
    local_address: SocketAddr,
    tls: Option<(tls::TlsListener, SocketAddr)>,
    public_url: String,
    broker: Arc<Broker>,
    engine: Arc<tern_sfn::Engine>,
    store: Arc<SqliteStore>,
    config: ServerConfig,
}

impl Server {
    pub async fn bind(config: ServerConfig) -> Result<Self, ServeError> {
        let store = Arc::new(SqliteStore::open(&config.data_directory)?);
        let broker = Broker::start(store.clone(), Arc::new(SystemClock), &config.account_id)
            .await
            .map_err(ServeError::Catalogue)?;
        // One client, trusting the extra CA, for everything Tern calls out to: SNS deliveries,
        // `http:invoke` and mapped Lambda functions.
        let outbound = tern_outbound::Client::with_extra_ca_file(config.extra_ca_file.as_deref())?;
        let engine = tern_sfn::Engine::start(
            store.clone(),
            broker.clone(),
            Arc::new(SystemClock),
            tern_sfn::EngineConfig {
                account_id: config.account_id.clone(),
                time_scale: config.step_functions.time_scale,
                lambda_endpoints: config.step_functions.lambda_endpoints.clone(),
                outbound: Some(outbound.clone()),
            },
        )
        .await
        .map_err(ServeError::ProcessManager)?;
        let listener = bind_tcp(config.listen).await?;
        let local_address = listener.local_addr()?;
        let tls = match config.tls_listen {
            Some(address) => {
                let identity = tls::load_or_create_tls_identity(&config.data_directory)?;
                let listener = bind_tcp(address).await?;
                let bound = listener.local_addr()?;
                Some((
                    tls::TlsListener::new(listener, tls::acceptor(&identity)?)?,
                    bound,
                ))
            }
            None => None,
        };
        let public_url = match &config.public_url {
            Some(url) => checked_public_url(url)?,
            None => match &tls {
                Some((_, address)) => format!("https://{address}"),
                None => format!("http://{local_address}"),
            },
        };
        let signing = Arc::new(sns::load_or_create_signing_identity(
            &config.data_directory,
        )?);
        let certificate_path = sns::certificate_path(&signing);
        broker.start_topic_delivery(tern_broker::topics::DeliveryConfig {
            public_url: public_url.clone(),
            certificate_path,
            signing,
            poster: Arc::new(sns::HyperPoster::new(outbound)),
        });
        Ok(Self {
            listener,
            local_address,
            tls,
            public_url,
            broker,
            engine,
            store,
            config,
        })
    }

    /// The HTTPS listener's address, when `tls_listen` was configured.
    pub fn tls_address(&self) -> Option<SocketAddr> {
        self.tls.as_ref().map(|(_, address)| *address)
    }

    /// Tern's base URL as SNS subscribers see it.
    pub fn public_url(&self) -> &str {
        &self.public_url
    }

    pub fn local_address(&self) -> SocketAddr {
        self.local_address
    }

    /// Serves until `shutdown` resolves, then drains and closes the store.
    pub async fn serve(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServeError> {
        let broker = self.broker.clone();
        let engine = self.engine.clone();
        let state = routing::AppState::new(
            self.broker.clone(),
            self.engine.clone(),
            self.config,
            self.local_address,
        );
        let app = routing::router(state);
        // Small request/response exchanges: don't let Nagle hold replies back.
        let listener = self.listener.tap_io(|stream| {
            if let Err(error) = stream.set_nodelay(true) {
                tracing::debug!(%error, "could not set TCP_NODELAY");
            }
        });
        // Both listeners stop on the same signal.
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let tls_server = self.tls.map(|(listener, _)| {
            let mut stopped = stopped.clone();
            let app = app.clone();
            tokio::spawn(async move {
                axum::serve(listener, app)
                    .with_graceful_shutdown(async move {
                        let _ = stopped.wait_for(|stop| *stop).await;
                    })
                    .await
            })
        });
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                shutdown.await;
                tracing::info!("shutting down: finishing in-flight requests");
                broker.begin_shutdown();
                engine.begin_shutdown();
                let _ = stop.send(true);
            })
            .await?;
        if let Some(tls_server) = tls_server
            && let Ok(Err(error)) = tls_server.await
        {
            tracing::warn!(%error, "the HTTPS listener failed");
        }
        // POSTs to SNS endpoints in flight get a moment to finish and be recorded; the rest
        // stay pending in the store.
        self.broker
            .finish_topic_delivery(tern_broker::topics::DELIVERY_DRAIN_TIMEOUT)
            .await;
        self.store.close().await;
        tracing::info!("store closed");
        Ok(())
    }
}

async fn bind_tcp(address: SocketAddr) -> Result<TcpListener, ServeError> {
    TcpListener::bind(address)
        .await
        .map_err(|source| ServeError::Bind { address, source })
}

/// `scheme://host[:port]`, without a trailing slash.
fn checked_public_url(url: &str) -> Result<String, ServeError> {
    let trimmed = url.trim_end_matches('/');
    let rest = trimmed
        .strip_prefix("https://")
        .or_else(|| trimmed.strip_prefix("http://"));
    match rest {
        Some(authority) if !authority.is_empty() && !authority.contains(['/', '?', '#', ' ']) => {
            Ok(trimmed.to_owned())
        }
        _ => Err(ServeError::PublicUrl(url.to_owned())),
    }
}
