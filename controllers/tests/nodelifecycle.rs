//! The node lifecycle controller in virtual time: the test plays the node agent by
//! writing the Node's `Ready` condition and renewing its Lease, then falls silent.
//! A silent node turns `Unknown` and `unreachable` after the 40 s grace period, its
//! pods are evicted by the `NoExecute` taint as their tolerations say (and their
//! ReplicaSet replaces them), and a node that reports again loses its taint.

mod support;

use std::time::Duration;

use keel_controllers::ControllerManager;
use keel_controllers::nodelifecycle::NODE_LEASE_NAMESPACE;
use keel_core::api::{
    Lease, LeaseSpec, Node, NodeCondition, Pod, ReplicaSet, ReplicaSetSpec, TAINT_NODE_NOT_READY,
    TAINT_NODE_UNREACHABLE, Taint, Toleration,
};
use keel_core::client::{Api, Client};
use keel_core::meta::{MicroTime, ObjectMeta};
use support::*;
use tokio::time::Instant;

/// Plays the node agent once: renews the Lease and reports `Ready` as `ready`
/// (`lastHeartbeatTime` now).
async fn heartbeat(client: &Client, name: &str, ready: &str) {
    let now = client.clock().now();
    let leases: Api<Lease> = Api::namespaced(client, NODE_LEASE_NAMESPACE);
    match leases.get_opt(name).await.unwrap() {
        Some(lease) => {
            let mut lease = (*lease).clone();
            lease.spec.renew_time = Some(MicroTime::from(now.clone()));
            leases.replace(name, &lease).await.unwrap();
        }
        None => {
            leases
                .create(&Lease {
                    metadata: ObjectMeta::namespaced(NODE_LEASE_NAMESPACE, name),
                    spec: LeaseSpec {
                        holder_identity: Some(name.into()),
                        renew_time: Some(MicroTime::from(now.clone())),
                        ..LeaseSpec::default()
                    },
                })
                .await
                .unwrap();
        }
    }
    let nodes: Api<Node> = Api::all(client);
    let mut node = match nodes.get_opt(name).await.unwrap() {
        Some(n) => (*n).clone(),
        None => (*nodes.create(&support::node(name, &[])).await.unwrap()).clone(),
    };
    let status = node.status.get_or_insert_with(Default::default);
    status
        .conditions
        .retain(|c| c.type_ != NodeCondition::READY);
    status.conditions.push(NodeCondition {
        type_: NodeCondition::READY.into(),
        status: ready.into(),
        last_heartbeat_time: Some(now.clone()),
        last_transition_time: Some(now),
        reason: Some("KubeletReady".into()),
        message: None,
    });
    nodes.replace_status(name, &node).await.unwrap();
}

fn ready_status(node: &Node) -> Option<&str> {
    node.status
        .as_ref()?
        .conditions
        .iter()
        .find(|c| c.type_ == NodeCondition::READY)
        .map(|c| c.status.as_str())
}

fn no_execute_keys(node: &Node) -> Vec<&str> {
    node.spec
        .taints
        .iter()
        .filter(|t| t.effect == Taint::EFFECT_NO_EXECUTE)
        .map(|t| t.key.as_str())
        .collect()
}

fn lifecycle(client: &Client) -> keel_controllers::ManagerHandle {
    ControllerManager::new(client.clone())
        .with("replicaset")
        .and_then(|m| m.with("node-lifecycle"))
        .unwrap()
        .start()
}

#[tokio::test(start_paused = true)]
async fn a_silent_node_turns_unknown_and_its_pods_are_replaced() {
    let client = Client::in_memory();
    heartbeat(&client, "n1", "True").await;
    let silent_since = Instant::now();
    let manager = lifecycle(&client);
    let sets: Api<ReplicaSet> = Api::default_namespaced(&client);
    sets.create(&ReplicaSet {
        metadata: meta("web"),
        spec: ReplicaSetSpec {
            replicas: Some(2),
            selector: selector("web"),
            template: template("web", "app:v1"),
            ..ReplicaSetSpec::default()
        },
        ..ReplicaSet::default()
    })
    .await
    .unwrap();
    let pods: Api<Pod> = Api::default_namespaced(&client);
    let first = wait_for(&pods, "2 pods", |p| p.len() == 2).await;
    for p in &first {
        // Play the scheduler: both go to n1.
        let mut bound = (**p).clone();
        bound.spec.node_name = Some("n1".into());
        pods.replace(p.metadata.name_str(), &bound).await.unwrap();
    }
    let nodes: Api<Node> = Api::all(&client);
    let node = wait_for_object(&nodes, "n1", "n1 unreachable", |n| {
        no_execute_keys(n) == [TAINT_NODE_UNREACHABLE]
    })
    .await;
    let waited = silent_since.elapsed().as_secs();
    assert!(
        (40..=45).contains(&waited),
        "unreachable after the 40 s grace, at {waited}s"
    );
    let conditions = &node.status.as_ref().unwrap().conditions;
    for type_ in ["Ready", "MemoryPressure", "DiskPressure", "PIDPressure"] {
        let c = conditions.iter().find(|c| c.type_ == type_).unwrap();
        assert_eq!(c.status, "Unknown", "{type_}");
    }
    let ready = conditions.iter().find(|c| c.type_ == "Ready").unwrap();
    assert_eq!(ready.reason.as_deref(), Some("NodeStatusUnknown"));
    assert_eq!(
        ready.message.as_deref(),
        Some("Kubelet stopped posting node status.")
    );
    assert!(node.spec.taints[0].time_added.is_some());

    let old: Vec<String> = first
        .iter()
        .map(|p| p.metadata.name_str().to_owned())
        .collect();
    let now = wait_for(&pods, "2 replacements", |p| {
        let live = live(p);
        live.len() == 2
            && live
                .iter()
                .all(|p| !old.contains(&p.metadata.name_str().to_owned()))
    })
    .await;
    assert!(
        silent_since.elapsed().as_secs() <= 45,
        "evicted as soon as tainted"
    );
    for gone in now
        .iter()
        .filter(|p| old.contains(&p.metadata.name_str().to_owned()))
    {
        assert!(gone.metadata.deletion_timestamp.is_some());
        let cond = gone
            .status
            .as_ref()
            .and_then(|s| s.conditions.iter().find(|c| c.type_ == "DisruptionTarget"))
            .expect("marked before deletion");
        assert_eq!(cond.status, "True");
        assert_eq!(cond.reason.as_deref(), Some("DeletionByTaintManager"));
    }
    manager.shutdown().await;
}

