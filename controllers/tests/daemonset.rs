//! The DaemonSet controller against the in-memory store, in virtual time: placement by
//! nodeSelector, required node affinity and taints/tolerations; nodes joining, leaving
//! and changing; failed and surplus pods; RollingUpdate (maxUnavailable, maxSurge) and
//! OnDelete; status; ControllerRevision history and its limit.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};

use keel_controllers::ControllerManager;
use keel_controllers::daemonset::{CONTROLLER_REVISION_HASH, POD_TEMPLATE_GENERATION};
use keel_core::api::{
    Affinity, ControllerRevision, DaemonSet, DaemonSetSpec, DaemonSetUpdateStrategy, Event, Node,
    NodeAffinity, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm, Pod,
    RollingUpdateDaemonSet, Taint, Toleration,
};
use keel_core::client::{Api, Client, DeleteParams, ListParams};
use keel_core::intstr::IntOrString;
use support::*;

fn daemon_set(name: &str) -> DaemonSet {
    DaemonSet {
        metadata: meta(name),
        spec: DaemonSetSpec {
            selector: selector(name),
            template: template(name, "agent:1"),
            ..DaemonSetSpec::default()
        },
        ..DaemonSet::default()
    }
}

fn rolling(unavailable: IntOrString, surge: IntOrString) -> DaemonSetUpdateStrategy {
    DaemonSetUpdateStrategy {
        type_: Some("RollingUpdate".into()),
        rolling_update: Some(RollingUpdateDaemonSet {
            max_unavailable: Some(unavailable),
            max_surge: Some(surge),
        }),
    }
}

fn taint(key: &str, effect: &str) -> Taint {
    Taint {
        key: key.into(),
        value: None,
        effect: effect.into(),
        time_added: None,
    }
}

struct Cluster {
    client: Client,
    manager: keel_controllers::ManagerHandle,
    _kubelet: tokio::task::JoinHandle<()>,
    _scheduler: tokio::task::JoinHandle<()>,
    nodes: Api<Node>,
    sets: Api<DaemonSet>,
    pods: Api<Pod>,
}

async fn cluster(nodes: Vec<Node>) -> Cluster {
    let client = Client::in_memory();
    let node_api: Api<Node> = Api::all(&client);
    for n in nodes {
        node_api.create(&n).await.unwrap();
    }
    Cluster {
        manager: ControllerManager::new(client.clone())
            .with("daemonset")
            .unwrap()
            .start(),
        _kubelet: kubelet(client.clone()),
        _scheduler: bind_pinned_pods(client.clone()),
        nodes: node_api,
        sets: Api::default_namespaced(&client),
        pods: Api::default_namespaced(&client),
        client,
    }
}

/// The nodes the live pods of `app` are pinned to, with how many pods each.
fn placement(pods: &[Arc<Pod>], app: &str) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for p in live(pods) {
        if p.metadata.labels.get("app").map(String::as_str) == Some(app) {
            *out.entry(pinned_node(&p).unwrap_or_default()).or_default() += 1;
        }
    }
    out
}

fn on(nodes: &[&str]) -> BTreeMap<String, usize> {
    nodes.iter().map(|n| ((*n).to_owned(), 1)).collect()
}

async fn edit<K: keel_core::Resource + Clone>(api: &Api<K>, name: &str, f: impl Fn(&mut K)) {
    loop {
        let mut obj = (*api.get(name).await.unwrap()).clone();
        f(&mut obj);
        match api.replace(name, &obj).await {
            Err(e) if e.is_conflict() => {}
            other => {
                other.unwrap();
                return;
            }
        }
    }
}

