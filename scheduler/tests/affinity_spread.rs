//! InterPodAffinity and PodTopologySpread through `Framework::schedule`.

#![allow(clippy::needless_pass_by_value)]

mod common;

use std::sync::Arc;

use common::{node_with, on, pod_with};
use keel_core::api::Pod;
use keel_scheduler::framework::{Code, Framework, Snapshot};
use serde_json::{Value, json};

fn zoned(name: &str, zone: &str) -> keel_core::api::Node {
    node_with(
        name,
        "8",
        "16Gi",
        json!({"metadata": {"labels": {"zone": zone}}}),
    )
}

fn web(name: &str, spec: Value) -> Pod {
    pod_with(
        name,
        "100m",
        "128Mi",
        json!({"metadata": {"labels": {"app": "web"}}, "spec": spec}),
    )
}

fn anti_web() -> Value {
    json!({"affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": "kubernetes.io/hostname"}]}}})
}

/// Schedules `pods` one by one, placing each; returns the nodes chosen (or the error).
fn place_all(fw: &Framework, s: &mut Snapshot, pods: Vec<Pod>) -> Vec<Result<String, String>> {
    pods.into_iter()
        .map(|p| match fw.schedule(&p, s) {
            Ok(r) => {
                s.add_pod(on(p, &r.suggested_host));
                Ok(r.suggested_host)
            }
            Err(e) => Err(e.to_string()),
        })
        .collect()
}

fn snapshot(nodes: Vec<keel_core::api::Node>) -> Snapshot {
    Snapshot::from_objects(nodes.into_iter().map(Arc::new), Vec::new())
}

#[test]
fn required_anti_affinity_puts_one_replica_per_node() {
    let mut s = snapshot(vec![zoned("a", "z1"), zoned("b", "z1"), zoned("c", "z2")]);
    let fw = Framework::default();
    let placed = place_all(
        &fw,
        &mut s,
        (0..4).map(|i| web(&format!("w{i}"), anti_web())).collect(),
    );
    let mut nodes: Vec<String> = placed[..3].iter().map(|r| r.clone().unwrap()).collect();
    nodes.sort();
    assert_eq!(nodes, ["a", "b", "c"]);
    assert_eq!(
        placed[3].as_ref().unwrap_err(),
        "0/3 nodes are available: 3 node(s) didn't satisfy existing pods anti-affinity rules."
    );
}

#[test]
fn existing_pods_anti_affinity_keeps_others_away() {
    let mut s = snapshot(vec![zoned("a", "z1"), zoned("b", "z2")]);
    // A loner that repels every `app=web` pod from its zone.
    let loner = pod_with(
        "loner",
        "100m",
        "",
        json!({"spec": {"affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": "zone"}]}}}}),
    );
    s.add_pod(on(loner, "a"));
    let r = Framework::default()
        .schedule(&web("w", json!({})), &s)
        .unwrap();
    assert_eq!(r.suggested_host, "b");
}

#[test]
fn required_affinity_follows_the_selected_pods_domain() {
    let mut s = snapshot(vec![zoned("a", "z1"), zoned("b", "z2"), zoned("c", "z2")]);
    let with_db = json!({"affinity": {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"app": "db"}}, "topologyKey": "zone"}]}}});
    let fw = Framework::default();
    let err = fw.schedule(&web("w", with_db.clone()), &s).unwrap_err();
    assert_eq!(
        err.to_string(),
        "0/3 nodes are available: 3 node(s) didn't match pod affinity rules."
    );
    assert_eq!(
        err.diagnosis.node_to_status["a"].code(),
        Code::UnschedulableAndUnresolvable
    );
    s.add_pod(on(
        pod_with(
            "db",
            "100m",
            "",
            json!({"metadata": {"labels": {"app": "db"}}}),
        ),
        "a",
    ));
    for _ in 0..3 {
        assert_eq!(
            fw.schedule(&web("w", with_db.clone()), &s)
                .unwrap()
                .suggested_host,
            "a"
        );
    }
}

