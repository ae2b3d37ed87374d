//! [`NetworkPlugin`]: gives each pod its addresses, shaped after CNI.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::error::RuntimeError;

/// The addresses a pod got: one IPv4 and, on a dual-stack cluster, one IPv6.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PodNetwork {
    /// The IPv4 address.
    pub ipv4: Option<Ipv4Addr>,
    /// The IPv6 address.
    pub ipv6: Option<Ipv6Addr>,
}

impl PodNetwork {
    /// The addresses as Kubernetes lists them in `status.podIPs` (IPv4 first).
    pub fn ips(&self) -> Vec<String> {
        self.ipv4
            .map(|a| a.to_string())
            .into_iter()
            .chain(self.ipv6.map(|a| a.to_string()))
            .collect()
    }
}

/// Sets up and tears down pods' networking (CNI's ADD / DEL), idempotently.
#[async_trait::async_trait]
pub trait NetworkPlugin: Send + Sync + 'static {
    /// Gives the sandbox `sandbox_id` of pod `namespace/name` its addresses (the same
    /// ones if asked again).
    async fn setup(
        &self,
        namespace: &str,
        name: &str,
        sandbox_id: &str,
    ) -> Result<PodNetwork, RuntimeError>;
    /// Releases the sandbox's addresses (nothing to do if it has none).
    async fn teardown(&self, sandbox_id: &str) -> Result<(), RuntimeError>;
    /// The addresses the sandbox holds.
    async fn status(&self, sandbox_id: &str) -> Result<Option<PodNetwork>, RuntimeError>;
}
