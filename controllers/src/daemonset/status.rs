//! The DaemonSet's status (Kubernetes' `updateDaemonSetStatus`).

use std::sync::Arc;

use keel_core::Error;
use keel_core::api::{DaemonSet, DaemonSetStatus, Node};
use keel_core::client::{Api, Client};
use keel_core::meta::Time;

use super::manage::{PodsByNode, oldest_first};
use super::placement::should_run;
use super::revision::Revision;
use crate::workload::{is_pod_available, update_status};

fn count(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// The status `ds` should have: per node that should run a pod, whether it has one
/// (`currentNumberScheduled`), whether its oldest pod is ready / available / of the
/// current revision; pods on other nodes are `numberMisscheduled`.
/// `observedGeneration` moves only when `observed` (the sync acted on this generation).
pub(super) fn compute(
    ds: &DaemonSet,
    nodes: &[Arc<Node>],
    by_node: &PodsByNode,
    revision: &Revision,
    observed: bool,
    now: &Time,
) -> DaemonSetStatus {
    let min_ready = ds.spec.min_ready_seconds.unwrap_or(0);
    let (mut desired, mut current, mut misscheduled) = (0, 0, 0);
    let (mut ready, mut available, mut updated) = (0, 0, 0);
    for node in nodes {
        let pods = by_node
            .get(node.metadata.name_str())
            .map(Vec::as_slice)
            .unwrap_or_default();
        if !should_run(ds, node).0 {
            if !pods.is_empty() {
                misscheduled += 1;
            }
            continue;
        }
        desired += 1;
        let mut sorted = pods.to_vec();
        sorted.sort_by(oldest_first);
        let Some(pod) = sorted.first() else { continue };
        current += 1;
        if pod.is_ready() {
            ready += 1;
            if is_pod_available(pod, min_ready, now) {
                available += 1;
            }
        }
        if revision.is_updated(pod) {
            updated += 1;
        }
    }
    let mut status = ds.status.clone().unwrap_or_default();
    status.desired_number_scheduled = count(desired);
    status.current_number_scheduled = count(current);
    status.number_misscheduled = count(misscheduled);
    status.number_ready = count(ready);
    status.number_available = Some(count(available));
    status.number_unavailable = Some(count(desired) - count(available));
    status.updated_number_scheduled = Some(count(updated));
    if observed {
        status.observed_generation = ds.metadata.generation;
    }
    status
}

/// Writes `status` unless the stored one already equals it.
pub(super) async fn write(
    client: &Client,
    ds: &DaemonSet,
    status: DaemonSetStatus,
) -> Result<(), Error> {
    let api: Api<DaemonSet> = Api::namespaced(client, ds.metadata.namespace_str().unwrap_or(""));
    update_status(&api, ds, |d| d.status = Some(status.clone())).await
}