#[test]
fn the_first_pod_of_a_self_affine_group_may_go_anywhere() {
    let mut s = snapshot(vec![zoned("a", "z1"), zoned("b", "z2")]);
    let together = json!({"affinity": {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": "zone"}]}}});
    let placed = place_all(
        &Framework::default(),
        &mut s,
        (0..4)
            .map(|i| web(&format!("w{i}"), together.clone()))
            .collect(),
    );
    let first = placed[0].clone().unwrap();
    assert!(
        placed.iter().all(|r| r.as_ref().unwrap() == &first),
        "all follow the first: {placed:?}"
    );
}

fn spread(max_skew: i32, min_domains: Option<i32>, when: &str) -> Value {
    let mut c = json!({"maxSkew": max_skew, "topologyKey": "zone", "whenUnsatisfiable": when,
        "labelSelector": {"matchLabels": {"app": "web"}}});
    if let Some(m) = min_domains {
        c["minDomains"] = json!(m);
    }
    json!({"topologySpreadConstraints": [c]})
}

#[test]
fn do_not_schedule_keeps_the_skew_within_max_skew() {
    // z1 has two nodes, z2 one: without the constraint, least-allocated would favour z1.
    let mut s = snapshot(vec![zoned("a", "z1"), zoned("b", "z1"), zoned("c", "z2")]);
    let placed = place_all(
        &Framework::default(),
        &mut s,
        (0..6)
            .map(|i| web(&format!("w{i}"), spread(1, None, "DoNotSchedule")))
            .collect(),
    );
    let in_z2 = placed.iter().filter(|r| r.as_ref().unwrap() == "c").count();
    assert_eq!(in_z2, 3, "3 and 3 across the zones: {placed:?}");
}

#[test]
fn min_domains_counts_missing_domains_as_empty() {
    let mut s = snapshot(vec![zoned("a", "z1"), zoned("b", "z2")]);
    let placed = place_all(
        &Framework::default(),
        &mut s,
        (0..3)
            .map(|i| web(&format!("w{i}"), spread(1, Some(3), "DoNotSchedule")))
            .collect(),
    );
    assert!(placed[0].is_ok() && placed[1].is_ok());
    assert_eq!(
        placed[2].as_ref().unwrap_err(),
        "0/2 nodes are available: 2 node(s) didn't match pod topology spread constraints."
    );
}

#[test]
fn nodes_without_the_topology_key_are_rejected() {
    let s = snapshot(vec![common::node("bare", "8", "16Gi")]);
    let err = Framework::default()
        .schedule(&web("w", spread(1, None, "DoNotSchedule")), &s)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "0/1 nodes are available: 1 node(s) didn't match pod topology spread constraints (missing required label)."
    );
}

#[test]
fn schedule_anyway_prefers_the_emptier_domain() {
    let mut s = snapshot(vec![zoned("a", "z1"), zoned("b", "z2")]);
    s.add_pod(on(web("old1", json!({})), "a"));
    s.add_pod(on(web("old2", json!({})), "a"));
    let r = Framework::default()
        .schedule(&web("w", spread(1, None, "ScheduleAnyway")), &s)
        .unwrap();
    assert_eq!(r.suggested_host, "b");
}

#[test]
fn preferred_anti_affinity_spreads_and_preferred_affinity_gathers() {
    let mut s = snapshot(vec![zoned("a", "z1"), zoned("b", "z2")]);
    s.add_pod(on(
        pod_with(
            "db",
            "100m",
            "",
            json!({"metadata": {"labels": {"app": "db"}}}),
        ),
        "b",
    ));
    let near_db = json!({"affinity": {"podAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 100, "podAffinityTerm": {"labelSelector": {"matchLabels": {"app": "db"}}, "topologyKey": "zone"}}]}}});
    assert_eq!(
        Framework::default()
            .schedule(&web("w", near_db), &s)
            .unwrap()
            .suggested_host,
        "b"
    );
    let away_from_db = json!({"affinity": {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 100, "podAffinityTerm": {"labelSelector": {"matchLabels": {"app": "db"}}, "topologyKey": "zone"}}]}}});
    assert_eq!(
        Framework::default()
            .schedule(&web("w", away_from_db), &s)
            .unwrap()
            .suggested_host,
        "a"
    );
}

#[test]
fn volume_binding_waits_for_claims_and_honours_volume_node_affinity() {
    use keel_core::api::{PersistentVolume, PersistentVolumeClaim, StorageClass};
    let mut s = snapshot(vec![zoned("a", "z1"), zoned("b", "z2")]);
    let with_claim = |claim: &str| {
        web(
            "w",
            json!({"volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": claim}}]}),
        )
    };
    let fw = Framework::default();
    let err = fw.schedule(&with_claim("missing"), &s).unwrap_err();
    assert_eq!(
        err.to_string(),
        "0/2 nodes are available: persistentvolumeclaim \"missing\" not found."
    );
    let claim = |name: &str, class: &str, volume: Option<&str>| -> Arc<PersistentVolumeClaim> {
        let mut v = json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"storageClassName": class, "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}});
        if let Some(pv) = volume {
            v["spec"]["volumeName"] = json!(pv);
        }
        Arc::new(serde_json::from_value(v).unwrap())
    };
    s.set_claim(claim("unbound", "fast", None));
    let err = fw.schedule(&with_claim("unbound"), &s).unwrap_err();
    assert_eq!(
        err.to_string(),
        "0/2 nodes are available: pod has unbound immediate PersistentVolumeClaims."
    );
    let class: StorageClass = serde_json::from_value(json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
        "metadata": {"name": "fast"}, "provisioner": "example.com/sim", "volumeBindingMode": "WaitForFirstConsumer"})).unwrap();
    s.set_class(Arc::new(class));
    assert!(
        fw.schedule(&with_claim("unbound"), &s).is_ok(),
        "delayed binding: any node"
    );
    let pv: PersistentVolume = serde_json::from_value(json!({"apiVersion": "v1", "kind": "PersistentVolume",
        "metadata": {"name": "pv-z2"},
        "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"], "hostPath": {"path": "/data"},
            "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [{"key": "zone", "operator": "In", "values": ["z2"]}]}]}}}})).unwrap();
    s.set_volume(Arc::new(pv));
    s.set_claim(claim("bound", "fast", Some("pv-z2")));
    for _ in 0..3 {
        assert_eq!(
            fw.schedule(&with_claim("bound"), &s)
                .unwrap()
                .suggested_host,
            "b"
        );
    }
}

#[test]
fn anti_affinity_without_an_equality_still_repels_and_stops_when_its_pod_goes() {
    let mut s = snapshot(vec![zoned("a", "z1"), zoned("b", "z2")]);
    let repel_any_app = pod_with(
        "guard",
        "100m",
        "",
        json!({"spec": {"affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchExpressions": [{"key": "app", "operator": "Exists"}]}, "topologyKey": "zone"}]}}}}),
    );
    s.add_pod(on(repel_any_app, "a"));
    let fw = Framework::default();
    for _ in 0..3 {
        assert_eq!(
            fw.schedule(&web("w", json!({})), &s)
                .unwrap()
                .suggested_host,
            "b"
        );
    }
    s.remove_pod("default", "guard");
    let mut seen = std::collections::BTreeSet::new();
    for i in 0..6 {
        let p = web(&format!("w{i}"), json!({}));
        let r = fw.schedule(&p, &s).unwrap();
        seen.insert(r.suggested_host.clone());
        s.add_pod(on(p, &r.suggested_host));
    }
    assert!(seen.contains("a"), "the guard is gone: {seen:?}");
}

