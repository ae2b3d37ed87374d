//! The StatefulSet controller: pods with stable names, network identities and storage.
//!
//! As Kubernetes' `statefulset` controller: pod `<set>-<ordinal>` (ordinals from
//! `spec.ordinals.start`) carries the `statefulset.kubernetes.io/pod-name`,
//! `apps.kubernetes.io/pod-index` and `controller-revision-hash` labels, hostname =
//! its name and subdomain = `serviceName`, and mounts one claim per
//! `volumeClaimTemplate`, `<template>-<set>-<ordinal>`, created before the pod and kept
//! when the pod goes (see "Retention" below for the `Delete` policies). Under `OrderedReady`
//! pods are created in ordinal order, each once its predecessors are Running, Ready and
//! available, and removed from the highest ordinal, one at a time and only while the
//! others are healthy; under `Parallel` all at once. Finished pods are recreated with
//! the same name. `RollingUpdate` replaces pods at or above the partition, highest
//! ordinal first, one at a time, waiting for each to be Running and Ready; `OnDelete`
//! only gives pods deleted by the user the new template. Status counts replicas,
//! ready, available, current and updated pods and moves `currentRevision` to
//! `updateRevision` when a rollout completes.
//!
//! Revisions are [`ControllerRevision`]s as in Kubernetes: `<set>-<hash>`, owned by the
//! set, labelled with the template's labels and `controller.kubernetes.io/hash`,
//! numbered by `revision`; `status.currentRevision` and `status.updateRevision` name
//! them and `status.collisionCount` is raised on a hash collision. Pods below the
//! partition are created from the current revision's stored template, also after a
//! controller restart. Revisions no pod runs, other than the current and the update
//! one, are deleted oldest first beyond `revisionHistoryLimit` (default 10).
//!
//! Retention: `persistentVolumeClaimRetentionPolicy` `Retain` (the default) leaves
//! claims alone. `Delete` is carried out by this controller directly rather than
//! through owner references: `whenScaled: Delete` deletes the claims of ordinals beyond
//! `replicas` once their pod is gone, `whenDeleted: Delete` deletes the set's claims
//! once the set is gone.

mod identity;
mod retention;
mod revision;
mod status;
mod sync;

use std::sync::Arc;
use std::time::Duration;

use keel_core::Error;
use keel_core::api::{ControllerRevision, PersistentVolumeClaim, Pod, StatefulSet};
use keel_core::client::{Api, Client};

use crate::manager::Shutdown;
use crate::runtime::cache::{BY_CONTROLLER_UID, ORPHANS_BY_NAMESPACE};
use crate::runtime::{
    Action, Cache, Config, Controller, Expectations, Informers, ObjectRef, Recorder, WorkQueue,
};
use crate::workload::history::sort_revisions;
use crate::workload::{adopters, candidates, controller_key};
use crate::workload::{claim, until_next_available};

pub use identity::{
    POD_INDEX_LABEL, POD_NAME_LABEL, REVISION_LABEL, claim_name, ordinal_of, pod_name,
};
pub use revision::update_revision_name;

/// The controller's name in a [`ControllerManager`](crate::ControllerManager).
pub const NAME: &str = "statefulset";

worker_controller!(
    /// The StatefulSet controller. `StatefulSetController::default()` runs 5 workers, as
    /// `kube-controller-manager`'s `--concurrent-statefulset-syncs`.
    StatefulSetController,
    name: NAME, workers: 5, objects: "StatefulSets");

impl StatefulSetController {
    /// Runs until `shutdown` fires.
    pub async fn run(self, client: Client, shutdown: Shutdown) {
        let informers = Informers::of(&client);
        let sets = informers.cache::<StatefulSet>();
        let pods = informers.cache::<Pod>();
        let claims = informers.cache::<PersistentVolumeClaim>();
        let history = informers.cache::<ControllerRevision>();
        let orphan_sets = sets.clone();
        let controller = Controller::new(
            Api::<StatefulSet>::all(&client),
            Config::default()
                .name(NAME)
                .concurrency(self.workers)
                .informers(informers),
        )
        .owns::<Pod>()
        .owns::<ControllerRevision>()
        .watches::<Pod, _>(move |pod| {
            adopters(&orphan_sets, pod, |set: &StatefulSet, p: &Pod| {
                may_adopt(set, p)
            })
        })
        .graceful_shutdown_on(shutdown.wait());
        let ctx = Arc::new(Ctx {
            recorder: Recorder::new(&client, "statefulset-controller"),
            client,
            sets,
            pods,
            claims,
            expectations: Expectations::new(),
            history,
        });
        let observer = tokio::spawn(observe(ctx.clone(), controller.queue()));
        controller
            .run(reconcile, |_, _, _| Action::requeue(Duration::ZERO), ctx)
            .await;
        observer.abort();
    }
}

