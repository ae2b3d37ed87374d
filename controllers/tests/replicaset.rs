//! The ReplicaSet controller against the in-memory store, in virtual time: replicas,
//! adoption and release, slow start and failure reporting, the scale-down order,
//! minReadySeconds and status.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use keel_controllers::ControllerManager;
use keel_core::api::{Pod, ReplicaSet, ReplicaSetSpec};
use keel_core::client::{Api, Client, DeleteParams, ListParams, admission};
use keel_core::meta::ObjectMeta;
use support::*;

fn replica_set(name: &str, app: &str, replicas: i32) -> ReplicaSet {
    ReplicaSet {
        metadata: meta(name),
        spec: ReplicaSetSpec {
            replicas: Some(replicas),
            selector: selector(app),
            template: template(app, "nginx"),
            ..ReplicaSetSpec::default()
        },
        ..ReplicaSet::default()
    }
}

fn start(client: &Client) -> keel_controllers::ManagerHandle {
    ControllerManager::new(client.clone())
        .with("replicaset")
        .unwrap()
        .start()
}

fn owned_by<'a>(pods: &'a [Arc<Pod>], rs: &ReplicaSet) -> Vec<&'a Arc<Pod>> {
    let uid = rs.metadata.uid.as_deref().unwrap();
    pods.iter()
        .filter(|p| p.metadata.controller_owner().is_some_and(|o| o.uid == uid))
        .collect()
}

