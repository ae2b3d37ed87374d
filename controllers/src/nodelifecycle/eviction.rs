//! Taint-based eviction (Kubernetes' `NoExecute` taint manager): when a pod on a
//! tainted node has to go, and the deletion itself.

use keel_core::Error;
use keel_core::api::{Pod, PodCondition, Taint, Toleration};
use keel_core::client::{Api, Client, DeleteParams, Preconditions};
use keel_core::meta::Time;

use crate::workload::node_fit::{tolerates, untolerated_taint};

/// The pod condition set on a pod about to be evicted.
pub const DISRUPTION_TARGET: &str = "DisruptionTarget";

/// Its reason when the taint manager evicts.
pub const REASON_DELETION_BY_TAINT_MANAGER: &str = "DeletionByTaintManager";

/// Its message.
pub const MESSAGE_DELETION_BY_TAINT_MANAGER: &str =
    "Taint manager: deleting due to NoExecute taint";

/// What the `NoExecute` taints of its node mean for a pod.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Eviction {
    /// The pod stays (no such taint, or every one tolerated without a time limit).
    Never,
    /// A taint is not tolerated (or only for no time): the pod goes now.
    Now,
    /// Every taint is tolerated; the first toleration runs out at this time.
    At(Time),
}

/// When a pod with `tolerations` must leave a node with `taints` (each with the time it
/// was added). Of the tolerations matching a taint, the smallest `tolerationSeconds`
/// counts (as Kubernetes' `getMinTolerationTime`); ones without it tolerate forever
/// unless another matching one is limited; a non-positive limit means now.
pub fn eviction(tolerations: &[Toleration], taints: &[(&Taint, Time)]) -> Eviction {
    let no_execute: Vec<Taint> = taints
        .iter()
        .filter(|(t, _)| t.effect == Taint::EFFECT_NO_EXECUTE)
        .map(|(t, _)| (*t).clone())
        .collect();
    if untolerated_taint(&no_execute, tolerations, |_| true).is_some() {
        return Eviction::Now;
    }
    let mut first: Option<Time> = None;
    for (taint, added) in taints {
        if taint.effect != Taint::EFFECT_NO_EXECUTE {
            continue;
        }
        let Some(seconds) = tolerations
            .iter()
            .filter(|tol| tolerates(tol, taint))
            .filter_map(|tol| tol.toleration_seconds)
            .min()
        else {
            continue;
        };
        if seconds <= 0 {
            return Eviction::Now;
        }
        let secs = u64::try_from(seconds).unwrap_or(u64::MAX);
        let deadline = added.saturating_add(std::time::Duration::from_secs(secs));
        if first.as_ref().is_none_or(|f| deadline < *f) {
            first = Some(deadline);
        }
    }
    first.map_or(Eviction::Never, Eviction::At)
}

/// Evicts `pod`: marks it with the `DisruptionTarget` condition (skipped if the pod
/// changed meanwhile) and deletes it with its own grace period, only if it is still
/// the same pod.
pub async fn evict(client: &Client, pod: &Pod) -> Result<(), Error> {
    let api: Api<Pod> = Api::namespaced(client, pod.metadata.namespace_str().unwrap_or(""));
    let name = pod.metadata.name_str();
    if pod.condition(DISRUPTION_TARGET) != Some("True") {
        let mut marked = pod.clone();
        let status = marked.status.get_or_insert_with(Default::default);
        status.conditions.retain(|c| c.type_ != DISRUPTION_TARGET);
        status.conditions.push(PodCondition {
            type_: DISRUPTION_TARGET.into(),
            status: "True".into(),
            last_transition_time: Some(client.clock().now()),
            reason: Some(REASON_DELETION_BY_TAINT_MANAGER.into()),
            message: Some(MESSAGE_DELETION_BY_TAINT_MANAGER.into()),
            ..PodCondition::default()
        });
        match api.replace_status(name, &marked).await {
            Ok(_) => {}
            Err(e) if e.is_not_found() || e.is_conflict() => {}
            Err(e) => return Err(e),
        }
    }
    let params = DeleteParams {
        preconditions: Some(Preconditions {
            uid: pod.metadata.uid.clone(),
            resource_version: None,
        }),
        ..DeleteParams::default()
    };
    match api.delete(name, &params).await {
        Ok(_) => Ok(()),
        Err(e) if e.is_not_found() || e.is_conflict() => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keel_core::api::TAINT_NODE_UNREACHABLE;
    use std::time::Duration;

    fn at(secs: u64) -> Time {
        Time::epoch().saturating_add(Duration::from_secs(secs))
    }

    fn taint(key: &str, effect: &str) -> Taint {
        Taint {
            key: key.into(),
            value: None,
            effect: effect.into(),
            time_added: None,
        }
    }

    fn tol(key: &str, seconds: Option<i64>) -> Toleration {
        Toleration {
            key: Some(key.into()),
            operator: Some("Exists".into()),
            value: None,
            effect: Some(Taint::EFFECT_NO_EXECUTE.into()),
            toleration_seconds: seconds,
        }
    }

    #[test]
    fn tolerations_decide_when_a_pod_goes() {
        let unreachable = taint(TAINT_NODE_UNREACHABLE, Taint::EFFECT_NO_EXECUTE);
        let soft = taint("soft", Taint::EFFECT_NO_SCHEDULE);
        let taints = [(&unreachable, at(100)), (&soft, at(0))];
        assert_eq!(eviction(&[], &[(&soft, at(0))]), Eviction::Never);
        assert_eq!(eviction(&[], &taints), Eviction::Now);
        assert_eq!(
            eviction(&[tol(TAINT_NODE_UNREACHABLE, None)], &taints),
            Eviction::Never
        );
        assert_eq!(
            eviction(
                &[
                    tol(TAINT_NODE_UNREACHABLE, None),
                    tol(TAINT_NODE_UNREACHABLE, Some(300)),
                    tol(TAINT_NODE_UNREACHABLE, Some(60)),
                ],
                &taints
            ),
            Eviction::At(at(160))
        );
        assert_eq!(
            eviction(&[tol(TAINT_NODE_UNREACHABLE, Some(-5))], &taints),
            Eviction::Now
        );
        let other = taint("other", Taint::EFFECT_NO_EXECUTE);
        assert_eq!(
            eviction(
                &[tol(TAINT_NODE_UNREACHABLE, Some(60))],
                &[(&unreachable, at(100)), (&other, at(0))]
            ),
            Eviction::Now,
            "one untolerated taint is enough"
        );
    }
}
