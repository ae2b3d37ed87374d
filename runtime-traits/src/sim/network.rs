//! [`SimNetwork`]: the in-memory network plugin of one node, over [`HostLocalIpam`].

use std::sync::{Mutex, PoisonError};

use super::ipam::{Cidr, HostLocalIpam};
use crate::error::RuntimeError;
use crate::network::{NetworkPlugin, PodNetwork};

/// Gives pods addresses from the node's pod CIDRs; no packets are moved.
#[derive(Debug)]
pub struct SimNetwork {
    ipam: Mutex<HostLocalIpam>,
}

impl SimNetwork {
    /// A node's network over its pod CIDRs (`spec.podCIDRs`).
    pub fn new(pod_cidrs: &[Cidr]) -> SimNetwork {
        SimNetwork {
            ipam: Mutex::new(HostLocalIpam::new(pod_cidrs)),
        }
    }

    fn ipam(&self) -> std::sync::MutexGuard<'_, HostLocalIpam> {
        self.ipam.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait::async_trait]
impl NetworkPlugin for SimNetwork {
    async fn setup(
        &self,
        _namespace: &str,
        _name: &str,
        sandbox_id: &str,
    ) -> Result<PodNetwork, RuntimeError> {
        self.ipam().allocate(sandbox_id)
    }

    async fn teardown(&self, sandbox_id: &str) -> Result<(), RuntimeError> {
        self.ipam().release(sandbox_id);
        Ok(())
    }

    async fn status(&self, sandbox_id: &str) -> Result<Option<PodNetwork>, RuntimeError> {
        Ok(self.ipam().get(sandbox_id))
    }
}
