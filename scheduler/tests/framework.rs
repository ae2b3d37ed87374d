//! Scenario tests through `Framework::schedule` with the default profile: resources,
//! taints, node affinity and selectors, ports, cordons, the FitError wording, spreading
//! by score, determinism.

mod common;

use std::sync::Arc;

use common::{node, node_with, on, pod, pod_with};
use keel_scheduler::framework::{Code, Framework, Snapshot};
use serde_json::json;

fn snapshot(nodes: Vec<keel_core::api::Node>) -> Snapshot {
    Snapshot::from_objects(nodes.into_iter().map(Arc::new), Vec::new())
}

#[test]
fn no_nodes_is_an_error() {
    let err = Framework::default()
        .schedule(&pod("p", "1", "1Gi"), &Snapshot::new())
        .unwrap_err();
    assert_eq!(err.to_string(), "no nodes available to schedule pods");
}

#[test]
fn resources_must_fit_and_the_message_counts_reasons() {
    let mut s = snapshot(vec![
        node("small-1", "1", "1Gi"),
        node("small-2", "1", "1Gi"),
        node("big", "8", "32Gi"),
    ]);
    let fw = Framework::default();
    let r = fw.schedule(&pod("p", "2", "4Gi"), &s).unwrap();
    assert_eq!(r.suggested_host, "big");
    assert_eq!((r.feasible_nodes, r.evaluated_nodes), (1, 3));
    s.add_pod(on(pod("hog", "7", "1Gi"), "big"));
    let err = fw.schedule(&pod("p2", "2", "4Gi"), &s).unwrap_err();
    assert_eq!(
        err.to_string(),
        "0/3 nodes are available: 2 Insufficient memory, 3 Insufficient cpu.",
        "reasons sorted as strings, as kube-scheduler sorts them"
    );
    let big = &err.diagnosis.node_to_status["big"];
    assert_eq!(
        big.code(),
        Code::Unschedulable,
        "evicting the hog would help"
    );
    assert_eq!(
        err.diagnosis.node_to_status["small-1"].code(),
        Code::UnschedulableAndUnresolvable,
        "asks for more than the node has"
    );
    assert!(
        err.diagnosis
            .unschedulable_plugins
            .contains("NodeResourcesFit")
    );
}

#[test]
fn too_many_pods() {
    let mut n = node("n", "64", "64Gi");
    n.status
        .as_mut()
        .unwrap()
        .allocatable
        .insert("pods".into(), "1".parse().unwrap());
    let mut s = snapshot(vec![n]);
    s.add_pod(on(pod("a", "", ""), "n"));
    let err = Framework::default()
        .schedule(&pod("b", "", ""), &s)
        .unwrap_err();
    assert_eq!(err.to_string(), "0/1 nodes are available: 1 Too many pods.");
}

#[test]
fn taints_need_tolerations() {
    let tainted = |name: &str, key: &str, effect: &str| {
        node_with(
            name,
            "4",
            "8Gi",
            json!({"spec": {"taints": [{"key": key, "value": "x", "effect": effect}]}}),
        )
    };
    let s = snapshot(vec![
        tainted("gpu", "dedicated", "NoSchedule"),
        tainted("drain", "evict", "NoExecute"),
    ]);
    let fw = Framework::default();
    let err = fw.schedule(&pod("p", "1", "1Gi"), &s).unwrap_err();
    assert_eq!(
        err.to_string(),
        "0/2 nodes are available: 1 node(s) had untolerated taint {dedicated: x}, 1 node(s) had untolerated taint {evict: x}."
    );
    let tolerant = pod_with(
        "p",
        "1",
        "1Gi",
        json!({"spec": {"tolerations": [{"key": "dedicated", "operator": "Exists", "effect": "NoSchedule"}]}}),
    );
    assert_eq!(fw.schedule(&tolerant, &s).unwrap().suggested_host, "gpu");
}

#[test]
fn prefer_no_schedule_taints_lower_the_score() {
    let soft = node_with(
        "soft",
        "4",
        "8Gi",
        json!({"spec": {"taints": [{"key": "k", "value": "v", "effect": "PreferNoSchedule"}]}}),
    );
    let s = snapshot(vec![soft, node("clean", "4", "8Gi")]);
    for i in 0..5 {
        let r = Framework::with_seed(keel_scheduler::plugins::default_profile(), i)
            .schedule(&pod("p", "1", "1Gi"), &s)
            .unwrap();
        assert_eq!(r.suggested_host, "clean");
    }
}

