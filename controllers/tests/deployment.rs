//! The Deployment controller (with the ReplicaSet controller) against the in-memory
//! store, in virtual time: ReplicaSets per template, rolling and recreate rollouts,
//! revisions and history, rollback, pause and resume, the progress deadline,
//! proportional scaling, conditions and status.

mod support;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use keel_controllers::ControllerManager;
use keel_controllers::deployment::rollback;
use keel_core::api::{
    Deployment, DeploymentSpec, DeploymentStrategy, Pod, ReplicaSet, RollingUpdateDeployment,
};
use keel_core::client::{Api, Client, ListParams};
use keel_core::intstr::IntOrString;
use support::*;

fn deployment(
    name: &str,
    replicas: i32,
    surge: IntOrString,
    unavailable: IntOrString,
) -> Deployment {
    Deployment {
        metadata: meta(name),
        spec: DeploymentSpec {
            replicas: Some(replicas),
            selector: selector(name),
            template: template(name, "app:v1"),
            strategy: Some(DeploymentStrategy {
                type_: Some("RollingUpdate".into()),
                rolling_update: Some(RollingUpdateDeployment {
                    max_surge: Some(surge),
                    max_unavailable: Some(unavailable),
                }),
            }),
            ..DeploymentSpec::default()
        },
        ..Deployment::default()
    }
}

fn start(client: &Client) -> keel_controllers::ManagerHandle {
    ControllerManager::new(client.clone())
        .with("replicaset")
        .and_then(|m| m.with("deployment"))
        .unwrap()
        .start()
}

fn image(p: &Pod) -> &str {
    p.spec.containers[0].image.as_deref().unwrap_or("")
}

fn condition<'a>(d: &'a Deployment, type_: &str) -> Option<(&'a str, &'a str)> {
    d.status
        .as_ref()?
        .conditions
        .iter()
        .find(|c| c.type_ == type_)
        .map(|c| (c.status.as_str(), c.reason.as_deref().unwrap_or("")))
}

fn rolled_out(d: &Deployment) -> bool {
    let want = d.spec.replicas.unwrap_or(1);
    d.status.as_ref().is_some_and(|s| {
        s.observed_generation == d.metadata.generation
            && s.updated_replicas == Some(want)
            && s.replicas == Some(want)
            && s.available_replicas == Some(want)
    }) && condition(d, "Progressing") == Some(("True", "NewReplicaSetAvailable"))
}

async fn set_image(api: &Api<Deployment>, name: &str, image: &str) {
    let mut d = (*api.get(name).await.unwrap()).clone();
    d.spec.template.spec.containers[0].image = Some(image.into());
    api.replace(name, &d).await.unwrap();
}

fn revisions(sets: &[Arc<ReplicaSet>]) -> BTreeMap<String, (String, i32)> {
    sets.iter()
        .map(|rs| {
            (
                rs.spec.template.spec.containers[0].image.clone().unwrap(),
                (
                    rs.metadata.annotations["deployment.kubernetes.io/revision"].clone(),
                    rs.spec.replicas.unwrap(),
                ),
            )
        })
        .collect()
}

