//! The ReplicaSet controller: keeps `spec.replicas` pods matching the selector.
//!
//! As Kubernetes' `replicaset` controller: it adopts matching orphans and releases pods
//! whose labels stop matching; creates missing pods in slow-start batches (1, 2, 4, …,
//! at most [`BURST_REPLICAS`] per sync) and deletes surplus pods least valuable first
//! ([`pods_to_delete`]); it records what it created and deleted in [`Expectations`] and
//! does not act again until its cache has seen it; it keeps `status` (`replicas`,
//! `fullyLabeledReplicas`, `readyReplicas`, `availableReplicas` after `minReadySeconds`,
//! `observedGeneration`, the `ReplicaFailure` condition) true.

mod status;

use std::sync::Arc;
use std::time::Duration;

use keel_core::Error;
use keel_core::api::{Pod, ReplicaSet};
use keel_core::client::{Api, Client};

use crate::manager::Shutdown;
use crate::runtime::cache::BY_CONTROLLER_UID;
use crate::runtime::{
    Action, Cache, Config, Controller, Expectations, Informers, ObjectRef, Recorder,
};
use crate::workload::pod_control::delete_pod;
use crate::workload::{adopters, candidates, selects};
use crate::workload::{
    claim, is_pod_active, pod_from_template, pods_to_delete, slow_start_batches,
};

/// The controller's name in a [`ControllerManager`](crate::ControllerManager).
pub const NAME: &str = "replicaset";

/// At most this many pods are created or deleted per sync (Kubernetes' `BurstReplicas`).
pub const BURST_REPLICAS: usize = 500;

worker_controller!(
    /// The ReplicaSet controller. `ReplicaSetController::default()` runs 5 workers, as
    /// `kube-controller-manager`'s `--concurrent-replicaset-syncs`.
    ReplicaSetController,
    name: NAME, workers: 5, objects: "ReplicaSets");