#[test]
fn node_selector_and_required_affinity() {
    let labelled = |name: &str, zone: &str| {
        node_with(
            name,
            "4",
            "8Gi",
            json!({"metadata": {"labels": {"zone": zone, "disk": "ssd"}}}),
        )
    };
    let s = snapshot(vec![
        labelled("a", "z1"),
        labelled("b", "z2"),
        node("c", "4", "8Gi"),
    ]);
    let fw = Framework::default();
    let selected = pod_with(
        "p",
        "1",
        "1Gi",
        json!({"spec": {"nodeSelector": {"zone": "z2"}}}),
    );
    assert_eq!(fw.schedule(&selected, &s).unwrap().suggested_host, "b");
    let affinity = pod_with(
        "p",
        "1",
        "1Gi",
        json!({"spec": {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchExpressions": [{"key": "zone", "operator": "NotIn", "values": ["z1", "z2"]}]}]}}}}}),
    );
    assert_eq!(fw.schedule(&affinity, &s).unwrap().suggested_host, "c");
    let nowhere = pod_with(
        "p",
        "1",
        "1Gi",
        json!({"spec": {"nodeSelector": {"zone": "z9"}}}),
    );
    let err = fw.schedule(&nowhere, &s).unwrap_err();
    assert_eq!(
        err.to_string(),
        "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector."
    );
    let pinned = pod_with(
        "p",
        "1",
        "1Gi",
        json!({"spec": {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["b"]}]}]}}}}}),
    );
    let r = fw.schedule(&pinned, &s).unwrap();
    assert_eq!(
        (r.suggested_host.as_str(), r.evaluated_nodes),
        ("b", 1),
        "PreFilter narrowed the nodes"
    );
}

#[test]
fn preferred_affinity_wins_among_feasible_nodes() {
    let labelled = |name: &str, zone: &str| {
        node_with(
            name,
            "4",
            "8Gi",
            json!({"metadata": {"labels": {"zone": zone}}}),
        )
    };
    let s = snapshot(vec![
        labelled("a", "z1"),
        labelled("b", "z2"),
        labelled("c", "z3"),
    ]);
    let p = pod_with(
        "p",
        "1",
        "1Gi",
        json!({"spec": {"affinity": {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 10, "preference": {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["z3"]}]}}]}}}}),
    );
    assert_eq!(
        Framework::default()
            .schedule(&p, &s)
            .unwrap()
            .suggested_host,
        "c"
    );
}

#[test]
fn host_ports_conflict() {
    let mut s = snapshot(vec![node("a", "4", "8Gi"), node("b", "4", "8Gi")]);
    let with_port = |name: &str, ip: &str| {
        pod_with(
            name,
            "100m",
            "",
            json!({"spec": {"containers": [{"name": "c", "image": "app:1", "ports": [{"containerPort": 80, "hostPort": 8080, "hostIP": ip}]}]}}),
        )
    };
    s.add_pod(on(with_port("web", ""), "a"));
    let fw = Framework::default();
    assert_eq!(
        fw.schedule(&with_port("web2", ""), &s)
            .unwrap()
            .suggested_host,
        "b"
    );
    s.add_pod(on(with_port("web3", "10.0.0.1"), "b"));
    let err = fw.schedule(&with_port("web4", "10.0.0.1"), &s).unwrap_err();
    assert_eq!(
        err.to_string(),
        "0/2 nodes are available: 2 node(s) didn't have free ports for the requested pod ports."
    );
}

#[test]
fn cordoned_nodes_and_node_name() {
    let cordoned = node_with(
        "cordoned",
        "4",
        "8Gi",
        json!({"spec": {"unschedulable": true}}),
    );
    let s = snapshot(vec![cordoned, node("open", "4", "8Gi")]);
    let fw = Framework::default();
    assert_eq!(
        fw.schedule(&pod("p", "1", "1Gi"), &s)
            .unwrap()
            .suggested_host,
        "open"
    );
    let tolerant = pod_with(
        "p",
        "1",
        "1Gi",
        json!({"spec": {
        "nodeName": "cordoned",
        "tolerations": [{"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"}]}}),
    );
    assert_eq!(
        fw.schedule(&tolerant, &s).unwrap().suggested_host,
        "cordoned"
    );
    let named = pod_with("p", "1", "1Gi", json!({"spec": {"nodeName": "cordoned"}}));
    let err = fw.schedule(&named, &s).unwrap_err();
    assert_eq!(
        err.to_string(),
        "0/2 nodes are available: 1 node(s) didn't match the requested node name, 1 node(s) were unschedulable."
    );
}

#[test]
fn least_allocated_spreads_pods() {
    let mut s = snapshot((0..4).map(|i| node(&format!("n{i}"), "4", "8Gi")).collect());
    let fw = Framework::default();
    for i in 0..8 {
        let p = pod(&format!("p{i}"), "500m", "1Gi");
        let r = fw.schedule(&p, &s).unwrap();
        s.add_pod(on(p, &r.suggested_host));
    }
    for n in s.nodes() {
        assert_eq!(n.pods.len(), 2, "{} holds {}", n.name(), n.pods.len());
    }
}