/// A node with `cpu` cores and `mem` of memory, in `zone` (no zone label: `None`).
fn sized(name: &str, cpu: &str, mem: &str, zone: Option<&str>) -> keel_core::api::Node {
    let labels = zone.map_or(json!({}), |z| json!({"topology.kubernetes.io/zone": z}));
    node_with(name, cpu, mem, json!({"metadata": {"labels": labels}}))
}

/// A `web` pod, controlled by the ReplicaSet `web-rs` when `owned`.
fn replica(name: &str, owned: bool) -> Pod {
    let mut extra = json!({"metadata": {"labels": {"app": "web"}}});
    if owned {
        extra["metadata"]["ownerReferences"] = json!([{"apiVersion": "apps/v1",
            "kind": "ReplicaSet", "name": "web-rs", "uid": "rs-uid", "controller": true}]);
    }
    pod_with(name, "100m", "128Mi", extra)
}

/// Node `a` has more room (LeastAllocated prefers it) and already runs two `web` pods;
/// node `b` is smaller and empty.
fn crowded_big_node(b_zone: Option<&str>) -> Snapshot {
    let mut s = snapshot(vec![
        sized("a", "64", "256Gi", Some("z1")),
        sized("b", "8", "16Gi", b_zone),
    ]);
    s.add_pod(on(replica("old1", true), "a"));
    s.add_pod(on(replica("old2", true), "a"));
    s
}

