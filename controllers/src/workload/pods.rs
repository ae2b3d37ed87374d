//! Pod predicates the workload controllers share, and the order in which a controller
//! scaling down picks the pods to delete.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use keel_core::api::{Pod, phase};
use keel_core::meta::Time;

/// The annotation whose integer value makes a pod cheaper (lower) or dearer (higher) to
/// delete when its ReplicaSet scales down.
pub const POD_DELETION_COST: &str = "controller.kubernetes.io/pod-deletion-cost";

/// Whether the pod counts towards its controller's replicas: not finished and not being
/// deleted (Kubernetes' `IsPodActive`).
pub fn is_pod_active(pod: &Pod) -> bool {
    !pod.is_terminal() && pod.metadata.deletion_timestamp.is_none()
}

/// Since when the pod has been Ready (its `Ready` condition's last transition), if it is.
pub fn ready_since(pod: &Pod) -> Option<&Time> {
    let status = pod.status.as_ref()?;
    status
        .conditions
        .iter()
        .find(|c| c.type_ == "Ready" && c.status == "True")
        .and_then(|c| c.last_transition_time.as_ref())
}

/// Whether the pod is available: Ready, and Ready for longer than `min_ready_seconds`
/// at `now` (Kubernetes' `IsPodAvailable`).
pub fn is_pod_available(pod: &Pod, min_ready_seconds: i32, now: &Time) -> bool {
    if !pod.is_ready() {
        return false;
    }
    if min_ready_seconds <= 0 {
        return true;
    }
    let min_ready = Duration::from_secs(u64::try_from(min_ready_seconds).unwrap_or(0));
    ready_since(pod).is_some_and(|t| t.saturating_add(min_ready) < *now)
}

/// How long until the first of `pods` that is Ready but not yet available becomes
/// available (a second past its `minReadySeconds`, at least one second from `now`);
/// `None` when none is waiting. Controllers re-queue after it so availability counts
/// and rollouts move on without another event.
pub fn until_next_available<'a>(
    pods: impl IntoIterator<Item = &'a Arc<Pod>>,
    min_ready_seconds: i32,
    now: &Time,
) -> Option<Duration> {
    let wait = Duration::from_secs(u64::try_from(min_ready_seconds).ok()? + 1);
    pods.into_iter()
        .filter(|p| p.is_ready() && !is_pod_available(p, min_ready_seconds, now))
        .map(|p| ready_since(p).map_or(wait, |t| t.saturating_add(wait).duration_since(now)))
        .min()
        .map(|d| d.max(Duration::from_secs(1)))
}

fn phase_ordinal(pod: &Pod) -> u8 {
    match pod.phase() {
        phase::UNKNOWN => 1,
        phase::RUNNING => 2,
        _ => 0,
    }
}

fn deletion_cost(pod: &Pod) -> i32 {
    pod.metadata
        .annotations
        .get(POD_DELETION_COST)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn max_restarts(pod: &Pod) -> i32 {
    pod.status.as_ref().map_or(0, |s| {
        s.container_statuses
            .iter()
            .map(|c| c.restart_count)
            .max()
            .unwrap_or(0)
    })
}

/// `a` before `b` when `a` is unset or later (Kubernetes' `afterOrZero`).
fn later_or_unset_first(a: Option<&Time>, b: Option<&Time>) -> Ordering {
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(a), Some(b)) => b.cmp(a),
    }
}

/// Kubernetes' `ActivePodsWithRanks` order: the pod to delete first sorts first.
/// `rank` is how many related pods share the pod's node (doubled-up pods go first).
fn deletion_order(a: &Pod, rank_a: usize, b: &Pod, rank_b: usize) -> Ordering {
    let (na, nb) = (a.node_name(), b.node_name());
    if na != nb && (na.is_none() || nb.is_none()) {
        // Unscheduled before scheduled.
        return nb.is_none().cmp(&na.is_none());
    }
    phase_ordinal(a)
        .cmp(&phase_ordinal(b))
        .then_with(|| a.is_ready().cmp(&b.is_ready()))
        .then_with(|| deletion_cost(a).cmp(&deletion_cost(b)))
        .then_with(|| rank_b.cmp(&rank_a))
        .then_with(|| {
            if a.is_ready() && b.is_ready() {
                later_or_unset_first(ready_since(a), ready_since(b))
            } else {
                Ordering::Equal
            }
        })
        .then_with(|| max_restarts(b).cmp(&max_restarts(a)))
        .then_with(|| {
            later_or_unset_first(
                a.metadata.creation_timestamp.as_ref(),
                b.metadata.creation_timestamp.as_ref(),
            )
        })
}