#[test]
fn most_allocated_packs_pods() {
    use keel_scheduler::plugins::{NodeResourcesFit, ResourceWeight, ScoringStrategy};
    let mut profile =
        keel_scheduler::plugins::default_profile().without("NodeResourcesBalancedAllocation");
    let packing = Arc::new(NodeResourcesFit {
        strategy: ScoringStrategy::MostAllocated(vec![
            ResourceWeight::new("cpu", 1),
            ResourceWeight::new("memory", 1),
        ]),
    });
    for (p, _) in &mut profile.score {
        if p.name() == "NodeResourcesFit" {
            *p = packing.clone();
        }
    }
    let fw = Framework::new(profile);
    let mut s = snapshot((0..3).map(|i| node(&format!("n{i}"), "4", "8Gi")).collect());
    for i in 0..6 {
        let p = pod(&format!("p{i}"), "500m", "1Gi");
        let r = fw.schedule(&p, &s).unwrap();
        s.add_pod(on(p, &r.suggested_host));
    }
    let mut counts: Vec<usize> = s.nodes().iter().map(|n| n.pods.len()).collect();
    counts.sort_unstable();
    assert_eq!(counts, [0, 0, 6], "bin packing");
}

#[test]
fn same_seed_same_placements() {
    let run = |seed| {
        let fw = Framework::with_seed(keel_scheduler::plugins::default_profile(), seed);
        let mut s = snapshot(
            (0..300)
                .map(|i| node(&format!("n{i}"), "8", "16Gi"))
                .collect(),
        );
        (0..200)
            .map(|i| {
                let p = pod(&format!("p{i}"), "250m", "256Mi");
                let r = fw.schedule(&p, &s).unwrap();
                s.add_pod(on(p, &r.suggested_host));
                r.suggested_host
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(run(7), run(7));
    assert_ne!(run(7), run(8), "ties are broken by the seed");
}

#[test]
fn large_clusters_examine_a_share_of_nodes() {
    let s = snapshot(
        (0..1_000)
            .map(|i| node(&format!("n{i}"), "8", "16Gi"))
            .collect(),
    );
    let r = Framework::default()
        .schedule(&pod("p", "1", "1Gi"), &s)
        .unwrap();
    assert_eq!((r.evaluated_nodes, r.feasible_nodes), (420, 420));
}

#[test]
fn a_pod_placed_again_moves() {
    let mut s = snapshot(vec![node("a", "4", "8Gi"), node("b", "4", "8Gi")]);
    let mut web = pod("web", "1", "1Gi");
    web.metadata.labels.insert("app".into(), "web".into());
    let selector = keel_core::labels::Selector::parse("app=web").unwrap();
    let where_indexed = |s: &Snapshot| -> Vec<String> {
        let found = s.candidates(&selector).expect("an equality narrows");
        found.iter().map(|(n, _)| n.name().to_owned()).collect()
    };
    assert!(s.add_pod(on(web.clone(), "a")));
    // Placed again on the same node: counted once.
    assert!(s.add_pod(on(web.clone(), "a")));
    let a = s.get("a").unwrap();
    assert_eq!((a.pods.len(), a.requested.milli_cpu), (1, 1000));
    assert_eq!(where_indexed(&s), ["a"]);
    // Moved: the old node forgets it, the label index follows.
    assert!(s.add_pod(on(web.clone(), "b")));
    let (a, b) = (s.get("a").unwrap(), s.get("b").unwrap());
    assert_eq!((a.pods.len(), a.requested.milli_cpu), (0, 0));
    assert_eq!((b.pods.len(), b.requested.milli_cpu), (1, 1000));
    assert_eq!(s.node_of("default", "web"), Some("b"));
    assert_eq!(where_indexed(&s), ["b"]);
    // Placed on an unknown node: not placed anywhere any more.
    assert!(!s.add_pod(on(web, "gone")));
    assert_eq!(s.get("b").unwrap().pods.len(), 0);
    assert_eq!(s.node_of("default", "web"), None);
    assert!(where_indexed(&s).is_empty());
}

#[test]
fn an_anti_affinity_pod_placed_again_moves_its_index_entries() {
    let mut s = snapshot(vec![node("a", "4", "8Gi"), node("b", "4", "8Gi")]);
    let guard = pod_with(
        "guard",
        "1",
        "1Gi",
        json!({"metadata": {"labels": {"app": "guard"}}, "spec": {"affinity": {"podAntiAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": [{
                "labelSelector": {"matchLabels": {"app": "web"}},
                "topologyKey": "kubernetes.io/hostname"}]}}}}),
    );
    let web: std::collections::BTreeMap<String, String> =
        [("app".to_owned(), "web".to_owned())].into();
    let guarded = |s: &Snapshot| -> Vec<String> {
        (s.anti_affinity_candidates(&web).iter())
            .map(|(n, _)| n.name().to_owned())
            .collect()
    };
    assert!(!s.has_affinity_pods());
    assert!(s.add_pod(on(guard.clone(), "a")));
    assert!(s.add_pod(on(guard.clone(), "a")));
    assert!(s.has_affinity_pods());
    assert_eq!(guarded(&s), ["a"]);
    assert!(s.add_pod(on(guard.clone(), "b")));
    assert_eq!(guarded(&s), ["b"]);
    assert!(
        s.get("a")
            .unwrap()
            .pods_with_required_anti_affinity
            .is_empty()
    );
    assert!(s.has_affinity_pods());
    assert!(!s.add_pod(on(guard, "gone")));
    assert!(guarded(&s).is_empty());
    assert!(!s.has_affinity_pods());
}
