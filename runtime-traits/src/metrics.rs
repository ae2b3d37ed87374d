//! [`MetricsSource`]: CPU and memory use of pods and nodes (what the metrics server
//! serves, and what the autoscaler reads).

use crate::error::RuntimeError;

/// Resource use at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    /// CPU, in millicores.
    pub cpu_milli: i64,
    /// Memory, in bytes.
    pub memory_bytes: i64,
}

/// Reports resource use.
#[async_trait::async_trait]
pub trait MetricsSource: Send + Sync + 'static {
    /// The pod's use (the sum over its containers); `None` if it is not running here.
    async fn pod_usage(&self, namespace: &str, name: &str) -> Result<Option<Usage>, RuntimeError>;
    /// The node's use; `None` if unknown.
    async fn node_usage(&self, node: &str) -> Result<Option<Usage>, RuntimeError>;
}