/// The `count` pods of `pods` to delete when scaling down, least valuable first:
/// unscheduled before scheduled, pending before unknown before running, not ready
/// before ready, lower `pod-deletion-cost` first, pods sharing a node with more of
/// `related` first, ready for less time first, more restarts first, newer first.
pub fn pods_to_delete(pods: &[Arc<Pod>], related: &[Arc<Pod>], count: usize) -> Vec<Arc<Pod>> {
    if count >= pods.len() {
        return pods.to_vec();
    }
    let mut on_node: HashMap<&str, usize> = HashMap::new();
    for p in related.iter().filter(|p| is_pod_active(p)) {
        if let Some(n) = p.node_name() {
            *on_node.entry(n).or_default() += 1;
        }
    }
    let rank = |p: &Pod| {
        p.node_name()
            .map_or(0, |n| on_node.get(n).copied().unwrap_or(0))
    };
    let mut ranked: Vec<(usize, &Arc<Pod>)> = pods.iter().map(|p| (rank(p), p)).collect();
    ranked.sort_by(|(ra, a), (rb, b)| deletion_order(a, *ra, b, *rb));
    ranked
        .into_iter()
        .take(count)
        .map(|(_, p)| p.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use keel_core::api::{ContainerStatus, PodCondition, PodStatus};
    use keel_core::meta::ObjectMeta;

    fn t(s: u32) -> Time {
        format!("2024-01-01T00:{:02}:{:02}Z", s / 60, s % 60)
            .parse()
            .unwrap()
    }

    fn pod(name: &str, node: Option<&str>, phase: &str, ready: Option<u32>) -> Pod {
        let mut p = Pod {
            metadata: ObjectMeta::namespaced("default", name),
            ..Default::default()
        };
        p.metadata.creation_timestamp = Some(t(0));
        p.spec.node_name = node.map(str::to_owned);
        let mut status = PodStatus {
            phase: Some(phase.into()),
            ..Default::default()
        };
        if let Some(since) = ready {
            status.conditions.push(PodCondition {
                type_: "Ready".into(),
                status: "True".into(),
                last_transition_time: Some(t(since)),
                ..Default::default()
            });
        }
        p.status = Some(status);
        p
    }

    fn names(pods: &[Arc<Pod>]) -> Vec<&str> {
        pods.iter().map(|p| p.metadata.name_str()).collect()
    }

    #[test]
    fn availability_needs_ready_for_longer_than_min_ready_seconds() {
        let p = pod("a", Some("n"), "Running", Some(10));
        assert!(is_pod_available(&p, 0, &t(10)));
        assert!(
            !is_pod_available(&p, 5, &t(15)),
            "exactly minReadySeconds is not enough"
        );
        assert!(is_pod_available(&p, 5, &t(16)));
        assert!(!is_pod_available(
            &pod("b", Some("n"), "Running", None),
            0,
            &t(99)
        ));
    }

    #[test]
    fn next_availability_is_a_second_past_min_ready() {
        let pods: Vec<Arc<Pod>> = [
            pod("early", Some("n"), "Running", Some(2)),
            pod("late", Some("n"), "Running", Some(8)),
            pod("not-ready", Some("n"), "Running", None),
        ]
        .into_iter()
        .map(Arc::new)
        .collect();
        // Ready at 2 s with minReadySeconds 5: available after 7 s; check at 8 s.
        assert_eq!(
            until_next_available(&pods, 5, &t(3)),
            Some(Duration::from_secs(5))
        );
        assert_eq!(
            until_next_available(&pods, 5, &t(9)),
            Some(Duration::from_secs(5))
        );
        assert_eq!(until_next_available(&pods, 5, &t(30)), None);
        assert_eq!(until_next_available(&pods, 0, &t(3)), None);
    }

    #[test]
    fn active_excludes_finished_and_deleting_pods() {
        assert!(is_pod_active(&pod("a", None, "Pending", None)));
        assert!(!is_pod_active(&pod("a", None, "Succeeded", None)));
        assert!(!is_pod_active(&pod("a", None, "Failed", None)));
        let mut d = pod("a", None, "Running", None);
        d.metadata.deletion_timestamp = Some(t(1));
        assert!(!is_pod_active(&d));
    }

    #[test]
    fn least_valuable_pods_go_first() {
        let mut restarts = pod("restarts", Some("n3"), "Running", Some(1));
        restarts
            .status
            .as_mut()
            .unwrap()
            .container_statuses
            .push(ContainerStatus {
                name: "c".into(),
                restart_count: 3,
                ..Default::default()
            });
        let mut newer = pod("newer", Some("n4"), "Running", Some(1));
        newer.metadata.creation_timestamp = Some(t(5));
        let pods: Vec<Arc<Pod>> = [
            pod("ready-old", Some("n5"), "Running", Some(1)),
            newer,
            restarts,
            pod("ready-recently", Some("n6"), "Running", Some(30)),
            pod("not-ready", Some("n7"), "Running", None),
            pod("pending", Some("n8"), "Pending", None),
            pod("unscheduled", None, "Pending", None),
        ]
        .into_iter()
        .map(Arc::new)
        .collect();
        let order = pods_to_delete(&pods, &pods, 6);
        assert_eq!(
            names(&order),
            [
                "unscheduled",
                "pending",
                "not-ready",
                "ready-recently",
                "restarts",
                "newer"
            ]
        );
    }

    #[test]
    fn doubled_up_pods_and_cheap_pods_go_first() {
        let a = Arc::new(pod("a", Some("n1"), "Running", Some(1)));
        let b = Arc::new(pod("b", Some("n2"), "Running", Some(1)));
        let c = Arc::new(pod("c", Some("n2"), "Running", Some(1)));
        let pods = vec![a.clone(), b.clone(), c.clone()];
        assert_ne!(names(&pods_to_delete(&pods, &pods, 1)), ["a"]);
        let mut cheap = pod("cheap", Some("n1"), "Running", Some(1));
        cheap
            .metadata
            .annotations
            .insert(POD_DELETION_COST.into(), "-5".into());
        let pods = vec![b, c, Arc::new(cheap)];
        assert_eq!(names(&pods_to_delete(&pods, &pods, 1)), ["cheap"]);
    }
}
