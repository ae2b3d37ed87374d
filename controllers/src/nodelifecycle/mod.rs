//! The node lifecycle controller (Kubernetes' `node-lifecycle` controller with its
//! `NoExecute` taint manager).
//!
//! Every [`MONITOR_PERIOD`] it checks each Node: one whose Lease (in
//! [`NODE_LEASE_NAMESPACE`]) and `Ready` condition were both silent for the grace
//! period gets its `Ready`, `MemoryPressure`, `DiskPressure` and `PIDPressure`
//! conditions set to `Unknown`. A node whose `Ready` condition is `Unknown` carries
//! the `node.kubernetes.io/unreachable:NoExecute` taint, one whose `Ready` is `False`
//! `node.kubernetes.io/not-ready:NoExecute`; both go once it is `Ready` again.
//!
//! Pods bound to a node with a `NoExecute` taint they do not tolerate are evicted at
//! once; pods tolerating it with `tolerationSeconds` that long after the taint's
//! `timeAdded`; pods tolerating it without a limit stay. Evicted pods get the
//! `DisruptionTarget` condition, then are deleted. Keel does not add the 300 s
//! `DefaultTolerationSeconds` tolerations to pods: only what pods carry counts.

pub mod eviction;
pub mod health;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use keel_core::Error;
use keel_core::api::{Lease, Node, NodeCondition, Pod};
use keel_core::client::{Api, Client};
use keel_core::meta::Time;
use tokio::time::Instant;

use crate::manager::Shutdown;
use crate::runtime::{Cache, Informers, ObjectRef};
use eviction::Eviction;

/// The controller's name in a [`ControllerManager`](crate::ControllerManager).
pub const NAME: &str = "node-lifecycle";

/// The namespace of the nodes' heartbeat Leases (each named after its node).
pub use keel_core::api::NODE_LEASE_NAMESPACE;

/// How often node health is checked (`--node-monitor-period`).
pub const MONITOR_PERIOD: Duration = Duration::from_secs(5);

/// How long a node may be silent before it is `Unknown`
/// (`--node-monitor-grace-period`).
pub const MONITOR_GRACE_PERIOD: Duration = Duration::from_secs(40);

/// The node lifecycle controller. `default()` checks every 5 s with a 40 s grace.
#[derive(Clone, Debug)]
pub struct NodeLifecycleController {
    monitor_period: Duration,
    grace_period: Duration,
}

impl Default for NodeLifecycleController {
    fn default() -> Self {
        NodeLifecycleController {
            monitor_period: MONITOR_PERIOD,
            grace_period: MONITOR_GRACE_PERIOD,
        }
    }
}

impl NodeLifecycleController {
    /// Checks node health this often (`--node-monitor-period`; at least 1 ms).
    #[must_use]
    pub fn monitor_period(mut self, period: Duration) -> Self {
        self.monitor_period = period.max(Duration::from_millis(1));
        self
    }

    /// Lets a node be silent this long before it is `Unknown`
    /// (`--node-monitor-grace-period`).
    #[must_use]
    pub fn grace_period(mut self, grace: Duration) -> Self {
        self.grace_period = grace;
        self
    }

    /// Runs until `shutdown` fires.
    pub async fn run(self, client: Client, shutdown: Shutdown) {
        let informers = Informers::of(&client);
        let lifecycle = Lifecycle {
            nodes: informers.cache::<Node>(),
            pods: informers.cache::<Pod>(),
            leases: informers.cache::<Lease>(),
            client,
            settings: self,
            first_seen: HashMap::new(),
            evicted: HashSet::new(),
        };
        let stop = shutdown.wait();
        tokio::pin!(stop);
        tokio::select! {
            () = lifecycle.run() => {}
            () = &mut stop => {}
        }
    }
}

managed_controller!(NodeLifecycleController, NAME);

struct Lifecycle {
    client: Client,
    nodes: Cache<Node>,
    pods: Cache<Pod>,
    leases: Cache<Lease>,
    settings: NodeLifecycleController,
    /// When a `NoExecute` taint without `timeAdded` was first seen, by (node, key).
    first_seen: HashMap<(String, String), Time>,
    /// Pods (by uid) already evicted, until they leave the cache.
    evicted: HashSet<String>,
}

impl Lifecycle {
    async fn run(mut self) {
        self.nodes.wait_until_ready().await;
        self.pods.wait_until_ready().await;
        self.leases.wait_until_ready().await;
        let mut node_changes = self.nodes.subscribe();
        let mut pod_changes = self.pods.subscribe();
        let mut next_monitor = Instant::now();
        loop {
            if Instant::now() >= next_monitor {
                self.monitor().await;
                next_monitor = Instant::now() + self.settings.monitor_period;
            }
            let expiry = self.evict_all().await;
            let wake = expiry.map_or(next_monitor, |e| e.min(next_monitor));
            tokio::select! {
                () = tokio::time::sleep_until(wake) => {}
                Some(_) = node_changes.recv() => {}
                Some(_) = pod_changes.recv() => {}
            }
            // One pass covers a burst of changes.
            while node_changes.try_recv().is_ok() || pod_changes.try_recv().is_ok() {}
        }
    }

