use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    pub data_directory: PathBuf,
    pub account_id: String,
    /// Used in ARNs when a request carries no SigV4 credential scope.
    pub default_region: String,
    /// A second listener speaking HTTPS (Tern's self-signed certificate), serving the same API.
    pub tls_listen: Option<SocketAddr>,
    /// Tern's base URL as SNS subscribers see it (`SigningCertURL`, `SubscribeURL`,
    /// `UnsubscribeURL`); defaults to the HTTPS listener's address if there is one, else the
    /// plain one's.
    pub public_url: Option<String>,
    /// Extra PEM certificates to trust when calling `https` endpoints: SNS subscriptions, and
    /// Step Functions' `http:invoke` and mapped Lambda functions.
    pub extra_ca_file: Option<PathBuf>,
    /// The process manager (Step Functions).
    pub step_functions: StepFunctionsConfig,
}

#[derive(Debug, Clone)]
pub struct StepFunctionsConfig {
    /// Multiplies every Wait, Retry interval, timeout and heartbeat (e.g. `0.01` for tests).
    pub time_scale: f64,
    /// Lambda function name → the HTTP endpoint its invocations are POSTed to.
    pub lambda_endpoints: std::collections::BTreeMap<String, String>,
}

impl Default for StepFunctionsConfig {
    fn default() -> StepFunctionsConfig {
        StepFunctionsConfig {
            time_scale: 1.0,
            lambda_endpoints: Default::default(),
        }
    }
}
