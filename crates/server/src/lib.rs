//! The HTTP server: the only crate that knows the HTTP framework (axum on hyper).
//!
//! It opens the store, starts the broker, binds the port and routes each request to the front
//! end for its protocol. Shutdown is graceful: stop accepting, end long polls, let in-flight
//! requests finish, then close the store so its last commit is durable.
//!
//! - [`config`]: the settings the binary passes in.
//! - `routing`: request → protocol front end → response.
//!
//! Architecture invariant: no SQS rule lives here; this crate only moves bytes between hyper and
//! the protocol crates, and wires the layers together.

pub mod config;
mod routing;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::serve::ListenerExt;
use tern_broker::Broker;
use tern_core::time::SystemClock;
use tern_store_sqlite::SqliteStore;
use tokio::net::TcpListener;

pub use config::ServerConfig;

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
}

/// A bound, ready server. Binding and serving are separate so the caller can announce the real
/// address (port 0 picks one) before the first request arrives.
pub struct Server {
    listener: TcpListener,
    local_address: SocketAddr,
    broker: Arc<Broker>,
    store: Arc<SqliteStore>,
    config: ServerConfig,
}

impl Server {
    pub async fn bind(config: ServerConfig) -> Result<Self, ServeError> {
        let store = Arc::new(SqliteStore::open(&config.data_directory)?);
        let broker = Broker::start(store.clone(), Arc::new(SystemClock), &config.account_id)
            .await
            .map_err(ServeError::Catalogue)?;
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| ServeError::Bind {
                    address: config.listen,
                    source,
                })?;
        let local_address = listener.local_addr()?;
        Ok(Self {
            listener,
            local_address,
            broker,
            store,
            config,
        })
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
        let state = routing::AppState::new(self.broker.clone(), self.config, self.local_address);
        let app = routing::router(state);
        // Small request/response exchanges: don't let Nagle hold replies back.
        let listener = self.listener.tap_io(|stream| {
            if let Err(error) = stream.set_nodelay(true) {
                tracing::debug!(%error, "could not set TCP_NODELAY");
            }
        });
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                shutdown.await;
                tracing::info!("shutting down: finishing in-flight requests");
                broker.begin_shutdown();
            })
            .await?;
        self.store.close().await;
        tracing::info!("store closed");
        Ok(())
    }
}
