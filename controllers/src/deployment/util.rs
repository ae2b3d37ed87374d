//! Kubernetes' `deploymentutil`: annotations, the surge / unavailability fenceposts,
//! replica counts over ReplicaSets, and finding the new ReplicaSet.

use std::cmp::Ordering;

use keel_core::api::{Deployment, PodTemplateSpec, ReplicaSet};

/// The revision of a ReplicaSet, and of the Deployment (its newest ReplicaSet's).
pub const REVISION: &str = "deployment.kubernetes.io/revision";
/// Earlier revisions a re-used ReplicaSet had, comma-separated.
pub const REVISION_HISTORY: &str = "deployment.kubernetes.io/revision-history";
/// The Deployment's `replicas` when the ReplicaSet was last scaled by it.
pub const DESIRED_REPLICAS: &str = "deployment.kubernetes.io/desired-replicas";
/// The Deployment's `replicas + maxSurge` when the ReplicaSet was last scaled by it.
pub const MAX_REPLICAS: &str = "deployment.kubernetes.io/max-replicas";
/// The label (and selector term) naming a ReplicaSet's template.
pub const POD_TEMPLATE_HASH: &str = "pod-template-hash";

/// Annotations of a Deployment that are not copied to its ReplicaSets.
const NOT_COPIED: &[&str] = &[
    "kubectl.kubernetes.io/last-applied-configuration",
    REVISION,
    REVISION_HISTORY,
    DESIRED_REPLICAS,
    MAX_REPLICAS,
    "deprecated.deployment.rollback.to",
];

/// Whether a Deployment annotation is copied onto its ReplicaSets.
pub fn copied_annotation(key: &str) -> bool {
    !NOT_COPIED.contains(&key)
}

/// `spec.replicas` (default 1).
pub fn replicas(d: &Deployment) -> i32 {
    d.spec.replicas.unwrap_or(1)
}

/// A ReplicaSet's `spec.replicas` (default 1).
pub fn rs_replicas(rs: &ReplicaSet) -> i32 {
    rs.spec.replicas.unwrap_or(1)
}

/// Whether the Deployment uses the RollingUpdate strategy (the default).
pub fn is_rolling(d: &Deployment) -> bool {
    d.spec
        .strategy
        .as_ref()
        .and_then(|s| s.type_.as_deref())
        .is_none_or(|t| t == "RollingUpdate")
}

/// `(maxSurge, maxUnavailable)` resolved against `replicas` (Kubernetes'
/// `ResolveFenceposts`): surge rounds up, unavailability rounds down, and both zero
/// becomes unavailability 1 so a rollout can progress.
pub fn fenceposts(d: &Deployment) -> (i32, i32) {
    let desired = replicas(d);
    let rolling = d
        .spec
        .strategy
        .as_ref()
        .and_then(|s| s.rolling_update.as_ref());
    let scaled = |v: Option<&keel_core::intstr::IntOrString>, default: &str, up: bool| {
        let fallback = keel_core::intstr::IntOrString::from(default);
        v.unwrap_or(&fallback)
            .scaled_value(desired, up)
            .unwrap_or(0)
            .max(0)
    };
    let surge = scaled(rolling.and_then(|r| r.max_surge.as_ref()), "25%", true);
    let mut unavailable = scaled(
        rolling.and_then(|r| r.max_unavailable.as_ref()),
        "25%",
        false,
    );
    if surge == 0 && unavailable == 0 {
        unavailable = 1;
    }
    (surge, unavailable)
}

/// How many pods above `replicas` a rollout may run (0 for Recreate).
pub fn max_surge(d: &Deployment) -> i32 {
    if is_rolling(d) { fenceposts(d).0 } else { 0 }
}

/// How many of `replicas` may be unavailable during a rollout (0 for Recreate or zero
/// replicas; never more than `replicas`).
pub fn max_unavailable(d: &Deployment) -> i32 {
    if !is_rolling(d) || replicas(d) == 0 {
        return 0;
    }
    fenceposts(d).1.min(replicas(d))
}

