//! The `RollingUpdate` strategy (Kubernetes' `rollingUpdate` of the daemon
//! controller): old pods are deleted while at most `maxUnavailable` nodes lack an
//! available pod; with `maxSurge`, new pods start beside old ones first and an old pod
//! goes once its replacement is available.

use std::sync::Arc;

use keel_core::api::{DaemonSet, Node, Pod};
use keel_core::meta::Time;

use super::manage::PodsByNode;
use super::placement::should_run;
use super::revision::{Revision, surge_count, unavailable_count};
use crate::workload::is_pod_available;

/// What one rolling-update step decided.
#[derive(Debug, Default, PartialEq)]
pub(super) struct Step {
    /// Old pods to delete.
    pub delete: Vec<Arc<Pod>>,
    /// Nodes to start a new pod on (surge).
    pub create: Vec<String>,
}

/// The budget of a rolling update (Kubernetes' `updatedDesiredNodeCounts`): the nodes
/// that should run a pod (each gets an entry in `by_node`), `maxSurge` and
/// `maxUnavailable` scaled to their number; when both are 0, one pod may be unavailable.
fn budget(
    ds: &DaemonSet,
    nodes: &[Arc<Node>],
    by_node: &mut PodsByNode,
) -> Result<(i32, i32, i32), String> {
    let mut desired = 0;
    for node in nodes {
        if should_run(ds, node).0 {
            desired += 1;
            by_node
                .entry(node.metadata.name_str().to_owned())
                .or_default();
        }
    }
    let surge = surge_count(ds, desired)?;
    let mut unavailable = unavailable_count(ds, desired)?;
    if desired > 0 && surge == 0 && unavailable == 0 {
        unavailable = 1;
    }
    Ok((surge, unavailable, desired))
}

/// A node's new and old pod.
type NewAndOld<'a> = (Option<&'a Arc<Pod>>, Option<&'a Arc<Pod>>);

/// The node's one new and one old pod (not being deleted); `None` when it has more of
/// either (the core loop prunes those first).
fn new_and_old<'a>(pods: &'a [Arc<Pod>], revision: &Revision) -> Option<NewAndOld<'a>> {
    let (mut new, mut old) = (None, None);
    for pod in pods
        .iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
    {
        let slot = if revision.is_updated(pod) {
            &mut new
        } else {
            &mut old
        };
        if slot.is_some() {
            return None;
        }
        *slot = Some(pod);
    }
    Some((new, old))
}

/// One step of the rolling update of `ds`.
pub(super) fn step(
    ds: &DaemonSet,
    nodes: &[Arc<Node>],
    by_node: &PodsByNode,
    revision: &Revision,
    now: &Time,
) -> Result<Step, String> {
    let mut by_node = by_node.clone();
    let (surge, max_unavailable, desired) = budget(ds, nodes, &mut by_node)?;
    let min_ready = ds.spec.min_ready_seconds.unwrap_or(0);
    let available = |p: &Pod| is_pod_available(p, min_ready, now);
    if surge == 0 {
        return Ok(without_surge(
            &by_node,
            revision,
            max_unavailable,
            &available,
        ));
    }
    Ok(with_surge(
        ds, nodes, &by_node, revision, surge, desired, &available,
    ))
}