struct Ctx {
    client: Client,
    sets: Cache<StatefulSet>,
    pods: Cache<Pod>,
    claims: Cache<PersistentVolumeClaim>,
    expectations: Expectations<ObjectRef>,
    recorder: Recorder,
    history: Cache<ControllerRevision>,
}

/// Whether an orphan may be adopted by `set`: its labels match and its name is one of
/// the set's (Kubernetes' `isMemberOf` filter).
fn may_adopt(set: &StatefulSet, pod: &Pod) -> bool {
    ordinal_of(set, pod.metadata.name_str()).is_some()
        && set
            .spec
            .selector
            .to_selector()
            .is_ok_and(|s| !s.is_empty() && s.matches(&pod.metadata.labels))
}

/// Feeds creation expectations from the pod cache; cleans up after deleted sets
/// (expectations, claims under `whenDeleted: Delete`).
async fn observe(ctx: Arc<Ctx>, queue: WorkQueue<ObjectRef>) {
    let mut pods = ctx.pods.subscribe();
    let mut sets = ctx.sets.subscribe();
    loop {
        tokio::select! {
            change = pods.recv() => {
                let Some(change) = change else { return };
                if let (None, Some(new)) = (&change.old, &change.new)
                    && let Some(key) = controller_key::<StatefulSet>(&new.metadata)
                {
                    ctx.expectations.creation_observed(&key);
                    queue.add(key);
                }
            }
            change = sets.recv() => {
                let Some(change) = change else { return };
                if let (Some(old), None) = (&change.old, &change.new) {
                    ctx.expectations.forget(&ObjectRef::from_obj(&**old));
                    if let Err(e) = retention::after_set_deleted(&ctx.client, old, &ctx.claims).await {
                        tracing::warn!(statefulset = %ObjectRef::from_obj(&**old), %e, "deleting claims failed");
                    }
                }
            }
        }
    }
}

async fn reconcile(set: Arc<StatefulSet>, ctx: Arc<Ctx>) -> Result<Action, Error> {
    let key = ObjectRef::from_obj(&*set);
    let ns = set.metadata.namespace_str().unwrap_or("default").to_owned();
    let Ok(selector) = set.spec.selector.to_selector() else {
        tracing::warn!(statefulset = %key, "invalid selector; not syncing");
        return Ok(Action::await_change());
    };
    let pod_api: Api<Pod> = Api::namespaced(&ctx.client, &ns);
    let uid = set.metadata.uid.as_deref().unwrap_or("");
    let mut pod_candidates = ctx.pods.by_index(BY_CONTROLLER_UID, uid);
    pod_candidates.extend(
        ctx.pods
            .by_index(ORPHANS_BY_NAMESPACE, &ns)
            .into_iter()
            .filter(|p| ordinal_of(&set, p.metadata.name_str()).is_some()),
    );
    let pods = claim(&*set, &selector, &pod_candidates, &pod_api).await?;
    let rev_api: Api<ControllerRevision> = Api::namespaced(&ctx.client, &ns);
    let mut history = claim(
        &*set,
        &selector,
        &candidates(&ctx.history, &set.metadata),
        &rev_api,
    )
    .await?;
    sort_revisions(&mut history);
    let revisions = revision::revisions(&rev_api, &set, &history).await?;
    let split = sync::split(&set, &pods);
    let now = ctx.client.clock().now();

    let mut result = Ok(());
    if ctx.expectations.satisfied(&key) && set.metadata.deletion_timestamp.is_none() {
        let run = sync::Sync {
            ctx: &ctx,
            set: &set,
            key: &key,
            revisions: &revisions,
            pods: pod_api,
            claims: Api::namespaced(&ctx.client, &ns),
            now: now.clone(),
        };
        result = run.run(&split).await;
        if result.is_ok() {
            result = retention::after_scale_down(&ctx.client, &set, &ctx.claims, &pods).await;
        }
    }
    let truncated = revision::truncate(&rev_api, &set, &pods, &history, &revisions).await;
    let next = status::compute(&set, &split, &revisions, &now);
    status::write(&ctx.client, &set, next).await?;
    result?;
    truncated?;
    let min_ready = set.spec.min_ready_seconds.unwrap_or(0);
    Ok(until_next_available(&pods, min_ready, &now)
        .map_or_else(Action::await_change, Action::requeue))
}
