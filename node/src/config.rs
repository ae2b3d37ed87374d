//! [`NodeConfig`]: what a node agent registers and how it paces itself.

use std::collections::BTreeMap;
use std::time::Duration;

use keel_core::api::Taint;

/// A node's identity, capacity and the agent's timings (kubelet's defaults).
#[derive(Clone, Debug)]
pub struct NodeConfig {
    /// The Node's name.
    pub name: String,
    /// CPU capacity, as a quantity (`"4"`).
    pub cpu: String,
    /// Memory capacity, as a quantity (`"8Gi"`).
    pub memory: String,
    /// How many pods it runs at most (110).
    pub max_pods: i64,
    /// The Node's labels (`kubernetes.io/hostname` is added).
    pub labels: BTreeMap<String, String>,
    /// The Node's taints.
    pub taints: Vec<Taint>,
    /// The Node's pod CIDRs (`spec.podCIDRs`).
    pub pod_cidrs: Vec<String>,
    /// The address reported as `InternalIP`.
    pub address: String,
    /// How often the Lease is renewed (10 s).
    pub lease_renew: Duration,
    /// The Lease's duration (40 s).
    pub lease_duration_seconds: i32,
    /// The first CrashLoopBackOff delay (10 s).
    pub backoff_base: Duration,
    /// The longest CrashLoopBackOff delay (5 min).
    pub backoff_max: Duration,
    /// A container that ran this long before exiting starts its backoff afresh (10 min).
    pub backoff_reset: Duration,
    /// How many pods are synced at once.
    pub workers: usize,
    /// Where pods' volumes are materialised (`None`: paths are only computed, as the
    /// sim needs).
    pub root_dir: Option<std::path::PathBuf>,
}

impl NodeConfig {
    /// A node named `name` with 4 CPUs, 8 GiB and room for 110 pods.
    pub fn new(name: &str) -> NodeConfig {
        let mut labels = BTreeMap::new();
        labels.insert("kubernetes.io/hostname".to_owned(), name.to_owned());
        labels.insert("kubernetes.io/os".to_owned(), "linux".to_owned());
        NodeConfig {
            name: name.to_owned(),
            cpu: "4".into(),
            memory: "8Gi".into(),
            max_pods: 110,
            labels,
            taints: Vec::new(),
            pod_cidrs: Vec::new(),
            address: "127.0.0.1".into(),
            lease_renew: Duration::from_secs(10),
            lease_duration_seconds: 40,
            backoff_base: Duration::from_secs(10),
            backoff_max: Duration::from_secs(300),
            backoff_reset: Duration::from_secs(600),
            workers: 4,
            root_dir: None,
        }
    }

    /// With this capacity.
    #[must_use]
    pub fn capacity(mut self, cpu: &str, memory: &str, max_pods: i64) -> NodeConfig {
        cpu.clone_into(&mut self.cpu);
        memory.clone_into(&mut self.memory);
        self.max_pods = max_pods;
        self
    }

    /// With a label.
    #[must_use]
    pub fn label(mut self, key: &str, value: &str) -> NodeConfig {
        self.labels.insert(key.to_owned(), value.to_owned());
        self
    }

    /// The CrashLoopBackOff delay after `restarts` restarts: base doubling to max.
    pub fn backoff(&self, restarts: u32) -> Duration {
        let exp = restarts.saturating_sub(1).min(20);
        self.backoff_base
            .saturating_mul(1 << exp)
            .min(self.backoff_max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crash_loop_backoff_doubles_from_10s_to_5min() {
        let c = NodeConfig::new("n");
        let secs: Vec<u64> = (1..=7).map(|r| c.backoff(r).as_secs()).collect();
        assert_eq!(secs, [10, 20, 40, 80, 160, 300, 300]);
    }
}