fn web_rs_selector() -> keel_core::labels::Selector {
    keel_core::labels::Selector::parse("app=web").unwrap()
}

#[test]
fn system_default_spreading_applies_to_pods_a_controller_or_service_selects() {
    let fw = Framework::default();
    // Nothing selects the pod: no default constraints, the roomier node wins.
    let mut s = crowded_big_node(Some("z2"));
    assert_eq!(
        fw.schedule(&replica("new", true), &s)
            .unwrap()
            .suggested_host,
        "a"
    );
    // Its ReplicaSet is known: spread over hostnames and zones, away from `a`.
    s.set_controller_selector("ReplicaSet", "default", "web-rs", web_rs_selector());
    assert_eq!(
        fw.schedule(&replica("new", true), &s)
            .unwrap()
            .suggested_host,
        "b"
    );
    // A pod the ReplicaSet does not control is not spread by its selector…
    assert_eq!(
        fw.schedule(&replica("lone", false), &s)
            .unwrap()
            .suggested_host,
        "a"
    );
    // …but a Service selecting it spreads it too.
    let service: keel_core::api::Service = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}
    }))
    .unwrap();
    s.set_service(Arc::new(service));
    assert_eq!(
        fw.schedule(&replica("lone", false), &s)
            .unwrap()
            .suggested_host,
        "b"
    );
    // With `defaultingType: List` and no constraints, nothing is spread.
    let mut profile = keel_scheduler::plugins::default_profile();
    let list =
        Arc::new(keel_scheduler::plugins::PodTopologySpread::with_default_constraints(Vec::new()));
    profile
        .pre_score
        .retain(|p| p.name() != "PodTopologySpread");
    profile
        .score
        .retain(|(p, _)| p.name() != "PodTopologySpread");
    profile.pre_score.push(list.clone());
    profile.score.push((list, 2));
    assert_eq!(
        Framework::new(profile)
            .schedule(&replica("new", true), &s)
            .unwrap()
            .suggested_host,
        "a"
    );
}

#[test]
fn system_defaults_score_nodes_that_lack_the_zone_label() {
    // `b` has no zone label: system-default spreading still scores it (by hostname),
    // where a pod's own constraints would leave it out (score 0) — so `b` wins here.
    let mut s = crowded_big_node(None);
    s.set_controller_selector("ReplicaSet", "default", "web-rs", web_rs_selector());
    assert_eq!(
        Framework::default()
            .schedule(&replica("new", true), &s)
            .unwrap()
            .suggested_host,
        "b"
    );
}

#[test]
fn the_default_selector_merges_services_and_the_controller() {
    let mut s = Snapshot::new();
    let service = |ns: &str, name: &str, selector: Value| -> Arc<keel_core::api::Service> {
        Arc::new(
            serde_json::from_value(json!({
                "apiVersion": "v1", "kind": "Service",
                "metadata": {"name": name, "namespace": ns},
                "spec": {"selector": selector, "ports": [{"port": 80}]}
            }))
            .unwrap(),
        )
    };
    s.set_service(service("default", "web", json!({"app": "web"})));
    s.set_service(service("default", "other", json!({"app": "db"})));
    s.set_service(service("elsewhere", "web", json!({"tier": "fe"})));
    s.set_controller_selector(
        "ReplicaSet",
        "default",
        "web-rs",
        keel_core::labels::Selector::parse("track in (stable)").unwrap(),
    );
    let mut pod = replica("p", true);
    pod.metadata.labels.insert("tier".into(), "fe".into());
    pod.metadata.labels.insert("track".into(), "stable".into());
    let selector = s.default_selector(&pod);
    let keys: Vec<&str> = selector
        .requirements()
        .iter()
        .map(keel_core::labels::Requirement::key)
        .collect();
    assert_eq!(keys, ["app", "track"], "{selector:?}");
    s.remove_controller_selector("ReplicaSet", "default", "web-rs");
    s.remove_service("default", "web");
    assert!(s.default_selector(&pod).is_empty());
}