#[tokio::test(start_paused = true)]
async fn creates_a_replica_set_per_template_and_reports_status() {
    let client = Client::in_memory();
    let manager = start(&client);
    let _kubelet = kubelet(client.clone());
    let deployments: Api<Deployment> = Api::default_namespaced(&client);
    let sets: Api<ReplicaSet> = Api::default_namespaced(&client);
    let pods: Api<Pod> = Api::default_namespaced(&client);
    deployments
        .create(&deployment(
            "web",
            3,
            IntOrString::from("25%"),
            IntOrString::from("25%"),
        ))
        .await
        .unwrap();
    let d = wait_for_object(&deployments, "web", "rolled out", rolled_out).await;
    assert_eq!(
        condition(&d, "Available"),
        Some(("True", "MinimumReplicasAvailable"))
    );
    assert_eq!(
        d.metadata.annotations["deployment.kubernetes.io/revision"],
        "1"
    );
    let s = d.status.as_ref().unwrap();
    assert_eq!(
        (s.ready_replicas, s.unavailable_replicas),
        (Some(3), Some(0))
    );

    let all = sets.list(&ListParams::default()).await.unwrap().items;
    assert_eq!(all.len(), 1);
    let rs = &all[0];
    let hash = &rs.metadata.labels["pod-template-hash"];
    assert_eq!(rs.metadata.name_str(), format!("web-{hash}"));
    assert_eq!(rs.spec.selector.match_labels["pod-template-hash"], *hash);
    assert_eq!(rs.spec.template.metadata.labels["pod-template-hash"], *hash);
    assert_eq!(
        rs.metadata.annotations["deployment.kubernetes.io/desired-replicas"],
        "3"
    );
    assert_eq!(
        rs.metadata.annotations["deployment.kubernetes.io/max-replicas"],
        "4"
    );
    assert_eq!(rs.metadata.controller_owner().unwrap().kind, "Deployment");
    let running = pods.list(&ListParams::default()).await.unwrap().items;
    assert_eq!(running.len(), 3);
    assert!(
        running
            .iter()
            .all(|p| p.metadata.labels["pod-template-hash"] == *hash)
    );
    manager.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn rolling_update_stays_within_surge_and_unavailability() {
    let client = Client::in_memory();
    let manager = start(&client);
    let _kubelet = kubelet(client.clone());
    let deployments: Api<Deployment> = Api::default_namespaced(&client);
    let sets: Api<ReplicaSet> = Api::default_namespaced(&client);
    deployments
        .create(&deployment(
            "web",
            10,
            IntOrString::from(3),
            IntOrString::from(2),
        ))
        .await
        .unwrap();
    wait_for_object(&deployments, "web", "v1", rolled_out).await;

    let seen = Arc::new(Mutex::new((0usize, usize::MAX)));
    let s2 = seen.clone();
    let _watch = on_every_change(Api::<Pod>::default_namespaced(&client), move |pods| {
        let s = s2.clone();
        async move {
            let live = live(&pods);
            let ready = live.iter().filter(|p| p.is_ready()).count();
            let mut s = s.lock().unwrap();
            s.0 = s.0.max(live.len());
            s.1 = s.1.min(ready);
        }
    });
    set_image(&deployments, "web", "app:v2").await;
    let d = wait_for_object(&deployments, "web", "v2", |d| {
        rolled_out(d) && d.metadata.annotations["deployment.kubernetes.io/revision"] == "2"
    })
    .await;
    let (max_pods, min_ready) = *seen.lock().unwrap();
    assert!(
        max_pods <= 13,
        "at most replicas + maxSurge pods, saw {max_pods}"
    );
    assert!(
        min_ready >= 8,
        "at least replicas − maxUnavailable ready, saw {min_ready}"
    );
    let all = wait_for(&sets, "old scaled to 0", |s| {
        revisions(s).get("app:v1").is_some_and(|(_, n)| *n == 0)
    })
    .await;
    let revs = revisions(&all);
    assert_eq!(revs["app:v1"], ("1".to_owned(), 0));
    assert_eq!(revs["app:v2"], ("2".to_owned(), 10));
    assert_eq!(d.status.as_ref().unwrap().updated_replicas, Some(10));
    manager.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn recreate_removes_every_old_pod_before_starting_new_ones() {
    let client = Client::in_memory();
    let manager = start(&client);
    let _kubelet = kubelet(client.clone());
    let deployments: Api<Deployment> = Api::default_namespaced(&client);
    let mut d = deployment("web", 4, IntOrString::from(1), IntOrString::from(1));
    d.spec.strategy = Some(DeploymentStrategy {
        type_: Some("Recreate".into()),
        rolling_update: None,
    });
    deployments.create(&d).await.unwrap();
    wait_for_object(&deployments, "web", "v1", rolled_out).await;
    let mixed = Arc::new(Mutex::new(false));
    let m2 = mixed.clone();
    let _watch = on_every_change(Api::<Pod>::default_namespaced(&client), move |pods| {
        let m = m2.clone();
        async move {
            let images: std::collections::BTreeSet<&str> = pods.iter().map(|p| image(p)).collect();
            if images.len() > 1 {
                *m.lock().unwrap() = true;
            }
        }
    });
    set_image(&deployments, "web", "app:v2").await;
    wait_for_object(&deployments, "web", "v2", |d| {
        rolled_out(d) && d.metadata.annotations["deployment.kubernetes.io/revision"] == "2"
    })
    .await;
    assert!(
        !*mixed.lock().unwrap(),
        "old and new pods never run together"
    );
    manager.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn history_is_limited_and_rollback_reuses_the_old_replica_set() {
    let client = Client::in_memory();
    let manager = start(&client);
    let _kubelet = kubelet(client.clone());
    let deployments: Api<Deployment> = Api::default_namespaced(&client);
    let sets: Api<ReplicaSet> = Api::default_namespaced(&client);
    let mut d = deployment("web", 2, IntOrString::from(1), IntOrString::from(0));
    d.spec.revision_history_limit = Some(2);
    deployments.create(&d).await.unwrap();
    for (i, image) in ["app:v2", "app:v3", "app:v4"].iter().enumerate() {
        wait_for_object(&deployments, "web", "rolled out", rolled_out).await;
        set_image(&deployments, "web", image).await;
        let rev = (i + 2).to_string();
        wait_for_object(&deployments, "web", "next revision", |d| {
            rolled_out(d) && d.metadata.annotations["deployment.kubernetes.io/revision"] == rev
        })
        .await;
    }
    // v1 went: only the new ReplicaSet and two old ones stay.
    let all = wait_for(&sets, "history of 2", |s| s.len() == 3).await;
    let revs = revisions(&all);
    assert_eq!(
        revs.keys().map(String::as_str).collect::<Vec<_>>(),
        ["app:v2", "app:v3", "app:v4"]
    );

    // Undo: back to the previous revision (3, app:v3), which becomes revision 5.
    let d = rollback(&client, "default", "web", 0).await.unwrap();
    assert_eq!(image_of(&d), "app:v3");
    let d = wait_for_object(&deployments, "web", "rollback", |d| {
        rolled_out(d) && d.metadata.annotations["deployment.kubernetes.io/revision"] == "5"
    })
    .await;
    let all = sets.list(&ListParams::default()).await.unwrap().items;
    let v3 = all
        .iter()
        .find(|rs| rs.spec.template.spec.containers[0].image.as_deref() == Some("app:v3"))
        .unwrap();
    assert_eq!(
        v3.metadata.annotations["deployment.kubernetes.io/revision"],
        "5"
    );
    assert_eq!(
        v3.metadata.annotations["deployment.kubernetes.io/revision-history"],
        "3"
    );
    assert_eq!(v3.spec.replicas, Some(2));
    assert_eq!(all.len(), 3, "no new ReplicaSet for a known template");
    let _ = d;
    // Rolling back to a revision that is not there is an error naming it.
    let err = rollback(&client, "default", "web", 1).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "unable to find specified revision 1 in history"
    );
    manager.shutdown().await;
}

fn image_of(d: &Deployment) -> &str {
    d.spec.template.spec.containers[0].image.as_deref().unwrap()
}

#[tokio::test(start_paused = true)]
async fn a_paused_deployment_only_scales_and_resumes_its_rollout() {
    let client = Client::in_memory();
    let manager = start(&client);
    let _kubelet = kubelet(client.clone());
    let deployments: Api<Deployment> = Api::default_namespaced(&client);
    let sets: Api<ReplicaSet> = Api::default_namespaced(&client);
    deployments
        .create(&deployment(
            "web",
            2,
            IntOrString::from(1),
            IntOrString::from(0),
        ))
        .await
        .unwrap();
    wait_for_object(&deployments, "web", "v1", rolled_out).await;

    let mut d = (*deployments.get("web").await.unwrap()).clone();
    d.spec.paused = Some(true);
    d.spec.replicas = Some(4);
    d.spec.template.spec.containers[0].image = Some("app:v2".into());
    deployments.replace("web", &d).await.unwrap();
    let d = wait_for_object(&deployments, "web", "paused", |d| {
        condition(d, "Progressing") == Some(("Unknown", "DeploymentPaused"))
            && d.status
                .as_ref()
                .is_some_and(|s| s.available_replicas == Some(4))
    })
    .await;
    let all = sets.list(&ListParams::default()).await.unwrap().items;
    assert_eq!(all.len(), 1, "no rollout while paused");
    assert_eq!(all[0].spec.replicas, Some(4), "but scaling happens");
    assert_eq!(d.status.as_ref().unwrap().updated_replicas, Some(0));

    let mut d = (*deployments.get("web").await.unwrap()).clone();
    d.spec.paused = Some(false);
    deployments.replace("web", &d).await.unwrap();
    wait_for_object(&deployments, "web", "resumed and rolled out", |d| {
        rolled_out(d) && d.metadata.annotations["deployment.kubernetes.io/revision"] == "2"
    })
    .await;
    manager.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_stuck_rollout_times_out_after_the_progress_deadline() {
    let client = Client::in_memory();
    let manager = start(&client);
    let deployments: Api<Deployment> = Api::default_namespaced(&client);
    let mut d = deployment("web", 2, IntOrString::from(1), IntOrString::from(0));
    d.spec.progress_deadline_seconds = Some(60);
    deployments.create(&d).await.unwrap();
    let started = tokio::time::Instant::now();
    // No node makes the pods ready.
    let d = wait_for_object(&deployments, "web", "timed out", |d| {
        condition(d, "Progressing") == Some(("False", "ProgressDeadlineExceeded"))
    })
    .await;
    let waited = started.elapsed().as_secs();
    assert!((60..=63).contains(&waited), "timed out after {waited}s");
    assert_eq!(
        condition(&d, "Available"),
        Some(("False", "MinimumReplicasUnavailable"))
    );
    let c = d
        .status
        .as_ref()
        .unwrap()
        .conditions
        .iter()
        .find(|c| c.type_ == "Progressing")
        .unwrap();
    assert!(
        c.message
            .as_deref()
            .unwrap()
            .ends_with("has timed out progressing.")
    );
    manager.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn scaling_mid_rollout_is_proportional() {
    let client = Client::in_memory();
    let manager = start(&client);
    // Only v1 pods ever become ready: the rollout to v2 gets stuck half-way.
    let _node = ready_only(client.clone(), "app:v1");
    let deployments: Api<Deployment> = Api::default_namespaced(&client);
    let sets: Api<ReplicaSet> = Api::default_namespaced(&client);
    deployments
        .create(&deployment(
            "web",
            10,
            IntOrString::from(3),
            IntOrString::from(2),
        ))
        .await
        .unwrap();
    wait_for_object(&deployments, "web", "v1", rolled_out).await;
    set_image(&deployments, "web", "app:v2").await;
    // 8 old (2 may be unavailable) + 5 new (surge 3 over 10).
    wait_for(&sets, "stuck rollout", |s| {
        let r = revisions(s);
        r.get("app:v1").map(|x| x.1) == Some(8) && r.get("app:v2").map(|x| x.1) == Some(5)
    })
    .await;
    let mut d = (*deployments.get("web").await.unwrap()).clone();
    d.spec.replicas = Some(15);
    deployments.replace("web", &d).await.unwrap();
    // 18 allowed (15 + 3), 5 to add: 8·18/13 ≈ 11 and 5·18/13 ≈ 7.
    wait_for(&sets, "proportional scale-up", |s| {
        let r = revisions(s);
        r.get("app:v1").map(|x| x.1) == Some(11) && r.get("app:v2").map(|x| x.1) == Some(7)
    })
    .await;
    manager.shutdown().await;
}

/// A node that makes only pods running `image` ready.
fn ready_only(client: Client, image_name: &'static str) -> tokio::task::JoinHandle<()> {
    let pods: Api<Pod> = Api::all(&client);
    on_every_change(pods, move |items| {
        let client = client.clone();
        async move {
            for p in items {
                if image(&p) == image_name
                    && p.status.as_ref().and_then(|s| s.phase.as_deref()).is_none()
                {
                    set_pod_status(&client, &p, "Running", true).await;
                }
            }
        }
    })
}

#[tokio::test(start_paused = true)]
async fn undo_after_a_scale_rolls_back_at_the_new_size() {
    let client = Client::in_memory();
    let manager = start(&client);
    let _kubelet = kubelet(client.clone());
    let deployments: Api<Deployment> = Api::default_namespaced(&client);
    deployments
        .create(&deployment(
            "web",
            2,
            IntOrString::from(1),
            IntOrString::from(0),
        ))
        .await
        .unwrap();
    wait_for_object(&deployments, "web", "v1", rolled_out).await;
    set_image(&deployments, "web", "app:v2").await;
    wait_for_object(&deployments, "web", "v2", |d| {
        rolled_out(d) && d.metadata.annotations["deployment.kubernetes.io/revision"] == "2"
    })
    .await;
    let mut d = (*deployments.get("web").await.unwrap()).clone();
    d.spec.replicas = Some(3);
    deployments.replace("web", &d).await.unwrap();
    wait_for_object(&deployments, "web", "scaled", rolled_out).await;
    // The empty v1 ReplicaSet still says it was sized for 2: that is no scaling event.
    rollback(&client, "default", "web", 0).await.unwrap();
    let d = wait_for_object(&deployments, "web", "rolled back", |d| {
        rolled_out(d) && d.metadata.annotations["deployment.kubernetes.io/revision"] == "3"
    })
    .await;
    assert_eq!(image_of(&d), "app:v1");
    assert_eq!(d.status.as_ref().unwrap().available_replicas, Some(3));
    manager.shutdown().await;
}