#[tokio::test(start_paused = true)]
async fn runs_one_pod_per_eligible_node_and_reports_status() {
    let mut tainted = node("tainted", &[("role", "web")]);
    tainted.spec.taints.push(taint("dedicated", "NoSchedule"));
    let mut cordoned = node("cordoned", &[("role", "web")]);
    cordoned.spec.unschedulable = Some(true);
    cordoned
        .spec
        .taints
        .push(taint("node.kubernetes.io/unschedulable", "NoSchedule"));
    let c = cluster(vec![
        node("web-1", &[("role", "web")]),
        node("db-1", &[("role", "db")]),
        tainted,
        cordoned,
    ])
    .await;
    let mut ds = daemon_set("agent");
    ds.spec
        .template
        .spec
        .node_selector
        .insert("role".into(), "web".into());
    let ds = c.sets.create(&ds).await.unwrap();

    // nodeSelector keeps db-1 out, the untolerated taint keeps `tainted` out, and the
    // default daemon tolerations let the pod onto the cordoned node.
    let pods = wait_for(&c.pods, "pods on web-1 and cordoned", |p| {
        placement(p, "agent") == on(&["cordoned", "web-1"])
    })
    .await;
    for p in live(&pods) {
        let owner = p.metadata.controller_owner().unwrap();
        assert_eq!(
            (owner.kind.as_str(), owner.uid.as_str()),
            ("DaemonSet", ds.metadata.uid.as_deref().unwrap())
        );
        assert!(p.metadata.name_str().starts_with("agent-"));
        assert!(!p.metadata.labels[CONTROLLER_REVISION_HASH].is_empty());
        assert_eq!(p.metadata.labels[POD_TEMPLATE_GENERATION], "1");
        let keys: BTreeSet<_> = p
            .spec
            .tolerations
            .iter()
            .map(|t| {
                (
                    t.key.clone().unwrap(),
                    t.effect.clone().unwrap(),
                    t.operator.clone().unwrap(),
                )
            })
            .collect();
        for (key, effect) in [
            ("node.kubernetes.io/not-ready", "NoExecute"),
            ("node.kubernetes.io/unreachable", "NoExecute"),
            ("node.kubernetes.io/disk-pressure", "NoSchedule"),
            ("node.kubernetes.io/memory-pressure", "NoSchedule"),
            ("node.kubernetes.io/pid-pressure", "NoSchedule"),
            ("node.kubernetes.io/unschedulable", "NoSchedule"),
        ] {
            assert!(
                keys.contains(&(key.into(), effect.into(), "Exists".into())),
                "{key}"
            );
        }
        assert_eq!(
            keys.len(),
            6,
            "no network-unavailable toleration off the host network"
        );
        let terms = &p
            .spec
            .affinity
            .as_ref()
            .unwrap()
            .node_affinity
            .as_ref()
            .unwrap()
            .required_during_scheduling_ignored_during_execution
            .as_ref()
            .unwrap()
            .node_selector_terms;
        assert_eq!(terms.len(), 1);
        assert!(terms[0].match_expressions.is_empty());
        assert_eq!(terms[0].match_fields[0].key, "metadata.name");
        assert_eq!(terms[0].match_fields[0].operator, "In");
    }
    let ds = wait_for_object(&c.sets, "agent", "status of 2 ready", |d| {
        d.status.as_ref().is_some_and(|s| s.number_ready == 2)
    })
    .await;
    let s = ds.status.as_ref().unwrap();
    assert_eq!(
        (
            s.desired_number_scheduled,
            s.current_number_scheduled,
            s.number_misscheduled
        ),
        (2, 2, 0)
    );
    assert_eq!(
        (
            s.number_available,
            s.number_unavailable,
            s.updated_number_scheduled
        ),
        (Some(2), Some(0), Some(2))
    );
    assert_eq!(s.observed_generation, Some(1));

    // A toleration for the taint lets a second DaemonSet onto every node.
    let mut tolerant = daemon_set("tolerant");
    tolerant.spec.template.spec.tolerations.push(Toleration {
        key: Some("dedicated".into()),
        operator: Some("Exists".into()),
        ..Toleration::default()
    });
    c.sets.create(&tolerant).await.unwrap();
    wait_for(&c.pods, "tolerant pods on all four nodes", |p| {
        placement(p, "tolerant") == on(&["cordoned", "db-1", "tainted", "web-1"])
    })
    .await;
    c.manager.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn required_node_affinity_selects_nodes() {
    let c = cluster(vec![
        node("a1", &[("zone", "a")]),
        node("b1", &[("zone", "b")]),
        node("c1", &[("zone", "c")]),
        node("bare", &[]),
    ])
    .await;
    let mut ds = daemon_set("zonal");
    ds.spec.template.spec.affinity = Some(Box::new(Affinity {
        node_affinity: Some(NodeAffinity {
            required_during_scheduling_ignored_during_execution: Some(NodeSelector {
                node_selector_terms: vec![
                    NodeSelectorTerm {
                        match_expressions: vec![NodeSelectorRequirement {
                            key: "zone".into(),
                            operator: "In".into(),
                            values: vec!["a".into(), "b".into()],
                        }],
                        match_fields: vec![],
                    },
                    NodeSelectorTerm {
                        match_expressions: vec![],
                        match_fields: vec![NodeSelectorRequirement {
                            key: "metadata.name".into(),
                            operator: "In".into(),
                            values: vec!["bare".into()],
                        }],
                    },
                ],
            }),
            ..NodeAffinity::default()
        }),
        ..Affinity::default()
    }));
    c.sets.create(&ds).await.unwrap();
    wait_for(&c.pods, "pods on a1, b1 and bare", |p| {
        placement(p, "zonal") == on(&["a1", "b1", "bare"])
    })
    .await;
    let ds = wait_for_object(&c.sets, "zonal", "status", |d| {
        d.status.as_ref().is_some_and(|s| s.number_ready == 3)
    })
    .await;
    assert_eq!(ds.status.as_ref().unwrap().desired_number_scheduled, 3);
    c.manager.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn follows_nodes_joining_changing_and_leaving() {
    let c = cluster(vec![node("n1", &[("pool", "x")])]).await;
    let mut ds = daemon_set("agent");
    ds.spec
        .template
        .spec
        .node_selector
        .insert("pool".into(), "x".into());
    c.sets.create(&ds).await.unwrap();
    wait_for(&c.pods, "a pod on n1", |p| {
        placement(p, "agent") == on(&["n1"])
    })
    .await;

    // A node joins.
    c.nodes.create(&node("n2", &[("pool", "x")])).await.unwrap();
    wait_for(&c.pods, "a pod on n2", |p| {
        placement(p, "agent") == on(&["n1", "n2"])
    })
    .await;
    c.nodes.create(&node("n3", &[("pool", "x")])).await.unwrap();
    wait_for(&c.pods, "a pod on n3", |p| {
        placement(p, "agent") == on(&["n1", "n2", "n3"])
    })
    .await;

    // Relabelled out of the selector: its pod goes.
    edit(&c.nodes, "n2", |n| {
        n.metadata.labels.insert("pool".into(), "y".into());
    })
    .await;
    wait_for(&c.pods, "n2's pod removed", |p| {
        placement(p, "agent") == on(&["n1", "n3"])
    })
    .await;

    // An untolerated NoSchedule taint keeps the running pod (Kubernetes evicts only
    // for NoExecute); a NoExecute taint removes it.
    edit(&c.nodes, "n3", |n| {
        n.spec.taints.push(taint("maintenance", "NoSchedule"));
    })
    .await;
    let ds_api = c.sets.clone();
    wait_for_object(&ds_api, "agent", "n3 no longer desired", |d| {
        d.status
            .as_ref()
            .is_some_and(|s| s.desired_number_scheduled == 1 && s.number_misscheduled == 1)
    })
    .await;
    assert_eq!(
        placement(
            &c.pods.list(&ListParams::default()).await.unwrap().items,
            "agent"
        ),
        on(&["n1", "n3"])
    );
    edit(&c.nodes, "n3", |n| {
        n.spec.taints.push(taint("drain", "NoExecute"));
    })
    .await;
    wait_for(&c.pods, "n3's pod evicted", |p| {
        placement(p, "agent") == on(&["n1"])
    })
    .await;

    // A node leaves.
    c.nodes
        .delete("n1", &DeleteParams::default())
        .await
        .unwrap();
    wait_for(&c.pods, "n1's pod removed", |p| {
        placement(p, "agent").is_empty()
    })
    .await;
    let ds = wait_for_object(&c.sets, "agent", "empty status", |d| {
        d.status
            .as_ref()
            .is_some_and(|s| s.desired_number_scheduled == 0 && s.number_misscheduled == 0)
    })
    .await;
    assert_eq!(ds.status.as_ref().unwrap().current_number_scheduled, 0);
    c.manager.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn failed_pods_are_replaced_and_surplus_pods_removed() {
    let c = cluster(vec![node("n1", &[]), node("n2", &[])]).await;
    c.sets.create(&daemon_set("agent")).await.unwrap();
    let pods = wait_for(&c.pods, "two pods", |p| {
        placement(p, "agent") == on(&["n1", "n2"])
    })
    .await;
    let victim = live(&pods)
        .into_iter()
        .find(|p| pinned_node(p).as_deref() == Some("n1"))
        .unwrap();
    set_pod_status(&c.client, &victim, "Failed", false).await;
    let victim_name = victim.metadata.name_str().to_owned();
    wait_for(&c.pods, "a replacement on n1", |p| {
        placement(p, "agent") == on(&["n1", "n2"])
            && p.iter().all(|p| p.metadata.name_str() != victim_name)
    })
    .await;
    let events = Api::<Event>::default_namespaced(&c.client);
    let failed = wait_for(&events, "FailedDaemonPod event", |e| {
        e.iter()
            .any(|e| e.reason.as_deref() == Some("FailedDaemonPod"))
    })
    .await;
    let e = failed
        .iter()
        .find(|e| e.reason.as_deref() == Some("FailedDaemonPod"))
        .unwrap();
    assert_eq!(
        e.message.as_deref(),
        Some(
            format!(
                "Found failed daemon pod default/{victim_name} on node n1, will try to kill it"
            )
            .as_str()
        )
    );
    assert_eq!(e.type_.as_deref(), Some("Warning"));

    // A matching orphan pinned to n2 is adopted, then pruned as surplus: the oldest
    // pod stays.
    let oldest = live(&c.pods.list(&ListParams::default()).await.unwrap().items)
        .into_iter()
        .find(|p| pinned_node(p).as_deref() == Some("n2"))
        .unwrap();
    let mut extra = Pod {
        metadata: meta("extra").with_label("app", "agent"),
        ..Pod::default()
    };
    extra.spec = oldest.spec.clone();
    extra.spec.node_name = None;
    c.pods.create(&extra).await.unwrap();
    let pods = wait_for(&c.pods, "extra pod removed", |p| {
        p.iter().all(|p| p.metadata.name_str() != "extra")
            && placement(p, "agent") == on(&["n1", "n2"])
    })
    .await;
    assert!(pods.iter().any(|p| p.metadata.name == oldest.metadata.name));
    c.manager.shutdown().await;
}

/// Counts the nodes of `nodes` with no live, ready pod of `app`.
fn unavailable_nodes(pods: &[Arc<Pod>], app: &str, nodes: &[&str]) -> i32 {
    let ready: BTreeSet<String> = live(pods)
        .iter()
        .filter(|p| p.metadata.labels.get("app").map(String::as_str) == Some(app) && p.is_ready())
        .filter_map(|p| p.spec.node_name.clone())
        .collect();
    i32::try_from(nodes.iter().filter(|n| !ready.contains(**n)).count()).unwrap()
}

fn image(pod: &Pod) -> &str {
    pod.spec.containers[0].image.as_deref().unwrap()
}

#[tokio::test(start_paused = true)]
async fn rolling_update_respects_max_unavailable() {
    let names = ["n1", "n2", "n3", "n4", "n5"];
    let c = cluster(names.iter().map(|n| node(n, &[])).collect()).await;
    let mut ds = daemon_set("agent");
    // 40% of 5 nodes, rounded up: 2.
    ds.spec.update_strategy = Some(rolling("40%".into(), IntOrString::Int(0)));
    c.sets.create(&ds).await.unwrap();
    wait_for(&c.pods, "five ready pods", |p| {
        unavailable_nodes(p, "agent", &names) == 0
    })
    .await;

    let worst = Arc::new(AtomicI32::new(0));
    let seen = worst.clone();
    let watch = on_every_change(c.pods.clone(), move |pods| {
        let seen = seen.clone();
        async move {
            let n = unavailable_nodes(&pods, "agent", &["n1", "n2", "n3", "n4", "n5"]);
            seen.fetch_max(n, Ordering::SeqCst);
            assert!(n <= 2, "{n} nodes without an available pod");
        }
    });
    edit(&c.sets, "agent", |d| {
        d.spec.template.spec.containers[0].image = Some("agent:2".into());
    })
    .await;
    let pods = wait_for(&c.pods, "every node on agent:2", |p| {
        let l = live(p);
        l.len() == 5 && l.iter().all(|p| image(p) == "agent:2" && p.is_ready())
    })
    .await;
    let ds = wait_for_object(&c.sets, "agent", "updated status", |d| {
        d.status
            .as_ref()
            .is_some_and(|s| s.updated_number_scheduled == Some(5) && s.number_available == Some(5))
    })
    .await;
    assert!(!watch.is_finished(), "the invariant held");
    watch.abort();
    assert_eq!(worst.load(Ordering::SeqCst), 2, "the budget was used");
    let hash = &live(&pods)[0].metadata.labels[CONTROLLER_REVISION_HASH];
    assert!(
        live(&pods)
            .iter()
            .all(|p| &p.metadata.labels[CONTROLLER_REVISION_HASH] == hash)
    );
    assert!(
        live(&pods)
            .iter()
            .all(|p| p.metadata.labels[POD_TEMPLATE_GENERATION] == "2")
    );
    assert_eq!(ds.status.as_ref().unwrap().observed_generation, Some(2));
    c.manager.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn rolling_update_with_surge_keeps_every_node_available() {
    let names = ["n1", "n2", "n3", "n4"];
    let c = cluster(names.iter().map(|n| node(n, &[])).collect()).await;
    let mut ds = daemon_set("agent");
    ds.spec.update_strategy = Some(rolling(IntOrString::Int(0), IntOrString::Int(1)));
    c.sets.create(&ds).await.unwrap();
    wait_for(&c.pods, "four ready pods", |p| {
        unavailable_nodes(p, "agent", &names) == 0
    })
    .await;

    let most = Arc::new(AtomicI32::new(0));
    let seen = most.clone();
    let watch = on_every_change(c.pods.clone(), move |pods| {
        let seen = seen.clone();
        async move {
            let n = unavailable_nodes(&pods, "agent", &["n1", "n2", "n3", "n4"]);
            assert_eq!(n, 0, "a node lost its available pod");
            let total = i32::try_from(live(&pods).len()).unwrap();
            seen.fetch_max(total, Ordering::SeqCst);
            assert!(total <= 5, "{total} pods: more than one surge pod");
        }
    });
    edit(&c.sets, "agent", |d| {
        d.spec.template.spec.containers[0].image = Some("agent:2".into());
    })
    .await;
    wait_for(&c.pods, "every node on agent:2", |p| {
        let l = live(p);
        l.len() == 4 && l.iter().all(|p| image(p) == "agent:2" && p.is_ready())
    })
    .await;
    assert!(!watch.is_finished(), "the invariant held");
    watch.abort();
    assert_eq!(
        most.load(Ordering::SeqCst),
        5,
        "a new pod started beside an old one"
    );
    c.manager.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn on_delete_replaces_only_deleted_pods() {
    let c = cluster(vec![node("n1", &[]), node("n2", &[]), node("n3", &[])]).await;
    let mut ds = daemon_set("agent");
    ds.spec.update_strategy = Some(DaemonSetUpdateStrategy {
        type_: Some("OnDelete".into()),
        rolling_update: None,
    });
    c.sets.create(&ds).await.unwrap();
    wait_for(&c.pods, "three pods", |p| placement(p, "agent").len() == 3).await;
    edit(&c.sets, "agent", |d| {
        d.spec.template.spec.containers[0].image = Some("agent:2".into());
    })
    .await;
    let ds = wait_for_object(&c.sets, "agent", "generation 2 observed", |d| {
        d.status
            .as_ref()
            .is_some_and(|s| s.observed_generation == Some(2))
    })
    .await;
    assert_eq!(
        ds.status.as_ref().unwrap().updated_number_scheduled,
        Some(0)
    );
    let pods = c.pods.list(&ListParams::default()).await.unwrap().items;
    assert!(
        live(&pods).iter().all(|p| image(p) == "agent:1"),
        "nothing replaced on its own"
    );

    let victim = live(&pods)
        .into_iter()
        .find(|p| p.spec.node_name.as_deref() == Some("n2"))
        .unwrap();
    c.pods
        .delete(victim.metadata.name_str(), &DeleteParams::default())
        .await
        .unwrap();
    let pods = wait_for(&c.pods, "n2 on agent:2", |p| {
        live(p)
            .iter()
            .any(|p| p.spec.node_name.as_deref() == Some("n2") && image(p) == "agent:2")
            && live(p).len() == 3
    })
    .await;
    for p in live(&pods) {
        let want = if p.spec.node_name.as_deref() == Some("n2") {
            "agent:2"
        } else {
            "agent:1"
        };
        assert_eq!(image(&p), want);
    }
    wait_for_object(&c.sets, "agent", "one updated", |d| {
        d.status
            .as_ref()
            .is_some_and(|s| s.updated_number_scheduled == Some(1) && s.number_ready == 3)
    })
    .await;
    c.manager.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn available_waits_for_min_ready_seconds() {
    let c = cluster(vec![node("n1", &[]), node("n2", &[])]).await;
    let mut ds = daemon_set("agent");
    ds.spec.min_ready_seconds = Some(30);
    c.sets.create(&ds).await.unwrap();
    let ds = wait_for_object(&c.sets, "agent", "ready", |d| {
        d.status.as_ref().is_some_and(|s| s.number_ready == 2)
    })
    .await;
    let s = ds.status.as_ref().unwrap();
    assert_eq!(
        (s.number_available, s.number_unavailable),
        (Some(0), Some(2))
    );
    let start = c.client.clock().now();
    let ds = wait_for_object(&c.sets, "agent", "available", |d| {
        d.status
            .as_ref()
            .is_some_and(|s| s.number_available == Some(2))
    })
    .await;
    assert!(c.client.clock().now().duration_since(&start) >= std::time::Duration::from_secs(30));
    assert_eq!(ds.status.as_ref().unwrap().number_unavailable, Some(0));
    c.manager.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_pod_that_keeps_failing_is_replaced_with_back_off() {
    let c = cluster(vec![node("n1", &[])]).await;
    c.sets.create(&daemon_set("agent")).await.unwrap();
    let mut previous: Option<String> = None;
    let mut gaps = Vec::new();
    for _ in 0..3 {
        let pods = wait_for(&c.pods, "a ready pod", |p| {
            live(p)
                .iter()
                .any(|p| p.is_ready() && Some(p.metadata.name_str()) != previous.as_deref())
        })
        .await;
        let pod = live(&pods).into_iter().find(|p| p.is_ready()).unwrap();
        let failed_at = c.client.clock().now();
        set_pod_status(&c.client, &pod, "Failed", false).await;
        let name = pod.metadata.name_str().to_owned();
        wait_for(&c.pods, "the failed pod deleted", |p| {
            p.iter().all(|p| p.metadata.name_str() != name)
        })
        .await;
        gaps.push(c.client.clock().now().duration_since(&failed_at));
        previous = Some(name);
    }
    // The first failure is acted on at once; the next ones wait 1 s, then 2 s, since
    // the last deletion.
    assert!(gaps[0] < std::time::Duration::from_secs(1), "{gaps:?}");
    assert!(gaps[1] >= std::time::Duration::from_secs(1), "{gaps:?}");
    assert!(gaps[2] >= std::time::Duration::from_secs(2), "{gaps:?}");
    c.manager.shutdown().await;
}

/// The ControllerRevisions in the default namespace, oldest first.
async fn revisions(client: &Client) -> Vec<Arc<ControllerRevision>> {
    let api: Api<ControllerRevision> = Api::default_namespaced(client);
    let mut revs = api.list(&ListParams::default()).await.unwrap().items;
    revs.sort_by_key(|r| r.revision);
    revs
}

async fn roll_to(c: &Cluster, image_name: &str, nodes: &[&str]) -> Vec<Arc<Pod>> {
    let wanted = image_name.to_owned();
    edit(&c.sets, "agent", move |d| {
        d.spec.template.spec.containers[0].image = Some(wanted.clone());
    })
    .await;
    wait_for(&c.pods, image_name, |p| {
        let l = live(p);
        l.len() == nodes.len()
            && l.iter().all(|p| image(p) == image_name && p.is_ready())
            && unavailable_nodes(p, "agent", nodes) == 0
    })
    .await
}

#[tokio::test(start_paused = true)]
async fn revisions_are_kept_as_controller_revisions_within_the_history_limit() {
    let names = ["n1", "n2"];
    let c = cluster(names.iter().map(|n| node(n, &[])).collect()).await;
    let mut ds = daemon_set("agent");
    ds.spec.revision_history_limit = Some(1);
    let created = c.sets.create(&ds).await.unwrap();
    let pods = wait_for(&c.pods, "two ready pods", |p| {
        unavailable_nodes(p, "agent", &names) == 0
    })
    .await;
    let revs = revisions(&c.client).await;
    assert_eq!(revs.len(), 1);
    let hash = &revs[0].metadata.labels[CONTROLLER_REVISION_HASH];
    assert_eq!(revs[0].metadata.name_str(), format!("agent-{hash}"));
    assert_eq!(revs[0].revision, 1);
    assert_eq!(revs[0].metadata.labels["app"], "agent");
    assert_eq!(
        revs[0].metadata.controller_owner().unwrap().uid,
        created.metadata.uid.clone().unwrap()
    );
    assert!(
        live(&pods)
            .iter()
            .all(|p| &p.metadata.labels[CONTROLLER_REVISION_HASH] == hash)
    );

    let pods = roll_to(&c, "agent:2", &names).await;
    roll_to(&c, "agent:3", &names).await;
    // agent:1 is beyond the limit and unused: deleted; agent:2 stays as the one old one.
    let revs = wait_for(
        &Api::<ControllerRevision>::default_namespaced(&c.client),
        "agent:1 revision deleted",
        |r| r.len() == 2,
    )
    .await;
    let mut revs = revs;
    revs.sort_by_key(|r| r.revision);
    assert_eq!(
        revs[0].metadata.labels[CONTROLLER_REVISION_HASH],
        live(&pods)[0].metadata.labels[CONTROLLER_REVISION_HASH],
        "the agent:2 revision is kept"
    );
    assert_eq!(revs.iter().map(|r| r.revision).collect::<Vec<_>>(), [2, 3]);

    // Rolling back to agent:2 makes its revision the newest again.
    let pods = roll_to(&c, "agent:2", &names).await;
    let revs = revisions(&c.client).await;
    assert_eq!(revs.len(), 2);
    let newest = revs.last().unwrap();
    assert_eq!(newest.revision, 4);
    assert!(
        live(&pods)
            .iter()
            .all(|p| p.metadata.labels[CONTROLLER_REVISION_HASH]
                == newest.metadata.labels[CONTROLLER_REVISION_HASH])
    );
    c.manager.shutdown().await;
}
