//! The garbage collector with the workload controllers, in virtual time: background,
//! foreground and orphan deletion of a Deployment's ReplicaSets and pods, and
//! dependents with several owners; EndpointSlices and ControllerRevisions going with
//! their owners.

mod support;

use keel_controllers::ControllerManager;
use keel_core::api::{ConfigMap, Deployment, DeploymentSpec, Pod, ReplicaSet, ReplicaSetSpec};
use keel_core::client::{Api, Client, DeleteParams, ListParams};
use keel_core::meta::OwnerReference;
use support::*;

fn start(client: &Client) -> keel_controllers::ManagerHandle {
    ControllerManager::new(client.clone()).with_all().start()
}

fn web(replicas: i32) -> Deployment {
    Deployment {
        metadata: meta("web"),
        spec: DeploymentSpec {
            replicas: Some(replicas),
            selector: selector("web"),
            template: template("web", "app:v1"),
            ..DeploymentSpec::default()
        },
        ..Deployment::default()
    }
}

async fn running(client: &Client, replicas: usize) {
    let pods: Api<Pod> = Api::default_namespaced(client);
    wait_for(&pods, "pods", |p| live(p).len() == replicas).await;
}

#[tokio::test(start_paused = true)]
async fn deleting_a_deployment_deletes_its_replica_sets_and_pods() {
    let client = Client::in_memory();
    let manager = start(&client);
    let _node = kubelet(client.clone());
    let deployments: Api<Deployment> = Api::default_namespaced(&client);
    deployments.create(&web(3)).await.unwrap();
    running(&client, 3).await;
    deployments
        .delete("web", &DeleteParams::default())
        .await
        .unwrap();
    wait_for(
        &Api::<ReplicaSet>::default_namespaced(&client),
        "no ReplicaSet",
        <[_]>::is_empty,
    )
    .await;
    wait_for(&Api::<Pod>::default_namespaced(&client), "no pod", |p| {
        p.is_empty()
    })
    .await;
    manager.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn foreground_deletion_keeps_the_owner_until_its_dependents_are_gone() {
    let client = Client::in_memory();
    let manager = start(&client);
    let _node = kubelet(client.clone());
    let deployments: Api<Deployment> = Api::default_namespaced(&client);
    deployments.create(&web(2)).await.unwrap();
    running(&client, 2).await;
    let deleting = deployments
        .delete("web", &DeleteParams::foreground())
        .await
        .unwrap();
    assert!(!deleting.is_gone());
    assert_eq!(
        deleting.object().metadata.finalizers,
        ["foregroundDeletion"]
    );
    // The Deployment is still there while any pod is.
    let pods: Api<Pod> = Api::default_namespaced(&client);
    let saw_owner_outlive = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let flag = saw_owner_outlive.clone();
    let d_api = deployments.clone();
    let _check = on_every_change(pods.clone(), move |items| {
        let (flag, d_api) = (flag.clone(), d_api.clone());
        async move {
            if !items.is_empty() && d_api.get_opt("web").await.unwrap().is_none() {
                flag.store(false, std::sync::atomic::Ordering::SeqCst);
            }
        }
    });
    wait_for(&deployments, "Deployment gone", <[_]>::is_empty).await;
    assert!(
        pods.list(&ListParams::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    assert!(
        Api::<ReplicaSet>::default_namespaced(&client)
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    assert!(
        saw_owner_outlive.load(std::sync::atomic::Ordering::SeqCst),
        "the owner went before a pod"
    );
    manager.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn orphan_deletion_keeps_the_dependents_without_the_reference() {
    let client = Client::in_memory();
    // Only the ReplicaSet controller and the collector: no Deployment re-adopts.
    let manager = ControllerManager::new(client.clone())
        .with("replicaset")
        .and_then(|m| m.with("garbagecollector"))
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
    running(&client, 2).await;
    sets.delete("web", &DeleteParams::orphan()).await.unwrap();
    wait_for(&sets, "ReplicaSet gone", <[_]>::is_empty).await;
    let pods = Api::<Pod>::default_namespaced(&client)
        .list(&ListParams::default())
        .await
        .unwrap()
        .items;
    assert_eq!(pods.len(), 2, "pods stay");
    assert!(
        pods.iter().all(|p| p.metadata.owner_references.is_empty()),
        "and are orphans"
    );
    manager.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_dependent_with_a_living_owner_only_loses_the_dead_reference() {
    let client = Client::in_memory();
    let manager = ControllerManager::new(client.clone())
        .with("garbagecollector")
        .unwrap()
        .start();
    let sets: Api<ReplicaSet> = Api::default_namespaced(&client);
    let mut owners = Vec::new();
    for name in ["a", "b"] {
        let rs = sets
            .create(&ReplicaSet {
                metadata: meta(name),
                spec: ReplicaSetSpec {
                    replicas: Some(0),
                    selector: selector(name),
                    template: template(name, "x"),
                    ..ReplicaSetSpec::default()
                },
                ..ReplicaSet::default()
            })
            .await
            .unwrap();
        owners.push(OwnerReference {
            api_version: "apps/v1".into(),
            kind: "ReplicaSet".into(),
            name: name.into(),
            uid: rs.metadata.uid.clone().unwrap(),
            controller: None,
            block_owner_deletion: None,
        });
    }
    let maps: Api<ConfigMap> = Api::default_namespaced(&client);
    let mut shared = ConfigMap {
        metadata: meta("shared"),
        ..ConfigMap::default()
    };
    shared.metadata.owner_references = owners.clone();
    maps.create(&shared).await.unwrap();
    let mut single = ConfigMap {
        metadata: meta("single"),
        ..ConfigMap::default()
    };
    single.metadata.owner_references = vec![owners[0].clone()];
    maps.create(&single).await.unwrap();
    drop(manager);
    // ConfigMaps are collected once added as a dependent kind.
    let manager = ControllerManager::new(client.clone())
        .with_controller(
            keel_controllers::garbagecollector::GarbageCollector::default()
                .dependent::<ConfigMap>(),
        )
        .start();
    sets.delete("a", &DeleteParams::default()).await.unwrap();
    let left = wait_for(&maps, "single collected, shared kept", |m| {
        m.len() == 1 && m[0].metadata.owner_references.len() == 1
    })
    .await;
    assert_eq!(left[0].metadata.name_str(), "shared");
    assert_eq!(left[0].metadata.owner_references[0].name, "b");
    manager.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_foreground_deletion_without_dependents_completes() {
    let client = Client::in_memory();
    let manager = ControllerManager::new(client.clone())
        .with("garbagecollector")
        .unwrap()
        .start();
    let pods: Api<Pod> = Api::default_namespaced(&client);
    let mut pod = Pod {
        metadata: meta("lonely"),
        ..Pod::default()
    };
    pod.spec.containers.push(container("x"));
    pods.create(&pod).await.unwrap();
    let deleting = pods
        .delete("lonely", &DeleteParams::foreground())
        .await
        .unwrap();
    assert!(
        !deleting.is_gone(),
        "kept with the foregroundDeletion finalizer"
    );
    wait_for(&pods, "pod gone", <[_]>::is_empty).await;
    manager.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_deleted_stateful_set_takes_its_controller_revisions_along() {
    let client = Client::in_memory();
    let manager = ControllerManager::new(client.clone())
        .with("statefulset")
        .and_then(|m| m.with("garbagecollector"))
        .unwrap()
        .start();
    let sets: Api<keel_core::api::StatefulSet> = Api::default_namespaced(&client);
    let revisions: Api<keel_core::api::ControllerRevision> = Api::default_namespaced(&client);
    let mut set = keel_core::api::StatefulSet {
        metadata: meta("db"),
        ..Default::default()
    };
    set.spec.selector = selector("db");
    set.spec.template = template("db", "db:1");
    set.spec.replicas = Some(0);
    let created = sets.create(&set).await.unwrap();
    let revs = wait_for(&revisions, "a revision", |r| r.len() == 1).await;
    assert_eq!(
        revs[0].metadata.controller_owner().unwrap().uid,
        created.metadata.uid.clone().unwrap()
    );
    sets.delete("db", &DeleteParams::default()).await.unwrap();
    wait_for(&revisions, "no revision", <[_]>::is_empty).await;
    manager.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_deleted_service_takes_its_endpoint_slices_along() {
    let client = Client::in_memory();
    let manager = ControllerManager::new(client.clone())
        .with("endpointslice")
        .and_then(|m| m.with("garbagecollector"))
        .unwrap()
        .start();
    let services: Api<keel_core::api::Service> = Api::default_namespaced(&client);
    let slices: Api<keel_core::api::EndpointSlice> = Api::default_namespaced(&client);
    let mut svc = keel_core::api::Service {
        metadata: meta("web"),
        ..Default::default()
    };
    svc.spec.selector = [("app".to_owned(), "web".to_owned())].into();
    svc.spec.ports.push(keel_core::api::ServicePort {
        port: 80,
        ..Default::default()
    });
    let first = services.create(&svc).await.unwrap();
    wait_for(&slices, "a slice", |s| s.len() == 1).await;
    services
        .delete("web", &DeleteParams::default())
        .await
        .unwrap();
    wait_for(&slices, "no slice", <[_]>::is_empty).await;
    // A Service of the same name gets only slices of its own.
    let second = services.create(&svc).await.unwrap();
    assert_ne!(first.metadata.uid, second.metadata.uid);
    let now = wait_for(&slices, "the new slice", |s| s.len() == 1).await;
    assert_eq!(
        now[0].metadata.owner_references[0].uid,
        second.metadata.uid.clone().unwrap()
    );
    manager.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn an_orphaning_owner_keeps_a_dependent_whose_other_owner_is_gone() {
    let client = Client::in_memory();
    let sets: Api<ReplicaSet> = Api::default_namespaced(&client);
    let mut owners = Vec::new();
    for name in ["gone", "orphaning"] {
        let rs = sets
            .create(&ReplicaSet {
                metadata: meta(name),
                spec: ReplicaSetSpec {
                    replicas: Some(0),
                    selector: selector(name),
                    template: template(name, "x"),
                    ..ReplicaSetSpec::default()
                },
                ..ReplicaSet::default()
            })
            .await
            .unwrap();
        owners.push(OwnerReference {
            api_version: "apps/v1".into(),
            kind: "ReplicaSet".into(),
            name: name.into(),
            uid: rs.metadata.uid.clone().unwrap(),
            controller: None,
            block_owner_deletion: None,
        });
    }
    let pods: Api<Pod> = Api::default_namespaced(&client);
    let mut pod = Pod {
        metadata: meta("shared"),
        ..Pod::default()
    };
    pod.metadata.owner_references = owners;
    pod.spec.containers.push(container("x"));
    pods.create(&pod).await.unwrap();
    sets.delete("gone", &DeleteParams::default()).await.unwrap();
    sets.delete("orphaning", &DeleteParams::orphan())
        .await
        .unwrap();
    let manager = ControllerManager::new(client.clone())
        .with("garbagecollector")
        .unwrap()
        .start();
    wait_for(&sets, "both owners gone", <[_]>::is_empty).await;
    let left = pods.get("shared").await.unwrap();
    assert!(
        left.metadata.owner_references.is_empty(),
        "kept, as an orphan"
    );
    manager.shutdown().await;
}
