//! The Scheduler end to end against the in-memory store, in virtual time: pending pods
//! are bound, unschedulable ones get an event and the PodScheduled condition and are
//! retried when a node joins, and other schedulers' pods are left alone.

mod common;

use std::sync::Arc;

use common::{node, pod, pod_with};
use futures::StreamExt;
use keel_core::api::{Event, Node, Pod};
use keel_core::client::{Api, Client, ListParams, watcher};
use keel_scheduler::Scheduler;
use serde_json::json;

/// Waits until `cond` holds for pod `name`, re-checking on every pod change.
async fn until(client: &Client, name: &str, cond: impl Fn(&Pod) -> bool) -> Arc<Pod> {
    let pods: Api<Pod> = Api::namespaced(client, "default");
    let changes = watcher::watcher(pods.clone(), ListParams::default());
    futures::pin_mut!(changes);
    loop {
        if let Some(p) = pods.get_opt(name).await.unwrap()
            && cond(&p)
        {
            return p;
        }
        changes.next().await;
    }
}

fn condition<'a>(p: &'a Pod, type_: &str) -> Option<&'a keel_core::api::PodCondition> {
    p.status
        .as_ref()?
        .conditions
        .iter()
        .find(|c| c.type_ == type_)
}

#[tokio::test(start_paused = true)]
async fn pending_pods_are_bound_and_spread() {
    let client = Client::in_memory();
    let nodes: Api<Node> = Api::all(&client);
    for i in 0..3 {
        nodes
            .create(&node(&format!("n{i}"), "4", "8Gi"))
            .await
            .unwrap();
    }
    let handle = Scheduler::new(&client).start();
    let pods: Api<Pod> = Api::namespaced(&client, "default");
    for i in 0..6 {
        pods.create(&pod(&format!("p{i}"), "1", "1Gi"))
            .await
            .unwrap();
    }
    let mut per_node = std::collections::BTreeMap::new();
    for i in 0..6 {
        let p = until(&client, &format!("p{i}"), |p| p.node_name().is_some()).await;
        *per_node
            .entry(p.node_name().unwrap().to_owned())
            .or_insert(0) += 1;
        let bound = until(&client, &format!("p{i}"), |p| {
            condition(p, "PodScheduled").is_some()
        })
        .await;
        assert_eq!(condition(&bound, "PodScheduled").unwrap().status, "True");
    }
    assert_eq!(
        per_node.values().copied().collect::<Vec<_>>(),
        [2, 2, 2],
        "{per_node:?}"
    );
    let events = Api::<Event>::namespaced(&client, "default")
        .list(&ListParams::default())
        .await
        .unwrap();
    let scheduled = events
        .items
        .iter()
        .filter(|e| e.reason.as_deref() == Some("Scheduled"))
        .count();
    assert_eq!(scheduled, 6);
    assert!(events.items.iter().any(|e| {
        e.message
            .as_deref()
            .is_some_and(|m| m.starts_with("Successfully assigned default/p0 to n"))
    }));
    handle.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn an_unschedulable_pod_is_reported_and_retried_when_a_node_joins() {
    let client = Client::in_memory();
    let nodes: Api<Node> = Api::all(&client);
    nodes.create(&node("small", "1", "1Gi")).await.unwrap();
    let handle = Scheduler::new(&client).start();
    let pods: Api<Pod> = Api::namespaced(&client, "default");
    pods.create(&pod("big", "4", "4Gi")).await.unwrap();
    let p = until(&client, "big", |p| condition(p, "PodScheduled").is_some()).await;
    let c = condition(&p, "PodScheduled").unwrap();
    assert_eq!(
        (c.status.as_str(), c.reason.as_deref()),
        ("False", Some("Unschedulable"))
    );
    assert_eq!(
        c.message.as_deref(),
        Some(
            "0/1 nodes are available: 1 Insufficient cpu, 1 Insufficient memory. \
             preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling."
        )
    );
    let events = Api::<Event>::namespaced(&client, "default")
        .list(&ListParams::default())
        .await
        .unwrap();
    assert!(
        events
            .items
            .iter()
            .any(|e| e.reason.as_deref() == Some("FailedScheduling")
                && e.type_.as_deref() == Some("Warning"))
    );
    assert_eq!(handle.pending(), 1);

    nodes.create(&node("large", "8", "16Gi")).await.unwrap();
    let p = until(&client, "big", |p| p.node_name().is_some()).await;
    assert_eq!(p.node_name(), Some("large"));
    let p = until(&client, "big", |p| {
        condition(p, "PodScheduled").is_some_and(|c| c.status == "True")
    })
    .await;
    assert!(condition(&p, "PodScheduled").unwrap().reason.is_none());
    handle.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn bound_pods_count_and_other_schedulers_pods_are_left_alone() {
    let client = Client::in_memory();
    Api::<Node>::all(&client)
        .create(&node("only", "2", "4Gi"))
        .await
        .unwrap();
    let pods: Api<Pod> = Api::namespaced(&client, "default");
    let mut running = pod("running", "1500m", "1Gi");
    running.spec.node_name = Some("only".into());
    pods.create(&running).await.unwrap();
    pods.create(&pod_with(
        "custom",
        "100m",
        "",
        json!({"spec": {"schedulerName": "my-scheduler"}}),
    ))
    .await
    .unwrap();
    let handle = Scheduler::new(&client).start();
    pods.create(&pod("second", "1", "1Gi")).await.unwrap();
    let p = until(&client, "second", |p| {
        condition(p, "PodScheduled").is_some()
    })
    .await;
    assert_eq!(
        condition(&p, "PodScheduled").unwrap().status,
        "False",
        "the bound pod's 1.5 CPU counts"
    );
    let custom = pods.get("custom").await.unwrap();
    assert!(
        custom.node_name().is_none()
            && custom
                .status
                .as_ref()
                .is_none_or(|s| s.conditions.is_empty())
    );
    // The bound pod goes away: the pending one fits now.
    pods.delete("running", &keel_core::client::DeleteParams::immediate())
        .await
        .unwrap();
    until(&client, "second", |p| p.node_name() == Some("only")).await;
    handle.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_high_priority_pod_preempts_the_least_important_pods() {
    let client = Client::in_memory();
    Api::<Node>::all(&client)
        .create(&node("only", "2", "4Gi"))
        .await
        .unwrap();
    let pods: Api<Pod> = Api::namespaced(&client, "default");
    for (name, priority) in [("low", 1), ("mid", 5)] {
        let mut p = pod_with(name, "1", "1Gi", json!({"spec": {"priority": priority}}));
        p.spec.node_name = Some("only".into());
        pods.create(&p).await.unwrap();
    }
    let handle = Scheduler::new(&client).start();
    pods.create(&pod_with(
        "vip",
        "1",
        "1Gi",
        json!({"spec": {"priority": 100}}),
    ))
    .await
    .unwrap();
    // The least important pod is evicted (gracefully: the test plays the node agent and
    // finishes it), the VIP nominated, then bound once room is made.
    let low = until(&client, "low", |p| p.metadata.deletion_timestamp.is_some()).await;
    assert!(low.metadata.deletion_timestamp.is_some());
    let vip = until(&client, "vip", |p| {
        p.status
            .as_ref()
            .is_some_and(|s| s.nominated_node_name.is_some())
    })
    .await;
    assert_eq!(
        vip.status.as_ref().unwrap().nominated_node_name.as_deref(),
        Some("only")
    );
    assert!(
        pods.get("mid")
            .await
            .unwrap()
            .metadata
            .deletion_timestamp
            .is_none()
    );
    pods.delete("low", &keel_core::client::DeleteParams::immediate())
        .await
        .unwrap();
    let vip = until(&client, "vip", |p| p.node_name().is_some()).await;
    assert_eq!(vip.node_name(), Some("only"));
    assert!(
        pods.get_opt("low").await.unwrap().is_none(),
        "the low-priority pod was the victim"
    );
    assert!(pods.get_opt("mid").await.unwrap().is_some());
    handle.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_gang_is_bound_all_together_or_not_at_all() {
    use keel_scheduler::plugins::{Coscheduling, coscheduling_profile};
    let client = Client::in_memory();
    let nodes: Api<Node> = Api::all(&client);
    nodes.create(&node("n1", "2", "8Gi")).await.unwrap();
    let handle = Scheduler::builder(&client)
        .profile(coscheduling_profile(Coscheduling::default()))
        .build()
        .start();
    let pods: Api<Pod> = Api::namespaced(&client, "default");
    let member = |i: usize| {
        pod_with(
            &format!("m{i}"),
            "1",
            "1Gi",
            json!({"metadata": {"labels": {
            "pod-group.scheduling.sigs.k8s.io/name": "training",
            "pod-group.scheduling.sigs.k8s.io/min-available": "3"}}}),
        )
    };
    for i in 0..3 {
        pods.create(&member(i)).await.unwrap();
    }
    // Room for two: they wait at Permit, time out, and nothing is bound.
    for _ in 0..12 {
        tokio::time::advance(std::time::Duration::from_secs(10)).await;
        tokio::task::yield_now().await;
    }
    for i in 0..3 {
        assert!(
            pods.get(&format!("m{i}"))
                .await
                .unwrap()
                .node_name()
                .is_none(),
            "m{i} bound alone"
        );
    }
    // Room for all three: the whole gang goes.
    nodes.create(&node("n2", "2", "8Gi")).await.unwrap();
    for i in 0..3 {
        until(&client, &format!("m{i}"), |p| p.node_name().is_some()).await;
    }
    handle.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn pods_pick_their_profile_by_scheduler_name() {
    use keel_scheduler::plugins::{
        NodeResourcesFit, ResourceWeight, ScoringStrategy, default_profile,
    };
    let client = Client::in_memory();
    let nodes: Api<Node> = Api::all(&client);
    for i in 0..3 {
        nodes
            .create(&node(&format!("n{i}"), "4", "8Gi"))
            .await
            .unwrap();
    }
    let mut packer = default_profile()
        .named("packer")
        .without("NodeResourcesBalancedAllocation");
    for (p, _) in &mut packer.score {
        if p.name() == "NodeResourcesFit" {
            *p = Arc::new(NodeResourcesFit {
                strategy: ScoringStrategy::MostAllocated(vec![
                    ResourceWeight::new("cpu", 1),
                    ResourceWeight::new("memory", 1),
                ]),
            });
        }
    }
    let handle = Scheduler::builder(&client)
        .profile(default_profile())
        .profile(packer)
        .build()
        .start();
    let pods: Api<Pod> = Api::namespaced(&client, "default");
    for i in 0..3 {
        pods.create(&pod_with(
            &format!("packed{i}"),
            "500m",
            "512Mi",
            json!({"spec": {"schedulerName": "packer"}}),
        ))
        .await
        .unwrap();
    }
    let mut placed = std::collections::BTreeSet::new();
    for i in 0..3 {
        let p = until(&client, &format!("packed{i}"), |p| p.node_name().is_some()).await;
        placed.insert(p.node_name().unwrap().to_owned());
    }
    assert_eq!(
        placed.len(),
        1,
        "the packing profile put them together: {placed:?}"
    );
    handle.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn replicas_of_a_replica_set_are_spread_by_default() {
    let client = Client::in_memory();
    let nodes: Api<Node> = Api::all(&client);
    // `a` is roomier (LeastAllocated prefers it) but already runs two replicas.
    nodes.create(&node("a", "64", "256Gi")).await.unwrap();
    nodes.create(&node("b", "8", "16Gi")).await.unwrap();
    let sets: Api<keel_core::api::ReplicaSet> = Api::namespaced(&client, "default");
    sets.create(
        &serde_json::from_value(json!({
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": "web-rs", "namespace": "default"},
            "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "c", "image": "app:1"}]}}}
        }))
        .unwrap(),
    )
    .await
    .unwrap();
    let replica = |name: &str, node: Option<&str>| {
        let mut extra = json!({"metadata": {"labels": {"app": "web"}, "ownerReferences": [
            {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-rs",
             "uid": "rs-uid", "controller": true}]}});
        if let Some(n) = node {
            extra["spec"] = json!({"nodeName": n});
        }
        pod_with(name, "100m", "128Mi", extra)
    };
    let pods: Api<Pod> = Api::namespaced(&client, "default");
    pods.create(&replica("old1", Some("a"))).await.unwrap();
    pods.create(&replica("old2", Some("a"))).await.unwrap();
    let handle = Scheduler::new(&client).start();
    // The scheduler follows the ReplicaSet into its snapshot.
    let probe = replica("probe", None);
    let mut turns = 0;
    while handle.snapshot().default_selector(&probe).is_empty() {
        turns += 1;
        assert!(turns < 10_000, "the ReplicaSet never reached the snapshot");
        tokio::task::yield_now().await;
    }
    pods.create(&replica("new", None)).await.unwrap();
    let placed = until(&client, "new", |p| p.node_name().is_some()).await;
    assert_eq!(placed.node_name(), Some("b"));
    handle.shutdown().await;
}
