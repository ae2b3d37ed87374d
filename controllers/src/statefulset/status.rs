//! The StatefulSet's status (Kubernetes' `computeReplicaStatus` and
//! `completeRollingUpdate`).

use keel_core::Error;
use keel_core::api::{StatefulSet, StatefulSetStatus};
use keel_core::client::{Api, Client};
use keel_core::meta::Time;

use super::identity::revision_of;
use super::revision::Revisions;
use super::sync::{Split, running_and_ready};
use crate::workload::{is_pod_available, update_status};

fn count(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// The status `set` should have given its pods: how many exist, are Running and Ready,
/// available, and (when not being deleted) of the current and of the update revision,
/// and the collision count the update revision was named with.
/// Once a rolling update has every pod updated and ready, the update revision becomes
/// the current one.
pub(super) fn compute(
    set: &StatefulSet,
    split: &Split,
    revisions: &Revisions,
    now: &Time,
) -> StatefulSetStatus {
    let min_ready = set.spec.min_ready_seconds.unwrap_or(0);
    let pods: Vec<_> = split
        .slots
        .iter()
        .flatten()
        .chain(&split.condemned)
        .collect();
    let ready = pods.iter().filter(|p| running_and_ready(p)).count();
    let available = pods
        .iter()
        .filter(|p| running_and_ready(p) && is_pod_available(p, min_ready, now))
        .count();
    let live: Vec<_> = pods
        .iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .collect();
    let of = |rev: &str| live.iter().filter(|p| revision_of(p) == Some(rev)).count();
    let mut status = set.status.clone().unwrap_or_default();
    status.observed_generation = set.metadata.generation;
    status.replicas = count(pods.len());
    status.ready_replicas = Some(count(ready));
    status.available_replicas = Some(count(available));
    status.current_replicas = Some(count(of(&revisions.current)));
    status.updated_replicas = Some(count(of(&revisions.update)));
    status.current_revision = Some(revisions.current.clone());
    status.update_revision = Some(revisions.update.clone());
    status.collision_count = Some(revisions.collision_count);
    let rolling = set
        .spec
        .update_strategy
        .as_ref()
        .and_then(|s| s.type_.as_deref())
        .is_none_or(|t| t == "RollingUpdate");
    if rolling
        && status.updated_replicas == Some(status.replicas)
        && status.ready_replicas == Some(status.replicas)
    {
        status.current_replicas = status.updated_replicas;
        status.current_revision = status.update_revision.clone();
    }
    status
}

/// Writes `status` unless the stored one already equals it.
pub(super) async fn write(
    client: &Client,
    set: &StatefulSet,
    status: StatefulSetStatus,
) -> Result<(), Error> {
    let api: Api<StatefulSet> = Api::namespaced(client, set.metadata.namespace_str().unwrap_or(""));
    update_status(&api, set, |s| s.status = Some(status.clone())).await
}