impl ReplicaSetController {
    /// Runs until `shutdown` fires.
    pub async fn run(self, client: Client, shutdown: Shutdown) {
        let informers = Informers::of(&client);
        let sets = informers.cache::<ReplicaSet>();
        let pods = informers.cache::<Pod>();
        let orphan_sets = sets.clone();
        let controller = Controller::new(
            Api::<ReplicaSet>::all(&client),
            Config::default()
                .name(NAME)
                .concurrency(self.workers)
                .informers(informers),
        )
        .owns::<Pod>()
        .watches::<Pod, _>(move |pod| {
            adopters(&orphan_sets, pod, |rs: &ReplicaSet, p: &Pod| {
                selects(Some(&rs.spec.selector), &p.metadata.labels)
            })
        })
        .graceful_shutdown_on(shutdown.wait());
        let ctx = Arc::new(Ctx {
            recorder: Recorder::new(&client, "replicaset-controller"),
            client,
            sets,
            pods,
            expectations: Expectations::new(),
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
    sets: Cache<ReplicaSet>,
    pods: Cache<Pod>,
    expectations: Expectations<ObjectRef>,
    recorder: Recorder,
}

/// Feeds expectations from the pod cache and forgets those of deleted ReplicaSets.
async fn observe(ctx: Arc<Ctx>, queue: crate::runtime::WorkQueue<ObjectRef>) {
    crate::workload::observe_pods(&ctx.pods, &ctx.sets, &ctx.expectations, &queue, |_| {}).await;
}

async fn reconcile(rs: Arc<ReplicaSet>, ctx: Arc<Ctx>) -> Result<Action, Error> {
    let key = ObjectRef::from_obj(&*rs);
    let ns = rs.metadata.namespace_str().unwrap_or("default").to_owned();
    let Ok(selector) = rs.spec.selector.to_selector() else {
        // Admission rejects such selectors; an old object may still carry one.
        tracing::warn!(replicaset = %key, "invalid selector; not syncing");
        return Ok(Action::await_change());
    };
    let pod_api: Api<Pod> = Api::namespaced(&ctx.client, &ns);
    let needs_sync = ctx.expectations.satisfied(&key);
    // Only active pods are claimed (Kubernetes' `FilterActivePods` before `claimPods`).
    let mut pods = candidates(&ctx.pods, &rs.metadata);
    pods.retain(|p| is_pod_active(p));
    let active = claim(&*rs, &selector, &pods, &pod_api).await?;

    let mut failure = None;
    if needs_sync && rs.metadata.deletion_timestamp.is_none() {
        failure = manage_replicas(&rs, &key, &active, &pod_api, &ctx).await;
    }
    let now = ctx.client.clock().now();
    let (next, action) = status::compute(&rs, &active, failure.as_ref(), &now);
    status::write(&ctx.client, &rs, next).await?;
    if let Some((reason, error)) = failure {
        tracing::debug!(replicaset = %key, reason, %error, "sync failed");
        return Err(error);
    }
    Ok(action)
}

/// Creates or deletes pods towards `spec.replicas`; the failure, if any, as
/// (condition reason, error).
async fn manage_replicas(
    rs: &Arc<ReplicaSet>,
    key: &ObjectRef,
    active: &[Arc<Pod>],
    api: &Api<Pod>,
    ctx: &Ctx,
) -> Option<(&'static str, Error)> {
    let want = usize::try_from(rs.spec.replicas.unwrap_or(1)).unwrap_or(0);
    if active.len() < want {
        let diff = (want - active.len()).min(BURST_REPLICAS);
        ctx.expectations.expect_creations(key, diff);
        let template = pod_from_template(&rs.spec.template, &**rs, None);
        let (created, error) = slow_start_batches(diff, 1, |n| {
            let pods = vec![template.clone(); n];
            async move {
                let results = match api.create_all(pods).await {
                    Ok(results) => results,
                    Err(e) => return vec![Err(e)],
                };
                let mut out = Vec::with_capacity(results.len());
                for r in results {
                    out.push(match r {
                        Ok(p) => {
                            let msg = format!("Created pod: {}", p.metadata.name_str());
                            let _ = ctx.recorder.normal(&**rs, "SuccessfulCreate", &msg).await;
                            Ok(())
                        }
                        Err(e) => {
                            let msg = format!("Error creating: {e}");
                            let _ = ctx.recorder.warning(&**rs, "FailedCreate", &msg).await;
                            Err(e)
                        }
                    });
                }
                out
            }
        })
        .await;
        for _ in created..diff {
            ctx.expectations.creation_observed(key);
        }
        return error.map(|e| ("FailedCreate", e));
    }
    if active.len() > want {
        let diff = (active.len() - want).min(BURST_REPLICAS);
        let related = related_pods(ctx, rs, active);
        let doomed = pods_to_delete(active, &related, diff);
        let uids = doomed
            .iter()
            .map(|p| p.metadata.uid.clone().unwrap_or_default());
        ctx.expectations.expect_deletions(key, uids);
        let deletions = doomed.iter().map(|pod| async move {
            delete_pod(api, &**rs, pod, &ctx.recorder, &ctx.expectations, key).await
        });
        let errors = futures::future::join_all(deletions).await;
        return errors
            .into_iter()
            .flatten()
            .next()
            .map(|e| ("FailedDelete", e));
    }
    None
}

/// The pods of every ReplicaSet controlled by the same owner as `rs` (its Deployment's
/// other revisions): pods doubled up with them on a node are deleted first.
fn related_pods(ctx: &Ctx, rs: &ReplicaSet, own: &[Arc<Pod>]) -> Vec<Arc<Pod>> {
    let Some(owner) = rs.metadata.controller_owner() else {
        return own.to_vec();
    };
    ctx.sets
        .by_index(BY_CONTROLLER_UID, &owner.uid)
        .iter()
        .flat_map(|s| {
            ctx.pods
                .by_index(BY_CONTROLLER_UID, s.metadata.uid.as_deref().unwrap_or(""))
        })
        .collect()
}
