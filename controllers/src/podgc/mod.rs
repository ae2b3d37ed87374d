//! The pod garbage collector (Kubernetes' `podgc` controller): every 20 s it
//! force-deletes pods bound to nodes that no longer exist (after the node has been
//! missing for 40 s and a fresh read confirms it), and, beyond a threshold of finished
//! (Succeeded or Failed) pods, the oldest of them.
//!
//! With it, a node that is removed from the cluster takes its pods along, and their
//! controllers (ReplicaSet, StatefulSet, …) re-create them elsewhere.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use keel_core::Error;
use keel_core::api::{Node, Pod};
use keel_core::client::{Api, Client, DeleteParams, Preconditions};
use tokio::time::Instant;

use crate::manager::Shutdown;
use crate::runtime::{Cache, Informers, ObjectRef};

/// The controller's name in a [`ControllerManager`](crate::ControllerManager).
pub const NAME: &str = "podgc";

/// How often the collector looks (Kubernetes' `gcCheckPeriod`).
pub const CHECK_PERIOD: Duration = Duration::from_secs(20);

/// How long a node must be missing before its pods go (Kubernetes' `quarantineTime`).
pub const QUARANTINE: Duration = Duration::from_secs(40);

/// The pod garbage collector. `default()` keeps at most 12,500 finished pods, as
/// `--terminated-pod-gc-threshold`.
#[derive(Clone, Debug)]
pub struct PodGcController {
    terminated_threshold: usize,
}

impl Default for PodGcController {
    fn default() -> Self {
        PodGcController {
            terminated_threshold: 12_500,
        }
    }
}

impl PodGcController {
    /// Keeps at most `n` finished pods (0: keep them all).
    #[must_use]
    pub fn terminated_threshold(mut self, n: usize) -> Self {
        self.terminated_threshold = n;
        self
    }

    /// Runs until `shutdown` fires.
    pub async fn run(self, client: Client, shutdown: Shutdown) {
        let informers = Informers::of(&client);
        let gc = Gc {
            pods: informers.cache::<Pod>(),
            nodes: informers.cache::<Node>(),
            client,
            threshold: self.terminated_threshold,
            missing_since: HashMap::new(),
        };
        let stop = shutdown.wait();
        tokio::pin!(stop);
        tokio::select! {
            () = gc.run() => {}
            () = &mut stop => {}
        }
    }
}

managed_controller!(PodGcController, NAME);

struct Gc {
    client: Client,
    pods: Cache<Pod>,
    nodes: Cache<Node>,
    threshold: usize,
    /// Nodes named by pods but missing from the cache, and since when.
    missing_since: HashMap<String, Instant>,
}

impl Gc {
    async fn run(mut self) {
        self.pods.wait_until_ready().await;
        self.nodes.wait_until_ready().await;
        let mut tick = tokio::time::interval(CHECK_PERIOD);
        loop {
            tick.tick().await;
            if let Err(error) = self.terminated().await {
                tracing::warn!(%error, "deleting finished pods failed");
            }
            if let Err(error) = self.orphaned().await {
                tracing::warn!(%error, "deleting pods of missing nodes failed");
            }
        }
    }

    /// Deletes the oldest finished pods beyond the threshold.
    async fn terminated(&self) -> Result<(), Error> {
        if self.threshold == 0 {
            return Ok(());
        }
        let mut finished: Vec<Arc<Pod>> = self
            .pods
            .list()
            .into_iter()
            .filter(|p| p.is_terminal() && p.metadata.deletion_timestamp.is_none())
            .collect();
        if finished.len() <= self.threshold {
            return Ok(());
        }
        finished.sort_by(|a, b| {
            a.metadata
                .creation_timestamp
                .cmp(&b.metadata.creation_timestamp)
                .then_with(|| a.metadata.name.cmp(&b.metadata.name))
        });
        let excess = finished.len() - self.threshold;
        for pod in finished.iter().take(excess) {
            self.force_delete(pod).await?;
        }
        Ok(())
    }

    /// Deletes the pods of nodes missing for [`QUARANTINE`] (checked with a fresh read).
    async fn orphaned(&mut self) -> Result<(), Error> {
        let now = Instant::now();
        let mut by_node: HashMap<String, Vec<Arc<Pod>>> = HashMap::new();
        for pod in self.pods.list() {
            if let Some(node) = pod.node_name()
                && self.nodes.get(&ObjectRef::new(node)).is_none()
            {
                by_node
                    .entry(node.to_owned())
                    .or_default()
                    .push(pod.clone());
            }
        }
        self.missing_since
            .retain(|node, _| by_node.contains_key(node));
        let nodes: Api<Node> = Api::all(&self.client);
        for (node, pods) in by_node {
            let since = *self.missing_since.entry(node.clone()).or_insert(now);
            if now.duration_since(since) < QUARANTINE {
                continue;
            }
            if nodes.get_opt(&node).await?.is_some() {
                // Back (or the cache lagged): not orphaned.
                self.missing_since.remove(&node);
                continue;
            }
            for pod in pods {
                tracing::info!(pod = %ObjectRef::from_obj(&*pod), %node, "deleting a pod of a missing node");
                self.force_delete(&pod).await?;
            }
        }
        Ok(())
    }

    /// Deletes `pod` at once (grace 0), only if it is still the same object.
    async fn force_delete(&self, pod: &Pod) -> Result<(), Error> {
        let api: Api<Pod> =
            Api::namespaced(&self.client, pod.metadata.namespace_str().unwrap_or(""));
        let params = DeleteParams {
            grace_period_seconds: Some(0),
            preconditions: Some(Preconditions {
                uid: pod.metadata.uid.clone(),
                resource_version: None,
            }),
            ..DeleteParams::default()
        };
        match api.delete(pod.metadata.name_str(), &params).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_not_found() || e.is_conflict() => Ok(()),
            Err(e) => Err(e),
        }
    }
}