#[tokio::test(start_paused = true)]
async fn keeps_the_replica_count_and_reports_status() {
    let client = Client::in_memory();
    let manager = start(&client);
    let _kubelet = kubelet(client.clone());
    let sets: Api<ReplicaSet> = Api::default_namespaced(&client);
    let pods: Api<Pod> = Api::default_namespaced(&client);
    let rs = sets.create(&replica_set("web", "web", 3)).await.unwrap();

    let all = wait_for(&pods, "3 pods", |p| live(p).len() == 3).await;
    for p in &all {
        let owner = p.metadata.controller_owner().expect("controller ref");
        assert_eq!(
            (owner.kind.as_str(), owner.uid.as_str()),
            ("ReplicaSet", rs.metadata.uid.as_deref().unwrap())
        );
        assert_eq!(owner.block_owner_deletion, Some(true));
        assert!(p.metadata.name_str().starts_with("web-"));
        assert_eq!(p.metadata.labels["app"], "web");
    }
    let rs = wait_for_object(&sets, "web", "status", |r| {
        r.status
            .as_ref()
            .is_some_and(|s| s.ready_replicas == Some(3))
    })
    .await;
    let s = rs.status.as_ref().unwrap();
    assert_eq!(
        (s.replicas, s.fully_labeled_replicas, s.available_replicas),
        (3, Some(3), Some(3))
    );
    assert_eq!(s.observed_generation, rs.metadata.generation);

    // A deleted pod is replaced.
    let victim = all[0].metadata.name_str().to_owned();
    pods.delete(&victim, &DeleteParams::immediate())
        .await
        .unwrap();
    wait_for(&pods, "a replacement", |p| {
        live(p).len() == 3 && p.iter().all(|p| p.metadata.name_str() != victim)
    })
    .await;

    // Scale up and down.
    let mut more = (*sets.get("web").await.unwrap()).clone();
    more.spec.replicas = Some(5);
    sets.replace("web", &more).await.unwrap();
    wait_for(&pods, "5 pods", |p| live(p).len() == 5).await;
    let mut fewer = (*sets.get("web").await.unwrap()).clone();
    fewer.spec.replicas = Some(1);
    sets.replace("web", &fewer).await.unwrap();
    wait_for(&pods, "1 pod", |p| live(p).len() == 1).await;
    let rs = wait_for_object(&sets, "web", "status of 1", |r| {
        r.status.as_ref().is_some_and(|s| s.replicas == 1)
            && r.status.as_ref().unwrap().observed_generation == r.metadata.generation
    })
    .await;
    assert_eq!(rs.status.as_ref().unwrap().ready_replicas, Some(1));
    manager.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn adopts_matching_orphans_and_releases_pods_that_stop_matching() {
    let client = Client::in_memory();
    let pods: Api<Pod> = Api::default_namespaced(&client);
    let sets: Api<ReplicaSet> = Api::default_namespaced(&client);
    // Two orphans that match, one that does not.
    for (name, app) in [("orphan-1", "web"), ("orphan-2", "web"), ("other", "db")] {
        let mut p = Pod {
            metadata: ObjectMeta::namespaced("default", name).with_label("app", app),
            ..Pod::default()
        };
        p.spec.containers.push(container("nginx"));
        pods.create(&p).await.unwrap();
    }
    let rs = sets.create(&replica_set("web", "web", 3)).await.unwrap();
    let manager = start(&client);

    let all = wait_for(&pods, "2 adopted + 1 new", |p| owned_by(p, &rs).len() == 3).await;
    let names: Vec<&str> = owned_by(&all, &rs)
        .iter()
        .map(|p| p.metadata.name_str())
        .collect();
    assert!(
        names.contains(&"orphan-1") && names.contains(&"orphan-2"),
        "{names:?}"
    );
    assert!(
        all.iter()
            .any(|p| p.metadata.name_str() == "other" && p.metadata.owner_references.is_empty())
    );

    // Relabel an owned pod: it is released and replaced.
    let mut moved = (*pods.get("orphan-1").await.unwrap()).clone();
    moved
        .metadata
        .labels
        .insert("app".into(), "elsewhere".into());
    pods.replace("orphan-1", &moved).await.unwrap();
    let all = wait_for(&pods, "release and replacement", |p| {
        owned_by(p, &rs).len() == 3
            && p.iter().any(|p| {
                p.metadata.name_str() == "orphan-1" && p.metadata.owner_references.is_empty()
            })
    })
    .await;
    assert_eq!(all.len(), 5);
    manager.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn creates_in_slow_start_batches_and_reports_failures() {
    let attempts = Arc::new(AtomicUsize::new(0));
    let allow = Arc::new(AtomicBool::new(false));
    let (a, ok) = (attempts.clone(), allow.clone());
    let client = Client::builder(keel_core::store::MemoryStore::new())
        .validating(admission::validate::<Pod, _>(
            move |_op, pod: &Pod, _old| {
                a.fetch_add(1, Ordering::SeqCst);
                if ok.load(Ordering::SeqCst) {
                    Ok(())
                } else {
                    Err(admission::deny(pod, "pods", "quota exceeded"))
                }
            },
        ))
        .build();
    let sets: Api<ReplicaSet> = Api::default_namespaced(&client);
    let pods: Api<Pod> = Api::default_namespaced(&client);
    sets.create(&replica_set("web", "web", 20)).await.unwrap();
    let manager = start(&client);

    let rs = wait_for_object(&sets, "web", "ReplicaFailure", |r| {
        r.status
            .as_ref()
            .is_some_and(|s| s.conditions.iter().any(|c| c.type_ == "ReplicaFailure"))
    })
    .await;
    let cond = &rs.status.as_ref().unwrap().conditions[0];
    assert_eq!(
        (cond.status.as_str(), cond.reason.as_deref()),
        ("True", Some("FailedCreate"))
    );
    assert!(cond.message.as_deref().unwrap().contains("quota exceeded"));
    // The first batch is one pod: a failing sync costs one attempt, not twenty.
    let first = attempts.load(Ordering::SeqCst);
    assert!((1..=2).contains(&first), "{first} attempts");

    allow.store(true, Ordering::SeqCst);
    wait_for(&pods, "20 pods", |p| p.len() == 20).await;
    wait_for_object(&sets, "web", "condition cleared", |r| {
        r.status
            .as_ref()
            .is_some_and(|s| s.replicas == 20 && s.conditions.is_empty())
    })
    .await;
    manager.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn scaling_down_deletes_the_least_valuable_pods_first() {
    let client = Client::in_memory();
    let sets: Api<ReplicaSet> = Api::default_namespaced(&client);
    let pods: Api<Pod> = Api::default_namespaced(&client);
    let rs = sets.create(&replica_set("web", "web", 4)).await.unwrap();
    let manager = start(&client);
    let all = wait_for(&pods, "4 pods", |p| p.len() == 4).await;

    // One stays unscheduled, one is scheduled but pending, one runs unready, one is ready.
    let mut roles = Vec::new();
    for (i, p) in all.iter().enumerate() {
        let name = p.metadata.name_str().to_owned();
        if i > 0 {
            let mut bound = (**p).clone();
            bound.spec.node_name = Some(format!("node-{i}"));
            pods.replace(&name, &bound).await.unwrap();
        }
        match i {
            2 => {
                set_pod_status(&client, p, "Running", false).await;
            }
            3 => {
                set_pod_status(&client, p, "Running", true).await;
            }
            _ => {}
        }
        roles.push(name);
    }
    let _ = rs;
    for (keep, doomed) in [(3, 0), (2, 1), (1, 2)] {
        let mut next = (*sets.get("web").await.unwrap()).clone();
        next.spec.replicas = Some(keep);
        sets.replace("web", &next).await.unwrap();
        let gone = roles[doomed].clone();
        // Scheduled pods are deleted gracefully: the node (here: the test) finishes it.
        let left = wait_for(&pods, "one deletion", |p| {
            p.iter()
                .any(|p| p.metadata.name_str() == gone && p.metadata.deletion_timestamp.is_some())
                || !p.iter().any(|p| p.metadata.name_str() == gone)
        })
        .await;
        assert_eq!(
            live(&left).len(),
            usize::try_from(keep).unwrap(),
            "only {gone} goes"
        );
        let _ = pods.delete(&gone, &DeleteParams::immediate()).await;
    }
    let left = pods.list(&ListParams::default()).await.unwrap().items;
    assert_eq!(live(&left).len(), 1);
    assert_eq!(
        live(&left)[0].metadata.name_str(),
        roles[3],
        "the ready pod stays"
    );
    manager.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn available_replicas_wait_for_min_ready_seconds() {
    let client = Client::in_memory();
    let sets: Api<ReplicaSet> = Api::default_namespaced(&client);
    let mut rs = replica_set("web", "web", 2);
    rs.spec.min_ready_seconds = Some(30);
    sets.create(&rs).await.unwrap();
    let manager = start(&client);
    let _kubelet = kubelet(client.clone());
    let ready_at = tokio::time::Instant::now();
    let rs = wait_for_object(&sets, "web", "ready", |r| {
        r.status
            .as_ref()
            .is_some_and(|s| s.ready_replicas == Some(2))
    })
    .await;
    assert_eq!(rs.status.as_ref().unwrap().available_replicas, Some(0));
    wait_for_object(&sets, "web", "available", |r| {
        r.status
            .as_ref()
            .is_some_and(|s| s.available_replicas == Some(2))
    })
    .await;
    let waited = ready_at.elapsed();
    assert!(
        waited > Duration::from_secs(30) && waited < Duration::from_secs(40),
        "{waited:?}"
    );
    manager.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn never_creates_more_pods_than_replicas() {
    let client = Client::in_memory();
    let sets: Api<ReplicaSet> = Api::default_namespaced(&client);
    let pods: Api<Pod> = Api::default_namespaced(&client);
    let peak = Arc::new(AtomicUsize::new(0));
    let p2 = peak.clone();
    let _watch = on_every_change(pods.clone(), move |items| {
        let p = p2.clone();
        async move {
            p.fetch_max(live(&items).len(), Ordering::SeqCst);
        }
    });
    let _kubelet = kubelet(client.clone());
    let manager = start(&client);
    sets.create(&replica_set("web", "web", 50)).await.unwrap();
    wait_for_object(&sets, "web", "50 ready", |r| {
        r.status
            .as_ref()
            .is_some_and(|s| s.ready_replicas == Some(50))
    })
    .await;
    assert_eq!(peak.load(Ordering::SeqCst), 50);
    manager.shutdown().await;
}
