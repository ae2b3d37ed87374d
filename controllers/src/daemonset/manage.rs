//! The core loop of the DaemonSet controller (Kubernetes' `manage` and
//! `podsShouldBeOnNode`): which nodes need a daemon pod and which pods must go.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use keel_core::api::{DaemonSet, Node, Pod, phase};

use super::placement::{should_run, target_node};
use super::revision::{Revision, max_surge_allowed};
use crate::workload::is_pod_available;
use keel_core::meta::Time;

/// A DaemonSet's pods by the node they are meant for.
pub(super) type PodsByNode = BTreeMap<String, Vec<Arc<Pod>>>;

/// Groups `pods` by [`target_node`], leaving out finished pods already being deleted
/// and pods that name no node.
pub(super) fn group_by_node(pods: &[Arc<Pod>]) -> PodsByNode {
    let mut by_node = PodsByNode::new();
    for pod in pods {
        if pod.is_terminal() && pod.metadata.deletion_timestamp.is_some() {
            continue;
        }
        if let Some(node) = target_node(pod) {
            by_node
                .entry(node.to_owned())
                .or_default()
                .push(pod.clone());
        }
    }
    by_node
}

/// Kubernetes' `podByCreationTimestampAndPhase`: bound pods first, then oldest first,
/// then by name.
pub(super) fn oldest_first(a: &Arc<Pod>, b: &Arc<Pod>) -> Ordering {
    let unbound = |p: &Pod| p.node_name().is_none();
    unbound(a)
        .cmp(&unbound(b))
        .then_with(|| {
            a.metadata
                .creation_timestamp
                .cmp(&b.metadata.creation_timestamp)
        })
        .then_with(|| a.metadata.name.cmp(&b.metadata.name))
}

/// What one pass of the core loop decided.
#[derive(Debug, Default)]
pub(super) struct Plan {
    /// Nodes to create a daemon pod on.
    pub create: Vec<String>,
    /// Pods to delete.
    pub delete: Vec<Arc<Pod>>,
    /// Failed pods among `delete` (for `FailedDaemonPod` events).
    pub failed: Vec<Arc<Pod>>,
    /// Look again after this long (a failed pod's deletion is backing off).
    pub retry_after: Option<Duration>,
}

/// The core loop for `nodes`: a daemon pod is created on each node that should run one
/// and has none; failed (with back-off: `backoff(node)` is `Some(delay)` while the
/// node's last failed pod was deleted less than `delay` ago) and succeeded pods are
/// deleted; surplus pods are deleted (the oldest is kept; with `maxSurge`, one old and
/// one new pod may overlap as the rolling update allows); all daemon pods on a node
/// that may not keep them, or on a node that no longer exists, are deleted.
pub(super) fn plan(
    ds: &DaemonSet,
    nodes: &[Arc<Node>],
    by_node: &PodsByNode,
    revision: &Revision,
    now: &Time,
    backoff: &dyn Fn(&str) -> Option<Duration>,
) -> Plan {
    let mut out = Plan::default();
    let surge = max_surge_allowed(ds);
    for node in nodes {
        let name = node.metadata.name_str();
        let (run, keep) = should_run(ds, node);
        let pods = by_node.get(name).map(Vec::as_slice).unwrap_or_default();
        if run && pods.is_empty() {
            out.create.push(name.to_owned());
        } else if keep {
            keep_healthy(ds, name, pods, run, surge, revision, now, backoff, &mut out);
        } else {
            out.delete.extend(
                pods.iter()
                    .filter(|p| p.metadata.deletion_timestamp.is_none())
                    .cloned(),
            );
        }
    }
    // Pods meant for nodes that are gone.
    for (node, pods) in by_node {
        if !nodes.iter().any(|n| n.metadata.name_str() == node) {
            out.delete.extend(
                pods.iter()
                    .filter(|p| p.metadata.deletion_timestamp.is_none())
                    .cloned(),
            );
        }
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn keep_healthy(
    ds: &DaemonSet,
    node: &str,
    pods: &[Arc<Pod>],
    run: bool,
    surge: bool,
    revision: &Revision,
    now: &Time,
    backoff: &dyn Fn(&str) -> Option<Duration>,
    out: &mut Plan,
) {
    let mut running = Vec::new();
    for pod in pods
        .iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
    {
        match pod.phase() {
            phase::FAILED => {
                if let Some(delay) = backoff(node) {
                    out.retry_after = Some(out.retry_after.map_or(delay, |d| d.min(delay)));
                } else {
                    out.failed.push(pod.clone());
                    out.delete.push(pod.clone());
                }
            }
            phase::SUCCEEDED => out.delete.push(pod.clone()),
            _ => running.push(pod.clone()),
        }
    }
    running.sort_by(oldest_first);
    if !surge {
        out.delete.extend(running.into_iter().skip(1));
        return;
    }
    if running.len() <= 1 {
        if running.is_empty() && run {
            out.create.push(node.to_owned());
        }
        return;
    }
    // With surge, an old and a new pod may overlap while the new one is not yet
    // available and the old one is still ready; any other pod goes.
    let (mut oldest_new, mut oldest_old) = (None, None);
    for pod in running {
        let slot = if revision.is_updated(&pod) {
            &mut oldest_new
        } else {
            &mut oldest_old
        };
        if slot.is_none() {
            *slot = Some(pod);
        } else {
            out.delete.push(pod);
        }
    }
    if let (Some(new), Some(old)) = (oldest_new, oldest_old) {
        let min_ready = ds.spec.min_ready_seconds.unwrap_or(0);
        if !old.is_ready() || is_pod_available(&new, min_ready, now) {
            out.delete.push(old);
        }
    }
}
