//! Property tests: no node is ever over-committed, a pod is never placed where a Filter
//! rejects it, and the same seed and input give the same placements.

mod common;

use std::sync::Arc;

use common::{node_with, on, pod_with};
use keel_core::api::{Node, Pod};
use keel_scheduler::framework::{CycleState, Framework, PodInfo, Snapshot};
use proptest::prelude::*;
use serde_json::json;

#[derive(Clone, Debug)]
struct NodeSpec {
    cpu: u32,
    mem_gi: u32,
    pods: u32,
    zone: u8,
    tainted: bool,
}

#[derive(Clone, Debug)]
struct PodSpec {
    cpu_m: u32,
    mem_mi: u32,
    zone: Option<u8>,
    tolerates: bool,
    host_port: Option<u16>,
}

fn node_spec() -> impl Strategy<Value = NodeSpec> {
    (1_u32..8, 1_u32..16, 1_u32..6, 0_u8..3, any::<bool>()).prop_map(
        |(cpu, mem_gi, pods, zone, tainted)| NodeSpec {
            cpu,
            mem_gi,
            pods,
            zone,
            tainted,
        },
    )
}

fn pod_spec() -> impl Strategy<Value = PodSpec> {
    (
        0_u32..3000,
        0_u32..4096,
        proptest::option::weighted(0.3, 0_u8..3),
        any::<bool>(),
        proptest::option::weighted(0.2, 8000_u16..8003),
    )
        .prop_map(|(cpu_m, mem_mi, zone, tolerates, host_port)| PodSpec {
            cpu_m,
            mem_mi,
            zone,
            tolerates,
            host_port,
        })
}

fn build_node(i: usize, n: &NodeSpec) -> Node {
    let mut extra = json!({"metadata": {"labels": {"zone": format!("z{}", n.zone)}}});
    if n.tainted {
        extra["spec"] =
            json!({"taints": [{"key": "dedicated", "value": "x", "effect": "NoSchedule"}]});
    }
    let mut node = node_with(
        &format!("n{i}"),
        &n.cpu.to_string(),
        &format!("{}Gi", n.mem_gi),
        extra,
    );
    node.status
        .as_mut()
        .unwrap()
        .allocatable
        .insert("pods".into(), n.pods.to_string().parse().unwrap());
    node
}

fn build_pod(i: usize, p: &PodSpec) -> Pod {
    let mut spec = json!({});
    if let Some(z) = p.zone {
        spec["nodeSelector"] = json!({"zone": format!("z{z}")});
    }
    if p.tolerates {
        spec["tolerations"] = json!([{"key": "dedicated", "operator": "Exists"}]);
    }
    let mut pod = pod_with(
        &format!("p{i}"),
        &format!("{}m", p.cpu_m),
        &format!("{}Mi", p.mem_mi),
        json!({"spec": spec}),
    );
    if let Some(port) = p.host_port {
        pod.spec.containers[0].ports =
            serde_json::from_value(json!([{"containerPort": 80, "hostPort": port}])).unwrap();
    }
    pod
}

/// Places every pod; returns the placements and the final snapshot.
fn run(fw: &Framework, nodes: &[NodeSpec], pods: &[PodSpec]) -> (Vec<Option<String>>, Snapshot) {
    let mut s = Snapshot::from_objects(
        nodes
            .iter()
            .enumerate()
            .map(|(i, n)| Arc::new(build_node(i, n))),
        Vec::new(),
    );
    let placements = pods
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let pod = build_pod(i, p);
            let r = fw.schedule(&pod, &s).ok()?;
            s.add_pod(on(pod, &r.suggested_host));
            Some(r.suggested_host)
        })
        .collect();
    (placements, s)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn no_node_is_ever_over_committed(nodes in proptest::collection::vec(node_spec(), 1..8), pods in proptest::collection::vec(pod_spec(), 0..40)) {
        let (_, s) = run(&Framework::default(), &nodes, &pods);
        for n in s.nodes() {
            prop_assert!(n.requested.milli_cpu <= n.allocatable.milli_cpu, "{} cpu", n.name());
            prop_assert!(n.requested.memory <= n.allocatable.memory, "{} memory", n.name());
            prop_assert!(i64::try_from(n.pods.len()).unwrap() <= n.allocatable.pods, "{} pods", n.name());
            let mut ports: Vec<_> = n.used_ports.iter().map(|p| p.port).collect();
            let before = ports.len();
            ports.sort_unstable();
            ports.dedup();
            prop_assert_eq!(before, ports.len(), "host port used twice on {}", n.name());
        }
    }

    #[test]
    fn a_pod_is_never_placed_where_a_filter_rejects_it(nodes in proptest::collection::vec(node_spec(), 1..8), pods in proptest::collection::vec(pod_spec(), 1..30)) {
        let fw = Framework::default();
        let mut s = Snapshot::from_objects(nodes.iter().enumerate().map(|(i, n)| Arc::new(build_node(i, n))), Vec::new());
        for (i, p) in pods.iter().enumerate() {
            let pod = build_pod(i, p);
            let info = PodInfo::new(Arc::new(pod.clone()));
            let Ok(r) = fw.schedule(&pod, &s) else { continue };
            // Every filter, run afresh on the chosen node, accepts the pod.
            let mut state = CycleState::new();
            prop_assert!(fw.run_pre_filter(&mut state, &info, &s).is_ok());
            let node = s.get(&r.suggested_host).unwrap();
            for f in &fw.profile().filter {
                let status = f.filter(&state, &info, node);
                prop_assert!(state.skips_filter(f.name()) || status.is_success(), "{} rejected {}: {}", f.name(), r.suggested_host, status);
            }
            s.add_pod(on(pod, &r.suggested_host));
        }
    }

    #[test]
    fn same_seed_and_input_give_the_same_placements(seed in any::<u64>(), nodes in proptest::collection::vec(node_spec(), 1..8), pods in proptest::collection::vec(pod_spec(), 0..30)) {
        let profile = keel_scheduler::plugins::default_profile;
        let (a, _) = run(&Framework::with_seed(profile(), seed), &nodes, &pods);
        let (b, _) = run(&Framework::with_seed(profile(), seed), &nodes, &pods);
        prop_assert_eq!(a, b);
    }
}
