//! The StatefulSet controller against the in-memory store, in virtual time: stable
//! names, identities and claims; OrderedReady and Parallel management; scale-down
//! order; recreation of deleted and failed pods; RollingUpdate (reverse ordinal order,
//! partition) and OnDelete; claim retention; status and revisions; ControllerRevision
//! history across a controller restart, its limit, rollbacks and hash collisions.

mod support;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use keel_controllers::ControllerManager;
use keel_controllers::statefulset::{
    POD_INDEX_LABEL, POD_NAME_LABEL, REVISION_LABEL, update_revision_name,
};
use keel_controllers::workload::history::HASH_LABEL;
use keel_core::api::{
    ControllerRevision, Event, PersistentVolumeClaim, Pod, RollingUpdateStatefulSetStrategy,
    StatefulSet, StatefulSetOrdinals, StatefulSetPersistentVolumeClaimRetentionPolicy,
    StatefulSetSpec, StatefulSetUpdateStrategy, VolumeResourceRequirements,
};
use keel_core::client::{Api, Client, DeleteParams, ListParams};
use keel_core::meta::ObjectMeta;
use support::*;

fn claim_template(name: &str) -> PersistentVolumeClaim {
    let mut c = PersistentVolumeClaim {
        metadata: ObjectMeta::named(name),
        ..PersistentVolumeClaim::default()
    };
    c.spec.access_modes = vec!["ReadWriteOnce".into()];
    let mut resources = VolumeResourceRequirements::default();
    resources
        .requests
        .insert("storage".into(), "1Gi".parse().unwrap());
    c.spec.resources = Some(resources);
    c
}

fn stateful_set(name: &str, replicas: i32) -> StatefulSet {
    StatefulSet {
        metadata: meta(name),
        spec: StatefulSetSpec {
            replicas: Some(replicas),
            selector: selector(name),
            template: template(name, "db:1"),
            service_name: Some(format!("{name}-headless")),
            volume_claim_templates: vec![claim_template("data")],
            ..StatefulSetSpec::default()
        },
        ..StatefulSet::default()
    }
}

struct Cluster {
    client: Client,
    manager: keel_controllers::ManagerHandle,
    sets: Api<StatefulSet>,
    pods: Api<Pod>,
    claims: Api<PersistentVolumeClaim>,
}

fn cluster() -> Cluster {
    let client = Client::in_memory();
    Cluster {
        manager: ControllerManager::new(client.clone())
            .with("statefulset")
            .unwrap()
            .start(),
        sets: Api::default_namespaced(&client),
        pods: Api::default_namespaced(&client),
        claims: Api::default_namespaced(&client),
        client,
    }
}

fn names(pods: &[Arc<Pod>]) -> BTreeSet<String> {
    live(pods)
        .iter()
        .map(|p| p.metadata.name_str().to_owned())
        .collect()
}

fn set_of(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

fn image(pod: &Pod) -> &str {
    pod.spec.containers[0].image.as_deref().unwrap()
}

fn find<'a>(pods: &'a [Arc<Pod>], name: &str) -> Option<&'a Arc<Pod>> {
    pods.iter().find(|p| p.metadata.name_str() == name)
}

