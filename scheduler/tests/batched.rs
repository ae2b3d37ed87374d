//! The batched extension points give the per-node answers: `Filter::filter_nodes` and
//! `Score::score_nodes` of the built-in plugins equal their per-node `filter` and
//! `score`, and filtering in rounds examines exactly the nodes filtering node by node
//! would (same feasible nodes, same count examined, same rotation of the start). A
//! fused scorer (`Score::fuse`) adds what its two plugins add, and a profile whose
//! scorers fuse places pods where the same profile without fusion does.

mod common;

use std::sync::Arc;

use common::{node_with, on, pod_with};
use keel_core::api::{Node, Pod};
use keel_scheduler::framework::{
    CycleState, Filter, Framework, NodeInfo, PodInfo, Score, Snapshot, num_feasible_nodes_to_find,
};
use keel_scheduler::plugins::PodTopologySpread;
use keel_scheduler::plugins::{
    BalancedAllocation, NodeResourcesFit, NodeUnschedulable, ResourceWeight, ScoringStrategy,
    TaintToleration, default_profile, insufficient,
};
use proptest::prelude::*;
use serde_json::json;

/// A node: cores (0 = none reported), GiB, pod slots, cordoned, tainted, GPUs.
type NodeSpec = (u32, u32, u32, bool, bool, u32);

fn node_spec() -> impl Strategy<Value = NodeSpec> {
    (
        0_u32..6,
        0_u32..8,
        0_u32..4,
        proptest::bool::weighted(0.15),
        proptest::bool::weighted(0.2),
        0_u32..3,
    )
}

fn build_node(i: usize, (cpu, mem, pods, cordoned, tainted, gpus): NodeSpec) -> Node {
    let mut spec = json!({"unschedulable": cordoned});
    if tainted {
        spec["taints"] = json!([{"key": "dedicated", "value": "x", "effect": "NoSchedule"}]);
    }
    let mut node = node_with(
        &format!("n{i}"),
        &cpu.to_string(),
        &format!("{mem}Gi"),
        json!({"spec": spec}),
    );
    let alloc = &mut node.status.as_mut().unwrap().allocatable;
    alloc.insert("pods".into(), pods.to_string().parse().unwrap());
    alloc.insert("example.com/gpu".into(), gpus.to_string().parse().unwrap());
    if cpu == 0 {
        alloc.remove("cpu");
    }
    node
}

/// Nodes of which most have room, so that a cycle finds enough feasible nodes and
/// stops early (the cut a round must not overshoot).
fn mostly_roomy() -> impl Strategy<Value = NodeSpec> {
    (proptest::bool::weighted(0.35), node_spec()).prop_map(|(odd, spec)| {
        if odd {
            spec
        } else {
            (8, 16, 10, false, false, 2)
        }
    })
}

/// A pod: millicores, MiB, GPUs, whether it tolerates the taint.
type PodSpec = (u32, u32, u32, bool);

fn pod_spec() -> impl Strategy<Value = PodSpec> {
    (0_u32..2500, 0_u32..3000, 0_u32..2, any::<bool>())
}

fn build_pod(i: usize, (cpu, mem, gpus, tolerates): PodSpec) -> Pod {
    let mut extra = json!({});
    if tolerates {
        extra["spec"] = json!({"tolerations": [{"key": "dedicated", "operator": "Exists"}]});
    }
    let mut pod = pod_with(
        &format!("p{i}"),
        &if cpu == 0 {
            String::new()
        } else {
            format!("{cpu}m")
        },
        &if mem == 0 {
            String::new()
        } else {
            format!("{mem}Mi")
        },
        extra,
    );
    if gpus > 0 {
        let resources = pod.spec.containers[0].resources.as_mut().unwrap();
        resources
            .requests
            .insert("example.com/gpu".into(), gpus.to_string().parse().unwrap());
    }
    pod
}

/// A snapshot of `nodes` with `placed` pods bound round-robin (where they land).
fn snapshot(nodes: &[NodeSpec], placed: &[PodSpec]) -> Snapshot {
    let mut s = Snapshot::from_objects(
        nodes
            .iter()
            .enumerate()
            .map(|(i, n)| Arc::new(build_node(i, *n))),
        Vec::new(),
    );
    for (i, p) in placed.iter().enumerate() {
        let node = format!("n{}", i % nodes.len());
        s.add_pod(on(build_pod(1_000 + i, *p), &node));
    }
    s
}

fn filters() -> Vec<Arc<dyn Filter>> {
    vec![
        Arc::new(NodeUnschedulable),
        Arc::new(TaintToleration),
        Arc::new(NodeResourcesFit::default()),
    ]
}