fn tolerating(name: &str, seconds: Option<i64>) -> Pod {
    let mut pod = Pod {
        metadata: meta(name),
        ..Pod::default()
    };
    pod.spec.containers.push(container("app:v1"));
    pod.spec.node_name = Some("n1".into());
    pod.spec.tolerations.push(Toleration {
        key: Some(TAINT_NODE_UNREACHABLE.into()),
        operator: Some("Exists".into()),
        value: None,
        effect: Some(Taint::EFFECT_NO_EXECUTE.into()),
        toleration_seconds: seconds,
    });
    pod
}

#[tokio::test(start_paused = true)]
async fn tolerations_keep_pods_for_their_seconds_or_for_good() {
    let client = Client::in_memory();
    heartbeat(&client, "n1", "True").await;
    let pods: Api<Pod> = Api::default_namespaced(&client);
    pods.create(&tolerating("minute", Some(60))).await.unwrap();
    pods.create(&tolerating("forever", None)).await.unwrap();
    let manager = lifecycle(&client);
    let nodes: Api<Node> = Api::all(&client);
    let node = wait_for_object(&nodes, "n1", "n1 unreachable", |n| {
        no_execute_keys(n) == [TAINT_NODE_UNREACHABLE]
    })
    .await;
    let added = node.spec.taints[0].time_added.clone().unwrap();
    let gone =
        |p: &[std::sync::Arc<Pod>]| !live(p).iter().any(|p| p.metadata.name_str() == "minute");
    let left = wait_for(&pods, "the 60 s toleration to run out", gone).await;
    let after = client.clock().since(&added).as_secs();
    assert!(
        (60..=61).contains(&after),
        "evicted 60 s after the taint, at {after}s"
    );
    assert!(
        live(&left)
            .iter()
            .any(|p| p.metadata.name_str() == "forever")
    );
    // Nothing evicts the pod tolerating the taint without a limit.
    let still = tokio::time::timeout(
        Duration::from_secs(600),
        wait_for(&pods, "the unlimited pod to go", |p| {
            !live(p).iter().any(|p| p.metadata.name_str() == "forever")
        }),
    )
    .await;
    assert!(still.is_err(), "the pod tolerating forever stays");
    manager.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn the_taint_follows_the_node_ready_condition() {
    let client = Client::in_memory();
    heartbeat(&client, "n1", "False").await;
    let manager = lifecycle(&client);
    let nodes: Api<Node> = Api::all(&client);
    let start = Instant::now();
    wait_for_object(&nodes, "n1", "n1 not-ready", |n| {
        no_execute_keys(n) == [TAINT_NODE_NOT_READY]
    })
    .await;
    assert!(start.elapsed() <= Duration::from_secs(5), "within a period");

    // Silent since that one report: unreachable replaces not-ready.
    wait_for_object(&nodes, "n1", "n1 unreachable", |n| {
        no_execute_keys(n) == [TAINT_NODE_UNREACHABLE] && ready_status(n) == Some("Unknown")
    })
    .await;
    let waited = start.elapsed().as_secs();
    assert!((40..=45).contains(&waited), "at {waited}s");

    // Back: the taint goes within a monitor period.
    heartbeat(&client, "n1", "True").await;
    let back = Instant::now();
    let node = wait_for_object(&nodes, "n1", "n1 untainted", |n| {
        no_execute_keys(n).is_empty()
    })
    .await;
    assert!(back.elapsed() <= Duration::from_secs(5));
    assert_eq!(ready_status(&node), Some("True"));
    manager.shutdown().await;
}