fn running_ready(pod: &Pod) -> bool {
    pod.phase() == "Running" && pod.is_ready() && pod.metadata.deletion_timestamp.is_none()
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

/// The ordinal of a pod named `<set>-<n>`.
fn ordinal(pod: &Pod) -> i32 {
    pod.metadata
        .name_str()
        .rsplit_once('-')
        .unwrap()
        .1
        .parse()
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn ordered_ready_creates_pods_in_order_with_identity_and_claims() {
    let c = cluster();
    // Invariant: a pod exists only while all lower ordinals are Running and Ready.
    let watch = on_every_change(c.pods.clone(), |pods| async move {
        for p in live(&pods) {
            for lower in 0..ordinal(&p) {
                let pred = find(&pods, &format!("web-{lower}"));
                assert!(
                    pred.is_some_and(|q| running_ready(q)),
                    "{} exists before web-{lower} is Running and Ready",
                    p.metadata.name_str()
                );
            }
        }
    });
    let set = c.sets.create(&stateful_set("web", 3)).await.unwrap();
    let pods = wait_for(&c.pods, "web-0", |p| find(p, "web-0").is_some()).await;
    let sts = wait_for_object(&c.sets, "web", "status of one pod", |s| {
        s.status.as_ref().is_some_and(|s| s.replicas == 1)
    })
    .await;
    assert_eq!(
        names(&c.pods.list(&ListParams::default()).await.unwrap().items),
        set_of(&["web-0"])
    );

    let web0 = find(&pods, "web-0").unwrap();
    let owner = web0.metadata.controller_owner().unwrap();
    assert_eq!(
        (owner.kind.as_str(), owner.uid.as_str()),
        ("StatefulSet", set.metadata.uid.as_deref().unwrap())
    );
    assert_eq!(web0.metadata.labels[POD_NAME_LABEL], "web-0");
    assert_eq!(web0.metadata.labels[POD_INDEX_LABEL], "0");
    let revision = sts
        .status
        .as_ref()
        .unwrap()
        .update_revision
        .clone()
        .unwrap();
    assert!(revision.starts_with("web-"));
    assert_eq!(web0.metadata.labels[REVISION_LABEL], revision);
    assert_eq!(web0.spec.hostname.as_deref(), Some("web-0"));
    assert_eq!(web0.spec.subdomain.as_deref(), Some("web-headless"));
    let volume = web0.spec.volumes.iter().find(|v| v.name == "data").unwrap();
    assert_eq!(
        volume.persistent_volume_claim.as_ref().unwrap().claim_name,
        "data-web-0"
    );
    let claim = c.claims.get("data-web-0").await.unwrap();
    assert_eq!(claim.metadata.labels["app"], "web");
    let rv = |m: &ObjectMeta| {
        m.resource_version
            .as_deref()
            .unwrap()
            .parse::<u64>()
            .unwrap()
    };
    assert!(
        rv(&claim.metadata) < rv(&web0.metadata),
        "the claim is created before the pod"
    );

    // Each pod becoming ready lets the next one be created.
    set_pod_status(&c.client, web0, "Running", true).await;
    let pods = wait_for(&c.pods, "web-1", |p| find(p, "web-1").is_some()).await;
    assert!(find(&pods, "web-2").is_none());
    set_pod_status(&c.client, find(&pods, "web-1").unwrap(), "Running", true).await;
    let pods = wait_for(&c.pods, "web-2", |p| find(p, "web-2").is_some()).await;
    set_pod_status(&c.client, find(&pods, "web-2").unwrap(), "Running", true).await;
    let sts = wait_for_object(&c.sets, "web", "three ready", |s| {
        s.status
            .as_ref()
            .is_some_and(|s| s.ready_replicas == Some(3))
    })
    .await;
    let s = sts.status.as_ref().unwrap();
    assert_eq!(
        (
            s.replicas,
            s.available_replicas,
            s.current_replicas,
            s.updated_replicas
        ),
        (3, Some(3), Some(3), Some(3))
    );
    assert_eq!(s.current_revision, s.update_revision);
    assert_eq!(s.observed_generation, Some(1));
    let claims = c.claims.list(&ListParams::default()).await.unwrap().items;
    let claim_names: BTreeSet<_> = claims
        .iter()
        .map(|c| c.metadata.name_str().to_owned())
        .collect();
    assert_eq!(
        claim_names,
        set_of(&["data-web-0", "data-web-1", "data-web-2"])
    );
    assert!(!watch.is_finished(), "the ordering invariant held");
    watch.abort();
    c.manager.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn ordinals_start_and_parallel_management() {
    let c = cluster();
    let mut set = stateful_set("db", 3);
    set.spec.ordinals = Some(StatefulSetOrdinals { start: Some(5) });
    set.spec.pod_management_policy = Some("Parallel".into());
    c.sets.create(&set).await.unwrap();
    // No kubelet: under Parallel all pods are created without waiting for readiness.
    let pods = wait_for(&c.pods, "three pods", |p| live(p).len() == 3).await;
    assert_eq!(names(&pods), set_of(&["db-5", "db-6", "db-7"]));
    assert!(pods.iter().all(|p| !p.is_ready()));
    assert_eq!(
        find(&pods, "db-6").unwrap().metadata.labels[POD_INDEX_LABEL],
        "6"
    );
    wait_for(&c.claims, "claims", |cl| cl.len() == 3).await;
    c.claims.get("data-db-7").await.unwrap();

    // Scaling down under Parallel deletes every surplus pod at once, even unready.
    edit(&c.sets, "db", |s| s.spec.replicas = Some(1)).await;
    wait_for(&c.pods, "one pod", |p| names(p) == set_of(&["db-5"])).await;
    c.manager.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn scales_down_from_the_highest_ordinal_only_while_others_are_healthy() {
    let c = cluster();
    let _kubelet = kubelet(c.client.clone());
    c.sets.create(&stateful_set("web", 4)).await.unwrap();
    let pods = wait_for(&c.pods, "four ready pods", |p| {
        live(p).iter().filter(|p| p.is_ready()).count() == 4
    })
    .await;

    // An unhealthy pod blocks scale-down.
    set_pod_status(&c.client, find(&pods, "web-0").unwrap(), "Running", false).await;
    edit(&c.sets, "web", |s| s.spec.replicas = Some(2)).await;
    wait_for_object(&c.sets, "web", "generation 2 observed", |s| {
        s.status
            .as_ref()
            .is_some_and(|s| s.observed_generation == Some(2))
    })
    .await;
    let now = c.pods.list(&ListParams::default()).await.unwrap().items;
    assert_eq!(
        names(&now).len(),
        4,
        "nothing deleted while web-0 is unready"
    );

    // Invariant: a lower ordinal never goes before a higher one.
    let watch = on_every_change(c.pods.clone(), |pods| async move {
        let present = names(&pods);
        if !present.contains("web-3") {
            return;
        }
        assert!(present.contains("web-2"), "web-2 deleted before web-3");
    });
    set_pod_status(&c.client, find(&pods, "web-0").unwrap(), "Running", true).await;
    wait_for(&c.pods, "two pods", |p| {
        names(p) == set_of(&["web-0", "web-1"])
    })
    .await;
    assert!(!watch.is_finished(), "scale-down order held");
    watch.abort();
    let events = Api::<Event>::default_namespaced(&c.client);
    let deletes: Vec<String> = events
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .iter()
        .filter(|e| e.reason.as_deref() == Some("SuccessfulDelete"))
        .filter_map(|e| e.message.clone())
        .collect();
    assert!(deletes.contains(&"delete Pod web-3 in StatefulSet web successful".to_owned()));
    // Claims are retained by default.
    for n in 0..4 {
        c.claims.get(&format!("data-web-{n}")).await.unwrap();
    }
    c.manager.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn deleted_and_failed_pods_come_back_with_the_same_name_and_claim() {
    let c = cluster();
    let _kubelet = kubelet(c.client.clone());
    c.sets.create(&stateful_set("web", 2)).await.unwrap();
    let pods = wait_for(&c.pods, "two ready pods", |p| {
        live(p).iter().filter(|p| p.is_ready()).count() == 2
    })
    .await;
    let claim = c.claims.get("data-web-1").await.unwrap();
    let old = find(&pods, "web-1").unwrap().metadata.uid.clone();
    c.pods
        .delete("web-1", &DeleteParams::default())
        .await
        .unwrap();
    let pods = wait_for(&c.pods, "web-1 recreated", |p| {
        find(p, "web-1").is_some_and(|q| q.metadata.uid != old && q.is_ready())
    })
    .await;
    let web1 = find(&pods, "web-1").unwrap();
    let volume = web1.spec.volumes.iter().find(|v| v.name == "data").unwrap();
    assert_eq!(
        volume.persistent_volume_claim.as_ref().unwrap().claim_name,
        "data-web-1"
    );
    assert_eq!(
        c.claims.get("data-web-1").await.unwrap().metadata.uid,
        claim.metadata.uid,
        "same claim"
    );

    let old = find(&pods, "web-0").unwrap().metadata.uid.clone();
    set_pod_status(&c.client, find(&pods, "web-0").unwrap(), "Failed", false).await;
    wait_for(&c.pods, "web-0 recreated", |p| {
        find(p, "web-0").is_some_and(|q| q.metadata.uid != old && q.is_ready())
    })
    .await;
    let events = Api::<Event>::default_namespaced(&c.client);
    let evs = wait_for(&events, "RecreatingFailedPod", |e| {
        e.iter()
            .any(|e| e.reason.as_deref() == Some("RecreatingFailedPod"))
    })
    .await;
    let e = evs
        .iter()
        .find(|e| e.reason.as_deref() == Some("RecreatingFailedPod"))
        .unwrap();
    assert_eq!(
        e.message.as_deref(),
        Some("StatefulSet default/web is recreating failed Pod web-0")
    );
    c.manager.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn rolling_update_goes_down_from_the_highest_ordinal_above_the_partition() {
    let c = cluster();
    let _kubelet = kubelet(c.client.clone());
    let mut set = stateful_set("web", 3);
    set.spec.update_strategy = Some(StatefulSetUpdateStrategy {
        type_: Some("RollingUpdate".into()),
        rolling_update: Some(RollingUpdateStatefulSetStrategy {
            partition: Some(1),
            max_unavailable: None,
        }),
    });
    c.sets.create(&set).await.unwrap();
    wait_for(&c.pods, "three ready pods", |p| {
        live(p).iter().filter(|p| p.is_ready()).count() == 3
    })
    .await;
    let first = wait_for_object(&c.sets, "web", "revision", |s| {
        s.status
            .as_ref()
            .is_some_and(|s| s.ready_replicas == Some(3))
    })
    .await;
    let old_revision = first
        .status
        .as_ref()
        .unwrap()
        .update_revision
        .clone()
        .unwrap();

    // Record the order in which pods reach the new image; at every moment at most one
    // pod is missing or not Running and Ready.
    let order = Arc::new(Mutex::new(Vec::<String>::new()));
    let seen = order.clone();
    let watch = on_every_change(c.pods.clone(), move |pods| {
        let seen = seen.clone();
        async move {
            let down = (0..3)
                .filter(|i| !find(&pods, &format!("web-{i}")).is_some_and(|p| running_ready(p)))
                .count();
            assert!(down <= 1, "{down} pods down at once");
            let mut seen = seen.lock().unwrap();
            for p in live(&pods) {
                let name = p.metadata.name_str().to_owned();
                if image(&p) == "db:2" && !seen.contains(&name) {
                    seen.push(name);
                }
            }
        }
    });
    edit(&c.sets, "web", |s| {
        s.spec.template.spec.containers[0].image = Some("db:2".into());
    })
    .await;
    let sts = wait_for_object(&c.sets, "web", "two updated", |s| {
        s.status
            .as_ref()
            .is_some_and(|s| s.updated_replicas == Some(2) && s.ready_replicas == Some(3))
    })
    .await;
    let s = sts.status.as_ref().unwrap();
    assert_eq!(s.current_replicas, Some(1));
    assert_eq!(s.current_revision.as_deref(), Some(old_revision.as_str()));
    assert_ne!(s.update_revision.as_deref(), Some(old_revision.as_str()));
    assert_eq!(*order.lock().unwrap(), ["web-2", "web-1"]);
    let pods = c.pods.list(&ListParams::default()).await.unwrap().items;
    assert_eq!(
        image(find(&pods, "web-0").unwrap()),
        "db:1",
        "below the partition"
    );

    // A pod below the partition is recreated at the current revision.
    let old = find(&pods, "web-0").unwrap().metadata.uid.clone();
    c.pods
        .delete("web-0", &DeleteParams::default())
        .await
        .unwrap();
    let pods = wait_for(&c.pods, "web-0 back", |p| {
        find(p, "web-0").is_some_and(|q| q.metadata.uid != old && q.is_ready())
    })
    .await;
    let web0 = find(&pods, "web-0").unwrap();
    assert_eq!(image(web0), "db:1");
    assert_eq!(web0.metadata.labels[REVISION_LABEL], old_revision);

    // Partition 0 finishes the rollout; the update revision becomes current.
    edit(&c.sets, "web", |s| {
        s.spec
            .update_strategy
            .as_mut()
            .unwrap()
            .rolling_update
            .as_mut()
            .unwrap()
            .partition = Some(0);
    })
    .await;
    let sts = wait_for_object(&c.sets, "web", "rollout complete", |s| {
        s.status.as_ref().is_some_and(|s| {
            s.updated_replicas == Some(3)
                && s.ready_replicas == Some(3)
                && s.current_revision == s.update_revision
        })
    })
    .await;
    assert_eq!(sts.status.as_ref().unwrap().current_replicas, Some(3));
    assert_eq!(*order.lock().unwrap(), ["web-2", "web-1", "web-0"]);
    assert!(!watch.is_finished(), "one pod at a time");
    watch.abort();
    c.manager.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn on_delete_updates_only_deleted_pods() {
    let c = cluster();
    let _kubelet = kubelet(c.client.clone());
    let mut set = stateful_set("web", 2);
    set.spec.update_strategy = Some(StatefulSetUpdateStrategy {
        type_: Some("OnDelete".into()),
        rolling_update: None,
    });
    c.sets.create(&set).await.unwrap();
    wait_for(&c.pods, "two ready pods", |p| {
        live(p).iter().filter(|p| p.is_ready()).count() == 2
    })
    .await;
    edit(&c.sets, "web", |s| {
        s.spec.template.spec.containers[0].image = Some("db:2".into());
    })
    .await;
    let sts = wait_for_object(&c.sets, "web", "generation 2", |s| {
        s.status
            .as_ref()
            .is_some_and(|s| s.observed_generation == Some(2))
    })
    .await;
    assert_eq!(sts.status.as_ref().unwrap().updated_replicas, Some(0));
    let pods = c.pods.list(&ListParams::default()).await.unwrap().items;
    assert!(live(&pods).iter().all(|p| image(p) == "db:1"));
    c.pods
        .delete("web-1", &DeleteParams::default())
        .await
        .unwrap();
    let pods = wait_for(&c.pods, "web-1 on db:2", |p| {
        find(p, "web-1").is_some_and(|q| image(q) == "db:2" && q.is_ready())
    })
    .await;
    assert_eq!(image(find(&pods, "web-0").unwrap()), "db:1");
    wait_for_object(&c.sets, "web", "one updated", |s| {
        s.status
            .as_ref()
            .is_some_and(|s| s.updated_replicas == Some(1) && s.current_replicas == Some(1))
    })
    .await;
    c.manager.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn delete_retention_policies_remove_claims() {
    let c = cluster();
    let _kubelet = kubelet(c.client.clone());
    let mut set = stateful_set("web", 3);
    set.spec.persistent_volume_claim_retention_policy =
        Some(StatefulSetPersistentVolumeClaimRetentionPolicy {
            when_deleted: Some("Delete".into()),
            when_scaled: Some("Delete".into()),
        });
    c.sets.create(&set).await.unwrap();
    let mut retained = stateful_set("keep", 1);
    retained.metadata = meta("keep");
    c.sets.create(&retained).await.unwrap();
    wait_for(&c.claims, "four claims", |cl| cl.len() == 4).await;
    edit(&c.sets, "web", |s| s.spec.replicas = Some(1)).await;
    let claims = wait_for(&c.claims, "scaled-away claims deleted", |cl| {
        cl.iter()
            .filter(|c| c.metadata.deletion_timestamp.is_none())
            .count()
            == 2
    })
    .await;
    let left: BTreeSet<_> = claims
        .iter()
        .map(|c| c.metadata.name_str().to_owned())
        .collect();
    assert_eq!(left, set_of(&["data-keep-0", "data-web-0"]));
    c.sets
        .delete("web", &DeleteParams::default())
        .await
        .unwrap();
    c.sets
        .delete("keep", &DeleteParams::default())
        .await
        .unwrap();
    let claims = wait_for(&c.claims, "web's claims deleted", |cl| {
        cl.iter().all(|c| c.metadata.name_str() != "data-web-0")
    })
    .await;
    // `Retain` (the default) keeps claims after the set is gone.
    assert_eq!(claims.len(), 1);
    assert_eq!(claims[0].metadata.name_str(), "data-keep-0");
    c.manager.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn adopts_a_matching_orphan_by_name_and_restores_its_identity() {
    let c = cluster();
    let _kubelet = kubelet(c.client.clone());
    let mut set = stateful_set("web", 1);
    // Under RollingUpdate an adopted pod of no known revision would be replaced.
    set.spec.update_strategy = Some(StatefulSetUpdateStrategy {
        type_: Some("OnDelete".into()),
        rolling_update: None,
    });
    // An orphan with the set's labels and a member's name, but without identity labels.
    let mut orphan = Pod {
        metadata: meta("web-0").with_label("app", "web"),
        ..Pod::default()
    };
    orphan.spec = set.spec.template.spec.clone();
    let orphan = c.pods.create(&orphan).await.unwrap();
    // A matching orphan whose name is not a member's is left alone.
    let mut stranger = Pod {
        metadata: meta("other-0").with_label("app", "web"),
        ..Pod::default()
    };
    stranger.spec = set.spec.template.spec.clone();
    c.pods.create(&stranger).await.unwrap();
    let set = c.sets.create(&set).await.unwrap();
    let pods = wait_for(&c.pods, "web-0 adopted and relabelled", |p| {
        find(p, "web-0").is_some_and(|q| {
            q.metadata.controller_owner().is_some()
                && q.metadata.labels.get(POD_NAME_LABEL).map(String::as_str) == Some("web-0")
        })
    })
    .await;
    let web0 = find(&pods, "web-0").unwrap();
    assert_eq!(
        web0.metadata.uid, orphan.metadata.uid,
        "adopted, not replaced"
    );
    assert_eq!(
        web0.metadata.controller_owner().unwrap().uid,
        set.metadata.uid.clone().unwrap()
    );
    assert_eq!(web0.metadata.labels[POD_INDEX_LABEL], "0");
    assert!(
        find(&pods, "other-0")
            .unwrap()
            .metadata
            .controller_owner()
            .is_none()
    );
    c.manager.shutdown().await;
}

fn partitioned(mut set: StatefulSet, partition: i32) -> StatefulSet {
    set.spec.update_strategy = Some(StatefulSetUpdateStrategy {
        type_: Some("RollingUpdate".into()),
        rolling_update: Some(RollingUpdateStatefulSetStrategy {
            partition: Some(partition),
            max_unavailable: None,
        }),
    });
    set
}

/// The ControllerRevisions of the set, oldest first.
async fn revisions(client: &Client) -> Vec<Arc<ControllerRevision>> {
    let api: Api<ControllerRevision> = Api::default_namespaced(client);
    let mut revs = api.list(&ListParams::default()).await.unwrap().items;
    revs.sort_by_key(|r| r.revision);
    revs
}

async fn set_image(sets: &Api<StatefulSet>, name: &str, image: &str) {
    let image = image.to_owned();
    edit(sets, name, move |s| {
        s.spec.template.spec.containers[0].image = Some(image.clone());
    })
    .await;
}

async fn rolled_out(sets: &Api<StatefulSet>, name: &str, replicas: i32) -> Arc<StatefulSet> {
    wait_for_object(sets, name, "rollout complete", |s| {
        s.metadata.generation == s.status.as_ref().and_then(|s| s.observed_generation)
            && s.status.as_ref().is_some_and(|s| {
                s.updated_replicas == Some(replicas)
                    && s.ready_replicas == Some(replicas)
                    && s.current_revision == s.update_revision
            })
    })
    .await
}

#[tokio::test(start_paused = true)]
async fn a_restarted_controller_recreates_pods_below_the_partition_from_the_stored_revision() {
    let Cluster {
        client,
        manager,
        sets,
        pods,
        ..
    } = cluster();
    let _kubelet = kubelet(client.clone());
    let set = sets
        .create(&partitioned(stateful_set("web", 3), 2))
        .await
        .unwrap();
    wait_for(&pods, "three ready pods", |p| {
        live(p).iter().filter(|p| p.is_ready()).count() == 3
    })
    .await;
    set_image(&sets, "web", "db:2").await;
    let sts = wait_for_object(&sets, "web", "web-2 updated", |s| {
        s.status
            .as_ref()
            .is_some_and(|s| s.updated_replicas == Some(1) && s.ready_replicas == Some(3))
    })
    .await;
    let status = sts.status.clone().unwrap();
    let (old, new) = (
        status.current_revision.unwrap(),
        status.update_revision.unwrap(),
    );
    assert_ne!(old, new);
    let revs = revisions(&client).await;
    let named: Vec<(&str, i64)> = revs
        .iter()
        .map(|r| (r.metadata.name_str(), r.revision))
        .collect();
    assert_eq!(named, [(old.as_str(), 1), (new.as_str(), 2)]);
    for r in &revs {
        assert_eq!(
            r.metadata.controller_owner().unwrap().uid,
            set.metadata.uid.clone().unwrap()
        );
        assert_eq!(r.metadata.labels["app"], "web");
        assert!(r.metadata.labels.contains_key(HASH_LABEL));
    }

    // A new controller, with nothing in memory, picks the rollout up.
    manager.shutdown().await;
    let manager = ControllerManager::new(client.clone())
        .with("statefulset")
        .unwrap()
        .start();
    let before = pods.get("web-0").await.unwrap().metadata.uid.clone();
    pods.delete("web-0", &DeleteParams::default())
        .await
        .unwrap();
    let now = wait_for(&pods, "web-0 back", |p| {
        find(p, "web-0").is_some_and(|q| q.metadata.uid != before && q.is_ready())
    })
    .await;
    let web0 = find(&now, "web-0").unwrap();
    assert_eq!(image(web0), "db:1", "the current revision's template");
    assert_eq!(web0.metadata.labels[REVISION_LABEL], old);
    assert_eq!(image(find(&now, "web-2").unwrap()), "db:2");
    let status = sets.get("web").await.unwrap().status.clone().unwrap();
    assert_eq!(status.current_revision.as_deref(), Some(old.as_str()));
    assert_eq!(status.update_revision.as_deref(), Some(new.as_str()));
    assert_eq!(revisions(&client).await.len(), 2, "no new revision");
    manager.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn old_revisions_beyond_the_history_limit_are_deleted_and_rollbacks_reuse_theirs() {
    let c = cluster();
    let _kubelet = kubelet(c.client.clone());
    let mut set = stateful_set("web", 1);
    set.spec.revision_history_limit = Some(1);
    c.sets.create(&set).await.unwrap();
    let first = rolled_out(&c.sets, "web", 1).await;
    let v1 = first.status.clone().unwrap().update_revision.unwrap();
    let mut seen = vec![v1];
    for image in ["db:2", "db:3", "db:4"] {
        set_image(&c.sets, "web", image).await;
        let s = rolled_out(&c.sets, "web", 1).await;
        seen.push(s.status.clone().unwrap().update_revision.unwrap());
    }
    // Current (db:4) and one old revision (db:3) are kept; db:1 and db:2 are gone.
    let revs = revisions(&c.client).await;
    let names: Vec<&str> = revs.iter().map(|r| r.metadata.name_str()).collect();
    assert_eq!(names, [seen[2].as_str(), seen[3].as_str()]);
    assert_eq!(revs[1].revision, 4);

    // Rolling back to db:3 renumbers its revision instead of making a new one.
    set_image(&c.sets, "web", "db:3").await;
    let s = rolled_out(&c.sets, "web", 1).await;
    assert_eq!(
        s.status.as_ref().unwrap().update_revision.as_deref(),
        Some(seen[2].as_str())
    );
    let revs = revisions(&c.client).await;
    let named: Vec<(&str, i64)> = revs
        .iter()
        .map(|r| (r.metadata.name_str(), r.revision))
        .collect();
    assert_eq!(named, [(seen[3].as_str(), 4), (seen[2].as_str(), 5)]);
    c.manager.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_hash_collision_raises_the_collision_count() {
    let c = cluster();
    let set = stateful_set("web", 1);
    // Another revision already holds the name the set's (defaulted) template hashes to.
    let mut defaulted = set.clone();
    keel_core::Resource::apply_defaults(&mut defaulted);
    let taken = update_revision_name(&defaulted);
    let squatter = ControllerRevision {
        metadata: meta(&taken),
        data: serde_json::json!({"other": true}),
        revision: 1,
    };
    let revs: Api<ControllerRevision> = Api::default_namespaced(&c.client);
    revs.create(&squatter).await.unwrap();
    c.sets.create(&set).await.unwrap();
    let sts = wait_for_object(&c.sets, "web", "a revision", |s| {
        s.status
            .as_ref()
            .is_some_and(|s| s.update_revision.is_some())
    })
    .await;
    let status = sts.status.clone().unwrap();
    assert_eq!(status.collision_count, Some(1));
    let name = status.update_revision.unwrap();
    assert_ne!(name, taken);
    assert_eq!(name, update_revision_name(&sts));
    let pods = wait_for(&c.pods, "web-0", |p| find(p, "web-0").is_some()).await;
    assert_eq!(
        find(&pods, "web-0").unwrap().metadata.labels[REVISION_LABEL],
        name
    );
    assert_eq!(revs.get(&taken).await.unwrap().data, squatter.data);
    c.manager.shutdown().await;
}