fn scorers() -> Vec<Arc<dyn Score>> {
    let extended = vec![
        ResourceWeight::new("cpu", 2),
        ResourceWeight::new("example.com/gpu", 3),
    ];
    vec![
        Arc::new(NodeResourcesFit::default()),
        Arc::new(NodeResourcesFit {
            strategy: ScoringStrategy::MostAllocated(extended.clone()),
        }),
        Arc::new(NodeResourcesFit {
            strategy: ScoringStrategy::RequestedToCapacityRatio(
                vec![ResourceWeight::new("memory", 1)],
                vec![(0, 0), (60, 7), (100, 10)],
            ),
        }),
        Arc::new(NodeResourcesFit {
            strategy: ScoringStrategy::LeastAllocated(vec![
                ResourceWeight::new("memory", 1),
                ResourceWeight::new("cpu", 1),
                ResourceWeight::new("example.com/gpu", 1),
            ]),
        }),
        Arc::new(BalancedAllocation::default()),
        Arc::new(BalancedAllocation {
            resources: extended,
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn batched_calls_equal_per_node_calls(
        nodes in proptest::collection::vec(node_spec(), 1..12),
        placed in proptest::collection::vec(pod_spec(), 0..12),
        pod in pod_spec(),
    ) {
        let s = snapshot(&nodes, &placed);
        let info = PodInfo::new(Arc::new(build_pod(0, pod)));
        let state = CycleState::new();
        let all: Vec<&NodeInfo> = s.nodes().iter().collect();
        for f in filters() {
            let mut kept = all.clone();
            let mut rejected = Vec::new();
            f.filter_nodes(&state, &info, &mut kept, &mut rejected);
            let mut expect_kept = Vec::new();
            let mut expect_rejected = Vec::new();
            for n in &all {
                let status = f.filter(&state, &info, n);
                if status.is_success() {
                    expect_kept.push(n.name());
                } else {
                    expect_rejected.push((n.name(), status));
                }
            }
            let kept: Vec<&str> = kept.iter().map(|n| n.name()).collect();
            let rejected: Vec<_> = rejected.into_iter().map(|(n, s)| (n.name(), s)).collect();
            prop_assert_eq!(kept, expect_kept, "{} kept", f.name());
            prop_assert_eq!(rejected, expect_rejected, "{} rejected", f.name());
        }
        // NodeResourcesFit's fast check agrees with the reasons it gives.
        let fit = NodeResourcesFit::default();
        for n in &all {
            prop_assert_eq!(fit.filter(&state, &info, n).is_success(), insufficient(&info, n).is_empty(), "{}", n.name());
        }
        for p in scorers() {
            let mut batch = vec![-1; all.len()];
            p.score_nodes(&state, &info, &all, &mut batch).unwrap();
            let each: Vec<i64> = all.iter().map(|n| p.score(&state, &info, n).unwrap()).collect();
            prop_assert_eq!(&batch, &each, "{}", p.name());
            prop_assert!(batch.iter().all(|s| (0..=100).contains(s)), "{} in range: {:?}", p.name(), batch);
        }
    }

    #[test]
    fn rounds_examine_the_nodes_filtering_one_by_one_would(
        nodes in proptest::collection::vec(mostly_roomy(), 100..400),
        percentage in 1_u32..60,
        pods in proptest::collection::vec(pod_spec(), 1..4),
    ) {
        let mut profile = default_profile();
        profile.percentage_of_nodes_to_score = Some(percentage);
        let fw = Framework::new(profile);
        let s = snapshot(&nodes, &[]);
        let all = s.num_nodes();
        let want = num_feasible_nodes_to_find(Some(percentage), all);
        let mut start = 0;
        for (i, p) in pods.iter().enumerate() {
            let info = PodInfo::new(Arc::new(build_pod(i, *p)));
            // The reference: node by node from the rotating start.
            let mut state = CycleState::new();
            prop_assert!(fw.run_pre_filter(&mut state, &info, &s).is_ok());
            let (mut feasible, mut examined) = (Vec::new(), 0);
            while examined < all && feasible.len() < want {
                let node = &s.nodes()[(start + examined) % all];
                examined += 1;
                if fw.run_filters(&state, &info, node).is_success() {
                    feasible.push(node.name().to_owned());
                }
            }
            match fw.schedule_pod(&mut CycleState::new(), &info, &s) {
                Ok(r) => {
                    prop_assert_eq!(r.evaluated_nodes, examined);
                    prop_assert_eq!(r.feasible_nodes, feasible.len());
                    prop_assert!(feasible.contains(&r.suggested_host));
                }
                Err(e) => {
                    prop_assert!(feasible.is_empty(), "{e}");
                    prop_assert_eq!(e.diagnosis.node_to_status.len(), all);
                }
            }
            start = (start + examined) % all;
        }
    }

    #[test]
    fn fused_scores_add_what_the_two_plugins_add(
        nodes in proptest::collection::vec(node_spec(), 1..12),
        placed in proptest::collection::vec(pod_spec(), 0..24),
        pod in pod_spec(),
        cpu_weight in 1_i64..4,
        memory_weight in 1_i64..4,
        fit_weight in 0_i64..4,
        balanced_weight in 0_i64..4,
    ) {
        let s = snapshot(&nodes, &placed);
        let info = PodInfo::new(Arc::new(build_pod(0, pod)));
        let state = CycleState::new();
        let all: Vec<&NodeInfo> = s.nodes().iter().collect();
        let fit = NodeResourcesFit {
            strategy: ScoringStrategy::LeastAllocated(cpu_and_memory(cpu_weight, memory_weight)),
        };
        let balanced = BalancedAllocation::default();
        let fused = fit.fuse(fit_weight, &balanced, balanced_weight);
        let fused = fused.expect("LeastAllocated over CPU and memory fuses with BalancedAllocation");
        let mut totals = vec![7; all.len()];
        fused.score_into(&state, &info, &all, &mut totals).unwrap();
        let (mut a, mut b) = (vec![0; all.len()], vec![0; all.len()]);
        fit.score_nodes(&state, &info, &all, &mut a).unwrap();
        balanced.score_nodes(&state, &info, &all, &mut b).unwrap();
        let expected: Vec<i64> = a.iter().zip(&b).map(|(a, b)| 7 + a * fit_weight + b * balanced_weight).collect();
        prop_assert_eq!(totals, expected);
    }

    #[test]
    fn fusion_does_not_change_placements(
        nodes in proptest::collection::vec(node_spec(), 1..12),
        placed in proptest::collection::vec(pod_spec(), 0..12),
        pods in proptest::collection::vec(pod_spec(), 1..12),
        seed in any::<u64>(),
    ) {
        // The default profile fuses NodeResourcesFit with BalancedAllocation; moving
        // BalancedAllocation to the end keeps the sum and prevents the fusion.
        let fused = Framework::with_seed(default_profile(), seed);
        let mut apart = default_profile();
        let i = apart.score.iter().position(|(p, _)| p.name() == "NodeResourcesBalancedAllocation").unwrap();
        let moved = apart.score.remove(i);
        apart.score.push(moved);
        let apart = Framework::with_seed(apart, seed);
        let (mut s1, mut s2) = (snapshot(&nodes, &placed), snapshot(&nodes, &placed));
        for (i, p) in pods.iter().enumerate() {
            let info = Arc::new(PodInfo::new(Arc::new(build_pod(i, *p))));
            let r1 = fused.schedule_pod(&mut CycleState::new(), &info, &s1);
            let r2 = apart.schedule_pod(&mut CycleState::new(), &info, &s2);
            match (r1, r2) {
                (Ok(r1), Ok(r2)) => {
                    prop_assert_eq!(&r1, &r2);
                    s1.assume(info.clone(), &r1.suggested_host);
                    s2.assume(info, &r2.suggested_host);
                }
                (Err(e1), Err(e2)) => prop_assert_eq!(e1.to_string(), e2.to_string()),
                (r1, r2) => prop_assert!(false, "{r1:?} vs {r2:?}"),
            }
        }
    }
}

/// CPU and memory with their weights.
fn cpu_and_memory(cpu: i64, memory: i64) -> Vec<ResourceWeight> {
    vec![
        ResourceWeight::new("cpu", cpu),
        ResourceWeight::new("memory", memory),
    ]
}

#[test]
fn only_matching_scorers_fuse() {
    let least = NodeResourcesFit::default();
    let balanced = BalancedAllocation::default();
    assert!(
        least.fuse(1, &balanced, 1).is_some(),
        "the default pair fuses"
    );
    assert!(
        balanced.fuse(1, &least, 1).is_none(),
        "not in the other order"
    );
    let most = NodeResourcesFit {
        strategy: ScoringStrategy::MostAllocated(cpu_and_memory(1, 1)),
    };
    assert!(
        most.fuse(1, &balanced, 1).is_none(),
        "MostAllocated does not"
    );
    let mut resources = cpu_and_memory(1, 1);
    resources.push(ResourceWeight::new("example.com/gpu", 1));
    let gpu = BalancedAllocation { resources };
    assert!(
        least.fuse(1, &gpu, 1).is_none(),
        "nor balancing other resources"
    );
    let zero = NodeResourcesFit {
        strategy: ScoringStrategy::LeastAllocated(cpu_and_memory(0, 1)),
    };
    assert!(
        zero.fuse(1, &balanced, 1).is_none(),
        "nor a zero resource weight"
    );
    assert!(
        least.fuse(1, &PodTopologySpread::default(), 1).is_none(),
        "nor another plugin"
    );
}