/// The revision number of a ReplicaSet (0 when unset or unreadable).
pub fn revision(rs: &ReplicaSet) -> i64 {
    rs.metadata
        .annotations
        .get(REVISION)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn annotation_i32(rs: &ReplicaSet, key: &str) -> Option<i32> {
    rs.metadata
        .annotations
        .get(key)
        .and_then(|v| v.parse().ok())
}

/// The `desired-replicas` annotation.
pub fn desired_replicas_annotation(rs: &ReplicaSet) -> Option<i32> {
    annotation_i32(rs, DESIRED_REPLICAS)
}

/// The `max-replicas` annotation.
pub fn max_replicas_annotation(rs: &ReplicaSet) -> Option<i32> {
    annotation_i32(rs, MAX_REPLICAS)
}

/// Sets `desired-replicas` and `max-replicas`; whether anything changed.
pub fn set_replicas_annotations(rs: &mut ReplicaSet, desired: i32, max: i32) -> bool {
    let mut changed = false;
    for (key, value) in [(DESIRED_REPLICAS, desired), (MAX_REPLICAS, max)] {
        let value = value.to_string();
        if rs.metadata.annotations.get(key) != Some(&value) {
            rs.metadata.annotations.insert(key.to_owned(), value);
            changed = true;
        }
    }
    changed
}

/// Σ `spec.replicas`.
pub fn spec_replicas(sets: &[ReplicaSet]) -> i32 {
    sets.iter().map(rs_replicas).sum()
}

/// Σ `status.replicas` (the pods that exist).
pub fn actual_replicas(sets: &[ReplicaSet]) -> i32 {
    sets.iter()
        .map(|rs| rs.status.as_ref().map_or(0, |s| s.replicas))
        .sum()
}

/// Σ `status.readyReplicas`.
pub fn ready_replicas(sets: &[ReplicaSet]) -> i32 {
    sets.iter()
        .map(|rs| {
            rs.status
                .as_ref()
                .and_then(|s| s.ready_replicas)
                .unwrap_or(0)
        })
        .sum()
}

/// Σ `status.availableReplicas`.
pub fn available_replicas(sets: &[ReplicaSet]) -> i32 {
    sets.iter()
        .map(|rs| {
            rs.status
                .as_ref()
                .and_then(|s| s.available_replicas)
                .unwrap_or(0)
        })
        .sum()
}

/// Σ max(`spec.replicas`, `status.replicas`): the pods that may exist, counting both
/// pods asked for and not yet created, and pods scaled away but not yet deleted. A
/// rollout's surge is checked against this, so the pods that really exist never
/// exceed `replicas + maxSurge` even while ReplicaSet controllers lag.
pub fn pods_bound(sets: &[ReplicaSet]) -> i32 {
    sets.iter()
        .map(|rs| rs_replicas(rs).max(rs.status.as_ref().map_or(0, |s| s.replicas)))
        .sum()
}

/// Σ min(`status.availableReplicas`, `spec.replicas`): the available pods that will
/// still exist once every ReplicaSet reached its size. Scale-downs are checked against
/// this, so a scale-down whose pods are not deleted yet is not counted twice.
pub fn available_floor(sets: &[ReplicaSet]) -> i32 {
    sets.iter()
        .map(|rs| {
            let available = rs
                .status
                .as_ref()
                .and_then(|s| s.available_replicas)
                .unwrap_or(0);
            available.min(rs_replicas(rs))
        })
        .sum()
}

/// The template without the `pod-template-hash` label.
fn without_hash(t: &PodTemplateSpec) -> PodTemplateSpec {
    let mut t = t.clone();
    t.metadata.labels.remove(POD_TEMPLATE_HASH);
    t
}

/// Whether two templates are equal apart from `pod-template-hash` (Kubernetes'
/// `EqualIgnoreHash`).
pub fn equal_ignore_hash(a: &PodTemplateSpec, b: &PodTemplateSpec) -> bool {
    without_hash(a) == without_hash(b)
}

/// Oldest first; ties by name.
pub fn by_creation(a: &ReplicaSet, b: &ReplicaSet) -> Ordering {
    a.metadata
        .creation_timestamp
        .cmp(&b.metadata.creation_timestamp)
        .then_with(|| a.metadata.name.cmp(&b.metadata.name))
}

/// The index of the ReplicaSet whose template equals the Deployment's (the oldest if
/// several do), Kubernetes' `FindNewReplicaSet`.
pub fn find_new(d: &Deployment, sets: &[ReplicaSet]) -> Option<usize> {
    let mut order: Vec<usize> = (0..sets.len()).collect();
    order.sort_by(|&a, &b| by_creation(&sets[a], &sets[b]));
    order
        .into_iter()
        .find(|&i| equal_ignore_hash(&sets[i].spec.template, &d.spec.template))
}

/// Whether the Deployment has a progress deadline (`progressDeadlineSeconds` set and
/// not `MaxInt32`).
pub fn has_progress_deadline(d: &Deployment) -> bool {
    d.spec
        .progress_deadline_seconds
        .is_some_and(|s| s != i32::MAX)
}

/// The pods the new ReplicaSet should have now (Kubernetes' `NewRSNewReplicas`):
/// Recreate — all of them; RollingUpdate — as many as the surge allows, up to
/// `replicas`.
pub fn new_rs_new_replicas(d: &Deployment, all: &[ReplicaSet], new: &ReplicaSet) -> i32 {
    let want = replicas(d);
    if !is_rolling(d) {
        return want;
    }
    let current = pods_bound(all);
    let max_total = want + max_surge(d);
    let have = rs_replicas(new);
    if current >= max_total {
        return have;
    }
    let up = (max_total - current).min(want - have).max(0);
    have + up
}

#[cfg(test)]
mod tests {
    use super::*;
    use keel_core::api::{DeploymentStrategy, RollingUpdateDeployment};
    use keel_core::intstr::IntOrString;

    fn v(s: &str) -> IntOrString {
        s.parse::<i32>()
            .map_or_else(|_| IntOrString::from(s), IntOrString::from)
    }

    fn deployment(replicas: i32, surge: &str, unavailable: &str) -> Deployment {
        let mut d = Deployment::default();
        d.spec.replicas = Some(replicas);
        d.spec.strategy = Some(DeploymentStrategy {
            type_: Some("RollingUpdate".into()),
            rolling_update: Some(RollingUpdateDeployment {
                max_surge: Some(v(surge)),
                max_unavailable: Some(v(unavailable)),
            }),
        });
        d
    }

    #[test]
    fn surge_rounds_up_and_unavailability_rounds_down() {
        assert_eq!(fenceposts(&deployment(10, "25%", "25%")), (3, 2));
        assert_eq!(fenceposts(&deployment(1, "25%", "25%")), (1, 0));
        assert_eq!(
            fenceposts(&deployment(4, "0", "0")),
            (0, 1),
            "both zero → 1 unavailable"
        );
        assert_eq!(
            max_unavailable(&deployment(2, "0", "5")),
            2,
            "capped at replicas"
        );
        assert_eq!(max_unavailable(&deployment(0, "1", "1")), 0);
        let mut recreate = deployment(5, "1", "1");
        recreate.spec.strategy.as_mut().unwrap().type_ = Some("Recreate".into());
        assert_eq!((max_surge(&recreate), max_unavailable(&recreate)), (0, 0));
    }

    #[test]
    fn new_replica_set_grows_within_the_surge() {
        let d = deployment(10, "3", "2");
        let mut old = ReplicaSet::default();
        old.spec.replicas = Some(10);
        let mut new = ReplicaSet::default();
        new.spec.replicas = Some(0);
        assert_eq!(
            new_rs_new_replicas(&d, &[old.clone(), new.clone()], &new),
            3
        );
        new.spec.replicas = Some(3);
        assert_eq!(
            new_rs_new_replicas(&d, &[old.clone(), new.clone()], &new),
            3
        );
        old.spec.replicas = Some(5);
        assert_eq!(new_rs_new_replicas(&d, &[old, new.clone()], &new), 8);
    }
}
