use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    pub data_directory: PathBuf,
    pub account_id: String,
    /// Used in ARNs when a request carries no SigV4 credential scope.
    pub default_region: String,
}
