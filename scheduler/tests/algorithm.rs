//! Whole-algorithm swaps: the per-pod framework as a batch, and gang placement.

mod common;

use std::sync::Arc;

use common::{node, pod, pod_with};
use keel_core::api::{Node, Pod};
use keel_core::client::{Api, Client};
use keel_scheduler::algorithm::{Gang, PerPod};
use keel_scheduler::framework::{Framework, PodInfo, Snapshot};
use keel_scheduler::{Algorithm, Scheduler};
use serde_json::json;

fn member(name: &str, group: &str, min: usize) -> Pod {
    pod_with(
        name,
        "1",
        "1Gi",
        json!({"metadata": {"labels": {
        "pod-group.scheduling.sigs.k8s.io/name": group,
        "pod-group.scheduling.sigs.k8s.io/min-available": min.to_string()}}}),
    )
}

fn infos(pods: Vec<Pod>) -> Vec<Arc<PodInfo>> {
    pods.into_iter()
        .map(|p| Arc::new(PodInfo::new(Arc::new(p))))
        .collect()
}

fn snapshot(cpus: &[&str]) -> Snapshot {
    Snapshot::from_objects(
        cpus.iter()
            .enumerate()
            .map(|(i, c)| Arc::new(node(&format!("n{i}"), c, "64Gi"))),
        Vec::new(),
    )
}

#[test]
fn a_gang_that_does_not_fit_whole_places_nothing() {
    let gang = Gang::new(Framework::default());
    let pods = infos(vec![
        member("a", "g", 3),
        member("b", "g", 3),
        pod("solo", "1", "1Gi"),
        member("c", "g", 3),
    ]);
    let out = gang.schedule_batch(&pods, &snapshot(&["2"]));
    assert!(out[2].is_ok(), "the pod without a group is placed: {out:?}");
    for i in [0, 1, 3] {
        let why = out[i].as_ref().unwrap_err();
        assert!(
            why.starts_with("pod group default/g: 2 of 3 members fit"),
            "{why}"
        );
    }
    let out = gang.schedule_batch(&pods, &snapshot(&["2", "2"]));
    assert!(out.iter().all(Result::is_ok), "{out:?}");
    let mut per_node = std::collections::BTreeMap::new();
    for r in &out {
        *per_node.entry(r.clone().unwrap()).or_insert(0) += 1;
    }
    assert_eq!(per_node.values().sum::<i32>(), 4);
    assert!(
        per_node.values().all(|n| *n <= 2),
        "never over a node's capacity: {per_node:?}"
    );
}

#[test]
fn per_pod_is_the_framework_in_order() {
    let pods = infos((0..6).map(|i| pod(&format!("p{i}"), "1", "1Gi")).collect());
    let s = snapshot(&["2", "2", "2"]);
    let batch = PerPod::new(Framework::with_seed(
        keel_scheduler::plugins::default_profile(),
        3,
    ))
    .schedule_batch(&pods, &s);
    let fw = Framework::with_seed(keel_scheduler::plugins::default_profile(), 3);
    let mut work = s.clone();
    let one_by_one: Vec<Result<String, String>> = pods
        .iter()
        .map(|p| {
            let r = fw
                .schedule_pod(
                    &mut keel_scheduler::framework::CycleState::default(),
                    p,
                    &work,
                )
                .map_err(|e| e.to_string())?;
            work.assume(p.clone(), &r.suggested_host);
            Ok(r.suggested_host)
        })
        .collect();
    assert_eq!(batch, one_by_one);
}

#[tokio::test(start_paused = true)]
async fn the_scheduler_runs_a_batch_algorithm() {
    let client = Client::in_memory();
    let nodes: Api<Node> = Api::all(&client);
    nodes.create(&node("n1", "2", "8Gi")).await.unwrap();
    let handle = Scheduler::builder(&client)
        .algorithm(Arc::new(Gang::new(Framework::default())))
        .build()
        .start();
    let pods: Api<Pod> = Api::namespaced(&client, "default");
    for i in 0..3 {
        pods.create(&member(&format!("m{i}"), "train", 3))
            .await
            .unwrap();
    }
    tokio::time::advance(std::time::Duration::from_secs(5)).await;
    tokio::task::yield_now().await;
    for i in 0..3 {
        assert!(
            pods.get(&format!("m{i}"))
                .await
                .unwrap()
                .node_name()
                .is_none()
        );
    }
    nodes.create(&node("n2", "2", "8Gi")).await.unwrap();
    let changes =
        keel_core::client::watcher::watcher(pods.clone(), keel_core::client::ListParams::default());
    futures::pin_mut!(changes);
    loop {
        let mut bound = 0;
        for i in 0..3 {
            bound += usize::from(
                pods.get(&format!("m{i}"))
                    .await
                    .unwrap()
                    .node_name()
                    .is_some(),
            );
        }
        if bound == 3 {
            break;
        }
        futures::StreamExt::next(&mut changes).await;
    }
    handle.shutdown().await;
}
