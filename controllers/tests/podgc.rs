//! The pod garbage collector in virtual time: pods of a node that is gone are deleted
//! after the quarantine (and their ReplicaSet replaces them); finished pods beyond the
//! threshold go, oldest first.

mod support;

use keel_controllers::ControllerManager;
use keel_controllers::podgc::PodGcController;
use keel_core::api::{Node, Pod, ReplicaSet, ReplicaSetSpec};
use keel_core::client::{Api, Client, DeleteParams, ListParams};
use keel_core::meta::ObjectMeta;
use support::*;

#[tokio::test(start_paused = true)]
async fn pods_of_a_removed_node_are_deleted_and_replaced() {
    let client = Client::in_memory();
    let nodes: Api<Node> = Api::all(&client);
    nodes
        .create(&Node {
            metadata: ObjectMeta::named("n1"),
            ..Node::default()
        })
        .await
        .unwrap();
    let manager = ControllerManager::new(client.clone())
        .with("replicaset")
        .and_then(|m| m.with("podgc"))
        .unwrap()
        .start();
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
    // Play the scheduler: both go to n1.
    for p in &first {
        let mut bound = (**p).clone();
        bound.spec.node_name = Some("n1".into());
        pods.replace(p.metadata.name_str(), &bound).await.unwrap();
    }
    let gone_at = tokio::time::Instant::now();
    nodes.delete("n1", &DeleteParams::default()).await.unwrap();
    let old: Vec<String> = first
        .iter()
        .map(|p| p.metadata.name_str().to_owned())
        .collect();
    let now = wait_for(&pods, "replacements", |p| {
        p.len() == 2
            && p.iter()
                .all(|p| !old.contains(&p.metadata.name_str().to_owned()))
    })
    .await;
    let waited = gone_at.elapsed().as_secs();
    assert!(
        (40..=60).contains(&waited),
        "deleted after the 40 s quarantine, at {waited}s"
    );
    assert!(
        now.iter().all(|p| p.node_name().is_none()),
        "the replacements wait for a node"
    );
    manager.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn finished_pods_beyond_the_threshold_go_oldest_first() {
    let client = Client::in_memory();
    let pods: Api<Pod> = Api::default_namespaced(&client);
    for i in 0..5 {
        let mut p = Pod {
            metadata: meta(&format!("done-{i}")),
            ..Pod::default()
        };
        p.spec.containers.push(container("busybox"));
        let created = pods.create(&p).await.unwrap();
        set_pod_status(
            &client,
            &created,
            if i % 2 == 0 { "Succeeded" } else { "Failed" },
            false,
        )
        .await;
    }
    let mut running = Pod {
        metadata: meta("running"),
        ..Pod::default()
    };
    running.spec.containers.push(container("busybox"));
    pods.create(&running).await.unwrap();
    let manager = ControllerManager::new(client.clone())
        .with_controller(PodGcController::default().terminated_threshold(3))
        .start();
    let left = wait_for(&pods, "3 finished pods kept", |p| p.len() == 4).await;
    let mut names: Vec<&str> = left.iter().map(|p| p.metadata.name_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["done-2", "done-3", "done-4", "running"]);
    assert_eq!(
        pods.list(&ListParams::default()).await.unwrap().items.len(),
        4
    );
    manager.shutdown().await;
}
