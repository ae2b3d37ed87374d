//! DefaultPreemption through the framework: who is evicted, where, and why not.

mod common;

use std::sync::Arc;

use common::{node, on, pod_with};
use keel_core::api::{Pod, PodDisruptionBudget};
use keel_scheduler::framework::{CycleState, Framework, PodInfo, Snapshot};
use serde_json::json;

fn prio(name: &str, cpu: &str, priority: i32) -> Pod {
    pod_with(
        name,
        cpu,
        "",
        json!({"metadata": {"labels": {"app": name}}, "spec": {"priority": priority}}),
    )
}

/// Runs a cycle and, on failure, PostFilter: the nominated node and victims' names.
fn preempt(s: &Snapshot, p: &Pod) -> Result<(String, Vec<String>), String> {
    let fw = Framework::default();
    let info = PodInfo::new(Arc::new(p.clone()));
    let mut state = CycleState::new();
    let err = fw
        .schedule_pod(&mut state, &info, s)
        .expect_err("the pod must not fit");
    let (result, status) = fw.run_post_filter(&state, &info, s, &err.diagnosis.node_to_status);
    match result {
        Some(r) if status.is_success() => {
            let mut victims: Vec<String> = r
                .victims
                .iter()
                .map(|v| v.metadata.name.clone().unwrap())
                .collect();
            victims.sort();
            Ok((r.nominated_node.unwrap(), victims))
        }
        _ => Err(status.to_string()),
    }
}

#[test]
fn the_fewest_lowest_priority_victims_are_chosen() {
    let mut s = Snapshot::from_objects(
        [
            Arc::new(node("a", "4", "8Gi")),
            Arc::new(node("b", "4", "8Gi")),
        ],
        Vec::new(),
    );
    // a: one big low pod; b: two small pods of higher priority.
    s.add_pod(on(prio("a-big", "3", 10), "a"));
    s.add_pod(on(prio("a-small", "1", 50), "a"));
    s.add_pod(on(prio("b-1", "2", 20), "b"));
    s.add_pod(on(prio("b-2", "2", 20), "b"));
    let (node, victims) = preempt(&s, &prio("vip", "3", 100)).unwrap();
    assert_eq!(
        (node.as_str(), victims),
        ("a", vec!["a-big".to_owned()]),
        "lowest highest-priority victim"
    );
}

#[test]
fn only_lower_priority_pods_are_victims() {
    let mut s = Snapshot::from_objects([Arc::new(node("a", "2", "8Gi"))], Vec::new());
    s.add_pod(on(prio("peer", "2", 100), "a"));
    let err = preempt(&s, &prio("vip", "1", 100)).unwrap_err();
    assert_eq!(
        err,
        "preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod"
    );
}

#[test]
fn unresolvable_nodes_are_not_tried() {
    let mut s = Snapshot::from_objects([Arc::new(node("a", "2", "8Gi"))], Vec::new());
    s.add_pod(on(prio("low", "2", 0), "a"));
    let picky = pod_with(
        "vip",
        "1",
        "",
        json!({"spec": {"priority": 100, "nodeSelector": {"disk": "ssd"}}}),
    );
    let err = preempt(&s, &picky).unwrap_err();
    assert_eq!(
        err,
        "preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling"
    );
    let never = pod_with(
        "vip",
        "1",
        "",
        json!({"spec": {"priority": 100, "preemptionPolicy": "Never"}}),
    );
    assert_eq!(
        preempt(&s, &never).unwrap_err(),
        "not eligible due to preemptionPolicy=Never."
    );
}

#[test]
fn budgets_steer_preemption_to_nodes_without_violations() {
    let mut s = Snapshot::from_objects(
        [
            Arc::new(node("a", "2", "8Gi")),
            Arc::new(node("b", "2", "8Gi")),
        ],
        Vec::new(),
    );
    s.add_pod(on(prio("guarded", "2", 0), "a"));
    s.add_pod(on(prio("free", "2", 5), "b"));
    let pdb: PodDisruptionBudget = serde_json::from_value(json!({
        "apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
        "metadata": {"name": "guard", "namespace": "default"},
        "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "guarded"}}},
        "status": {"disruptionsAllowed": 0, "currentHealthy": 1, "desiredHealthy": 1, "expectedPods": 1}
    }))
    .unwrap();
    s.set_budget(Arc::new(pdb));
    let (node, victims) = preempt(&s, &prio("vip", "2", 100)).unwrap();
    assert_eq!(
        (node.as_str(), victims),
        ("b", vec!["free".to_owned()]),
        "the budget is respected while another node works"
    );
}

#[test]
fn victims_that_are_not_needed_are_reprieved() {
    let mut s = Snapshot::from_objects([Arc::new(node("a", "4", "8Gi"))], Vec::new());
    for (name, p) in [("p1", 1), ("p2", 2), ("p3", 3), ("p4", 4)] {
        s.add_pod(on(prio(name, "1", p), "a"));
    }
    let (_, victims) = preempt(&s, &prio("vip", "2", 100)).unwrap();
    assert_eq!(
        victims,
        ["p1", "p2"],
        "the two least important go; the rest are reprieved"
    );
}
