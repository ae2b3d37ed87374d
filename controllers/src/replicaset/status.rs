//! The ReplicaSet's status, computed from its pods (Kubernetes' `calculateStatus`).

use std::sync::Arc;
use std::time::Duration;

use keel_core::Error;
use keel_core::api::{Pod, ReplicaSet, ReplicaSetStatus, WorkloadCondition};
use keel_core::client::{Api, Client};
use keel_core::meta::Time;

use crate::runtime::Action;
use crate::workload::{is_pod_available, ready_since, update_status};

/// The condition type set while creating or deleting pods fails.
pub const REPLICA_FAILURE: &str = "ReplicaFailure";

/// The status `rs` should have given its active pods and the last sync's failure, and
/// when to look again (once the next ready pod becomes available).
pub(super) fn compute(
    rs: &ReplicaSet,
    active: &[Arc<Pod>],
    failure: Option<&(&'static str, Error)>,
    now: &Time,
) -> (ReplicaSetStatus, Action) {
    let min_ready = rs.spec.min_ready_seconds.unwrap_or(0);
    let template_labels = &rs.spec.template.metadata.labels;
    let count = |f: &dyn Fn(&Pod) -> bool| {
        i32::try_from(active.iter().filter(|p| f(p)).count()).unwrap_or(i32::MAX)
    };
    let fully_labeled = count(&|p| {
        template_labels
            .iter()
            .all(|(k, v)| p.metadata.labels.get(k) == Some(v))
    });
    let ready = count(&|p| p.is_ready());
    let available = count(&|p| is_pod_available(p, min_ready, now));
    let mut status = rs.status.clone().unwrap_or_default();
    status.replicas = i32::try_from(active.len()).unwrap_or(i32::MAX);
    status.fully_labeled_replicas = Some(fully_labeled);
    status.ready_replicas = Some(ready);
    status.available_replicas = Some(available);
    status.observed_generation = rs.metadata.generation;
    match failure {
        Some((reason, error)) => {
            if !status.conditions.iter().any(|c| c.type_ == REPLICA_FAILURE) {
                status.conditions.push(WorkloadCondition {
                    type_: REPLICA_FAILURE.into(),
                    status: "True".into(),
                    last_transition_time: Some(now.clone()),
                    reason: Some((*reason).into()),
                    message: Some(error.to_string()),
                });
            }
        }
        None => status.conditions.retain(|c| c.type_ != REPLICA_FAILURE),
    }
    // Look again when the next ready pod has been ready for minReadySeconds.
    let action = if min_ready > 0 && available < ready {
        let wait = Duration::from_secs(u64::try_from(min_ready).unwrap_or(0) + 1);
        let soonest = active
            .iter()
            .filter(|p| p.is_ready() && !is_pod_available(p, min_ready, now))
            .filter_map(|p| ready_since(p))
            .map(|t| t.saturating_add(wait).duration_since(now))
            .min()
            .unwrap_or(wait);
        Action::requeue(soonest.max(Duration::from_secs(1)))
    } else {
        Action::await_change()
    };
    (status, action)
}

/// Writes `status` unless the stored one already equals it.
pub(super) async fn write(
    client: &Client,
    rs: &ReplicaSet,
    status: ReplicaSetStatus,
) -> Result<(), Error> {
    let api: Api<ReplicaSet> = Api::namespaced(client, rs.metadata.namespace_str().unwrap_or(""));
    update_status(&api, rs, |r| r.status = Some(status.clone())).await
}