    /// Updates the health conditions and taints of every node.
    async fn monitor(&self) {
        for node in self.nodes.list() {
            if let Err(error) = self.monitor_node(&node).await {
                tracing::warn!(node = node.metadata.name_str(), %error, "updating node health failed");
            }
        }
    }

    async fn monitor_node(&self, node: &Node) -> Result<(), Error> {
        let api: Api<Node> = Api::all(&self.client);
        let name = node.metadata.name_str();
        let now = self.client.clock().now();
        let lease = self
            .leases
            .get(&ObjectRef::new(name).within(NODE_LEASE_NAMESPACE));
        let silent = health::last_heartbeat(node, lease.as_deref())
            .is_none_or(|t| Time(t).saturating_add(self.settings.grace_period) <= now);
        let mut node = node.clone();
        if silent {
            let mut status = node.status.clone().unwrap_or_default();
            if health::mark_unknown(&mut status, &now) {
                tracing::info!(node = name, "node stopped posting status");
                node.status = Some(status);
                node = (*api.replace_status(name, &node).await?).clone();
            }
        }
        let ready = health::condition(&node, NodeCondition::READY).map(|c| c.status.as_str());
        let wanted = health::wanted_taint(ready);
        if health::set_condition_taint(&mut node.spec.taints, wanted, &now) {
            tracing::info!(node = name, taint = ?wanted, "updating the node's NoExecute taint");
            api.replace(name, &node).await?;
        }
        Ok(())
    }

    /// Evicts the pods whose time on a tainted node is up; returns when the next
    /// toleration runs out.
    async fn evict_all(&mut self) -> Option<Instant> {
        let now = self.client.clock().now();
        let taints = self.taints_by_node(&now);
        let pods = self.pods.list();
        let live: HashSet<&str> = pods
            .iter()
            .filter_map(|p| p.metadata.uid.as_deref())
            .collect();
        self.evicted.retain(|uid| live.contains(uid.as_str()));
        let mut next: Option<Time> = None;
        for pod in &pods {
            let uid = pod.metadata.uid.clone().unwrap_or_default();
            if pod.metadata.deletion_timestamp.is_some() || self.evicted.contains(&uid) {
                continue;
            }
            let Some(node_taints) = pod.node_name().and_then(|n| taints.get(n)) else {
                continue;
            };
            let refs: Vec<_> = node_taints.iter().map(|(t, at)| (t, at.clone())).collect();
            match eviction::eviction(&pod.spec.tolerations, &refs) {
                Eviction::Never => {}
                Eviction::At(deadline) if deadline > now => {
                    if next.as_ref().is_none_or(|n| deadline < *n) {
                        next = Some(deadline);
                    }
                }
                Eviction::Now | Eviction::At(_) => self.evict(pod, &uid).await,
            }
        }
        next.map(|deadline| Instant::now() + deadline.duration_since(&now))
    }

    async fn evict(&mut self, pod: &Arc<Pod>, uid: &str) {
        let who = ObjectRef::from_obj(&**pod);
        match eviction::evict(&self.client, pod).await {
            Ok(()) => {
                tracing::info!(pod = %who, node = pod.node_name(), "evicted by a NoExecute taint");
                self.evicted.insert(uid.to_owned());
            }
            Err(error) => tracing::warn!(pod = %who, %error, "evicting a pod failed"),
        }
    }

    /// The `NoExecute` taints of every node, each with when it was added (its
    /// `timeAdded`, else when this controller first saw it).
    fn taints_by_node(
        &mut self,
        now: &Time,
    ) -> HashMap<String, Vec<(keel_core::api::Taint, Time)>> {
        let mut by_node = HashMap::new();
        let mut seen = HashSet::new();
        for node in self.nodes.list() {
            let name = node.metadata.name_str();
            let mut taints = Vec::new();
            for taint in &node.spec.taints {
                if taint.effect != keel_core::api::Taint::EFFECT_NO_EXECUTE {
                    continue;
                }
                let key = (name.to_owned(), taint.key.clone());
                let added = match &taint.time_added {
                    Some(t) => t.clone(),
                    None => self
                        .first_seen
                        .entry(key.clone())
                        .or_insert_with(|| now.clone())
                        .clone(),
                };
                seen.insert(key);
                taints.push((taint.clone(), added));
            }
            if !taints.is_empty() {
                by_node.insert(name.to_owned(), taints);
            }
        }
        self.first_seen.retain(|key, _| seen.contains(key));
        by_node
    }
}