/// The surge half of Kubernetes' `rollingUpdate`: a node whose old pod is unavailable
/// gets a new pod at once, up to `maxSurge` others get one beside their available old
/// pod, and an old pod goes once the new one beside it is available. Old pods on nodes
/// that should no longer run one go when unavailable, or while more nodes have an
/// available pod than are desired (availability is kept through a change of node
/// constraints).
fn with_surge(
    ds: &DaemonSet,
    nodes: &[Arc<Node>],
    by_node: &PodsByNode,
    revision: &Revision,
    surge: i32,
    desired: i32,
    available: &dyn Fn(&Pod) -> bool,
) -> Step {
    let mut out = Step::default();
    let (mut surging, mut num_available) = (0, 0);
    let (mut allowed, mut candidates, mut off_node) = (Vec::new(), Vec::new(), Vec::new());
    for (node_name, pods) in by_node {
        let Some((new, old)) = new_and_old(pods, revision) else {
            surging += 1;
            continue;
        };
        if old.or(new).is_some_and(|p| available(p)) {
            num_available += 1;
        }
        match (new, old) {
            (_, None) => {}
            (None, Some(old)) => {
                let runs = nodes
                    .iter()
                    .find(|n| n.metadata.name_str() == node_name)
                    .is_some_and(|n| should_run(ds, n).0);
                match (runs, available(old)) {
                    (false, false) => out.delete.push(old.clone()),
                    (false, true) => off_node.push(old.clone()),
                    (true, false) => allowed.push(node_name.clone()),
                    (true, true) if surging < surge => candidates.push(node_name.clone()),
                    (true, true) => {}
                }
            }
            (Some(new), Some(old)) => {
                if available(new) {
                    out.delete.push(old.clone());
                } else {
                    surging += 1;
                }
            }
        }
    }
    let spare = usize::try_from((num_available - desired).max(0)).unwrap_or(0);
    out.delete.extend(off_node.into_iter().take(spare));
    let room = usize::try_from((surge - surging).max(0)).unwrap_or(0);
    out.create = allowed;
    out.create.extend(candidates.into_iter().take(room));
    out
}

