//! Default plugins one by one, against the numbers of Kubernetes' own tests and docs.

mod common;

use std::sync::Arc;

use common::{node_with, pod_with};
use keel_scheduler::framework::{CycleState, Filter, NodeInfo, PodInfo, PreScore, Score, Snapshot};
use keel_scheduler::plugins::{
    BalancedAllocation, ImageLocality, NodeAffinity, NodeResourcesFit, TaintToleration,
};
use serde_json::json;

fn info(p: keel_core::api::Pod) -> PodInfo {
    PodInfo::new(Arc::new(p))
}

fn node_info(n: keel_core::api::Node) -> NodeInfo {
    NodeInfo::new(Arc::new(n))
}

#[test]
fn least_allocated_matches_the_kubernetes_example() {
    // Node 4 CPU / 10000 bytes; the pod asks 3 CPU / 5000: (25 + 50) / 2 = 37.
    let n = node_info(node_with("n", "4", "10000", json!({})));
    let p = info(pod_with("p", "3", "5000", json!({})));
    assert_eq!(
        NodeResourcesFit::default()
            .score(&CycleState::new(), &p, &n)
            .unwrap(),
        37
    );
}

#[test]
fn balanced_allocation_is_one_minus_the_deviation() {
    // CPU 3/4 = 0.75, memory 5000/10000 = 0.5: std-dev 0.125 → 87.
    let n = node_info(node_with("n", "4", "10000", json!({})));
    let p = info(pod_with("p", "3", "5000", json!({})));
    assert_eq!(
        BalancedAllocation::default()
            .score(&CycleState::new(), &p, &n)
            .unwrap(),
        87
    );
}

#[test]
fn pods_without_requests_count_as_100m_and_200mi_for_scoring() {
    let n = node_info(node_with("n", "1", "1Gi", json!({})));
    let p = info(pod_with("p", "", "", json!({})));
    assert_eq!(
        (p.non_zero_cpu, p.non_zero_memory),
        (100, 200 * 1024 * 1024)
    );
    assert_eq!(
        p.requests.milli_cpu, 0,
        "but they request nothing for fitting"
    );
    // (1000 - 100) * 100 / 1000 = 90; (1024 - 200) * 100 / 1024 = 80 → 85.
    assert_eq!(
        NodeResourcesFit::default()
            .score(&CycleState::new(), &p, &n)
            .unwrap(),
        85
    );
}

#[test]
fn image_locality_scales_by_size_and_spread() {
    let with_image = node_with(
        "a",
        "4",
        "8Gi",
        json!({"status": {"images": [{"names": ["app:1"], "sizeBytes": 250 * 1024 * 1024}]}}),
    );
    let s = Snapshot::from_objects(
        [
            Arc::new(with_image),
            Arc::new(common::node("b", "4", "8Gi")),
        ],
        Vec::new(),
    );
    let p = info(common::pod("p", "1", "1Gi"));
    let mut state = CycleState::new();
    let nodes: Vec<&NodeInfo> = s.nodes().iter().collect();
    assert!(
        ImageLocality
            .pre_score(&mut state, &p, &s, &nodes)
            .is_success()
    );
    // 250 MiB on 1 of 2 nodes → 125 MiB: 100 × (125 − 23) / (1000 − 23) = 10.
    assert_eq!(
        ImageLocality
            .score(&state, &p, s.get("a").unwrap())
            .unwrap(),
        10
    );
    assert_eq!(
        ImageLocality
            .score(&state, &p, s.get("b").unwrap())
            .unwrap(),
        0
    );
}

#[test]
fn node_affinity_operators() {
    let n = node_info(node_with(
        "n",
        "4",
        "8Gi",
        json!({"metadata": {"labels": {"cores": "16", "gpu": "yes"}}}),
    ));
    let term = |key: &str, op: &str, values: &[&str]| {
        info(pod_with(
            "p",
            "1",
            "1Gi",
            json!({"spec": {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [{"matchExpressions": [{"key": key, "operator": op, "values": values}]}]}}}}}),
        ))
    };
    let state = CycleState::new();
    let fits = |p: &PodInfo| NodeAffinity.filter(&state, p, &n).is_success();
    assert!(fits(&term("cores", "Gt", &["8"])));
    assert!(!fits(&term("cores", "Lt", &["8"])));
    assert!(!fits(&term("cores", "Gt", &["not-a-number"])));
    assert!(fits(&term("gpu", "Exists", &[])));
    assert!(fits(&term("tpu", "DoesNotExist", &[])));
    assert!(fits(&term("gpu", "NotIn", &["no"])));
    assert!(!fits(&term("gpu", "In", &["no"])));
}

#[test]
fn taint_toleration_scores_fewer_untolerated_prefer_no_schedule_taints_higher() {
    let taints = |n: usize| {
        let list: Vec<_> = (0..n)
            .map(|i| json!({"key": format!("k{i}"), "value": "v", "effect": "PreferNoSchedule"}))
            .collect();
        node_with("n", "4", "8Gi", json!({"spec": {"taints": list}}))
    };
    let s = Snapshot::from_objects(
        [
            Arc::new(taints(0)),
            Arc::new(taints(1)),
            Arc::new(taints(2)),
        ]
        .into_iter()
        .enumerate()
        .map(|(i, n)| {
            let mut n = (*n).clone();
            n.metadata.name = Some(format!("n{i}"));
            Arc::new(n)
        }),
        Vec::new(),
    );
    let p = info(common::pod("p", "1", "1Gi"));
    let mut state = CycleState::new();
    let nodes: Vec<&NodeInfo> = s.nodes().iter().collect();
    assert!(
        TaintToleration
            .pre_score(&mut state, &p, &s, &nodes)
            .is_success()
    );
    let mut scores: Vec<i64> = nodes
        .iter()
        .map(|n| TaintToleration.score(&state, &p, n).unwrap())
        .collect();
    assert_eq!(scores, [0, 1, 2]);
    assert!(
        TaintToleration
            .normalize(&state, &p, &mut scores)
            .is_success()
    );
    assert_eq!(scores, [100, 50, 0]);
}