fn without_surge(
    by_node: &PodsByNode,
    revision: &Revision,
    max_unavailable: i32,
    available: &dyn Fn(&Pod) -> bool,
) -> Step {
    let mut unavailable = 0;
    let (mut replace_now, mut candidates) = (Vec::new(), Vec::new());
    for pods in by_node.values() {
        let Some(pair) = new_and_old(pods, revision) else {
            unavailable += 1;
            continue;
        };
        match pair {
            (None, None) | (Some(_), Some(_)) => unavailable += 1,
            (Some(new), None) => {
                if !available(new) {
                    unavailable += 1;
                }
            }
            (None, Some(old)) => {
                if !available(old) {
                    replace_now.push(old.clone());
                    unavailable += 1;
                } else if unavailable < max_unavailable {
                    candidates.push(old.clone());
                }
            }
        }
    }
    let room = usize::try_from((max_unavailable - unavailable).max(0)).unwrap_or(0);
    let mut delete = replace_now;
    delete.extend(candidates.into_iter().take(room));
    Step {
        delete,
        create: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::daemonset::revision::CONTROLLER_REVISION_HASH;
    use keel_core::api::{
        DaemonSetUpdateStrategy, PodCondition, PodStatus, RollingUpdateDaemonSet,
    };
    use keel_core::intstr::IntOrString;
    use keel_core::meta::ObjectMeta;

    fn ds(unavailable: i32, surge: i32) -> DaemonSet {
        let mut ds = DaemonSet::default();
        ds.spec.update_strategy = Some(DaemonSetUpdateStrategy {
            type_: Some("RollingUpdate".into()),
            rolling_update: Some(RollingUpdateDaemonSet {
                max_unavailable: Some(IntOrString::Int(unavailable)),
                max_surge: Some(IntOrString::Int(surge)),
            }),
        });
        ds
    }

    fn nodes(n: usize) -> Vec<Arc<Node>> {
        (0..n)
            .map(|i| {
                Arc::new(Node {
                    metadata: ObjectMeta::named(format!("n{i}")),
                    ..Node::default()
                })
            })
            .collect()
    }

    fn pod(node: usize, hash: &str, ready: bool) -> Arc<Pod> {
        let mut p = Pod {
            metadata: ObjectMeta::namespaced("d", format!("p{node}-{hash}"))
                .with_label(CONTROLLER_REVISION_HASH, hash),
            ..Pod::default()
        };
        p.spec.node_name = Some(format!("n{node}"));
        p.status = Some(PodStatus {
            phase: Some("Running".into()),
            conditions: vec![PodCondition {
                type_: "Ready".into(),
                status: if ready { "True" } else { "False" }.into(),
                ..PodCondition::default()
            }],
            ..PodStatus::default()
        });
        Arc::new(p)
    }

    fn group(pods: &[Arc<Pod>]) -> PodsByNode {
        super::super::manage::group_by_node(pods)
    }

    fn rev() -> Revision {
        Revision {
            hash: "new".into(),
            generation: None,
        }
    }

    #[test]
    fn without_surge_deletes_up_to_max_unavailable() {
        let now = Time::epoch();
        let all_old = group(&(0..4).map(|i| pod(i, "old", true)).collect::<Vec<_>>());
        let s = step(&ds(2, 0), &nodes(4), &all_old, &rev(), &now).unwrap();
        assert_eq!(s.delete.len(), 2);
        assert!(s.create.is_empty());
        // One node already has an unavailable new pod: only one more may go.
        let mut pods: Vec<_> = (1..4).map(|i| pod(i, "old", true)).collect();
        pods.push(pod(0, "new", false));
        let s = step(&ds(2, 0), &nodes(4), &group(&pods), &rev(), &now).unwrap();
        assert_eq!(s.delete.len(), 1);
        // An unavailable old pod is replaced regardless of the budget.
        let mut pods: Vec<_> = (1..4).map(|i| pod(i, "old", true)).collect();
        pods.push(pod(0, "new", false));
        pods.push(pod(4, "old", false));
        let s = step(&ds(1, 0), &nodes(5), &group(&pods), &rev(), &now).unwrap();
        assert_eq!(
            s.delete
                .iter()
                .map(|p| p.metadata.name_str())
                .collect::<Vec<_>>(),
            ["p4-old"]
        );
        // A node without any pod counts as unavailable.
        let pods: Vec<_> = (1..4).map(|i| pod(i, "old", true)).collect();
        let s = step(&ds(1, 0), &nodes(4), &group(&pods), &rev(), &now).unwrap();
        assert!(s.delete.is_empty());
    }

    #[test]
    fn with_surge_new_pods_come_first() {
        let now = Time::epoch();
        let all_old = group(&(0..3).map(|i| pod(i, "old", true)).collect::<Vec<_>>());
        let s = step(&ds(0, 2), &nodes(3), &all_old, &rev(), &now).unwrap();
        assert_eq!((s.create.len(), s.delete.len()), (2, 0));
        // A new pod not yet available holds its surge slot; an available one retires
        // its old pod.
        let pods = vec![
            pod(0, "old", true),
            pod(0, "new", false),
            pod(1, "old", true),
            pod(1, "new", true),
            pod(2, "old", true),
        ];
        let s = step(&ds(0, 1), &nodes(3), &group(&pods), &rev(), &now).unwrap();
        assert_eq!(
            s.delete
                .iter()
                .map(|p| p.metadata.name_str())
                .collect::<Vec<_>>(),
            ["p1-old"]
        );
        assert!(s.create.is_empty());
    }

    #[test]
    fn with_surge_old_pods_off_their_node_go_only_while_availability_is_spare() {
        let now = Time::epoch();
        let mut nodes = nodes(2);
        Arc::make_mut(&mut nodes[0])
            .spec
            .taints
            .push(keel_core::api::Taint {
                key: "k".into(),
                value: None,
                effect: "NoSchedule".into(),
                time_added: None,
            });
        // n0 should not run a pod (but may keep it); n1 should. Both old pods are
        // available, one more than desired: n0's may go.
        let pods = vec![pod(0, "old", true), pod(1, "old", true)];
        let s = step(&ds(0, 1), &nodes, &group(&pods), &rev(), &now).unwrap();
        let deleted: Vec<_> = s.delete.iter().map(|p| p.metadata.name_str()).collect();
        assert_eq!(deleted, ["p0-old"]);
        assert_eq!(s.create, ["n1"]);
        // With n1's pod unavailable, n0's pod is the only available one: it stays.
        let pods = vec![pod(0, "old", true), pod(1, "old", false)];
        let s = step(&ds(0, 1), &nodes, &group(&pods), &rev(), &now).unwrap();
        assert!(s.delete.is_empty());
        assert_eq!(s.create, ["n1"]);
    }
}
